//! Threshold tuning: a grid of scenario variants, each replayed as a faulty release and as
//! a healthy one on common random numbers.
//!
//! Every grid point runs two families with the same seeds: the scenario as written (time to
//! detect and recover, detection probability, affected users) and the same scenario with the
//! candidate's faults switched off (false rollbacks, rollout time): a healthy release is the
//! other half of every tuning question. Replication `i` of every grid point sees the same
//! traffic, so grid points differ only by their settings.

pub mod params;

use crate::outcome::{RunOutcome, Stat, summarize};
use crate::precision::{Precision, Settled, until_precise};
use crate::replications::{RunError, in_order, replay_run};
use crate::scenario::overrides::{self, Axis};
use crate::scenario::{self, Scenario, ScenarioError};
use rayon::prelude::*;
use std::cell::RefCell;
use std::ops::Range;
use std::path::Path;
use toml::Value;

/// One grid point, ready to run.
#[derive(Debug, Clone)]
pub struct GridPoint {
    /// Index in the full grid (row order of `sweep.csv`).
    pub index: usize,
    /// The swept values, one per axis, as written in `sweep.csv`.
    pub values: Vec<String>,
    /// The scenario with these values.
    pub faulty: Scenario,
    /// The same with the candidate's faults switched off.
    pub healthy: Scenario,
}

/// A swept value as `sweep.csv` writes it: strings bare (`30s`), other values as TOML.
pub fn show_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every combination of the axes' values, the first axis varying slowest.
pub fn combinations(axes: &[Axis]) -> Vec<Vec<Value>> {
    axes.iter().fold(vec![vec![]], |acc, axis| {
        acc.iter()
            .flat_map(|prefix| {
                axis.values.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push(v.clone());
                    p
                })
            })
            .collect()
    })
}

/// The scenario `doc` with the candidate's faults switched off (kept in place, so that the
/// remaining faults keep their user cohorts).
pub fn healthy_twin(s: &Scenario) -> Scenario {
    let mut h = s.clone();
    for f in &mut h.service.faults {
        if f.is_candidates() {
            f.end = Some(f.start);
        }
    }
    h
}

/// Builds the grid points of `doc` (a parsed scenario file) over `axes`; `keep(i)` selects the
/// points to build (a shard); `adjust` applies command-line overrides to each scenario.
pub fn grid(
    doc: &toml::Table,
    file: &Path,
    axes: &[Axis],
    keep: impl Fn(usize) -> bool,
    adjust: impl Fn(&mut Scenario),
) -> Result<Vec<GridPoint>, ScenarioError> {
    let mut base = doc.clone();
    base.remove("sweep");
    crate::scenario::manifest::name_strategies(&mut base, file);
    combinations(axes)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .map(|(index, values)| {
            let mut d = Value::Table(base.clone());
            for (axis, v) in axes.iter().zip(&values) {
                overrides::set(&mut d, &axis.path, v.clone())
                    .map_err(|e| ScenarioError::new(file, format!("sweep.\"{}\"", axis.path), e))?;
            }
            let text = toml::to_string(&d)
                .map_err(|e| ScenarioError::new(file, "sweep", e.to_string()))?;
            let shown: Vec<String> = values.iter().map(show_value).collect();
            let mut faulty = scenario::parse(&text, file).map_err(|mut e| {
                let point: Vec<String> = axes
                    .iter()
                    .zip(&shown)
                    .map(|(a, v)| format!("{}={v}", a.path))
                    .collect();
                e.message = format!("{} (at grid point {})", e.message, point.join(", "));
                e
            })?;
            adjust(&mut faulty);
            let healthy = healthy_twin(&faulty);
            Ok(GridPoint {
                index,
                values: shown,
                faulty,
                healthy,
            })
        })
        .collect()
}

