//! Distributions across replications (CDFs, strip plots) and the comparison of means.

use super::{
    Body, DrawResult, GRID, INK, LegendItem, MUTED, Mark, Plot, TimeUnit, anchored, strategy_color,
    text_style, tick, upper,
};
use crate::model::FaultKind;
use crate::model::Inconsistencies;
use crate::outcome::{RunOutcome, Stat, StrategySummary};
use crate::replications::ScenarioResult;
use crate::report::format::{count, duration, percent};
use crate::scenario::Scenario;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// One CDF panel: a step curve per strategy over the replications with an onset.
#[derive(Debug, Clone)]
struct CdfPanel {
    label: String,
    x_desc: String,
    unit: TimeUnit,
    x_max: f64,
    /// Per strategy: colour, sorted values (in `unit`) and the denominator.
    curves: Vec<(RGBColor, Vec<f64>, usize)>,
    empty: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) struct CdfChart {
    panels: Vec<CdfPanel>,
}

/// How a row summarizes its values.
#[derive(Debug, Clone, Copy)]
enum Summary {
    /// Box from p25 to p75 with the median (strip plots).
    Quartiles(f64, f64, f64),
    /// Mean with its 95 % CI (comparison).
    MeanCi(f64, f64),
    /// Nothing to summarize: "n/a".
    None,
}

/// One strategy in a row panel.
#[derive(Debug, Clone)]
struct Row {
    label: String,
    /// Printed above the summary mark (the mean ± CI in the comparison).
    value: Option<String>,
    color: RGBColor,
    points: Vec<f64>,
    summary: Summary,
}

/// Horizontal rows, one per strategy, against a shared value axis.
#[derive(Debug, Clone)]
struct RowPanel {
    label: String,
    x_desc: String,
    x_max: f64,
    rows: Vec<Row>,
}

#[derive(Debug, Clone)]
pub(super) struct RowsChart {
    panels: Vec<RowPanel>,
    columns: usize,
    label_width: u32,
}

fn strategy_legend(names: impl Iterator<Item = String>) -> Vec<LegendItem> {
    names
        .enumerate()
        .map(|(i, n)| LegendItem::new(n, strategy_color(i), Mark::Line))
        .collect()
}

