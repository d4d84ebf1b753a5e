//! Kubernetes readiness and liveness probes: periodic control events that take failing
//! instances of a version out of rotation, or restart them.
//!
//! Semantics (Kubernetes `Probe`, <https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#Probe>,
//! and <https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/>):
//! - A probe runs on each instance at `started + initial_delay + k × period` (`started`: when
//!   its container started; the kubelet's start-up jitter is left out). Its result is taken
//!   at the tick, including a timeout.
//! - Readiness: `failure_threshold` consecutive failures take the instance out of rotation;
//!   `success_threshold` consecutive successes put it back.
//! - Liveness: `failure_threshold` consecutive failures kill the container; it restarts
//!   `termination_grace` later (the leak starts again from 0 then) and serves again after the
//!   fleet's `startup`.
//! - What fails a probe (the probe is a request to the instance's own handler): a crash loop
//!   of its version (always); a `dependency_outage` with `probe = true` (readiness only, with
//!   probability `rate`: liveness probes check the process, not its dependencies, as the
//!   Kubernetes docs advise); a `memory_leak` of its version at the instance's level
//!   `ℓ = clamp((t − max(fault start, container start)) / ramp, 0, 1)`: the probe times out
//!   when `ℓ × delay ≥ timeout`, and otherwise fails with probability `ℓ × rate`.

use super::VersionId;
use super::fault::{Fault, FaultKind};
use super::outlier::OutlierSpec;
use super::pool::{Instance, Picked, Pool};
use crate::engine::{Rng, SimTime};
use rand::RngExt;
use std::cell::Cell;

/// What watches a service's instances one by one: its probes and its mesh's outlier detection.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HealthSpec {
    /// `[fleet.probes]`.
    pub probes: Option<ProbesSpec>,
    /// `[fleet.outlier_detection]`.
    pub outlier: Option<OutlierSpec>,
}

/// One probe's timing (a Kubernetes `Probe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeSpec {
    /// Time between two probes (`periodSeconds`).
    pub period: SimTime,
    /// Longest response a probe waits for (`timeoutSeconds`).
    pub timeout: SimTime,
    /// Consecutive failures that count as failed (`failureThreshold`).
    pub failure_threshold: u32,
    /// Consecutive successes that count as passed after a failure (`successThreshold`).
    pub success_threshold: u32,
    /// Time from the container's start to its first probe (`initialDelaySeconds`).
    pub initial_delay: SimTime,
}

impl ProbeSpec {
    /// The first probe at or after `t` of a container started at `started`.
    pub fn next_tick(&self, started: SimTime, t: SimTime) -> SimTime {
        let first = started.saturating_add(self.initial_delay);
        if t <= first {
            return first;
        }
        let period = self.period.micros().max(1);
        let k = (t - first).micros().div_ceil(period);
        first.saturating_add(SimTime(k * period))
    }

    /// Whether a probe runs at `t` on a container started at `started`.
    fn ticks_at(&self, started: SimTime, t: SimTime) -> bool {
        self.next_tick(started, t) == t
    }
}

/// `[fleet.probes]`: the probes every instance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbesSpec {
    /// The readiness probe, if any.
    pub readiness: Option<ProbeSpec>,
    /// The liveness probe, if any.
    pub liveness: Option<ProbeSpec>,
    /// Time from a liveness kill to the restart (`terminationGracePeriodSeconds`).
    pub termination_grace: SimTime,
}

/// Which probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Readiness,
    Liveness,
}

