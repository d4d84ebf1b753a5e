//! Reported numbers against hand-computed answers and closed-form expectations.

use crate::common::{Preamble, analysis, mean_sd, run, run_both, secs};
use rehearsal::engine::SimTime;
use rehearsal::outcome::RunOutcome;

/// A scenario with no fault, 1000 req/s, 1000 users; the body appends faults, analysis,
/// strategies.
const BASE: Preamble = Preamble {
    name: "t",
    seed: 5,
    traffic: "rate = 1000.0\nusers = 1000\nwrite_fraction = 0.2",
    tables: "",
};

/// The Poisson-exposure scenarios: 200 req/s over 20 000 users (λ = 0.01 req/s per user).
const STICKY: Preamble = Preamble {
    name: "sticky",
    seed: 13,
    traffic: "rate = 200.0\nusers = 20000",
    tables: "",
};

#[test]
fn issue2_crashing_canary_is_detected_at_interval_times_threshold() {
    let analysis = analysis("30s", 5);
    let text = BASE.text(
        "20m",
        3,
        &format!(
            r#"{analysis}
[response]
verify = "30s"
[[faults]]
kind = "crash_loop"
target = "new"
[[strategies]]
name = "c"
kind = "canary"
prescaled = true
steps = [{{ weight = 10, pause = "10m" }}, {{ weight = 100 }}]
"#
        ),
    );
    for r in run_both(&text).into_iter().flat_map(|(_, x)| x.runs) {
        // Checks at 30, 60, 90, 120, 150 s all fail; the fifth reaches the threshold.
        assert_eq!(secs(r.detected), Some(150.0));
        assert_eq!(r.rollback, r.detected);
        let onset = r.onset.expect("the canary served requests from t = 0");
        assert!(onset < SimTime::from_secs(1));
        assert_eq!(r.ttd(), Some(SimTime::from_secs(150) - onset));
        // Traffic leaves v2 at 150 s (no rollback delay), then 30 s of verification.
        assert_eq!(secs(r.recovered), Some(180.0));
        assert!(r.rolled_back && !r.false_rollback);
        assert_eq!((r.checks, r.failed_checks), (5, 5));
        assert_eq!(r.rollout, None);
    }
}

#[test]
fn issue2_healthy_canary_completes_at_the_sum_of_pauses() {
    let analysis = analysis("30s", 5);
    let text = BASE.text(
        "10m",
        3,
        &format!(
            r#"{analysis}
[[strategies]]
name = "ladder"
kind = "canary"
prescaled = true
steps = [{{ weight = 10, pause = "1m" }}, {{ weight = 20, pause = "1m" }}, {{ weight = 30, pause = "1m" }}, {{ weight = 40, pause = "1m" }}, {{ weight = 50, pause = "1m" }}]
"#
        ),
    );
    for r in run_both(&text).into_iter().flat_map(|(_, x)| x.runs) {
        assert_eq!(secs(r.rollout), Some(300.0));
        assert!(!r.rolled_back && !r.false_rollback);
        assert_eq!(r.onset, None);
        // Checks at 30 … 300 s; the one at 300 s comes before the promotion at 300 s.
        assert_eq!((r.checks, r.failed_checks), (10, 0));
    }
}

#[test]
fn issue2_a_failed_check_holds_the_step_until_the_next_passing_check() {
    let analysis = analysis("30s", 5);
    // v2 fails everything from 50 to 100 s. Windows (30,60], (60,90], (90,120] fail; the pause
    // of the 10 % step ends at 60 s while held; the check at 150 s passes and advances to
    // 50 %, whose 1 m pause ends at 210 s: promotion at 210 s.
    let text = BASE.text(
        "10m",
        3,
        &format!(
            r#"{analysis}
[[faults]]
kind = "error_rate"
target = "new"
start = "50s"
end = "100s"
rate = 1.0
[[strategies]]
name = "c"
kind = "canary"
prescaled = true
steps = [{{ weight = 10, pause = "1m" }}, {{ weight = 50, pause = "1m" }}]
"#
        ),
    );
    for r in run_both(&text).into_iter().flat_map(|(_, x)| x.runs) {
        assert_eq!(r.failed_checks, 3);
        assert_eq!(secs(r.rollout), Some(210.0));
        assert!(!r.rolled_back);
        // Recovery is structural: the fault ended at 100 s.
        assert_eq!(secs(r.recovered), Some(100.0));
    }
}

