//! Running a scenario: every strategy × replication, in parallel, collected in order, then one
//! representative replication per strategy replayed again with its timeline for the plots.

use crate::engine::{EngineError, SimTime};
use crate::modes::Mode;
use crate::outcome::{RunOutcome, StrategySummary, Timeline, summarize};
use crate::precision::{self, Precision, until_precise};
use crate::replay::{replay, replay_with_timeline};
use crate::scenario::Scenario;
use rayon::prelude::*;
use std::cell::RefCell;
use std::ops::Range;

/// Timeline step of a strategy without analysis.
pub const DEFAULT_TIMELINE_STEP: SimTime = SimTime::from_secs(30);

/// The runs of every strategy of a scenario, their summaries and one timeline per strategy.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// One per strategy × replication, strategy-major, replications ascending.
    pub runs: Vec<RunOutcome>,
    /// One per strategy, in scenario order.
    pub summaries: Vec<StrategySummary>,
    /// One per strategy, in scenario order: its representative replication, replayed with a
    /// timeline (see [`Pick`]).
    pub timelines: Vec<Representative>,
    /// How `--precision` settled the replication count (`None` without it).
    pub precision: Option<precision::Settled>,
}

impl ScenarioResult {
    /// The runs of strategy `strategy`, replications ascending.
    pub fn runs_of(&self, strategy: usize) -> &[RunOutcome] {
        let reps = self.runs.len() / self.summaries.len().max(1);
        &self.runs[strategy * reps..(strategy + 1) * reps]
    }
}

/// How the representative replication of a strategy was chosen. Nearest rank, ties to the
/// lowest replication, so the choice is deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The median TTR among the `of` replications that recovered from a fault.
    MedianTtr {
        /// Replications with a TTR.
        of: usize,
    },
    /// No replication has a TTR and rollbacks outnumber promotions: the median rollback
    /// decision time among the `of` replications that rolled back.
    MedianRollback {
        /// Replications that rolled back.
        of: usize,
    },
    /// No replication has a TTR and promotions are at least as many as rollbacks: the median
    /// rollout time among the `of` promoted replications.
    MedianRollout {
        /// Replications promoted.
        of: usize,
    },
    /// No TTR, no rollback, no promotion: replication 0.
    First,
}

impl Pick {
    /// The rule in words, for captions: "the median TTR (nearest rank) of the 20
    /// replications that recovered".
    pub fn describe(self) -> String {
        let s = |n: usize| if n == 1 { "" } else { "s" };
        match self {
            Pick::MedianTtr { of } => format!(
                "the median TTR (nearest rank) of the {of} replication{} that recovered",
                s(of)
            ),
            Pick::MedianRollback { of } => format!(
                "no replication recovered from a fault, so the median rollback time (nearest rank) of the {of} replication{} that rolled back",
                s(of)
            ),
            Pick::MedianRollout { of } => format!(
                "no replication recovered from a fault, so the median rollout time (nearest rank) of the {of} promoted replication{}",
                s(of)
            ),
            Pick::First => {
                "no replication recovered, rolled back or was promoted, so replication 0".into()
            }
        }
    }
}

/// One strategy's representative replication and its timeline.
#[derive(Debug, Clone)]
pub struct Representative {
    /// Strategy index in the scenario.
    pub strategy: usize,
    /// The replication replayed.
    pub replication: u32,
    /// Why this replication.
    pub pick: Pick,
    /// Its series and markers, sampled every analysis interval (30 s without analysis).
    pub timeline: Timeline,
}

