//! Issue 10: the generic strategies where they follow the real controllers. A canary's weight
//! applies only once its instances are ready, as Argo Rollouts' setWeight step waits for
//! `ceil(w × N / 100)` available canary pods and Flagger shifts no traffic to a canary that is
//! not ready; a blue-green keeps blue up while its post-promotion analysis runs, as Argo does.

use crate::common::{Preamble, analysis, run, run_both, secs};
use rehearsal::outcome::Detector;

/// 200 req/s over 20 000 users, 10 instances starting in 30 s.
const FLEET: Preamble = Preamble {
    name: "ready",
    seed: 10,
    traffic: "rate = 200.0\nusers = 20000",
    tables: "[fleet]\ninstances = 10\nstartup = \"30s\"\n",
};

/// Argo's background-analysis example ladder: 20/40/60/80 % with 10-minute pauses.
const ARGO_LADDER: &str = r#"steps = [
  { weight = 20, pause = "10m" },
  { weight = 40, pause = "10m" },
  { weight = 60, pause = "10m" },
  { weight = 80, pause = "10m" },
]"#;

#[test]
fn issue10_each_step_waits_for_its_instances_then_pauses() {
    // 20 % needs 2 instances, ready at 30 s; its pause runs 30–630 s. 40 % needs 4: the two
    // new ones are ready at 660 s, pause to 1260 s; 60 % at 1290 s, pause to 1890 s; 80 % at
    // 1920 s, pause to 2520 s; promotion needs all 10, ready at 2550 s.
    // rollout = 4 × 600 s + 5 × 30 s = 2550 s (Argo: ≈ 2,550 s).
    let text = FLEET.text(
        "1h",
        3,
        &format!("[[strategies]]\nname = \"c\"\nkind = \"canary\"\n{ARGO_LADDER}\n"),
    );
    for r in &run(&text).runs {
        assert_eq!(secs(r.rollout), Some(2550.0));
        assert!(!r.rolled_back);
    }
}

#[test]
fn issue10_prescaled_keeps_the_old_timing() {
    // Ready at once: rollout = 4 × 600 s = 2400 s.
    let text = FLEET.text(
        "1h",
        2,
        &format!(
            "[[strategies]]\nname = \"c\"\nkind = \"canary\"\nprescaled = true\n{ARGO_LADDER}\n"
        ),
    );
    for r in &run(&text).runs {
        assert_eq!(secs(r.rollout), Some(2400.0));
    }
}

#[test]
fn issue10_a_crash_looping_canary_gets_no_traffic_and_misses_its_deadline() {
    // The candidate's instances never become ready, so the weight stays 0: nobody is hurt,
    // and the rollout is declared failed at the progress deadline, 600 s (the default) after
    // the step began. With `prescaled = true` the old model routes 20 % to it and every such
    // request fails, so the analysis catches it instead.
    let body = |extra: &str| {
        format!(
            "[[faults]]\nkind = \"crash_loop\"\ntarget = \"new\"\n{}\n[[strategies]]\nname = \"c\"\nkind = \"canary\"\n{extra}{ARGO_LADDER}\n",
            analysis("30s", 2)
        )
    };
    for r in &run(&FLEET.text("30m", 3, &body(""))).runs {
        assert_eq!(r.detected_by, Some(Detector::ProgressDeadline));
        assert_eq!(secs(r.detected), Some(600.0));
        assert!(r.rolled_back);
        assert_eq!((r.failed_requests, r.affected_users), (0, 0));
        assert_eq!(r.onset, None);
    }
    let short = body("progress_deadline = \"2m\"\n");
    for r in &run(&FLEET.text("30m", 2, &short)).runs {
        assert_eq!(secs(r.detected), Some(120.0));
    }
    for r in &run(&FLEET.text("30m", 2, &body("prescaled = true\n"))).runs {
        assert_eq!(r.detected_by, Some(Detector::Analysis));
        assert!(r.failed_requests > 0);
    }
}

#[test]
fn issue10_a_crash_loop_after_the_canary_serves_still_fails_its_requests() {
    // The canary is ready and serving 20 % from 30 s; its instances start crash-looping at
    // 120 s. The mesh keeps routing the weight to them until the analysis (30 s interval,
    // threshold 2) rolls back: checks at 150 s and 180 s fail, so the rollback is at 180 s and
    // requests fail only over [120 s, 180 s): about 200 × 0.2 × 60 = 2,400 of them.
    let text = FLEET.text(
        "30m",
        5,
        &format!(
            "[[faults]]\nkind = \"crash_loop\"\ntarget = \"new\"\nstart = \"2m\"\n{}\n[[strategies]]\nname = \"c\"\nkind = \"canary\"\n{ARGO_LADDER}\n",
            analysis("30s", 2)
        ),
    );
    let runs = run(&text).runs;
    for r in &runs {
        assert_eq!(secs(r.detected), Some(180.0));
        assert!(secs(r.onset).unwrap() >= 120.0);
    }
    let mean = runs.iter().map(|r| r.failed_requests as f64).sum::<f64>() / runs.len() as f64;
    // Poisson count of mean 2,400: sd ≈ 49, so ± 5 % is over 2 sd for a mean of 5 runs.
    assert!((mean - 2400.0).abs() < 120.0, "{mean}");
}

