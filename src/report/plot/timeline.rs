//! The timeline of one representative replication: what an incident review draws by hand.

use super::{
    DrawResult, GRID, INK, LegendItem, MUTED, Mark, Plot, TimeUnit, anchored, slug, text_style,
    tick, upper,
};
use crate::detect::Metric;
use crate::engine::SimTime;
use crate::model::{FaultKind, Target, VersionId};
use crate::outcome::{Marker, RunOutcome, Sample, Timeline};
use crate::replications::{Representative, ScenarioResult};
use crate::report::format::{duration, percent};
use crate::scenario::Scenario;
use crate::strategy::StrategySpec;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use std::error::Error;

const STABLE: RGBColor = RGBColor(78, 121, 167);
const CANDIDATE: RGBColor = RGBColor(242, 142, 43);
const THRESHOLD: RGBColor = RGBColor(214, 39, 40);
const FAULT: RGBColor = RGBColor(237, 201, 72);
const ONSET: RGBColor = RGBColor(148, 103, 189);
const FAILED_CHECK: RGBColor = RGBColor(214, 39, 40);
const DETECTED: RGBColor = RGBColor(140, 20, 30);
const ROLLED_BACK: RGBColor = RGBColor(140, 86, 75);
const RECOVERED: RGBColor = RGBColor(44, 160, 44);
const PROMOTED: RGBColor = RGBColor(23, 190, 207);

/// Unbroken runs of (x, y) points, drawn in one colour.
type Series = (RGBColor, Vec<Vec<(f64, f64)>>);

/// A vertical marker line across every panel.
#[derive(Debug, Clone, Copy)]
struct VLine {
    at: f64,
    color: RGBColor,
    dashed: bool,
}

/// One panel: step lines per version, thresholds, failed-check triangles.
#[derive(Debug, Clone)]
struct Panel {
    label: String,
    unit: &'static str,
    y_max: f64,
    /// Per series: colour and its unbroken segments of (x, y) points.
    series: Vec<Series>,
    thresholds: Vec<f64>,
    triangles: Vec<(f64, f64)>,
    height: u32,
}

#[derive(Debug, Clone)]
pub(super) struct TimelineChart {
    x_max: f64,
    unit: TimeUnit,
    /// How much of the horizon the time axis shows, for its label.
    shown: String,
    bands: Vec<(f64, f64)>,
    vlines: Vec<VLine>,
    panels: Vec<Panel>,
}

/// Step lines: the value of sample `k` holds over `(end_k − step, end_k]`; `None` breaks it.
fn steps(points: impl Iterator<Item = (f64, f64, Option<f64>)>) -> Vec<Vec<(f64, f64)>> {
    let mut segments = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for (from, to, value) in points {
        match value {
            Some(v) => {
                current.push((from, v));
                current.push((to, v));
            }
            None if !current.is_empty() => segments.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    segments
}

fn max_of(series: &[Series], thresholds: &[f64]) -> f64 {
    series
        .iter()
        .flat_map(|(_, segs)| segs.iter().flatten().map(|p| p.1))
        .chain(thresholds.iter().copied())
        .fold(0.0, f64::max)
}

/// The time axis of a timeline: what it shows of the horizon and in which unit.
struct View<'a> {
    t: &'a Timeline,
    view_end: SimTime,
    unit: TimeUnit,
}

impl View<'_> {
    /// A moment on the x axis, clamped to the view.
    fn x(&self, at: SimTime) -> f64 {
        at.min(self.view_end).as_secs_f64() / self.unit.secs
    }

    /// One step line per version of `f(version index, sample)`, over the visible samples.
    fn version_series(&self, f: &dyn Fn(usize, &Sample) -> Option<f64>) -> Vec<Series> {
        let step = self.t.step;
        VersionId::ALL
            .iter()
            .map(|v| {
                let color = if *v == VersionId::Stable {
                    STABLE
                } else {
                    CANDIDATE
                };
                let segs = steps(visible(&self.t.samples, step, self.view_end).map(|s| {
                    let (a, b) = (self.x(s.end.saturating_sub(step)), self.x(s.end));
                    (a, b, f(v.index(), s))
                }));
                (color, segs)
            })
            .collect()
    }
}

