//! Flagger's Canary, tick by tick as its controller runs it (fluxcd/flagger,
//! `pkg/controller/scheduler.go` `advanceCanary`).
//!
//! Time base: t = 0 is the controller tick that sees the new revision (tick 0); tick k comes at
//! k × `interval` (the analysis interval). Semantics:
//! - Tick 0 (`checkCanaryStatus`): the canary scales up (`ScaleFromZero`: a full copy of N
//!   instances, or `max(1, ⌈w/100 × N⌉)` with `proportional`), ready after `fleet.startup`,
//!   with no traffic.
//! - A tick at which the canary is not ready (`IsCanaryReady`) does nothing, unless the canary
//!   has been unready for longer than `progress_deadline` since its scale-up (strictly, as
//!   `isDeploymentReady` compares `!from.Add(delta).Before(now)`): then it is flagged
//!   (`detected_by = progress_deadline`) and rolled back.
//! - The first ready tick sets the first weight, with no metric check (`runPreRolloutHooks`
//!   branch). With `skip_analysis` it promotes instead (`shouldSkipAnalysis`).
//! - Every later tick is an analysis tick ([`Action::AnalysisTick`]): the analysis first
//!   declares failure if the failed checks have reached the threshold, else it checks every
//!   metric over its own window and the verdict comes back as [`Observation::Check`]. A fail
//!   (counted by the analysis) or an inconclusive check holds the weight; a pass advances it
//!   (`runCanary`), or, at the ladder's top, promotes.
//! - Promotion (`Promote`) rolling-updates the primary to the new version. The model: N new
//!   instances of the candidate start (ready after `fleet.startup`) and, once ready, take the
//!   primary's place: all traffic is on the new version and the old primary scales to 0. The
//!   next tick with the primary ready shifts the primary's weight up by
//!   `step_weight_promotion` (`runPromotionTrafficShift`); when the primary has 100 % the
//!   rollout is complete (`rollout_s`). The tick after scales the canary to 0 (`Finalising`).
//! - A rollback (`rollback`) routes everything to the primary and scales the canary to 0,
//!   `rollback_delay` after the decision. Once the old primary was replaced, the stable must
//!   start again first (`fleet.startup`).
//! - A freeze (roll-forward) holds the ticks; on resume they continue on their cadence.

use super::{Action, Observation, ResponseSpec, Strategy};
use crate::detect::Verdict;
use crate::engine::SimTime;
use crate::model::{FleetSpec, VersionId};
use crate::names::named;

named! {
    /// How many instances the canary runs (`canary_replicas`).
    pub enum CanaryReplicas {
        /// A full-size copy of the fleet: Flagger's `ScaleFromZero` with no autoscaler
        /// (`pkg/canary/deployment_controller.go`).
        Full = "full",
        /// `max(1, ⌈w/100 × N⌉)` for the weight it serves, as an autoscaler following load
        /// would; new instances start with `fleet.startup`.
        Proportional = "proportional",
    }
}

named! {
    /// Flagger's deployment strategy (`mode`).
    pub enum FlaggerMode {
        /// Progressive traffic shifting (`stepWeight`/`stepWeights`).
        Canary = "canary",
        /// A/B testing: the users who match go to the canary for `iterations` checks
        /// (`analysis.iterations` with `analysis.match`).
        Ab = "ab",
        /// Blue/green: the canary is analysed on load-test traffic alone for `iterations`
        /// checks, then takes all traffic for one more check before promotion
        /// (`analysis.iterations` without `match`, `runBlueGreen`).
        BlueGreen = "blue_green",
    }
}

/// The ladder of canary weights.
#[derive(Debug, Clone, PartialEq)]
pub enum FlaggerLadder {
    /// `step_weight` up to `max_weight`, both percent: s, 2s, … up to the first weight ≥ the
    /// max (Flagger steps past it when s does not divide it), capped at 100.
    Linear {
        /// `stepWeight`, percent.
        step: f64,
        /// `maxWeight`, percent.
        max: f64,
    },
    /// `step_weights`, percent, strictly increasing; the last is the max (`stepWeights`).
    Explicit(Vec<f64>),
}

