//! Issue 14 points 4–5: Kubernetes readiness and liveness probes, and Envoy outlier
//! detection, against hand-computed answers.

use crate::common::{held_canary, scenario, secs, shortened};
use rehearsal::modes::{Mode, unsupported};
use rehearsal::outcome::Detector;
use rehearsal::outcome::RunOutcome;
use rehearsal::replay::replay;

/// The first run of the scenario's first strategy.
fn first_run(text: &str) -> RunOutcome {
    replay(&scenario(text), 0, 0).expect("run")
}

/// The first run of the scenario's first strategy in each mode, with 1,000 users so that
/// windows mode runs it (issue 16: the hand-computed answers hold in both).
fn first_runs(text: &str) -> [RunOutcome; 2] {
    let s = scenario(&text.replace("users = 10000", "users = 1000"));
    if let Some(feature) = unsupported(&s) {
        panic!("windows mode refuses this scenario: {feature}");
    }
    [Mode::Requests, Mode::Windows].map(|mode| {
        let mut s = s.clone();
        s.mode = mode;
        replay(&s, 0, 0).expect("run")
    })
}

/// A dependency outage of every request from 62 s to `end`, which probes see when `probe`.
fn outage(end: &str, probe: bool) -> String {
    format!(
        "[[faults]]\nkind = \"dependency_outage\"\nprobe = {probe}\nstart = \"62s\"\nend = \"{end}\"\n"
    )
}

const READINESS: &str = r#"
[fleet.probes.readiness]
period = "10s"
failure_threshold = 3
initial_delay = "5s"
"#;

#[test]
fn issue14_readiness_removes_instances_at_period_times_threshold_after_the_outage() {
    // Every instance started at 0 s (the stable's ten at time 0, the prescaled canary's one
    // at its first step, 0 s), so their readiness probes run at 5 + 10k s: 5, 15, …, 55, 65.
    // The outage starts at 62 s: the first failing probe is the one at 65 s, and the third
    // in a row (failure_threshold = 3), at 65 + (3 − 1) × 10 = 85 s, takes them out:
    // probe_ttd = 85 − 62 = 23 s.
    let with = first_run(&held_canary(
        "15m",
        1,
        &format!("{READINESS}{}", outage("10m", true)),
    ));
    assert_eq!(secs(with.probe_ttd), Some(23.0));
    // Without `probe = true` the probes pass: nothing is taken out.
    let blind = first_run(&held_canary(
        "15m",
        1,
        &format!("{READINESS}{}", outage("10m", false)),
    ));
    assert_eq!(blind.probe_ttd, None);
    // Every instance is out from 85 s, so requests fail as unroutable, and stay so after the
    // outage ends at 600 s until the first probe that passes puts them back
    // (success_threshold = 1): at 605 s. The requests (same draws, common random numbers) are
    // then exactly those an outage ending at 605 s fails without probes.
    let longer = first_run(&held_canary("15m", 1, &outage("605s", true)));
    assert_eq!(with.failed_requests, longer.failed_requests);
    assert!(with.failed_requests > blind.failed_requests);
    assert_eq!(with.requests, longer.requests);
}

const LEAK: &str = r#"
[fleet]
instances = 4
startup = "30s"
[fleet.probes.liveness]
period = "10s"
timeout = "1s"
[[faults]]
kind = "memory_leak"
target = "old"
ramp = "100s"
delay = "2s"
"#;

#[test]
fn issue14_a_liveness_restart_resets_the_leak_level() {
    // The leak adds ℓ × 2 s to the probe, ℓ = t / 100 s from 0 s: the probe times out
    // (≥ 1 s) from ℓ = 0.5, t = 50 s. Probes at 0, 10, 20 … s fail at 50, 60, 70: the third
    // (failure_threshold 3) kills every stable instance at 70 s; they restart 30 s later
    // (terminationGracePeriodSeconds) at 100 s, with the leak at 0 again, and serve from
    // 130 s (startup). Their probes run at 100 + 10k s, from 130 s: ℓ = (t − 100)/100 reaches
    // 0.5 at 150 s, so the kills come at 170, 270, 370, 470, 570 s and the restarts at
    // 100, 200, 300, 400, 500 s: five restarts of four instances before the 10 min horizon
    // (the one due at 600 s is at the horizon). Had the restart kept the leak's level
    // (ℓ ≥ 0.7 at 130 s), the kills would come at 150 s, 250 s…: a different count.
    let r = first_run(&held_canary("10m", 1, LEAK));
    assert_eq!(secs(r.probe_ttd), Some(70.0));
    // Four stable instances, five times each; the canary's instance does not leak.
    assert_eq!(r.restarts, 5 * 4);
}

