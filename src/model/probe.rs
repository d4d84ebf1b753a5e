//! Synthetic traffic to one version: the load tests a preview is analysed on (Argo Rollouts'
//! preview service, Flagger's load tester). It reaches the version whatever the routing, has
//! no user, and is seen only by what observes the version (analysis windows, histories,
//! timelines): it is not in the users, requests or failed requests of a run.

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use super::VersionId;
use super::streams;
use crate::engine::{Rng, RngStreams, SimTime};

/// A Poisson stream of synthetic requests to `version` at a rate per second, or idle.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The version the requests reach.
    pub version: VersionId,
    /// Whether requests are being sent.
    pub active: bool,
    mean_gap_us: f64,
    /// Next arrival, µs (fractional: integer times are taken by floor).
    next_us: f64,
    rng: Rng,
}

/// The draws of one synthetic request.
pub struct ProbeDraws {
    /// 32-bit error draw.
    pub error: u64,
    /// Standard normal latency draw.
    pub z: f64,
}

impl Probe {
    /// An idle probe drawing from the `probe` stream of `streams`.
    pub fn idle(streams: &RngStreams) -> Probe {
        Probe {
            version: VersionId::Candidate,
            active: false,
            mean_gap_us: f64::INFINITY,
            next_us: 0.0,
            rng: streams.named(streams::PROBE),
        }
    }

    /// Sends requests to `version` at `rate` per second from `now` on (0: stops).
    pub fn set(&mut self, now: SimTime, version: VersionId, rate: f64) {
        self.version = version;
        self.active = rate > 0.0;
        if self.active {
            self.mean_gap_us = 1e6 / rate;
            self.next_us = now.micros() as f64;
            self.step();
        }
    }

    /// The next arrival if one comes before `limit`.
    #[inline]
    pub fn due_before(&self, limit: SimTime) -> Option<SimTime> {
        let t = SimTime(self.next_us as u64);
        (self.active && t < limit).then_some(t)
    }

    /// Requests per µs while active, 0 when idle (windows mode draws their counts).
    pub fn rate_per_us(&self) -> f64 {
        if self.active {
            1.0 / self.mean_gap_us
        } else {
            0.0
        }
    }

    fn step(&mut self) {
        let u: f64 = self.rng.random();
        self.next_us += -(1.0 - u).ln() * self.mean_gap_us;
    }

    /// Draws the current request and moves to the next arrival.
    pub fn draw(&mut self) -> ProbeDraws {
        let error = u64::from(self.rng.random::<u32>());
        let z = StandardNormal.sample(&mut self.rng);
        self.step();
        ProbeDraws { error, z }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_come_at_the_rate() {
        // 10,000 s at 5/s: 50,000 arrivals expected, sd ≈ 224; held to ± 4 sd.
        let streams = RngStreams::new(3, 0);
        let mut p = Probe::idle(&streams);
        assert_eq!(p.due_before(SimTime(u64::MAX)), None);
        p.set(SimTime::from_secs(100), VersionId::Candidate, 5.0);
        let end = SimTime::from_secs(10_100);
        let mut n = 0u32;
        while let Some(t) = p.due_before(end) {
            assert!(t >= SimTime::from_secs(100));
            p.draw();
            n += 1;
        }
        assert!((f64::from(n) - 50_000.0).abs() < 4.0 * 224.0, "{n}");
        p.set(end, VersionId::Candidate, 0.0);
        assert_eq!(p.due_before(SimTime(u64::MAX)), None);
    }
}
