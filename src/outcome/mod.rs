//! What one run measured: timestamps, users, requests, records. Counted, never estimated.

mod aggregate;
mod columns;
mod compare;
mod rules;
mod timeline;

pub use aggregate::{
    Stat, StrategySummary, nearest_rank, student_t_975, student_t_995, summarize, wilson95,
};
pub use columns::{Cell, Column, ColumnUnit, RUN_COLUMNS, run_column, summarized_columns};
pub use compare::{CompareMetric, MetricComparison, PairedTest, Unit, compare};
pub use rules::{RunLog, recovered, rollback_is_false};
pub use timeline::{Marker, Sample, Timeline, VersionSample};

use crate::engine::SimTime;
use crate::model::Inconsistencies;
use crate::names::named;

named! {
    /// Which detector declared the failure.
    pub enum Detector {
        /// Metric analysis reached its failed-check threshold.
        Analysis = "analysis",
        /// A human noticed (alert → page → acknowledge → diagnose).
        Manual = "manual",
        /// The strategy itself gave up (a rollout past its progress deadline).
        ProgressDeadline = "progress_deadline",
        /// An `[[alerts]]` rule with `action = "rollback"` fired (the run names it).
        Alert = "alert",
        /// The strategy gave up on a version whose instances fail their readiness probe
        /// (`[fleet.probes.readiness]`): a rolling update's or a blue-green's progress stalled.
        Readiness = "readiness",
    }
}

/// A rollback decision's kind, after the scenario's data policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// The app was rolled back (possibly with down migrations or a restore).
    Rollback,
    /// No rollback: a hotfix rolled forward.
    RollForward,
}

/// One run: one strategy, one replication. Field meanings are docs/semantics.md's "Reported numbers".
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// Scenario name.
    pub scenario: String,
    /// Strategy name.
    pub strategy: String,
    /// Replication index, from 0.
    pub replication: u32,
    /// Scenario seed; with `replication` it reproduces the run.
    pub seed: u64,
    /// First fault-affected request.
    pub onset: Option<SimTime>,
    /// First failure declaration (automatic or manual), even a false alarm.
    pub detected: Option<SimTime>,
    /// Which detector declared it.
    pub detected_by: Option<Detector>,
    /// The alert rule that declared it, when `detected_by` is [`Detector::Alert`].
    pub detected_alert: Option<String>,
    /// Rollback decision (equal to `detected` here: detection is the decision).
    pub rollback: Option<SimTime>,
    /// Structural recovery plus verification, when within the horizon.
    pub recovered: Option<SimTime>,
    /// Distinct users with at least one fault-affected response.
    pub affected_users: u64,
    /// Distinct users with at least one request.
    pub active_users: u64,
    /// Fault-caused failed requests.
    pub failed_requests: u64,
    /// Failed requests that would have failed without any fault.
    pub baseline_failed_requests: u64,
    /// Records inconsistent at the end of the run, for the version serving then (the sum of
    /// `inconsistent`).
    pub inconsistent_records: u64,
    /// The same records by cause.
    pub inconsistent: Inconsistencies,
    /// Reads of rows not yet backfilled by a version that reads only the new structure.
    pub missing_during_backfill: u64,
    /// Other reads of records the serving version could not see (wrong responses).
    pub invisible_reads: u64,
    /// Whether a rollback happened.
    pub rolled_back: bool,
    /// A rollback with no fault of the candidate active, or before any request was affected.
    pub false_rollback: bool,
    /// Time to full promotion, when the rollout completed.
    pub rollout: Option<SimTime>,
    /// When the rollout was first marked Degraded: a progress deadline passed and the
    /// strategy neither aborted nor promoted (Argo without `progressDeadlineAbort`).
    pub degraded: Option<SimTime>,
    /// Instance-seconds used over the horizon.
    pub instance_seconds: f64,
    /// Requests simulated.
    pub requests: u64,
    /// Analysis checks run, failed and inconclusive.
    pub checks: u32,
    /// Checks that failed.
    pub failed_checks: u32,
    /// Checks with too few requests to judge (or no data, under `on_no_data = "inconclusive"`).
    pub inconclusive_checks: u32,
    /// Share of the `[slo]` availability error budget of the SLO window that the faults
    /// burned: fault-caused failed requests over `(1 − availability) × rate × window`
    /// (may exceed 1); `None` without `[slo]`.
    pub budget_consumed: Option<f64>,
    /// Time from the start of a fault to the first probe failure it caused that took an
    /// instance out (readiness removal or liveness kill); `None` without one.
    pub probe_ttd: Option<SimTime>,
    /// Liveness restarts (`[fleet.probes]`).
    pub restarts: u64,
    /// Outlier ejections (`[fleet.outlier_detection]`).
    pub ejections: u64,
}

impl RunOutcome {
    /// The `detected_by` column: the detector's name, `alert:<rule name>` for an alert.
    pub fn detected_by_text(&self) -> String {
        match (self.detected_by, &self.detected_alert) {
            (Some(Detector::Alert), Some(name)) => format!("alert:{name}"),
            (by, _) => by.map(|d| d.name().to_string()).unwrap_or_default(),
        }
    }

    /// Time to detect: detection minus onset, when the detection came at or after onset.
    pub fn ttd(&self) -> Option<SimTime> {
        match (self.onset, self.detected) {
            (Some(o), Some(d)) if d >= o => Some(d - o),
            _ => None,
        }
    }

    /// Time to recover: recovery minus onset.
    pub fn ttr(&self) -> Option<SimTime> {
        match (self.onset, self.recovered) {
            (Some(o), Some(r)) => Some(r.saturating_sub(o)),
            _ => None,
        }
    }

    /// Affected users over active users (0 with no active user).
    pub fn affected_share(&self) -> f64 {
        if self.active_users == 0 {
            0.0
        } else {
            self.affected_users as f64 / self.active_users as f64
        }
    }
}
