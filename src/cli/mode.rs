//! `--mode requests|windows`: how runs produce their requests (see `docs/modes.md`).

use crate::modes::{self, Mode};
use crate::scenario::Scenario;
use clap::Args;

/// The `--mode` option of `run`, `compare`, `drill`, `check` and `sweep`.
#[derive(Debug, Args)]
pub struct ModeArgs {
    /// How runs produce requests: `requests` serves every request (one run's exact story,
    /// timelines); `windows` draws per-window counts, the same distributions much faster
    /// (sweeps, big suites; see docs/modes.md) [default: requests; sweep: windows where the
    /// scenario allows it]
    #[arg(long, value_name = "MODE", value_parser = parse_mode)]
    pub mode: Option<Mode>,
}

fn parse_mode(text: &str) -> Result<Mode, String> {
    Mode::parse(text).ok_or_else(|| {
        format!(
            "unknown mode \"{text}\"; expected one of {}",
            Mode::NAMES.join(", ")
        )
    })
}

impl ModeArgs {
    /// Sets the mode of `scenario` for `run` and `compare`: `--mode windows` on a scenario
    /// windows mode cannot run is an error naming the feature (exit 2).
    pub fn apply_strict(&self, scenario: &mut Scenario) -> anyhow::Result<()> {
        let (mode, _) =
            modes::choose(scenario, self.mode, Mode::Requests).map_err(anyhow::Error::msg)?;
        set(scenario, mode, self.mode.is_some());
        Ok(())
    }

    /// Sets the mode of `scenario` for suites and sweeps: `default` unless `--mode` says
    /// otherwise, and requests (with the returned note) where windows mode cannot run it.
    pub fn apply_lenient(&self, scenario: &mut Scenario, default: Mode) -> Option<String> {
        let (mode, note) = match modes::choose(scenario, self.mode, default) {
            Ok(chosen) => chosen,
            Err(message) => (
                Mode::Requests,
                Some(format!("note: {message}; running it in requests mode")),
            ),
        };
        set(scenario, mode, self.mode.is_some());
        note
    }
}

/// Sets the mode, recording `--mode` as its source when it was given (the parameters table).
fn set(scenario: &mut Scenario, mode: Mode, given: bool) {
    scenario.mode = mode;
    if given {
        scenario.provenance.set_override("mode", "--mode");
    }
}
