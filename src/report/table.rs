//! The terminal summary: one line per strategy, at most [`TABLE_WIDTH`] columns, units in the
//! headers, durations as `2m30s`, shares as percentages.

use super::format::{count, duration, percent};
use crate::outcome::{Stat, StrategySummary};
use crate::strategy::{StrategyName, StrategySpec};
use comfy_table::{
    CellAlignment, ContentArrangement, ContentLineStyle, LineStyle, Table, TableStyle,
};

/// The widest the table gets; long strategy names wrap inside their column.
pub const TABLE_WIDTH: u16 = 100;

/// Headers underlined, columns separated by spaces: easy to read, easy to paste.
const STYLE: TableStyle = TableStyle::new()
    .header_lines(ContentLineStyle::none().junction(' '))
    .header_separator(LineStyle::none().fill('─').junction(' '))
    .content_lines(ContentLineStyle::none().junction(' '));

fn mean_p95(s: Option<Stat>) -> String {
    s.map_or("-".into(), |s| {
        format!("{}/{}", duration(s.mean), duration(s.p95))
    })
}

/// MTTR as `mean (recovered/hurt)`, `20m (47/50)`: the mean covers only the recovered runs,
/// so the cell says how many of the runs with an onset that is.
fn ttr_cell(s: &StrategySummary) -> String {
    match s.ttr_s {
        Some(t) => format!("{} ({}/{})", duration(t.mean), t.n, s.with_onset),
        None if s.with_onset > 0 => format!("never (0/{})", s.with_onset),
        None => "-".into(),
    }
}

/// The summary table of `summaries` and a note on what the means cover. Every line is at most
/// [`TABLE_WIDTH`] characters.
pub fn summary_table(summaries: &[StrategySummary]) -> String {
    let mut table = Table::new();
    table
        .load_style(STYLE)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(TABLE_WIDTH)
        .set_header(vec![
            "strategy",
            "detected\n(of hurt)",
            "TTD\nmean/p95",
            "MTTR\n(recovered)",
            "affected\nusers",
            "failed\nrequests",
            "false\nrollbacks",
            "promoted",
        ]);
    for s in summaries {
        table.add_row(vec![
            s.strategy.clone(),
            s.detection_probability
                .map_or("-".into(), |d| percent(d.mean)),
            mean_p95(s.ttd_s),
            ttr_cell(s),
            s.affected_share.map_or("-".into(), |a| percent(a.mean)),
            s.failed_requests.map_or("-".into(), |f| count(f.mean)),
            percent(s.false_rollback_rate.mean),
            percent(s.promotion_rate.mean),
        ]);
    }
    for (i, column) in table.column_iter_mut().enumerate() {
        // One space of padding and the junction space: two spaces between columns.
        column.set_padding((0, 1));
        if i > 0 {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut out: String = table
        .lines()
        .map(|l| l.trim_end().to_string() + "\n")
        .collect();
    out.push_str(
        "means over replications; \"detected\" and TTD over those where the fault hurt someone, TTR over\n\
         those that recovered (of those hurt)\n",
    );
    out
}

/// One line per strategy kind of `strategies` that names whose rules it simulates, so that a
/// number is never read as another controller's.
pub fn semantics_lines(strategies: &[StrategySpec]) -> Vec<String> {
    let mut kinds: Vec<StrategyName> = Vec::new();
    for s in strategies {
        if !kinds.contains(&s.kind.name_of()) {
            kinds.push(s.kind.name_of());
        }
    }
    kinds
        .iter()
        .map(|k| {
            let names: Vec<&str> = strategies
                .iter()
                .filter(|s| s.kind.name_of() == *k)
                .map(|s| s.name.as_str())
                .collect();
            format!("{} ({}): {}\n", names.join(", "), k.name(), k.semantics())
        })
        .collect()
}
