//! The sweep's trade-off: false-rollback rate against the optimised objective, one marker
//! per row of `sweep.csv`, the Pareto front highlighted and the recommendation emphasised.

use super::{
    Body, DrawResult, GRID, INK, LegendItem, MUTED, Mark, Plot, TimeUnit, anchored, bold_style,
    text_style, tick, upper,
};
use crate::report::format::percent;
use crate::sweep::TradeOff;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// Grid points off the front.
const POINT: RGBColor = RGBColor(78, 121, 167);
/// The Pareto front, its markers and the line joining them.
const FRONT: RGBColor = RGBColor(242, 142, 43);
/// The recommended point.
const BEST: RGBColor = RGBColor(44, 160, 44);
/// The `--max-false-rollback` limit (the timelines' threshold red).
const LIMIT: RGBColor = RGBColor(214, 39, 40);

/// One plotted row, in axis units (x in %, y in % or in the time unit).
#[derive(Debug, Clone)]
struct Dot {
    x: f64,
    /// The 95 % Wilson interval of the false-rollback rate, in % (the error bar).
    x_low: f64,
    x_high: f64,
    y: f64,
    label: String,
    front: bool,
    best: bool,
}

#[derive(Debug, Clone)]
pub(super) struct ScatterChart {
    x_desc: String,
    y_desc: String,
    y_suffix: &'static str,
    x_max: f64,
    /// The y axis runs from `y_min` (a little below 0, or above it when the values are close
    /// together far from 0) to `y_max`.
    y_min: f64,
    y_max: f64,
    /// The limit, in %.
    limit: Option<f64>,
    dots: Vec<Dot>,
    /// Drawn in the middle when nothing can be plotted.
    empty: Option<String>,
}

/// The trade-off of a sweep: the false-rollback rate of the healthy family (x, %) against
/// the objective of the faulty family (y), one marker per row of `sweep.csv`.
///
/// `labels[i]` names row `i` (`canary analysis.threshold=3`); `points` come from
/// [`crate::report::trade_offs`], `front` from [`crate::sweep::pareto`] and `best` from
/// [`crate::sweep::recommend`], all as row indices. `objective_label` is what is optimised as
/// the sweep's table names it: `TTD` (seconds, drawn in a readable time unit) or anything
/// else for the affected share (a share in [0, 1], drawn in %). `max_false_rollback`, a rate
/// in [0, 1], draws the constraint as a dashed vertical line. Rows whose rate or objective is
/// undefined (infinite) are left out, and the caption says how many.
pub fn tradeoff(
    title: &str,
    labels: &[String],
    points: &[TradeOff],
    front: &[usize],
    best: Option<usize>,
    objective_label: &str,
    max_false_rollback: Option<f64>,
) -> Plot {
    let shown: Vec<&TradeOff> = points
        .iter()
        .filter(|p| p.false_rollback.is_finite() && p.objective.is_finite())
        .collect();
    let y_max_raw = shown.iter().map(|p| p.objective).fold(0.0, f64::max);
    let axis = YAxis::new(objective_label.eq_ignore_ascii_case("ttd"), y_max_raw);
    let dots: Vec<Dot> = shown
        .iter()
        .map(|p| Dot {
            x: p.false_rollback * 100.0,
            // A bound that is not a number (an old sweep.csv) draws no bar.
            x_low: finite_or(p.false_rollback_low, p.false_rollback) * 100.0,
            x_high: finite_or(p.false_rollback_high, p.false_rollback) * 100.0,
            y: p.objective * axis.scale,
            label: labels
                .get(p.row)
                .cloned()
                .unwrap_or_else(|| format!("row {}", p.row + 1)),
            front: front.contains(&p.row),
            best: best == Some(p.row),
        })
        .collect();
    let limit = max_false_rollback
        .filter(|l| l.is_finite())
        .map(|l| l * 100.0);
    let x_hi = dots
        .iter()
        .map(|d| d.x_high.max(d.x))
        .chain(limit)
        .fold(0.0, f64::max);
    let (y_min, y_max) = y_range(&dots);
    let rows = Rows {
        total: points.len(),
        left_out: points.len() - shown.len(),
    };
    let caption = caption(&axis, rows, best, max_false_rollback, y_min > 0.0);
    let empty = dots.is_empty().then(|| {
        if points.is_empty() {
            "sweep.csv has no row".to_string()
        } else {
            format!("no row to draw: {}", axis.why)
        }
    });
    Plot {
        name: "tradeoff".into(),
        title: format!("{title} · false rollbacks against {}", axis.objective),
        caption,
        subtitle: subtitle(&axis, rows),
        legend: legend(&dots, max_false_rollback),
        size: (1200, 760),
        body: Body::Scatter(ScatterChart {
            x_desc: "false-rollback rate (% of healthy releases rolled back)".into(),
            y_desc: axis.desc,
            y_suffix: axis.suffix,
            x_max: upper(x_hi, 1.0),
            y_min,
            y_max,
            limit,
            dots,
            empty,
        }),
    }
}

