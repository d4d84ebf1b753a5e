//! One run: a scenario's world, one strategy and the detectors, wired to the engine.
//!
//! This is the only place that knows all the parts. It turns strategy actions into world
//! changes, analysis ticks into verdicts and detections into the response the scenario's
//! data policy calls for; at the end the outcome rules read the world into a [`RunOutcome`].

use crate::detect::alerts::{AlertAction, Alerts, Gauges, SeriesStore, Steady};
use crate::detect::judges::Baseline;
use crate::detect::{
    Analysis, AnalysisRun, ManualTrigger, Measure, RunPhase, Scope, Verdict, Windows, manual,
};
use crate::engine::{
    self, EngineError, Limits, Phase, Process, Rng, RngStreams, Scheduler, SimTime,
};
use crate::model::{DataPolicy, VersionId, Window, World, streams};
use crate::modes::Mode;
use crate::outcome::{
    self, Detector, Marker, Response, RunLog, RunOutcome, Sample, Timeline, VersionSample,
};
use crate::scenario::Scenario;
use crate::strategy::{Action, Observation, ResponseSpec, RunSpec, Strategy};

/// World changes (fault boundaries, load re-evaluation) come first at an instant…
const WORLD: Phase = 0;
/// …then observations (checks, human detection)…
const OBSERVE: Phase = 1;
/// …then strategy decisions: a check and a step change at the same instant, the check first.
const DECIDE: Phase = 2;

/// The random stream of the humans who promote paused rollouts (shared by every strategy of
/// a replication).
const PROMOTERS: &str = "promoters";

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
    /// Prometheus scrapes the service's counters.
    Scrape,
    /// Prometheus evaluates the alert rules.
    Evaluate,
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
    /// Metric `metric` of analysis run `run`, of generation `generation`, measures.
    Measure {
        run: usize,
        metric: usize,
        generation: u64,
    },
    /// A human promotes the paused rollout.
    Promote,
    /// Probes, restarts or an outlier sweep are due (stale generations are ignored).
    Health {
        generation: u64,
    },
}

/// What a failure declaration sets off, resolved once per run from the scenario's data
/// policy (`[database]`), so that the wiring reads no policy afterwards.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Plan {
    /// No rollback: the rollout freezes and a hotfix lands `hotfix` after the declaration.
    RollForward { hotfix: SimTime },
    /// The app rolls back.
    Rollback {
        /// The candidate's writes are blocked at the decision (a write block).
        block_writes: bool,
        /// A backup restore of this duration starts at the decision.
        restore: Option<SimTime>,
        /// Once traffic is back on the stable, the down migrations run.
        down_migrations: bool,
    },
}

impl Plan {
    /// The plan of `scenario` for one replication (the hotfix delay is drawn here, whatever
    /// the strategy), and the response timings the strategy works with: a write block holds
    /// traffic on the candidate until in-flight requests have drained.
    fn resolve(scenario: &Scenario, streams: &RngStreams) -> (Plan, ResponseSpec) {
        let mut response = scenario.response.clone();
        let Some(db) = scenario.service.database.as_ref() else {
            let plan = Plan::Rollback {
                block_writes: false,
                restore: None,
                down_migrations: false,
            };
            return (plan, response);
        };
        if let Some(drain) = db.write_block {
            response.rollback_delay = response.rollback_delay.max(drain);
        }
        let plan = match db.policy.hotfix_delay() {
            Some(delay) => Plan::RollForward {
                hotfix: delay.draw(&mut streams.named(streams::HOTFIX)),
            },
            None => Plan::Rollback {
                block_writes: db.write_block.is_some(),
                restore: match db.policy {
                    DataPolicy::Restore { restore_time } => Some(restore_time),
                    _ => None,
                },
                down_migrations: db.policy == DataPolicy::AppAndDown,
            },
        };
        (plan, response)
    }
}

