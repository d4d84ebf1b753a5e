//! `rehearsal drill [DIR]`: every scenario of a folder, each written as soon as it is done,
//! then the suite's `summary.csv` and `index.html`.

use super::output::{Format, OutputArgs, Progress, shell_word};
use super::run::{
    Executed, execute_with, print_notes, print_result, summary_rows, units, write_csv,
};
use super::scenario_args::{PrecisionArgs, WorkArgs};
use crate::precision::Precision;
use crate::report::html::{IndexEntry, index_page};
use crate::report::{json, write_summaries};
use crate::scenario::work::Work;
use crate::scenario::{self, Scenario, ScenarioErrors};
use anyhow::Context;
use clap::Args;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The note an interrupted drill leaves in its output folder.
const INTERRUPTED_NOTE: &str = "interrupted.txt";

/// Arguments of `drill`.
#[derive(Debug, Args)]
pub struct DrillArgs {
    /// Folder of scenario files.
    #[arg(default_value = "scenarios")]
    pub dir: PathBuf,
    /// Output folder; each scenario writes `<out>/<name>/`, the suite `<out>/summary.csv` and
    /// `<out>/index.html`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub work: WorkArgs,
    #[command(flatten)]
    pub mode: super::mode::ModeArgs,
    #[command(flatten)]
    pub precision: PrecisionArgs,
    /// Treat the scenarios' warnings (probable unit mistakes) as errors: exit 2 before running.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// The work of every scenario of a suite.
pub(super) fn suite_work(suite: &[(PathBuf, Scenario)], precision: &PrecisionArgs) -> Work {
    let most = precision.most_replications();
    suite.iter().map(|(_, s)| Work::at_most(s, most)).sum()
}

/// Loads and validates every scenario of `dir` before anything runs: a typo in the last file
/// should not cost a long run, and every error of every file is reported at once. Prints each
/// file's warnings on stderr, or with `deny_warnings` refuses the suite when there is any.
/// Returns `(file, scenario)` pairs in file-name order.
pub(super) fn load_suite(
    dir: &Path,
    deny_warnings: bool,
) -> anyhow::Result<Vec<(PathBuf, Scenario)>> {
    let files = scenario::discover(dir)?;
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for file in &files {
        match scenario::load_all(file) {
            Ok(s) => scenarios.push(s),
            Err(e) => errors.extend(e.0),
        }
    }
    if !errors.is_empty() {
        return Err(ScenarioErrors(errors).into());
    }
    let warnings: Vec<_> = files
        .iter()
        .zip(&scenarios)
        .flat_map(|(file, s)| scenario::warnings(s, file))
        .collect();
    if deny_warnings && !warnings.is_empty() {
        return Err(ScenarioErrors(warnings).into());
    }
    let mut stderr = io::stderr().lock();
    for w in &warnings {
        writeln!(stderr, "warning: {w}")?;
    }
    let mut names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        anyhow::bail!(
            "two scenarios in {} are named \"{}\"; report folders would collide",
            dir.display(),
            w[0]
        );
    }
    Ok(files.into_iter().zip(scenarios).collect())
}

