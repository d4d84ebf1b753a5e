//! Plots: a timeline per strategy, distributions across replications, a comparison of means,
//! and a sweep's trade-off between false rollbacks and its objective.
//!
//! Each public function builds a [`Plot`] from results that already exist (it never
//! simulates); [`Plot::svg`] renders it for the HTML report and [`Plot::png`] for tickets and
//! chat. Text is laid out with Noto Sans embedded in the binary ([`register_fonts`]), so no
//! system font library is linked; SVG names the family `sans-serif` and the viewer draws it.

mod dist;
mod timeline;
mod tradeoff;

pub use dist::{affected_share, comparison, distributions, inconsistent_records};
pub use timeline::timeline;
pub use tradeoff::tradeoff;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::error::Error;
use std::sync::Once;

/// The one font family plots use.
const FAMILY: &str = "sans-serif";

/// Registers the embedded Noto Sans (regular and bold) as `sans-serif`, once per process,
/// before any text is drawn. Every render calls it; call it yourself only to draw with
/// plotters directly.
pub fn register_fonts() {
    static FONTS: Once = Once::new();
    FONTS.call_once(|| {
        for (style, bytes) in [
            (FontStyle::Normal, ttf_noto_sans::REGULAR),
            (FontStyle::Bold, ttf_noto_sans::BOLD),
        ] {
            // The font is a constant of the binary: failing to parse it is our bug.
            plotters::style::register_font(FAMILY, style, bytes)
                .unwrap_or_else(|_| panic!("the embedded Noto Sans does not parse"));
        }
    });
}

/// A plot failed to render (a backend error: out of memory, a PNG encoder failure).
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the plot \"{plot}\": {message}")]
pub struct PlotError {
    plot: String,
    message: String,
}

type DrawResult = Result<(), Box<dyn Error>>;

/// A chart ready to render: it owns the numbers it shows.
#[derive(Debug, Clone)]
pub struct Plot {
    /// File stem for the PNG, unique within a scenario: `timeline-1-canary-10`.
    pub name: String,
    /// Title drawn at the top.
    pub title: String,
    /// How to read it: what is drawn, which replication and why, the rules behind it. The HTML
    /// report prints it under the plot; the picture carries its first lines as a subtitle.
    pub caption: String,
    subtitle: Vec<String>,
    legend: Vec<LegendItem>,
    size: (u32, u32),
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    Timeline(timeline::TimelineChart),
    Cdf(dist::CdfChart),
    Rows(dist::RowsChart),
    Scatter(tradeoff::ScatterChart),
}

impl Plot {
    /// Width and height in pixels (the SVG's viewBox, the PNG's size).
    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// The plot as a standalone SVG document (to inline in HTML or save as `.svg`).
    pub fn svg(&self) -> Result<String, PlotError> {
        register_fonts();
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, self.size).into_drawing_area();
            self.draw(&root).map_err(|e| self.error(e))?;
            root.present().map_err(|e| self.error(e.into()))?;
        }
        Ok(out)
    }

    /// The plot as a PNG image.
    pub fn png(&self) -> Result<Vec<u8>, PlotError> {
        use image::ImageEncoder;
        register_fonts();
        let (w, h) = self.size;
        let mut rgb = vec![255u8; w as usize * h as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, self.size).into_drawing_area();
            self.draw(&root).map_err(|e| self.error(e))?;
            root.present().map_err(|e| self.error(e.into()))?;
        }
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(&rgb, w, h, image::ColorType::Rgb8)
            .map_err(|e| self.error(e.into()))?;
        Ok(png)
    }

    fn error(&self, e: Box<dyn Error>) -> PlotError {
        PlotError {
            plot: self.name.clone(),
            message: e.to_string(),
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let body_top = header(root, &self.title, &self.subtitle, &self.legend)?;
        let (_, body) = root.split_vertically(body_top);
        match &self.body {
            Body::Timeline(t) => t.draw(root, &body),
            Body::Cdf(c) => c.draw(root, &body),
            Body::Rows(r) => r.draw(root, &body),
            Body::Scatter(s) => s.draw(root, &body),
        }
    }
}

/// One entry of the legend strip under the title.
#[derive(Debug, Clone)]
pub(crate) struct LegendItem {
    label: String,
    color: RGBColor,
    mark: Mark,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Line,
    Dashed,
    Band,
    Triangle,
    /// A filled circle.
    Dot,
    /// A line through a filled circle.
    LineDot,
    /// A ring around a filled circle.
    Ring,
}

impl LegendItem {
    fn new(label: impl Into<String>, color: RGBColor, mark: Mark) -> LegendItem {
        LegendItem {
            label: label.into(),
            color,
            mark,
        }
    }
}