impl FlaggerLadder {
    /// The weights the canary takes, percent, in order; promotion follows the last.
    pub fn weights(&self) -> Vec<f64> {
        match self {
            FlaggerLadder::Linear { step, max } => {
                let mut w = Vec::new();
                let mut k = 1.0;
                loop {
                    let x = (step * k).min(100.0);
                    w.push(x);
                    if x >= *max || x >= 100.0 {
                        return w;
                    }
                    k += 1.0;
                }
            }
            FlaggerLadder::Explicit(w) => w.clone(),
        }
    }
}

/// A Flagger Canary's configuration (its tick is its analysis's `interval`).
#[derive(Debug, Clone, PartialEq)]
pub struct FlaggerSpec {
    /// Canary or A/B testing (whose ladder repeats the matching share `iterations` times).
    pub mode: FlaggerMode,
    /// The weight ladder.
    pub ladder: FlaggerLadder,
    /// Primary weight added per tick during promotion, percent (`stepWeightPromotion`).
    pub step_weight_promotion: f64,
    /// The canary's instance count.
    pub canary_replicas: CanaryReplicas,
    /// An unready canary is flagged at the first tick past this long after its scale-up.
    pub progress_deadline: SimTime,
    /// Promote at the first tick the canary is ready, with no analysis.
    pub skip_analysis: bool,
    /// Route by user (session affinity) instead of per request.
    pub session_affinity: bool,
    /// The analysis interval as written, when Flagger's 10 s floor raised it (reports say so).
    pub clamped_interval: Option<SimTime>,
    /// Synthetic requests per second the load tester sends to the canary from the first
    /// ready tick until promotion or rollback (Flagger's `flagger-loadtester` webhook).
    pub load_test_rate: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Before the start.
    Idle,
    /// Weight climbing; `step` is the index of the current weight (`None`: 0 %).
    Progressing {
        step: Option<usize>,
    },
    /// The primary is being updated; `canary_weight` percent still routed to the canary.
    Promoting {
        canary_weight: f64,
    },
    /// Traffic is all on the primary; the next tick scales the canary to 0.
    Finalising,
    Succeeded,
    /// Rollback decided; it executes at `at`.
    RollbackDue {
        at: SimTime,
    },
    /// The replaced stable is starting again.
    WaitingForStable,
    RolledBack,
}

/// The Flagger state machine.
#[derive(Debug, Clone)]
pub struct Flagger {
    spec: FlaggerSpec,
    weights: Vec<f64>,
    instances: u32,
    startup: SimTime,
    rollback_delay: SimTime,
    interval: SimTime,
    phase: Phase,
    next_tick: SimTime,
    /// The canary's wanted and ready instance counts.
    canary_wanted: u32,
    candidate_ready: u32,
    /// When the canary last scaled up (its progress deadline counts from here).
    scaled_at: SimTime,
    /// The new primary's instances are ready (the old primary is gone).
    primary_replaced: bool,
    /// An analysis tick was asked for and its verdict is awaited.
    awaiting_check: bool,
    frozen: bool,
    /// Readiness heard while frozen, replayed on resume.
    ready_while_frozen: Vec<(VersionId, u32)>,
}

impl Flagger {
    /// A Flagger Canary ticking every `interval` over a fleet of `fleet.instances`.
    pub fn new(
        spec: FlaggerSpec,
        interval: SimTime,
        fleet: &FleetSpec,
        response: &ResponseSpec,
    ) -> Flagger {
        Flagger {
            weights: spec.ladder.weights(),
            spec,
            instances: fleet.instances,
            startup: fleet.startup,
            rollback_delay: response.rollback_delay,
            interval: interval.max(SimTime(1)),
            phase: Phase::Idle,
            next_tick: SimTime::ZERO,
            canary_wanted: 0,
            candidate_ready: 0,
            scaled_at: SimTime::ZERO,
            primary_replaced: false,
            awaiting_check: false,
            frozen: false,
            ready_while_frozen: Vec::new(),
        }
    }

    /// The canary's instances at `weight` percent.
    fn canary_size(&self, weight: f64) -> u32 {
        match self.spec.canary_replicas {
            CanaryReplicas::Full => self.instances,
            CanaryReplicas::Proportional => {
                ((weight / 100.0 * f64::from(self.instances)).ceil() as u32).max(1)
            }
        }
    }

