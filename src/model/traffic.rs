//! Synthetic user traffic: a non-homogeneous Poisson process of requests from a population of users.

use crate::engine::Probability;
use crate::engine::{Rng, RngStreams, SimTime};
use rand::RngExt;
use rand_distr::{Distribution, Exp1, Zipf};
use std::f64::consts::TAU;

/// The traffic of a scenario, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficSpec {
    /// Mean request rate at the diurnal midline, requests per second.
    pub rate_per_s: f64,
    /// Size of the user population; user ids are `0..users`.
    pub users: u64,
    /// Share of requests that write a record.
    pub write_fraction: Probability,
    /// Zipf exponent of user activity (`None`: every user equally active).
    pub user_skew: Option<f64>,
    /// Daily rate swing.
    pub diurnal: Option<Diurnal>,
    /// Planned surges that are part of normal traffic (not faults).
    pub bursts: Vec<Burst>,
}

/// `rate(t) = rate × (1 + amplitude × cos(2π (t − peak) / period))`.
#[derive(Debug, Clone, PartialEq)]
pub struct Diurnal {
    /// Relative swing, in `[0, 1]`.
    pub amplitude: Probability,
    /// Length of one cycle.
    pub period: SimTime,
    /// Simulated time of a peak (0: the rollout starts at peak traffic).
    pub peak: SimTime,
}

/// A window in which the rate is multiplied; overlapping bursts multiply together.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    /// Start of the burst.
    pub at: SimTime,
    /// How long it lasts.
    pub duration: SimTime,
    /// Rate multiplier while it lasts.
    pub multiplier: f64,
}

impl TrafficSpec {
    /// The request rate at `t`, requests per second.
    pub fn rate_at(&self, t: SimTime) -> f64 {
        self.rate_per_s * self.shape_at(t)
    }

    /// The multiplier that diurnal swing and bursts apply at `t`.
    pub fn shape_at(&self, t: SimTime) -> f64 {
        let mut m = 1.0;
        if let Some(d) = &self.diurnal {
            let phase = (t.micros() as f64 - d.peak.micros() as f64) / d.period.micros() as f64;
            m *= 1.0 + d.amplitude.get() * (TAU * phase).cos();
        }
        for b in &self.bursts {
            if t >= b.at && t < b.at.saturating_add(b.duration) {
                m *= b.multiplier;
            }
        }
        m
    }

    /// An upper bound of [`Self::shape_at`] over all time, the envelope for thinning.
    pub fn max_shape(&self) -> f64 {
        let diurnal = self
            .diurnal
            .as_ref()
            .map_or(1.0, |d| 1.0 + d.amplitude.get());
        let bursts: f64 = self.bursts.iter().map(|b| b.multiplier.max(1.0)).product();
        diurnal * bursts
    }

    /// Whether the rate varies over time (thinning needed).
    pub fn is_shaped(&self) -> bool {
        self.diurnal
            .as_ref()
            .is_some_and(|d| d.amplitude > Probability::ZERO)
            || self.bursts.iter().any(|b| b.multiplier != 1.0)
    }

    /// Times at which the rate jumps (burst edges), so load can be re-evaluated there.
    pub fn boundaries(&self) -> impl Iterator<Item = SimTime> + '_ {
        self.bursts
            .iter()
            .flat_map(|b| [b.at, b.at.saturating_add(b.duration)])
    }
}

/// How users are picked for each request.
#[derive(Debug, Clone)]
pub enum UserPicker {
    /// Every user equally likely.
    Uniform(u64),
    /// User `k` (0-based) with probability ∝ `1 / (k+1)^s`.
    Zipf(Zipf<f64>),
}

impl UserPicker {
    /// The picker for `spec`.
    pub fn new(spec: &TrafficSpec) -> UserPicker {
        match spec.user_skew {
            Some(s) => match Zipf::new(spec.users as f64, s) {
                Ok(z) => UserPicker::Zipf(z),
                // Validation guarantees users ≥ 1 and s ≥ 0; fall back rather than panic.
                Err(_) => UserPicker::Uniform(spec.users),
            },
            None => UserPicker::Uniform(spec.users),
        }
    }

    /// The next user id, in `0..users`.
    #[inline]
    pub fn pick(&self, rng: &mut Rng) -> u64 {
        match self {
            UserPicker::Uniform(n) => rng.random_range(0..*n),
            UserPicker::Zipf(z) => z.sample(rng) as u64 - 1,
        }
    }
}