#[test]
fn issue2_sticky_canary_affected_share_matches_poisson_exposure() {
    let analysis = analysis("30s", 5);
    // 200 req/s over 20 000 users: λ = 0.01 req/s per user. A sticky 10 % cohort is exposed
    // for t = 150 s (rollback at the 5th failed check), so the affected share is
    // 0.1 × (1 − e^(−λt)) = 0.1 × (1 − e^(−1.5)) = 0.077687. Over 1 h every user is active
    // (1 − e^(−36) ≈ 1).
    let text = STICKY.text(
        "1h",
        30,
        &format!(
            r#"{analysis}
[[faults]]
kind = "error_rate"
target = "new"
rate = 1.0
[[strategies]]
name = "sticky-10"
kind = "canary"
prescaled = true
sticky = true
steps = [{{ weight = 10, pause = "30m" }}, {{ weight = 100 }}]
"#
        ),
    );
    for (mode, result) in run_both(&text) {
        let runs = result.runs;
        let shares: Vec<f64> = runs.iter().map(RunOutcome::affected_share).collect();
        let (mean, sd) = mean_sd(&shares);
        let expected = 0.1 * (1.0 - (-1.5f64).exp());
        // Tolerance: 4 standard errors of the mean over 30 replications.
        let tol = 4.0 * sd / (shares.len() as f64).sqrt();
        assert!(
            (mean - expected).abs() < tol,
            "{mode:?}: mean {mean:.5} vs {expected:.5} ± {tol:.5}"
        );
        assert!(runs.iter().all(|r| r.active_users == 20000));
    }
}

#[test]
fn issue2_per_request_canary_affected_share_matches_poisson_thinning() {
    let analysis = analysis("30s", 5);
    // Per-request 5 % routing: each user's canary requests are a Poisson process of rate
    // 0.05 λ, so the affected share is 1 − e^(−0.05 λ t) = 1 − e^(−0.075) = 0.072257.
    let per_request = Preamble {
        name: "per-request",
        seed: 17,
        ..STICKY
    };
    let text = per_request.text(
        "30m",
        30,
        &format!(
            r#"{analysis}
[[faults]]
kind = "error_rate"
target = "new"
rate = 1.0
[[strategies]]
name = "c"
kind = "canary"
prescaled = true
steps = [{{ weight = 5, pause = "20m" }}, {{ weight = 100 }}]
"#
        ),
    );
    for (mode, result) in run_both(&text) {
        let runs = result.runs;
        let shares: Vec<f64> = runs
            .iter()
            .map(|r| r.affected_users as f64 / 20000.0)
            .collect();
        let (mean, sd) = mean_sd(&shares);
        let expected = 1.0 - (-0.075f64).exp();
        let tol = 4.0 * sd / (shares.len() as f64).sqrt();
        assert!(
            (mean - expected).abs() < tol,
            "{mode:?}: mean {mean:.5} vs {expected:.5} ± {tol:.5}"
        );
    }
}

#[test]
fn issue2_failed_requests_count_only_the_faults_share() {
    let analysis = analysis("30s", 5);
    // 10 % of 1000 req/s fail for 150 s: 15 000 expected (Poisson, sd ≈ 122), baseline
    // errors (1 %) are not the fault's and are counted separately.
    let text = BASE
        .text(
            "10m",
            10,
            &format!(
                r#"{analysis}
[[faults]]
kind = "error_rate"
target = "new"
rate = 1.0
[[strategies]]
name = "c"
kind = "canary"
prescaled = true
steps = [{{ weight = 10, pause = "5m" }}, {{ weight = 100 }}]
"#
            ),
        )
        .replace("[versions.old]", "[versions.old]\nerror_rate = 0.01")
        .replace("[versions.new]", "[versions.new]\nerror_rate = 0.01");
    for (mode, result) in run_both(&text) {
        let runs = result.runs;
        let failed: Vec<f64> = runs.iter().map(|r| r.failed_requests as f64).collect();
        let (mean, _) = mean_sd(&failed);
        // Fault-caused: 15 000 × (1 − 0.01) (a request failing anyway is baseline) = 14 850.
        let expected: f64 = 1000.0 * 0.1 * 150.0 * 0.99;
        let tol = 4.0 * expected.sqrt() / (runs.len() as f64).sqrt();
        assert!(
            (mean - expected).abs() < tol,
            "{mode:?}: {mean} vs {expected} ± {tol}"
        );
        for r in &runs {
            // Baseline: 1 % of all requests.
            let b = r.baseline_failed_requests as f64;
            let expect_b = r.requests as f64 * 0.01;
            assert!(
                (b - expect_b).abs() < 5.0 * expect_b.sqrt(),
                "{mode:?}: {b} vs {expect_b}"
            );
        }
    }
}

