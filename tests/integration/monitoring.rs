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
    // counters, 11 buckets + `+Inf`, the count, the weight and the 2 replica gauges (18),
    // and the two markers: 38. Lines: 38 × 40 samples, a `# HELP` and a `# TYPE` for each of
    // the 7 families (requests, duration histogram, weight, 2 replica gauges, 2 markers) and
    // `# EOF`.
    assert_eq!(text.lines().count(), 38 * 40 + 2 * 7 + 1);
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
    assert!(said.contains(" 1520 "), "{said}");
    assert!(said.contains(" 38 "), "{said}");
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
            assert_eq!(rec.series.len(), 38);
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

#[test]
fn issue12_docs_prometheus_files_are_current_and_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let docs = root.join("docs/prometheus");
    let tmp = tempfile::tempdir().unwrap();
    for drill in ["alert-canary-blind-spot", "burn-rate-slow-regression"] {
        let shipped = docs.join(format!("{drill}.rules.yml"));
        let fresh = tmp.path().join(format!("{drill}.rules.yml"));
        let file = root.join(format!("scenarios/{drill}.toml"));
        export(&[file.as_os_str(), "--rules".as_ref(), fresh.as_os_str()]);
        assert_eq!(
            fs::read_to_string(&shipped).unwrap(),
            fs::read_to_string(&fresh).unwrap(),
            "{} is stale: rehearsal export scenarios/{drill}.toml --rules {}",
            shipped.display(),
            shipped.display()
        );
    }
    // The dashboard reads only series rehearsal exposes, and Prometheus' own ALERTS.
    let dashboard: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(docs.join("grafana-dashboard.json")).unwrap())
            .unwrap();
    let mut exprs: Vec<String> = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().unwrap() {
            exprs.push(t["expr"].as_str().unwrap().to_string());
        }
    }
    for a in dashboard["annotations"]["list"].as_array().unwrap() {
        exprs.push(a["expr"].as_str().unwrap().to_string());
    }
    let known = [
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "rollout_weight",
        "rehearsal_detected",
        "rehearsal_rolled_back",
        "ALERTS",
    ];
    assert_eq!(exprs.len(), 6);
    for e in &exprs {
        assert!(known.iter().any(|k| e.contains(k)), "{e}");
    }

    let Some(promtool) = promtool("issue12_docs_prometheus_files_are_current_and_valid") else {
        return;
    };
    let check = |what: &str, file: PathBuf| {
        let out = Command::new(&promtool)
            .args(["check", what])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stdout)
        );
    };
    check("config", docs.join("prometheus.yml"));
    for drill in ["alert-canary-blind-spot", "burn-rate-slow-regression"] {
        check("rules", docs.join(format!("{drill}.rules.yml")));
    }
}

/// `rehearsal serve` against real clients: built with the `serve` feature (the default).
#[cfg(feature = "serve")]
mod live {
    use super::*;

    /// A child process killed when dropped (the test's servers, on every path out of it).
    struct Killed(std::process::Child);

    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// `GET path` from `addr` over plain HTTP/1.0: the body (empty when unreachable).
    fn http_get(addr: &str, path: &str) -> String {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(addr) else {
            return String::new();
        };
        let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
        let _ = write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        text.split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or_default()
    }

    /// A port nobody listens on now (a small race with other processes, acceptable in a test).
    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// A 10 % canary whose requests fail at 50 % from 20 s: 5 errors/s. Scraped by rehearsal
    /// every second (so what `serve` exposes is at most 1 s old), evaluated every 5 s.
    const LIVE: &str = r#"
    [[faults]]
    kind = "error_rate"
    target = "new"
    rate = 0.5
    start = "20s"
    [monitoring]
    scrape_interval = "1s"
    evaluation_interval = "5s"
    [[alerts]]
    name = "CanaryErrors"
    expr = 'sum by (version) (rate(http_requests_total{code="500"}[15s])) > 1'
    for = "10s"
    action = "ticket"
    "#;