pub(super) fn drill(args: DrillArgs) -> anyhow::Result<ExitCode> {
    let suite = load_suite(&args.dir, args.deny_warnings)?;
    args.work.check(suite_work(&suite, &args.precision))?;
    let precision = args.precision.get()?;
    let (files, mut scenarios): (Vec<PathBuf>, Vec<Scenario>) = suite.into_iter().unzip();
    for scenario in &mut scenarios {
        if let Some(note) = args
            .mode
            .apply_lenient(scenario, crate::modes::Mode::Requests)
        {
            eprintln!("{note}");
        }
    }
    let command = match &args.out {
        Some(out) => format!(
            "rehearsal drill {} --out {}{}",
            shell_word(&args.dir),
            shell_word(out),
            args.precision.flags()
        ),
        None => format!(
            "rehearsal drill {}{}",
            shell_word(&args.dir),
            args.precision.flags()
        ),
    };
    let out = args.out.unwrap_or_else(super::default_reports_dir);
    super::files::check_out_dir("--out", &out)?;
    let format = args.output.format;
    let quiet = args.output.quiet;
    let mut stdout = io::stdout().lock();
    super::interrupt::install("scenario");
    let outcomes = run_suite(
        &mut stdout,
        &mut scenarios,
        &files,
        &out,
        &args.output,
        precision.as_ref(),
    )?;
    // Ctrl-C: the scenarios after the last one run were not run.
    let not_run: Vec<&str> = scenarios[outcomes.len()..]
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    let failed: Vec<&str> = scenarios
        .iter()
        .zip(&outcomes)
        .filter(|(_, d)| d.is_none())
        .map(|(s, _)| s.name.as_str())
        .collect();
    // The suite's files cover the scenarios that ran; the failed ones are named below.
    let (scenarios, done): (Vec<&Scenario>, Vec<Executed>) = scenarios
        .iter()
        .zip(outcomes)
        .filter_map(|(s, d)| d.map(|d| (s, d)))
        .unzip();

    let rows: Vec<_> = scenarios
        .iter()
        .zip(&done)
        .flat_map(|(s, d)| summary_rows(s, &d.result.summaries))
        .collect();
    let summary = out.join("summary.csv");
    write_csv(&summary, |w| write_summaries(&rows, w)).context("writing the suite summary")?;
    let entries: Vec<IndexEntry> = scenarios
        .iter()
        .zip(&done)
        .map(|(&s, d)| IndexEntry {
            scenario: s,
            summaries: &d.result.summaries,
            verdicts: &d.verdicts,
            report: format!("{}/report.html", s.name),
        })
        .collect();
    let index = out.join("index.html");
    super::files::write_bytes(&index, index_page(&entries, &command))?;

    match format {
        Format::Table => {}
        Format::Csv => write_summaries(&rows, &mut stdout)?,
        Format::Json => {
            let docs: Vec<_> = scenarios
                .iter()
                .zip(&done)
                .map(|(s, d)| d.json(s))
                .collect();
            stdout.write_all(json::summary_json(&docs).as_bytes())?;
        }
    }
    let mut stopped = if failed.is_empty() {
        String::new()
    } else {
        format!(
            " ({} stopped before its horizon and is not in the suite files: {})",
            super::count(failed.len(), "scenario", "scenarios"),
            failed.join(", ")
        )
    };
    let interrupted = out.join(INTERRUPTED_NOTE);
    if !not_run.is_empty() {
        let note = format!(
            "interrupted (Ctrl-C): the suite files cover {} of {}; not run: {}\n",
            scenarios.len(),
            scenarios.len() + failed.len() + not_run.len(),
            not_run.join(", ")
        );
        super::files::write_bytes(&interrupted, &note)?;
        stopped.push_str(&format!(
            " (interrupted: not run: {}; see {})",
            not_run.join(", "),
            interrupted.display()
        ));
    } else if interrupted.is_file() {
        // A complete suite replaces the note of an earlier interrupted one (ours to remove).
        let _ = fs::remove_file(&interrupted);
    }
    let closing = format!(
        "drill: {}{stopped}; suite summary in {}; open {}",
        super::count(scenarios.len(), "scenario", "scenarios"),
        summary.display(),
        index.display()
    );
    match format {
        Format::Table => writeln!(stdout, "{closing}")?,
        _ if !quiet => writeln!(io::stderr(), "{closing}")?,
        _ => {}
    }
    if !not_run.is_empty() {
        return Ok(ExitCode::from(super::interrupt::EXIT));
    }
    if !failed.is_empty() {
        // A scenario that could not run is a scenario error (exit 2), as it is for `run`.
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs each scenario into `out/<name>/` behind one progress bar, printing its result (or,
/// for `--format csv|json`, its notes on stderr) as soon as it is done. A scenario that stops
/// at run time (an exhausted event budget) is reported on stderr and the suite goes on: its
/// slot is `None`. After Ctrl-C no further scenario starts: the list is shorter.
fn run_suite(
    stdout: &mut impl Write,
    scenarios: &mut [Scenario],
    files: &[PathBuf],
    out: &Path,
    output: &OutputArgs,
    precision: Option<&Precision>,
) -> anyhow::Result<Vec<Option<Executed>>> {
    let (format, quiet) = (output.format, output.quiet);
    let total = scenarios.iter().map(|s| units(s, precision)).sum();
    let progress = Progress::new(total, quiet);
    let mut done: Vec<Option<Executed>> = Vec::new();
    for (scenario, file) in scenarios.iter_mut().zip(files) {
        if super::interrupt::requested() {
            break;
        }
        progress.set_message(&scenario.name);
        let dir = out.join(&scenario.name);
        let executed = match execute_with(
            scenario,
            precision,
            file,
            &dir,
            &progress,
            (String::new(), false),
        ) {
            Ok(e) => e,
            Err(e) => {
                progress.suspend(|| writeln!(io::stderr(), "error: {e:#}"))?;
                done.push(None);
                continue;
            }
        };
        progress.suspend(|| -> io::Result<()> {
            match format {
                Format::Table => {
                    print_result(&mut *stdout, scenario, &executed)?;
                    stdout.flush()
                }
                _ if quiet => Ok(()),
                _ => {
                    let mut stderr = io::stderr().lock();
                    writeln!(stderr, "{}:", scenario.name)?;
                    print_notes(&mut stderr, &executed)
                }
            }
        })?;
        done.push(Some(executed));
    }
    progress.finish();
    Ok(done)
}
