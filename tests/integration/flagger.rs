//! Issue 10 point 2: `kind = "flagger"`, Flagger's Canary tick by tick as
//! fluxcd/flagger's `pkg/controller/scheduler.go` (`advanceCanary`) runs it, against
//! hand-computed answers. Times count from tick 0, the tick that sees the new revision.

use crate::common::{Preamble, mean_sd, rehearsal, run, run_both, secs};
use rehearsal::modes::Mode;
use rehearsal::outcome::{Detector, RunOutcome};
use rehearsal::replications::ScenarioResult;

/// The podinfo tutorial (`docs/gitbook/tutorials/istio-progressive-delivery.md`): N = 2
/// (podinfo's HPA minimum), start-up 30 s, 100 req/s.
const PODINFO: Preamble = Preamble {
    name: "podinfo",
    seed: 10,
    traffic: "rate = 100.0\nusers = 10000",
    tables: "[fleet]\ninstances = 2\nstartup = \"30s\"\n",
};

/// `text` run in both modes (issue 16) with 5,000 of podinfo's 10,000 users, so that every
/// user sends a request, which windows mode's active-users bound asks (`modes::unsupported`);
/// the answers below do not depend on the number of users.
fn both(text: &str) -> [(Mode, ScenarioResult); 2] {
    run_both(&text.replace("users = 10000", "users = 5000"))
}

/// Its Canary: interval 1m, stepWeight 10, maxWeight 50, threshold 5, request-success-rate
/// ≥ 99 % and request-duration P99 ≤ 500 ms (each over Flagger's default 1m window).
fn podinfo(faults: &str, extra: &str) -> String {
    PODINFO.text(
        "20m",
        4,
        &format!(
            r#"{faults}
[[strategies]]
name = "podinfo"
kind = "flagger"
step_weight = 10
max_weight = 50
{extra}
[strategies.analysis]
interval = "1m"
threshold = 5
[[strategies.analysis.metrics]]
name = "error_rate"
max = 0.01
[[strategies.analysis.metrics]]
name = "latency_p99"
max = 500
"#
        ),
    )
}

#[test]
fn issue10_flagger_podinfo_promotes_two_ticks_after_the_decision() {
    // Tick 0 (0 s): the canary scales up to 2 (a full copy), ready at 30 s. Tick 1 (60 s):
    // weight 10, no metric check. Ticks 2–5 (120–300 s): passing checks → 20, 30, 40, 50.
    // Tick 6 (360 s): a pass at 50 ≥ maxWeight → promote decision: 2 new primary instances
    // start (ready at 390 s). Tick 7 (420 s): 100 % on the primary (`rollout_s`). Tick 8
    // (480 s): the canary scales to 0. Instance-seconds: stable 2 × 390 + canary 2 × 480 +
    // primary 2 × (1200 − 360) = 780 + 960 + 1680 = 3420. In both modes (issue 16).
    for r in both(&podinfo("", "")).iter().flat_map(|(_, x)| &x.runs) {
        assert_eq!(r.detected, None, "{r:?}");
        assert_eq!(secs(r.rollout), Some(420.0));
        assert_eq!((r.checks, r.failed_checks), (5, 0));
        assert!((r.instance_seconds - 3420.0).abs() < 1e-6, "{r:?}");
        assert_eq!(r.failed_requests, 0);
    }
}

#[test]
fn issue10_flagger_podinfo_crash_rolls_back_the_tick_after_the_fifth_failed_check() {
    // Every request of the candidate fails. Tick 1 (60 s) sets 10 %; checks at ticks 2–6
    // (120–360 s) fail, holding 10 %, and failedChecks reaches 5 at 360 s; tick 7 (420 s)
    // sees 5 ≥ 5 first and rolls back. The candidate served 10 % of 100 req/s over
    // [60 s, 420 s): 100 × 0.10 × 360 = 3600 failed requests, a Poisson count with sd 60;
    // each run is held to ± 300 (5 sd). In both modes (issue 16).
    let crash = "[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 1.0\n";
    for r in both(&podinfo(crash, "")).iter().flat_map(|(_, x)| &x.runs) {
        assert_eq!(secs(r.detected), Some(420.0), "{r:?}");
        assert_eq!(r.detected_by, Some(Detector::Analysis));
        assert_eq!(secs(r.rollback), Some(420.0));
        assert_eq!(r.rollout, None);
        assert_eq!((r.checks, r.failed_checks), (5, 5));
        let failed = r.failed_requests as f64;
        assert!((failed - 3600.0).abs() < 300.0, "{failed}");
    }
}

