//! `sweep.csv`, its shards' merge, and `pareto.csv`.
//!
//! Rows are ordered by grid index then strategy, so a merge of shards is byte-identical to
//! an unsharded sweep. The Pareto front and the recommendation are computed from the CSV
//! itself, by the same code after `sweep` and after `merge`.

use super::csv::{rate_cells, stat_cells};
use crate::sweep::{ConstraintOn, Optimize, Row, TradeOff, pareto, recommend};
use csv::StringRecord;

const STATS: [&str; 5] = [
    "ttd_s",
    "ttr_s",
    "affected_share",
    "false_rollback",
    "rollout_s",
];

/// The header of `sweep.csv` for the swept `paths`.
pub fn sweep_header(paths: &[String]) -> Vec<String> {
    let mut h = vec!["grid".to_string(), "strategy".to_string()];
    h.extend(paths.iter().cloned());
    h.extend([
        "replications".to_string(),
        "detection_probability".to_string(),
        "detection_probability_ci95_low".to_string(),
        "detection_probability_ci95_high".to_string(),
    ]);
    for s in STATS {
        for part in ["n", "mean", "ci95_low", "ci95_high", "p50", "p95"] {
            h.push(format!("{s}_{part}"));
        }
    }
    h
}

/// `sweep.csv` as text.
pub fn write_sweep(paths: &[String], rows: &[Row]) -> csv::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(sweep_header(paths))?;
    for r in rows {
        let mut rec = vec![r.grid.to_string(), r.strategy.clone()];
        rec.extend(r.values.iter().cloned());
        rec.push(r.replications.to_string());
        rec.extend(rate_cells(r.detection_probability));
        for st in [
            r.ttd_s,
            r.ttr_s,
            r.affected_share,
            r.false_rollback,
            r.rollout_s,
        ] {
            rec.extend(stat_cells(st));
        }
        w.write_record(&rec)?;
    }
    into_text(w)
}

fn into_text(w: csv::Writer<Vec<u8>>) -> csv::Result<String> {
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8(bytes).unwrap_or_default())
}

fn records(text: &str) -> csv::Result<(StringRecord, Vec<StringRecord>)> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header = r.headers()?.clone();
    let rows = r.records().collect::<csv::Result<Vec<_>>>()?;
    Ok((header, rows))
}

/// Merges shard outputs into the file an unsharded sweep writes: same header, rows by grid
/// index. Errors when the headers differ (shards of different sweeps) or a grid point repeats.
pub fn merge_sweeps(shards: &[String]) -> Result<String, String> {
    let mut header: Option<StringRecord> = None;
    let mut rows: Vec<StringRecord> = Vec::new();
    for text in shards {
        let (h, mut r) = records(text).map_err(|e| e.to_string())?;
        match &header {
            Some(existing) if *existing != h => {
                return Err("the shards' headers differ: they come from different sweeps".into());
            }
            _ => header = Some(h),
        }
        rows.append(&mut r);
    }
    let header = header.ok_or("no shard to merge")?;
    check_cells(&header, &rows)?;
    let grid = |r: &StringRecord| {
        r.get(0)
            .and_then(|g| g.parse::<usize>().ok())
            .unwrap_or(usize::MAX)
    };
    rows.sort_by_key(grid);
    let mut seen: Vec<(usize, String)> = rows
        .iter()
        .map(|r| (grid(r), r.get(1).unwrap_or("").to_string()))
        .collect();
    let before = seen.len();
    seen.dedup();
    if seen.len() != before {
        return Err("a grid point appears in two shards".into());
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).map_err(|e| e.to_string())?;
    for r in &rows {
        w.write_record(r).map_err(|e| e.to_string())?;
    }
    into_text(w).map_err(|e| e.to_string())
}

/// Every row has a whole-number `grid` cell and, from `replications` on, cells that are empty
/// or finite numbers: a merged file must not carry a NaN or an infinity into the front.
fn check_cells(header: &StringRecord, rows: &[StringRecord]) -> Result<(), String> {
    let first = header
        .iter()
        .position(|h| h == "replications")
        .ok_or("no replications column: not a sweep.csv")?;
    for r in rows {
        let grid = r.get(0).unwrap_or("");
        if grid.parse::<usize>().is_err() {
            return Err(format!(
                "grid \"{grid}\": expected a grid index (a whole number)"
            ));
        }
        for (name, cell) in header.iter().zip(r.iter()).skip(first) {
            if !(cell.is_empty() || cell.parse::<f64>().is_ok_and(f64::is_finite)) {
                return Err(format!(
                    "grid point {grid}, column {name}: \"{cell}\" is not a finite number"
                ));
            }
        }
    }
    Ok(())
}

/// The trade-off of every row of a `sweep.csv` text.
pub fn trade_offs(text: &str, optimize: Optimize) -> csv::Result<Vec<TradeOff>> {
    let (header, rows) = records(text)?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let objective = col(match optimize {
        Optimize::AffectedShare => "affected_share_mean",
        Optimize::Ttd => "ttd_s_mean",
    });
    let (fr, fr_low, fr_high, rollout) = (
        col("false_rollback_mean"),
        col("false_rollback_ci95_low"),
        col("false_rollback_ci95_high"),
        col("rollout_s_mean"),
    );
    let value = |r: &StringRecord, c: Option<usize>| {
        c.and_then(|c| r.get(c))
            .and_then(|x| x.parse::<f64>().ok())
            .unwrap_or(f64::INFINITY)
    };
    Ok(rows
        .iter()
        .enumerate()
        .map(|(i, r)| TradeOff {
            row: i,
            false_rollback: value(r, fr),
            false_rollback_low: value(r, fr_low),
            false_rollback_high: value(r, fr_high),
            objective: value(r, objective),
            rollout: value(r, rollout),
        })
        .collect())
}

/// `pareto.csv`: the rows of the front, with a `recommended` column; and the recommended
/// row's index among all rows.
pub fn write_pareto(
    text: &str,
    optimize: Optimize,
    max_false_rollback: f64,
    on: ConstraintOn,
) -> csv::Result<(String, Option<usize>)> {
    let (header, rows) = records(text)?;
    let points = trade_offs(text, optimize)?;
    let front = pareto(&points);
    let best = recommend(&points, max_false_rollback, on);
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut h: Vec<&str> = header.iter().collect();
    h.push("recommended");
    w.write_record(&h)?;
    for &i in &front {
        let mut rec: Vec<&str> = rows[i].iter().collect();
        rec.push(if best == Some(i) { "true" } else { "false" });
        w.write_record(&rec)?;
    }
    Ok((into_text(w)?, best))
}

/// The cells of row `i` of a `sweep.csv` text, by column name.
pub fn sweep_row(text: &str, i: usize) -> Vec<(String, String)> {
    records(text)
        .ok()
        .and_then(|(h, rows)| {
            rows.get(i).map(|r| {
                h.iter()
                    .map(String::from)
                    .zip(r.iter().map(String::from))
                    .collect()
            })
        })
        .unwrap_or_default()
}
