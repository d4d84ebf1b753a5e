//! Issue 12: the run's monitoring in front of the real Prometheus pipeline. `export` writes
//! OpenMetrics that `promtool tsdb create-blocks-from openmetrics` ingests, and `promtool test
//! rules` files on which Prometheus' own rule evaluation must agree with rehearsal's.
//!
//! The tests that need `promtool` skip with a message when it is missing, unless
//! REHEARSAL_REQUIRE_PROMETHEUS is set (`.ci/run` sets it where Debian's `prometheus` is
//! installed).

use crate::common::{held_canary, output, scenario, shortened, succeed};
use rehearsal::detect::alerts::Semantics;
use rehearsal::engine::SimTime;
use rehearsal::monitoring::{self, promtool::TestPlan};
use rehearsal::outcome::Detector;
use rehearsal::replay;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `name` on PATH, if installed.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// `promtool`, or `None` after saying the test is skipped (a failure when
/// REHEARSAL_REQUIRE_PROMETHEUS is set).
fn promtool(test: &str) -> Option<PathBuf> {
    let found = on_path("promtool");
    if found.is_none() {
        assert!(
            std::env::var_os("REHEARSAL_REQUIRE_PROMETHEUS").is_none(),
            "REHEARSAL_REQUIRE_PROMETHEUS is set but no promtool is installed"
        );
        eprintln!(
            "SKIPPED {test}: no promtool on PATH (Debian: apt-get install prometheus; .ci/run installs it)"
        );
    }
    found
}

/// The major version of `promtool` (`promtool, version 2.42.0+ds …`), as `--prometheus` takes it.
fn major(promtool: &Path) -> String {
    let out = Command::new(promtool)
        .arg("--version")
        .output()
        .expect("run promtool");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let version = text
        .split_whitespace()
        .skip_while(|w| *w != "version")
        .nth(1)
        .unwrap_or_else(|| panic!("no version in {text:?}"));
    version.split('.').next().unwrap_or_default().to_string()
}

/// Runs `promtool test rules file`: whether it passed, and what it said.
fn promtool_test(promtool: &Path, file: &Path) -> (bool, String) {
    let out = Command::new(promtool)
        .args(["test", "rules"])
        .arg(file)
        .output()
        .expect("run promtool");
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), said)
}

/// The 3 % canary regression of `scenarios/alert-canary-blind-spot.toml`, 10 minutes long.
fn blind_spot() -> String {
    shortened(
        "scenarios/alert-canary-blind-spot.toml",
        &[("horizon = \"1h\"", "horizon = \"10m\"")],
    )
}

fn export(args: &[&OsStr]) -> String {
    let mut all: Vec<&OsStr> = vec!["export".as_ref()];
    all.extend_from_slice(args);
    String::from_utf8(succeed(&all).stdout).unwrap()
}

#[test]
fn issue12_openmetrics_export_is_byte_identical_and_backfills() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("drill.toml");
    fs::write(&file, blind_spot()).unwrap();
    let (a, b) = (tmp.path().join("a.om"), tmp.path().join("b.om"));
    for out in [&a, &b] {
        export(&[file.as_os_str(), "--openmetrics".as_ref(), out.as_os_str()]);
    }
    let text = fs::read_to_string(&a).unwrap();
    assert_eq!(text, fs::read_to_string(&b).unwrap());
    // Scrapes every 15 s in [0, 600 s): 40 per series. Series: per version 2 request
    // counters, 11 buckets + `+Inf`, the count and the weight (16), and the two markers: 34.
    // Lines: 34 × 40 samples, a `# HELP` and a `# TYPE` for each of the 5 families
    // (requests, duration histogram, weight, 2 markers) and `# EOF`.
    assert_eq!(text.lines().count(), 34 * 40 + 2 * 5 + 1);
    assert!(text.ends_with("# EOF\n"));
    // The default start is 2026-01-01T00:00:00Z = 1767225600 s; the last scrape 585 s later
    // (2026-12-01T00:00:00Z, below, is 1796083200 s).
    // The scrape at 0 comes before the rollout's start at the same instant: 0 %, then 10 %.
    assert!(text.contains("rollout_weight{version=\"new\"} 0 1767225600.000\n"));
    assert!(text.contains("rollout_weight{version=\"new\"} 10 1767225615.000\n"));
    assert!(text.contains("rollout_weight{version=\"new\"} 0 1767226185.000\n"));
    // The canary alert fires at 180 s and rolls back (see `issue12_expectations_…`): the
    // marker is 0 at 165 s and 1 from 180 s on.
    assert!(text.contains("rehearsal_detected 0 1767225765.000\n"));
    assert!(text.contains("rehearsal_detected 1 1767225780.000\n"));
    // A histogram's points go one timestamp at a time: buckets, then the count.
    let first_count = text
        .lines()
        .position(|l| l.starts_with("http_request_duration_seconds_count"))
        .unwrap();
    assert!(
        text.lines()
            .nth(first_count - 1)
            .unwrap()
            .contains("le=\"+Inf\"")
    );
    let shifted = tmp.path().join("c.om");
    export(&[
        file.as_os_str(),
        "--start".as_ref(),
        "2026-12-01T00:00:00Z".as_ref(),
        "--openmetrics".as_ref(),
        shifted.as_os_str(),
    ]);
    assert!(
        fs::read_to_string(&shifted)
            .unwrap()
            .contains(" 1796083200.000\n")
    );

    let Some(promtool) = promtool("issue12_openmetrics_export_is_byte_identical_and_backfills")
    else {
        return;
    };
    let db = tmp.path().join("db");
    let out = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&a)
        .arg(&db)
        .output()
        .expect("run promtool");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One block with every sample and every series.
    assert!(said.contains(" 1360 "), "{said}");
    assert!(said.contains(" 34 "), "{said}");
}

