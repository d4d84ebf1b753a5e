//! `rehearsal check [DIR]`: the weekly drill gate. Exit 0 when every objective holds and
//! nothing regressed, 1 otherwise, 2 on a usage or scenario error.

use super::drill::load_suite;
use super::output::{Format, OutputArgs, Progress};
use super::run::{execute_with, units};
use super::scenario_args::PrecisionArgs;
use crate::objectives::{Objective, ObjectiveMetric, Release, default_objectives, evaluate};
use crate::outcome::RunOutcome;
use crate::precision::Precision;
use crate::regression::{self, Comparison, REGRESSION_METRICS};
use crate::report::{Case, read_runs, write_junit};
use crate::scenario::{self, Scenario, limits};
use crate::strategy::StrategySpec;
use anyhow::Context;
use clap::Args;
use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Folder of scenario files.
    #[arg(default_value = "scenarios")]
    pub dir: PathBuf,
    /// Output folder for this run's reports [default: reports].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// An earlier report folder (last week's `--out`) to flag significant regressions against.
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,
    /// Write the verdicts as JUnit XML here.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Append one line per scenario and strategy to this CSV [default: <out>/history.csv].
    #[arg(long, value_name = "PATH")]
    pub history: Option<PathBuf>,
    /// Suite objectives (a file with one `[objectives]` table) for scenarios without their own.
    #[arg(long, value_name = "FILE")]
    pub objectives: Option<PathBuf>,
    /// Fail (exit 1) when the baseline compares nothing somewhere: a drill or strategy without
    /// baseline runs, a header-only, foreign or malformed baseline `runs.csv`, a removed drill.
    #[arg(long, requires = "baseline")]
    pub require_baseline: bool,
    /// Replications per strategy for every scenario, overriding each file's `replications`.
    #[arg(long, short = 'n', value_name = "N")]
    pub replications: Option<u32>,
    /// Master seed for every scenario, overriding each file's `seed`.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub precision: PrecisionArgs,
    /// Treat the scenarios' warnings (probable unit mistakes) as errors: exit 2 before running.
    #[arg(long)]
    pub deny_warnings: bool,
    /// `--format csv|json` prints every check (objective or regression, passed or failed) on
    /// stdout, and the breach lines, notes and summary line on stderr; `-q` drops those and
    /// the progress bar.
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub work: super::scenario_args::WorkArgs,
    #[command(flatten)]
    pub mode: super::mode::ModeArgs,
}

/// The statistics a history line records, in order.
const HISTORY_METRICS: [ObjectiveMetric; 8] = [
    ObjectiveMetric::TtdMean,
    ObjectiveMetric::TtrMean,
    ObjectiveMetric::TtrP95,
    ObjectiveMetric::AffectedShareMean,
    ObjectiveMetric::DetectionProbability,
    ObjectiveMetric::FalseRollbackRate,
    ObjectiveMetric::DeploySuccess,
    ObjectiveMetric::InconsistentRecordsMax,
];

