//! Windows mode: the requests between two control events drawn as counts, never one by one.
//!
//! Between two control events the world is piecewise constant (weights, faults in force,
//! readiness, shedding), so by Poisson splitting the requests of each outcome cell over a piece
//! are independent Poisson counts. A request's outcome is decided by three independent draws
//! in the request mode ([`super::World::serve`]): the 32-bit error draw, the 32-bit shed draw
//! and the normal latency draw `z`; each is cut into the zones that decide the outcome
//! (baseline error / fault error / none; baseline shed / fault shed / none; fast / slow only
//! with the fault's delay / slow anyway), and the product of the zones is the cell. The cell
//! probabilities are the request mode's exact thresholds (`thr / 2³²`, the normal survival
//! function at the same `z` limits), so nothing is approximated there.
//!
//! Fault-affected requests are drawn per user instead, so that distinct affected users are
//! exact: over a piece each user's affected requests are Poisson(μ), so the newly affected
//! among the not-yet-affected are Binomial(N − A, 1 − e^(−μ)), and their requests are a sum of
//! zero-truncated Poissons, plus Poisson(A·μ) from those already affected. Cost grows with
//! affected users, not with requests.
//!
//! The latency an analysis reads (the candidate window's nearest-rank p99) is one order
//! statistic of a mixture of shifted log-normals over the window's pieces and zones: the
//! window's rank-r latency is drawn exactly by generating each zone's largest draws from the
//! top (Rényi's representation of uniform order statistics, in survival space) and merging
//! them until rank r; the window's HDR histogram is then filled so that its nearest-rank
//! quantile reads that value from the same bucket the request mode would.
//!
//! Under a diurnal swing every Poisson mean is the rate integrated over the piece
//! ([`expected_requests`], in closed form) and the onset's wait is inverted on that integral.
//! Prometheus's exposition (`[[alerts]]`) grows by each piece's counts, scrapes being control
//! events, its histogram buckets split from the `z` zones by conditional binomials
//! (`bucket_counts`); synthetic preview and load-test requests are Poisson counts of their
//! own (`draw_probes`).
//!
//! What the mode does not do is refused before the first event by
//! [`crate::modes::unsupported`]; the one documented approximation (active users) is stated
//! with its bound at [`Sampler::finish`].

mod flag;
mod normal;

use super::{LatencyModel, TrafficSpec, VersionId, World, applied};
use crate::engine::{Rng, RngStreams, SimTime};
use rand::RngExt;
use rand_distr::{Binomial, Distribution, Exp1, Hypergeometric, Poisson};

pub use normal::{inverse_survival, survival};

crate::names::named! {
    /// How a run produces its requests (see [`crate::modes`]).
    pub enum Mode {
        /// Every request drawn and served one by one.
        Requests = "requests",
        /// Requests drawn as counts per window, exact in distribution.
        Windows = "windows",
    }
}

/// The random streams of windows mode, each derived from `(seed, replication, name)`.
pub mod stream_names {
    /// Request counts per piece, version and outcome cell.
    pub const COUNTS: &str = "windows.counts";
    /// Affected users and their requests.
    pub const USERS: &str = "windows.users";
    /// Sizes of the sticky-routing cohorts.
    pub const COHORT: &str = "windows.cohort";
    /// The first affected request's time.
    pub const ONSET: &str = "windows.onset";
    /// Order statistics of latency.
    pub const LATENCY: &str = "windows.latency";
    /// Latency histogram buckets of the exposition Prometheus scrapes.
    pub const BUCKETS: &str = "windows.buckets";
    /// Synthetic requests (load tester, preview service).
    pub const PROBE: &str = "windows.probe";
}

const TWO_32: f64 = 4_294_967_296.0;
const TWO_64: f64 = 18_446_744_073_709_551_616.0;

/// Users whose routing hash lies in `[previous slice's hi, hi)` (`hi = None`: up to 2⁶⁴).
/// Users inside a slice are exchangeable, so counts are all the mode keeps of them.
#[derive(Debug, Clone)]
struct Slice {
    hi: Option<u64>,
    users: u64,
    affected: u64,
    /// Per-user mean of unaffected requests so far (for active users at the end).
    quiet_mean: f64,
}

/// One piece of the candidate window's latency: counts per `z` zone.
#[derive(Debug, Clone)]
struct Component {
    counts: [u64; 3],
    /// Survival-space bounds of the zones: zone k is `(s[k+1], s[k]]`.
    s: [f64; 4],
    delay_us: f64,
    model: LatencyModel,
}

/// What one piece's users sent, per version: requests, failed, succeeded, per z zone.
struct Drawn {
    n: [u64; 2],
    failed: [u64; 2],
    ok: [u64; 2],
    zones: [[u64; 3]; 2],
}

