//! Canary: shift traffic to the candidate in weighted steps, hold on failed checks, roll back
//! to 0 % on abort.
//!
//! Semantics (DESIGN.md §3, Flagger and Argo Rollouts):
//! - Step `i` sets the candidate's weight and pauses for `pause`. The candidate runs
//!   `⌈weight × instances⌉` instances, scaled before the step (Argo with traffic routing);
//!   the stable fleet stays fully scaled until promotion.
//! - A failed check holds the current step. When the pause has elapsed the canary advances at
//!   once if the latest conclusive check passed, otherwise at the next passing check.
//! - After the last step's pause, or on reaching a 100 % step, the candidate is promoted: it
//!   takes all traffic, runs `instances` instances, the stable is scaled to 0 and analysis stops.
//! - On abort: after `rollback_delay` the weight returns to 0 and the candidate is scaled to
//!   0. After promotion the stable must be started again first, so traffic returns only after
//!   a further `startup` (a cold start).

use super::{Action, Observation, ResponseSpec, Strategy};
use crate::detect::Verdict;
use crate::engine::SimTime;
use crate::model::{FleetSpec, VersionId};

/// One canary step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The candidate's share of traffic, percent, in `(0, 100]`.
    pub weight_pct: f64,
    /// Time to stay at this weight before advancing (zero for a 100 % step).
    pub pause: SimTime,
}

/// A canary's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct CanarySpec {
    /// Route by user hash (session affinity) rather than per request.
    pub sticky: bool,
    /// The weight ladder; only the last step may be 100 %.
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Idle,
    Stepping {
        step: usize,
        pause_end: SimTime,
        pause_elapsed: bool,
    },
    Promoted,
    /// Rolling back: scale the stable up again at `restart` (if promoted), move traffic at `shift`.
    RollingBack {
        restart: Option<SimTime>,
        shift: SimTime,
    },
    RolledBack,
}

/// The canary state machine.
#[derive(Debug, Clone)]
pub struct Canary {
    spec: CanarySpec,
    instances: u32,
    startup: SimTime,
    rollback_delay: SimTime,
    /// The latest conclusive check failed.
    held: bool,
    state: State,
}

impl Canary {
    /// A canary over a fleet of `fleet.instances` instances.
    pub fn new(spec: CanarySpec, fleet: &FleetSpec, response: &ResponseSpec) -> Canary {
        Canary {
            spec,
            instances: fleet.instances,
            startup: fleet.startup,
            rollback_delay: response.rollback_delay,
            held: false,
            state: State::Idle,
        }
    }

    fn enter_step(&mut self, now: SimTime, step: usize, out: &mut Vec<Action>) {
        let Some(s) = self.spec.steps.get(step).filter(|s| s.weight_pct < 100.0) else {
            self.state = State::Promoted;
            out.extend([
                Action::StopAnalysis,
                Action::scale_now(VersionId::Candidate, self.instances),
                Action::SetWeight(100.0),
                Action::scale_now(VersionId::Stable, 0),
                Action::Promoted,
            ]);
            return;
        };
        let canary_instances = (s.weight_pct / 100.0 * f64::from(self.instances)).ceil() as u32;
        out.extend([
            Action::scale_now(VersionId::Candidate, canary_instances.max(1)),
            Action::SetWeight(s.weight_pct),
        ]);
        self.state = State::Stepping {
            step,
            pause_end: now.saturating_add(s.pause),
            pause_elapsed: false,
        };
    }

    fn abort(&mut self, now: SimTime, out: &mut Vec<Action>) {
        let shift_from = now.saturating_add(self.rollback_delay);
        self.state = match self.state {
            State::Stepping { .. } => {
                out.push(Action::StopAnalysis);
                State::RollingBack {
                    restart: None,
                    shift: shift_from,
                }
            }
            State::Promoted => State::RollingBack {
                restart: Some(shift_from),
                shift: shift_from.saturating_add(self.startup),
            },
            other => other,
        };
    }
}

