//! Helpers shared by the integration tests.

use rehearsal::replications::{ScenarioResult, run_scenario};
use rehearsal::scenario::{Scenario, parse};
use std::path::Path;

/// Parses an inline scenario, panicking with the error (a test bug, not a user error).
pub fn scenario(text: &str) -> Scenario {
    parse(text, Path::new("inline.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs every strategy of an inline scenario.
pub fn run(text: &str) -> ScenarioResult {
    run_scenario(&scenario(text)).expect("run")
}