pub(super) fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let suite_objectives = match &args.objectives {
        Some(path) => {
            let text = fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            scenario::parse_objectives(&text, path)?
        }
        None => default_objectives(),
    };
    let out = args.out.unwrap_or_else(super::default_reports_dir);
    let history_path = args.history.unwrap_or_else(|| out.join("history.csv"));
    if let Some(b) = &args.baseline {
        // A missing folder (the first week) is a note per drill, not an error.
        anyhow::ensure!(
            !b.exists() || b.is_dir(),
            "--baseline {}: not a folder; expected the --out folder of an earlier check",
            b.display()
        );
    }
    if let Some(n) = args.replications {
        anyhow::ensure!(
            (1..=limits::MAX_REPLICATIONS).contains(&n),
            "--replications {n}: expected 1 to {}",
            limits::MAX_REPLICATIONS
        );
    }
    let precision = args.precision.get()?;
    let mut suite = load_suite(&args.dir, args.deny_warnings)?;
    for (_, scenario) in &mut suite {
        if let Some(n) = args.replications {
            scenario.set_replications(n);
        }
        if let Some(seed) = args.seed {
            scenario.set_seed(seed);
        }
        if let Some(note) = args
            .mode
            .apply_lenient(scenario, crate::modes::Mode::Requests)
        {
            eprintln!("{note}");
        }
    }
    args.work
        .check(super::drill::suite_work(&suite, &args.precision))?;
    // Before the suite runs: a bad path must not cost a whole drill. `check` creates the
    // `--out` folder and each scenario's folder in it, and the folders above `--history`.
    if let Some(path) = &args.junit {
        let mut created = vec![out.clone()];
        created.extend(suite.iter().map(|(_, s)| out.join(&s.name)));
        writable("--junit", path, &created)?;
    }
    writable("--history", &history_path, &[])?;
    let mut real_stdout = io::stdout().lock();
    // The lines for people: stdout for the table format, else stderr (nothing with -q).
    let mut stdout: Box<dyn Write> = match (args.output.format, args.output.quiet) {
        (Format::Table, _) => Box::new(&mut real_stdout),
        (_, false) => Box::new(io::stderr().lock()),
        (_, true) => Box::new(io::sink()),
    };
    let (mut junit, mut history) = (Vec::new(), Vec::new());
    let mut tally = Tally {
        require_baseline: args.require_baseline,
        ..Tally::default()
    };
    for (file, scenario) in &mut suite {
        let objectives = scenario
            .objectives
            .clone()
            .unwrap_or_else(|| suite_objectives.clone());
        let baseline = args.baseline.as_deref();
        let gate = check_scenario(
            &mut stdout,
            (file, scenario),
            &out,
            (&objectives, precision.as_ref()),
            baseline,
            args.output.quiet,
        )?;
        tally.breaches += gate.breaches;
        tally.regressions += gate.regressions;
        for note in &gate.notes {
            tally.note(&mut stdout, note)?;
        }
        history.extend(gate.history);
        junit.push((scenario.name.clone(), gate.cases));
    }
    if let Some(b) = &args.baseline {
        let names: Vec<&str> = suite.iter().map(|(_, s)| s.name.as_str()).collect();
        for note in removed_drills(b, &names)? {
            tally.note(&mut stdout, &note)?;
        }
    }
    if let Some(path) = &args.junit {
        super::files::write_file(path, |w| write_junit(&junit, w))?;
    }
    append_history(&history_path, &history)?;
    let strategies: usize = suite.iter().map(|(_, s)| s.strategies.len()).sum();
    let gaps = if tally.notes == 0 {
        String::new()
    } else if tally.require_baseline {
        format!(
            ", {} (--require-baseline)",
            super::count(tally.notes, "baseline failure", "baseline failures")
        )
    } else {
        format!(
            ", {}",
            super::count(tally.notes, "baseline note", "baseline notes")
        )
    };
    writeln!(
        stdout,
        "{}",
        crate::modes::suite_header(suite.iter().map(|(_, s)| s.mode))
    )?;
    writeln!(
        stdout,
        "check: {}, {}, {}, {}{gaps}{}",
        super::count(suite.len(), "scenario", "scenarios"),
        super::count(strategies, "strategy", "strategies"),
        super::count(tally.breaches, "breach", "breaches"),
        super::count(tally.regressions, "regression", "regressions"),
        if tally.breaches + tally.regressions == 0 {
            ": all objectives hold"
        } else {
            ""
        }
    )?;
    drop(stdout);
    match args.output.format {
        Format::Table => {}
        Format::Csv => write_cases_csv(&junit, &mut real_stdout)?,
        Format::Json => write_cases_json(&junit, &tally, &mut real_stdout)?,
    }
    Ok(ExitCode::from(u8::from(tally.failed())))
}

