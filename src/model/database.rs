//! The database a release migrates: schema versions, expand/backfill/contract migrations,
//! table locks, and a ledger of records by the structures that hold them.
//!
//! One migrated field has an **old** structure (e.g. `CUSTOMER.INT_RATE`) and a **new** one
//! (`INTEREST_RATE.DEFAULT_INTEREST_RATE`). An expand adds the new structure, a backfill copies
//! the initial rows into it at a rate, a contract drops the old one. Each app version declares
//! the schema versions it works with and which structures it writes (`old`, `dual`, `new`) and
//! reads (`old`, `new`, `new_with_fallback`). The ledger counts records by where they live, so
//! every inconsistency is a count, not an estimate.

use super::VersionId;
use crate::engine::{LogNormalDelay, Probability, SimTime};
use crate::names::named;

/// What a migration does.
#[derive(Debug, Clone, PartialEq)]
pub enum MigrationKind {
    /// Adds the new structure (reversible: its down migration drops it, and with it the
    /// records held only there).
    Expand,
    /// Copies `rows` initial rows from the old structure to the new one at `rate` rows/s.
    Backfill {
        /// Rows to copy.
        rows: u64,
        /// Rows per second.
        rate: f64,
    },
    /// Drops the old structure: not reversible without a backup restore.
    Contract,
}

/// One migration of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    /// Name in reports.
    pub name: String,
    /// Schema version after it.
    pub to: u32,
    /// What it does.
    pub kind: MigrationKind,
    /// When it starts (`with_rollout` migrations start at 0 and delay the rollout).
    pub start: SimTime,
    /// Whether the rollout waits for it.
    pub with_rollout: bool,
    /// How long it runs; the schema changes at its end.
    pub duration: SimTime,
    /// Table lock at its start: requests touching the table stall meanwhile.
    pub lock: SimTime,
    /// Whether a down migration exists.
    pub reversible: bool,
    /// How long the down migration runs.
    pub down_duration: SimTime,
}

named! {
    /// Which structures a version writes.
    pub enum WriteMode {
        /// The old structure only.
        Old = "old",
        /// Both structures.
        Dual = "dual",
        /// The new structure only.
        New = "new",
    }
}

named! {
    /// Which structures a version reads.
    pub enum ReadMode {
        /// The old structure only.
        Old = "old",
        /// The new structure only.
        New = "new",
        /// The new structure, falling back to the old one.
        NewWithFallback = "new_with_fallback",
    }
}

/// How a version uses the database.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSchema {
    /// Schema versions it works with.
    pub schemas: Vec<u32>,
    /// Where it writes.
    pub writes: WriteMode,
    /// Where it reads.
    pub reads: ReadMode,
}

/// What happens to the data when failure is declared.
#[derive(Debug, Clone, PartialEq)]
pub enum DataPolicy {
    /// Roll the app back; the schema stays.
    AppOnly,
    /// Roll the app back, then run the down migrations, newest first, until an irreversible one.
    AppAndDown,
    /// No rollback: a hotfix of the candidate lands after a log-normal delay.
    RollForward {
        /// Median delay.
        median: SimTime,
        /// Spread of its logarithm.
        sigma: f64,
    },
    /// Roll the app back and restore the backup taken at time 0: the table is unavailable for
    /// `restore_time`, then every write since the backup is lost and the schema is the initial one.
    Restore {
        /// Time the restore takes.
        restore_time: SimTime,
    },
}

named! {
    /// Where the data stands at time 0, as earlier releases left it.
    pub enum InitialData {
        /// Only the old structure exists and holds every row.
        Old = "old",
        /// Both structures exist (an earlier expand); the rows are only in the old one.
        Expanded = "expanded",
        /// Both structures exist and every row is in both (an earlier backfill).
        Backfilled = "backfilled",
    }
}

named! {
    /// The names of the data policies ([`DataPolicy`] without its parameters).
    pub enum PolicyName {
        /// [`DataPolicy::AppOnly`].
        AppOnly = "app_only",
        /// [`DataPolicy::AppAndDown`].
        AppAndDown = "app_and_down",
        /// [`DataPolicy::RollForward`].
        RollForward = "roll_forward",
        /// [`DataPolicy::Restore`].
        Restore = "restore",
    }
}

