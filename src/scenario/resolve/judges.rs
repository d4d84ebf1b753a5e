//! `[[analysis.judges]]`.

use super::super::raw::RawJudge;
use super::{Resolver, Result, short};
use crate::detect::judges::{
    Baseline, JudgeKind, JudgeMetric, JudgeSpec, KayentaSpec, SequentialSpec, kayenta_defaults,
};

/// Most judges per analysis.
const MAX_JUDGES: usize = 10;

/// The sequential judge's defaults: `alpha` 0.05 (the false-alarm bound of a 95 % test),
/// a regression being any increase (`regression_threshold` 0), `tau` 0.01 for error ratios
/// (a difference of one point, the size of regression the test is tuned for) and 0.1 for
/// log-latencies (about 10 % slower), and 100 requests per side before the normal
/// approximation is read.
pub mod sequential_defaults {
    /// Bound on the false-regression probability.
    pub const ALPHA: f64 = 0.05;
    /// Difference that counts as a regression.
    pub const REGRESSION_THRESHOLD: f64 = 0.0;
    /// Mixing standard deviation on error ratios.
    pub const TAU: f64 = 0.01;
    /// Mixing standard deviation on ln-latency (ln of the latency ratio).
    pub const TAU_LATENCY: f64 = 0.1;
    /// Requests per side before the first look.
    pub const MIN_REQUESTS: u64 = 100;
}

