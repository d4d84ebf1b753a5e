//! Windows mode's [`crate::model::History`]: pieces of counts instead of requests.
//!
//! The request mode keeps one entry per request, so a check reads any window `[now − w, now)`
//! exactly. Windows mode keeps each piece it drew instead: its span `[a, b)` (continuous µs),
//! and per version its requests by outcome (failed; succeeded, not a write; good write;
//! corrupted write) and latency zone, with what the zones need to give latencies back (their
//! survival bounds, the delay, the latency model). A window sums the pieces inside it. A piece
//! straddling one of its edges is split there: given the piece's counts, its requests' times
//! are independent with a density proportional to the rate (constant, or the diurnal swing,
//! integrated by [`super::expected_requests`]; synthetic requests come at a constant rate), so
//! every (outcome, zone) count splits binomially with the share of the piece's expected
//! requests before the edge. The split is stored, so a later window that cuts the piece at the
//! same place reads the same requests, as overlapping windows share requests in the request
//! mode. The onset's request (the first affected one) comes exactly at its piece's end: it is
//! kept as a piece of its own at that instant.
//!
//! A window's nearest-rank p99 is one order statistic of its pieces' zones
//! ([`super::order_statistic`]), drawn when the window is read. That is exact for windows that
//! share no request, or read the same requests (the draw is kept for a second read of the
//! same window); [`crate::modes::unsupported`] refuses analyses whose latency windows could
//! overlap otherwise.

use std::collections::VecDeque;

use rand::RngExt;
use rand_distr::{Distribution, Hypergeometric};

use super::{Cells, Component, binomial, expected_requests, order_statistic};
use crate::engine::{Rng, RngStreams, SimTime};
use crate::model::{LatencyModel, TrafficSpec, Window, World};

/// The random streams of the piece history (new names: no other stream is drawn from here).
pub mod stream_names {
    /// Splits of pieces at window edges, and outcomes spread over latency zones.
    pub const HISTORY: &str = "windows.history";
    /// Order statistics of the history windows' latency.
    pub const HISTORY_LATENCY: &str = "windows.history_latency";
}

/// Row of [`Part::table`]: failed requests.
const FAILED: usize = 0;
/// Row of [`Part::table`]: succeeded requests that are not writes.
const OK: usize = 1;
/// Row of [`Part::table`]: successful writes storing a good record.
const WRITE: usize = 2;
/// Row of [`Part::table`]: successful writes storing a corrupted record.
const BAD_WRITE: usize = 3;

/// The requests of one version over one piece.
#[derive(Debug, Clone)]
struct Part {
    /// Requests per outcome row ([`FAILED`], [`OK`], [`WRITE`], [`BAD_WRITE`]) and z zone (all
    /// in zone 0 when the history keeps no latency).
    table: [[u64; 3]; 4],
    /// Survival-space bounds of the zones (as [`Component::s`]).
    s: [f64; 4],
    delay_us: f64,
    model: LatencyModel,
}

impl Part {
    fn total(&self) -> u64 {
        self.table.iter().flatten().sum()
    }

    /// Keeps each request with probability `p` (binomially, cell by cell); the rest stay.
    fn take(&mut self, rng: &mut Rng, p: f64) -> Part {
        let mut taken = self.clone();
        for (row, left) in taken.table.iter_mut().zip(&mut self.table) {
            for (c, l) in row.iter_mut().zip(left) {
                *c = binomial(rng, *l, p);
                *l -= *c;
            }
        }
        taken
    }
}

/// How a piece's requests are spread over its span.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Spread {
    /// As the users' rate (the diurnal swing when it varies).
    Traffic,
    /// Uniformly (synthetic requests, at a constant rate).
    Uniform,
    /// All at the piece's start (its end equals its start).
    Point,
}

#[derive(Debug, Clone)]
struct Piece {
    from_us: f64,
    to_us: f64,
    spread: Spread,
    /// `(version index, its requests)`: one per group of requests with cells of their own
    /// (scope classes, instances), of the versions the history keeps.
    parts: Vec<(usize, Part)>,
}

/// The pieces of the last `keep` of simulated time (see the module doc).
#[derive(Debug, Clone)]
pub(in crate::model) struct Pieces {
    split: Rng,
    latency: Rng,
    traffic: TrafficSpec,
    /// Whether the users' rate varies inside a piece (a diurnal swing).
    varies: bool,
    pieces: VecDeque<Piece>,
    /// The p99s (µs) drawn for windows ending at the last read's end, by `(from µs, to µs,
    /// candidate_only)`: a second read of one window reads the same requests.
    p99s: Vec<((u64, u64, bool), f64)>,
}

