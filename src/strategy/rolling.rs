//! Rolling update: replace instances in waves within `max_surge` and `max_unavailable`;
//! traffic follows ready instances; rollback is another rolling update.
//!
//! Semantics (Kubernetes Deployment controller, `concepts/workloads/controllers/deployment.md`):
//! - Of `N` instances, at most `N + surge` run and at least `N − unavailable` are ready.
//!   Whenever instances come due, the old version is scaled down to
//!   `max(0, N − unavailable − new_ready)` and the new one up to what the surge allows.
//! - A new instance is ready `startup + period + min_ready` after it starts (start-up, one
//!   successful readiness probe, `minReadySeconds`), so with `unavailable = 0` the rollout
//!   completes at `⌈N / surge⌉ × (startup + period + min_ready)`.
//! - Traffic is spread over ready instances (a Service), so new instances take traffic as
//!   they become ready. Instances of a crash-looping version never become ready: the
//!   rollout stalls, and is flagged `progress_deadline` after its last progress (600 s as
//!   Kubernetes) unless analysis catches it first.
//! - A freeze (roll-forward) pauses the update as `paused: true` does: no new wave and no
//!   progress-deadline check; readiness is still observed. On resume the controller
//!   reconciles at once and the deadline counts again from the resume.
//! - Once flagged, the deadline is not checked again until the rollout progresses or resumes.
//! - Rollback (`kubectl rollout undo`) runs the same procedure with the roles swapped: the
//!   old version's instances start again, wave by wave, while the new one keeps serving.

use super::{Action, Observation, ResponseSpec, Strategy};
use crate::engine::SimTime;
use crate::model::{FleetSpec, VersionId};

/// A rolling update's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct RollingSpec {
    /// Instances above the desired count during the update (absolute).
    pub max_surge: u32,
    /// Instances below the desired count during the update (absolute).
    pub max_unavailable: u32,
    /// Readiness probe period: a started instance is ready one period after start-up.
    pub period: SimTime,
    /// Time a ready instance must stay ready to count as available (`minReadySeconds`).
    pub min_ready: SimTime,
    /// No progress for this long flags the rollout as failed.
    pub progress_deadline: SimTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    RollingOut,
    Promoted,
    /// Rollback decided; the undo starts at `rollback_at`.
    RollbackDue,
    RollingBack,
    RolledBack,
}

/// The rolling-update state machine.
#[derive(Debug, Clone)]
pub struct Rolling {
    spec: RollingSpec,
    desired: u32,
    ready_after: SimTime,
    phase: Phase,
    /// Instances requested, and ready as last observed, per version.
    running: [u32; 2],
    ready: [u32; 2],
    last_progress: SimTime,
    /// The progress deadline was flagged since the last progress.
    flagged: bool,
    /// Paused by a roll-forward until resumed.
    frozen: bool,
    rollback_delay: SimTime,
    rollback_at: SimTime,
}

impl Rolling {
    /// A rolling update of `fleet.instances` instances.
    pub fn new(spec: RollingSpec, fleet: &FleetSpec, response: &ResponseSpec) -> Rolling {
        let n = fleet.instances;
        Rolling {
            ready_after: fleet
                .startup
                .saturating_add(spec.period)
                .saturating_add(spec.min_ready),
            spec,
            desired: n,
            phase: Phase::RollingOut,
            running: [n, 0],
            ready: [n, 0],
            last_progress: SimTime::ZERO,
            flagged: false,
            frozen: false,
            rollback_delay: response.rollback_delay,
            rollback_at: SimTime::ZERO,
        }
    }

    /// The version being rolled out now and the one being replaced.
    fn roles(&self) -> (VersionId, VersionId) {
        match self.phase {
            Phase::RollingBack | Phase::RolledBack => (VersionId::Stable, VersionId::Candidate),
            _ => (VersionId::Candidate, VersionId::Stable),
        }
    }