impl DataPolicy {
    /// The policy's name in scenario files.
    pub fn name_of(&self) -> PolicyName {
        match self {
            DataPolicy::AppOnly => PolicyName::AppOnly,
            DataPolicy::AppAndDown => PolicyName::AppAndDown,
            DataPolicy::RollForward { .. } => PolicyName::RollForward,
            DataPolicy::Restore { .. } => PolicyName::Restore,
        }
    }

    /// The delay until a roll-forward's hotfix lands (`None` for the rollback policies),
    /// drawn once per replication from [`streams::HOTFIX`](super::streams::HOTFIX).
    pub fn hotfix_delay(&self) -> Option<LogNormalDelay> {
        match *self {
            DataPolicy::RollForward { median, sigma } => Some(LogNormalDelay { median, sigma }),
            _ => None,
        }
    }
}

named! {
    /// The names of the migration kinds ([`MigrationKind`] without its parameters).
    pub enum MigrationKindName {
        /// [`MigrationKind::Expand`].
        Expand = "expand",
        /// [`MigrationKind::Backfill`].
        Backfill = "backfill",
        /// [`MigrationKind::Contract`].
        Contract = "contract",
    }
}

impl MigrationKind {
    /// The kind's name in scenario files.
    pub fn name_of(&self) -> MigrationKindName {
        match self {
            MigrationKind::Expand => MigrationKindName::Expand,
            MigrationKind::Backfill { .. } => MigrationKindName::Backfill,
            MigrationKind::Contract => MigrationKindName::Contract,
        }
    }
}

/// The database of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseSpec {
    /// Schema version at time 0.
    pub schema: u32,
    /// Which structures exist and hold the rows at time 0.
    pub initial: InitialData,
    /// Records in the table at time 0, in the old structure.
    pub rows: u64,
    /// Share of requests that touch the migrated table.
    pub table_fraction: Probability,
    /// A request stalled longer than this by a lock fails (a client timeout).
    pub client_timeout: SimTime,
    /// The plan, in order.
    pub migrations: Vec<Migration>,
    /// Stable, then candidate.
    pub apps: [AppSchema; 2],
    /// The response to a declared failure.
    pub policy: DataPolicy,
    /// With `write_block`, the candidate refuses writes for `drain` before traffic moves back.
    pub write_block: Option<SimTime>,
}

/// Why a record is inconsistent at the end of a run, for the version serving then.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Inconsistencies {
    /// Held only by the new structure, served by a version that reads the old one.
    pub new_format_only: u64,
    /// Held only by the old structure, served by a version that reads the new one without fallback.
    pub old_format_only: u64,
    /// Dropped with the new structure by a down migration.
    pub lost_on_down_migration: u64,
    /// Dropped with the old structure by a contract before they were copied.
    pub dropped_by_contract: u64,
    /// Written after the backup point and lost by the restore.
    pub lost_on_restore: u64,
    /// Stored corrupted by a `data_corruption` fault (counted by the world, over all writes).
    pub corrupted: u64,
}

impl Inconsistencies {
    /// All causes together.
    pub fn total(&self) -> u64 {
        self.new_format_only
            + self.old_format_only
            + self.lost_on_down_migration
            + self.dropped_by_contract
            + self.lost_on_restore
            + self.corrupted
    }
}

/// What a request meets at the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TableAccess {
    /// The table answers.
    Ok,
    /// It waits this long (µs) behind a lock.
    Stalled(f64),
    /// It fails: a lock past the client timeout, a restore, or a schema the version cannot use.
    Fails,
}

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    old_only: u64,
    new_only: u64,
    both: u64,
}

