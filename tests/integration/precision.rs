//! Issue 15 point 2: `--precision` chooses the replication count, in deterministic batches.

use crate::common::{rehearsal, scenario};
use crate::sweep::CLOSED_FORM;
use rehearsal::precision::Precision;
use rehearsal::replications::run_to_precision;
use rehearsal::report::write_runs;
use std::path::Path;

/// [`CLOSED_FORM`] released healthy: the canary's ten checks (10 s … 100 s) each fail
/// independently with q = e^(−2) (an empty window), and three failed checks roll it back by
/// mistake: P(X ≥ 3) for X ~ Binomial(10, q), 0.143 (see [`false_rollback_probability`]).
fn healthy(threshold: u32) -> String {
    let text = CLOSED_FORM
        .replace(
            "[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 1.0\n",
            "",
        )
        .replace("threshold = 1", &format!("threshold = {threshold}"))
        .replace("replications = 400", "replications = 30");
    assert!(!text.contains("[[faults]]") && text.contains("replications = 30"));
    text
}

/// P(X ≥ k), X ~ Binomial(10, e^(−2)).
fn false_rollback_probability(k: u64) -> f64 {
    let q = (-2.0f64).exp();
    let choose = |n: u64, j: u64| (0..j).fold(1.0, |c, i| c * (n - i) as f64 / (i + 1) as f64);
    (k..=10)
        .map(|j| choose(10, j) * q.powi(j as i32) * (1.0 - q).powi((10 - j) as i32))
        .sum()
}

#[test]
fn issue15_precision_stops_below_its_target_whatever_the_thread_count() {
    let s = scenario(&healthy(3));
    let precision = Precision::parse("false_rollback_rate=2%", 5_000).unwrap();
    let with_threads = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let result = pool
            .install(|| run_to_precision(&s, &precision, &|| {}, &|_| {}))
            .unwrap();
        let mut csv = Vec::new();
        write_runs(&result.runs, &mut csv).unwrap();
        (result, csv)
    };
    let (one, csv_one) = with_threads(1);
    let (two, csv_two) = with_threads(2);
    assert_eq!(csv_one, csv_two, "runs.csv differs between -j 1 and -j 2");
    assert_eq!(one.precision, two.precision);
    let settled = one.precision.unwrap();
    assert!(settled.reached(), "{}", settled.line());
    assert!(settled.batches > 1, "{}", settled.line());
    let rate = one.summaries[0].false_rollback_rate;
    assert_eq!(rate.n as u32, settled.replications);
    assert!(rate.half_width() <= 0.02, "{rate:?}");
    // p = 0.1434: the Wilson half-width 1.96 √(p(1−p)/n) ≤ 2 % needs n ≈ 1180; the loop
    // stops at most 10 % past the projection of its last batch, so well within [1000, 2000].
    assert!(
        (1_000..=2_000).contains(&settled.replications),
        "{}",
        settled.line()
    );
    // The observed rate against the binomial answer, 4 standard errors.
    let p = false_rollback_probability(3);
    let se = (p * (1.0 - p) / rate.n as f64).sqrt();
    assert!((rate.mean - p).abs() < 4.0 * se, "{} vs {p}", rate.mean);
    // The first `-n` replications are the runs of a plain run with `-n 30`.
    let plain = rehearsal::replications::run_scenario(&s).unwrap();
    assert_eq!(plain.runs[..], one.runs[..30]);
}

/// Runs `rehearsal` in `dir` with `args`, returning (exit code, stdout, stderr).
fn cli(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let o = rehearsal().current_dir(dir).args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
    )
}

#[test]
fn issue15_run_precision_is_byte_identical_at_j1_and_j2() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("h.toml"), healthy(3)).unwrap();
    let mut outputs = Vec::new();
    for j in ["1", "2"] {
        let args = [
            "-j",
            j,
            "run",
            "h.toml",
            "--precision",
            "3%",
            "--out",
            "out",
            "--format",
            "json",
        ];
        let (code, stdout, stderr) = cli(tmp.path(), &args);
        assert_eq!(code, 0, "{stderr}");
        let runs = std::fs::read(tmp.path().join("out/runs.csv")).unwrap();
        let summary = std::fs::read(tmp.path().join("out/summary.csv")).unwrap();
        outputs.push((stdout, runs, summary));
    }
    assert!(
        outputs[0] == outputs[1],
        "outputs differ between -j 1 and -j 2"
    );
    let doc: serde_json::Value = serde_json::from_str(&outputs[0].0).unwrap();
    let p = &doc["scenarios"][0]["precision"];
    assert_eq!(p["reached"], true, "{p}");
    assert_eq!(p["targets"], "3%");
    let n = p["replications"].as_u64().unwrap();
    assert_eq!(doc["scenarios"][0]["replications"].as_u64(), Some(n));
    let s = &doc["scenarios"][0]["strategies"][0];
    for rate in ["false_rollback_rate", "rollback_rate", "promotion_rate"] {
        let half = (s[format!("{rate}_ci95_high")].as_f64().unwrap()
            - s[format!("{rate}_ci95_low")].as_f64().unwrap())
            / 2.0;
        assert!(half <= 0.03, "{rate}: ±{half} at n = {n}");
    }
    // The reproduce line repeats the flags and the first batch.
    let reproduce = doc["scenarios"][0]["reproduce"].as_str().unwrap();
    assert!(
        reproduce.ends_with("--replications 30 --precision 3%"),
        "{reproduce}"
    );
    let html = std::fs::read_to_string(tmp.path().join("out/report.html")).unwrap();
    assert!(html.contains(&format!("within its half-width after {n} replications")));
}

