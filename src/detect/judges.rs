//! `[[analysis.judges]]`: judges that compare the candidate with a baseline (the stable's
//! requests of the same window) rather than with absolute bounds.
//!
//! - `kayenta`: Kayenta's NetflixACAJudge. Per window and metric a Mann–Whitney U test
//!   (`MannWhitneyClassifier.scala`; its confidence interval and estimate are R's
//!   `wilcox.test(conf.int = TRUE, exact = FALSE, correct = TRUE)`, which Kayenta ports):
//!   **High** when the interval's lower bound exceeds `tolerance × |estimate|` and the mean
//!   ratio exceeds `allowed_increase`, **Low** mirrored, else **Pass**; **Nodata** without
//!   requests on either side. The score is `Pass / (Pass + High + Low) × 100`, 0 when half or
//!   more of the metrics have no data (`WeightedSumScorer.scala`); a window scoring at least
//!   `pass` passes, at least `marginal` is inconclusive (Kayenta's Marginal), below fails
//!   (`ThresholdScoreClassifier.scala`).
//! - `sequential`: the mixture sequential probability ratio test (mSPRT) of Johari, Koomen,
//!   Pekelis and Walsh, "Always Valid Inference: Continuous Monitoring of A/B Tests",
//!   *Operations Research* 70(3), 2022 (arXiv:1512.04922), on the difference of error ratios
//!   or of mean log-latencies accumulated since the analysis started: it may be read at every
//!   check and still rejects a candidate no worse than `regression_threshold` with
//!   probability at most `alpha`.
//!
//! Latency samples are histogram bins, never per-request vectors: U is computed from bin
//! counts, requests in one bin being ties.

use crate::detect::burn_rate::normal_cdf;
use crate::model::Window;
use crate::model::windows::bins::LATENCY_BIN_RATIO;
use crate::names::named;

named! {
    /// What a judge is.
    pub enum JudgeKind {
        /// Kayenta's Mann–Whitney classifier and score thresholds.
        Kayenta = "kayenta",
        /// An always-valid sequential test (mSPRT).
        Sequential = "sequential",
    }
}

named! {
    /// Whose requests of the same window a judge compares the candidate with.
    pub enum Baseline {
        /// The stable version's requests.
        Stable = "stable",
        /// A baseline group of the stable's code at the candidate's traffic share, started
        /// with the candidate (a Kayenta / Argo experiment's baseline).
        Experiment = "experiment",
    }
}

named! {
    /// What a judge compares.
    pub enum JudgeMetric {
        /// Each request is a 0 (success) or a 1 (failure).
        ErrorRate = "error_rate",
        /// Each request's latency, in 2 % log-spaced bins.
        Latency = "latency",
    }
}

/// Kayenta's defaults (`NetflixACAJudge.scala`: `confLevel = 0.98`, `tolerance = 0.25`;
/// effect size `allowedIncrease = 1.0`; score thresholds of `json-formats.md`).
pub mod kayenta_defaults {
    /// Confidence level of the Mann–Whitney interval.
    pub const CONFIDENCE: f64 = 0.98;
    /// Share of |estimate| the interval must clear.
    pub const TOLERANCE: f64 = 0.25;
    /// Mean ratio (candidate / baseline) above which an increase counts.
    pub const ALLOWED_INCREASE: f64 = 1.0;
    /// Score at or above which a window passes.
    pub const PASS: f64 = 95.0;
    /// Score at or above which a window is marginal (inconclusive) rather than failed.
    pub const MARGINAL: f64 = 75.0;
}

/// A Kayenta judge.
#[derive(Debug, Clone, PartialEq)]
pub struct KayentaSpec {
    /// What the candidate is compared with.
    pub baseline: Baseline,
    /// Metrics judged, each in the direction "increase is bad".
    pub metrics: Vec<JudgeMetric>,
    /// Confidence level of the interval, in (0, 1).
    pub confidence: f64,
    /// Effect-size tolerance: share of the estimate the interval must clear.
    pub tolerance: f64,
    /// Mean-ratio effect size an increase must exceed.
    pub allowed_increase: f64,
    /// Score thresholds, 0–100.
    pub pass: f64,
    /// See `pass`.
    pub marginal: f64,
}