impl Resolver<'_> {
    /// The judges of the analysis at `path`.
    pub(super) fn judges(&self, path: &str, raw: &[RawJudge]) -> Result<Vec<JudgeSpec>> {
        if raw.len() > MAX_JUDGES {
            return self.err(
                format!("{path}.judges"),
                format!("{} judges; expected at most {MAX_JUDGES}", raw.len()),
            );
        }
        raw.iter()
            .enumerate()
            .map(|(i, j)| self.judge(&format!("{path}.judges[{i}]"), j))
            .collect()
    }

    fn judge(&self, path: &str, j: &RawJudge) -> Result<JudgeSpec> {
        let field = |name: &str| format!("{path}.{name}");
        let kind: JudgeKind = self.named(&field("kind"), &j.kind, "judge kind")?;
        let baseline: Baseline = match &j.baseline {
            None => Baseline::Stable,
            Some(b) => self.named(&field("baseline"), b, "judge baseline")?,
        };
        let foreign: &[(&str, bool)] = match kind {
            JudgeKind::Kayenta => &[
                ("metric", j.metric.is_some()),
                ("regression_threshold", j.regression_threshold.is_some()),
                ("alpha", j.alpha.is_some()),
                ("tau", j.tau.is_some()),
                ("min_requests", j.min_requests.is_some()),
            ],
            JudgeKind::Sequential => &[
                ("metrics", j.metrics.is_some()),
                ("confidence", j.confidence.is_some()),
                ("tolerance", j.tolerance.is_some()),
                ("allowed_increase", j.allowed_increase.is_some()),
                ("pass", j.pass.is_some()),
                ("marginal", j.marginal.is_some()),
            ],
        };
        if let Some((name, _)) = foreign.iter().find(|(_, set)| *set) {
            return self.err(
                field(name),
                format!("a {} judge does not take {name}; remove it", kind.name()),
            );
        }
        match kind {
            JudgeKind::Kayenta => self.kayenta(path, j, baseline).map(JudgeSpec::Kayenta),
            JudgeKind::Sequential => self
                .sequential(path, j, baseline)
                .map(JudgeSpec::Sequential),
        }
    }

    /// A number strictly between 0 and 1 at `field`, `default` when omitted.
    fn open01(&self, field: &str, x: Option<f64>, default: f64) -> Result<f64> {
        let x = x.unwrap_or(default);
        if x > 0.0 && x < 1.0 {
            Ok(x)
        } else {
            self.err(
                field,
                format!(
                    "{} is not allowed; expected a number strictly between 0 and 1",
                    short(x)
                ),
            )
        }
    }

    /// A `kayenta` judge's fields.
    fn kayenta(&self, path: &str, j: &RawJudge, baseline: Baseline) -> Result<KayentaSpec> {
        let field = |name: &str| format!("{path}.{name}");
        let metrics = match &j.metrics {
            None => vec![JudgeMetric::ErrorRate, JudgeMetric::Latency],
            Some(m) if m.is_empty() => {
                return self.err(
                    field("metrics"),
                    "empty; expected some of \"error_rate\", \"latency\" (or leave it out for both)",
                );
            }
            Some(m) => m
                .iter()
                .enumerate()
                .map(|(i, name)| self.named(&format!("{path}.metrics[{i}]"), name, "judge metric"))
                .collect::<Result<Vec<JudgeMetric>>>()?,
        };
        let score = |name: &str, x: Option<f64>, default: f64| {
            let x = x.unwrap_or(default);
            if (0.0..=100.0).contains(&x) {
                Ok(x)
            } else {
                self.err(
                    field(name),
                    format!(
                        "{} is not allowed; expected a score from 0 to 100",
                        short(x)
                    ),
                )
            }
        };
        let pass = score("pass", j.pass, kayenta_defaults::PASS)?;
        let marginal = score("marginal", j.marginal, kayenta_defaults::MARGINAL)?;
        if marginal > pass {
            return self.err(
                field("marginal"),
                format!(
                    "{} is above pass = {}; a marginal score lies between marginal and pass",
                    short(marginal),
                    short(pass)
                ),
            );
        }
        let tolerance = j.tolerance.unwrap_or(kayenta_defaults::TOLERANCE);
        if !(tolerance.is_finite() && tolerance >= 0.0) {
            return self.err(
                field("tolerance"),
                format!(
                    "{} is not allowed; expected a share of the estimate ≥ 0",
                    short(tolerance)
                ),
            );
        }
        let allowed_increase = j
            .allowed_increase
            .unwrap_or(kayenta_defaults::ALLOWED_INCREASE);
        if !(allowed_increase.is_finite() && allowed_increase >= 1.0) {
            return self.err(
                field("allowed_increase"),
                format!(
                    "{} is not allowed; expected a mean ratio ≥ 1 (1: any increase counts)",
                    short(allowed_increase)
                ),
            );
        }
        Ok(KayentaSpec {
            baseline,
            metrics,
            confidence: self.open01(
                &field("confidence"),
                j.confidence,
                kayenta_defaults::CONFIDENCE,
            )?,
            tolerance,
            allowed_increase,
            pass,
            marginal,
        })
    }

    /// A `sequential` judge's fields.
    fn sequential(&self, path: &str, j: &RawJudge, baseline: Baseline) -> Result<SequentialSpec> {
        let field = |name: &str| format!("{path}.{name}");
        let metric = match &j.metric {
            None => JudgeMetric::ErrorRate,
            Some(m) => self.named(&field("metric"), m, "judge metric")?,
        };
        let threshold = j
            .regression_threshold
            .unwrap_or(sequential_defaults::REGRESSION_THRESHOLD);
        let regression_threshold = match metric {
            JudgeMetric::ErrorRate if (0.0..1.0).contains(&threshold) => threshold,
            JudgeMetric::ErrorRate => {
                return self.err(
                    field("regression_threshold"),
                    format!("{} is not allowed; expected a difference of error ratios in [0, 1), e.g. 0.01 for one point", short(threshold)),
                );
            }
            // A relative increase of the geometric-mean latency, tested on the log scale.
            JudgeMetric::Latency if threshold.is_finite() && threshold >= 0.0 => threshold.ln_1p(),
            JudgeMetric::Latency => {
                return self.err(
                    field("regression_threshold"),
                    format!("{} is not allowed; expected a relative latency increase ≥ 0, e.g. 0.05 for 5 % slower", short(threshold)),
                );
            }
        };
        let tau = j.tau.unwrap_or(match metric {
            JudgeMetric::ErrorRate => sequential_defaults::TAU,
            JudgeMetric::Latency => sequential_defaults::TAU_LATENCY,
        });
        if !(tau.is_finite() && tau > 0.0) {
            return self.err(
                field("tau"),
                format!(
                    "{} is not allowed; expected a standard deviation > 0",
                    short(tau)
                ),
            );
        }
        Ok(SequentialSpec {
            baseline,
            metric,
            regression_threshold,
            alpha: self.open01(&field("alpha"), j.alpha, sequential_defaults::ALPHA)?,
            tau,
            min_requests: j.min_requests.unwrap_or(sequential_defaults::MIN_REQUESTS),
        })
    }
}
