//! Service versions and the instances that run them.

use crate::engine::{Probability, SimTime};

/// The two versions of a release. Names come from the scenario; roles are fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VersionId {
    /// The version running before the rollout (`old`, blue, primary).
    Stable,
    /// The version being rolled out (`new`, green, canary).
    Candidate,
}

impl VersionId {
    /// Both roles, stable first.
    pub const ALL: [VersionId; 2] = [VersionId::Stable, VersionId::Candidate];

    /// Index into per-version arrays.
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The standard normal quantile at 0.99: the z-score of a 99th percentile, which turns a
/// log-normal latency's median and p99 into its parameters and back.
pub const Z_P99: f64 = 2.326_347_874_040_841;

/// Behaviour of one version when nothing is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionSpec {
    /// Name in the scenario (`old`, `new`, `v2`…).
    pub name: String,
    /// Share of requests that fail without any fault.
    pub error_rate: Probability,
    /// Response-time distribution without any fault.
    pub latency: LatencyModel,
}

/// Log-normal latency fixed by its median and 99th percentile: `ln L ~ N(μ, σ²)` with
/// `μ = ln median` and `σ = (ln p99 − ln median) / z₀.₉₉`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyModel {
    /// `ln(median in µs)`.
    pub mu: f64,
    /// Standard deviation of `ln(latency)`.
    pub sigma: f64,
}

impl LatencyModel {
    /// The model with the given median and p99 (`p99 ≥ median > 0`).
    pub fn from_median_p99(median: SimTime, p99: SimTime) -> LatencyModel {
        let mu = (median.micros() as f64).ln();
        LatencyModel {
            mu,
            sigma: ((p99.micros() as f64).ln() - mu) / Z_P99,
        }
    }

    /// The median and p99 back, rounded to whole microseconds (the inverse of
    /// [`LatencyModel::from_median_p99`], for reports).
    pub fn median_p99(&self) -> (SimTime, SimTime) {
        (
            SimTime(self.mu.exp().round() as u64),
            SimTime((self.mu + self.sigma * Z_P99).exp().round() as u64),
        )
    }

    /// Latency in µs for the standard-normal draw `z`.
    #[inline]
    pub fn at(&self, z: f64) -> f64 {
        (self.mu + self.sigma * z).exp()
    }

    /// The `z` above which latency exceeds `limit_us` (`+∞` when it never does).
    pub fn z_above(&self, limit_us: f64) -> f64 {
        if self.sigma == 0.0 {
            return if self.mu.exp() > limit_us {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            };
        }
        (limit_us.ln() - self.mu) / self.sigma
    }
}

/// The fleet as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSpec {
    /// Instances of the stable version at the start, and of a fully rolled-out version.
    pub instances: u32,
    /// Requests per second one instance serves before it sheds load (`None`: unlimited).
    pub capacity_rps: Option<f64>,
    /// Time from starting an instance to its serving traffic.
    pub startup: SimTime,
}

/// Instances per version: running (paid for), ready (serving) and starting, and the
/// instance-seconds they used.
///
/// A started instance serves once it is ready: at once for pre-scaled steps, after a start-up
/// and readiness delay otherwise. Instances that come due while their version crash-loops
/// never become ready; they run (and cost) until scaled down, unready ones first.
#[derive(Debug, Clone)]
pub struct Fleet {
    running: [u32; 2],
    ready: [u32; 2],
    /// Instances that came due while their version crash-looped: running, never ready.
    blocked: [u32; 2],
    /// Starting instances: `(ready at, count)`, in start order.
    starting: [Vec<(SimTime, u32)>; 2],
    instance_us: u128,
    since: SimTime,
}

impl Fleet {
    /// `stable` ready instances of the stable version and none of the candidate at time 0.
    pub fn new(stable: u32) -> Fleet {
        Fleet {
            running: [stable, 0],
            ready: [stable, 0],
            blocked: [0, 0],
            starting: [Vec::new(), Vec::new()],
            instance_us: 0,
            since: SimTime::ZERO,
        }
    }

