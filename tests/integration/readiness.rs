//! Issue 10, point 1: a canary's weight applies only once its instances are ready, as Argo
//! Rollouts' setWeight step waits for `ceil(w × N / 100)` available canary pods and Flagger
//! shifts no traffic to a canary that is not ready.

use crate::common::{Preamble, analysis, run, secs};
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
