//! The command line: exit codes, messages and the files `run` and `drill` write.
//!
//! Runs use a copy of `tests/fixtures/good/crash.toml` with a 10-minute horizon and
//! `--replications 2` to stay fast.

use super::common::{self, output, succeed};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

/// `runs.csv` header, as the column table `RUN_COLUMNS` in `src/outcome/columns.rs` defines it.
const RUNS_HEADER: &str = "scenario,strategy,replication,seed,onset_s,detected_s,ttd_s,\
rollback_s,recovered_s,ttr_s,affected_users,active_users,affected_share,failed_requests,\
inconsistent_records,rolled_back,false_rollback,rollout_s,degraded_s,instance_seconds,detected_by,\
requests,baseline_failed_requests,checks,failed_checks,inconclusive_checks,new_format_only,\
old_format_only,lost_on_down_migration,dropped_by_contract,lost_on_restore,corrupted,\
missing_during_backfill,invisible_reads,budget_consumed,probe_ttd_s,restarts,ejections";

/// Strategies in `crash.toml`.
const CRASH_STRATEGIES: usize = 2;

/// `summary.csv` header, as `write_summaries` in `src/report/csv.rs`.
fn summary_header() -> String {
    let mut cols: Vec<String> = [
        "scenario",
        "strategy",
        "kind",
        "replications",
        "on_no_data",
        "with_onset",
    ]
    .map(String::from)
    .to_vec();
    for rate in [
        "detection_probability",
        "rollback_rate",
        "false_rollback_rate",
        "promotion_rate",
    ] {
        cols.extend([
            rate.to_string(),
            format!("{rate}_ci95_low"),
            format!("{rate}_ci95_high"),
        ]);
    }
    for m in [
        "ttd_s",
        "ttr_s",
        "affected_share",
        "failed_requests",
        "inconsistent_records",
        "rollout_s",
        "instance_seconds",
        "budget_consumed",
    ] {
        for p in ["n", "mean", "ci95_low", "ci95_high", "p50", "p95"] {
            cols.push(format!("{m}_{p}"));
        }
    }
    cols.join(",")
}

fn good_crash() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good/crash.toml")
}

/// Writes `crash.toml` with a 10-minute horizon into `dir` and returns its path.
fn fast_crash(dir: &Path) -> PathBuf {
    let text = common::shortened(
        "tests/fixtures/good/crash.toml",
        &[("horizon = \"1h\"", "horizon = \"10m\"")],
    );
    let path = dir.join("crash.toml");
    fs::write(&path, text).expect("write");
    path
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// Asserts a usage or scenario error: exit 2, a message on stderr, no panic.
fn assert_exit_2(out: &Output) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(!stderr.trim().is_empty(), "empty stderr");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn validate_accepts_the_crash_example() {
    let file = good_crash();
    let out = succeed(&["validate".as_ref(), file.as_os_str()]);
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("ok: "), "{stdout}");
    assert!(stdout.contains("bad-canary-crash"), "{stdout}");
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn validate_with_one_bad_file_among_good_ones_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.toml");
    fs::write(&bad, "name = \"x\"\n").unwrap();
    let good = good_crash();
    let out = output(&["validate".as_ref(), good.as_os_str(), bad.as_os_str()]);
    let stderr = assert_exit_2(&out);
    assert!(text(&out.stdout).starts_with("ok: "));
    assert!(stderr.contains("bad.toml"), "{stderr}");
}

#[test]
fn run_writes_runs_and_summary_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let file = fast_crash(tmp.path());
    let out_dir = tmp.path().join("out");
    let out = succeed(&[
        "run".as_ref(),
        file.as_os_str(),
        "--replications".as_ref(),
        "2".as_ref(),
        "--out".as_ref(),
        out_dir.as_os_str(),
    ]);
    assert!(text(&out.stdout).contains("canary-ladder"));

    let runs = lines(&out_dir.join("runs.csv"));
    assert_eq!(runs[0], RUNS_HEADER);
    assert_eq!(runs.len(), 1 + 2 * CRASH_STRATEGIES, "{runs:#?}");
    for row in &runs[1..] {
        assert!(row.starts_with("bad-canary-crash,canary-"), "{row}");
        assert_eq!(
            row.split(',').count(),
            RUNS_HEADER.split(',').count(),
            "{row}"
        );
    }

    let summary = lines(&out_dir.join("summary.csv"));
    assert_eq!(summary[0], summary_header());
    assert_eq!(summary.len(), 1 + CRASH_STRATEGIES, "{summary:#?}");
    assert!(
        summary[1].starts_with("bad-canary-crash,canary-10,canary,2,"),
        "{}",
        summary[1]
    );
}