#[test]
fn issue2_strategies_see_the_same_traffic_per_replication() {
    let analysis = analysis("30s", 5);
    let text = BASE.text(
        "30m",
        5,
        &format!(
            r#"{analysis}
[[faults]]
kind = "error_rate"
target = "new"
rate = 0.05
[[strategies]]
name = "sticky"
kind = "canary"
prescaled = true
sticky = true
steps = [{{ weight = 10, pause = "10m" }}, {{ weight = 100 }}]
[[strategies]]
name = "ladder"
kind = "canary"
prescaled = true
steps = [{{ weight = 1, pause = "5m" }}, {{ weight = 50, pause = "5m" }}, {{ weight = 100 }}]
"#
        ),
    );
    let runs = run(&text).runs;
    let (a, b) = runs.split_at(5);
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.replication, y.replication);
        assert_eq!(x.requests, y.requests);
        assert_eq!(x.active_users, y.active_users);
    }
    // Different replications see different traffic.
    assert_ne!(a[0].requests, a[1].requests);
}

#[test]
fn issue2_adding_a_fault_does_not_shift_the_traffic() {
    let strategy = r#"
[[strategies]]
name = "c"
kind = "canary"
prescaled = true
steps = [{ weight = 10, pause = "5m" }, { weight = 100 }]
"#;
    let fault = r#"
[[faults]]
kind = "latency"
target = "new"
delay = "2s"
"#;
    let without = run(&BASE.text("20m", 3, strategy)).runs;
    let with = run(&BASE.text("20m", 3, &format!("{fault}{strategy}"))).runs;
    for (x, y) in without.iter().zip(&with) {
        assert_eq!((x.requests, x.active_users), (y.requests, y.active_users));
        assert_eq!(x.baseline_failed_requests, y.baseline_failed_requests);
    }
    assert!(with.iter().all(|r| r.affected_users > 0));
}

#[test]
fn issue2_dependency_outage_rolls_back_falsely_and_recovers_when_it_ends() {
    let analysis = analysis("30s", 5);
    let text = BASE.text(
        "1h",
        5,
        &format!(
            r#"{analysis}
[response]
verify = "1m"
[[faults]]
kind = "dependency_outage"
start = "5m"
end = "20m"
rate = 0.5
[[strategies]]
name = "c"
kind = "canary"
prescaled = true
steps = [{{ weight = 10, pause = "10m" }}, {{ weight = 100 }}]
"#
        ),
    );
    for r in run_both(&text).into_iter().flat_map(|(_, x)| x.runs) {
        assert!(
            r.rolled_back && r.false_rollback,
            "rolling back v2 cannot fix the database"
        );
        // Onset just after 5 m; the 5th failed check is the one at 450 s (windows from 300 s).
        assert_eq!(secs(r.detected), Some(450.0));
        assert_eq!(secs(r.recovered), Some(21.0 * 60.0));
        assert!(r.ttd().is_some());
    }
}

#[test]
fn issue2_detection_before_onset_is_a_false_alarm() {
    // Flagger semantics on a canary with no traffic: an empty window fails the check.
    let text = r#"
name = "idle"
horizon = "30m"
replications = 2
[traffic]
rate = 0.001
users = 10
[versions.old]
[versions.new]
[analysis]
interval = "30s"
threshold = 2
[[analysis.metrics]]
name = "error_rate"
max = 0.01
[[faults]]
kind = "error_rate"
target = "new"
start = "20m"
rate = 1.0
[[strategies]]
name = "c"
kind = "canary"
prescaled = true
steps = [{ weight = 10, pause = "10m" }, { weight = 100 }]
"#;
    for r in run(text).runs {
        assert_eq!(secs(r.detected), Some(60.0));
        assert!(r.false_rollback);
        assert_eq!(r.ttd(), None);
    }
}