/// The analysis of the candidate and when it runs.
struct Checks {
    analysis: Option<Analysis>,
    /// Bumped whenever analysis (re)starts or stops: checks of older generations are stale.
    generation: u64,
    running: bool,
    /// Paused by a roll-forward while running: it resumes when the hotfix lands.
    paused: bool,
}

impl Checks {
    fn stop(&mut self) {
        self.running = false;
        self.generation += 1;
    }
}

/// The analysis runs a strategy starts ([`Action::StartRun`]), indexed like its
/// [`crate::strategy::StrategySpec::runs`].
struct Runs<'s> {
    specs: &'s [RunSpec],
    active: Vec<Option<AnalysisRun>>,
    /// Bumped whenever run `i` starts or stops: measurements of older generations are stale.
    generation: Vec<u64>,
    /// Measurements taken, failed and inconclusive, over every run.
    totals: (u32, u32, u32),
}

/// The strategy's pending timer: at most one, replaced when the strategy asks for another.
#[derive(Default)]
struct Timer {
    generation: u64,
    armed: Option<SimTime>,
}

/// The first failure declaration and what came of it.
#[derive(Default)]
struct Decision {
    detected: Option<(SimTime, Detector)>,
    /// The alert rule behind a [`Detector::Alert`] declaration.
    alert: Option<String>,
    /// Whether a rollback at the declaration is false (see [`outcome::rollback_is_false`]).
    false_rollback: bool,
    response: Option<Response>,
}

struct Replay<'s> {
    scenario: &'s Scenario,
    world: World<'s>,
    strategy: Box<dyn Strategy>,
    plan: Plan,
    checks: Checks,
    timer: Timer,
    /// The human's delay to detection, until the onset (or a page) schedules it.
    manual_delay: Option<SimTime>,
    /// The scenario's alert rules, when it has some.
    alerts: Option<Alerts<'s>>,
    /// The strategy's actions, buffered (kept to reuse its allocation).
    actions: Vec<Action>,
    decision: Decision,
    rollout: Option<SimTime>,
    degraded: Option<SimTime>,
    runs: Runs<'s>,
    /// The humans who promote paused rollouts.
    promoters: Rng,
    timeline: Option<Timeline>,
    /// The pending health event (probes, restarts, outlier sweeps), like [`Timer`].
    health: Timer,
    /// When the last health event ran.
    health_ran: Option<SimTime>,
}

/// Runs strategy `strategy` of `scenario` for replication `replication`.
pub fn replay(
    scenario: &Scenario,
    strategy: usize,
    replication: u32,
) -> Result<RunOutcome, EngineError> {
    run(scenario, strategy, replication, None, false).map(|(outcome, ..)| outcome)
}

/// The same run as [`replay`], instrumented: also returns its timeline sampled every `step`.
/// The outcome is identical to `replay`'s (instrumentation draws no random number).
pub fn replay_with_timeline(
    scenario: &Scenario,
    strategy: usize,
    replication: u32,
    step: SimTime,
) -> Result<(RunOutcome, Timeline), EngineError> {
    let step = Some(step.max(SimTime(1)));
    let (outcome, timeline, _) = run(scenario, strategy, replication, step, false)?;
    Ok((
        outcome,
        timeline.unwrap_or_else(|| unreachable!("a timeline was requested")),
    ))
}

/// The same run as [`replay_with_timeline`], its monitoring recorded: also returns every
/// sample Prometheus scraped (the history, and the histogram even when no rule reads it),
/// `None` for a scenario without `[[alerts]]`. Keeping samples changes
/// no evaluation, so the outcome is `replay`'s.
pub fn replay_recorded(
    scenario: &Scenario,
    strategy: usize,
    replication: u32,
    step: SimTime,
) -> Result<(RunOutcome, Timeline, Option<SeriesStore>), EngineError> {
    let step = Some(step.max(SimTime(1)));
    let (outcome, timeline, store) = run(scenario, strategy, replication, step, true)?;
    let timeline = timeline.unwrap_or_else(|| unreachable!("a timeline was requested"));
    Ok((outcome, timeline, store))
}

