//! One version's instances, one by one: kept only when a scenario needs them (probes,
//! outlier detection, a fault on some instances), to route each request to an instance.
//!
//! The fleet ([`super::Fleet`]) counts a version's ready instances; the pool mirrors them one
//! by one, with what the probes and the outlier detector know of each. A request of the
//! version goes to one of its routable instances, uniformly: the instance is a function of
//! the request's routing draw (no extra random number), so adding a pool shifts no stream.

use crate::engine::{SimTime, splitmix64};

/// One instance of a version.
#[derive(Debug, Clone)]
pub(super) struct Instance {
    /// Start order within its version, from 0: a fault with `instances = k` hits ids below `k`.
    pub id: u32,
    /// When its container (last) started: the memory leak's origin and the probes' phase.
    pub started: SimTime,
    /// From when it serves (start-up after a restart).
    pub up_at: SimTime,
    /// In rotation as far as readiness knows.
    pub ready: bool,
    /// Consecutive probe failures: readiness, liveness.
    pub fails: [u32; 2],
    /// Consecutive readiness successes while out of rotation.
    pub oks: u32,
    /// Killed by its liveness probe: restarts then.
    pub kill_at: Option<SimTime>,
    /// The fault (bit) that last took it out.
    pub cause: u64,
    /// Consecutive 5xx responses (outlier detection).
    pub consecutive_5xx: u32,
    /// Ejected by outlier detection since.
    pub ejected_at: Option<SimTime>,
    /// Envoy's ejection-time multiplier: ejections in a row, decremented while healthy.
    pub backoff: u32,
    /// Last unejection.
    pub unejected_at: Option<SimTime>,
}

impl Instance {
    fn new(id: u32, now: SimTime) -> Instance {
        Instance {
            id,
            started: now,
            up_at: now,
            ready: true,
            fails: [0, 0],
            oks: 0,
            kill_at: None,
            cause: 0,
            consecutive_5xx: 0,
            ejected_at: None,
            backoff: 0,
            unejected_at: None,
        }
    }

    /// Whether it serves at `now`: ready, and not restarting.
    pub fn serving(&self, now: SimTime) -> bool {
        self.ready && now >= self.up_at
    }
}

/// The instance a request went to: what the per-request fault effects read.
#[derive(Debug, Clone, Copy)]
pub(super) struct Picked {
    /// Index in the pool (`usize::MAX`: no pool).
    pub index: usize,
    /// Its [`Instance::id`] (0 without a pool: every effect applies).
    pub id: u32,
    /// Its container start, µs: a memory leak's level counts from here at the earliest.
    pub origin_us: f64,
}

impl Picked {
    /// Any instance: no pool is kept.
    pub const ANY: Picked = Picked {
        index: usize::MAX,
        id: 0,
        origin_us: 0.0,
    };
}

/// One version's instances.
#[derive(Debug, Clone, Default)]
pub(super) struct Pool {
    pub instances: Vec<Instance>,
    next_id: u32,
    /// Indices of the instances requests go to.
    routable: Vec<usize>,
    /// Instances serving (ready, not restarting).
    serving: u32,
    /// The faults behind the instances not serving.
    causes: u64,
}

impl Pool {
    /// Adds or removes instances so that `ready` are kept. New ones serve from `now`, their
    /// containers started at `started`; removal takes instances out of service first, then
    /// the newest.
    pub fn sync(&mut self, now: SimTime, ready: u32, started: SimTime) {
        while (self.instances.len() as u32) < ready {
            let mut x = Instance::new(self.next_id, now);
            x.started = started;
            self.instances.push(x);
            self.next_id += 1;
        }
        while self.instances.len() as u32 > ready {
            let i = self
                .instances
                .iter()
                .rposition(|x| !x.serving(now))
                .unwrap_or(self.instances.len() - 1);
            self.instances.remove(i);
        }
    }

    /// Recomputes where requests go at `now`: the serving instances, without the ejected
    /// ones unless fewer than `panic_pct` % of the serving ones are left (Envoy's panic
    /// threshold: then every serving instance, ejected or not).
    pub fn rebuild(&mut self, now: SimTime, panic_pct: Option<f64>) {
        self.routable.clear();
        self.causes = 0;
        let mut serving = Vec::new();
        for (i, x) in self.instances.iter().enumerate() {
            if x.serving(now) {
                serving.push(i);
            } else {
                self.causes |= x.cause;
            }
        }
        self.serving = serving.len() as u32;
        self.routable.extend(
            serving
                .iter()
                .copied()
                .filter(|&i| self.instances[i].ejected_at.is_none()),
        );
        let panic = panic_pct.is_some_and(|p| {
            !serving.is_empty() && 100.0 * (self.routable.len() as f64) < p * serving.len() as f64
        });
        if panic {
            self.routable = serving;
        }
    }

    /// The instance for a request whose routing draws are `route` and `write` (the two halves
    /// of one 64-bit draw), uniformly among the routable ones; `None` when there is none.
    #[inline]
    pub fn pick(&self, route: u32, write: u32) -> Option<Picked> {
        let n = self.routable.len();
        if n == 0 {
            return None;
        }
        let h = splitmix64(u64::from(route) | (u64::from(write) << 32));
        let index = self.routable[((u128::from(h) * n as u128) >> 64) as usize];
        let x = &self.instances[index];
        Some(Picked {
            index,
            id: x.id,
            origin_us: x.started.micros() as f64,
        })
    }

    /// The routable instances, as requests see them (windows mode splits a version's
    /// requests over them evenly, as [`Pool::pick`] does one by one).
    pub fn routable_picks(&self) -> impl Iterator<Item = Picked> + '_ {
        self.routable.iter().map(|&index| {
            let x = &self.instances[index];
            Picked {
                index,
                id: x.id,
                origin_us: x.started.micros() as f64,
            }
        })
    }

    /// Instances serving, as of the last [`Pool::rebuild`].
    pub fn serving(&self) -> u32 {
        self.serving
    }

    /// Instances requests can go to, as of the last [`Pool::rebuild`].
    #[cfg(test)]
    pub fn routable(&self) -> usize {
        self.routable.len()
    }

    /// The faults behind the instances not serving (what an unroutable request blames).
    pub fn causes(&self) -> u64 {
        self.causes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_spread_uniformly_over_routable_instances() {
        let mut p = Pool::default();
        p.sync(SimTime::ZERO, 4, SimTime::ZERO);
        p.rebuild(SimTime::ZERO, None);
        let mut counts = [0u32; 4];
        for k in 0..40_000u32 {
            let x = p.pick(k.wrapping_mul(2_654_435_761), k).unwrap();
            counts[x.index] += 1;
        }
        // 10 000 each; a binomial sd of 87: within 5 sd.
        assert!(
            counts.iter().all(|&c| c.abs_diff(10_000) < 435),
            "{counts:?}"
        );
    }

    #[test]
    fn removal_takes_instances_out_of_service_first() {
        let mut p = Pool::default();
        p.sync(SimTime::ZERO, 3, SimTime::ZERO);
        p.instances[0].ready = false;
        p.sync(SimTime::ZERO, 2, SimTime::ZERO);
        assert_eq!(p.instances.iter().map(|x| x.id).collect::<Vec<_>>(), [1, 2]);
        p.sync(SimTime::ZERO, 1, SimTime::ZERO);
        assert_eq!(p.instances[0].id, 1);
        p.rebuild(SimTime::ZERO, None);
        assert_eq!((p.serving(), p.routable()), (1, 1));
    }
}
