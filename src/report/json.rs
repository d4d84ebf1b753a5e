//! `--format json`: the summaries as one JSON document, for other programs.
//!
//! Keys carry their unit (`_s` seconds, `share` a fraction in [0, 1]); statistics are the
//! columns of `summary.csv` (`n`, `mean`, `ci95_low`, `ci95_high`, `p50`, `p95`); an undefined
//! value is `null`.

use super::objectives::{Status, shown};
use crate::objectives::Verdict;
use crate::outcome::{Stat, StrategySummary, summarized_columns};
use crate::scenario::Scenario;
use serde::Serialize;

/// One scenario's summary as printed by `--format json`.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioJson {
    /// Scenario name.
    pub scenario: String,
    /// The scenario file as given on the command line.
    pub file: String,
    /// Master seed after any `--seed`.
    pub seed: u64,
    /// Replications per strategy.
    pub replications: u32,
    /// Horizon, seconds.
    pub horizon_s: f64,
    /// How the runs produced their requests: `requests` or `windows`.
    pub mode: &'static str,
    /// The command that reproduces the numbers.
    pub reproduce: String,
    /// Where the HTML report was written.
    pub report: String,
    /// How `--precision` settled `replications` (absent without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<PrecisionJson>,
    /// One per strategy, in scenario order.
    pub strategies: Vec<StrategyJson>,
}

/// How a `--precision` loop ended.
#[derive(Debug, Clone, Serialize)]
pub struct PrecisionJson {
    /// The targets as given (`1%,5s`).
    pub targets: String,
    /// The `--max-replications` cap.
    pub max_replications: u32,
    /// Replications per strategy at the end.
    pub replications: u32,
    /// Batches run (the first is `-n`).
    pub batches: u32,
    /// Whether every targeted interval is within its target (false: the cap stopped it).
    pub reached: bool,
    /// The intervals still wider than their target, one line each (empty when reached).
    pub wider: Vec<String>,
}

impl From<&crate::precision::Settled> for PrecisionJson {
    fn from(s: &crate::precision::Settled) -> PrecisionJson {
        PrecisionJson {
            targets: s.precision.clone(),
            max_replications: s.max_replications,
            replications: s.replications,
            batches: s.batches,
            reached: s.reached(),
            wider: s.shortfalls.iter().map(ToString::to_string).collect(),
        }
    }
}

/// One strategy's summary.
#[derive(Debug, Clone, Serialize)]
pub struct StrategyJson {
    /// Strategy name.
    pub strategy: String,
    /// Replications run.
    pub replications: usize,
    /// The strategy's kind.
    pub kind: &'static str,
    /// Whose rollout rules the kind simulates ([`crate::strategy::StrategyName::semantics`]).
    pub semantics: &'static str,
    /// How an empty analysis window counted (`fail` or `inconclusive`), `null` without analysis.
    pub on_no_data: Option<&'static str>,
    /// Replications where a fault hurt someone.
    pub with_onset: usize,
    /// Share of those that detected it (`null` without onset).
    pub detection_probability: Option<f64>,
    /// Lower bound of its 95 % Wilson interval (`null` without onset).
    pub detection_probability_ci95_low: Option<f64>,
    /// Upper bound of its 95 % Wilson interval (`null` without onset).
    pub detection_probability_ci95_high: Option<f64>,
    /// Share of replications that rolled back.
    pub rollback_rate: f64,
    /// Lower bound of its 95 % Wilson interval.
    pub rollback_rate_ci95_low: f64,
    /// Upper bound of its 95 % Wilson interval.
    pub rollback_rate_ci95_high: f64,
    /// Share of replications with a false rollback.
    pub false_rollback_rate: f64,
    /// Lower bound of its 95 % Wilson interval.
    pub false_rollback_rate_ci95_low: f64,
    /// Upper bound of its 95 % Wilson interval.
    pub false_rollback_rate_ci95_high: f64,
    /// Share of replications promoted.
    pub promotion_rate: f64,
    /// Lower bound of its 95 % Wilson interval.
    pub promotion_rate_ci95_low: f64,
    /// Upper bound of its 95 % Wilson interval.
    pub promotion_rate_ci95_high: f64,
    /// The statistics of every summarized `runs.csv` column, keyed by column name
    /// (`ttd_s`, `ttr_s` whose mean is the MTTR, `affected_share`…), in column order.
    #[serde(flatten)]
    pub stats: StatsJson,
    /// The scenario's objectives (or the defaults), judged as `rehearsal check` does.
    pub objectives: Vec<ObjectiveJson>,
}