fn secs_values(
    result: &ScenarioResult,
    s: usize,
    f: fn(&RunOutcome) -> Option<crate::engine::SimTime>,
) -> Vec<f64> {
    let mut v: Vec<f64> = result
        .runs_of(s)
        .iter()
        .filter_map(f)
        .map(|t| t.as_secs_f64())
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// CDFs of time-to-detect and time-to-recover per strategy, over the replications in which
/// the fault hurt someone: a curve that ends below 100 % did not detect (or recover) in the
/// rest of them.
pub fn distributions(scenario: &Scenario, result: &ScenarioResult) -> Plot {
    let names: Vec<String> = scenario.strategies.iter().map(|s| s.name.clone()).collect();
    let panel = |label: &str, f: fn(&RunOutcome) -> Option<crate::engine::SimTime>| {
        let values: Vec<Vec<f64>> = (0..names.len())
            .map(|s| secs_values(result, s, f))
            .collect();
        let max = values.iter().flatten().copied().fold(0.0, f64::max);
        let unit = TimeUnit::for_span(max);
        let curves: Vec<(RGBColor, Vec<f64>, usize)> = values
            .into_iter()
            .enumerate()
            .map(|(s, v)| {
                (
                    strategy_color(s),
                    v.into_iter().map(|x| x / unit.secs).collect(),
                    result.summaries[s].with_onset,
                )
            })
            .collect();
        let hurt = result.summaries.iter().any(|s| s.with_onset > 0);
        let any = curves.iter().any(|c| !c.1.is_empty());
        CdfPanel {
            label: label.to_string(),
            x_desc: format!(
                "{} ({})",
                if label.starts_with("detected") {
                    "time to detect"
                } else {
                    "time to recover"
                },
                unit.name
            ),
            unit,
            x_max: upper(max / unit.secs, 1.0),
            curves,
            empty: if !hurt {
                Some("no replication had an onset: nothing to detect or recover from".into())
            } else if !any {
                Some("no replication with an onset got there".to_string())
            } else {
                None
            },
        }
    };
    let chart = CdfChart {
        panels: vec![
            panel("detected within", |r| r.ttd()),
            panel("recovered within", |r| r.ttr()),
        ],
    };
    let onsets: Vec<String> = result
        .summaries
        .iter()
        .map(|s| format!("{} {} of {}", s.strategy, s.with_onset, s.replications))
        .collect();
    Plot {
        name: "distributions".into(),
        title: format!("{} · time to detect and to recover", scenario.name),
        caption: format!(
            "Empirical CDFs over the replications in which a fault hurt someone (with an onset: {}). \
             A curve that stops below 100 % did not detect, or did not recover within the horizon, \
             in the other replications. TTD = detection − onset; TTR = recovery − onset.",
            onsets.join(", ")
        ),
        subtitle: vec![
            "share of the replications with an onset that detected (recovered) within x".into(),
        ],
        legend: strategy_legend(names.into_iter()),
        size: (1200, 560),
        body: Body::Cdf(chart),
    }
}

fn quartiles(sorted: &[f64]) -> Summary {
    if sorted.is_empty() {
        return Summary::None;
    }
    let q = |p: f64| {
        let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    };
    Summary::Quartiles(q(0.25), q(0.5), q(0.75))
}

fn strip(
    scenario: &Scenario,
    result: &ScenarioResult,
    value: &dyn Fn(&RunOutcome) -> f64,
    x_desc: &str,
) -> RowPanel {
    let rows: Vec<Row> = scenario
        .strategies
        .iter()
        .enumerate()
        .map(|(s, spec)| {
            let mut points: Vec<f64> = result.runs_of(s).iter().map(value).collect();
            points.sort_by(f64::total_cmp);
            Row {
                label: spec.name.clone(),
                value: None,
                color: strategy_color(s),
                summary: quartiles(&points),
                points,
            }
        })
        .collect();
    let max = rows
        .iter()
        .flat_map(|r| r.points.iter())
        .copied()
        .fold(0.0, f64::max);
    RowPanel {
        label: String::new(),
        x_desc: x_desc.into(),
        x_max: upper(max, 1.0),
        rows,
    }
}

fn label_width(names: &[String]) -> u32 {
    let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(8) as u32;
    (longest * 9 + 24).clamp(90, 320)
}

/// Affected users (share of active users) per strategy: one dot per replication, the box
/// from the 25th to the 75th percentile and the median.
pub fn affected_share(scenario: &Scenario, result: &ScenarioResult) -> Plot {
    let names: Vec<String> = scenario.strategies.iter().map(|s| s.name.clone()).collect();
    let panel = strip(
        scenario,
        result,
        &|r| r.affected_share() * 100.0,
        "affected users (% of active users)",
    );
    let rows = panel.rows.len() as u32;
    Plot {
        name: "affected-users".into(),
        title: format!("{} · affected users per replication", scenario.name),
        caption: "One dot per replication: distinct users with at least one fault-affected response \
                  over users with at least one request. Box: 25th to 75th percentile (nearest rank); \
                  bar: median."
            .into(),
        subtitle: vec!["dots: replications · box: p25–p75 · bar: median".into()],
        legend: vec![],
        size: (1200, 190 + 70 * rows),
        body: Body::Rows(RowsChart {
            label_width: label_width(&names),
            panels: vec![panel],
            columns: 1,
        }),
    }
}

/// A cause of inconsistent records: its `runs.csv` column, what it means, its count.
type Cause = (&'static str, &'static str, fn(&Inconsistencies) -> u64);

/// The causes of inconsistent records, as `runs.csv` names them.
const CAUSES: [Cause; 6] = [
    (
        "new_format_only",
        "held only by the new structure, read by a version that reads the old",
        |i| i.new_format_only,
    ),
    (
        "old_format_only",
        "held only by the old structure, read by a version that reads the new",
        |i| i.old_format_only,
    ),
    (
        "lost_on_down_migration",
        "dropped with the new structure by a down migration",
        |i| i.lost_on_down_migration,
    ),
    (
        "dropped_by_contract",
        "dropped with the old structure before being copied",
        |i| i.dropped_by_contract,
    ),
    (
        "lost_on_restore",
        "written after the backup and lost by the restore",
        |i| i.lost_on_restore,
    ),
    (
        "corrupted",
        "stored wrong by a data_corruption fault",
        |i| i.corrupted,
    ),
];

/// Inconsistent records at the end of each replication, per strategy, one panel per cause
/// that occurred (one panel of zeros when none did), when the scenario can leave any: it
/// migrates a table, corrupts data, or some run left a record inconsistent.
pub fn inconsistent_records(scenario: &Scenario, result: &ScenarioResult) -> Option<Plot> {
    let corrupts = scenario
        .service
        .faults
        .iter()
        .any(|f| matches!(f.kind, FaultKind::DataCorruption { .. }));
    let any = result.runs.iter().any(|r| r.inconsistent_records > 0);
    if !corrupts && scenario.service.database.is_none() && !any {
        return None;
    }
    let names: Vec<String> = scenario.strategies.iter().map(|s| s.name.clone()).collect();
    let mut panels: Vec<RowPanel> = CAUSES
        .iter()
        .filter(|(_, _, count)| result.runs.iter().any(|r| count(&r.inconsistent) > 0))
        .map(|(cause, meaning, count)| {
            let mut panel = strip(
                scenario,
                result,
                &|r| count(&r.inconsistent) as f64,
                "records at the end (count)",
            );
            panel.label = format!("{cause}: {meaning}");
            panel
        })
        .collect();
    if panels.is_empty() {
        let mut panel = strip(
            scenario,
            result,
            &|r| r.inconsistent_records as f64,
            "records at the end (count)",
        );
        panel.label = "every cause: no replication left an inconsistent record".into();
        panels.push(panel);
    }
    let rows = names.len() as u32;
    let count = panels.len() as u32;
    let causes: Vec<&str> = CAUSES.iter().map(|c| c.0).collect();
    Some(Plot {
        name: "inconsistent-records".into(),
        title: format!("{} · inconsistent records by cause", scenario.name),
        caption: format!(
            "One dot per replication: records unreadable, invisible, lost or corrupted for the \
             version serving at the end, one panel per cause that occurred (of {}). Box: 25th to \
             75th percentile (nearest rank); bar: median.",
            causes.join(", ")
        ),
        subtitle: vec!["dots: replications · box: p25–p75 · bar: median".into()],
        legend: vec![],
        size: (1200, 110 + count * (110 + 60 * rows)),
        body: Body::Rows(RowsChart {
            label_width: label_width(&names),
            panels,
            columns: 1,
        }),
    })
}

/// Each metric's mean with its 95 % confidence interval, per strategy: one panel per metric
/// (TTD, TTR, affected users, failed requests, inconsistent records, rollout time). `title`
/// names what is compared (a scenario, or the strategies of `compare`).
pub fn comparison(title: &str, summaries: &[StrategySummary]) -> Plot {
    let names: Vec<String> = summaries.iter().map(|s| s.strategy.clone()).collect();
    type Pick = fn(&StrategySummary) -> Option<Stat>;
    type Fmt = fn(f64) -> String;
    let metrics: [(&str, Pick, Option<f64>, Fmt); 6] = [
        ("time to detect", |s| s.ttd_s, None, duration),
        ("time to recover, mean = MTTR", |s| s.ttr_s, None, duration),
        (
            "affected users (%)",
            |s| s.affected_share,
            Some(100.0),
            percent,
        ),
        (
            "failed requests (count)",
            |s| s.failed_requests,
            Some(1.0),
            count,
        ),
        (
            "inconsistent records (count)",
            |s| s.inconsistent_records,
            Some(1.0),
            count,
        ),
        (
            "rollout time, promoted runs",
            |s| s.rollout_s,
            None,
            duration,
        ),
    ];
    let panels = metrics
        .iter()
        .map(|(label, pick, scale, fmt)| {
            let stats: Vec<Option<Stat>> = summaries.iter().map(pick).collect();
            let hi = stats
                .iter()
                .flatten()
                .map(|s| s.ci95_high)
                .fold(0.0, f64::max);
            let (scale, desc) = match scale {
                Some(k) => (*k, label.to_string()),
                None => {
                    let u = TimeUnit::for_span(hi);
                    (1.0 / u.secs, format!("{label} ({})", u.name))
                }
            };
            RowPanel {
                label: desc.clone(),
                x_desc: String::new(),
                x_max: upper(hi * scale, 1.0),
                rows: stats
                    .iter()
                    .enumerate()
                    .map(|(i, st)| Row {
                        label: names[i].clone(),
                        value: st.map(|s| format!("{} ± {}", fmt(s.mean), fmt(s.half_width()))),
                        color: strategy_color(i),
                        points: vec![],
                        summary: st.map_or(Summary::None, |s| {
                            Summary::MeanCi(s.mean * scale, s.half_width() * scale)
                        }),
                    })
                    .collect(),
            }
        })
        .collect::<Vec<_>>();
    let n = summaries.len() as u32;
    Plot {
        name: "comparison".into(),
        title: format!("{title} · means with 95 % confidence intervals"),
        caption: "Dot: the mean over the replications where the metric is defined (TTD: detected \
                  ones; TTR: recovered ones; rollout: promoted ones). Bar: 95 % confidence interval \
                  of the mean (Student t). n/a: defined in no replication."
            .into(),
        subtitle: vec!["dot: mean · bar: 95 % CI of the mean · n/a: no replication defines it".into()],
        legend: vec![],
        size: (1200, 130 + 3 * (95 + 42 * n.max(1))),
        body: Body::Rows(RowsChart {
            label_width: label_width(&names),
            panels,
            columns: 2,
        }),
    }
}

impl CdfChart {
    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        body: &DrawingArea<DB, Shift>,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let areas = body.split_evenly((1, self.panels.len()));
        for (panel, area) in self.panels.iter().zip(&areas) {
            let mut chart = ChartBuilder::on(area)
                .margin_left(16)
                .margin_right(28)
                .margin_top(34)
                .margin_bottom(8)
                .x_label_area_size(50)
                .y_label_area_size(70)
                .build_cartesian_2d(0f64..panel.x_max, 0f64..105f64)?;
            let y_fmt = |v: &f64| format!("{}%", tick(*v));
            let x_fmt = |v: &f64| tick(*v);
            chart
                .configure_mesh()
                .bold_line_style(GRID)
                .light_line_style(WHITE)
                .y_labels(6)
                .x_labels(8)
                .y_label_formatter(&y_fmt)
                .x_label_formatter(&x_fmt)
                .x_desc(panel.x_desc.clone())
                .y_desc("replications with an onset")
                .label_style(text_style(14.0, INK))
                .axis_desc_style(text_style(15.0, INK))
                .axis_style(MUTED)
                .draw()?;
            let strategies = panel.curves.len() as u32;
            for (i, (color, values, n)) in panel.curves.iter().enumerate() {
                if *n == 0 || values.is_empty() {
                    continue;
                }
                // Earlier curves are wider, so identical curves stay visible under later ones.
                let width = 2 + 2 * (strategies - 1 - i as u32).min(3);
                let mut pts = vec![(0.0, 0.0)];
                for (k, v) in values.iter().enumerate() {
                    let before = 100.0 * k as f64 / *n as f64;
                    let after = 100.0 * (k + 1) as f64 / *n as f64;
                    pts.push((*v, before));
                    pts.push((*v, after));
                }
                let level = 100.0 * values.len() as f64 / *n as f64;
                pts.push((panel.x_max, level));
                chart.draw_series(LineSeries::new(pts, color.stroke_width(width)))?;
            }
            let (px, py) = chart.backend_coord(&(0.0, 105.0));
            root.draw_text(
                &panel.label,
                &anchored(super::bold_style(16.0, INK), HPos::Left, VPos::Bottom),
                (px, py - 8),
            )?;
            if let Some(note) = &panel.empty {
                let (cx, cy) = chart.backend_coord(&(panel.x_max / 2.0, 52.0));
                root.draw_text(
                    note,
                    &anchored(text_style(15.0, MUTED), HPos::Center, VPos::Center),
                    (cx, cy),
                )?;
            }
            let _ = panel.unit;
        }
        Ok(())
    }
}