/// A sequential judge.
#[derive(Debug, Clone, PartialEq)]
pub struct SequentialSpec {
    /// What the candidate is compared with.
    pub baseline: Baseline,
    /// What is compared: the error ratios, or the means of ln(latency in ms) (whose
    /// difference is the log of the ratio of geometric-mean latencies).
    pub metric: JudgeMetric,
    /// The difference (candidate − baseline) that counts as a regression, in the metric's
    /// unit: error ratio, or ln of the latency ratio (`ln 1.05` for 5 % slower).
    pub regression_threshold: f64,
    /// Bound on the probability of ever rejecting a candidate that is not a regression.
    pub alpha: f64,
    /// Standard deviation of the mixing distribution of the difference (the effect sizes
    /// the test is tuned to detect), in the metric's unit.
    pub tau: f64,
    /// Requests each side needs before the normal approximation is read.
    pub min_requests: u64,
}

/// One judge of an analysis.
#[derive(Debug, Clone, PartialEq)]
pub enum JudgeSpec {
    /// See [`KayentaSpec`].
    Kayenta(KayentaSpec),
    /// See [`SequentialSpec`].
    Sequential(SequentialSpec),
}

impl JudgeSpec {
    /// What the judge compares the candidate with.
    pub fn baseline(&self) -> Baseline {
        match self {
            JudgeSpec::Kayenta(k) => k.baseline,
            JudgeSpec::Sequential(s) => s.baseline,
        }
    }

    /// Whether the judge reads latencies (the baseline must then record them).
    pub fn needs_latency(&self) -> bool {
        match self {
            JudgeSpec::Kayenta(k) => k.metrics.contains(&JudgeMetric::Latency),
            JudgeSpec::Sequential(s) => s.metric == JudgeMetric::Latency,
        }
    }
}

/// A sample as histogram bins: `(value, count)`, values strictly increasing, counts > 0.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bins(pub Vec<(f64, u64)>);

impl Bins {
    /// Successes as 0 and failures as 1.
    pub fn errors(w: &Window) -> Bins {
        let ok = w.requests - w.errors.min(w.requests);
        Bins(
            [(0.0, ok), (1.0, w.errors)]
                .into_iter()
                .filter(|&(_, c)| c > 0)
                .collect(),
        )
    }

    /// Latencies in ms, grouped into 2 % log-spaced bins, each valued at its geometric
    /// centre (empty when the window keeps no latency).
    pub fn latency(w: &Window) -> Bins {
        let mut bins: Vec<(f64, u64)> = Vec::new();
        let ln = LATENCY_BIN_RATIO.ln();
        for (us, count) in w.latency_counts() {
            let k = ((us.max(1) as f64).ln() / ln).floor();
            let value = ((k + 0.5) * ln).exp() / 1000.0;
            match bins.last_mut() {
                Some(last) if last.0 == value => last.1 += count,
                _ => bins.push((value, count)),
            }
        }
        Bins(bins)
    }

    fn n(&self) -> f64 {
        self.0.iter().map(|&(_, c)| c as f64).sum()
    }

    fn mean(&self) -> f64 {
        self.0.iter().map(|&(v, c)| v * c as f64).sum::<f64>() / self.n()
    }

    /// The count, mean and sum of squared deviations of `ln v` (values > 0).
    fn log_moments(&self) -> (f64, f64, f64) {
        let n = self.n();
        let mean = self.0.iter().map(|&(v, c)| v.ln() * c as f64).sum::<f64>() / n;
        let ss = self
            .0
            .iter()
            .map(|&(v, c)| (v.ln() - mean).powi(2) * c as f64)
            .sum();
        (n, mean, ss)
    }
}

/// A Mann–Whitney test of `x` (candidate) against `y` (baseline).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U of x: pairs with x > y, plus half the ties.
    pub u: f64,
    /// The normal statistic of U with the tie and continuity corrections.
    pub z: f64,
    /// The shift estimate (R's: the shift at which the statistic is 0).
    pub estimate: f64,
    /// The interval's bounds on the shift.
    pub lower: f64,
    /// See `lower`.
    pub upper: f64,
}

