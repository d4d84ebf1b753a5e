//! `rehearsal export FILE`: one run's monitoring as OpenMetrics (backfill) and as a
//! `promtool test rules` file (Prometheus judges rehearsal's alert evaluation).

use super::files::write_bytes;
use crate::detect::alerts::Semantics;
use crate::monitoring::{self, Recording, openmetrics, promtool};
use crate::scenario::{self, Scenario};
use anyhow::Context;
use clap::Args;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::UNIX_EPOCH;

/// The default `--start`: a fixed instant, so that the same run exports the same bytes.
pub const DEFAULT_START: &str = "2026-01-01T00:00:00Z";

/// One run of a scenario and the files its monitoring goes to.
#[derive(Debug, Args)]
pub struct RunChoice {
    /// The scenario file (TOML).
    pub file: PathBuf,
    /// The strategy, by name [default: the scenario's first].
    #[arg(long, value_name = "NAME")]
    pub strategy: Option<String>,
    /// The replication (its random streams derive from the seed and this index).
    #[arg(long, value_name = "R", default_value_t = 0)]
    pub replication: u32,
    /// Master seed, overriding the scenario's `seed`.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Run the scenario's healthy twin: the candidate's faults switched off, as `sweep`
    /// measures false rollbacks (a test that no alert fires on a healthy release).
    #[arg(long)]
    pub healthy: bool,
}

impl RunChoice {
    /// The scenario (seed applied) and the index of the chosen strategy.
    pub fn load(&self) -> anyhow::Result<(Scenario, usize)> {
        let mut scenario = scenario::load_all(&self.file)?;
        if let Some(seed) = self.seed {
            scenario.set_seed(seed);
        }
        if self.healthy {
            scenario = crate::sweep::healthy_twin(&scenario);
        }
        let strategy = match &self.strategy {
            None => 0,
            Some(name) => scenario
                .strategies
                .iter()
                .position(|s| &s.name == name)
                .with_context(|| {
                    let names: Vec<&str> = scenario
                        .strategies
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect();
                    format!(
                        "--strategy \"{name}\": {} has no such strategy; expected one of {}",
                        self.file.display(),
                        names.join(", ")
                    )
                })?,
        };
        Ok((scenario, strategy))
    }
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub run: RunChoice,
    /// The run's t = 0 as an RFC 3339 UTC time (history samples lie before it).
    #[arg(long, value_name = "RFC3339", default_value = DEFAULT_START)]
    pub start: String,
    /// Write the run's series as OpenMetrics text with timestamps (for `promtool tsdb
    /// create-blocks-from openmetrics`).
    #[arg(long, value_name = "OUT")]
    pub openmetrics: Option<PathBuf>,
    /// Write a `promtool test rules` file of the scenario's [[alerts]], and its rule file
    /// beside it (OUT with `.rules.yaml`).
    #[arg(long, value_name = "OUT.yaml")]
    pub promtool_test: Option<PathBuf>,
    /// Write the scenario's [[alerts]] (burn-rate alerts generated) as a Prometheus rule file,
    /// for the Prometheus that scrapes `rehearsal serve`.
    #[arg(long, value_name = "OUT.yaml")]
    pub rules: Option<PathBuf>,
    /// The Prometheus major version whose promtool checks the test (2 or 3): the versions
    /// select window edges differently (see docs/monitoring.md).
    #[arg(long, value_name = "2|3", default_value = "3", value_parser = parse_semantics)]
    pub prometheus: Semantics,
}

fn parse_semantics(text: &str) -> Result<Semantics, String> {
    Semantics::parse(text).ok_or_else(|| format!("\"{text}\": expected 2 or 3"))
}

/// Milliseconds since the Unix epoch of an RFC 3339 UTC time.
pub fn parse_start(text: &str) -> anyhow::Result<i64> {
    let t = humantime::parse_rfc3339(text).map_err(|e| {
        anyhow::anyhow!(
            "--start \"{text}\": {e}; expected an RFC 3339 UTC time such as {DEFAULT_START}"
        )
    })?;
    let ms = t
        .duration_since(UNIX_EPOCH)
        .map_err(|_| anyhow::anyhow!("--start \"{text}\": before 1970-01-01"))?
        .as_millis();
    Ok(i64::try_from(ms)?)
}

/// The rule file written beside a test file `out`: `NAME.rules.yaml` for `NAME.yaml`.
pub fn rules_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map_or_else(|| "rules".into(), |s| s.to_string_lossy().into_owned());
    out.with_file_name(format!("{stem}.rules.yaml"))
}

pub(super) fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.openmetrics.is_some() || args.promtool_test.is_some() || args.rules.is_some(),
        "nothing to write: give --openmetrics OUT, --promtool-test OUT.yaml and/or --rules OUT.yaml"
    );
    let start_ms = parse_start(&args.start)?;
    let (scenario, strategy) = args.run.load()?;
    for (flag, asked) in [
        ("--promtool-test", args.promtool_test.is_some()),
        ("--rules", args.rules.is_some()),
    ] {
        anyhow::ensure!(
            !asked || scenario.alerts.is_some(),
            "{flag}: {} has no [[alerts]]: there is no rule to write",
            args.run.file.display()
        );
    }
    if let (Some(out), Some(spec)) = (&args.rules, &scenario.alerts) {
        write_bytes(out, promtool::rules_file(&scenario.name, &spec.rules))?;
        writeln!(
            io::stdout(),
            "{}: {} rules",
            out.display(),
            spec.rules.len()
        )?;
        if args.openmetrics.is_none() && args.promtool_test.is_none() {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let (_, rec) = monitoring::record(&scenario, strategy, args.run.replication)
        .with_context(|| format!("{}", args.run.file.display()))?;
    let mut stdout = io::stdout().lock();
    if let Some(out) = &args.openmetrics {
        let mut bytes = Vec::new();
        openmetrics::write(&rec, start_ms, &mut bytes)?;
        write_bytes(out, bytes)?;
        writeln!(stdout, "{}", summary(out, &rec))?;
    }
    if let Some(out) = &args.promtool_test {
        let rules = rules_path(out);
        let rules_name = rules
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let plan = promtool::TestPlan::new(&rec);
        for (rule, samples) in &plan.left_out {
            writeln!(
                io::stderr(),
                "note: {}: left out of the test: its {} window holds {samples} samples of a series, over the {} a promtool test query may load",
                rule.name,
                promtool::duration(rule.expr.reach()),
                promtool::PROMTOOL_MAX_SAMPLES
            )?;
        }
        anyhow::ensure!(
            !plan.rules.is_empty(),
            "--promtool-test: no rule of {} fits promtool's test limits",
            args.run.file.display()
        );
        let expected = plan.expectations(args.prometheus);
        write_bytes(&rules, plan.rules_file(&scenario.name))?;
        write_bytes(out, plan.test_file(&rules_name, &expected))?;
        let firing = expected
            .iter()
            .filter(|(_, f)| f.iter().any(|(_, a)| !a.is_empty()))
            .count();
        writeln!(
            stdout,
            "{}: {} evaluations, {firing} with an alert firing (Prometheus {} semantics); rules in {}",
            out.display(),
            expected.len(),
            match args.prometheus {
                Semantics::V2 => "2",
                Semantics::V3 => "3",
            },
            rules.display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn summary(out: &Path, rec: &Recording) -> String {
    let samples: usize = rec.series.iter().map(|s| s.samples().len()).sum();
    format!(
        "{}: {} series, {samples} samples every {} s",
        out.display(),
        rec.series.len(),
        rec.spec.scrape_interval.as_secs_f64()
    )
}
