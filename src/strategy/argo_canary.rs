//! Argo Rollouts' canary with traffic routing, step by step as its controller runs it
//! (argoproj/argo-rollouts `rollout/canary.go`, `rollout/trafficrouting.go`,
//! `rollout/analysis.go`).
//!
//! Semantics:
//! - `set_weight = w` scales the canary to `⌈w × N / 100⌉` instances (`trafficWeightToReplicas`);
//!   the weight applies, and the step completes, once that many are ready
//!   (`completedCurrentCanaryStep`; until then the previous weight holds). With
//!   `dynamic_stable_scale` the stable then scales down to `⌈(100 − w) × N / 100⌉`.
//! - `pause = "10m"` waits that long from when it is reached; `pause = {}` waits for a human,
//!   who promotes after a delay drawn from `promotion_delay` (without it, forever).
//! - An `analysis` step starts an AnalysisRun of its templates and blocks the steps until it
//!   is Successful; Failed or Error aborts; Inconclusive pauses for a human, whose promotion
//!   moves past the step.
//! - The background analysis starts when the step index reaches `starting_step` (at once
//!   for 0) and runs until the rollout completes. A failed measurement does not hold the
//!   steps: only the run's end acts (`reconcileBackgroundAnalysisRun`): Failed or Error
//!   aborts, Inconclusive pauses the steps until a human promotes, and a new run starts.
//! - After the last step the desired weight is 100: the canary scales to N and, once ready,
//!   takes all traffic (`rollout_s`); the old stable scales to 0 `scale_down_delay` later
//!   (cost only).
//! - Waiting for instances longer than `progress_deadline` marks the rollout Degraded
//!   (`degraded_s`), and it keeps waiting; with `progress_deadline_abort` it aborts
//!   (`detected_by = progress_deadline`, `rollout/sync.go` evaluateProgressDeadlineAbort).
//! - An abort stops every run; `rollback_delay` later the weight returns to 0 if the stable is
//!   fully scaled, else the stable starts first (`dynamic_stable_scale`, or after the old
//!   stable was scaled down) and traffic returns once it is ready. The canary scales to 0
//!   `abort_scale_down_delay` after traffic left it (cost only).
//! - A freeze (roll-forward) stops the runs and holds the steps (timed pauses keep counting);
//!   on resume the runs start again and the steps continue.

use super::{Action, Observation, ResponseSpec, Strategy};
use crate::detect::{RunMetric, RunPhase};
use crate::engine::{LogNormalDelay, SimTime};
use crate::model::{FleetSpec, VersionId};

/// One entry of Argo's `steps` list.
#[derive(Debug, Clone, PartialEq)]
pub enum ArgoStep {
    /// `setWeight`, percent.
    SetWeight(f64),
    /// `pause: {duration}`.
    Pause(SimTime),
    /// `pause: {}`: until a human promotes.
    PauseIndefinite,
    /// An inline `analysis` step: run `runs[i]` of the strategy until it ends.
    Analysis(usize),
}

/// An analysis run's templates and their metrics, merged.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// The templates' names, for reports.
    pub templates: Vec<String>,
    /// Every metric of those templates.
    pub metrics: Vec<RunMetric>,
}

/// `analysis` (background): run `runs[run]` from step `starting_step` on.
#[derive(Debug, Clone, PartialEq)]
pub struct Background {
    /// Index into [`ArgoCanarySpec::runs`].
    pub run: usize,
    /// Step index at which the run starts (`startingStep`).
    pub starting_step: usize,
}

/// An Argo canary's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgoCanarySpec {
    /// The steps, in order.
    pub steps: Vec<ArgoStep>,
    /// The background analysis, if any.
    pub background: Option<Background>,
    /// The analysis runs the steps and the background refer to.
    pub runs: Vec<RunSpec>,
    /// Scale the stable down as the canary's weight grows (`dynamicStableScale`).
    pub dynamic_stable_scale: bool,
    /// After an abort, the canary stays up this long (`abortScaleDownDelaySeconds`).
    pub abort_scale_down_delay: SimTime,
    /// After promotion, the old stable stays up this long (`scaleDownDelaySeconds`).
    pub scale_down_delay: SimTime,
    /// Waiting longer than this for instances marks the rollout Degraded.
    pub progress_deadline: SimTime,
    /// At the progress deadline abort instead (`progressDeadlineAbort`).
    pub progress_deadline_abort: bool,
    /// How long a human takes to promote a paused rollout (`None`: never).
    pub promotion_delay: Option<LogNormalDelay>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Wait {
    /// Waiting for `needed` ready canary instances before `weight` applies (100 %: promotion).
    Ready {
        weight: f64,
        needed: u32,
    },
    Pause {
        until: SimTime,
    },
    /// Waiting for a human to promote.
    Human,
    /// Waiting for run `i` to end.
    Run(usize),
    /// The step is done but the steps are held (a freeze or an inconclusive background run).
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Idle,
    Stepping,
    Promoted,
    RollbackDue { at: SimTime },
    WaitingForStable,
    RolledBack,
}

