//! Issue 6: `rehearsal sweep` and `rehearsal merge`.

use crate::common::rehearsal;
use std::path::Path;

/// A canary whose every check fails independently with q = e^(−2): the canary gets 10 % of
/// 2 req/s per request, so a 10 s window is empty with probability e^(−0.2·10), and an empty
/// window fails (Flagger). Nothing else can fail. Ten checks (10 s … 100 s) fit the horizon.
pub const CLOSED_FORM: &str = r#"
name = "tune"
horizon = "105s"
seed = 3
replications = 400
[traffic]
rate = 2.0
users = 1000
[versions.old]
[versions.new]
[[faults]]
kind = "error_rate"
target = "new"
rate = 1.0
[analysis]
interval = "10s"
threshold = 1
on_no_data = "fail"
[[analysis.metrics]]
name = "error_rate"
max = 1.0
[[strategies]]
name = "canary"
kind = "canary"
prescaled = true
steps = [{ weight = 10, pause = "1h" }, { weight = 100 }]
[sweep]
"analysis.threshold" = [1, 2, 3, 4, 5]
"#;

/// A temporary folder holding `tune.toml`: [`CLOSED_FORM`] with `replications` runs.
fn closed_form(replications: u32) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tune.toml");
    let text = CLOSED_FORM.replace(
        "replications = 400",
        &format!("replications = {replications}"),
    );
    std::fs::write(&file, text).unwrap();
    (tmp, file)
}

fn binomial_tail(n: u64, q: f64, k: u64) -> f64 {
    let choose = |n: u64, j: u64| (0..j).fold(1.0, |c, i| c * (n - i) as f64 / (i + 1) as f64);
    (k..=n)
        .map(|j| choose(n, j) * q.powi(j as i32) * (1.0 - q).powi((n - j) as i32))
        .sum()
}

fn sweep(file: &Path, out: &Path, extra: &[&str]) -> String {
    sweep_output(file, out, extra).0
}

#[test]
fn issue6_sweep_false_rollback_rate_matches_the_binomial_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tune.toml");
    std::fs::write(&file, CLOSED_FORM).unwrap();
    sweep(&file, &tmp.path().join("out"), &[]);
    let csv = std::fs::read_to_string(tmp.path().join("out/sweep.csv")).unwrap();
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let header = r.headers().unwrap().clone();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let q = (-2.0f64).exp();
    let rows: Vec<_> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len(), 5);
    for rec in rows {
        let k: u64 = rec[col("analysis.threshold")].parse().unwrap();
        let observed: f64 = rec[col("false_rollback_mean")].parse().unwrap();
        let expected = binomial_tail(10, q, k);
        // Binomial sampling error over 400 runs, 4 standard errors (and one run's worth).
        let tol = 4.0 * (expected * (1.0 - expected) / 400.0).sqrt() + 1.0 / 400.0;
        assert!(
            (observed - expected).abs() < tol,
            "threshold {k}: {observed} vs {expected:.4} ± {tol:.4}"
        );
    }
}

fn sweep_output(file: &Path, out: &Path, extra: &[&str]) -> (String, String) {
    let o = rehearsal()
        .arg("sweep")
        .arg(file)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
    )
}

/// The recommended rows of `pareto.csv`, with their false-rollback upper bounds.
fn recommended_upper_bounds(out: &Path) -> Vec<f64> {
    let mut r = csv::Reader::from_path(out.join("pareto.csv")).unwrap();
    let header = r.headers().unwrap().clone();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    r.records()
        .map(|x| x.unwrap())
        .filter(|rec| &rec[col("recommended")] == "true")
        .map(|rec| rec[col("false_rollback_ci95_high")].parse().unwrap())
        .collect()
}

