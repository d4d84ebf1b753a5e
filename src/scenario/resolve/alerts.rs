//! `[[alerts]]` (or `alerts = "rules.yaml"`), `[monitoring]` and `[manual] trigger`.

use std::path::{Path, PathBuf};

use super::super::raw::{RawAlert, RawAlerts, RawMonitoring, RawRuleFile, RawScenario, RawSlo};
use super::{Resolver, Result, defaults, short};
use crate::detect::ManualTrigger;
use crate::detect::alerts::series::DEFAULT_BUCKETS_S;
use crate::detect::alerts::{AlertAction, AlertKind, AlertRule, AlertsSpec, promql};
use crate::detect::burn_rate::{self, BurnWindow, DEFAULT_WINDOWS, LatencySlo, SloKind, SloSpec};
use crate::engine::SimTime;
use crate::scenario::{Provenance, ScenarioError};

/// Most rows of a burn-rate table.
const MAX_WINDOWS: usize = 10;
/// Most history samples per series (`history / scrape_interval`): 3 days at 15 s is 17 280.
const MAX_HISTORY_SAMPLES: u64 = 100_000;

/// Most alert rules per scenario.
const MAX_RULES: usize = 100;
/// Most histogram buckets.
const MAX_BUCKETS: usize = 100;

/// One rule as written, wherever it was written.
struct Written<'a> {
    /// Field path of the rule (`alerts[0]`, `groups[1].rules[0]`).
    path: String,
    name: &'a str,
    expr: &'a str,
    hold: Option<&'a String>,
    keep_firing_for: Option<&'a String>,
    action: Option<&'a str>,
    /// The field the action was read from.
    action_field: &'static str,
}

