//! A random delay whose logarithm is normal, the usual shape of human and repair times.

use super::{Rng, SimTime};
use rand_distr::{Distribution, StandardNormal};

/// A log-normal delay `median × e^(σ·Z)`, Z standard normal: half the draws are below
/// `median`; `sigma = 0` makes every draw exactly `median`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogNormalDelay {
    /// Median delay.
    pub median: SimTime,
    /// Standard deviation of the delay's natural logarithm (dimensionless).
    pub sigma: f64,
}

impl LogNormalDelay {
    /// One delay, from one standard normal draw of `rng` (capped far past any horizon).
    pub fn draw(&self, rng: &mut Rng) -> SimTime {
        let z: f64 = StandardNormal.sample(rng);
        let us = self.median.micros() as f64 * (self.sigma * z).exp();
        SimTime(us.min(u64::MAX as f64 / 2.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;

    #[test]
    fn median_of_draws_is_the_median() {
        let spec = LogNormalDelay {
            median: SimTime::from_secs(900),
            sigma: 0.8,
        };
        let mut rng = RngStreams::new(1, 0).named("delay");
        let mut d: Vec<_> = (0..4001).map(|_| spec.draw(&mut rng)).collect();
        d.sort();
        // The sample median of 4001 draws: ln-sd of the median ≈ 0.8·1.2533/√4001 ≈ 0.016.
        let m = d[2000].as_secs_f64();
        assert!((m / 900.0).ln().abs() < 0.07, "median {m}");
    }

    #[test]
    fn zero_sigma_is_exact() {
        let spec = LogNormalDelay {
            median: SimTime::from_secs(42),
            sigma: 0.0,
        };
        let mut rng = RngStreams::new(1, 0).named("delay");
        assert_eq!(spec.draw(&mut rng), SimTime::from_secs(42));
    }
}
