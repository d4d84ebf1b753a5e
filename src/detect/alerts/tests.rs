//! The evaluator against values worked out by hand from Prometheus' algorithms.

use super::eval::{Value, bucket_quantile, eval, extrapolated_rate};
use super::promql::compile;
use super::series::Semantics::{V2, V3};
use super::series::{Labels, Series, SeriesStore};
use super::{AlertState, RuleState};
use crate::engine::SimTime;

fn s(x: u64) -> SimTime {
    SimTime::from_secs(x)
}

fn pts(v: &[(u64, f64)]) -> Vec<(SimTime, f64)> {
    v.iter().map(|&(t, x)| (s(t), x)).collect()
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn rate_extrapolates_to_the_range_ends_but_not_below_zero() {
    // Samples every 15 s in (0 s, 60 s]: 10, 25, 40, 55. Increase 45 over the 45 s sampled.
    // To the start: 15 s (< 1.1 × 15 s, so all the way); but the counter would reach 0
    // 45 × 10/45 = 10 s before the first sample, so 10 s. To the end: 0 s.
    // increase = 45 × (45 + 10 + 0)/45 = 55; rate = 55/60.
    let v = pts(&[(15, 10.0), (30, 25.0), (45, 40.0), (60, 55.0)]);
    close(
        extrapolated_rate(&v, s(60), s(60), false, V3).unwrap(),
        55.0,
    );
    close(
        extrapolated_rate(&v, s(60), s(60), true, V3).unwrap(),
        55.0 / 60.0,
    );
    // Starting at 100, the zero point is 100 s away: extrapolate the full 15 s: 45 × 60/45.
    let v = pts(&[(15, 100.0), (30, 115.0), (45, 130.0), (60, 145.0)]);
    close(
        extrapolated_rate(&v, s(60), s(60), false, V3).unwrap(),
        60.0,
    );
    // A series starting late: first sample 40 s after the range start, ≥ 1.1 × 10 s, so
    // only half a spacing (5 s) is added: 20 × (20 + 5)/20 = 25.
    let v = pts(&[(40, 100.0), (50, 110.0), (60, 120.0)]);
    close(
        extrapolated_rate(&v, s(60), s(60), false, V3).unwrap(),
        25.0,
    );
    // A series that stopped: the last sample 30 s before the end adds 7.5 s; it started
    // at 0, so nothing before it: 15 × (15 + 0 + 7.5)/15 = 22.5.
    let v = pts(&[(15, 0.0), (30, 15.0)]);
    close(
        extrapolated_rate(&v, s(60), s(60), false, V3).unwrap(),
        22.5,
    );
}

#[test]
fn prometheus_2_limits_rate_to_the_zero_point_before_the_threshold() {
    // Samples every 10 s from 40 s: 10, 20, 30; increase 20 over the 20 s sampled. The range
    // start is 40 s away (≥ the 11 s threshold); the zero point 20 × 10/20 = 10 s away.
    // Prometheus 3: the threshold first, half a spacing (5 s), then min(5, 10) = 5 s:
    // 20 × (20 + 5)/20 = 25. Prometheus 2: min(40, 10) = 10 s first, under the threshold so
    // all of it: 20 × (20 + 10)/20 = 30.
    let v = pts(&[(40, 10.0), (50, 20.0), (60, 30.0)]);
    close(
        extrapolated_rate(&v, s(60), s(60), false, V3).unwrap(),
        25.0,
    );
    close(
        extrapolated_rate(&v, s(60), s(60), false, V2).unwrap(),
        30.0,
    );
}

#[test]
fn prometheus_2_windows_include_their_left_edge() {
    // Samples every 15 s at 0..=60 s. A 60 s range at 60 s: (0, 60] holds 15, 30, 45, 60 under
    // Prometheus 3, [0, 60] also 0 under Prometheus 2. At 360 s the newest sample (60 s) is
    // exactly 5 m old: out of the look-back under 3, in under 2.
    let mut series = Series::new(Labels::new([("__name__", "c")]));
    for t in (0..=60).step_by(15) {
        series.push(s(t), t as f64);
    }
    let v3 = SeriesStore::of(vec![series.clone()], s(600));
    let v2 = SeriesStore::of(vec![series], s(600)).with_semantics(V2);
    let ms = compile("c").unwrap();
    let super::promql::Expr::Vector(ms) = ms else {
        panic!("a selector compiles to a vector")
    };
    assert_eq!(v3.range(&ms, s(60), s(60))[0].1.len(), 4);
    assert_eq!(v2.range(&ms, s(60), s(60))[0].1.len(), 5);
    assert!(v3.instant(&ms, s(360)).is_empty());
    assert_eq!(
        v2.instant(&ms, s(360)),
        vec![(Labels::new([("__name__", "c")]), 60.0)]
    );
}

#[test]
fn rate_adds_counter_resets_back() {
    // 10, 20, 5, 15: 15 − 10 + 20 (the reset after 20) = 25. Zero point 45 × 10/25 = 18 s
    // before the first sample, more than the 15 s to the start: 25 × 60/45.
    let v = pts(&[(15, 10.0), (30, 20.0), (45, 5.0), (60, 15.0)]);
    close(
        extrapolated_rate(&v, s(60), s(60), false, V3).unwrap(),
        25.0 * 60.0 / 45.0,
    );
    assert_eq!(
        extrapolated_rate(&pts(&[(60, 1.0)]), s(60), s(60), true, V3),
        None
    );
}

#[test]
fn histogram_quantile_interpolates_linearly_inside_the_bucket() {
    let b = vec![(0.1, 10.0), (0.5, 30.0), (1.0, 40.0), (f64::INFINITY, 40.0)];
    // Median: rank 20 falls in (0.1, 0.5] holding 20, 10 of them below: 0.1 + 0.4 × 10/20.
    close(bucket_quantile(0.5, b.clone()), 0.3);
    // p99: rank 39.6 in (0.5, 1] holding 10, 30 below: 0.5 + 0.5 × 9.6/10.
    close(bucket_quantile(0.99, b.clone()), 0.98);
    // The first bucket starts at 0: 0.1 × 2/10.
    close(bucket_quantile(0.05, b), 0.02);
    // A rank in +Inf gives the highest finite bound; no +Inf bucket gives NaN.
    close(
        bucket_quantile(0.9, vec![(0.1, 10.0), (f64::INFINITY, 20.0)]),
        0.1,
    );
    assert!(bucket_quantile(0.5, vec![(0.1, 10.0), (1.0, 20.0)]).is_nan());
    assert!(bucket_quantile(0.5, vec![(0.1, 0.0), (f64::INFINITY, 0.0)]).is_nan());
}

/// Counters of two versions over 60 s, every 15 s: v1 serves 100/s with 1 % errors,
/// v2 serves 10/s with 10 % errors (counts start at 0 at t = 0).
fn two_versions() -> SeriesStore {
    let mut series = Vec::new();
    for (version, rps, err) in [("v1", 100.0, 0.01), ("v2", 10.0, 0.1)] {
        for (code, share) in [("200", 1.0 - err), ("500", err)] {
            let l = Labels::new([
                ("__name__", "http_requests_total"),
                ("version", version),
                ("code", code),
            ]);
            let mut x = Series::new(l);
            for t in (0..=60).step_by(15) {
                x.push(s(t), rps * share * t as f64);
            }
            series.push(x);
        }
    }
    SeriesStore::of(series, s(600))
}

fn vector(text: &str, store: &SeriesStore, at: u64) -> Vec<(Labels, f64)> {
    match eval(&compile(text).unwrap(), store, s(at)).unwrap() {
        Value::Vector(v) => v,
        Value::Scalar(x) => panic!("scalar {x}"),
    }
}

#[test]
fn a_service_wide_ratio_dilutes_what_a_per_version_ratio_shows() {
    let store = two_versions();
    // Each series' rate extrapolates by the same factor (samples at 15..60, zero point at
    // 0 s, 15 s before the first): the ratio is that of the counts: (60 + 60)/(6000 + 600).
    let all =
        "sum(rate(http_requests_total{code=\"500\"}[1m])) / sum(rate(http_requests_total[1m]))";
    let v = vector(all, &store, 60);
    assert_eq!(v.len(), 1);
    close(v[0].1, 120.0 / 6600.0);
    assert!(vector(&format!("{all} > 0.05"), &store, 60).is_empty());
    // Per version, one-to-one on `version`: 1 % and 10 %.
    let per = "sum by (version) (rate(http_requests_total{code=\"500\"}[1m])) / sum by (version) (rate(http_requests_total[1m]))";
    let v = vector(per, &store, 60);
    assert_eq!(v.len(), 2);
    close(v[0].1, 0.01);
    close(v[1].1, 0.1);
    let fired = vector(&format!("{per} > 0.05"), &store, 60);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].0.get("version"), "v2");
    // Unaggregated rates matched one-to-one ignoring `code`: 500s over 200s per version;
    // the result keeps the left labels but `code` and the metric name.
    let v = vector(
        "rate(http_requests_total{code=\"500\"}[1m]) / ignoring(code) rate(http_requests_total{code=\"200\"}[1m])",
        &store,
        60,
    );
    close(v[0].1, 0.01 / 0.99);
    assert_eq!(v[0].0, Labels::new([("version", "v1")]));
}

