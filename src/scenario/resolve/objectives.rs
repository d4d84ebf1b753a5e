//! `[objectives]`.

use super::super::raw::RawObjectives;
use super::{Resolver, Result};
use crate::objectives::{Objective, ObjectiveMetric};

/// An `[objectives]` table (in a scenario, or a suite's objectives file) at `path`.
pub(in crate::scenario) fn resolve_objectives(
    r: &Resolver,
    path: &str,
    o: &RawObjectives,
) -> Result<Vec<Objective>> {
    let mut list = Vec::new();
    for (metric, text) in [
        (ObjectiveMetric::TtrMean, &o.ttr_mean),
        (ObjectiveMetric::TtrP95, &o.ttr_p95),
        (ObjectiveMetric::TtdMean, &o.ttd_mean),
        (ObjectiveMetric::TtdP95, &o.ttd_p95),
        (ObjectiveMetric::ProbeTtdMean, &o.probe_ttd_mean),
        (ObjectiveMetric::ProbeTtdP95, &o.probe_ttd_p95),
    ] {
        if let Some(t) = text {
            let limit = r
                .duration(&format!("{path}.{}", metric.name()), t)?
                .as_secs_f64();
            list.push(Objective { metric, limit });
        }
    }
    for (metric, share) in [
        (ObjectiveMetric::AffectedShareMean, o.affected_share_mean),
        (
            ObjectiveMetric::DetectionProbability,
            o.detection_probability,
        ),
        (ObjectiveMetric::FalseRollbackRate, o.false_rollback_rate),
        (ObjectiveMetric::DeploySuccess, o.deploy_success),
    ] {
        if let Some(x) = share {
            list.push(Objective {
                metric,
                limit: r
                    .probability(&format!("{path}.{}", metric.name()), x)?
                    .get(),
            });
        }
    }
    if let Some(n) = o.inconsistent_records_max {
        list.push(Objective {
            metric: ObjectiveMetric::InconsistentRecordsMax,
            limit: n as f64,
        });
    }
    if let Some(x) = o.budget_consumed_mean {
        if !(x.is_finite() && x >= 0.0) {
            return r.err(
                format!("{path}.budget_consumed_mean"),
                format!("{x} is not allowed; expected a share of the error budget ≥ 0 (1 is the whole budget, 0.02 is 2 %)"),
            );
        }
        list.push(Objective {
            metric: ObjectiveMetric::BudgetConsumedMean,
            limit: x,
        });
    }
    if list.is_empty() {
        return r.err(path, "empty: state at least one objective, or remove the table to use the defaults (ttr_mean ≤ 30m, affected_share_mean ≤ 1 %, false_rollback_rate ≤ 5 % on its upper bound, deploy_success ≥ 95 %)");
    }
    Ok(list)
}
