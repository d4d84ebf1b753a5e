//! The simulated world: traffic, fleet, routing, faults and what each request meets.
//!
//! [`World::advance`] is the hot path. It serves requests in a tight loop between control
//! events, drawing every random number from per-concern streams in a fixed order per
//! request, so two strategies (or a run with and without a fault) see the same traffic.
//! Each request is judged twice on the same draws, with and without the faults, and only
//! the difference is attributed to the faults (counterfactual attribution, as docs/semantics.md's "Reported numbers" define it).

mod database;
mod experiment;
mod fault;
mod flag;
mod fleet;
mod health;
mod operations;
mod outlier;
mod pool;
mod probe;
mod recorder;
mod routing;
pub mod streams;
mod traffic;
mod window;
pub mod windows;

pub use database::{
    AppSchema, DataPolicy, Database, DatabaseSpec, Inconsistencies, InitialData, Migration,
    MigrationKind, MigrationKindName, PolicyName, ReadMode, TableAccess, WriteMode,
};
pub use experiment::Experiment;
pub use fault::{
    Fault, FaultKind, FaultName, KindSpec, Need, ParamError, ParamSpec, ParamType, ParamValue,
    Params, Target, Targets, Timing,
};
pub use flag::{FlagRouting, Refresh, RefreshMode, Stall, bucket, murmur3_x86_32};
pub use fleet::{Fleet, FleetSpec, LatencyModel, VersionId, VersionSpec, Z_P99};
pub use health::{HealthSpec, ProbeSpec, ProbesSpec};
pub use outlier::OutlierSpec;
pub use probe::Probe;
pub use recorder::{Recorder, UserSet};
pub use routing::Routing;
pub use traffic::{Arrivals, Burst, Diurnal, TrafficSpec, UserPicker};
pub use window::{Exposition, History, Window};

use crate::engine::{Probability, Rng, RngStreams, SimTime, splitmix64};
use health::Health;
use pool::Picked;
use rand::{Rng as _, RngExt};
use rand_distr::StandardNormal;

/// How a strategy routes requests between the versions.
#[derive(Debug, Clone, PartialEq)]
pub enum RoutingSpec {
    /// A weight set by the strategy, per request or sticky per user (a mesh or ingress).
    Weighted {
        /// Route by user hash rather than per request.
        sticky: bool,
    },
    /// Spread over ready instances, as a Kubernetes Service does: the candidate's share is
    /// its ready instances over all ready instances.
    ReadyInstances,
    /// A feature flag evaluated on every instance of one shared fleet.
    Flag {
        /// The flag's hashing group (Unleash `groupId`).
        group: String,
        /// How instances learn changes.
        refresh: Refresh,
    },
}

/// Everything about the service a scenario describes, independent of the rollout strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSpec {
    /// Incoming requests.
    pub traffic: TrafficSpec,
    /// Stable and candidate versions, indexed by [`VersionId::index`].
    pub versions: [VersionSpec; 2],
    /// Instances and their capacity.
    pub fleet: FleetSpec,
    /// Injected faults, at most 64.
    pub faults: Vec<Fault>,
    /// A response slower than this is a bad response when a fault made it so.
    pub slo_latency: SimTime,
    /// The migrated table and its plan, if the scenario has one.
    pub database: Option<DatabaseSpec>,
    /// Probes and outlier detection (`[fleet.probes]`, `[fleet.outlier_detection]`).
    pub health: HealthSpec,
}

impl ServiceSpec {
    /// Whether requests must be routed to single instances: probes, outlier detection or a
    /// fault on some instances need to know which one serves.
    pub fn per_instance(&self) -> bool {
        self.health != HealthSpec::default() || self.faults.iter().any(|f| f.instances().is_some())
    }
}

/// Tracks since when a harm channel has been closed: `None` while it is open.
fn clear_since(harmful: bool, since: Option<SimTime>, now: SimTime) -> Option<SimTime> {
    match (harmful, since) {
        (true, _) => None,
        (false, None) => Some(now),
        (false, since) => since,
    }
}

/// 2³², for turning probabilities into thresholds on 32-bit draws.
const TWO_32: f64 = 4_294_967_296.0;

fn thr32(p: impl Into<f64>) -> u64 {
    (p.into().clamp(0.0, 1.0) * TWO_32) as u64
}

