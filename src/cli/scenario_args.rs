//! The arguments `run`, `compare` and `sweep` share: the scenario file, where its reports go,
//! and what overrides it.

use super::mode::ModeArgs;
use crate::precision::{DEFAULT_MAX_REPLICATIONS, Precision};
use crate::scenario::work::{self, Work};
use crate::scenario::{self, Scenario, limits};
use clap::Args;
use std::path::PathBuf;

/// A scenario file and the command line's overrides of it.
#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// The scenario file (TOML).
    pub file: PathBuf,
    /// Output folder [default: reports/<scenario name>; `sweep`: reports/<scenario name>/sweep].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replications per strategy, overriding the scenario's `replications`.
    #[arg(long, short = 'n', value_name = "N")]
    pub replications: Option<u32>,
    /// Master seed, overriding the scenario's `seed`.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub work: WorkArgs,
    #[command(flatten)]
    pub precision: PrecisionArgs,
    #[command(flatten)]
    pub mode: ModeArgs,
}

/// The ceiling on the work a command starts.
#[derive(Debug, Clone, Copy, Args)]
pub struct WorkArgs {
    /// Refuse, before running, work estimated above this many simulated requests (the
    /// default, 2e10, is about five minutes on two cores); `validate` prints the estimate.
    #[arg(long, value_name = "REQUESTS", default_value_t = work::DEFAULT_MAX_WORK,
          value_parser = parse_work)]
    pub max_work: f64,
}

impl WorkArgs {
    /// `Err` when `w` is above `--max-work`, saying what to shrink.
    pub fn check(&self, w: Work) -> anyhow::Result<()> {
        w.within(self.max_work, rayon::current_num_threads())
            .map_err(anyhow::Error::msg)
    }
}

fn parse_work(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(x) if x > 0.0 => Ok(x),
        _ => Err(format!(
            "\"{text}\": expected a positive number of simulated requests, e.g. 2e10"
        )),
    }
}

/// `--precision` and `--max-replications`: replications chosen by the width of the intervals.
#[derive(Debug, Clone, Default, Args)]
pub struct PrecisionArgs {
    /// Run replications in deterministic batches (the first is -n) until every targeted 95 %
    /// interval's half-width is at most its target: `1%` every rate and share, `5s` every
    /// time, `METRIC=VALUE` one metric (`ttd_s=2s,false_rollback_rate=0.5%`); comma-separated.
    /// `sweep` applies it per grid point. The count reached (or the cap) is reported.
    #[arg(long, value_name = "TARGETS")]
    pub precision: Option<String>,
    /// Most replications per strategy under --precision [default: 2000].
    #[arg(long, value_name = "N", requires = "precision")]
    pub max_replications: Option<u32>,
}

impl PrecisionArgs {
    /// The most replications a strategy may run: the cap under `--precision`, else `None`.
    pub fn most_replications(&self) -> Option<u32> {
        self.precision
            .as_ref()
            .map(|_| self.max_replications.unwrap_or(DEFAULT_MAX_REPLICATIONS))
    }

    /// The parsed targets, `None` without `--precision`.
    pub fn get(&self) -> anyhow::Result<Option<Precision>> {
        let Some(text) = &self.precision else {
            return Ok(None);
        };
        let cap = self.max_replications.unwrap_or(DEFAULT_MAX_REPLICATIONS);
        anyhow::ensure!(
            (1..=limits::MAX_REPLICATIONS).contains(&cap),
            "--max-replications {cap}: expected 1 to {}",
            limits::MAX_REPLICATIONS
        );
        Precision::parse(text, cap)
            .map(Some)
            .map_err(anyhow::Error::msg)
    }

    /// The flags as a reproduce line repeats them (empty without `--precision`).
    pub fn flags(&self) -> String {
        let mut s = String::new();
        if let Ok(Some(p)) = self.get() {
            let text = p.to_string();
            let word = if text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "%._=,".contains(c))
            {
                text
            } else {
                format!("'{}'", text.replace('\'', r"'\''"))
            };
            s.push_str(&format!(" --precision {word}"));
            if let Some(n) = self.max_replications {
                s.push_str(&format!(" --max-replications {n}"));
            }
        }
        s
    }
}

impl ScenarioArgs {
    /// Checks `--replications` against the limit.
    pub fn check(&self) -> anyhow::Result<()> {
        self.precision.get()?;
        if let Some(n) = self.replications {
            anyhow::ensure!(
                (1..=limits::MAX_REPLICATIONS).contains(&n),
                "--replications {n}: expected 1 to {}",
                limits::MAX_REPLICATIONS
            );
        }
        Ok(())
    }

    /// Applies `--replications` and `--seed` to `scenario` (after [`ScenarioArgs::check`]).
    pub fn apply(&self, scenario: &mut Scenario) {
        if let Some(n) = self.replications {
            scenario.set_replications(n);
        }
        if let Some(seed) = self.seed {
            scenario.set_seed(seed);
        }
    }

    /// Loads the scenario file (every error of it at once), then checks and applies the overrides.
    pub fn load(&self) -> anyhow::Result<Scenario> {
        let mut scenario = scenario::load_all(&self.file)?;
        self.check()?;
        self.apply(&mut scenario);
        self.mode.apply_strict(&mut scenario)?;
        self.work
            .check(Work::at_most(&scenario, self.precision.most_replications()))
            .map_err(|e| anyhow::anyhow!("{}: {e}", self.file.display()))?;
        Ok(scenario)
    }
}