/// The database during one run.
#[derive(Debug, Clone)]
pub struct Database {
    spec: DatabaseSpec,
    schema: u32,
    old_exists: bool,
    new_exists: bool,
    /// Lock windows `[from, until)`.
    locks: Vec<(SimTime, SimTime)>,
    /// Records written by the apps.
    app: Counts,
    /// The initial rows still only in the old structure, and those copied, at `backfill.start`.
    initial_old: u64,
    initial_both: u64,
    /// A running backfill: start, rate (rows/s), rows left to copy at start.
    backfill: Option<(SimTime, f64, u64)>,
    /// Applied migrations (indices), in order.
    applied: Vec<usize>,
    /// Started migrations (indices).
    started: Vec<usize>,
    /// Records the apps wrote since time 0 (the backup point).
    written: u64,
    incompatible: [bool; 2],
    write_blocked: [bool; 2],
    unavailable_until: SimTime,
    lost: Inconsistencies,
    /// Reads of rows not yet backfilled by a version that reads only the new structure.
    pub missing_during_backfill: u64,
    /// Reads of records the version could not see for another reason.
    pub invisible_reads: u64,
}

impl Database {
    /// The database at time 0.
    pub fn new(spec: &DatabaseSpec) -> Database {
        let backfilled = spec.initial == InitialData::Backfilled;
        Database {
            schema: spec.schema,
            old_exists: true,
            new_exists: spec.initial != InitialData::Old,
            locks: Vec::new(),
            app: Counts::default(),
            initial_old: if backfilled { 0 } else { spec.rows },
            initial_both: if backfilled { spec.rows } else { 0 },
            backfill: None,
            applied: Vec::new(),
            started: Vec::new(),
            written: 0,
            incompatible: [false; 2],
            write_blocked: [false; 2],
            unavailable_until: SimTime::ZERO,
            lost: Inconsistencies::default(),
            missing_during_backfill: 0,
            invisible_reads: 0,
            spec: spec.clone(),
        }
    }

    /// The specification.
    pub fn spec(&self) -> &DatabaseSpec {
        &self.spec
    }

    /// The current schema version.
    pub fn schema(&self) -> u32 {
        self.schema
    }

    /// Initial rows copied by the running backfill at `t`, beyond those copied before.
    fn backfilled(&self, t: SimTime) -> u64 {
        match self.backfill {
            Some((start, rate, left)) => {
                ((t.saturating_sub(start).as_secs_f64() * rate) as u64).min(left)
            }
            None => 0,
        }
    }

    /// Migration `i` starts at `now`: its lock begins (`lock` long, faults included).
    pub fn start_migration(&mut self, now: SimTime, i: usize, lock: SimTime) {
        self.started.push(i);
        if lock > SimTime::ZERO {
            self.locks.push((now, now.saturating_add(lock)));
        }
        if let MigrationKind::Backfill { rows, rate } = self.spec.migrations[i].kind {
            self.backfill = Some((now, rate, rows.min(self.initial_old)));
        }
    }

    /// Migration `i` ends at `now`: the schema moves to its target.
    pub fn end_migration(&mut self, now: SimTime, i: usize) {
        let (kind, to) = (
            self.spec.migrations[i].kind.clone(),
            self.spec.migrations[i].to,
        );
        match kind {
            MigrationKind::Expand => self.new_exists = true,
            MigrationKind::Backfill { .. } => self.settle_backfill(now),
            MigrationKind::Contract => {
                self.settle_backfill(now);
                self.lost.dropped_by_contract += self.initial_old + self.app.old_only;
                self.initial_old = 0;
                self.app.old_only = 0;
                self.app.new_only += self.app.both;
                self.app.both = 0;
                self.old_exists = false;
            }
        }
        self.schema = to;
        self.applied.push(i);
    }

    fn settle_backfill(&mut self, now: SimTime) {
        let done = self.backfilled(now);
        self.initial_old -= done;
        self.initial_both += done;
        self.backfill = None;
    }

    /// Whether migration `i` has started.
    pub fn started(&self, i: usize) -> bool {
        self.started.contains(&i)
    }

    /// The down migrations of the applied plan, newest first, up to the first irreversible one.
    pub fn down_plan(&self) -> Vec<usize> {
        self.applied
            .iter()
            .rev()
            .copied()
            .take_while(|&i| self.spec.migrations[i].reversible)
            .collect()
    }

    /// The down migration of `i` ends at `now`: the schema returns to before it.
    pub fn end_down_migration(&mut self, now: SimTime, i: usize) {
        if self.spec.migrations[i].kind == MigrationKind::Expand {
            self.settle_backfill(now);
            self.lost.lost_on_down_migration += self.app.new_only;
            self.app.new_only = 0;
            self.app.old_only += self.app.both;
            self.app.both = 0;
            self.initial_old += self.initial_both;
            self.initial_both = 0;
            self.new_exists = false;
        }
        self.applied.retain(|&a| a != i);
        self.schema = self
            .applied
            .last()
            .map_or(self.spec.schema, |&a| self.spec.migrations[a].to);
    }