    /// Runs `instances` instances of `v` from `now` on. New instances serve after `ready_after`
    /// (at once when zero); returns when they come due (`now` when at once). Scaling down
    /// removes starting instances first (newest first), then unready ones, then ready ones.
    pub fn scale(
        &mut self,
        now: SimTime,
        v: VersionId,
        instances: u32,
        ready_after: SimTime,
    ) -> Option<SimTime> {
        self.accrue(now);
        let i = v.index();
        if instances >= self.running[i] {
            let added = instances - self.running[i];
            self.running[i] = instances;
            if added == 0 {
                return None;
            }
            if ready_after == SimTime::ZERO {
                // Ready at once; still reported as due now, so that whoever waits for them
                // hears of it (a strategy waiting for readiness with a zero start-up).
                self.ready[i] += added;
                return Some(now);
            }
            let at = now.saturating_add(ready_after);
            self.starting[i].push((at, added));
            return Some(at);
        }
        let mut remove = self.running[i] - instances;
        self.running[i] = instances;
        while remove > 0 {
            let Some(last) = self.starting[i].last_mut() else {
                break;
            };
            let k = last.1.min(remove);
            last.1 -= k;
            remove -= k;
            if last.1 == 0 {
                self.starting[i].pop();
            }
        }
        // What is left to remove comes out of the blocked (unready) instances first.
        let k = self.blocked[i].min(remove);
        self.blocked[i] -= k;
        self.ready[i] -= (remove - k).min(self.ready[i]);
        None
    }

    /// Makes the instances of `v` due by `now` ready, unless `blocked` (the version
    /// crash-loops: they stay unready). Returns how many became ready.
    pub fn promote_due(&mut self, now: SimTime, v: VersionId, blocked: bool) -> u32 {
        let i = v.index();
        let due: u32 = self.starting[i]
            .iter()
            .filter(|s| s.0 <= now)
            .map(|s| s.1)
            .sum();
        self.starting[i].retain(|s| s.0 > now);
        if blocked {
            self.blocked[i] += due;
            return 0;
        }
        self.ready[i] += due;
        due
    }

    /// Instances of `v` running now (ready or not).
    pub fn running(&self, v: VersionId) -> u32 {
        self.running[v.index()]
    }

    /// Instances of `v` serving now.
    pub fn ready(&self, v: VersionId) -> u32 {
        self.ready[v.index()]
    }

    /// Instances of `v` that would serve but for a crash loop.
    pub fn blocked(&self, v: VersionId) -> u32 {
        self.blocked[v.index()]
    }

    /// Instance-seconds used up to `now`.
    pub fn instance_seconds(&mut self, now: SimTime) -> f64 {
        self.accrue(now);
        self.instance_us as f64 / 1e6
    }

    fn accrue(&mut self, now: SimTime) {
        let n = u128::from(self.running[0] + self.running[1]);
        self.instance_us += n * u128::from(now.saturating_sub(self.since).micros());
        self.since = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_model_hits_median_and_p99() {
        let m = LatencyModel::from_median_p99(SimTime::from_millis(50), SimTime::from_millis(250));
        assert!((m.at(0.0) - 50_000.0).abs() < 1e-6);
        assert!((m.at(Z_P99) - 250_000.0).abs() < 1e-6);
        assert!((m.z_above(250_000.0) - Z_P99).abs() < 1e-12);
    }

    #[test]
    fn instance_seconds_integrate_the_fleet() {
        let mut f = Fleet::new(10);
        f.scale(
            SimTime::from_secs(60),
            VersionId::Candidate,
            1,
            SimTime::ZERO,
        );
        // 10 × 60 + 11 × 40
        assert_eq!(f.instance_seconds(SimTime::from_secs(100)), 1040.0);
    }

    #[test]
    fn instances_serve_after_their_delay_unless_blocked() {
        let (c, s) = (VersionId::Candidate, SimTime::from_secs);
        let mut f = Fleet::new(4);
        assert_eq!(f.scale(s(0), c, 2, s(40)), Some(s(40)));
        assert_eq!((f.running(c), f.ready(c)), (2, 0));
        assert_eq!(f.promote_due(s(39), c, false), 0);
        assert_eq!(f.promote_due(s(40), c, false), 2);
        assert_eq!(f.scale(s(50), c, 3, s(40)), Some(s(90)));
        assert_eq!(
            f.promote_due(s(90), c, true),
            0,
            "crash-looping: never ready"
        );
        assert_eq!((f.running(c), f.ready(c), f.blocked(c)), (3, 2, 1));
        // Scaling down removes the unready instance first.
        f.scale(s(100), c, 2, SimTime::ZERO);
        assert_eq!((f.running(c), f.ready(c)), (2, 2));
        f.scale(s(100), c, 1, SimTime::ZERO);
        assert_eq!((f.running(c), f.ready(c)), (1, 1));
    }
}
