//! Windows mode's migrated table (`[database]`): what the table answers over a piece, as a
//! change of the piece's outcome cells, and the ledger's writes as counts.
//!
//! A request touches the table with probability `p_t` (`database.table_fraction`, the request
//! mode's 32-bit threshold over 2³²), independently of its other draws, so over a piece the
//! touching requests are a Poisson-thinned share of each cell. The table's answer
//! ([`Database::access`]) is the same for reads and writes (`database.write_block`, which
//! refuses writes only, is refused by [`crate::modes::unsupported`]) and constant between
//! control events (migration starts and ends, lock ends, restores, hotfixes are events),
//! except where a lock turns from failing requests (wait past `client_timeout`) to stalling
//! them: windows mode cuts the piece there ([`World::table_cut`]). Per piece and version:
//!
//! - **fails**: a touching request that would have succeeded fails, the database's doing:
//!   affected when it would have been fast, a fault-caused failure that was slow anyway
//!   otherwise; requests that fail anyway stay as they are and mark the database too;
//! - **stalled**: a touching request waits until the lock's end `u`, so its latency is
//!   `X + d + (u − t)` (`X` the log-normal latency, `d` a fault's delay). A fast request
//!   becomes slow, and affected, when `X > slo − d − (u − t)`. Over a span `[a, b)` the share
//!   of such requests is the average of `P(X > y(t)) − P(X > slo − d)`, `y(t) = t − (u − slo +
//!   d)`, which is closed form: `∫ P(X > y) dy = E[min(X, y)]`, the log-normal's limited
//!   expectation `e^(μ+σ²/2)·Φ((ln y − μ − σ²)/σ) + y·S((ln y − μ)/σ)` ([`limited_mean`]);
//!   the onset's wait is inverted on that integral ([`stall_onset`]), and the onset's
//!   request takes the cells of its instant;
//! - **ok**: nothing changes.
//!
//! The one difference from the request mode, and its bound: the request mode's stall is whole
//! µs, `u − ⌊t⌋`, against `u − t` here. The slow share is monotone in the stall and between 0
//! and 1, so over a lock the two integrals differ by at most 1 µs of requests: the expected
//! number of touching requests whose outcome could differ is at most `rate × 1 µs` per lock
//! (3·10⁻⁴ at 300 req/s), a total-variation distance below that.
//!
//! **The ledger by counts.** A successful request's write and touch draws are independent of
//! its success whenever the table does not fail it, so a piece's stored records of a version
//! are Binomial(successful writes, `p_t`) (none when the table fails), drawn from the
//! `windows.database` stream and added to the ledger's class of that version's write mode
//! ([`Database::write_n`]). Migrations, down migrations, restores and the backfill act on the
//! ledger at events as in the request mode, so the inconsistent records at the end have the
//! request mode's law exactly. Reads need the ledger's composition only when a read can miss
//! a record; windows mode runs a database only when no read can ([`reads_can_miss`]), so reads
//! never make a wrong response and `missing_during_backfill`, `invisible_reads` are 0 in both
//! modes.

use super::{Cells, Hit, Quiet, TWO_32, survival};
use crate::engine::SimTime;
use crate::model::{
    DatabaseSpec, InitialData, LatencyModel, MigrationKind, ReadMode, TableAccess, VersionId,
    World, WriteMode,
};

/// `E[min(X, y)]` for `X = e^(μ + σZ)`: `∫₀^y P(X > x) dx`, extended by `y` below 0 (where
/// `P(X > x) = 1`), so differences give the integral of `P(X > x)` over any range.
fn limited_mean(model: &LatencyModel, y: f64) -> f64 {
    if y <= 0.0 {
        return y;
    }
    let (mu, sigma) = (model.mu, model.sigma);
    if sigma == 0.0 {
        return y.min(mu.exp());
    }
    let l = y.ln();
    (mu + sigma * sigma / 2.0).exp() * survival(-(l - mu - sigma * sigma) / sigma)
        + y * survival((l - mu) / sigma)
}

/// A lock's stall over a piece, for one version: requests at `t` (µs) are slow when
/// `X > t − y0`.
#[derive(Debug, Clone, Copy)]
struct Stall {
    y0: f64,
    /// `P(X > slo − d)`: the requests slow without the stall (zone 1 and 2's survival bound).
    s1: f64,
    model: LatencyModel,
}