#[test]
fn set_operators_and_aggregations_follow_label_sets() {
    let store = two_versions();
    let by_version = "sum by (version) (http_requests_total)";
    let v = vector(by_version, &store, 60);
    close(v[0].1, 6000.0);
    close(v[1].1, 600.0);
    let big = format!("{by_version} > 1000");
    assert_eq!(
        vector(&format!("{by_version} and {big}"), &store, 60).len(),
        1
    );
    assert_eq!(
        vector(&format!("{by_version} unless {big}"), &store, 60)[0]
            .0
            .get("version"),
        "v2"
    );
    assert_eq!(
        vector(&format!("{big} or {by_version}"), &store, 60).len(),
        2
    );
    close(vector("max(http_requests_total)", &store, 60)[0].1, 5940.0);
    close(
        vector("min without (code) (http_requests_total)", &store, 60)[1].1,
        60.0,
    );
    close(vector("count(http_requests_total)", &store, 60)[0].1, 4.0);
    // Regex matchers are anchored, as in Prometheus: "5.." matches 500, "v" no version.
    close(
        vector("sum(http_requests_total{code=~\"5..\"})", &store, 60)[0].1,
        120.0,
    );
    assert!(vector("http_requests_total{version=~\"v\"}", &store, 60).is_empty());
    assert_eq!(
        vector("http_requests_total{version!~\"v1\"}", &store, 60).len(),
        2
    );
    close(
        vector("avg(http_requests_total{version=\"v2\"})", &store, 60)[0].1,
        300.0,
    );
    // Scalar on the left of a comparison keeps the vector's value; bool gives 0/1.
    close(
        vector("1000 < sum(http_requests_total)", &store, 60)[0].1,
        6600.0,
    );
    close(
        vector("sum(http_requests_total) < bool 1000", &store, 60)[0].1,
        0.0,
    );
    close(
        vector("-sum(http_requests_total) * 2 + 1", &store, 60)[0].1,
        -13199.0,
    );
}