/// The timeline of `rep`, the representative replication of strategy `rep.strategy`: the
/// candidate's traffic share, error rate and p99 latency of each version per sampling step
/// (and the bad-write rate when the scenario corrupts data or the analysis checks it), the
/// analysis thresholds, the faults in force, and markers for onset, each failed check,
/// detection, rollback, recovery and promotion.
pub fn timeline(scenario: &Scenario, result: &ScenarioResult, rep: &Representative) -> Plot {
    let spec = &scenario.strategies[rep.strategy];
    let t = &rep.timeline;
    let view_end = view_end(scenario, t);
    let view = View {
        t,
        view_end,
        unit: TimeUnit::for_span(view_end.as_secs_f64()),
    };
    let (share, failed) = share_panel(scenario, &view);
    let mut panels = vec![share];
    panels.extend(metric_panels(scenario, spec, &view));
    if let Some(last) = panels.last_mut() {
        last.height += 50;
    }
    let bands = fault_bands(scenario, &view);
    let (vlines, seen) = marker_lines(&view);
    let run = &result.runs_of(rep.strategy)[rep.replication as usize];
    let legend = legend(scenario, run, &panels, &bands, &seen, failed.len());
    let events = events(t, run, failed.len());
    let chosen = format!(
        "Replication {} of {}: {}.",
        rep.replication,
        scenario.replications,
        rep.pick.describe()
    );
    let shown = shown(scenario.horizon, view_end);
    let caption = caption(scenario, &view, &chosen, &events, &shown);
    let chart = TimelineChart {
        x_max: view.x(view_end),
        unit: view.unit,
        shown,
        bands,
        vlines,
        panels,
    };
    let body_height: u32 = chart.panels.iter().map(|p| p.height).sum();
    Plot {
        name: format!("timeline-{}-{}", rep.strategy, slug(&spec.name)),
        title: format!("{} · {}: timeline", scenario.name, spec.name),
        caption,
        subtitle: vec![chosen, events.join(" · ")],
        legend,
        size: (1200, 150 + body_height),
        body: super::Body::Timeline(chart),
    }
}

/// The candidate's traffic share, with the failed checks as triangles on it, and those
/// checks' positions.
fn share_panel(scenario: &Scenario, view: &View) -> (Panel, Vec<(f64, f64)>) {
    let candidate = &scenario.service.versions[VersionId::Candidate.index()];
    // Failed checks sit on the traffic-share line, at the weight just before their instant
    // (a check that trips the rollback sits on the weight it judged).
    let share = vec![(CANDIDATE, weight_steps(view))];
    let weight_before = |at: f64| {
        share[0]
            .1
            .iter()
            .flatten()
            .take_while(|p| p.0 < at)
            .last()
            .map_or(0.0, |p| p.1)
    };
    let failed: Vec<(f64, f64)> = view
        .t
        .markers
        .iter()
        .filter(|(at, m)| *m == Marker::FailedCheck && *at <= view.view_end)
        .map(|(at, _)| (view.x(*at), weight_before(view.x(*at))))
        .collect();
    let panel = Panel {
        label: format!("traffic share of {} (the candidate)", candidate.name),
        unit: "%",
        // Small canaries stay readable: the axis ends just above the highest weight.
        y_max: upper(max_of(&share, &[]), 5.0).min(105.0),
        series: share,
        thresholds: vec![],
        triangles: failed.clone(),
        height: 170,
    };
    (panel, failed)
}

/// The error rate and p99 latency of each version, and their bad-write rate when the
/// scenario corrupts data or the analysis checks it, each with its analysis thresholds.
fn metric_panels(scenario: &Scenario, spec: &StrategySpec, view: &View) -> Vec<Panel> {
    let thresholds = |metric: Metric, scale: f64| -> Vec<f64> {
        spec.analysis
            .iter()
            .flat_map(|a| a.metrics.iter())
            .filter(|r| r.metric == metric)
            .flat_map(|r| [r.min, r.max])
            .flatten()
            .map(|v| v * scale)
            .collect()
    };
    let panel =
        |label: &str, unit, series: Vec<Series>, thresholds: Vec<f64>, floor, height| Panel {
            label: label.into(),
            unit,
            y_max: upper(max_of(&series, &thresholds), floor),
            series,
            thresholds,
            triangles: vec![],
            height,
        };
    let mut panels = vec![
        panel(
            "error rate of each version",
            "%",
            view.version_series(&|v, s| s.versions[v].error_rate().map(|r| r * 100.0)),
            thresholds(Metric::ErrorRate, 100.0),
            1.0,
            220,
        ),
        panel(
            "p99 latency of each version",
            " ms",
            view.version_series(&|v, s| s.versions[v].latency_p99_ms),
            thresholds(Metric::LatencyP99, 1.0),
            10.0,
            220,
        ),
    ];
    let bad_write_thresholds = thresholds(Metric::BadWriteRate, 100.0);
    let corrupts = scenario
        .service
        .faults
        .iter()
        .any(|f| matches!(f.kind, FaultKind::DataCorruption { .. }));
    if corrupts || !bad_write_thresholds.is_empty() {
        panels.push(panel(
            "bad-write rate of each version (corrupted / successful writes)",
            "%",
            view.version_series(&|v, s| s.versions[v].bad_write_rate().map(|r| r * 100.0)),
            bad_write_thresholds,
            0.5,
            200,
        ));
    }
    panels
}

