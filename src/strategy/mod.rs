//! Rollout strategies: state machines that react to timers, checks and aborts, and decide
//! routing and scaling. The replay applies their actions to the world.

mod canary;

pub use canary::{Canary, CanarySpec, Step};

use crate::detect::{AnalysisSpec, Verdict};
use crate::engine::SimTime;
use crate::model::{FleetSpec, VersionId};

/// What a strategy is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    /// The rollout begins (time 0).
    Start,
    /// The time the strategy asked for through [`Strategy::next_timer`] has come.
    Timer,
    /// An analysis check concluded.
    Check(Verdict),
    /// A detector declared failure: the rollout must be rolled back.
    Abort,
}

/// What a strategy asks the world to do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Send this percentage of traffic to the candidate.
    SetWeight(f64),
    /// Run this many instances of a version.
    Scale(VersionId, u32),
    /// Start analysing the candidate: the first check one interval from now.
    StartAnalysis,
    /// Stop analysing.
    StopAnalysis,
    /// The candidate now serves everything: the rollout is complete.
    Promoted,
    /// The rollback has finished: the candidate no longer serves traffic.
    RolledBack,
}

/// A rollout strategy as a pure state machine: no clock, no randomness, no I/O.
pub trait Strategy {
    /// Reacts to `obs` at `now`, appending the actions to carry out to `out`.
    fn on_event(&mut self, now: SimTime, obs: Observation, out: &mut Vec<Action>);

    /// When the strategy next wants a [`Observation::Timer`], if ever.
    fn next_timer(&self) -> Option<SimTime>;
}

/// What happens once failure is declared.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseSpec {
    /// From the rollback decision until traffic actually moves.
    pub rollback_delay: SimTime,
    /// Healthy time required after the last possible harm before the incident is resolved.
    pub verify: SimTime,
}

/// The closed registry of strategy kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum StrategyKind {
    /// Progressive traffic shifting with analysis at each step.
    Canary(CanarySpec),
}

impl StrategyKind {
    /// Names accepted in scenario files, implemented or planned.
    pub const NAMES: [&'static str; 4] = ["canary", "blue_green", "feature_flag", "rolling"];

    /// Name in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            StrategyKind::Canary(_) => "canary",
        }
    }
}

/// One strategy of a scenario, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategySpec {
    /// Name in reports.
    pub name: String,
    /// The mechanism and its parameters.
    pub kind: StrategyKind,
    /// The analysis it runs (the strategy's own, or the scenario's).
    pub analysis: Option<AnalysisSpec>,
}

impl StrategySpec {
    /// Whether requests are routed by user hash rather than per request.
    pub fn sticky(&self) -> bool {
        match &self.kind {
            StrategyKind::Canary(c) => c.sticky,
        }
    }

    /// A fresh state machine for one run.
    pub fn build(&self, fleet: &FleetSpec, response: &ResponseSpec) -> Box<dyn Strategy> {
        match &self.kind {
            StrategyKind::Canary(c) => Box::new(Canary::new(c.clone(), fleet, response)),
        }
    }
}
