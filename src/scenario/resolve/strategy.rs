//! `[analysis]` and `[[strategies]]`.

use super::super::hints::other_kinds;
use super::super::raw::{
    CountOrPercent, RawAnalysis, RawPause, RawRefresh, RawStepAnalysis, RawStrategy,
};
use super::{Resolver, Result, defaults};
use crate::detect::{AnalysisSpec, Metric, MetricRule, NoData, Windows};
use crate::engine::SimTime;
use crate::model::{FleetSpec, Refresh, RefreshMode};
use crate::strategy::{
    BlueGreenSpec, CanaryReplicas, CanaryRollback, CanarySpec, FeatureFlagSpec, FlaggerLadder,
    FlaggerMode, FlaggerSpec, RollingSpec, Step, StrategyKind, StrategyName, StrategySpec,
};

/// Most A/B iterations: 30 days of 10 s ticks, Flagger's shortest interval.
const MAX_ITERATIONS: u32 = 259_200;

impl Resolver<'_> {
    pub(super) fn analysis(&self, path: &str, a: &RawAnalysis) -> Result<AnalysisSpec> {
        let field = |name: &str| format!("{path}.{name}");
        let interval = match &a.interval {
            Some(i) => self.periodic_duration(&field("interval"), i)?,
            None => self.duration(&field("interval"), defaults::INTERVAL)?,
        };
        let mut metrics = self.metric_rules(path, a, None)?;
        // Judges alone judge: no built-in thresholds are added beside them.
        if metrics.is_empty() && a.judges.is_empty() {
            // An empty list, or none, means the built-in metrics.
            self.provenance
                .borrow_mut()
                .defaulted(&format!("{path}.metrics"));
            metrics = vec![
                MetricRule {
                    metric: Metric::ErrorRate,
                    min: None,
                    max: Some(defaults::MAX_ERROR_RATE),
                    window: None,
                },
                MetricRule {
                    metric: Metric::LatencyP99,
                    min: None,
                    max: Some(defaults::MAX_LATENCY_P99_MS),
                    window: None,
                },
            ];
        }
        self.analysis_spec(path, a, interval, metrics, Windows::SincePreviousCheck)
    }

    /// The fields every analysis shares around its `interval` and `metrics`.
    fn analysis_spec(
        &self,
        path: &str,
        a: &RawAnalysis,
        interval: SimTime,
        metrics: Vec<MetricRule>,
        windows: Windows,
    ) -> Result<AnalysisSpec> {
        let field = |name: &str| format!("{path}.{name}");
        let threshold = a.threshold.unwrap_or(defaults::THRESHOLD);
        if threshold == 0 {
            return self.err(
                field("threshold"),
                "0 is not allowed; expected the number of failed checks (≥ 1) that aborts the rollout",
            );
        }
        let on_no_data =
            self.named_or(&field("on_no_data"), a.on_no_data.as_deref(), NoData::Fail)?;
        let judges = self.judges(path, &a.judges)?;
        if windows == Windows::PerMetric && !judges.is_empty() {
            return self.err(
                field("judges"),
                "judges compare windows since the previous check, which a flagger strategy does not keep; use them with canary, blue_green, feature_flag or rolling",
            );
        }
        Ok(AnalysisSpec {
            judges,
            interval,
            threshold,
            min_requests: a.min_requests.unwrap_or(defaults::MIN_REQUESTS),
            on_no_data,
            metrics,
            windows,
        })
    }

    /// `[[analysis.metrics]]` at `path`; a metric's `window` is `default_window` when omitted.
    fn metric_rules(
        &self,
        path: &str,
        a: &RawAnalysis,
        default_window: Option<SimTime>,
    ) -> Result<Vec<MetricRule>> {
        let mut metrics = Vec::new();
        for (i, m) in a.metrics.iter().enumerate() {
            let mpath = format!("{path}.metrics[{i}]");
            let metric: Metric = self.named(&format!("{mpath}.name"), &m.name, "metric")?;
            let max = self.bound(&format!("{mpath}.max"), metric, m.max.as_ref())?;
            let min = self.bound(&format!("{mpath}.min"), metric, m.min.as_ref())?;
            match (min, max) {
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
            let window = match &m.window {
                Some(w) => Some(self.positive_duration(&format!("{mpath}.window"), w)?),
                None => default_window,
            };
            metrics.push(MetricRule {
                metric,
                min,
                max,
                window,
            });
        }
        Ok(metrics)
    }

    /// A flagger strategy's analysis at `path` (its own, else the scenario's, else Flagger's
    /// defaults) with Flagger's meaning: the interval is the controller tick, raised to 10 s
    /// as Flagger does; each metric reads its own `window` (default 1m); an empty metric list
    /// runs no metric check. Returns the interval as written when the floor raised it.
    fn flagger_analysis(
        &self,
        path: &str,
        a: Option<&RawAnalysis>,
    ) -> Result<(AnalysisSpec, Option<SimTime>)> {
        let empty = RawAnalysis {
            interval: None,
            threshold: None,
            min_requests: None,
            on_no_data: None,
            metrics: Vec::new(),
            judges: Vec::new(),
        };
        let a = a.unwrap_or(&empty);
        let field = format!("{path}.interval");
        let written = match &a.interval {
            Some(i) => self.positive_duration(&field, i)?,
            None => self.duration(&field, defaults::INTERVAL)?,
        };
        let floor = self.duration(&field, defaults::FLAGGER_MIN_INTERVAL)?;
        let window = self.duration(&field, defaults::FLAGGER_METRIC_WINDOW)?;
        let metrics = self.metric_rules(path, a, Some(window))?;
        let spec = self.analysis_spec(path, a, written.max(floor), metrics, Windows::PerMetric)?;
        Ok((spec, (written < floor).then_some(written)))
    }

    /// One `[[strategies]]` table at `path`; its analysis is its own or the scenario's.
    pub(super) fn strategy(
        &self,
        path: &str,
        s: &RawStrategy,
        scenario_analysis: (Option<&AnalysisSpec>, Option<&RawAnalysis>),
        fleet: &FleetSpec,
        templates: &super::argo::Templates,
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
        let name: StrategyName = self.named(&field("kind"), &s.kind, "strategy")?;
        self.strategy_fields(path, s, name)?;
        let (scenario_analysis, scenario_raw) = scenario_analysis;
        let analysis_path = match &s.analysis {
            Some(_) => field("analysis"),
            None => "analysis".to_string(),
        };
        // A flagger strategy reads its analysis with Flagger's meaning; the others as
        // rehearsal's, where a per-metric window has no meaning.
        let mut clamped = None;
        let analysis = if name == StrategyName::ArgoCanary {
            // Argo analyses with templates ([analysis_templates]), not with [analysis].
            None
        } else if name == StrategyName::Flagger {
            let raw = s.analysis.as_ref().or(scenario_raw);
            let (analysis, written) = self.flagger_analysis(&analysis_path, raw)?;
            clamped = written;
            Some(analysis)
        } else {
            let analysis = match &s.analysis {
                Some(a) => Some(self.analysis(&field("analysis"), a)?),
                None => scenario_analysis.cloned(),
            };
            if let Some(i) = analysis
                .iter()
                .flat_map(|a| &a.metrics)
                .position(|r| r.window.is_some())
            {
                return self.err(
                    format!("{analysis_path}.metrics[{i}].window"),
                    format!(
                        "a {} strategy judges at each check the requests since the previous one; only a flagger strategy takes a per-metric `window`",
                        name.name()
                    ),
                );
            }
            analysis
        };
        let kind = match name {
            StrategyName::Canary => StrategyKind::Canary(self.canary(path, s)?),
            StrategyName::BlueGreen => StrategyKind::BlueGreen(self.blue_green(
                path,
                s,
                analysis.as_ref(),
                fleet,
                templates,
            )?),
            StrategyName::FeatureFlag => StrategyKind::FeatureFlag(self.feature_flag(path, s)?),
            StrategyName::Rolling => StrategyKind::Rolling(self.rolling(path, s, fleet)?),
            StrategyName::Flagger => {
                StrategyKind::Flagger(self.flagger(path, s, clamped, analysis.as_ref())?)
            }
            StrategyName::ArgoCanary => {
                StrategyKind::ArgoCanary(self.argo_canary(path, s, templates)?)
            }
        };
        Ok(StrategySpec {
            name: s.name.clone(),
            kind,
            analysis,
        })
    }

    /// Rejects the optional fields that kind `name` does not take ([`StrategyName::fields`]).
    fn strategy_fields(&self, path: &str, s: &RawStrategy, name: StrategyName) -> Result<()> {
        let given = [
            ("sticky", s.sticky.is_some()),
            ("prescaled", s.prescaled.is_some()),
            ("steps", !s.steps.is_empty()),
            ("rollback", s.rollback.is_some()),
            ("pre_promotion", s.pre_promotion.is_some()),
            ("preview_share", s.preview_share.is_some()),
            ("preview_rate", s.preview_rate.is_some()),
            ("pre_promotion_analysis", s.pre_promotion_analysis.is_some()),
            (
                "post_promotion_analysis",
                s.post_promotion_analysis.is_some(),
            ),
            ("preview_replicas", s.preview_replicas.is_some()),
            ("post_promotion", s.post_promotion.is_some()),
            ("switch_delay", s.switch_delay.is_some()),
            ("auto_promotion_delay", s.auto_promotion_delay.is_some()),
            ("scale_down_delay", s.scale_down_delay.is_some()),
            ("progress_deadline", s.progress_deadline.is_some()),
            ("refresh", s.refresh.is_some()),
            ("max_surge", s.max_surge.is_some()),
            ("max_unavailable", s.max_unavailable.is_some()),
            ("period", s.period.is_some()),
            ("min_ready", s.min_ready.is_some()),
            ("step_weight", s.step_weight.is_some()),
            ("max_weight", s.max_weight.is_some()),
            ("step_weights", s.step_weights.is_some()),
            ("step_weight_promotion", s.step_weight_promotion.is_some()),
            ("canary_replicas", s.canary_replicas.is_some()),
            ("skip_analysis", s.skip_analysis.is_some()),
            ("session_affinity", s.session_affinity.is_some()),
            ("mode", s.mode.is_some()),
            ("iterations", s.iterations.is_some()),
            ("match_share", s.match_share.is_some()),
            ("load_test_rate", s.load_test_rate.is_some()),
            ("background_analysis", s.background_analysis.is_some()),
            ("dynamic_stable_scale", s.dynamic_stable_scale.is_some()),
            ("abort_scale_down_delay", s.abort_scale_down_delay.is_some()),
            (
                "progress_deadline_abort",
                s.progress_deadline_abort.is_some(),
            ),
            ("promotion_delay", s.promotion_delay.is_some()),
        ];
        let takes = name.fields();
        match given.iter().find(|(n, g)| *g && !takes.contains(n)) {
            Some((field, _)) => self.err(
                format!("{path}.{field}"),
                format!(
                    "{} {} strategy takes no `{field}`; its fields are: {}{}",
                    super::article(name.name()),
                    name.name(),
                    takes.join(", "),
                    other_kinds(field, name).unwrap_or_default()
                ),
            ),
            None => Ok(()),
        }
    }

    /// A duration field of strategy `path`, `default` when omitted.
    fn strategy_duration(
        &self,
        path: &str,
        name: &str,
        value: &Option<String>,
        default: &str,
    ) -> Result<SimTime> {
        self.opt_duration(&format!("{path}.{name}"), value.as_ref(), default)
    }

    fn canary(&self, path: &str, s: &RawStrategy) -> Result<CanarySpec> {
        Ok(CanarySpec {
            sticky: s.sticky.unwrap_or(false),
            steps: self.steps(path, s, "weight")?,
            rollback: self.named_or(
                &format!("{path}.rollback"),
                s.rollback.as_deref(),
                CanaryRollback::Instant,
            )?,
            prescaled: s.prescaled.unwrap_or(false),
            progress_deadline: self.strategy_duration(
                path,
                "progress_deadline",
                &s.progress_deadline,
                defaults::PROGRESS_DEADLINE,
            )?,
        })
    }

    fn blue_green(
        &self,
        path: &str,
        s: &RawStrategy,
        analysis: Option<&AnalysisSpec>,
        fleet: &FleetSpec,
        templates: &super::argo::Templates,
    ) -> Result<BlueGreenSpec> {
        let field = |name: &str| format!("{path}.{name}");
        let dur = |name, value, default| self.strategy_duration(path, name, value, default);
        let pre_promotion = dur("pre_promotion", &s.pre_promotion, "0s")?;
        let preview_share = s.preview_share.unwrap_or(0.0);
        if !(0.0..=100.0).contains(&preview_share) {
            return self.err(
                field("preview_share"),
                format!("{preview_share} is not allowed; expected a percentage from 0 to 100"),
            );
        }
        let preview_rate = match s.preview_rate {
            None => 0.0,
            Some(r) if r.is_finite() && (0.0..=1e6).contains(&r) => r,
            Some(r) => {
                return self.err(
                    field("preview_rate"),
                    format!(
                        "{r} is not allowed; expected synthetic requests per second from 0 to 1e6"
                    ),
                );
            }
        };
        let mut runs = Vec::new();
        let mut run = |name: &str,
                       timed: bool,
                       x: &Option<RawStepAnalysis>|
         -> Result<Option<usize>> {
            let Some(a) = x else {
                return Ok(None);
            };
            if timed {
                let timed_field = name.replace("_analysis", "");
                return self.err(
                    field(name),
                    format!("give `{timed_field}` (a duration of the scenario's [analysis]) or `{name}` (Argo templates, run to their `count`), not both"),
                );
            }
            runs.push(self.run_spec(
                &format!("{}.templates", field(name)),
                &a.templates,
                templates,
            )?);
            Ok(Some(runs.len() - 1))
        };
        let pre_run = run(
            "pre_promotion_analysis",
            s.pre_promotion.is_some(),
            &s.pre_promotion_analysis,
        )?;
        let post_run = run(
            "post_promotion_analysis",
            s.post_promotion.is_some(),
            &s.post_promotion_analysis,
        )?;
        if pre_promotion > SimTime::ZERO
            && ((preview_share == 0.0 && preview_rate == 0.0) || analysis.is_none())
        {
            return self.err(
                field("pre_promotion"),
                "pre-promotion analysis needs traffic on the preview, `preview_rate` > 0 (synthetic load-test requests per second) or `preview_share` > 0 (a share of user traffic), and an [analysis]",
            );
        }
        let preview_replicas = match s.preview_replicas {
            None => fleet.instances,
            Some(k) if k >= 1 && k <= fleet.instances => k,
            Some(k) => {
                return self.err(
                    field("preview_replicas"),
                    format!(
                        "{k} is not allowed; expected 1 to fleet.instances ({})",
                        fleet.instances
                    ),
                );
            }
        };
        // Post-promotion analysis defaults to twice the time the analysis needs to reach its
        // threshold, so a failing green is always caught by it.
        let post_default = analysis.map_or(SimTime::ZERO, |a| {
            SimTime(a.interval.micros() * u64::from(a.threshold) * 2)
        });
        Ok(BlueGreenSpec {
            pre_promotion,
            preview_share,
            preview_rate,
            preview_replicas,
            progress_deadline_abort: s.progress_deadline_abort.unwrap_or(false),
            runs,
            pre_run,
            post_run,
            promotion_delay: s
                .promotion_delay
                .as_ref()
                .map(|m| self.log_normal(&field("promotion_delay"), m, defaults::MANUAL_SIGMA))
                .transpose()?,
            // A post-promotion run replaces the timed analysis: no default duration then.
            post_promotion: match (&s.post_promotion, post_run) {
                (Some(p), _) => self.duration(&field("post_promotion"), p)?,
                (None, Some(_)) => SimTime::ZERO,
                (None, None) => post_default,
            },
            switch_delay: dur("switch_delay", &s.switch_delay, "0s")?,
            auto_promotion_delay: dur("auto_promotion_delay", &s.auto_promotion_delay, "0s")?,
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

    fn feature_flag(&self, path: &str, s: &RawStrategy) -> Result<FeatureFlagSpec> {
        let refresh = match &s.refresh {
            None => Refresh::Polling {
                interval: self.duration("", defaults::FLAG_POLLING)?,
            },
            Some(x) => self.refresh(&format!("{path}.refresh"), x)?,
        };
        let steps = self.steps(path, s, "percent")?;
        if let Some((i, st)) = steps
            .iter()
            .enumerate()
            .find(|(_, st)| st.percent.fract() != 0.0)
        {
            return self.err(
                format!("{path}.steps[{i}].percent"),
                format!(
                    "{} is not allowed; flags bucket users in whole percents (Unleash: 1 to 100)",
                    st.percent
                ),
            );
        }
        Ok(FeatureFlagSpec { steps, refresh })
    }

    /// A flag's `refresh` table at `path`: polling takes `interval`, streaming `delay`.
    fn refresh(&self, path: &str, x: &RawRefresh) -> Result<Refresh> {
        let mode: RefreshMode = self.named(&format!("{path}.mode"), &x.mode, "mode")?;
        Ok(match (mode, &x.interval, &x.delay) {
            (RefreshMode::Polling, interval, None) => Refresh::Polling {
                interval: match interval {
                    Some(i) => self.periodic_duration(&format!("{path}.interval"), i)?,
                    None => self.duration("", defaults::FLAG_POLLING)?,
                },
            },
            (RefreshMode::Streaming, None, delay) => Refresh::Streaming {
                delay: self.opt_duration(
                    &format!("{path}.delay"),
                    delay.as_ref(),
                    defaults::FLAG_STREAM_DELAY,
                )?,
            },
            (RefreshMode::Polling, _, Some(_)) => {
                return self.err(
                    format!("{path}.delay"),
                    "polling takes `interval`, not `delay`",
                );
            }
            (RefreshMode::Streaming, Some(_), _) => {
                return self.err(
                    format!("{path}.interval"),
                    "streaming takes `delay`, not `interval`",
                );
            }
        })
    }

    fn rolling(&self, path: &str, s: &RawStrategy, fleet: &FleetSpec) -> Result<RollingSpec> {
        let field = |name: &str| format!("{path}.{name}");
        let dur = |name, value, default| self.strategy_duration(path, name, value, default);
        let n = fleet.instances;
        let surge = self.count(&field("max_surge"), s.max_surge.as_ref(), n, true)?;
        let unavailable = self.count(
            &field("max_unavailable"),
            s.max_unavailable.as_ref(),
            n,
            false,
        )?;
        if surge == 0 && unavailable == 0 {
            return self.err(
                field("max_surge"),
                "max_surge and max_unavailable are both 0: the update could never start (Kubernetes rejects this too)",
            );
        }
        Ok(RollingSpec {
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

    /// A flagger strategy's own fields; `clamped` is its analysis interval as written when
    /// Flagger's 10 s floor raised it.
    fn flagger(
        &self,
        path: &str,
        s: &RawStrategy,
        clamped: Option<SimTime>,
        analysis: Option<&AnalysisSpec>,
    ) -> Result<FlaggerSpec> {
        let field = |name: &str| format!("{path}.{name}");
        let percent = |name: &str, x: f64| -> Result<f64> {
            if x > 0.0 && x <= 100.0 {
                Ok(x)
            } else {
                self.err(
                    field(name),
                    format!("{x} is not allowed; expected a percentage in (0, 100]"),
                )
            }
        };
        let load_test_rate = match s.load_test_rate {
            None => 0.0,
            Some(r) if r.is_finite() && (0.0..=1e6).contains(&r) => r,
            Some(r) => {
                return self.err(
                    field("load_test_rate"),
                    format!(
                        "{r} is not allowed; expected synthetic requests per second from 0 to 1e6"
                    ),
                );
            }
        };
        let progress_deadline = self.strategy_duration(
            path,
            "progress_deadline",
            &s.progress_deadline,
            defaults::FLAGGER_PROGRESS_DEADLINE,
        )?;
        let canary_replicas = self.named_or(
            &field("canary_replicas"),
            s.canary_replicas.as_deref(),
            CanaryReplicas::Full,
        )?;
        if let (mode, Some(ladder)) = self.flagger_mode(path, s, analysis)? {
            return Ok(FlaggerSpec {
                mode,
                ladder,
                step_weight_promotion: 100.0,
                canary_replicas,
                progress_deadline,
                skip_analysis: s.skip_analysis.unwrap_or(false),
                session_affinity: mode == FlaggerMode::Ab,
                clamped_interval: clamped,
                load_test_rate,
            });
        }
        let ladder = match (s.step_weight, s.max_weight, &s.step_weights) {
            (Some(_), _, Some(_)) => {
                return self.err(
                    field("step_weights"),
                    "give either `step_weight` (with `max_weight`) or `step_weights`, not both",
                );
            }
            (None, Some(_), Some(_)) => {
                return self.err(
                    field("max_weight"),
                    "`step_weights` sets its own maximum (its last weight); `max_weight` goes with `step_weight`",
                );
            }
            (Some(step), Some(max), None) => FlaggerLadder::Linear {
                step: percent("step_weight", step)?,
                max: percent("max_weight", max)?,
            },
            (Some(_), None, None) => {
                return self.err(
                    field("max_weight"),
                    "missing: `step_weight` needs `max_weight`, the weight (percent in (0, 100]) at which the canary is promoted, e.g. step_weight = 10, max_weight = 50",
                );
            }
            (None, Some(_), None) => {
                return self.err(
                    field("step_weight"),
                    "missing: `max_weight` needs `step_weight`, the weight added per passing tick (percent in (0, 100])",
                );
            }
            (None, None, Some(w)) => {
                if w.is_empty() {
                    return self.err(
                        field("step_weights"),
                        "empty: give at least one weight, e.g. [1, 2, 10, 80]",
                    );
                }
                for (i, &x) in w.iter().enumerate() {
                    percent(&format!("step_weights[{i}]"), x)?;
                    if i > 0 && x <= w[i - 1] {
                        return self.err(
                            field(&format!("step_weights[{i}]")),
                            format!(
                                "{x} is not above the previous weight {}; expected strictly increasing weights",
                                w[i - 1]
                            ),
                        );
                    }
                }
                FlaggerLadder::Explicit(w.clone())
            }
            (None, None, None) => {
                return self.err(
                    field("step_weight"),
                    "missing: a flagger strategy needs `step_weight` and `max_weight` (e.g. 10 and 50) or `step_weights` (e.g. [1, 2, 10, 80])",
                );
            }
        };
        let step_weight_promotion = match s.step_weight_promotion {
            Some(x) => percent("step_weight_promotion", x)?,
            None => defaults::FLAGGER_STEP_WEIGHT_PROMOTION,
        };
        Ok(FlaggerSpec {
            mode: FlaggerMode::Canary,
            ladder,
            step_weight_promotion,
            canary_replicas,
            progress_deadline,
            skip_analysis: s.skip_analysis.unwrap_or(false),
            session_affinity: s.session_affinity.unwrap_or(false),
            clamped_interval: clamped,
            load_test_rate,
        })
    }

    /// A flagger strategy's `mode`, and for the modes with `iterations` their ladder: A/B
    /// testing routes the matching users (`match_share` percent, by user hash, as a header or
    /// cookie match routes the same users every time) to the canary for `iterations` passing
    /// checks (`runAB`); blue/green analyses the canary on load-test traffic alone for
    /// `iterations` checks, routes all traffic to it for one more, then promotes
    /// (`runBlueGreen`, `pkg/controller/scheduler.go`).
    fn flagger_mode(
        &self,
        path: &str,
        s: &RawStrategy,
        analysis: Option<&AnalysisSpec>,
    ) -> Result<(FlaggerMode, Option<FlaggerLadder>)> {
        let field = |name: &str| format!("{path}.{name}");
        let mode = self.named_or(&field("mode"), s.mode.as_deref(), FlaggerMode::Canary)?;
        let (takes, refuses): (&[&str], &[(&str, bool)]) = match mode {
            FlaggerMode::Canary => (
                &[],
                &[
                    ("iterations", s.iterations.is_some()),
                    ("match_share", s.match_share.is_some()),
                ],
            ),
            FlaggerMode::Ab | FlaggerMode::BlueGreen => (
                &["iterations"],
                &[
                    ("step_weight", s.step_weight.is_some()),
                    ("max_weight", s.max_weight.is_some()),
                    ("step_weights", s.step_weights.is_some()),
                    ("step_weight_promotion", s.step_weight_promotion.is_some()),
                    (
                        "session_affinity",
                        s.session_affinity.is_some() && mode == FlaggerMode::Ab,
                    ),
                    (
                        "match_share",
                        s.match_share.is_some() && mode == FlaggerMode::BlueGreen,
                    ),
                ],
            ),
        };
        if let Some((name, _)) = refuses.iter().find(|(_, given)| *given) {
            let why = match mode {
                FlaggerMode::Canary => {
                    "only with mode = \"ab\" or \"blue_green\" (Flagger's `analysis.iterations`, with `match` for A/B testing)"
                }
                FlaggerMode::Ab => {
                    "mode = \"ab\" routes the matching users to the canary for `iterations` checks; it takes no weights (Flagger ignores them in A/B testing)"
                }
                FlaggerMode::BlueGreen => {
                    "mode = \"blue_green\" analyses the canary on load-test traffic for `iterations` checks, then switches all traffic; it takes no weights and no `match_share`"
                }
            };
            return self.err(field(name), why);
        }
        if takes.is_empty() {
            return Ok((mode, None));
        }
        let Some(iterations) = s.iterations.filter(|&n| n > 0 && n <= MAX_ITERATIONS) else {
            return self.err(
                field("iterations"),
                format!("missing or out of range: mode = \"{}\" needs `iterations` from 1 to {MAX_ITERATIONS}, the passing checks before promotion (Flagger `analysis.iterations`)", mode.name()),
            );
        };
        let n = iterations as usize;
        if mode == FlaggerMode::BlueGreen {
            let checks = analysis.is_some_and(|a| !a.metrics.is_empty());
            if checks && s.load_test_rate.is_none_or(|r| r == 0.0) {
                return self.err(
                    field("load_test_rate"),
                    "missing: mode = \"blue_green\" checks its metrics on load-test traffic alone (no user reaches the canary before the switch); give `load_test_rate`, the requests per second of Flagger's load tester, e.g. 10",
                );
            }
            let mut ladder = vec![0.0; n];
            ladder.push(100.0);
            return Ok((mode, Some(FlaggerLadder::Explicit(ladder))));
        }
        let share = match s.match_share {
            Some(x) if x > 0.0 && x <= 100.0 => x,
            Some(x) => {
                return self.err(
                    field("match_share"),
                    format!("{x} is not allowed; expected a percentage of users in (0, 100]"),
                );
            }
            None => {
                return self.err(
                    field("match_share"),
                    "missing: mode = \"ab\" needs `match_share`, the percentage of users whose header or cookie matches (Flagger `analysis.match`)",
                );
            }
        };
        Ok((mode, Some(FlaggerLadder::Explicit(vec![share; n]))))
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
            let argo = [
                ("set_weight", st.set_weight.is_some()),
                ("analysis", st.analysis.is_some()),
            ];
            if let Some((w, _)) = argo.iter().find(|(_, given)| *given) {
                return self.err(
                    format!("{spath}.{w}"),
                    format!(
                        "a {} step takes `{key}` and `pause`; `{w}` is a step of kind = \"argo_canary\"",
                        s.kind
                    ),
                );
            }
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
                (Some(RawPause::Duration(p)), false) => {
                    self.duration(&format!("{spath}.pause"), p)?
                }
                (Some(RawPause::Indefinite), false) => {
                    return self.err(
                        format!("{spath}.pause"),
                        format!("a {} step pauses for a duration such as \"5m\"; an indefinite pause (pause = {{}}, waiting for a human) is a step of kind = \"argo_canary\"", s.kind),
                    );
                }
                (None, false) => {
                    return self.err(
                        format!("{spath}.pause"),
                        "missing: a step below 100 % needs a pause, e.g. \"5m\" (kind = \"argo_canary\" also takes pause = {}, waiting for a human)",
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
