//! Canary: shift traffic to the candidate in weighted steps, hold on failed checks, roll back
//! to 0 % on abort.
//!
//! Semantics (Flagger and Argo Rollouts; docs/semantics.md's canary timeline):
//! - Step `i` sets the candidate's weight and pauses (see [`Ladder`]). The candidate runs
//!   `max(1, ⌈weight × instances⌉)` instances, scaled before the step.
//! - After the last step's pause, or on reaching a 100 % step, the candidate is promoted: it
//!   takes all traffic, runs `instances` instances, the stable is scaled to 0 and analysis stops.
//! - A freeze (roll-forward) holds the weight (see [`Ladder`]); a promoted canary has
//!   nothing left to hold.
//! - `rollback = "instant"` (Flagger's primary, Argo with traffic routing): the stable stays
//!   fully scaled, so `rollback_delay` after the decision the weight returns to 0.
//! - `rollback = "rolling"` (a replica-based canary, Argo `dynamicStableScale`): the stable is
//!   scaled down as the canary grows (`instances − canary` instances), so on abort it must scale
//!   back up first and traffic returns only once it is ready (`startup` later): the cold-start
//!   abort users complain about (argoproj/argo-rollouts#3888). After promotion every rollback is
//!   a cold start.

use super::ladder::{Ladder, Move, Step};
use super::{Action, Observation, ResponseSpec, Strategy};
use crate::engine::SimTime;
use crate::model::{FleetSpec, VersionId};
use crate::names::named;

named! {
    /// How an aborted canary gives traffic back to the stable version.
    pub enum CanaryRollback {
        /// The stable fleet was kept scaled: traffic returns at once.
        Instant = "instant",
        /// The stable fleet was scaled down: it starts again before traffic returns.
        Rolling = "rolling",
    }
}

/// A canary's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct CanarySpec {
    /// Route by user hash (session affinity) rather than per request.
    pub sticky: bool,
    /// The weight ladder (percent of traffic); only the last step may be 100 %.
    pub steps: Vec<Step>,
    /// How an abort returns traffic.
    pub rollback: CanaryRollback,
    /// The candidate's instances are warmed up before each step (ready at once), as in
    /// rehearsal's first release; otherwise each step waits for them (`fleet.startup`).
    pub prescaled: bool,
    /// Longest wait for the candidate's instances before the rollout is declared failed
    /// (Kubernetes and Argo `progressDeadlineSeconds`).
    pub progress_deadline: SimTime,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Stepping,
    /// Waiting for `needed` ready candidate instances before `weight` applies (`None`: the
    /// 100 % of promotion). `deadline` is when the wait is declared failed, until it is.
    Scaling {
        weight: Option<f64>,
        needed: u32,
        deadline: Option<SimTime>,
    },
    Promoted,
    /// Rollback decided; at `at` traffic moves (instant) or the stable starts (cold).
    RollbackDue {
        at: SimTime,
        cold: bool,
    },
    /// The stable is starting; traffic moves once it is ready.
    WaitingForStable,
    RolledBack,
}

/// The canary state machine.
#[derive(Debug, Clone)]
pub struct Canary {
    spec: CanarySpec,
    ladder: Ladder,
    instances: u32,
    startup: SimTime,
    rollback_delay: SimTime,
    state: State,
    /// The candidate's ready instances, as last observed.
    ready: u32,
    /// Held by a roll-forward until resumed.
    frozen: bool,
    /// Analysis has started: with the first weight, when traffic first reaches the candidate.
    analysing: bool,
}

impl Canary {
    /// A canary over a fleet of `fleet.instances` instances.
    pub fn new(spec: CanarySpec, fleet: &FleetSpec, response: &ResponseSpec) -> Canary {
        Canary {
            ladder: Ladder::new(spec.steps.clone()),
            spec,
            instances: fleet.instances,
            startup: fleet.startup,
            rollback_delay: response.rollback_delay,
            state: State::Stepping,
            ready: 0,
            frozen: false,
            analysing: false,
        }
    }

    /// Candidate instances a weight needs: `max(1, ⌈weight × instances / 100⌉)` (Argo's
    /// `trafficWeightToReplicas`).
    fn needed(&self, weight: f64) -> u32 {
        ((weight / 100.0 * f64::from(self.instances)).ceil() as u32).max(1)
    }