    /// Scales the canary to `instances`, new ones ready after the start-up.
    fn scale_canary(&mut self, now: SimTime, instances: u32, out: &mut Vec<Action>) {
        if instances > self.canary_wanted {
            self.scaled_at = now;
        }
        self.canary_wanted = instances;
        out.push(Action::Scale {
            version: VersionId::Candidate,
            instances,
            ready_after: self.startup,
        });
    }

    fn set_step(&mut self, now: SimTime, step: usize, out: &mut Vec<Action>) {
        let weight = self.weights[step];
        self.phase = Phase::Progressing { step: Some(step) };
        out.push(Action::SetWeight(weight));
        if self.spec.canary_replicas == CanaryReplicas::Proportional {
            let size = self.canary_size(weight);
            if size != self.canary_wanted {
                self.scale_canary(now, size, out);
            }
        }
    }

    /// `Promote`: the primary's rolling update starts (N new instances of the candidate).
    fn promote(&mut self, canary_weight: f64, out: &mut Vec<Action>) {
        self.phase = Phase::Promoting { canary_weight };
        out.extend([
            Action::StopAnalysis,
            Action::LoadTest(0.0),
            Action::Scale {
                version: VersionId::Candidate,
                instances: self.canary_wanted + self.instances,
                ready_after: self.startup,
            },
        ]);
    }

    /// One controller tick at `now`.
    fn tick(&mut self, now: SimTime, out: &mut Vec<Action>) {
        match self.phase {
            Phase::Progressing { step } => {
                if self.candidate_ready < self.canary_wanted {
                    if now > self.scaled_at.saturating_add(self.spec.progress_deadline) {
                        out.push(Action::Fail);
                    }
                    return;
                }
                match step {
                    None if self.spec.skip_analysis => {
                        // `shouldSkipAnalysis`: all traffic on the primary, the primary
                        // updated, the canary scaled to 0: Succeeded at this tick.
                        self.canary_wanted = 0;
                        self.phase = Phase::Promoting { canary_weight: 0.0 };
                        out.extend([
                            Action::StopAnalysis,
                            Action::scale_now(VersionId::Candidate, 0),
                            Action::Scale {
                                version: VersionId::Candidate,
                                instances: self.instances,
                                ready_after: self.startup,
                            },
                            Action::Promoted,
                        ]);
                    }
                    None => {
                        if self.spec.load_test_rate > 0.0 {
                            out.push(Action::LoadTest(self.spec.load_test_rate));
                        }
                        self.set_step(now, 0, out)
                    }
                    Some(_) => {
                        self.awaiting_check = true;
                        out.push(Action::AnalysisTick);
                    }
                }
            }
            Phase::Promoting { canary_weight } if self.primary_replaced => {
                let left = (canary_weight - self.spec.step_weight_promotion).max(0.0);
                if left > 0.0 {
                    self.phase = Phase::Promoting {
                        canary_weight: left,
                    };
                } else {
                    self.phase = Phase::Finalising;
                    out.push(Action::Promoted);
                }
            }
            Phase::Finalising => {
                self.phase = Phase::Succeeded;
                out.push(Action::scale_now(VersionId::Candidate, self.instances));
            }
            _ => {}
        }
    }

    fn on_check(&mut self, now: SimTime, verdict: Verdict, out: &mut Vec<Action>) {
        let Phase::Progressing { step: Some(step) } = self.phase else {
            return;
        };
        if verdict != Verdict::Pass {
            return;
        }
        if step + 1 < self.weights.len() {
            self.set_step(now, step + 1, out);
        } else {
            self.promote(self.weights[step], out);
        }
    }

    fn on_ready(&mut self, version: VersionId, ready: u32, out: &mut Vec<Action>) {
        match (version, self.phase) {
            (VersionId::Candidate, phase) => {
                self.candidate_ready = ready;
                let promoting = matches!(phase, Phase::Promoting { .. });
                let primary_size = self.canary_wanted + self.instances;
                if promoting && !self.primary_replaced && ready >= primary_size {
                    self.primary_replaced = true;
                    out.extend([
                        Action::SetWeight(100.0),
                        Action::scale_now(VersionId::Stable, 0),
                    ]);
                    if self.spec.skip_analysis && self.canary_wanted == 0 {
                        self.phase = Phase::Succeeded;
                    }
                }
            }
            (VersionId::Stable, Phase::WaitingForStable) if ready >= self.instances => {
                self.finish_rollback(out)
            }
            _ => {}
        }
    }