    /// One reconciliation, as the Deployment controller does on every change.
    fn reconcile(&mut self, out: &mut Vec<Action>) {
        let (new, old) = self.roles();
        let (n, s, u) = (self.desired, self.spec.max_surge, self.spec.max_unavailable);
        let old_target = n
            .saturating_sub(u)
            .saturating_sub(self.ready[new.index()])
            .min(self.running[old.index()]);
        if old_target < self.running[old.index()] {
            self.running[old.index()] = old_target;
            self.ready[old.index()] = self.ready[old.index()].min(old_target);
            out.push(Action::scale_now(old, old_target));
        }
        let total = self.running[0] + self.running[1];
        let new_target = n.min(self.running[new.index()] + (n + s).saturating_sub(total));
        if new_target > self.running[new.index()] {
            self.running[new.index()] = new_target;
            out.push(Action::Scale {
                version: new,
                instances: new_target,
                ready_after: self.ready_after,
            });
        }
        if self.ready[new.index()] >= n && self.running[old.index()] == 0 {
            match self.phase {
                Phase::RollingOut => {
                    self.phase = Phase::Promoted;
                    out.extend([Action::StopAnalysis, Action::Promoted]);
                }
                Phase::RollingBack => {
                    self.phase = Phase::RolledBack;
                    out.push(Action::RolledBack);
                }
                _ => {}
            }
        }
    }
}

impl Strategy for Rolling {
    fn on_event(&mut self, now: SimTime, obs: Observation, out: &mut Vec<Action>) {
        match (obs, self.phase) {
            (Observation::Start, Phase::RollingOut) => {
                self.last_progress = now;
                out.push(Action::StartAnalysis);
                self.reconcile(out);
            }
            (
                Observation::Ready { version, ready },
                Phase::RollingOut | Phase::RollingBack | Phase::RollbackDue,
            ) => {
                if ready > self.ready[version.index()] {
                    self.last_progress = now;
                    self.flagged = false;
                }
                self.ready[version.index()] = ready;
                if self.phase != Phase::RollbackDue && !self.frozen {
                    self.reconcile(out);
                }
            }
            (Observation::Timer, Phase::RollingOut)
                if !self.frozen
                    && !self.flagged
                    && now
                        >= self
                            .last_progress
                            .saturating_add(self.spec.progress_deadline) =>
            {
                self.flagged = true;
                out.push(Action::Fail);
            }
            (Observation::Freeze, Phase::RollingOut) => self.frozen = true,
            (Observation::Resume, Phase::RollingOut) if self.frozen => {
                self.frozen = false;
                self.flagged = false;
                self.last_progress = now;
                self.reconcile(out);
            }
            (Observation::Abort, Phase::RollingOut | Phase::Promoted) => {
                if self.phase == Phase::RollingOut {
                    out.push(Action::StopAnalysis);
                }
                self.phase = Phase::RollbackDue;
                self.rollback_at = now.saturating_add(self.rollback_delay);
            }
            (Observation::Timer, Phase::RollbackDue) if now >= self.rollback_at => {
                // `kubectl rollout undo`: the same procedure, roles swapped.
                self.phase = Phase::RollingBack;
                self.last_progress = now;
                self.reconcile(out);
            }
            _ => {}
        }
    }