/// The shaded spans of the faults in force (an instance kill until its replacement is up). A
/// fault of the candidate ends at recovery at the latest: once the candidate serves no one
/// and the service is verified, it hurts no request.
fn fault_bands(scenario: &Scenario, view: &View) -> Vec<(f64, f64)> {
    let x_max = view.x(view.view_end);
    let recovered = view
        .t
        .markers
        .iter()
        .find(|(_, m)| *m == Marker::Recovered)
        .map(|(at, _)| *at);
    scenario
        .service
        .faults
        .iter()
        .map(|f| {
            let mut end = f.effective_end(scenario.service.fleet.startup);
            if f.is_candidates()
                && let Some(r) = recovered
            {
                end = Some(end.map_or(r, |e| e.min(r)));
            }
            (view.x(f.start), end.map_or(x_max, |e| view.x(e).min(x_max)))
        })
        .filter(|(a, b)| a < b)
        .collect()
}

/// A vertical line per onset, detection, rollback, recovery and promotion in view, and every
/// such marker of the run, in view or not (for the legend).
fn marker_lines(view: &View) -> (Vec<VLine>, Vec<Marker>) {
    let mut vlines = Vec::new();
    let mut seen = Vec::new();
    for (at, m) in &view.t.markers {
        let (color, dashed) = match m {
            Marker::Onset => (ONSET, true),
            Marker::Detected => (DETECTED, false),
            Marker::RolledBack => (ROLLED_BACK, false),
            Marker::Recovered => (RECOVERED, false),
            Marker::Promoted => (PROMOTED, false),
            Marker::FailedCheck | Marker::FaultStart(_) | Marker::FaultEnd(_) => continue,
        };
        seen.push(*m);
        if *at > view.view_end {
            continue;
        }
        // Markers at the same moment (a detection and an instant rollback) would hide each
        // other: each one after the first is drawn half a percent of the axis to the right.
        let gap = view.x(view.view_end) * 0.005;
        let x = view.x(*at);
        let x = match vlines.last() {
            Some(VLine { at: prev, .. }) if x - prev < gap => prev + gap,
            _ => x,
        };
        vlines.push(VLine {
            at: x,
            color,
            dashed,
        });
    }
    (vlines, seen)
}

/// The legend: both versions, then only what the timeline draws.
fn legend(
    scenario: &Scenario,
    run: &RunOutcome,
    panels: &[Panel],
    bands: &[(f64, f64)],
    seen: &[Marker],
    failed_checks: usize,
) -> Vec<LegendItem> {
    let [stable, candidate] = &scenario.service.versions;
    let mut legend = vec![
        LegendItem::new(format!("{} (stable)", stable.name), STABLE, Mark::Line),
        LegendItem::new(
            format!("{} (candidate)", candidate.name),
            CANDIDATE,
            Mark::Line,
        ),
    ];
    if panels.iter().any(|p| !p.thresholds.is_empty()) {
        legend.push(LegendItem::new(
            "analysis threshold",
            THRESHOLD,
            Mark::Dashed,
        ));
    }
    if !bands.is_empty() {
        legend.push(LegendItem::new("fault in force", FAULT, Mark::Band));
    }
    let has = |m: Marker| seen.contains(&m);
    if has(Marker::Onset) {
        legend.push(LegendItem::new(
            "onset (first hurt request)",
            ONSET,
            Mark::Dashed,
        ));
    }
    if failed_checks > 0 {
        legend.push(LegendItem::new(
            "failed check",
            FAILED_CHECK,
            Mark::Triangle,
        ));
    }
    if has(Marker::Detected) {
        let by = run.detected_by_text();
        let alarm = if run.false_rollback {
            ", false alarm"
        } else {
            ""
        };
        legend.push(LegendItem::new(
            format!("detected ({by}{alarm})"),
            DETECTED,
            Mark::Line,
        ));
    }
    for (m, label, color) in [
        (Marker::RolledBack, "rolled back", ROLLED_BACK),
        (Marker::Recovered, "recovered", RECOVERED),
        (Marker::Promoted, "promoted", PROMOTED),
    ] {
        if has(m) {
            legend.push(LegendItem::new(label, color, Mark::Line));
        }
    }
    legend
}

