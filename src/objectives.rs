//! Objectives a drill must meet, and their evaluation over a strategy's runs.
//!
//! A weekly drill fails loudly when an objective breaks. Each objective bounds one statistic
//! of a strategy's replications. A run whose fault hurt someone but that never recovered
//! within the horizon counts as an infinite time to recover: a drill that never recovers
//! must breach an MTTR objective, not be left out of it.

use crate::engine::SimTime;
use crate::names::named;
use crate::outcome::{RunOutcome, nearest_rank};

named! {
    /// A statistic an objective bounds.
    pub enum ObjectiveMetric {
        /// Mean time to recover (MTTR), seconds; unrecovered runs count as infinite.
        TtrMean = "ttr_mean",
        /// 95th percentile (nearest rank) of time to recover, seconds; unrecovered runs infinite.
        TtrP95 = "ttr_p95",
        /// Mean time to detect over detected runs, seconds.
        TtdMean = "ttd_mean",
        /// 95th percentile of time to detect over detected runs, seconds.
        TtdP95 = "ttd_p95",
        /// Mean share of active users affected.
        AffectedShareMean = "affected_share_mean",
        /// Share of runs with an onset in which the fault was detected.
        DetectionProbability = "detection_probability",
        /// Share of runs with a false rollback.
        FalseRollbackRate = "false_rollback_rate",
        /// Largest inconsistent-record count of any run.
        InconsistentRecordsMax = "inconsistent_records_max",
    }
}

impl ObjectiveMetric {
    /// Whether the objective is a floor (detection) rather than a ceiling.
    pub fn is_floor(self) -> bool {
        self == ObjectiveMetric::DetectionProbability
    }

    /// Whether values are durations in seconds.
    pub fn is_duration(self) -> bool {
        matches!(
            self,
            ObjectiveMetric::TtrMean
                | ObjectiveMetric::TtrP95
                | ObjectiveMetric::TtdMean
                | ObjectiveMetric::TtdP95
        )
    }

    /// The statistic over `runs` (`None` when undefined: no onset, no detection).
    pub fn value(self, runs: &[RunOutcome]) -> Option<f64> {
        let ttr: Vec<f64> = runs
            .iter()
            .filter(|r| r.onset.is_some())
            .map(|r| r.ttr().map_or(f64::INFINITY, SimTime::as_secs_f64))
            .collect();
        let ttd: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.ttd().map(SimTime::as_secs_f64))
            .collect();
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let p95 = |v: &[f64]| {
            let mut s = v.to_vec();
            s.sort_by(f64::total_cmp);
            (!s.is_empty()).then(|| nearest_rank(&s, 0.95))
        };
        let share = |f: &dyn Fn(&RunOutcome) -> bool, of: &[&RunOutcome]| {
            (!of.is_empty()).then(|| of.iter().filter(|r| f(r)).count() as f64 / of.len() as f64)
        };
        let all: Vec<&RunOutcome> = runs.iter().collect();
        let hurt: Vec<&RunOutcome> = runs.iter().filter(|r| r.onset.is_some()).collect();
        match self {
            ObjectiveMetric::TtrMean => mean(&ttr),
            ObjectiveMetric::TtrP95 => p95(&ttr),
            ObjectiveMetric::TtdMean => mean(&ttd),
            ObjectiveMetric::TtdP95 => p95(&ttd),
            ObjectiveMetric::AffectedShareMean => mean(
                &runs
                    .iter()
                    .map(RunOutcome::affected_share)
                    .collect::<Vec<_>>(),
            ),
            ObjectiveMetric::DetectionProbability => share(&|r| r.ttd().is_some(), &hurt),
            ObjectiveMetric::FalseRollbackRate => share(&|r| r.false_rollback, &all),
            ObjectiveMetric::InconsistentRecordsMax => runs
                .iter()
                .map(|r| r.inconsistent_records as f64)
                .reduce(f64::max),
        }
    }
}

/// One objective: a bound on one statistic.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    /// What is bounded.
    pub metric: ObjectiveMetric,
    /// The bound (seconds for durations).
    pub limit: f64,
}

impl Objective {
    /// Whether `value` meets the objective (an undefined statistic meets it: nothing to judge).
    pub fn met_by(&self, value: Option<f64>) -> bool {
        match value {
            None => true,
            Some(v) if self.metric.is_floor() => v >= self.limit,
            Some(v) => v <= self.limit,
        }
    }

    /// A value or limit as a person reads it: `30m`, `1.00%`, `never`.
    pub fn show(&self, x: f64) -> String {
        if x.is_infinite() {
            "never".into()
        } else if self.metric.is_duration() {
            // Exact seconds too: `30m` alone could hide 30m0.4s against a 30m limit.
            format!(
                "{} ({x:.1}s)",
                SimTime((x.max(0.0) * 1e6).round() as u64).human()
            )
        } else if self.metric == ObjectiveMetric::InconsistentRecordsMax {
            format!("{x:.0}")
        } else {
            format!("{:.2}%", x * 100.0)
        }
    }

    /// `≤ 30m` or `≥ 99.00%`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} {}",
            self.metric.name(),
            if self.metric.is_floor() { "≥" } else { "≤" },
            self.show(self.limit)
        )
    }
}

/// The targets of DESIGN.md §1 used when a scenario states none: MTTR ≤ 30 min and affected
/// users ≤ 1 %.
pub fn default_objectives() -> Vec<Objective> {
    vec![
        Objective {
            metric: ObjectiveMetric::TtrMean,
            limit: 1800.0,
        },
        Objective {
            metric: ObjectiveMetric::AffectedShareMean,
            limit: 0.01,
        },
    ]
}

/// The verdict of one objective for one strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The objective.
    pub objective: Objective,
    /// The statistic (`None`: undefined).
    pub value: Option<f64>,
    /// Whether it holds.
    pub met: bool,
}

/// Judges every objective over the runs of one strategy.
pub fn evaluate(objectives: &[Objective], runs: &[RunOutcome]) -> Vec<Verdict> {
    objectives
        .iter()
        .map(|o| {
            let value = o.metric.value(runs);
            Verdict {
                objective: o.clone(),
                value,
                met: o.met_by(value),
            }
        })
        .collect()
}
