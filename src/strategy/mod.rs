//! Rollout strategies: state machines that react to timers, checks and aborts, and decide
//! routing and scaling. The replay applies their actions to the world.

mod argo_canary;
mod blue_green;
mod canary;
mod feature_flag;
mod flagger;
mod ladder;
mod rolling;

pub use argo_canary::{ArgoCanary, ArgoCanarySpec, ArgoStep, Background, RunSpec};
pub use blue_green::{BlueGreen, BlueGreenSpec};
pub use canary::{Canary, CanaryRollback, CanarySpec};
pub use feature_flag::{FeatureFlag, FeatureFlagSpec};
pub use flagger::{CanaryReplicas, Flagger, FlaggerLadder, FlaggerMode, FlaggerSpec};
pub use ladder::{Ladder, Move, Step};
pub use rolling::{Rolling, RollingSpec};

use crate::detect::{AnalysisSpec, RunPhase, Verdict};
use crate::engine::{LogNormalDelay, SimTime};
use crate::model::{FleetSpec, RoutingSpec, VersionId};
use crate::names::named;

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
    /// A detector declared failure and the team rolls forward (`database.rollback =
    /// "roll_forward"`): hold the rollout where it is, as a paused Argo Rollout or a
    /// Kubernetes Deployment with `paused: true`, until [`Observation::Resume`].
    Freeze,
    /// The roll-forward's hotfix landed: a frozen rollout continues from where it was held.
    Resume,
    /// Instances of `version` came due for readiness; `ready` of them serve now.
    Ready {
        /// The version whose instances came due.
        version: VersionId,
        /// Its ready instances now.
        ready: u32,
    },
    /// Analysis run `run` ([`Action::StartRun`]) ended Successful or Inconclusive (a Failed
    /// or Error run declares failure instead: the strategy hears [`Observation::Abort`]).
    RunEnded {
        /// The run's index in the strategy's [`StrategySpec::runs`].
        run: usize,
        /// How it ended.
        phase: RunPhase,
    },
    /// A human promoted the paused rollout ([`Action::AwaitPromotion`]).
    Promote,
}

/// What a strategy asks the world to do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Send this percentage of traffic to the candidate (weighted routing).
    SetWeight(f64),
    /// Set the feature flag's target to this percentage of users (flag routing).
    SetFlag(f64),
    /// Run `instances` instances of `version`; new ones serve after `ready_after` (zero: at
    /// once, pre-scaled). A [`Observation::Ready`] follows when they come due.
    Scale {
        /// Which version.
        version: VersionId,
        /// How many instances in all.
        instances: u32,
        /// Start-up plus readiness of a new instance.
        ready_after: SimTime,
    },
    /// Start analysing the candidate: the first check one interval from now.
    StartAnalysis,
    /// Stop analysing.
    StopAnalysis,
    /// The candidate now serves everything: the rollout is complete.
    Promoted,
    /// The rollback has finished: the candidate no longer serves traffic.
    RolledBack,
    /// The strategy itself declares failure (e.g. a progress deadline exceeded).
    Fail,
    /// Start analysis run `i` of the strategy's [`StrategySpec::runs`] (a new run: counters
    /// from zero); its measurements read the world until it ends or is stopped.
    StartRun(usize),
    /// Stop analysis run `i` (Argo terminates it): no more measurements.
    StopRun(usize),
    /// The rollout is paused for a human, who promotes after a delay drawn from this
    /// distribution ([`Observation::Promote`]).
    AwaitPromotion(LogNormalDelay),
    /// Send synthetic load-test requests to the candidate at this rate per second (0 stops
    /// them): a preview's tests, which no user makes.
    LoadTest(f64),
    /// The rollout is marked Degraded (a progress deadline passed without abort): reported,
    /// nothing else changes.
    Degraded,
    /// One analysis tick asked for by the strategy (a controller tick, as Flagger's): if the
    /// run's failed checks have reached the threshold the analysis declares failure now,
    /// otherwise it checks each metric over its own window ending now and the strategy hears
    /// [`Observation::Check`] at once. Only for analyses with
    /// [`crate::detect::Windows::PerMetric`]; nothing happens while analysis is stopped.
    AnalysisTick,
}

impl Action {
    /// Scale `version` to `instances`, ready at once.
    pub fn scale_now(version: VersionId, instances: u32) -> Action {
        Action::Scale {
            version,
            instances,
            ready_after: SimTime::ZERO,
        }
    }
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
    /// A full second environment and an all-at-once switch.
    BlueGreen(BlueGreenSpec),
    /// New code everywhere, enabled for a growing cohort of users by a flag.
    FeatureFlag(FeatureFlagSpec),
    /// Instances replaced in waves.
    Rolling(RollingSpec),
    /// Flagger's Canary, tick by tick.
    Flagger(FlaggerSpec),
    /// Argo Rollouts' canary with traffic routing and analysis templates.
    ArgoCanary(ArgoCanarySpec),
}

named! {
    /// The names of the strategy kinds ([`StrategyKind`] without its parameters).
    pub enum StrategyName {
        /// [`StrategyKind::Canary`].
        Canary = "canary",
        /// [`StrategyKind::BlueGreen`].
        BlueGreen = "blue_green",
        /// [`StrategyKind::FeatureFlag`].
        FeatureFlag = "feature_flag",
        /// [`StrategyKind::Rolling`].
        Rolling = "rolling",
        /// [`StrategyKind::Flagger`].
        Flagger = "flagger",
        /// [`StrategyKind::ArgoCanary`].
        ArgoCanary = "argo_canary",
    }
}