impl Pieces {
    /// An empty piece history for `traffic`, drawing from `streams`.
    pub(in crate::model) fn new(streams: &RngStreams, traffic: &TrafficSpec) -> Pieces {
        Pieces {
            split: streams.named(stream_names::HISTORY),
            latency: streams.named(stream_names::HISTORY_LATENCY),
            traffic: traffic.clone(),
            varies: traffic
                .diurnal
                .as_ref()
                .is_some_and(|d| d.amplitude.get() > 0.0),
            pieces: VecDeque::new(),
            p99s: Vec::new(),
        }
    }

    /// Keeps `piece` (skipped when empty), forgetting pieces that ended before `horizon_us`;
    /// returns whether the candidate served any of its requests.
    fn push(&mut self, piece: Piece, horizon_us: f64) -> bool {
        while self.pieces.front().is_some_and(|p| p.to_us < horizon_us) {
            self.pieces.pop_front();
        }
        let mut counts = [0; 2];
        for (v, p) in &piece.parts {
            counts[*v] += p.total();
        }
        if counts[0] + counts[1] > 0 {
            self.pieces.push_back(piece);
        }
        counts[1] > 0
    }

    /// The share of `piece`'s requests expected before `x` (inside its span).
    fn share_before(&self, piece: &Piece, x: f64) -> f64 {
        let (a, b) = (piece.from_us, piece.to_us);
        match piece.spread {
            Spread::Traffic if self.varies => {
                let all = expected_requests(&self.traffic, a, b);
                if all > 0.0 {
                    expected_requests(&self.traffic, a, x) / all
                } else {
                    (x - a) / (b - a)
                }
            }
            Spread::Traffic | Spread::Uniform => (x - a) / (b - a),
            Spread::Point => 0.0,
        }
    }

    /// Makes `x` a boundary of every piece: a piece spanning it is split in two (stored).
    fn cut(&mut self, x: f64) {
        let mut i = 0;
        while i < self.pieces.len() {
            let p = &self.pieces[i];
            if p.spread != Spread::Point && p.from_us < x && x < p.to_us {
                let share = self.share_before(p, x);
                let mut right = self.pieces[i].clone();
                let split = &mut self.split;
                let left = Piece {
                    from_us: right.from_us,
                    to_us: x,
                    spread: right.spread,
                    parts: (right.parts.iter_mut())
                        .map(|(v, p)| (*v, p.take(split, share)))
                        .collect(),
                };
                right.from_us = x;
                self.pieces[i] = left;
                self.pieces.insert(i + 1, right);
                i += 1;
            }
            i += 1;
        }
    }

    /// The requests of `[now − length, now)` (the candidate's only with `candidate_only`), as
    /// a [`Window`] whose latency histogram, with `with_latency`, reads the window's p99.
    pub(in crate::model) fn window(
        &mut self,
        now: SimTime,
        length: SimTime,
        candidate_only: bool,
        with_latency: bool,
    ) -> Window {
        let (from, to) = (now.micros().saturating_sub(length.micros()), now.micros());
        let (from_us, to_us) = (from as f64, to as f64);
        self.cut(from_us);
        self.cut(to_us);
        let mut w = Window::new(with_latency);
        let mut components = Vec::new();
        let inside = |p: &Piece| match p.spread {
            Spread::Point => from_us <= p.from_us && p.from_us < to_us,
            _ => from_us <= p.from_us && p.to_us <= to_us,
        };
        for p in self.pieces.iter().filter(|p| inside(p)) {
            let kept = p.parts.iter().filter(|(v, _)| *v == 1 || !candidate_only);
            for (_, part) in kept {
                let t = &part.table;
                let sum = |row: usize| t[row].iter().sum::<u64>();
                let n = part.total();
                w.requests += n;
                w.errors += sum(FAILED);
                w.writes += sum(WRITE) + sum(BAD_WRITE);
                w.bad_writes += sum(BAD_WRITE);
                if with_latency && n > 0 {
                    components.push(Component {
                        counts: [0, 1, 2].map(|k| t.iter().map(|row| row[k]).sum()),
                        s: part.s,
                        delay_us: part.delay_us,
                        model: part.model,
                    });
                }
            }
        }
        if with_latency && w.requests > 0 {
            let n = w.requests;
            // hdrhistogram's nearest rank for quantile q over n values: ceil(q·n), at least 1.
            let rank = ((0.99 * n as f64).ceil() as u64).clamp(1, n);
            let key = (from, to, candidate_only);
            self.p99s.retain(|(k, _)| k.1 == to);
            let value = match self.p99s.iter().find(|(k, _)| *k == key) {
                Some(&(_, v)) => v,
                None => {
                    let v = order_statistic(&mut self.latency, &components, n - rank + 1);
                    self.p99s.push((key, v));
                    v
                }
            };
            w.record_latency_n(1.0, rank - 1);
            w.record_latency_n(value, 1);
            w.record_latency_n(f64::MAX, n - rank);
        }
        w
    }
}

