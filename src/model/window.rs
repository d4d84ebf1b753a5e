//! Per-version counters over one analysis window, and the candidate's recent requests for
//! analyses whose metrics read windows of their own.

use std::collections::VecDeque;

use hdrhistogram::Histogram;

use super::TrafficSpec;
use super::fleet::LatencyModel;
use super::windows::history::Pieces;
use crate::engine::{RngStreams, SimTime};

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

    /// The highest value recorded in the same latency-histogram bucket as `us` µs (`None`
    /// above the trackable range or without a histogram).
    pub fn highest_equivalent(&self, us: u64) -> Option<u64> {
        let h = self.latency_us.as_ref()?;
        (us <= h.high()).then(|| h.highest_equivalent(us))
    }

    /// Records `count` latencies of `us` µs at once (windows mode fills the histogram so that
    /// its nearest-rank quantile reads a drawn order statistic).
    pub(super) fn record_latency_n(&mut self, us: f64, count: u64) {
        if let (Some(h), true) = (&mut self.latency_us, count > 0) {
            h.saturating_record_n((us as u64).max(1), count);
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

    /// The recorded latencies as `(µs, count)` per histogram bucket, increasing (empty when
    /// the window keeps no latency): what judges compare, bucket by bucket.
    pub fn latency_counts(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.latency_us.iter().flat_map(|h| {
            h.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_since_last_iteration()))
        })
    }

    /// Keeps latencies from now on (a judge compares this version's with the candidate's).
    pub fn keep_latency(&mut self) {
        if self.latency_us.is_none() {
            *self = Window::new(true);
        }
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

/// What a service's Prometheus client would expose since t = 0, per version: request
/// counters by outcome and a latency histogram, cumulative like real counters. Kept only when
/// an alert rule reads series; recording is a few integer additions per request, no
/// allocation, and no `exp()` for a request no fault delays (its bucket follows from its
/// normal draw, as the SLO test does).
#[derive(Debug, Clone)]
pub struct Exposition {
    /// Bucket upper bounds, µs, increasing, without the implicit `+Inf`; empty when no rule
    /// reads the latency histogram.
    bounds_us: Vec<f64>,
    /// Per version, the normal draw above which an undelayed request exceeds each bound.
    bounds_z: [Vec<f64>; 2],
    /// Requests per version: `[succeeded, failed]`.
    requests: [[u64; 2]; 2],
    /// Requests per version and bucket, not cumulative; the last entry is above every bound.
    buckets: [Vec<u64>; 2],
}

impl Exposition {
    /// Counters from zero; `bounds_us` are the histogram's upper bounds (empty: no
    /// histogram) and `latency` each version's fault-free latency.
    pub fn new(bounds_us: Vec<f64>, latency: [&LatencyModel; 2]) -> Exposition {
        let n = if bounds_us.is_empty() {
            0
        } else {
            bounds_us.len() + 1
        };
        let bounds_z = latency.map(|l| bounds_us.iter().map(|&b| l.z_above(b)).collect());
        Exposition {
            bounds_us,
            bounds_z,
            requests: [[0; 2]; 2],
            buckets: [vec![0; n], vec![0; n]],
        }
    }

    /// Counts one request of version index `v`: its latency when it was computed (always
    /// when a fault delayed it), else its fault-free latency's normal draw `z`.
    #[inline]
    pub fn record(&mut self, v: usize, failed: bool, latency_us: Option<f64>, z: f64) {
        self.requests[v][usize::from(failed)] += 1;
        if self.bounds_us.is_empty() {
            return;
        }
        // `le` buckets: a latency equal to a bound counts in that bound's bucket.
        let b = match latency_us {
            Some(us) => self.bounds_us.partition_point(|&bound| bound < us),
            None => self.bounds_z[v].partition_point(|&zb| zb < z),
        };
        self.buckets[v][b] += 1;
    }

    /// The histogram's upper bounds, µs, without `+Inf` (empty without a histogram).
    pub fn bounds_us(&self) -> &[f64] {
        &self.bounds_us
    }

    /// Counts `succeeded` and `failed` requests of version index `v` at once, `buckets` their
    /// per-bucket counts (one per bound then `+Inf`, not cumulative; ignored without a
    /// histogram): windows mode's [`Exposition::record`].
    pub fn record_counts(&mut self, v: usize, succeeded: u64, failed: u64, buckets: &[u64]) {
        debug_assert!(
            buckets.is_empty() || buckets.iter().sum::<u64>() == succeeded + failed,
            "every counted request has one histogram bucket"
        );
        self.requests[v][0] += succeeded;
        self.requests[v][1] += failed;
        for (b, &c) in self.buckets[v].iter_mut().zip(buckets) {
            *b += c;
        }
    }

    /// Requests of version index `v` so far: `(succeeded, failed)`.
    pub fn requests(&self, v: usize) -> (u64, u64) {
        (self.requests[v][0], self.requests[v][1])
    }

    /// Cumulative bucket counts of version index `v`, one per bound then `+Inf` (empty
    /// without a histogram).
    pub fn cumulative_buckets(&self, v: usize) -> impl Iterator<Item = u64> + '_ {
        self.buckets[v].iter().scan(0u64, |sum, &c| {
            *sum += c;
            Some(*sum)
        })
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
/// is one entry per kept request of the longest window. In windows mode it keeps the drawn
/// pieces' counts instead ([`History::by_pieces`], [`crate::model::windows`]).
#[derive(Debug, Clone)]
pub struct History {
    keep: SimTime,
    with_latency: bool,
    service: bool,
    /// Whether the candidate served any request yet (a query over a version that never
    /// served returns no series at all; the stable served before the rollout began).
    candidate_seen: bool,
    entries: VecDeque<Entry>,
    /// Windows mode's pieces (then `entries` stays empty).
    pieces: Option<Box<Pieces>>,
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
            pieces: None,
        }
    }

    /// Keeps windows mode's pieces instead of requests from now on, drawing the splits from
    /// `streams` ([`crate::model::windows`] explains how windows read them).
    pub(super) fn by_pieces(&mut self, streams: &RngStreams, traffic: &TrafficSpec) {
        self.pieces = Some(Box::new(Pieces::new(streams, traffic)));
    }

    /// Windows mode's pieces, when kept.
    pub(super) fn pieces(&mut self) -> Option<&mut Pieces> {
        self.pieces.as_deref_mut()
    }

    /// How far back windows may reach.
    pub(super) fn keep(&self) -> SimTime {
        self.keep
    }

    /// Notes that the candidate served a request (windows mode's pieces).
    pub(super) fn see_candidate(&mut self) {
        self.candidate_seen = true;
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
    /// `[now − length, now)`, as a [`Window`], with their latencies when `latency` and the
    /// history keeps them. In windows mode a read may split pieces (and draw the latency order
    /// statistic), hence `&mut`.
    pub fn window(
        &mut self,
        now: SimTime,
        length: SimTime,
        candidate_only: bool,
        latency: bool,
    ) -> Window {
        let latency = latency && self.with_latency;
        if let Some(p) = self.pieces.as_deref_mut() {
            return p.window(now, length, candidate_only, latency);
        }
        let from = SimTime(now.micros().saturating_sub(length.micros()));
        let start = self.entries.partition_point(|e| e.at < from);
        let mut w = Window::new(latency);
        let entries = self.entries.range(start..).take_while(|e| e.at < now);
        for e in entries.filter(|e| e.candidate || !candidate_only) {
            let latency = latency.then_some(e.latency_us);
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
        let w = h.window(s(120), s(60), false, false);
        assert_eq!((w.requests, w.errors), (60, 30));
        let w = h.window(s(120), s(30), false, false);
        assert_eq!((w.requests, w.errors), (30, 15));
        // A window ending before the last request leaves it out.
        let w = h.window(s(100), s(10), false, false);
        assert_eq!(w.requests, 10);
        // The candidate served from 100 s on: 20 of the last 60 s.
        let w = h.window(s(120), s(60), true, false);
        assert_eq!((w.requests, w.errors), (20, 10));
        assert!(h.candidate_seen());
    }

    #[test]
    fn exposition_buckets_are_cumulative_and_le_inclusive() {
        let l = LatencyModel::from_median_p99(SimTime::from_millis(5), SimTime::from_millis(20));
        let mut x = Exposition::new(vec![5_000.0, 10_000.0], [&l, &l]);
        for (us, failed) in [
            (1_000.0, false),
            (5_000.0, true),
            (7_000.0, false),
            (20_000.0, false),
        ] {
            x.record(1, failed, Some(us), 0.0);
        }
        assert_eq!(x.requests(1), (3, 1));
        assert_eq!(x.requests(0), (0, 0));
        // le=0.005: 1 ms and 5 ms; le=0.01: + 7 ms; +Inf: + 20 ms.
        assert_eq!(x.cumulative_buckets(1).collect::<Vec<_>>(), [2, 3, 4]);
        // Without a computed latency the normal draw places it: below the median (z < 0) is
        // under 5 ms; z = 0.5 (6.7 ms) is in (5, 10] ms; z = 3 (30 ms) above 10 ms.
        for z in [-1.0, -0.1, 0.5, 3.0] {
            x.record(0, false, None, z);
        }
        assert!(l.at(0.5) > 5_000.0 && l.at(0.5) < 10_000.0 && l.at(3.0) > 10_000.0);
        assert_eq!(x.cumulative_buckets(0).collect::<Vec<_>>(), [2, 3, 4]);
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
