//! Side-by-side comparison of strategies on common random numbers, with paired tests.
//!
//! Every strategy of a scenario replays the same traffic in replication `i`, so strategy A's
//! run `i` and strategy B's run `i` form a pair. The difference between two strategies is
//! judged on those pairs (a paired t-test), which cancels the traffic's own variance: far
//! sharper than comparing two independent confidence intervals.

use super::{RunOutcome, Stat, aggregate::student_t_975};
use crate::names::named;

named! {
    /// A metric a review compares.
    pub enum CompareMetric {
        /// Time to detect, seconds.
        Ttd = "ttd_s",
        /// Time to recover, seconds.
        Ttr = "ttr_s",
        /// Detected runs among runs with an onset.
        Detection = "detection_probability",
        /// Affected users / active users.
        AffectedShare = "affected_share",
        /// Fault-caused failed requests.
        FailedRequests = "failed_requests",
        /// Inconsistent records at the end.
        InconsistentRecords = "inconsistent_records",
        /// Runs with a false rollback.
        FalseRollback = "false_rollback_rate",
        /// Time to full promotion, seconds.
        Rollout = "rollout_s",
        /// Instance-seconds.
        InstanceSeconds = "instance_seconds",
    }
}

/// How a metric's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Seconds.
    Seconds,
    /// A share in [0, 1], shown as a percentage.
    Share,
    /// A count.
    Count,
    /// Instance-seconds.
    InstanceSeconds,
}

impl CompareMetric {
    /// Label in the terminal table, unit included.
    pub fn label(self) -> &'static str {
        match self {
            CompareMetric::Ttd => "time to detect",
            CompareMetric::Ttr => "time to recover (MTTR)",
            CompareMetric::Detection => "detection probability",
            CompareMetric::AffectedShare => "affected users",
            CompareMetric::FailedRequests => "failed requests",
            CompareMetric::InconsistentRecords => "inconsistent records",
            CompareMetric::FalseRollback => "false rollbacks",
            CompareMetric::Rollout => "rollout duration",
            CompareMetric::InstanceSeconds => "instance-seconds",
        }
    }

    /// How values read.
    pub fn unit(self) -> Unit {
        match self {
            CompareMetric::Ttd | CompareMetric::Ttr | CompareMetric::Rollout => Unit::Seconds,
            CompareMetric::Detection
            | CompareMetric::AffectedShare
            | CompareMetric::FalseRollback => Unit::Share,
            CompareMetric::FailedRequests | CompareMetric::InconsistentRecords => Unit::Count,
            CompareMetric::InstanceSeconds => Unit::InstanceSeconds,
        }
    }

    /// Whether the metric is a proportion (a 0/1 value per run), whose interval is Wilson's.
    pub fn is_proportion(self) -> bool {
        matches!(
            self,
            CompareMetric::Detection | CompareMetric::FalseRollback
        )
    }

    /// The statistics of the values of the runs where the metric is defined: a Wilson
    /// interval for a proportion, a Student-t interval otherwise.
    pub fn stat(self, values: &[f64]) -> Option<Stat> {
        if self.is_proportion() {
            let successes = values.iter().filter(|&&v| v > 0.5).count();
            Stat::of_proportion(successes, values.len())
        } else {
            Stat::of(values)
        }
    }

    /// Whether more is better (only detection); for every other metric less is better.
    pub fn higher_is_better(self) -> bool {
        self == CompareMetric::Detection
    }

    /// The metric's value in one run (`None` where it is undefined: no detection for TTD, no
    /// onset for detection, no completed rollout for its duration).
    pub fn value(self, r: &RunOutcome) -> Option<f64> {
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        match self {
            CompareMetric::Ttd => r.ttd().map(|t| t.as_secs_f64()),
            CompareMetric::Ttr => r.ttr().map(|t| t.as_secs_f64()),
            CompareMetric::Detection => r.onset.map(|_| flag(r.ttd().is_some())),
            CompareMetric::AffectedShare => Some(r.affected_share()),
            CompareMetric::FailedRequests => Some(r.failed_requests as f64),
            CompareMetric::InconsistentRecords => Some(r.inconsistent_records as f64),
            CompareMetric::FalseRollback => Some(flag(r.false_rollback)),
            CompareMetric::Rollout => r.rollout.map(|t| t.as_secs_f64()),
            CompareMetric::InstanceSeconds => Some(r.instance_seconds),
        }
    }
}

/// A paired comparison of one strategy with the best one on one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedTest {
    /// Replications where both strategies have a value.
    pub pairs: usize,
    /// Mean of (this − best) over the pairs.
    pub mean_diff: f64,
    /// Paired t statistic (infinite when every difference is the same non-zero value).
    pub t: f64,
    /// |t| above Student's t(pairs − 1) 97.5 % quantile: different at the 5 % level.
    pub significant: bool,
}

