//! The rules that turn a finished run into a [`RunOutcome`]: recovery, false rollback and
//! the records left inconsistent (docs/semantics.md's "Reported numbers"). They read the world; they never change it.

use super::{Detector, Response, RunOutcome};
use crate::engine::SimTime;
use crate::model::{Inconsistencies, Target, VersionId, World};

/// What the wiring of a run decided, as the outcome rules need it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunLog {
    /// Scenario name.
    pub scenario: String,
    /// Strategy name.
    pub strategy: String,
    /// Replication index, from 0.
    pub replication: u32,
    /// Scenario seed.
    pub seed: u64,
    /// The first failure declaration and its detector.
    pub detected: Option<(SimTime, Detector)>,
    /// The alert rule behind a [`Detector::Alert`] declaration.
    pub alert: Option<String>,
    /// What the declaration led to (`None` without one).
    pub response: Option<Response>,
    /// Whether a rollback at the declaration would be false (see [`rollback_is_false`]).
    pub false_at_decision: bool,
    /// Time of full promotion, when the rollout completed.
    pub rollout: Option<SimTime>,
    /// When the rollout was first marked Degraded (a progress deadline passed, no abort).
    pub degraded: Option<SimTime>,
    /// Analysis checks run, failed and inconclusive.
    pub checks: (u32, u32, u32),
    /// Time a recovery must hold before it counts (the response's `verify`).
    pub verify: SimTime,
    /// End of the run.
    pub horizon: SimTime,
}

/// Structural recovery: the first moment after which no fault that hurt anyone can hurt
/// again: its version gets no traffic for the rest of the run or the fault has ended
/// (direct harm), and no fault causes load shedding any more (harm through capacity), and
/// the database can hurt no version with traffic (database harm); then `verify` on top.
/// `None` without an onset or when that moment plus `verify` is past `horizon`.
pub fn recovered(world: &World, verify: SimTime, horizon: SimTime) -> Option<SimTime> {
    let routing = world.routing();
    let rec = &world.recorder;
    let mut safe_from = rec.onset?;
    for (i, f) in world.service().faults.iter().enumerate() {
        if rec.hurt & (1 << i) == 0 {
            continue;
        }
        let starved = match f.target {
            Target::Version(v) => routing.idle_since(v),
            Target::All => None,
        };
        let end = match (f.end, world.fixed_at().filter(|_| f.is_candidates())) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let harmless = match (end, starved) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        safe_from = safe_from.max(harmless);
    }
    if rec.hurt_capacity != 0 {
        safe_from = safe_from.max(world.capacity_clear_since()?);
    }
    if rec.hurt_database {
        safe_from = safe_from.max(world.database_clear_since()?);
    }
    let recovered = safe_from.saturating_add(verify);
    (recovered <= horizon).then_some(recovered)
}

/// Whether a rollback decided at `at` is false: no fault of the candidate is in force, so
/// rolling back cannot help (a dependency outage) or nothing is wrong (noise). A rollback is
/// legitimate too when the candidate has traffic and cannot use the current schema. A
/// decision before any request was hurt still has an empty TTD (see [`RunOutcome::ttd`]).
pub fn rollback_is_false(world: &World, at: SimTime) -> bool {
    let candidate_broken = world.database().is_some_and(|db| {
        world.routing().share(VersionId::Candidate) > 0.0 && !db.compatible(VersionId::Candidate)
    });
    !candidate_broken
        && !world
            .service()
            .faults
            .iter()
            .any(|f| f.is_candidates() && world.fault_active(f, at))
}

/// The records at `horizon` as the version serving then sees them (the candidate with at
/// least half the traffic, else the stable): inconsistent records by cause, reads of rows
/// not yet backfilled, other invisible reads. Without a database only corrupted writes.
fn data_at_end(world: &World, horizon: SimTime) -> (Inconsistencies, u64, u64) {
    let serving = if world.routing().share(VersionId::Candidate) >= 0.5 {
        VersionId::Candidate
    } else {
        VersionId::Stable
    };
    match world.database() {
        Some(db) => (
            db.inconsistencies(horizon, serving),
            db.missing_during_backfill,
            db.invisible_reads,
        ),
        None => (
            Inconsistencies {
                corrupted: world.recorder.corrupted,
                ..Inconsistencies::default()
            },
            0,
            0,
        ),
    }
}

impl RunOutcome {
    /// The measurements of a finished run: the world's tallies at `log.horizon` read by the
    /// rules above, with the wiring's decisions in `log`.
    pub fn conclude(world: &mut World, log: RunLog) -> RunOutcome {
        let recovered = recovered(world, log.verify, log.horizon);
        let (inconsistent, missing_during_backfill, invisible_reads) =
            data_at_end(world, log.horizon);
        let rolled_back = log.response == Some(Response::Rollback);
        let instance_seconds = world.instance_seconds(log.horizon);
        let rec = &world.recorder;
        let (checks, failed_checks, inconclusive_checks) = log.checks;
        RunOutcome {
            scenario: log.scenario,
            strategy: log.strategy,
            replication: log.replication,
            seed: log.seed,
            onset: rec.onset,
            detected: log.detected.map(|(t, _)| t),
            detected_by: log.detected.map(|(_, by)| by),
            detected_alert: log.alert,
            rollback: log.detected.map(|(t, _)| t).filter(|_| rolled_back),
            recovered,
            affected_users: rec.affected.len(),
            active_users: rec.active.len(),
            failed_requests: rec.failed,
            baseline_failed_requests: rec.baseline_failed,
            inconsistent_records: inconsistent.total(),
            inconsistent,
            missing_during_backfill,
            invisible_reads,
            rolled_back,
            false_rollback: rolled_back && log.false_at_decision,
            rollout: log.rollout,
            degraded: log.degraded,
            requests: rec.requests,
            checks,
            failed_checks,
            inconclusive_checks,
            instance_seconds,
            budget_consumed: None,
            probe_ttd: None,
            restarts: 0,
            ejections: 0,
        }
    }
}