impl Stall {
    /// The share of all requests that only the stall makes slow, averaged over `[a, b)` (the
    /// value at `a` when the span is empty).
    fn slow_share(&self, a: f64, b: f64) -> f64 {
        let above = if b - a > 1e-9 {
            (limited_mean(&self.model, b - self.y0) - limited_mean(&self.model, a - self.y0))
                / (b - a)
        } else if a - self.y0 <= 0.0 {
            1.0
        } else {
            survival(self.model.z_above(a - self.y0))
        };
        (above - self.s1).max(0.0)
    }
}

/// The cells of `base` with a share `p_t` of its requests touching a table that answers
/// `access`; `slow_share` the share of fast requests a stall makes slow.
fn table_cells(base: Cells, access: TableAccess, p_t: f64, slow_share: f64) -> Cells {
    if p_t <= 0.0 {
        return base;
    }
    let fails = access == TableAccess::Fails;
    let mut out = Cells {
        quiet: Vec::with_capacity(2 * base.quiet.len() + 1),
        affected: Vec::with_capacity(2 * base.affected.len() + 2),
        p_table_write: if fails { 0.0 } else { p_t },
        ..base.clone()
    };
    if access == TableAccess::Ok {
        out.quiet = base.quiet;
        out.affected = base.affected;
        return out;
    }
    let pz0 = base.s[0] - base.s[1];
    let to_slow = if pz0 > 0.0 {
        (slow_share / pz0).min(1.0)
    } else {
        0.0
    };
    let table_hit = |p, failed, zone, bits| Hit {
        p,
        failed,
        shed: false,
        corrupt: false,
        zone,
        bits,
        database: true,
    };
    for &(p, kind, k) in &base.quiet {
        out.quiet.push((p * (1.0 - p_t), kind, k));
        let p = p * p_t;
        match (kind, k, fails) {
            // A fast success the table fails: affected, the database's doing only.
            (Quiet::Ok, 0, true) => out.affected.push(table_hit(p, true, 0, 0)),
            (Quiet::Ok, _, true) => out.quiet.push((p, Quiet::FaultFailedSlow, k)),
            (Quiet::Ok, 0, false) => {
                out.quiet.push((p * (1.0 - to_slow), kind, k));
                // Slow because of the stall: a fault's delay hurts it too when there is one.
                let bits = if base.delay_us > 0.0 { base.bits } else { 0 };
                out.affected.push(table_hit(p * to_slow, false, 1, bits));
            }
            _ => out.quiet.push((p, kind, k)),
        }
    }
    for &h in &base.affected {
        out.affected.push(Hit {
            p: h.p * (1.0 - p_t),
            ..h
        });
        out.affected.push(if fails {
            // Failed by the table: a fault's error still hurt it; a delay no longer does.
            Hit {
                p: h.p * p_t,
                failed: true,
                corrupt: false,
                bits: if h.failed { h.bits } else { 0 },
                database: true,
                ..h
            }
        } else {
            // Slow only with the delay: slower still with the stall. Failed ones do not wait.
            Hit {
                p: h.p * p_t,
                database: !h.failed,
                ..h
            }
        });
    }
    out.affected.retain(|c| c.p > 0.0);
    out.quiet.retain(|c| c.0 > 0.0);
    out.p_affected = out.affected.iter().map(|c| c.p).sum();
    out
}

