//! Issue 10: `kind = "argo_canary"` with `[analysis_templates]`, against the Argo Rollouts
//! docs' background-analysis example worked out tick by tick from the controller's code.

use crate::common::{Preamble, run, run_both, secs};
use rehearsal::outcome::Detector;
use rehearsal::scenario::parse;
use std::path::Path;

/// 200 req/s over 20 000 users, 10 instances starting in 30 s.
const FLEET: Preamble = Preamble {
    name: "argo",
    seed: 10,
    traffic: "rate = 200.0\nusers = 20000",
    tables: "[fleet]\ninstances = 10\nstartup = \"30s\"\n",
};

/// The docs' `success-rate` template: a service-wide success rate every 5 minutes, failing
/// the run at the fourth failed measurement (failureLimit 3).
const SUCCESS_RATE: &str = r#"
[[analysis_templates.success-rate.metrics]]
name = "success-rate"
measure = "success_rate"
scope = "service"
interval = "5m"
success_condition = "result[0] >= 0.95"
failure_limit = 3
"#;

/// The docs' steps: 20/40/60/80 % with 10-minute pauses.
const STEPS: &str = r#"steps = [
  { set_weight = 20 }, { pause = "10m" },
  { set_weight = 40 }, { pause = "10m" },
  { set_weight = 60 }, { pause = "10m" },
  { set_weight = 80 }, { pause = "10m" },
]"#;

const CRASH: &str = "[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 1.0\n";

fn strategy(extra: &str) -> String {
    format!(
        "[[strategies]]\nname = \"argo\"\nkind = \"argo_canary\"\n{STEPS}\n{extra}\n{SUCCESS_RATE}"
    )
}

const BACKGROUND_FROM_2: &str =
    "background_analysis = { templates = [\"success-rate\"], starting_step = 2 }";

#[test]
fn issue10_argo_background_example_promotes_at_2550s() {
    // setWeight 20: 2 pods ready at 30 s, pause 30–630; 40 %: ready 660, pause to 1260;
    // 60 % at 1290, pause to 1890; 80 % at 1920, pause to 2520; after the last step the
    // desired weight is 100: 10 pods, ready at 2550 s = 4 × 600 + 5 × 30.
    // The background run starts at step 2 (630 s) and measures at 630, 930, …, 2430: 7.
    // Instances: stable 10 × (2550 + 30 scale-down delay) = 25,800; canary 2, 4, 6, 8 over
    // 630 s each and 10 over the last 1,080 s: 12,600 + 10,800 = 23,400; 49,200 in all.
    // In both modes (issue 16).
    let text = FLEET.text("1h", 2, &strategy(BACKGROUND_FROM_2));
    for r in run_both(&text).iter().flat_map(|(_, x)| &x.runs) {
        assert_eq!(secs(r.rollout), Some(2550.0));
        assert_eq!((r.checks, r.failed_checks), (7, 0));
        assert!(!r.rolled_back && r.degraded.is_none());
        assert!(
            (r.instance_seconds - 49_200.0).abs() < 1e-6,
            "{}",
            r.instance_seconds
        );
    }
}

#[test]
fn issue10_argo_crash_with_starting_step_aborts_at_1530s_after_reaching_60_percent() {
    // The run starts at 630 s; every measurement fails (the service's success rate is at most
    // 80 %): 630, 930, 1230 and, at 1530, the fourth: 4 > failureLimit 3, the run is Failed
    // and the rollout aborts. Failed measurements do not hold the steps: 20 % over 30–660,
    // 40 % over 660–1290, 60 % over 1290–1530. Failed requests at 200 req/s:
    // 200 × (0.2 × 630 + 0.4 × 630 + 0.6 × 240) = 104,400 (Poisson noise: sd ≈ 323). In both
    // modes (issue 16).
    let text = FLEET.text("1h", 3, &format!("{CRASH}{}", strategy(BACKGROUND_FROM_2)));
    for r in run_both(&text).iter().flat_map(|(_, x)| &x.runs) {
        assert_eq!(r.detected_by, Some(Detector::Analysis));
        assert_eq!(secs(r.detected), Some(1530.0));
        assert_eq!((r.checks, r.failed_checks), (4, 4));
        assert!(r.rolled_back && r.rollout.is_none());
        let failed = r.failed_requests as f64;
        assert!((failed - 104_400.0).abs() < 4.0 * 323.0, "{failed}");
    }
}

