//! The command line: argument parsing and wiring only.
//!
//! Exit codes: 0 ok, 1 objectives breached or a regression (`check`), 2 usage or scenario error.
//! A closed stdout (`rehearsal drill | head`) ends quietly with 0.

mod check;
mod compare;
mod drill;
mod export;
mod files;
mod import;
mod interrupt;
mod mode;
mod output;
mod resume;
mod run;
mod scenario_args;
#[cfg(feature = "serve")]
mod serve;
mod sweep;
mod validate;

pub use output::{Format, OutputArgs};

use clap::{Parser, Subcommand};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Chaos-and-rollback drill simulator: replay rollout strategies against injected faults
/// and measure time-to-detect, time-to-recover, affected users and inconsistent records.
#[derive(Debug, Parser)]
#[command(name = "rehearsal", version, about, long_about = None)]
pub struct Cli {
    /// Worker threads for replications, 1 to 256 (default: all cores). Results do not depend on it.
    #[arg(long, short = 'j', global = true, value_name = "N",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=256))]
    pub jobs: Option<usize>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one scenario: every strategy, every replication.
    Run(run::RunArgs),
    /// Compare every strategy of one scenario side by side (architecture reviews).
    Compare(run::RunArgs),
    /// Run every scenario in a folder (the weekly drill).
    Drill(drill::DrillArgs),
    /// The weekly drill gate: run a suite, check objectives and regressions (exit 1 on breach).
    Check(check::CheckArgs),
    /// Tune thresholds: a grid of settings, each run faulty and healthy (false rollbacks).
    Sweep(sweep::SweepArgs),
    /// Combine the outputs of `sweep --shard` runs into one sweep.
    Merge(sweep::MergeArgs),
    /// Parse and check scenario files without running them.
    Validate(validate::ValidateArgs),
    /// Write a first scenario around a Flagger Canary, an Argo Rollout or a Deployment.
    Import(import::ImportArgs),
    /// One run's monitoring: OpenMetrics for backfill, a `promtool test rules` file.
    Export(export::ExportArgs),
    /// Play one run in real time as live Prometheus metrics, JSON state and a live page.
    #[cfg(feature = "serve")]
    Serve(serve::ServeArgs),
}

/// Runs the program and returns its exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(n) = cli.jobs {
        anyhow::ensure!(n >= 1, "--jobs must be at least 1");
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()?;
    }
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Check(args) => check::check(args),
        Command::Sweep(args) => sweep::sweep_cmd(args),
        Command::Merge(args) => sweep::merge_cmd(args),
        Command::Compare(args) => compare::compare_cmd(args),
        Command::Drill(args) => drill::drill(args),
        Command::Validate(args) => validate::validate(args),
        Command::Import(args) => import::import_cmd(args),
        Command::Export(args) => export::export(args),
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::serve(args),
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// `1 strategy`, `2 strategies`.
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Where reports go by default: `reports/` in the working directory.
pub fn default_reports_dir() -> PathBuf {
    PathBuf::from("reports")
}
