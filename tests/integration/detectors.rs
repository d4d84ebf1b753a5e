//! Issue 14 points 3–7: SLO burn-rate alerts, the error budget a drill burns, probes and
//! judges against a baseline, against hand-computed answers.

use crate::common::{run, scenario, secs};
use rehearsal::detect::alerts::AlertAction;
use rehearsal::outcome::Detector;
use rehearsal::scenario::parse;
use std::path::Path;

/// 100 req/s, no baseline errors, a canary held at 10 % for the whole run, no analysis.
fn service(horizon: &str, replications: u32, body: &str) -> String {
    format!(
        r#"
name = "detectors"
horizon = "{horizon}"
seed = 14
replications = {replications}
[traffic]
rate = 100.0
users = 10000
[versions.old]
error_rate = 0.0
[versions.new]
error_rate = 0.0
[[strategies]]
name = "canary"
kind = "canary"
prescaled = true
steps = [{{ weight = 10, pause = "2h" }}, {{ weight = 100 }}]
{body}
"#
    )
}

/// Every request fails with probability `rate` from t = 0.
fn outage(rate: f64) -> String {
    format!("[[faults]]\nkind = \"error_rate\"\ntarget = \"all\"\nrate = {rate}\nstart = \"0s\"\n")
}

/// A 99.9 % SLO and one burn-rate alert that rolls back, with one row.
fn burn(factor: f64, long: &str, short: &str) -> String {
    format!(
        "[slo]\navailability = 0.999\n[[alerts]]\nname = \"Burn\"\nkind = \"burn_rate\"\nwindows = [{{ factor = {factor}, long = \"{long}\", short = \"{short}\", action = \"rollback\" }}]\n"
    )
}

#[test]
fn issue14_burn_rate_alerts_fire_at_the_workbook_detection_time() {
    // Prometheus holds the long window's history at the steady state (0 errors here), so at
    // an evaluation t after a constant error ratio e started at 0, the long window W holds
    // e·t/W bad requests: the error counter is 0 at the window's first sample, so rate()
    // extrapolates it only to the end (0 s: scrapes and evaluations are aligned) and
    // rate(errors) = e·λ·t/W; the request counter extrapolates the 15 s to the window start,
    // rate(requests) = λ. The short window w holds min(e·t/w, e) > e·t/W. So the alert
    // fires at the first evaluation (every 60 s) with t > f × (1 − 0.999) × W / e, the
    // Workbook's "time to detect" (SRE Workbook ch. 5, "Alerting on SLOs"):
    //   e = 1:   14.4 × 0.001 × 3600 s  =  51.84 s →  60 s
    //            6    × 0.001 × 21600 s = 129.6 s  → 180 s
    //            1    × 0.001 × 259200 s = 259.2 s → 300 s
    //   e = 0.5: twice as long: 103.68 s → 120 s; 259.2 s → 300 s; 518.4 s → 540 s.
    // Noise: the 1 h ratio at 51.84 s is 0.0144 with a standard deviation of
    // √(0.0144/360 000) = 2·10⁻⁴ (0.73 s of the crossing), and the other crossings' are at
    // most 3.2 s (e = 0.5, 1×: √(518.4 × 50)/50 ≈ 3.2 s), every one ≥ 5σ from the nearest
    // evaluation.
    let table = [
        (
            1.0,
            [
                (14.4, "1h", "5m", 60.0),
                (6.0, "6h", "30m", 180.0),
                (1.0, "3d", "6h", 300.0),
            ],
        ),
        (
            0.5,
            [
                (14.4, "1h", "5m", 120.0),
                (6.0, "6h", "30m", 300.0),
                (1.0, "3d", "6h", 540.0),
            ],
        ),
    ];
    for (e, rows) in table {
        for (factor, long, short, fires) in rows {
            let body = format!("{}{}", outage(e), burn(factor, long, short));
            let result = run(&service("10m", 2, &body));
            for r in &result.runs {
                assert_eq!(secs(r.detected), Some(fires), "e = {e}, {factor}× {long}");
                assert_eq!(r.detected_by, Some(Detector::Alert));
                let name = format!("alert:Burn:{factor}x:{long}/{short}");
                assert_eq!(r.detected_by_text(), name);
            }
        }
    }
}