    /// A restore starts at `now`: the table is unavailable for `restore_time`.
    pub fn start_restore(&mut self, now: SimTime, restore_time: SimTime) {
        self.unavailable_until = now.saturating_add(restore_time);
    }

    /// The restore ends: the backup from time 0 is back. Every record written since is lost
    /// (whatever happened to it before: dropped, invisible), and the rows a contract or a down
    /// migration dropped are back.
    pub fn end_restore(&mut self) {
        let backup = Database::new(&self.spec);
        *self = Database {
            lost: Inconsistencies {
                lost_on_restore: self.lost.lost_on_restore + self.written,
                ..Inconsistencies::default()
            },
            missing_during_backfill: self.missing_during_backfill,
            invisible_reads: self.invisible_reads,
            started: std::mem::take(&mut self.started),
            ..backup
        };
    }

    /// Marks `v` as broken by the current schema whatever it declares (a
    /// `schema_incompatibility` fault), or not.
    pub fn set_incompatible(&mut self, v: VersionId, broken: bool) {
        self.incompatible[v.index()] = broken;
    }

    /// Makes `v` refuse writes (a write block before a rollback), or accept them again.
    pub fn block_writes(&mut self, v: VersionId, blocked: bool) {
        self.write_blocked[v.index()] = blocked;
    }

    /// Whether `v` can use the current schema at all.
    pub fn compatible(&self, v: VersionId) -> bool {
        let app = &self.spec.apps[v.index()];
        !self.incompatible[v.index()]
            && app.schemas.contains(&self.schema)
            && match app.writes {
                WriteMode::Old => self.old_exists,
                WriteMode::Dual => self.old_exists && self.new_exists,
                WriteMode::New => self.new_exists,
            }
            && match app.reads {
                ReadMode::Old => self.old_exists,
                ReadMode::New => self.new_exists,
                ReadMode::NewWithFallback => self.old_exists || self.new_exists,
            }
    }

    /// What a request of `v` touching the table at `t` meets (before any other outcome).
    #[inline]
    pub fn access(&self, t: SimTime, v: VersionId, write: bool) -> TableAccess {
        if t < self.unavailable_until
            || !self.compatible(v)
            || (write && self.write_blocked[v.index()])
        {
            return TableAccess::Fails;
        }
        match self.lock_until(t) {
            None => TableAccess::Ok,
            Some(u) if u - t > self.spec.client_timeout => TableAccess::Fails,
            Some(u) => TableAccess::Stalled((u - t).micros() as f64),
        }
    }

    /// Stores one record written by `v`.
    #[inline]
    pub fn write(&mut self, v: VersionId) {
        match self.spec.apps[v.index()].writes {
            WriteMode::Old => self.app.old_only += 1,
            WriteMode::Dual => self.app.both += 1,
            WriteMode::New => self.app.new_only += 1,
        }
        self.written += 1;
    }

    /// Stores `n` records written by `v` (windows mode's count of a piece's table writes).
    pub fn write_n(&mut self, v: VersionId, n: u64) {
        match self.spec.apps[v.index()].writes {
            WriteMode::Old => self.app.old_only += n,
            WriteMode::Dual => self.app.both += n,
            WriteMode::New => self.app.new_only += n,
        }
        self.written += n;
    }

    /// The end of the longest lock in force at `t` (`None`: no lock), after which the table
    /// answers again; a request waits until then, or fails when that is past the client
    /// timeout ([`Database::access`]).
    #[inline]
    pub fn lock_until(&self, t: SimTime) -> Option<SimTime> {
        self.locks
            .iter()
            .filter(|(from, to)| t >= *from && t < *to)
            .map(|(_, to)| *to)
            .max()
    }