/// The Argo canary state machine.
#[derive(Debug, Clone)]
pub struct ArgoCanary {
    spec: ArgoCanarySpec,
    instances: u32,
    startup: SimTime,
    rollback_delay: SimTime,
    phase: Phase,
    index: usize,
    wait: Wait,
    /// Instances asked of each version, and the candidate's ready ones.
    canary_wanted: u32,
    stable_wanted: u32,
    ready: u32,
    /// When the current wait for instances is past its progress deadline.
    deadline: Option<SimTime>,
    background_started: bool,
    /// Runs in progress.
    active: Vec<usize>,
    /// Runs stopped by a freeze, started again on resume.
    suspended: Vec<usize>,
    /// The steps are held by an inconclusive background run until a human promotes.
    held: bool,
    awaiting_human: bool,
    frozen: bool,
    /// Cost-only scale-downs: the old stable after promotion, the canary after an abort.
    stable_down_at: Option<SimTime>,
    canary_down_at: Option<SimTime>,
}

impl ArgoCanary {
    /// An Argo canary over a fleet of `fleet.instances`.
    pub fn new(spec: ArgoCanarySpec, fleet: &FleetSpec, response: &ResponseSpec) -> ArgoCanary {
        ArgoCanary {
            spec,
            instances: fleet.instances,
            startup: fleet.startup,
            rollback_delay: response.rollback_delay,
            phase: Phase::Idle,
            index: 0,
            wait: Wait::Done,
            canary_wanted: 0,
            stable_wanted: fleet.instances,
            ready: 0,
            deadline: None,
            background_started: false,
            active: Vec::new(),
            suspended: Vec::new(),
            held: false,
            awaiting_human: false,
            frozen: false,
            stable_down_at: None,
            canary_down_at: None,
        }
    }

    /// Canary instances for `weight` percent: `⌈w × N / 100⌉` (`trafficWeightToReplicas`).
    fn replicas(&self, weight: f64) -> u32 {
        (weight / 100.0 * f64::from(self.instances)).ceil() as u32
    }

    fn start_run(&mut self, run: usize, out: &mut Vec<Action>) {
        self.active.push(run);
        out.push(Action::StartRun(run));
    }

    fn stop_runs(&mut self, out: &mut Vec<Action>) -> Vec<usize> {
        let stopped = std::mem::take(&mut self.active);
        out.extend(stopped.iter().map(|&r| Action::StopRun(r)));
        stopped
    }

    fn await_human(&mut self, out: &mut Vec<Action>) {
        if let Some(delay) = self.spec.promotion_delay
            && !self.awaiting_human
        {
            self.awaiting_human = true;
            out.push(Action::AwaitPromotion(delay));
        }
    }

    /// Sets up the wait of step `self.index`, completing the steps that need no wait.
    fn enter(&mut self, now: SimTime, out: &mut Vec<Action>) {
        loop {
            if let Some(bg) = &self.spec.background
                && !self.background_started
                && self.index >= bg.starting_step
            {
                self.background_started = true;
                self.start_run(bg.run, out);
            }
            let Some(step) = self.spec.steps.get(self.index).cloned() else {
                // After the last step the desired weight is 100: a full canary, then promotion.
                if self.ready >= self.instances {
                    return self.promote(now, out);
                }
                return self.wait_for(now, 100.0, self.instances, out);
            };
            match step {
                ArgoStep::SetWeight(w) => {
                    let needed = self.replicas(w);
                    if self.ready < needed {
                        return self.wait_for(now, w, needed, out);
                    }
                    self.scale_canary(needed, out);
                    self.apply_weight(w, out);
                }
                ArgoStep::Pause(d) if d > SimTime::ZERO => {
                    self.wait = Wait::Pause {
                        until: now.saturating_add(d),
                    };
                    return;
                }
                ArgoStep::Pause(_) => {}
                ArgoStep::PauseIndefinite => {
                    self.wait = Wait::Human;
                    return self.await_human(out);
                }
                ArgoStep::Analysis(run) => {
                    self.wait = Wait::Run(run);
                    return self.start_run(run, out);
                }
            }
            self.index += 1;
        }
    }