/// Which users a fault can hit: user `u` is in when `splitmix64(u ⊕ salt) < thr`.
#[derive(Debug, Clone, Copy)]
struct Scope {
    salt: u64,
    thr: u64,
    all: bool,
    /// The fault's bit (`1 << index`), naming the scope in windows mode's user classes.
    bit: u64,
}

impl Scope {
    #[inline]
    fn hits(self, user: u64) -> bool {
        self.all || splitmix64(user ^ self.salt) < self.thr
    }
}

#[derive(Debug, Clone, Copy)]
enum EffectKind {
    /// Fails when the 32-bit error draw is below the threshold.
    Error(u64),
    /// Adds µs of latency.
    Delay(f64),
    /// A linear ramp of error probability and latency.
    Ramp {
        start_us: f64,
        ramp_us: f64,
        rate: f64,
        delay_us: f64,
    },
    /// Corrupts a successful write when the 32-bit fault draw is below the threshold.
    Corrupt(u64),
}

#[derive(Debug, Clone, Copy)]
struct Effect {
    bit: u64,
    scope: Scope,
    kind: EffectKind,
    /// Hits only instances whose id is below this (`u32::MAX`: all).
    instances: u32,
}

/// What the faults in force do to one request.
struct Applied {
    /// Fails when the 32-bit error draw is below this.
    err_thr: u64,
    /// Added latency, µs.
    delay_us: f64,
    /// A successful write is corrupted when the 32-bit fault draw is below this.
    corrupt_thr: u64,
    /// The faults that applied.
    bits: u64,
}

/// Combines the `effects` in force at `t` on instance `at` whose scope `hits`.
#[inline]
fn applied_on(effects: &[Effect], t: SimTime, at: Picked, hits: impl Fn(Scope) -> bool) -> Applied {
    let mut a = Applied {
        err_thr: 0,
        delay_us: 0.0,
        corrupt_thr: 0,
        bits: 0,
    };
    for e in effects {
        if at.id >= e.instances || !hits(e.scope) {
            continue;
        }
        a.bits |= e.bit;
        match e.kind {
            EffectKind::Error(thr) => a.err_thr = a.err_thr.max(thr),
            EffectKind::Delay(us) => a.delay_us += us,
            EffectKind::Corrupt(thr) => a.corrupt_thr = a.corrupt_thr.max(thr),
            EffectKind::Ramp {
                start_us,
                ramp_us,
                rate,
                delay_us,
            } => {
                // A restarted instance leaks again from its container's start.
                let since = start_us.max(at.origin_us);
                let level = ((t.micros() as f64 - since) / ramp_us).clamp(0.0, 1.0);
                a.err_thr = a.err_thr.max(thr32(rate * level));
                a.delay_us += delay_us * level;
            }
        }
    }
    a
}

/// Load shedding of one version: thresholds on the 32-bit shed draw, with and without faults.
#[derive(Debug, Clone, Copy, Default)]
struct Shedding {
    with: u64,
    without: u64,
    /// Faults that cause the difference (spikes, kills).
    causes: u64,
}

/// One arrival process and the streams its requests draw from.
struct Source {
    arrivals: Arrivals,
    users: Rng,
    routing: Rng,
    latency: Rng,
    errors: Rng,
    faults: Rng,
    database: Rng,
}

impl Source {
    fn new(
        spec: &ServiceSpec,
        streams: &RngStreams,
        prefix: &str,
        scale: f64,
        from: SimTime,
        to: SimTime,
    ) -> Source {
        let name = |s: &str| format!("{prefix}{s}");
        Source {
            arrivals: Arrivals::new(
                &spec.traffic,
                streams,
                &name(streams::ARRIVALS),
                scale,
                from,
                to,
            ),
            users: streams.named(&name(streams::USERS)),
            routing: streams.named(&name(streams::ROUTING)),
            latency: streams.named(&name(streams::LATENCY)),
            errors: streams.named(&name(streams::ERRORS)),
            faults: streams.named(&name(streams::FAULTS)),
            database: streams.named(&name(streams::DATABASE)),
        }
    }
}

/// The random draws of one request, taken whatever happens to it.
struct Draws {
    user: u64,
    route: u32,
    write: u32,
    z: f64,
    error: u32,
    shed: u32,
    corrupt: u32,
    /// Whether the request touches the migrated table, and which record a read picks.
    touch: u32,
    record: u32,
}