impl StrategyName {
    /// Whose rollout rules the kind simulates, and where they are read from: reports print it
    /// beside the strategy so that a number is never taken for another controller's.
    pub fn semantics(self) -> &'static str {
        match self {
            StrategyName::Canary => {
                "rehearsal's canary: a check every interval from the first weight, a failed check holds the step"
            }
            StrategyName::BlueGreen => "Argo Rollouts blue-green (rollout/bluegreen.go)",
            StrategyName::FeatureFlag => {
                "flag rollout by user bucket (Unleash gradualRollout, LaunchDarkly percentage rollout)"
            }
            StrategyName::Rolling => "Kubernetes Deployment rolling update",
            StrategyName::Flagger => {
                "Flagger Canary, tick by tick (fluxcd/flagger pkg/controller/scheduler.go)"
            }
            StrategyName::ArgoCanary => {
                "Argo Rollouts canary with AnalysisRuns (rollout/canary.go, analysis/analysis.go)"
            }
        }
    }

    /// The optional `[[strategies]]` fields this kind takes (besides `name`, `kind` and
    /// `analysis`, which every kind has); any other is an error.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            StrategyName::Canary => &[
                "sticky",
                "steps",
                "rollback",
                "prescaled",
                "progress_deadline",
            ],
            StrategyName::BlueGreen => &[
                "pre_promotion",
                "preview_share",
                "preview_rate",
                "preview_replicas",
                "progress_deadline_abort",
                "pre_promotion_analysis",
                "post_promotion_analysis",
                "promotion_delay",
                "post_promotion",
                "switch_delay",
                "auto_promotion_delay",
                "scale_down_delay",
                "progress_deadline",
            ],
            StrategyName::FeatureFlag => &["steps", "refresh"],
            StrategyName::Rolling => &[
                "max_surge",
                "max_unavailable",
                "period",
                "min_ready",
                "progress_deadline",
            ],
            StrategyName::Flagger => &[
                "step_weight",
                "max_weight",
                "step_weights",
                "step_weight_promotion",
                "canary_replicas",
                "progress_deadline",
                "skip_analysis",
                "session_affinity",
                "mode",
                "iterations",
                "match_share",
                "load_test_rate",
            ],
            StrategyName::ArgoCanary => &[
                "steps",
                "background_analysis",
                "dynamic_stable_scale",
                "abort_scale_down_delay",
                "scale_down_delay",
                "progress_deadline",
                "progress_deadline_abort",
                "promotion_delay",
            ],
        }
    }
}

impl StrategyKind {
    /// The kind's name.
    pub fn name_of(&self) -> StrategyName {
        match self {
            StrategyKind::Canary(_) => StrategyName::Canary,
            StrategyKind::BlueGreen(_) => StrategyName::BlueGreen,
            StrategyKind::FeatureFlag(_) => StrategyName::FeatureFlag,
            StrategyKind::Rolling(_) => StrategyName::Rolling,
            StrategyKind::Flagger(_) => StrategyName::Flagger,
            StrategyKind::ArgoCanary(_) => StrategyName::ArgoCanary,
        }
    }

    /// Name in scenario files.
    pub fn name(&self) -> &'static str {
        self.name_of().name()
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
    /// How the strategy routes requests.
    pub fn routing(&self) -> RoutingSpec {
        match &self.kind {
            StrategyKind::Canary(c) => RoutingSpec::Weighted { sticky: c.sticky },
            StrategyKind::BlueGreen(_) => RoutingSpec::Weighted { sticky: false },
            StrategyKind::FeatureFlag(f) => RoutingSpec::Flag {
                group: self.name.clone(),
                refresh: f.refresh,
            },
            StrategyKind::Rolling(_) => RoutingSpec::ReadyInstances,
            StrategyKind::Flagger(f) => RoutingSpec::Weighted {
                sticky: f.session_affinity,
            },
            StrategyKind::ArgoCanary(_) => RoutingSpec::Weighted { sticky: false },
        }
    }

    /// The analysis runs the strategy may start ([`Action::StartRun`]).
    pub fn runs(&self) -> &[RunSpec] {
        match &self.kind {
            StrategyKind::ArgoCanary(a) => &a.runs,
            StrategyKind::BlueGreen(b) => &b.runs,
            _ => &[],
        }
    }

    /// A fresh state machine for one run.
    pub fn build(&self, fleet: &FleetSpec, response: &ResponseSpec) -> Box<dyn Strategy> {
        match &self.kind {
            StrategyKind::Canary(c) => Box::new(Canary::new(c.clone(), fleet, response)),
            StrategyKind::BlueGreen(b) => Box::new(BlueGreen::new(b.clone(), fleet, response)),
            StrategyKind::FeatureFlag(f) => Box::new(FeatureFlag::new(f.clone(), response)),
            StrategyKind::Rolling(r) => Box::new(Rolling::new(r.clone(), fleet, response)),
            StrategyKind::Flagger(f) => {
                let interval = self.analysis.as_ref().map_or(SimTime::ZERO, |a| a.interval);
                Box::new(Flagger::new(f.clone(), interval, fleet, response))
            }
            StrategyKind::ArgoCanary(a) => Box::new(ArgoCanary::new(a.clone(), fleet, response)),
        }
    }
}
