//! The time series of one run, for timeline plots: what an incident review draws by hand.

use crate::engine::SimTime;
use crate::model::Window;

/// Per-version traffic over one sampling step.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VersionSample {
    /// Requests served in the step.
    pub requests: u64,
    /// Failed requests in the step (baseline and fault-caused).
    pub errors: u64,
    /// Nearest-rank p99 latency in ms (`None` without requests).
    pub latency_p99_ms: Option<f64>,
    /// Successful writes in the step.
    pub writes: u64,
    /// Successful writes that stored a corrupted record.
    pub bad_writes: u64,
}

impl VersionSample {
    /// The sample of a window's counters.
    pub fn of(w: &Window) -> VersionSample {
        VersionSample {
            requests: w.requests,
            errors: w.errors,
            latency_p99_ms: w.latency_p99_ms(),
            writes: w.writes,
            bad_writes: w.bad_writes,
        }
    }

    /// Errors / requests (`None` without requests).
    pub fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.errors as f64 / self.requests as f64)
    }

    /// Corrupted writes / successful writes (`None` without writes).
    pub fn bad_write_rate(&self) -> Option<f64> {
        (self.writes > 0).then(|| self.bad_writes as f64 / self.writes as f64)
    }
}

/// One sampling step: `(end − step, end]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// End of the step.
    pub end: SimTime,
    /// The candidate's routing weight at the end of the step, percent.
    pub candidate_weight_pct: f64,
    /// Stable, then candidate.
    pub versions: [VersionSample; 2],
}

/// A moment worth a marker on the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// Fault `i` (scenario order) starts.
    FaultStart(usize),
    /// Fault `i` ends.
    FaultEnd(usize),
    /// The first fault-affected request.
    Onset,
    /// An analysis check failed.
    FailedCheck,
    /// A detector declared failure (the rollback decision).
    Detected,
    /// The rollback finished: the candidate serves no traffic.
    RolledBack,
    /// The rollout completed.
    Promoted,
    /// Recovery (structural, plus verification).
    Recovered,
}

/// The series and markers of one run, in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// Sampling step.
    pub step: SimTime,
    /// One sample per step, from `step` to the horizon.
    pub samples: Vec<Sample>,
    /// Markers sorted by time (ties in the order they happened).
    pub markers: Vec<(SimTime, Marker)>,
    /// The candidate's traffic share (percent) from each moment it changed, in time order:
    /// the first entry is its share after the first event (t = 0). Routing changes only at
    /// events, so these are the true times of every switch, step and rollback.
    pub shares: Vec<(SimTime, f64)>,
}
