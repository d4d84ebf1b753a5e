//! `[slo]` and `[[alerts]] kind = "burn_rate"`: the multiwindow, multi-burn-rate alerts of the
//! Google SRE Workbook (chapter 5, "Alerting on SLOs", section 6 "Multiwindow, Multi-Burn-Rate
//! Alerts"), generated as PromQL and evaluated by the same evaluator as every `[[alerts]]`
//! rule, and the `budget_consumed` outcome.
//!
//! A burn rate is how fast the service spends its error budget: an error ratio of
//! `f × (1 − objective)` spends the budget of the whole SLO window in `window / f`. An alert
//! of factor `f` fires when the error ratio over its long window *and* over its short window
//! are both above `f × (1 − objective)`: the long window makes it significant, the short one
//! makes it stop soon after the burn stops.

use crate::detect::alerts::AlertAction;
use crate::detect::alerts::series::{DURATION_BUCKET, REQUESTS};
use crate::engine::SimTime;
use crate::names::named;

named! {
    /// Which objective of `[slo]` a burn-rate alert watches.
    pub enum SloKind {
        /// Requests that do not fail (`code` not 5xx).
        Availability = "availability",
        /// Requests served within `[slo.latency] threshold` (read from the histogram).
        Latency = "latency",
    }
}

/// The SLO window when `[slo] window` is unset: the Workbook's 30 days ("Alerting on SLOs",
/// every table of the chapter assumes a 30-day window).
pub const DEFAULT_WINDOW: &str = "30d";

/// A latency objective: the share of requests faster than `threshold`.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencySlo {
    /// The threshold, seconds; one of the histogram's bucket bounds, so that "faster than the
    /// threshold" is a bucket count exactly as a real recording rule reads it.
    pub threshold_s: f64,
    /// The share of requests that must be faster, in (0, 1).
    pub objective: f64,
}

/// `[slo]`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct SloSpec {
    /// Availability objective: the share of requests that must succeed, in (0, 1).
    pub availability: f64,
    /// Optional latency objective.
    pub latency: Option<LatencySlo>,
    /// The SLO window the error budget is counted over (30 d by default).
    pub window: SimTime,
}

impl SloSpec {
    /// The error budget of `kind` as a ratio of requests (`1 − objective`), when the SLO has
    /// that objective.
    pub fn budget(&self, kind: SloKind) -> Option<f64> {
        match kind {
            SloKind::Availability => Some(1.0 - self.availability),
            SloKind::Latency => self.latency.as_ref().map(|l| 1.0 - l.objective),
        }
    }

    /// `budget_consumed` of one run: the requests the drill's faults failed over the
    /// availability budget of the SLO window, `(1 − availability) × rate_per_s × window`
    /// (the mean offered rate, requests per second, over the whole window). 1.0 is the whole
    /// budget; a bad drill may burn more than one. `None` with no traffic.
    pub fn budget_consumed(&self, fault_failed_requests: u64, rate_per_s: f64) -> Option<f64> {
        let allowed = (1.0 - self.availability) * rate_per_s * self.window.as_secs_f64();
        (allowed > 0.0).then(|| fault_failed_requests as f64 / allowed)
    }
}

/// One row of the burn-rate table: an alert fires when the burn rate over `long` and over
/// `short` are both above `factor`.
#[derive(Debug, Clone, PartialEq)]
pub struct BurnWindow {
    /// Burn-rate factor (1 spends the budget in exactly the SLO window).
    pub factor: f64,
    /// Long window, as written (`"1h"`), and its length.
    pub long: (String, SimTime),
    /// Short window, as written (`"5m"`), and its length.
    pub short: (String, SimTime),
    /// What the alert sets off.
    pub action: AlertAction,
}

/// The Workbook's recommended parameters for a 99.9 % SLO (approach 6, "Multiwindow,
/// Multi-Burn-Rate Alerts", with the short windows at 1/12 of the long ones):
/// 14.4× over 1 h and 5 m pages (2 % of the 30-day budget), 6× over 6 h and 30 m pages (5 %),
/// 1× over 3 d and 6 h opens a ticket (10 %).
pub const DEFAULT_WINDOWS: [(f64, &str, &str, AlertAction); 3] = [
    (14.4, "1h", "5m", AlertAction::Page),
    (6.0, "6h", "30m", AlertAction::Page),
    (1.0, "3d", "6h", AlertAction::Ticket),
];