impl PairedTest {
    /// The paired t-test of `diffs` against zero.
    pub fn of(diffs: &[f64]) -> PairedTest {
        let n = diffs.len();
        let mean_diff = if n == 0 {
            0.0
        } else {
            diffs.iter().sum::<f64>() / n as f64
        };
        if n < 2 {
            return PairedTest {
                pairs: n,
                mean_diff,
                t: 0.0,
                significant: false,
            };
        }
        let sd =
            (diffs.iter().map(|d| (d - mean_diff).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        let t = if sd == 0.0 {
            if mean_diff == 0.0 {
                0.0
            } else {
                mean_diff.signum() * f64::INFINITY
            }
        } else {
            mean_diff / (sd / (n as f64).sqrt())
        };
        PairedTest {
            pairs: n,
            mean_diff,
            t,
            significant: t.abs() > student_t_975(n - 1),
        }
    }
}

/// One metric across the strategies of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricComparison {
    /// The metric.
    pub metric: CompareMetric,
    /// Per strategy, in scenario order (`None`: never defined).
    pub stats: Vec<Option<Stat>>,
    /// The best strategy on the paired replications (see [`best_on_pairs`]; ties: the first).
    pub best: Option<usize>,
    /// The paired replications `best` was chosen on.
    pub paired: usize,
    /// Per strategy, its paired test against the best (`None` for the best itself).
    pub versus_best: Vec<Option<PairedTest>>,
}

/// Compares the strategies of one scenario. `runs` holds `strategies × replications` rows,
/// strategy-major, replications ascending within each strategy.
pub fn compare(runs: &[RunOutcome], strategies: usize) -> Vec<MetricComparison> {
    let reps = runs.len().checked_div(strategies).unwrap_or(0);
    let of = |s: usize| &runs[s * reps..(s + 1) * reps];
    CompareMetric::ALL
        .iter()
        .map(|&metric| {
            let values: Vec<Vec<Option<f64>>> = (0..strategies)
                .map(|s| of(s).iter().map(|r| metric.value(r)).collect())
                .collect();
            let stats: Vec<Option<Stat>> = values
                .iter()
                .map(|v| metric.stat(&v.iter().flatten().copied().collect::<Vec<_>>()))
                .collect();
            let (best, paired) = best_on_pairs(&values, metric.higher_is_better());
            let versus_best = (0..strategies)
                .map(|s| {
                    let b = best.filter(|&b| b != s)?;
                    let diffs: Vec<f64> = values[s]
                        .iter()
                        .zip(&values[b])
                        .filter_map(|(x, y)| Some((*x)? - (*y)?))
                        .collect();
                    Some(PairedTest::of(&diffs))
                })
                .collect();
            MetricComparison {
                metric,
                stats,
                best,
                paired,
                versus_best,
            }
        })
        .collect()
}

/// The best strategy on the paired difference: the best mean over the replications where
/// every strategy with any value has one, so that each is judged on the same traffic (its
/// mean paired difference to every other strategy is then in its favour). Strategies with no
/// value at all take no part. Returns the strategy (ties: the first) and the number of
/// paired replications; no best when no replication pairs them all.
pub fn best_on_pairs(
    values: &[Vec<Option<f64>>],
    higher_is_better: bool,
) -> (Option<usize>, usize) {
    let taking: Vec<usize> = (0..values.len())
        .filter(|&s| values[s].iter().any(Option::is_some))
        .collect();
    let reps = values.first().map_or(0, Vec::len);
    let paired: Vec<usize> = (0..reps)
        .filter(|&i| taking.iter().all(|&s| values[s][i].is_some()))
        .collect();
    if paired.is_empty() {
        return (None, 0);
    }
    let sign = if higher_is_better { -1.0 } else { 1.0 };
    let best = taking
        .iter()
        .map(|&s| {
            let sum: f64 = paired.iter().filter_map(|&i| values[s][i]).sum();
            (s, sign * sum / paired.len() as f64)
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(s, _)| s);
    (best, paired.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_is_judged_on_the_replications_every_strategy_shares() {
        // A detects in all three replications: 10, 10, 100 s (mean 40). B detects only in the
        // first two, 20 s each (mean 20). On the pairs (1 and 2) A is 10 s faster: A is best.
        let values = vec![
            vec![Some(10.0), Some(10.0), Some(100.0)],
            vec![Some(20.0), Some(20.0), None],
            vec![None, None, None],
        ];
        assert_eq!(best_on_pairs(&values, false), (Some(0), 2));
        assert_eq!(best_on_pairs(&values, true), (Some(1), 2));
        let disjoint = vec![vec![Some(1.0), None], vec![None, Some(2.0)]];
        assert_eq!(best_on_pairs(&disjoint, false), (None, 0));
    }

    #[test]
    fn paired_test_sees_a_small_constant_shift_through_large_noise() {
        // Two strategies differ by +1 on every pair, on top of a shared noise of ±1000:
        // independent CIs overlap completely; the paired test is certain.
        let noise = [1000.0, -800.0, 300.0, -1200.0, 50.0];
        let diffs: Vec<f64> = noise.iter().map(|n| (n + 1.0) - n).collect();
        let t = PairedTest::of(&diffs);
        assert!(t.significant && t.t.is_infinite() && t.mean_diff == 1.0);
        assert!(!PairedTest::of(&[1.0, -1.0, 0.5, -0.5]).significant);
        assert!(
            !PairedTest::of(&[3.0]).significant,
            "one pair proves nothing"
        );
    }

    #[test]
    fn paired_t_matches_a_hand_computation() {
        // d = 1, 2, 3, 4: mean 2.5, sd √(5/3) = 1.29099, t = 2.5 / (1.29099/2) = 3.87298 > 3.182.
        let t = PairedTest::of(&[1.0, 2.0, 3.0, 4.0]);
        assert!((t.t - 3.872_983).abs() < 1e-5);
        assert!(t.significant);
    }
}
