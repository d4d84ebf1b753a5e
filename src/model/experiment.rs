//! A judge's experiment baseline: a group of the stable's code started with the candidate and
//! given the candidate's share of traffic, as Kayenta's canary configs and Argo Rollouts'
//! experiments run one (`baseline` beside `canary`, each at the canary weight), so the judge
//! compares equal samples of fresh instances rather than the long-running stable.
//!
//! Its traffic comes out of the stable's: while the candidate has share `s ≤ ½`, each stable
//! request goes to the baseline group with probability `s / (1 − s)` (both then get `s`);
//! above ½ the whole stable share does. The baseline runs the stable's code and shares its
//! faults, so its requests fail and slow exactly as the stable's: only which window records
//! them differs. rehearsal models no warm-up or instance-age effect, so in this model an
//! experiment baseline differs from `baseline = "stable"` only by its sample size.

use super::Window;
use crate::engine::splitmix64;

/// The experiment baseline's window and how requests are diverted to it.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The baseline group's requests since the last check.
    pub window: Window,
    /// Salt of the per-request hash that decides the diversion (no random draw is taken, so
    /// the run's other draws stay those of a run without an experiment).
    salt: u64,
}

impl Experiment {
    /// An experiment baseline whose window records latencies when `with_latency`.
    pub fn new(salt: u64, with_latency: bool) -> Experiment {
        Experiment {
            window: Window::new(with_latency),
            salt,
        }
    }

    /// Whether a stable request whose latency draw is `z` goes to the baseline group while
    /// the candidate has share `candidate_share` of traffic.
    #[inline]
    pub fn takes(&self, z: f64, candidate_share: f64) -> bool {
        let p = Experiment::share_taken(candidate_share);
        p >= 1.0
            || (p > 0.0
                && (splitmix64(z.to_bits() ^ self.salt) as f64) < p * 18_446_744_073_709_551_616.0)
    }

    /// The share of the stable's requests the baseline takes while the candidate has
    /// `candidate_share` of traffic: `s / (1 − s)` up to ½, all of them above.
    pub fn share_taken(candidate_share: f64) -> f64 {
        if candidate_share <= 0.0 {
            0.0
        } else if candidate_share >= 0.5 {
            1.0
        } else {
            candidate_share / (1.0 - candidate_share)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baseline_gets_the_candidates_share_from_the_stables() {
        // At 10 % the stable serves 90 %; diverting 10/90 of it gives the baseline 10 %.
        let e = Experiment::new(7, false);
        let n = 200_000;
        let taken = (0..n)
            .filter(|&i| e.takes(f64::from(i) * 1e-3 - 100.0, 0.1))
            .count() as f64;
        // Binomial(200 000, 1/9): sd 140; 5 sd either side.
        assert!((taken - n as f64 / 9.0).abs() < 700.0, "{taken}");
        assert!(!e.takes(0.3, 0.0));
        assert!(e.takes(0.3, 0.5) && e.takes(0.3, 0.8));
    }
}