/// `check --format csv`: one row per check, `scenario,strategy,check,status,message`.
fn write_cases_csv(junit: &[(String, Vec<Case>)], out: &mut impl Write) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["scenario", "strategy", "check", "status", "message"])?;
    for (scenario, cases) in junit {
        for c in cases {
            let strategy = strategy_of(scenario, &c.class);
            let status = if c.failure.is_some() { "fail" } else { "pass" };
            let message = c.failure.as_deref().unwrap_or("");
            w.write_record([scenario.as_str(), strategy, &c.name, status, message])?;
        }
    }
    w.flush()?;
    Ok(())
}

/// `check --format json`: the verdict, the counts and every check.
fn write_cases_json(
    junit: &[(String, Vec<Case>)],
    tally: &Tally,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let checks: Vec<serde_json::Value> = junit
        .iter()
        .flat_map(|(scenario, cases)| {
            cases.iter().map(move |c| {
                serde_json::json!({
                    "scenario": scenario,
                    "strategy": strategy_of(scenario, &c.class),
                    "check": c.name,
                    "passed": c.failure.is_none(),
                    "message": c.failure,
                })
            })
        })
        .collect();
    let doc = serde_json::json!({
        "passed": !tally.failed(),
        "breaches": tally.breaches,
        "regressions": tally.regressions,
        "baseline_notes": tally.notes,
        "require_baseline": tally.require_baseline,
        "checks": checks,
    });
    writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    Ok(())
}

/// The strategy of a case whose class is `scenario.strategy`.
fn strategy_of<'c>(scenario: &str, class: &'c str) -> &'c str {
    class
        .strip_prefix(scenario)
        .and_then(|c| c.strip_prefix('.'))
        .unwrap_or(class)
}

/// Errors (exit 2) unless `path` can take a file: not a folder, an existing file writable,
/// and the nearest existing folder above it writable. `created` lists the folders `check`
/// creates; `--junit` needs its folder to exist or be one of them, `--history` (given no
/// `created`) creates the folders between.
fn writable(flag: &str, path: &Path, created: &[PathBuf]) -> anyhow::Result<()> {
    anyhow::ensure!(
        !path.is_dir(),
        "{flag} {}: is a folder; expected a file path",
        path.display()
    );
    if path.exists() {
        OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("{flag} {}: cannot write to it", path.display()))?;
        return Ok(());
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // A relative path's last ancestor is the empty path: the current folder.
    let existing = parent
        .ancestors()
        .map(|a| {
            if a.as_os_str().is_empty() {
                Path::new(".")
            } else {
                a
            }
        })
        .find(|a| a.exists())
        .unwrap_or(parent);
    anyhow::ensure!(
        existing.is_dir(),
        "{flag} {}: {} is not a folder",
        path.display(),
        existing.display()
    );
    anyhow::ensure!(
        created.is_empty() || parent.is_dir() || created.iter().any(|c| c == parent),
        "{flag} {}: folder {} does not exist",
        path.display(),
        parent.display()
    );
    let read_only = fs::metadata(existing).is_ok_and(|m| m.permissions().readonly());
    anyhow::ensure!(
        !read_only,
        "{flag} {}: folder {} is read-only",
        path.display(),
        existing.display()
    );
    Ok(())
}

/// The suite's counts, for the last line and the exit code.
#[derive(Default)]
struct Tally {
    /// Objectives breached.
    breaches: usize,
    /// Regression lines (identical ones merged).
    regressions: usize,
    /// Places where the baseline compared nothing.
    notes: usize,
    /// Whether those notes fail the gate.
    require_baseline: bool,
}

impl Tally {
    /// Prints a baseline note (`BASELINE`, a failure, under `--require-baseline`).
    fn note(&mut self, stdout: &mut impl Write, text: &str) -> io::Result<()> {
        self.notes += 1;
        let tag = if self.require_baseline {
            "BASELINE"
        } else {
            "note:"
        };
        writeln!(stdout, "{tag} {text}")
    }

    /// Whether the gate fails.
    fn failed(&self) -> bool {
        self.breaches + self.regressions > 0 || (self.require_baseline && self.notes > 0)
    }
}