impl RowsChart {
    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        body: &DrawingArea<DB, Shift>,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let rows = self.panels.len().div_ceil(self.columns);
        let areas = body.split_evenly((rows, self.columns));
        for (panel, area) in self.panels.iter().zip(&areas) {
            self.draw_panel(root, area, panel)?;
        }
        Ok(())
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        area: &DrawingArea<DB, Shift>,
        panel: &RowPanel,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let n = panel.rows.len().max(1);
        let top = if panel.label.is_empty() { 12 } else { 34 };
        let x_area = if panel.x_desc.is_empty() { 34 } else { 56 };
        let mut chart = ChartBuilder::on(area)
            .margin_left(16)
            .margin_right(28)
            .margin_top(top)
            .margin_bottom(4)
            .x_label_area_size(x_area)
            .y_label_area_size(self.label_width)
            .build_cartesian_2d(0f64..panel.x_max, -0.5f64..(n as f64 - 0.5))?;
        let x_fmt = |v: &f64| tick(*v);
        let y_fmt = |_: &f64| String::new();
        let mut mesh = chart.configure_mesh();
        mesh.disable_y_mesh()
            .bold_line_style(GRID)
            .light_line_style(WHITE)
            .x_labels(7)
            .y_labels(0)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style(text_style(14.0, INK))
            .axis_desc_style(text_style(15.0, INK))
            .axis_style(MUTED);
        if !panel.x_desc.is_empty() {
            mesh.x_desc(panel.x_desc.clone());
        }
        mesh.draw()?;
        // The first strategy at the top.
        for (i, row) in panel.rows.iter().enumerate() {
            draw_row(root, &mut chart, row, (n - 1 - i) as f64)?;
        }
        if !panel.label.is_empty() {
            let (px, py) = chart.backend_coord(&(0.0, n as f64 - 0.5));
            root.draw_text(
                &panel.label,
                &anchored(super::bold_style(16.0, INK), HPos::Left, VPos::Bottom),
                (px, py - 8),
            )?;
        }
        Ok(())
    }
}