/// U of `x` shifted by `shift` over `y`: `Σ c_a d_b (1[v_a − shift > w_b] + ½ 1[=])`, and
/// `Σ (t³ − t)` over the tie groups of the combined sample.
pub fn u_and_ties(x: &Bins, y: &Bins, shift: f64) -> (f64, f64) {
    let mut prefix = Vec::with_capacity(y.0.len() + 1);
    prefix.push(0.0);
    for &(_, d) in &y.0 {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + d as f64);
    }
    let mut u = 0.0;
    for &(v, c) in &x.0 {
        let v = v - shift;
        let lt = y.0.partition_point(|&(w, _)| w < v);
        let le = y.0.partition_point(|&(w, _)| w <= v);
        u += c as f64 * (prefix[lt] + 0.5 * (prefix[le] - prefix[lt]));
    }
    // Tie groups of the merged, sorted values.
    let (mut i, mut j, mut ties) = (0, 0, 0.0);
    while i < x.0.len() || j < y.0.len() {
        let xv = x.0.get(i).map(|&(v, _)| v - shift);
        let yv = y.0.get(j).map(|&(w, _)| w);
        let value = match (xv, yv) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => break,
        };
        let mut t = 0.0;
        if xv == Some(value) {
            t += x.0[i].1 as f64;
            i += 1;
        }
        if yv == Some(value) {
            t += y.0[j].1 as f64;
            j += 1;
        }
        ties += t * t * t - t;
    }
    (u, ties)
}

/// The corrected normal statistic of U at `shift` (R's `wdiff` with `zq = 0`); `None` when
/// every value ties (no variance).
fn z_at(x: &Bins, y: &Bins, shift: f64) -> Option<f64> {
    let (m, n) = (x.n(), y.n());
    let total = m + n;
    let (u, ties) = u_and_ties(x, y, shift);
    let var = m * n / 12.0 * ((total + 1.0) - ties / (total * (total - 1.0)));
    if var <= 0.0 {
        return None;
    }
    let dz = u - m * n / 2.0;
    let correction = 0.5 * dz.signum() * f64::from(u8::from(dz != 0.0));
    Some((dz - correction) / var.sqrt())
}

/// The standard normal quantile, by bisection on [`normal_cdf`] (to 1e-12).
pub fn normal_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0, 40.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if normal_cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The shift in `[lo, hi]` at which the (decreasing) statistic crosses `zq`, by bisection,
/// with R's end rule (`wilcox.test.default`'s `root`: `if (f.lower <= 0) return(mumin)`,
/// `if (f.upper >= 0) return(mumax)`; Kayenta's port keeps it, `findRoot` in
/// `kayenta-mannwhitney/.../MannWhitney.scala`): when the statistic is already at or below
/// `zq` at `lo`, the root is `lo`. Without it, a baseline with no failure (errors as 0/1 samples:
/// `lo = 0`) would put every bound a rounding step above 0, and one failed request against
/// none would read as High.
fn root(x: &Bins, y: &Bins, zq: f64, mut lo: f64, mut hi: f64) -> f64 {
    if !z_at(x, y, lo).is_some_and(|z| z > zq) {
        return lo;
    }
    if z_at(x, y, hi).is_some_and(|z| z >= zq) {
        return hi;
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if z_at(x, y, mid).is_some_and(|z| z > zq) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The Mann–Whitney test of `x` against `y` at confidence `confidence`: U at shift 0 and
/// R's normal-approximation interval and estimate of the shift. `None` when either sample
/// is empty or every value ties.
pub fn mann_whitney(x: &Bins, y: &Bins, confidence: f64) -> Option<MannWhitney> {
    let (x0, x1) = (x.0.first()?.0, x.0.last()?.0);
    let (y0, y1) = (y.0.first()?.0, y.0.last()?.0);
    let z = z_at(x, y, 0.0)?;
    let (u, _) = u_and_ties(x, y, 0.0);
    let (lo, hi) = (x0 - y1, x1 - y0);
    let zq = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
    Some(MannWhitney {
        u,
        z,
        estimate: root(x, y, 0.0, lo, hi),
        lower: root(x, y, zq, lo, hi),
        upper: root(x, y, -zq, lo, hi),
    })
}

/// Kayenta's classification of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classification {
    /// The candidate is higher (worse).
    High,
    /// The candidate is lower.
    Low,
    /// No difference beyond the tolerance.
    Pass,
    /// A side without data.
    Nodata,
}

/// `MannWhitneyClassifier.classify` with the effect size (direction "either").
pub fn classify(x: &Bins, y: &Bins, k: &KayentaSpec) -> Classification {
    if x.0.is_empty() || y.0.is_empty() {
        return Classification::Nodata;
    }
    if x.0 == y.0 {
        return Classification::Pass;
    }
    let Some(mw) = mann_whitney(x, y, k.confidence) else {
        return Classification::Pass;
    };
    let bound = k.tolerance * mw.estimate.abs();
    let (mx, my) = (x.mean(), y.mean());
    let ratio = if my > 0.0 { mx / my } else { f64::INFINITY };
    if mw.lower > bound && ratio > k.allowed_increase {
        Classification::High
    } else if mw.upper < -bound && ratio < 1.0 / k.allowed_increase {
        Classification::Low
    } else {
        Classification::Pass
    }
}

/// Kayenta's score of one window: metrics judged in the direction "increase is bad" (a Low
/// counts as a Pass), `Pass / (Pass + High) × 100`, 0 when half or more have no data.
pub fn kayenta_score(candidate: &Window, baseline: &Window, k: &KayentaSpec) -> f64 {
    let (mut pass, mut high, mut nodata) = (0u32, 0u32, 0u32);
    for m in &k.metrics {
        let (x, y) = match m {
            JudgeMetric::ErrorRate => (Bins::errors(candidate), Bins::errors(baseline)),
            JudgeMetric::Latency => (Bins::latency(candidate), Bins::latency(baseline)),
        };
        match classify(&x, &y, k) {
            Classification::High => high += 1,
            Classification::Nodata => nodata += 1,
            Classification::Pass | Classification::Low => pass += 1,
        }
    }
    if 2 * nodata >= k.metrics.len() as u32 || pass + high == 0 {
        return 0.0;
    }
    100.0 * f64::from(pass) / f64::from(pass + high)
}

/// What a sequential judge accumulates since its analysis (re)started, window by window.
///
/// Each window is a stratum: its difference `d_k` (of error ratios `p̂c_k − p̂b_k`, or of
/// mean log-latencies) enters with the weight `w_k = nc_k·nb_k / (nc_k + nb_k)` (the
/// Cochran–Mantel–Haenszel weight, the inverse of `d_k`'s variance in units of the
/// per-request variance), and `Δ̂ = Σ w_k d_k / Σ w_k` with variance
/// `V = Σ w_k s²_k / (Σ w_k)²`, `s²_k` the window's pooled per-request variance: `p̄_k(1 − p̄_k)`
/// for error ratios (`p̄_k` the pooled ratio), the pooled sample variance of ln-latency for
/// latencies. Pooling the raw counts instead would compare a candidate whose share of traffic
/// grew during an outage with a stable whose share shrank (Simpson's paradox): a dependency
/// outage alone would read as a regression.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SequentialState {
    /// Candidate and baseline requests so far.
    pub requests: (u64, u64),
    /// `Σ w_k`.
    weight: f64,
    /// `Σ w_k d_k`.
    weighted_diff: f64,
    /// `Σ w_k s²_k`.
    weighted_var: f64,
}