/// The outcome cells of one version over one piece, as request probabilities.
#[derive(Debug, Clone, Default)]
struct Cells {
    /// Unaffected cells: `(probability, kind, z zone)`.
    quiet: Vec<(f64, Quiet, usize)>,
    /// Affected cells: `(probability, fault error, fault shed, z zone)`.
    affected: Vec<(f64, bool, bool, usize)>,
    /// Total affected probability.
    p_affected: f64,
    /// Probability of an error draw below the baseline or a fault's threshold (shedding
    /// aside): a synthetic request's failure probability.
    p_error: f64,
    /// Survival bounds of the z zones.
    s: [f64; 4],
    delay_us: f64,
    bits: u64,
    causes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Quiet {
    /// Fails without the faults (baseline error or baseline shedding).
    Baseline,
    /// Fails only because of a fault, but would have been slow anyway: not affected.
    FaultFailedSlow,
    /// Succeeds.
    Ok,
}

/// The per-run state of windows mode, kept by the world.
pub(super) struct Sampler {
    counts: Rng,
    users: Rng,
    cohort: Rng,
    onset: Rng,
    latency: Rng,
    buckets: Rng,
    probe: Rng,
    /// Continuous position of the last piece's end, µs (an onset splits a piece mid-µs).
    resume_us: f64,
    slices: Vec<Slice>,
    /// The candidate window's latency since its last reset.
    pending: Vec<Component>,
}

fn poisson(rng: &mut Rng, mean: f64) -> u64 {
    if mean <= 0.0 || !mean.is_finite() {
        return 0;
    }
    Poisson::new(mean).map_or(0, |d| d.sample(rng) as u64)
}

fn binomial(rng: &mut Rng, n: u64, p: f64) -> u64 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    Binomial::new(n, p).map_or(0, |d| d.sample(rng))
}

/// Sum of `k` independent zero-truncated Poisson(μ) draws.
fn sum_zero_truncated(rng: &mut Rng, k: u64, mu: f64) -> u64 {
    if k == 0 {
        return 0;
    }
    if mu < 1.0 {
        // P(1) = μ / (e^μ − 1); the others draw by inversion from 2.
        let p1 = if mu > 0.0 { mu / mu.exp_m1() } else { 1.0 };
        let ones = binomial(rng, k, p1);
        let mut sum = ones;
        let p2 = (mu * mu / 2.0) / (mu.exp_m1() - mu);
        for _ in ones..k {
            // Inversion over j ≥ 2 with P(j | j ≥ 2) ∝ μ^j / j!.
            let u: f64 = rng.random();
            let mut j = 2u64;
            let mut p = p2;
            let mut cum = p;
            while u > cum && p > 0.0 {
                j += 1;
                p *= mu / j as f64;
                cum += p;
            }
            sum += j;
        }
        sum
    } else {
        let d = Poisson::new(mu).ok();
        let mut sum = 0;
        for _ in 0..k {
            sum += loop {
                let x = d.map_or(1, |d| d.sample(rng) as u64);
                if x > 0 {
                    break x;
                }
            };
        }
        sum
    }
}

impl Sampler {
    pub(super) fn new(streams: &RngStreams, users: u64) -> Sampler {
        Sampler {
            counts: streams.named(stream_names::COUNTS),
            users: streams.named(stream_names::USERS),
            cohort: streams.named(stream_names::COHORT),
            onset: streams.named(stream_names::ONSET),
            latency: streams.named(stream_names::LATENCY),
            buckets: streams.named(stream_names::BUCKETS),
            probe: streams.named(stream_names::PROBE),
            resume_us: 0.0,
            slices: vec![Slice {
                hi: None,
                users,
                affected: 0,
                quiet_mean: 0.0,
            }],
            pending: Vec::new(),
        }
    }

    /// Makes `t` a slice boundary (sticky routing's threshold): the users of the slice it cuts
    /// split binomially by hash range, its affected users hypergeometrically.
    fn cut(&mut self, t: u64) {
        let mut lo = 0u64;
        for i in 0..self.slices.len() {
            let s = &self.slices[i];
            let hi = s.hi.map_or(TWO_64, |h| h as f64);
            if t == lo {
                return;
            }
            if s.hi.is_none_or(|h| t < h) {
                let share = (t - lo) as f64 / (hi - lo as f64);
                let below = binomial(&mut self.cohort, s.users, share);
                let affected_below = if s.affected == 0 || below == 0 {
                    0
                } else if below == s.users {
                    s.affected
                } else {
                    Hypergeometric::new(s.users, s.affected, below)
                        .map_or(0, |d| d.sample(&mut self.cohort))
                };
                let upper = Slice {
                    hi: s.hi,
                    users: s.users - below,
                    affected: s.affected - affected_below,
                    quiet_mean: s.quiet_mean,
                };
                let lower = Slice {
                    hi: Some(t),
                    users: below,
                    affected: affected_below,
                    quiet_mean: s.quiet_mean,
                };
                self.slices[i] = lower;
                self.slices.insert(i + 1, upper);
                return;
            }
            lo = s.hi.unwrap_or(u64::MAX);
        }
    }

