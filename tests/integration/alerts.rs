//! Issue 14 points 1–2: Prometheus alert rules, in PromQL, evaluated on the run's own series
//! (scraped every 15 s, evaluated every 1 m), against hand-computed firing times.

use crate::common::{held_canary as service, output, run, run_both, scenario, secs, shortened};
use rehearsal::outcome::Detector;
use std::ffi::OsStr;

/// The service's 5xx ratio over 5 m.
const SERVICE_RATIO: &str = "sum(rate(http_requests_total{code=\\\"500\\\"}[5m])) / sum(rate(http_requests_total[5m])) > 0.01";
/// The same ratio per version.
const VERSION_RATIO: &str = "sum by (version) (rate(http_requests_total{code=\\\"500\\\"}[5m])) / sum by (version) (rate(http_requests_total[5m])) > 0.01";

/// Every service request fails with probability 10 % from 645 s on.
const STEP: &str =
    "[[faults]]\nkind = \"error_rate\"\ntarget = \"all\"\nrate = 0.1\nstart = \"645s\"\n";

fn alert(name: &str, expr: &str, hold: &str, action: &str) -> String {
    format!(
        "[[alerts]]\nname = \"{name}\"\nexpr = \"{expr}\"\nfor = \"{hold}\"\naction = \"{action}\"\n"
    )
}

#[test]
fn issue14_ratio_alert_fires_after_the_window_sees_the_step_plus_for() {
    // Scrapes every 15 s, evaluations every 60 s; errors start at 645 s. At an evaluation t
    // the [5m] window (t − 300 s, t] holds the 20 samples t − 285 s … t.
    // The request counter (100/s) is far from 0 at t − 285 s: Prometheus extrapolates it
    // the 15 s to the window's start (15 s < 1.1 × 15 s), so rate = Δ × (285 + 15)/285/300
    // = 100/s. The error counter is still 0 at the window's first sample: extrapolating
    // before it would make it negative, so its zero point (0 s before the first sample)
    // bounds the extrapolation and rate = Δ_errors/300.
    // t = 660 s: Δ_errors ≈ 15 s × 10/s = 150, ratio 0.5/100 = 0.5 % (not > 1 %; naive
    //   extrapolation of both alike would give Δ_errors/Δ_requests = 0.53 %, also below).
    // t = 720 s: Δ_errors ≈ 75 s × 10/s = 750, ratio 2.5/100 = 2.5 %: pending.
    // for = 2m: firing at the first evaluation ≥ 720 + 120 = 840 s; with for = 0s at 720 s.
    // (Poisson noise: the ratios are 0.5 ± 0.04 % and 2.5 ± 0.09 %.)
    for (hold, fires) in [("2m", 840.0), ("0s", 720.0)] {
        let body = format!(
            "{STEP}{}",
            alert("HighErrorRatio", SERVICE_RATIO, hold, "rollback")
        );
        // 30 m: a 20 m horizon leaves windows mode's active-users bound above 1 % (refused).
        for r in run_both(&service("30m", 3, &body))
            .iter()
            .flat_map(|(_, x)| &x.runs)
        {
            assert_eq!(secs(r.detected), Some(fires), "for = {hold}");
            assert_eq!(r.detected_by, Some(Detector::Alert));
            assert_eq!(r.detected_by_text(), "alert:HighErrorRatio");
            assert!(r.rolled_back);
            assert!(secs(r.onset).is_some_and(|o| (645.0..646.0).contains(&o)));
        }
    }
}

#[test]
fn issue14_service_wide_alert_misses_a_canary_regression_a_per_version_alert_catches() {
    // The canary takes 10 % (10 req/s) and fails 3 % of it: 0.3 errors/s out of 100 req/s,
    // a service-wide ratio of 0.3 % (± 0.03 % over 5 m), never above 1 % in an hour.
    let fault = "[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 0.03\n";
    let blind = format!(
        "{fault}{}",
        alert("ServiceErrors", SERVICE_RATIO, "2m", "rollback")
    );
    for r in run_both(&service("1h", 3, &blind))
        .iter()
        .flat_map(|(_, x)| &x.runs)
    {
        assert_eq!(r.detected, None);
        assert!(!r.rolled_back);
    }
    // Per version the canary's ratio is 3 % from the first evaluation: at 60 s its counters
    // started at 0 at t = 0 (samples 0 … 60 s, zero point at the first), so errors and
    // requests extrapolate alike and the ratio is 18/600 = 3 % (6 or fewer errors out of
    // 600 has probability < 0.1 %). Pending at 60 s, firing at 60 + 120 = 180 s.
    let both = format!(
        "{blind}{}",
        alert("CanaryErrors", VERSION_RATIO, "2m", "rollback")
    );
    for r in run_both(&service("1h", 3, &both))
        .iter()
        .flat_map(|(_, x)| &x.runs)
    {
        assert_eq!(secs(r.detected), Some(180.0));
        assert_eq!(r.detected_by_text(), "alert:CanaryErrors");
    }
}