impl World<'_> {
    /// The stall of version `v`'s touching requests at `t` (`None`: no stall then).
    fn stall(&self, t: SimTime, v: usize, cs: &Cells) -> Option<Stall> {
        let db = self.database.as_ref()?;
        match db.access(t, VersionId::ALL[v], false) {
            TableAccess::Stalled(_) => Some(Stall {
                y0: db.lock_until(t)?.micros() as f64 - self.slo_us + cs.delay_us,
                s1: cs.s[1],
                model: self.spec.versions[v].latency,
            }),
            _ => None,
        }
    }

    /// Where a lock in force at `at` stops failing requests and starts stalling them (its end
    /// minus the client timeout), when that falls inside `(at, to)`; else `to`.
    pub(super) fn table_cut(&self, at: SimTime, to: SimTime) -> SimTime {
        let Some(db) = &self.database else {
            return to;
        };
        match db.lock_until(at) {
            Some(u) => {
                let turn = u.saturating_sub(db.spec().client_timeout);
                if turn > at && turn < to { turn } else { to }
            }
            None => to,
        }
    }

    /// The cells `cs` of version `v` changed by what the table answers over `[a, b)` µs of a
    /// piece starting at `from` (a stall's share averaged over the span).
    pub(super) fn table_cells(
        &self,
        v: usize,
        cs: Cells,
        from: SimTime,
        (a, b): (f64, f64),
    ) -> Cells {
        let Some(db) = &self.database else {
            return cs;
        };
        debug_assert!(
            self.routing.share(VersionId::ALL[v]) == 0.0
                || !db.compatible(VersionId::ALL[v])
                || db.invisible(from, VersionId::ALL[v]) == 0,
            "windows mode ran a database whose reads can miss records (see reads_can_miss)"
        );
        let p_t = self.table_thr as f64 / TWO_32;
        let access = db.access(from, VersionId::ALL[v], false);
        let share = self.stall(from, v, &cs).map_or(0.0, |s| s.slow_share(a, b));
        table_cells(cs, access, p_t, share)
    }

    /// Whether a lock stalls the table's requests of some version at `from` (the affected
    /// share then varies inside the piece).
    pub(super) fn stalled(&self, from: SimTime) -> bool {
        self.database.as_ref().is_some_and(|db| {
            VersionId::ALL
                .iter()
                .any(|&v| matches!(db.access(from, v, false), TableAccess::Stalled(_)))
        })
    }
}