    /// Affected users and active users at the end of the run: `(affected, active)`.
    ///
    /// Active users are drawn per slice as the affected plus Binomial(N − A, 1 − e^(−M)), `M`
    /// the per-user mean of unaffected requests over the run. This is exact for the pair
    /// (affected, active) and for each count on its own, but independent of the realised
    /// request counts, which in the request mode fix how many users stay silent. Both laws
    /// agree on the event "every user sent a request", so their total-variation distance is
    /// at most 2·N·e^(−Λ/N) (Λ the expected requests of the run), the bound
    /// [`crate::modes::unsupported`] holds below 1 %.
    fn finish(&mut self) -> (u64, u64) {
        let mut affected = 0;
        let mut active = 0;
        for s in &self.slices {
            affected += s.affected;
            let p = -(-s.quiet_mean).exp_m1();
            active += s.affected + binomial(&mut self.users, s.users - s.affected, p);
        }
        (affected, active)
    }
}

/// Survival-space bounds of the three z zones: fast, slow only with `delay_us`, slow anyway.
fn zones(model: &LatencyModel, slo_us: f64, slow_z: f64, delay_us: f64) -> [f64; 4] {
    let zd = if delay_us > 0.0 {
        if slo_us - delay_us <= 0.0 {
            f64::NEG_INFINITY
        } else {
            model.z_above(slo_us - delay_us).min(slow_z)
        }
    } else {
        slow_z
    };
    [1.0, survival(zd), survival(slow_z), 0.0]
}

