//! Feature flag: the new code runs everywhere; a flag turns it on for a growing cohort of
//! users; the kill switch turns it off without a deploy.
//!
//! Semantics: the flag climbs the percentage ladder like a canary's weights (see [`Ladder`];
//! analysis runs on the flagged cohort's requests). Every change, the kill switch included,
//! reaches each instance only when its SDK next refreshes (polling) or after the stream's
//! delay; the model applies that propagation ([`crate::model::FlagRouting`]). On abort the
//! flag target goes to 0 `rollback_delay` after the decision; users stay exposed on each
//! instance until it learns it. A freeze (roll-forward) holds the percentage as a canary holds
//! its weight. Reaching 100 % completes the rollout. The fleet is one
//! environment of `instances` instances: no second environment is paid for.

use super::ladder::{Ladder, Move, Step};
use super::{Action, Observation, ResponseSpec, Strategy};
use crate::engine::SimTime;
use crate::model::Refresh;

/// A feature flag rollout's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureFlagSpec {
    /// The percentage ladder (percent of users, whole numbers as Unleash buckets them).
    pub steps: Vec<Step>,
    /// How instances learn flag changes.
    pub refresh: Refresh,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Stepping,
    Promoted,
    KillDue { at: SimTime },
    Killed,
}

/// The feature-flag state machine.
#[derive(Debug, Clone)]
pub struct FeatureFlag {
    ladder: Ladder,
    rollback_delay: SimTime,
    state: State,
}

impl FeatureFlag {
    /// A flag rollout.
    pub fn new(spec: FeatureFlagSpec, response: &ResponseSpec) -> FeatureFlag {
        FeatureFlag {
            ladder: Ladder::new(spec.steps),
            rollback_delay: response.rollback_delay,
            state: State::Stepping,
        }
    }

    fn apply(&mut self, m: Move, out: &mut Vec<Action>) {
        match m {
            Move::Enter(percent) => out.push(Action::SetFlag(percent)),
            Move::Complete => {
                self.state = State::Promoted;
                out.extend([
                    Action::StopAnalysis,
                    Action::SetFlag(100.0),
                    Action::Promoted,
                ]);
            }
        }
    }
}

impl Strategy for FeatureFlag {
    fn on_event(&mut self, now: SimTime, obs: Observation, out: &mut Vec<Action>) {
        let m = match (obs, self.state) {
            (Observation::Start, State::Stepping) => {
                out.push(Action::StartAnalysis);
                Some(self.ladder.start(now))
            }
            (Observation::Check(verdict), State::Stepping) => self.ladder.on_check(now, verdict),
            (Observation::Timer, State::Stepping) => self.ladder.on_timer(now),
            (Observation::Freeze, State::Stepping) => {
                self.ladder.freeze();
                None
            }
            (Observation::Resume, State::Stepping) => self.ladder.resume(now),
            (Observation::Abort, State::Stepping | State::Promoted) => {
                if self.state == State::Stepping {
                    self.ladder.stop();
                    out.push(Action::StopAnalysis);
                }
                self.state = State::KillDue {
                    at: now.saturating_add(self.rollback_delay),
                };
                None
            }
            (Observation::Timer, State::KillDue { at }) if now >= at => {
                self.state = State::Killed;
                out.extend([Action::SetFlag(0.0), Action::RolledBack]);
                None
            }
            _ => None,
        };
        if let Some(m) = m {
            self.apply(m, out);
        }
    }

    fn next_timer(&self) -> Option<SimTime> {
        match self.state {
            State::Stepping => self.ladder.next_timer(),
            State::KillDue { at } => Some(at),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn climbs_then_kills_after_the_rollback_delay() {
        let s = SimTime::from_secs;
        let mut f = FeatureFlag::new(
            FeatureFlagSpec {
                steps: vec![
                    Step {
                        percent: 10.0,
                        pause: s(60),
                    },
                    Step {
                        percent: 100.0,
                        pause: SimTime::ZERO,
                    },
                ],
                refresh: Refresh::Polling { interval: s(15) },
            },
            &ResponseSpec {
                rollback_delay: s(3),
                verify: SimTime::ZERO,
            },
        );
        let mut out = vec![];
        f.on_event(s(0), Observation::Start, &mut out);
        assert_eq!(out, [Action::StartAnalysis, Action::SetFlag(10.0)]);
        f.on_event(s(30), Observation::Abort, &mut out);
        assert_eq!(f.next_timer(), Some(s(33)));
        f.on_event(s(33), Observation::Timer, &mut out);
        assert_eq!(
            out[out.len() - 2..],
            [Action::SetFlag(0.0), Action::RolledBack]
        );
    }
}