    fn scale_canary(&mut self, instances: u32, out: &mut Vec<Action>) {
        if instances != self.canary_wanted {
            self.canary_wanted = instances;
            out.push(Action::Scale {
                version: VersionId::Candidate,
                instances,
                ready_after: self.startup,
            });
        }
    }

    fn wait_for(&mut self, now: SimTime, weight: f64, needed: u32, out: &mut Vec<Action>) {
        self.scale_canary(needed, out);
        self.wait = Wait::Ready { weight, needed };
        self.deadline = Some(now.saturating_add(self.spec.progress_deadline));
    }

    fn apply_weight(&mut self, weight: f64, out: &mut Vec<Action>) {
        out.push(Action::SetWeight(weight));
        if self.spec.dynamic_stable_scale {
            let stable = self.replicas(100.0 - weight);
            if stable < self.stable_wanted {
                self.stable_wanted = stable;
                out.push(Action::scale_now(VersionId::Stable, stable));
            }
        }
    }

    /// The current step's wait is over: a weight waiting for instances applies (a paused
    /// rollout still routes its current step's weight), then the next step, unless the steps
    /// are held.
    fn complete_step(&mut self, now: SimTime, out: &mut Vec<Action>) {
        self.deadline = None;
        if let Wait::Ready { weight, .. } = self.wait
            && self.index < self.spec.steps.len()
        {
            self.apply_weight(weight, out);
        }
        if self.held || self.frozen {
            self.wait = Wait::Done;
            return;
        }
        self.advance(now, out);
    }

    /// The current step is done: the next one, or promotion after the last.
    fn advance(&mut self, now: SimTime, out: &mut Vec<Action>) {
        if self.index >= self.spec.steps.len() {
            return self.promote(now, out);
        }
        self.index += 1;
        self.enter(now, out);
    }

    fn promote(&mut self, now: SimTime, out: &mut Vec<Action>) {
        self.phase = Phase::Promoted;
        self.stop_runs(out);
        out.extend([Action::SetWeight(100.0), Action::Promoted]);
        self.stable_down_at = Some(now.saturating_add(self.spec.scale_down_delay));
    }

    fn on_ready(&mut self, now: SimTime, version: VersionId, ready: u32, out: &mut Vec<Action>) {
        match (version, self.phase) {
            (VersionId::Candidate, _) => {
                self.ready = ready;
                if let (Phase::Stepping, Wait::Ready { needed, .. }) = (self.phase, self.wait)
                    && ready >= needed
                {
                    self.complete_step(now, out);
                }
            }
            (VersionId::Stable, Phase::WaitingForStable) if ready >= self.instances => {
                self.shift_back(now, out)
            }
            _ => {}
        }
    }

    fn on_run_ended(&mut self, now: SimTime, run: usize, phase: RunPhase, out: &mut Vec<Action>) {
        self.active.retain(|&r| r != run);
        let background = self.spec.background.as_ref().is_some_and(|b| b.run == run);
        match (phase, self.wait) {
            (RunPhase::Successful, Wait::Run(r)) if r == run => self.complete_step(now, out),
            (RunPhase::Inconclusive, Wait::Run(r)) if r == run => {
                self.wait = Wait::Human;
                self.await_human(out);
            }
            (RunPhase::Inconclusive, _) if background => {
                self.held = true;
                self.await_human(out);
            }
            _ => {}
        }
    }

    /// A human promoted: holds lift, an inconclusive background analysis starts anew, and a
    /// step waiting for the human completes.
    fn on_promote(&mut self, now: SimTime, out: &mut Vec<Action>) {
        self.awaiting_human = false;
        if std::mem::take(&mut self.held)
            && let Some(bg) = &self.spec.background
        {
            let run = bg.run;
            self.start_run(run, out);
        }
        if matches!(self.wait, Wait::Human | Wait::Done) {
            self.complete_done(now, out);
        }
    }