impl World<'_> {
    /// Switches this world to windows mode: requests are drawn as counts per window with the
    /// streams of [`stream_names`] (see the module doc).
    pub fn sample_windows(&mut self, streams: &RngStreams) {
        let mut sampler = Sampler::new(streams, self.spec.traffic.users);
        if let Some(f) = self.routing.flag() {
            sampler.slices = flag::slices(f);
        }
        self.sampler = Some(Box::new(sampler));
    }

    /// Whether this world runs in windows mode.
    pub fn samples_windows(&self) -> bool {
        self.sampler.is_some()
    }

    /// The outcome cells of version `v` at `t`.
    fn cells(&self, v: usize, t: SimTime) -> Cells {
        let base = self.error_thr[v];
        let a = applied(&self.effects[v], t, |s| s.all);
        let p_a = base as f64 / TWO_32;
        let p_b = (a.err_thr.max(base) - base) as f64 / TWO_32;
        let p_c = 1.0 - p_a - p_b;
        let shed = self.shedding[v];
        let p_s0 = shed.without as f64 / TWO_32;
        let p_s1 = (shed.with.max(shed.without) - shed.without) as f64 / TWO_32;
        let p_s2 = 1.0 - p_s0 - p_s1;
        let model = self.spec.versions[v].latency;
        let s = zones(&model, self.slo_us, self.slow_z[v], a.delay_us);
        let pz = [s[0] - s[1], s[1] - s[2], s[2] - s[3]];
        let fails_without = p_a + p_s0 - p_a * p_s0;
        let mut quiet = Vec::with_capacity(6);
        for (k, &p) in pz.iter().enumerate() {
            quiet.push((fails_without * p, Quiet::Baseline, k));
        }
        // Fails only with the faults but slow anyway; succeeds slow anyway; succeeds fast.
        let fault_fail = (p_b + p_c) * (p_s1 + p_s2) - p_c * p_s2;
        quiet.push((fault_fail * pz[2], Quiet::FaultFailedSlow, 2));
        quiet.push((p_c * p_s2 * pz[2], Quiet::Ok, 2));
        quiet.push((p_c * p_s2 * pz[0], Quiet::Ok, 0));
        quiet.retain(|c| c.0 > 0.0);
        let mut affected = Vec::with_capacity(7);
        for (k, &p) in pz.iter().enumerate().take(2) {
            affected.push((p_b * p_s1 * p, true, true, k));
            affected.push((p_b * p_s2 * p, true, false, k));
            affected.push((p_c * p_s1 * p, false, true, k));
        }
        affected.push((p_c * p_s2 * pz[1], false, false, 1));
        affected.retain(|c| c.0 > 0.0);
        let p_affected = affected.iter().map(|c| c.0).sum();
        Cells {
            quiet,
            affected,
            p_affected,
            p_error: p_a + p_b,
            s,
            delay_us: a.delay_us,
            bits: a.bits,
            causes: shed.causes,
        }
    }

    /// Windows mode's [`World::advance`]: the requests of `[from, to)` as counts.
    pub(super) fn advance_windows(&mut self, from: SimTime, to: SimTime) -> SimTime {
        let Some(mut sampler) = self.sampler.take() else {
            return to;
        };
        // A piece also ends where an instance's flag value changes (flag routing).
        let mut at = from;
        let reached = loop {
            let end = self.flag_piece_end(at, to);
            let reached = self.piece(&mut sampler, at, end);
            if reached != end || end == to {
                break reached;
            }
            at = end;
        };
        self.sampler = Some(sampler);
        reached
    }

    fn piece(&mut self, sm: &mut Sampler, from: SimTime, to: SimTime) -> SimTime {
        let start = sm.resume_us.max(from.micros() as f64);
        let end = to.micros() as f64;
        if end <= start {
            return to;
        }
        let (sticky, _, thr64) = self.routing.thresholds();
        if sticky && thr64 > 0 && thr64 < u64::MAX {
            sm.cut(thr64);
        }
        let rate_per_us = self.spec.traffic.rate_at(from) / 1e6;
        // Under a diurnal swing the rate varies inside the piece: its expected requests are
        // the integral of the rate ([`expected_requests`]), else rate × length.
        let spec = self.spec;
        let traffic = &spec.traffic;
        let varies = traffic
            .diurnal
            .as_ref()
            .is_some_and(|d| d.amplitude.get() > 0.0);
        let n_users = traffic.users.max(1) as f64;
        let per_user_over = |span_us: f64| {
            if varies {
                expected_requests(traffic, start, start + span_us) / n_users
            } else {
                rate_per_us * span_us / n_users
            }
        };
        let cells = [self.cells(0, from), self.cells(1, from)];
        let share_c = self.slice_shares(&sm.slices, from);
        let per_user_aff = |q: f64| q * cells[1].p_affected + (1.0 - q) * cells[0].p_affected;

        // Before the onset, the first affected request ends the piece (the caller reacts to
        // it): an exponential wait on the affected rate, the requests before it unaffected.
        let mut span_us = end - start;
        let mut onset_at = None;
        // Before the onset the exponential wait decides: no affected request at all in the
        // piece when it ends first.
        let before_onset = self.stop_at_onset && self.recorder.onset.is_none();
        if before_onset {
            let aff_share: f64 = sm
                .slices
                .iter()
                .zip(&share_c)
                .map(|(s, &q)| s.users as f64 / n_users * per_user_aff(q))
                .sum();
            if aff_share > 0.0 {
                let wait: f64 = Exp1.sample(&mut sm.onset);
                let tau = if varies {
                    onset_time(&self.spec.traffic, start, end, wait / aff_share)
                } else {
                    Some(start + wait / (aff_share * rate_per_us))
                };
                if let Some(tau) = tau.filter(|&tau| tau < end) {
                    span_us = tau - start;
                    onset_at = Some(tau);
                }
            }
        }

        let mut n = [0u64; 2];
        let mut failed_window = [0u64; 2];
        let mut ok = [0u64; 2];
        let mut zone_counts = [[0u64; 3]; 2];
        let rec = &mut self.recorder;

        // Unaffected requests, per version and cell.
        let per_user = per_user_over(span_us);
        let mut users_v = [0.0f64; 2];
        for (s, &q) in sm.slices.iter_mut().zip(&share_c) {
            users_v[1] += s.users as f64 * q;
            users_v[0] += s.users as f64 * (1.0 - q);
            s.quiet_mean += per_user * (1.0 - per_user_aff(q));
        }
        for v in 0..2 {
            let t = draw_quiet(&mut sm.counts, &cells[v], per_user * users_v[v], rec);
            n[v] += t.0;
            failed_window[v] += t.1;
            ok[v] += t.2;
            zone_counts[v] = t.3;
        }

        // Affected requests, per user.
        let mut affected_v = [0u64; 2];
        match onset_at {
            Some(_) => {
                // Exactly one, from a user not affected before (nobody is before the onset).
                let weights: Vec<f64> = sm
                    .slices
                    .iter()
                    .zip(&share_c)
                    .map(|(s, &q)| s.users as f64 * per_user_aff(q))
                    .collect();
                let i = pick(&mut sm.users, &weights);
                let q = share_c[i];
                sm.slices[i].affected += 1;
                let pc = q * cells[1].p_affected;
                let v = usize::from(sm.users.random::<f64>() * per_user_aff(q) < pc);
                affected_v[v] = 1;
            }
            None if before_onset => {}
            None => {
                for (s, &q) in sm.slices.iter_mut().zip(&share_c) {
                    let mu = per_user * per_user_aff(q);
                    if mu <= 0.0 {
                        continue;
                    }
                    let fresh = binomial(&mut sm.users, s.users - s.affected, -(-mu).exp_m1());
                    let r = sum_zero_truncated(&mut sm.users, fresh, mu)
                        + poisson(&mut sm.users, s.affected as f64 * mu);
                    s.affected += fresh;
                    let pc = q * cells[1].p_affected / per_user_aff(q);
                    let rc = binomial(&mut sm.users, r, pc);
                    affected_v[1] += rc;
                    affected_v[0] += r - rc;
                }
            }
        }
        for v in 0..2 {
            let t = spread_affected(&mut sm.users, &cells[v], affected_v[v], rec);
            n[v] += t.0;
            failed_window[v] += t.1;
            ok[v] += t.2;
            for (z, add) in zone_counts[v].iter_mut().zip(t.3) {
                *z += add;
            }
        }

        let drawn = Drawn {
            n,
            failed: failed_window,
            ok,
            zones: zone_counts,
        };
        self.record_piece(sm, &cells, drawn, span_us);
        match onset_at {
            Some(tau) => {
                let t = SimTime(tau as u64);
                self.recorder.onset = Some(t);
                self.stop_at_onset = false;
                sm.resume_us = tau;
                t.max(from)
            }
            None => {
                sm.resume_us = end;
                to
            }
        }
    }

    /// Adds a piece's users' requests (`drawn`) and its synthetic requests over `span_us` to the
    /// run's tally, the analysis windows, the candidate's pending latency and the exposition.
    fn record_piece(&mut self, sm: &mut Sampler, cells: &[Cells; 2], drawn: Drawn, span_us: f64) {
        let Drawn {
            n,
            failed: failed_window,
            ok,
            zones: mut zone_counts,
        } = drawn;
        // Synthetic requests: `(requests, failed)` per version, their latencies in the zones.
        let mut probes = [(0u64, 0u64); 2];
        let probe_rate = self.probe.rate_per_us();
        if probe_rate > 0.0 {
            let v = self.probe.version.index();
            let (c, f, z) = draw_probes(&mut sm.probe, &cells[v], probe_rate * span_us);
            probes[v] = (c, f);
            for (k, add) in zone_counts[v].iter_mut().zip(z) {
                *k += add;
            }
        }

        let write_p = self.write_thr as f64 / TWO_32;
        for v in 0..2 {
            let (probe_n, probe_failed) = probes[v];
            if let Some(x) = &mut self.exposition {
                let model = &self.spec.versions[v].latency;
                let buckets = bucket_counts(
                    &mut sm.buckets,
                    x.bounds_us(),
                    model,
                    &cells[v],
                    zone_counts[v],
                );
                let failed = failed_window[v] + probe_failed;
                x.record_counts(v, n[v] + probe_n - failed, failed, &buckets);
            }
            self.recorder.requests += n[v];
            let w = &mut self.windows[v];
            w.requests += n[v] + probe_n;
            w.errors += failed_window[v] + probe_failed;
            w.writes += binomial(&mut sm.counts, ok[v], write_p);
            if v == VersionId::Candidate.index() && w.wants_latency() && n[v] + probe_n > 0 {
                sm.pending.push(Component {
                    counts: zone_counts[v],
                    s: cells[v].s,
                    delay_us: cells[v].delay_us,
                    model: self.spec.versions[v].latency,
                });
            }
        }
    }

    /// Empties window `v` for the next interval (and, in windows mode, the latency pending
    /// for it).
    pub fn reset_window(&mut self, v: VersionId) {
        self.windows[v.index()].reset();
        if let (VersionId::Candidate, Some(s)) = (v, self.sampler.as_mut()) {
            s.pending.clear();
        }
    }

    /// In windows mode, draws the candidate window's nearest-rank p99 latency from the counts
    /// of its pieces and records it in the window's histogram, so the window reads as the
    /// request mode's would; does nothing in request mode. Call before the window is read.
    pub fn settle_window(&mut self) {
        let Some(sm) = self.sampler.as_mut() else {
            return;
        };
        let window = &mut self.windows[VersionId::Candidate.index()];
        if sm.pending.is_empty() || !window.wants_latency() {
            sm.pending.clear();
            return;
        }
        let n: u64 = sm.pending.iter().flat_map(|c| c.counts).sum();
        // hdrhistogram's nearest rank for quantile q over n values: ceil(q·n), at least 1.
        let rank = ((0.99 * n as f64).ceil() as u64).clamp(1, n);
        let from_top = n - rank + 1;
        let value = order_statistic(&mut sm.latency, &sm.pending, from_top);
        window.record_latency_n(1.0, rank - 1);
        window.record_latency_n(value, 1);
        window.record_latency_n(f64::MAX, n - rank);
        sm.pending.clear();
    }

    /// In windows mode, writes the run's affected and active users into the recorder (see
    /// [`Sampler::finish`]); does nothing in request mode. Call once, at the end of the run.
    pub fn finish_windows(&mut self) {
        let Some(sm) = self.sampler.as_mut() else {
            return;
        };
        let (affected, active) = sm.finish();
        self.recorder.affected.fill_first(affected);
        self.recorder.active.fill_first(active);
    }
}