    #[test]
    #[ignore = "about a minute of real time with a real Prometheus: .ci/run runs it"]
    fn issue12_real_prometheus_fires_when_rehearsal_does() {
        use std::time::{Duration, Instant};
        let test = "issue12_real_prometheus_fires_when_rehearsal_does";
        let Some(prometheus) = on_path("prometheus") else {
            assert!(
                std::env::var_os("REHEARSAL_REQUIRE_PROMETHEUS").is_none(),
                "REHEARSAL_REQUIRE_PROMETHEUS is set but no prometheus is installed"
            );
            eprintln!("SKIPPED {test}: no prometheus on PATH (Debian: apt-get install prometheus)");
            return;
        };
        let text = held_canary("2m", 1, LIVE);
        let s = scenario(&text);
        // Rehearsal's own evaluator: the first evaluation with the alert firing (run clock).
        // At 25 s the window (10 s, 25 s] holds 5 s of 5 errors/s, extrapolated to the 15 s
        // window: 25/15 > 1, pending; after for = 10s, firing at 35 s.
        let live = rehearsal::monitoring::live::Live::record(&s, 0, 0).unwrap();
        let ours = monitoring::alert_states(live.recording(), s.horizon)
            .into_iter()
            .find(|(_, alerts)| {
                alerts
                    .iter()
                    .any(|a| a.state == rehearsal::detect::alerts::AlertState::Firing)
            })
            .map(|(t, _)| t.as_secs_f64())
            .expect("rehearsal fires");
        assert!((30.0..=40.0).contains(&ours), "{ours}");

        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("live.toml");
        fs::write(&file, &text).unwrap();
        let (serve, target) = serve(&file, "1");
        let state: serde_json::Value =
            serde_json::from_str(&http_get(&target, "/api/state")).unwrap();
        let t0 = Instant::now() - Duration::from_secs_f64(state["now_s"].as_f64().unwrap());
        let sim = |at: Instant| (at - t0).as_secs_f64();

        let rules = tmp.path().join("rules.yaml");
        let spec = s.alerts.as_ref().unwrap();
        fs::write(
            &rules,
            monitoring::promtool::rules_file(&s.name, &spec.rules),
        )
        .unwrap();
        let config = tmp.path().join("prometheus.yml");
        fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 5s\n  evaluation_interval: 5s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: rehearsal\n    static_configs:\n      - targets: [\"{target}\"]\n",
                rules.display()
            ),
        )
        .unwrap();
        let web = format!("127.0.0.1:{}", free_port());
        let log = fs::File::create(tmp.path().join("prometheus.log")).unwrap();
        let _prometheus = Killed(
            std::process::Command::new(prometheus)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    tmp.path().join("data").display()
                ))
                .arg(format!("--web.listen-address={web}"))
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
        // Poll every 250 ms until Prometheus reports the alert firing, for at most 100 s of the
        // 120 s drill.
        let mut theirs = None;
        while theirs.is_none() && sim(Instant::now()) < 100.0 {
            std::thread::sleep(Duration::from_millis(250));
            let body = http_get(&web, "/api/v1/alerts");
            if body.contains("\"state\":\"firing\"") && body.contains("CanaryErrors") {
                theirs = Some(sim(Instant::now()));
            }
        }
        let log = fs::read_to_string(tmp.path().join("prometheus.log")).unwrap_or_default();
        let theirs = theirs.unwrap_or_else(|| panic!("Prometheus never fired; its log:\n{log}"));
        eprintln!("{test}: rehearsal fires at {ours} s, Prometheus at {theirs:.2} s");
        // Prometheus scrapes and evaluates at phases of its own (offsets hashed from the target
        // and the group), so it sees the same samples up to one scrape interval (5 s) later, and
        // evaluates up to one evaluation interval (5 s) later; `serve` exposes samples up to 1 s
        // old; the poll adds 0.25 s. It cannot fire earlier than one evaluation interval before
        // (the same window, read at a different phase).
        let lag = theirs - ours;
        assert!(
            (-5.0..=11.25).contains(&lag),
            "Prometheus − rehearsal = {lag:.2} s"
        );
        drop(serve);
    }

    /// `serve` on `file` at `speed` on a free loopback port: the process and its address.
    fn serve(file: &Path, speed: &str) -> (Killed, String) {
        use std::io::BufRead;
        let mut child = Killed(
            std::process::Command::new(env!("CARGO_BIN_EXE_rehearsal"))
                .arg("serve")
                .arg(file)
                .args(["--speed", speed, "--listen", "127.0.0.1:0"])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let mut line = String::new();
        std::io::BufReader::new(child.0.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        (child, addr)
    }

    #[test]
    fn issue12_serve_exposes_the_run_and_stops_at_the_horizon() {
        use std::time::{Duration, Instant};
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("drill.toml");
        fs::write(&file, blind_spot()).unwrap();
        // 600 s at 100×: 6 s of wall time.
        let started = Instant::now();
        let (mut child, addr) = serve(&file, "100");
        let metrics = http_get(&addr, "/metrics");
        assert!(
            metrics.contains("# TYPE http_requests_total counter\n"),
            "{metrics}"
        );
        assert!(metrics.contains("# TYPE http_request_duration_seconds histogram\n"));
        assert!(metrics.contains("rollout_weight{version=\"new\"} "));
        let state: serde_json::Value =
            serde_json::from_str(&http_get(&addr, "/api/state")).unwrap();
        assert_eq!(state["scenario"], "alert-canary-blind-spot");
        assert!(http_get(&addr, "/").contains("new EventSource(\"/events\")"));
        let events = http_get(&addr, "/events");
        assert!(events.starts_with("data: {"), "{events}");
        // The events stream ends with the run, at the horizon: the rollback is in it.
        let last = events
            .lines()
            .rev()
            .find(|l| l.starts_with("data: "))
            .unwrap();
        let last: serde_json::Value = serde_json::from_str(&last["data: ".len()..]).unwrap();
        assert_eq!(last["done"], true);
        assert_eq!(last["detected_s"], 180.0);
        assert_eq!(last["detected_by"], "alert:CanaryErrorRatio");
        let status = child.0.wait().unwrap();
        assert!(status.success());
        assert!(started.elapsed() < Duration::from_secs(30));

        let Some(promtool) = promtool("issue12_serve_exposes_the_run_and_stops_at_the_horizon")
        else {
            return;
        };
        let metrics_file = tmp.path().join("metrics.txt");
        fs::write(&metrics_file, &metrics).unwrap();
        let out = Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(fs::File::open(&metrics_file).unwrap())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && said.trim().is_empty(), "{said}");
    }

    #[test]
    fn issue12_serve_refuses_a_remote_address_unless_allowed() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("drill.toml");
        fs::write(&file, blind_spot()).unwrap();
        let out = output(&[
            "serve".as_ref(),
            file.as_os_str(),
            "--listen".as_ref(),
            "0.0.0.0:0".as_ref(),
        ]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
    }

    #[test]
    fn issue12_live_page_renders_in_a_headless_browser() {
        let test = "issue12_live_page_renders_in_a_headless_browser";
        let Some(browser) = on_path("chromium").or_else(|| on_path("chromium-browser")) else {
            assert!(
                std::env::var_os("REHEARSAL_REQUIRE_BROWSER").is_none(),
                "REHEARSAL_REQUIRE_BROWSER is set but no chromium is installed"
            );
            eprintln!("SKIPPED {test}: no chromium on PATH (Debian: apt-get install chromium)");
            return;
        };
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("drill.toml");
        fs::write(&file, blind_spot()).unwrap();
        // 600 s at 100×: the page's event stream lasts 6 s; with a virtual time budget headless
        // Chromium dumps the page once the stream has ended, with every event in it. A
        // screenshot is taken at load: the page draws the backlog of the run so far.
        let (_serve, addr) = serve(&file, "100");
        let url = format!("http://{addr}/");
        let shot = tmp.path().join("live.png");
        let run = |args: Vec<String>| {
            let browser = browser.clone();
            let url = url.clone();
            std::thread::spawn(move || {
                let profile = tempfile::tempdir().unwrap();
                let mut child = Command::new(browser)
                    .args([
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--window-size=1000,700",
                    ])
                    .arg(format!("--user-data-dir={}", profile.path().display()))
                    .args(args)
                    .arg(url)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("run chromium");
                // Bounded: a browser that hangs is killed after 60 s (the page then fails).
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                let _ = child.kill();
                child.wait_with_output().expect("chromium's output")
            })
        };
        let dom = run(vec![
            "--dump-dom".into(),
            "--virtual-time-budget=3000".into(),
        ]);
        // Two seconds in (about 200 simulated seconds): the backlog draws the run so far.
        std::thread::sleep(std::time::Duration::from_secs(2));
        let png = run(vec![format!("--screenshot={}", shot.display())]);
        let dom = String::from_utf8_lossy(&dom.join().unwrap().stdout).into_owned();
        png.join().unwrap();
        // The timeline got points (one per event, about 4 per wall-clock second) and the page
        // shows the run's end and its detection.
        let points: usize = dom
            .split("data-points=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no data-points in {dom}"));
        assert!(points >= 10, "{points} points");
        assert!(dom.contains("simulated 600 s of 600 s (done)"), "{dom}");
        assert!(
            dom.contains("detected 180 s by alert:CanaryErrorRatio"),
            "{dom}"
        );
        let bytes = fs::read(&shot).expect("a screenshot");
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
            "{} bytes",
            bytes.len()
        );
    }
}