/// Argo's blue-green post-promotion example: 4 instances starting in 30 s, 200 req/s, checks
/// every 60 s with threshold 1, 4 minutes of post-promotion analysis.
fn argo_blue_green(fault: &str) -> String {
    Preamble {
        name: "argo-bg",
        seed: 23,
        traffic: "rate = 200.0\nusers = 20000",
        tables: "[fleet]\ninstances = 4\nstartup = \"30s\"\n",
    }
    .text(
        "1h",
        10,
        &format!(
            "{fault}{}\n[[strategies]]\nname = \"delay-30s\"\nkind = \"blue_green\"\npost_promotion = \"4m\"\n\n[[strategies]]\nname = \"delay-600s\"\nkind = \"blue_green\"\npost_promotion = \"4m\"\nscale_down_delay = \"600s\"\n",
            analysis("60s", 1)
        ),
    )
}

#[test]
fn issue10_blue_green_switches_back_at_once_while_post_promotion_analysis_runs() {
    // Green is ready and takes all traffic at 30 s; the first post-promotion check (90 s)
    // fails and decides the rollback. Blue is still fully up whatever `scale_down_delay` (Argo
    // keeps the stable ReplicaSet until the post-promotion run succeeds), so traffic is back
    // at 90 s: every request of [30 s, 90 s) failed, 200 × 60 = 12,000.
    let crash = "[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 1.0\n";
    let result = run(&argo_blue_green(crash));
    for r in &result.runs {
        assert_eq!(secs(r.detected), Some(90.0), "{}", r.strategy);
        assert_eq!(secs(r.recovered), Some(90.0), "{}", r.strategy);
    }
    for strategy in 0..2 {
        let runs = result.runs_of(strategy);
        let mean = runs.iter().map(|r| r.failed_requests as f64).sum::<f64>() / runs.len() as f64;
        // Poisson mean 12,000 (sd ≈ 110 per run): the mean of 10 runs is within 1 %.
        assert!((mean - 12_000.0).abs() < 120.0, "{mean}");
    }
}

#[test]
fn issue10_blue_green_scale_down_delay_counts_from_the_post_promotion_success() {
    // Healthy: the switch at 30 s, post-promotion analysis to 270 s (the rollout), then blue
    // is scaled down 30 s or 600 s later: at 300 s or 870 s. Instance-seconds over the hour:
    // green 4 × 3600 plus blue 4 × 300 = 15,600, or 4 × 870 more = 17,880.
    let result = run(&argo_blue_green(""));
    for (strategy, expected) in [(0, 15_600.0), (1, 17_880.0)] {
        for r in result.runs_of(strategy) {
            assert_eq!(secs(r.rollout), Some(270.0));
            assert!(
                (r.instance_seconds - expected).abs() < 1e-6,
                "{}",
                r.instance_seconds
            );
        }
    }
}

/// An Argo blue-green whose pre-promotion analysis (30 s checks, threshold 2) runs on
/// synthetic preview traffic only (20 req/s), with no post-promotion analysis.
fn preview(faults: &str, extra: &str) -> String {
    FLEET.text(
        "30m",
        2,
        &format!(
            "{faults}{}\n[[strategies]]\nname = \"bg\"\nkind = \"blue_green\"\npre_promotion = \"2m\"\npreview_rate = 20\npost_promotion = \"0s\"\n{extra}\n",
            analysis("30s", 2)
        ),
    )
}

#[test]
fn issue10_blue_green_pre_promotion_on_synthetic_preview_traffic() {
    // In both modes (issue 16). Green is ready at 30 s; the preview runs 30–150 s with checks at 60, 90, 120 and 150 s
    // on load-test requests only; the switch follows at 150 s (rollout_s, no post-promotion).
    for r in run_both(&preview("", "")).iter().flat_map(|(_, x)| &x.runs) {
        assert_eq!(secs(r.rollout), Some(150.0), "{r:?}");
        assert_eq!(r.failed_checks, 0);
    }
    // A crashing green fails the checks at 60 s and 90 s: aborted at 90 s before any user
    // reached it.
    let crash = "[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 1.0\n";
    for r in run_both(&preview(crash, ""))
        .iter()
        .flat_map(|(_, x)| &x.runs)
    {
        assert_eq!(secs(r.detected), Some(90.0), "{r:?}");
        assert_eq!((r.failed_requests, r.affected_users), (0, 0));
    }
    // previewReplicaCount 3: green runs 3 instances for the preview and scales to 10 when
    // the switch is decided (150 s); the 7 new ones are ready at 180 s, then the switch.
    for r in run_both(&preview("", "preview_replicas = 3"))
        .iter()
        .flat_map(|(_, x)| &x.runs)
    {
        assert_eq!(secs(r.rollout), Some(180.0), "{r:?}");
    }
}

