//! Human detection: alert → page → acknowledge → diagnose, as one log-normal delay.

use crate::engine::{Rng, SimTime};
use rand_distr::{Distribution, StandardNormal};

/// The delay from fault onset until a human declares failure: `median × e^(σ·Z)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ManualSpec {
    /// Median delay.
    pub median: SimTime,
    /// Standard deviation of the delay's logarithm.
    pub sigma: f64,
}

impl ManualSpec {
    /// One delay. Drawn once per replication and shared by every strategy, so that strategies
    /// are compared against the same humans (common random numbers).
    pub fn draw(&self, rng: &mut Rng) -> SimTime {
        let z: f64 = StandardNormal.sample(rng);
        let us = self.median.micros() as f64 * (self.sigma * z).exp();
        SimTime(us.min(u64::MAX as f64 / 2.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{RngStreams, Stream};

    #[test]
    fn median_of_draws_is_the_median() {
        let spec = ManualSpec {
            median: SimTime::from_secs(900),
            sigma: 0.8,
        };
        let mut rng = RngStreams::new(1, 0).stream(Stream::Manual);
        let mut d: Vec<_> = (0..4001).map(|_| spec.draw(&mut rng)).collect();
        d.sort();
        // The sample median of 4001 log-normal draws: ln-sd of the median ≈ 0.8·1.2533/√4001 ≈ 0.016.
        let m = d[2000].as_secs_f64();
        assert!((m / 900.0).ln().abs() < 0.07, "{m}");
    }
}