/// `x`, or `fallback` when `x` is not finite.
fn finite_or(x: f64, fallback: f64) -> f64 {
    if x.is_finite() { x } else { fallback }
}

/// The y axis: the optimised objective, the TTD (in a readable time unit) or the affected
/// share (in %), and how the plot speaks of it.
struct YAxis {
    ttd: bool,
    /// From the sweep's values to the axis.
    scale: f64,
    desc: String,
    suffix: &'static str,
    /// What y is, for the caption.
    what: &'static str,
    /// Its short name.
    objective: &'static str,
    /// Why a row may have no value.
    why: &'static str,
}

impl YAxis {
    fn new(ttd: bool, y_max_raw: f64) -> YAxis {
        let unit = TimeUnit::for_span(y_max_raw);
        if ttd {
            YAxis {
                ttd,
                scale: 1.0 / unit.secs,
                desc: format!("mean time to detect ({})", unit.name),
                suffix: "",
                what: "mean time to detect of the faulty release (ttd_s_mean, over detected runs)",
                objective: "TTD",
                why: "no detected run, so no TTD",
            }
        } else {
            YAxis {
                ttd,
                scale: 100.0,
                desc: "mean affected users (% of active users)".to_string(),
                suffix: "%",
                what: "mean share of active users affected in the faulty release (affected_share_mean)",
                objective: "affected users",
                why: "no affected share",
            }
        }
    }
}

/// How many rows the sweep has and how many have no value to draw.
#[derive(Debug, Clone, Copy)]
struct Rows {
    total: usize,
    left_out: usize,
}

/// The y range: from a little below 0, or zoomed on values close together far from 0.
fn y_range(dots: &[Dot]) -> (f64, f64) {
    let y_hi = dots.iter().map(|d| d.y).fold(0.0, f64::max);
    let y_lo = dots.iter().map(|d| d.y).fold(f64::INFINITY, f64::min);
    // Values close together far from 0 (affected shares of 11 % to 12 %) would sit on one
    // line on an axis from 0: zoom on them.
    if y_lo.is_finite() && y_lo > 0.5 * y_hi {
        let span = (y_hi - y_lo).max(0.05 * y_hi);
        ((y_lo - 0.15 * span).max(0.0), y_hi + 0.15 * span)
    } else {
        let y_max = upper(y_hi, 1.0);
        (-0.03 * y_max, y_max)
    }
}

/// The legend: grid points and front, then the recommendation and the limit when drawn.
fn legend(dots: &[Dot], max_false_rollback: Option<f64>) -> Vec<LegendItem> {
    let mut legend = vec![
        LegendItem::new("grid point", POINT, Mark::Dot),
        LegendItem::new("Pareto front", FRONT, Mark::LineDot),
    ];
    if dots.iter().any(|d| d.best) {
        legend.push(LegendItem::new("recommended", BEST, Mark::Ring));
    }
    if let Some(l) = max_false_rollback {
        legend.push(LegendItem::new(
            format!("max false rollback ({})", percent(l)),
            LIMIT,
            Mark::Dashed,
        ));
    }
    legend
}

