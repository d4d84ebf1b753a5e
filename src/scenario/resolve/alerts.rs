//! `[[alerts]]` (or `alerts = "rules.yaml"`), `[monitoring]` and `[manual] trigger`.

use std::path::{Path, PathBuf};

use super::super::raw::{RawAlerts, RawMonitoring, RawRuleFile, RawScenario};
use super::{Resolver, Result, defaults, short};
use crate::detect::ManualTrigger;
use crate::detect::alerts::series::DEFAULT_BUCKETS_S;
use crate::detect::alerts::{AlertAction, AlertRule, AlertsSpec, promql};
use crate::scenario::{Provenance, ScenarioError};

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
    pub(super) fn alerts(
        &self,
        raw: &RawScenario,
        has_manual: bool,
    ) -> Result<(Option<AlertsSpec>, ManualTrigger)> {
        let spec = match &raw.alerts {
            None => None,
            Some(RawAlerts::Rules(rules)) => {
                let written = rules.iter().enumerate().map(|(i, r)| Written {
                    path: format!("alerts[{i}]"),
                    name: &r.name,
                    expr: &r.expr,
                    hold: r.hold.as_ref(),
                    keep_firing_for: r.keep_firing_for.as_ref(),
                    action: r.action.as_deref(),
                    action_field: "action",
                });
                let rules = written.map(|w| self.rule(&w)).collect::<Result<Vec<_>>>()?;
                Some(self.monitoring(raw.monitoring.as_ref(), rules, "alerts")?)
            }
            Some(RawAlerts::File(path)) => {
                let rules = self.rule_file(path)?;
                Some(self.monitoring(raw.monitoring.as_ref(), rules, "alerts")?)
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

    /// `[monitoring]` around the resolved `rules`.
    fn monitoring(
        &self,
        m: Option<&RawMonitoring>,
        rules: Vec<AlertRule>,
        field: &str,
    ) -> Result<AlertsSpec> {
        if rules.is_empty() || rules.len() > MAX_RULES {
            return self.err(
                field,
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
        let buckets_s = match m.and_then(|m| m.buckets.as_ref()) {
            None => DEFAULT_BUCKETS_S.to_vec(),
            Some(b) => self.buckets(b)?,
        };
        Ok(AlertsSpec {
            scrape_interval: interval(
                "scrape_interval",
                m.and_then(|m| m.scrape_interval.as_ref()),
                defaults::SCRAPE_INTERVAL,
            )?,
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
