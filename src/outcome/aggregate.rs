//! Per-strategy statistics across replications.

use super::RunOutcome;

/// Mean, 95 % confidence interval of the mean, and nearest-rank percentiles of one metric
/// over the replications where it is defined.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stat {
    /// Replications where the metric is defined (e.g. detected ones for TTD).
    pub n: usize,
    /// Arithmetic mean (for a proportion: the share of successes).
    pub mean: f64,
    /// Lower bound of the 95 % CI, in the metric's unit: `mean − t(n−1) × s/√n` for a
    /// measurement (the mean when n < 2), the Wilson score bound for a proportion.
    pub ci95_low: f64,
    /// Upper bound of the 95 % CI, in the metric's unit (see `ci95_low`).
    pub ci95_high: f64,
    /// Nearest-rank median.
    pub p50: f64,
    /// Nearest-rank 95th percentile.
    pub p95: f64,
}

impl Stat {
    /// The statistics of `values` (`None` when empty).
    pub fn of(values: &[f64]) -> Option<Stat> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let ci95 = if n < 2 {
            0.0
        } else {
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            student_t_975(n - 1) * (var / n as f64).sqrt()
        };
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Some(Stat {
            n,
            mean,
            ci95_low: mean - ci95,
            ci95_high: mean + ci95,
            p50: nearest_rank(&sorted, 0.50),
            p95: nearest_rank(&sorted, 0.95),
        })
    }

    /// The statistics of a proportion: `successes` out of `n` trials (`None` when n = 0).
    /// The interval is Wilson's score interval ([`wilson95`]), never the Student-t interval
    /// of the 0/1 values, which is [0, 0] for 0 out of 30. `p50` and `p95` are the
    /// nearest-rank percentiles of the 0/1 values.
    pub fn of_proportion(successes: usize, n: usize) -> Option<Stat> {
        if n == 0 {
            return None;
        }
        let successes = successes.min(n);
        let (ci95_low, ci95_high) = wilson95(successes, n);
        // The sorted 0/1 values hold `n − successes` zeros first.
        let at = |q: f64| {
            let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
            if rank > n - successes { 1.0 } else { 0.0 }
        };
        Some(Stat {
            n,
            mean: successes as f64 / n as f64,
            ci95_low,
            ci95_high,
            p50: at(0.50),
            p95: at(0.95),
        })
    }

    /// Half the interval's width, in the metric's unit: the Student-t half-width of a mean
    /// (a Wilson interval is not symmetric around its share; read its bounds instead).
    pub fn half_width(&self) -> f64 {
        (self.ci95_high - self.ci95_low) / 2.0
    }
}

/// The normal 97.5 % quantile z of two-sided 95 % intervals.
const Z_975: f64 = 1.959_963_985;

/// Wilson's score interval at 95 % for `successes` out of `n > 0` trials (E. B. Wilson,
/// "Probable inference, the law of succession, and statistical inference", JASA 22, 1927):
/// `(p̂ + z²/2n ∓ z √(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)`, z = 1.96. Unlike the normal
/// (Wald or Student-t) interval it is not [0, 0] at 0 successes: 0 out of 30 gives
/// [0, z²/(n + z²)] = [0, 0.1135]. Bounds are shares in [0, 1].
pub fn wilson95(successes: usize, n: usize) -> (f64, f64) {
    let n_f = n.max(1) as f64;
    let p = successes.min(n) as f64 / n_f;
    let z2 = Z_975 * Z_975;
    let centre = p + z2 / (2.0 * n_f);
    let spread = Z_975 * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    let denom = 1.0 + z2 / n_f;
    let low = if successes == 0 {
        0.0
    } else {
        (centre - spread) / denom
    };
    let high = if successes >= n {
        1.0
    } else {
        (centre + spread) / denom
    };
    (low.clamp(0.0, 1.0), high.clamp(0.0, 1.0))
}