#[test]
fn alerts_pend_for_their_hold_then_fire_and_keep_firing() {
    let (hold, keep) = (s(120), s(120));
    let a = Labels::new([("version", "v2")]);
    let mut st = RuleState::default();
    let present = std::slice::from_ref(&a);
    // Pending at 60 s, still at 120 s (60 s < 2 m), firing at 180 s.
    assert!(!st.step(s(60), present, hold, keep));
    assert!(!st.step(s(120), present, hold, keep));
    assert!(st.step(s(180), present, hold, keep));
    assert!(st.firing());
    // Gone from 240 s: kept firing at 240 s and 300 s (< 2 m since 240 s), resolved at 360 s.
    assert!(!st.step(s(240), &[], hold, keep));
    assert!(st.firing());
    assert!(!st.step(s(300), &[], hold, keep));
    assert!(st.firing());
    st.step(s(360), &[], hold, keep);
    assert!(!st.firing());
    // A pending alert that disappears starts over.
    st.step(s(420), present, hold, keep);
    st.step(s(480), &[], hold, keep);
    st.step(s(540), present, hold, keep);
    assert_eq!(st.active[&a].state, AlertState::Pending);
    assert_eq!(st.active[&a].active_at, s(540));
    // With for = 0 it fires at the first evaluation that returns it.
    let mut st = RuleState::default();
    assert!(st.step(s(60), present, SimTime::ZERO, SimTime::ZERO));
}

