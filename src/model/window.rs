//! Per-version counters over one analysis window, and the candidate's recent requests for
//! analyses whose metrics read windows of their own.

use std::collections::VecDeque;

use hdrhistogram::Histogram;

use crate::engine::SimTime;

/// Longest latency a window histogram holds, µs (one hour); longer values are clamped.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// What the analysis of one version sees over one window: every request, errors included.
#[derive(Debug, Clone)]
pub struct Window {
    /// Requests served.
    pub requests: u64,
    /// Requests that failed (baseline and fault-caused alike).
    pub errors: u64,
    /// Successful writes.
    pub writes: u64,
    /// Successful writes that stored a corrupted record.
    pub bad_writes: u64,
    /// Latency of every request, µs, with 3 significant digits (`None` when no metric needs it).
    latency_us: Option<Histogram<u64>>,
}

impl Window {
    /// An empty window; `with_latency` keeps a latency histogram.
    pub fn new(with_latency: bool) -> Window {
        Window {
            requests: 0,
            errors: 0,
            writes: 0,
            bad_writes: 0,
            latency_us: with_latency
                .then(|| Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid bounds")),
        }
    }

    /// Whether latencies are being recorded.
    #[inline]
    pub fn wants_latency(&self) -> bool {
        self.latency_us.is_some()
    }

    /// Records one latency in µs.
    #[inline]
    pub fn record_latency(&mut self, us: f64) {
        if let Some(h) = &mut self.latency_us {
            h.saturating_record((us as u64).max(1));
        }
    }

    /// Counts one request; `latency_us` is recorded when the window keeps latencies.
    #[inline]
    pub fn record(&mut self, failed: bool, write: bool, corrupted: bool, latency_us: Option<f64>) {
        self.requests += 1;
        self.errors += u64::from(failed);
        self.writes += u64::from(write);
        self.bad_writes += u64::from(corrupted);
        if let Some(us) = latency_us {
            self.record_latency(us);
        }
    }

    /// Errors / requests (`None` for an empty window).
    pub fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.errors as f64 / self.requests as f64)
    }

    /// Corrupted writes / writes (`None` without writes).
    pub fn bad_write_rate(&self) -> Option<f64> {
        (self.writes > 0).then(|| self.bad_writes as f64 / self.writes as f64)
    }

    /// Nearest-rank 99th percentile latency in ms, to the histogram's 0.1 % precision.
    pub fn latency_p99_ms(&self) -> Option<f64> {
        let h = self.latency_us.as_ref()?;
        (!h.is_empty()).then(|| h.value_at_quantile(0.99) as f64 / 1000.0)
    }

    /// Empties the window for the next interval.
    pub fn reset(&mut self) {
        self.requests = 0;
        self.errors = 0;
        self.writes = 0;
        self.bad_writes = 0;
        if let Some(h) = &mut self.latency_us {
            h.reset();
        }
    }
}

/// One request kept by a [`History`].
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Arrival time.
    at: SimTime,
    /// Latency, µs (0 when latencies are not kept).
    latency_us: f64,
    failed: bool,
    write: bool,
    corrupted: bool,
    /// Served by the candidate (else by the stable).
    candidate: bool,
}

/// The candidate's requests of the last `keep` of simulated time, one entry per request, so a
/// check at t can read any window `[t − w, t)` with w ≤ `keep` exactly to the µs: windows of
/// different metrics may overlap or leave gaps between checks (Flagger's per-metric query
/// `interval`). With `service` it keeps the stable's requests too, for measurements of the
/// whole service (Argo's service-wide queries). Kept only when such an analysis runs; memory
/// is one entry per kept request of the longest window.
#[derive(Debug, Clone)]
pub struct History {
    keep: SimTime,
    with_latency: bool,
    service: bool,
    /// Whether the candidate served any request yet (a query over a version that never
    /// served returns no series at all; the stable served before the rollout began).
    candidate_seen: bool,
    entries: VecDeque<Entry>,
}

impl History {
    /// An empty history covering windows up to `keep`; `with_latency` keeps latencies;
    /// `service` keeps the stable's requests too.
    pub fn new(keep: SimTime, with_latency: bool, service: bool) -> History {
        History {
            keep,
            with_latency,
            service,
            candidate_seen: false,
            entries: VecDeque::new(),
        }
    }

    /// Whether requests of the candidate (`candidate`) or of the stable are kept.
    #[inline]
    pub fn keeps(&self, candidate: bool) -> bool {
        candidate || self.service
    }

    /// Whether the candidate served any request yet.
    pub fn candidate_seen(&self) -> bool {
        self.candidate_seen
    }

    /// Whether latencies are kept.
    #[inline]
    pub fn wants_latency(&self) -> bool {
        self.with_latency
    }

    /// Records one request of the candidate (`candidate`) or the stable arriving at `at`
    /// (non-decreasing), forgetting those no window can reach any more.
    #[inline]
    pub fn record(
        &mut self,
        at: SimTime,
        candidate: bool,
        failed: bool,
        write: bool,
        corrupted: bool,
        latency_us: Option<f64>,
    ) {
        let horizon = at.micros().saturating_sub(self.keep.micros());
        while self
            .entries
            .front()
            .is_some_and(|e| e.at.micros() < horizon)
        {
            self.entries.pop_front();
        }
        self.entries.push_back(Entry {
            at,
            latency_us: latency_us.unwrap_or(0.0),
            failed,
            write,
            corrupted,
            candidate,
        });
        self.candidate_seen |= candidate;
    }

    /// The requests of the candidate (`candidate_only`) or of both versions that arrived in
    /// `[now − length, now)`, as a [`Window`].
    pub fn window(&self, now: SimTime, length: SimTime, candidate_only: bool) -> Window {
        let from = SimTime(now.micros().saturating_sub(length.micros()));
        let start = self.entries.partition_point(|e| e.at < from);
        let mut w = Window::new(self.with_latency);
        let entries = self.entries.range(start..).take_while(|e| e.at < now);
        for e in entries.filter(|e| e.candidate || !candidate_only) {
            let latency = self.with_latency.then_some(e.latency_us);
            w.record(e.failed, e.write, e.corrupted, latency);
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_windows_end_at_the_check_and_may_overlap() {
        let s = SimTime::from_secs;
        let mut h = History::new(s(60), false, true);
        assert!(!h.candidate_seen());
        for t in 0..120 {
            h.record(s(t), t >= 100, t % 2 == 0, false, false, None);
        }
        // [60 s, 120 s): 60 requests, 30 failed (even seconds); [90 s, 120 s): 30, 15.
        let w = h.window(s(120), s(60), false);
        assert_eq!((w.requests, w.errors), (60, 30));
        let w = h.window(s(120), s(30), false);
        assert_eq!((w.requests, w.errors), (30, 15));
        // A window ending before the last request leaves it out.
        let w = h.window(s(100), s(10), false);
        assert_eq!(w.requests, 10);
        // The candidate served from 100 s on: 20 of the last 60 s.
        let w = h.window(s(120), s(60), true);
        assert_eq!((w.requests, w.errors), (20, 10));
        assert!(h.candidate_seen());
    }

    #[test]
    fn p99_is_nearest_rank() {
        let mut w = Window::new(true);
        for ms in 1..=100 {
            w.record_latency(ms as f64 * 1000.0);
        }
        // Nearest rank: ceil(0.99 × 100) = 99th value, 99 ms (within 0.1 %).
        let p99 = w.latency_p99_ms().unwrap();
        assert!((p99 - 99.0).abs() <= 0.1, "{p99}");
        w.reset();
        assert_eq!(w.latency_p99_ms(), None);
    }
}