/// The state of the simulated service during one run.
pub struct World<'s> {
    spec: &'s ServiceSpec,
    sources: Vec<Source>,
    users: UserPicker,
    routing: Routing,
    fleet: Fleet,
    effects: [Vec<Effect>; 2],
    shedding: [Shedding; 2],
    scopes: Vec<Scope>,
    error_thr: [u64; 2],
    /// z above which a version's fault-free latency exceeds the SLO.
    slow_z: [f64; 2],
    write_thr: u64,
    slo_us: f64,
    stop_at_onset: bool,
    by_ready_instances: bool,
    /// Since when no fault causes load shedding (`None`: one does now).
    capacity_clear_since: Option<SimTime>,
    /// The migrated table, when the scenario has one.
    database: Option<Database>,
    table_thr: u64,
    /// Since when the database can hurt no request (`None`: it can now).
    database_clear_since: Option<SimTime>,
    /// Faults of the candidate end here (a roll-forward hotfix landed).
    fixed_at: Option<SimTime>,
    /// Analysis windows per version.
    pub windows: [Window; 2],
    /// A judge's experiment baseline, when one compares with it (see [`World::run_experiment`]).
    pub experiment: Option<Experiment>,
    /// Timeline windows per version, when a timeline is recorded (see [`World::record_timeline`]).
    pub timeline_windows: Option<[Window; 2]>,
    /// The candidate's recent requests, for metrics with windows of their own (see
    /// [`World::keep_history`]).
    pub history: Option<History>,
    /// Synthetic traffic to one version, while a strategy runs load tests.
    probe: Probe,
    /// The service's Prometheus counters, when an alert rule reads them (see
    /// [`World::expose`]).
    pub exposition: Option<Exposition>,
    /// Per-request tallies.
    pub recorder: Recorder,
    /// Windows mode's state (`None`: every request is served one by one).
    sampler: Option<Box<windows::Sampler>>,
    /// Instances one by one, when the scenario needs them ([`ServiceSpec::per_instance`]).
    health: Option<Box<Health>>,
    /// The start-up delay of each version's instances last started: a due instance's
    /// container started that long before it serves.
    ready_after: [SimTime; 2],
}