#[test]
fn the_histogram_count_is_the_inf_bucket_and_continues_the_history() {
    use crate::detect::alerts::{Gauges, Steady};
    use crate::model::{Exposition, LatencyModel};
    // 10 minutes of history at 15 s scrapes: 40 samples before the run, the store's clock
    // 600 s ahead. The steady state serves 10 req/s, so every counter of the stable starts
    // the run at 10 × 600 = 6000 (the `_count` and `+Inf` bucket alike); 2 % of them failed.
    let latency =
        LatencyModel::from_median_p99(SimTime::from_millis(50), SimTime::from_millis(250));
    let steady = Steady {
        rate_per_s: 10.0,
        error_rate: 0.02,
        latency,
        instances: 10,
    };
    let mut store = SeriesStore::for_service(["old", "new"], &[0.1, 0.5], s(3600));
    store.prefill(s(600), s(15), &steady);
    assert_eq!(store.shift(), s(600));
    let mut x = Exposition::new(vec![100_000.0, 500_000.0], [&latency, &latency]);
    // Three requests of the stable in the first 15 s: one slow (0.3 s) failure.
    x.record(0, false, Some(20_000.0), 0.0);
    x.record(0, false, Some(40_000.0), 0.0);
    x.record(0, true, Some(300_000.0), 0.0);
    // At 15 s the candidate runs 2 instances, one of them serving; a stable one is out.
    let gauges = Gauges {
        candidate_weight_pct: 10.0,
        replicas: [10, 2],
        available: [9, 1],
    };
    store.scrape(s(15), &x, &gauges);
    let at = 15 + 600;
    let count = vector(
        "http_request_duration_seconds_count{version=\"old\"}",
        &store,
        at,
    );
    let inf = vector(
        "http_request_duration_seconds_bucket{version=\"old\", le=\"+Inf\"}",
        &store,
        at,
    );
    assert_eq!(count[0].1, 6003.0);
    assert_eq!(inf[0].1, 6003.0);
    let failed = vector(
        "http_requests_total{version=\"old\", code=\"500\"}",
        &store,
        at,
    );
    assert!((failed[0].1 - (0.02 * 6000.0 + 1.0)).abs() < 1e-9);
    // Under 0.1 s: Φ(z(100 ms)) of the history, z = ln(100/50)/σ with σ = ln 5 / 2.326348,
    // plus the two fast requests.
    let z = (2.0f64).ln() / ((5.0f64).ln() / 2.326_348);
    let under = vector(
        "http_request_duration_seconds_bucket{version=\"old\", le=\"0.1\"}",
        &store,
        at,
    );
    let expected = 6000.0 * crate::detect::burn_rate::normal_cdf(z) + 2.0;
    assert!(
        (under[0].1 - expected).abs() < 1e-3,
        "{} vs {expected}",
        under[0].1
    );
    // The candidate has no history.
    let new = vector(
        "http_request_duration_seconds_count{version=\"new\"}",
        &store,
        at,
    );
    assert_eq!(new[0].1, 0.0);
    // The replica gauges: all 10 stable instances serve through the history (at 600 s, the
    // last history sample), then the scrape's values; a kube-state-metrics style mismatch
    // rule reads them like any series.
    let available = |at| vector("kube_deployment_status_replicas_available", &store, at);
    let got = |v: Vec<(Labels, f64)>| v.iter().map(|(_, x)| *x).collect::<Vec<_>>();
    assert_eq!(got(available(585)), [10.0, 0.0]);
    assert_eq!(got(available(at)), [9.0, 1.0]);
    let mismatch = vector(
        "kube_deployment_spec_replicas - kube_deployment_status_replicas_available > 0",
        &store,
        at,
    );
    assert_eq!(got(mismatch), [1.0, 1.0]);
    let weight = vector("rollout_weight{version=\"new\"}", &store, at);
    assert_eq!(weight[0].1, 10.0);
}