/// The results of one strategy at one grid point.
#[derive(Debug, Clone)]
pub struct Row {
    /// Grid index.
    pub grid: usize,
    /// Strategy name.
    pub strategy: String,
    /// Swept values.
    pub values: Vec<String>,
    /// Replications per family.
    pub replications: usize,
    /// Faulty family: detected among runs with an onset, with its Wilson interval.
    pub detection_probability: Option<Stat>,
    /// Faulty family: seconds.
    pub ttd_s: Option<Stat>,
    /// Faulty family: seconds.
    pub ttr_s: Option<Stat>,
    /// Faulty family.
    pub affected_share: Option<Stat>,
    /// Healthy family: share of runs with a false rollback, with its Wilson interval.
    pub false_rollback: Option<Stat>,
    /// Healthy family: seconds, over completed rollouts.
    pub rollout_s: Option<Stat>,
}

/// Runs every grid point's strategies, both families, on the current rayon pool (one job
/// per run), collected in order: the rows do not depend on the thread count. `progress` is
/// called once per finished run.
pub fn run(points: &[GridPoint], progress: &(dyn Fn() + Sync)) -> Result<Vec<Row>, RunError> {
    let jobs: Vec<(usize, usize, bool, u32)> = points
        .iter()
        .enumerate()
        .flat_map(|(p, gp)| {
            let reps = gp.faulty.replications;
            (0..gp.faulty.strategies.len()).flat_map(move |s| {
                [false, true]
                    .into_iter()
                    .flat_map(move |healthy| (0..reps).map(move |r| (p, s, healthy, r)))
            })
        })
        .collect();
    let runs: Vec<RunOutcome> = in_order(
        jobs.par_iter()
            .map(|&(p, s, healthy, r)| {
                let sc = if healthy {
                    &points[p].healthy
                } else {
                    &points[p].faulty
                };
                let out = replay_run(sc, s, r);
                progress();
                out
            })
            .collect(),
    )?;
    let mut rows = Vec::new();
    let mut at = 0;
    for gp in points {
        let reps = gp.faulty.replications as usize;
        let families: Vec<(&[RunOutcome], &[RunOutcome])> = (0..gp.faulty.strategies.len())
            .map(|s| {
                let start = at + 2 * reps * s;
                (
                    &runs[start..start + reps],
                    &runs[start + reps..start + 2 * reps],
                )
            })
            .collect();
        rows.extend(rows_of(gp, &families));
        at += 2 * reps * gp.faulty.strategies.len();
    }
    Ok(rows)
}

/// The rows of grid point `gp`, one per strategy, from `(faulty, healthy)` runs of each.
fn rows_of(gp: &GridPoint, families: &[(&[RunOutcome], &[RunOutcome])]) -> Vec<Row> {
    gp.faulty
        .strategies
        .iter()
        .zip(families)
        .map(|(strategy, (faulty, healthy))| {
            let faulty = summarize(faulty);
            let healthy = summarize(healthy);
            Row {
                grid: gp.index,
                strategy: strategy.name.clone(),
                values: gp.values.clone(),
                replications: faulty.replications,
                detection_probability: faulty.detection_probability,
                ttd_s: faulty.ttd_s,
                ttr_s: faulty.ttr_s,
                affected_share: faulty.affected_share,
                false_rollback: (healthy.replications > 0).then_some(healthy.false_rollback_rate),
                rollout_s: healthy.rollout_s,
            }
        })
        .collect()
}

/// The intervals a row reports, as `(strategy at grid point, metric, statistic)` for
/// [`Precision::shortfalls`].
fn reported(row: &Row) -> Vec<(String, &'static str, Option<Stat>)> {
    let who = format!("{} at grid point {}", row.strategy, row.grid + 1);
    vec![
        (
            who.clone(),
            "detection_probability",
            row.detection_probability,
        ),
        (who.clone(), "ttd_s", row.ttd_s),
        (who.clone(), "ttr_s", row.ttr_s),
        (who.clone(), "affected_share", row.affected_share),
        (who.clone(), "false_rollback_rate", row.false_rollback),
        (who, "rollout_s", row.rollout_s),
    ]
}

