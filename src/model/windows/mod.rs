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
//! Users are kept per scope class (which user-scoped faults hold them, computed exactly from
//! the user ids) and, under sticky routing, per slice of the hash range; cells are per class
//! and, where instances are kept (probes, `faults.instances`), per routable instance, which a
//! request picks uniformly ([`Route`]).
//! A traffic spike multiplies a piece's means; corrupted writes are an affected cell of fast
//! successes. A ramping fault (`memory_leak`) is cut into short pieces holding their
//! midpoint's level ([`RAMP_STEP_DELAY_US`], [`RAMP_STEP_ERROR`]).
//!
//! Under outlier detection (`[fleet.outlier_detection]`) each routable instance's count of
//! failures in a row is drawn from its failure and success processes, and an ejection ends the
//! piece ([`outlier`]).
//!
//! Analyses that read windows of their own (Flagger's per-metric intervals, Argo's analysis
//! runs) read a history of the pieces, split binomially where a window's edge cuts one
//! ([`history`]).
//!
//! The migrated table (`[database]`) changes the cells of the requests that touch it (a lock's
//! failures and stalls, a schema a version cannot use) and fills the ledger with counts of
//! stored writes ([`database`]).
//!
//! What the mode does not do is refused before the first event by
//! [`crate::modes::unsupported`]; the documented approximations (active users, ramps) are
//! stated with their bounds at [`Sampler::finish`] and [`World::ramp_cut`].

pub mod bins;
mod database;
mod flag;
pub(super) mod history;
mod normal;
mod outlier;

use super::{Experiment, LatencyModel, Picked, Scope, TrafficSpec, VersionId, World, applied_on};
use crate::engine::{Rng, RngStreams, SimTime};
use rand::RngExt;
use rand_distr::{Binomial, Distribution, Exp1, Hypergeometric, Poisson};
use std::collections::BTreeMap;

pub use database::reads_can_miss;
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
    /// Whole latency samples in judge bins ([`super::bins`]).
    pub const BINS: &str = "windows.bins";
    /// Stable requests diverted to an experiment baseline.
    pub const EXPERIMENT: &str = "windows.experiment";
    /// Which successful writes touch the migrated table (its ledger).
    pub const DATABASE: &str = "windows.database";
    /// Each instance's failures in a row under outlier detection, and the users behind them.
    pub const OUTLIER: &str = "windows.outlier";
}

const TWO_32: f64 = 4_294_967_296.0;

/// Largest change of a ramping fault's added latency within one piece, µs: pieces hold the
/// level of their midpoint, so a request's added latency is off by at most half of this.
pub const RAMP_STEP_DELAY_US: f64 = 1_000.0;
/// Largest change of a ramping fault's error probability within one piece (a request's error
/// probability is off by at most half of this; the expected count of errors is exact, the
/// probability being linear in time).
pub const RAMP_STEP_ERROR: f64 = 0.000_5;
const TWO_64: f64 = 18_446_744_073_709_551_616.0;

/// Users of one scope class whose routing hash lies in `[previous slice's hi, hi)` (`hi =
/// None`: up to 2⁶⁴). The slices of one hash range are consecutive, one per class. Users
/// inside a slice are exchangeable, so counts are all the mode keeps of them.
#[derive(Debug, Clone)]
struct Slice {
    hi: Option<u64>,
    /// Index of the users' scope class in [`Sampler::masks`].
    class: usize,
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

/// What one piece's requests of one version and scope class came to.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    n: u64,
    failed: u64,
    /// Succeeded fast and unaffected: under a `data_corruption` fault, known not to be a
    /// corrupted write.
    ok_clean: u64,
    /// Succeeded otherwise (slow anyway, or affected by a delay).
    ok: u64,
    /// Succeeded as corrupted writes that affected their user.
    corrupt: u64,
    zones: [u64; 3],
    /// Failed requests per z zone.
    failed_zones: [u64; 3],
}

impl Tally {
    /// Adds `c` unaffected requests of kind `kind` in z zone `k`.
    fn quiet(&mut self, kind: Quiet, k: usize, c: u64, rec: &mut super::Recorder) {
        self.n += c;
        self.zones[k] += c;
        match kind {
            Quiet::Baseline => {
                self.failed += c;
                self.failed_zones[k] += c;
                rec.baseline_failed += c;
            }
            Quiet::FaultFailedSlow => {
                self.failed += c;
                self.failed_zones[k] += c;
                rec.failed += c;
            }
            Quiet::Ok if k == 0 => self.ok_clean += c,
            Quiet::Ok => self.ok += c,
        }
    }

    /// Adds `c` affected requests of cell `h` and marks what hurt them (`causes`: the faults
    /// behind shedding).
    fn hit(&mut self, h: &Hit, causes: u64, c: u64, rec: &mut super::Recorder) {
        self.n += c;
        self.zones[h.zone] += c;
        if h.failed {
            self.failed += c;
            self.failed_zones[h.zone] += c;
            rec.failed += c;
        } else if h.corrupt {
            self.corrupt += c;
        } else {
            self.ok += c;
        }
        rec.hurt |= h.bits;
        rec.hurt_database |= h.database;
        if h.shed {
            rec.hurt_capacity |= causes;
        }
    }

