//! One run: a scenario's world, one strategy and the detectors, wired to the engine.
//!
//! This is the only place that knows all the parts. It turns strategy actions into world
//! changes, analysis ticks into verdicts, detections into rollback decisions, and at the end
//! reads the measurements into a [`RunOutcome`].

use crate::detect::{Analysis, Verdict};
use crate::engine::{self, EngineError, Limits, Phase, Process, RngStreams, Scheduler, SimTime};
use crate::model::{DataPolicy, FaultKind, Target, VersionId, World};
use crate::outcome::{
    self, Detector, Marker, Response, RunLog, RunOutcome, Sample, Timeline, VersionSample,
};
use crate::scenario::Scenario;
use crate::strategy::{Action, Observation, Strategy};

/// World changes (fault boundaries, load re-evaluation) come first at an instant…
const WORLD: Phase = 0;
/// …then observations (checks, human detection)…
const OBSERVE: Phase = 1;
/// …then strategy decisions: a check and a step change at the same instant, the check first.
const DECIDE: Phase = 2;

/// Period of load re-evaluation when the offered rate varies continuously (diurnal traffic).
const LOAD_TICK: SimTime = SimTime::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Start,
    /// A fault or burst boundary, or a periodic load tick (`true`): re-evaluate the world.
    Refresh {
        periodic: bool,
    },
    /// An analysis check of generation `gen` (stale generations are ignored).
    Check {
        generation: u64,
    },
    ManualDetection,
    /// The strategy's timer of generation `gen`.
    Timer {
        generation: u64,
    },
    /// End of a timeline sampling step.
    Sample,
    /// Instances of a version come due for readiness.
    Ready(VersionId),
    /// Migration `i` of the plan starts (its lock begins) or ends (the schema changes).
    MigrationStart(usize),
    MigrationEnd(usize),
    /// The down migration of migration `i` ends.
    DownEnd(usize),
    /// A backup restore ends.
    RestoreEnd,
    /// A roll-forward hotfix lands.
    Hotfix,
}

struct Replay<'s> {
    scenario: &'s Scenario,
    world: World<'s>,
    strategy: Box<dyn Strategy>,
    analysis: Option<Analysis>,
    analysis_generation: u64,
    analysing: bool,
    timer_generation: u64,
    armed: Option<SimTime>,
    manual_delay: Option<SimTime>,
    onset_seen: bool,
    actions: Vec<Action>,
    detected: Option<(SimTime, Detector)>,
    false_rollback: bool,
    rollout: Option<SimTime>,
    timeline: Option<Timeline>,
    /// The roll-forward delay, drawn once per replication (shared by strategies).
    hotfix_delay: Option<SimTime>,
    response: Option<Response>,
    /// Migrations not started yet are cancelled by a rollback.
    plan_cancelled: bool,
    /// Analysis paused by a roll-forward, to resume when the hotfix lands.
    resume_analysis: bool,
}

/// Runs strategy `strategy` of `scenario` for replication `replication`.
pub fn replay(
    scenario: &Scenario,
    strategy: usize,
    replication: u32,
) -> Result<RunOutcome, EngineError> {
    run(scenario, strategy, replication, None).map(|(outcome, _)| outcome)
}

/// The same run as [`replay`], instrumented: also returns its timeline sampled every `step`.
/// The outcome is identical to `replay`'s (instrumentation draws no random number).
pub fn replay_with_timeline(
    scenario: &Scenario,
    strategy: usize,
    replication: u32,
    step: SimTime,
) -> Result<(RunOutcome, Timeline), EngineError> {
    let (outcome, timeline) = run(scenario, strategy, replication, Some(step.max(SimTime(1))))?;
    Ok((
        outcome,
        timeline.unwrap_or_else(|| unreachable!("a timeline was requested")),
    ))
}

