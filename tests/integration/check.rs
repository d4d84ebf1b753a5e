//! Issue 6: `rehearsal check`, the weekly drill gate.

use crate::common::{analysis, rehearsal};
use std::path::{Path, PathBuf};

/// A suite folder with one short canary scenario; `extra` goes at the end of the file.
fn suite(dir: &Path, threshold: u32, seed: u64, extra: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let text = format!(
        r#"
name = "gate"
horizon = "15m"
seed = {seed}
replications = 12
[traffic]
rate = 200.0
users = 20000
[versions.old]
error_rate = 0.001
[versions.new]
error_rate = 0.001
[[faults]]
kind = "error_rate"
target = "new"
rate = 0.2
{analysis}[[strategies]]
name = "canary"
kind = "canary"
prescaled = true
steps = [{{ weight = 5, pause = "10m" }}, {{ weight = 100 }}]
{extra}
"#,
        analysis = analysis("20s", threshold)
    );
    std::fs::write(dir.join("gate.toml"), text).unwrap();
}

/// The playbooks' MTTR and affected-users targets, without the false-rollback ceiling that 12 runs cannot meet.
const MTTR_AND_AFFECTED: &str = "[objectives]\nttr_mean = \"30m\"\naffected_share_mean = 0.01";

fn check(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = rehearsal()
        .arg("check")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn issue6_check_passes_when_objectives_hold_and_fails_with_a_breach_message() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, out) = (tmp.path().join("s"), tmp.path().join("out"));
    let out_s = out.to_str().unwrap();
    // Detection at 3 × 20 s hurts ~0.1 × 5 % of users: within MTTR and affected users.
    suite(&dir, 3, 1, MTTR_AND_AFFECTED);
    let (code, stdout) = check(&dir, &["--out", out_s]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("all objectives hold"), "{stdout}");
    // The defaults add false rollbacks ≤ 5 % on the upper bound: 0 of 12 is 0–24.25 %.
    suite(&dir, 3, 1, "");
    let (code, stdout) = check(&dir, &["--out", out_s]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("false_rollback_rate = 24.25% upper bound (observed 0.00%, 0 of 12 runs")
            && stdout.contains("73 runs at this rate would show it"),
        "{stdout}"
    );

    suite(
        &dir,
        3,
        1,
        "[objectives]\nttd_mean = \"30s\"\ndetection_probability = 1.0",
    );
    let junit = tmp.path().join("junit.xml");
    let (code, stdout) = check(&dir, &["--out", out_s, "--junit", junit.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    let breach = stdout
        .lines()
        .find(|l| l.starts_with("BREACH"))
        .expect("a breach line");
    for part in [
        "gate / canary",
        "ttd_mean = 59",
        "objective ttd_mean ≤ 30s",
        "reproduce: rehearsal run",
        "--seed 1 --replications 12",
    ] {
        assert!(breach.contains(part), "{part} missing: {breach}");
    }
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"<testsuites name="rehearsal check" tests="2" failures="1">"#),
        "{xml}"
    );
    assert!(
        xml.contains(
            r#"<testcase classname="gate.canary" name="detection_probability ≥ 100.00%"/>"#
        ),
        "{xml}"
    );
    // Three checks, three history lines plus the header.
    let history = std::fs::read_to_string(out.join("history.csv")).unwrap();
    assert_eq!(history.lines().count(), 4, "{history}");
    assert!(history.starts_with("checked_at,scenario,strategy,seed,replications,ttd_mean,"));
}

/// A suite (folder `s`) checked once into `base`, passing; `now` is where a second check writes.
fn checked_baseline() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, base, now) = (
        tmp.path().join("s"),
        tmp.path().join("base"),
        tmp.path().join("now"),
    );
    suite(&dir, 3, 1, MTTR_AND_AFFECTED);
    assert_eq!(check(&dir, &["--out", base.to_str().unwrap()]).0, 0);
    (tmp, dir, base, now)
}