/// What a sequential judge concludes at one look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Look {
    /// Too few requests on a side.
    Early,
    /// Not (yet) a regression; the mixture likelihood ratio's log.
    Continue(f64),
    /// A regression: the mixture likelihood ratio reached 1 / alpha.
    Regression(f64),
}

impl SequentialState {
    /// Adds one window of each side, read as `metric`.
    pub fn add(&mut self, metric: JudgeMetric, candidate: &Window, baseline: &Window) {
        match metric {
            JudgeMetric::ErrorRate => self.add_counts(
                (candidate.requests, candidate.errors),
                (baseline.requests, baseline.errors),
            ),
            JudgeMetric::Latency => {
                self.add_latencies(&Bins::latency(candidate), &Bins::latency(baseline));
            }
        }
    }

    /// Adds one window given as `(requests, failures)` of each side; a window with no
    /// request on a side adds only its requests.
    pub fn add_counts(&mut self, (nc, ec): (u64, u64), (nb, eb): (u64, u64)) {
        self.requests.0 += nc;
        self.requests.1 += nb;
        if nc == 0 || nb == 0 {
            return;
        }
        let (ncf, nbf) = (nc as f64, nb as f64);
        let pooled = (ec + eb) as f64 / (ncf + nbf);
        self.stratum(
            ncf,
            nbf,
            ec as f64 / ncf - eb as f64 / nbf,
            pooled * (1.0 - pooled),
        );
    }

