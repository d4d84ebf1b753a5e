//! Issue 3: blue-green, feature-flag, rolling and canary rollback mechanics against
//! hand-computed answers.

use crate::common::{Preamble, analysis, mean_sd, rehearsal, run, secs, shortened};
use rehearsal::outcome::RunOutcome;

/// 200 req/s over 20 000 users (λ = 0.01 req/s per user), 10 instances starting in 30 s.
const FLEET: Preamble = Preamble {
    name: "s",
    seed: 3,
    traffic: "rate = 200.0\nusers = 20000",
    tables: "[fleet]\ninstances = 10\nstartup = \"30s\"\n",
};

const CRASH: &str = r#"
[[faults]]
kind = "error_rate"
target = "new"
rate = 1.0
"#;

#[test]
fn issue3_blue_green_crash_at_the_switch_is_detected_one_interval_later() {
    // Green is ready at 30 s and takes all traffic at once; post-promotion analysis with
    // threshold 1 fails its first check at 60 s; blue is still up (scale-down at 60 s, the
    // rollback first), so traffic returns at 60 s: every user is exposed for t = 30 s and
    // the affected share is 1 − e^(−0.01·30) = 0.259182.
    let text = FLEET.text(
        "20m",
        20,
        &format!(
            r#"{CRASH}{}
[[strategies]]
name = "bg"
kind = "blue_green"
"#,
            analysis("30s", 1)
        ),
    );
    let runs = run(&text).runs;
    for r in &runs {
        assert_eq!(secs(r.detected), Some(60.0));
        assert!(r.rolled_back && !r.false_rollback);
        assert_eq!(secs(r.recovered), Some(60.0));
        assert!(secs(r.onset).unwrap() >= 30.0 && secs(r.onset).unwrap() < 31.0);
    }
    let shares: Vec<f64> = runs.iter().map(RunOutcome::affected_share).collect();
    let ((m, sd), n) = (mean_sd(&shares), shares.len());
    let expected = 1.0 - (-0.3f64).exp();
    assert!(
        (m - expected).abs() < 4.0 * sd / (n as f64).sqrt() + 1e-3,
        "{m} vs {expected}"
    );
}

#[test]
fn issue3_blue_green_rollback_after_the_scale_down_delay_costs_a_cold_start() {
    // No post-promotion analysis; a human notices 60 s after the onset (σ = 0): the switch is at
    // 30 s, so the decision is just after 90 s. With the default 30 s scale-down blue is gone at
    // 60 s and must start again (30 s); with 120 s it is still up.
    let body = |delay: &str| {
        FLEET.text(
            "20m",
            3,
            &format!(
                r#"{CRASH}
[manual]
median = "60s"
sigma = 0.0
[[strategies]]
name = "bg"
kind = "blue_green"
post_promotion = "0s"
scale_down_delay = "{delay}"
"#
            ),
        )
    };
    let warm = run(&body("120s")).runs;
    let cold = run(&body("30s")).runs;
    for (w, c) in warm.iter().zip(&cold) {
        let onset = secs(w.onset).unwrap();
        assert!((30.0..30.1).contains(&onset));
        assert_eq!(secs(w.detected), secs(c.detected));
        assert!((secs(w.detected).unwrap() - (onset + 60.0)).abs() < 1e-6);
        assert_eq!(secs(w.recovered), secs(w.detected));
        // Blue starts again: 30 s of start-up during which v2 keeps failing.
        assert!((secs(c.recovered).unwrap() - secs(c.detected).unwrap() - 30.0).abs() < 1e-6);
        assert!(c.failed_requests > w.failed_requests);
    }
}