/// The run's events in order, with their times, and its TTR and affected users.
fn events(t: &Timeline, run: &RunOutcome, failed_checks: usize) -> Vec<String> {
    let first_time = |m: Marker| {
        t.markers
            .iter()
            .find(|(_, k)| *k == m)
            .map(|(at, _)| duration(at.as_secs_f64()))
    };
    let mut events = Vec::new();
    if let Some(o) = first_time(Marker::Onset) {
        events.push(format!("onset {o}"));
    }
    if failed_checks > 0 {
        events.push(format!(
            "{} failed check{}",
            failed_checks,
            if failed_checks == 1 { "" } else { "s" }
        ));
    }
    for (m, name) in [
        (Marker::Detected, "detected"),
        (Marker::RolledBack, "rolled back"),
        (Marker::Recovered, "recovered"),
        (Marker::Promoted, "promoted"),
    ] {
        if let Some(at) = first_time(m) {
            events.push(format!("{name} {at}"));
        }
    }
    if run.false_rollback {
        events.push("a false rollback".into());
    }
    if let Some(ttr) = run.ttr() {
        events.push(format!("TTR {}", duration(ttr.as_secs_f64())));
    }
    events.push(format!("affected users {}", percent(run.affected_share())));
    events
}

/// Each fault: its kind, its target and when it is in force.
fn fault_descriptions(scenario: &Scenario) -> Vec<String> {
    scenario
        .service
        .faults
        .iter()
        .map(|f| {
            let target = match f.target {
                Target::All => "every version".to_string(),
                Target::Version(v) => scenario.service.versions[v.index()].name.clone(),
            };
            format!(
                "{} on {target} from {}{}",
                f.kind.name(),
                duration(f.start.as_secs_f64()),
                f.end.map_or(String::new(), |e| format!(
                    " to {}",
                    duration(e.as_secs_f64())
                ))
            )
        })
        .collect()
}

/// How much of the horizon the time axis shows, when not all of it.
fn shown(horizon: SimTime, view_end: SimTime) -> String {
    if view_end < horizon {
        format!(
            " (0–{} of the {} horizon: the events and a margin)",
            duration(view_end.as_secs_f64()),
            duration(horizon.as_secs_f64())
        )
    } else {
        String::new()
    }
}

/// The caption: which replication, how to read each panel, the faults, the events and the
/// time axis.
fn caption(
    scenario: &Scenario,
    view: &View,
    chosen: &str,
    events: &[String],
    shown: &str,
) -> String {
    let faults = fault_descriptions(scenario);
    let caption = format!(
        "{chosen} Each value holds over one sampling step of {} (the strategy's analysis \
         interval, or 30s without analysis). Traffic share: the candidate's routing weight, \
         each change drawn at its exact time. Error rate and p99 latency: every request the \
         version served in the step, errors included. Dashed red lines: the analysis \
         thresholds. Shaded: {} (a fault of the candidate until recovery at the latest). \
         Events: {} (markers at the same moment are drawn side by side).",
        duration(view.t.step.as_secs_f64()),
        if faults.is_empty() {
            "no fault".to_string()
        } else {
            format!("fault in force ({})", faults.join("; "))
        },
        events.join(", ")
    );
    format!(
        "{caption} Time axis{}.",
        if shown.is_empty() {
            ": the whole horizon".to_string()
        } else {
            shown.to_string()
        }
    )
}