/// Envoy's defaults with `max_ejection_percent` and `panic_threshold` set, and `k` of the
/// stable's ten instances failing every request from 0 s.
fn ejection(k: u32, max_percent: u32, panic: u32) -> String {
    format!(
        r#"
[fleet.outlier_detection]
max_ejection_percent = {max_percent}
panic_threshold = {panic}
[[faults]]
kind = "error_rate"
target = "old"
rate = 1.0
instances = {k}
"#
    )
}

#[test]
fn issue14_ejection_times_follow_base_times_ejection_count() {
    // The bad instance gets 90 % / 10 of 100 req/s = 9 req/s: its fifth failure in a row
    // (consecutive_5xx 5) comes within a second of 0 s and ejects it (1 of 10: 10 % ≤ 10 %).
    // Ejection n lasts 30 s × n (base_ejection_time × ejections in a row); it comes back at
    // the first sweep (every 10 s) after that, and fails five times again within a second:
    //   ejected ≈ 0.6 s  → back at the sweep ≥ 30.6 s  = 40 s
    //   ejected ≈ 40.6 s → back at the sweep ≥ 100.6 s = 110 s
    //   ejected ≈ 110.6  → back at ≥ 200.6 = 210 s
    //   ejected ≈ 210.6  → back at ≥ 330.6 = 340 s
    //   ejected ≈ 340.6  → back at ≥ 490.6: after the 400 s horizon.
    // Five ejections, and exactly five failed requests each: users only meet the bad
    // instance between an unejection and its next ejection. (A fixed 30 s would give ten.)
    for r in first_runs(&held_canary("400s", 1, &ejection(1, 10, 50))) {
        assert_eq!(r.ejections, 5);
        assert_eq!(r.failed_requests, 25);
    }
}

#[test]
fn issue14_max_ejection_percent_and_the_panic_threshold_hold() {
    // Two bad instances of ten: at 10 % only one may be out at a time (a second would make
    // 20 %), so the other keeps failing its ~9 req/s; at 20 % both are ejected and users see
    // five failures per ejection only.
    let runs = |k, max_percent, panic| {
        first_runs(&held_canary("400s", 1, &ejection(k, max_percent, panic)))
    };
    let [capped, both, calm, panic] = [
        runs(2, 10, 50),
        runs(2, 20, 50),
        // Six bad instances of ten with no cap: the sixth ejection leaves 4 of 10 = 40 % < 50 %
        // healthy, the panic threshold: requests go to every instance again, the bad ones
        // included, and keep failing. Without a panic threshold (0 %) every bad one stays out.
        runs(6, 100, 0),
        runs(6, 100, 50),
    ];
    // Where every bad instance is out, five failures per ejection; where one is kept, more
    // than twenty times as many.
    let hidden_from = |hidden: &RunOutcome, kept: &RunOutcome| {
        assert_eq!(hidden.failed_requests, 5 * hidden.ejections);
        let (h, k) = (hidden.failed_requests, kept.failed_requests);
        assert!(k > 20 * h, "{k} vs {h}");
    };
    for m in 0..2 {
        hidden_from(&both[m], &capped[m]);
        hidden_from(&calm[m], &panic[m]);
    }
}

#[test]
fn issue14_a_rolling_update_stalled_by_readiness_is_detected_by_readiness() {
    // A crash-looping release never passes readiness: the rolling update makes no progress
    // and gives up at its 600 s deadline. With a readiness probe configured that is what the
    // probe found (`detected_by = readiness`); without one, the deadline's own.
    let text = shortened(
        "scenarios/rolling-crash-loop.toml",
        &[("replications = 10", "replications = 1")],
    );
    let plain = first_run(&text);
    let probed = first_run(&format!("{text}\n[fleet.probes.readiness]\n"));
    assert_eq!(plain.detected_by, Some(Detector::ProgressDeadline));
    assert_eq!(probed.detected_by, Some(Detector::Readiness));
    assert_eq!(secs(plain.detected), Some(600.0));
    assert_eq!(probed.detected, plain.detected);
}