    fn finish_rollback(&mut self, out: &mut Vec<Action>) {
        self.phase = Phase::RolledBack;
        out.extend([
            Action::SetWeight(0.0),
            Action::scale_now(VersionId::Candidate, 0),
            Action::RolledBack,
        ]);
    }

    fn rolling_back(&self) -> bool {
        matches!(
            self.phase,
            Phase::RollbackDue { .. } | Phase::WaitingForStable | Phase::RolledBack
        )
    }

    fn frozen_event(&mut self, now: SimTime, obs: Observation, out: &mut Vec<Action>) {
        match obs {
            Observation::Ready { version, ready } => self.ready_while_frozen.push((version, ready)),
            Observation::Resume => {
                self.frozen = false;
                for (version, ready) in std::mem::take(&mut self.ready_while_frozen) {
                    self.on_ready(version, ready, out);
                }
                while self.next_tick < now {
                    self.next_tick = self.next_tick.saturating_add(self.interval);
                }
            }
            _ => {}
        }
    }
}

impl Strategy for Flagger {
    fn on_event(&mut self, now: SimTime, obs: Observation, out: &mut Vec<Action>) {
        if self.frozen {
            return self.frozen_event(now, obs, out);
        }
        match obs {
            Observation::Start => {
                self.phase = Phase::Progressing { step: None };
                self.next_tick = now.saturating_add(self.interval);
                let first = self.weights.first().copied().unwrap_or(100.0);
                let size = self.canary_size(first);
                self.scale_canary(now, size, out);
                out.push(Action::StartAnalysis);
            }
            Observation::Timer => match self.phase {
                Phase::RollbackDue { at } if now >= at => {
                    if self.primary_replaced {
                        self.phase = Phase::WaitingForStable;
                        out.push(Action::Scale {
                            version: VersionId::Stable,
                            instances: self.instances,
                            ready_after: self.startup,
                        });
                    } else {
                        self.finish_rollback(out);
                    }
                }
                _ if !self.rolling_back() && now >= self.next_tick => {
                    self.next_tick = now.saturating_add(self.interval);
                    self.tick(now, out);
                }
                _ => {}
            },
            Observation::Check(verdict) if self.awaiting_check => {
                self.awaiting_check = false;
                self.on_check(now, verdict, out);
            }
            Observation::Ready { version, ready } => self.on_ready(version, ready, out),
            Observation::Abort if !self.rolling_back() => {
                self.awaiting_check = false;
                out.extend([Action::StopAnalysis, Action::LoadTest(0.0)]);
                self.phase = Phase::RollbackDue {
                    at: now.saturating_add(self.rollback_delay),
                };
            }
            Observation::Freeze if !self.rolling_back() => self.frozen = true,
            _ => {}
        }
    }

