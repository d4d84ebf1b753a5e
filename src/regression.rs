//! Regressions against last week's drill: flagged when significant, not when noise.
//!
//! For each metric where higher is worse, this week's per-replication values are compared
//! with the baseline's by a one-sided Welch t-test at the 0.5 % level, and the increase must
//! also be material: at least 10 % of the baseline mean (or any increase from zero). A re-run
//! with another seed differs only by noise and is not flagged; a real regression is.

use crate::outcome::student_t_995;

/// Smallest relative worsening that counts as a regression.
pub const MIN_RELATIVE_INCREASE: f64 = 0.10;

/// Metrics compared with a baseline, as names of [`crate::outcome::RUN_COLUMNS`] (higher is
/// worse for all).
pub const REGRESSION_METRICS: [&str; 6] = [
    "ttd_s",
    "ttr_s",
    "affected_share",
    "failed_requests",
    "inconsistent_records",
    "false_rollback",
];

/// One metric of one strategy against its baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The `runs.csv` column.
    pub metric: &'static str,
    /// Baseline mean and sample size.
    pub baseline: (f64, usize),
    /// Current mean and sample size.
    pub current: (f64, usize),
    /// Welch's t statistic (current − baseline).
    pub t: f64,
    /// Whether this is a significant, material worsening.
    pub regressed: bool,
}

fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = if x.len() < 2 {
        0.0
    } else {
        x.iter().map(|y| (y - m).powi(2)).sum::<f64>() / (n - 1.0)
    };
    (m, v)
}

/// Compares `current` with `baseline` values of one metric.
pub fn compare(metric: &'static str, baseline: &[f64], current: &[f64]) -> Option<Comparison> {
    if baseline.is_empty() || current.is_empty() {
        return None;
    }
    let (mb, vb) = mean_var(baseline);
    let (mc, vc) = mean_var(current);
    let (nb, nc) = (baseline.len() as f64, current.len() as f64);
    let se2 = vb / nb + vc / nc;
    let diff = mc - mb;
    let (t, df) = if se2 == 0.0 {
        (
            if diff == 0.0 {
                0.0
            } else {
                diff.signum() * f64::INFINITY
            },
            1.0,
        )
    } else {
        // Welch–Satterthwaite degrees of freedom.
        let df = se2.powi(2)
            / ((vb / nb).powi(2) / (nb - 1.0).max(1.0) + (vc / nc).powi(2) / (nc - 1.0).max(1.0));
        (diff / se2.sqrt(), df)
    };
    let material = if mb == 0.0 {
        diff > 0.0
    } else {
        diff / mb.abs() >= MIN_RELATIVE_INCREASE
    };
    let enough = baseline.len() >= 2 && current.len() >= 2;
    Some(Comparison {
        metric,
        baseline: (mb, baseline.len()),
        current: (mc, current.len()),
        t,
        regressed: enough && material && t > student_t_995(df.floor().max(1.0) as usize),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_metrics_are_numeric_run_columns() {
        use crate::outcome::{ColumnUnit, run_column};
        for m in REGRESSION_METRICS {
            let unit = run_column(m).map(|c| c.unit);
            assert!(
                !matches!(unit, None | Some(ColumnUnit::Text | ColumnUnit::Id)),
                "{m}"
            );
        }
    }

    #[test]
    fn a_shift_well_beyond_noise_is_flagged() {
        let base = [100.0, 102.0, 98.0, 101.0, 99.0, 100.0];
        let worse = [130.0, 128.0, 133.0, 131.0, 129.0, 130.0];
        assert!(compare("ttr_s", &base, &worse).unwrap().regressed);
        assert!(
            !compare("ttr_s", &worse, &base).unwrap().regressed,
            "an improvement is not a regression"
        );
    }

    #[test]
    fn noise_and_immaterial_shifts_are_not() {
        let a = [100.0, 110.0, 90.0, 105.0, 95.0];
        let b = [104.0, 96.0, 112.0, 91.0, 101.0];
        assert!(!compare("ttr_s", &a, &b).unwrap().regressed);
        // Significant but only +2 %: not material.
        let c = [100.0; 50]
            .iter()
            .enumerate()
            .map(|(i, x)| x + (i % 2) as f64 * 0.1)
            .collect::<Vec<_>>();
        let d: Vec<f64> = c.iter().map(|x| x * 1.02).collect();
        assert!(!compare("ttr_s", &c, &d).unwrap().regressed);
        // From zero, any significant increase counts.
        assert!(
            compare("inconsistent_records", &[0.0, 0.0, 0.0], &[5.0, 6.0, 5.0])
                .unwrap()
                .regressed
        );
    }
}