/// What the axes are, and how many rows are left out.
fn subtitle(axis: &YAxis, rows: Rows) -> Vec<String> {
    let mut subtitle = vec![format!(
        "x: false-rollback rate of the healthy release · y: {} of the faulty release · lower left is better",
        if axis.ttd {
            "mean time to detect"
        } else {
            "mean affected users"
        }
    )];
    if rows.left_out > 0 {
        subtitle.push(format!(
            "{} of {} rows left out: {}",
            rows.left_out, rows.total, axis.why
        ));
    }
    subtitle
}

/// How to read the plot: the axes, the front, the recommendation, the limit and the rows.
fn caption(
    axis: &YAxis,
    rows: Rows,
    best: Option<usize>,
    max_false_rollback: Option<f64>,
    zoomed: bool,
) -> String {
    let YAxis {
        what,
        objective,
        why,
        ..
    } = axis;
    let recommendation = match (best, max_false_rollback) {
        (Some(_), Some(l)) => format!(
            "Green ring: the recommended row, the lowest {objective} with false rollbacks ≤ {}. ",
            percent(l)
        ),
        (Some(_), None) => format!("Green ring: the recommended row, the lowest {objective}. "),
        (None, Some(l)) => format!(
            "No row keeps false rollbacks ≤ {}, so none is recommended. ",
            percent(l)
        ),
        (None, None) => String::new(),
    };
    let limit = max_false_rollback.filter(|l| l.is_finite());
    format!(
        "One marker per row of sweep.csv (grid point × strategy): x is the false-rollback rate of \
         the healthy release (false_rollback_mean), y the {what}. Orange: the Pareto front, rows \
         that no other row beats on false rollbacks, {objective} and rollout time at once (the \
         rows of pareto.csv), joined in order of false-rollback rate and labelled with their \
         strategy and swept values; a front point that looks beaten here has the faster rollout. \
         Grey labels name the rows off the front. Horizontal bars: the 95 % Wilson interval of \
         each false-rollback rate. Labels that would overlap are left out (front labels first); \
         rows drawn at the same spot share one label. \
         {recommendation}{}{}{}",
        limit.map_or(String::new(), |_| {
            "Dashed red line: --max-false-rollback. ".to_string()
        }),
        if rows.left_out > 0 {
            format!(
                "Left out: {} of {} rows ({why}).",
                rows.left_out, rows.total
            )
        } else {
            format!("All {} rows are drawn.", rows.total)
        },
        if zoomed {
            " The y axis does not start at 0, to show the differences."
        } else {
            ""
        }
    )
}

/// A pixel rectangle: left, top, right, bottom.
type Boxed = (i32, i32, i32, i32);

fn overlaps(a: Boxed, b: Boxed) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

impl ScatterChart {
    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        body: &DrawingArea<DB, Shift>,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        // A little room below zero, so markers at 0 are not cut by the axes.
        let (x_lo, y_lo) = (-self.x_max * 0.025, self.y_min);
        let mut chart = ChartBuilder::on(body)
            .margin_left(16)
            .margin_right(36)
            .margin_top(16)
            .margin_bottom(8)
            .x_label_area_size(56)
            .y_label_area_size(84)
            .build_cartesian_2d(x_lo..self.x_max, y_lo..self.y_max)?;
        let x_fmt = |v: &f64| format!("{}%", tick(*v));
        let suffix = self.y_suffix;
        let y_fmt = move |v: &f64| format!("{}{suffix}", tick(*v));
        chart
            .configure_mesh()
            .bold_line_style(GRID)
            .light_line_style(WHITE)
            .x_labels(10)
            .y_labels(8)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .x_desc(self.x_desc.clone())
            .y_desc(self.y_desc.clone())
            .label_style(text_style(14.0, INK))
            .axis_desc_style(text_style(15.0, INK))
            .axis_style(MUTED)
            .draw()?;

