//! The two execution modes and what windows mode cannot (yet) do.
//!
//! `requests` serves every simulated request: one run's exact story, its timeline, every
//! feature. `windows` draws the requests between two control events as counts per outcome cell
//! ([`crate::model::windows`]): the same distributions of every reported number, for sweeps,
//! precision-driven replication counts and big suites. The strategies, detectors and the
//! control loop are the same in both; only how requests are produced differs.
//!
//! [`unsupported`] is the single place that says which scenarios windows mode refuses, so a
//! feature added later is refused by adding one line here.

use crate::detect::judges::JudgeSpec;
use crate::detect::{Measure, Metric, Windows};
use crate::model::{FaultName, RoutingSpec};
use crate::scenario::Scenario;

pub use crate::model::windows::Mode;
use crate::model::windows::reads_can_miss;

/// Largest total-variation distance allowed for windows mode's active-user draw,
/// `2·users·e^(−requests/users)` (see [`crate::model::windows`]): above it windows mode
/// refuses the scenario rather than approximate.
pub const MAX_ACTIVE_USERS_BOUND: f64 = 0.01;

/// The first feature of `scenario` that windows mode cannot produce exactly, named as the
/// scenario file writes it; `None` when windows mode supports the whole scenario.
pub fn unsupported(scenario: &Scenario) -> Option<&'static str> {
    let service = &scenario.service;
    let traffic = &service.traffic;
    let reads_latency =
        |s: &crate::strategy::StrategySpec| s.analysis.as_ref().is_some_and(|a| a.needs_latency());
    if traffic.user_skew.is_some() {
        return Some("traffic.user_skew (Zipf-skewed users)");
    }
    if let Some(db) = &service.database {
        if db.write_block.is_some() {
            return Some("database.write_block (the table refuses writes while it serves reads)");
        }
        if reads_can_miss(db) {
            return Some(
                "[database] with reads that can miss records (a version reads a structure that lacks some records while writes change the ledger)",
            );
        }
        // A stalled lock averages a piece's cells over its length, which an ejection would cut.
        if service.health.outlier.is_some() {
            return Some(
                "[database] with [fleet.outlier_detection] (an ejection would cut a piece whose lock stalls are averaged over its length)",
            );
        }
        if traffic.diurnal.is_some() {
            return Some("[database] with traffic.diurnal (a lock's stall under a varying rate)");
        }
        if scenario.alerts.is_some() || scenario.strategies.iter().any(reads_latency) {
            return Some(
                "[database] with latency metrics or [[alerts]] (a stalled request's latency is not one of the latency zones)",
            );
        }
    }
    // The request mode picks a flagged request's SDK instance and its kept instance from the
    // same routing draw, so the flag value and the instance's state are not independent.
    let flagged =
        |s: &crate::strategy::StrategySpec| matches!(s.routing(), RoutingSpec::Flag { .. });
    if service.per_instance() && scenario.strategies.iter().any(flagged) {
        return Some(
            "strategies.kind = \"feature_flag\" with instances kept ([fleet.probes], [fleet.outlier_detection] or faults.instances)",
        );
    }
    for f in &service.faults {
        match f.kind.name_of() {
            FaultName::ErrorRate
            | FaultName::Latency
            | FaultName::CrashLoop
            | FaultName::DependencyOutage
            | FaultName::InstanceKill
            | FaultName::MemoryLeak
            | FaultName::DataCorruption
            | FaultName::TrafficSpike
            | FaultName::FlagStall => {}
            // They act through the database's plan, which windows mode runs as the request
            // mode does (see `crate::model::windows`).
            FaultName::MigrationLock | FaultName::SchemaIncompatibility => {}
        }
    }
    // The exposition's histogram buckets and a window's p99 or judge bins come from the same
    // requests' z zones but are drawn apart, so their joint law is not the request mode's.
    if scenario
        .alerts
        .as_ref()
        .is_some_and(|a| a.needs_histogram())
        && scenario.strategies.iter().any(reads_latency)
    {
        return Some(
            "[[alerts]] on the latency histogram beside an analysis reading latency (the histogram's buckets and the window's latencies drawn apart)",
        );
    }
    for s in &scenario.strategies {
        // The pieces' history spreads writes over the successes as one thinning, which a
        // corruption cell (fast successes only) would bias.
        let own_windows = !s.runs().is_empty()
            || s.analysis
                .as_ref()
                .is_some_and(|a| a.windows == Windows::PerMetric);
        if own_windows
            && service
                .faults
                .iter()
                .any(|f| f.kind.name_of() == FaultName::DataCorruption)
        {
            return Some(
                "analysis windows of their own with faults.kind = \"data_corruption\" (corrupted writes in the history of pieces)",
            );
        }
        // A window's p99 is one order statistic drawn when it is read: exact for windows that
        // share no request or the same requests, which holds when every latency metric reads
        // the same window, no longer than the analysis interval (checks are at least an
        // interval apart).
        if s.analysis.as_ref().is_some_and(|a| {
            let mut latency = a
                .metrics
                .iter()
                .filter(|r| r.metric == Metric::LatencyP99)
                .map(|r| r.window.unwrap_or(a.interval));
            let first = latency.next();
            a.windows == Windows::PerMetric
                && (first.is_some_and(|w| w > a.interval) || latency.any(|w| Some(w) != first))
        }) {
            return Some(
                "analysis metrics on latency_p99 whose windows may share requests (windows longer than analysis.interval, or of different lengths)",
            );
        }
        if s.runs()
            .iter()
            .flat_map(|r| &r.metrics)
            .any(|m| m.measure == Measure::LatencyP99)
        {
            return Some("analysis runs measuring latency_p99 (their windows may share requests)");
        }
        // Judges on latency get whole samples in their 2 % bins; a p99 metric of the same
        // windows would read those bins instead of its exact bucket.
        if s.analysis.as_ref().is_some_and(|a| {
            a.judges.iter().any(JudgeSpec::needs_latency)
                && a.metrics.iter().any(|m| m.metric == Metric::LatencyP99)
        }) {
            return Some(
                "analysis.judges on latency beside a latency_p99 metric (whole latency samples and the p99's order statistic in one window)",
            );
        }
    }
    let requests =
        crate::model::windows::expected_requests(traffic, 0.0, scenario.horizon.micros() as f64);
    let users = traffic.users as f64;
    if 2.0 * users * (-requests / users.max(1.0)).exp() > MAX_ACTIVE_USERS_BOUND {
        return Some(
            "traffic.users too many for the traffic (some users may send no request: 2·users·e^(−requests/users) > 0.01)",
        );
    }
    None
}

