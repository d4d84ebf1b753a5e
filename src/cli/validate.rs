//! `rehearsal validate FILE...`: parse and check without running; every error of every file.

use crate::scenario;
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
}

pub(super) fn validate(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let mut ok = true;
    let (mut stdout, mut stderr) = (io::stdout().lock(), io::stderr().lock());
    for file in &args.files {
        match scenario::load_all(file) {
            Ok(s) => writeln!(
                stdout,
                "ok: {} ({}: {} strategies, {} faults, {} replications)",
                file.display(),
                s.name,
                s.strategies.len(),
                s.service.faults.len(),
                s.replications
            )?,
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
