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

use crate::detect::Windows;
use crate::detect::judges::{Baseline, JudgeSpec};
use crate::engine::Probability;
use crate::model::{FaultName, RoutingSpec};
use crate::scenario::Scenario;

pub use crate::model::windows::Mode;

/// Largest total-variation distance allowed for windows mode's active-user draw,
/// `2·users·e^(−requests/users)` (see [`crate::model::windows`]): above it windows mode
/// refuses the scenario rather than approximate.
pub const MAX_ACTIVE_USERS_BOUND: f64 = 0.01;

/// The first feature of `scenario` that windows mode cannot produce exactly, named as the
/// scenario file writes it; `None` when windows mode supports the whole scenario.
pub fn unsupported(scenario: &Scenario) -> Option<&'static str> {
    let service = &scenario.service;
    let traffic = &service.traffic;
    if traffic.user_skew.is_some() {
        return Some("traffic.user_skew (Zipf-skewed users)");
    }
    if service.database.is_some() {
        return Some("[database] (the migrated table and its ledger)");
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
    if service.health.probes.is_some() {
        return Some("[fleet.probes] (per-instance readiness and liveness probes)");
    }
    if service.health.outlier.is_some() {
        return Some("[fleet.outlier_detection] (per-instance outlier ejection)");
    }
    for f in &service.faults {
        if f.instances().is_some() {
            return Some("faults.instances (a fault on some instances of a version)");
        }
        if f.users < Probability::ONE {
            return Some("faults.users below 1 (a fault scoped to some users)");
        }
        match f.kind.name_of() {
            FaultName::ErrorRate
            | FaultName::Latency
            | FaultName::CrashLoop
            | FaultName::DependencyOutage
            | FaultName::InstanceKill
            | FaultName::FlagStall => {}
            FaultName::MemoryLeak => return Some("faults.kind = \"memory_leak\""),
            FaultName::DataCorruption => return Some("faults.kind = \"data_corruption\""),
            FaultName::TrafficSpike => return Some("faults.kind = \"traffic_spike\""),
            FaultName::MigrationLock => return Some("faults.kind = \"migration_lock\""),
            FaultName::SchemaIncompatibility => {
                return Some("faults.kind = \"schema_incompatibility\"");
            }
        }
    }
    for s in &scenario.strategies {
        if s.analysis
            .as_ref()
            .is_some_and(|a| a.windows == Windows::PerMetric)
        {
            return Some("analysis metrics with windows of their own (per-metric intervals)");
        }
        if !s.runs().is_empty() {
            return Some("analysis runs (Argo AnalysisTemplates)");
        }
        // Judges of error ratios against the stable read the two windows' counts, which
        // windows mode draws; latency samples and the experiment's diversion are per request.
        let per_request_judge =
            |j: &JudgeSpec| j.needs_latency() || j.baseline() != Baseline::Stable;
        if s.analysis
            .as_ref()
            .is_some_and(|a| a.judges.iter().any(per_request_judge))
        {
            return Some(
                "analysis.judges on latency or against an experiment baseline (per-request latency samples and diversions)",
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