impl<'s> World<'s> {
    /// The world at time 0: all traffic on the stable version, `spec.fleet.instances` of it.
    ///
    /// `routing` is the strategy's way of routing; `record_latency` keeps the candidate's
    /// latency histogram; `horizon` bounds the arrival processes.
    pub fn new(
        spec: &'s ServiceSpec,
        streams: &RngStreams,
        routing: &RoutingSpec,
        record_latency: bool,
        horizon: SimTime,
    ) -> World<'s> {
        let mut sources = vec![Source::new(spec, streams, "", 1.0, SimTime::ZERO, horizon)];
        for (i, f) in spec.faults.iter().enumerate() {
            if let FaultKind::TrafficSpike { multiplier } = f.kind {
                let end = f.end.unwrap_or(horizon).min(horizon);
                sources.push(Source::new(
                    spec,
                    streams,
                    &format!("spike.{i}."),
                    multiplier - 1.0,
                    f.start,
                    end,
                ));
            }
        }
        let scopes = spec
            .faults
            .iter()
            .enumerate()
            .map(|(i, f)| Scope {
                bit: 1 << i,
                salt: streams.derive(&format!("fault.{i}.users")),
                thr: (f.users.get() * 18_446_744_073_709_551_616.0) as u64,
                all: f.users == Probability::ONE,
            })
            .collect();
        let slo_us = spec.slo_latency.micros() as f64;
        let mut world = World {
            spec,
            sources,
            users: UserPicker::new(&spec.traffic),
            routing: Self::build_routing(spec, streams, routing),
            by_ready_instances: *routing == RoutingSpec::ReadyInstances,
            capacity_clear_since: Some(SimTime::ZERO),
            database: spec.database.as_ref().map(Database::new),
            table_thr: spec
                .database
                .as_ref()
                .map_or(0, |d| thr32(d.table_fraction)),
            database_clear_since: Some(SimTime::ZERO),
            fixed_at: None,
            fleet: Fleet::new(spec.fleet.instances),
            effects: [Vec::new(), Vec::new()],
            shedding: [Shedding::default(); 2],
            scopes,
            error_thr: spec.versions.each_ref().map(|v| thr32(v.error_rate)),
            slow_z: spec.versions.each_ref().map(|v| v.latency.z_above(slo_us)),
            write_thr: thr32(spec.traffic.write_fraction),
            slo_us,
            stop_at_onset: true,
            // Only the candidate is analysed, so only its window needs latency histograms.
            windows: [Window::new(false), Window::new(record_latency)],
            experiment: None,
            timeline_windows: None,
            history: None,
            probe: Probe::idle(streams),
            exposition: None,
            recorder: Recorder::new(spec.traffic.users),
            sampler: None,
            health: spec.per_instance().then(|| {
                Box::new(Health::new(
                    &spec.health,
                    spec.fleet.startup,
                    streams.named(streams::PROBES),
                    [spec.fleet.instances, 0],
                ))
            }),
            ready_after: [SimTime::ZERO; 2],
        };
        world.refresh(SimTime::ZERO);
        world
    }

    fn build_routing(spec: &ServiceSpec, streams: &RngStreams, routing: &RoutingSpec) -> Routing {
        match routing {
            RoutingSpec::Weighted { sticky } => {
                Routing::new(*sticky, streams.derive(streams::HASHING))
            }
            RoutingSpec::ReadyInstances => Routing::new(false, 0),
            RoutingSpec::Flag { group, refresh } => {
                let n = spec.fleet.instances;
                let mut stalls = vec![None; n as usize];
                for (i, f) in spec.faults.iter().enumerate() {
                    if let FaultKind::FlagStall {
                        share,
                        stall_timeout,
                    } = f.kind
                    {
                        // The stalled instances: the first `share × n` in a per-replication shuffle.
                        let salt = streams.derive(&format!("fault.{i}.instances"));
                        let mut order: Vec<u32> = (0..n).collect();
                        order.sort_by_key(|&k| splitmix64(u64::from(k) ^ salt));
                        let k = (share.get() * f64::from(n)).round() as usize;
                        for &inst in &order[..k.min(order.len())] {
                            stalls[inst as usize] = Some(Stall {
                                start: f.start,
                                end: f.end,
                                timeout: stall_timeout,
                            });
                        }
                    }
                }
                let mut rng = streams.named(streams::FLAG_REFRESH);
                Routing::flagged(FlagRouting::new(
                    group,
                    spec.traffic.users,
                    n,
                    *refresh,
                    &stalls,
                    &mut rng,
                ))
            }
        }
    }

    /// Serves every request arriving in `[from, to)`.
    ///
    /// Returns `to`, or, the first time a request is affected by a fault, the time of that
    /// request (the onset), so that the caller can react to it before time moves on.
    pub fn advance(&mut self, from: SimTime, to: SimTime) -> SimTime {
        debug_assert!(from <= to);
        if self.sampler.is_some() {
            return self.advance_windows(from, to);
        }
        loop {
            let next = self.next_source(to);
            if let Some(t) = self.probe.due_before(next.map_or(to, |n| n.1)) {
                self.serve_probe(t);
                continue;
            }
            let Some((i, t)) = next else {
                return to;
            };
            let d = self.draw(i);
            self.sources[i].arrivals.step(&self.spec.traffic);
            self.serve(t, &d);
            if self.stop_at_onset && self.recorder.onset.is_some() {
                self.stop_at_onset = false;
                return t.max(from);
            }
        }
    }

    /// The source with the earliest arrival before `to`.
    #[inline]
    fn next_source(&self, to: SimTime) -> Option<(usize, SimTime)> {
        if self.sources.len() == 1 {
            return self.sources[0]
                .arrivals
                .peek()
                .filter(|&t| t < to)
                .map(|t| (0, t));
        }
        self.sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.arrivals.peek().map(|t| (i, t)))
            .filter(|&(_, t)| t < to)
            .min_by_key(|&(i, t)| (t, i))
    }

    #[inline]
    fn draw(&mut self, i: usize) -> Draws {
        let s = &mut self.sources[i];
        let user = self.users.pick(&mut s.users);
        let route = s.routing.next_u64();
        let z: f64 = s.latency.sample(StandardNormal);
        let error = s.errors.next_u64();
        let corrupt = s.faults.next_u32();
        // Drawn only when the scenario has a database: the same for every strategy.
        let table = if self.database.is_some() {
            s.database.next_u64()
        } else {
            0
        };
        Draws {
            user,
            route: route as u32,
            write: (route >> 32) as u32,
            z,
            error: error as u32,
            shed: (error >> 32) as u32,
            corrupt,
            touch: table as u32,
            record: (table >> 32) as u32,
        }
    }

    /// Judges one request with and without the faults and tallies the difference.
    #[inline]
    fn serve(&mut self, t: SimTime, d: &Draws) {
        let version = self.routing.pick(d.user, d.route, t);
        let v = version.index();
        // The instance it goes to, when instances are kept; none ready: unroutable (a 503
        // from the mesh), blamed on the faults that took the instances out.
        let (at, unroutable, blame) = match self.health.as_deref() {
            None => (Picked::ANY, false, 0),
            Some(h) => match h.pick(version, d.route, d.write) {
                Some(p) => (p, false, 0),
                None => (Picked::ANY, true, h.causes(version)),
            },
        };
        let rec = &mut self.recorder;
        rec.active.insert(d.user);
        rec.requests += 1;

        let err = u64::from(d.error);
        let shed = u64::from(d.shed);
        let fail_without = err < self.error_thr[v] || shed < self.shedding[v].without;

        // Faults in force for this version and user.
        let Applied {
            err_thr: fault_err_thr,
            mut delay_us,
            corrupt_thr,
            bits: applied,
        } = applied_on(&self.effects[v], t, at, |scope| scope.hits(d.user));
        let shed_by_fault = shed < self.shedding[v].with && shed >= self.shedding[v].without;
        // The migrated table: locks, restores and schemas the version cannot use. Its harm is
        // the release's (the plan is part of the change under test), never a baseline failure.
        let wants_write = u64::from(d.write) < self.write_thr;
        let table = self
            .database
            .as_ref()
            .filter(|_| u64::from(d.touch) < self.table_thr);
        let (table_fail, stall_us) =
            match table.map(|db| db.access(t, VersionId::ALL[v], wants_write)) {
                Some(TableAccess::Fails) => (true, 0.0),
                Some(TableAccess::Stalled(us)) => (false, us),
                _ => (false, 0.0),
            };
        let effect_delay_us = delay_us;
        delay_us += stall_us;
        let touches = table.is_some();
        let fail_with =
            fail_without || err < fault_err_thr || shed_by_fault || table_fail || unroutable;
        if let Some(h) = self.health.as_deref_mut().filter(|_| !unroutable) {
            h.observe(version, at, fail_with, t);
        }

        let version = &self.spec.versions[v];
        let window = match self.experiment.as_mut() {
            Some(e)
                if v == VersionId::Stable.index()
                    && e.takes(d.z, self.routing.share(VersionId::Candidate)) =>
            {
                &mut e.window
            }
            _ => &mut self.windows[v],
        };
        // Slower than the SLO without any fault: a comparison of the normal draw, no exp().
        let slow_base = d.z > self.slow_z[v];
        let slow_without = !fail_without && slow_base;
        // exp() is the costliest step of a request: take it only when something reads it.
        let candidate = v == VersionId::Candidate.index();
        let history = self.history.as_mut().filter(|h| h.keeps(candidate));
        let latency = (delay_us > 0.0
            || window.wants_latency()
            || self.timeline_windows.is_some()
            || history.as_ref().is_some_and(|h| h.wants_latency()))
        .then(|| version.latency.at(d.z) + delay_us);
        let slow_with = !fail_with
            && match latency {
                Some(l) if delay_us > 0.0 => l > self.slo_us,
                _ => slow_base,
            };
        let write = wants_write && !fail_with;
        let corrupted = write && u64::from(d.corrupt) < corrupt_thr;
        let mut wrong_read = false;
        if let (true, Some(db)) = (touches, self.database.as_mut()) {
            if write {
                db.write(VersionId::ALL[v]);
            } else if !wants_write && !fail_with {
                wrong_read = !db.read(t, VersionId::ALL[v], d.record);
            }
        }

        window.record(fail_with, write, corrupted, latency);
        if let Some(h) = history {
            h.record(t, candidate, fail_with, write, corrupted, latency);
        }
        if let Some(tw) = &mut self.timeline_windows {
            tw[v].record(fail_with, write, corrupted, latency);
        }
        if let Some(x) = &mut self.exposition {
            x.record(v, fail_with, latency, d.z);
        }
        rec.corrupted += u64::from(corrupted);

        if fail_without {
            rec.baseline_failed += 1;
        } else if fail_with {
            rec.failed += 1;
        }
        let bad_with = fail_with || slow_with || corrupted || wrong_read;
        if bad_with && !(fail_without || slow_without) {
            rec.affected.insert(d.user);
            // Each harm channel is marked by what it did to this request, for recovery.
            if table_fail || wrong_read || (slow_with && stall_us > 0.0) {
                rec.hurt_database = true;
            }
            if shed_by_fault {
                rec.hurt_capacity |= self.shedding[v].causes;
            }
            if err < fault_err_thr || corrupted || (slow_with && effect_delay_us > 0.0) {
                rec.hurt |= applied;
            }
            rec.hurt |= blame;
            rec.onset.get_or_insert(t);
        }
    }

    /// Serves one synthetic request at `t`: judged like a user's request (faults that hit
    /// every user apply; cohort faults, shedding and the database do not) and recorded only
    /// where the version is observed.
    fn serve_probe(&mut self, t: SimTime) {
        let v = self.probe.version.index();
        let d = self.probe.draw();
        // With instances kept, the instance comes from the request's own draws, as a user's.
        let (at, unroutable) = match self.health.as_deref() {
            None => (Some(Picked::ANY), false),
            Some(h) => {
                let p = h.pick(
                    self.probe.version,
                    d.error as u32,
                    (d.z.to_bits() >> 32) as u32,
                );
                (p, p.is_none())
            }
        };
        let a = applied_on(&self.effects[v], t, at.unwrap_or(Picked::ANY), |scope| {
            scope.all
        });
        let failed = unroutable || d.error < self.error_thr[v] || d.error < a.err_thr;
        let latency = Some(self.spec.versions[v].latency.at(d.z) + a.delay_us);
        self.windows[v].record(failed, false, false, latency);
        let candidate = v == VersionId::Candidate.index();
        if let Some(h) = self.history.as_mut().filter(|h| h.keeps(candidate)) {
            h.record(t, candidate, failed, false, false, latency);
        }
        if let Some(tw) = &mut self.timeline_windows {
            tw[v].record(failed, false, false, latency);
        }
        if let Some(x) = &mut self.exposition {
            x.record(v, failed, latency, d.z);
        }
    }

    /// Sends synthetic traffic to `version` at `rate` per second from `now` (0: stops it).
    pub fn set_probe(&mut self, now: SimTime, version: VersionId, rate: f64) {
        self.probe.set(now, version, rate);
    }

    /// Re-evaluates which faults are in force and how loaded each version is at `now`.
    /// Call after anything that changes them (a fault boundary, routing, scaling, a load tick).
    pub fn refresh(&mut self, now: SimTime) {
        for v in VersionId::ALL {
            let mut effects = std::mem::take(&mut self.effects[v.index()]);
            effects.clear();
            for (i, f) in self.spec.faults.iter().enumerate() {
                if !self.fault_active(f, now) || !f.target.includes(v) {
                    continue;
                }
                let Some(effect) = f.effect() else {
                    continue;
                };
                let kind = match effect {
                    fault::Effect::Error(p) => EffectKind::Error(thr32(p)),
                    fault::Effect::Delay(us) => EffectKind::Delay(us),
                    fault::Effect::Corrupt(p) => EffectKind::Corrupt(thr32(p)),
                    fault::Effect::Ramp {
                        start_us,
                        ramp_us,
                        rate,
                        delay_us,
                    } => EffectKind::Ramp {
                        start_us,
                        ramp_us,
                        rate: rate.get(),
                        delay_us,
                    },
                };
                effects.push(Effect {
                    bit: 1 << i,
                    scope: self.scopes[i],
                    kind,
                    instances: f.instances().unwrap_or(u32::MAX),
                });
            }
            self.effects[v.index()] = effects;
            self.shedding[v.index()] = self.shedding_at(now, v);
        }
        let harmful = self.shedding.iter().any(|s| s.with > s.without);
        self.capacity_clear_since = clear_since(harmful, self.capacity_clear_since, now);
        if let Some(db) = &self.database {
            let harmful = VersionId::ALL
                .iter()
                .any(|&v| self.routing.share(v) > 0.0 && db.can_harm(now, v));
            self.database_clear_since = clear_since(harmful, self.database_clear_since, now);
        }
    }

    /// The service this world simulates (its faults, fleet, database plan).
    pub fn service(&self) -> &'s ServiceSpec {
        self.spec
    }

    /// Whether fault `f` is in force at `t` (a roll-forward hotfix ends the candidate's).
    pub fn fault_active(&self, f: &Fault, t: SimTime) -> bool {
        f.active_at(t) && !(f.is_candidates() && self.fixed_at.is_some_and(|x| t >= x))
    }

    /// When the hotfix landed, if it did.
    pub fn fixed_at(&self) -> Option<SimTime> {
        self.fixed_at
    }

    /// The migrated table, if any.
    pub fn database(&self) -> Option<&Database> {
        self.database.as_ref()
    }

    /// Since when the database can hurt no request, for good (`None`: it can at the end).
    pub fn database_clear_since(&self) -> Option<SimTime> {
        self.database_clear_since
    }

    /// Since when no fault has caused load shedding, for good (`None`: one does at the end).
    pub fn capacity_clear_since(&self) -> Option<SimTime> {
        self.capacity_clear_since
    }

    /// Load shedding of `v` at `now`: with capacity `c` and offered load `λ > c`, a share
    /// `1 − c/λ` of requests is rejected (fail-fast shedding); admitted requests keep their
    /// latency. Computed from the expected offered rate, with and without the faults.
    ///
    /// Where both versions share the load (flags on one fleet, a Service over ready
    /// instances) capacity is pooled; without the faults it also counts the instances a
    /// crash loop keeps from becoming ready.
    fn shedding_at(&self, now: SimTime, v: VersionId) -> Shedding {
        let Some(per_instance) = self.spec.fleet.capacity_rps else {
            return Shedding::default();
        };
        let pooled = self.routing.pooled() || self.by_ready_instances;
        let versions: &[VersionId] = if pooled {
            &VersionId::ALL
        } else {
            std::slice::from_ref(&v)
        };
        let share = if pooled { 1.0 } else { self.routing.share(v) };
        let base = self.spec.traffic.rate_at(now) * share;
        let (mut extra, mut killed, mut causes) = (0.0, 0u32, 0u64);
        let (mut ready, mut blocked) = (0u32, 0u32);
        for &u in versions {
            ready += self.fleet.ready(u);
            blocked += self.fleet.blocked(u);
        }
        for (i, f) in self.spec.faults.iter().enumerate() {
            match f.kind {
                FaultKind::TrafficSpike { multiplier } if f.active_at(now) => {
                    extra += base * (multiplier - 1.0);
                    causes |= 1 << i;
                }
                FaultKind::InstanceKill { instances }
                    if versions.iter().any(|&u| f.target.includes(u))
                        && f.in_force_at(now, self.spec.fleet.startup) =>
                {
                    killed += instances;
                    causes |= 1 << i;
                }
                FaultKind::CrashLoop
                    if blocked > 0 && versions.iter().any(|&u| f.target.includes(u)) =>
                {
                    causes |= 1 << i;
                }
                _ => {}
            }
        }
        let shed = |offered: f64, instances: u32| {
            let capacity = f64::from(instances) * per_instance;
            if offered > capacity {
                thr32(1.0 - capacity / offered)
            } else {
                0
            }
        };
        Shedding {
            with: shed(base + extra, ready.saturating_sub(killed)),
            without: shed(base, ready + blocked),
            causes,
        }
    }

    /// Starts keeping per-version timeline windows (latency included), at some cost per request.
    pub fn record_timeline(&mut self) {
        self.timeline_windows = Some([Window::new(true), Window::new(true)]);
    }

    /// Starts keeping the candidate's requests of the last `keep` (latencies too when
    /// `with_latency`, the stable's too when `service`), for analyses whose metrics read
    /// windows of their own.
    pub fn keep_history(&mut self, keep: SimTime, with_latency: bool, service: bool) {
        self.history = Some(History::new(keep, with_latency, service));
    }

    /// Starts counting what the service exposes to Prometheus: request counters, and a
    /// latency histogram with upper bounds `bounds_us` (µs; empty for none).
    pub fn expose(&mut self, bounds_us: Vec<f64>) {
        let latency = self.spec.versions.each_ref().map(|v| &v.latency);
        self.exposition = Some(Exposition::new(bounds_us, latency));
    }

    /// Runs an experiment baseline beside the candidate (see [`Experiment`]): its window
    /// records latencies when `with_latency`.
    pub fn run_experiment(&mut self, streams: &RngStreams, with_latency: bool) {
        let salt = streams.derive(streams::EXPERIMENT);
        self.experiment = Some(Experiment::new(salt, with_latency));
    }

    /// Routes `weight_pct` % of traffic to the candidate from `now` on.
    pub fn set_weight(&mut self, now: SimTime, weight_pct: f64) {
        self.routing.set_weight(now, weight_pct);
        self.refresh(now);
    }

    /// Sets the flag's target percentage at `now` (flag routing).
    pub fn set_flag(&mut self, now: SimTime, percent: f64) {
        self.routing.set_flag(now, percent);
        self.refresh(now);
    }

    /// Runs `instances` instances of `v` from `now` on; new ones serve after `ready_after`.
    /// Returns when new instances come due (now, when they serve at once): call
    /// [`World::promote_due`] then, and tell whoever waits for them.
    pub fn scale(
        &mut self,
        now: SimTime,
        v: VersionId,
        instances: u32,
        ready_after: SimTime,
    ) -> Option<SimTime> {
        let due = self.fleet.scale(now, v, instances, ready_after);
        if let Some(h) = &mut self.health {
            if instances > self.fleet.ready(v) {
                // Instances that come due later started now.
                self.ready_after[v.index()] = ready_after;
            }
            h.sync(now, v, self.fleet.ready(v), now);
        }
        self.rebalance(now);
        due
    }

    /// Makes the instances of `v` due by `now` ready, unless `v` crash-loops (a `crash_loop`
    /// fault on it is in force): those never pass readiness. Returns how many became ready.
    pub fn promote_due(&mut self, now: SimTime, v: VersionId) -> u32 {
        let blocked =
            self.spec.faults.iter().any(|f| {
                f.kind == FaultKind::CrashLoop && f.target.includes(v) && f.active_at(now)
            });
        let ready = self.fleet.promote_due(now, v, blocked);
        if let Some(h) = &mut self.health {
            let started = now.saturating_sub(self.ready_after[v.index()]);
            h.sync(now, v, self.fleet.ready(v), started);
        }
        self.rebalance(now);
        ready
    }

    /// Instances of `v` running now (started, serving or not).
    pub fn running(&self, v: VersionId) -> u32 {
        self.fleet.running(v)
    }

    /// Instances of `v` serving now (readiness probes and restarts included, when kept).
    pub fn ready(&self, v: VersionId) -> u32 {
        match &self.health {
            Some(h) => h.serving(v),
            None => self.fleet.ready(v),
        }
    }

    /// The next moment at or after `from` when a probe, a restart or an outlier sweep is due
    /// (`None` without probes or outlier detection).
    pub fn health_due(&self, from: SimTime) -> Option<SimTime> {
        self.health.as_ref().and_then(|h| h.next_due(from))
    }

    /// Runs the probes, restarts and outlier sweep due at `now`. Returns whether the serving
    /// instances changed (routing and load are then re-evaluated).
    pub fn health_tick(&mut self, now: SimTime) -> bool {
        let Some(mut h) = self.health.take() else {
            return false;
        };
        let faults: Vec<(usize, &Fault)> = (self.spec.faults.iter().enumerate())
            .filter(|(_, f)| self.fault_active(f, now))
            .collect();
        let changed = h.tick(now, &faults);
        self.health = Some(h);
        if changed {
            self.rebalance(now);
        }
        changed
    }

    /// Whether a readiness probe keeps instances of `v` out of rotation now: some were taken
    /// out, or came due while `v` crash-looped and never passed (without a readiness probe,
    /// never).
    pub fn fails_readiness(&self, v: VersionId) -> bool {
        self.health
            .as_ref()
            .is_some_and(|h| h.has_readiness() && (h.out(v) || self.fleet.blocked(v) > 0))
    }

    /// The first probe failure that took an instance out, and the fault behind it.
    pub fn probe_out(&self) -> Option<(SimTime, usize)> {
        self.health.as_ref().and_then(|h| h.first_out())
    }

    /// Liveness restarts and outlier ejections so far.
    pub fn restarts_and_ejections(&self) -> (u64, u64) {
        self.health
            .as_ref()
            .map_or((0, 0), |h| (h.restarts(), h.ejections))
    }

    /// Re-spreads traffic over ready instances (when routing follows them) and re-evaluates load.
    fn rebalance(&mut self, now: SimTime) {
        if self.by_ready_instances {
            let (s, c) = (
                self.ready(VersionId::Stable),
                self.ready(VersionId::Candidate),
            );
            let w = if s + c == 0 {
                0.0
            } else {
                100.0 * f64::from(c) / f64::from(s + c)
            };
            self.routing.set_weight(now, w);
        }
        self.refresh(now);
    }

    /// The router, read-only.
    pub fn routing(&self) -> &Routing {
        &self.routing
    }

    /// Instance-seconds used up to `now`.
    pub fn instance_seconds(&mut self, now: SimTime) -> f64 {
        self.fleet.instance_seconds(now)
    }
}
