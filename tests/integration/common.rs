//! Helpers shared by the integration tests.

use assert_cmd::Command;
use assert_cmd::cargo::cargo_bin_cmd;
use rehearsal::engine::SimTime;
use rehearsal::modes::Mode;
use rehearsal::replications::{ScenarioResult, run_scenario};
use rehearsal::scenario::{Scenario, parse};
use std::ffi::OsStr;
use std::fs;
use std::path::Path;
use std::process::Output;

/// Parses an inline scenario, panicking with the error (a test bug, not a user error).
pub fn scenario(text: &str) -> Scenario {
    parse(text, Path::new("inline.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs every strategy of an inline scenario.
pub fn run(text: &str) -> ScenarioResult {
    run_scenario(&scenario(text)).expect("run")
}

/// Runs every strategy of an inline scenario in `mode`.
pub fn run_in(text: &str, mode: Mode) -> ScenarioResult {
    let mut s = scenario(text);
    s.mode = mode;
    run_scenario(&s).expect("run")
}

/// Runs every strategy of an inline scenario in requests mode and, when windows mode supports
/// it, in windows mode too (issue 16: hand-computed answers hold in both); panics when windows
/// mode refuses it, so a test that means to cover both modes cannot silently cover one.
pub fn run_both(text: &str) -> [(Mode, ScenarioResult); 2] {
    if let Some(feature) = rehearsal::modes::unsupported(&scenario(text)) {
        panic!("windows mode refuses this scenario: {feature}");
    }
    [Mode::Requests, Mode::Windows].map(|m| (m, run_in(text, m)))
}

/// The `rehearsal` binary as an `assert_cmd` command.
pub fn rehearsal() -> Command {
    cargo_bin_cmd!("rehearsal")
}

/// Runs the `rehearsal` binary with `args` to completion.
pub fn output(args: &[&OsStr]) -> Output {
    rehearsal().args(args).output().expect("run rehearsal")
}

/// Runs the `rehearsal` binary with `args` and asserts that it exits 0.
pub fn succeed(args: &[&OsStr]) -> Output {
    let out = output(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A scenario file of the repository (`path` from its root) with each `(from, to)` replaced,
/// to run it faster; panics when a `from` is missing (the file changed).
pub fn shortened(path: &str, replacements: &[(&str, &str)]) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let mut text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{path}: {e}"));
    for (from, to) in replacements {
        assert!(text.contains(from), "{path} changed: no {from:?}");
        text = text.replace(from, to);
    }
    text
}

/// A moment in seconds, for comparing with hand-computed answers.
pub fn secs(t: Option<SimTime>) -> Option<f64> {
    t.map(SimTime::as_secs_f64)
}

/// The mean of `xs`.
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// The mean and the sample standard deviation of `xs`.
pub fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let mean = mean(xs);
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() as f64 - 1.0);
    (mean, var.sqrt())
}

/// What a family of inline scenarios shares: everything but the horizon, the replications and
/// what follows the (empty) version tables.
pub struct Preamble {
    /// The scenario's name.
    pub name: &'static str,
    /// Its seed.
    pub seed: u64,
    /// The lines of its `[traffic]` table.
    pub traffic: &'static str,
    /// Tables right after the versions (each line ending in a newline), or nothing.
    pub tables: &'static str,
}

impl Preamble {
    /// The scenario text: this preamble with `horizon` and `replications`, empty
    /// `[versions.old]` and `[versions.new]` tables, then `body`.
    pub fn text(&self, horizon: &str, replications: u32, body: &str) -> String {
        let Preamble {
            name,
            seed,
            traffic,
            tables,
        } = self;
        format!(
            r#"
name = "{name}"
horizon = "{horizon}"
seed = {seed}
replications = {replications}
[traffic]
{traffic}
[versions.old]
[versions.new]
{tables}{body}
"#
        )
    }
}

/// An `[analysis]` table that fails a check when the error rate exceeds 1 %, every
/// `interval`, and rolls back at the `threshold`-th failed check.
pub fn analysis(interval: &str, threshold: u32) -> String {
    format!(
        r#"
[analysis]
interval = "{interval}"
threshold = {threshold}
[[analysis.metrics]]
name = "error_rate"
max = 0.01
"#
    )
}

/// A proptest configuration for CI: `default_cases` cases from a fixed seed, unless
/// `PROPTEST_CASES` or `PROPTEST_RNG_SEED` ask for a longer or other run; no persistence file.
pub fn proptest_config(default_cases: u32) -> proptest::test_runner::Config {
    let mut c = proptest::test_runner::Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        c.rng_seed = proptest::test_runner::RngSeed::Fixed(13);
    }
    c.failure_persistence = None;
    c
}

/// A scenario of 100 req/s with no baseline errors and a canary held at 10 % for two hours
/// (no analysis), with `body` appended: the service the alert and detector tests watch.
pub fn held_canary(horizon: &str, replications: u32, body: &str) -> String {
    format!(
        r#"
name = "held-canary"
horizon = "{horizon}"
seed = 14
replications = {replications}
[traffic]
rate = 100.0
users = 10000
[versions.old]
error_rate = 0.0
[versions.new]
error_rate = 0.0
[[strategies]]
name = "canary"
kind = "canary"
prescaled = true
steps = [{{ weight = 10, pause = "2h" }}, {{ weight = 100 }}]
{body}
"#
    )
}

/// `runs.csv` of every run of `s` on a pool of `threads` workers (for the determinism checks:
/// the bytes must not depend on the thread count).
pub fn runs_csv_on(s: &Scenario, threads: usize) -> Vec<u8> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    let result = pool.install(|| run_scenario(s)).expect("run");
    let mut out = Vec::new();
    rehearsal::report::write_runs(&result.runs, &mut out).expect("write runs.csv");
    out
}
