//! Issue 6: `rehearsal check`, the weekly drill gate.

use crate::common::{analysis, rehearsal};
use std::path::Path;

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
    // Detection at 3 × 20 s hurts ~0.1 × 5 % of users: within the defaults.
    suite(&dir, 3, 1, "");
    let (code, stdout) = check(&dir, &["--out", out_s]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("all objectives hold"), "{stdout}");

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
    // Two checks, two history lines plus the header.
    let history = std::fs::read_to_string(out.join("history.csv")).unwrap();
    assert_eq!(history.lines().count(), 3, "{history}");
    assert!(history.starts_with("checked_at,scenario,strategy,seed,replications,ttd_mean,"));
}

#[test]
fn issue6_check_flags_a_real_regression_and_not_a_new_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, base, now) = (
        tmp.path().join("s"),
        tmp.path().join("base"),
        tmp.path().join("now"),
    );
    suite(&dir, 3, 1, "");
    assert_eq!(check(&dir, &["--out", base.to_str().unwrap()]).0, 0);
    let against_base = [
        "--out",
        now.to_str().unwrap(),
        "--baseline",
        base.to_str().unwrap(),
    ];

    // Last week's settings, another seed: noise only.
    suite(&dir, 3, 2, "");
    let (code, stdout) = check(&dir, &against_base);
    assert_eq!(code, 0, "{stdout}");
    assert!(!stdout.contains("REGRESSION"), "{stdout}");

    // A threshold raised from 3 to 6: detection takes twice as long.
    suite(&dir, 6, 2, "");
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