#[test]
fn issue10_blue_green_deadline_marks_degraded_unless_abort() {
    // A crash-looping green is never ready: at the progress deadline (600 s) Argo marks the
    // rollout Degraded and keeps blue serving; with progressDeadlineAbort it aborts.
    let crash_loop = "[[faults]]\nkind = \"crash_loop\"\ntarget = \"new\"\n";
    let body = |extra: &str| {
        format!("{crash_loop}[[strategies]]\nname = \"bg\"\nkind = \"blue_green\"\n{extra}\n")
    };
    for r in &run(&FLEET.text("20m", 2, &body(""))).runs {
        assert_eq!(secs(r.degraded), Some(600.0));
        assert!(!r.rolled_back && r.detected.is_none() && r.rollout.is_none());
    }
    for r in &run(&FLEET.text("20m", 2, &body("progress_deadline_abort = true"))).runs {
        assert_eq!(r.detected_by, Some(Detector::ProgressDeadline));
        assert_eq!(secs(r.detected), Some(600.0));
        assert!(r.rolled_back && r.degraded.is_none());
    }
}

/// Argo's blue-green post-promotion example with its AnalysisTemplate: a service-wide success
/// rate every 60 s, 5 measurements, failureLimit 0.
fn post_promotion_template(faults: &str) -> String {
    FLEET.text(
        "30m",
        2,
        &format!(
            r#"{faults}
[[strategies]]
name = "bg"
kind = "blue_green"
post_promotion_analysis = {{ templates = ["success-rate"] }}
[[analysis_templates.success-rate.metrics]]
name = "success-rate"
measure = "success_rate"
interval = "60s"
count = 5
success_condition = "result[0] >= 0.95"
"#
        ),
    )
}

#[test]
fn issue10_blue_green_post_promotion_run_ends_at_its_count() {
    // Green is ready at 30 s and traffic switches at once; the run measures at 30, 90, 150,
    // 210 and 270 s and is Successful at its 5th measurement: the promotion is final at 270 s
    // and blue scales down 30 s later. Instances: blue 10 × 300 + green 10 × 1800 = 21,000.
    for r in &run(&post_promotion_template("")).runs {
        assert_eq!(secs(r.rollout), Some(270.0), "{r:?}");
        assert_eq!(r.checks, 5);
        assert!(
            (r.instance_seconds - 21_000.0).abs() < 1e-6,
            "{}",
            r.instance_seconds
        );
    }
    // A crash: the measurement at the switch (30 s) reads the 30 s before it, all on blue,
    // and passes; the one at 90 s fails (1 > failureLimit 0): the switch back is at once,
    // blue being up, after 200 × 60 = 12,000 failed requests (sd ≈ 110).
    let crash = "[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 1.0\n";
    for r in &run(&post_promotion_template(crash)).runs {
        assert_eq!(secs(r.detected), Some(90.0), "{r:?}");
        assert_eq!(secs(r.recovered), Some(90.0));
        let failed = r.failed_requests as f64;
        assert!((failed - 12_000.0).abs() < 500.0, "{failed}");
    }
}

#[test]
fn issue13_a_zero_startup_is_heard_by_every_strategy_that_waits_for_readiness() {
    // Instances that start in 0 s are ready at once, and the strategies waiting for them hear
    // it: blue-green switches at 0 s; the canary's 20 % applies at 0 s and promotes after its
    // 1-minute pause; Flagger sets 50 % at tick 1 (60 s), promotes at tick 2 (120 s, no
    // metric to check) and routes to the new primary at tick 3 (180 s); Argo's 50 % applies at
    // 0 s and the canary is full at the end of the pause (60 s). No progress deadline fires.
    let text = r#"
name = "zero-startup"
horizon = "30m"
replications = 2
[traffic]
rate = 50.0
users = 5000
[versions.old]
[versions.new]
[fleet]
instances = 4
startup = "0s"
[[strategies]]
name = "bg"
kind = "blue_green"
[[strategies]]
name = "c"
kind = "canary"
steps = [{ weight = 20, pause = "1m" }]
[[strategies]]
name = "f"
kind = "flagger"
step_weight = 50
max_weight = 50
[[strategies]]
name = "a"
kind = "argo_canary"
steps = [{ set_weight = 50 }, { pause = "1m" }]
"#;
    for r in &run(text).runs {
        let want = match r.strategy.as_str() {
            "bg" => 0.0,
            "f" => 180.0,
            _ => 60.0,
        };
        assert_eq!(secs(r.rollout), Some(want), "{r:?}");
        assert!(r.detected.is_none() && r.degraded.is_none(), "{r:?}");
    }
}