impl Strategy for Canary {
    fn on_event(&mut self, now: SimTime, obs: Observation, out: &mut Vec<Action>) {
        match (obs, self.state) {
            (Observation::Start, State::Idle) => {
                out.push(Action::StartAnalysis);
                self.enter_step(now, 0, out);
            }
            (
                Observation::Check(verdict),
                State::Stepping {
                    step,
                    pause_elapsed,
                    ..
                },
            ) => {
                match verdict {
                    Verdict::Pass => self.held = false,
                    Verdict::Fail => self.held = true,
                    Verdict::Inconclusive => {}
                }
                if verdict == Verdict::Pass && pause_elapsed {
                    self.enter_step(now, step + 1, out);
                }
            }
            (
                Observation::Timer,
                State::Stepping {
                    step, pause_end, ..
                },
            ) if now >= pause_end => {
                if self.held {
                    self.state = State::Stepping {
                        step,
                        pause_end,
                        pause_elapsed: true,
                    };
                } else {
                    self.enter_step(now, step + 1, out);
                }
            }
            (
                Observation::Timer,
                State::RollingBack {
                    restart: Some(at),
                    shift,
                },
            ) if now >= at => {
                out.push(Action::scale_now(VersionId::Stable, self.instances));
                self.state = State::RollingBack {
                    restart: None,
                    shift,
                };
            }
            (
                Observation::Timer,
                State::RollingBack {
                    restart: None,
                    shift,
                },
            ) if now >= shift => {
                out.extend([
                    Action::SetWeight(0.0),
                    Action::scale_now(VersionId::Candidate, 0),
                    Action::RolledBack,
                ]);
                self.state = State::RolledBack;
            }
            (Observation::Abort, _) => self.abort(now, out),
            _ => {}
        }
    }

    fn next_timer(&self) -> Option<SimTime> {
        match self.state {
            State::Stepping {
                pause_end,
                pause_elapsed: false,
                ..
            } => Some(pause_end),
            State::RollingBack { restart, shift } => Some(restart.unwrap_or(shift)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canary(weights: &[f64], pause_s: u64) -> Canary {
        let steps = weights
            .iter()
            .map(|&w| Step {
                weight_pct: w,
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
    fn advances_at_each_pause_and_promotes_after_the_last() {
        let mut c = canary(&[10.0, 50.0], 60);
        let mut out = vec![];
        c.on_event(SimTime::ZERO, Observation::Start, &mut out);
        assert_eq!(weights(&out), [10.0]);
        assert!(out.contains(&Action::scale_now(VersionId::Candidate, 1)));
        assert_eq!(c.next_timer(), Some(SimTime::from_secs(60)));
        c.on_event(SimTime::from_secs(60), Observation::Timer, &mut out);
        assert_eq!(c.next_timer(), Some(SimTime::from_secs(120)));
        c.on_event(SimTime::from_secs(120), Observation::Timer, &mut out);
        assert_eq!(weights(&out), [10.0, 50.0, 100.0]);
        assert_eq!(out.last(), Some(&Action::Promoted));
        assert_eq!(c.next_timer(), None);
    }

    #[test]
    fn a_failed_check_holds_until_the_next_pass() {
        let mut c = canary(&[10.0, 50.0], 60);
        let mut out = vec![];
        c.on_event(SimTime::ZERO, Observation::Start, &mut out);
        c.on_event(
            SimTime::from_secs(30),
            Observation::Check(Verdict::Fail),
            &mut out,
        );
        c.on_event(SimTime::from_secs(60), Observation::Timer, &mut out);
        assert_eq!(weights(&out), [10.0], "held");
        assert_eq!(c.next_timer(), None);
        c.on_event(
            SimTime::from_secs(90),
            Observation::Check(Verdict::Inconclusive),
            &mut out,
        );
        assert_eq!(weights(&out), [10.0], "inconclusive does not release");
        c.on_event(
            SimTime::from_secs(120),
            Observation::Check(Verdict::Pass),
            &mut out,
        );
        assert_eq!(weights(&out), [10.0, 50.0]);
        assert_eq!(c.next_timer(), Some(SimTime::from_secs(180)));
    }

    #[test]
    fn abort_moves_traffic_after_the_rollback_delay() {
        let mut c = canary(&[10.0], 600);
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
    fn abort_after_promotion_waits_for_a_cold_stable() {
        let mut c = canary(&[100.0], 0);
        let mut out = vec![];
        c.on_event(SimTime::ZERO, Observation::Start, &mut out);
        assert!(out.contains(&Action::Promoted));
        out.clear();
        c.on_event(SimTime::from_secs(100), Observation::Abort, &mut out);
        assert_eq!(c.next_timer(), Some(SimTime::from_secs(105)));
        c.on_event(SimTime::from_secs(105), Observation::Timer, &mut out);
        assert_eq!(out, [Action::scale_now(VersionId::Stable, 10)]);
        assert_eq!(c.next_timer(), Some(SimTime::from_secs(135)));
        c.on_event(SimTime::from_secs(135), Observation::Timer, &mut out);
        assert_eq!(weights(&out), [0.0]);
    }
}