fn run(
    scenario: &Scenario,
    strategy: usize,
    replication: u32,
    timeline_step: Option<SimTime>,
    record: bool,
) -> Result<(RunOutcome, Option<Timeline>, Option<SeriesStore>), EngineError> {
    let spec = &scenario.strategies[strategy];
    let streams = RngStreams::new(scenario.seed, u64::from(replication));
    let windows = spec.analysis.as_ref().map(|a| a.windows);
    let record_latency = windows == Some(Windows::SincePreviousCheck)
        && spec.analysis.as_ref().is_some_and(|a| a.needs_latency());
    let mut world = World::new(
        &scenario.service,
        &streams,
        &spec.routing(),
        record_latency,
        scenario.horizon,
    );
    if let Some(a) = &spec.analysis {
        if a.needs_baseline_latency(Baseline::Stable) {
            world.windows[VersionId::Stable.index()].keep_latency();
        }
        if a.needs_experiment() {
            world.run_experiment(&streams, a.needs_baseline_latency(Baseline::Experiment));
        }
    }
    if let Some(a) = spec
        .analysis
        .as_ref()
        .filter(|a| a.windows == Windows::PerMetric)
    {
        world.keep_history(a.longest_window(), a.needs_latency(), false);
    }
    let run_metrics = || spec.runs().iter().flat_map(|r| &r.metrics);
    if run_metrics().next().is_some() {
        let longest = run_metrics()
            .map(|m| m.window)
            .max()
            .unwrap_or(SimTime::ZERO);
        let latency = run_metrics().any(|m| m.measure == Measure::LatencyP99);
        let service = run_metrics().any(|m| m.scope == Scope::Service);
        world.keep_history(longest, latency, service);
    }
    if timeline_step.is_some() {
        world.record_timeline();
    } else if scenario.mode == Mode::Windows {
        // A timeline is one run's per-request story: timeline replays serve requests.
        let judges = spec.analysis.iter().flat_map(|a| &a.judges);
        world.sample_windows(&streams, judges.into_iter().any(|j| j.needs_latency()));
    }
    let names = scenario
        .service
        .versions
        .each_ref()
        .map(|v| v.name.as_str());
    let stable = &scenario.service.versions[VersionId::Stable.index()];
    let steady = Steady {
        rate_per_s: scenario.service.traffic.rate_at(SimTime::ZERO),
        error_rate: stable.error_rate.get(),
        latency: stable.latency,
        instances: scenario.service.fleet.instances,
    };
    let alerts = scenario.alerts.as_ref().map(|a| match record {
        true => Alerts::recording(a, names, &steady),
        false => Alerts::new(a, names, &steady),
    });
    if let Some(a) = &alerts {
        world.expose(a.bounds_us());
    }
    // Drawn whatever the strategy, so every strategy of a replication meets the same human.
    let manual_delay = scenario
        .manual
        .as_ref()
        .map(|m| m.draw(&mut streams.named(manual::STREAM)));
    let (plan, response) = Plan::resolve(scenario, &streams);
    let mut run = Replay {
        scenario,
        world,
        strategy: spec.build(&scenario.service.fleet, &response),
        plan,
        checks: Checks {
            analysis: spec.analysis.clone().map(Analysis::new),
            generation: 0,
            running: false,
            paused: false,
        },
        timer: Timer::default(),
        manual_delay,
        alerts,
        actions: Vec::new(),
        decision: Decision::default(),
        rollout: None,
        degraded: None,
        runs: Runs {
            specs: spec.runs(),
            active: vec![None; spec.runs().len()],
            generation: vec![0; spec.runs().len()],
            totals: (0, 0, 0),
        },
        promoters: streams.named(PROMOTERS),
        health: Timer::default(),
        health_ran: None,
        timeline: timeline_step.map(|step| Timeline {
            step,
            samples: Vec::new(),
            markers: Vec::new(),
            shares: Vec::new(),
        }),
    };
    let mut sched = first_events(scenario, timeline_step);
    run.arm_health(SimTime::ZERO, &mut sched);
    let periodic = |step: SimTime| scenario.horizon.micros() / step.micros().max(1);
    let monitoring = scenario.alerts.as_ref().map_or(0, |a| {
        periodic(a.scrape_interval) + periodic(a.evaluation_interval) + 2
    });
    let max_events = scenario
        .max_events
        .saturating_add(timeline_step.map_or(0, periodic))
        .saturating_add(monitoring)
        .saturating_add(health_events(scenario));
    let limits = Limits {
        horizon: scenario.horizon,
        max_events,
    };
    engine::run(&mut run, sched, limits)?;
    let store = run.alerts.take().map(Alerts::into_store);
    let (outcome, timeline) = run.finish(strategy, replication);
    Ok((outcome, timeline, store))
}

