//! Blue-green: start a full green environment, optionally analyse it on preview traffic,
//! switch all traffic at once, analyse after the switch, switch back on failure.
//!
//! Semantics (Argo Rollouts blue-green, `docs/features/bluegreen.md`):
//! - At 0 the green (candidate) environment starts: `instances` instances, ready after the
//!   fleet's `startup`. Green that never becomes ready (a crash loop) is flagged after
//!   `progress_deadline` (Argo's `progressDeadlineSeconds`, 600 s) and torn down.
//! - With `pre_promotion > 0`, green receives `preview_share` % of traffic for that long while
//!   the analysis runs; failing it aborts before any switch.
//! - The switch is decided when green is ready (and the preview passed); traffic moves
//!   `switch_delay` later (router propagation). Post-promotion analysis runs for
//!   `post_promotion` from the moment traffic moved; the rollout completes when it ends.
//! - Green ready (and the preview passed), the switch waits `auto_promotion_delay` (Argo's
//!   `autoPromotionSeconds`, 0 by default) before it is decided.
//! - Blue (stable) stays fully scaled while post-promotion analysis runs: Argo keeps the old
//!   ReplicaSet as the stable one until the post-promotion run succeeds (`rollout/sync.go`
//!   shouldFullPromote, `rollout/bluegreen.go` reconcileBlueGreenStableReplicaSet;
//!   argoproj/argo-rollouts#955). `scale_down_delay` (Argo: 30 s) counts from that success,
//!   or from the switch when there is no post-promotion analysis. A rollback executing while
//!   blue is up (the last instant of the delay included) switches back at once (plus
//!   `switch_delay`); after it, blue must start again and traffic returns only when it is
//!   ready: `startup` later.
//! - Both environments are paid for while both run.
//! - A freeze (roll-forward, like pausing an Argo Rollout) holds everything as it is: no
//!   switch, no promotion, blue is not scaled down and green's progress deadline is not
//!   checked. On resume whatever fell due meanwhile happens at once, and a green still
//!   starting gets a fresh progress deadline (as Kubernetes restarts it on resume).

use super::{Action, Observation, ResponseSpec, RunSpec, Strategy};
use crate::detect::RunPhase;
use crate::engine::{LogNormalDelay, SimTime};
use crate::model::{FleetSpec, VersionId};

/// A blue-green's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct BlueGreenSpec {
    /// Pre-promotion analysis on preview traffic (zero: none).
    pub pre_promotion: SimTime,
    /// Share of user traffic sent to green during pre-promotion, percent.
    pub preview_share: f64,
    /// Synthetic load-test requests per second sent to green's preview during pre-promotion.
    pub preview_rate: f64,
    /// Green's instances before the switch (`previewReplicaCount`); it scales to all of them
    /// and waits for them before switching.
    pub preview_replicas: u32,
    /// Post-promotion analysis, from the switch.
    pub post_promotion: SimTime,
    /// Router propagation of a switch, either way.
    pub switch_delay: SimTime,
    /// How long blue stays up after the promotion is final: the post-promotion analysis'
    /// success, or the switch without one.
    pub scale_down_delay: SimTime,
    /// Wait between green being ready (and the preview passed) and the switch decision.
    pub auto_promotion_delay: SimTime,
    /// A green that is not ready by then is flagged.
    pub progress_deadline: SimTime,
    /// At the progress deadline abort (`true`) or mark the rollout Degraded and keep waiting.
    pub progress_deadline_abort: bool,
    /// Argo analysis runs: `pre_promotion_analysis` and `post_promotion_analysis`, when
    /// given, replace the timed `pre_promotion` and `post_promotion` (indices into `runs`).
    pub runs: Vec<RunSpec>,
    /// The pre-promotion run: the switch waits for its success.
    pub pre_run: Option<usize>,
    /// The post-promotion run: the promotion is final at its success.
    pub post_run: Option<usize>,
    /// How long a human takes to promote after an Inconclusive run (`None`: never).
    pub promotion_delay: Option<LogNormalDelay>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Green is starting; flagged at `deadline` (`None`: already flagged).
    Starting {
        deadline: Option<SimTime>,
    },
    /// Green takes preview traffic and is analysed until `until` (`None`: until the
    /// pre-promotion run succeeds).
    Preview {
        until: Option<SimTime>,
    },
    /// The switch is decided; green scales from its preview replicas to all instances and
    /// the switch waits for them, and not before `not_before`.
    ScalingUp {
        not_before: SimTime,
    },
    /// The switch is decided; traffic moves at `at`.
    Switching {
        at: SimTime,
    },
    /// Traffic is on green; analysis until `until` (`None`: until the post-promotion run
    /// succeeds).
    PostPromotion {
        until: Option<SimTime>,
    },
    Promoted,
    /// Rollback decided; it executes at `at`.
    RollbackDue {
        at: SimTime,
    },
    /// Blue is starting again after its scale-down.
    WaitingForBlue,
    /// Traffic moves back to blue at `at`.
    SwitchingBack {
        at: SimTime,
    },
    RolledBack,
}