    /// Adds one window of latencies (ms, as bins) of each side: the difference of the means
    /// of ln(latency), with the pooled sample variance `(SS_c + SS_b) / (n_c + n_b − 2)`; a
    /// window with fewer than two requests in all adds only its requests.
    pub fn add_latencies(&mut self, candidate: &Bins, baseline: &Bins) {
        let (nc, nb) = (candidate.n(), baseline.n());
        self.requests.0 += nc as u64;
        self.requests.1 += nb as u64;
        if nc == 0.0 || nb == 0.0 || nc + nb < 3.0 {
            return;
        }
        let (_, mc, ssc) = candidate.log_moments();
        let (_, mb, ssb) = baseline.log_moments();
        self.stratum(nc, nb, mc - mb, (ssc + ssb) / (nc + nb - 2.0));
    }

    fn stratum(&mut self, nc: f64, nb: f64, diff: f64, var: f64) {
        let w = nc * nb / (nc + nb);
        self.weight += w;
        self.weighted_diff += w * diff;
        self.weighted_var += w * var;
    }

    /// One look: the two-sample normal mSPRT of Johari et al. (§4) on `Δ̂` with variance
    /// `V` (see the type): `Λ = √(V/(V+τ²)) · exp(τ²(Δ̂−θ₀)² / (2V(V+τ²)))`, a regression
    /// when `Δ̂ > θ₀` and `Λ ≥ 1/α`, with `θ₀ = regression_threshold`.
    pub fn look(&self, s: &SequentialSpec) -> Look {
        let min = s.min_requests.max(1);
        if self.requests.0 < min || self.requests.1 < min || self.weight <= 0.0 {
            return Look::Early;
        }
        let delta = self.weighted_diff / self.weight - s.regression_threshold;
        let v = self.weighted_var / (self.weight * self.weight);
        if v <= 0.0 {
            // No variance: every window's ratios are 0 or 1 alike; the difference is exact.
            return if delta > 0.0 {
                Look::Regression(f64::INFINITY)
            } else {
                Look::Continue(f64::NEG_INFINITY)
            };
        }
        let t2 = s.tau * s.tau;
        let log_lambda = 0.5 * (v / (v + t2)).ln() + t2 * delta * delta / (2.0 * v * (v + t2));
        if delta > 0.0 && log_lambda >= (1.0 / s.alpha).ln() {
            Look::Regression(log_lambda)
        } else {
            Look::Continue(log_lambda)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bins(v: &[(f64, u64)]) -> Bins {
        Bins(v.to_vec())
    }

    /// Kayenta's defaults against the stable, on one metric.
    fn kayenta(metric: JudgeMetric) -> KayentaSpec {
        KayentaSpec {
            baseline: Baseline::Stable,
            metrics: vec![metric],
            confidence: kayenta_defaults::CONFIDENCE,
            tolerance: kayenta_defaults::TOLERANCE,
            allowed_increase: kayenta_defaults::ALLOWED_INCREASE,
            pass: kayenta_defaults::PASS,
            marginal: kayenta_defaults::MARGINAL,
        }
    }

    #[test]
    fn u_by_hand_on_a_tiny_window_with_ties() {
        // Candidate x = {1, 2, 2, 5}, baseline y = {2, 3}: m = 4, n = 2.
        // U = Σ over x of (#y below + ½ #y equal): 1 → 0; 2 → ½ (twice); 5 → 2: U = 3.
        // Combined {1, 2, 2, 2, 3, 5}: one tie group of 3, Σ(t³ − t) = 24. N = 6.
        // σ² = mn/12 × ((N + 1) − 24/(N(N − 1))) = 8/12 × (7 − 0.8) = 4.1333…
        // z = (U − mn/2 + ½) / σ = (3 − 4 + 0.5) / 2.03306 = −0.24593 (continuity towards 0).
        let x = bins(&[(1.0, 1), (2.0, 2), (5.0, 1)]);
        let y = bins(&[(2.0, 1), (3.0, 1)]);
        let (u, ties) = u_and_ties(&x, &y, 0.0);
        assert_eq!((u, ties), (3.0, 24.0));
        let z = z_at(&x, &y, 0.0).unwrap();
        assert!(
            (z - (-0.5 / (8.0 / 12.0 * 6.2f64).sqrt())).abs() < 1e-12,
            "{z}"
        );
        // Shifted by 1, x − 1 = {0, 1, 1, 4}: U = 0 + 0 + 0 + 2 = 2; the two 1s of x tie
        // with each other: Σ(t³ − t) = 8 − 2 = 6.
        assert_eq!(u_and_ties(&x, &y, 1.0), (2.0, 6.0));
    }

    #[test]
    fn equal_latencies_pass_and_thirty_percent_slower_is_high() {
        let k = kayenta(JudgeMetric::Latency);
        // 1000 requests spread over 50 ms … 149 ms on each side (uniform bins): identical.
        let base: Vec<(f64, u64)> = (50..150).map(|ms| (f64::from(ms), 10)).collect();
        let y = bins(&base);
        assert_eq!(classify(&y.clone(), &y, &k), Classification::Pass);
        // The same shape 30 % slower: every value × 1.3. The shift estimate is about 30 ms,
        // its 98 % interval far above 0.25 × 30 ms, and the mean ratio 1.3 > 1: High.
        let slow = bins(&base.iter().map(|&(v, c)| (v * 1.3, c)).collect::<Vec<_>>());
        let mw = mann_whitney(&slow, &y, 0.98).unwrap();
        assert!((mw.estimate - 30.0).abs() < 3.0, "{mw:?}");
        assert!(mw.lower > 0.25 * mw.estimate.abs(), "{mw:?}");
        assert_eq!(classify(&slow, &y, &k), Classification::High);
        // And the baseline against the slow one: Low.
        assert_eq!(classify(&y, &slow, &k), Classification::Low);
        // Shifted by a hair (0.1 ms on 100 ms): Pass within the tolerance and the noise.
        let hair = bins(&base.iter().map(|&(v, c)| (v + 0.1, c)).collect::<Vec<_>>());
        assert_eq!(classify(&hair, &y, &k), Classification::Pass);
        assert_eq!(classify(&Bins::default(), &y, &k), Classification::Nodata);
    }

    #[test]
    fn the_interval_matches_the_normal_approximation_on_a_pure_shift() {
        // x = y + 10 for 2000 points each: the 98 % interval of the shift is about
        // 10 ± 2.326 × σ_shift; the estimate sits at 10 to the bins' resolution.
        let y: Vec<(f64, u64)> = (0..200).map(|i| (f64::from(i), 10)).collect();
        let x: Vec<(f64, u64)> = y.iter().map(|&(v, c)| (v + 10.0, c)).collect();
        let mw = mann_whitney(&bins(&x), &bins(&y), 0.98).unwrap();
        assert!((mw.estimate - 10.0).abs() <= 1.0, "{mw:?}");
        assert!(mw.lower < 10.0 && mw.upper > 10.0, "{mw:?}");
        assert!(mw.lower > 0.0, "{mw:?}");
    }

    #[test]
    fn the_msprt_rejects_a_clear_regression_and_not_an_equal_candidate() {
        let s = SequentialSpec {
            baseline: Baseline::Stable,
            metric: JudgeMetric::ErrorRate,
            regression_threshold: 0.0,
            alpha: 0.05,
            tau: 0.01,
            min_requests: 100,
        };
        let st = |c: (u64, u64), b: (u64, u64)| {
            let mut s = SequentialState::default();
            s.add_counts(c, b);
            s
        };
        assert_eq!(st((50, 0), (5000, 5)).look(&s), Look::Early);
        // One window, 3 % against 0.1 % over 5000 requests each: w = 5000·5000/10000 = 2500,
        // Δ̂ = 0.029, p̄ = 155/10000, V = p̄(1 − p̄)/w = 6.1039e-6, τ² = 1e-4:
        // log Λ = ½ ln(V/(V+τ²)) + τ²Δ̂²/(2V(V+τ²)) = −1.4277 + 64.9273 = 63.4995 ≫ ln 20.
        match st((5000, 150), (5000, 5)).look(&s) {
            Look::Regression(l) => assert!((l - 63.4995).abs() < 1e-3, "{l}"),
            other => panic!("{other:?}"),
        }
        // Equal ratios: Δ̂ = 0, log Λ < 0.
        assert!(matches!(st((5000, 5), (5000, 5)).look(&s), Look::Continue(l) if l < 0.0));
        // Better than the baseline: never a regression, however strong the evidence.
        assert!(matches!(
            st((5000, 0), (5000, 150)).look(&s),
            Look::Continue(_)
        ));
        // Simpson: an outage (50 % on both sides) in the window where the candidate has
        // 5× the share it had before. Pooled counts would give the candidate 2501 of 6000
        // failed (41.7 %) against 2545 of 50 000 (5.1 %): a "regression". Window by window
        // both differences are 0: no regression.
        let mut strat = SequentialState::default();
        strat.add_counts((1000, 1), (45_000, 45));
        strat.add_counts((5000, 2500), (5000, 2500));
        assert!(
            matches!(strat.look(&s), Look::Continue(l) if l < 0.0),
            "{strat:?}"
        );
    }

    #[test]
    fn the_msprt_on_log_latency_by_hand() {
        let s = SequentialSpec {
            baseline: Baseline::Stable,
            metric: JudgeMetric::Latency,
            regression_threshold: 0.0,
            alpha: 0.05,
            tau: 0.1,
            min_requests: 1,
        };
        let e = f64::exp;
        let look = |c: &[(f64, u64)], b: &[(f64, u64)], s: &SequentialSpec| {
            let mut st = SequentialState::default();
            st.add_latencies(&bins(c), &bins(b));
            st.look(s)
        };
        // ln candidate = {1, 1, 2, 2}: mean 1.5, SS 1; ln baseline = {1, 1, 1, 2}: mean 1.25,
        // SS 0.75. w = 4·4/8 = 2, d = 0.25, s² = (1 + 0.75)/6, V = w·s²/w² = 0.145833;
        // τ² = 0.01: log Λ = ½ ln(V/(V+τ²)) + τ²d²/(2V(V+τ²)) = −0.033161 + 0.013751 = −0.019410.
        match look(&[(e(1.0), 2), (e(2.0), 2)], &[(e(1.0), 3), (e(2.0), 1)], &s) {
            Look::Continue(l) => assert!((l + 0.019_410).abs() < 1e-6, "{l}"),
            other => panic!("{other:?}"),
        }
        // 1000 requests a side, the candidate 30 % slower at every value: ln values {3, 4}
        // (500 each) against {3, 4} + ln 1.3. d = ln 1.3 = 0.262364, SS = 250 a side,
        // s² = 500/1998, w = 500, V = s²/w = 5.005e-4: log Λ = 63.9667 ≫ ln 20.
        let base = [(e(3.0), 500), (e(4.0), 500)];
        let slow = [(1.3 * e(3.0), 500), (1.3 * e(4.0), 500)];
        match look(&slow, &base, &s) {
            Look::Regression(l) => assert!((l - 63.9667).abs() < 1e-3, "{l}"),
            other => panic!("{other:?}"),
        }
        // The same 30 % is no regression against a threshold of 50 % slower (θ₀ = ln 1.5):
        // Δ̂ − θ₀ < 0 whatever Λ says.
        let lenient = SequentialSpec {
            regression_threshold: 1.5f64.ln(),
            ..s.clone()
        };
        assert!(matches!(look(&slow, &base, &lenient), Look::Continue(_)));
        // Equal latencies: d = 0, log Λ = ½ ln(V/(V+τ²)) < 0.
        assert!(matches!(look(&base, &base, &s), Look::Continue(l) if l < 0.0));
    }

    #[test]
    fn one_failure_against_none_is_no_regression_thirty_are() {
        // Errors as 0/1 samples, 600 a side, the baseline with no failure: shifts run from
        // lo = 0 − 0 = 0 to hi = 1 − 0 = 1. With one failure z(0) = 0.998 < z₀.₉₉ = 2.326: by
        // R's end rule the lower bound is lo = 0, and 0 > 0.25 × |estimate| is false: Pass.
        // With 30 failures z(0) > 2.326: both the lower bound and the estimate sit just above
        // 0 (where the step function jumps), the bound clears 0.25 × estimate: High.
        let k = kayenta(JudgeMetric::ErrorRate);
        let errors = |n: u64, e: u64| bins(&[(0.0, n - e), (1.0, e)]);
        let none = bins(&[(0.0, 600)]);
        let mw = mann_whitney(&errors(600, 1), &none, 0.98).unwrap();
        assert!((mw.z - 0.998_333).abs() < 1e-6, "{mw:?}");
        assert_eq!(mw.lower, 0.0);
        assert_eq!(classify(&errors(600, 1), &none, &k), Classification::Pass);
        assert_eq!(classify(&none, &errors(600, 1), &k), Classification::Pass);
        assert_eq!(classify(&errors(600, 30), &none, &k), Classification::High);
    }

    #[test]
    fn quantiles_invert_the_cdf() {
        assert!((normal_quantile(0.99) - 2.326_348).abs() < 1e-5);
        // Φ is good to 1.2e-7, so its inverse to about 3e-7.
        assert!((normal_quantile(0.5)).abs() < 1e-6);
    }
}