    /// One read by `v` at `t` of a record picked by the 32-bit draw `pick`; false when the
    /// record is invisible to it (a wrong response).
    #[inline]
    pub fn read(&mut self, t: SimTime, v: VersionId, pick: u32) -> bool {
        let done = self.backfilled(t);
        let initial_old = self.initial_old - done;
        let initial_both = self.initial_both + done;
        let total =
            initial_old + initial_both + self.app.old_only + self.app.new_only + self.app.both;
        if total == 0 {
            return true;
        }
        let k = (u64::from(pick) * total) >> 32;
        // Records in order: initial old-only, app old-only, both (initial and app), new-only.
        let old_only = initial_old + self.app.old_only;
        let (has_old, has_new) = if k < old_only {
            (true, false)
        } else if k < old_only + initial_both + self.app.both {
            (true, true)
        } else {
            (false, true)
        };
        let visible = match self.spec.apps[v.index()].reads {
            ReadMode::Old => has_old,
            ReadMode::New => has_new,
            ReadMode::NewWithFallback => has_new || has_old,
        };
        if !visible {
            if k < initial_old && self.backfill.is_some() {
                self.missing_during_backfill += 1;
            } else {
                self.invisible_reads += 1;
            }
        }
        visible
    }

    /// Whether a request of `v` could meet harm from the database at `t`: a lock, a restore,
    /// an incompatible schema, or records it cannot see.
    pub fn can_harm(&self, t: SimTime, v: VersionId) -> bool {
        let locked = self.locks.iter().any(|(from, to)| t >= *from && t < *to);
        locked || t < self.unavailable_until || !self.compatible(v) || self.invisible(t, v) > 0
    }

    /// The records `v` cannot see at `t`: those only in the structure it does not read.
    pub fn invisible(&self, t: SimTime, v: VersionId) -> u64 {
        match self.spec.apps[v.index()].reads {
            ReadMode::Old => self.app.new_only,
            ReadMode::New => self.initial_old - self.backfilled(t) + self.app.old_only,
            ReadMode::NewWithFallback => 0,
        }
    }