#[test]
fn issue10_flagger_crash_loop_rolls_back_at_the_first_tick_past_the_progress_deadline() {
    // The canary never becomes ready, so no tick shifts weight. Tick 1 (60 s): 0 + 60 s is
    // not before 60 s (Flagger's `isDeploymentReady`), still retriable; tick 2 (120 s): past
    // the deadline → rollback. Nobody was routed to the candidate.
    let crash_loop = "[[faults]]\nkind = \"crash_loop\"\ntarget = \"new\"\n";
    let runs = run(&podinfo(crash_loop, "progress_deadline = \"60s\"")).runs;
    for r in &runs {
        assert_eq!(secs(r.detected), Some(120.0), "{r:?}");
        assert_eq!(r.detected_by, Some(Detector::ProgressDeadline));
        assert_eq!((r.affected_users, r.failed_requests), (0, 0));
        assert_eq!(r.checks, 0);
    }
}

#[test]
fn issue10_flagger_metric_windows_are_their_own_and_an_empty_list_checks_nothing() {
    // A crash with no metric listed: Flagger runs no metric check, so the canary climbs and
    // is promoted as if healthy (decision at 360 s, 100 % on the primary at 420 s).
    let crash = "[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 1.0\n";
    let text = PODINFO.text(
        "20m",
        1,
        &format!(
            r#"{crash}
[[strategies]]
name = "blind"
kind = "flagger"
step_weight = 10
max_weight = 50
"#
        ),
    );
    let r = &run(&text).runs[0];
    assert_eq!((r.detected, secs(r.rollout)), (None, Some(420.0)));
    // The crash starts at 100 s, its error rate window is 30 s on 1 m ticks: the check at
    // 120 s reads [90 s, 120 s), which holds 20 s of failures → fail (threshold 1); the
    // rollback comes at the next tick, 180 s. With the default 1m window it is the same
    // tick, and a 10 s window ending at 120 s also sees the crash. In both modes (issue 16):
    // windows mode cuts its pieces at these windows' edges.
    let late = |window: &str| {
        PODINFO.text(
            "20m",
            1,
            &format!(
                r#"
[[faults]]
kind = "error_rate"
target = "new"
rate = 1.0
start = "{start}"
[[strategies]]
name = "windowed"
kind = "flagger"
step_weight = 10
max_weight = 50
[[strategies.analysis.metrics]]
name = "error_rate"
max = 0.01
window = "{window}"
"#,
                start = "100s"
            ),
        )
    };
    for window in ["30s", "1m", "10s"] {
        for (mode, x) in both(&late(window)) {
            let r = &x.runs[0];
            assert_eq!(
                secs(r.detected),
                Some(180.0),
                "window {window}, {mode:?}: {r:?}"
            );
        }
    }
    // A 10 s window at ticks 120 s … misses a crash confined to [60 s, 100 s): the gap
    // between windows lets it through, while a 1m window catches it.
    let gap =
        |window: &str| late(window).replace("start = \"100s\"", "start = \"60s\"\nend = \"100s\"");
    for (mode, x) in both(&gap("10s")) {
        let r = &x.runs[0];
        assert_eq!(
            (r.detected, secs(r.rollout)),
            (None, Some(420.0)),
            "{mode:?}: {r:?}"
        );
    }
    for (mode, x) in both(&gap("1m")) {
        assert_eq!(
            secs(x.runs[0].detected),
            Some(180.0),
            "{mode:?}: {:?}",
            x.runs[0]
        );
    }
}

