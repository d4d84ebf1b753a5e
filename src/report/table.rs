//! The terminal summary: one line per strategy, units in the headers.

use crate::engine::SimTime;
use crate::outcome::{Stat, StrategySummary};

fn secs(x: f64) -> String {
    SimTime((x * 1e6).round() as u64).human()
}

fn pct(x: f64) -> String {
    if x == 0.0 {
        "0%".into()
    } else if x < 0.001 {
        format!("{:.3}%", x * 100.0)
    } else {
        format!("{:.1}%", x * 100.0)
    }
}

fn time_stat(s: Option<Stat>) -> String {
    s.map_or("-".into(), |s| {
        format!("{} ({})", secs(s.mean), secs(s.p95))
    })
}

/// A plain-text table of `summaries`: TTD and TTR as mean (p95), shares in percent.
pub fn summary_table(summaries: &[StrategySummary]) -> String {
    let header = [
        "strategy",
        "runs",
        "detected",
        "TTD mean (p95)",
        "TTR mean (p95)",
        "affected users",
        "failed req",
        "false rollback",
        "rollout mean",
    ];
    let rows: Vec<[String; 9]> = summaries
        .iter()
        .map(|s| {
            [
                s.strategy.clone(),
                s.replications.to_string(),
                s.detection_probability.map_or("-".into(), pct),
                time_stat(s.ttd_s),
                time_stat(s.ttr_s),
                s.affected_share.map_or("-".into(), |a| pct(a.mean)),
                s.failed_requests
                    .map_or("-".into(), |f| format!("{:.0}", f.mean)),
                pct(s.false_rollback_rate),
                s.rollout_s.map_or("-".into(), |r| secs(r.mean)),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                let pad = " ".repeat(w - c.chars().count());
                if i == 0 {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(&header.map(String::from));
    out.push_str(&line(
        &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
    ));
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}