/// Chooses the representative replication of one strategy's runs (see [`Pick`]).
pub fn pick_representative(runs: &[RunOutcome]) -> (u32, Pick) {
    let median = |mut keyed: Vec<(SimTime, u32)>| -> u32 {
        keyed.sort_unstable();
        let rank = keyed.len().div_ceil(2).clamp(1, keyed.len());
        keyed[rank - 1].1
    };
    let keyed = |f: fn(&RunOutcome) -> Option<SimTime>| -> Vec<(SimTime, u32)> {
        runs.iter()
            .filter_map(|r| f(r).map(|t| (t, r.replication)))
            .collect()
    };
    let ttr = keyed(RunOutcome::ttr);
    if !ttr.is_empty() {
        let of = ttr.len();
        return (median(ttr), Pick::MedianTtr { of });
    }
    let rollback = keyed(|r| r.rollback);
    let rollout = keyed(|r| r.rollout);
    if !rollback.is_empty() && rollback.len() > rollout.len() {
        let of = rollback.len();
        (median(rollback), Pick::MedianRollback { of })
    } else if !rollout.is_empty() {
        let of = rollout.len();
        (median(rollout), Pick::MedianRollout { of })
    } else {
        (runs.first().map_or(0, |r| r.replication), Pick::First)
    }
}

/// The timeline step of strategy `strategy`: its analysis interval, or
/// [`DEFAULT_TIMELINE_STEP`] without analysis.
pub fn timeline_step(scenario: &Scenario, strategy: usize) -> SimTime {
    scenario.strategies[strategy]
        .analysis
        .as_ref()
        .map_or(DEFAULT_TIMELINE_STEP, |a| a.interval)
}

/// A run that stopped before its horizon, naming which run it was so that it can be replayed
/// alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "strategy \"{strategy}\" ({kind}), replication {replication} (scenario seed {seed}): {cause}; the model may be scheduling in a loop (if the scenario really needs more control events, raise limits.max_events)"
)]
pub struct RunError {
    /// The strategy's name in the scenario.
    pub strategy: String,
    /// Its kind, as scenario files write it.
    pub kind: &'static str,
    /// The replication that stopped.
    pub replication: u32,
    /// The scenario's seed.
    pub seed: u64,
    /// Why it stopped.
    pub cause: EngineError,
}

impl RunError {
    /// `cause`, raised by strategy `strategy`, replication `replication` of `scenario`.
    pub fn new(scenario: &Scenario, strategy: usize, replication: u32, cause: EngineError) -> Self {
        let spec = &scenario.strategies[strategy];
        RunError {
            strategy: spec.name.clone(),
            kind: spec.kind.name_of().name(),
            replication,
            seed: scenario.seed,
            cause,
        }
    }
}

/// Replays strategy `strategy`, replication `replication` of `scenario`, naming the run if it
/// stops early.
pub fn replay_run(
    scenario: &Scenario,
    strategy: usize,
    replication: u32,
) -> Result<RunOutcome, RunError> {
    replay(scenario, strategy, replication)
        .map_err(|e| RunError::new(scenario, strategy, replication, e))
}

/// Every (strategy, replication) of `strategies` strategies × `replications`, strategy-major.
fn jobs(strategies: usize, replications: Range<u32>) -> Vec<(usize, u32)> {
    (0..strategies)
        .flat_map(|s| replications.clone().map(move |r| (s, r)))
        .collect()
}

