//! `rehearsal check [DIR]`: the weekly drill gate. Exit 0 when every objective holds and
//! nothing regressed, 1 otherwise, 2 on a usage or scenario error.

use super::drill::load_suite;
use super::run::execute;
use crate::objectives::{Objective, ObjectiveMetric, default_objectives, evaluate};
use crate::outcome::RunOutcome;
use crate::regression::{self, REGRESSION_METRICS};
use crate::report::{Case, read_runs, write_junit};
use crate::scenario::{self, Scenario};
use crate::strategy::StrategySpec;
use anyhow::Context;
use clap::Args;
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
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
}

/// The statistics a history line records, in order.
const HISTORY_METRICS: [ObjectiveMetric; 7] = [
    ObjectiveMetric::TtdMean,
    ObjectiveMetric::TtrMean,
    ObjectiveMetric::TtrP95,
    ObjectiveMetric::AffectedShareMean,
    ObjectiveMetric::DetectionProbability,
    ObjectiveMetric::FalseRollbackRate,
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
    let suite = load_suite(&args.dir)?;
    let out = args.out.unwrap_or_else(super::default_reports_dir);
    let mut stdout = io::stdout().lock();
    let (mut junit, mut history, mut breaches) = (Vec::new(), Vec::new(), 0usize);
    for (file, scenario) in &suite {
        let objectives = scenario.objectives.as_deref().unwrap_or(&suite_objectives);
        let baseline = args.baseline.as_deref();
        let gate = check_scenario(&mut stdout, file, scenario, &out, objectives, baseline)?;
        breaches += gate.breaches;
        history.extend(gate.history);
        junit.push((scenario.name.clone(), gate.cases));
    }
    if let Some(path) = &args.junit {
        let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        write_junit(&junit, BufWriter::new(f))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    append_history(
        &args.history.unwrap_or_else(|| out.join("history.csv")),
        &history,
    )?;
    let strategies: usize = suite.iter().map(|(_, s)| s.strategies.len()).sum();
    writeln!(
        stdout,
        "check: {}, {}, {}{}",
        super::count(suite.len(), "scenario", "scenarios"),
        super::count(strategies, "strategy", "strategies"),
        super::count(breaches, "breach", "breaches"),
        if breaches == 0 {
            ": all objectives hold"
        } else {
            ""
        }
    )?;
    Ok(ExitCode::from(if breaches == 0 { 0 } else { 1 }))
}

/// What checking one scenario found.
struct Gate {
    /// One test case per objective and regression metric of each strategy.
    cases: Vec<Case>,
    /// One history line per strategy.
    history: Vec<String>,
    /// Objectives breached and metrics regressed.
    breaches: usize,
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
    file: &Path,
    scenario: &Scenario,
    out: &Path,
    objectives: &[Objective],
    baseline_dir: Option<&Path>,
) -> anyhow::Result<Gate> {
    let dir = out.join(&scenario.name);
    let result = execute(scenario, file, &dir)?;
    let reproduce = format!(
        "rehearsal run {} --seed {} --replications {}",
        file.display(),
        scenario.seed,
        scenario.replications
    );
    let baseline = baseline_dir
        .map(|b| b.join(&scenario.name).join("runs.csv"))
        .filter(|p| p.is_file());
    let baseline_rows = baseline.as_deref().map(read_runs).transpose()?;
    let current_rows = read_runs(&dir.join("runs.csv"))?;
    let mut gate = Gate {
        cases: Vec::new(),
        history: Vec::new(),
        breaches: 0,
    };
    let reps = scenario.replications as usize;
    for (s, strategy) in scenario.strategies.iter().enumerate() {
        let runs = &result.runs[s * reps..(s + 1) * reps];
        let subject = Subject {
            scenario,
            strategy,
            class: format!("{}.{}", scenario.name, strategy.name),
            reproduce: &reproduce,
        };
        let mut strategy_breaches =
            objective_cases(stdout, &subject, objectives, runs, &mut gate.cases)?;
        if let Some(rows) = &baseline_rows {
            strategy_breaches +=
                regression_cases(stdout, &subject, rows, &current_rows, &mut gate.cases)?;
        }
        gate.breaches += strategy_breaches;
        gate.history
            .push(history_line(scenario, strategy, runs, strategy_breaches));
    }
    if baseline_dir.is_some() && baseline.is_none() {
        writeln!(
            stdout,
            "note: no baseline for {} (nothing to compare)",
            scenario.name
        )?;
    }
    Ok(gate)
}

/// One case per objective for the strategy's runs; prints each breach and returns how many.
fn objective_cases(
    stdout: &mut impl Write,
    subject: &Subject,
    objectives: &[Objective],
    runs: &[RunOutcome],
    cases: &mut Vec<Case>,
) -> anyhow::Result<usize> {
    let mut breaches = 0;
    for v in evaluate(objectives, runs) {
        let shown = v.value.map_or("undefined".into(), |x| v.objective.show(x));
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
/// regression and returns how many.
fn regression_cases(
    stdout: &mut impl Write,
    subject: &Subject,
    baseline_rows: &[BTreeMap<String, String>],
    current_rows: &[BTreeMap<String, String>],
    cases: &mut Vec<Case>,
) -> anyhow::Result<usize> {
    let mut regressions = 0;
    for metric in REGRESSION_METRICS {
        let values =
            |rows: &[BTreeMap<String, String>]| column(rows, &subject.strategy.name, metric);
        let Some(c) = regression::compare(metric, &values(baseline_rows), &values(current_rows))
        else {
            continue;
        };
        let failure = c.regressed.then(|| {
            format!(
                "{} / {}: {metric} mean {:.4} → {:.4} ({:+.0} %, Welch t = {:.1}) against the baseline; reproduce: {}",
                subject.scenario.name,
                subject.strategy.name,
                c.baseline.0,
                c.current.0,
                100.0 * (c.current.0 - c.baseline.0) / c.baseline.0.abs().max(f64::MIN_POSITIVE),
                c.t,
                subject.reproduce
            )
        });
        let name = format!("no regression of {metric}");
        regressions += subject.record(stdout, cases, "REGRESSION", name, failure)?;
    }
    Ok(regressions)
}

/// The strategy's history line, without the time: scenario, strategy, seed, replications,
/// the [`HISTORY_METRICS`] and the breaches.
fn history_line(
    scenario: &Scenario,
    strategy: &StrategySpec,
    runs: &[RunOutcome],
    breaches: usize,
) -> String {
    let stats = HISTORY_METRICS.map(|m| m.value(runs).map_or(String::new(), |x| format!("{x:.6}")));
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

/// Appends the history lines, with a header when the file is new.
fn append_history(path: &Path, lines: &[String]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let new = !path.exists();
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    if new {
        let metrics: Vec<&str> = HISTORY_METRICS.iter().map(|m| m.name()).collect();
        writeln!(
            f,
            "checked_at,scenario,strategy,seed,replications,{},breaches",
            metrics.join(",")
        )?;
    }
    let now = utc_now();
    for line in lines {
        writeln!(f, "{now},{line}")?;
    }
    Ok(())
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