#[test]
fn issue14_the_default_burn_rate_table_is_the_workbooks() {
    let s = scenario(&service(
        "10m",
        1,
        "[slo]\navailability = 0.999\n[manual]\nmedian = \"5m\"\n[[alerts]]\nname = \"ErrorBudgetBurn\"\nkind = \"burn_rate\"\n",
    ));
    let alerts = s.alerts.expect("alerts");
    let rules: Vec<(&str, AlertAction)> = alerts
        .rules
        .iter()
        .map(|r| (r.name.as_str(), r.action))
        .collect();
    assert_eq!(
        rules,
        [
            ("ErrorBudgetBurn:14.4x:1h/5m", AlertAction::Page),
            ("ErrorBudgetBurn:6x:6h/30m", AlertAction::Page),
            ("ErrorBudgetBurn:1x:3d/6h", AlertAction::Ticket),
        ]
    );
    assert_eq!(
        alerts.rules[0].text,
        "sum(rate(http_requests_total{code=~\"5..\"}[1h])) / sum(rate(http_requests_total[1h])) > (14.4 * 0.001) and sum(rate(http_requests_total{code=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m])) > (14.4 * 0.001)"
    );
    // History defaults to the longest window read: 3 days.
    assert_eq!(alerts.history.as_secs_f64(), 259_200.0);
}

#[test]
fn issue14_budget_consumed_is_failed_requests_over_the_windows_budget() {
    // A 99.9 % SLO over 30 days at 100 req/s allows 0.001 × 100 × 2 592 000 = 259 200 failed
    // requests. Every request fails for 60 s (≈ 6000 ± 77): about 2.31 % of the budget.
    let body = format!(
        "{}end = \"60s\"\n[slo]\navailability = 0.999\n",
        outage(1.0)
    );
    let result = run(&service("5m", 3, &body));
    for r in &result.runs {
        let b = r.budget_consumed.expect("an [slo] gives budget_consumed");
        assert!(
            (b - r.failed_requests as f64 / 259_200.0).abs() < 1e-12,
            "{b}"
        );
        assert!(
            (b - 6000.0 / 259_200.0).abs() < 5.0 * 77.0 / 259_200.0,
            "{b}"
        );
    }
    // Without [slo] the column is empty.
    let plain = run(&service("5m", 1, &outage(1.0)));
    assert_eq!(plain.runs[0].budget_consumed, None);
}

#[test]
fn issue14_bad_slo_and_burn_rate_fields_are_errors() {
    let err = |body: &str| {
        let text = service("10m", 1, body);
        let errors = parse(&text, Path::new("inline.toml")).expect_err("rejected");
        errors.to_string()
    };
    let e = err("[slo]\navailability = 99.9\n");
    assert!(
        e.contains("slo.availability") && e.contains("write 0.999"),
        "{e}"
    );
    let e = err("[[alerts]]\nname = \"B\"\nkind = \"burn_rate\"\naction = \"rollback\"\n");
    assert!(
        e.contains("alerts[0].kind") && e.contains("needs an [slo]"),
        "{e}"
    );
    let e = err(
        "[slo]\navailability = 0.999\n[[alerts]]\nname = \"B\"\nkind = \"burn_rate\"\naction = \"rollback\"\nwindows = [{ factor = 1000, long = \"1h\", short = \"5m\" }]\n",
    );
    assert!(
        e.contains("alerts[0].windows[0].factor") && e.contains("never exceed"),
        "{e}"
    );
    let e = err(
        "[slo]\navailability = 0.999\n[[alerts]]\nname = \"B\"\nkind = \"burn_rate\"\naction = \"rollback\"\nwindows = [{ factor = 2, long = \"5m\", short = \"1h\" }]\n",
    );
    assert!(e.contains("alerts[0].windows[0].short"), "{e}");
    let e = err(
        "[slo]\navailability = 0.999\nlatency = { threshold = \"300ms\", objective = 0.99 }\n[[alerts]]\nname = \"B\"\nkind = \"burn_rate\"\nslo = \"latency\"\naction = \"rollback\"\n",
    );
    assert!(
        e.contains("slo.latency.threshold") && e.contains("add 0.3"),
        "{e}"
    );
    let e = err("[[alerts]]\nname = \"B\"\naction = \"rollback\"\n");
    assert!(e.contains("alerts[0].expr") && e.contains("missing"), "{e}");
    let e = err(
        "[slo]\navailability = 0.999\n[[alerts]]\nname = \"B\"\nexpr = \"up\"\nwindows = []\naction = \"rollback\"\n",
    );
    assert!(
        e.contains("alerts[0].windows") && e.contains("burn_rate"),
        "{e}"
    );
}