#[test]
fn issue14_a_page_starts_the_human_delay_when_the_alert_fires() {
    // The step test's alert, paging a human who takes exactly 5 m (sigma 0): 840 + 300 s.
    // With `trigger = "onset"` the delay starts at the first failed request instead.
    let manual = |trigger: &str| format!("[manual]\nmedian = \"5m\"\nsigma = 0.0\n{trigger}");
    let page = alert("HighErrorRatio", SERVICE_RATIO, "2m", "page");
    for r in run_both(&service("30m", 2, &format!("{STEP}{page}{}", manual(""))))
        .iter()
        .flat_map(|(_, x)| &x.runs)
    {
        assert_eq!(secs(r.detected), Some(1140.0));
        assert_eq!(r.detected_by, Some(Detector::Manual));
    }
    let onset = format!("{STEP}{page}{}", manual("trigger = \"onset\"\n"));
    for r in run_both(&service("30m", 2, &onset))
        .iter()
        .flat_map(|(_, x)| &x.runs)
    {
        let o = secs(r.onset).unwrap();
        assert_eq!(secs(r.detected), Some(o + 300.0));
    }
}

#[test]
fn issue14_latency_alerts_read_the_histogram() {
    // A 2 s delay on every canary request from 300 s: the canary's p99 from its buckets lies
    // in (1 s, 2.5 s] once the window holds enough slow requests, above 0.5 s; the stable's
    // (default latency: median 50 ms, p99 250 ms) stays below 0.5 s.
    let fault =
        "[[faults]]\nkind = \"latency\"\ntarget = \"new\"\ndelay = \"2s\"\nstart = \"300s\"\n";
    let expr = "histogram_quantile(0.99, sum by (version, le) (rate(http_request_duration_seconds_bucket[5m]))) > 0.5";
    let body = format!("{fault}{}", alert("SlowCanary", expr, "0s", "rollback"));
    // 30 m: a 20 m horizon leaves windows mode's active-users bound above 1 % (refused).
    for r in run_both(&service("30m", 2, &body))
        .iter()
        .flat_map(|(_, x)| &x.runs)
    {
        // The scrape at 300 s holds no slow request yet: the canary's p99 interpolates in
        // the 0.1–0.25 s or 0.25–0.5 s bucket, ≤ 0.5 s. At 360 s about 600 of the ≈ 3000 canary
        // requests in the window took over 2 s, so rank 0.99 × n falls in the (1, 2.5] bucket:
        // p99 > 1 s, and with for = 0s the alert fires at that first evaluation.
        assert_eq!(secs(r.detected), Some(360.0));
        assert_eq!(r.detected_by_text(), "alert:SlowCanary");
    }
}

#[test]
fn issue14_a_prometheus_rule_file_is_read_with_its_action_label() {
    let dir = tempfile::tempdir().unwrap();
    let rules = r#"groups:
  - name: service
    rules:
      - alert: HighErrorRatio
        expr: sum(rate(http_requests_total{code="500"}[5m])) / sum(rate(http_requests_total[5m])) > 0.01
        for: 2m
        labels:
          severity: page
          rehearsal_action: rollback
        annotations:
          summary: too many 5xx
"#;
    std::fs::write(dir.path().join("rules.yaml"), rules).unwrap();
    // A top-level key, so before the first table.
    let text =
        service("20m", 2, STEP).replacen("[traffic]", "alerts = \"rules.yaml\"\n[traffic]", 1);
    let file = dir.path().join("s.toml");
    std::fs::write(&file, &text).unwrap();
    let s = rehearsal::scenario::load(&file).unwrap();
    let result = rehearsal::replications::run_scenario(&s).unwrap();
    for r in &result.runs {
        assert_eq!(secs(r.detected), Some(840.0));
        assert_eq!(r.detected_by_text(), "alert:HighErrorRatio");
    }
    // An unknown field of the rule file is an error naming the rule file and the field.
    std::fs::write(
        dir.path().join("rules.yaml"),
        rules.replace("for: 2m", "fore: 2m"),
    )
    .unwrap();
    let e = rehearsal::scenario::load(&file).unwrap_err();
    assert!(e.file.ends_with("rules.yaml"), "{e}");
    assert!(e.field.starts_with("groups[0].rules[0]"), "{e}");
    assert!(e.message.contains("unknown field `fore`"), "{e}");
    assert!(e.message.starts_with("line 6 column 9"), "{e}");
    assert!(!e.message.contains('\n'), "{e}");
    // A recording rule is refused.
    let recording = rules.replace("alert: HighErrorRatio", "record: job:errors:ratio");
    std::fs::write(dir.path().join("rules.yaml"), recording).unwrap();
    let e = rehearsal::scenario::load(&file).unwrap_err();
    assert_eq!(e.field, "groups[0].rules[0].record", "{e}");
}