    fn apply(&mut self, now: SimTime, m: Move, out: &mut Vec<Action>) {
        let (weight, needed) = match m {
            Move::Enter(w) => (Some(w), self.needed(w)),
            Move::Complete => (None, self.instances),
        };
        if self.spec.prescaled {
            if weight.is_none() {
                out.push(Action::StopAnalysis);
            }
            out.push(Action::scale_now(VersionId::Candidate, needed));
            self.ready = self.ready.max(needed);
            return self.shift(now, weight, out);
        }
        if self.ready >= needed {
            return self.shift(now, weight, out);
        }
        out.push(Action::Scale {
            version: VersionId::Candidate,
            instances: needed,
            ready_after: self.startup,
        });
        self.state = State::Scaling {
            weight,
            needed,
            deadline: Some(now.saturating_add(self.spec.progress_deadline)),
        };
    }

    /// The candidate's instances are ready: `weight` applies and its pause starts, or (`None`)
    /// the candidate is promoted.
    fn shift(&mut self, now: SimTime, weight: Option<f64>, out: &mut Vec<Action>) {
        match weight {
            Some(w) => {
                if self.spec.rollback == CanaryRollback::Rolling {
                    out.push(Action::scale_now(
                        VersionId::Stable,
                        self.instances.saturating_sub(self.needed(w)),
                    ));
                }
                if !self.analysing {
                    self.analysing = true;
                    out.push(Action::StartAnalysis);
                }
                out.push(Action::SetWeight(w));
                self.ladder.begin_pause(now);
                self.state = State::Stepping;
            }
            None => {
                if !self.spec.prescaled {
                    out.push(Action::StopAnalysis);
                }
                self.state = State::Promoted;
                out.extend([
                    Action::SetWeight(100.0),
                    Action::scale_now(VersionId::Stable, 0),
                    Action::Promoted,
                ]);
            }
        }
    }

    fn shift_back(&mut self, out: &mut Vec<Action>) {
        out.extend([
            Action::SetWeight(0.0),
            Action::scale_now(VersionId::Candidate, 0),
            Action::RolledBack,
        ]);
        self.state = State::RolledBack;
    }

    /// A new count of ready candidate instances; a waiting step applies once enough are.
    fn on_ready(&mut self, now: SimTime, ready: u32, out: &mut Vec<Action>) {
        self.ready = ready;
        if let State::Scaling { weight, needed, .. } = self.state
            && ready >= needed
            && !self.frozen
        {
            self.shift(now, weight, out);
        }
    }
}

impl Strategy for Canary {
    fn on_event(&mut self, now: SimTime, obs: Observation, out: &mut Vec<Action>) {
        match (obs, self.state) {
            (Observation::Start, State::Stepping) => {
                if self.spec.prescaled {
                    // Traffic reaches the candidate now: analysis starts with it.
                    self.analysing = true;
                    out.push(Action::StartAnalysis);
                }
                let m = self.ladder.start(now);
                self.apply(now, m, out);
            }
            (Observation::Check(verdict), State::Stepping | State::Scaling { .. }) => {
                if let Some(m) = self.ladder.on_check(now, verdict) {
                    self.apply(now, m, out);
                }
            }
            (Observation::Timer, State::Stepping) => {
                if let Some(m) = self.ladder.on_timer(now) {
                    self.apply(now, m, out);
                }
            }
            (
                Observation::Timer,
                State::Scaling {
                    weight,
                    needed,
                    deadline: Some(d),
                },
            ) if now >= d => {
                // Flagged once; a resume restarts the count.
                self.state = State::Scaling {
                    weight,
                    needed,
                    deadline: None,
                };
                out.push(Action::Fail);
            }
            (
                Observation::Ready {
                    version: VersionId::Candidate,
                    ready,
                },
                _,
            ) => self.on_ready(now, ready, out),
            (Observation::Freeze, State::Stepping | State::Scaling { .. }) => {
                self.frozen = true;
                self.ladder.freeze();
            }
            (Observation::Resume, State::Stepping | State::Scaling { .. }) => {
                self.frozen = false;
                if let Some(m) = self.ladder.resume(now) {
                    self.apply(now, m, out);
                } else if let State::Scaling { weight, needed, .. } = self.state {
                    self.state = State::Scaling {
                        weight,
                        needed,
                        deadline: Some(now.saturating_add(self.spec.progress_deadline)),
                    };
                    let ready = self.ready;
                    self.on_ready(now, ready, out);
                }
            }
            (Observation::Abort, State::Stepping | State::Scaling { .. } | State::Promoted) => {
                if self.state != State::Promoted {
                    self.ladder.stop();
                    out.push(Action::StopAnalysis);
                }
                let cold =
                    self.state == State::Promoted || self.spec.rollback == CanaryRollback::Rolling;
                self.state = State::RollbackDue {
                    at: now.saturating_add(self.rollback_delay),
                    cold,
                };
            }
            (Observation::Timer, State::RollbackDue { at, cold }) if now >= at => {
                if cold {
                    self.state = State::WaitingForStable;
                    out.push(Action::Scale {
                        version: VersionId::Stable,
                        instances: self.instances,
                        ready_after: self.startup,
                    });
                } else {
                    self.shift_back(out);
                }
            }
            (
                Observation::Ready {
                    version: VersionId::Stable,
                    ready,
                },
                State::WaitingForStable,
            ) if ready >= self.instances => self.shift_back(out),
            _ => {}
        }
    }