#[test]
fn issue10_flagger_a_three_percent_regression_matches_the_tick_formula() {
    // 2 req/s, a 3 % error-rate regression on the candidate, error_rate max 0.01 over the
    // 1m window, threshold 1, ladder 10 … 50. Check j (j = 1…5) runs at tick j + 1 over the
    // minute at weight w_j = 10 j %: its requests are Poisson with mean 2 × 0.1 j × 60 = 12 j
    // (< 100 with probability > 1 − 1e-6), so it fails iff it holds an error, and its errors
    // are Poisson(μ_j), μ_j = 0.36 j: p_j = 1 − e^(−μ_j) = 0.302, 0.513, 0.660, 0.763, 0.835.
    // The first failure at check j rolls back at tick j + 2, time 60 (j + 2), with
    // P_j = Π_{i<j} (1 − p_i) p_j; P(rollback) = 1 − e^(−5.4) = 0.9955. Failed requests given
    // j: the failing window's errors, E = μ_j / p_j (passing windows have none), plus the held
    // minute before the rollback, E = μ_j. Conditional on a rollback: mean time 250.0 s
    // (sd 61.8), mean failed requests 2.231 (sd 1.289). Tolerance: 4 standard errors of
    // the mean over the rolled-back runs.
    let text = Preamble {
        name: "regression",
        seed: 21,
        traffic: "rate = 2.0\nusers = 1000",
        tables: "[fleet]\ninstances = 2\nstartup = \"30s\"\n",
    }
    .text(
        "20m",
        50,
        r#"
[[faults]]
kind = "error_rate"
target = "new"
rate = 0.03
[[strategies]]
name = "flagger"
kind = "flagger"
step_weight = 10
max_weight = 50
[strategies.analysis]
interval = "1m"
threshold = 1
[[strategies.analysis.metrics]]
name = "error_rate"
max = 0.01
"#,
    );
    let mu: Vec<f64> = (1..=5).map(|j| 0.36 * f64::from(j)).collect();
    let p: Vec<f64> = mu.iter().map(|m| 1.0 - (-m).exp()).collect();
    let (mut reach, mut pr, mut et, mut ef) = (1.0, 0.0, 0.0, 0.0);
    for j in 0..5 {
        let pj = reach * p[j];
        pr += pj;
        et += pj * 60.0 * (j as f64 + 3.0);
        ef += pj * (mu[j] / p[j] + mu[j]);
        reach *= 1.0 - p[j];
    }
    let (et, ef) = (et / pr, ef / pr);
    let runs = run(&text).runs;
    let back: Vec<&RunOutcome> = runs.iter().filter(|r| r.rolled_back).collect();
    assert!(back.len() >= 45, "{} of 50 rolled back", back.len());
    let times: Vec<f64> = back.iter().map(|r| secs(r.detected).unwrap()).collect();
    let failed: Vec<f64> = back.iter().map(|r| r.failed_requests as f64).collect();
    let n = (back.len() as f64).sqrt();
    let (mt, _) = mean_sd(&times);
    let (mf, _) = mean_sd(&failed);
    assert!((et - 250.03).abs() < 0.01 && (ef - 2.231).abs() < 0.001);
    assert!((mt - et).abs() < 4.0 * 61.8 / n, "time {mt} vs {et}");
    assert!((mf - ef).abs() < 4.0 * 1.289 / n, "failed {mf} vs {ef}");
}