/// One row at height `y`: its label, its summary mark (quartile box, or mean with its CI)
/// and its replications as dots.
fn draw_row<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &mut ChartContext<DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    row: &Row,
    y: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (lx, ly) = chart.backend_coord(&(0.0, y));
    root.draw_text(
        &row.label,
        &anchored(text_style(15.0, INK), HPos::Right, VPos::Center),
        (lx - 10, ly),
    )?;
    match row.summary {
        Summary::Quartiles(p25, p50, p75) => {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(p25, y - 0.3), (p75, y + 0.3)],
                row.color.mix(0.18).filled(),
            )))?;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(p25, y - 0.3), (p75, y + 0.3)],
                row.color.stroke_width(1),
            )))?;
            chart.draw_series(LineSeries::new(
                vec![(p50, y - 0.36), (p50, y + 0.36)],
                INK.stroke_width(3),
            ))?;
        }
        Summary::MeanCi(mean, ci) => {
            let (lo, hi) = ((mean - ci).max(0.0), mean + ci);
            chart.draw_series(LineSeries::new(
                vec![(lo, y), (hi, y)],
                row.color.stroke_width(3),
            ))?;
            for end in [lo, hi] {
                chart.draw_series(LineSeries::new(
                    vec![(end, y - 0.18), (end, y + 0.18)],
                    row.color.stroke_width(2),
                ))?;
            }
            chart.draw_series(std::iter::once(Circle::new(
                (mean, y),
                6,
                row.color.filled(),
            )))?;
            if let Some(value) = &row.value {
                let (vx, vy) = chart.backend_coord(&(mean, y));
                root.draw_text(
                    value,
                    &anchored(text_style(13.0, MUTED), HPos::Center, VPos::Bottom),
                    (vx, vy - 10),
                )?;
            }
        }
        Summary::None => {
            let (cx, cy) = chart.backend_coord(&(0.0, y));
            root.draw_text(
                "n/a",
                &anchored(text_style(14.0, MUTED), HPos::Left, VPos::Center),
                (cx + 8, cy),
            )?;
        }
    }
    // Replications as dots, spread vertically by a fixed pattern (no randomness).
    chart.draw_series(row.points.iter().enumerate().map(|(k, &v)| {
        let jitter = ((k as f64 * 0.618_034).fract() - 0.5) * 0.44;
        Circle::new((v, y + jitter), 4, row.color.mix(0.85).filled())
    }))?;
    Ok(())
}
