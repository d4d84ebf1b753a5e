//! `rehearsal compare FILE`: every strategy on identical traffic, side by side.

use super::run::{RunArgs, execute, write_csv};
use crate::outcome::compare;
use crate::report::{compare_table, write_compare};
use std::io::{self, Write};
use std::process::ExitCode;

pub(super) fn compare_cmd(args: RunArgs) -> anyhow::Result<ExitCode> {
    let scenario = args.load()?;
    let args = args.scenario;
    let out = args
        .out
        .unwrap_or_else(|| super::default_reports_dir().join(&scenario.name));
    super::files::check_out_dir("--out", &out)?;
    let result = execute(&scenario, &args.file, &out)?;
    let names: Vec<String> = scenario.strategies.iter().map(|s| s.name.clone()).collect();
    let comparisons = compare(&result.runs, names.len());
    write_csv(&out.join("compare.csv"), |w| {
        write_compare(&names, &comparisons, w)
    })?;
    let mut stdout = io::stdout().lock();
    writeln!(
        stdout,
        "{} — {} on identical traffic, {} paired replications, horizon {}, seed {}\n",
        scenario.name,
        super::count(names.len(), "strategy", "strategies"),
        scenario.replications,
        scenario.horizon.human(),
        scenario.seed
    )?;
    write!(stdout, "{}", compare_table(&names, &comparisons))?;
    writeln!(
        stdout,
        "\nwrote {}/compare.csv, runs.csv and summary.csv",
        out.display()
    )?;
    writeln!(
        stdout,
        "reproduce: rehearsal compare {} --seed {} --replications {}",
        args.file.display(),
        scenario.seed,
        scenario.replications
    )?;
    Ok(ExitCode::SUCCESS)
}
