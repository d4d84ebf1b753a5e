//! `compare`: the side-by-side table an architecture review reads, and `compare.csv`.

use crate::engine::SimTime;
use crate::outcome::{MetricComparison, Unit};
use std::io::Write;

/// A value in its unit: durations as `2m30s`, shares as percentages.
fn show(unit: Unit, x: f64) -> String {
    match unit {
        Unit::Seconds => SimTime((x.max(0.0) * 1e6).round() as u64).human(),
        Unit::Share => format!("{:.2}%", x * 100.0),
        Unit::Count if x.abs() >= 10_000.0 => format!("{:.1}k", x / 1000.0),
        Unit::Count => format!("{x:.1}"),
        Unit::InstanceSeconds => format!("{:.1}k", x / 1000.0),
    }
}

/// The table: one row per metric, one column per strategy, each cell the mean ± its 95 %
/// CI half-width, marked against the best strategy by a paired test.
pub fn compare_table(strategies: &[String], comparisons: &[MetricComparison]) -> String {
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
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .chain([&header])
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                let pad = " ".repeat(w - c.chars().count());
                if i == 0 || i + 1 == cells.len() {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(&header);
    out.push_str(&line(
        &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
    ));
    for row in &rows {
        out.push_str(&line(row));
    }
    out.push_str(
        "* best mean; ~ not significantly different from the best (paired t-test on common random numbers, 5 %);\n\
         unmarked: significantly worse, or too few paired replications to tell. Detection probability: higher is\n\
         better; every other metric: lower is better. '-': never defined (no detection, no completed rollout).\n\
         Rates (detection probability, false rollbacks) show the share [its 95 % Wilson score interval].\n",
    );
    out
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
