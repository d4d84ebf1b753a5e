//! Issue 13: reliability — runs that end, errors that name the run, suites that go on.

use crate::common::{output, run, scenario};
use rehearsal::replications::run_scenario;
use std::ffi::OsStr;
use std::fs;
use std::path::Path;

/// A crash-looping candidate (it never passes readiness) under the default `rolling` and
/// `blue_green` strategies, with a database that can only roll forward: the progress deadline
/// fires at 600 s, the rollout freezes until the hotfix (median 20 min) and the run goes on to
/// its horizon. The budget of 50 control events is far below what a loop would take.
const CRASH_LOOP_ROLL_FORWARD: &str = r#"
name = "crash-loop-roll-forward"
horizon = "1h"
seed = 7
replications = 3
slo_latency = "1s"
[traffic]
rate = 50.0
users = 5000
[versions.old]
[versions.new]
[fleet]
instances = 8
capacity_rps = 140
startup = "30s"
[database]
rollback = "roll_forward"
hotfix_time = { median = "20m" }
[[faults]]
kind = "crash_loop"
target = "new"
[limits]
max_events = 50
[[strategies]]
name = "roll"
kind = "rolling"
[[strategies]]
name = "bg"
kind = "blue_green"
"#;

/// A canary with a step pause past the half-hour and a budget of 3 control events: every run
/// exhausts it.
const TINY_BUDGET: &str = r#"
name = "budget"
horizon = "1h"
seed = 7
replications = 3
[traffic]
rate = 10.0
users = 100
[versions.old]
[versions.new]
[[faults]]
kind = "error_rate"
target = "new"
rate = 0.05
[limits]
max_events = 3
[[strategies]]
name = "c"
kind = "canary"
steps = [{ weight = 10, pause = "30m" }, { weight = 100 }]
"#;

#[test]
fn issue13_crash_looping_candidate_rolled_forward_runs_to_its_horizon() {
    let result = run(CRASH_LOOP_ROLL_FORWARD);
    assert_eq!(result.runs.len(), 6);
    for r in &result.runs {
        // The progress deadline (600 s) declares the failure; nothing is rolled back and the
        // crash-looping candidate never completes its rollout.
        assert_eq!(r.detected.map(|t| t.as_secs_f64()), Some(600.0), "{r:?}");
        assert!(!r.rolled_back, "{r:?}");
        assert_eq!(r.rollout, None, "{r:?}");
    }
}

#[test]
fn issue13_exhausted_event_budget_names_the_strategy_and_the_replication() {
    let err = run_scenario(&scenario(TINY_BUDGET)).unwrap_err();
    assert_eq!((err.strategy.as_str(), err.replication), ("c", 0));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("budget.toml");
    fs::write(&file, TINY_BUDGET).unwrap();
    let stderr = |jobs: &str| {
        let out = output(&[
            OsStr::new("run"),
            file.as_os_str(),
            OsStr::new("-j"),
            OsStr::new(jobs),
            OsStr::new("--out"),
            tmp.path().join("out").as_os_str(),
        ]);
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8(out.stderr).unwrap()
    };
    let one = stderr("1");
    assert!(
        one.contains(
            "budget.toml: the run stopped: strategy \"c\" (canary), replication 0 (scenario seed 7): \
             event budget of 3 control events exhausted at t="
        ),
        "{one}"
    );
    assert!(one.contains("raise limits.max_events"), "{one}");
    // The run named is the first in job order, whatever thread failed first.
    assert_eq!(one, stderr("2"));
    assert!(!tmp.path().join("out").join("runs.csv").exists());
}

/// A suite of `files` (name, text) in a temporary folder.
fn suite(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir(tmp.path().join("suite")).unwrap();
    for (name, text) in files {
        fs::write(tmp.path().join("suite").join(name), text).unwrap();
    }
    tmp
}

fn drill(dir: &Path) -> std::process::Output {
    output(&[
        OsStr::new("drill"),
        dir.join("suite").as_os_str(),
        OsStr::new("--out"),
        dir.join("out").as_os_str(),
    ])
}

#[test]
fn issue13_drill_goes_on_after_a_scenario_stops_and_writes_the_suite_summary() {
    let good = CRASH_LOOP_ROLL_FORWARD.replace("replications = 3", "replications = 1");
    // File-name order: the failing scenario runs first.
    let tmp = suite(&[("a-budget.toml", TINY_BUDGET), ("b-good.toml", &good)]);
    let out = drill(tmp.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("a-budget.toml: the run stopped: strategy \"c\" (canary), replication 0"),
        "{stderr}"
    );
    assert!(
        stdout.contains(
            "drill: 1 scenario (1 scenario stopped before its horizon and is not in the suite files: budget)"
        ),
        "{stdout}"
    );
    let outdir = tmp.path().join("out");
    assert!(outdir.join("crash-loop-roll-forward/runs.csv").exists());
    assert!(!outdir.join("budget").exists());
    let summary = fs::read_to_string(outdir.join("summary.csv")).unwrap();
    let scenarios: Vec<&str> = summary
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(scenarios, ["crash-loop-roll-forward"; 2], "{summary}");
    assert!(outdir.join("index.html").exists());
}

#[test]
fn issue13_run_refuses_an_out_that_is_a_file_and_leaves_no_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("s.toml");
    fs::write(
        &file,
        CRASH_LOOP_ROLL_FORWARD.replace("replications = 3", "replications = 1"),
    )
    .unwrap();
    let taken = tmp.path().join("taken");
    fs::write(&taken, "mine").unwrap();
    let out = output(&[
        OsStr::new("run"),
        file.as_os_str(),
        OsStr::new("--out"),
        taken.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("taken: is an existing file; expected a folder"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&taken).unwrap(), "mine");

    let dir = tmp.path().join("out");
    for _ in 0..2 {
        // The second run replaces every file of the first.
        crate::common::succeed(&[
            OsStr::new("run"),
            file.as_os_str(),
            OsStr::new("--out"),
            dir.as_os_str(),
        ]);
    }
    let mut names = Vec::new();
    for sub in [dir.clone(), dir.join("plots")] {
        for e in fs::read_dir(sub).unwrap() {
            names.push(e.unwrap().file_name().to_string_lossy().into_owned());
        }
    }
    assert!(names.contains(&"runs.csv".to_string()), "{names:?}");
    assert!(
        names.iter().all(|n| !n.ends_with(".tmp")),
        "temporary files left: {names:?}"
    );
}