#[test]
fn issue15_the_sweep_bounds_the_upper_end_of_the_false_rollback_interval() {
    let (tmp, file) = closed_form(30);
    // 0 false rollbacks out of 30: Wilson's upper bound z²/(n + z²), z = 1.959964.
    let out = tmp.path().join("upper");
    let (stdout, stderr) = sweep_output(&file, &out, &[]);
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let header = r.headers().unwrap().clone();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let z2 = 1.959_963_985f64.powi(2);
    let mut zero_rows = 0;
    for rec in r.records().map(|x| x.unwrap()) {
        assert_eq!(&rec[col("false_rollback_n")], "30");
        if &rec[col("false_rollback_mean")] == "0.000000" {
            zero_rows += 1;
            let high: f64 = rec[col("false_rollback_ci95_high")].parse().unwrap();
            assert!((high - z2 / (30.0 + z2)).abs() < 5e-5, "{high}");
            assert!((high - 0.1135).abs() < 5e-5, "{high}");
        }
    }
    assert!(
        zero_rows > 0,
        "no threshold kept 0 of 30 false rollbacks:\n{csv}"
    );
    // Every point's upper bound is above 5 %: nothing is recommended, and the rows that pass
    // only on the observed rate are named.
    assert!(
        stdout.contains("no grid point keeps false rollbacks ≤ 5.0% on the upper bound"),
        "{stdout}"
    );
    assert!(recommended_upper_bounds(&out).is_empty());
    assert!(stderr.contains("only on the observed rate"), "{stderr}");
    // On the observed rate the 0/30 point is recommended, with a warning and its interval.
    let mean = tmp.path().join("mean");
    let (stdout, stderr) = sweep_output(&file, &mean, &["--constraint-on", "mean"]);
    assert!(
        stdout.contains(
            "false rollbacks: 0 of 30 healthy runs: 0.00% [95 % Wilson interval 0.00%–11.35%]"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("--constraint-on mean"), "{stdout}");
    assert!(
        stderr.contains("only on the observed rate: its 95 % interval reaches 11.35%"),
        "{stderr}"
    );
    assert_eq!(recommended_upper_bounds(&mean).len(), 1);
    // A 12 % ceiling on the upper bound admits 0 of 30 and nothing above it.
    let loose = tmp.path().join("loose");
    sweep_output(&file, &loose, &["--max-false-rollback", "12%"]);
    let bounds = recommended_upper_bounds(&loose);
    assert_eq!(bounds.len(), 1);
    assert!(bounds[0] <= 0.12, "{bounds:?}");
}

#[test]
fn issue15_a_sweep_without_a_candidate_fault_warns_that_there_is_nothing_to_detect() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("tune.toml");
    std::fs::write(
        &file,
        CLOSED_FORM
            .replace("replications = 400", "replications = 2")
            .replace("target = \"new\"", "target = \"old\""),
    )
    .unwrap();
    let (_, stderr) = sweep_output(&file, &tmp.path().join("o"), &[]);
    assert!(stderr.contains("nothing to detect"), "{stderr}");
}

#[test]
fn issue6_shards_merge_into_the_unsharded_sweep_byte_for_byte() {
    let (tmp, file) = closed_form(30);
    let grid = [
        "--set",
        "analysis.interval=10s,20s",
        "--max-false-rollback",
        "10%",
    ];
    let full = tmp.path().join("full");
    sweep(&file, &full, &grid);
    let mut shards = Vec::new();
    for i in 1..=3 {
        let out = tmp.path().join(format!("shard{i}"));
        let mut args = grid.to_vec();
        let shard = format!("{i}/3");
        args.extend(["--shard", &shard]);
        let stdout = sweep(&file, &out, &args);
        assert!(stdout.contains(&format!("shard {i}/3")), "{stdout}");
        shards.push(out);
    }
    let merged = tmp.path().join("merged");
    let o = rehearsal()
        .arg("merge")
        .args(&shards)
        .args([
            "--out",
            merged.to_str().unwrap(),
            "--max-false-rollback",
            "10%",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A missing shard is an error, not a smaller grid.
    let partial = rehearsal()
        .arg("merge")
        .args(&shards[..2])
        .args(["--out", tmp.path().join("partial").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(partial.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&partial.stderr).contains("expected shards 1 to 3"));
    for f in ["sweep.csv", "pareto.csv"] {
        let a = std::fs::read(full.join(f)).unwrap();
        let b = std::fs::read(merged.join(f)).unwrap();
        assert_eq!(a, b, "{f} differs");
    }
    // 5 thresholds × 2 intervals.
    assert_eq!(
        std::fs::read_to_string(full.join("sweep.csv"))
            .unwrap()
            .lines()
            .count(),
        11
    );
}

#[test]
fn issue6_sweep_rejects_bad_grids_with_exit_2() {
    let (tmp, file) = closed_form(2);
    let run = |args: &[&str]| {
        rehearsal()
            .arg("sweep")
            .arg(&file)
            .args(["--out", tmp.path().join("o").to_str().unwrap()])
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&["--set", "analysis.threshold=0"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("analysis.threshold") && err.contains("at grid point analysis.threshold=0"),
        "{err}"
    );
    assert_eq!(run(&["--set", "nowhere.x=1"]).status.code(), Some(2));
    assert_eq!(run(&["--shard", "4/3"]).status.code(), Some(2));
}

#[test]
fn issue6_sweep_writes_a_tradeoff_plot() {
    let (tmp, file) = closed_form(20);
    let out = tmp.path().join("out");
    // 1 of 20 has a Wilson upper bound of 24.9 %: a 25 % ceiling admits it.
    let stdout = sweep(
        &file,
        &out,
        &["--optimize", "ttd", "--max-false-rollback", "25%"],
    );
    assert!(stdout.contains("tradeoff.svg and tradeoff.png"), "{stdout}");
    let svg = std::fs::read_to_string(out.join("tradeoff.svg")).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
    for want in [
        "sweep of analysis.threshold · false rollbacks against TTD",
        "false-rollback rate (% of healthy releases rolled back)",
        "mean time to detect (s)",
        "grid point",
        "Pareto front",
        "recommended",
        "max false rollback (25%)",
        // Front points are labelled with their strategy and swept values.
        "canary analysis.threshold=",
    ] {
        assert!(svg.contains(want), "no {want:?} in tradeoff.svg");
    }
    let png = std::fs::read(out.join("tradeoff.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let img = image::load_from_memory(&png).expect("a PNG").to_rgb8();
    assert_eq!(img.dimensions(), (1200, 760));
    assert!(
        img.pixels().any(|p| p.0 != [255, 255, 255]),
        "a blank tradeoff.png"
    );
}
