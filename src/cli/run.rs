//! `rehearsal run FILE`: one scenario, every strategy.

use crate::drill::{ScenarioResult, run_scenario};
use crate::report::{summary_table, write_runs, write_summaries};
use crate::scenario::{self, Scenario, limits};
use anyhow::Context;
use clap::Args;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub file: PathBuf,
    /// Output folder [default: reports/<scenario name>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replications per strategy, overriding the scenario's `replications`.
    #[arg(long, short = 'n', value_name = "N")]
    pub replications: Option<u32>,
    /// Master seed, overriding the scenario's `seed`.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
}

pub(super) fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let scenario = load_with_overrides(&args.file, args.replications, args.seed)?;
    let out = args
        .out
        .unwrap_or_else(|| super::default_reports_dir().join(&scenario.name));
    let result = execute(&scenario, &args.file, &out)?;
    let mut stdout = io::stdout().lock();
    print_result(&mut stdout, &scenario, &args.file, &result, &out)?;
    Ok(ExitCode::SUCCESS)
}

/// Loads a scenario and applies the command line's `--replications` and `--seed`.
pub(super) fn load_with_overrides(
    file: &Path,
    replications: Option<u32>,
    seed: Option<u64>,
) -> anyhow::Result<Scenario> {
    let mut scenario = scenario::load(file)?;
    if let Some(n) = replications {
        anyhow::ensure!(
            (1..=limits::MAX_REPLICATIONS).contains(&n),
            "--replications {n}: expected 1 to {}",
            limits::MAX_REPLICATIONS
        );
        scenario.replications = n;
    }
    if let Some(s) = seed {
        scenario.seed = s;
    }
    Ok(scenario)
}

/// Runs `scenario` and writes `runs.csv` and `summary.csv` into `out`.
pub(super) fn execute(
    scenario: &Scenario,
    file: &Path,
    out: &Path,
) -> anyhow::Result<ScenarioResult> {
    let result =
        run_scenario(scenario).with_context(|| format!("{}: the run stopped", file.display()))?;
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    write_csv(&out.join("runs.csv"), |w| write_runs(&result.runs, w))?;
    let with_no_data: Vec<_> = result
        .summaries
        .iter()
        .zip(&scenario.strategies)
        .map(|(s, spec)| {
            (
                s.clone(),
                spec.analysis.as_ref().map(|a| a.on_no_data.name()),
            )
        })
        .collect();
    write_csv(&out.join("summary.csv"), |w| {
        write_summaries(&with_no_data, w)
    })?;
    Ok(result)
}

/// Writes a CSV file through `write`.
pub(super) fn write_csv(
    path: &Path,
    write: impl FnOnce(BufWriter<File>) -> csv::Result<()>,
) -> anyhow::Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    write(BufWriter::new(file)).with_context(|| format!("cannot write {}", path.display()))
}

/// Prints the scenario's header, summary table and the command that reproduces it.
pub(super) fn print_result(
    w: &mut impl Write,
    scenario: &Scenario,
    file: &Path,
    result: &ScenarioResult,
    out: &Path,
) -> io::Result<()> {
    writeln!(
        w,
        "{} — {} {} × {} replications, horizon {}, seed {}",
        scenario.name,
        scenario.strategies.len(),
        if scenario.strategies.len() == 1 {
            "strategy"
        } else {
            "strategies"
        },
        scenario.replications,
        scenario.horizon.human(),
        scenario.seed
    )?;
    if !scenario.description.is_empty() {
        writeln!(w, "{}", scenario.description.trim())?;
    }
    writeln!(w)?;
    write!(w, "{}", summary_table(&result.summaries))?;
    writeln!(w, "\nwrote {}/runs.csv and summary.csv", out.display())?;
    writeln!(
        w,
        "reproduce: rehearsal run {} --seed {} --replications {}\n",
        file.display(),
        scenario.seed,
        scenario.replications
    )
}