/// Whether a probe of `kind` on instance `inst` of `v` fails at `t`, and the fault to blame.
/// Draws from `rng` only when the failure is random (a probability strictly between 0 and 1).
fn fails(
    rng: &mut Rng,
    (kind, probe): (Kind, &ProbeSpec),
    v: VersionId,
    inst: &Instance,
    t: SimTime,
    faults: &[(usize, &Fault)],
) -> Option<usize> {
    let mut chance = |p: f64| {
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            rng.random::<f64>() < p
        }
    };
    for &(i, f) in faults {
        match f.kind {
            FaultKind::CrashLoop if f.target.includes(v) => return Some(i),
            FaultKind::DependencyOutage { rate, probe: true }
                if kind == Kind::Readiness && chance(rate.get()) =>
            {
                return Some(i);
            }
            FaultKind::MemoryLeak { rate, delay, ramp } if f.target.includes(v) => {
                let origin = f.start.max(inst.started);
                let level = (t.saturating_sub(origin).micros() as f64
                    / (ramp.micros() as f64).max(1.0))
                .clamp(0.0, 1.0);
                if level * delay.micros() as f64 >= probe.timeout.micros() as f64
                    || chance(level * rate.get())
                {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The probes' state across both versions' pools.
#[derive(Debug, Clone)]
pub(super) struct Probes {
    spec: ProbesSpec,
    /// Time from a restart to serving again (the fleet's `startup`).
    startup: SimTime,
    rng: Rng,
    /// The first probe failure that took an instance out (readiness removal or liveness
    /// kill), and the fault behind it.
    pub first_out: Option<(SimTime, usize)>,
    /// Liveness restarts so far.
    pub restarts: u64,
}

impl Probes {
    pub fn new(spec: ProbesSpec, startup: SimTime, rng: Rng) -> Probes {
        Probes {
            spec,
            startup,
            rng,
            first_out: None,
            restarts: 0,
        }
    }

    /// Runs what is due at `now` on `pool` (of version `v`): restarts, then the probes of
    /// every serving instance. `faults` are the faults in force, with their indices.
    /// Returns whether any instance joined or left rotation.
    pub fn tick(
        &mut self,
        now: SimTime,
        v: VersionId,
        pool: &mut Pool,
        faults: &[(usize, &Fault)],
    ) -> bool {
        let mut changed = false;
        let crash_looping = faults
            .iter()
            .any(|(_, f)| f.kind == FaultKind::CrashLoop && f.target.includes(v));
        for inst in pool.instances.iter_mut() {
            if inst.kill_at.is_some_and(|k| k <= now) {
                // The new container: start-up first; a crash-looping one never passes readiness.
                inst.kill_at = None;
                inst.started = now;
                inst.up_at = now.saturating_add(self.startup);
                inst.fails = [0, 0];
                inst.oks = 0;
                // Without a readiness probe nothing would put it back: it counts as ready.
                inst.ready = !crash_looping || self.spec.readiness.is_none();
                self.restarts += 1;
                changed = true;
            }
            if inst.up_at == now {
                changed = true;
            }
            if now < inst.up_at {
                continue;
            }
            if let Some(r) = self
                .spec
                .readiness
                .filter(|r| r.ticks_at(inst.started, now))
            {
                let failed = fails(&mut self.rng, (Kind::Readiness, &r), v, inst, now, faults);
                if let Some(i) = failed {
                    inst.fails[0] += 1;
                    inst.oks = 0;
                    if inst.ready && inst.fails[0] >= r.failure_threshold {
                        inst.ready = false;
                        inst.cause = 1 << i;
                        self.first_out.get_or_insert((now, i));
                        changed = true;
                    }
                } else {
                    inst.fails[0] = 0;
                    if !inst.ready {
                        inst.oks += 1;
                        if inst.oks >= r.success_threshold {
                            inst.ready = true;
                            inst.oks = 0;
                            changed = true;
                        }
                    }
                }
            }
            if let Some(l) = self
                .spec
                .liveness
                .filter(|l| inst.kill_at.is_none() && l.ticks_at(inst.started, now))
            {
                match fails(&mut self.rng, (Kind::Liveness, &l), v, inst, now, faults) {
                    Some(i) => {
                        inst.fails[1] += 1;
                        if inst.fails[1] >= l.failure_threshold {
                            inst.fails[1] = 0;
                            inst.kill_at = Some(now.saturating_add(self.spec.termination_grace));
                            inst.cause = 1 << i;
                            self.first_out.get_or_insert((now, i));
                        }
                    }
                    None => inst.fails[1] = 0,
                }
            }
        }
        changed
    }

    /// The next moment at or after `from` when something is due on `pool`.
    pub fn next_due(&self, pool: &Pool, from: SimTime) -> Option<SimTime> {
        let mut next: Option<SimTime> = None;
        let mut consider = |t: SimTime| {
            if t >= from && next.is_none_or(|n| t < n) {
                next = Some(t);
            }
        };
        for inst in &pool.instances {
            if let Some(k) = inst.kill_at {
                consider(k.max(from));
                continue;
            }
            consider(inst.up_at);
            let at = from.max(inst.up_at);
            for p in [self.spec.readiness, self.spec.liveness]
                .into_iter()
                .flatten()
            {
                consider(p.next_tick(inst.started, at));
            }
        }
        next
    }
}

/// Both versions' pools, with their probes and outlier detection: the per-instance state
/// of a world that keeps one (see [`super::pool`]).
#[derive(Debug, Clone)]
pub(super) struct Health {
    pools: [Pool; 2],
    probes: Option<Probes>,
    outlier: Option<OutlierSpec>,
    next_sweep: SimTime,
    /// Outlier ejections so far.
    pub ejections: u64,
    /// The last [`Health::next_due`] answer `(from, due)`: it holds for any later `from` up
    /// to `due` until something changes (the replay asks after every control event, and the
    /// answer costs a pass over every instance).
    due: Cell<Option<(SimTime, Option<SimTime>)>>,
}

impl Health {
    /// `ready` instances of each version at time 0.
    pub fn new(spec: &HealthSpec, startup: SimTime, rng: Rng, ready: [u32; 2]) -> Health {
        let mut h = Health {
            pools: [Pool::default(), Pool::default()],
            probes: spec.probes.map(|p| Probes::new(p, startup, rng)),
            outlier: spec.outlier,
            next_sweep: spec
                .outlier
                .map_or(SimTime::ZERO, |o| o.next_sweep(SimTime::ZERO)),
            ejections: 0,
            due: Cell::new(None),
        };
        for v in VersionId::ALL {
            h.sync(SimTime::ZERO, v, ready[v.index()], SimTime::ZERO);
        }
        h
    }

    /// Mirrors the fleet: `ready` instances of `v` at `now`, new ones started at `started`.
    pub fn sync(&mut self, now: SimTime, v: VersionId, ready: u32, started: SimTime) {
        self.due.set(None);
        let pool = &mut self.pools[v.index()];
        pool.sync(now, ready, started);
        pool.rebuild(now, self.outlier.map(|o| o.panic_threshold));
    }

    /// The instance of `v` a request with these routing draws goes to (`None`: unroutable).
    #[inline]
    pub fn pick(&self, v: VersionId, route: u32, write: u32) -> Option<Picked> {
        self.pools[v.index()].pick(route, write)
    }

    /// The routable instances of `v` (empty: its requests are unroutable).
    pub fn routable(&self, v: VersionId) -> Vec<Picked> {
        self.pools[v.index()].routable_picks().collect()
    }

    /// Instances of `v` serving now.
    pub fn serving(&self, v: VersionId) -> u32 {
        self.pools[v.index()].serving()
    }

    /// The faults behind `v`'s instances not serving.
    pub fn causes(&self, v: VersionId) -> u64 {
        self.pools[v.index()].causes()
    }

    /// Whether a readiness probe runs.
    pub fn has_readiness(&self) -> bool {
        self.probes
            .as_ref()
            .is_some_and(|p| p.spec.readiness.is_some())
    }

    /// Whether readiness has taken instances of `v` out of rotation.
    pub fn out(&self, v: VersionId) -> bool {
        self.pools[v.index()].instances.iter().any(|x| !x.ready)
    }

    /// The first probe failure that took an instance out, and the fault behind it.
    pub fn first_out(&self) -> Option<(SimTime, usize)> {
        self.probes.as_ref().and_then(|p| p.first_out)
    }

    /// Liveness restarts so far.
    pub fn restarts(&self) -> u64 {
        self.probes.as_ref().map_or(0, |p| p.restarts)
    }

    /// Records a response of instance `picked` of `v` for outlier detection (a no-op without it).
    #[inline]
    pub fn observe(&mut self, v: VersionId, picked: Picked, failed: bool, now: SimTime) {
        let Some(o) = self.outlier else {
            return;
        };
        let pool = &mut self.pools[v.index()];
        if o.observe(pool, picked.index, failed, now) {
            self.ejections += 1;
            pool.rebuild(now, Some(o.panic_threshold));
        }
    }

    /// The outlier detection, if any.
    pub fn outlier(&self) -> Option<OutlierSpec> {
        self.outlier
    }

    /// Consecutive failed responses of instance `index` of `v` so far (outlier detection).
    pub fn consecutive_5xx(&self, v: VersionId, index: usize) -> u32 {
        self.pools[v.index()].instances[index].consecutive_5xx
    }

    /// Sets the consecutive failed responses of instance `index` of `v` (windows mode draws
    /// them per piece).
    pub fn set_consecutive_5xx(&mut self, v: VersionId, index: usize, count: u32) {
        self.pools[v.index()].instances[index].consecutive_5xx = count;
    }

    /// Whether the next run of `consecutive_5xx` failures of instance `index` of `v` would
    /// eject it at `now` (false without outlier detection).
    pub fn ejectable(&self, v: VersionId, index: usize, now: SimTime) -> bool {
        self.outlier
            .is_some_and(|o| o.ejectable(&self.pools[v.index()], index, now))
    }

    /// Ejects instance `index` of `v` at `now` (its run of failures reached
    /// `consecutive_5xx` while [`Health::ejectable`]).
    pub fn eject(&mut self, v: VersionId, index: usize, now: SimTime) {
        let Some(o) = self.outlier else {
            return;
        };
        let pool = &mut self.pools[v.index()];
        o.eject(pool, index, now);
        self.ejections += 1;
        pool.rebuild(now, Some(o.panic_threshold));
    }

    /// Runs what is due at `now` (restarts, probes, the outlier sweep) with the faults in
    /// force `faults`; returns whether the serving instances changed.
    pub fn tick(&mut self, now: SimTime, faults: &[(usize, &Fault)]) -> bool {
        self.due.set(None);
        let mut changed = false;
        let sweep = self.outlier.filter(|_| now >= self.next_sweep);
        for v in VersionId::ALL {
            let pool = &mut self.pools[v.index()];
            let mut moved = false;
            if let Some(p) = &mut self.probes {
                moved |= p.tick(now, v, pool, faults);
            }
            if let Some(o) = sweep {
                moved |= o.sweep(pool, now);
            }
            pool.rebuild(now, self.outlier.map(|o| o.panic_threshold));
            changed |= moved;
        }
        if let Some(o) = sweep {
            self.next_sweep = o.next_sweep(now);
        }
        changed
    }

    /// The next moment at or after `from` when something is due.
    pub fn next_due(&self, from: SimTime) -> Option<SimTime> {
        if let Some((since, due)) = self.due.get()
            && since <= from
            && due.is_none_or(|d| from <= d)
        {
            return due;
        }
        let due = self.compute_due(from);
        self.due.set(Some((from, due)));
        due
    }

    fn compute_due(&self, from: SimTime) -> Option<SimTime> {
        let sweep = self.outlier.map(|_| self.next_sweep.max(from));
        let probes = self.probes.as_ref().and_then(|p| {
            self.pools
                .iter()
                .filter_map(|pool| p.next_due(pool, from))
                .min()
        });
        match (sweep, probes) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(period: u64, threshold: u32, delay: u64) -> ProbeSpec {
        ProbeSpec {
            period: SimTime::from_secs(period),
            timeout: SimTime::from_secs(1),
            failure_threshold: threshold,
            success_threshold: 1,
            initial_delay: SimTime::from_secs(delay),
        }
    }

    fn leak_and_crash(leak_start: u64) -> [Fault; 2] {
        use super::super::Target;
        use crate::engine::Probability;
        let leak = Fault {
            kind: FaultKind::MemoryLeak {
                rate: Probability::ZERO,
                delay: SimTime::from_secs(2),
                ramp: SimTime::from_secs(100),
            },
            target: Target::Version(VersionId::Stable),
            start: SimTime::from_secs(leak_start),
            end: None,
            users: Probability::ONE,
        };
        let crash = Fault {
            kind: FaultKind::CrashLoop,
            ..leak.clone()
        };
        [leak, crash]
    }

    #[test]
    fn a_liveness_kill_restarts_the_container_with_the_leak_at_zero() {
        let s = SimTime::from_secs;
        let spec = ProbesSpec {
            readiness: None,
            liveness: Some(probe(10, 3, 0)),
            termination_grace: s(30),
        };
        let mut p = Probes::new(spec, s(30), crate::engine::RngStreams::new(1, 0).named("t"));
        let mut pool = Pool::default();
        pool.sync(s(0), 1, s(0));
        let [leak, _] = leak_and_crash(0);
        let faults = [(0, &leak)];
        // ℓ × 2 s ≥ 1 s from 50 s: failures at 50, 60, 70; killed at 70, restarted at 100.
        for t in (0..=100).step_by(10) {
            p.tick(s(t), VersionId::Stable, &mut pool, &faults);
        }
        assert_eq!(p.first_out, Some((s(70), 0)));
        assert_eq!(p.restarts, 1);
        let x = &pool.instances[0];
        assert_eq!((x.started, x.up_at, x.kill_at), (s(100), s(130), None));
        // From 130 s the leak counts from 100 s: 0.3 × 2 s < 1 s, no failure yet.
        assert!(
            fails(
                &mut p.rng,
                (Kind::Liveness, &probe(10, 3, 0)),
                VersionId::Stable,
                x,
                s(140),
                &faults
            )
            .is_none()
        );
        assert!(
            fails(
                &mut p.rng,
                (Kind::Liveness, &probe(10, 3, 0)),
                VersionId::Stable,
                x,
                s(150),
                &faults
            )
            .is_some()
        );
    }

    #[test]
    fn a_restart_in_a_crash_loop_stays_out_of_rotation_until_readiness_passes() {
        let s = SimTime::from_secs;
        let spec = ProbesSpec {
            readiness: Some(probe(10, 1, 0)),
            liveness: Some(probe(10, 1, 0)),
            termination_grace: s(0),
        };
        let mut p = Probes::new(spec, s(0), crate::engine::RngStreams::new(1, 0).named("t"));
        let mut pool = Pool::default();
        pool.sync(s(0), 1, s(0));
        let [_, crash] = leak_and_crash(5);
        let faults = [(1, &crash)];
        assert!(p.tick(s(10), VersionId::Stable, &mut pool, &faults));
        assert!(!pool.instances[0].ready);
        assert_eq!(pool.instances[0].kill_at, Some(s(10)));
        p.tick(s(20), VersionId::Stable, &mut pool, &faults);
        assert!(!pool.instances[0].ready, "restarted into the crash loop");
        // The crash loop is over: the next readiness probe passes (success_threshold 1).
        assert!(p.tick(s(30), VersionId::Stable, &mut pool, &[]));
        assert!(pool.instances[0].serving(s(30)));
    }

    #[test]
    fn ticks_are_aligned_on_the_container_start_plus_initial_delay() {
        let p = probe(10, 3, 5);
        let s = SimTime::from_secs;
        // Started at 2 s: probes at 7, 17, 27…
        assert_eq!(p.next_tick(s(2), s(0)), s(7));
        assert_eq!(p.next_tick(s(2), s(7)), s(7));
        assert_eq!(p.next_tick(s(2), SimTime(7_000_001)), s(17));
        assert_eq!(p.next_tick(s(2), s(20)), s(27));
        assert!(p.ticks_at(s(2), s(27)) && !p.ticks_at(s(2), s(26)));
    }
}
