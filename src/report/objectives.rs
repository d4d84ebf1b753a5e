//! The objectives each strategy met or missed, as reports show them.
//!
//! The rules are [`crate::objectives`]'s, the ones `rehearsal check` gates on: the scenario's
//! `[objectives]`, or [`crate::objectives::default_objectives`] when it states none. This module only turns
//! their verdicts into statuses and text.

use crate::names::named;
use crate::objectives::{Objective, Verdict, default_objectives, evaluate};
use crate::replications::ScenarioResult;
use crate::scenario::Scenario;

named! {
    /// Whether a strategy meets an objective.
    pub enum Status {
        /// The bound holds.
        Met = "met",
        /// The bound does not hold.
        Missed = "missed",
        /// The statistic is undefined (no onset, nothing detected): nothing to judge.
        NotApplicable = "n/a",
    }
}

impl Status {
    /// The status of a verdict.
    pub fn of(v: &Verdict) -> Status {
        match (v.value, v.met) {
            (None, _) => Status::NotApplicable,
            (Some(_), true) => Status::Met,
            (Some(_), false) => Status::Missed,
        }
    }
}

/// The objectives that apply to `scenario`, and where they come from.
pub fn objectives_of(scenario: &Scenario) -> (Vec<Objective>, &'static str) {
    match &scenario.objectives {
        Some(o) => (o.clone(), "the scenario's [objectives]"),
        None => (
            default_objectives(),
            "the default targets (the scenario states no [objectives])",
        ),
    }
}

/// Every strategy's verdicts, in scenario order.
pub fn judge(scenario: &Scenario, result: &ScenarioResult) -> Vec<Vec<Verdict>> {
    let (objectives, _) = objectives_of(scenario);
    let release = scenario.release();
    (0..result.summaries.len())
        .map(|s| evaluate(&objectives, result.runs_of(s), release))
        .collect()
}

/// The value a verdict was judged on, as a person reads it: `2m30s`, `7.80%`, `never`, `n/a`;
/// a rate with its count and interval (see [`Verdict::shown`]).
pub fn shown(v: &Verdict) -> String {
    if v.value.is_some() {
        v.shown()
    } else {
        "n/a".into()
    }
}

/// One line per strategy that missed an objective: `canary missed ttr_mean ≤ 30m (never)`.
pub fn missed_lines(names: &[String], verdicts: &[Vec<Verdict>]) -> Vec<String> {
    names
        .iter()
        .zip(verdicts)
        .filter_map(|(name, vs)| {
            let missed: Vec<String> = vs
                .iter()
                .filter(|v| Status::of(v) == Status::Missed)
                .map(|v| format!("{} ({})", v.objective.describe(), shown(v)))
                .collect();
            (!missed.is_empty()).then(|| format!("{name} missed {}", missed.join(", ")))
        })
        .collect()
}