    fn add(&mut self, o: Tally) {
        self.n += o.n;
        self.failed += o.failed;
        self.ok_clean += o.ok_clean;
        self.ok += o.ok;
        self.corrupt += o.corrupt;
        for (z, add) in self.zones.iter_mut().zip(o.zones) {
            *z += add;
        }
        for (z, add) in self.failed_zones.iter_mut().zip(o.failed_zones) {
            *z += add;
        }
    }
}

/// One version's requests of one scope class to one of its routes over a piece (the indices
/// of the piece's cells).
struct Group {
    v: usize,
    class: usize,
    part: usize,
    users: Tally,
    /// Synthetic requests: `(requests, failed)`, and their count per z zone.
    probes: (u64, u64),
    probe_zones: [u64; 3],
    /// The onset's request, when this group drew it: `(failed, z zone)`.
    onset: Option<(bool, usize)>,
}

/// The requests of one version and class over a piece that one window records.
struct Counts {
    n: u64,
    failed: u64,
    zones: [u64; 3],
    failed_zones: [u64; 3],
    writes: u64,
    bad: u64,
}

impl Counts {
    /// Takes each request with probability `p` (the experiment baseline's diversion, which
    /// does not depend on the request's outcome): every (failed or not, z zone) count thins
    /// binomially, so the taken and the left requests keep their joint law of errors and
    /// latencies. Writes thin on their own: nothing reads the baseline's writes with its
    /// latencies.
    fn divert(&mut self, rng: &mut Rng, p: f64) -> Counts {
        let mut d = Counts {
            n: 0,
            failed: 0,
            zones: [0; 3],
            failed_zones: [0; 3],
            writes: 0,
            bad: 0,
        };
        for k in 0..3 {
            let failed = binomial(rng, self.failed_zones[k], p);
            let ok = binomial(rng, self.zones[k] - self.failed_zones[k], p);
            d.failed_zones[k] = failed;
            d.zones[k] = failed + ok;
            d.failed += failed;
            d.n += failed + ok;
        }
        d.bad = binomial(rng, self.bad, p);
        d.writes = d.bad + binomial(rng, self.writes - self.bad, p);
        self.n -= d.n;
        self.failed -= d.failed;
        self.writes -= d.writes;
        self.bad -= d.bad;
        for k in 0..3 {
            self.zones[k] -= d.zones[k];
            self.failed_zones[k] -= d.failed_zones[k];
        }
        d
    }
}

impl Group {
    /// One empty group per class, version and route of `cells`, in that order.
    fn all(cells: &[[Parts; 2]]) -> Vec<Group> {
        let mut groups = Vec::new();
        for (class, parts) in cells.iter().enumerate() {
            for (v, p) in parts.iter().enumerate() {
                groups.extend((0..p.each.len()).map(|part| Group {
                    v,
                    class,
                    part,
                    users: Tally::default(),
                    probes: (0, 0),
                    probe_zones: [0; 3],
                    onset: None,
                }));
            }
        }
        groups
    }
}

/// An affected outcome cell: what the faults did to the request.
#[derive(Debug, Clone, Copy)]
struct Hit {
    p: f64,
    /// Failed (a fault's error, the faults' shedding, or no instance to route to).
    failed: bool,
    /// Shed because of the faults' load.
    shed: bool,
    /// A successful write stored corrupted (fast, not failed).
    corrupt: bool,
    zone: usize,
    /// The faults it marks as having hurt someone (`Recorder::hurt`).
    bits: u64,
    /// The migrated table hurt it (`Recorder::hurt_database`).
    database: bool,
}

/// Where a version's requests go over a piece, as [`World::serve`] routes them.
#[derive(Debug, Clone, Copy)]
enum Route {
    /// No instance is kept: every effect applies as to any instance.
    Any,
    /// One routable instance (its share is one over the routable count).
    To(Picked),
    /// No instance is routable: every request fails, blamed on these faults.
    Unroutable(u64),
}

/// One version's cells for one scope class: one per instance its requests go to.
#[derive(Debug, Clone)]
struct Parts {
    each: Vec<Cells>,
    /// Mean affected probability over the instances (a request picks one uniformly).
    p_affected: f64,
}