/// The line the printed reports give the mode on (`run`, `compare`, `drill`, `check`).
pub fn header(mode: Mode) -> &'static str {
    match mode {
        Mode::Requests => "mode: requests (every request served)",
        Mode::Windows => {
            "mode: windows (requests drawn as per-window counts; timelines replay in requests mode)"
        }
    }
}

/// The mode line of a suite (`check`) or a sweep's grid points: the one mode, or how many
/// ran in each.
pub fn suite_header(modes: impl Iterator<Item = Mode>) -> String {
    let mut count = [0usize; 2];
    for m in modes {
        count[usize::from(m == Mode::Windows)] += 1;
    }
    match count {
        [_, 0] => header(Mode::Requests).to_string(),
        [0, _] => header(Mode::Windows).to_string(),
        [r, w] => format!(
            "mode: windows for {w} of {}, requests for the others (windows mode does not support them)",
            r + w
        ),
    }
}

/// The mode a command runs `scenario` in: `asked` when given (an error naming the feature
/// when windows mode cannot run it), else `default` when supported, else requests with the
/// note to print.
pub fn choose(
    scenario: &Scenario,
    asked: Option<Mode>,
    default: Mode,
) -> Result<(Mode, Option<String>), String> {
    match (asked, unsupported(scenario)) {
        (Some(Mode::Windows), Some(feature)) => Err(format!(
            "{}: --mode windows: windows mode does not support {feature}; use --mode requests",
            scenario.name
        )),
        (Some(mode), _) => Ok((mode, None)),
        (None, Some(feature)) if default == Mode::Windows => Ok((
            Mode::Requests,
            Some(format!(
                "note: {}: running in requests mode: windows mode does not support {feature}",
                scenario.name
            )),
        )),
        (None, _) => Ok((default, None)),
    }
}
