//! Report writers: plots, HTML, terminal table, JSON (issue 5).
//!
//! The scenarios here are small (100 req/s, 10 minutes, 3 replications) so the debug build
//! runs them in well under a second.

use super::common::{self, succeed};
use rehearsal::outcome::{Stat, StrategySummary};
use rehearsal::replications::{Pick, ScenarioResult, pick_representative};
use rehearsal::report::plot::{self, Plot};
use rehearsal::report::{TABLE_WIDTH, scenario_plots, summary_table};
use rehearsal::scenario::Scenario;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Two canaries against a crash loop, and a corrupting fault so that every plot applies.
const SCENARIO: &str = r#"
name = "report-drill"
description = "v2 crash-loops <and> corrupts writes: every plot has something to show."
horizon = "10m"
seed = 5
replications = 3

[traffic]
rate = 100.0
users = 5000
write_fraction = 0.2

[versions.old]
error_rate = 0.001
[versions.new]
error_rate = 0.001

[[faults]]
kind = "crash_loop"
target = "new"
start = "1m"

[[faults]]
kind = "data_corruption"
target = "new"
rate = 0.05

[analysis]
interval = "30s"
threshold = 2
min_requests = 5
[[analysis.metrics]]
name = "error_rate"
max = 0.01
[[analysis.metrics]]
name = "bad_write_rate"
max = 0.001

[response]
verify = "30s"

[[strategies]]
name = "canary-sticky"
kind = "canary"
prescaled = true
sticky = true
steps = [{ weight = 10, pause = "5m" }, { weight = 100 }]

[[strategies]]
name = "canary-ladder"
kind = "canary"
prescaled = true
steps = [{ weight = 5, pause = "2m" }, { weight = 50, pause = "2m" }, { weight = 100 }]
"#;

fn fixture() -> (Scenario, ScenarioResult) {
    let scenario = common::scenario(SCENARIO);
    let result = common::run(SCENARIO);
    (scenario, result)
}

/// The text nodes of an SVG document (plotters writes each on its own line).
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = t.split_once('>')?.1;
            Some(body.split("</text>").next()?.trim().replace("&amp;", "&"))
        })
        .collect()
}

/// Asserts the plot renders as SVG with `expected` among its texts and as a PNG of its size
/// with ink on it.
fn assert_renders(p: &Plot, expected: &[&str]) {
    let svg = p.svg().unwrap_or_else(|e| panic!("{e}"));
    assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
    let texts = svg_texts(&svg);
    for want in expected.iter().chain([&p.title.as_str()]) {
        assert!(
            texts.iter().any(|t| t.contains(want)),
            "{}: no text containing {want:?} in {texts:#?}",
            p.name
        );
    }
    let png = p.png().unwrap_or_else(|e| panic!("{e}"));
    let img = image::load_from_memory(&png).expect("a PNG").to_rgb8();
    assert_eq!(img.dimensions(), p.size(), "{}", p.name);
    let dark = img
        .pixels()
        .filter(|px| px.0.iter().all(|&c| c < 100))
        .count();
    // Title, labels, tick labels and axes: thousands of dark pixels, never a blank canvas.
    assert!(dark > 2_000, "{}: only {dark} dark pixels", p.name);
    let colored = img
        .pixels()
        .filter(|px| {
            let [r, g, b] = px.0;
            r.max(g).max(b) - r.min(g).min(b) > 80
        })
        .count();
    assert!(colored > 500, "{}: only {colored} coloured pixels", p.name);
}

#[test]
fn issue5_timeline_plot_has_series_thresholds_and_markers() {
    let (s, r) = fixture();
    for rep in &r.timelines {
        let p = plot::timeline(&s, &r, rep);
        assert!(p.caption.contains("median TTR"), "{}", p.caption);
        assert_renders(
            &p,
            &[
                "traffic share of new",
                "error rate of each version",
                "p99 latency of each version",
                "bad-write rate",
                "old (stable)",
                "new (candidate)",
                "analysis threshold",
                "fault in force",
                "onset (first hurt request)",
                "failed check",
                "detected (analysis)",
                "rolled back",
                "recovered",
                "minutes since the rollout began",
            ],
        );
    }
}