/// The outcome cells of one version over one piece, as request probabilities.
#[derive(Debug, Clone, Default)]
struct Cells {
    /// Unaffected cells: `(probability, kind, z zone)`.
    quiet: Vec<(f64, Quiet, usize)>,
    /// Affected cells.
    affected: Vec<Hit>,
    /// Total affected probability.
    p_affected: f64,
    /// Probability of an error draw below the baseline or a fault's threshold (shedding
    /// aside): a synthetic request's failure probability.
    p_error: f64,
    /// Survival bounds of the z zones.
    s: [f64; 4],
    delay_us: f64,
    /// Probability that a successful write is stored corrupted.
    corrupt: f64,
    /// The faults that applied.
    bits: u64,
    /// The faults behind shedding (`Recorder::hurt_capacity`).
    causes: u64,
    /// Probability that a successful write is stored in the migrated table (0: it fails or
    /// there is none).
    p_table_write: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Quiet {
    /// Fails without the faults (baseline error or baseline shedding).
    Baseline,
    /// Fails only because of a fault, but would have been slow anyway: not affected.
    FaultFailedSlow,
    /// Succeeds fast, or slow anyway (zone 2).
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
    bins: Rng,
    experiment: Rng,
    table: Rng,
    outlier: Rng,
    /// Whether windows keep whole latency samples ([`bins`]) rather than the one order
    /// statistic their p99 needs: a judge compares the versions' latencies.
    whole_latency: bool,
    /// Continuous position of the last piece's end, µs (an onset splits a piece mid-µs).
    resume_us: f64,
    slices: Vec<Slice>,
    /// The scope classes: bit `i` set when the class's users are in fault `i`'s scope
    /// (`faults.users`); `[0]` when every fault hits every user.
    masks: Vec<u64>,
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
    /// `users` users, split into scope classes by the faults' `scopes` exactly as the request
    /// mode decides them (`Scope::hits` on every user id).
    pub(super) fn new(streams: &RngStreams, users: u64, scopes: &[Scope]) -> Sampler {
        let scoped: Vec<Scope> = scopes.iter().filter(|s| !s.all).copied().collect();
        let mut classes = BTreeMap::new();
        if scoped.is_empty() {
            classes.insert(0u64, users);
        } else {
            for u in 0..users {
                let mask = scoped
                    .iter()
                    .filter(|s| s.hits(u))
                    .fold(0, |m, s| m | s.bit);
                *classes.entry(mask).or_insert(0u64) += 1;
            }
        }
        Sampler {
            counts: streams.named(stream_names::COUNTS),
            users: streams.named(stream_names::USERS),
            cohort: streams.named(stream_names::COHORT),
            onset: streams.named(stream_names::ONSET),
            latency: streams.named(stream_names::LATENCY),
            buckets: streams.named(stream_names::BUCKETS),
            probe: streams.named(stream_names::PROBE),
            bins: streams.named(stream_names::BINS),
            experiment: streams.named(stream_names::EXPERIMENT),
            table: streams.named(stream_names::DATABASE),
            outlier: streams.named(stream_names::OUTLIER),
            whole_latency: false,
            resume_us: 0.0,
            slices: classes
                .values()
                .enumerate()
                .map(|(class, &users)| Slice {
                    hi: None,
                    class,
                    users,
                    affected: 0,
                    quiet_mean: 0.0,
                })
                .collect(),
            masks: classes.into_keys().collect(),
            pending: Vec::new(),
        }
    }

    /// Makes `t` a slice boundary (sticky routing's threshold): the users of each class of the
    /// hash range it cuts split binomially by hash range, their affected users
    /// hypergeometrically.
    fn cut(&mut self, t: u64) {
        let mut lo = 0u64;
        let mut i = 0;
        while i < self.slices.len() {
            let hi = self.slices[i].hi;
            let end = i + self.slices[i..].iter().take_while(|s| s.hi == hi).count();
            if t == lo {
                return;
            }
            if hi.is_none_or(|h| t < h) {
                let share = (t - lo) as f64 / (hi.map_or(TWO_64, |h| h as f64) - lo as f64);
                let mut lower = Vec::with_capacity(end - i);
                for s in &mut self.slices[i..end] {
                    let below = binomial(&mut self.cohort, s.users, share);
                    let affected_below = if s.affected == 0 || below == 0 {
                        0
                    } else if below == s.users {
                        s.affected
                    } else {
                        Hypergeometric::new(s.users, s.affected, below)
                            .map_or(0, |d| d.sample(&mut self.cohort))
                    };
                    lower.push(Slice {
                        hi: Some(t),
                        class: s.class,
                        users: below,
                        affected: affected_below,
                        quiet_mean: s.quiet_mean,
                    });
                    s.users -= below;
                    s.affected -= affected_below;
                }
                self.slices.splice(i..i, lower);
                return;
            }
            lo = hi.unwrap_or(u64::MAX);
            i = end;
        }
    }

    /// Users per scope class and version over a piece: each slice's users times its share of
    /// each version (`share_c`: the candidate's).
    fn users_by_version(&self, share_c: &[f64], classes: usize) -> Vec<[f64; 2]> {
        let mut users_v = vec![[0.0f64; 2]; classes];
        for (s, &q) in self.slices.iter().zip(share_c) {
            users_v[s.class][1] += s.users as f64 * q;
            users_v[s.class][0] += s.users as f64 * (1.0 - q);
        }
        users_v
    }

    /// The onset's one affected request, from a user not affected before (nobody is before
    /// the onset): per class and version.
    fn first_affected(&mut self, cells: &[[Parts; 2]], share_c: &[f64]) -> Vec<[u64; 2]> {
        let mut affected = vec![[0; 2]; cells.len()];
        let weights: Vec<f64> = self
            .slices
            .iter()
            .zip(share_c)
            .map(|(s, &q)| s.users as f64 * per_request_affected(&cells[s.class], q))
            .collect();
        let i = pick(&mut self.users, &weights);
        let (q, c) = (share_c[i], self.slices[i].class);
        self.slices[i].affected += 1;
        let pc = q * cells[c][1].p_affected;
        let u: f64 = self.users.random();
        let v = usize::from(u * per_request_affected(&cells[c], q) < pc);
        affected[c][v] = 1;
        affected
    }

    /// The affected requests of a piece in which each user sends `per_user` requests on
    /// average, per class and version: per slice, the newly affected users and their requests
    /// (see the module doc), split between the versions by their shares.
    fn affected(&mut self, cells: &[[Parts; 2]], share_c: &[f64], per_user: f64) -> Vec<[u64; 2]> {
        let mut affected = vec![[0; 2]; cells.len()];
        for (s, &q) in self.slices.iter_mut().zip(share_c) {
            let aff = per_request_affected(&cells[s.class], q);
            let mu = per_user * aff;
            if mu <= 0.0 {
                continue;
            }
            let fresh = binomial(&mut self.users, s.users - s.affected, -(-mu).exp_m1());
            let r = sum_zero_truncated(&mut self.users, fresh, mu)
                + poisson(&mut self.users, s.affected as f64 * mu);
            s.affected += fresh;
            let pc = q * cells[s.class][1].p_affected / aff;
            let rc = binomial(&mut self.users, r, pc);
            affected[s.class][1] += rc;
            affected[s.class][0] += r - rc;
        }
        affected
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

/// The probability that a request of a user with candidate share `q` is affected, given the
/// class's cells of both versions.
fn per_request_affected(cells: &[Parts; 2], q: f64) -> f64 {
    q * cells[1].p_affected + (1.0 - q) * cells[0].p_affected
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
    /// streams of [`stream_names`] (see the module doc). With `whole_latency` the windows that
    /// keep latencies get whole samples in judge bins ([`bins`]), else only the order
    /// statistic their p99 reads.
    pub fn sample_windows(&mut self, streams: &RngStreams, whole_latency: bool) {
        let mut sampler = Sampler::new(streams, self.spec.traffic.users, &self.scopes);
        sampler.whole_latency = whole_latency;
        // Under flag routing the users are kept per Unleash bucket ([`flag`]).
        if let Some(f) = self.routing.flag() {
            sampler.slices = flag::slices(f, &sampler.masks, &self.scopes);
        }
        self.sampler = Some(Box::new(sampler));
        if let Some(h) = self.history.as_mut() {
            h.by_pieces(streams, &self.spec.traffic);
        }
    }

    /// Whether this world runs in windows mode.
    pub fn samples_windows(&self) -> bool {
        self.sampler.is_some()
    }

    /// The outcome cells of version `v` at `t` for users of scope class `mask` (see
    /// [`Sampler::masks`]) whose requests take `route`.
    fn cells(&self, v: usize, t: SimTime, mask: u64, route: Route) -> Cells {
        let (at, blame) = match route {
            Route::Any => (Picked::ANY, None),
            Route::To(p) => (p, None),
            Route::Unroutable(blame) => (Picked::ANY, Some(blame)),
        };
        let base = self.error_thr[v];
        let a = applied_on(&self.effects[v], t, at, |s| s.all || s.bit & mask != 0);
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
        // A fast success is a corrupted write (affected) with probability w·c.
        let corrupt = a.corrupt_thr as f64 / TWO_32;
        let p_corrupt = self.write_thr as f64 / TWO_32 * corrupt;
        let fails_without = p_a + p_s0 - p_a * p_s0;
        let mut quiet = Vec::with_capacity(6);
        for (k, &p) in pz.iter().enumerate() {
            quiet.push((fails_without * p, Quiet::Baseline, k));
        }
        let hit = |p, failed, shed, zone, bits| Hit {
            p,
            failed,
            shed,
            corrupt: false,
            zone,
            bits,
            database: false,
        };
        let mut affected = Vec::with_capacity(8);
        if let Some(blame) = blame {
            // Unroutable: every request fails; those not failing or slow without the faults
            // are affected, blamed on what took the instances out (and on the faults whose
            // error draw they also lost).
            quiet.push(((1.0 - fails_without) * pz[2], Quiet::FaultFailedSlow, 2));
            for (k, &p) in pz.iter().enumerate().take(2) {
                affected.push(hit(p_b * p_s1 * p, true, true, k, blame | a.bits));
                affected.push(hit(p_b * p_s2 * p, true, false, k, blame | a.bits));
                affected.push(hit(p_c * p_s1 * p, true, true, k, blame));
                affected.push(hit(p_c * p_s2 * p, true, false, k, blame));
            }
        } else {
            // Fails only with the faults but slow anyway; succeeds slow anyway; succeeds fast.
            let fault_fail = (p_b + p_c) * (p_s1 + p_s2) - p_c * p_s2;
            quiet.push((fault_fail * pz[2], Quiet::FaultFailedSlow, 2));
            quiet.push((p_c * p_s2 * pz[2], Quiet::Ok, 2));
            quiet.push((p_c * p_s2 * pz[0] * (1.0 - p_corrupt), Quiet::Ok, 0));
            for (k, &p) in pz.iter().enumerate().take(2) {
                affected.push(hit(p_b * p_s1 * p, true, true, k, a.bits));
                affected.push(hit(p_b * p_s2 * p, true, false, k, a.bits));
                affected.push(hit(p_c * p_s1 * p, true, true, k, 0));
            }
            // Slow only because of the delay; a corrupted write.
            affected.push(hit(p_c * p_s2 * pz[1], false, false, 1, a.bits));
            affected.push(Hit {
                corrupt: true,
                ..hit(p_c * p_s2 * pz[0] * p_corrupt, false, false, 0, a.bits)
            });
        }
        quiet.retain(|c| c.0 > 0.0);
        affected.retain(|c| c.p > 0.0);
        let p_affected = affected.iter().map(|c| c.p).sum();
        Cells {
            quiet,
            affected,
            p_affected,
            p_error: p_a + p_b,
            s,
            delay_us: a.delay_us,
            corrupt,
            bits: a.bits,
            causes: shed.causes,
            p_table_write: 0.0,
        }
    }

    /// Where the requests of version `v` go: the routable instances when instances are kept.
    fn routes(&self, v: VersionId) -> Vec<Route> {
        let Some(h) = self.health.as_deref() else {
            return vec![Route::Any];
        };
        let routable = h.routable(v);
        if routable.is_empty() {
            return vec![Route::Unroutable(h.causes(v))];
        }
        routable.into_iter().map(Route::To).collect()
    }

    /// The cells at `t` of every route of version `v` for scope class `mask`, changed by
    /// what the migrated table answers over `span` µs of the piece starting at `from`.
    fn parts(
        &self,
        (v, mask): (VersionId, u64),
        routes: &[Route],
        (from, t): (SimTime, SimTime),
        span: (f64, f64),
    ) -> Parts {
        let each: Vec<Cells> = routes
            .iter()
            .map(|&r| {
                let cs = self.cells(v.index(), t, mask, r);
                self.table_cells(v.index(), cs, from, span)
            })
            .collect();
        let p_affected = each.iter().map(|c| c.p_affected).sum::<f64>() / each.len() as f64;
        Parts { each, p_affected }
    }

    /// Windows mode's [`World::advance`]: the requests of `[from, to)` as counts, in pieces
    /// no longer than a ramping fault allows ([`World::ramp_cut`]).
    pub(super) fn advance_windows(&mut self, from: SimTime, to: SimTime) -> SimTime {
        let Some(mut sampler) = self.sampler.take() else {
            return to;
        };
        let mut at = from;
        let reached = loop {
            // A ramp's steps; a lock turning from failing to stalling requests.
            let cut = (self.ramp_cut(at, to).min(self.table_cut(at, to)))
                .min(self.flag_piece_end(at, to));
            let waiting = self.stop_at_onset;
            let reached = self.piece(&mut sampler, at, cut);
            if waiting && !self.stop_at_onset {
                break reached;
            }
            // An ejection ended the piece early: the next one resumes there.
            if sampler.resume_us < cut.micros() as f64 {
                at = reached;
                continue;
            }
            if cut >= to {
                break reached;
            }
            at = cut;
        };
        self.sampler = Some(sampler);
        reached
    }

    /// The end of the piece starting at `from` (at most `to`): while a `memory_leak` ramps,
    /// pieces end on a grid of steps short enough that the fault's added latency changes by
    /// at most [`RAMP_STEP_DELAY_US`] and its error probability by at most
    /// [`RAMP_STEP_ERROR`] within one; each piece holds the level of its midpoint.
    fn ramp_cut(&self, from: SimTime, to: SimTime) -> SimTime {
        let mut cut = to.micros() as f64;
        let t = from.micros() as f64;
        for v in VersionId::ALL {
            let effects = &self.effects[v.index()];
            if !(effects.iter()).any(|e| matches!(e.kind, super::EffectKind::Ramp { .. })) {
                continue;
            }
            // A restarted instance leaks again from its container's start.
            let origins: Vec<f64> = self
                .routes(v)
                .iter()
                .map(|r| match r {
                    Route::To(p) => p.origin_us,
                    _ => 0.0,
                })
                .collect();
            for e in &self.effects[v.index()] {
                let super::EffectKind::Ramp {
                    start_us,
                    ramp_us,
                    rate,
                    delay_us,
                } = e.kind
                else {
                    continue;
                };
                let steps = (delay_us / RAMP_STEP_DELAY_US)
                    .max(rate / RAMP_STEP_ERROR)
                    .ceil()
                    .max(1.0);
                let h = ramp_us / steps;
                for &origin in &origins {
                    let since = start_us.max(origin);
                    if t < since + ramp_us {
                        let k = ((t - since) / h).floor().max(-1.0) + 1.0;
                        cut = cut.min((since + k * h).ceil());
                    }
                }
            }
        }
        SimTime((cut as u64).max(from.micros() + 1).min(to.micros()))
    }

    /// The rate multiplier of the `traffic_spike` faults active at `t` (a spike of `m` adds
    /// `m − 1` times the traffic, as its own arrival process does in the request mode).
    fn spike_factor(&self, t: SimTime) -> f64 {
        self.spec
            .faults
            .iter()
            .filter(|f| f.active_at(t))
            .map(|f| match f.kind {
                super::FaultKind::TrafficSpike { multiplier } => multiplier,
                _ => 1.0,
            })
            .product()
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
        let spike = self.spike_factor(from);
        let rate_per_us = spike * self.spec.traffic.rate_at(from) / 1e6;
        // Under a diurnal swing the rate varies inside the piece: its expected requests are
        // the integral of the rate ([`expected_requests`]), else rate × length.
        let traffic = &self.spec.traffic;
        let varies = traffic
            .diurnal
            .as_ref()
            .is_some_and(|d| d.amplitude.get() > 0.0);
        let n_users = traffic.users.max(1) as f64;
        let per_user_over = |span_us: f64| {
            if varies {
                spike * expected_requests(traffic, start, start + span_us) / n_users
            } else {
                rate_per_us * span_us / n_users
            }
        };
        // The cells of every scope class, then those of the faults on every user (mask 0,
        // what synthetic requests meet) when no class has that mask.
        let mid = SimTime(((start + end) / 2.0) as u64);
        let mut masks = sm.masks.clone();
        if !masks.contains(&0) {
            masks.push(0);
        }
        let routes = VersionId::ALL.map(|v| self.routes(v));
        let build = |span: (f64, f64)| -> Vec<[Parts; 2]> {
            masks
                .iter()
                .map(|&m| {
                    VersionId::ALL
                        .map(|v| self.parts((v, m), &routes[v.index()], (from, mid), span))
                })
                .collect()
        };
        let mut cells = build((start, end));
        let share_c = self.slice_shares(&sm.slices, from);
        // The affected share of one request of the users, over cells `c`.
        let affected_share = |c: &[[Parts; 2]]| -> f64 {
            (sm.slices.iter().zip(&share_c))
                .map(|(s, &q)| s.users as f64 / n_users * per_request_affected(&c[s.class], q))
                .sum()
        };

        // Before the onset, the first affected request ends the piece (the caller reacts to
        // it): an exponential wait on the affected rate, the requests before it unaffected.
        let mut span_us = end - start;
        let mut onset_at = None;
        let before_onset = self.stop_at_onset && self.recorder.onset.is_none();
        let stalled = self.stalled(from);
        if before_onset {
            let aff_share = affected_share(&cells);
            if aff_share > 0.0 {
                let wait: f64 = Exp1.sample(&mut sm.onset);
                let tau = if stalled {
                    // A stall makes the affected share vary inside the piece ([`database`]).
                    let mass = |t: f64| (t - start) * affected_share(&build((start, t)));
                    database::stall_onset(mass, (start, end), wait / rate_per_us)
                } else if varies {
                    onset_time(traffic, start, end, wait / (spike * aff_share))
                } else {
                    Some(start + wait / (aff_share * rate_per_us))
                };
                if let Some(tau) = tau.filter(|&tau| tau < end) {
                    span_us = tau - start;
                    onset_at = Some(tau);
                }
            }
        }
        // Under a stall, the requests before the onset take the cells of `[start, onset)`
        // and the onset's request those of its instant.
        let at_onset = match onset_at {
            Some(tau) if stalled => {
                cells = build((start, tau));
                Some(build((tau, tau)))
            }
            _ => None,
        };
        let at_onset = at_onset.as_ref().unwrap_or(&cells);

        let mut groups = Group::all(&cells);
        let users_v = sm.users_by_version(&share_c, masks.len());
        // Under outlier detection each instance's run decides its requests' outcomes, and an
        // ejection ends the piece ([`outlier`]).
        let watched = self
            .health
            .as_deref()
            .is_some_and(|h| h.outlier().is_some());
        let mut per_user = per_user_over(span_us);
        let mut ejected = None;
        if watched {
            let (mass, after_onset) = (per_user * n_users, !before_onset);
            let e = self.draw_watched(
                sm,
                (&cells, &routes),
                &mut groups,
                (&users_v, &share_c),
                (mass, after_onset),
                from,
            );
            if let Some(e) = e {
                // The ejection's time: where the piece's expected requests reach its mass.
                let tau = match varies {
                    true => onset_time(traffic, start, end, e.mass / spike).unwrap_or(end),
                    false => start + e.mass / rate_per_us,
                };
                (span_us, per_user, onset_at) = (tau - start, e.mass / n_users, None);
                ejected = Some((e, tau));
            }
        }
        for (s, &q) in sm.slices.iter_mut().zip(&share_c) {
            s.quiet_mean += per_user * (1.0 - per_request_affected(&cells[s.class], q));
        }
        // Unaffected requests, per class, version and cell.
        if !watched {
            for g in &mut groups {
                let parts = &cells[g.class][g.v];
                let mean = per_user * users_v[g.class][g.v] / parts.each.len() as f64;
                let rec = &mut self.recorder;
                g.users = draw_quiet(&mut sm.counts, &parts.each[g.part], mean, rec);
            }
        }
        // Affected requests, per user (under outlier detection, with their instance's run).
        let affected = match onset_at {
            Some(_) => sm.first_affected(at_onset, &share_c),
            None if before_onset || watched => vec![[0; 2]; cells.len()],
            None => sm.affected(&cells, &share_c, per_user),
        };
        self.spread_over_instances(sm, at_onset, &mut groups, &affected, onset_at.is_some());
        if watched {
            let t = onset_at.or(ejected.as_ref().map(|e| e.1));
            self.react_to_runs(&groups, &routes, ejected.map(|e| e.0), t);
        }

        let probe_class = masks.iter().position(|&m| m == 0).unwrap_or(0);
        self.record_piece(sm, &cells, groups, probe_class, (start, span_us));
        let stop = onset_at
            .map(|t| (t, true))
            .or(ejected.map(|e| (e.1, false)));
        self.end_piece(sm, stop, (from, to), end)
    }

    /// Gives each version's `affected` requests (per class) to its instances in proportion to
    /// their affected probabilities (conditional binomials, in group order), then to their
    /// cells; `onset`: the one request is the onset's, whose outcome its group keeps.
    fn spread_over_instances(
        &mut self,
        sm: &mut Sampler,
        cells: &[[Parts; 2]],
        groups: &mut [Group],
        affected: &[[u64; 2]],
        onset: bool,
    ) {
        let (mut left, mut p_left) = (0, 0.0);
        for g in groups {
            let parts = &cells[g.class][g.v];
            if g.part == 0 {
                left = affected[g.class][g.v];
                p_left = parts.each.iter().map(|c| c.p_affected).sum();
            }
            let cs = &parts.each[g.part];
            let c = if g.part + 1 == parts.each.len() {
                left
            } else {
                binomial(&mut sm.users, left, (cs.p_affected / p_left).min(1.0))
            };
            left -= c;
            p_left -= cs.p_affected;
            let t = spread_affected(&mut sm.users, cs, c, &mut self.recorder);
            if onset && c > 0 {
                g.onset = Some((
                    t.failed > 0,
                    t.zones.iter().position(|&z| z > 0).unwrap_or(0),
                ));
            }
            g.users.add(t);
        }
    }

    /// Where a piece `[from, to)` ending at `end` µs stops: at `stop` µs, its onset (`true`:
    /// recorded) or an ejection, where the next piece resumes; else at `to`.
    fn end_piece(
        &mut self,
        sm: &mut Sampler,
        stop: Option<(f64, bool)>,
        (from, to): (SimTime, SimTime),
        end: f64,
    ) -> SimTime {
        match stop {
            Some((tau, onset)) => {
                let t = SimTime(tau as u64);
                if onset {
                    self.recorder.onset = Some(t);
                    self.stop_at_onset = false;
                }
                sm.resume_us = tau;
                t.max(from)
            }
            None => {
                sm.resume_us = end;
                to
            }
        }
    }

    /// Adds a piece's users' requests (`groups`) and its synthetic requests over `span_us`
    /// (met with the cells of class `probe_class`, the faults on every user) to the run's
    /// tally, the analysis windows, the candidate's pending latency and the exposition.
    fn record_piece(
        &mut self,
        sm: &mut Sampler,
        cells: &[[Parts; 2]],
        mut groups: Vec<Group>,
        probe_class: usize,
        (start, span_us): (f64, f64),
    ) {
        let probe_rate = self.probe.rate_per_us();
        if probe_rate > 0.0 {
            let v = self.probe.version.index();
            let parts = &cells[probe_class][v];
            let mean = probe_rate * span_us / parts.each.len() as f64;
            for g in groups
                .iter_mut()
                .filter(|g| g.v == v && g.class == probe_class)
            {
                let (c, f, z) = draw_probes(&mut sm.probe, &parts.each[g.part], mean);
                g.probes = (c, f);
                g.probe_zones = z;
            }
        }

        let write_p = self.write_thr as f64 / TWO_32;
        let mut to_history = Vec::with_capacity(groups.len());
        for g in groups {
            let (v, cs, t) = (g.v, &cells[g.class][g.v].each[g.part], g.users);
            let (probe_n, probe_failed) = g.probes;
            // The users' and the synthetic requests' latencies, per z zone.
            let mut all_zones = t.zones;
            for (z, add) in all_zones.iter_mut().zip(g.probe_zones) {
                *z += add;
            }
            if let Some(x) = &mut self.exposition {
                let model = &self.spec.versions[v].latency;
                let buckets = bucket_counts(&mut sm.buckets, x.bounds_us(), model, cs, all_zones);
                let failed = t.failed + probe_failed;
                x.record_counts(v, t.n + probe_n - failed, failed, &buckets);
            }
            // Successful writes: the corrupted ones that affected a user, plus writes among the
            // other successes (a fast clean success is known not to be a corrupted write).
            let (writes, bad) = if cs.corrupt > 0.0 {
                let clean_p = write_p * (1.0 - cs.corrupt) / (1.0 - write_p * cs.corrupt);
                let clean = binomial(&mut sm.counts, t.ok_clean, clean_p);
                let other = binomial(&mut sm.counts, t.ok, write_p);
                let other_bad = binomial(&mut sm.counts, other, cs.corrupt);
                (clean + other + t.corrupt, other_bad + t.corrupt)
            } else {
                (binomial(&mut sm.counts, t.ok_clean + t.ok, write_p), 0)
            };
            to_history.push(history::Kept {
                v,
                cells: cs,
                zones: t.zones,
                failed_zones: t.failed_zones,
                writes,
                probes: (g.probes.0, g.probes.1, g.probe_zones),
                onset: g.onset,
            });
            // The writes that touch the migrated table are stored in its ledger.
            if let Some(db) = self.database.as_mut() {
                let stored = binomial(&mut sm.table, writes, cs.p_table_write);
                db.write_n(VersionId::ALL[v], stored);
            }
            self.recorder.requests += t.n;
            self.recorder.corrupted += bad;
            let mut kept = Counts {
                n: t.n,
                failed: t.failed,
                zones: t.zones,
                failed_zones: t.failed_zones,
                writes,
                bad,
            };
            let model = &self.spec.versions[v].latency;
            if let (0, Some(e)) = (v, self.experiment.as_mut()) {
                let p = Experiment::share_taken(self.routing.share(VersionId::Candidate));
                if p > 0.0 {
                    let d = kept.divert(&mut sm.experiment, p);
                    let w = &mut e.window;
                    w.requests += d.n;
                    w.errors += d.failed;
                    w.writes += d.writes;
                    w.bad_writes += d.bad;
                    if sm.whole_latency && w.wants_latency() {
                        bins::record(&mut sm.bins, w, model, cs, d.zones);
                    }
                }
            }
            let w = &mut self.windows[v];
            w.requests += kept.n + probe_n;
            w.errors += kept.failed + probe_failed;
            w.writes += kept.writes;
            w.bad_writes += kept.bad;
            let mut zones = kept.zones;
            for (z, add) in zones.iter_mut().zip(g.probe_zones) {
                *z += add;
            }
            if !w.wants_latency() || kept.n + probe_n == 0 {
                continue;
            }
            if sm.whole_latency {
                bins::record(&mut sm.bins, w, model, cs, zones);
            } else if v == VersionId::Candidate.index() {
                sm.pending.push(Component {
                    counts: zones,
                    s: cs.s,
                    delay_us: cs.delay_us,
                    model: *model,
                });
            }
        }
        self.record_history(&to_history, (start, span_us));
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

/// Draws the unaffected requests of one version and scope class, `mean` expected in all,
/// cell by cell.
fn draw_quiet(rng: &mut Rng, cs: &Cells, mean: f64, rec: &mut super::Recorder) -> Tally {
    let mut t = Tally::default();
    for &(p, kind, k) in &cs.quiet {
        let c = poisson(rng, mean * p);
        if c > 0 {
            t.quiet(kind, k, c, rec);
        }
    }
    t
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

/// Spreads `affected` requests of one version and scope class over its affected cells
/// (conditional binomials) and marks which faults hurt someone.
fn spread_affected(rng: &mut Rng, cs: &Cells, affected: u64, rec: &mut super::Recorder) -> Tally {
    let mut t = Tally::default();
    let mut left = affected;
    if left == 0 {
        return t;
    }
    let mut p_left = cs.p_affected;
    for (j, h) in cs.affected.iter().enumerate() {
        let c = if j + 1 == cs.affected.len() {
            left
        } else {
            binomial(rng, left, (h.p / p_left).min(1.0))
        };
        left -= c;
        p_left -= h.p;
        if c > 0 {
            t.hit(h, cs.causes, c, rec);
        }
        if left == 0 {
            break;
        }
    }
    t
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
        let mut s = Sampler::new(&streams, 1000, &[]);
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
