//! `compare`: the side-by-side table an architecture review reads, and `compare.csv`.

use crate::outcome::{MetricComparison, Unit};
use std::io::Write;

/// A value in its unit: durations as `2m30s`, shares as percentages.
fn show(unit: Unit, x: f64) -> String {
    match unit {
        Unit::Seconds => crate::format::duration(x),
        Unit::Share => format!("{:.2}%", x * 100.0),
        Unit::Count if x.abs() >= 10_000.0 => format!("{:.1}k", x / 1000.0),
        Unit::Count => format!("{x:.1}"),
        Unit::InstanceSeconds => format!("{:.1}k", x / 1000.0),
    }
}

/// The cells of the compare table: the header (metric, one column per strategy, best), then
/// one row per metric, each cell the mean ± its 95 % CI half-width (rates: their Wilson
/// interval) and its mark: ` *` best, ` ~` not significantly different from the best.
/// The terminal table and `report.html` both print these cells.
pub fn compare_cells(
    strategies: &[String],
    comparisons: &[MetricComparison],
) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rows: Vec<Vec<String>> = vec![];
    let mut header = vec!["metric (mean ± 95% CI)".to_string()];
    header.extend(strategies.iter().cloned());
    header.push("best".into());
    for c in comparisons {
        let unit = c.metric.unit();
        let mut row = vec![c.metric.label().to_string()];
        for (s, stat) in c.stats.iter().enumerate() {
            let cell = match stat {
                None => "-".to_string(),
                Some(st) => {
                    let mark = match (c.best == Some(s), c.versus_best[s]) {
                        (true, _) => " *",
                        (false, Some(t)) if t.pairs >= 2 && !t.significant => " ~",
                        _ => "",
                    };
                    if c.metric.is_proportion() {
                        format!(
                            "{} [{}–{}]{mark}",
                            show(unit, st.mean),
                            show(unit, st.ci95_low),
                            show(unit, st.ci95_high)
                        )
                    } else {
                        format!(
                            "{} ±{}{mark}",
                            show(unit, st.mean),
                            show(unit, st.half_width())
                        )
                    }
                }
            };
            row.push(cell);
        }
        let tied = c
            .versus_best
            .iter()
            .filter(|t| t.is_some_and(|t| t.pairs >= 2 && !t.significant))
            .count();
        let defined = c.stats.iter().flatten().count();
        let all_equal = c
            .stats
            .iter()
            .flatten()
            .all(|s| Some(s.mean) == c.stats.iter().flatten().next().map(|f| f.mean));
        row.push(match c.best {
            Some(_) if defined > 1 && all_equal => "all equal".into(),
            Some(b) if tied == 0 => strategies[b].clone(),
            Some(b) => format!("{} (tie)", strategies[b]),
            None => "-".into(),
        });
        rows.push(row);
    }
    (header, rows)
}

/// The table: one row per metric, one column per strategy, each cell the mean ± its 95 %
/// CI half-width, marked against the best strategy by a paired test.
pub fn compare_table(strategies: &[String], comparisons: &[MetricComparison]) -> String {
    let (header, rows) = compare_cells(strategies, comparisons);
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .chain([&header])
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (b, block) in column_blocks(&widths).iter().enumerate() {
        if b > 0 {
            out.push('\n');
        }
        let pick = |cells: &[String]| -> Vec<(String, usize)> {
            block
                .iter()
                .map(|&i| (cells[i].clone(), widths[i]))
                .collect()
        };
        out.push_str(&table_line(&pick(&header)));
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&table_line(&pick(&rule)));
        for row in &rows {
            out.push_str(&table_line(&pick(row)));
        }
    }
    out.push('\n');
    out.push_str(COMPARE_LEGEND);
    out
}

