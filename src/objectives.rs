//! Objectives a drill must meet, and their evaluation over a strategy's runs.
//!
//! A weekly drill fails loudly when an objective breaks. Each objective bounds one statistic
//! of a strategy's replications. A run whose fault hurt someone but that never recovered
//! within the horizon counts as an infinite time to recover: a drill that never recovers
//! must breach an MTTR objective, not be left out of it.

use crate::engine::SimTime;
use crate::names::named;
use crate::outcome::{RunOutcome, Stat, nearest_rank, wilson95};

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
        /// Share of runs with a false rollback, judged on the upper bound of its 95 % Wilson
        /// interval.
        FalseRollbackRate = "false_rollback_rate",
        /// Share of promoted runs, when no fault targets the candidate (a healthy release).
        DeploySuccess = "deploy_success",
        /// Largest inconsistent-record count of any run.
        InconsistentRecordsMax = "inconsistent_records_max",
        /// Mean share of the `[slo]` error budget the faults burned (`budget_consumed`); a
        /// share of the budget, 1 being all of it.
        BudgetConsumedMean = "budget_consumed_mean",
        /// Mean `probe_ttd_s` over the runs where a probe took an instance out, seconds.
        ProbeTtdMean = "probe_ttd_mean",
        /// 95th percentile (nearest rank) of the same, seconds.
        ProbeTtdP95 = "probe_ttd_p95",
    }
}

impl ObjectiveMetric {
    /// Whether the objective is a floor (detection, deploy success) rather than a ceiling.
    pub fn is_floor(self) -> bool {
        matches!(
            self,
            ObjectiveMetric::DetectionProbability | ObjectiveMetric::DeploySuccess
        )
    }

    /// The proportion behind a rate objective, with its Wilson interval (`None` for the
    /// others, and when undefined). `release` is the scenario's [`Release`].
    pub fn proportion(self, runs: &[RunOutcome], release: Release) -> Option<Stat> {
        let count = |f: &dyn Fn(&RunOutcome) -> bool, of: &[&RunOutcome]| {
            Stat::of_proportion(of.iter().filter(|r| f(r)).count(), of.len())
        };
        let all: Vec<&RunOutcome> = runs.iter().collect();
        match self {
            ObjectiveMetric::DetectionProbability => {
                let hurt: Vec<&RunOutcome> = runs.iter().filter(|r| r.onset.is_some()).collect();
                count(&|r| r.ttd().is_some(), &hurt)
            }
            ObjectiveMetric::FalseRollbackRate => count(&|r| r.false_rollback, &all),
            ObjectiveMetric::DeploySuccess if release == Release::Healthy => {
                count(&|r| r.rollout.is_some(), &all)
            }
            _ => None,
        }
    }

    /// Whether values are durations in seconds.
    pub fn is_duration(self) -> bool {
        matches!(
            self,
            ObjectiveMetric::TtrMean
                | ObjectiveMetric::TtrP95
                | ObjectiveMetric::TtdMean
                | ObjectiveMetric::TtdP95
                | ObjectiveMetric::ProbeTtdMean
                | ObjectiveMetric::ProbeTtdP95
        )
    }

    /// The statistic over `runs` that the objective bounds (`None` when undefined: no onset,
    /// no detection, a release with a fault of its own for `deploy_success`). A rate is its
    /// observed share, except `false_rollback_rate`: the upper bound of its 95 % Wilson
    /// interval, so that 0 out of 30 (upper bound 11.35 %) does not pass a 5 % ceiling.
    pub fn value(self, runs: &[RunOutcome], release: Release) -> Option<f64> {
        if let Some(p) = self.proportion(runs, release) {
            return Some(if self == ObjectiveMetric::FalseRollbackRate {
                p.ci95_high
            } else {
                p.mean
            });
        }
        let ttr: Vec<f64> = runs
            .iter()
            .filter(|r| r.onset.is_some())
            .map(|r| r.ttr().map_or(f64::INFINITY, SimTime::as_secs_f64))
            .collect();
        let ttd: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.ttd().map(SimTime::as_secs_f64))
            .collect();
        let probe_ttd: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.probe_ttd.map(SimTime::as_secs_f64))
            .collect();
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let p95 = |v: &[f64]| {
            let mut s = v.to_vec();
            s.sort_by(f64::total_cmp);
            (!s.is_empty()).then(|| nearest_rank(&s, 0.95))
        };
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
            ObjectiveMetric::DetectionProbability
            | ObjectiveMetric::FalseRollbackRate
            | ObjectiveMetric::DeploySuccess => None,
            ObjectiveMetric::InconsistentRecordsMax => runs
                .iter()
                .map(|r| r.inconsistent_records as f64)
                .reduce(f64::max),
            ObjectiveMetric::ProbeTtdMean => mean(&probe_ttd),
            ObjectiveMetric::ProbeTtdP95 => p95(&probe_ttd),
            ObjectiveMetric::BudgetConsumedMean => mean(
                &runs
                    .iter()
                    .filter_map(|r| r.budget_consumed)
                    .collect::<Vec<_>>(),
            ),
        }
    }
}

