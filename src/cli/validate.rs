//! `rehearsal validate FILE...`: parse and check without running; every error of every file,
//! and the warnings of the valid ones.

use crate::scenario;
use crate::scenario::work::Work;
use clap::Args;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Treat warnings (probable unit mistakes) as errors: exit 2.
    #[arg(long, alias = "strict")]
    pub deny_warnings: bool,
    #[command(flatten)]
    pub work: super::scenario_args::WorkArgs,
}

pub(super) fn validate(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let mut ok = true;
    let (mut stdout, mut stderr) = (io::stdout().lock(), io::stderr().lock());
    for file in &args.files {
        match scenario::load_all(file) {
            Ok(s) => {
                let warnings = scenario::warnings(&s, file);
                for w in &warnings {
                    writeln!(stderr, "{}: {w}", warning_word(args.deny_warnings))?;
                }
                if args.deny_warnings && !warnings.is_empty() {
                    ok = false;
                    continue;
                }
                let work = Work::of(&s);
                if let Err(e) = args.work.check(work) {
                    writeln!(stderr, "error: {}: {e}", file.display())?;
                    ok = false;
                    continue;
                }
                writeln!(
                    stdout,
                    "ok: {} ({}: {} strategies, {} faults, {} replications{})",
                    file.display(),
                    s.name,
                    s.strategies.len(),
                    s.service.faults.len(),
                    s.replications,
                    match warnings.len() {
                        0 => String::new(),
                        n => format!(", {}", super::count(n, "warning", "warnings")),
                    }
                )?;
                writeln!(
                    stdout,
                    "  work: {}",
                    work.describe(rayon::current_num_threads())
                )?
            }
            Err(e) => {
                ok = false;
                for e in &e.0 {
                    writeln!(stderr, "error: {e}")?;
                }
            }
        }
    }
    Ok(ExitCode::from(if ok { 0 } else { 2 }))
}

/// `warning`, or `error` under `--deny-warnings`.
pub(super) fn warning_word(deny: bool) -> &'static str {
    if deny { "error" } else { "warning" }
}
