//! Running a scenario: every strategy × replication, in parallel, collected in order.

use crate::engine::EngineError;
use crate::outcome::{RunOutcome, StrategySummary, summarize};
use crate::replay::replay;
use crate::scenario::Scenario;
use rayon::prelude::*;

/// The runs of every strategy of a scenario and their summaries.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// One per strategy × replication, strategy-major, replications ascending.
    pub runs: Vec<RunOutcome>,
    /// One per strategy, in scenario order.
    pub summaries: Vec<StrategySummary>,
}

/// Runs every strategy of `scenario` for every replication on the current rayon pool.
/// The result does not depend on the number of threads.
pub fn run_scenario(scenario: &Scenario) -> Result<ScenarioResult, EngineError> {
    let reps = scenario.replications;
    let jobs: Vec<(usize, u32)> = (0..scenario.strategies.len())
        .flat_map(|s| (0..reps).map(move |r| (s, r)))
        .collect();
    let runs = jobs
        .par_iter()
        .map(|&(s, r)| replay(scenario, s, r))
        .collect::<Result<Vec<_>, _>>()?;
    let summaries = runs.chunks(reps as usize).map(summarize).collect();
    Ok(ScenarioResult { runs, summaries })
}