#[test]
fn issue2_manual_detection_uses_one_delay_per_replication_for_every_strategy() {
    let text = BASE.text(
        "2h",
        6,
        r#"
[manual]
median = "10m"
sigma = 0.8
[[faults]]
kind = "error_rate"
target = "new"
rate = 0.5
[[strategies]]
name = "a"
kind = "canary"
prescaled = true
steps = [{ weight = 10, pause = "10m" }, { weight = 100 }]
[[strategies]]
name = "b"
kind = "canary"
prescaled = true
sticky = true
steps = [{ weight = 50, pause = "10m" }, { weight = 100 }]
"#,
    );
    let runs = run(&text).runs;
    let (a, b) = runs.split_at(6);
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.ttd(), y.ttd(), "same human, same delay from onset");
        assert_eq!(x.detected_by.map(|d| d.name()), Some("manual"));
    }
    assert_ne!(a[0].ttd(), a[1].ttd());
}

#[test]
fn issue2_manual_detection_with_no_spread_is_onset_plus_median() {
    let text = BASE.text(
        "1h",
        2,
        r#"
[manual]
median = "7m"
sigma = 0.0
[[faults]]
kind = "error_rate"
target = "new"
start = "3m"
rate = 1.0
[[strategies]]
name = "c"
kind = "canary"
prescaled = true
steps = [{ weight = 10, pause = "30m" }, { weight = 100 }]
"#,
    );
    for r in run(&text).runs {
        assert_eq!(r.ttd(), Some(SimTime::from_secs(420)));
        assert_eq!(
            r.recovered, r.detected,
            "traffic leaves v2 at the decision, verify 0"
        );
    }
}

#[test]
fn issue2_silent_corruption_is_seen_only_by_the_business_metric() {
    let strategies = |metric: &str| {
        format!(
            r#"
[[faults]]
kind = "data_corruption"
target = "new"
rate = 0.2
[[strategies]]
name = "c"
kind = "canary"
prescaled = true
steps = [{{ weight = 10, pause = "5m" }}, {{ weight = 100 }}]
[strategies.analysis]
interval = "30s"
threshold = 2
[[strategies.analysis.metrics]]
name = "{metric}"
max = 0.01
"#
        )
    };
    // In both modes.
    let both = |metric: &str| -> Vec<RunOutcome> {
        run_both(&BASE.text("30m", 3, &strategies(metric)))
            .into_iter()
            .flat_map(|(_, x)| x.runs)
            .collect()
    };
    let seen = both("bad_write_rate");
    let blind = both("error_rate");
    for (s, b) in seen.iter().zip(&blind) {
        assert_eq!(secs(s.detected), Some(60.0));
        assert!(b.detected.is_none() && secs(b.rollout) == Some(300.0));
        assert_eq!(
            s.failed_requests + b.failed_requests,
            0,
            "corruption returns 200 OK"
        );
        assert!(s.inconsistent_records > 0 && b.inconsistent_records > 10 * s.inconsistent_records);
    }
    // 10 % of 1000 req/s × 20 % writes × 20 % corrupted over 60 s = 240 records expected.
    let mean = seen
        .iter()
        .map(|r| r.inconsistent_records as f64)
        .sum::<f64>()
        / 6.0;
    assert!((mean - 240.0).abs() < 4.0 * (240f64 / 6.0).sqrt(), "{mean}");
}

#[test]
fn issue2_traffic_spike_sheds_the_excess_over_capacity() {
    // The stable's 10 instances × 100 req/s serve 900 req/s, the 10 % canary's one instance
    // 100 req/s: no shedding. A 2× spike for 60 s offers 1800 and 200 req/s: the stable
    // sheds 1 − 1000/1800 = 4/9, the canary 1 − 100/200 = 1/2, so the fault fails
    // (4/9 × 1800 + 1/2 × 200) × 60 = 54 000 requests.
    let text = BASE.text(
        "5m",
        4,
        r#"
[fleet]
instances = 10
capacity_rps = 100
[[faults]]
kind = "traffic_spike"
start = "1m"
end = "2m"
multiplier = 2.0
[[strategies]]
name = "c"
kind = "canary"
prescaled = true
steps = [{ weight = 10, pause = "10m" }]
"#,
    );
    for r in run_both(&text).into_iter().flat_map(|(_, x)| x.runs) {
        let f = r.failed_requests as f64;
        // Poisson arrivals and binomial shedding: sd ≈ √54 000 ≈ 232; 4 sd ≈ 930.
        assert!((f - 54_000.0).abs() < 1_000.0, "{f}");
        assert!(!r.rolled_back);
        assert_eq!(secs(r.recovered), Some(120.0));
    }
}