#[test]
fn issue15_the_replication_cap_is_reported_when_precision_is_not_reached() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("h.toml"), healthy(3)).unwrap();
    let args = [
        "run",
        "h.toml",
        "--precision",
        "0.5%",
        "--max-replications",
        "50",
        "--out",
        "out",
    ];
    let (code, stdout, stderr) = cli(tmp.path(), &args);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("2 strategies × 50 replications") || stdout.contains("× 50 replications"),
        "{stdout}"
    );
    assert!(
        stdout.contains("NOT reached: stopped at --max-replications 50"),
        "{stdout}"
    );
    assert!(stdout.contains("canary false_rollback_rate: ±"), "{stdout}");
    let (_, json, _) = cli(
        tmp.path(),
        &[&args[..], &["--format", "json", "-q"]].concat(),
    );
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["scenarios"][0]["precision"]["reached"], false);
    assert_eq!(doc["scenarios"][0]["precision"]["replications"], 50);
    assert_eq!(doc["scenarios"][0]["precision"]["max_replications"], 50);
}

#[test]
fn issue15_bad_precision_exits_2_naming_the_target() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("h.toml"), healthy(3)).unwrap();
    for (args, says) in [
        (
            &["run", "h.toml", "--precision", "ttd=5s"][..],
            "--precision \"ttd=5s\": unknown metric \"ttd\"; expected one of detection_probability",
        ),
        (
            &["sweep", "h.toml", "--precision", "ttd_s=5"][..],
            "ttd_s is a time: expected a positive duration such as \"5s\"",
        ),
        (
            &[
                "run",
                "h.toml",
                "--precision",
                "1%",
                "--max-replications",
                "0",
            ][..],
            "--max-replications 0: expected 1 to",
        ),
        (
            &["check", ".", "--precision", "150%"][..],
            "a share half-width must be in (0, 100 %]",
        ),
    ] {
        let (code, _, stderr) = cli(tmp.path(), args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[test]
fn issue15_sweep_applies_precision_per_grid_point_byte_identically() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("t.toml"), healthy(1)).unwrap();
    let mut csvs = Vec::new();
    for (j, out) in [("1", "a"), ("2", "b")] {
        let args = [
            "-j",
            j,
            "sweep",
            "t.toml",
            "--out",
            out,
            "--precision",
            "false_rollback_rate=4%",
        ];
        let (code, _, stderr) = cli(tmp.path(), &args);
        assert_eq!(code, 0, "{stderr}");
        csvs.push(std::fs::read_to_string(tmp.path().join(out).join("sweep.csv")).unwrap());
    }
    assert_eq!(csvs[0], csvs[1], "sweep.csv differs between -j 1 and -j 2");
    let mut r = csv::Reader::from_reader(csvs[0].as_bytes());
    let header = r.headers().unwrap().clone();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let mut counts = Vec::new();
    for rec in r.records().map(|x| x.unwrap()) {
        let low: f64 = rec[col("false_rollback_ci95_low")].parse().unwrap();
        let high: f64 = rec[col("false_rollback_ci95_high")].parse().unwrap();
        assert!((high - low) / 2.0 <= 0.04, "{rec:?}");
        counts.push(rec[col("replications")].parse::<u32>().unwrap());
    }
    // Thresholds 1…5 give rates from 0.77 to 0.002: each point needs its own count.
    assert_eq!(counts.len(), 5);
    assert!(counts.windows(2).any(|w| w[0] != w[1]), "{counts:?}");
    assert!(counts.iter().all(|&n| n >= 30), "{counts:?}");
    let params = std::fs::read_to_string(tmp.path().join("a/params.txt")).unwrap();
    assert!(
        params.contains("precision = false_rollback_rate=4% max 2000"),
        "{params}"
    );
}

#[test]
fn issue15_drill_and_check_take_precision() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("suite")).unwrap();
    std::fs::write(tmp.path().join("suite/h.toml"), healthy(3)).unwrap();
    let (code, json, stderr) = cli(
        tmp.path(),
        &[
            "drill",
            "suite",
            "--out",
            "d",
            "--precision",
            "5%",
            "--format",
            "json",
            "-q",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let n = doc["scenarios"][0]["precision"]["replications"]
        .as_u64()
        .unwrap();
    assert!(
        n > 30 && doc["scenarios"][0]["precision"]["reached"] == true,
        "{doc}"
    );
    // `check` runs the same batches; its history records the settled count.
    let (code, _, stderr) = cli(
        tmp.path(),
        &["check", "suite", "--out", "c", "--precision", "5%", "-q"],
    );
    assert!(code == 0 || code == 1, "{stderr}");
    let history = std::fs::read_to_string(tmp.path().join("c/history.csv")).unwrap();
    assert!(history.contains(&format!(",canary,3,{n},")), "{history}");
    let runs = std::fs::read_to_string(tmp.path().join("c/tune/runs.csv")).unwrap();
    assert_eq!(runs.lines().count() as u64, 1 + n);
}