/// The summarized columns of one strategy, in [`summarized_columns`] order; each key is the
/// column's name and each value its statistics (`null` when undefined).
#[derive(Debug, Clone)]
pub struct StatsJson(pub Vec<(&'static str, Option<StatJson>)>);

impl StatsJson {
    /// The statistics of `s`, one entry per summarized column.
    pub fn of(s: &StrategySummary) -> StatsJson {
        StatsJson(
            summarized_columns()
                .map(|c| (c.name, s.stat(c.name).map(Into::into)))
                .collect(),
        )
    }
}

impl Serialize for StatsJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, stat) in &self.0 {
            map.serialize_entry(name, stat)?;
        }
        map.end()
    }
}

/// A statistic across replications.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StatJson {
    /// Replications where the metric is defined.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Lower bound of the 95 % CI of the mean (Student t).
    pub ci95_low: f64,
    /// Upper bound of the 95 % CI of the mean (Student t).
    pub ci95_high: f64,
    /// Nearest-rank median.
    pub p50: f64,
    /// Nearest-rank 95th percentile.
    pub p95: f64,
}

impl From<Stat> for StatJson {
    fn from(s: Stat) -> StatJson {
        StatJson {
            n: s.n,
            mean: s.mean,
            ci95_low: s.ci95_low,
            ci95_high: s.ci95_high,
            p50: s.p50,
            p95: s.p95,
        }
    }
}

/// One objective's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectiveJson {
    /// The bounded statistic, as in `[objectives]`: `ttr_mean`, `affected_share_mean`…
    pub objective: &'static str,
    /// The bound (seconds for durations, a fraction for shares).
    pub limit: f64,
    /// The objective in words: `ttr_mean ≤ 30m`.
    pub target: String,
    /// `met`, `missed` or `n/a` (undefined statistic).
    pub status: &'static str,
    /// The statistic (`null` when undefined; a run that never recovered makes TTR infinite,
    /// written as `null` too, with `shown` = `never`).
    pub value: Option<f64>,
    /// The statistic as a person reads it.
    pub shown: String,
}

/// The JSON form of one scenario's summaries and objective verdicts (one list per strategy).
pub fn scenario_json(
    scenario: &Scenario,
    summaries: &[StrategySummary],
    verdicts: &[Vec<Verdict>],
    file: &str,
    reproduce: &str,
    report: &str,
) -> ScenarioJson {
    ScenarioJson {
        scenario: scenario.name.clone(),
        file: file.to_string(),
        seed: scenario.seed,
        replications: scenario.replications,
        horizon_s: scenario.horizon.as_secs_f64(),
        mode: scenario.mode.name(),
        reproduce: reproduce.to_string(),
        report: report.to_string(),
        precision: None,
        strategies: summaries
            .iter()
            .zip(&scenario.strategies)
            .zip(verdicts)
            .map(|((s, spec), vs)| StrategyJson {
                strategy: s.strategy.clone(),
                replications: s.replications,
                kind: spec.kind.name(),
                semantics: spec.kind.name_of().semantics(),
                on_no_data: spec.analysis.as_ref().map(|a| a.on_no_data.name()),
                with_onset: s.with_onset,
                detection_probability: s.detection_probability.map(|d| d.mean),
                detection_probability_ci95_low: s.detection_probability.map(|d| d.ci95_low),
                detection_probability_ci95_high: s.detection_probability.map(|d| d.ci95_high),
                rollback_rate: s.rollback_rate.mean,
                rollback_rate_ci95_low: s.rollback_rate.ci95_low,
                rollback_rate_ci95_high: s.rollback_rate.ci95_high,
                false_rollback_rate: s.false_rollback_rate.mean,
                false_rollback_rate_ci95_low: s.false_rollback_rate.ci95_low,
                false_rollback_rate_ci95_high: s.false_rollback_rate.ci95_high,
                promotion_rate: s.promotion_rate.mean,
                promotion_rate_ci95_low: s.promotion_rate.ci95_low,
                promotion_rate_ci95_high: s.promotion_rate.ci95_high,
                stats: StatsJson::of(s),
                objectives: vs
                    .iter()
                    .map(|v| ObjectiveJson {
                        objective: v.objective.metric.name(),
                        limit: v.objective.limit,
                        target: v.objective.describe(),
                        status: Status::of(v).name(),
                        value: v.value.filter(|x| x.is_finite()),
                        shown: shown(v),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The document `--format json` prints: the program version and every scenario run.
pub fn summary_json(scenarios: &[ScenarioJson]) -> String {
    #[derive(Serialize)]
    struct Doc<'a> {
        rehearsal_version: &'static str,
        scenarios: &'a [ScenarioJson],
    }
    let doc = Doc {
        rehearsal_version: env!("CARGO_PKG_VERSION"),
        scenarios,
    };
    // Plain structs of strings and numbers (non-finite ones become null) always serialize.
    serde_json::to_string_pretty(&doc).expect("plain data serializes") + "\n"
}
