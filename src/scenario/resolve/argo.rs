//! `[analysis_templates.<name>]` (Argo AnalysisTemplates) and `kind = "argo_canary"`.

use std::collections::BTreeMap;

use super::super::error::expected_one_of;
use super::super::raw::{RawPause, RawStrategy, RawTemplate, RawTemplateMetric};
use super::{Resolver, Result, defaults};
use crate::detect::{Condition, RunMetric, Scope};
use crate::strategy::{ArgoCanarySpec, ArgoStep, Background, RunSpec};

/// Resolved analysis templates by name.
pub(super) type Templates = BTreeMap<String, Vec<RunMetric>>;

impl Resolver<'_> {
    /// Every `[analysis_templates.<name>]`, checked whether used or not. A template in error
    /// (recorded) stands in with no metric, so that the runs naming it blame nothing else.
    pub(super) fn templates(&self, raw: &BTreeMap<String, RawTemplate>) -> Templates {
        raw.iter()
            .map(|(name, t)| {
                let metrics = self.keep(self.template(name, t)).unwrap_or_default();
                (name.clone(), metrics)
            })
            .collect()
    }

    /// One template's metrics.
    fn template(&self, name: &str, t: &RawTemplate) -> Result<Vec<RunMetric>> {
        let path = format!("analysis_templates.{name}");
        if t.metrics.is_empty() {
            return self.err(
                format!("{path}.metrics"),
                "empty: a template needs at least one metric (Argo: \"no metrics specified\"), e.g. [[analysis_templates.success-rate.metrics]] name = \"success-rate\", measure = \"success_rate\", interval = \"5m\", success_condition = \"result[0] >= 0.95\"",
            );
        }
        let mut metrics: Vec<RunMetric> = Vec::new();
        for (i, m) in t.metrics.iter().enumerate() {
            let metric = self.template_metric(&format!("{path}.metrics[{i}]"), name, m)?;
            if metrics.iter().any(|o| o.name == metric.name) {
                return self.err(
                    format!("{path}.metrics[{i}].name"),
                    format!("\"{}\" is used by another metric of the template; names must be unique (Argo: duplicate name)", m.name),
                );
            }
            metrics.push(metric);
        }
        Ok(metrics)
    }

    /// One template metric, with Argo's defaults and `ValidateMetric`'s rules
    /// (`utils/analysis/factory.go`).
    fn template_metric(
        &self,
        path: &str,
        template: &str,
        m: &RawTemplateMetric,
    ) -> Result<RunMetric> {
        let field = |name: &str| format!("{path}.{name}");
        if m.name.is_empty() {
            return self.err(field("name"), "empty: a metric needs a name");
        }
        let interval = m
            .interval
            .as_ref()
            .map(|i| self.periodic_duration(&field("interval"), i))
            .transpose()?;
        let window = match (&m.window, interval) {
            (Some(w), _) => self.positive_duration(&field("window"), w)?,
            (None, Some(i)) => i,
            (None, None) => {
                return self.err(
                    field("window"),
                    "missing: a metric without `interval` needs the `window` its query reads, e.g. \"5m\"",
                );
            }
        };
        let failure_limit = match m.failure_limit.unwrap_or(0) {
            -1 => {
                return self.err(
                    field("failure_limit"),
                    "-1 is not allowed: Argo disables the failure limit only together with consecutiveSuccessLimit, which rehearsal does not model (\"failureLimit and consecutiveSuccessLimit cannot both be disabled\"); expected a whole number ≥ 0",
                );
            }
            x => u32::try_from(x).or_else(|_| {
                self.err(
                    field("failure_limit"),
                    format!("{x} is not allowed; expected a whole number ≥ 0"),
                )
            })?,
        };
        let inconclusive_limit = m.inconclusive_limit.unwrap_or(0);
        // Argo: no count, or 0, runs until stopped with an interval and once without one.
        let count = match (m.count.filter(|&c| c > 0), interval) {
            (Some(c), None) if c > 1 => {
                return self.err(
                    field("count"),
                    format!("{c} needs an `interval` between measurements (Argo: \"interval must be specified when count > 1\")"),
                );
            }
            (Some(c), _) => Some(c),
            (None, Some(_)) => None,
            (None, None) => Some(1),
        };
        if let Some(c) = count {
            for (name, limit) in [
                ("failure_limit", failure_limit),
                ("inconclusive_limit", inconclusive_limit),
            ] {
                if c < limit {
                    return self.err(
                        field("count"),
                        format!("{c} is below {name} {limit}; Argo requires count ≥ {name}"),
                    );
                }
            }
        }
        let condition = |name: &str, text: &Option<String>| -> Result<Option<Condition>> {
            text.as_ref()
                .map(|t| {
                    Condition::parse(t).or_else(|e| {
                        self.err(field(name), format!("\"{t}\" cannot be evaluated: {e}"))
                    })
                })
                .transpose()
        };
        Ok(RunMetric {
            name: format!("{template}.{}", m.name),
            measure: self.named(&field("measure"), &m.measure, "measure")?,
            scope: self.named_or(&field("scope"), m.scope.as_deref(), Scope::Service)?,
            window,
            interval,
            count,
            initial_delay: self.opt_duration(
                &field("initial_delay"),
                m.initial_delay.as_ref(),
                "0s",
            )?,
            failure_limit,
            inconclusive_limit,
            consecutive_error_limit: m
                .consecutive_error_limit
                .unwrap_or(defaults::ARGO_CONSECUTIVE_ERROR_LIMIT),
            success: condition("success_condition", &m.success_condition)?,
            failure: condition("failure_condition", &m.failure_condition)?,
        })
    }

    /// The metrics of `names`, merged into one run.
    pub(super) fn run_spec(
        &self,
        path: &str,
        names: &[String],
        templates: &Templates,
    ) -> Result<RunSpec> {
        if names.is_empty() {
            return self.err(
                path,
                "empty: name at least one template of [analysis_templates], e.g. templates = [\"success-rate\"]",
            );
        }
        let mut metrics: Vec<RunMetric> = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let Some(t) = templates.get(name) else {
                let known: Vec<&str> = templates.keys().map(String::as_str).collect();
                let allowed = if known.is_empty() {
                    "the scenario defines no [analysis_templates.<name>] table".to_string()
                } else {
                    expected_one_of(name, &known)
                };
                return self.err(
                    format!("{path}[{i}]"),
                    format!("unknown template \"{name}\"; {allowed}"),
                );
            };
            for m in t {
                let short = &m.name[name.len() + 1..];
                if metrics
                    .iter()
                    .any(|o| o.name.ends_with(&format!(".{short}")))
                {
                    return self.err(
                        format!("{path}[{i}]"),
                        format!("metric \"{short}\" of template \"{name}\" is also in another template of this run; Argo merges the templates' metrics and refuses duplicate names"),
                    );
                }
            }
            metrics.extend(t.iter().cloned());
        }
        Ok(RunSpec {
            templates: names.to_vec(),
            metrics,
        })
    }

    /// An argo_canary strategy's own fields.
    pub(super) fn argo_canary(
        &self,
        path: &str,
        s: &RawStrategy,
        templates: &Templates,
    ) -> Result<ArgoCanarySpec> {
        let field = |name: &str| format!("{path}.{name}");
        if s.analysis.is_some() {
            return self.err(
                field("analysis"),
                "an argo_canary analyses with [analysis_templates]: `background_analysis = { templates = [\"success-rate\"] }` or a step `{ analysis = { templates = [\"smoke\"] } }`",
            );
        }
        if s.steps.is_empty() {
            return self.err(
                field("steps"),
                "empty: an argo_canary needs Argo's steps, e.g. [{ set_weight = 20 }, { pause = \"10m\" }]",
            );
        }
        let mut runs = Vec::new();
        let mut steps = Vec::new();
        for (i, st) in s.steps.iter().enumerate() {
            let spath = format!("{path}.steps[{i}]");
            if let Some((k, _)) = [("weight", st.weight), ("percent", st.percent)]
                .iter()
                .find(|(_, v)| v.is_some())
            {
                return self.err(
                    format!("{spath}.{k}"),
                    "an argo_canary step is one of `set_weight`, `pause` or `analysis` (Argo's setWeight, pause, analysis), e.g. { set_weight = 20 }",
                );
            }
            let given = [
                st.set_weight.is_some(),
                st.pause.is_some(),
                st.analysis.is_some(),
            ];
            if given.iter().filter(|g| **g).count() != 1 {
                return self.err(
                    spath,
                    "a step is exactly one of { set_weight = 20 }, { pause = \"10m\" }, { pause = {} } or { analysis = { templates = [\"smoke\"] } }",
                );
            }
            steps.push(match (st.set_weight, &st.pause, &st.analysis) {
                (Some(w), _, _) => {
                    if !(0.0..=100.0).contains(&w) {
                        return self.err(
                            format!("{spath}.set_weight"),
                            format!("{w} is not allowed; expected a percentage from 0 to 100"),
                        );
                    }
                    ArgoStep::SetWeight(w)
                }
                (_, Some(RawPause::Duration(d)), _) => {
                    ArgoStep::Pause(self.duration(&format!("{spath}.pause"), d)?)
                }
                (_, Some(RawPause::Indefinite), _) => ArgoStep::PauseIndefinite,
                (_, _, Some(a)) => {
                    runs.push(self.run_spec(
                        &format!("{spath}.analysis.templates"),
                        &a.templates,
                        templates,
                    )?);
                    ArgoStep::Analysis(runs.len() - 1)
                }
                _ => unreachable!("exactly one is given"),
            });
        }
        let background = match &s.background_analysis {
            None => None,
            Some(b) => {
                let bpath = field("background_analysis");
                runs.push(self.run_spec(&format!("{bpath}.templates"), &b.templates, templates)?);
                let starting_step = b.starting_step.unwrap_or(0) as usize;
                if starting_step > steps.len() {
                    return self.err(
                        format!("{bpath}.starting_step"),
                        format!("{starting_step} is past the last step (there are {}); expected 0 to {}", steps.len(), steps.len()),
                    );
                }
                Some(Background {
                    run: runs.len() - 1,
                    starting_step,
                })
            }
        };
        let dur = |name, value: &Option<String>, default| {
            self.opt_duration(&field(name), value.as_ref(), default)
        };
        let promotion_delay = s
            .promotion_delay
            .as_ref()
            .map(|m| self.log_normal(&field("promotion_delay"), m, defaults::MANUAL_SIGMA))
            .transpose()?;
        if promotion_delay.is_none()
            && let Some(i) = steps.iter().position(|st| *st == ArgoStep::PauseIndefinite)
        {
            return self.err(
                format!("{path}.steps[{i}].pause"),
                "an indefinite pause waits for a human: give the strategy `promotion_delay = { median = \"30m\" }` (how long the human takes, log-normal)",
            );
        }
        Ok(ArgoCanarySpec {
            steps,
            background,
            runs,
            dynamic_stable_scale: s.dynamic_stable_scale.unwrap_or(false),
            abort_scale_down_delay: dur(
                "abort_scale_down_delay",
                &s.abort_scale_down_delay,
                defaults::ARGO_ABORT_SCALE_DOWN_DELAY,
            )?,
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
            progress_deadline_abort: s.progress_deadline_abort.unwrap_or(false),
            promotion_delay,
        })
    }
}