#[test]
fn issue5_distribution_plots_have_axes_and_legends() {
    let (s, r) = fixture();
    assert_renders(
        &plot::distributions(&s, &r),
        &[
            "detected within",
            "recovered within",
            "time to detect",
            "time to recover",
            "replications with an onset",
            "canary-sticky",
            "canary-ladder",
        ],
    );
    assert_renders(
        &plot::affected_share(&s, &r),
        &[
            "affected users (% of active users)",
            "canary-sticky",
            "canary-ladder",
        ],
    );
    let inconsistent = plot::inconsistent_records(&s, &r).expect("a corrupting scenario");
    assert_renders(
        &inconsistent,
        &[
            "corrupted: stored wrong by a data_corruption fault",
            "records at the end (count)",
            "canary-ladder",
        ],
    );
}

#[test]
fn issue5_comparison_plot_shows_each_metric_with_its_ci() {
    let (_, r) = fixture();
    assert_renders(
        &plot::comparison("report-drill", &r.summaries),
        &[
            "means with 95 % confidence intervals",
            "time to detect",
            "time to recover, mean = MTTR",
            "affected users (%)",
            "failed requests (count)",
            "inconsistent records (count)",
            "rollout time, promoted runs",
            "canary-sticky",
            " ± ",
        ],
    );
}

#[test]
fn issue5_inconsistent_records_plot_only_when_records_can_go_bad() {
    let text = SCENARIO.replace(
        "[[faults]]\nkind = \"data_corruption\"\ntarget = \"new\"\nrate = 0.05\n",
        "",
    );
    let s = common::scenario(&text);
    let r = common::run(&text);
    assert!(plot::inconsistent_records(&s, &r).is_none());
    // Comparison, one timeline per strategy, CDFs, affected users.
    assert_eq!(scenario_plots(&s, &r).len(), 1 + 2 + 2);
}

#[test]
fn issue5_representative_is_the_median_ttr_replication() {
    let (s, r) = fixture();
    assert_eq!(r.timelines.len(), s.strategies.len());
    for (i, rep) in r.timelines.iter().enumerate() {
        let runs = r.runs_of(i);
        let mut ttrs: Vec<_> = runs.iter().filter_map(|x| x.ttr()).collect();
        ttrs.sort();
        let median = ttrs[ttrs.len().div_ceil(2) - 1];
        assert_eq!(runs[rep.replication as usize].ttr(), Some(median));
        assert_eq!(rep.pick, Pick::MedianTtr { of: ttrs.len() });
        // The replayed timeline is the same run: its markers match the outcome.
        let run = &runs[rep.replication as usize];
        let detected = rep
            .timeline
            .markers
            .iter()
            .find(|(_, m)| *m == rehearsal::outcome::Marker::Detected)
            .map(|(t, _)| *t);
        assert_eq!(detected, run.detected);
    }
}

#[test]
fn issue5_without_recovery_the_pick_says_which_rule_it_used() {
    let (_, r) = fixture();
    let mut runs = r.runs_of(0).to_vec();
    for run in &mut runs {
        run.recovered = None;
    }
    let (replication, pick) = pick_representative(&runs);
    assert!(matches!(pick, Pick::MedianRollback { of: 3 }), "{pick:?}");
    assert!(pick.describe().contains("no replication recovered"));
    assert!(replication < 3);
    for run in &mut runs {
        run.rollback = None;
        run.detected = None;
        run.rollout = None;
    }
    assert_eq!(pick_representative(&runs), (0, Pick::First));
}

fn summary(strategy: &str) -> StrategySummary {
    let stat = |n: usize, mean: f64, p95: f64| {
        Some(Stat {
            n,
            mean,
            ci95_low: mean - mean / 10.0,
            ci95_high: mean + mean / 10.0,
            p50: mean,
            p95,
        })
    };
    StrategySummary {
        scenario: "snapshot".into(),
        strategy: strategy.into(),
        replications: 20,
        with_onset: 20,
        detection_probability: Stat::of_proportion(19, 20),
        rollback_rate: Stat::of_proportion(19, 20).unwrap_or_default(),
        false_rollback_rate: Stat::of_proportion(1, 20).unwrap_or_default(),
        promotion_rate: Stat::of_proportion(6, 20).unwrap_or_default(),
        ttd_s: stat(19, 149.9997, 152.0),
        ttr_s: stat(19, 1_717.4, 3_720.0),
        affected_share: stat(20, 0.0776, 0.081),
        failed_requests: stat(20, 359_233.4, 400_000.0),
        inconsistent_records: stat(20, 0.0, 0.0),
        rollout_s: stat(6, 1_200.0, 1_200.0),
        instance_seconds: stat(20, 36_000.0, 36_000.0),
        budget_consumed: None,
    }
}