/// What checking one scenario found.
struct Gate {
    /// One test case per objective and regression metric of each strategy.
    cases: Vec<Case>,
    /// One history line per strategy.
    history: Vec<String>,
    /// Objectives breached.
    breaches: usize,
    /// Regression lines printed (identical ones merged).
    regressions: usize,
    /// Where the baseline compared nothing, one note each.
    notes: Vec<String>,
}

/// What the baseline folder holds for one drill.
enum Baseline {
    /// Its rows, and the file they come from.
    Rows(PathBuf, Vec<BTreeMap<String, String>>),
    /// Nothing to compare with, and why.
    Gap(String),
}

/// The columns a baseline `runs.csv` must have.
fn required_columns() -> impl Iterator<Item = &'static str> {
    ["strategy"].into_iter().chain(REGRESSION_METRICS)
}

/// The baseline of drill `name` in the folder `dir`.
fn load_baseline(dir: &Path, name: &str) -> Baseline {
    let path = dir.join(name).join("runs.csv");
    if !path.is_file() {
        return Baseline::Gap(format!(
            "no baseline for {name}: {} does not exist (a new or renamed drill): nothing compared",
            path.display()
        ));
    }
    let header = csv::Reader::from_path(&path).and_then(|mut r| r.headers().cloned());
    let header = match header {
        Ok(h) => h,
        Err(e) => {
            return Baseline::Gap(format!(
                "baseline {} is malformed ({e}): nothing compared for {name}",
                path.display()
            ));
        }
    };
    let missing: Vec<&str> = required_columns()
        .filter(|c| !header.iter().any(|h| h == *c))
        .collect();
    if !missing.is_empty() {
        return Baseline::Gap(format!(
            "baseline {} has a foreign header (no column {}); expected the runs.csv of a rehearsal run: nothing compared for {name}",
            path.display(),
            missing.join(", ")
        ));
    }
    match read_runs(&path) {
        Err(e) => Baseline::Gap(format!(
            "baseline {} is malformed ({e}): nothing compared for {name}",
            path.display()
        )),
        Ok(rows) if rows.is_empty() => Baseline::Gap(format!(
            "baseline {} is header-only (no runs): nothing compared for {name}",
            path.display()
        )),
        Ok(rows) => Baseline::Rows(path, rows),
    }
}

/// One note per drill of the baseline folder (a sub-folder with a `runs.csv`) that the suite
/// no longer has, in name order.
fn removed_drills(dir: &Path, suite: &[&str]) -> anyhow::Result<Vec<String>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut names: Vec<String> = fs::read_dir(dir)
        .with_context(|| format!("--baseline {}: cannot list it", dir.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.path().join("runs.csv").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !suite.contains(&n.as_str()))
        .collect();
    names.sort();
    Ok(names
        .into_iter()
        .map(|n| {
            format!(
                "baseline drill {n} ({}) is not in the suite (removed or renamed): nothing compared",
                dir.join(&n).join("runs.csv").display()
            )
        })
        .collect())
}

/// One strategy under check: where its verdicts go and how to reproduce them.
struct Subject<'a> {
    scenario: &'a Scenario,
    strategy: &'a StrategySpec,
    /// Its JUnit class, `<scenario>.<strategy>`.
    class: String,
    reproduce: &'a str,
}

impl Subject<'_> {
    /// Adds the case `name` and prints its failure, if any, after `tag`; 1 when it failed.
    fn record(
        &self,
        stdout: &mut impl Write,
        cases: &mut Vec<Case>,
        tag: &str,
        name: String,
        failure: Option<String>,
    ) -> io::Result<usize> {
        if let Some(f) = &failure {
            writeln!(stdout, "{tag} {f}")?;
        }
        let failed = usize::from(failure.is_some());
        cases.push(Case {
            class: self.class.clone(),
            name,
            failure,
        });
        Ok(failed)
    }
}