/// The smallest value with at least `q` of the values at or below it.
pub fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Quantile of Student's t with `df` degrees of freedom: the exact `table` up to 30, then the
/// Cornish–Fisher expansion around the normal quantile `z` (error < 1e-3 past 30).
fn student_t(df: usize, table: &[f64; 30], z: f64) -> f64 {
    if (1..=30).contains(&df) {
        return table[df - 1];
    }
    let d = df.max(1) as f64;
    z + (z.powi(3) + z) / (4.0 * d)
        + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * d * d)
        + (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / (384.0 * d.powi(3))
}

/// The 97.5 % quantile of Student's t (two-sided 95 % intervals).
pub fn student_t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    student_t(df, &TABLE, Z_975)
}

/// The 99.5 % quantile of Student's t (a one-sided 0.5 % test).
pub fn student_t_995(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169, 3.106, 3.055, 3.012,
        2.977, 2.947, 2.921, 2.898, 2.878, 2.861, 2.845, 2.831, 2.819, 2.807, 2.797, 2.787, 2.779,
        2.771, 2.763, 2.756, 2.750,
    ];
    student_t(df, &TABLE, 2.575_829_304)
}

/// One strategy of one scenario, across its replications.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategySummary {
    /// Scenario name.
    pub scenario: String,
    /// Strategy name.
    pub strategy: String,
    /// Replications run.
    pub replications: usize,
    /// Replications where some request was affected by a fault.
    pub with_onset: usize,
    /// Share of replications with an onset in which the fault was detected at or after onset,
    /// with its Wilson interval (`None` without an onset).
    pub detection_probability: Option<Stat>,
    /// Share of replications that rolled back, with its Wilson interval (all zero, n = 0,
    /// without replications).
    pub rollback_rate: Stat,
    /// Share of replications with a false rollback, as `rollback_rate`.
    pub false_rollback_rate: Stat,
    /// Share of replications whose rollout completed, as `rollback_rate`.
    pub promotion_rate: Stat,
    /// Time to detect, seconds.
    pub ttd_s: Option<Stat>,
    /// Time to recover, seconds (its mean is the MTTR).
    pub ttr_s: Option<Stat>,
    /// Affected users / active users.
    pub affected_share: Option<Stat>,
    /// Fault-caused failed requests.
    pub failed_requests: Option<Stat>,
    /// Inconsistent records at the end.
    pub inconsistent_records: Option<Stat>,
    /// Time to full promotion, seconds, over completed rollouts.
    pub rollout_s: Option<Stat>,
    /// Instance-seconds.
    pub instance_seconds: Option<Stat>,
    /// Share of the `[slo]` error budget burned (`None` without `[slo]`).
    pub budget_consumed: Option<Stat>,
}

impl StrategySummary {
    /// The statistics of the `runs.csv` column `column` (one of
    /// [`summarized_columns`](super::summarized_columns)); `None` when undefined or when the
    /// column has no statistics.
    pub fn stat(&self, column: &str) -> Option<Stat> {
        match column {
            "ttd_s" => self.ttd_s,
            "ttr_s" => self.ttr_s,
            "affected_share" => self.affected_share,
            "failed_requests" => self.failed_requests,
            "inconsistent_records" => self.inconsistent_records,
            "rollout_s" => self.rollout_s,
            "instance_seconds" => self.instance_seconds,
            "budget_consumed" => self.budget_consumed,
            _ => None,
        }
    }
}