fn run(
    scenario: &Scenario,
    strategy: usize,
    replication: u32,
    timeline_step: Option<SimTime>,
) -> Result<(RunOutcome, Option<Timeline>), EngineError> {
    let spec = &scenario.strategies[strategy];
    let streams = RngStreams::new(scenario.seed, u64::from(replication));
    let record_latency = spec.analysis.as_ref().is_some_and(|a| a.needs_latency());
    let mut world = World::new(
        &scenario.service,
        &streams,
        &spec.routing(),
        record_latency,
        scenario.horizon,
    );
    if timeline_step.is_some() {
        world.record_timeline();
    }
    // Drawn whatever the strategy, so every strategy of a replication meets the same human.
    let manual_delay = scenario
        .manual
        .as_ref()
        .map(|m| m.draw(&mut streams.named(crate::detect::manual::STREAM)));
    let database = scenario.service.database.as_ref();
    let hotfix_delay = database
        .and_then(|d| d.policy.hotfix_delay())
        .map(|d| d.draw(&mut streams.named(crate::model::streams::HOTFIX)));
    // A write block holds traffic on the candidate until in-flight requests have drained.
    let mut response = scenario.response.clone();
    if let Some(drain) = database.and_then(|d| d.write_block) {
        response.rollback_delay = response.rollback_delay.max(drain);
    }
    let mut run = Replay {
        scenario,
        world,
        strategy: spec.build(&scenario.service.fleet, &response),
        analysis: spec.analysis.clone().map(Analysis::new),
        analysis_generation: 0,
        analysing: false,
        timer_generation: 0,
        armed: None,
        manual_delay,
        onset_seen: false,
        actions: Vec::new(),
        detected: None,
        false_rollback: false,
        rollout: None,
        timeline: timeline_step.map(|step| Timeline {
            step,
            samples: Vec::new(),
            markers: Vec::new(),
        }),
        hotfix_delay,
        response: None,
        plan_cancelled: false,
        resume_analysis: false,
    };

    let mut sched = Scheduler::default();
    // Migrations marked `with_rollout` run one after another from 0; the rollout waits for them.
    let mut rollout_start = SimTime::ZERO;
    for (i, m) in database
        .map_or(&[][..], |d| &d.migrations)
        .iter()
        .enumerate()
    {
        let start = if m.with_rollout {
            rollout_start
        } else {
            m.start
        };
        if m.with_rollout {
            rollout_start = start.saturating_add(m.duration);
        }
        sched.at(start, WORLD, Event::MigrationStart(i));
        sched.at(
            start.saturating_add(m.duration),
            WORLD,
            Event::MigrationEnd(i),
        );
    }
    sched.at(rollout_start, DECIDE, Event::Start);
    let service = &scenario.service;
    let boundaries = service
        .faults
        .iter()
        .flat_map(|f| f.boundaries(service.fleet.startup))
        .chain(service.traffic.boundaries());
    for t in boundaries.filter(|&t| t > SimTime::ZERO && t < scenario.horizon) {
        sched.at(t, WORLD, Event::Refresh { periodic: false });
    }
    if let Some(step) = timeline_step {
        sched.at(step, OBSERVE, Event::Sample);
    }
    if service.fleet.capacity_rps.is_some() && service.traffic.diurnal.is_some() {
        sched.at(LOAD_TICK, WORLD, Event::Refresh { periodic: true });
    }
    let limits = Limits {
        horizon: scenario.horizon,
        max_events: scenario.max_events,
    };
    let max_events = limits
        .max_events
        .saturating_add(timeline_step.map_or(0, |s| scenario.horizon.micros() / s.micros()));
    engine::run(
        &mut run,
        sched,
        Limits {
            max_events,
            ..limits
        },
    )?;
    Ok(run.finish(strategy, replication))
}

impl Process for Replay<'_> {
    type Event = Event;

    fn advance(&mut self, from: SimTime, to: SimTime, sched: &mut Scheduler<Event>) -> SimTime {
        let reached = self.world.advance(from, to);
        if let (false, Some(onset)) = (self.onset_seen, self.world.recorder.onset) {
            self.onset_seen = true;
            if let Some(delay) = self.manual_delay {
                sched.at(onset.saturating_add(delay), OBSERVE, Event::ManualDetection);
            }
        }
        reached
    }

    fn handle(&mut self, now: SimTime, event: Event, sched: &mut Scheduler<Event>) {
        match event {
            Event::Start => self.tell(now, Observation::Start, sched),
            Event::Refresh { periodic } => {
                self.world.refresh(now);
                if periodic {
                    sched.at(now.saturating_add(LOAD_TICK), WORLD, event);
                }
            }
            Event::Check { generation }
                if self.analysing && generation == self.analysis_generation =>
            {
                self.check(now, sched)
            }
            Event::ManualDetection => self.declare(now, Detector::Manual, sched),
            Event::Timer { generation } if generation == self.timer_generation => {
                self.armed = None;
                self.tell(now, Observation::Timer, sched);
            }
            Event::Sample => self.sample(now, sched),
            Event::MigrationStart(i) if !self.plan_cancelled => {
                let planned = self
                    .scenario
                    .service
                    .database
                    .as_ref()
                    .map_or(SimTime::ZERO, |d| d.migrations[i].lock);
                let lock = self
                    .scenario
                    .service
                    .faults
                    .iter()
                    .filter_map(|f| match f.kind {
                        FaultKind::MigrationLock { migration, lock } if migration == i => {
                            Some(lock)
                        }
                        _ => None,
                    })
                    .fold(planned, SimTime::max);
                if let Some(db) = self.world.database_mut() {
                    db.start_migration(now, i, lock);
                }
                if lock > SimTime::ZERO {
                    sched.at(
                        now.saturating_add(lock),
                        WORLD,
                        Event::Refresh { periodic: false },
                    );
                }
                self.world.refresh(now);
            }
            Event::MigrationEnd(i) if !self.plan_cancelled || self.migration_started(i) => {
                let broken = self.broken_by(i);
                if let Some(db) = self.world.database_mut() {
                    db.end_migration(now, i);
                    for v in broken {
                        db.set_incompatible(v, true);
                    }
                }
                self.world.refresh(now);
            }
            Event::MigrationStart(_) | Event::MigrationEnd(_) => {}
            Event::DownEnd(i) => {
                let broken = self.broken_by(i);
                if let Some(db) = self.world.database_mut() {
                    db.end_down_migration(now, i);
                    for v in broken {
                        db.set_incompatible(v, false);
                    }
                }
                self.world.refresh(now);
                self.next_down_migration(now, sched);
            }
            Event::RestoreEnd => {
                if let Some(db) = self.world.database_mut() {
                    db.end_restore();
                    for v in VersionId::ALL {
                        db.set_incompatible(v, false);
                    }
                }
                self.world.refresh(now);
            }
            Event::Hotfix => {
                // The fix also makes the candidate work with the schema.
                if let Some(db) = self.world.database_mut() {
                    db.set_incompatible(VersionId::Candidate, false);
                }
                self.world.fix_candidate(now);
                if std::mem::take(&mut self.resume_analysis) {
                    self.apply(now, Action::StartAnalysis, sched);
                }
            }
            Event::Ready(version) => {
                self.world.promote_due(now, version);
                let ready = self.world.ready(version);
                self.tell(now, Observation::Ready { version, ready }, sched);
            }
            Event::Check { .. } | Event::Timer { .. } => {}
        }
    }
}