#[test]
fn issue10_blue_green_rollback_during_post_promotion_finds_blue_up() {
    // Threshold 2 at 20 s: detection at 70 s (checks at 50 and 70 s after the switch at 30 s),
    // inside the default post-promotion analysis (2 × 20 s × 2 = 80 s). Blue stays up until
    // that analysis succeeds, so traffic is back at 70 s whatever the scale-down delay.
    for delay in ["30s", "60s"] {
        let text = FLEET.text(
            "20m",
            3,
            &format!(
                r#"{CRASH}{}
[[strategies]]
name = "bg"
kind = "blue_green"
scale_down_delay = "{delay}"
"#,
                analysis("20s", 2)
            ),
        );
        for r in &run(&text).runs {
            assert_eq!(secs(r.detected), Some(70.0));
            assert_eq!(secs(r.recovered), Some(70.0));
        }
    }
}

#[test]
fn issue3_flag_kill_switch_exposure_is_the_last_poll_of_n_instances() {
    // The flag is on for 50 % from 0; threshold 1 at 30 s kills it at 30 s. Each of n = 4
    // instances polls every R = 15 s on its own random phase, so the last one learns the kill
    // after max(U₁…Uₙ)·R: mean R·n/(n+1) = 12 s. Recovery (verify 0) is that moment.
    let text = FLEET
        .text(
            "2m",
            300,
            &format!(
                r#"{CRASH}{}
[fleet]
instances = 4
[[strategies]]
name = "flag"
kind = "feature_flag"
refresh = {{ mode = "polling", interval = "15s" }}
steps = [{{ percent = 50, pause = "30m" }}, {{ percent = 100 }}]
"#,
                analysis("30s", 1)
            ),
        )
        .replace("[fleet]\ninstances = 10\nstartup = \"30s\"", "");
    let runs = run(&text).runs;
    let exposures: Vec<f64> = runs
        .iter()
        .map(|r| secs(r.recovered).unwrap() - secs(r.detected).unwrap())
        .collect();
    let ((m, sd), n) = (mean_sd(&exposures), exposures.len());
    assert!(runs.iter().all(|r| secs(r.detected) == Some(30.0)));
    let tol = 4.0 * sd / (n as f64).sqrt();
    assert!(
        (m - 12.0).abs() < tol,
        "mean extra exposure {m:.2} s vs 12 s ± {tol:.2}"
    );
}

#[test]
fn issue3_flag_streaming_kill_switch_lands_after_the_push_delay() {
    let text = FLEET.text(
        "2m",
        3,
        &format!(
            r#"{CRASH}{}
[[strategies]]
name = "flag"
kind = "feature_flag"
refresh = {{ mode = "streaming", delay = "2s" }}
steps = [{{ percent = 50, pause = "30m" }}, {{ percent = 100 }}]
"#,
            analysis("30s", 1)
        ),
    );
    for r in run(&text).runs {
        assert_eq!(secs(r.detected), Some(30.0));
        assert_eq!(secs(r.recovered), Some(32.0));
        // Only the cohort is hurt: half the users, those with a request in [2 s, 32 s).
        let share = r.affected_users as f64 / 20000.0;
        let expected = 0.5 * (1.0 - (-0.01f64 * 30.0).exp());
        assert!((share - expected).abs() < 0.02, "{share} vs {expected}");
    }
}

#[test]
fn issue3_a_flag_stall_keeps_the_feature_on_until_the_restart() {
    let text = FLEET.text(
        "10m",
        3,
        &format!(
            r#"{CRASH}{}
[[faults]]
kind = "flag_stall"
start = "10s"
end = "5m"
rate = 0.3
[[strategies]]
name = "flag"
kind = "feature_flag"
refresh = {{ mode = "streaming", delay = "1s" }}
steps = [{{ percent = 50, pause = "30m" }}, {{ percent = 100 }}]
"#,
            analysis("30s", 1)
        ),
    );
    for r in run(&text).runs {
        assert_eq!(secs(r.detected), Some(30.0));
        // 3 of 10 instances stop refreshing at 10 s and learn the kill when they restart at 5 m.
        assert_eq!(secs(r.recovered), Some(300.0));
    }
}