#[test]
fn issue5_terminal_table_snapshot() {
    let mut healthy = summary("healthy-and-quick");
    healthy.with_onset = 0;
    healthy.detection_probability = None;
    healthy.ttd_s = None;
    healthy.ttr_s = None;
    healthy.affected_share = Some(Stat::default());
    healthy.false_rollback_rate = Stat::of_proportion(0, 20).unwrap_or_default();
    let table = summary_table(&[summary("canary-10-sticky"), healthy]);
    insta::assert_snapshot!(table);
}

#[test]
fn issue5_terminal_table_fits_100_columns_with_long_names() {
    let long = "a-strategy-name-long-enough-to-wrap-the-first-column-of-any-table".to_string();
    let table = summary_table(&[summary(&long), summary("short")]);
    for line in table.lines() {
        assert!(
            line.chars().count() <= TABLE_WIDTH as usize,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    assert!(table.contains("2m30s/2m32s"), "{table}");
    assert!(table.contains("7.8%"), "{table}");
}

/// Writes the scenario into `dir` and returns its path.
fn scenario_file(dir: &Path) -> PathBuf {
    let path = dir.join("report-drill.toml");
    fs::write(&path, SCENARIO).expect("write the scenario");
    path
}

#[test]
fn issue5_format_json_parses_and_holds_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let file = scenario_file(tmp.path());
    let out_dir = tmp.path().join("out");
    let out = succeed(&[
        "run".as_ref(),
        file.as_os_str(),
        "--out".as_ref(),
        out_dir.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let s = &doc["scenarios"][0];
    assert_eq!(s["scenario"], "report-drill");
    assert_eq!(s["seed"], 5);
    assert_eq!(s["replications"], 3);
    assert!(
        s["reproduce"]
            .as_str()
            .unwrap()
            .contains("--seed 5 --replications 3")
    );
    let strategies = s["strategies"].as_array().unwrap();
    assert_eq!(strategies.len(), 2);
    assert_eq!(strategies[0]["strategy"], "canary-sticky");
    assert_eq!(strategies[0]["on_no_data"], "fail");
    assert!(strategies[0]["ttd_s"]["mean"].as_f64().unwrap() > 0.0);
    assert!(strategies[0]["ttd_s"]["ci95_low"].is_number());
    // Every rate has its Wilson interval.
    for rate in ["rollback_rate", "false_rollback_rate", "promotion_rate"] {
        let (low, high) = (
            strategies[0][format!("{rate}_ci95_low")].as_f64().unwrap(),
            strategies[0][format!("{rate}_ci95_high")].as_f64().unwrap(),
        );
        let share = strategies[0][rate].as_f64().unwrap();
        assert!(low <= share && share <= high && high > low, "{rate}");
    }
    // The scenario states no [objectives]: the defaults, judged as `check` does.
    let objectives = strategies[0]["objectives"].as_array().unwrap();
    let names: Vec<&str> = objectives
        .iter()
        .map(|o| o["objective"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "ttr_mean",
            "affected_share_mean",
            "false_rollback_rate",
            "deploy_success"
        ]
    );
    assert_eq!(objectives[0]["limit"], 1800.0);
    assert!(["met", "missed"].contains(&objectives[0]["status"].as_str().unwrap()));
    // The notes went to stderr.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("reproduce: "), "{stderr}");
}

#[test]
fn issue5_format_csv_prints_the_summary_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let file = scenario_file(tmp.path());
    let out_dir = tmp.path().join("out");
    let out = succeed(&[
        "run".as_ref(),
        file.as_os_str(),
        "--out".as_ref(),
        out_dir.as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
        "--quiet".as_ref(),
    ]);
    let written = fs::read(out_dir.join("summary.csv")).unwrap();
    assert_eq!(out.stdout, written);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `chromium` (Debian) or `chromium-browser`, if installed.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Runs headless Chromium on `page` with `args` (`--dump-dom`, `--screenshot=…`).
fn headless(browser: &Path, page: &Path, args: &[String]) -> Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium")
}

#[test]
fn issue5_html_report_renders_in_a_headless_browser() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("REHEARSAL_REQUIRE_BROWSER").is_none(),
            "REHEARSAL_REQUIRE_BROWSER is set but no chromium is installed"
        );
        eprintln!(
            "SKIPPED issue5_html_report_renders_in_a_headless_browser: no chromium on PATH \
             (Debian: apt-get install chromium; .ci/run installs it)"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("suite");
    fs::create_dir(&suite).unwrap();
    scenario_file(&suite);
    let out_dir = tmp.path().join("out");
    succeed(&[
        "drill".as_ref(),
        suite.as_os_str(),
        "--out".as_ref(),
        out_dir.as_os_str(),
        "--quiet".as_ref(),
    ]);
    let report = out_dir.join("report-drill/report.html");
    let html = fs::read_to_string(&report).unwrap();
    assert!(
        !html.contains("<script"),
        "the report must not need JavaScript"
    );
    // The only URL is the SVG namespace: nothing is fetched.
    assert_eq!(
        html.matches("http").count(),
        html.matches("http://www.w3.org/2000/svg").count()
    );
    // The description is escaped, not markup.
    assert!(html.contains("crash-loops &lt;and&gt; corrupts"));

    // Comparison, two timelines, CDFs, affected users, inconsistent records.
    let expected_svgs = 6;
    let dom = headless(&browser, &report, &["--dump-dom".into()]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(
        dom.matches("<svg").count(),
        expected_svgs,
        "{}",
        &dom[..500.min(dom.len())]
    );
    assert!(dom.contains("Resolved parameters"));
    assert!(dom.contains("rehearsal run "), "the reproduce command");
    for png in fs::read_dir(out_dir.join("report-drill/plots")).unwrap() {
        let name = png.unwrap().file_name().into_string().unwrap();
        assert!(dom.contains(&format!("plots/{name}")), "no link to {name}");
    }

    let shot = tmp.path().join("shot.png");
    let status = headless(
        &browser,
        &report,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000".into(),
        ],
    );
    assert!(
        shot.is_file(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let img = image::open(&shot).expect("a PNG screenshot").to_rgb8();
    let total = img.pixels().count();
    let ink = img
        .pixels()
        .filter(|p| p.0.iter().any(|&c| c < 200))
        .count();
    assert!(
        ink * 50 > total,
        "the page looks blank: {ink} of {total} pixels"
    );
    // The plots' strategy colours (Tableau blue and orange) are on screen.
    let near = |c: [u8; 3]| {
        img.pixels()
            .filter(|p| p.0.iter().zip(c).all(|(&a, b)| a.abs_diff(b) < 12))
            .count()
    };
    assert!(near([78, 121, 167]) > 200, "no blue series drawn");
    assert!(near([242, 142, 43]) > 200, "no orange series drawn");

    // The index is the same kind of page (one browser launch less): it links the report.
    let index = fs::read_to_string(out_dir.join("index.html")).unwrap();
    assert!(
        index.contains("href=\"report-drill/report.html\""),
        "{index}"
    );
    assert!(!index.contains("<script"));
}

#[test]
fn issue5_release_binary_links_no_font_library() {
    // The test binary's sibling `rehearsal` links the same crates as the release build.
    let bin = env!("CARGO_BIN_EXE_rehearsal");
    let Ok(out) = Command::new("ldd").arg(bin).output() else {
        eprintln!("SKIPPED issue5_release_binary_links_no_font_library: no ldd");
        return;
    };
    let libs = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(libs.contains("libc"), "unexpected ldd output: {libs}");
    for lib in ["fontconfig", "freetype", "expat", "png16"] {
        assert!(!libs.contains(lib), "{bin} links {lib}:\n{libs}");
    }
}