#[test]
fn issue10_argo_crash_without_starting_step_aborts_at_1200s() {
    // The run starts with the rollout: its first measurement at 0 s passes (no canary traffic
    // yet; the query is service-wide), those at 300, 600, 900 and 1200 fail: abort at 1200 s,
    // at 40 %. Failed: 200 × (0.2 × 630 + 0.4 × 540) = 68,400 (sd ≈ 262). In both modes
    // (issue 16): the measurement at 0 s reads the stable's steady state in both.
    let background = "background_analysis = { templates = [\"success-rate\"] }";
    let text = FLEET.text("1h", 3, &format!("{CRASH}{}", strategy(background)));
    for r in run_both(&text).iter().flat_map(|(_, x)| &x.runs) {
        assert_eq!(secs(r.detected), Some(1200.0));
        assert_eq!((r.checks, r.failed_checks), (5, 4));
        let failed = r.failed_requests as f64;
        assert!((failed - 68_400.0).abs() < 4.0 * 262.0, "{failed}");
    }
    // With dynamicStableScale the stable runs ⌈(100 − 40) × 10 / 100⌉ = 6 at the abort: it
    // scales back to 10 (ready 30 s later) before traffic leaves the canary, at 1230 s:
    // 200 × 0.4 × 30 = 2,400 more failed requests.
    let dynamic = format!("{background}\ndynamic_stable_scale = true");
    let text = FLEET.text("1h", 3, &format!("{CRASH}{}", strategy(&dynamic)));
    for r in &run(&text).runs {
        assert_eq!(secs(r.detected), Some(1200.0));
        assert_eq!(secs(r.recovered), Some(1230.0));
        let failed = r.failed_requests as f64;
        assert!((failed - 70_800.0).abs() < 4.0 * 266.0, "{failed}");
    }
}

#[test]
fn issue10_argo_crash_loop_is_degraded_not_aborted_unless_asked() {
    // The canary's pods never become available, so 20 % never applies: nobody is hurt. With
    // startingStep 2 no analysis runs. At the progress deadline (600 s) Argo marks the rollout
    // Degraded and does nothing else; with progressDeadlineAbort it aborts then.
    let crash_loop = "[[faults]]\nkind = \"crash_loop\"\ntarget = \"new\"\n";
    let text = FLEET.text(
        "30m",
        2,
        &format!("{crash_loop}{}", strategy(BACKGROUND_FROM_2)),
    );
    for r in &run(&text).runs {
        assert_eq!(secs(r.degraded), Some(600.0));
        assert_eq!((r.failed_requests, r.affected_users, r.checks), (0, 0, 0));
        assert!(!r.rolled_back && r.rollout.is_none() && r.detected.is_none());
    }
    let abort = format!("{BACKGROUND_FROM_2}\nprogress_deadline_abort = true");
    let text = FLEET.text("30m", 2, &format!("{crash_loop}{}", strategy(&abort)));
    for r in &run(&text).runs {
        assert_eq!(r.detected_by, Some(Detector::ProgressDeadline));
        assert_eq!(secs(r.detected), Some(600.0));
        assert!(r.rolled_back && r.degraded.is_none());
        assert_eq!(r.failed_requests, 0);
    }
}

/// A strategy with an inline analysis step of template `smoke`, then 50 % for 5 minutes.
fn smoke(template: &str) -> String {
    format!(
        r#"[[strategies]]
name = "argo"
kind = "argo_canary"
steps = [{{ set_weight = 20 }}, {{ analysis = {{ templates = ["smoke"] }} }}, {{ set_weight = 50 }}, {{ pause = "5m" }}]
promotion_delay = {{ median = "10m", sigma = 0.0 }}
[[analysis_templates.smoke.metrics]]
name = "ok"
measure = "success_rate"
interval = "1m"
{template}
"#
    )
}

#[test]
fn issue10_argo_analysis_step_blocks_until_successful_and_measures_at_once() {
    // 20 % at 30 s; the step's run measures at once, then every minute: 30, 90, 150 s, and
    // with count 3 it is Successful at 150 s. 50 % needs 5 pods: 3 more, ready at 180 s;
    // pause to 480 s; then 10 pods, ready at 510 s: promotion.
    let text = FLEET.text(
        "20m",
        2,
        &smoke("count = 3\nsuccess_condition = \"result[0] >= 0.95\""),
    );
    for r in &run(&text).runs {
        assert_eq!(secs(r.rollout), Some(510.0));
        assert_eq!(r.checks, 3);
    }
    // A crashing candidate: the measurement at 30 s reads [−30 s, 30 s), no canary traffic
    // yet, and passes; the one at 90 s sees 20 % failing: 1 > failureLimit 0, abort at 90 s.
    let text = FLEET.text(
        "20m",
        2,
        &format!(
            "{CRASH}{}",
            smoke("count = 3\nsuccess_condition = \"result[0] >= 0.95\"")
        ),
    );
    for r in &run(&text).runs {
        assert_eq!(secs(r.detected), Some(90.0));
        assert_eq!((r.checks, r.failed_checks), (2, 1));
    }
}

#[test]
fn issue10_argo_inconclusive_step_waits_for_the_human_and_empty_data_is_an_error() {
    // Candidate-scoped: at 30 s the canary has served nothing, so the query returns no series:
    // an Error, retried 10 s later. At 40 s the candidate's success rate is about 97 %:
    // neither ≥ 99.5 % nor < 90 %, Inconclusive, and inconclusiveLimit 0 ends the run
    // Inconclusive: the rollout pauses until the human promotes, 10 minutes later (σ = 0), at
    // 640 s. Then 50 % (ready at 670 s), pause to 970 s, 10 pods ready at 1000 s.
    let template = "scope = \"candidate\"\nsuccess_condition = \"result[0] >= 0.995\"\nfailure_condition = \"result[0] < 0.90\"";
    let fault = "[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 0.03\n";
    let text = FLEET.text("30m", 2, &format!("{fault}{}", smoke(template)));
    for r in &run(&text).runs {
        assert_eq!(
            (r.checks, r.inconclusive_checks),
            (2, 1),
            "one error, one inconclusive"
        );
        assert_eq!(secs(r.rollout), Some(1000.0));
        assert!(r.detected.is_none());
    }
}