/// Expected requests of `traffic` over `[from_us, to_us)` (µs): the rate integrated exactly,
/// the diurnal cosine in closed form and the bursts' multipliers span by span (their edges
/// cut the interval).
pub fn expected_requests(traffic: &TrafficSpec, from_us: f64, to_us: f64) -> f64 {
    if to_us <= from_us {
        return 0.0;
    }
    let mut cuts = vec![from_us, to_us];
    for b in &traffic.bursts {
        for edge in [b.at, b.at.saturating_add(b.duration)] {
            let e = edge.micros() as f64;
            if e > from_us && e < to_us {
                cuts.push(e);
            }
        }
    }
    cuts.sort_by(f64::total_cmp);
    cuts.windows(2)
        .map(|w| {
            let mid = (w[0] + w[1]) / 2.0;
            let burst: f64 = traffic
                .bursts
                .iter()
                .filter(|b| {
                    b.at.micros() as f64 <= mid
                        && mid < b.at.saturating_add(b.duration).micros() as f64
                })
                .map(|b| b.multiplier)
                .product();
            burst * traffic.rate_per_s / 1e6 * diurnal_integral(traffic, w[0], w[1])
        })
        .sum()
}

/// `∫ (1 + a·cos(k(t − peak))) dt` over `[a_us, b_us)`, k = 2π/period: the length plus
/// `a·(sin(k(b − peak)) − sin(k(a − peak)))/k`, written as `2a·cos(k(m − peak))·sin(kh)/k`
/// (m the midpoint, h the half-length) so a short span keeps its precision.
fn diurnal_integral(traffic: &TrafficSpec, a_us: f64, b_us: f64) -> f64 {
    let length = b_us - a_us;
    let Some(d) = &traffic.diurnal else {
        return length;
    };
    let k = std::f64::consts::TAU / d.period.micros() as f64;
    let mid = (a_us + b_us) / 2.0 - d.peak.micros() as f64;
    length + 2.0 * d.amplitude.get() * (k * mid).cos() * (k * length / 2.0).sin() / k
}