/// Whether a scenario's release has a fault of its own, which decides whether
/// `deploy_success` applies (`Scenario::release`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// No `[[faults]]` entry targets the candidate: every rollback is a failed deploy.
    Healthy,
    /// Some fault targets the candidate: rolling back is the point of the drill.
    Faulty,
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
            format!("{} ({x:.1}s)", crate::format::duration(x))
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

/// The targets used when a scenario states none, with their sources: the rollback playbooks'
/// "MTTR ≤ 30 min" and "affected users < 1 %", and their first target,
/// "deploy success ≥ 95 %", as two objectives: at most 5 % false rollbacks on the upper
/// bound of the rate's 95 % interval, and at least 95 % of a healthy release's runs promoted.
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
        Objective {
            metric: ObjectiveMetric::FalseRollbackRate,
            limit: 0.05,
        },
        Objective {
            metric: ObjectiveMetric::DeploySuccess,
            limit: 0.95,
        },
    ]
}

/// The verdict of one objective for one strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The objective.
    pub objective: Objective,
    /// The statistic judged (`None`: undefined).
    pub value: Option<f64>,
    /// For a rate: its observed share and 95 % Wilson interval.
    pub proportion: Option<Stat>,
    /// Whether it holds.
    pub met: bool,
}

impl Verdict {
    /// The value as a person reads it: `30m (1800.0s)`, `never`, `undefined`; a rate with its
    /// count and interval, `0.00% (0 of 20 runs; 95 % interval 0.00%–16.11%)`, and for
    /// `false_rollback_rate` the judged upper bound first.
    pub fn shown(&self) -> String {
        let Some(x) = self.value else {
            return "undefined".into();
        };
        let Some(p) = self.proportion else {
            return self.objective.show(x);
        };
        let interval = format!(
            "{:.0} of {} runs; 95 % interval {}–{}",
            p.mean * p.n as f64,
            p.n,
            self.objective.show(p.ci95_low),
            self.objective.show(p.ci95_high)
        );
        if self.objective.metric == ObjectiveMetric::FalseRollbackRate {
            let more = if !self.met && p.mean <= self.objective.limit {
                runs_to_show(p.mean, self.objective.limit).map_or(
                    "; the observed rate is within the limit but no run count shows it".into(),
                    |n| format!("; the observed rate is within the limit: {n} runs at this rate would show it"),
                )
            } else {
                String::new()
            };
            format!(
                "{} upper bound (observed {}, {interval}{more})",
                self.objective.show(x),
                self.objective.show(p.mean)
            )
        } else {
            format!("{} ({interval})", self.objective.show(x))
        }
    }
}

/// The fewest runs (up to 100 000) at which an observed rate `rate` has a Wilson upper bound
/// at or below `limit`: 73 for 0 false rollbacks under 5 %.
pub fn runs_to_show(rate: f64, limit: f64) -> Option<usize> {
    (1..=100_000).find(|&n| {
        let k = (rate * n as f64).round() as usize;
        wilson95(k, n).1 <= limit
    })
}

/// Judges every objective over the runs of one strategy of a scenario whose release is
/// `release`.
pub fn evaluate(objectives: &[Objective], runs: &[RunOutcome], release: Release) -> Vec<Verdict> {
    objectives
        .iter()
        .map(|o| {
            let value = o.metric.value(runs, release);
            Verdict {
                objective: o.clone(),
                value,
                proportion: o.metric.proportion(runs, release),
                met: o.met_by(value),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_false_rollbacks_show_a_5_percent_rate_from_73_runs() {
        // z²(1 − L)/L = 3.8415 × 0.95 / 0.05 = 72.99.
        assert_eq!(runs_to_show(0.0, 0.05), Some(73));
        assert!(wilson95(0, 72).1 > 0.05 && wilson95(0, 73).1 <= 0.05);
        assert_eq!(runs_to_show(0.05, 0.05), None);
    }

    #[test]
    fn the_defaults_add_the_playbooks_deploy_success() {
        let d = default_objectives();
        let floor = |m: ObjectiveMetric| d.iter().find(|o| o.metric == m).map(|o| o.limit);
        assert_eq!(floor(ObjectiveMetric::FalseRollbackRate), Some(0.05));
        assert_eq!(floor(ObjectiveMetric::DeploySuccess), Some(0.95));
        assert!(ObjectiveMetric::DeploySuccess.is_floor());
    }
}