    /// The records inconsistent for version `v` serving at the end of the run.
    pub fn inconsistencies(&self, end: SimTime, v: VersionId) -> Inconsistencies {
        let done = self.backfilled(end);
        let mut out = self.lost;
        match self.spec.apps[v.index()].reads {
            ReadMode::Old => out.new_format_only = self.app.new_only,
            ReadMode::New => out.old_format_only = self.initial_old - done + self.app.old_only,
            ReadMode::NewWithFallback => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(writes: WriteMode) -> DatabaseSpec {
        let m = |name: &str, to, kind| Migration {
            name: name.into(),
            to,
            kind,
            start: SimTime::ZERO,
            with_rollout: false,
            duration: SimTime::from_secs(10),
            lock: SimTime::from_secs(2),
            reversible: true,
            down_duration: SimTime::from_secs(5),
        };
        DatabaseSpec {
            schema: 1,
            initial: InitialData::Old,
            rows: 1000,
            table_fraction: Probability::ONE,
            client_timeout: SimTime::from_secs(1),
            migrations: vec![
                m("expand", 2, MigrationKind::Expand),
                m(
                    "backfill",
                    3,
                    MigrationKind::Backfill {
                        rows: 1000,
                        rate: 100.0,
                    },
                ),
                m("contract", 4, MigrationKind::Contract),
            ],
            apps: [
                AppSchema {
                    schemas: vec![1, 2, 3],
                    writes: WriteMode::Old,
                    reads: ReadMode::Old,
                },
                AppSchema {
                    schemas: vec![2, 3, 4],
                    writes,
                    reads: ReadMode::NewWithFallback,
                },
            ],
            policy: DataPolicy::AppOnly,
            write_block: None,
        }
    }

    #[test]
    fn expand_then_down_loses_exactly_the_new_only_records() {
        let s = SimTime::from_secs;
        let mut db = Database::new(&spec(WriteMode::New));
        db.start_migration(s(0), 0, s(2));
        assert_eq!(
            db.access(s(1), VersionId::Stable, false),
            TableAccess::Stalled(1e6),
            "1 s left: at the timeout, not past it"
        );
        db.end_migration(s(10), 0);
        for _ in 0..7 {
            db.write(VersionId::Candidate);
        }
        db.write(VersionId::Stable);
        assert_eq!(
            db.inconsistencies(s(20), VersionId::Stable).new_format_only,
            7
        );
        assert_eq!(db.down_plan(), [0]);
        db.end_down_migration(s(30), 0);
        let i = db.inconsistencies(s(30), VersionId::Stable);
        assert_eq!(
            (i.lost_on_down_migration, i.new_format_only, i.total()),
            (7, 0, 7)
        );
        assert_eq!(db.schema(), 1);
    }

    #[test]
    fn dual_writes_leave_nothing_behind() {
        let s = SimTime::from_secs;
        let mut db = Database::new(&spec(WriteMode::Dual));
        db.end_migration(s(10), 0);
        for _ in 0..50 {
            db.write(VersionId::Candidate);
        }
        assert_eq!(db.inconsistencies(s(20), VersionId::Stable).total(), 0);
        db.end_down_migration(s(30), 0);
        assert_eq!(db.inconsistencies(s(30), VersionId::Stable).total(), 0);
    }

    #[test]
    fn a_lock_stalls_then_times_out() {
        let s = SimTime::from_secs;
        let db = {
            let mut db = Database::new(&spec(WriteMode::Dual));
            db.start_migration(s(0), 0, s(3));
            db
        };
        assert_eq!(
            db.access(s(1), VersionId::Stable, false),
            TableAccess::Fails,
            "2 s wait > 1 s timeout"
        );
        assert_eq!(
            db.access(s(2) + SimTime::from_millis(500), VersionId::Stable, false),
            TableAccess::Stalled(500_000.0)
        );
        assert_eq!(db.access(s(3), VersionId::Stable, false), TableAccess::Ok);
    }

    #[test]
    fn backfill_copies_at_its_rate_and_new_readers_miss_the_rest() {
        let s = SimTime::from_secs;
        let mut spec = spec(WriteMode::Dual);
        spec.apps[1].reads = ReadMode::New;
        let mut db = Database::new(&spec);
        db.end_migration(s(10), 0);
        db.start_migration(s(10), 1, SimTime::ZERO);
        // 5 s at 100 rows/s: 500 of 1000 rows copied. Reads spread over all 1000 rows.
        let misses = (0..1000u32)
            .filter(|k| !db.read(s(15), VersionId::Candidate, k * 4_294_967))
            .count();
        assert!((480..=520).contains(&misses), "{misses}");
        assert_eq!(db.missing_during_backfill, misses as u64);
        db.end_migration(s(20), 1);
        assert_eq!(
            db.inconsistencies(s(20), VersionId::Candidate)
                .old_format_only,
            0
        );
    }

    #[test]
    fn contract_drops_old_only_records_and_is_not_undone() {
        let s = SimTime::from_secs;
        let mut db = Database::new(&spec(WriteMode::Dual));
        db.end_migration(s(1), 0);
        db.write(VersionId::Stable); // old only
        db.end_migration(s(2), 2);
        let i = db.inconsistencies(s(3), VersionId::Candidate);
        assert_eq!(
            i.dropped_by_contract, 1001,
            "1000 initial rows never backfilled + 1"
        );
        assert!(
            !db.compatible(VersionId::Stable),
            "the old app cannot read a dropped column"
        );
        assert_eq!(db.down_plan(), [2, 0]);
        let mut irreversible = spec(WriteMode::Dual);
        irreversible.migrations[2].reversible = false;
        let mut db = Database::new(&irreversible);
        db.end_migration(s(1), 0);
        db.end_migration(s(2), 2);
        assert!(
            db.down_plan().is_empty(),
            "nothing below an irreversible step"
        );
    }

    #[test]
    fn restore_loses_every_write_since_the_backup() {
        let s = SimTime::from_secs;
        let mut db = Database::new(&spec(WriteMode::New));
        db.end_migration(s(1), 0);
        db.write(VersionId::Candidate);
        db.write(VersionId::Stable);
        db.start_restore(s(5), s(60));
        assert_eq!(
            db.access(s(30), VersionId::Stable, false),
            TableAccess::Fails
        );
        db.end_restore();
        let i = db.inconsistencies(s(70), VersionId::Stable);
        assert_eq!((i.lost_on_restore, db.schema()), (2, 1));
    }
}
