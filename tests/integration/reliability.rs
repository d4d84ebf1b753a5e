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
# Argo's blue-green only marks the rollout Degraded by default; the livelock was on the path
# where the deadline declares failure.
progress_deadline_abort = true
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

/// A sweep of five grid points whose runs are short (the sweep tests' closed-form canary);
/// `replications` sets its length.
fn tune(dir: &Path, replications: u32) -> std::path::PathBuf {
    let file = dir.join("tune.toml");
    let text = crate::sweep::CLOSED_FORM.replace(
        "replications = 400",
        &format!("replications = {replications}"),
    );
    fs::write(&file, text).unwrap();
    file
}

fn sweep_args<'a>(file: &'a Path, out: &'a Path, extra: &'a [&'a str]) -> Vec<&'a OsStr> {
    let mut args = vec![
        OsStr::new("sweep"),
        file.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    args
}

#[test]
fn issue13_a_killed_sweep_resumes_to_the_bytes_of_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tune(tmp.path(), 300);
    let full = tmp.path().join("full");
    crate::common::succeed(&sweep_args(&file, &full, &[]));

    let killed = tmp.path().join("killed");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rehearsal"))
        .args(sweep_args(&file, &killed, &[]))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let points = killed.join("points");
    let finished = || {
        fs::read_dir(&points).map_or(0, |d| {
            d.filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                !name.to_string_lossy().starts_with('.')
            })
            .count()
        })
    };
    // Wait (polling, no deadline) for the first finished grid point, then SIGKILL.
    while finished() == 0 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Should the sweep have outrun the kill, drop its last points: the rerun must then
    // compute them, as after a kill.
    for i in 2..5 {
        let _ = fs::remove_file(points.join(format!("{i}.csv")));
    }
    let before = finished();
    assert!((1..5).contains(&before), "{before} points finished");

    let rerun = crate::common::succeed(&sweep_args(&file, &killed, &[]));
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    assert!(
        stderr.contains(&format!(
            "sweep: resuming: {before} of 5 grid points already finished in this --out"
        )),
        "{stderr}"
    );
    for f in ["sweep.csv", "pareto.csv"] {
        assert_eq!(
            fs::read(full.join(f)).unwrap(),
            fs::read(killed.join(f)).unwrap(),
            "{f} differs"
        );
    }

    // A changed command refuses the folder and says what differs; --restart starts over.
    let changed = output(&sweep_args(&file, &killed, &["--seed", "4", "-n", "20"]));
    assert_eq!(changed.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&changed.stderr);
    assert!(
        stderr.contains("holds a sweep with other parameters, so it cannot be resumed (seed: 3 ≠ 4, replications: 300 ≠ 20; folder's value first)"),
        "{stderr}"
    );
    let restarted = crate::common::succeed(&sweep_args(
        &file,
        &killed,
        &["--seed", "4", "-n", "20", "--restart"],
    ));
    assert!(!String::from_utf8_lossy(&restarted.stderr).contains("resuming"));
    let params = fs::read_to_string(killed.join("params.txt")).unwrap();
    assert!(
        params.contains("\nseed = 4\nreplications = 20\n"),
        "{params}"
    );
}

/// Runs shard `i` of 2 of `file` into `dir/name` with `extra` arguments.
fn shard(dir: &Path, file: &Path, name: &str, i: u32, extra: &[&str]) -> std::path::PathBuf {
    let out = dir.join(name);
    let s = format!("{i}/2");
    let mut args = vec!["--shard", s.as_str()];
    args.extend(extra);
    crate::common::succeed(&sweep_args(file, &out, &args));
    out
}