/// Runs grid point `gp` (both families of every strategy) in batches until every interval
/// its rows report is within `precision`, or its cap: the same loop as `run --precision`
/// ([`crate::precision`]), per grid point, so a point's count depends only on its own runs.
/// `grow(n)` is called as each batch of `n` runs is scheduled, `progress` after each run.
pub fn run_to_precision(
    gp: &GridPoint,
    precision: &Precision,
    progress: &(dyn Fn() + Sync),
    grow: &dyn Fn(u64),
) -> Result<(Vec<Row>, Settled), RunError> {
    let strategies = gp.faulty.strategies.len();
    // Per strategy: (faulty, healthy) runs so far, replications ascending.
    type Families = Vec<(Vec<RunOutcome>, Vec<RunOutcome>)>;
    let kept: RefCell<Families> = RefCell::new(vec![(Vec::new(), Vec::new()); strategies]);
    let rows = || {
        let kept = kept.borrow();
        let families: Vec<(&[RunOutcome], &[RunOutcome])> = kept
            .iter()
            .map(|(f, h)| (f.as_slice(), h.as_slice()))
            .collect();
        rows_of(gp, &families)
    };
    let settled = until_precise(
        precision,
        gp.faulty.replications,
        |range: Range<u32>| {
            grow(2 * strategies as u64 * u64::from(range.end - range.start));
            let jobs: Vec<(usize, bool, u32)> = (0..strategies)
                .flat_map(|s| {
                    let range = range.clone();
                    [false, true]
                        .into_iter()
                        .flat_map(move |healthy| range.clone().map(move |r| (s, healthy, r)))
                })
                .collect();
            let batch = in_order(
                jobs.par_iter()
                    .map(|&(s, healthy, r)| {
                        let sc = if healthy { &gp.healthy } else { &gp.faulty };
                        let out = replay_run(sc, s, r);
                        progress();
                        out
                    })
                    .collect(),
            )?;
            let mut kept = kept.borrow_mut();
            for (&(s, healthy, _), run) in jobs.iter().zip(batch) {
                if healthy {
                    kept[s].1.push(run);
                } else {
                    kept[s].0.push(run);
                }
            }
            Ok(())
        },
        || {
            let reported: Vec<_> = rows().iter().flat_map(reported).collect();
            precision.shortfalls(&reported)
        },
    )?;
    Ok((rows(), settled))
}

/// What the recommendation minimises under the false-rollback constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Optimize {
    /// Mean affected share of the faulty family.
    AffectedShare,
    /// Mean time to detect of the faulty family.
    Ttd,
}

/// Which statistic of the false-rollback rate the team's ceiling bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintOn {
    /// The observed share: 0 out of 30 passes any ceiling.
    Mean,
    /// The upper bound of its 95 % Wilson interval: 0 out of 30 is 11.35 %.
    Upper,
}

/// One row reduced to the trade-off: (false-rollback rate, objective, rollout), lower is
/// better for all three; undefined values count as infinite.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeOff {
    /// Position in `sweep.csv`'s rows.
    pub row: usize,
    /// Healthy family's false-rollback rate (share in [0, 1]).
    pub false_rollback: f64,
    /// Lower bound of its 95 % Wilson interval (share in [0, 1]).
    pub false_rollback_low: f64,
    /// Upper bound of its 95 % Wilson interval (share in [0, 1]).
    pub false_rollback_high: f64,
    /// Mean affected share or TTD (seconds).
    pub objective: f64,
    /// Healthy family's mean rollout time, seconds.
    pub rollout: f64,
}

impl TradeOff {
    /// The false-rollback statistic the constraint bounds.
    pub fn constrained(&self, on: ConstraintOn) -> f64 {
        match on {
            ConstraintOn::Mean => self.false_rollback,
            ConstraintOn::Upper => self.false_rollback_high,
        }
    }
}