impl State {
    /// Whether a rollback is under way or done: nothing but the rollback happens then.
    fn rolling_back(self) -> bool {
        matches!(
            self,
            State::RollbackDue { .. }
                | State::WaitingForBlue
                | State::SwitchingBack { .. }
                | State::RolledBack
        )
    }
}

/// The blue-green state machine.
#[derive(Debug, Clone)]
pub struct BlueGreen {
    spec: BlueGreenSpec,
    instances: u32,
    startup: SimTime,
    rollback_delay: SimTime,
    state: State,
    /// When blue is scaled down (set at the switch).
    blue_down_at: Option<SimTime>,
    blue_down: bool,
    /// Traffic is on green.
    switched: bool,
    /// Frozen by a roll-forward until resumed.
    frozen: bool,
    /// Green's ready instances, when they came due during a freeze.
    ready_while_frozen: Option<u32>,
    /// The run a human is to promote past (it ended Inconclusive).
    awaiting: Option<usize>,
}

impl BlueGreen {
    /// A blue-green over two environments of `fleet.instances` instances.
    pub fn new(spec: BlueGreenSpec, fleet: &FleetSpec, response: &ResponseSpec) -> BlueGreen {
        BlueGreen {
            spec,
            instances: fleet.instances,
            startup: fleet.startup,
            rollback_delay: response.rollback_delay,
            state: State::Starting { deadline: None },
            blue_down_at: None,
            blue_down: false,
            switched: false,
            frozen: false,
            ready_while_frozen: None,
            awaiting: None,
        }
    }

    /// Green is ready: the preview starts, or the switch is decided.
    fn green_ready(&mut self, now: SimTime, out: &mut Vec<Action>) {
        let until = match self.spec.pre_run {
            Some(run) => {
                out.push(Action::StartRun(run));
                None
            }
            None if self.spec.pre_promotion > SimTime::ZERO => {
                out.push(Action::StartAnalysis);
                Some(now.saturating_add(self.spec.pre_promotion))
            }
            None => return self.decide_switch(now, out),
        };
        self.state = State::Preview { until };
        out.extend([
            Action::SetWeight(self.spec.preview_share),
            Action::LoadTest(self.spec.preview_rate),
        ]);
    }

    /// Traffic moves to green; the post-promotion analysis starts, if any.
    fn switch(&mut self, now: SimTime, out: &mut Vec<Action>) {
        self.switched = true;
        out.push(Action::SetWeight(100.0));
        // Blue stays up until the post-promotion analysis succeeds.
        match self.spec.post_run {
            Some(run) => {
                out.push(Action::StartRun(run));
                self.state = State::PostPromotion { until: None };
            }
            None if self.spec.post_promotion > SimTime::ZERO => {
                out.push(Action::StartAnalysis);
                self.state = State::PostPromotion {
                    until: Some(now.saturating_add(self.spec.post_promotion)),
                };
            }
            None => self.promote(now, out),
        }
        self.scale_blue_down_if_due(now, out);
    }

    /// The promotion is final: blue scales down `scale_down_delay` later.
    fn promote(&mut self, now: SimTime, out: &mut Vec<Action>) {
        self.blue_down_at = Some(now.saturating_add(self.spec.scale_down_delay));
        self.state = State::Promoted;
        out.extend([Action::StopAnalysis, Action::Promoted]);
    }

    /// A run ended Successful, or a human promoted after an Inconclusive one.
    fn run_passed(&mut self, now: SimTime, run: usize, out: &mut Vec<Action>) {
        match self.state {
            State::Preview { until: None } if Some(run) == self.spec.pre_run => {
                self.decide_switch(now, out)
            }
            State::PostPromotion { until: None } if Some(run) == self.spec.post_run => {
                self.promote(now, out)
            }
            _ => {}
        }
    }

    fn stop_runs(&self, out: &mut Vec<Action>) {
        out.extend(
            [self.spec.pre_run, self.spec.post_run]
                .into_iter()
                .flatten()
                .map(Action::StopRun),
        );
    }