/// An upper bound on the health events of one run: one per probe tick of every instance
/// (each version's pool at most twice the fleet during a rollout, both probes) plus the
/// restarts and outlier sweeps.
fn health_events(scenario: &Scenario) -> u64 {
    let h = &scenario.service.health;
    let probes = h.probes.map_or(0, |p| {
        let ticks = |q: Option<crate::model::ProbeSpec>| {
            q.map_or(0, |q| {
                scenario.horizon.micros() / q.period.micros().max(1) + 1
            })
        };
        (ticks(p.readiness) + ticks(p.liveness))
            * 4
            * u64::from(scenario.service.fleet.instances)
            * 2
    });
    let sweeps = h.outlier.map_or(0, |o| {
        scenario.horizon.micros() / o.interval.micros().max(1) + 1
    });
    probes.saturating_add(sweeps)
}

/// The events known before the run: the migration plan, the rollout's start (after the
/// migrations marked `with_rollout`, which run one after another from 0), fault and burst
/// boundaries, the first timeline sample and the first load tick.
fn first_events(scenario: &Scenario, timeline_step: Option<SimTime>) -> Scheduler<Event> {
    let mut sched = Scheduler::default();
    let service = &scenario.service;
    let mut rollout_start = SimTime::ZERO;
    let migrations = service.database.as_ref().map_or(&[][..], |d| &d.migrations);
    for (i, m) in migrations.iter().enumerate() {
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
    if let Some(a) = &scenario.alerts {
        sched.at(SimTime::ZERO, WORLD, Event::Scrape);
        sched.at(a.evaluation_interval, OBSERVE, Event::Evaluate);
    }
    if service.fleet.capacity_rps.is_some() && service.traffic.diurnal.is_some() {
        sched.at(LOAD_TICK, WORLD, Event::Refresh { periodic: true });
    }
    sched
}

impl Process for Replay<'_> {
    type Event = Event;

    fn advance(&mut self, from: SimTime, to: SimTime, sched: &mut Scheduler<Event>) -> SimTime {
        let reached = self.world.advance(from, to);
        if let Some(onset) = self.world.recorder.onset
            && self.scenario.manual_trigger == ManualTrigger::Onset
            && let Some(delay) = self.manual_delay.take()
        {
            sched.at(onset.saturating_add(delay), OBSERVE, Event::ManualDetection);
        }
        reached
    }

    fn handle(&mut self, now: SimTime, event: Event, sched: &mut Scheduler<Event>) {
        self.handle_event(now, event, sched);
        self.arm_health(now, sched);
        self.record_share(now);
    }
}

