//! `runs.csv` and `summary.csv`: fixed column order, fixed number formatting.
//!
//! Times are seconds with six decimals (exact microseconds), shares and rates six decimals,
//! empty cells where a value is undefined. The bytes depend only on the outcomes.

use crate::outcome::{RUN_COLUMNS, RunOutcome, Stat, StrategySummary, summarized_columns};
use std::io::Write;

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
            num(st.ci95_low),
            num(st.ci95_high),
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

/// A proportion's `share, ci95_low, ci95_high` (Wilson; empty cells when undefined).
pub(super) fn rate_cells(st: Option<Stat>) -> [String; 3] {
    match st {
        Some(st) => [num(st.mean), num(st.ci95_low), num(st.ci95_high)],
        None => [String::new(), String::new(), String::new()],
    }
}

/// Writes one row per run, in the order given, with the columns of [`RUN_COLUMNS`].
pub fn write_runs(runs: &[RunOutcome], out: impl Write) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(RUN_COLUMNS.iter().map(|c| c.name))?;
    for r in runs {
        w.write_record(RUN_COLUMNS.iter().map(|c| (c.cell)(r).text()))?;
    }
    w.flush()?;
    Ok(())
}

/// The proportions of `summary.csv`, each followed by its Wilson interval's bounds.
const RATES: [&str; 4] = [
    "detection_probability",
    "rollback_rate",
    "false_rollback_rate",
    "promotion_rate",
];

const STAT_PARTS: [&str; 6] = ["n", "mean", "ci95_low", "ci95_high", "p50", "p95"];

/// One strategy's row of `summary.csv`: its summary and what says how to read it.
#[derive(Debug, Clone)]
pub struct SummaryRow<'a> {
    /// The numbers.
    pub summary: StrategySummary,
    /// The strategy's kind, which names whose rules were simulated.
    pub kind: &'static str,
    /// How empty analysis windows counted (`None` without analysis).
    pub on_no_data: Option<&'a str>,
}

/// Writes one row per strategy.
pub fn write_summaries(summaries: &[SummaryRow], out: impl Write) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<String> = [
        "scenario",
        "strategy",
        "kind",
        "replications",
        "on_no_data",
        "with_onset",
    ]
    .map(String::from)
    .to_vec();
    for rate in RATES {
        header.extend([
            rate.to_string(),
            format!("{rate}_ci95_low"),
            format!("{rate}_ci95_high"),
        ]);
    }
    for c in summarized_columns() {
        header.extend(STAT_PARTS.iter().map(|p| format!("{}_{p}", c.name)));
    }
    w.write_record(&header)?;
    for SummaryRow {
        summary: s,
        kind,
        on_no_data,
    } in summaries
    {
        let mut row = vec![
            s.scenario.clone(),
            s.strategy.clone(),
            kind.to_string(),
            s.replications.to_string(),
            on_no_data.unwrap_or_default().to_string(),
            s.with_onset.to_string(),
        ];
        for rate in [
            s.detection_probability,
            Some(s.rollback_rate),
            Some(s.false_rollback_rate),
            Some(s.promotion_rate),
        ] {
            row.extend(rate_cells(rate));
        }
        for c in summarized_columns() {
            row.extend(stat_cells(s.stat(c.name)));
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
