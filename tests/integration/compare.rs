//! `compare` keeps the output contract of `run` (issue 15, point 3): `--format json|csv`,
//! `-q`, a table within 100 columns, and "best" defined on the paired replications.

use super::common::{rehearsal, shortened};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// The bundled four-strategy crash scenario, shortened to `reps` replications of 21 minutes
/// (just longer than the 20 minutes of the canary's and the flag's pauses: no warning).
fn crash_file(dir: &Path, reps: u32) -> std::path::PathBuf {
    let text = shortened(
        "scenarios/crash-every-strategy.toml",
        &[
            ("horizon = \"1h\"", "horizon = \"21m\""),
            ("replications = 20", &format!("replications = {reps}")),
        ],
    );
    let file = dir.join("crash.toml");
    std::fs::write(&file, text).unwrap();
    file
}

/// Runs `compare` on `file` with `args`, output under `dir/out`; returns (code, stdout, stderr).
fn compare(dir: &Path, file: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let o = rehearsal()
        .arg("compare")
        .arg(file)
        .arg("--out")
        .arg(dir.join("out"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
    )
}

#[test]
fn issue15_compare_format_json_passes_json_tool() {
    let tmp = tempfile::tempdir().unwrap();
    let file = crash_file(tmp.path(), 3);
    let (code, stdout, stderr) = compare(tmp.path(), &file, &["--format", "json", "-q"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr, "", "-q: nothing on stderr");
    let mut tool = Command::new("python3")
        .args(["-m", "json.tool"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("python3");
    tool.stdin
        .take()
        .unwrap()
        .write_all(stdout.as_bytes())
        .unwrap();
    assert!(tool.wait().unwrap().success(), "not JSON:\n{stdout}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["replications"], 3);
    assert!(
        doc["best_rule"]
            .as_str()
            .unwrap()
            .contains("every strategy has a value")
    );
    let metrics = doc["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 9);
    for m in metrics {
        assert_eq!(m["strategies"].as_array().unwrap().len(), 4, "{m}");
    }
}

#[test]
fn issue15_compare_format_csv_prints_compare_csv_only() {
    let tmp = tempfile::tempdir().unwrap();
    let file = crash_file(tmp.path(), 3);
    let (code, stdout, stderr) = compare(tmp.path(), &file, &["--format", "csv"]);
    assert_eq!(code, Some(0), "{stderr}");
    let written = std::fs::read_to_string(tmp.path().join("out/compare.csv")).unwrap();
    assert_eq!(stdout, written);
    // Without -q, the notes go to stderr.
    assert!(stderr.contains("reproduce: rehearsal compare"), "{stderr}");
}

#[test]
fn issue15_compare_table_fits_100_columns_and_defines_best() {
    let tmp = tempfile::tempdir().unwrap();
    let file = crash_file(tmp.path(), 3);
    let (code, stdout, stderr) = compare(tmp.path(), &file, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    for line in stdout.lines() {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    // Four strategies do not fit side by side: two blocks, each with every metric.
    assert_eq!(
        stdout.matches("time to recover (MTTR)").count(),
        2,
        "{stdout}"
    );
    for name in ["canary-10", "blue-green", "flag-10", "rolling"] {
        assert!(stdout.contains(name), "{name}:\n{stdout}");
    }
    assert!(
        stdout
            .contains("best: the best mean over the replications where every strategy has a value"),
        "{stdout}"
    );
}

/// `-q` under a terminal: no progress bar (nor anything else) on stderr.
#[test]
fn issue15_compare_quiet_shows_no_bar_under_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let file = crash_file(tmp.path(), 8);
    let bin = assert_cmd::cargo::cargo_bin!("rehearsal");
    // python3's pty gives the child a terminal on stderr; stdout goes to a file.
    let script = r#"
import os, pty, subprocess, sys
master, slave = pty.openpty()
out = open(sys.argv[2], "w")
p = subprocess.Popen(sys.argv[1:2] + sys.argv[3:], stdout=out, stderr=slave)
os.close(slave)
seen = b""
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
p.wait()
sys.stdout.write(repr(seen))
sys.exit(p.returncode)
"#;
    let o = Command::new("python3")
        .args(["-c", script])
        .arg(bin)
        .arg(tmp.path().join("stdout.txt"))
        .args(["compare", "-q", "--out"])
        .arg(tmp.path().join("out"))
        .arg(&file)
        .output()
        .expect("python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "b''",
        "bytes on the terminal"
    );
    let stdout = std::fs::read_to_string(tmp.path().join("stdout.txt")).unwrap();
    assert!(stdout.contains("time to detect"), "{stdout}");
}

/// Issue 15 point 3: `compare`'s report.html carries the compare table with its best and
/// significance marks, and its reproduce line is `rehearsal compare`, not `run`.
#[test]
fn issue15_compare_report_has_best_marks_and_its_own_reproduce_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("c.toml");
    std::fs::write(&file, crate::sweep::CLOSED_FORM.replace("replications = 400", "replications = 20")
        .replace("[[strategies]]\nname = \"canary\"", "[[strategies]]\nname = \"slow\"\nkind = \"canary\"\nprescaled = true\nsteps = [{ weight = 50, pause = \"1h\" }, { weight = 100 }]\n[[strategies]]\nname = \"canary\"")).unwrap();
    let out = tmp.path().join("out");
    let o = crate::common::rehearsal()
        .arg("compare")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .arg("-q")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<section id=\"compare\">"),
        "no compare section"
    );
    assert!(html.contains("class=\"best\""), "no best mark");
    assert!(html.contains("paired t-test, 5 %"), "no legend");
    assert!(
        html.contains("rehearsal compare "),
        "no compare reproduce line"
    );
    assert!(!html.contains("rehearsal run "), "a run reproduce line");
    // `run` keeps its own report, without the compare section.
    let o = crate::common::rehearsal()
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(tmp.path().join("run"))
        .arg("-q")
        .output()
        .unwrap();
    assert!(o.status.success());
    let html = std::fs::read_to_string(tmp.path().join("run/report.html")).unwrap();
    assert!(!html.contains("<section id=\"compare\">"));
}