#[test]
fn issue14_an_unsupported_function_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    let body = alert(
        "Irate",
        "irate(http_requests_total[1m]) > 5",
        "0s",
        "rollback",
    );
    std::fs::write(&file, service("10m", 1, &body)).unwrap();
    let out = output(&[OsStr::new("validate"), file.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("alerts[0].expr"), "{err}");
    assert!(
        err.contains("the function \"irate\" is not supported"),
        "{err}"
    );
}

#[test]
fn issue14_bad_alert_fields_are_errors() {
    let parse = |body: &str| {
        rehearsal::scenario::parse(&service("10m", 1, body), std::path::Path::new("a.toml"))
            .unwrap_err()
    };
    let e = parse(&alert("A", "up > 0", "2m", "rollbak"));
    assert_eq!(e.field, "alerts[0].action");
    assert!(e.message.contains("did you mean \"rollback\""), "{e}");
    let e = parse(&alert("A", "up > 0", "2m", "page"));
    assert_eq!(e.field, "alerts");
    assert!(e.message.contains("[manual]"), "{e}");
    let e = parse(&format!(
        "{}typo = 1\n",
        alert("A", "up > 0", "2m", "rollback")
    ));
    assert_eq!(e.field, "alerts[0].typo", "{e}");
    let e = parse(
        "[monitoring]\nbuckets = [0.1, 0.05]\n[[alerts]]\nname = \"A\"\nexpr = \"up\"\naction = \"rollback\"\n",
    );
    assert_eq!(e.field, "monitoring.buckets[1]", "{e}");
    let e = parse("[manual]\nmedian = \"5m\"\ntrigger = \"page\"\n");
    assert_eq!(e.field, "manual.trigger", "{e}");
    // Parsed, so the scenario helper accepts a valid one.
    let _ = scenario(&service("10m", 1, &alert("A", "up > 0", "2m", "rollback")));
}

#[test]
fn issue14_bundled_blind_spot_drill() {
    // The bundled drill, 4 replications: the per-version rule rolls the canary back at 180 s
    // (as above: pending at 60 s, for 2m) in every run.
    let path = "scenarios/alert-canary-blind-spot.toml";
    let text = shortened(path, &[("replications = 20", "replications = 4")]);
    for r in run_both(&text).iter().flat_map(|(_, x)| &x.runs) {
        assert_eq!(secs(r.detected), Some(180.0));
        assert_eq!(r.detected_by_text(), "alert:CanaryErrorRatio");
    }
    // Without it, the service-wide rule (0.4 % of the service) pages nobody while the canary
    // holds at 10 %; it fires only after the promotion at 1800 s, and the human's delay
    // starts then.
    let per_version = text.find("# The same ratio per version").unwrap();
    let strategies = text.find("[[strategies]]").unwrap();
    let blind = format!("{}{}", &text[..per_version], &text[strategies..]);
    // (The human's 10 m median delay, σ 0.8, may run past the horizon: then no detection.)
    let runs = run(&blind).runs;
    for r in &runs {
        assert_eq!(secs(r.rollout), Some(1800.0));
        if let Some(d) = secs(r.detected) {
            assert!(d > 1800.0 + 120.0, "{d}");
            assert_eq!(r.detected_by, Some(Detector::Manual));
        }
    }
    assert!(runs.iter().any(|r| r.detected.is_some()));
}

#[test]
fn issue14_rollout_weight_is_scraped_as_the_routed_percent() {
    // The canary takes 10 % at its start (t = 0, after the t = 0 scrape, which reads 0 %).
    // The first evaluation, 60 s, reads the 60 s scrape: 10 %, so `>= 10` fires there, and
    // `> 10` never does; the stable's weight is the rest, 90 %.
    let cases = [
        ("rollout_weight{version=\\\"new\\\"} >= 10", Some(60.0)),
        ("rollout_weight{version=\\\"new\\\"} > 10", None),
        ("rollout_weight{version=\\\"old\\\"} == 90", Some(60.0)),
    ];
    for (expr, fires) in cases {
        let body = alert("Weight", expr, "0s", "rollback");
        for r in &run(&service("5m", 1, &body)).runs {
            assert_eq!(secs(r.detected), fires, "{expr}");
        }
    }
}

#[test]
fn issue14_alerts_change_no_draw_and_no_byte_across_threads() {
    // Counting the series draws no random number: a rule that never fires leaves every
    // outcome as it was without rules.
    let fault = "[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 0.03\n";
    let quiet = alert("Never", "rollout_weight > 1000", "0s", "rollback");
    let plain = run(&service("15m", 3, fault)).runs;
    let watched = run(&service("15m", 3, &format!("{fault}{quiet}"))).runs;
    assert_eq!(plain, watched);
    // Same bytes whatever the thread count.
    let path = "scenarios/alert-canary-blind-spot.toml";
    let s = scenario(&shortened(
        path,
        &[("replications = 20", "replications = 4")],
    ));
    let csv = |threads: usize| crate::common::runs_csv_on(&s, threads);
    assert_eq!(csv(1), csv(3));
}