    /// Completes a step whose wait ended while the steps were held.
    fn complete_done(&mut self, now: SimTime, out: &mut Vec<Action>) {
        if self.held || self.frozen {
            return;
        }
        match self.wait {
            Wait::Human => self.complete_step(now, out),
            Wait::Done => self.advance(now, out),
            _ => {}
        }
    }

    fn on_timer(&mut self, now: SimTime, out: &mut Vec<Action>) {
        if self.stable_down_at.is_some_and(|t| t <= now) {
            self.stable_down_at = None;
            self.stable_wanted = 0;
            out.push(Action::scale_now(VersionId::Stable, 0));
        }
        if self.canary_down_at.is_some_and(|t| t <= now) {
            self.canary_down_at = None;
            out.push(Action::scale_now(VersionId::Candidate, 0));
        }
        match (self.phase, self.wait) {
            (Phase::RollbackDue { at }, _) if at <= now => self.roll_back(now, out),
            (Phase::Stepping, Wait::Pause { until }) if until <= now => {
                self.complete_step(now, out)
            }
            (Phase::Stepping, Wait::Ready { .. }) if self.deadline.is_some_and(|t| t <= now) => {
                self.deadline = None;
                out.push(if self.spec.progress_deadline_abort {
                    Action::Fail
                } else {
                    Action::Degraded
                });
            }
            _ => {}
        }
    }

    /// The rollback executes: traffic returns at once if the stable is fully scaled, else
    /// once it has started again.
    fn roll_back(&mut self, now: SimTime, out: &mut Vec<Action>) {
        if self.stable_wanted >= self.instances {
            self.stable_down_at = None;
            return self.shift_back(now, out);
        }
        self.phase = Phase::WaitingForStable;
        self.stable_down_at = None;
        self.stable_wanted = self.instances;
        out.push(Action::Scale {
            version: VersionId::Stable,
            instances: self.instances,
            ready_after: self.startup,
        });
    }

    fn shift_back(&mut self, now: SimTime, out: &mut Vec<Action>) {
        self.phase = Phase::RolledBack;
        out.extend([Action::SetWeight(0.0), Action::RolledBack]);
        self.canary_down_at = Some(now.saturating_add(self.spec.abort_scale_down_delay));
    }

    fn rolling_back(&self) -> bool {
        matches!(
            self.phase,
            Phase::RollbackDue { .. } | Phase::WaitingForStable | Phase::RolledBack
        )
    }
}

impl Strategy for ArgoCanary {
    fn on_event(&mut self, now: SimTime, obs: Observation, out: &mut Vec<Action>) {
        match obs {
            Observation::Start if self.phase == Phase::Idle => {
                self.phase = Phase::Stepping;
                self.enter(now, out);
            }
            Observation::Timer => self.on_timer(now, out),
            Observation::Ready { version, ready } => self.on_ready(now, version, ready, out),
            Observation::RunEnded { run, phase } if self.phase == Phase::Stepping => {
                self.on_run_ended(now, run, phase, out)
            }
            Observation::Promote if self.phase == Phase::Stepping => self.on_promote(now, out),
            Observation::Abort if !self.rolling_back() => {
                self.stop_runs(out);
                self.frozen = false;
                self.phase = Phase::RollbackDue {
                    at: now.saturating_add(self.rollback_delay),
                };
            }
            Observation::Freeze if self.phase == Phase::Stepping => {
                self.frozen = true;
                self.suspended = self.stop_runs(out);
            }
            Observation::Resume if self.frozen => {
                self.frozen = false;
                for run in std::mem::take(&mut self.suspended) {
                    self.start_run(run, out);
                }
                self.complete_done(now, out);
            }
            _ => {}
        }
    }

    fn next_timer(&self) -> Option<SimTime> {
        let step = match (self.phase, self.wait) {
            (Phase::RollbackDue { at }, _) => Some(at),
            (Phase::Stepping, Wait::Pause { until }) => Some(until),
            (Phase::Stepping, Wait::Ready { .. }) => self.deadline,
            _ => None,
        };
        [step, self.stable_down_at, self.canary_down_at]
            .into_iter()
            .flatten()
            .min()
    }
}