/// A number as PromQL text, to 9 decimals without float noise (`1 − 0.999` is written `0.001`).
pub fn number(x: f64) -> String {
    let s = format!("{x:.9}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// The PromQL text of `le` for a bound in seconds, as the series store labels it.
pub fn le(bound_s: f64) -> String {
    bound_s.to_string()
}

/// The service-wide ratio of bad requests over `range` (PromQL duration text), for `kind`.
fn ratio(slo: &SloSpec, kind: SloKind, range: &str) -> String {
    match kind {
        SloKind::Availability => format!(
            "sum(rate({REQUESTS}{{code=~\"5..\"}}[{range}])) / sum(rate({REQUESTS}[{range}]))"
        ),
        SloKind::Latency => {
            let t = slo.latency.as_ref().map_or(0.0, |l| l.threshold_s);
            let all = format!("sum(rate({DURATION_BUCKET}{{le=\"+Inf\"}}[{range}]))");
            format!(
                "({all} - sum(rate({DURATION_BUCKET}{{le=\"{}\"}}[{range}]))) / {all}",
                le(t)
            )
        }
    }
}

/// The alert's PromQL: both windows' bad ratios above `factor × budget`, written as the
/// Workbook writes it (`expr: ( … > (14.4*0.001) and … > (14.4*0.001) )`).
pub fn expr(slo: &SloSpec, kind: SloKind, w: &BurnWindow) -> String {
    let budget = number(slo.budget(kind).unwrap_or(0.0));
    let bar = format!("({} * {budget})", number(w.factor));
    format!(
        "{} > {bar} and {} > {bar}",
        ratio(slo, kind, &promql_range(w.long.1)),
        ratio(slo, kind, &promql_range(w.short.1)),
    )
}

/// A duration as a PromQL range (`3600s` → `1h`; whole seconds, milliseconds otherwise).
fn promql_range(t: SimTime) -> String {
    let us = t.micros();
    if us.is_multiple_of(3_600_000_000) {
        format!("{}h", us / 3_600_000_000)
    } else if us.is_multiple_of(60_000_000) {
        format!("{}m", us / 60_000_000)
    } else if us.is_multiple_of(1_000_000) {
        format!("{}s", us / 1_000_000)
    } else {
        format!("{}ms", us.div_ceil(1000))
    }
}

/// The standard normal CDF Φ(z), from the complementary error function of Numerical Recipes
/// (`erfcc`, Chebyshev fit, fractional error below 1.2 × 10⁻⁷ everywhere).
pub fn normal_cdf(z: f64) -> f64 {
    if z == f64::INFINITY {
        return 1.0;
    }
    if z == f64::NEG_INFINITY {
        return 0.0;
    }
    let x = -z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let poly = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    let erfc = if x >= 0.0 { erfc } else { 2.0 - erfc };
    0.5 * erfc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_without_float_noise() {
        assert_eq!(number(1.0 - 0.999), "0.001");
        assert_eq!(number(14.4), "14.4");
        assert_eq!(number(6.0), "6");
        assert_eq!(promql_range(SimTime::from_secs(259_200)), "72h");
        assert_eq!(promql_range(SimTime::from_secs(300)), "5m");
        assert_eq!(promql_range(SimTime::from_secs(90)), "90s");
    }

    #[test]
    fn normal_cdf_matches_tables() {
        // Φ(0) = 0.5, Φ(1.959964) = 0.975, Φ(2.326348) = 0.99, Φ(−1) = 0.158655.
        for (z, p) in [
            (0.0, 0.5),
            (1.959_964, 0.975),
            (2.326_348, 0.99),
            (-1.0, 0.158_655_25),
        ] {
            assert!((normal_cdf(z) - p).abs() < 1e-6, "Φ({z})");
        }
    }

    #[test]
    fn the_generated_rules_compile() {
        let slo = SloSpec {
            availability: 0.999,
            latency: Some(LatencySlo {
                threshold_s: 0.25,
                objective: 0.99,
            }),
            window: SimTime::from_secs(30 * 86_400),
        };
        let w = BurnWindow {
            factor: 14.4,
            long: ("1h".into(), SimTime::from_secs(3600)),
            short: ("5m".into(), SimTime::from_secs(300)),
            action: AlertAction::Page,
        };
        let e = expr(&slo, SloKind::Availability, &w);
        assert_eq!(
            e,
            "sum(rate(http_requests_total{code=~\"5..\"}[1h])) / sum(rate(http_requests_total[1h])) > (14.4 * 0.001) and sum(rate(http_requests_total{code=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m])) > (14.4 * 0.001)"
        );
        let c = crate::detect::alerts::promql::compile(&e).expect("compiles");
        assert_eq!(c.reach(), SimTime::from_secs(3600));
        let l = expr(&slo, SloKind::Latency, &w);
        let c = crate::detect::alerts::promql::compile(&l).expect("compiles");
        assert!(c.reads(DURATION_BUCKET));
        // 0.5 % of 100 req/s for an hour is 1800 failed requests; the 30-day budget of a
        // 99.9 % SLO at 100 req/s is 0.001 × 100 × 2 592 000 = 259 200: 0.694 %.
        let b = slo.budget_consumed(1800, 100.0).unwrap();
        assert!((b - 1800.0 / 259_200.0).abs() < 1e-12);
    }
}