/// How the compare table's marks and "best" read, for the terminal and `report.html`.
pub const COMPARE_LEGEND: &str = "* best: the best mean over the replications where every strategy has a value, so each is judged\n\
    on the same traffic (its paired difference to every other strategy is in its favour); time to\n\
    detect counts from each strategy's own onset. ~ not significantly different from the best\n\
    (paired t-test, 5 %); unmarked: significantly worse, or too few pairs to tell. Detection\n\
    probability: higher is better; every other metric: lower is better. '-': never defined (no\n\
    detection, no completed rollout). Rates show the share [its 95 % Wilson score interval].\n";

/// The compare table as an HTML section of `report.html` (`compare` only): the same cells,
/// marks and "best" column as the terminal table, then the legend.
pub fn compare_html(strategies: &[String], comparisons: &[MetricComparison]) -> String {
    use super::html::escape;
    let (header, rows) = compare_cells(strategies, comparisons);
    let mut b = String::from(
        "<section id=\"compare\">\n<h2>Compare: best and significance</h2>\n<table>\n<thead><tr>",
    );
    for h in &header {
        b.push_str(&format!("<th>{}</th>", escape(h)));
    }
    b.push_str("</tr></thead>\n<tbody>\n");
    for row in &rows {
        b.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if i == 0 || i + 1 == row.len() {
                ""
            } else if cell.ends_with(" *") {
                " class=\"best\""
            } else if cell.ends_with(" ~") {
                " class=\"tie\""
            } else {
                ""
            };
            b.push_str(&format!("<td{class}>{}</td>", escape(cell)));
        }
        b.push_str("</tr>\n");
    }
    b.push_str("</tbody>\n</table>\n");
    b.push_str(&format!(
        "<p class=\"note\">{} The same comparison is in <a href=\"compare.csv\">compare.csv</a>.</p>\n</section>\n",
        escape(COMPARE_LEGEND.replace('\n', " ").trim_end())
    ));
    b
}

/// The table's width limit, in columns.
const WIDTH: usize = 100;

/// The strategy columns split into blocks that fit in [`WIDTH`] columns with the metric
/// column first and the best column last; each block is printed as its own table.
fn column_blocks(widths: &[usize]) -> Vec<Vec<usize>> {
    let last = widths.len() - 1;
    let fixed = widths[0] + 2 + widths[last];
    let mut blocks: Vec<Vec<usize>> = Vec::new();
    let mut block = vec![0];
    let mut used = fixed;
    for (i, w) in widths.iter().enumerate().take(last).skip(1) {
        if block.len() > 1 && used + w + 2 > WIDTH {
            block.push(last);
            blocks.push(std::mem::replace(&mut block, vec![0]));
            used = fixed;
        }
        block.push(i);
        used += w + 2;
    }
    block.push(last);
    blocks.push(block);
    blocks
}

/// One line of cells padded to their widths: the first and last left-aligned, the others
/// right-aligned.
fn table_line(cells: &[(String, usize)]) -> String {
    let padded: Vec<String> = cells
        .iter()
        .enumerate()
        .map(|(i, (c, w))| {
            let pad = " ".repeat(w.saturating_sub(c.chars().count()));
            if i == 0 || i + 1 == cells.len() {
                format!("{c}{pad}")
            } else {
                format!("{pad}{c}")
            }
        })
        .collect();
    padded.join("  ").trim_end().to_string() + "\n"
}

/// `compare.csv`: one row per metric and strategy, with the paired test against the best.
pub fn write_compare(
    strategies: &[String],
    comparisons: &[MetricComparison],
    out: impl Write,
) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "metric",
        "strategy",
        "n",
        "mean",
        "ci95_low",
        "ci95_high",
        "p50",
        "p95",
        "best",
        "is_best",
        "pairs",
        "mean_diff_to_best",
        "t",
        "significant",
    ])?;
    let num = super::csv::num;
    for c in comparisons {
        let best = c.best.map(|b| strategies[b].clone()).unwrap_or_default();
        for (s, name) in strategies.iter().enumerate() {
            let mut row = vec![c.metric.name().to_string(), name.clone()];
            row.extend(super::csv::stat_cells(c.stats[s]));
            row.extend([best.clone(), (c.best == Some(s)).to_string()]);
            match c.versus_best[s] {
                Some(t) => row.extend([
                    t.pairs.to_string(),
                    num(t.mean_diff),
                    num(t.t),
                    t.significant.to_string(),
                ]),
                None => row.extend([String::new(), String::new(), String::new(), String::new()]),
            }
            w.write_record(&row)?;
        }
    }
    w.flush()?;
    Ok(())
}