impl Replay<'_> {
    /// The versions a `schema_incompatibility` fault breaks once migration `i` has run.
    fn broken_by(&self, i: usize) -> Vec<VersionId> {
        self.scenario
            .service
            .faults
            .iter()
            .filter_map(|f| match (&f.kind, f.target) {
                (FaultKind::SchemaIncompatibility { migration }, Target::Version(v))
                    if *migration == i =>
                {
                    Some(v)
                }
                _ => None,
            })
            .collect()
    }

    /// Whether migration `i` had started when the plan was cancelled (a running migration
    /// cannot be stopped: it completes).
    fn migration_started(&self, i: usize) -> bool {
        self.world.database().is_some_and(|db| db.started(i))
    }

    /// Starts the next down migration of the plan, if any.
    fn next_down_migration(&mut self, now: SimTime, sched: &mut Scheduler<Event>) {
        let Some(db) = self.world.database() else {
            return;
        };
        if let Some(&i) = db.down_plan().first() {
            let d = db.spec().migrations[i].down_duration;
            sched.at(now.saturating_add(d), WORLD, Event::DownEnd(i));
        }
    }

    fn mark(&mut self, at: SimTime, marker: Marker) {
        if let Some(t) = &mut self.timeline {
            t.markers.push((at, marker));
        }
    }

    fn sample(&mut self, now: SimTime, sched: &mut Scheduler<Event>) {
        let weight = self.world.routing().share(VersionId::Candidate) * 100.0;
        let (Some(t), Some(windows)) = (&mut self.timeline, &mut self.world.timeline_windows)
        else {
            return;
        };
        t.samples.push(Sample {
            end: now,
            candidate_weight_pct: weight,
            versions: windows.each_ref().map(VersionSample::of),
        });
        windows.iter_mut().for_each(|w| w.reset());
        sched.at(now.saturating_add(t.step), OBSERVE, Event::Sample);
    }

    fn check(&mut self, now: SimTime, sched: &mut Scheduler<Event>) {
        let Some(analysis) = self.analysis.as_mut() else {
            return;
        };
        let window = &mut self.world.windows[VersionId::Candidate.index()];
        let verdict = analysis.check(window);
        window.reset();
        let tripped = analysis.tripped();
        let interval = analysis.spec().interval;
        if verdict == Verdict::Fail {
            self.mark(now, Marker::FailedCheck);
        }
        self.tell(now, Observation::Check(verdict), sched);
        if tripped && verdict == Verdict::Fail {
            self.declare(now, Detector::Analysis, sched);
        } else if self.analysing {
            sched.at(
                now.saturating_add(interval),
                OBSERVE,
                Event::Check {
                    generation: self.analysis_generation,
                },
            );
        }
    }

    /// A detector declares failure: the first declaration is the rollback decision.
    fn declare(&mut self, now: SimTime, by: Detector, sched: &mut Scheduler<Event>) {
        if self.detected.is_some() {
            return;
        }
        self.detected = Some((now, by));
        self.mark(now, Marker::Detected);
        self.false_rollback = outcome::rollback_is_false(&self.world, now);
        let policy = self
            .scenario
            .service
            .database
            .as_ref()
            .map(|d| d.policy.clone());
        if let Some(DataPolicy::RollForward { .. }) = policy {
            // No rollback: the rollout is frozen (analysis paused, the step held) while the team
            // ships a fix; when it lands the candidate's faults end and analysis resumes.
            self.response = Some(Response::RollForward);
            self.resume_analysis = self.analysing;
            self.analysing = false;
            self.analysis_generation += 1;
            if let Some(d) = self.hotfix_delay {
                sched.at(now.saturating_add(d), WORLD, Event::Hotfix);
            }
            return;
        }
        self.response = Some(Response::Rollback);
        self.plan_cancelled = true;
        let write_block = self
            .scenario
            .service
            .database
            .as_ref()
            .is_some_and(|d| d.write_block.is_some());
        if let Some(db) = self.world.database_mut() {
            if write_block {
                db.block_writes(VersionId::Candidate, true);
            }
            if let Some(DataPolicy::Restore { restore_time }) = policy {
                db.start_restore(now, restore_time);
                sched.at(now.saturating_add(restore_time), WORLD, Event::RestoreEnd);
            }
        }
        self.world.refresh(now);
        self.tell(now, Observation::Abort, sched);
    }

    fn tell(&mut self, now: SimTime, obs: Observation, sched: &mut Scheduler<Event>) {
        let mut actions = std::mem::take(&mut self.actions);
        self.strategy.on_event(now, obs, &mut actions);
        for action in actions.drain(..) {
            self.apply(now, action, sched);
        }
        self.actions = actions;
        let next = self.strategy.next_timer();
        if next != self.armed {
            self.timer_generation += 1;
            self.armed = next;
            if let Some(t) = next {
                let generation = self.timer_generation;
                sched.at(t.max(now), DECIDE, Event::Timer { generation });
            }
        }
    }

    fn apply(&mut self, now: SimTime, action: Action, sched: &mut Scheduler<Event>) {
        match action {
            Action::SetWeight(w) => self.world.set_weight(now, w),
            Action::SetFlag(p) => self.world.set_flag(now, p),
            Action::Scale {
                version,
                instances,
                ready_after,
            } => {
                if let Some(due) = self.world.scale(now, version, instances, ready_after) {
                    sched.at(due, WORLD, Event::Ready(version));
                }
            }
            Action::Fail => self.declare(now, Detector::ProgressDeadline, sched),
            Action::StartAnalysis => {
                self.analysis_generation += 1;
                if let Some(a) = &mut self.analysis {
                    a.restart();
                    self.analysing = true;
                    self.world.windows[VersionId::Candidate.index()].reset();
                    let generation = self.analysis_generation;
                    sched.at(
                        now.saturating_add(a.spec().interval),
                        OBSERVE,
                        Event::Check { generation },
                    );
                }
            }
            Action::StopAnalysis => {
                self.analysing = false;
                self.analysis_generation += 1;
            }
            Action::Promoted => {
                self.rollout = Some(now);
                self.mark(now, Marker::Promoted);
            }
            Action::RolledBack => {
                self.mark(now, Marker::RolledBack);
                let down = matches!(
                    self.scenario.service.database.as_ref().map(|d| &d.policy),
                    Some(DataPolicy::AppAndDown)
                );
                if down && self.response == Some(Response::Rollback) {
                    self.next_down_migration(now, sched);
                }
            }
        }
    }

    fn finish(mut self, strategy: usize, replication: u32) -> (RunOutcome, Option<Timeline>) {
        let scenario = self.scenario;
        let log = RunLog {
            scenario: scenario.name.clone(),
            strategy: scenario.strategies[strategy].name.clone(),
            replication,
            seed: scenario.seed,
            detected: self.detected,
            response: self.response,
            false_at_decision: self.false_rollback,
            rollout: self.rollout,
            checks: self
                .analysis
                .as_ref()
                .map_or((0, 0, 0), |a| (a.checks, a.failed, a.inconclusive)),
            verify: scenario.response.verify,
            horizon: scenario.horizon,
        };
        let outcome = RunOutcome::conclude(&mut self.world, log);
        let recovered = outcome.recovered;
        let timeline = self.timeline.take().map(|mut t| {
            for (i, f) in scenario.service.faults.iter().enumerate() {
                t.markers.push((f.start, Marker::FaultStart(i)));
                t.markers.extend(f.end.map(|e| (e, Marker::FaultEnd(i))));
            }
            t.markers.extend(outcome.onset.map(|o| (o, Marker::Onset)));
            t.markers.extend(recovered.map(|r| (r, Marker::Recovered)));
            t.markers
                .retain(|(at, _)| *at < scenario.horizon || Some(*at) == recovered);
            t.markers.sort_by_key(|(at, _)| *at);
            t
        });
        (outcome, timeline)
    }
}
