//! `[analysis]` and `[[strategies]]`.

use super::super::error::expected_one_of;
use super::super::raw::{CountOrPercent, RawAnalysis, RawStrategy};
use super::{Resolver, Result, defaults};
use crate::detect::{AnalysisSpec, Metric, MetricRule, NoData};
use crate::engine::SimTime;
use crate::model::{FleetSpec, Refresh};
use crate::strategy::{
    BlueGreenSpec, CanaryRollback, CanarySpec, FeatureFlagSpec, RollingSpec, Step, StrategyKind,
    StrategySpec,
};

impl Resolver<'_> {
    pub(super) fn analysis(&self, path: &str, a: &RawAnalysis) -> Result<AnalysisSpec> {
        let field = |name: &str| format!("{path}.{name}");
        let interval = match &a.interval {
            Some(i) => self.positive_duration(&field("interval"), i)?,
            None => self.duration(&field("interval"), defaults::INTERVAL)?,
        };
        let threshold = a.threshold.unwrap_or(defaults::THRESHOLD);
        if threshold == 0 {
            return self.err(
                field("threshold"),
                "0 is not allowed; expected the number of failed checks (≥ 1) that aborts the rollout",
            );
        }
        let on_no_data = match a.on_no_data.as_deref() {
            None | Some("fail") => NoData::Fail,
            Some("inconclusive") => NoData::Inconclusive,
            Some(other) => {
                return self.err(
                    field("on_no_data"),
                    format!(
                        "unknown value \"{other}\"; {}",
                        expected_one_of(other, &["fail", "inconclusive"])
                    ),
                );
            }
        };
        let mut metrics = Vec::new();
        for (i, m) in a.metrics.iter().enumerate() {
            let mpath = format!("{path}.metrics[{i}]");
            let names: Vec<&str> = Metric::ALL.iter().map(|(_, n)| *n).collect();
            let Some(&(metric, _)) = Metric::ALL.iter().find(|(_, n)| *n == m.name) else {
                return self.err(
                    format!("{mpath}.name"),
                    format!(
                        "unknown metric \"{}\"; {}",
                        m.name,
                        expected_one_of(&m.name, &names)
                    ),
                );
            };
            for (bound, value) in [("max", m.max), ("min", m.min)] {
                if let Some(x) = value
                    && !x.is_finite()
                {
                    return self.err(
                        format!("{mpath}.{bound}"),
                        format!("{x} is not allowed; expected a finite number"),
                    );
                }
            }
            match (m.min, m.max) {
                (None, None) => {
                    return self.err(
                        format!("{mpath}.max"),
                        "missing: a metric needs `max`, `min`, or both",
                    );
                }
                (Some(lo), Some(hi)) if lo > hi => {
                    return self.err(
                        format!("{mpath}.min"),
                        format!("{lo} is above max {hi}; no value could pass"),
                    );
                }
                _ => {}
            }
            metrics.push(MetricRule {
                metric,
                min: m.min,
                max: m.max,
            });
        }
        if metrics.is_empty() {
            metrics = vec![
                MetricRule {
                    metric: Metric::ErrorRate,
                    min: None,
                    max: Some(defaults::MAX_ERROR_RATE),
                },
                MetricRule {
                    metric: Metric::LatencyP99,
                    min: None,
                    max: Some(defaults::MAX_LATENCY_P99_MS),
                },
            ];
        }
        Ok(AnalysisSpec {
            interval,
            threshold,
            min_requests: a.min_requests.unwrap_or(defaults::MIN_REQUESTS),
            on_no_data,
            metrics,
        })
    }

    pub(super) fn strategy(
        &self,
        path: &str,
        s: &RawStrategy,
        scenario_analysis: Option<&AnalysisSpec>,
        fleet: &FleetSpec,
    ) -> Result<StrategySpec> {
        let field = |name: &str| format!("{path}.{name}");
        if s.name.is_empty() || s.name.contains([',', '"', '\n']) {
            return self.err(
                field("name"),
                format!(
                    "\"{}\" is not allowed; expected a non-empty name without commas or quotes",
                    s.name
                ),
            );
        }
        // Which optional fields each kind takes; any other is an error.
        let takes: &[&str] = match s.kind.as_str() {
            "canary" => &["sticky", "steps", "rollback"],
            "blue_green" => &[
                "pre_promotion",
                "preview_share",
                "post_promotion",
                "switch_delay",
                "scale_down_delay",
                "progress_deadline",
            ],
            "feature_flag" => &["steps", "refresh"],
            "rolling" => &[
                "max_surge",
                "max_unavailable",
                "period",
                "min_ready",
                "progress_deadline",
            ],
            other => {
                return self.err(
                    field("kind"),
                    format!(
                        "unknown strategy \"{other}\"; {}",
                        expected_one_of(other, &StrategyKind::NAMES)
                    ),
                );
            }
        };
        let given = [
            ("sticky", s.sticky.is_some()),
            ("steps", !s.steps.is_empty()),
            ("rollback", s.rollback.is_some()),
            ("pre_promotion", s.pre_promotion.is_some()),
            ("preview_share", s.preview_share.is_some()),
            ("post_promotion", s.post_promotion.is_some()),
            ("switch_delay", s.switch_delay.is_some()),
            ("scale_down_delay", s.scale_down_delay.is_some()),
            ("progress_deadline", s.progress_deadline.is_some()),
            ("refresh", s.refresh.is_some()),
            ("max_surge", s.max_surge.is_some()),
            ("max_unavailable", s.max_unavailable.is_some()),
            ("period", s.period.is_some()),
            ("min_ready", s.min_ready.is_some()),
        ];
        if let Some((name, _)) = given.iter().find(|(n, g)| *g && !takes.contains(n)) {
            return self.err(
                field(name),
                format!(
                    "a {} strategy takes no `{name}`; its fields are: {}",
                    s.kind,
                    takes.join(", ")
                ),
            );
        }
        let analysis = match &s.analysis {
            Some(a) => Some(self.analysis(&field("analysis"), a)?),
            None => scenario_analysis.cloned(),
        };
        let dur = |name: &str, value: &Option<String>, default: &str| {
            self.opt_duration(&field(name), value.as_ref(), default)
        };
        let kind = match s.kind.as_str() {
            "canary" => StrategyKind::Canary(CanarySpec {
                sticky: s.sticky.unwrap_or(false),
                steps: self.steps(path, s, "weight")?,
                rollback: match s.rollback.as_deref() {
                    None | Some("instant") => CanaryRollback::Instant,
                    Some("rolling") => CanaryRollback::Rolling,
                    Some(other) => {
                        return self.err(
                            field("rollback"),
                            format!(
                                "unknown value \"{other}\"; {}",
                                expected_one_of(other, &["instant", "rolling"])
                            ),
                        );
                    }
                },
            }),
            "blue_green" => {
                let pre_promotion = dur("pre_promotion", &s.pre_promotion, "0s")?;
                let preview_share = s.preview_share.unwrap_or(0.0);
                if !(0.0..=100.0).contains(&preview_share) {
                    return self.err(
                        field("preview_share"),
                        format!(
                            "{preview_share} is not allowed; expected a percentage from 0 to 100"
                        ),
                    );
                }
                if pre_promotion > SimTime::ZERO && (preview_share == 0.0 || analysis.is_none()) {
                    return self.err(
                        field("pre_promotion"),
                        "pre-promotion analysis needs `preview_share` > 0 (the share of user traffic green receives) and an [analysis]",
                    );
                }
                // Post-promotion analysis defaults to twice the time the analysis needs to reach
                // its threshold, so a failing green is always caught by it.
                let post_default = analysis.as_ref().map_or(SimTime::ZERO, |a| {
                    SimTime(a.interval.micros() * u64::from(a.threshold) * 2)
                });
                StrategyKind::BlueGreen(BlueGreenSpec {
                    pre_promotion,
                    preview_share,
                    post_promotion: match &s.post_promotion {
                        Some(p) => self.duration(&field("post_promotion"), p)?,
                        None => post_default,
                    },
                    switch_delay: dur("switch_delay", &s.switch_delay, "0s")?,
                    scale_down_delay: dur(
                        "scale_down_delay",
                        &s.scale_down_delay,
                        defaults::SCALE_DOWN_DELAY,
                    )?,
                    progress_deadline: dur(
                        "progress_deadline",
                        &s.progress_deadline,
                        defaults::PROGRESS_DEADLINE,
                    )?,
                })
            }
            "feature_flag" => {
                let refresh = match &s.refresh {
                    None => Refresh::Polling {
                        interval: self.duration("", defaults::FLAG_POLLING)?,
                    },
                    Some(x) => {
                        let mode_field = format!("{path}.refresh.mode");
                        match x.mode.as_str() {
                            "polling" if x.delay.is_none() => Refresh::Polling {
                                interval: match &x.interval {
                                    Some(i) => self.positive_duration(
                                        &format!("{path}.refresh.interval"),
                                        i,
                                    )?,
                                    None => self.duration("", defaults::FLAG_POLLING)?,
                                },
                            },
                            "streaming" if x.interval.is_none() => Refresh::Streaming {
                                delay: self.opt_duration(
                                    &format!("{path}.refresh.delay"),
                                    x.delay.as_ref(),
                                    defaults::FLAG_STREAM_DELAY,
                                )?,
                            },
                            "polling" => {
                                return self.err(
                                    format!("{path}.refresh.delay"),
                                    "polling takes `interval`, not `delay`",
                                );
                            }
                            "streaming" => {
                                return self.err(
                                    format!("{path}.refresh.interval"),
                                    "streaming takes `delay`, not `interval`",
                                );
                            }
                            other => {
                                return self.err(
                                    mode_field,
                                    format!(
                                        "unknown mode \"{other}\"; {}",
                                        expected_one_of(other, &["polling", "streaming"])
                                    ),
                                );
                            }
                        }
                    }
                };
                let steps = self.steps(path, s, "percent")?;
                if let Some((i, st)) = steps
                    .iter()
                    .enumerate()
                    .find(|(_, st)| st.percent.fract() != 0.0)
                {
                    return self.err(
                        format!("{path}.steps[{i}].percent"),
                        format!("{} is not allowed; flags bucket users in whole percents (Unleash: 1 to 100)", st.percent),
                    );
                }
                StrategyKind::FeatureFlag(FeatureFlagSpec { steps, refresh })
            }
            "rolling" => {
                let n = fleet.instances;
                let surge = self.count(&field("max_surge"), s.max_surge.as_ref(), n, true)?;
                let unavailable = self.count(
                    &field("max_unavailable"),
                    s.max_unavailable.as_ref(),
                    n,
                    false,
                )?;
                if surge == 0 && unavailable == 0 {
                    return self.err(field("max_surge"), "max_surge and max_unavailable are both 0: the update could never start (Kubernetes rejects this too)");
                }
                StrategyKind::Rolling(RollingSpec {
                    max_surge: surge,
                    max_unavailable: unavailable,
                    period: match &s.period {
                        Some(p) => self.positive_duration(&field("period"), p)?,
                        None => self.duration("", defaults::PROBE_PERIOD)?,
                    },
                    min_ready: dur("min_ready", &s.min_ready, "0s")?,
                    progress_deadline: dur(
                        "progress_deadline",
                        &s.progress_deadline,
                        defaults::PROGRESS_DEADLINE,
                    )?,
                })
            }
            _ => self.unreachable_kind(&field("kind"), &s.kind)?,
        };
        Ok(StrategySpec {
            name: s.name.clone(),
            kind,
            analysis,
        })
    }

    /// Kinds are checked against the list above; this keeps the match total without a panic.
    fn unreachable_kind(&self, field: &str, kind: &str) -> Result<StrategyKind> {
        self.err(field, format!("unknown strategy \"{kind}\""))
    }

    /// A step ladder whose values are written as `key` (`weight` or `percent`).
    fn steps(&self, path: &str, s: &RawStrategy, key: &str) -> Result<Vec<Step>> {
        if s.steps.is_empty() {
            return self.err(
                format!("{path}.steps"),
                format!("empty: a {} needs at least one step, e.g. [{{ {key} = 10, pause = \"5m\" }}, {{ {key} = 100 }}]", s.kind),
            );
        }
        let mut steps = Vec::new();
        for (i, st) in s.steps.iter().enumerate() {
            let spath = format!("{path}.steps[{i}]");
            let (value, wrong) = match key {
                "weight" => (st.weight, st.percent.map(|_| "percent")),
                _ => (st.percent, st.weight.map(|_| "weight")),
            };
            if let Some(w) = wrong {
                return self.err(
                    format!("{spath}.{w}"),
                    format!("a {} step takes `{key}`, not `{w}`", s.kind),
                );
            }
            let Some(value) = value else {
                return self.err(
                    format!("{spath}.{key}"),
                    format!(
                        "missing: a {} step needs `{key}`, a percentage in (0, 100]",
                        s.kind
                    ),
                );
            };
            if !(value > 0.0 && value <= 100.0) {
                return self.err(
                    format!("{spath}.{key}"),
                    format!("{value} is not allowed; expected a percentage in (0, 100]"),
                );
            }
            let last = i + 1 == s.steps.len();
            let pause = match (&st.pause, value >= 100.0) {
                (Some(_), true) => {
                    return self.err(
                        format!("{spath}.pause"),
                        "a 100 % step completes the rollout; it takes no pause",
                    );
                }
                (None, true) => SimTime::ZERO,
                (Some(p), false) => self.duration(&format!("{spath}.pause"), p)?,
                (None, false) => {
                    return self.err(
                        format!("{spath}.pause"),
                        "missing: a step below 100 % needs a pause, e.g. \"5m\" (an indefinite pause waits for a human and is not simulated)",
                    );
                }
            };
            if value >= 100.0 && !last {
                return self.err(
                    format!("{spath}.{key}"),
                    "100 completes the rollout; only the last step may be 100",
                );
            }
            steps.push(Step {
                percent: value,
                pause,
            });
        }
        Ok(steps)
    }

    /// A Kubernetes count-or-percentage of `n` instances; percentages round up for the surge
    /// and down for unavailability, as the Deployment controller does. Default: 25 %.
    fn count(
        &self,
        field: &str,
        value: Option<&CountOrPercent>,
        n: u32,
        round_up: bool,
    ) -> Result<u32> {
        let pct = match value {
            None => defaults::ROLLING_BUDGET_PCT,
            Some(CountOrPercent::Count(c)) => {
                return u32::try_from(*c)
                    .ok()
                    .filter(|&c| c <= n)
                    .ok_or(())
                    .or_else(|_| self.err(field, format!("{c} is not allowed; expected 0 to fleet.instances ({n}) or a percentage")));
            }
            Some(CountOrPercent::Percent(p)) => match p.strip_suffix('%').map(|x| x.trim().parse::<f64>()) {
                Some(Ok(x)) if (0.0..=100.0).contains(&x) => x,
                _ => return self.err(field, format!("\"{p}\" is not allowed; expected a percentage such as \"25%\" or a whole number")),
            },
        };
        let exact = pct / 100.0 * f64::from(n);
        Ok((if round_up {
            exact.ceil()
        } else {
            exact.floor()
        }) as u32)
    }
}