/// `compare --format json`: the comparison as one JSON document. Keys carry their unit as in
/// `compare.csv`; an undefined value (and an infinite t) is `null`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CompareJson {
    /// Scenario name.
    pub scenario: String,
    /// The scenario file as given on the command line.
    pub file: String,
    /// Master seed after any `--seed`.
    pub seed: u64,
    /// Paired replications per strategy.
    pub replications: u32,
    /// How the runs produced their requests: `requests` or `windows`.
    pub mode: &'static str,
    /// The command that reproduces the numbers.
    pub reproduce: String,
    /// How `--precision` settled `replications` (absent without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<super::json::PrecisionJson>,
    /// How `best` is chosen, in words.
    pub best_rule: &'static str,
    /// One per metric, in the table's order.
    pub metrics: Vec<MetricJson>,
}

/// One metric across the strategies.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MetricJson {
    /// The metric's name, as in `compare.csv`.
    pub metric: &'static str,
    /// Whether a higher value is better (only detection probability).
    pub higher_is_better: bool,
    /// The best strategy (`null` when no replication pairs them all).
    pub best: Option<String>,
    /// The paired replications `best` was chosen on.
    pub paired_replications: usize,
    /// One per strategy, in scenario order.
    pub strategies: Vec<CellJson>,
}

/// One strategy on one metric.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CellJson {
    /// Strategy name.
    pub strategy: String,
    /// Replications where the metric is defined.
    pub n: usize,
    /// Mean (a share for a rate), `null` when never defined.
    pub mean: Option<f64>,
    /// Lower bound of the 95 % interval (Wilson's for a rate).
    pub ci95_low: Option<f64>,
    /// Upper bound of the 95 % interval.
    pub ci95_high: Option<f64>,
    /// Whether it is the best.
    pub is_best: bool,
    /// Pairs with the best (`null` for the best itself).
    pub pairs: Option<usize>,
    /// Mean of (this − best) over those pairs.
    pub mean_diff_to_best: Option<f64>,
    /// Paired t statistic (`null` when infinite: every difference the same).
    pub t: Option<f64>,
    /// Different from the best at the 5 % level.
    pub significant: Option<bool>,
}

/// What the table's footnote and the JSON say `best` means.
pub const BEST_RULE: &str = "the best mean over the replications where every strategy has a value (the paired difference to every other strategy is in its favour); time to detect counts from each strategy's own onset";

/// The JSON document of a comparison (pretty-printed, ending in a newline).
pub fn compare_json(
    mut doc: CompareJson,
    strategies: &[String],
    comparisons: &[MetricComparison],
) -> String {
    doc.metrics = comparisons
        .iter()
        .map(|c| MetricJson {
            metric: c.metric.name(),
            higher_is_better: c.metric.higher_is_better(),
            best: c.best.map(|b| strategies[b].clone()),
            paired_replications: c.paired,
            strategies: strategies
                .iter()
                .enumerate()
                .map(|(s, name)| {
                    let st = c.stats[s];
                    let t = c.versus_best[s];
                    CellJson {
                        strategy: name.clone(),
                        n: st.map_or(0, |st| st.n),
                        mean: st.map(|st| st.mean),
                        ci95_low: st.map(|st| st.ci95_low),
                        ci95_high: st.map(|st| st.ci95_high),
                        is_best: c.best == Some(s),
                        pairs: t.map(|t| t.pairs),
                        mean_diff_to_best: t.map(|t| t.mean_diff),
                        t: t.map(|t| t.t).filter(|x| x.is_finite()),
                        significant: t.map(|t| t.significant),
                    }
                })
                .collect(),
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