#[test]
fn issue3_rolling_update_completes_in_waves_of_the_surge() {
    // N = 10, surge 3, unavailable 0: ⌈10/3⌉ = 4 waves of startup 30 s + probe period 10 s.
    let text = FLEET.text(
        "20m",
        2,
        r#"
[[strategies]]
name = "rolling"
kind = "rolling"
max_surge = 3
max_unavailable = 0
"#,
    );
    for r in run(&text).runs {
        assert_eq!(secs(r.rollout), Some(160.0));
        // Instance-seconds: 10 old until the waves replace them, surge instances on top.
        assert!(r.instance_seconds > 10.0 * 1200.0);
    }
}

#[test]
fn issue3_rolling_crash_loop_stalls_until_the_progress_deadline() {
    let text = FLEET.text(
        "30m",
        2,
        r#"
[[faults]]
kind = "crash_loop"
target = "new"
[[strategies]]
name = "rolling"
kind = "rolling"
max_surge = 2
max_unavailable = 0
"#,
    );
    for r in run(&text).runs {
        // New pods never pass readiness, so they get no traffic and hurt no one; the
        // Deployment reports ProgressDeadlineExceeded 600 s after its last progress.
        assert_eq!(secs(r.detected), Some(600.0));
        assert_eq!(r.detected_by.map(|d| d.name()), Some("progress_deadline"));
        assert!(r.rolled_back && !r.false_rollback);
        assert_eq!((r.onset, r.ttd(), r.rollout), (None, None, None));
    }
}

#[test]
fn issue3_rolling_rollback_is_another_rolling_update() {
    // The whole fleet is replaced by 160 s; the fault starts at 5 m; a human detects it at
    // onset + 2 m exactly; rolling back restarts v1 in 4 waves of 40 s: recovery at 160 s
    // after the decision.
    let text = FLEET.text(
        "30m",
        2,
        r#"
[manual]
median = "2m"
sigma = 0.0
[[faults]]
kind = "error_rate"
target = "new"
start = "5m"
rate = 1.0
[[strategies]]
name = "rolling"
kind = "rolling"
max_surge = 3
max_unavailable = 0
"#,
    );
    for r in run(&text).runs {
        assert_eq!(secs(r.rollout), Some(160.0));
        let detected = secs(r.detected).unwrap();
        assert_eq!(detected, secs(r.onset).unwrap() + 120.0);
        assert_eq!(secs(r.recovered), Some(detected + 160.0));
    }
}

#[test]
fn issue3_canary_rolling_rollback_waits_for_the_stable_to_start() {
    let body = |mode: &str| {
        FLEET.text(
            "20m",
            2,
            &format!(
                r#"{CRASH}{}
[[strategies]]
name = "c"
kind = "canary"
prescaled = true
rollback = "{mode}"
steps = [{{ weight = 20, pause = "10m" }}, {{ weight = 100 }}]
"#,
                analysis("30s", 2)
            ),
        )
    };
    for (i, r) in run(&body("instant"))
        .runs
        .iter()
        .zip(&run(&body("rolling")).runs)
    {
        assert_eq!(secs(i.detected), Some(60.0));
        assert_eq!(secs(i.recovered), Some(60.0));
        assert_eq!(secs(r.recovered), Some(90.0), "+ startup");
        // A replica-based canary runs 8 + 2 instances instead of 10 + 2.
        assert!(r.instance_seconds < i.instance_seconds);
    }
}

#[test]
fn issue3_every_strategy_sees_the_same_arrivals() {
    let text = FLEET.text(
        "15m",
        4,
        &format!(
            r#"{CRASH}{}
[[strategies]]
name = "canary"
kind = "canary"
prescaled = true
steps = [{{ weight = 10, pause = "5m" }}, {{ weight = 100 }}]
[[strategies]]
name = "bg"
kind = "blue_green"
[[strategies]]
name = "flag"
kind = "feature_flag"
steps = [{{ percent = 10, pause = "5m" }}, {{ percent = 100 }}]
[[strategies]]
name = "rolling"
kind = "rolling"
"#,
            analysis("30s", 3)
        ),
    );
    let runs = run(&text).runs;
    for rep in 0..4 {
        let same: Vec<_> = runs
            .iter()
            .filter(|r| r.replication == rep)
            .map(|r| (r.requests, r.active_users))
            .collect();
        assert_eq!(same.len(), 4);
        assert!(same.windows(2).all(|w| w[0] == w[1]), "{same:?}");
    }
}

