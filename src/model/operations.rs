//! What the release and the response do to the world besides routing and scaling: the
//! database plan (migrations, down migrations), a rollback's data steps (a write block, a
//! backup restore) and a roll-forward's hotfix. Each operation keeps the world's invariants
//! itself: it re-evaluates the faults and loads in force before returning.

use super::{FaultKind, Target, VersionId, World};
use crate::engine::SimTime;

impl World<'_> {
    /// The versions a `schema_incompatibility` fault breaks once migration `i` has run.
    fn broken_by(&self, i: usize) -> Vec<VersionId> {
        self.spec
            .faults
            .iter()
            .filter_map(|f| match (&f.kind, f.target) {
                (FaultKind::SchemaIncompatibility { migration }, Target::Version(v))
                    if *migration == i =>
                {
                    Some(v)
                }
                _ => None,
            })
            .collect()
    }

    /// Migration `i` of the plan starts at `now`: its lock begins, as long as planned or as a
    /// `migration_lock` fault on it makes it, whichever is longer. Returns that lock's
    /// duration (zero: no lock), after which the caller must re-evaluate the world (the lock's
    /// end is a boundary like a fault's).
    pub fn start_migration(&mut self, now: SimTime, i: usize) -> SimTime {
        let planned = self
            .spec
            .database
            .as_ref()
            .map_or(SimTime::ZERO, |d| d.migrations[i].lock);
        let lock = self
            .spec
            .faults
            .iter()
            .filter_map(|f| match f.kind {
                FaultKind::MigrationLock { migration, lock } if migration == i => Some(lock),
                _ => None,
            })
            .fold(planned, SimTime::max);
        if let Some(db) = &mut self.database {
            db.start_migration(now, i, lock);
        }
        self.refresh(now);
        lock
    }

    /// Whether migration `i` has started (a running migration cannot be stopped by a
    /// rollback: it completes).
    pub fn migration_started(&self, i: usize) -> bool {
        self.database.as_ref().is_some_and(|db| db.started(i))
    }

    /// Migration `i` ends at `now`: the schema moves on, and the versions a
    /// `schema_incompatibility` fault names can no longer use it.
    pub fn end_migration(&mut self, now: SimTime, i: usize) {
        let broken = self.broken_by(i);
        if let Some(db) = &mut self.database {
            db.end_migration(now, i);
            for v in broken {
                db.set_incompatible(v, true);
            }
        }
        self.refresh(now);
    }

    /// The next down migration a rollback runs (newest applied first, up to an irreversible
    /// one) and how long it takes, if any.
    pub fn next_down_migration(&self) -> Option<(usize, SimTime)> {
        let db = self.database.as_ref()?;
        let i = *db.down_plan().first()?;
        Some((i, db.spec().migrations[i].down_duration))
    }

    /// The down migration of migration `i` ends at `now`: the schema steps back, and the
    /// versions that migration broke work again.
    pub fn end_down_migration(&mut self, now: SimTime, i: usize) {
        let broken = self.broken_by(i);
        if let Some(db) = &mut self.database {
            db.end_down_migration(now, i);
            for v in broken {
                db.set_incompatible(v, false);
            }
        }
        self.refresh(now);
    }

    /// A rollback is decided at `now`: the candidate's writes are blocked when
    /// `block_writes`, and a backup restore taking `restore` starts when given (the table
    /// is unavailable until it ends: call [`World::end_restore`] then).
    pub fn roll_back(&mut self, now: SimTime, block_writes: bool, restore: Option<SimTime>) {
        if let Some(db) = &mut self.database {
            if block_writes {
                db.block_writes(VersionId::Candidate, true);
            }
            if let Some(restore_time) = restore {
                db.start_restore(now, restore_time);
            }
        }
        self.refresh(now);
    }

    /// The backup restore ends at `now`: the data of time 0 is back, with its schema, which
    /// every version can use.
    pub fn end_restore(&mut self, now: SimTime) {
        if let Some(db) = &mut self.database {
            db.end_restore();
            for v in VersionId::ALL {
                db.set_incompatible(v, false);
            }
        }
        self.refresh(now);
    }

    /// A roll-forward hotfix of the candidate lands at `now`: its faults end, and it works
    /// with the current schema.
    pub fn hotfix(&mut self, now: SimTime) {
        if let Some(db) = &mut self.database {
            db.set_incompatible(VersionId::Candidate, false);
        }
        self.fixed_at = Some(now);
        self.refresh(now);
    }
}