/// Spreads `k` of the `sizes[0] + sizes[1] + sizes[2]` requests of three zones uniformly at
/// random (multivariate hypergeometric by conditional draws): how many of the `k` fall in
/// each zone.
fn spread(rng: &mut Rng, k: u64, sizes: [u64; 3]) -> [u64; 3] {
    let mut out = [0u64; 3];
    let (mut left, mut population) = (k, sizes.iter().sum::<u64>());
    for (o, &size) in out.iter_mut().zip(&sizes) {
        *o = if left == 0 || size == 0 {
            0
        } else if size >= population {
            left
        } else {
            Hypergeometric::new(population, left, size).map_or(0, |d| d.sample(rng))
        };
        left -= *o;
        population -= size;
    }
    out
}

/// What the history keeps of one group of a piece (see [`World::record_history`]).
pub(super) struct Kept<'c> {
    pub v: usize,
    pub cells: &'c Cells,
    /// The users' requests per z zone, and the failed among them.
    pub zones: [u64; 3],
    pub failed_zones: [u64; 3],
    /// Their successful writes.
    pub writes: u64,
    /// Synthetic requests: `(requests, failed, per z zone)`.
    pub probes: (u64, u64, [u64; 3]),
    /// The onset's request, when it is in this group: `(failed, z zone)`.
    pub onset: Option<(bool, usize)>,
}