#[test]
fn issue10_argo_indefinite_pause_waits_for_the_promotion_delay() {
    // 20 % at 30 s, then `pause = {}` until the human promotes, 10 minutes later (σ = 0): 630 s;
    // 100 % needs all 10 pods, ready at 660 s, and the rollout completes at once.
    let text = FLEET.text(
        "30m",
        2,
        r#"[[strategies]]
name = "argo"
kind = "argo_canary"
steps = [{ set_weight = 20 }, { pause = {} }, { set_weight = 100 }]
promotion_delay = { median = "10m", sigma = 0.0 }
"#,
    );
    for r in &run(&text).runs {
        assert_eq!(secs(r.rollout), Some(660.0));
    }
}

fn error_of(body: &str) -> String {
    let text = FLEET.text("1h", 1, body);
    parse(&text, Path::new("argo.toml"))
        .map(|_| String::new())
        .unwrap_or_else(|e| e.to_string())
}

#[test]
fn issue10_argo_mistakes_are_named_with_the_fix() {
    let cases: [(&str, &str); 7] = [
        (
            "background_analysis = { templates = [\"sucess-rate\"] }",
            "strategies[0].background_analysis.templates[0]: unknown template \"sucess-rate\"; expected one of success-rate (did you mean \"success-rate\"?)",
        ),
        ("", ""),
        (
            "dynamic_stable_scale = true\nsticky = true",
            "an argo_canary strategy takes no `sticky`",
        ),
        (
            "promotion_delay = { median = \"0s\" }",
            "strategies[0].promotion_delay.median: \"0s\" must be longer than 0",
        ),
        ("[analysis]\ninterval = \"1m\"", ""),
        (
            "[strategies.analysis]\ninterval = \"1m\"",
            "strategies[0].analysis: an argo_canary analyses with [analysis_templates]",
        ),
        (
            "background_analysis = { templates = [\"success-rate\"], starting_step = 9 }",
            "starting_step: 9 is past the last step (there are 8)",
        ),
    ];
    for (extra, want) in cases {
        let got = error_of(&strategy(extra));
        assert!(got.contains(want), "{extra}: {got}");
        assert_eq!(got.is_empty(), want.is_empty(), "{extra}: {got}");
    }
    let template = |line: &str| {
        error_of(&format!(
            "[[strategies]]\nname = \"a\"\nkind = \"argo_canary\"\nsteps = [{{ set_weight = 50 }}]\nbackground_analysis = {{ templates = [\"t\"] }}\n[[analysis_templates.t.metrics]]\nname = \"m\"\nmeasure = \"error_rate\"\n{line}\n"
        ))
    };
    for (line, want) in [
        (
            "interval = \"1m\"\nfailure_limit = -1",
            "failure_limit: -1 is not allowed",
        ),
        ("window = \"1m\"\ncount = 3", "count: 3 needs an `interval`"),
        (
            "interval = \"1m\"\nsuccess_condition = \"len(result) > 0\"",
            "success_condition: \"len(result) > 0\" cannot be evaluated: `len` is not supported",
        ),
        (
            "interval = \"1m\"\nscope = \"canary\"",
            "unknown value \"canary\"; expected one of candidate, service",
        ),
        (
            "",
            "window: missing: a metric without `interval` needs the `window`",
        ),
        (
            "interval = \"1m\"\ncount = 2\nfailure_limit = 3",
            "count: 2 is below failure_limit 3",
        ),
    ] {
        let got = template(line);
        assert!(got.contains(want), "{line}: {got}");
    }
    let step = |steps: &str, kind: &str| {
        error_of(&format!(
            "[[strategies]]\nname = \"a\"\nkind = \"{kind}\"\nsteps = {steps}\n"
        ))
    };
    assert!(
        step("[{ weight = 20, pause = \"1m\" }]", "argo_canary")
            .contains("an argo_canary step is one of `set_weight`, `pause` or `analysis`")
    );
    assert!(
        step("[{ set_weight = 20, pause = \"1m\" }]", "argo_canary")
            .contains("a step is exactly one of")
    );
    assert!(step("[{ set_weight = 20 }, { pause = {} }]", "argo_canary")
        .contains("steps[1].pause: an indefinite pause waits for a human: give the strategy `promotion_delay"));
    assert!(step("[{ weight = 20, pause = {} }, { weight = 100 }]", "canary")
        .contains("an indefinite pause (pause = {}, waiting for a human) is a step of kind = \"argo_canary\""));
    assert!(
        step("[{ set_weight = 20 }]", "canary")
            .contains("`set_weight` is a step of kind = \"argo_canary\"")
    );
}
