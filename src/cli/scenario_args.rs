//! The arguments `run`, `compare` and `sweep` share: the scenario file, where its reports go,
//! and what overrides it.

use super::mode::ModeArgs;
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
    pub mode: ModeArgs,
}

impl ScenarioArgs {
    /// Checks `--replications` against the limit.
    pub fn check(&self) -> anyhow::Result<()> {
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
        Ok(scenario)
    }
}