#[test]
fn issue10_flagger_sweep_over_the_interval_moves_the_rollout() {
    // Healthy podinfo: 100 % on the primary at tick 7, so rollout_s = 7 × interval:
    // 210 s, 420 s, 840 s for 30s, 1m, 2m (start-up 30 s is ready by tick 1 in each).
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("podinfo.toml");
    std::fs::write(
        &file,
        podinfo("", "").replace("replications = 4", "replications = 2"),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = rehearsal()
        .arg("sweep")
        .arg(&file)
        .args([
            "--set",
            "strategies.podinfo.analysis.interval=30s,1m,2m",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let header = r.headers().unwrap().clone();
    let col = header
        .iter()
        .position(|h| h == "rollout_s_mean")
        .unwrap_or_else(|| panic!("{header:?}"));
    let rollouts: Vec<f64> = r
        .records()
        .map(|x| x.unwrap()[col].parse().unwrap())
        .collect();
    assert_eq!(rollouts, vec![210.0, 420.0, 840.0]);
}

#[test]
fn issue10_flagger_bad_input_names_the_field() {
    let bad = |name: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/fixtures/bad/{name}.toml"));
        let text = std::fs::read_to_string(&path).unwrap();
        match rehearsal::scenario::parse(&text, std::path::Path::new("bad.toml")) {
            Ok(_) => panic!("{name} parsed"),
            Err(e) => e,
        }
    };
    let cases = [
        ("flagger_field_not_for_kind", "strategies[0].steps"),
        (
            "flagger_step_weight_without_max_weight",
            "strategies[0].max_weight",
        ),
        (
            "flagger_step_weight_and_step_weights",
            "strategies[0].step_weights",
        ),
        (
            "flagger_step_weights_not_increasing",
            "strategies[0].step_weights[2]",
        ),
        ("flagger_weight_over_100", "strategies[0].step_weights[3]"),
        ("flagger_max_weight_zero", "strategies[0].max_weight"),
        ("metric_window_not_for_kind", "analysis.metrics[0].window"),
    ];
    for (name, field) in cases {
        let e = bad(name);
        assert_eq!(e.field, field, "{name}: {e}");
    }
    // Flagger's camelCase is an unknown field, with the snake_case suggested. (Inline, not a
    // snapshot: the message lists every strategy field of every kind.)
    let text = PODINFO.text(
        "10m",
        1,
        "[[strategies]]\nname = \"f\"\nkind = \"flagger\"\nstepWeight = 10\n",
    );
    let e = rehearsal::scenario::parse(&text, std::path::Path::new("f.toml")).unwrap_err();
    assert_eq!(e.field, "strategies[0].stepWeight", "{e}");
    assert!(e.message.contains("did you mean \"step_weight\"?"), "{e}");
}

#[test]
fn issue10_flagger_resolved_parameters_show_its_fields_and_the_interval_floor() {
    // A 5 s interval is raised to Flagger's 10 s floor (`GetAnalysisInterval`), and the
    // table says so; the ladder 20 → 40 → 60 steps past max_weight 50.
    let text = PODINFO.text(
        "10m",
        1,
        r#"
[[strategies]]
name = "f"
kind = "flagger"
step_weight = 20
max_weight = 50
[strategies.analysis]
interval = "5s"
"#,
    );
    let s = crate::common::scenario(&text);
    let rows = rehearsal::report::params::resolved_parameters(&s);
    let value = |f: &str| {
        rows.iter()
            .find(|p| p.field == f)
            .unwrap_or_else(|| panic!("no {f}: {rows:?}"))
            .value
            .clone()
    };
    assert_eq!(
        value("strategies[0].max_weight"),
        "50% (weights 20% → 40% → 60%)"
    );
    assert!(value("strategies[0].analysis.interval").contains("floor"));
    assert_eq!(value("strategies[0].canary_replicas"), "full");
    assert_eq!(
        value("strategies[0].analysis.metrics"),
        "none (no metric check)"
    );
    let r = &run(&text).runs[0];
    // Ticks every 10 s. The canary is ready at 30 s, so ticks 1–2 wait and tick 3 (30 s)
    // sets 20 %; ticks 4–5 pass (40, 60 %); tick 6 (60 s) promotes: the new primary
    // instances are ready at 90 s, so ticks 7–8 wait (`IsPrimaryReady`) and tick 9 (90 s)
    // routes 100 % to the primary.
    assert_eq!(secs(r.rollout), Some(90.0), "{r:?}");
}

#[test]
fn issue10_flagger_step_weights_promotion_steps_skip_analysis_and_proportional_replicas() {
    // Healthy podinfo with other settings: (rollout_s, checks, instance-seconds) over 1200 s.
    let case = |extra: &str| {
        let text = podinfo("", extra).replacen("step_weight = 10\nmax_weight = 50\n", "", 1);
        let r = run(&text).runs.remove(0);
        (secs(r.rollout).unwrap(), r.checks, r.instance_seconds)
    };
    // [1, 2, 10, 80]: weights at ticks 1–4 (60–240 s), a pass at 80 on tick 5 (300 s)
    // promotes, the primary is ready at 330 s, tick 6 (360 s) completes, tick 7 (420 s)
    // scales the canary to 0. Instances: stable 2 × 330, candidate 2 × 1200 + 2 × (420 − 300).
    let (t, checks, cost) = case("step_weights = [1, 2, 10, 80]");
    assert_eq!((t, checks), (360.0, 4));
    assert!((cost - (660.0 + 2400.0 + 240.0)).abs() < 1e-6, "{cost}");
    // step_weight_promotion 20 from 50 %: the primary takes 70, 90, 100 % at ticks 7–9
    // (420–540 s): ⌈50 / 20⌉ = 3 ticks; the canary goes at tick 10 (600 s).
    let (t, _, cost) = case("step_weight = 10\nmax_weight = 50\nstep_weight_promotion = 20");
    assert_eq!(t, 540.0);
    assert!((cost - (780.0 + 2400.0 + 480.0)).abs() < 1e-6, "{cost}");
    // skip_analysis: the first ready tick (60 s) promotes; the canary goes and the primary's 2
    // new instances are ready at 90 s. Instances: stable 2 × 90, canary 2 × 60, primary
    // 2 × (1200 − 60).
    let (t, checks, cost) = case("step_weight = 10\nmax_weight = 50\nskip_analysis = true");
    assert_eq!((t, checks), (60.0, 0));
    assert!((cost - (180.0 + 120.0 + 2280.0)).abs() < 1e-6, "{cost}");
    // proportional, [10, 60] on N = 2: 1 instance at 10 %, 2 from tick 2 (120 s, ready at
    // 150 s); tick 3 (180 s) passes at 60 → promote (2 + 2 instances, ready at 210 s); tick 4
    // (240 s) completes; tick 5 (300 s) scales the canary to 0. Instances: stable 2 × 210,
    // candidate 1 × 120 + 2 × 60 + 4 × 120 + 2 × 900.
    let (t, checks, cost) = case("step_weights = [10, 60]\ncanary_replicas = \"proportional\"");
    assert_eq!((t, checks), (240.0, 2));
    assert!(
        (cost - (420.0 + 120.0 + 120.0 + 480.0 + 1800.0)).abs() < 1e-6,
        "{cost}"
    );
}

#[test]
fn issue10_flagger_session_affinity_keeps_the_crash_to_a_sticky_cohort() {
    // The podinfo crash (10 % from 60 s to the rollback at 420 s, 360 s). Users send
    // 100 / 10 000 = 0.01 req/s. Per request, every user meets the canary with rate
    // 0.01 × 0.1: 1 − e^(−0.01 × 0.1 × 360) = 30.2 % are hurt. Sticky, only the 10 % cohort
    // is exposed, at 0.01 req/s: 0.1 × (1 − e^(−0.01 × 360)) = 9.7 %. Each mean over 4 runs of
    // ~10 000 users is held to ± 1.5 points.
    let crash = "[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 1.0\n";
    let share = |extra: &str| {
        let runs = run(&podinfo(crash, extra)).runs;
        for r in &runs {
            assert_eq!(secs(r.detected), Some(420.0));
        }
        let shares: Vec<f64> = runs.iter().map(RunOutcome::affected_share).collect();
        mean_sd(&shares).0
    };
    let per_request = share("");
    let sticky = share("session_affinity = true");
    assert!(
        (per_request - (1.0 - (-0.36f64).exp())).abs() < 0.015,
        "{per_request}"
    );
    assert!(
        (sticky - 0.1 * (1.0 - (-3.6f64).exp())).abs() < 0.015,
        "{sticky}"
    );
}

/// The podinfo canary in one of Flagger's iteration modes (`mode_lines`), checking the error
/// rate ≤ 1 % every minute with threshold 2.
fn podinfo_mode(mode_lines: &str, faults: &str) -> String {
    PODINFO.text(
        "30m",
        3,
        &format!(
            r#"{faults}
[[strategies]]
name = "mode"
kind = "flagger"
{mode_lines}
[strategies.analysis]
interval = "1m"
threshold = 2
[[strategies.analysis.metrics]]
name = "error_rate"
max = 0.01
"#
        ),
    )
}

/// The podinfo canary as an A/B test (`analysis.iterations` 10 with a `match`): 10 % of the
/// users (by hash, as a cookie or header match picks the same users every time).
fn podinfo_ab(faults: &str) -> String {
    podinfo_mode("mode = \"ab\"\niterations = 10\nmatch_share = 10", faults)
}

#[test]
fn issue10_flagger_ab_promotes_after_iterations_checks() {
    // Tick 1 (60 s) routes the matching users to the canary, no check; `runAB` then needs 10
    // passing checks (ticks 2–11, 120–660 s): the promote decision at 660 s, the new primary
    // ready at 690 s, 100 % on it at tick 12 (720 s).
    for r in &run(&podinfo_ab("")).runs {
        assert_eq!(secs(r.rollout), Some(720.0), "{r:?}");
        assert_eq!((r.checks, r.failed_checks), (10, 0));
    }
}

#[test]
fn issue10_flagger_ab_crash_hurts_only_the_matching_users() {
    // Checks at 120 s and 180 s fail; tick 4 (240 s) sees 2 ≥ threshold and rolls back. Only
    // the matching 10 % of users were routed to the canary, every one of their requests over
    // [60 s, 240 s): 100 × 0.10 × 180 = 1,800 failed (Poisson sd ≈ 42, user-level clustering
    // widens it: ± 400 per run), and no other user is hurt (about 10 % of the active ones).
    let crash = "[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 1.0\n";
    for r in &run(&podinfo_ab(crash)).runs {
        assert_eq!(secs(r.detected), Some(240.0), "{r:?}");
        let failed = r.failed_requests as f64;
        assert!((failed - 1800.0).abs() < 400.0, "{failed}");
        let share = r.affected_share();
        assert!((0.07..0.13).contains(&share), "{share}");
    }
}

#[test]
fn issue10_flagger_ab_mistakes_are_named() {
    let bad = |extra: &str| {
        let text = PODINFO.text(
            "10m",
            1,
            &format!("[[strategies]]\nname = \"ab\"\nkind = \"flagger\"\n{extra}\n"),
        );
        rehearsal::scenario::parse(&text, std::path::Path::new("ab.toml"))
            .unwrap_err()
            .to_string()
    };
    assert!(bad("mode = \"ab\"\nmatch_share = 10").contains("iterations: missing or out of range"));
    assert!(bad("mode = \"ab\"\niterations = 5").contains("match_share: missing"));
    assert!(
        bad("mode = \"ab\"\niterations = 5\nmatch_share = 10\nstep_weight = 10")
            .contains("step_weight: mode = \"ab\" routes the matching users")
    );
    assert!(
        bad("step_weight = 10\nmax_weight = 50\niterations = 5")
            .contains("only with mode = \"ab\"")
    );
    assert!(
        bad("mode = \"blue_grene\"").contains(
            "unknown value \"blue_grene\"; expected one of canary, ab, blue_green (did you mean \"blue_green\"?)"
        )
    );
}

/// The podinfo canary in Flagger's blue/green mode: 5 iterations on the load tester's
/// 10 req/s.
fn podinfo_blue_green(faults: &str) -> String {
    podinfo_mode(
        "mode = \"blue_green\"\niterations = 5\nload_test_rate = 10",
        faults,
    )
}

#[test]
fn issue10_flagger_blue_green_switches_after_iterations_then_promotes() {
    // Tick 1 (60 s): the load tester starts, no user traffic on the canary, no check. Checks
    // at 120–300 s advance the iterations to 5; the pass at 360 s routes all traffic to the
    // canary (`runBlueGreen`); the pass at 420 s promotes: the new primary is ready at 450 s
    // and takes 100 % at tick 8 (480 s). Six checks. In both modes (issue 16).
    for r in both(&podinfo_blue_green(""))
        .iter()
        .flat_map(|(_, x)| &x.runs)
    {
        assert_eq!(secs(r.rollout), Some(480.0), "{r:?}");
        assert_eq!((r.checks, r.failed_checks), (6, 0));
    }
}

#[test]
fn issue10_flagger_blue_green_catches_a_crash_on_load_test_traffic_alone() {
    // Every load-test request fails: the checks at 120 s and 180 s fail, and tick 4 (240 s)
    // rolls back. No user ever reached the canary: nobody is hurt, and the synthetic
    // requests are not counted as failed requests. In both modes (issue 16).
    let crash = "[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 1.0\n";
    for r in both(&podinfo_blue_green(crash))
        .iter()
        .flat_map(|(_, x)| &x.runs)
    {
        assert_eq!(secs(r.detected), Some(240.0), "{r:?}");
        assert!(r.rolled_back && !r.false_rollback);
        assert_eq!((r.failed_requests, r.affected_users), (0, 0));
    }
    let text = podinfo_blue_green("").replace("load_test_rate = 10\n", "");
    let err = rehearsal::scenario::parse(&text, std::path::Path::new("bg.toml")).unwrap_err();
    assert!(
        err.to_string()
            .contains("load_test_rate: missing: mode = \"blue_green\" checks its metrics on load-test traffic alone"),
        "{err}"
    );
}