fn merge(shards: &[&Path], out: &Path) -> (Option<i32>, String) {
    let mut args = vec![OsStr::new("merge")];
    args.extend(shards.iter().map(|s| s.as_os_str()));
    args.extend([OsStr::new("--out"), out.as_os_str()]);
    let o = output(&args);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn issue13_merge_refuses_mismatched_shards_bad_cells_and_a_shard_as_out() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let file = tune(t, 20);
    let one = shard(t, &file, "one", 1, &[]);
    let two = shard(t, &file, "two", 2, &[]);
    let (code, err) = merge(&[&one, &two], &t.join("merged"));
    assert_eq!(code, Some(0), "{err}");

    let refused = |shards: &[&Path], out: &Path, expected: &str| {
        let (code, err) = merge(shards, out);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(expected), "expected {expected:?} in {err}");
    };
    let out = t.join("out");
    let seed = shard(t, &file, "seed", 2, &["--seed", "9"]);
    refused(&[&one, &seed], &out, "differ in seed: 3 ≠ 9");
    let n = shard(t, &file, "n", 2, &["-n", "10"]);
    refused(&[&one, &n], &out, "differ in replications: 20 ≠ 10");
    let grid = shard(t, &file, "grid", 2, &["--set", "analysis.threshold=1,2"]);
    refused(
        &[&one, &grid],
        &out,
        "differ in grid: analysis.threshold=1,2,3,4,5 ≠ analysis.threshold=1,2, grid_points: 5 ≠ 2",
    );
    let other = t.join("other");
    fs::create_dir(&other).unwrap();
    let text = fs::read_to_string(&file)
        .unwrap()
        .replace("rate = 2.0", "rate = 3.0");
    let other_file = other.join("tune.toml");
    fs::write(&other_file, text).unwrap();
    let scenario = shard(t, &other_file, "scenario", 2, &[]);
    refused(&[&one, &scenario], &out, "differ in scenario: ");

    // Cells edited after the fact: a grid index out of range, a NaN, an infinity.
    let csv = fs::read_to_string(two.join("sweep.csv")).unwrap();
    let edit = |name: &str, from: &str, to: &str| {
        let dir = t.join(name);
        fs::create_dir(&dir).unwrap();
        fs::copy(two.join("params.txt"), dir.join("params.txt")).unwrap();
        let mut lines: Vec<String> = csv.lines().map(String::from).collect();
        lines[1] = lines[1].replacen(from, to, 1);
        fs::write(dir.join("sweep.csv"), lines.join("\n") + "\n").unwrap();
        dir
    };
    let big = edit("big", "1,", "999999,");
    refused(
        &[&one, &big],
        &out,
        "grid index 999999 is not a point of this shard (grid of 5 points, shard 2/2)",
    );
    let nan = edit("nan", ",20,", ",NaN,");
    refused(
        &[&one, &nan],
        &out,
        "column replications: \"NaN\" is not a finite number",
    );
    let inf = edit("inf", ",20,", ",-inf,");
    refused(
        &[&one, &inf],
        &out,
        "column replications: \"-inf\" is not a finite number",
    );

    // Merging into a shard folder would overwrite its sweep.csv.
    refused(
        &[&one, &two],
        &two,
        "is the output folder of a sweep or shard",
    );
    assert_eq!(fs::read_to_string(two.join("sweep.csv")).unwrap(), csv);
}

/// Sends SIGINT to `child` (as Ctrl-C does to the foreground process).
fn interrupt(child: &std::process::Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits (polling, no deadline) until `path` exists or `child` has exited.
fn wait_for(path: &Path, child: &mut std::process::Child) {
    while !path.exists() && child.try_wait().unwrap().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn issue13_ctrl_c_ends_a_sweep_at_a_grid_point_with_130_and_the_rerun_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tune(tmp.path(), 300);
    let full = tmp.path().join("full");
    crate::common::succeed(&sweep_args(&file, &full, &[]));
    let out = tmp.path().join("out");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rehearsal"))
        .args(sweep_args(&file, &out, &[]))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&out.join("points/0.csv"), &mut child);
    interrupt(&child);
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    if done.status.code() == Some(0) {
        // The sweep ended before the signal came: nothing to interrupt on this machine.
        assert!(out.join("sweep.csv").exists());
    } else {
        assert_eq!(done.status.code(), Some(130), "{stderr}");
        assert!(
            stderr.contains("rerun the same command to resume"),
            "{stderr}"
        );
        assert!(!out.join("sweep.csv").exists());
    }
    crate::common::succeed(&sweep_args(&file, &out, &[]));
    assert_eq!(
        fs::read(full.join("sweep.csv")).unwrap(),
        fs::read(out.join("sweep.csv")).unwrap()
    );
}