    fn decide_switch(&mut self, now: SimTime, out: &mut Vec<Action>) {
        out.extend([Action::StopAnalysis, Action::LoadTest(0.0)]);
        self.stop_runs(out);
        let at = now.saturating_add(self.spec.auto_promotion_delay);
        if self.spec.preview_replicas < self.instances {
            self.state = State::ScalingUp { not_before: at };
            out.push(Action::Scale {
                version: VersionId::Candidate,
                instances: self.instances,
                ready_after: self.startup,
            });
        } else {
            self.state = State::Switching {
                at: at.saturating_add(self.spec.switch_delay),
            };
        }
    }

    fn scale_blue_down_if_due(&mut self, now: SimTime, out: &mut Vec<Action>) {
        if !self.blue_down && self.blue_down_at.is_some_and(|t| now >= t) {
            self.blue_down = true;
            out.push(Action::scale_now(VersionId::Stable, 0));
        }
    }

    /// While frozen, notes green's readiness and ignores the rest; on resume, catches up.
    fn frozen_event(&mut self, now: SimTime, obs: Observation, out: &mut Vec<Action>) {
        match obs {
            Observation::Ready {
                version: VersionId::Candidate,
                ready,
            } => self.ready_while_frozen = Some(ready),
            Observation::Resume => {
                self.frozen = false;
                if let State::Starting { .. } = self.state {
                    self.state = State::Starting {
                        deadline: Some(now.saturating_add(self.spec.progress_deadline)),
                    };
                }
                if let Some(ready) = self.ready_while_frozen.take() {
                    let version = VersionId::Candidate;
                    self.on_event(now, Observation::Ready { version, ready }, out);
                }
                self.on_event(now, Observation::Timer, out);
            }
            _ => {}
        }
    }

    fn finish_rollback(&mut self, out: &mut Vec<Action>) {
        out.extend([
            Action::SetWeight(0.0),
            Action::scale_now(VersionId::Candidate, 0),
            Action::RolledBack,
        ]);
        self.state = State::RolledBack;
    }
}

impl Strategy for BlueGreen {
    fn on_event(&mut self, now: SimTime, obs: Observation, out: &mut Vec<Action>) {
        if self.frozen {
            return self.frozen_event(now, obs, out);
        }
        match (obs, self.state) {
            (Observation::Start, _) => {
                self.state = State::Starting {
                    deadline: Some(now.saturating_add(self.spec.progress_deadline)),
                };
                out.push(Action::Scale {
                    version: VersionId::Candidate,
                    instances: self.spec.preview_replicas,
                    ready_after: self.startup,
                });
            }
            (
                Observation::Ready {
                    version: VersionId::Candidate,
                    ready,
                },
                State::Starting { .. },
            ) if ready >= self.spec.preview_replicas => self.green_ready(now, out),
            (
                Observation::Ready {
                    version: VersionId::Candidate,
                    ready,
                },
                State::ScalingUp { not_before },
            ) if ready >= self.instances => {
                self.state = State::Switching {
                    at: not_before.max(now).saturating_add(self.spec.switch_delay),
                };
            }
            (Observation::Timer, State::Starting { deadline: Some(t) }) if now >= t => {
                self.state = State::Starting { deadline: None };
                out.push(if self.spec.progress_deadline_abort {
                    Action::Fail
                } else {
                    Action::Degraded
                });
            }
            (Observation::Freeze, s) if !s.rolling_back() => self.frozen = true,
            (Observation::Timer, State::Preview { until: Some(t) }) if now >= t => {
                self.decide_switch(now, out)
            }
            (Observation::Timer, State::Switching { at }) if now >= at => self.switch(now, out),
            (Observation::Timer, State::PostPromotion { until }) => {
                self.scale_blue_down_if_due(now, out);
                if until.is_some_and(|t| now >= t) {
                    self.promote(now, out);
                }
            }
            (Observation::RunEnded { run, phase }, _) => match phase {
                RunPhase::Inconclusive => {
                    // Argo pauses the rollout for a human (`PauseReasonInconclusiveAnalysis`).
                    self.awaiting = Some(run);
                    out.extend(self.spec.promotion_delay.map(Action::AwaitPromotion));
                }
                _ => self.run_passed(now, run, out),
            },
            (Observation::Promote, _) => {
                if let Some(run) = self.awaiting.take() {
                    self.run_passed(now, run, out);
                }
            }
            (Observation::Timer, State::Promoted) => self.scale_blue_down_if_due(now, out),
            (Observation::Abort, s) if !s.rolling_back() => {
                out.extend([Action::StopAnalysis, Action::LoadTest(0.0)]);
                self.stop_runs(out);
                self.state = State::RollbackDue {
                    at: now.saturating_add(self.rollback_delay),
                };
            }
            (Observation::Timer, State::RollbackDue { at }) if now < at => {
                self.scale_blue_down_if_due(now, out)
            }
            (Observation::Timer, State::RollbackDue { .. }) => {
                // A rollback and blue's scale-down at the same instant: the rollback first, as
                // the abort is known before the controller scales blue down.
                if !self.switched {
                    self.finish_rollback(out);
                } else if self.blue_down {
                    // Blue is gone: a cold start before traffic can return.
                    self.state = State::WaitingForBlue;
                    out.push(Action::Scale {
                        version: VersionId::Stable,
                        instances: self.instances,
                        ready_after: self.startup,
                    });
                } else {
                    self.blue_down_at = None;
                    self.state = State::SwitchingBack {
                        at: now.saturating_add(self.spec.switch_delay),
                    };
                }
            }
            (
                Observation::Ready {
                    version: VersionId::Stable,
                    ready,
                },
                State::WaitingForBlue,
            ) if ready >= self.instances => {
                self.state = State::SwitchingBack {
                    at: now.saturating_add(self.spec.switch_delay),
                };
            }
            (Observation::Timer, State::SwitchingBack { at }) if now >= at => {
                self.finish_rollback(out)
            }
            _ => {}
        }
    }