#[test]
fn run_rejects_zero_replications() {
    let file = good_crash();
    let out = output(&[
        "run".as_ref(),
        file.as_os_str(),
        "--replications".as_ref(),
        "0".as_ref(),
    ]);
    let stderr = assert_exit_2(&out);
    assert!(stderr.contains("--replications 0"), "{stderr}");
}

#[test]
fn drill_writes_each_scenario_and_the_suite_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("suite");
    fs::create_dir(&suite).unwrap();
    let file = fast_crash(&suite);
    // `drill` has no --replications: lower the scenario's own count.
    let scenario = fs::read_to_string(&file).unwrap();
    assert!(scenario.contains("replications = 20"), "crash.toml changed");
    fs::write(
        &file,
        scenario.replace("replications = 20", "replications = 2"),
    )
    .unwrap();
    let out_dir = tmp.path().join("out");
    let out = succeed(&[
        "drill".as_ref(),
        suite.as_os_str(),
        "--out".as_ref(),
        out_dir.as_os_str(),
    ]);
    assert!(text(&out.stdout).contains("drill: 1 scenario;"));

    let runs = lines(&out_dir.join("bad-canary-crash/runs.csv"));
    assert_eq!(runs[0], RUNS_HEADER);
    assert_eq!(runs.len(), 1 + 2 * CRASH_STRATEGIES);
    assert!(out_dir.join("bad-canary-crash/summary.csv").is_file());
    let summary = lines(&out_dir.join("summary.csv"));
    assert_eq!(summary[0], summary_header());
    assert_eq!(summary.len(), 1 + CRASH_STRATEGIES);
}

#[test]
fn drill_on_an_empty_folder_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let out = output(&[
        "drill".as_ref(),
        tmp.path().as_os_str(),
        "--out".as_ref(),
        out_dir.as_os_str(),
    ]);
    let stderr = assert_exit_2(&out);
    assert!(stderr.contains("no scenario"), "{stderr}");
    assert!(
        stderr.contains(&tmp.path().display().to_string()),
        "{stderr}"
    );
    assert!(!out_dir.exists(), "nothing should be written");
}

#[test]
fn nonexistent_file_exits_2_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-scenario.toml");
    for cmd in ["validate", "run"] {
        let out = output(&[cmd.as_ref(), missing.as_os_str()]);
        let stderr = assert_exit_2(&out);
        assert!(stderr.contains("no-such-scenario.toml"), "{cmd}: {stderr}");
        assert!(stderr.contains("cannot read"), "{cmd}: {stderr}");
    }
}

#[test]
fn unknown_subcommand_exits_2() {
    let stderr = assert_exit_2(&output(&["rehearse".as_ref()]));
    assert!(stderr.contains("rehearse"), "{stderr}");
}

#[test]
fn missing_argument_exits_2() {
    for args in [&["validate"][..], &["run"][..], &[][..]] {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        let stderr = assert_exit_2(&output(&args));
        assert!(stderr.contains("Usage"), "{args:?}: {stderr}");
    }
}

#[test]
fn help_and_version_exit_0() {
    for args in [&["--help"][..], &["run", "--help"][..], &["--version"][..]] {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        let out = output(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
    let help = text(&output(&["--help".as_ref()]).stdout);
    for cmd in ["run", "drill", "validate"] {
        assert!(help.contains(cmd), "{help}");
    }
}

#[test]
fn run_csv_holds_what_the_library_computes() {
    let tmp = tempfile::tempdir().unwrap();
    let file = fast_crash(tmp.path());
    let scenario = fs::read_to_string(&file)
        .unwrap()
        .replace("replications = 20", "replications = 2");
    fs::write(&file, &scenario).unwrap();
    let out_dir = tmp.path().join("out");
    succeed(&[
        "run".as_ref(),
        file.as_os_str(),
        "--out".as_ref(),
        out_dir.as_os_str(),
    ]);
    let rows = lines(&out_dir.join("runs.csv"));
    let expected = common::run(&scenario).runs;
    assert_eq!(rows.len(), 1 + expected.len());
    for (row, run) in rows[1..].iter().zip(&expected) {
        let cells: Vec<&str> = row.split(',').collect();
        let cell = |name: &str| cells[RUNS_HEADER.split(',').position(|c| c == name).unwrap()];
        assert_eq!(cell("strategy"), run.strategy, "{row}");
        assert_eq!(cell("replication"), run.replication.to_string(), "{row}");
        assert_eq!(cell("seed"), run.seed.to_string(), "{row}");
        assert_eq!(
            cell("failed_requests"),
            run.failed_requests.to_string(),
            "{row}"
        );
        assert_eq!(
            cell("affected_users"),
            run.affected_users.to_string(),
            "{row}"
        );
    }
}