/// Replays `jobs` on the current rayon pool, in job order whatever the thread count;
/// `progress` is called after each run.
fn run_jobs(
    scenario: &Scenario,
    jobs: &[(usize, u32)],
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<RunOutcome>, RunError> {
    in_order(
        jobs.par_iter()
            .map(|&(s, r)| {
                let run = replay_run(scenario, s, r);
                progress();
                run
            })
            .collect(),
    )
}

/// The results in order, or the first error in job order (not the first to happen on some
/// thread), so that the error reported does not depend on the thread count.
pub fn in_order<T, E>(results: Vec<Result<T, E>>) -> Result<Vec<T>, E> {
    results.into_iter().collect()
}

/// Units of work of [`run_scenario_with`]: one per run plus one per timeline replay.
pub fn work_units(scenario: &Scenario) -> u64 {
    let strategies = scenario.strategies.len() as u64;
    strategies * u64::from(scenario.replications) + strategies
}

/// Runs every strategy of `scenario` for every replication on the current rayon pool.
/// The result does not depend on the number of threads.
pub fn run_scenario(scenario: &Scenario) -> Result<ScenarioResult, RunError> {
    run_scenario_with(scenario, &|| {})
}

/// [`run_scenario`], calling `progress` after each of the [`work_units`] (from any thread).
pub fn run_scenario_with(
    scenario: &Scenario,
    progress: &(dyn Fn() + Sync),
) -> Result<ScenarioResult, RunError> {
    let reps = scenario.replications;
    let jobs = jobs(scenario.strategies.len(), 0..reps);
    let runs = run_jobs(scenario, &jobs, progress)?;
    finish(scenario, runs, reps, progress)
}

/// The summaries and timelines of `runs` (strategy-major, `reps` replications each, ascending),
/// replaying one representative per strategy; `progress` is called after each replay.
pub fn finish(
    scenario: &Scenario,
    runs: Vec<RunOutcome>,
    reps: u32,
    progress: &(dyn Fn() + Sync),
) -> Result<ScenarioResult, RunError> {
    let summaries: Vec<StrategySummary> = runs.chunks(reps as usize).map(summarize).collect();
    let timelines = in_order(
        runs.chunks(reps as usize)
            .enumerate()
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|(strategy, strategy_runs)| {
                let (replication, pick) = pick_representative(strategy_runs);
                let step = timeline_step(scenario, strategy);
                let (outcome, timeline) =
                    replay_with_timeline(scenario, strategy, replication, step)
                        .map_err(|e| RunError::new(scenario, strategy, replication, e))?;
                // Instrumentation draws no random number: the replay is the same run (in
                // windows mode the timeline is the request mode's story of that replication).
                debug_assert!(
                    scenario.mode == Mode::Windows
                        || outcome == strategy_runs[replication as usize]
                );
                progress();
                Ok(Representative {
                    strategy,
                    replication,
                    pick,
                    timeline,
                })
            })
            .collect(),
    )?;
    Ok(ScenarioResult {
        runs,
        summaries,
        timelines,
        precision: None,
    })
}

/// Runs every strategy of `scenario` in batches until `precision` holds (see the module doc),
/// on the current rayon pool; `progress` is called after each run, and `grow(n)` when a batch
/// of `n` more runs is scheduled (a progress bar's length). The result's runs, summaries and
/// timelines are those of `run_scenario` at the settled replication count, with
/// [`ScenarioResult::precision`] set.
pub fn run_to_precision(
    scenario: &Scenario,
    precision: &Precision,
    progress: &(dyn Fn() + Sync),
    grow: &dyn Fn(u64),
) -> Result<ScenarioResult, RunError> {
    let strategies = scenario.strategies.len();
    // Both closures of the loop read the runs kept so far; one of them adds to them.
    let runs: RefCell<Vec<Vec<RunOutcome>>> = RefCell::new(vec![Vec::new(); strategies]);
    let settled = until_precise(
        precision,
        scenario.replications,
        |range: Range<u32>| {
            grow(strategies as u64 * u64::from(range.end - range.start));
            let jobs = jobs(strategies, range);
            let batch = run_jobs(scenario, &jobs, progress)?;
            let mut runs = runs.borrow_mut();
            for (&(s, _), run) in jobs.iter().zip(batch) {
                runs[s].push(run);
            }
            Ok(())
        },
        || {
            let reported: Vec<_> = runs
                .borrow()
                .iter()
                .flat_map(|r| precision::reported(&summarize(r)))
                .collect();
            precision.shortfalls(&reported)
        },
    )?;
    grow(strategies as u64);
    let mut result = finish(
        scenario,
        runs.into_inner().concat(),
        settled.replications,
        progress,
    )?;
    result.precision = Some(settled);
    Ok(result)
}
