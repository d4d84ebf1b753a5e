//! `rehearsal run FILE`: one scenario, every strategy.

use super::files::{check_out_dir, out_dir, write_bytes, write_file};
use super::output::{Format, OutputArgs, Progress, shell_word};
use super::scenario_args::ScenarioArgs;
use crate::modes::Mode;
use crate::objectives::Verdict;
use crate::outcome::StrategySummary;
use crate::precision::Precision;
use crate::replications::{ScenarioResult, run_scenario_with, run_to_precision, work_units};
use crate::report::format::wrap;
use crate::report::{
    self, Provenance, SummaryRow, TABLE_WIDTH, json, summary_table, write_runs, write_summaries,
};
use crate::scenario::{Scenario, ScenarioErrors};
use anyhow::Context;
use clap::Args;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `run` and `compare`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Treat the scenario's warnings (probable unit mistakes) as errors: exit 2 before running.
    #[arg(long, alias = "strict")]
    pub deny_warnings: bool,
}

impl RunArgs {
    /// Loads the scenario (every error at once), prints its warnings on stderr and, under
    /// `--deny-warnings`, refuses it when there is any.
    pub(super) fn load(&self) -> anyhow::Result<Scenario> {
        let scenario = self.scenario.load()?;
        let warnings = crate::scenario::warnings(&scenario, &self.scenario.file);
        if self.deny_warnings && !warnings.is_empty() {
            anyhow::bail!(ScenarioErrors(warnings));
        }
        let mut stderr = io::stderr().lock();
        for w in &warnings {
            writeln!(stderr, "warning: {w}")?;
        }
        Ok(scenario)
    }
}

pub(super) fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut scenario = args.load()?;
    let precision = args.scenario.precision.get()?;
    let out = args
        .scenario
        .out
        .clone()
        .unwrap_or_else(|| super::default_reports_dir().join(&scenario.name));
    check_out_dir("--out", &out)?;
    let progress = Progress::new(units(&scenario, precision.as_ref()), args.output.quiet);
    progress.set_message(&scenario.name);
    let reproduce = format!(
        "rehearsal run {} --seed {} --replications {}{}{}",
        shell_word(&args.scenario.file),
        scenario.seed,
        scenario.replications,
        mode_flag(&scenario),
        args.scenario.precision.flags()
    );
    let done = execute_with(
        &mut scenario,
        precision.as_ref(),
        &args.scenario.file,
        &out,
        &progress,
        (reproduce, false),
    );
    progress.finish();
    let done = done?;
    let mut stdout = io::stdout().lock();
    match args.output.format {
        Format::Table => print_result(&mut stdout, &scenario, &done)?,
        Format::Csv => write_summaries(
            &summary_rows(&scenario, &done.result.summaries),
            &mut stdout,
        )?,
        Format::Json => stdout.write_all(json::summary_json(&[done.json(&scenario)]).as_bytes())?,
    }
    if args.output.notes_to_stderr() && !args.output.quiet {
        print_notes(&mut io::stderr().lock(), &done)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A scenario that ran and whose reports are written.
pub(super) struct Executed {
    /// Its runs, summaries and timelines.
    pub result: ScenarioResult,
    /// The scenario file as given.
    pub file: PathBuf,
    /// The folder its reports went to.
    pub dir: PathBuf,
    /// PNG plots written under `dir/plots/`.
    pub plots: usize,
    /// The command that reproduces it.
    pub reproduce: String,
    /// Each strategy's objective verdicts.
    pub verdicts: Vec<Vec<Verdict>>,
}

impl Executed {
    /// The `--format json` form of this scenario.
    pub fn json(&self, scenario: &Scenario) -> json::ScenarioJson {
        let mut doc = json::scenario_json(
            scenario,
            &self.result.summaries,
            &self.verdicts,
            &self.file.display().to_string(),
            &self.reproduce,
            &self.dir.join("report.html").display().to_string(),
        );
        doc.precision = self.result.precision.as_ref().map(Into::into);
        doc
    }
}

/// The summary rows of `summary.csv`, each with its strategy's kind and how its empty
/// analysis windows counted.
pub(super) fn summary_rows<'s>(
    scenario: &'s Scenario,
    summaries: &[StrategySummary],
) -> Vec<SummaryRow<'s>> {
    summaries
        .iter()
        .zip(&scenario.strategies)
        .map(|(s, spec)| SummaryRow {
            summary: s.clone(),
            kind: spec.kind.name(),
            on_no_data: spec.analysis.as_ref().map(|a| a.on_no_data.name()),
        })
        .collect()
}

/// The progress bar's first length: every run, or nothing under `--precision` (each batch
/// adds its runs as it is scheduled).
pub(super) fn units(scenario: &Scenario, precision: Option<&Precision>) -> u64 {
    if precision.is_some() {
        0
    } else {
        work_units(scenario)
    }
}

/// The reproduce line of a scenario run by `drill` or `check`: `run` with its seed and
/// replications (the settled count under `--precision`, which replays the same runs).
pub(super) fn run_line(file: &Path, scenario: &Scenario) -> String {
    format!(
        "rehearsal run {} --seed {} --replications {}{}",
        shell_word(file),
        scenario.seed,
        scenario.replications,
        mode_flag(scenario)
    )
}

