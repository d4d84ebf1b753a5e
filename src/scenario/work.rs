//! What a scenario costs to simulate, estimated before anything runs, so that a command
//! refuses work that would take hours instead of starting it.
//!
//! The estimate counts requests, the bulk of the work: each replication of each strategy
//! serves the scenario's traffic over its horizon, at most the rate × the peak of its
//! diurnal shape, bursts and traffic spikes. The time is that count at the measured speed of
//! the per-request loop (`cargo bench --bench engine`: about 30 ns a simulated request on
//! one core of the 2-core machine the README's figures come from), divided over the cores;
//! it is an estimate, not a promise.

use super::Scenario;
use crate::model::FaultKind;

/// Nanoseconds per simulated request on one core, measured by `cargo bench --bench engine`
/// (`canary_run/1h_1000rps`: 29.8 ns per request).
pub const NS_PER_REQUEST: f64 = 30.0;

/// The default `--max-work`: 2 × 10¹⁰ simulated requests, about five minutes on two cores.
pub const DEFAULT_MAX_WORK: f64 = 2e10;

/// The simulation work of one or more scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Work {
    /// Runs: strategies × replications (× 2 for a sweep's healthy twins, × grid points).
    pub runs: u64,
    /// Simulated requests over all runs (an upper estimate).
    pub requests: f64,
}

impl Work {
    /// Every run of `s`: each strategy × each replication.
    pub fn of(s: &Scenario) -> Work {
        let runs = s.strategies.len() as u64 * u64::from(s.replications);
        Work {
            runs,
            requests: runs as f64 * requests_per_run(s),
        }
    }

    /// Every run of `s` when each strategy may run up to `replications` (a `--precision` cap).
    pub fn at_most(s: &Scenario, replications: Option<u32>) -> Work {
        let mut w = Work::of(s);
        if let Some(n) = replications.filter(|&n| n > s.replications) {
            w.runs = s.strategies.len() as u64 * u64::from(n);
            w.requests = w.runs as f64 * requests_per_run(s);
        }
        w
    }

    /// This work `k` times over (a sweep's grid points and healthy twins).
    pub fn times(self, k: u64) -> Work {
        Work {
            runs: self.runs.saturating_mul(k),
            requests: self.requests * k as f64,
        }
    }

    /// The wall time on `cores` cores, seconds.
    pub fn seconds(&self, cores: usize) -> f64 {
        self.requests * NS_PER_REQUEST * 1e-9 / cores.max(1) as f64
    }

    /// `45 runs, 3.2e8 simulated requests, about 5 s on 2 cores (an estimate)`.
    pub fn describe(&self, cores: usize) -> String {
        format!(
            "{} runs, {:.2e} simulated requests, about {} on {cores} core{} (an estimate at {NS_PER_REQUEST} ns a request)",
            self.runs,
            self.requests,
            human_seconds(self.seconds(cores)),
            if cores == 1 { "" } else { "s" }
        )
    }

    /// `Err` with what to shrink when the work is above `max` simulated requests.
    pub fn within(&self, max: f64, cores: usize) -> Result<(), String> {
        if self.requests <= max {
            return Ok(());
        }
        Err(format!(
            "refused before running: {}, above --max-work {max:.1e}; shrink it (fewer replications with -n, a shorter horizon, a lower traffic.rate, fewer strategies or grid points) or raise --max-work",
            self.describe(cores)
        ))
    }
}

impl std::ops::Add for Work {
    type Output = Work;
    fn add(self, o: Work) -> Work {
        Work {
            runs: self.runs.saturating_add(o.runs),
            requests: self.requests + o.requests,
        }
    }
}

impl std::iter::Sum for Work {
    fn sum<I: Iterator<Item = Work>>(iter: I) -> Work {
        iter.fold(Work::default(), |a, b| a + b)
    }
}

/// Requests one run serves at most: the rate at the peak of the traffic's shape, with every
/// traffic spike at once, over the whole horizon.
pub fn requests_per_run(s: &Scenario) -> f64 {
    let t = &s.service.traffic;
    let spikes: f64 = s
        .service
        .faults
        .iter()
        .map(|f| match f.kind {
            FaultKind::TrafficSpike { multiplier } => multiplier - 1.0,
            _ => 0.0,
        })
        .sum();
    t.rate_per_s * t.max_shape() * (1.0 + spikes) * s.horizon.as_secs_f64()
}

/// `3h20m`, `4m10s`, `12 s`, `0.3 s`.
fn human_seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.1} s")
    } else if s < 60.0 {
        format!("{s:.0} s")
    } else if s < 3600.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!("{}h{:02}m", (s / 3600.0) as u64, (s % 3600.0 / 60.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(rate: f64, horizon: &str, replications: u32) -> Scenario {
        let text = format!(
            "name = \"w\"\nhorizon = \"{horizon}\"\nreplications = {replications}\n[traffic]\nrate = {rate}\nusers = 100\n[versions.old]\n[versions.new]\n[[strategies]]\nname = \"a\"\nkind = \"canary\"\nsteps = [{{ weight = 100 }}]\n[[strategies]]\nname = \"b\"\nkind = \"canary\"\nsteps = [{{ weight = 100 }}]\n"
        );
        crate::scenario::parse(&text, std::path::Path::new("w.toml")).unwrap()
    }

    #[test]
    fn work_is_runs_times_rate_times_horizon() {
        // 2 strategies × 20 replications = 40 runs of 1000 req/s × 3600 s = 3.6e6 requests.
        let w = Work::of(&scenario(1000.0, "1h", 20));
        assert_eq!(w.runs, 40);
        assert_eq!(w.requests, 40.0 * 3.6e6);
        // 1.44e8 × 30 ns / 2 cores = 2.16 s.
        assert!((w.seconds(2) - 2.16).abs() < 1e-9);
        assert!(w.within(1.44e8, 2).is_ok());
        assert!(w.within(1e8, 2).unwrap_err().contains("shrink it"));
        assert_eq!(w.times(3).runs, 120);
    }

    #[test]
    fn the_examples_of_runaway_work_are_refused_by_default() {
        // 5·10⁵ req/s for 1 h × 20 replications × 2 strategies: 7.2e10 requests.
        let w = Work::of(&scenario(5e5, "1h", 20));
        assert!(w.within(DEFAULT_MAX_WORK, 2).is_err());
        // 30 days × 100 000 replications at 1 req/s: 5.2e11 requests.
        let w = Work::of(&scenario(1.0, "30d", 100_000));
        assert!(w.within(DEFAULT_MAX_WORK, 2).is_err());
    }
}