#[test]
fn issue2_memory_leak_ramps_linearly() {
    // After promotion at 0 s v2 takes everything. The leak ramps from 0 at 1 m to 10 % at
    // 3 m and stays: failed ≈ 1000 × (0.1 × 120 / 2 + 0.1 × 120) = 18 000 by 5 m.
    let text = BASE.text(
        "5m",
        4,
        r#"
[[faults]]
kind = "memory_leak"
target = "new"
start = "1m"
ramp = "2m"
rate = 0.1
[[strategies]]
name = "c"
kind = "canary"
prescaled = true
steps = [{ weight = 100 }]
"#,
    );
    // In windows mode pieces hold the level of their midpoint (steps of 0.0005 here): the
    // expected count is the same, the error probability being linear in time.
    for r in run_both(&text).into_iter().flat_map(|(_, x)| x.runs) {
        let f = r.failed_requests as f64;
        assert!((f - 18_000.0).abs() < 4.0 * 18_000f64.sqrt() + 200.0, "{f}");
        assert_eq!(secs(r.rollout), Some(0.0));
    }
}

#[test]
fn issue16_a_fault_scoped_to_a_quarter_of_the_users_hits_them_only() {
    // v2 takes everything from 0 s and fails every request of the users in the fault's scope
    // (`users = 0.25`: a hash of the user id below a quarter of its range). With 1000 users
    // at 1000 req/s for 60 s every user sends about 60 requests, so every user in scope is
    // affected: the affected share is the scope's share of the users, Binomial(1000, 0.25)/1000
    // (sd 0.0137), and the failed requests are that share of 60 000 (sd ≈ 14 × 60 + Poisson).
    let text = BASE.text(
        "1m",
        4,
        r#"
[[faults]]
kind = "error_rate"
target = "new"
rate = 1.0
users = 0.25
[[strategies]]
name = "c"
kind = "canary"
prescaled = true
steps = [{ weight = 100 }]
"#,
    );
    for (mode, result) in run_both(&text) {
        for r in result.runs {
            let share = r.affected_share();
            assert!((share - 0.25).abs() < 4.0 * 0.0137, "{mode:?}: {share}");
            let per_user = r.failed_requests as f64 / (share * 1000.0);
            // sd of the mean over about 250 users: √(60/250) ≈ 0.49.
            assert!((per_user - 60.0).abs() < 2.0, "{mode:?}: {per_user}");
        }
    }
}

#[test]
fn issue2_rollback_after_promotion_waits_for_a_cold_stable() {
    let text = BASE.text(
        "1h",
        2,
        r#"
[fleet]
startup = "45s"
[manual]
median = "10m"
sigma = 0.0
[response]
rollback_delay = "1m"
[[faults]]
kind = "error_rate"
target = "new"
start = "20m"
rate = 1.0
[[strategies]]
name = "c"
kind = "canary"
prescaled = true
steps = [{ weight = 50, pause = "5m" }, { weight = 100 }]
"#,
    );
    for r in run(&text).runs {
        assert_eq!(secs(r.rollout), Some(300.0));
        assert_eq!(secs(r.detected), Some(secs(r.onset).unwrap() + 600.0));
        // Decision + rollback delay + start-up of the old version.
        assert_eq!(
            secs(r.recovered),
            Some(secs(r.detected).unwrap() + 60.0 + 45.0)
        );
    }
}

#[test]
fn issue2_instance_seconds_integrate_canary_and_stable() {
    // 10 stable instances for 10 min; a 10 % canary runs 1 instance until promotion at
    // 5 min, then v2 runs 10 and v1 none: 10×300 + 1×300 + 10×300 = 6 300.
    let text = BASE.text(
        "10m",
        1,
        r#"
[[strategies]]
name = "c"
kind = "canary"
prescaled = true
steps = [{ weight = 10, pause = "5m" }, { weight = 100 }]
"#,
    );
    let r = &run(&text).runs[0];
    assert_eq!(r.instance_seconds, 6300.0);
}