/// The onset in a piece `[start, end)` (µs) while a stall makes the affected share vary: the
/// time at which `mass(t)`, the expected affected requests of `[start, t)` per request of
/// the rate (increasing in t), reaches `target` (an Exp(1) draw over the rate), by bisection
/// to 0.01 µs on the closed-form integral; `None` when the piece ends first.
pub(super) fn stall_onset(
    mass: impl Fn(f64) -> f64,
    (start, end): (f64, f64),
    target: f64,
) -> Option<f64> {
    if mass(end) <= target {
        return None;
    }
    let (mut lo, mut hi) = (start, end);
    while hi - lo > 0.01 {
        let mid = (lo + hi) / 2.0;
        if mass(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(hi)
}

/// Whether a read of the plan of `db` can miss a record: a version that reads the old
/// structure while a `writes = "new"` version stores records only in the new one, or one that
/// reads the new structure only while records are only in the old one (initial rows not yet
/// backfilled, or written by a `writes = "old"` version). Windows mode refuses those plans
/// (reads would sample a composition that changes with every write).
///
/// The check is on the schemas each version can serve at: the stable at any schema of its
/// list the plan reaches, the candidate only from the end of the migrations that run with the
/// rollout (it gets no traffic before; after a rollback none, and without one the schema
/// only moves on). Once a contract has dropped the old structure no read can miss: old
/// readers cannot use the schema and nothing old-only is left.
pub fn reads_can_miss(db: &DatabaseSpec) -> bool {
    let first = |kind: fn(&MigrationKind) -> bool| {
        db.migrations.iter().find(|m| kind(&m.kind)).map(|m| m.to)
    };
    let contract = first(|k| *k == MigrationKind::Contract);
    let expand = if db.initial == InitialData::Old {
        first(|k| *k == MigrationKind::Expand)
    } else {
        Some(db.schema)
    };
    let last = db.migrations.last().map_or(db.schema, |m| m.to);
    let chain_end = db
        .migrations
        .iter()
        .take_while(|m| m.with_rollout)
        .last()
        .map_or(db.schema, |m| m.to);
    // Schemas at which version `v` can serve while the old structure exists.
    let before_contract = |v: usize| -> Vec<u32> {
        let from = if v == 1 { chain_end } else { db.schema };
        db.apps[v]
            .schemas
            .iter()
            .copied()
            .filter(|&s| s >= from && s <= last && contract.is_none_or(|c| s < c))
            .collect()
    };
    let new_exists = |s: &u32| expand.is_some_and(|e| *s >= e);
    let writes_at = |mode: WriteMode, with_new: bool| {
        (0..2).any(|w| {
            db.apps[w].writes == mode
                && before_contract(w)
                    .iter()
                    .any(|s| !with_new || new_exists(s))
        })
    };
    (0..2).any(|v| {
        let serves = before_contract(v);
        match db.apps[v].reads {
            ReadMode::NewWithFallback => false,
            ReadMode::Old => !serves.is_empty() && writes_at(WriteMode::New, true),
            ReadMode::New => {
                serves.iter().any(new_exists)
                    && (db.initial != InitialData::Backfilled || writes_at(WriteMode::Old, false))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;

    fn model() -> LatencyModel {
        // Median 100 ms, σ = 0.5.
        LatencyModel {
            mu: 100_000f64.ln(),
            sigma: 0.5,
        }
    }

    #[test]
    fn limited_mean_integrates_the_survival_function() {
        let m = model();
        // E[X] = e^(μ + σ²/2) = 100 000 · e^0.125 = 113 314.8 µs: the limit for large y.
        assert!((limited_mean(&m, 1e9) - 113_314.845).abs() < 0.01);
        // Below the latencies every request is slower: E[min(X, y)] ≈ y.
        assert!((limited_mean(&m, 1_000.0) - 1_000.0).abs() < 1e-6);
        assert_eq!(limited_mean(&m, -5.0), -5.0);
        // At the median, by the formula: 113 314.8·Φ(−0.5) + 100 000·0.5 = 113 314.8·0.308 538
        // + 50 000 = 84 961.8 µs.
        assert!((limited_mean(&m, 100_000.0) - 84_961.8).abs() < 0.5);
        // Against a midpoint sum of P(X > x) over [0, 300 ms) in 1 µs steps.
        let sum: f64 = (0..300_000)
            .map(|x| survival(m.z_above(x as f64 + 0.5)))
            .sum();
        assert!((limited_mean(&m, 300_000.0) - sum).abs() < 0.01, "{sum}");
    }

    #[test]
    fn a_stall_slows_the_fast_requests_it_pushes_past_the_slo() {
        // SLO 1 s, no delay, lock ending at u = 2 s; y0 = u − slo = 1 s. At t = 1.9 s the stall
        // is 100 ms: slow when X > 900 ms, z > ln 9 / 0.5 = 4.394, S = 5.5527e-6; the SLO alone
        // S(ln 10 / 0.5 = 4.605) = 2.0606e-6: the share made slow 3.4921e-6.
        let s = Stall {
            y0: 1e6,
            s1: survival(model().z_above(1e6)),
            model: model(),
        };
        let at = s.slow_share(1.9e6, 1.9e6);
        assert!((at - 3.492e-6).abs() < 0.001e-6, "{at}");
        // Early in the lock (stall ≥ 1 s) every request is slow: share 1 − S(4.605).
        assert!((s.slow_share(0.5e6, 1.0e6) - (1.0 - s.s1)).abs() < 1e-12);
        // The average over a span is between its ends' values.
        let avg = s.slow_share(1.85e6, 1.9e6);
        assert!(avg > at && avg < s.slow_share(1.85e6, 1.85e6));
    }

    fn cells(p_ok0: f64) -> Cells {
        Cells {
            quiet: vec![
                (0.01, Quiet::Baseline, 0),
                (0.02, Quiet::Ok, 2),
                (p_ok0, Quiet::Ok, 0),
            ],
            affected: vec![Hit {
                p: 0.05,
                failed: true,
                shed: false,
                corrupt: false,
                zone: 0,
                bits: 1,
                database: false,
            }],
            p_affected: 0.05,
            s: [1.0, 0.1, 0.1, 0.0],
            ..Cells::default()
        }
    }

    #[test]
    fn a_failing_table_fails_the_touching_share() {
        // p_t = 0.6: 0.6 of the fast successes (0.5) become table failures, affected (0.3);
        // 0.6 of the slow successes (0.02) fault-caused failures that were slow anyway.
        let c = table_cells(cells(0.5), TableAccess::Fails, 0.6, 0.0);
        let total: f64 = c.quiet.iter().chain(&[]).map(|q| q.0).sum::<f64>() + c.p_affected;
        assert!((total - 0.58).abs() < 1e-12);
        assert!((c.p_affected - (0.05 + 0.3)).abs() < 1e-12);
        let failed_slow: f64 = c
            .quiet
            .iter()
            .filter(|q| q.1 == Quiet::FaultFailedSlow)
            .map(|q| q.0)
            .sum();
        assert!((failed_slow - 0.012).abs() < 1e-12);
        assert_eq!(c.p_table_write, 0.0);
        // The fast successes failed by the table, and the touched share of the fault's errors.
        assert_eq!(
            c.affected.iter().filter(|h| h.database && h.failed).count(),
            2
        );
    }

    #[test]
    fn a_stall_moves_fast_successes_to_slow_affected() {
        // Zone 0 has width 0.9; a slow share of 0.09 moves a tenth of the fast successes of
        // the touching half: 0.5·0.5·0.1 = 0.025 affected, flagged as the database's.
        let c = table_cells(cells(0.5), TableAccess::Stalled(1.0), 0.5, 0.09);
        assert!((c.p_affected - (0.05 + 0.025)).abs() < 1e-12);
        let slow = c.affected.iter().find(|h| h.database && !h.failed);
        let h = slow.expect("a stalled cell");
        assert!(h.bits == 0 && h.zone == 1);
        assert_eq!(c.p_table_write, 0.5);
    }

    /// The anti-pattern's plan (bundled `db-anti-pattern-drop-column`): expand then contract,
    /// both with the rollout; v1 writes and reads the old structure (schemas 1, 2), v2 the new
    /// one (schemas 2, 3).
    fn anti_pattern() -> DatabaseSpec {
        use crate::model::{AppSchema, DataPolicy, Migration};
        let m = |name: &str, to, kind| Migration {
            name: name.into(),
            to,
            kind,
            start: SimTime::ZERO,
            with_rollout: true,
            duration: SimTime::from_secs(20),
            lock: SimTime::ZERO,
            reversible: false,
            down_duration: SimTime::ZERO,
        };
        let app = |schemas: Vec<u32>, writes, reads| AppSchema {
            schemas,
            writes,
            reads,
        };
        DatabaseSpec {
            schema: 1,
            initial: InitialData::Old,
            rows: 1_000_000,
            table_fraction: crate::engine::Probability::ONE,
            client_timeout: SimTime::from_secs(15),
            migrations: vec![
                m("expand", 2, MigrationKind::Expand),
                m("contract", 3, MigrationKind::Contract),
            ],
            apps: [
                app(vec![1, 2], WriteMode::Old, ReadMode::Old),
                app(vec![2, 3], WriteMode::New, ReadMode::New),
            ],
            policy: DataPolicy::AppAndDown,
            write_block: None,
        }
    }

    #[test]
    fn reads_miss_only_where_a_reader_meets_records_out_of_its_structure() {
        // v2 serves only after the contract (the end of the with-rollout chain, schema 3):
        // no old-only record is left then, and v1 cannot use schema 3.
        let db = anti_pattern();
        assert!(!reads_can_miss(&db));
        // A contract run later, on its own: v2 serves at schema 2 beside v1, writing records
        // v1 cannot see and reading the million rows only the old structure holds.
        let mut later = db.clone();
        later.migrations[1].with_rollout = false;
        later.migrations[1].start = SimTime::from_secs(600);
        assert!(reads_can_miss(&later));
        // Reading with a fallback, v2 misses nothing; but v1 still misses v2's new-only writes.
        later.apps[1].reads = ReadMode::NewWithFallback;
        assert!(reads_can_miss(&later));
        // Dual writes keep v1's structure whole: nothing can be missed.
        later.apps[1].writes = WriteMode::Dual;
        assert!(!reads_can_miss(&later));
        // Every row backfilled already and nobody writes old-only: v2, reading the new
        // structure at schema 2 before a later contract, misses nothing.
        let mut contract = db.clone();
        contract.initial = InitialData::Backfilled;
        contract.schema = 2;
        contract.migrations.remove(0);
        contract.migrations[0].with_rollout = false;
        contract.migrations[0].start = SimTime::from_secs(600);
        contract.apps[0].schemas = vec![2, 3];
        contract.apps[0].writes = WriteMode::New;
        contract.apps[0].reads = ReadMode::NewWithFallback;
        assert!(!reads_can_miss(&contract));
        // With the rows only in the old structure (expanded, not backfilled) it misses them.
        contract.initial = InitialData::Expanded;
        assert!(reads_can_miss(&contract));
    }

    #[test]
    fn stored_writes_are_a_binomial_share_of_the_successful_writes() {
        // 10 000 successful writes, p_t = 0.6: mean 6 000, sd √(10 000·0.6·0.4) = 49.
        let mut rng = RngStreams::new(5, 0).named("t");
        let draws: Vec<u64> = (0..200)
            .map(|_| super::super::binomial(&mut rng, 10_000, 0.6))
            .collect();
        let mean = draws.iter().sum::<u64>() as f64 / 200.0;
        // 4 standard errors of the mean: 4·49/√200 = 13.9.
        assert!((mean - 6_000.0).abs() < 13.9, "{mean}");
    }
}
