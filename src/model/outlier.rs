//! Envoy outlier detection (the mesh's circuit breaker) on one version's pool: consecutive
//! 5xx ejection, unejection at the interval sweeps, and the panic threshold.
//!
//! Semantics (<https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/outlier_detection.proto>,
//! <https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/outlier>,
//! <https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/panic_threshold>):
//! - An instance's `consecutive_5xx`-th failed response in a row ejects it at once (the
//!   counter restarts), if that leaves at most `max_ejection_percent` % of the pool ejected:
//!   `100 × (ejected + 1) / instances ≤ max_ejection_percent`.
//! - Each ejection raises the instance's multiplier by one (while `base × multiplier` is below
//!   `max_ejection_time`); it stays ejected `min(base × multiplier, max(base, max_ejection_time))`.
//! - Sweeps run every `interval` from 0. A sweep unejects the instances whose time is up, and
//!   lowers by one the multiplier of each non-ejected instance unejected at least one
//!   interval ago.
//! - Below `panic_threshold` % of non-ejected instances, requests go to every instance.

use super::pool::Pool;
use crate::engine::SimTime;

/// `[fleet.outlier_detection]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutlierSpec {
    /// Consecutive failed responses that eject an instance.
    pub consecutive_5xx: u32,
    /// Time between two sweeps.
    pub interval: SimTime,
    /// Ejection time per ejection in a row.
    pub base_ejection_time: SimTime,
    /// Longest ejection time.
    pub max_ejection_time: SimTime,
    /// Largest share of a pool ejected at once, percent.
    pub max_ejection_percent: f64,
    /// Share of non-ejected instances below which every instance gets traffic, percent.
    pub panic_threshold: f64,
}

impl OutlierSpec {
    /// How long an instance ejected with multiplier `backoff` stays out.
    pub fn ejection_time(&self, backoff: u32) -> SimTime {
        let base = self.base_ejection_time;
        SimTime(base.micros().saturating_mul(u64::from(backoff)))
            .min(base.max(self.max_ejection_time))
    }

    /// Records the response of instance `index` at `now`; returns whether it was ejected.
    pub(super) fn observe(
        &self,
        pool: &mut Pool,
        index: usize,
        failed: bool,
        now: SimTime,
    ) -> bool {
        let x = &mut pool.instances[index];
        if !failed {
            x.consecutive_5xx = 0;
            return false;
        }
        x.consecutive_5xx += 1;
        if x.consecutive_5xx < self.consecutive_5xx {
            return false;
        }
        x.consecutive_5xx = 0;
        if !self.ejectable(pool, index, now) {
            return false;
        }
        self.eject(pool, index, now);
        true
    }

    /// Whether instance `index` would be ejected at `now` by its `consecutive_5xx`-th failure
    /// in a row: not ejected already, and ejecting it keeps at most `max_ejection_percent` %
    /// of the serving instances ejected.
    pub(super) fn ejectable(&self, pool: &Pool, index: usize, now: SimTime) -> bool {
        if pool.instances[index].ejected_at.is_some() {
            return false;
        }
        let hosts = pool.instances.iter().filter(|x| x.serving(now)).count();
        let ejected = pool
            .instances
            .iter()
            .filter(|x| x.serving(now) && x.ejected_at.is_some())
            .count();
        100.0 * (ejected + 1) as f64 <= self.max_ejection_percent * hosts as f64
    }

    /// Ejects instance `index` at `now`, raising its multiplier while `base × multiplier` is
    /// below `max_ejection_time`.
    pub(super) fn eject(&self, pool: &mut Pool, index: usize, now: SimTime) {
        let x = &mut pool.instances[index];
        x.consecutive_5xx = 0;
        x.ejected_at = Some(now);
        if SimTime(self.base_ejection_time.micros() * u64::from(x.backoff)) < self.max_ejection_time
        {
            x.backoff += 1;
        }
    }

    /// The sweep at `now`; returns whether an instance came back.
    pub(super) fn sweep(&self, pool: &mut Pool, now: SimTime) -> bool {
        let mut back = false;
        for x in &mut pool.instances {
            match x.ejected_at {
                Some(at) if now.saturating_sub(at) >= self.ejection_time(x.backoff) => {
                    x.ejected_at = None;
                    x.unejected_at = Some(now);
                    back = true;
                }
                Some(_) => {}
                None => {
                    if x.unejected_at
                        .is_some_and(|u| now.saturating_sub(u) >= self.interval)
                    {
                        x.backoff = x.backoff.saturating_sub(1);
                    }
                }
            }
        }
        back
    }

    /// The first sweep after `now`.
    pub fn next_sweep(&self, now: SimTime) -> SimTime {
        let i = self.interval.micros().max(1);
        SimTime((now.micros() / i + 1) * i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> OutlierSpec {
        OutlierSpec {
            consecutive_5xx: 5,
            interval: SimTime::from_secs(10),
            base_ejection_time: SimTime::from_secs(30),
            max_ejection_time: SimTime::from_secs(300),
            max_ejection_percent: 10.0,
            panic_threshold: 50.0,
        }
    }

    #[test]
    fn the_fifth_failure_in_a_row_ejects_within_the_percentage() {
        let (s, t) = (spec(), SimTime::from_secs(1));
        let mut p = Pool::default();
        p.sync(SimTime::ZERO, 10, SimTime::ZERO);
        for _ in 0..4 {
            assert!(!s.observe(&mut p, 3, true, t));
        }
        assert!(
            !s.observe(&mut p, 3, false, t),
            "a success restarts the count"
        );
        for k in 0..5 {
            assert_eq!(s.observe(&mut p, 3, true, t), k == 4);
        }
        // A second ejection would make 20 % > 10 %.
        for _ in 0..5 {
            assert!(!s.observe(&mut p, 4, true, t));
        }
        p.rebuild(t, Some(s.panic_threshold));
        assert_eq!((p.serving(), p.routable()), (10, 9));
    }

    #[test]
    fn ejection_time_is_base_times_ejections_up_to_the_maximum() {
        let s = spec();
        assert_eq!(s.ejection_time(1), SimTime::from_secs(30));
        assert_eq!(s.ejection_time(3), SimTime::from_secs(90));
        assert_eq!(s.ejection_time(20), SimTime::from_secs(300));
        assert_eq!(s.next_sweep(SimTime::from_secs(10)), SimTime::from_secs(20));
        assert_eq!(s.next_sweep(SimTime(9_999_999)), SimTime::from_secs(10));
    }
}