impl World<'_> {
    /// Adds one piece's requests to the history in windows mode (see the module doc): each
    /// group's users' requests over `[start, start + span_us)`, its synthetic ones, and the
    /// onset's request at the piece's end.
    pub(super) fn record_history(&mut self, kept: &[Kept<'_>], (start, span_us): (f64, f64)) {
        let Some(history) = self.history.as_mut() else {
            return;
        };
        let (keep_us, latency) = (history.keep().micros() as f64, history.wants_latency());
        let candidate = [false, true];
        let keeps = candidate.map(|c| history.keeps(c));
        let Some(pieces) = history.pieces() else {
            return;
        };
        let end = start + span_us;
        let rng = &mut pieces.split;
        let part = |k: &Kept<'_>, table: [[u64; 3]; 4]| Part {
            // Without latency every count sits in zone 0: fewer draws when splitting.
            table: if latency {
                table
            } else {
                table.map(|row| [row.iter().sum(), 0, 0])
            },
            s: k.cells.s,
            delay_us: k.cells.delay_us,
            model: self.spec.versions[k.v].latency,
        };
        let (mut users, mut synthetic, mut onset) = (Vec::new(), Vec::new(), Vec::new());
        for k in kept.iter().filter(|k| keeps[k.v]) {
            let failed = k.failed_zones;
            let ok: [u64; 3] = [0, 1, 2].map(|z| k.zones[z] - failed[z]);
            // Writes are a binomial thinning of the successes, whatever their zone.
            let written = spread(rng, k.writes, ok);
            let good = [0, 1, 2].map(|z| ok[z] - written[z]);
            let mut p = part(k, [failed, good, written, [0; 3]]);
            if let Some((failed, zone)) = k.onset {
                let zone = if latency { zone } else { 0 };
                let row = if failed {
                    FAILED
                } else {
                    // Among the piece's successes in its zone, a write with the writes' share.
                    let (good, written) = (p.table[OK][zone], p.table[WRITE][zone]);
                    let u = rng.random::<f64>() * (good + written) as f64;
                    if u < written as f64 { WRITE } else { OK }
                };
                p.table[row][zone] -= 1;
                let mut point = p.clone();
                point.table = [[0; 3]; 4];
                point.table[row][zone] = 1;
                onset.push((k.v, point));
            }
            users.push((k.v, p));
            let (_, probe_failed, zones) = k.probes;
            // A synthetic request's error draw is independent of its latency draw.
            let failed = spread(rng, probe_failed, zones);
            let good = [0, 1, 2].map(|z| zones[z] - failed[z]);
            synthetic.push((k.v, part(k, [failed, good, [0; 3], [0; 3]])));
        }
        let horizon = end - keep_us;
        let mut seen = false;
        for (from_us, spread, parts) in [
            (start, Spread::Traffic, users),
            (start, Spread::Uniform, synthetic),
            (end, Spread::Point, onset),
        ] {
            let piece = Piece {
                from_us,
                to_us: end,
                spread,
                parts,
            };
            seen |= pieces.push(piece, horizon);
        }
        if seen {
            history.see_candidate();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Probability;
    use crate::model::Diurnal;

    fn traffic(diurnal: Option<Diurnal>) -> TrafficSpec {
        TrafficSpec {
            rate_per_s: 100.0,
            users: 1000,
            write_fraction: Probability::ZERO,
            user_skew: None,
            diurnal,
            bursts: vec![],
        }
    }

    /// A candidate part with `failed` and `ok` requests, all in zone 0 of a log-normal with
    /// median e^10 µs (22 ms) and σ = 0.5.
    fn part(failed: u64, ok: u64) -> Part {
        let mut table = [[0; 3]; 4];
        table[FAILED][0] = failed;
        table[OK][0] = ok;
        Part {
            table,
            s: [1.0, 0.0, 0.0, 0.0],
            delay_us: 0.0,
            model: LatencyModel {
                mu: 10.0,
                sigma: 0.5,
            },
        }
    }

    fn piece(from_s: f64, to_s: f64, spread: Spread, failed: u64, ok: u64) -> Piece {
        Piece {
            from_us: from_s * 1e6,
            to_us: to_s * 1e6,
            spread,
            parts: vec![(1, part(failed, ok))],
        }
    }

    fn secs(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    #[test]
    fn a_split_at_the_middle_halves_a_constant_rate_piece_and_is_kept() {
        // One piece of 1,000 requests (100 failed) over [0, 60 s) at a constant rate. The
        // window [30 s, 60 s) cuts it in the middle: its requests are Binomial(1000, 1/2),
        // mean 500, sd √250 = 15.8; over 400 seeds the mean's sd is 0.79, 4 sd = 3.2. Its
        // failed requests are Binomial(100, 1/2): mean 50, mean's sd 5/20 = 0.25, 4 sd = 1.
        let (mut requests, mut errors) = (0u64, 0u64);
        let reps = 400;
        for seed in 0..reps {
            let mut h = Pieces::new(&RngStreams::new(seed, 0), &traffic(None));
            h.push(piece(0.0, 60.0, Spread::Traffic, 100, 900), 0.0);
            let late = h.window(secs(60), secs(30), true, false);
            requests += late.requests;
            errors += late.errors;
            // The split is stored: the earlier half holds exactly the rest, and the whole
            // minute all of them, whatever the order of the reads.
            let early = h.window(secs(30), secs(30), true, false);
            assert_eq!(early.requests + late.requests, 1000);
            assert_eq!(early.errors + late.errors, 100);
            let again = h.window(secs(60), secs(30), true, false);
            assert_eq!((again.requests, again.errors), (late.requests, late.errors));
            assert_eq!(h.window(secs(60), secs(60), true, false).requests, 1000);
            // Without the stable's requests kept, a service-wide read is the candidate's.
            assert_eq!(
                h.window(secs(60), secs(30), false, false).requests,
                late.requests
            );
        }
        let mean = requests as f64 / reps as f64;
        assert!((mean - 500.0).abs() < 3.2, "{mean}");
        let mean = errors as f64 / reps as f64;
        assert!((mean - 50.0).abs() < 1.0, "{mean}");
    }

    #[test]
    fn a_diurnal_piece_splits_by_its_integrated_rate() {
        // Rate ∝ 1 + a·cos(2π(t − peak)/P), a = 0.5, P = 120 s, peak at 0. Over [0, 60 s) (half
        // a period) the integral is 60 s; over [0, 30 s) it is 30 s + a·P/(2π)·sin(π/2) =
        // 30 + 9.549 s: the share before 30 s is 1/2 + a/π = 0.659155.
        let diurnal = Diurnal {
            amplitude: Probability::new(0.5).unwrap(),
            period: secs(120),
            peak: SimTime::ZERO,
        };
        let t = traffic(Some(diurnal));
        let mut h = Pieces::new(&RngStreams::new(1, 0), &t);
        let p = piece(0.0, 60.0, Spread::Traffic, 0, 1000);
        let share = h.share_before(&p, 30e6);
        assert!(
            (share - (0.5 + 0.5 / std::f64::consts::PI)).abs() < 1e-9,
            "{share}"
        );
        // Synthetic requests come at a constant rate whatever the swing.
        let uniform = piece(0.0, 60.0, Spread::Uniform, 0, 1000);
        assert!((h.share_before(&uniform, 30e6) - 0.5).abs() < 1e-12);
        // [0, 30 s) then holds Binomial(1000, 0.659155): mean 659.2, sd 15.0; over 400
        // seeds 4 sd of the mean = 3.0.
        let reps = 400;
        let mut early = 0;
        for seed in 0..reps {
            h = Pieces::new(&RngStreams::new(seed, 0), &t);
            h.push(p.clone(), 0.0);
            early += h.window(secs(30), secs(30), true, false).requests;
        }
        let mean = early as f64 / reps as f64;
        assert!((mean - 659.155).abs() < 3.0, "{mean}");
    }

    #[test]
    fn the_onset_request_stays_at_its_instant() {
        // The onset at 12.5 s ends a piece of 10 quiet requests over [0, 12.5 s): a window
        // ending at 12 s may hold some quiet ones but never the onset's; one ending at 13 s
        // holds it, and [12.5 s, 13 s) holds it alone.
        let mut h = Pieces::new(&RngStreams::new(5, 0), &traffic(None));
        h.push(piece(0.0, 12.5, Spread::Traffic, 0, 10), 0.0);
        h.push(piece(12.5, 12.5, Spread::Point, 1, 0), 0.0);
        for _ in 0..20 {
            assert_eq!(h.window(secs(12), secs(12), true, false).errors, 0);
        }
        let w = h.window(secs(13), secs(13), true, false);
        assert_eq!((w.requests, w.errors), (11, 1));
        let w = h.window(SimTime(13_000_000), SimTime(500_000), true, false);
        assert_eq!((w.requests, w.errors), (1, 1));
    }

    #[test]
    fn pieces_older_than_the_horizon_are_forgotten() {
        let mut h = Pieces::new(&RngStreams::new(6, 0), &traffic(None));
        for k in 0..10 {
            let from = f64::from(k) * 10.0;
            h.push(
                piece(from, from + 10.0, Spread::Traffic, 0, 5),
                (from - 30.0) * 1e6,
            );
        }
        // Pushing [90, 100 s) with a horizon of 60 s drops the pieces ending before it: the
        // five ending at 10 to 50 s are gone, [50, 60 s) is kept with the four after it.
        assert_eq!(h.pieces.len(), 5);
        assert_eq!(h.window(secs(100), secs(40), true, false).requests, 20);
        // Empty pieces are not kept at all.
        h.push(piece(100.0, 110.0, Spread::Traffic, 0, 0), 0.0);
        assert_eq!(h.pieces.len(), 5);
    }

    #[test]
    fn a_window_reads_its_p99_once_and_keeps_it() {
        // 10,000 requests in one zone spanning the whole log-normal: the window's p99 is the
        // 9,900th smallest draw, near the 0.99 quantile e^(10 + 0.5·2.326) = 70.4 ms; the
        // histogram holds the 10,000 values and reads the same value on a second read.
        let mut h = Pieces::new(&RngStreams::new(7, 0), &traffic(None));
        h.push(piece(0.0, 60.0, Spread::Traffic, 0, 10_000), 0.0);
        let w = h.window(secs(60), secs(60), true, true);
        let p99 = w.latency_p99_ms().unwrap();
        assert!((p99 / 70.4 - 1.0).abs() < 0.05, "{p99}");
        assert_eq!(w.latency_counts().map(|c| c.1).sum::<u64>(), 10_000);
        let again = h.window(secs(60), secs(60), true, true);
        assert_eq!(again.latency_p99_ms(), Some(p99));
        // Another window (here the second half) draws its own.
        let half = h.window(secs(60), secs(30), true, true);
        assert!(half.latency_p99_ms().is_some_and(|v| v != p99));
    }
}
