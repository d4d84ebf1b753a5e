//! `rehearsal drill [DIR]`: every scenario of a folder, each written as soon as it is done.

use super::run::{execute, print_result, write_csv};
use crate::report::write_summaries;
use crate::scenario::{self, Scenario};
use anyhow::Context;
use clap::Args;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `drill`.
#[derive(Debug, Args)]
pub struct DrillArgs {
    /// Folder of scenario files.
    #[arg(default_value = "scenarios")]
    pub dir: PathBuf,
    /// Output folder; each scenario writes `<out>/<name>/`, the suite `<out>/summary.csv`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Loads and validates every scenario of `dir` before anything runs: a typo in the last file
/// should not cost a long run. Returns `(file, scenario)` pairs in file-name order.
pub(super) fn load_suite(dir: &Path) -> anyhow::Result<Vec<(PathBuf, Scenario)>> {
    let files = scenario::discover(dir)?;
    let scenarios = files
        .iter()
        .map(|f| scenario::load(f))
        .collect::<Result<Vec<_>, _>>()?;
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
    let suite = load_suite(&args.dir)?;
    let (files, scenarios): (Vec<PathBuf>, Vec<Scenario>) = suite.into_iter().unzip();
    let out = args.out.unwrap_or_else(super::default_reports_dir);
    let mut stdout = io::stdout().lock();
    let mut all = Vec::new();
    for (scenario, file) in scenarios.iter().zip(&files) {
        let dir = out.join(&scenario.name);
        let result = execute(scenario, file, &dir)?;
        print_result(&mut stdout, scenario, file, &result, &dir)?;
        stdout.flush()?;
        for (s, spec) in result.summaries.into_iter().zip(&scenario.strategies) {
            all.push((s, spec.analysis.as_ref().map(|a| a.on_no_data.name())));
        }
    }
    let path = out.join("summary.csv");
    write_csv(&path, |w| write_summaries(&all, w)).context("writing the suite summary")?;
    let noun = if scenarios.len() == 1 {
        "scenario"
    } else {
        "scenarios"
    };
    writeln!(
        stdout,
        "drill: {} {noun}; suite summary in {}",
        scenarios.len(),
        path.display()
    )?;
    Ok(ExitCode::SUCCESS)
}