impl Resolver<'_> {
    /// The alert rules and when the `[manual]` delay starts: at the first firing page when
    /// some rule pages (a team with paging alerts hears of a fault from them), at onset
    /// otherwise (today's behaviour, the "a user reports it" path), unless `trigger` says.
    ///
    /// `slo` is the resolved `[slo]` (a stand-in when it is in error), for burn-rate alerts.
    pub(super) fn alerts(
        &self,
        raw: &RawScenario,
        has_manual: bool,
        slo: Option<&SloSpec>,
    ) -> Result<(Option<AlertsSpec>, ManualTrigger)> {
        let spec = match &raw.alerts {
            None => None,
            Some(RawAlerts::Rules(rules)) => {
                let buckets = self.bucket_bounds(raw.monitoring.as_ref())?;
                let mut resolved = Vec::new();
                let mut burns = false;
                for (i, r) in rules.iter().enumerate() {
                    let path = format!("alerts[{i}]");
                    let kind =
                        self.named_or(&format!("{path}.kind"), r.kind.as_deref(), AlertKind::Rule)?;
                    match kind {
                        AlertKind::Rule => resolved.push(self.written_rule(&path, r)?),
                        AlertKind::BurnRate => {
                            burns = true;
                            resolved.extend(self.burn_rate(&path, r, slo, &buckets)?);
                        }
                    }
                }
                Some(self.monitoring(raw.monitoring.as_ref(), resolved, buckets, burns)?)
            }
            Some(RawAlerts::File(path)) => {
                let rules = self.rule_file(path)?;
                let buckets = self.bucket_bounds(raw.monitoring.as_ref())?;
                Some(self.monitoring(raw.monitoring.as_ref(), rules, buckets, false)?)
            }
        };
        let pages = spec.as_ref().is_some_and(AlertsSpec::pages);
        if pages && !has_manual {
            return self.err(
                "alerts",
                "a rule with action \"page\" needs a [manual] table: the paged human's delay (median, sigma); or set action = \"rollback\"",
            );
        }
        let trigger = raw.manual.as_ref().and_then(|m| m.trigger.as_deref());
        let default = if pages {
            ManualTrigger::Page
        } else {
            ManualTrigger::Onset
        };
        let trigger = self.named_or("manual.trigger", trigger, default)?;
        if trigger == ManualTrigger::Page && !pages {
            return self.err(
                "manual.trigger",
                "\"page\" needs an alert rule with action = \"page\"; use \"onset\" or add one",
            );
        }
        Ok((spec, trigger))
    }

    /// `[monitoring] buckets`, or the Prometheus clients' defaults.
    fn bucket_bounds(&self, m: Option<&RawMonitoring>) -> Result<Vec<f64>> {
        match m.and_then(|m| m.buckets.as_ref()) {
            None => Ok(DEFAULT_BUCKETS_S.to_vec()),
            Some(b) => self.buckets(b),
        }
    }

    /// `[monitoring]` around the resolved `rules`. `burns`: some rule is a burn-rate alert,
    /// whose long window needs history (the default history is then the longest window any
    /// rule reads).
    fn monitoring(
        &self,
        m: Option<&RawMonitoring>,
        rules: Vec<AlertRule>,
        buckets_s: Vec<f64>,
        burns: bool,
    ) -> Result<AlertsSpec> {
        if rules.is_empty() || rules.len() > MAX_RULES {
            return self.err(
                "alerts",
                format!(
                    "{} rules; expected 1 to {MAX_RULES} alerting rules",
                    rules.len()
                ),
            );
        }
        let interval = |name: &str, text: Option<&String>, default: &str| match text {
            Some(t) => self.periodic_duration(&format!("monitoring.{name}"), t),
            None => self.duration(&format!("monitoring.{name}"), default),
        };
        let scrape_interval = interval(
            "scrape_interval",
            m.and_then(|m| m.scrape_interval.as_ref()),
            defaults::SCRAPE_INTERVAL,
        )?;
        let reach = rules.iter().map(|r| r.expr.reach()).max();
        let history = match m.and_then(|m| m.history.as_ref()) {
            Some(t) => self.duration("monitoring.history", t)?,
            None if burns => reach.unwrap_or(SimTime::ZERO),
            None => SimTime::ZERO,
        };
        let samples = history.micros().div_ceil(scrape_interval.micros());
        if samples > MAX_HISTORY_SAMPLES {
            return self.err(
                "monitoring.history",
                format!(
                    "{} s at a scrape_interval of {} s keeps {samples} samples per series; at most {MAX_HISTORY_SAMPLES}: lengthen scrape_interval or shorten history (it defaults to the longest window a burn-rate alert reads)",
                    short(history.as_secs_f64()),
                    short(scrape_interval.as_secs_f64())
                ),
            );
        }
        Ok(AlertsSpec {
            scrape_interval,
            history,
            evaluation_interval: interval(
                "evaluation_interval",
                m.and_then(|m| m.evaluation_interval.as_ref()),
                defaults::EVALUATION_INTERVAL,
            )?,
            buckets_s,
            rules,
        })
    }

    /// `monitoring.buckets`: finite upper bounds in seconds, strictly increasing.
    fn buckets(&self, b: &[f64]) -> Result<Vec<f64>> {
        if b.is_empty() || b.len() > MAX_BUCKETS {
            return self.err(
                "monitoring.buckets",
                format!("{} bounds; expected 1 to {MAX_BUCKETS}", b.len()),
            );
        }
        if let Some(i) = b.iter().position(|x| !x.is_finite()) {
            return self.err(
                format!("monitoring.buckets[{i}]"),
                format!(
                    "{} is not allowed; expected a finite bound in seconds (+Inf is implied)",
                    short(b[i])
                ),
            );
        }
        for (i, w) in b.windows(2).enumerate() {
            if w[0] >= w[1] {
                return self.err(
                    format!("monitoring.buckets[{}]", i + 1),
                    format!(
                        "{} after {}; bounds must increase (seconds; +Inf is implied)",
                        short(w[1]),
                        short(w[0])
                    ),
                );
            }
        }
        Ok(b.to_vec())
    }

    /// An `[[alerts]]` table of kind `rule`: `expr` is its PromQL.
    fn written_rule(&self, path: &str, r: &RawAlert) -> Result<AlertRule> {
        for (field, set) in [("slo", r.slo.is_some()), ("windows", r.windows.is_some())] {
            if set {
                return self.err(
                    format!("{path}.{field}"),
                    format!("only a kind = \"burn_rate\" alert takes {field}; remove it or set kind = \"burn_rate\""),
                );
            }
        }
        let Some(expr) = &r.expr else {
            return self.err(
                format!("{path}.expr"),
                "missing: a rule needs expr = \"<PromQL>\" (or kind = \"burn_rate\" to generate it from [slo])",
            );
        };
        self.rule(&Written {
            path: path.to_string(),
            name: &r.name,
            expr,
            hold: r.hold.as_ref(),
            keep_firing_for: r.keep_firing_for.as_ref(),
            action: r.action.as_deref(),
            action_field: "action",
        })
    }

    /// An `[[alerts]]` table of kind `burn_rate`: one rule per row of its table, named
    /// `<name>:<factor>x:<long>/<short>`, its PromQL generated by [`burn_rate::expr`].
    fn burn_rate(
        &self,
        path: &str,
        r: &RawAlert,
        slo: Option<&SloSpec>,
        buckets: &[f64],
    ) -> Result<Vec<AlertRule>> {
        if let Some(expr) = &r.expr {
            return self.err(
                format!("{path}.expr"),
                format!("\"{expr}\": a burn_rate alert generates its expressions from [slo]; remove expr, or set kind = \"rule\""),
            );
        }
        if r.name.is_empty() {
            return self.err(format!("{path}.name"), "empty; name the alert");
        }
        let Some(slo) = slo else {
            return self.err(
                format!("{path}.kind"),
                "\"burn_rate\" needs an [slo] table: availability = 0.999 (and optionally latency = { threshold = \"300ms\", objective = 0.99 })",
            );
        };
        let kind = self.named_or(
            &format!("{path}.slo"),
            r.slo.as_deref(),
            SloKind::Availability,
        )?;
        let Some(budget) = slo.budget(kind) else {
            return self.err(
                format!("{path}.slo"),
                "\"latency\" needs [slo] latency = { threshold = \"300ms\", objective = 0.99 }",
            );
        };
        if let (SloKind::Latency, Some(l)) = (kind, &slo.latency)
            && !buckets.contains(&l.threshold_s)
        {
            return self.err(
                "slo.latency.threshold",
                format!(
                    "{} s is not a bound of monitoring.buckets ({}); the share of requests under it is a bucket count: add {} to monitoring.buckets",
                    short(l.threshold_s),
                    buckets.iter().map(|b| short(*b)).collect::<Vec<_>>().join(", "),
                    short(l.threshold_s)
                ),
            );
        }
        let table_action = match r.action.as_deref() {
            None => None,
            Some(a) => Some(self.named::<AlertAction>(&format!("{path}.action"), a, "action")?),
        };
        let windows: Vec<BurnWindow> = match &r.windows {
            None => DEFAULT_WINDOWS
                .iter()
                .map(|&(factor, long, short, action)| {
                    Ok(BurnWindow {
                        factor,
                        long: (long.to_string(), self.duration(path, long)?),
                        short: (short.to_string(), self.duration(path, short)?),
                        action: match (action, table_action) {
                            (AlertAction::Page, Some(a)) => a,
                            (a, _) => a,
                        },
                    })
                })
                .collect::<Result<_>>()?,
            Some(rows) => {
                if rows.is_empty() || rows.len() > MAX_WINDOWS {
                    return self.err(
                        format!("{path}.windows"),
                        format!("{} rows; expected 1 to {MAX_WINDOWS} (or leave windows out for the SRE Workbook's 14.4×/1h/5m, 6×/6h/30m, 1×/3d/6h)", rows.len()),
                    );
                }
                let mut out = Vec::new();
                for (j, w) in rows.iter().enumerate() {
                    let at = |f: &str| format!("{path}.windows[{j}].{f}");
                    if !(w.factor.is_finite() && w.factor > 0.0) {
                        return self.err(
                            at("factor"),
                            format!("{} is not allowed; expected a burn-rate factor > 0 (1 spends the budget in exactly the SLO window)", short(w.factor)),
                        );
                    }
                    if w.factor * budget >= 1.0 {
                        return self.err(
                            at("factor"),
                            format!(
                                "{} × the budget {} = {} ≥ 1: a bad-request ratio can never exceed it; expected a factor below {}",
                                burn_rate::number(w.factor),
                                burn_rate::number(budget),
                                burn_rate::number(w.factor * budget),
                                burn_rate::number(1.0 / budget)
                            ),
                        );
                    }
                    let long = self.promql_window(&at("long"), &w.long)?;
                    let short_w = self.promql_window(&at("short"), &w.short)?;
                    if short_w > long {
                        return self.err(
                            at("short"),
                            format!("\"{}\" is longer than long = \"{}\"; the short window confirms the burn is still on, so it must not be longer (the Workbook uses long / 12)", w.short, w.long),
                        );
                    }
                    out.push(BurnWindow {
                        factor: w.factor,
                        long: (w.long.clone(), long),
                        short: (w.short.clone(), short_w),
                        action: match &w.action {
                            None => table_action.unwrap_or(AlertAction::Page),
                            Some(a) => self.named(&at("action"), a, "action")?,
                        },
                    });
                }
                out
            }
        };
        windows
            .iter()
            .map(|w| {
                let text = burn_rate::expr(slo, kind, w);
                let name = format!(
                    "{}:{}x:{}/{}",
                    r.name,
                    burn_rate::number(w.factor),
                    w.long.0,
                    w.short.0
                );
                let mut rule = self.rule(&Written {
                    path: path.to_string(),
                    name: &name,
                    expr: &text,
                    hold: r.hold.as_ref(),
                    keep_firing_for: r.keep_firing_for.as_ref(),
                    action: None,
                    action_field: "action",
                })?;
                rule.action = w.action;
                Ok(rule)
            })
            .collect()
    }

    /// A burn-rate window: a positive duration of whole milliseconds (a PromQL range).
    fn promql_window(&self, field: &str, text: &str) -> Result<SimTime> {
        let t = self.positive_duration(field, text)?;
        if !t.micros().is_multiple_of(1000) {
            return self.err(
                field,
                format!(
                    "\"{text}\" is not a whole number of milliseconds, which a PromQL range needs"
                ),
            );
        }
        Ok(t)
    }

    /// `[slo]`: the availability objective (and the optional latency one) in (0, 1), the
    /// window positive.
    pub(super) fn slo(&self, raw: Option<&RawSlo>) -> Result<Option<SloSpec>> {
        let Some(raw) = raw else {
            return Ok(None);
        };
        let objective = |field: &str, x: f64| {
            if x > 0.0 && x < 1.0 {
                Ok(x)
            } else {
                self.err(
                    field,
                    format!(
                        "{} is not allowed; expected a share strictly between 0 and 1, e.g. 0.999 for 99.9 %{}",
                        short(x),
                        if x > 1.0 && x < 100.0 {
                            format!(
                                " (for {} %, write {})",
                                short(x),
                                burn_rate::number(x / 100.0)
                            )
                        } else {
                            String::new()
                        }
                    ),
                )
            }
        };
        let availability = objective("slo.availability", raw.availability)?;
        let window = match &raw.window {
            Some(w) => self.positive_duration("slo.window", w)?,
            None => self.duration("slo.window", burn_rate::DEFAULT_WINDOW)?,
        };
        let latency = match &raw.latency {
            None => None,
            Some(l) => Some(LatencySlo {
                threshold_s: self
                    .positive_duration("slo.latency.threshold", &l.threshold)?
                    .as_secs_f64(),
                objective: objective("slo.latency.objective", l.objective)?,
            }),
        };
        Ok(Some(SloSpec {
            availability,
            latency,
            window,
        }))
    }

    /// One rule: its expression compiled, its durations and action checked.
    fn rule(&self, w: &Written) -> Result<AlertRule> {
        let field = |name: &str| format!("{}.{name}", w.path);
        if w.name.is_empty() {
            return self.err(field("name"), "empty; name the alert");
        }
        let expr = promql::compile(w.expr)
            .or_else(|e| self.err(field("expr"), format!("\"{}\": {e}", w.expr)))?;
        Ok(AlertRule {
            name: w.name.to_string(),
            text: w.expr.to_string(),
            expr,
            hold: self.opt_duration(&field("for"), w.hold, defaults::ALERT_FOR)?,
            keep_firing_for: self.opt_duration(
                &field("keep_firing_for"),
                w.keep_firing_for,
                defaults::KEEP_FIRING_FOR,
            )?,
            action: match w.action {
                None => AlertAction::Page,
                Some(a) => self.named(&field(w.action_field), a, "action")?,
            },
        })
    }

    /// The alerting rules of a Prometheus rule file, its path relative to the scenario's
    /// folder; errors name the rule file and the field inside it.
    fn rule_file(&self, path: &str) -> Result<Vec<AlertRule>> {
        let full: PathBuf = self.file.parent().unwrap_or(Path::new("")).join(path);
        let text = std::fs::read_to_string(&full).or_else(|e| {
            self.err(
                "alerts",
                format!("cannot read the rule file \"{}\": {e}", full.display()),
            )
        })?;
        let file: RawRuleFile = match serde_saphyr::from_str(&text) {
            Ok(file) => file,
            Err(e) => {
                // A second pass only to name the field; the first pass's message has the line.
                let mut field = String::new();
                let _ = serde_saphyr::with_deserializer_from_str(&text, |de| {
                    if let Err(e) = serde_path_to_error::deserialize::<_, RawRuleFile>(de) {
                        field = e.path().to_string();
                    }
                    Ok(())
                });
                if field == "." {
                    field.clear();
                }
                // One line: serde-saphyr appends a source snippet after the first.
                let text = e.to_string();
                let first = text.lines().next().unwrap_or_default();
                let message = first.strip_prefix("error: ").unwrap_or(first);
                return Err(ScenarioError::new(&full, field, message));
            }
        };
        let inner = Resolver::new(&full, Provenance::default());
        let mut rules = Vec::new();
        for (g, group) in file.groups.iter().enumerate() {
            // promtool refuses an unnamed or repeated group (`RuleGroups.Validate`).
            let taken = file.groups[..g].iter().any(|o| o.name == group.name);
            if group.name.is_empty() || taken {
                return inner.err(
                    format!("groups[{g}].name"),
                    format!(
                        "\"{}\": group names must be non-empty and unique in a file",
                        group.name
                    ),
                );
            }
            for (i, r) in group.rules.iter().enumerate() {
                let path = format!("groups[{g}].rules[{i}]");
                if let Some(record) = &r.record {
                    return inner.err(
                        format!("{path}.record"),
                        format!("recording rule \"{record}\": only alerting rules (alert:) are evaluated"),
                    );
                }
                let Some(name) = &r.alert else {
                    return inner.err(
                        format!("{path}.alert"),
                        "missing: an alerting rule needs alert: <name>",
                    );
                };
                rules.push(inner.rule(&Written {
                    path,
                    name,
                    expr: &r.expr,
                    hold: r.hold.as_ref(),
                    keep_firing_for: r.keep_firing_for.as_ref(),
                    action: r.labels.get(defaults::ACTION_LABEL).map(String::as_str),
                    action_field: "labels.rehearsal_action",
                })?);
            }
        }
        Ok(rules)
    }
}