        if let Some(l) = self.limit {
            chart.draw_series(DashedLineSeries::new(
                vec![(l, y_lo), (l, self.y_max)],
                8,
                5,
                LIMIT.stroke_width(2),
            ))?;
            let (lx, ly) = chart.backend_coord(&(l, self.y_max));
            root.draw_text(
                &format!("max {}%", tick(l)),
                &anchored(text_style(14.0, LIMIT), HPos::Left, VPos::Top),
                (lx + 6, ly + 4),
            )?;
        }
        self.draw_markers(&mut chart)?;
        self.draw_labels(root, &chart)?;

        if let Some(note) = &self.empty {
            let mid = (self.y_min + self.y_max) / 2.0;
            let (cx, cy) = chart.backend_coord(&(self.x_max / 2.0, mid));
            root.draw_text(
                note,
                &anchored(text_style(15.0, MUTED), HPos::Center, VPos::Center),
                (cx, cy),
            )?;
        }
        Ok(())
    }

    /// Every row, then the front over it (joined in order of false-rollback rate), then the
    /// recommendation on top.
    fn draw_markers<DB: DrawingBackend>(
        &self,
        chart: &mut ChartContext<DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        // Each rate's 95 % Wilson interval as a horizontal bar, under the markers.
        for d in self.dots.iter().filter(|d| d.x_high > d.x_low) {
            let color = if d.front { FRONT } else { POINT };
            chart.draw_series(LineSeries::new(
                [(d.x_low, d.y), (d.x_high, d.y)],
                color.mix(0.6).stroke_width(2),
            ))?;
        }
        chart.draw_series(
            self.dots
                .iter()
                .filter(|d| !d.front)
                .map(|d| Circle::new((d.x, d.y), 5, POINT.mix(0.75).filled())),
        )?;
        let mut front: Vec<&Dot> = self.dots.iter().filter(|d| d.front).collect();
        front.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
        chart.draw_series(LineSeries::new(
            front.iter().map(|d| (d.x, d.y)),
            FRONT.stroke_width(2),
        ))?;
        chart.draw_series(
            front
                .iter()
                .map(|d| Circle::new((d.x, d.y), 7, FRONT.filled())),
        )?;
        for d in self.dots.iter().filter(|d| d.best) {
            chart.draw_series([
                Circle::new((d.x, d.y), 13, BEST.stroke_width(3)),
                Circle::new((d.x, d.y), 5, BEST.filled()),
            ])?;
        }
        Ok(())
    }

    /// Labels the front points (the recommended one first, in bold), then the other rows in
    /// grey, each at the first of a few spots around its marker that stays inside the plot and
    /// clear of the labels and front markers already there; a label with no such spot is left
    /// out (front labels have the first pick).
    fn draw_labels<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &ChartContext<DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        let mut taken: Vec<Boxed> = self
            .dots
            .iter()
            .filter(|d| d.front || d.best)
            .map(|d| {
                let (px, py) = chart.backend_coord(&(d.x, d.y));
                let r = if d.best { 14 } else { 8 };
                (px - r, py - r, px + r, py + r)
            })
            .collect();
        let mut order: Vec<&Dot> = self.dots.iter().collect();
        // The recommendation, then the front, then the rest (stable: row order within each).
        order.sort_by_key(|d| (!d.best, !d.front));
        for (k, d) in order.iter().enumerate() {
            // Markers within 3 px of each other look like one: they share one label.
            let (px, py) = chart.backend_coord(&(d.x, d.y));
            let same = |o: &&&Dot| {
                let (ox, oy) = chart.backend_coord(&(o.x, o.y));
                (ox - px).abs() <= 3 && (oy - py).abs() <= 3
            };
            if order[..k].iter().any(|o| same(&o)) {
                continue;
            }
            let label = match order.iter().filter(same).count() {
                1 => d.label.clone(),
                n => format!("{} (+{} more here)", d.label, n - 1),
            };
            let style = if d.best {
                bold_style(14.0, BEST)
            } else if d.front {
                text_style(14.0, INK)
            } else {
                text_style(12.0, MUTED)
            };
            let (w, h) = root.estimate_text_size(&label, &style)?;
            let (w, h) = (w as i32, h as i32);
            let gap = match (d.best, d.front) {
                (true, _) => 17,
                (false, true) => 11,
                (false, false) => 8,
            };
            // Top-left corners: right, left, above and below, then diagonals further out.
            let spots = [
                (px + gap, py - h / 2),
                (px - gap - w, py - h / 2),
                (px - w / 2, py - gap - h),
                (px - w / 2, py + gap),
                (px + gap, py - gap - h),
                (px + gap, py + gap),
                (px - gap - w, py - gap - h),
                (px - gap - w, py + gap),
                (px + gap, py - 2 * gap - h),
                (px + gap, py + 2 * gap),
            ];
            let inside =
                |b: &Boxed| b.0 >= xr.start && b.2 <= xr.end && b.1 >= yr.start && b.3 <= yr.end;
            let spot = spots
                .into_iter()
                .map(|(x, y)| (x, y, x + w, y + h))
                .find(|b| inside(b) && !taken.iter().any(|t| overlaps(*t, *b)));
            // The recommendation is always labelled: above its marker, kept inside the plot.
            let spot = spot.or_else(|| {
                d.best.then(|| {
                    let x = (px - w / 2).min(xr.end - w).max(xr.start);
                    let y = if py - gap - h >= yr.start {
                        py - gap - h
                    } else {
                        py + gap
                    };
                    (x, y, x + w, y + h)
                })
            });
            let Some(b) = spot else { continue };
            // A white backing keeps the text readable over grid lines and markers.
            root.draw(&Rectangle::new(
                [(b.0 - 2, b.1 - 1), (b.2 + 2, b.3 + 1)],
                WHITE.mix(0.8).filled(),
            ))?;
            root.draw_text(&label, &anchored(style, HPos::Left, VPos::Top), (b.0, b.1))?;
            taken.push((b.0 - 3, b.1 - 2, b.2 + 3, b.3 + 2));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_carry_their_wilson_bars_and_off_front_rows_their_labels() {
        // Row 1 is beaten by row 0 on every axis: off the front, still labelled.
        let t = |row: usize, fr: f64, low: f64, high: f64, obj: f64| TradeOff {
            row,
            false_rollback: fr,
            false_rollback_low: low,
            false_rollback_high: high,
            objective: obj,
            rollout: 300.0,
        };
        let points = [t(0, 0.05, 0.01, 0.2, 0.1), t(1, 0.1, 0.03, 0.3, 0.2)];
        let labels = ["a".to_string(), "b".to_string()];
        let plot = tradeoff("s", &labels, &points, &[0], Some(0), "affected", Some(0.25));
        let Body::Scatter(chart) = &plot.body else {
            panic!("a scatter")
        };
        assert_eq!((chart.dots[0].x_low, chart.dots[0].x_high), (1.0, 20.0));
        assert_eq!((chart.dots[1].x_low, chart.dots[1].x_high), (3.0, 30.0));
        // The axis reaches the widest bar.
        assert!(chart.x_max >= 30.0, "{}", chart.x_max);
        let svg = plot.svg().unwrap();
        // The off-front row's label, in the smaller grey style, after the front's.
        let last = svg.rsplit("<text").next().unwrap_or("");
        assert!(
            last.contains("font-size=\"9.67") && last.contains(">\nb\n</text>"),
            "{last}"
        );
    }
}