#[test]
fn issue12_recording_changes_no_outcome() {
    // With rules (the store keeps every sample and the histogram) and without (the default
    // monitoring is added): the outcome is `run`'s.
    let with_rules = scenario(&blind_spot());
    let without = scenario(&held_canary(
        "10m",
        2,
        "[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 0.05\n",
    ));
    for s in [&with_rules, &without] {
        for r in 0..2 {
            let (outcome, rec) = monitoring::record(s, 0, r).unwrap();
            assert_eq!(outcome, replay::replay(s, 0, r).unwrap(), "{} #{r}", s.name);
            assert_eq!(rec.series.len(), 34);
        }
    }
}

#[test]
fn issue12_expectations_fire_when_the_run_detects() {
    // The per-version ratio sees the canary's 3.1 % from the first evaluation (60 s):
    // pending, and after for = 2m firing at 180 s, which rolls back: the run's detection.
    // The service-wide ratio (0.4 %) never fires.
    let s = scenario(&blind_spot());
    for r in 0..3 {
        let (outcome, rec) = monitoring::record(&s, 0, r).unwrap();
        assert_eq!(outcome.detected_by, Some(Detector::Alert));
        assert_eq!(outcome.detected_alert.as_deref(), Some("CanaryErrorRatio"));
        let plan = TestPlan::new(&rec);
        let expected = plan.expectations(Semantics::V3);
        let fired = plan.first_firing(&expected, "CanaryErrorRatio");
        assert_eq!(fired, outcome.detected);
        assert_eq!(fired, Some(SimTime::from_secs(180)));
        assert_eq!(plan.first_firing(&expected, "ServiceErrorRatio"), None);
    }
}