/// Summarizes the runs of one strategy (all rows must share scenario and strategy).
pub fn summarize(runs: &[RunOutcome]) -> StrategySummary {
    let rate = |f: &dyn Fn(&RunOutcome) -> bool| {
        Stat::of_proportion(runs.iter().filter(|r| f(r)).count(), runs.len()).unwrap_or_default()
    };
    let stat = |f: &dyn Fn(&RunOutcome) -> Option<f64>| {
        Stat::of(&runs.iter().filter_map(f).collect::<Vec<_>>())
    };
    let with_onset = runs.iter().filter(|r| r.onset.is_some()).count();
    let detected = runs.iter().filter(|r| r.ttd().is_some()).count();
    StrategySummary {
        scenario: runs.first().map(|r| r.scenario.clone()).unwrap_or_default(),
        strategy: runs.first().map(|r| r.strategy.clone()).unwrap_or_default(),
        replications: runs.len(),
        with_onset,
        detection_probability: Stat::of_proportion(detected, with_onset),
        rollback_rate: rate(&|r| r.rolled_back),
        false_rollback_rate: rate(&|r| r.false_rollback),
        promotion_rate: rate(&|r| r.rollout.is_some()),
        ttd_s: stat(&|r| r.ttd().map(|t| t.as_secs_f64())),
        ttr_s: stat(&|r| r.ttr().map(|t| t.as_secs_f64())),
        affected_share: stat(&|r| Some(r.affected_share())),
        failed_requests: stat(&|r| Some(r.failed_requests as f64)),
        inconsistent_records: stat(&|r| Some(r.inconsistent_records as f64)),
        rollout_s: stat(&|r| r.rollout.map(|t| t.as_secs_f64())),
        instance_seconds: stat(&|r| Some(r.instance_seconds)),
        budget_consumed: stat(&|r| r.budget_consumed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_summarized_column_has_its_statistic() {
        let one = Some(Stat::of(&[1.0]).unwrap());
        let s = StrategySummary {
            ttd_s: one,
            ttr_s: one,
            affected_share: one,
            failed_requests: one,
            inconsistent_records: one,
            rollout_s: one,
            instance_seconds: one,
            budget_consumed: one,
            ..summarize(&[])
        };
        for c in super::super::summarized_columns() {
            assert_eq!(s.stat(c.name), one, "{}", c.name);
        }
        assert_eq!(super::super::summarized_columns().count(), 8);
    }

    #[test]
    fn stat_of_known_values() {
        let s = Stat::of(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!((s.n, s.mean, s.p50, s.p95), (5, 3.0, 3.0, 5.0));
        // s = √2.5, t(4) = 2.776: 2.776 × √2.5 / √5 = 1.96292…
        assert!((s.half_width() - 2.776 * (0.5f64).sqrt()).abs() < 1e-12);
        assert_eq!(Stat::of(&[]), None);
        assert_eq!(Stat::of(&[7.0]).unwrap().half_width(), 0.0);
    }

    #[test]
    fn wilson_interval_of_known_proportions() {
        // 0/30: the upper bound is z²/(n + z²) = 3.8415/33.8415.
        let zero = Stat::of_proportion(0, 30).unwrap();
        assert_eq!(
            (zero.mean, zero.ci95_low, zero.p50, zero.p95),
            (0.0, 0.0, 0.0, 0.0)
        );
        assert!((zero.ci95_high - 0.1135).abs() < 5e-5, "{}", zero.ci95_high);
        // 30/30 mirrors it.
        let all = Stat::of_proportion(30, 30).unwrap();
        assert_eq!((all.ci95_high, all.p50), (1.0, 1.0));
        assert!((all.ci95_low - (1.0 - 0.1135)).abs() < 5e-5);
        // 5/20 (Wilson's table value [0.1119, 0.4687]).
        let (lo, hi) = wilson95(5, 20);
        assert!(
            (lo - 0.1119).abs() < 5e-5 && (hi - 0.4687).abs() < 5e-5,
            "{lo} {hi}"
        );
        // 2/20: p50 is 0 and p95 (rank 19 of 18 zeros then 2 ones) is 1.
        let two = Stat::of_proportion(2, 20).unwrap();
        assert_eq!((two.p50, two.p95), (0.0, 1.0));
        assert_eq!(Stat::of_proportion(0, 0), None);
    }

    #[test]
    fn t_995_is_continuous_past_the_table() {
        assert!((student_t_995(31) - 2.744).abs() < 2e-3);
        assert!((student_t_995(120) - 2.617).abs() < 2e-3);
    }

    #[test]
    fn t_quantile_is_continuous_past_the_table() {
        assert!((student_t_975(31) - 2.0395).abs() < 1e-3);
        assert!((student_t_975(120) - 1.9799).abs() < 1e-3);
        assert!((student_t_975(100_000) - 1.96).abs() < 1e-3);
    }
}
