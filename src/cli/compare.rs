//! `rehearsal compare FILE`: every strategy on identical traffic, side by side, with the
//! output contract of `run` (`--format table|csv|json`, `-q`).

use super::output::{Format, Progress, shell_word};
use super::run::{RunArgs, execute_with, units, write_csv};
use crate::outcome::compare;
use crate::report::{BEST_RULE, CompareJson, compare_json, compare_table, write_compare};
use std::io::{self, Write};
use std::process::ExitCode;

pub(super) fn compare_cmd(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut scenario = args.load()?;
    let (output, args) = (args.output, args.scenario);
    let precision = args.precision.get()?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| super::default_reports_dir().join(&scenario.name));
    super::files::check_out_dir("--out", &out)?;
    let progress = Progress::new(units(&scenario, precision.as_ref()), output.quiet);
    progress.set_message(&scenario.name);
    // The report's reproduce line is this command, with the replications it started from.
    let reproduce = format!(
        "rehearsal compare {} --seed {} --replications {}{}",
        shell_word(&args.file),
        scenario.seed,
        scenario.replications,
        args.precision.flags()
    );
    let done = execute_with(
        &mut scenario,
        precision.as_ref(),
        &args.file,
        &out,
        &progress,
        (reproduce.clone(), true),
    );
    progress.finish();
    let result = done?.result;
    let settled = result
        .precision
        .as_ref()
        .map(|s| format!("{}\n", s.line()))
        .unwrap_or_default();
    let names: Vec<String> = scenario.strategies.iter().map(|s| s.name.clone()).collect();
    let comparisons = compare(&result.runs, names.len());
    write_csv(&out.join("compare.csv"), |w| {
        write_compare(&names, &comparisons, w)
    })?;
    let notes = format!(
        "{settled}wrote {}/compare.csv, runs.csv and summary.csv\nreproduce: {reproduce}\n",
        out.display()
    );
    let mut stdout = io::stdout().lock();
    match output.format {
        Format::Table => {
            writeln!(
                stdout,
                "{} — {} on identical traffic\n{} paired replications, horizon {}, seed {}\n{}\n",
                scenario.name,
                super::count(names.len(), "strategy", "strategies"),
                scenario.replications,
                scenario.horizon.human(),
                scenario.seed,
                crate::modes::header(scenario.mode)
            )?;
            write!(stdout, "{}", compare_table(&names, &comparisons))?;
            for line in crate::report::semantics_lines(&scenario.strategies) {
                let width = crate::report::TABLE_WIDTH as usize;
                write!(stdout, "{}", crate::report::format::wrap(&line, width))?;
            }
            write!(stdout, "\n{notes}")?;
        }
        Format::Csv => write_compare(&names, &comparisons, &mut stdout)?,
        Format::Json => {
            let doc = CompareJson {
                scenario: scenario.name.clone(),
                file: args.file.display().to_string(),
                seed: scenario.seed,
                replications: scenario.replications,
                mode: scenario.mode.name(),
                reproduce,
                precision: result.precision.as_ref().map(Into::into),
                best_rule: BEST_RULE,
                metrics: Vec::new(),
            };
            stdout.write_all(compare_json(doc, &names, &comparisons).as_bytes())?;
        }
    }
    if output.notes_to_stderr() && !output.quiet {
        write!(io::stderr().lock(), "{notes}")?;
    }
    Ok(ExitCode::SUCCESS)
}