/// The bundled drills with `[[alerts]]`.
fn alert_drills() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter(|p| {
            let text = fs::read_to_string(p).unwrap();
            text.lines()
                .any(|l| l.trim() == "[[alerts]]" || l.trim_start().starts_with("alerts ="))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn issue12_promtool_agrees_on_every_alert_drill_and_refuses_a_wrong_expectation() {
    let drills = alert_drills();
    assert!(drills.len() >= 2, "{drills:?}");
    let Some(promtool) =
        promtool("issue12_promtool_agrees_on_every_alert_drill_and_refuses_a_wrong_expectation")
    else {
        return;
    };
    let version = major(&promtool);
    let tmp = tempfile::tempdir().unwrap();
    for drill in &drills {
        let stem = drill.file_stem().unwrap().to_string_lossy().into_owned();
        for healthy in [false, true] {
            let test = tmp.path().join(format!("{stem}-{healthy}.yaml"));
            let mut args: Vec<&OsStr> = vec![
                drill.as_os_str(),
                "--promtool-test".as_ref(),
                test.as_os_str(),
                "--prometheus".as_ref(),
                version.as_ref(),
            ];
            if healthy {
                args.push("--healthy".as_ref());
            }
            let said = export(&args);
            // The faulty run has alerts firing, the healthy one none.
            let none = said.contains(" 0 with an alert firing");
            assert_eq!(none, healthy, "{stem}: {said}");
            let (passed, said) = promtool_test(&promtool, &test);
            assert!(passed, "{stem} (healthy: {healthy}): {said}");
            if healthy {
                continue;
            }
            // An alert expected where rehearsal has none: promtool must fail.
            let text = fs::read_to_string(&test).unwrap();
            let wrong = text.replacen(
                "        exp_alerts: []\n",
                "        exp_alerts:\n          - exp_labels: {\"version\": \"nope\"}\n",
                1,
            );
            assert_ne!(wrong, text);
            fs::write(&test, wrong).unwrap();
            let (passed, said) = promtool_test(&promtool, &test);
            assert!(
                !passed,
                "{stem}: promtool accepted a wrong expectation: {said}"
            );
        }
    }
}

/// A rule on errors over two scrapes: `rate(errors[30s]) > 0`, scraped and evaluated every
/// 15 s. Prometheus 3's window (t − 30 s, t] holds 2 samples, Prometheus 2's [t − 30 s, t]
/// holds 3: at an evaluation where the last error came between t − 30 s and t − 15 s, only
/// Prometheus 2 sees a rate. With 0.1 errors/s (1.5 per scrape) that is about
/// P(none in the last 15 s) × P(some in the 15 s before) = e^−1.5 × (1 − e^−1.5) = 17 % of
/// evaluations.
const EDGE: &str = r#"
[[faults]]
kind = "error_rate"
target = "all"
rate = 0.001
[monitoring]
scrape_interval = "15s"
evaluation_interval = "15s"
[[alerts]]
name = "AnyErrors"
expr = 'sum(rate(http_requests_total{code="500"}[30s])) > 0'
action = "ticket"
"#;

#[test]
fn issue12_prometheus_2_and_3_window_edges_give_different_expectations() {
    let text = held_canary("10m", 1, EDGE);
    let s = scenario(&text);
    let (_, rec) = monitoring::record(&s, 0, 0).unwrap();
    let plan = TestPlan::new(&rec);
    let (v2, v3) = (
        plan.expectations(Semantics::V2),
        plan.expectations(Semantics::V3),
    );
    let firing = |e: &[(SimTime, monitoring::promtool::Firing)]| {
        e.iter()
            .filter(|(_, f)| f.iter().any(|(_, a)| !a.is_empty()))
            .count()
    };
    // 40 evaluations (0 … 585 s); Prometheus 2 fires at every evaluation 3 fires at, and
    // more: about 17 % of 40 = 7 more (at least 2 is a 4-sigma bound).
    assert_eq!(v2.len(), 40);
    assert!(
        firing(&v2) >= firing(&v3) + 2,
        "{} vs {}",
        firing(&v2),
        firing(&v3)
    );
    for (a, b) in v2.iter().zip(&v3) {
        let on = |f: &monitoring::promtool::Firing| f.iter().any(|(_, a)| !a.is_empty());
        assert!(
            on(&a.1) || !on(&b.1),
            "at {:?} only Prometheus 3 fires",
            a.0
        );
    }

    let Some(promtool) =
        promtool("issue12_prometheus_2_and_3_window_edges_give_different_expectations")
    else {
        return;
    };
    let version = major(&promtool);
    let other = if version == "2" { "3" } else { "2" };
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("edge.toml");
    fs::write(&file, &text).unwrap();
    for (asked, passes) in [(version.as_str(), true), (other, false)] {
        let test = tmp.path().join(format!("edge-{asked}.yaml"));
        export(&[
            file.as_os_str(),
            "--promtool-test".as_ref(),
            test.as_os_str(),
            "--prometheus".as_ref(),
            asked.as_ref(),
        ]);
        let (passed, said) = promtool_test(&promtool, &test);
        assert_eq!(
            passed, passes,
            "--prometheus {asked} on promtool {version}: {said}"
        );
    }
}

#[test]
fn issue12_export_errors_name_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("drill.toml");
    fs::write(&file, blind_spot()).unwrap();
    let out_file = tmp.path().join("x.yaml");
    for (args, says) in [
        (vec!["--strategy", "nope"], "--strategy \"nope\""),
        (vec!["--start", "yesterday"], "--start \"yesterday\""),
        (vec!["--prometheus", "4"], "expected 2 or 3"),
        (vec![], "nothing to write"),
    ] {
        let mut all: Vec<&OsStr> = vec!["export".as_ref(), file.as_os_str()];
        all.extend(args.iter().map(OsStr::new));
        if !says.starts_with("nothing") {
            all.extend(["--promtool-test".as_ref(), out_file.as_os_str()]);
        }
        let out = output(&all);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
    }
}