impl TimelineChart {
    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        body: &DrawingArea<DB, Shift>,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let heights: Vec<u32> = self.panels.iter().map(|p| p.height).collect();
        let mut rest = body.clone();
        let mut areas = Vec::new();
        for (i, h) in heights.iter().enumerate() {
            if i + 1 == heights.len() {
                areas.push(rest.clone());
            } else {
                let (a, b) = rest.split_vertically(*h);
                areas.push(a);
                rest = b;
            }
        }
        let last = areas.len().saturating_sub(1);
        for (i, (panel, area)) in self.panels.iter().zip(&areas).enumerate() {
            self.draw_panel(root, area, panel, i == last)?;
        }
        Ok(())
    }

    /// The panel's grid and value axis; the time axis, with its labels, only on the last.
    fn draw_axes<DB: DrawingBackend>(
        &self,
        chart: &mut ChartContext<DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
        panel: &Panel,
        last: bool,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let unit = panel.unit;
        let y_fmt = move |v: &f64| format!("{}{unit}", tick(*v));
        let x_fmt = |v: &f64| tick(*v);
        let x_desc = format!(
            "{} since the rollout began{}",
            match self.unit.name {
                "s" => "seconds",
                "min" => "minutes",
                _ => "hours",
            },
            self.shown
        );
        let mut mesh = chart.configure_mesh();
        mesh.disable_x_mesh()
            .bold_line_style(GRID)
            .light_line_style(WHITE)
            .y_labels(5)
            .x_labels(if last { 13 } else { 0 })
            .y_label_formatter(&y_fmt)
            .x_label_formatter(&x_fmt)
            .label_style(text_style(14.0, INK))
            .axis_desc_style(text_style(15.0, INK))
            .axis_style(MUTED);
        if last {
            mesh.x_desc(x_desc);
        }
        mesh.draw()?;
        Ok(())
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        area: &DrawingArea<DB, Shift>,
        panel: &Panel,
        last: bool,
    ) -> Result<(), Box<dyn Error>>
    where
        DB::ErrorType: 'static,
    {
        let mut chart = ChartBuilder::on(area)
            .margin_left(16)
            .margin_right(28)
            .margin_top(30)
            .margin_bottom(4)
            .x_label_area_size(if last { 50 } else { 0 })
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..self.x_max, 0f64..panel.y_max)?;
        self.draw_axes(&mut chart, panel, last)?;

        for &(a, b) in &self.bands {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(a, 0.0), (b, panel.y_max)],
                FAULT.mix(0.16).filled(),
            )))?;
        }
        for &t in &panel.thresholds {
            chart.draw_series(DashedLineSeries::new(
                vec![(0.0, t), (self.x_max, t)],
                8,
                5,
                THRESHOLD.stroke_width(2),
            ))?;
        }
        for (color, segments) in &panel.series {
            for seg in segments {
                chart.draw_series(LineSeries::new(seg.iter().copied(), color.stroke_width(2)))?;
            }
        }
        for v in &self.vlines {
            let line = vec![(v.at, 0.0), (v.at, panel.y_max)];
            if v.dashed {
                chart.draw_series(DashedLineSeries::new(line, 6, 4, v.color.stroke_width(2)))?;
            } else {
                chart.draw_series(LineSeries::new(line, v.color.stroke_width(2)))?;
            }
        }
        chart.draw_series(
            panel
                .triangles
                .iter()
                .map(|&p| TriangleMarker::new(p, 7, FAILED_CHECK.filled())),
        )?;
        // The panel's name above its top-left corner.
        let (px, py) = chart.backend_coord(&(0.0, panel.y_max));
        root.draw_text(
            &panel.label,
            &anchored(text_style(15.0, INK), HPos::Left, VPos::Bottom),
            (px, py - 6),
        )?;
        Ok(())
    }
}

/// The samples whose step starts before `view_end`.
fn visible(samples: &[Sample], step: SimTime, view_end: SimTime) -> impl Iterator<Item = &Sample> {
    samples
        .iter()
        .take_while(move |s| s.end.saturating_sub(step) < view_end)
}

/// Where the time axis ends: the last event (marker, fault boundary, end of a leak's ramp)
/// plus a quarter of it or ten steps, whichever is longer, rounded up to a step; the whole
/// horizon when nothing happens.
fn view_end(scenario: &Scenario, t: &Timeline) -> SimTime {
    let horizon = scenario.horizon;
    let startup = scenario.service.fleet.startup;
    let ramps = scenario
        .service
        .faults
        .iter()
        .filter_map(|f| f.settled_at(startup));
    let Some(last) = t.markers.iter().map(|(at, _)| *at).chain(ramps).max() else {
        return horizon;
    };
    let step = t.step.max(SimTime(1));
    let margin = SimTime(last.micros() / 4).max(SimTime(step.micros().saturating_mul(10)));
    let end = last.saturating_add(margin);
    let end = SimTime(
        end.micros()
            .div_ceil(step.micros())
            .saturating_mul(step.micros()),
    );
    end.min(horizon)
}

/// The candidate's weight as a step line, each change at its true time (the timeline
/// records the share after every event that changed it), up to the end of the view.
fn weight_steps(view: &View) -> Vec<Vec<(f64, f64)>> {
    let t = view.t;
    let end = view.x(view.view_end);
    let mut points = vec![(0.0, 0.0)];
    for &(at, share) in t.shares.iter().take_while(|(at, _)| *at <= view.view_end) {
        let x = view.x(at);
        let previous = points.last().map_or(0.0, |p| p.1);
        if share != previous {
            points.push((x, previous));
            points.push((x, share));
        }
    }
    let last = points.last().map_or(0.0, |p| p.1);
    points.push((end, last));
    vec![points]
}