/// Tableau 10: distinct, colour-blind-aware, readable on white.
const PALETTE: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(89, 161, 79),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
];

/// The colour of strategy `i` in every distribution and comparison plot.
fn strategy_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

const INK: RGBColor = RGBColor(33, 37, 41);
const MUTED: RGBColor = RGBColor(95, 99, 104);
const GRID: RGBColor = RGBColor(225, 228, 232);

fn text_style(size: f64, color: RGBColor) -> TextStyle<'static> {
    let mut style = TextStyle::from((FAMILY, size).into_font());
    style.color = color.to_backend_color();
    style
}

fn bold_style(size: f64, color: RGBColor) -> TextStyle<'static> {
    let mut style = TextStyle::from((FAMILY, size, FontStyle::Bold).into_font());
    style.color = color.to_backend_color();
    style
}

fn anchored(style: TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

/// Draws the title, subtitle lines and legend strip; returns the height they took.
fn header<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &[String],
    legend: &[LegendItem],
) -> Result<i32, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let (width, _) = root.dim_in_pixel();
    let left = 16;
    let mut y = 12;
    root.draw_text(
        title,
        &anchored(bold_style(22.0, INK), HPos::Left, VPos::Top),
        (left, y),
    )?;
    y += 30;
    for line in subtitle {
        root.draw_text(
            line,
            &anchored(text_style(15.0, MUTED), HPos::Left, VPos::Top),
            (left, y),
        )?;
        y += 20;
    }
    if legend.is_empty() {
        return Ok(y + 6);
    }
    y += 6;
    let style = anchored(text_style(15.0, INK), HPos::Left, VPos::Center);
    let mut x = left;
    let row = 22;
    for item in legend {
        let (tw, _) = root.estimate_text_size(&item.label, &style)?;
        let w = 26 + tw as i32 + 18;
        if x > left && x + w > width as i32 - left {
            x = left;
            y += row;
        }
        let cy = y + row / 2;
        draw_mark(root, item, (x, cy))?;
        root.draw_text(&item.label, &style, (x + 26, cy))?;
        x += w;
    }
    Ok(y + row + 8)
}

/// The legend symbol of `item`, 20 px wide, centred vertically on `at.1`.
fn draw_mark<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    item: &LegendItem,
    (x, y): (i32, i32),
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let c = item.color;
    match item.mark {
        Mark::Line => root.draw(&PathElement::new(
            vec![(x, y), (x + 20, y)],
            c.stroke_width(3),
        ))?,
        Mark::Dashed => {
            for (a, b) in [(x, x + 6), (x + 9, x + 15), (x + 18, x + 20)] {
                root.draw(&PathElement::new(vec![(a, y), (b, y)], c.stroke_width(2)))?;
            }
        }
        Mark::Band => root.draw(&Rectangle::new(
            [(x, y - 8), (x + 20, y + 8)],
            c.mix(0.35).filled(),
        ))?,
        Mark::Triangle => root.draw(&TriangleMarker::new((x + 10, y), 6, c.filled()))?,
        Mark::Dot => root.draw(&Circle::new((x + 10, y), 5, c.filled()))?,
        Mark::LineDot => {
            root.draw(&PathElement::new(
                vec![(x, y), (x + 20, y)],
                c.stroke_width(2),
            ))?;
            root.draw(&Circle::new((x + 10, y), 6, c.filled()))?;
        }
        Mark::Ring => {
            root.draw(&Circle::new((x + 10, y), 9, c.stroke_width(3)))?;
            root.draw(&Circle::new((x + 10, y), 4, c.filled()))?;
        }
    }
    Ok(())
}

/// A file-name-safe form of `name`: letters, digits, `-`, `_` and `.`; anything else `_`.
pub(crate) fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    s.trim_start_matches('.').to_string()
}

/// Axis unit for durations: seconds up to 3 minutes, minutes above, hours above 3 hours.
#[derive(Debug, Clone, Copy, PartialEq)]
struct TimeUnit {
    secs: f64,
    name: &'static str,
}

impl TimeUnit {
    fn for_span(max_secs: f64) -> TimeUnit {
        if max_secs <= 180.0 {
            TimeUnit {
                secs: 1.0,
                name: "s",
            }
        } else if max_secs <= 3.0 * 3600.0 {
            TimeUnit {
                secs: 60.0,
                name: "min",
            }
        } else {
            TimeUnit {
                secs: 3600.0,
                name: "h",
            }
        }
    }
}

/// A tick label without trailing zeros: `0`, `2.5`, `100`.
fn tick(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The upper end of an axis showing values up to `max`: `max` plus 12 %, at least `floor`.
fn upper(max: f64, floor: f64) -> f64 {
    if max.is_finite() && max > 0.0 {
        (max * 1.12).max(floor)
    } else {
        floor
    }
}