#[test]
fn issue14_ejection_hides_a_bad_instance_from_users_and_from_the_analysis() {
    // The bundled drill, one replication: one of v2's ten instances fails every request.
    let drill = |outlier: bool| {
        let mut replacements = vec![("replications = 10", "replications = 1")];
        if !outlier {
            replacements.push(("[fleet.outlier_detection]", ""));
        }
        let text = shortened(
            "scenarios/outlier-ejection-one-bad-instance.toml",
            &replacements,
        );
        first_runs(&text)
    };
    for (hidden, seen) in drill(true).into_iter().zip(drill(false)) {
        // Without ejection blue-green's post-promotion analysis sees 10 % errors (> 1 %) and
        // switches back.
        assert!(seen.rolled_back);
        assert_eq!(seen.detected_by, Some(Detector::Analysis));
        // With it, users meet the bad instance for five requests per ejection only, the analysis
        // sees as little, and v2 ships with the bad instance hidden by the mesh.
        assert!(!hidden.rolled_back && hidden.rollout.is_some());
        // (At most five per ejection: a baseline error, 0.1 %, counts as the baseline's, and
        // the bad instance may be back and short of five at the horizon.)
        assert!(hidden.ejections >= 5);
        assert!(hidden.failed_requests <= 5 * hidden.ejections);
        assert!(hidden.failed_requests >= 5 * (hidden.ejections - 1));
        assert_eq!(hidden.detected, None);
    }
}

#[test]
fn issue16_windows_mode_runs_probes_instance_faults_and_ejection() {
    let load = |name: &str| {
        rehearsal::scenario::load(std::path::Path::new(&format!("scenarios/{name}.toml")))
            .expect("bundled scenario loads")
    };
    assert_eq!(unsupported(&load("probes-liveness-memory-leak")), None);
    assert_eq!(
        unsupported(&load("outlier-ejection-one-bad-instance")),
        None
    );
    let partial = scenario(&held_canary(
        "10m",
        1,
        "[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 1.0\ninstances = 1\n",
    ));
    // Only its population is too large for its traffic; the instance fault is supported.
    assert!(unsupported(&partial).is_none_or(|f| f.starts_with("traffic.users")));
}

#[test]
fn issue14_bad_probe_and_ejection_values_name_the_field() {
    let error = |body: &str| {
        rehearsal::scenario::parse(&held_canary("10m", 1, body), std::path::Path::new("p.toml"))
            .expect_err(body)
    };
    let e = error("[fleet.probes.liveness]\nsuccess_threshold = 2\n");
    assert_eq!(e.field, "fleet.probes.liveness.success_threshold");
    assert_eq!(
        e.message,
        "2 is not allowed; a liveness probe's success threshold must be 1 (Kubernetes)"
    );
    let e = error("[fleet.probes.readiness]\nperiod = \"100ms\"\n");
    assert_eq!(e.field, "fleet.probes.readiness.period");
    let e = error("[fleet.probes.readiness]\nfailure_threshold = 0\n");
    assert_eq!(e.field, "fleet.probes.readiness.failure_threshold");
    let e = error("[fleet.probes]\n");
    assert_eq!(e.field, "fleet.probes");
    let e = error("[fleet.outlier_detection]\nmax_ejection_percent = 120\n");
    assert_eq!(e.field, "fleet.outlier_detection.max_ejection_percent");
    assert_eq!(
        e.message,
        "120 is not allowed; expected a percentage from 0 to 100"
    );
    let e = error("[fleet.probes.readiness]\nperiods = \"10s\"\n");
    assert!(e.message.contains("periods"), "{e}");
    let e =
        error("[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 1.0\ninstances = 11\n");
    assert_eq!(e.field, "faults[0].instances");
    assert_eq!(
        e.message,
        "11 is not allowed; expected at most fleet.instances (10)"
    );
    let e = error("[[faults]]\nkind = \"dependency_outage\"\nprobe = \"yes\"\n");
    assert_eq!(e.field, "faults[0].probe");
    assert_eq!(e.message, "\"yes\" is not allowed; expected true or false");
}

#[test]
fn issue14_a_blue_green_that_never_switches_is_detected_by_readiness() {
    // Green crash-loops: it never passes readiness, the switch never comes, and with
    // `progress_deadline_abort` the rollout is declared failed 600 s after its start.
    let text = |probes: &str| {
        format!(
            r#"
name = "bg-readiness"
horizon = "15m"
seed = 5
replications = 1
[traffic]
rate = 50.0
users = 5000
[versions.old]
[versions.new]
[[faults]]
kind = "crash_loop"
target = "new"
[[strategies]]
name = "bg"
kind = "blue_green"
progress_deadline_abort = true
{probes}
"#
        )
    };
    let plain = first_run(&text(""));
    let probed = first_run(&text("[fleet.probes.readiness]"));
    assert_eq!(plain.detected_by, Some(Detector::ProgressDeadline));
    assert_eq!(probed.detected_by, Some(Detector::Readiness));
    assert_eq!(secs(probed.detected), Some(600.0));
    assert_eq!(probed.detected, plain.detected);
}