#[test]
fn issue13_ctrl_c_ends_a_drill_after_the_scenario_under_way_and_writes_the_rest() {
    let slow = CRASH_LOOP_ROLL_FORWARD
        .replace("rate = 50.0", "rate = 100.0")
        .replace("replications = 3", "replications = 4");
    let tmp = suite(&[
        (
            "a.toml",
            &CRASH_LOOP_ROLL_FORWARD.replace("replications = 3", "replications = 1"),
        ),
        ("b.toml", &slow.replace("crash-loop-roll-forward", "slow-b")),
        ("c.toml", &slow.replace("crash-loop-roll-forward", "slow-c")),
    ]);
    let out = tmp.path().join("out");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rehearsal"))
        .args([
            OsStr::new("drill"),
            tmp.path().join("suite").as_os_str(),
            OsStr::new("--out"),
            out.as_os_str(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&out.join("crash-loop-roll-forward/runs.csv"), &mut child);
    interrupt(&child);
    let done = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert_eq!(
        done.status.code(),
        Some(130),
        "{stdout}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let note = fs::read_to_string(out.join("interrupted.txt")).unwrap();
    assert!(
        note.starts_with("interrupted (Ctrl-C): the suite files cover "),
        "{note}"
    );
    assert!(note.contains("slow-c"), "{note}");
    // The suite summary lists exactly the scenarios that ran to the end.
    let summary = fs::read_to_string(out.join("summary.csv")).unwrap();
    let mut listed: Vec<&str> = summary
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    listed.dedup();
    let ran: Vec<&str> = ["crash-loop-roll-forward", "slow-b", "slow-c"]
        .into_iter()
        .filter(|n| out.join(n).join("report.html").exists())
        .collect();
    assert_eq!(listed, ran);
    assert!(stdout.contains("(interrupted: not run: "), "{stdout}");
}

/// A minimal scenario with `extra` top-level lines and one canary strategy per name.
fn work_case(head: &str, strategies: usize, tail: &str) -> String {
    let mut s = format!("name = \"work\"\n{head}\n[versions.old]\n[versions.new]\n{tail}\n");
    for i in 0..strategies {
        s.push_str(&format!(
            "[[strategies]]\nname = \"s{i}\"\nkind = \"canary\"\nsteps = [{{ weight = 100 }}]\n"
        ));
    }
    s
}

#[test]
fn issue13_validate_prints_the_work_and_refuses_runaway_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        // The budget with no ceiling and a 1 µs interval: two errors at once.
        (
            "unbounded-budget",
            work_case(
                "horizon = \"1h\"\n[traffic]\nrate = 10.0\nusers = 100\n[limits]\nmax_events = 9223372036854775807",
                1,
                "[analysis]\ninterval = \"1us\"",
            ),
        ),
        // 5·10⁵ req/s for 1 h × 20 replications: 3.6e10 requests, above the default 2e10.
        (
            "huge-rate",
            work_case(
                "horizon = \"1h\"\nreplications = 20\n[traffic]\nrate = 500000.0\nusers = 100000",
                1,
                "",
            ),
        ),
        // 30 days of 1 s checks: 2 592 000 checks, above half the default budget.
        (
            "exhausted-budget",
            work_case(
                "horizon = \"30d\"\n[traffic]\nrate = 0.01\nusers = 100",
                1,
                "[analysis]\ninterval = \"1s\"",
            ),
        ),
        // 10 000 strategies.
        (
            "ten-thousand-strategies",
            work_case(
                "horizon = \"1h\"\n[traffic]\nrate = 1.0\nusers = 100",
                10_000,
                "",
            ),
        ),
    ];
    let mut messages = String::new();
    for (name, text) in &cases {
        let file = dir.path().join(format!("{name}.toml"));
        fs::write(&file, text).unwrap();
        let out = output(&[OsStr::new("validate"), file.as_os_str()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr =
            String::from_utf8_lossy(&out.stderr).replace(&dir.path().display().to_string(), "TMP");
        messages.push_str(&format!("{name}:\n{stderr}\n"));
    }
    insta::assert_snapshot!("issue13_runaway_work", messages);
    // A scenario within the limits: its estimate is printed, and --max-work refuses it.
    let file = dir.path().join("fine.toml");
    fs::write(
        &file,
        work_case(
            "horizon = \"1h\"\nreplications = 10\n[traffic]\nrate = 100.0\nusers = 100",
            2,
            "",
        ),
    )
    .unwrap();
    let out = output(&[
        OsStr::new("validate"),
        OsStr::new("-j"),
        OsStr::new("2"),
        file.as_os_str(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // 2 strategies × 10 replications × 100 req/s × 3600 s = 7.2e6 requests; × 30 ns / 2 cores.
    assert!(
        stdout.contains("work: 20 runs, 7.20e6 simulated requests, about 0.1 s on 2 cores"),
        "{stdout}"
    );
    let refused = output(&[
        OsStr::new("run"),
        file.as_os_str(),
        OsStr::new("--max-work"),
        OsStr::new("1e6"),
        OsStr::new("--out"),
        dir.path().join("out").as_os_str(),
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("refused before running"));
    assert!(!dir.path().join("out").exists(), "nothing ran");
}