impl Replay<'_> {
    /// Records the candidate's traffic share when it changed (timelines only): routing
    /// changes only at events, so the plot draws each change at its true time.
    fn record_share(&mut self, now: SimTime) {
        if self.timeline.is_none() {
            return;
        }
        let share = self.world.routing().share(VersionId::Candidate) * 100.0;
        if let Some(t) = &mut self.timeline
            && t.shares.last().is_none_or(|&(_, last)| last != share)
        {
            t.shares.push((now, share));
        }
    }

    fn handle_event(&mut self, now: SimTime, event: Event, sched: &mut Scheduler<Event>) {
        match event {
            Event::Start => self.tell(now, Observation::Start, sched),
            Event::Refresh { periodic } => {
                self.world.refresh(now);
                if periodic {
                    sched.at(now.saturating_add(LOAD_TICK), WORLD, event);
                }
            }
            Event::Check { generation }
                if self.checks.running && generation == self.checks.generation =>
            {
                self.check(now, sched)
            }
            Event::ManualDetection => self.declare(now, Detector::Manual, sched),
            Event::Timer { generation } if generation == self.timer.generation => {
                self.timer.armed = None;
                self.tell(now, Observation::Timer, sched);
            }
            Event::Sample => self.sample(now, sched),
            Event::Scrape => self.scrape(now, sched),
            Event::Evaluate => self.evaluate(now, sched),
            Event::MigrationStart(i) if !self.rolled_back() => {
                let lock = self.world.start_migration(now, i);
                if lock > SimTime::ZERO {
                    let end = now.saturating_add(lock);
                    sched.at(end, WORLD, Event::Refresh { periodic: false });
                }
            }
            Event::MigrationEnd(i) if !self.rolled_back() || self.world.migration_started(i) => {
                self.world.end_migration(now, i)
            }
            Event::DownEnd(i) => {
                self.world.end_down_migration(now, i);
                self.next_down_migration(now, sched);
            }
            Event::RestoreEnd => self.world.end_restore(now),
            Event::Hotfix => {
                self.world.hotfix(now);
                if std::mem::take(&mut self.checks.paused) {
                    self.apply(now, Action::StartAnalysis, sched);
                }
                self.tell(now, Observation::Resume, sched);
            }
            Event::Ready(version) => {
                self.world.promote_due(now, version);
                let ready = self.world.ready(version);
                self.tell(now, Observation::Ready { version, ready }, sched);
            }
            Event::Measure {
                run,
                metric,
                generation,
            } if generation == self.runs.generation[run] => self.measure(now, run, metric, sched),
            Event::Promote => self.tell(now, Observation::Promote, sched),
            Event::Health { generation } if generation == self.health.generation => {
                self.health.armed = None;
                self.health_ran = Some(now);
                let before = VersionId::ALL.map(|v| self.world.ready(v));
                if self.world.health_tick(now) {
                    for version in VersionId::ALL {
                        let ready = self.world.ready(version);
                        if ready != before[version.index()] {
                            self.tell(now, Observation::Ready { version, ready }, sched);
                        }
                    }
                }
            }
            Event::Health { .. } => {}
            Event::MigrationStart(_)
            | Event::MigrationEnd(_)
            | Event::Measure { .. }
            | Event::Check { .. }
            | Event::Timer { .. } => {}
        }
    }

    /// Schedules the next health event after `now` when it moved (probes and outlier sweeps
    /// are periodic control events, never per-request work).
    fn arm_health(&mut self, now: SimTime, sched: &mut Scheduler<Event>) {
        let from = if self.health_ran == Some(now) {
            now.saturating_add(SimTime(1))
        } else {
            now
        };
        let Some(next) = self.world.health_due(from) else {
            return;
        };
        // A pending event at or before `next` stays: nothing came due earlier.
        if self.health.armed.is_some_and(|a| a <= next) {
            return;
        }
        self.health.generation += 1;
        self.health.armed = Some(next);
        let generation = self.health.generation;
        sched.at(next, WORLD, Event::Health { generation });
    }

    /// Whether a rollback was decided (it cancels the migrations not started yet).
    fn rolled_back(&self) -> bool {
        self.decision.response == Some(Response::Rollback)
    }

    /// Starts the next down migration of the plan, if any.
    fn next_down_migration(&mut self, now: SimTime, sched: &mut Scheduler<Event>) {
        if let Some((i, duration)) = self.world.next_down_migration() {
            sched.at(now.saturating_add(duration), WORLD, Event::DownEnd(i));
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

    /// Prometheus scrapes the service's counters and the rollout's weight.
    fn scrape(&mut self, now: SimTime, sched: &mut Scheduler<Event>) {
        let gauges = Gauges {
            candidate_weight_pct: self.world.routing().share(VersionId::Candidate) * 100.0,
            replicas: VersionId::ALL.map(|v| self.world.running(v)),
            available: VersionId::ALL.map(|v| self.world.ready(v)),
        };
        let (Some(alerts), Some(x)) = (&mut self.alerts, &self.world.exposition) else {
            return;
        };
        alerts.scrape(now, x, &gauges);
        sched.at(
            now.saturating_add(alerts.spec().scrape_interval),
            WORLD,
            Event::Scrape,
        );
    }

    /// Prometheus evaluates the rules: a `rollback` alert that starts firing declares
    /// failure; a `page` alert starts the human's delay (once per run).
    fn evaluate(&mut self, now: SimTime, sched: &mut Scheduler<Event>) {
        let Some(alerts) = &mut self.alerts else {
            return;
        };
        let spec = alerts.spec();
        let fired = alerts.evaluate(now);
        sched.at(
            now.saturating_add(spec.evaluation_interval),
            OBSERVE,
            Event::Evaluate,
        );
        for i in fired {
            let rule = &spec.rules[i];
            match rule.action {
                AlertAction::Rollback => {
                    if self.decision.detected.is_none() {
                        self.decision.alert = Some(rule.name.clone());
                    }
                    self.declare(now, Detector::Alert, sched);
                }
                // Worked on in business hours: nothing happens within the drill.
                AlertAction::Ticket => {}
                AlertAction::Page => {
                    if self.scenario.manual_trigger == ManualTrigger::Page
                        && let Some(delay) = self.manual_delay.take()
                    {
                        sched.at(now.saturating_add(delay), OBSERVE, Event::ManualDetection);
                    }
                }
            }
        }
    }

    fn check(&mut self, now: SimTime, sched: &mut Scheduler<Event>) {
        let Some(analysis) = self.checks.analysis.as_mut() else {
            return;
        };
        self.world.settle_window();
        let [stable, window] = &self.world.windows;
        let verdict = match &self.world.experiment {
            Some(e) => analysis.check(window, stable, &e.window),
            None => analysis.check(window, stable, &Window::new(false)),
        };
        self.world.reset_window(VersionId::Candidate);
        // The baselines' windows are what judges compare with: the same interval.
        self.world.reset_window(VersionId::Stable);
        if let Some(e) = &mut self.world.experiment {
            e.window.reset();
        }
        let tripped = analysis.tripped();
        let interval = analysis.spec().interval;
        if verdict == Verdict::Fail {
            self.mark(now, Marker::FailedCheck);
        }
        self.tell(now, Observation::Check(verdict), sched);
        if tripped && verdict == Verdict::Fail {
            self.declare(now, Detector::Analysis, sched);
        } else if self.checks.running {
            let generation = self.checks.generation;
            sched.at(
                now.saturating_add(interval),
                OBSERVE,
                Event::Check { generation },
            );
        }
    }

    /// An analysis tick the strategy asked for: the threshold is tested first (Flagger tests
    /// `FailedChecks >= threshold` at the start of a tick, `advanceCanary`), then every
    /// metric is checked over its own window ending now.
    fn tick_check(&mut self, now: SimTime, sched: &mut Scheduler<Event>) {
        let (true, Some(analysis), Some(history)) = (
            self.checks.running,
            self.checks.analysis.as_mut(),
            self.world.history.as_mut(),
        ) else {
            return;
        };
        if analysis.tripped() {
            return self.declare(now, Detector::Analysis, sched);
        }
        let verdict = analysis.check_windows(history, now);
        if verdict == Verdict::Fail {
            self.mark(now, Marker::FailedCheck);
        }
        self.tell(now, Observation::Check(verdict), sched);
    }

    /// Metric `metric` of analysis run `run` measures now over its window; a run that ends
    /// with it declares failure (Failed, Error) or tells the strategy (Successful,
    /// Inconclusive).
    fn measure(&mut self, now: SimTime, run: usize, metric: usize, sched: &mut Scheduler<Event>) {
        let (Some(state), Some(history)) =
            (self.runs.active[run].as_mut(), self.world.history.as_mut())
        else {
            return;
        };
        let m = &self.runs.specs[run].metrics[metric];
        let candidate_only = m.scope == Scope::Candidate;
        // A query over a candidate that never served returns no series: the empty result. A
        // service-wide window before the first request reads the stable's steady state (it
        // served before the rollout, which the simulation begins with).
        let latency = m.measure == Measure::LatencyP99;
        let window = history.window(now, m.window, candidate_only, latency);
        let result = if candidate_only {
            history.candidate_seen().then(|| m.measure.value(&window))
        } else if window.requests == 0 && now == SimTime::ZERO {
            Some(
                m.measure
                    .steady(&self.scenario.service.versions[VersionId::Stable.index()]),
            )
        } else {
            Some(m.measure.value(&window))
        };
        let measured = state.measure(metric, m, now, result);
        let due = state.due(metric);
        let totals = &mut self.runs.totals;
        totals.0 += 1;
        totals.1 += u32::from(measured.phase == RunPhase::Failed);
        totals.2 += u32::from(measured.phase == RunPhase::Inconclusive);
        if measured.phase == RunPhase::Failed {
            self.mark(now, Marker::FailedCheck);
        }
        match measured.run_ended {
            None => {
                if let Some(at) = due {
                    let generation = self.runs.generation[run];
                    let event = Event::Measure {
                        run,
                        metric,
                        generation,
                    };
                    sched.at(at, OBSERVE, event);
                }
            }
            Some(phase) => {
                self.stop_run(run);
                match phase {
                    RunPhase::Failed | RunPhase::Error => {
                        self.declare(now, Detector::Analysis, sched)
                    }
                    _ => self.tell(now, Observation::RunEnded { run, phase }, sched),
                }
            }
        }
    }

    fn stop_run(&mut self, run: usize) {
        self.runs.active[run] = None;
        self.runs.generation[run] += 1;
    }

    /// A detector declares failure: the first declaration is the decision, and the plan
    /// says what it sets off.
    fn declare(&mut self, now: SimTime, by: Detector, sched: &mut Scheduler<Event>) {
        if self.decision.detected.is_some() {
            return;
        }
        self.decision.detected = Some((now, by));
        self.mark(now, Marker::Detected);
        self.decision.false_rollback = outcome::rollback_is_false(&self.world, now);
        match self.plan {
            Plan::RollForward { hotfix } => {
                // No rollback: the rollout is frozen (analysis paused, the strategy told to
                // hold) while the team ships a fix; when it lands the candidate's faults end,
                // analysis resumes and so does the rollout.
                self.decision.response = Some(Response::RollForward);
                self.checks.paused = self.checks.running;
                self.checks.stop();
                sched.at(now.saturating_add(hotfix), WORLD, Event::Hotfix);
                self.tell(now, Observation::Freeze, sched);
            }
            Plan::Rollback {
                block_writes,
                restore,
                ..
            } => {
                self.decision.response = Some(Response::Rollback);
                self.world.roll_back(now, block_writes, restore);
                if let Some(restore_time) = restore {
                    sched.at(now.saturating_add(restore_time), WORLD, Event::RestoreEnd);
                }
                self.tell(now, Observation::Abort, sched);
            }
        }
    }

    fn tell(&mut self, now: SimTime, obs: Observation, sched: &mut Scheduler<Event>) {
        let mut actions = std::mem::take(&mut self.actions);
        self.strategy.on_event(now, obs, &mut actions);
        for action in actions.drain(..) {
            self.apply(now, action, sched);
        }
        self.actions = actions;
        let next = self.strategy.next_timer();
        if next != self.timer.armed {
            self.timer.generation += 1;
            self.timer.armed = next;
            if let Some(t) = next {
                let generation = self.timer.generation;
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
            Action::Fail => {
                // Progress stalls on instances that fail readiness: the probe found it.
                let by = if self.world.fails_readiness(VersionId::Candidate) {
                    Detector::Readiness
                } else {
                    Detector::ProgressDeadline
                };
                self.declare(now, by, sched)
            }
            Action::StartAnalysis => {
                self.checks.generation += 1;
                if let Some(a) = &mut self.checks.analysis {
                    a.restart();
                    self.checks.running = true;
                    self.world.reset_window(VersionId::Candidate);
                    self.world.reset_window(VersionId::Stable);
                    if a.spec().windows == Windows::SincePreviousCheck {
                        let generation = self.checks.generation;
                        sched.at(
                            now.saturating_add(a.spec().interval),
                            OBSERVE,
                            Event::Check { generation },
                        );
                    }
                }
            }
            Action::AnalysisTick => self.tick_check(now, sched),
            Action::StartRun(run) => {
                self.stop_run(run);
                let metrics = &self.runs.specs[run].metrics;
                let state = AnalysisRun::start(metrics, now);
                let generation = self.runs.generation[run];
                for metric in 0..metrics.len() {
                    if let Some(at) = state.due(metric) {
                        let event = Event::Measure {
                            run,
                            metric,
                            generation,
                        };
                        sched.at(at, OBSERVE, event);
                    }
                }
                self.runs.active[run] = Some(state);
            }
            Action::StopRun(run) => self.stop_run(run),
            Action::AwaitPromotion(delay) => {
                let after = delay.draw(&mut self.promoters);
                sched.at(now.saturating_add(after), DECIDE, Event::Promote);
            }
            Action::LoadTest(rate) => self.world.set_probe(now, VersionId::Candidate, rate),
            Action::Degraded => {
                self.degraded.get_or_insert(now);
            }
            Action::StopAnalysis => self.checks.stop(),
            Action::Promoted => {
                self.rollout = Some(now);
                self.mark(now, Marker::Promoted);
            }
            Action::RolledBack => {
                self.mark(now, Marker::RolledBack);
                let down = matches!(
                    self.plan,
                    Plan::Rollback {
                        down_migrations: true,
                        ..
                    }
                );
                if down && self.rolled_back() {
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
            detected: self.decision.detected,
            alert: self.decision.alert.take(),
            response: self.decision.response,
            false_at_decision: self.decision.false_rollback,
            rollout: self.rollout,
            degraded: self.degraded,
            checks: self
                .checks
                .analysis
                .as_ref()
                .map_or(self.runs.totals, |a| (a.checks, a.failed, a.inconclusive)),
            verify: scenario.response.verify,
            horizon: scenario.horizon,
        };
        self.world.finish_windows();
        let mut outcome = RunOutcome::conclude(&mut self.world, log);
        outcome.probe_ttd = self
            .world
            .probe_out()
            .map(|(at, i)| at.saturating_sub(scenario.service.faults[i].start));
        (outcome.restarts, outcome.ejections) = self.world.restarts_and_ejections();
        outcome.budget_consumed = scenario.slo.as_ref().and_then(|s| {
            s.budget_consumed(outcome.failed_requests, scenario.service.traffic.rate_per_s)
        });
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