/// One Poisson arrival process with its own random streams.
///
/// Arrivals are drawn at the envelope rate `λ_max` and kept with probability
/// `rate(t) / λ_max` (Lewis–Shedler thinning). Every candidate consumes the same draws
/// whatever happens to the request, so two strategies see the same arrivals.
pub struct Arrivals {
    rng: Rng,
    /// Candidate arrival clock, microseconds (fractional: integer times are taken by floor).
    next_us: f64,
    /// Mean gap between candidates at the envelope rate, microseconds.
    mean_gap_us: f64,
    envelope: f64,
    shaped: bool,
    /// Multiplies the scenario's shape (1 for base traffic, `m − 1` for a spike).
    scale: f64,
    end: SimTime,
}

impl Arrivals {
    /// A process at `scale × spec.rate_at(t)` over `[start, end)`, drawing from stream `name`.
    pub fn new(
        spec: &TrafficSpec,
        streams: &RngStreams,
        name: &str,
        scale: f64,
        start: SimTime,
        end: SimTime,
    ) -> Arrivals {
        let envelope = spec.rate_per_s * spec.max_shape() * scale;
        let mut a = Arrivals {
            rng: streams.named(name),
            next_us: start.micros() as f64,
            mean_gap_us: if envelope > 0.0 {
                1e6 / envelope
            } else {
                f64::INFINITY
            },
            envelope,
            shaped: spec.is_shaped(),
            scale,
            end,
        };
        a.step(spec);
        a
    }

    /// Time of the next arrival; `None` when the process has ended.
    #[inline]
    pub fn peek(&self) -> Option<SimTime> {
        let t = SimTime(self.next_us as u64);
        (self.next_us.is_finite() && t < self.end).then_some(t)
    }

    /// Consumes the pending arrival and draws the next one.
    #[inline]
    pub fn step(&mut self, spec: &TrafficSpec) {
        loop {
            let gap: f64 = Exp1.sample(&mut self.rng);
            self.next_us += gap * self.mean_gap_us;
            if !self.shaped || self.next_us >= self.end.micros() as f64 {
                return;
            }
            let t = SimTime(self.next_us as u64);
            let keep = spec.rate_per_s * spec.shape_at(t) * self.scale / self.envelope;
            if self.rng.random::<f64>() < keep {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(rate: f64) -> TrafficSpec {
        TrafficSpec {
            rate_per_s: rate,
            users: 1000,
            write_fraction: Probability::ZERO,
            user_skew: None,
            diurnal: None,
            bursts: vec![],
        }
    }

    fn count(spec: &TrafficSpec, secs: u64) -> u64 {
        let streams = RngStreams::new(3, 0);
        let end = SimTime::from_secs(secs);
        let mut a = Arrivals::new(spec, &streams, "arrivals", 1.0, SimTime::ZERO, end);
        let mut n = 0;
        while a.peek().is_some() {
            n += 1;
            a.step(spec);
        }
        n
    }

    #[test]
    fn poisson_count_matches_rate_within_four_sigma() {
        // 500 req/s for 100 s: mean 50 000, sd √50 000 ≈ 224.
        let n = count(&spec(500.0), 100) as f64;
        assert!((n - 50_000.0).abs() < 4.0 * 224.0, "{n}");
    }

    #[test]
    fn thinning_follows_a_burst() {
        // 100 req/s for 100 s plus a 3x burst for 20 s: mean 100·80 + 300·20 = 14 000.
        let mut s = spec(100.0);
        s.bursts.push(Burst {
            at: SimTime::from_secs(40),
            duration: SimTime::from_secs(20),
            multiplier: 3.0,
        });
        let n = count(&s, 100) as f64;
        assert!((n - 14_000.0).abs() < 4.0 * 14_000f64.sqrt(), "{n}");
    }

    #[test]
    fn diurnal_rate_peaks_at_peak() {
        let mut s = spec(100.0);
        s.diurnal = Some(Diurnal {
            amplitude: Probability::new(0.5).unwrap(),
            period: SimTime::from_secs(86_400),
            peak: SimTime::from_secs(3_600),
        });
        assert!((s.rate_at(SimTime::from_secs(3_600)) - 150.0).abs() < 1e-9);
        assert!((s.rate_at(SimTime::from_secs(3_600 + 43_200)) - 50.0).abs() < 1e-9);
        assert_eq!(s.max_shape(), 1.5);
    }

    #[test]
    fn uniform_users_stay_in_range() {
        let mut rng = RngStreams::new(1, 0).named("users");
        let p = UserPicker::new(&spec(1.0));
        assert!((0..10_000).all(|_| p.pick(&mut rng) < 1000));
        let mut z = spec(1.0);
        z.user_skew = Some(1.1);
        let p = UserPicker::new(&z);
        assert!((0..10_000).all(|_| p.pick(&mut rng) < 1000));
    }
}