    fn next_timer(&self) -> Option<SimTime> {
        match self.phase {
            Phase::RollingOut if self.frozen || self.flagged => None,
            Phase::RollingOut => Some(
                self.last_progress
                    .saturating_add(self.spec.progress_deadline),
            ),
            Phase::RollbackDue => Some(self.rollback_at),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rolling(n: u32, surge: u32, unavailable: u32) -> Rolling {
        let s = SimTime::from_secs;
        Rolling::new(
            RollingSpec {
                max_surge: surge,
                max_unavailable: unavailable,
                period: s(10),
                min_ready: SimTime::ZERO,
                progress_deadline: s(600),
            },
            &FleetSpec {
                instances: n,
                capacity_rps: None,
                startup: s(30),
            },
            &ResponseSpec {
                rollback_delay: SimTime::ZERO,
                verify: SimTime::ZERO,
            },
        )
    }

    /// Answers every scale-up with its readiness (instances of the candidate never become
    /// ready when `blocked`), until the strategy stops asking.
    fn drive(r: &mut Rolling, blocked: bool) -> Vec<Action> {
        let mut out = vec![];
        r.on_event(SimTime::ZERO, Observation::Start, &mut out);
        let (mut seen, mut due, mut ready) = (0, std::collections::VecDeque::new(), [r.desired, 0]);
        loop {
            for a in &out[seen..] {
                if let Action::Scale {
                    version,
                    instances,
                    ready_after,
                } = *a
                {
                    if ready_after > SimTime::ZERO {
                        due.push_back((version, instances));
                    } else {
                        ready[version.index()] = ready[version.index()].min(instances);
                    }
                }
            }
            seen = out.len();
            let Some((v, n)) = due.pop_front() else {
                return out;
            };
            if !(blocked && v == VersionId::Candidate) {
                ready[v.index()] = n;
            }
            r.on_event(
                SimTime::ZERO,
                Observation::Ready {
                    version: v,
                    ready: ready[v.index()],
                },
                &mut out,
            );
        }
    }

    fn scales(out: &[Action], v: VersionId) -> Vec<u32> {
        out.iter()
            .filter_map(|a| match a {
                Action::Scale {
                    version, instances, ..
                } if *version == v => Some(*instances),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn surge_one_replaces_one_instance_per_wave() {
        let mut r = rolling(4, 1, 0);
        let out = drive(&mut r, false);
        assert_eq!(scales(&out, VersionId::Candidate), [1, 2, 3, 4]);
        assert_eq!(scales(&out, VersionId::Stable), [3, 2, 1, 0]);
        assert_eq!(out.last(), Some(&Action::Promoted));
    }

    #[test]
    fn unavailable_budget_doubles_the_wave() {
        let mut r = rolling(4, 1, 1);
        let out = drive(&mut r, false);
        assert_eq!(scales(&out, VersionId::Candidate), [2, 4]);
        assert_eq!(scales(&out, VersionId::Stable), [3, 1, 0]);
    }

    #[test]
    fn a_crash_loop_stalls_until_the_deadline_then_rolls_back() {
        let mut r = rolling(4, 1, 0);
        let mut out = drive(&mut r, true);
        assert_eq!(
            scales(&out, VersionId::Candidate),
            [1],
            "stalled after the first surge"
        );
        assert_eq!(r.next_timer(), Some(SimTime::from_secs(600)));
        r.on_event(SimTime::from_secs(600), Observation::Timer, &mut out);
        assert_eq!(out.last(), Some(&Action::Fail));
        r.on_event(SimTime::from_secs(600), Observation::Abort, &mut out);
        assert_eq!(
            r.next_timer(),
            Some(SimTime::from_secs(600)),
            "no rollback delay"
        );
        r.on_event(SimTime::from_secs(600), Observation::Timer, &mut out);
        // The stable is still fully ready: the unready candidate goes at once.
        assert_eq!(scales(&out, VersionId::Candidate), [1, 0]);
        assert_eq!(out.last(), Some(&Action::RolledBack));
    }

    #[test]
    fn a_frozen_rolling_update_starts_no_wave_and_restarts_its_deadline_on_resume() {
        let s = SimTime::from_secs;
        let mut r = rolling(4, 1, 0);
        let mut out = vec![];
        r.on_event(s(0), Observation::Start, &mut out);
        r.on_event(s(10), Observation::Freeze, &mut out);
        assert_eq!(r.next_timer(), None, "no deadline while paused");
        let before = out.len();
        r.on_event(
            s(40),
            Observation::Ready {
                version: VersionId::Candidate,
                ready: 1,
            },
            &mut out,
        );
        assert_eq!(out.len(), before, "no wave while paused");
        r.on_event(s(100), Observation::Resume, &mut out);
        assert_eq!(
            &out[before..],
            &[
                Action::scale_now(VersionId::Stable, 3),
                Action::Scale {
                    version: VersionId::Candidate,
                    instances: 2,
                    ready_after: s(40)
                }
            ]
        );
        assert_eq!(
            r.next_timer(),
            Some(s(700)),
            "the deadline counts from the resume"
        );
    }

    #[test]
    fn a_stalled_update_is_flagged_once() {
        let s = SimTime::from_secs;
        let mut r = rolling(4, 1, 0);
        let mut out = vec![];
        r.on_event(s(0), Observation::Start, &mut out);
        r.on_event(s(600), Observation::Timer, &mut out);
        assert_eq!(out.last(), Some(&Action::Fail));
        assert_eq!(r.next_timer(), None);
    }
}