    fn next_timer(&self) -> Option<SimTime> {
        match self.phase {
            _ if self.frozen => None,
            Phase::RollbackDue { at } => Some(at),
            Phase::Progressing { .. } | Phase::Promoting { .. } | Phase::Finalising => {
                Some(self.next_tick)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_that_does_not_divide_the_max_steps_past_it() {
        let l = FlaggerLadder::Linear {
            step: 20.0,
            max: 50.0,
        };
        assert_eq!(l.weights(), vec![20.0, 40.0, 60.0]);
        let l = FlaggerLadder::Linear {
            step: 10.0,
            max: 50.0,
        };
        assert_eq!(l.weights(), vec![10.0, 20.0, 30.0, 40.0, 50.0]);
        let l = FlaggerLadder::Linear {
            step: 30.0,
            max: 100.0,
        };
        assert_eq!(l.weights(), vec![30.0, 60.0, 90.0, 100.0]);
    }

    fn podinfo() -> Flagger {
        let s = SimTime::from_secs;
        Flagger::new(
            FlaggerSpec {
                mode: FlaggerMode::Canary,
                load_test_rate: 0.0,
                ladder: FlaggerLadder::Linear {
                    step: 10.0,
                    max: 50.0,
                },
                step_weight_promotion: 100.0,
                canary_replicas: CanaryReplicas::Full,
                progress_deadline: s(60),
                skip_analysis: false,
                session_affinity: false,
                clamped_interval: None,
            },
            s(60),
            &FleetSpec {
                instances: 2,
                capacity_rps: None,
                startup: s(30),
            },
            &ResponseSpec {
                rollback_delay: SimTime::ZERO,
                verify: SimTime::ZERO,
            },
        )
    }

    #[test]
    fn ticks_set_the_first_weight_then_ask_for_checks_and_promote_two_ticks_later() {
        let s = SimTime::from_secs;
        let mut f = podinfo();
        let mut out = vec![];
        f.on_event(s(0), Observation::Start, &mut out);
        f.on_event(
            s(30),
            Observation::Ready {
                version: VersionId::Candidate,
                ready: 2,
            },
            &mut out,
        );
        assert_eq!(f.next_timer(), Some(s(60)));
        out.clear();
        f.on_event(s(60), Observation::Timer, &mut out);
        assert_eq!(
            out,
            vec![Action::SetWeight(10.0)],
            "no check at the first tick"
        );
        for (k, w) in [(2, 20.0), (3, 30.0), (4, 40.0), (5, 50.0)] {
            out.clear();
            f.on_event(s(60 * k), Observation::Timer, &mut out);
            assert_eq!(out, vec![Action::AnalysisTick]);
            f.on_event(s(60 * k), Observation::Check(Verdict::Pass), &mut out);
            assert_eq!(out.last(), Some(&Action::SetWeight(w)));
        }
        out.clear();
        f.on_event(s(360), Observation::Timer, &mut out);
        f.on_event(s(360), Observation::Check(Verdict::Pass), &mut out);
        assert!(out.contains(&Action::StopAnalysis), "{out:?}");
        f.on_event(
            s(390),
            Observation::Ready {
                version: VersionId::Candidate,
                ready: 4,
            },
            &mut out,
        );
        assert!(out.contains(&Action::scale_now(VersionId::Stable, 0)));
        out.clear();
        f.on_event(s(420), Observation::Timer, &mut out);
        assert_eq!(out, vec![Action::Promoted]);
        out.clear();
        f.on_event(s(480), Observation::Timer, &mut out);
        assert_eq!(out, vec![Action::scale_now(VersionId::Candidate, 2)]);
        assert_eq!(f.next_timer(), None);
    }

    #[test]
    fn an_unready_canary_is_flagged_at_the_first_tick_past_the_deadline() {
        let s = SimTime::from_secs;
        let mut f = podinfo();
        let mut out = vec![];
        f.on_event(s(0), Observation::Start, &mut out);
        out.clear();
        f.on_event(s(60), Observation::Timer, &mut out);
        assert!(out.is_empty(), "60 s is not past a 60 s deadline");
        f.on_event(s(120), Observation::Timer, &mut out);
        assert_eq!(out, vec![Action::Fail]);
    }

    #[test]
    fn a_freeze_holds_the_ticks_and_resume_keeps_their_cadence() {
        let s = SimTime::from_secs;
        let mut f = podinfo();
        let mut out = vec![];
        f.on_event(s(0), Observation::Start, &mut out);
        f.on_event(s(100), Observation::Freeze, &mut out);
        f.on_event(
            s(130),
            Observation::Ready {
                version: VersionId::Candidate,
                ready: 2,
            },
            &mut out,
        );
        assert_eq!(f.next_timer(), None);
        // Resumed at 250 s: the ticks of 60 s, 120 s… continue at 300 s, and the readiness
        // heard while frozen counts: tick 300 s sets the first weight.
        f.on_event(s(250), Observation::Resume, &mut out);
        assert_eq!(f.next_timer(), Some(s(300)));
        out.clear();
        f.on_event(s(300), Observation::Timer, &mut out);
        assert_eq!(out, vec![Action::SetWeight(10.0)]);
    }
}
