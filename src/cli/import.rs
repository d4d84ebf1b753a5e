//! `rehearsal import MANIFEST.yaml`: a first scenario around a team's Flagger Canary, Argo
//! Rollout or Deployment.

use crate::scenario::manifest::import;
use clap::Args;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A Flagger Canary, an Argo Rollout (with its AnalysisTemplates) or a Deployment.
    pub manifest: PathBuf,
    /// YAML files with the AnalysisTemplates or MetricTemplates the manifest names.
    #[arg(long, value_name = "FILE")]
    pub templates: Vec<PathBuf>,
    /// A scenario whose traffic, versions, fleet, faults and objectives the new one takes
    /// (its strategies are left out).
    #[arg(long, value_name = "BASE.toml")]
    pub scenario: Option<PathBuf>,
    /// Write the scenario here instead of to stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write the strategy the manifest stands for in TOML, instead of `manifest = "…"`.
    #[arg(long)]
    pub inline: bool,
}

pub(super) fn import_cmd(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let out_dir = match &args.out {
        Some(f) => f.parent().map(PathBuf::from).unwrap_or_default(),
        None => PathBuf::from("."),
    };
    if args.out.is_some() && !out_dir.as_os_str().is_empty() {
        std::fs::create_dir_all(&out_dir)?;
    }
    let req = import::Request {
        manifest: &args.manifest,
        templates: &args.templates,
        base: args.scenario.as_deref(),
        out_dir: &out_dir,
        inline: args.inline,
    };
    let (text, notes) = match import::scenario(&req) {
        Ok(x) => x,
        Err(e) => {
            writeln!(io::stderr(), "error: {e}")?;
            return Ok(ExitCode::from(2));
        }
    };
    // What is written must be a scenario `validate` accepts.
    let target = args
        .out
        .clone()
        .unwrap_or_else(|| out_dir.join("imported.toml"));
    if let Err(errors) = crate::scenario::parse_all(&text, &target) {
        for e in &errors.0 {
            writeln!(io::stderr(), "error: {e}")?;
        }
        writeln!(
            io::stderr(),
            "error: the imported scenario does not validate (above); nothing written"
        )?;
        return Ok(ExitCode::from(2));
    }
    let mut stderr = io::stderr().lock();
    for n in &notes {
        writeln!(stderr, "note: {n}")?;
    }
    match &args.out {
        Some(path) => {
            super::files::write_bytes(path, text.as_bytes())?;
            writeln!(
                stderr,
                "wrote {}: run it with `rehearsal run {}`",
                path.display(),
                path.display()
            )?;
        }
        None => io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}