    fn next_timer(&self) -> Option<SimTime> {
        match self.state {
            State::Stepping => self.ladder.next_timer(),
            State::Scaling { deadline, .. } => deadline,
            State::RollbackDue { at, .. } => Some(at),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canary(weights: &[f64], pause_s: u64, rollback: CanaryRollback) -> Canary {
        let steps = weights
            .iter()
            .map(|&percent| Step {
                percent,
                pause: SimTime::from_secs(pause_s),
            })
            .collect();
        let fleet = FleetSpec {
            instances: 10,
            capacity_rps: None,
            startup: SimTime::from_secs(30),
        };
        let response = ResponseSpec {
            rollback_delay: SimTime::from_secs(5),
            verify: SimTime::ZERO,
        };
        Canary::new(
            CanarySpec {
                sticky: false,
                steps,
                rollback,
                prescaled: true,
                progress_deadline: SimTime::from_secs(600),
            },
            &fleet,
            &response,
        )
    }

    fn weights(out: &[Action]) -> Vec<f64> {
        out.iter()
            .filter_map(|a| match a {
                Action::SetWeight(w) => Some(*w),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn promotes_after_the_last_step_and_scales_the_stable_down() {
        let mut c = canary(&[10.0, 50.0], 60, CanaryRollback::Instant);
        let mut out = vec![];
        c.on_event(SimTime::ZERO, Observation::Start, &mut out);
        assert!(out.contains(&Action::scale_now(VersionId::Candidate, 1)));
        c.on_event(SimTime::from_secs(60), Observation::Timer, &mut out);
        c.on_event(SimTime::from_secs(120), Observation::Timer, &mut out);
        assert_eq!(weights(&out), [10.0, 50.0, 100.0]);
        assert_eq!(out.last(), Some(&Action::Promoted));
        assert!(out.contains(&Action::scale_now(VersionId::Stable, 0)));
    }

    #[test]
    fn instant_abort_moves_traffic_after_the_rollback_delay() {
        let mut c = canary(&[10.0], 600, CanaryRollback::Instant);
        let mut out = vec![];
        c.on_event(SimTime::ZERO, Observation::Start, &mut out);
        out.clear();
        c.on_event(SimTime::from_secs(150), Observation::Abort, &mut out);
        assert_eq!(out, [Action::StopAnalysis]);
        assert_eq!(c.next_timer(), Some(SimTime::from_secs(155)));
        c.on_event(SimTime::from_secs(155), Observation::Timer, &mut out);
        assert_eq!(weights(&out), [0.0]);
        assert_eq!(out.last(), Some(&Action::RolledBack));
    }

    #[test]
    fn rolling_abort_waits_for_a_cold_stable() {
        let mut c = canary(&[20.0], 600, CanaryRollback::Rolling);
        let mut out = vec![];
        c.on_event(SimTime::ZERO, Observation::Start, &mut out);
        assert!(
            out.contains(&Action::scale_now(VersionId::Stable, 8)),
            "replica-based: {out:?}"
        );
        out.clear();
        c.on_event(SimTime::from_secs(100), Observation::Abort, &mut out);
        c.on_event(SimTime::from_secs(105), Observation::Timer, &mut out);
        assert_eq!(
            out[1..],
            [Action::Scale {
                version: VersionId::Stable,
                instances: 10,
                ready_after: SimTime::from_secs(30)
            }]
        );
        let ready = |n| Observation::Ready {
            version: VersionId::Stable,
            ready: n,
        };
        c.on_event(SimTime::from_secs(135), ready(10), &mut out);
        assert_eq!(weights(&out), [0.0]);
    }
}
