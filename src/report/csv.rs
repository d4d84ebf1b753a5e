//! `runs.csv` and `summary.csv`: fixed column order, fixed number formatting.
//!
//! Times are seconds with six decimals (exact microseconds), shares and rates six decimals,
//! empty cells where a value is undefined. The bytes depend only on the outcomes.

use crate::engine::SimTime;
use crate::outcome::{RunOutcome, Stat, StrategySummary};
use std::io::Write;

/// Columns of `runs.csv`: DESIGN.md §3 first, then diagnostics.
pub const RUN_COLUMNS: [&str; 33] = [
    "scenario",
    "strategy",
    "replication",
    "seed",
    "onset_s",
    "detected_s",
    "ttd_s",
    "rollback_s",
    "recovered_s",
    "ttr_s",
    "affected_users",
    "active_users",
    "affected_share",
    "failed_requests",
    "inconsistent_records",
    "rolled_back",
    "false_rollback",
    "rollout_s",
    "instance_seconds",
    "detected_by",
    "requests",
    "baseline_failed_requests",
    "checks",
    "failed_checks",
    "inconclusive_checks",
    "new_format_only",
    "old_format_only",
    "lost_on_down_migration",
    "dropped_by_contract",
    "lost_on_restore",
    "corrupted",
    "missing_during_backfill",
    "invisible_reads",
];

fn time(t: Option<SimTime>) -> String {
    t.map(|t| t.to_string()).unwrap_or_default()
}

/// A number with the reports' fixed precision.
pub(super) fn num(x: f64) -> String {
    format!("{x:.6}")
}

/// `n, mean, ci95_low, ci95_high, p50, p95` of one metric (n = 0 and empty cells when undefined).
pub(super) fn stat_cells(st: Option<Stat>) -> [String; 6] {
    match st {
        Some(st) => [
            st.n.to_string(),
            num(st.mean),
            num(st.mean - st.ci95),
            num(st.mean + st.ci95),
            num(st.p50),
            num(st.p95),
        ],
        None => [
            "0".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ],
    }
}

/// Writes one row per run, in the order given.
pub fn write_runs(runs: &[RunOutcome], out: impl Write) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(RUN_COLUMNS)?;
    for r in runs {
        w.write_record([
            r.scenario.clone(),
            r.strategy.clone(),
            r.replication.to_string(),
            r.seed.to_string(),
            time(r.onset),
            time(r.detected),
            time(r.ttd()),
            time(r.rollback),
            time(r.recovered),
            time(r.ttr()),
            r.affected_users.to_string(),
            r.active_users.to_string(),
            num(r.affected_share()),
            r.failed_requests.to_string(),
            r.inconsistent_records.to_string(),
            r.rolled_back.to_string(),
            r.false_rollback.to_string(),
            time(r.rollout),
            num(r.instance_seconds),
            r.detected_by
                .map(|d| d.name().to_string())
                .unwrap_or_default(),
            r.requests.to_string(),
            r.baseline_failed_requests.to_string(),
            r.checks.to_string(),
            r.failed_checks.to_string(),
            r.inconclusive_checks.to_string(),
            r.inconsistent.new_format_only.to_string(),
            r.inconsistent.old_format_only.to_string(),
            r.inconsistent.lost_on_down_migration.to_string(),
            r.inconsistent.dropped_by_contract.to_string(),
            r.inconsistent.lost_on_restore.to_string(),
            r.inconsistent.corrupted.to_string(),
            r.missing_during_backfill.to_string(),
            r.invisible_reads.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

const STAT_METRICS: [&str; 7] = [
    "ttd_s",
    "ttr_s",
    "affected_share",
    "failed_requests",
    "inconsistent_records",
    "rollout_s",
    "instance_seconds",
];
const STAT_PARTS: [&str; 6] = ["n", "mean", "ci95_low", "ci95_high", "p50", "p95"];

fn stats(s: &StrategySummary) -> [Option<Stat>; 7] {
    [
        s.ttd_s,
        s.ttr_s,
        s.affected_share,
        s.failed_requests,
        s.inconsistent_records,
        s.rollout_s,
        s.instance_seconds,
    ]
}

/// Writes one row per strategy. `on_no_data` names how empty analysis windows counted,
/// per strategy (empty without analysis).
pub fn write_summaries(
    summaries: &[(StrategySummary, Option<&str>)],
    out: impl Write,
) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<String> = [
        "scenario",
        "strategy",
        "replications",
        "on_no_data",
        "with_onset",
        "detection_probability",
        "rollback_rate",
        "false_rollback_rate",
        "promotion_rate",
    ]
    .map(String::from)
    .to_vec();
    for m in STAT_METRICS {
        header.extend(STAT_PARTS.iter().map(|p| format!("{m}_{p}")));
    }
    w.write_record(&header)?;
    for (s, on_no_data) in summaries {
        let mut row = vec![
            s.scenario.clone(),
            s.strategy.clone(),
            s.replications.to_string(),
            on_no_data.unwrap_or_default().to_string(),
            s.with_onset.to_string(),
            s.detection_probability.map(num).unwrap_or_default(),
            num(s.rollback_rate),
            num(s.false_rollback_rate),
            num(s.promotion_rate),
        ];
        for st in stats(s) {
            row.extend(stat_cells(st));
        }
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

/// The rows of a `runs.csv` as `(column → cell)` maps, for comparisons with a baseline.
pub fn read_runs(
    path: &std::path::Path,
) -> csv::Result<Vec<std::collections::BTreeMap<String, String>>> {
    let mut r = csv::Reader::from_path(path)?;
    let header = r.headers()?.clone();
    r.records()
        .map(|rec| {
            Ok(header
                .iter()
                .map(String::from)
                .zip(rec?.iter().map(String::from))
                .collect())
        })
        .collect()
}