#[test]
fn issue6_check_flags_a_real_regression_and_not_a_new_seed() {
    let (_tmp, dir, base, now) = checked_baseline();
    let against_base = [
        "--out",
        now.to_str().unwrap(),
        "--baseline",
        base.to_str().unwrap(),
    ];

    // Last week's settings, another seed: noise only.
    suite(&dir, 3, 2, MTTR_AND_AFFECTED);
    let (code, stdout) = check(&dir, &against_base);
    assert_eq!(code, 0, "{stdout}");
    assert!(!stdout.contains("REGRESSION"), "{stdout}");

    // A threshold raised from 3 to 6: detection takes twice as long.
    suite(&dir, 6, 2, MTTR_AND_AFFECTED);
    let (code, stdout) = check(&dir, &against_base);
    assert_eq!(code, 1, "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.contains("REGRESSION") && l.contains("ttd_s"))
        .expect("ttd regression");
    assert!(
        line.contains("gate / canary") && line.contains("against the baseline"),
        "{line}"
    );
}

#[test]
fn issue6_check_exit_codes_for_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    suite(&dir, 3, 1, "[objectives]\nttr_mean = \"soon\"");
    let (code, _) = check(&dir, &["--out", tmp.path().join("o").to_str().unwrap()]);
    assert_eq!(code, 2);
    let objectives = tmp.path().join("objectives.toml");
    std::fs::write(&objectives, "[objectives]\naffected_share_mean = 0.0001\n").unwrap();
    suite(&dir, 3, 1, "");
    let (code, stdout) = check(
        &dir,
        &[
            "--out",
            tmp.path().join("o").to_str().unwrap(),
            "--objectives",
            objectives.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "suite objectives apply: {stdout}");
}

#[test]
fn issue15_check_notes_a_baseline_that_compares_nothing() {
    let (_tmp, dir, base, now) = checked_baseline();
    let gate_runs = base.join("gate/runs.csv");
    let runs = std::fs::read_to_string(&gate_runs).unwrap();
    let against = |extra: &[&str]| {
        let mut args = vec![
            "--out",
            now.to_str().unwrap(),
            "--baseline",
            base.to_str().unwrap(),
        ];
        args.extend(extra);
        check(&dir, &args)
    };
    let expect_note = |note: &str| {
        let (code, stdout) = against(&[]);
        assert_eq!(code, 0, "{stdout}");
        assert!(
            stdout.contains("note: ") && stdout.contains(note),
            "{note:?} missing: {stdout}"
        );
        assert!(stdout.contains("1 baseline note"), "{stdout}");
        let (code, stdout) = against(&["--require-baseline"]);
        assert_eq!(code, 1, "{stdout}");
        assert!(
            stdout.contains("BASELINE") && stdout.contains(note),
            "{stdout}"
        );
        assert!(
            stdout.contains("1 baseline failure (--require-baseline)"),
            "{stdout}"
        );
    };

    // A renamed strategy: last week's runs are of "canary", this week's of "canary-v2".
    let text = std::fs::read_to_string(dir.join("gate.toml")).unwrap();
    std::fs::write(
        dir.join("gate.toml"),
        text.replace("name = \"canary\"", "name = \"canary-v2\""),
    )
    .unwrap();
    expect_note("has no runs of strategy canary-v2 (renamed? it has canary)");
    suite(&dir, 3, 1, MTTR_AND_AFFECTED);

    // A header-only baseline, then a foreign one; each names its file.
    let header = runs.lines().next().unwrap();
    std::fs::write(&gate_runs, format!("{header}\n")).unwrap();
    expect_note(&format!("baseline {} is header-only", gate_runs.display()));
    std::fs::write(&gate_runs, "when,what\n1,2\n").unwrap();
    expect_note(&format!(
        "baseline {} has a foreign header (no column strategy, ttd_s",
        gate_runs.display()
    ));
    std::fs::write(&gate_runs, &runs).unwrap();

    // A drill the suite no longer has.
    std::fs::create_dir_all(base.join("retired")).unwrap();
    std::fs::write(base.join("retired/runs.csv"), &runs).unwrap();
    expect_note("baseline drill retired");
    std::fs::remove_dir_all(base.join("retired")).unwrap();
    let (code, stdout) = against(&["--require-baseline"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(!stdout.contains("baseline"), "{stdout}");
}

#[test]
fn issue15_check_rejects_bad_output_paths_before_running() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, out) = (tmp.path().join("s"), tmp.path().join("out"));
    suite(&dir, 3, 1, "");
    let missing = tmp.path().join("nowhere/junit.xml");
    let o = rehearsal()
        .arg("check")
        .arg(&dir)
        .args(["--out", out.to_str().unwrap()])
        .args(["--junit", missing.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--junit") && err.contains("does not exist"),
        "{err}"
    );
    assert!(!out.join("gate").exists(), "the suite ran");
    let o = rehearsal()
        .arg("check")
        .arg(&dir)
        .args(["--out", out.to_str().unwrap()])
        .args(["--history", tmp.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is a folder"));
    assert!(!out.join("gate").exists(), "the suite ran");
    // Relative paths under a folder `check` creates are fine.
    let o = rehearsal()
        .current_dir(tmp.path())
        .args(["check", "s", "--out", "rel", "-n", "2"])
        .args(["--junit", "rel/junit.xml", "--history", "rel/h/history.csv"])
        .output()
        .unwrap();
    assert_ne!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(tmp.path().join("rel/junit.xml").is_file());
    assert!(tmp.path().join("rel/h/history.csv").is_file());
}

#[test]
fn issue15_healthy_release_fails_the_default_objectives() {
    // Flagger's defaults roll the healthy v2 back in 34 of 40 runs: Wilson's 95 % upper bound
    // of 34/40 is 92.94 %, and 6 of 40 deploys succeed.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    std::fs::create_dir_all(&dir).unwrap();
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/healthy-release.toml");
    std::fs::copy(bundled, dir.join("healthy-release.toml")).unwrap();
    let (code, stdout) = check(&dir, &["--out", tmp.path().join("o").to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    for want in [
        "healthy-release / flagger-defaults-1pct: false_rollback_rate = 92.94% upper bound (observed 85.00%, 34 of 40 runs",
        "healthy-release / flagger-defaults-1pct: deploy_success = 15.00% (6 of 40 runs",
        "(objective deploy_success ≥ 95.00%)",
    ] {
        assert!(stdout.contains(want), "{want:?} missing: {stdout}");
    }
    assert!(!stdout.contains("all objectives hold"), "{stdout}");
}

#[test]
fn issue15_check_takes_replications_and_seed_like_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, out) = (tmp.path().join("s"), tmp.path().join("out"));
    suite(&dir, 3, 1, "[objectives]\nttd_mean = \"30s\"");
    let (code, stdout) = check(
        &dir,
        &["--out", out.to_str().unwrap(), "-n", "3", "--seed", "7"],
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("reproduce: rehearsal run") && stdout.contains("--seed 7 --replications 3"),
        "{stdout}"
    );
    let history = std::fs::read_to_string(out.join("history.csv")).unwrap();
    assert!(
        history
            .lines()
            .nth(1)
            .unwrap()
            .contains(",gate,canary,7,3,"),
        "{history}"
    );
    let (code, _) = check(&dir, &["--out", out.to_str().unwrap(), "-n", "0"]);
    assert_eq!(code, 2);
}

#[test]
fn issue15_identical_regression_lines_are_merged() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, base, now) = (
        tmp.path().join("s"),
        tmp.path().join("base"),
        tmp.path().join("now"),
    );
    // With verify = 0 and an instant rollback, TTR equals TTD in every run.
    let extra = format!("{MTTR_AND_AFFECTED}\n[response]\nverify = \"0s\"");
    suite(&dir, 3, 1, &extra);
    assert_eq!(check(&dir, &["--out", base.to_str().unwrap()]).0, 0);
    suite(&dir, 6, 2, &extra);
    let (code, stdout) = check(
        &dir,
        &[
            "--out",
            now.to_str().unwrap(),
            "--baseline",
            base.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("REGRESSION gate / canary: ttd_s and ttr_s mean"),
        "{stdout}"
    );
    assert!(!stdout.contains(": ttr_s mean"), "{stdout}");
    assert!(
        stdout.contains("1 breach, 3 regressions"),
        "breaches and regressions apart: {stdout}"
    );
}

/// Issue 15 point 6: `deploy_success` is written in `[objectives]` like the other shares
/// (a floor), and its value is checked as one.
#[test]
fn issue15_deploy_success_is_writable_in_objectives() {
    use rehearsal::objectives::ObjectiveMetric;
    let text = |x: &str| {
        format!(
            "name = \"d\"\nhorizon = \"10m\"\n[traffic]\nrate = 10.0\nusers = 100\n[versions.old]\n[versions.new]\n[[strategies]]\nname = \"c\"\nkind = \"canary\"\nsteps = [{{ weight = 10, pause = \"1m\" }}, {{ weight = 100 }}]\n[objectives]\ndeploy_success = {x}\n"
        )
    };
    let s = rehearsal::scenario::parse(&text("0.95"), Path::new("d.toml")).unwrap();
    let objectives = s.objectives.unwrap();
    assert_eq!(objectives.len(), 1);
    assert_eq!(objectives[0].metric, ObjectiveMetric::DeploySuccess);
    assert_eq!(objectives[0].limit, 0.95);
    let e = rehearsal::scenario::parse(&text("95"), Path::new("d.toml")).unwrap_err();
    assert_eq!(e.field, "objectives.deploy_success", "{e}");
}

/// Issue 15 point 6: `check --format json|csv` prints every check on stdout (the lines for
/// people go to stderr, or nowhere with `-q`), with the same exit code as the table.
#[test]
fn issue15_check_format_json_and_csv_with_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    // ttd_mean ≤ 1s cannot hold: one breach per strategy.
    suite(
        &dir,
        1,
        1,
        "[objectives]\nttd_mean = \"1s\"\naffected_share_mean = 0.5",
    );
    let run = |args: &[&str]| {
        let o = rehearsal()
            .arg("check")
            .arg(&dir)
            .args(["-n", "3", "--out"])
            .arg(tmp.path().join("out"))
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8(o.stdout).unwrap(),
            String::from_utf8(o.stderr).unwrap(),
        )
    };
    let (code, stdout, stderr) = run(&["--format", "json", "-q"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr, "", "-q: nothing on stderr");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(doc["passed"], false);
    assert_eq!(doc["breaches"], 1);
    let checks = doc["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2, "{stdout}");
    assert_eq!(checks[0]["scenario"], "gate");
    assert_eq!(checks[0]["strategy"], "canary");
    assert_eq!(checks[0]["passed"], false);
    assert_eq!(checks[1]["passed"], true);

    let (code, stdout, stderr) = run(&["--format", "csv"]);
    assert_eq!(code, Some(1), "{stderr}");
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("scenario,strategy,check,status,message"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert!(
        rows[0].starts_with("gate,canary,") && rows[0].contains(",fail,"),
        "{stdout}"
    );
    assert!(rows[1].ends_with(",pass,"), "{stdout}");
    // Without -q the breach line and the summary go to stderr.
    assert!(stderr.contains("gate / canary: ttd_mean"), "{stderr}");
    assert!(
        stderr.contains("check: 1 scenario, 1 strategy, 1 breach"),
        "{stderr}"
    );
}