/// Runs one scenario into `out/<name>/`, checks each strategy against `objectives` and, when
/// the baseline folder has this scenario, against it; prints every breach and regression.
fn check_scenario(
    stdout: &mut impl Write,
    (file, scenario): (&Path, &mut Scenario),
    out: &Path,
    (objectives, precision): (&[Objective], Option<&Precision>),
    baseline_dir: Option<&Path>,
    quiet: bool,
) -> anyhow::Result<Gate> {
    let dir = out.join(&scenario.name);
    let progress = Progress::new(units(scenario, precision), quiet);
    progress.set_message(&scenario.name);
    let done = execute_with(
        scenario,
        precision,
        file,
        &dir,
        &progress,
        (String::new(), false),
    );
    progress.finish();
    let scenario = &*scenario;
    let result = done?.result;
    let reproduce = format!(
        "rehearsal run {} --seed {} --replications {}{}",
        file.display(),
        scenario.seed,
        scenario.replications,
        super::run::mode_flag(scenario)
    );
    let baseline = baseline_dir.map(|b| load_baseline(b, &scenario.name));
    let current_path = dir.join("runs.csv");
    let current_rows = read_runs(&current_path)
        .with_context(|| format!("cannot read {}", current_path.display()))?;
    let mut gate = Gate {
        cases: Vec::new(),
        history: Vec::new(),
        breaches: 0,
        regressions: 0,
        notes: Vec::new(),
    };
    if let Some(Baseline::Gap(note)) = &baseline {
        gate.notes.push(note.clone());
    }
    let release = scenario.release();
    let reps = scenario.replications as usize;
    for (s, strategy) in scenario.strategies.iter().enumerate() {
        let runs = &result.runs[s * reps..(s + 1) * reps];
        let subject = Subject {
            scenario,
            strategy,
            class: format!("{}.{}", scenario.name, strategy.name),
            reproduce: &reproduce,
        };
        let breaches =
            objective_cases(stdout, &subject, objectives, runs, release, &mut gate.cases)?;
        let mut regressions = 0;
        if let Some(Baseline::Rows(path, rows)) = &baseline {
            if rows
                .iter()
                .any(|r| r.get("strategy") == Some(&strategy.name))
            {
                regressions =
                    regression_cases(stdout, &subject, rows, &current_rows, &mut gate.cases)?;
            } else {
                gate.notes
                    .push(missing_strategy(path, rows, &scenario.name, &strategy.name));
            }
        }
        gate.breaches += breaches;
        gate.regressions += regressions;
        gate.history.push(history_line(
            scenario,
            strategy,
            runs,
            release,
            breaches + regressions,
        ));
    }
    Ok(gate)
}

/// The note for a strategy the baseline has no runs of, with the baseline's strategies.
fn missing_strategy(
    path: &Path,
    rows: &[BTreeMap<String, String>],
    scenario: &str,
    strategy: &str,
) -> String {
    let mut names: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.get("strategy").map(String::as_str))
        .collect();
    names.dedup();
    format!(
        "baseline {} has no runs of strategy {strategy} (renamed? it has {}): nothing compared for {scenario} / {strategy}",
        path.display(),
        names.join(", ")
    )
}

/// One case per objective for the strategy's runs; prints each breach and returns how many.
fn objective_cases(
    stdout: &mut impl Write,
    subject: &Subject,
    objectives: &[Objective],
    runs: &[RunOutcome],
    release: Release,
    cases: &mut Vec<Case>,
) -> anyhow::Result<usize> {
    let mut breaches = 0;
    for v in evaluate(objectives, runs, release) {
        let shown = v.shown();
        let failure = (!v.met).then(|| {
            format!(
                "{} / {}: {} = {shown} (objective {}); reproduce: {}",
                subject.scenario.name,
                subject.strategy.name,
                v.objective.metric.name(),
                v.objective.describe(),
                subject.reproduce
            )
        });
        breaches += subject.record(stdout, cases, "BREACH", v.objective.describe(), failure)?;
    }
    Ok(breaches)
}