/// The time in `[start, end)` at which `expected_requests(start, t)` reaches `target` (the
/// onset's exponential wait on a varying rate, divided by the affected share), or `None` when
/// the piece ends first. The integral is increasing in t: bisection to a hundredth of a µs.
fn onset_time(traffic: &TrafficSpec, start: f64, end: f64, target: f64) -> Option<f64> {
    if expected_requests(traffic, start, end) <= target {
        return None;
    }
    let (mut lo, mut hi) = (start, end);
    while hi - lo > 0.01 {
        let mid = (lo + hi) / 2.0;
        if expected_requests(traffic, start, mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(hi)
}

/// The candidate's share of each slice's requests, as [`super::Routing::pick`] routes them.
fn candidate_shares(slices: &[Slice], sticky: bool, thr32: u64, thr64: u64) -> Vec<f64> {
    slices
        .iter()
        .map(|s| {
            if thr32 == 0 && thr64 == 0 {
                0.0
            } else if sticky {
                f64::from(u8::from(
                    thr64 == u64::MAX || s.hi.is_some_and(|h| h <= thr64),
                ))
            } else {
                thr32 as f64 / TWO_32
            }
        })
        .collect()
}

/// Draws the unaffected requests of one version, `mean` expected in all, cell by cell;
/// returns `(requests, failed, succeeded, per z zone)`.
fn draw_quiet(
    rng: &mut Rng,
    cs: &Cells,
    mean: f64,
    rec: &mut super::Recorder,
) -> (u64, u64, u64, [u64; 3]) {
    let (mut n, mut failed, mut ok, mut zones) = (0, 0, 0, [0u64; 3]);
    for &(p, kind, k) in &cs.quiet {
        let c = poisson(rng, mean * p);
        if c == 0 {
            continue;
        }
        n += c;
        zones[k] += c;
        match kind {
            Quiet::Baseline => {
                failed += c;
                rec.baseline_failed += c;
            }
            Quiet::FaultFailedSlow => {
                failed += c;
                rec.failed += c;
            }
            Quiet::Ok => ok += c,
        }
    }
    (n, failed, ok, zones)
}

/// Draws the synthetic requests of one version over a piece, `mean` expected: judged like a
/// user's request by the faults on every user only (no shedding, no cohort: the request
/// mode's `World::serve_probe`), so each fails with the baseline-or-fault error probability,
/// its `z` zone independent of that; returns `(requests, failed, per z zone)`.
fn draw_probes(rng: &mut Rng, cs: &Cells, mean: f64) -> (u64, u64, [u64; 3]) {
    let n = poisson(rng, mean);
    let failed = binomial(rng, n, cs.p_error);
    let mut zones = [0u64; 3];
    let (mut left, mut width_left) = (n, cs.s[0] - cs.s[3]);
    for (k, zone) in zones.iter_mut().enumerate() {
        let width = cs.s[k] - cs.s[k + 1];
        *zone = if k == 2 {
            left
        } else if width_left > 0.0 {
            binomial(rng, left, (width / width_left).min(1.0))
        } else {
            0
        };
        left -= *zone;
        width_left -= width;
    }
    (n, failed, zones)
}

/// Spreads `affected` requests of one version over its affected cells (conditional binomials)
/// and marks which faults hurt someone; returns `(requests, failed, succeeded, per z zone)`.
fn spread_affected(
    rng: &mut Rng,
    cs: &Cells,
    affected: u64,
    rec: &mut super::Recorder,
) -> (u64, u64, u64, [u64; 3]) {
    let (mut n, mut failed, mut ok, mut zones) = (0, 0, 0, [0u64; 3]);
    let mut left = affected;
    if left == 0 {
        return (n, failed, ok, zones);
    }
    let mut p_left = cs.p_affected;
    let mut hurt = false;
    let mut capacity = false;
    for (j, &(p, fault_error, fault_shed, k)) in cs.affected.iter().enumerate() {
        let c = if j + 1 == cs.affected.len() {
            left
        } else {
            binomial(rng, left, (p / p_left).min(1.0))
        };
        left -= c;
        p_left -= p;
        if c == 0 {
            continue;
        }
        n += c;
        zones[k] += c;
        if fault_error || fault_shed {
            failed += c;
            rec.failed += c;
        } else {
            ok += c;
        }
        // An error drawn under the fault's threshold, or a delay that made it slow.
        hurt |= fault_error || (!fault_shed && k == 1);
        capacity |= fault_shed;
        if left == 0 {
            break;
        }
    }
    if hurt {
        rec.hurt |= cs.bits;
    }
    if capacity {
        rec.hurt_capacity |= cs.causes;
    }
    (n, failed, ok, zones)
}

/// The exposition's histogram counts of one version's requests over a piece, given their
/// counts per z zone: within a zone z is uniform in survival space, so each zone's count
/// splits over the buckets' survival intervals by conditional binomials (exact). A request's
/// latency is `model.at(z) + delay`, at most bound `b` when `S(z) ≥ S(z_above(b − delay))`.
/// Returns one count per bound then `+Inf`; empty without a histogram.
fn bucket_counts(
    rng: &mut Rng,
    bounds_us: &[f64],
    model: &LatencyModel,
    cs: &Cells,
    zone_counts: [u64; 3],
) -> Vec<u64> {
    if bounds_us.is_empty() {
        return Vec::new();
    }
    // Survival at each bound, decreasing: bucket j holds S in [cut[j], cut[j − 1]), the last
    // bucket (`+Inf`) S in [0, cut[last]).
    let cut: Vec<f64> = bounds_us
        .iter()
        .map(|&b| {
            if b - cs.delay_us <= 0.0 {
                1.0
            } else {
                survival(model.z_above(b - cs.delay_us))
            }
        })
        .collect();
    let mut out = vec![0u64; bounds_us.len() + 1];
    for (k, &count) in zone_counts.iter().enumerate() {
        let (lo, hi) = (cs.s[k + 1], cs.s[k]);
        let mut left = count;
        let mut width_left = hi - lo;
        let mut upper = 1.0f64;
        for (j, slot) in out.iter_mut().enumerate() {
            if left == 0 {
                break;
            }
            let lower = cut.get(j).copied().unwrap_or(0.0);
            let width = (upper.min(hi) - lower.max(lo)).max(0.0);
            upper = lower;
            let c = if j == bounds_us.len() {
                left
            } else if width_left > 0.0 {
                binomial(rng, left, (width / width_left).min(1.0))
            } else {
                0
            };
            *slot += c;
            left -= c;
            width_left -= width;
        }
    }
    out
}

/// An index drawn with probability proportional to `weights`.
fn pick(rng: &mut Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, &w) in weights.iter().enumerate() {
        if u < w {
            return i;
        }
        u -= w;
    }
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
}

/// The `from_top`-th largest latency (µs) of the requests in `parts`, drawn exactly.
///
/// Each zone of each part holds `c` iid standard normals restricted to a survival range
/// `(lo, hi]`; its largest values are the smallest survivals, generated one after the other:
/// the minimum of `c` uniforms on `(x, hi]` is `x + (hi − x)(1 − V^(1/c))`. The zones' streams
/// of decreasing latencies are merged until `from_top` values have been taken.
fn order_statistic(rng: &mut Rng, parts: &[Component], from_top: u64) -> f64 {
    struct Head {
        part: usize,
        zone: usize,
        left: u64,
        s: f64,
        latency: f64,
    }
    let next = |rng: &mut Rng, h: &mut Head, parts: &[Component]| {
        let p = &parts[h.part];
        let hi = p.s[h.zone];
        let v: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
        let shrink = -(v.ln() / h.left as f64).exp_m1();
        h.s = (h.s + (hi - h.s) * shrink).min(hi);
        h.left -= 1;
        h.latency = p.model.at(inverse_survival(h.s)) + p.delay_us;
    };
    let mut heads: Vec<Head> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        for zone in 0..3 {
            if p.counts[zone] > 0 {
                let mut h = Head {
                    part: i,
                    zone,
                    left: p.counts[zone],
                    s: p.s[zone + 1],
                    latency: 0.0,
                };
                next(rng, &mut h, parts);
                heads.push(h);
            }
        }
    }
    let mut taken = 0;
    loop {
        let Some(best) =
            (0..heads.len()).max_by(|&a, &b| heads[a].latency.total_cmp(&heads[b].latency))
        else {
            return 0.0;
        };
        taken += 1;
        if taken >= from_top {
            return heads[best].latency;
        }
        if heads[best].left == 0 {
            heads.swap_remove(best);
        } else {
            let mut h = heads.swap_remove(best);
            next(rng, &mut h, parts);
            heads.push(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;

    #[test]
    fn zero_truncated_sums_have_the_right_mean() {
        let mut rng = RngStreams::new(1, 0).named("t");
        for &mu in &[0.01, 0.5, 3.0] {
            let k = 20_000;
            let s = sum_zero_truncated(&mut rng, k, mu) as f64 / k as f64;
            let mean = mu / -(-mu).exp_m1();
            // Var of a ZTP ≤ mean·(1 + μ); four standard errors.
            let se = (mean * (1.0 + mu) / k as f64).sqrt();
            assert!((s - mean).abs() < 4.0 * se, "mu {mu}: {s} vs {mean}");
        }
    }

    #[test]
    fn order_statistic_of_one_lognormal_matches_its_quantile() {
        // 10 000 draws, rank 9 900 from the bottom: the 101st from the top. Its mean is close
        // to the 0.99 quantile of the log-normal: exp(mu + sigma·2.326).
        let model = LatencyModel {
            mu: 10.0,
            sigma: 0.5,
        };
        let part = Component {
            counts: [10_000, 0, 0],
            s: [1.0, 0.0, 0.0, 0.0],
            delay_us: 0.0,
            model,
        };
        let mut rng = RngStreams::new(2, 0).named("t");
        let reps = 400;
        let mean: f64 = (0..reps)
            .map(|_| order_statistic(&mut rng, std::slice::from_ref(&part), 101).ln())
            .sum::<f64>()
            / f64::from(reps);
        let expected = 10.0 + 0.5 * 2.326_347_874;
        assert!((mean - expected).abs() < 0.01, "{mean} vs {expected}");
    }

    #[test]
    fn bucket_counts_follow_the_shifted_log_normal() {
        // Median 10 ms (µ = ln 10 000), σ = 0.5, every request delayed 5 ms; zones cut the
        // survival range at 0.6 and 0.1 and hold counts in proportion to their widths, so the
        // requests are 100 000 draws of 10 ms·e^(0.5 z) + 5 ms. P(latency ≤ b) = Φ(ln((b − 5
        // ms)/10 ms)/0.5): 8 ms → Φ(−2.408) = 0.00802, 15 ms → Φ(0) = 0.5, 30 ms →
        // Φ(1.833) = 0.9666; the 4 ms bound is below the delay (0).
        let model = LatencyModel {
            mu: 10_000f64.ln(),
            sigma: 0.5,
        };
        let cs = Cells {
            s: [1.0, 0.6, 0.1, 0.0],
            delay_us: 5_000.0,
            ..Cells::default()
        };
        let bounds = [4_000.0, 8_000.0, 15_000.0, 30_000.0];
        let mut rng = RngStreams::new(4, 0).named("t");
        let n = 100_000u64;
        let b = bucket_counts(&mut rng, &bounds, &model, &cs, [40_000, 50_000, 10_000]);
        assert_eq!(b.len(), 5);
        assert_eq!(b.iter().sum::<u64>(), n);
        let cdf = [0.0, 0.00802, 0.5, 0.9666, 1.0];
        let mut below = 0;
        for (j, &c) in b.iter().take(4).enumerate() {
            below += c;
            let p = cdf[j];
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            let expected = n as f64 * p;
            // 4 sd, plus 0.0001·n for the 4-digit rounding of the table above.
            assert!(
                (below as f64 - expected).abs() <= 4.0 * sd + 10.0,
                "bound {j}: {below} vs {expected}"
            );
        }
    }

    #[test]
    fn cutting_a_slice_keeps_users_and_affected() {
        let streams = RngStreams::new(3, 0);
        let mut s = Sampler::new(&streams, 1000);
        s.slices[0].affected = 10;
        s.cut(u64::MAX / 4);
        s.cut(u64::MAX / 2);
        s.cut(u64::MAX / 4);
        assert_eq!(s.slices.len(), 3);
        assert_eq!(s.slices.iter().map(|x| x.users).sum::<u64>(), 1000);
        assert_eq!(s.slices.iter().map(|x| x.affected).sum::<u64>(), 10);
        assert!(s.slices.iter().all(|x| x.affected <= x.users));
    }
}
