//! The fault catalog: what can go wrong, when, for whom.

use super::VersionId;
use crate::engine::SimTime;

/// What a fault does. Each kind documents the fields it takes in the scenario file.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Requests of the target fail with probability `max(baseline, rate)`.
    ErrorRate {
        /// Error probability while active.
        rate: f64,
    },
    /// Requests of the target take `delay` longer.
    Latency {
        /// Added response time.
        delay: SimTime,
    },
    /// Instances of the target never pass readiness: every request routed to it fails (503).
    CrashLoop,
    /// Degradation that grows linearly from 0 at `start` to full at `start + ramp`.
    MemoryLeak {
        /// Error probability once fully degraded.
        rate: f64,
        /// Added latency once fully degraded.
        delay: SimTime,
        /// Time to full degradation.
        ramp: SimTime,
    },
    /// Successful writes of the target are silently corrupted with probability `rate`.
    /// No error: only a business metric (`bad_write_rate`) sees it.
    DataCorruption {
        /// Share of writes corrupted.
        rate: f64,
    },
    /// A dependency every version uses is down: requests fail with probability `rate`,
    /// whichever version serves them. Rolling back does not help.
    DependencyOutage {
        /// Error probability while active.
        rate: f64,
    },
    /// Extra traffic: the rate is multiplied by `multiplier` while active.
    TrafficSpike {
        /// Rate multiplier (> 1).
        multiplier: f64,
    },
    /// `instances` instances of the target die at `start`; replacements serve after the
    /// fleet's `startup`. Only visible through capacity (load shedding).
    InstanceKill {
        /// Instances killed.
        instances: u32,
    },
    /// Migration `migration` holds its table lock for `lock` instead of the planned time.
    MigrationLock {
        /// Index of the migration in the plan.
        migration: usize,
        /// The lock it really takes.
        lock: SimTime,
    },
    /// Once migration `migration` has run, the target version cannot use the schema although
    /// it declares it (the single-step DROP COLUMN anti-pattern): its table requests fail.
    SchemaIncompatibility {
        /// Index of the migration in the plan.
        migration: usize,
    },
    /// A share of instances stop refreshing feature flags from `start` to `end` (a restart):
    /// they keep serving the value they had, kill switch or not, until their data is
    /// `stall_timeout` old (then they serve the code default, off).
    FlagStall {
        /// Share of instances stalled (the nearest whole number of instances).
        share: f64,
        /// Data age after which an SDK falls back to the code default.
        stall_timeout: Option<SimTime>,
    },
}

impl FaultKind {
    /// The name used in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::ErrorRate { .. } => "error_rate",
            FaultKind::Latency { .. } => "latency",
            FaultKind::CrashLoop => "crash_loop",
            FaultKind::MemoryLeak { .. } => "memory_leak",
            FaultKind::DataCorruption { .. } => "data_corruption",
            FaultKind::DependencyOutage { .. } => "dependency_outage",
            FaultKind::TrafficSpike { .. } => "traffic_spike",
            FaultKind::InstanceKill { .. } => "instance_kill",
            FaultKind::FlagStall { .. } => "flag_stall",
            FaultKind::MigrationLock { .. } => "migration_lock",
            FaultKind::SchemaIncompatibility { .. } => "schema_incompatibility",
        }
    }
}

/// Which versions a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// One version.
    Version(VersionId),
    /// Every version.
    All,
}

impl Target {
    /// Whether requests served by `v` can be hit.
    pub fn includes(self, v: VersionId) -> bool {
        match self {
            Target::Version(t) => t == v,
            Target::All => true,
        }
    }
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// What it does.
    pub kind: FaultKind,
    /// Which versions it hits.
    pub target: Target,
    /// When it starts.
    pub start: SimTime,
    /// When it ends (`None`: never, within the horizon).
    pub end: Option<SimTime>,
    /// Share of users it can hit (chosen by a hash of the user id, so a user is in or out).
    pub users: f64,
}

impl Fault {
    /// Whether the fault is in force at `t`.
    pub fn active_at(&self, t: SimTime) -> bool {
        t >= self.start && self.end.is_none_or(|e| t < e)
    }

    /// Whether the fault belongs to the candidate version, so that rolling back removes it.
    /// A fault on every version (a dependency, a spike) is not the release's fault.
    pub fn is_candidates(&self) -> bool {
        // A schema fault acts through the database once its migration has run; whether the
        // candidate is broken then is the database's question, not the fault's window.
        self.target == Target::Version(VersionId::Candidate)
            && !matches!(
                self.kind,
                FaultKind::SchemaIncompatibility { .. } | FaultKind::MigrationLock { .. }
            )
    }

    /// The moments the fault changes the world.
    pub fn boundaries(&self, startup: SimTime) -> Vec<SimTime> {
        let mut b = vec![self.start];
        b.extend(self.end);
        if matches!(self.kind, FaultKind::InstanceKill { .. }) {
            b.push(self.start.saturating_add(startup));
        }
        b
    }
}