/// ` --mode windows` when the scenario runs in windows mode (requests mode is the default).
pub(super) fn mode_flag(scenario: &Scenario) -> &'static str {
    if scenario.mode == Mode::Windows {
        " --mode windows"
    } else {
        ""
    }
}

/// Runs `scenario` (to `precision` when given, then recording the settled replication count
/// in it) and writes into `out`: `runs.csv`, `summary.csv`, `report.html` and the PNG plots,
/// behind the caller's progress bar; returns where everything went. `reproduce` is the
/// command the reports print; empty means [`run_line`] after the runs. `compare` adds the
/// compare table, with its best and significance marks, to `report.html`.
pub(super) fn execute_with(
    scenario: &mut Scenario,
    precision: Option<&Precision>,
    file: &Path,
    out: &Path,
    progress: &Progress,
    (reproduce, compare): (String, bool),
) -> anyhow::Result<Executed> {
    let result = match precision {
        None => run_scenario_with(scenario, &|| progress.tick()),
        Some(p) => run_to_precision(scenario, p, &|| progress.tick(), &|n| progress.grow(n)),
    }
    .with_context(|| format!("{}: the run stopped", file.display()))?;
    if let Some(settled) = &result.precision {
        scenario.settle_replications(settled.replications);
    }
    let reproduce = if reproduce.is_empty() {
        run_line(file, scenario)
    } else {
        reproduce
    };
    let scenario = &*scenario;
    out_dir("--out", out)?;
    write_csv(&out.join("runs.csv"), |w| write_runs(&result.runs, w))?;
    write_csv(&out.join("summary.csv"), |w| {
        write_summaries(&summary_rows(scenario, &result.summaries), w)
    })?;

    let file_shown = file.display().to_string();
    // `compare` adds its table, marks and best to the report.
    let compare_section = compare.then(|| {
        let names: Vec<String> = scenario.strategies.iter().map(|s| s.name.clone()).collect();
        report::compare_html(&names, &crate::outcome::compare(&result.runs, names.len()))
    });
    let provenance = Provenance {
        file: &file_shown,
        reproduce: &reproduce,
        compare: compare_section.as_deref(),
    };
    let files = report::scenario_report(scenario, &result, &provenance)
        .with_context(|| format!("{}: cannot draw the report", scenario.name))?;
    let plots = files.len().saturating_sub(1);
    out_dir("--out", &out.join(report::PLOTS_DIR))?;
    for (rel, bytes) in files {
        write_bytes(&out.join(rel), bytes)?;
    }
    let verdicts = report::objectives::judge(scenario, &result);
    Ok(Executed {
        result,
        file: file.to_path_buf(),
        dir: out.to_path_buf(),
        plots,
        reproduce,
        verdicts,
    })
}

/// Writes a CSV file through `write`, whole or not at all ([`write_file`]).
pub(super) fn write_csv(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&mut File>) -> csv::Result<()>,
) -> anyhow::Result<()> {
    write_file(path, write)
}

/// Where the reports went and how to reproduce them (and how `--precision` settled).
pub(super) fn print_notes(w: &mut impl Write, done: &Executed) -> io::Result<()> {
    if let Some(settled) = &done.result.precision {
        writeln!(w, "{}", settled.line())?;
    }
    print_paths(w, done)
}

/// Where the reports went and how to reproduce them.
fn print_paths(w: &mut impl Write, done: &Executed) -> io::Result<()> {
    writeln!(
        w,
        "report:    {} (+ runs.csv, summary.csv, {} plots)",
        done.dir.join("report.html").display(),
        done.plots
    )?;
    writeln!(w, "reproduce: {}", done.reproduce)
}

/// Prints the scenario's header, summary table, where the reports went and the command that
/// reproduces it.
pub(super) fn print_result(
    w: &mut impl Write,
    scenario: &Scenario,
    done: &Executed,
) -> io::Result<()> {
    writeln!(
        w,
        "{} — {} × {} replications, horizon {}, seed {}",
        scenario.name,
        super::count(scenario.strategies.len(), "strategy", "strategies"),
        scenario.replications,
        scenario.horizon.human(),
        scenario.seed
    )?;
    if !scenario.description.is_empty() {
        write!(
            w,
            "{}",
            wrap(scenario.description.trim(), TABLE_WIDTH as usize)
        )?;
    }
    if let Some(settled) = &done.result.precision {
        write!(w, "{}", wrap(&settled.line(), TABLE_WIDTH as usize))?;
    }
    writeln!(w, "{}", crate::modes::header(scenario.mode))?;
    writeln!(w)?;
    write!(w, "{}", summary_table(&done.result.summaries))?;
    for line in report::semantics_lines(&scenario.strategies) {
        write!(w, "{}", wrap(&line, TABLE_WIDTH as usize))?;
    }
    let names: Vec<String> = scenario.strategies.iter().map(|s| s.name.clone()).collect();
    for line in report::objectives::missed_lines(&names, &done.verdicts) {
        write!(w, "{}", wrap(&line, TABLE_WIDTH as usize))?;
    }
    writeln!(w)?;
    print_paths(w, done)?;
    writeln!(w)
}