/// The bundled cross-strategy crash, shortened for a test.
fn crash_every_strategy(reps: u32) -> String {
    shortened(
        "scenarios/crash-every-strategy.toml",
        &[
            ("horizon = \"1h\"", "horizon = \"10m\""),
            ("replications = 20", &format!("replications = {reps}")),
        ],
    )
}

#[test]
fn issue3_compare_names_winners_with_paired_tests() {
    use rehearsal::outcome::{CompareMetric, compare};
    let text = crash_every_strategy(5);
    let result = run(&text);
    let names = ["canary-10", "blue-green", "flag-10", "rolling"];
    let table = compare(&result.runs, names.len());
    let affected = table
        .iter()
        .find(|c| c.metric == CompareMetric::AffectedShare)
        .unwrap();
    // A 10 % canary or flag hurts far fewer users than a blue-green switch of everyone.
    let best = names[affected.best.unwrap()];
    assert!(best == "canary-10" || best == "flag-10", "{best}");
    let bg = affected.versus_best[1].expect("blue-green is not the best");
    assert!(
        bg.significant && bg.mean_diff > 0.3 && bg.pairs == 5,
        "{bg:?}"
    );
    // Instance-seconds differ deterministically: blue-green pays for two environments.
    let cost = table
        .iter()
        .find(|c| c.metric == CompareMetric::InstanceSeconds)
        .unwrap();
    assert_ne!(cost.best, Some(1));
}

#[test]
fn issue3_compare_cli_prints_the_table_and_writes_compare_csv() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crash.toml");
    std::fs::write(&file, crash_every_strategy(3)).unwrap();
    let out = dir.path().join("out");
    let assert = rehearsal()
        .args([
            "compare",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    for needle in [
        "time to recover (MTTR)",
        "canary-10",
        "blue-green",
        "flag-10",
        "rolling",
        "paired t-test",
    ] {
        assert!(stdout.contains(needle), "{needle} missing from:\n{stdout}");
    }
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "metric,strategy,n,mean,ci95_low,ci95_high,p50,p95,best,is_best,pairs,mean_diff_to_best,t,significant"
        )
    );
    assert_eq!(lines.count(), 9 * 4, "9 metrics × 4 strategies");
    assert!(out.join("runs.csv").exists() && out.join("summary.csv").exists());
}

#[test]
fn issue15_timelines_record_each_traffic_switch_at_its_true_time() {
    // Green is ready at 30 s and takes all traffic then; analysis fails its first check at
    // 60 s and traffic returns to blue at once. The timeline's sampling step is 45 s, so
    // neither moment falls on a sample's end: the recorded shares must still say 30 s and
    // 60 s, not 0 s (the start of the first step) or 90 s.
    let text = FLEET.text(
        "5m",
        1,
        &format!(
            r#"{CRASH}{}
[[strategies]]
name = "bg"
kind = "blue_green"
"#,
            analysis("30s", 1)
        ),
    );
    let s = crate::common::scenario(&text);
    let (_, timeline) = rehearsal::replay::replay_with_timeline(
        &s,
        0,
        0,
        rehearsal::engine::SimTime::from_secs(45),
    )
    .unwrap();
    let changes: Vec<(f64, f64)> = timeline
        .shares
        .iter()
        .map(|(at, w)| (at.as_secs_f64(), *w))
        .collect();
    assert_eq!(changes, [(0.0, 0.0), (30.0, 100.0), (60.0, 0.0)]);
}