/// One case per regression metric, the strategy's rows against the baseline's; prints each
/// regression, metrics with identical numbers on one line (TTD and TTR when `verify = 0`),
/// and returns how many lines it printed.
fn regression_cases(
    stdout: &mut impl Write,
    subject: &Subject,
    baseline_rows: &[BTreeMap<String, String>],
    current_rows: &[BTreeMap<String, String>],
    cases: &mut Vec<Case>,
) -> anyhow::Result<usize> {
    // Regressed metrics grouped by their numbers, in metric order.
    let mut lines: Vec<(Vec<&str>, Comparison)> = Vec::new();
    for metric in REGRESSION_METRICS {
        let values =
            |rows: &[BTreeMap<String, String>]| column(rows, &subject.strategy.name, metric);
        let Some(c) = regression::compare(metric, &values(baseline_rows), &values(current_rows))
        else {
            continue;
        };
        let failure = c.regressed.then(|| regression_text(subject, &[metric], &c));
        let name = format!("no regression of {metric}");
        subject.record(&mut io::sink(), cases, "REGRESSION", name, failure)?;
        if c.regressed {
            let same = |(_, d): &&mut (Vec<&str>, Comparison)| {
                (d.baseline, d.current, d.t) == (c.baseline, c.current, c.t)
            };
            match lines.iter_mut().find(|l| same(l)) {
                Some(line) => line.0.push(metric),
                None => lines.push((vec![metric], c)),
            }
        }
    }
    for (metrics, c) in &lines {
        writeln!(
            stdout,
            "REGRESSION {}",
            regression_text(subject, metrics, c)
        )?;
    }
    Ok(lines.len())
}

/// `gate / canary: ttd_s and ttr_s mean 59.0000 → 121.0000 (+105 %, Welch t = 9.1) against
/// the baseline; reproduce: …`.
fn regression_text(subject: &Subject, metrics: &[&str], c: &Comparison) -> String {
    format!(
        "{} / {}: {} mean {:.4} → {:.4} ({:+.0} %, Welch t = {:.1}) against the baseline; reproduce: {}",
        subject.scenario.name,
        subject.strategy.name,
        metrics.join(" and "),
        c.baseline.0,
        c.current.0,
        100.0 * (c.current.0 - c.baseline.0) / c.baseline.0.abs().max(f64::MIN_POSITIVE),
        c.t,
        subject.reproduce
    )
}

/// The strategy's history line, without the time: scenario, strategy, seed, replications,
/// the [`HISTORY_METRICS`] and the breaches.
fn history_line(
    scenario: &Scenario,
    strategy: &StrategySpec,
    runs: &[RunOutcome],
    release: Release,
    breaches: usize,
) -> String {
    let stats = HISTORY_METRICS.map(|m| {
        m.value(runs, release)
            .map_or(String::new(), |x| format!("{x:.6}"))
    });
    format!(
        "{},{},{},{},{},{}",
        scenario.name,
        strategy.name,
        scenario.seed,
        scenario.replications,
        stats.join(","),
        breaches
    )
}

/// The values of `column` for `strategy`'s rows (`true`/`false` as 1/0; empty cells skipped).
fn column(rows: &[BTreeMap<String, String>], strategy: &str, column: &str) -> Vec<f64> {
    rows.iter()
        .filter(|r| r.get("strategy").is_some_and(|s| s == strategy))
        .filter_map(|r| match r.get(column)?.as_str() {
            "true" => Some(1.0),
            "false" => Some(0.0),
            cell => cell.parse().ok(),
        })
        .collect()
}

/// Appends the history lines in one locked write, with a header when the file is new.
fn append_history(path: &Path, lines: &[String]) -> anyhow::Result<()> {
    let metrics: Vec<&str> = HISTORY_METRICS.iter().map(|m| m.name()).collect();
    let header = format!(
        "checked_at,scenario,strategy,seed,replications,{},breaches\n",
        metrics.join(",")
    );
    let now = utc_now();
    let body: String = lines.iter().map(|line| format!("{now},{line}\n")).collect();
    super::files::append_locked(path, &header, &body)
}

/// The wall clock as `YYYY-MM-DDTHH:MM:SSZ` (history lines only; simulations never read it).
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}