/// The rows no other row beats on all three measures at once (Pareto front), in row order.
pub fn pareto(points: &[TradeOff]) -> Vec<usize> {
    let key = |p: &TradeOff| [p.false_rollback, p.objective, p.rollout];
    points
        .iter()
        .filter(|p| {
            !points.iter().any(|q| {
                let (a, b) = (key(q), key(p));
                a.iter().zip(&b).all(|(x, y)| x <= y) && a.iter().zip(&b).any(|(x, y)| x < y)
            })
        })
        .map(|p| p.row)
        .collect()
}

/// The row with the smallest objective among those whose false-rollback statistic `on` is at
/// most `max_false_rollback`. Ties prefer more margin under the ceiling: the lower upper bound,
/// then the lower observed rate, then the faster rollout, and on a full tie the later row,
/// which is the looser limit when each axis lists its values from tight to loose (thresholds
/// `[1, 3, 5]`). The recommendation is always on the Pareto front.
pub fn recommend(points: &[TradeOff], max_false_rollback: f64, on: ConstraintOn) -> Option<usize> {
    points
        .iter()
        .filter(|p| p.constrained(on) <= max_false_rollback && p.objective.is_finite())
        .min_by(|a, b| {
            a.objective
                .total_cmp(&b.objective)
                .then(a.false_rollback_high.total_cmp(&b.false_rollback_high))
                .then(a.false_rollback.total_cmp(&b.false_rollback))
                .then(a.rollout.total_cmp(&b.rollout))
                .then(b.row.cmp(&a.row))
        })
        .map(|p| p.row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(row: usize, fr: f64, obj: f64, rollout: f64) -> TradeOff {
        TradeOff {
            row,
            false_rollback: fr,
            false_rollback_low: fr,
            false_rollback_high: fr,
            objective: obj,
            rollout,
        }
    }

    #[test]
    fn pareto_keeps_only_undominated_points() {
        let pts = [
            t(0, 0.1, 10.0, 300.0),
            t(1, 0.0, 20.0, 300.0),
            t(2, 0.1, 20.0, 300.0),
            t(3, 0.0, 30.0, 200.0),
        ];
        assert_eq!(pareto(&pts), [0, 1, 3]);
        // Equal objective: the one with fewer false rollbacks, on the front.
        let on = ConstraintOn::Upper;
        let tie = [t(0, 0.04, 10.0, 300.0), t(1, 0.01, 10.0, 300.0)];
        assert_eq!(recommend(&tie, 0.05, on), Some(1));
        assert_eq!(pareto(&tie), [1]);
        assert_eq!(recommend(&pts, 0.05, on), Some(1));
        assert_eq!(recommend(&pts, 0.2, on), Some(0));
        assert_eq!(recommend(&pts, -1.0, on), None);
        // A full tie: the later row, the looser limit.
        let same = [t(0, 0.0, 10.0, 300.0), t(1, 0.0, 10.0, 300.0)];
        assert_eq!(recommend(&same, 0.05, on), Some(1));
    }

    #[test]
    fn the_constraint_bounds_the_upper_bound_unless_told_otherwise() {
        // 0 of 30 false rollbacks: observed 0 %, Wilson upper bound 11.35 %.
        let zero_of_30 = TradeOff {
            false_rollback_high: 0.1135,
            ..t(0, 0.0, 1.0, 300.0)
        };
        let pts = [zero_of_30, t(1, 0.01, 5.0, 300.0)];
        assert_eq!(recommend(&pts, 0.05, ConstraintOn::Upper), Some(1));
        assert_eq!(recommend(&pts, 0.05, ConstraintOn::Mean), Some(0));
    }

    #[test]
    fn combinations_vary_the_last_axis_fastest() {
        let axis = |p: &str, v: &[i64]| Axis {
            path: p.into(),
            values: v.iter().map(|&x| Value::Integer(x)).collect(),
        };
        let c = combinations(&[axis("a", &[1, 2]), axis("b", &[7, 8, 9])]);
        assert_eq!(c.len(), 6);
        assert_eq!(c[1], [Value::Integer(1), Value::Integer(8)]);
        assert_eq!(c[3], [Value::Integer(2), Value::Integer(7)]);
    }
}