    fn next_timer(&self) -> Option<SimTime> {
        let own = match self.state {
            _ if self.frozen => return None,
            State::Starting { deadline } => deadline,
            State::Preview { until } | State::PostPromotion { until } => until,
            State::Switching { at } | State::RollbackDue { at } | State::SwitchingBack { at } => {
                Some(at)
            }
            _ => None,
        };
        let blue = self.blue_down_at.filter(|_| !self.blue_down);
        match (own, blue) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bg(pre: u64, post: u64) -> BlueGreen {
        let s = SimTime::from_secs;
        BlueGreen::new(
            BlueGreenSpec {
                pre_promotion: s(pre),
                preview_share: 5.0,
                preview_rate: 0.0,
                preview_replicas: 4,
                post_promotion: s(post),
                switch_delay: s(2),
                scale_down_delay: s(30),
                auto_promotion_delay: SimTime::ZERO,
                progress_deadline: s(600),
                progress_deadline_abort: true,
                runs: Vec::new(),
                pre_run: None,
                post_run: None,
                promotion_delay: None,
            },
            &FleetSpec {
                instances: 4,
                capacity_rps: None,
                startup: s(40),
            },
            &ResponseSpec {
                rollback_delay: SimTime::ZERO,
                verify: SimTime::ZERO,
            },
        )
    }

    fn ready(version: VersionId, ready: u32) -> Observation {
        Observation::Ready { version, ready }
    }

    /// Drives timers until `until`, collecting actions.
    fn run_timers(b: &mut BlueGreen, until: SimTime, out: &mut Vec<Action>) {
        while let Some(t) = b.next_timer().filter(|&t| t <= until) {
            b.on_event(t, Observation::Timer, out);
        }
    }

    #[test]
    fn switches_when_green_is_ready_and_promotes_after_post_analysis() {
        let s = SimTime::from_secs;
        let mut b = bg(0, 120);
        let mut out = vec![];
        b.on_event(s(0), Observation::Start, &mut out);
        b.on_event(s(40), ready(VersionId::Candidate, 4), &mut out);
        assert_eq!(b.next_timer(), Some(s(42)), "switch_delay");
        run_timers(&mut b, s(170), &mut out);
        assert!(out.contains(&Action::SetWeight(100.0)));
        // Switch at 42 s; post-promotion analysis 42–162 s with blue fully up; promoted at
        // 162 s, and only then does the 30 s scale-down delay start.
        assert_eq!(out.last(), Some(&Action::Promoted));
        assert!(!out.contains(&Action::scale_now(VersionId::Stable, 0)));
        assert_eq!(
            b.next_timer(),
            Some(s(192)),
            "blue down 30 s after promotion"
        );
        run_timers(&mut b, s(200), &mut out);
        assert_eq!(out.last(), Some(&Action::scale_now(VersionId::Stable, 0)));
    }

    #[test]
    fn rollback_inside_the_scale_down_window_is_a_switch_back() {
        let s = SimTime::from_secs;
        let mut b = bg(0, 300);
        let mut out = vec![];
        b.on_event(s(0), Observation::Start, &mut out);
        b.on_event(s(40), ready(VersionId::Candidate, 4), &mut out);
        run_timers(&mut b, s(42), &mut out);
        b.on_event(s(60), Observation::Abort, &mut out);
        run_timers(&mut b, s(1000), &mut out);
        assert_eq!(out.last(), Some(&Action::RolledBack));
        assert!(
            !out.contains(&Action::scale_now(VersionId::Stable, 0)),
            "blue kept"
        );
    }

    #[test]
    fn rollback_after_the_scale_down_window_cold_starts_blue() {
        // No post-promotion analysis: blue goes down 30 s after the switch (72 s), so a later
        // rollback (a human's) must start it again.
        let s = SimTime::from_secs;
        let mut b = bg(0, 0);
        let mut out = vec![];
        b.on_event(s(0), Observation::Start, &mut out);
        b.on_event(s(40), ready(VersionId::Candidate, 4), &mut out);
        run_timers(&mut b, s(100), &mut out);
        b.on_event(s(100), Observation::Abort, &mut out);
        run_timers(&mut b, s(100), &mut out);
        assert_eq!(
            out.last(),
            Some(&Action::Scale {
                version: VersionId::Stable,
                instances: 4,
                ready_after: s(40)
            })
        );
        b.on_event(s(140), ready(VersionId::Stable, 4), &mut out);
        assert_eq!(b.next_timer(), Some(s(142)));
        run_timers(&mut b, s(1000), &mut out);
        assert_eq!(out.last(), Some(&Action::RolledBack));
    }

    #[test]
    fn blue_scales_down_while_a_delayed_rollback_is_pending() {
        let s = SimTime::from_secs;
        let mut b = bg(0, 0);
        b.rollback_delay = s(60);
        let mut out = vec![];
        b.on_event(s(0), Observation::Start, &mut out);
        b.on_event(s(40), ready(VersionId::Candidate, 4), &mut out);
        run_timers(&mut b, s(50), &mut out);
        b.on_event(s(50), Observation::Abort, &mut out);
        assert_eq!(b.next_timer(), Some(s(72)), "blue's scale-down comes first");
        run_timers(&mut b, s(110), &mut out);
        assert!(out.contains(&Action::scale_now(VersionId::Stable, 0)));
        assert!(
            matches!(
                out.last(),
                Some(Action::Scale {
                    version: VersionId::Stable,
                    ..
                })
            ),
            "{out:?}"
        );
    }

    #[test]
    fn a_green_that_never_gets_ready_is_flagged_at_the_deadline() {
        let mut b = bg(0, 300);
        let mut out = vec![];
        b.on_event(SimTime::ZERO, Observation::Start, &mut out);
        assert_eq!(b.next_timer(), Some(SimTime::from_secs(600)));
        b.on_event(SimTime::from_secs(600), Observation::Timer, &mut out);
        assert_eq!(out.last(), Some(&Action::Fail));
        assert_eq!(b.next_timer(), None, "flagged once");
    }

    #[test]
    fn a_frozen_blue_green_neither_switches_nor_scales_blue_down_until_resumed() {
        let s = SimTime::from_secs;
        let mut b = bg(0, 120);
        let mut out = vec![];
        b.on_event(s(0), Observation::Start, &mut out);
        b.on_event(s(10), Observation::Freeze, &mut out);
        b.on_event(s(40), ready(VersionId::Candidate, 4), &mut out);
        assert_eq!(b.next_timer(), None);
        assert!(out.iter().all(|a| !matches!(a, Action::SetWeight(_))));
        // Resumed at 500 s: green was ready, so the switch is decided now (+2 s).
        b.on_event(s(500), Observation::Resume, &mut out);
        assert_eq!(b.next_timer(), Some(s(502)));
        b.on_event(s(502), Observation::Timer, &mut out);
        assert_eq!(
            b.next_timer(),
            Some(s(622)),
            "post-promotion analysis until 622 s, blue up meanwhile"
        );
        // Frozen again after the switch: no promotion at 622 s.
        b.on_event(s(510), Observation::Freeze, &mut out);
        let before = out.len();
        assert_eq!(b.next_timer(), None);
        b.on_event(s(900), Observation::Resume, &mut out);
        assert_eq!(&out[before..], &[Action::StopAnalysis, Action::Promoted]);
        assert_eq!(
            b.next_timer(),
            Some(s(930)),
            "blue down 30 s after promotion"
        );
    }

    #[test]
    fn auto_promotion_delay_postpones_the_switch() {
        let s = SimTime::from_secs;
        let mut b = bg(0, 0);
        b.spec.auto_promotion_delay = s(60);
        let mut out = vec![];
        b.on_event(s(0), Observation::Start, &mut out);
        b.on_event(s(40), ready(VersionId::Candidate, 4), &mut out);
        // Ready at 40 s + 60 s auto-promotion + 2 s switch delay.
        assert_eq!(b.next_timer(), Some(s(102)));
    }
}
