//! A recording as OpenMetrics text with timestamps, the input of `promtool tsdb
//! create-blocks-from openmetrics` (backfill).
//!
//! Families follow the OpenMetrics specification
//! (<https://github.com/prometheus/OpenMetrics/blob/main/specification/OpenMetrics.md>):
//! a `*_total` series belongs to a counter family named without the suffix; `*_bucket` and
//! `*_count` series sharing a base name form a histogram family, whose points are written
//! one timestamp at a time (buckets in `le` order, then the count); everything else is a
//! gauge. Every series of a family is written together, each series' samples in time order,
//! and the text ends with `# EOF`. New series of the store flow through unchanged.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::Recording;
use crate::detect::alerts::Labels;
use crate::detect::alerts::series::Series;
use crate::engine::SimTime;

/// What one OpenMetrics family is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A monotonic count (`*_total`).
    Counter,
    /// Cumulative buckets and their count.
    Histogram,
    /// A value that goes up and down.
    Gauge,
}

impl Kind {
    /// The type's name in `# TYPE` lines.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
            Kind::Gauge => "gauge",
        }
    }
}

/// The family of metric `name` among `names` (all the recording's metric names): its base
/// name and type.
pub fn family<'a>(name: &'a str, names: &[&str]) -> (&'a str, Kind) {
    if let Some(base) = name.strip_suffix("_total") {
        return (base, Kind::Counter);
    }
    for suffix in ["_bucket", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && names.contains(&format!("{base}_bucket").as_str())
        {
            return (base, Kind::Histogram);
        }
    }
    (name, Kind::Gauge)
}

/// Writes `rec` with the run's t = 0 at `start_ms` (milliseconds since the Unix epoch).
/// Fails when a sample would fall before the epoch.
pub fn write(rec: &Recording, start_ms: i64, w: &mut impl Write) -> io::Result<()> {
    let names: Vec<&str> = rec
        .series
        .iter()
        .map(|s| s.labels.get("__name__"))
        .collect();
    let mut families: Vec<(&str, Kind, Vec<&Series>)> = Vec::new();
    for (s, name) in rec.series.iter().zip(&names) {
        let (base, kind) = family(name, &names);
        match families.iter_mut().find(|f| f.0 == base) {
            Some(f) => f.2.push(s),
            None => families.push((base, kind, vec![s])),
        }
    }
    let stamp = |t: SimTime| -> io::Result<String> {
        let ms = start_ms + (t.micros() / 1000) as i64 - (rec.run_start.micros() / 1000) as i64;
        if ms < 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a sample falls before 1970-01-01: choose a later --start",
            ));
        }
        Ok(format!("{}.{:03}", ms / 1000, ms % 1000))
    };
    let mut out = String::new();
    for (base, kind, series) in families {
        writeln!(out, "# HELP {base} {}", super::help(base)).ok();
        writeln!(out, "# TYPE {base} {}", kind.name()).ok();
        if kind == Kind::Histogram {
            // One point per (labels but `le`, timestamp): its buckets, then its count.
            let mut groups: Vec<(Labels, Vec<&Series>)> = Vec::new();
            for s in series {
                let key = s.labels.filter(&["le".into(), "__name__".into()], false);
                match groups.iter_mut().find(|g| g.0 == key) {
                    Some(g) => g.1.push(s),
                    None => groups.push((key, vec![s])),
                }
            }
            for (_, members) in groups {
                let points = members[0].samples().len();
                for i in 0..points {
                    for s in &members {
                        let (t, x) = s.samples()[i];
                        writeln!(out, "{} {} {}", selector(&s.labels), value(x), stamp(t)?).ok();
                    }
                }
            }
        } else {
            for s in series {
                let sel = selector(&s.labels);
                for &(t, x) in s.samples() {
                    writeln!(out, "{sel} {} {}", value(x), stamp(t)?).ok();
                }
            }
        }
        w.write_all(out.as_bytes())?;
        out.clear();
    }
    w.write_all(b"# EOF\n")
}

/// `name{label="value",…}`, label values escaped as OpenMetrics and PromQL both read them.
pub fn selector(labels: &Labels) -> String {
    let mut s = labels.get("__name__").to_string();
    let rest: Vec<String> = labels
        .0
        .iter()
        .filter(|(k, _)| k != "__name__")
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if !rest.is_empty() {
        s.push('{');
        s.push_str(&rest.join(","));
        s.push('}');
    }
    s
}

/// A label value with `\`, `"` and newlines escaped.
pub fn escape(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// A sample value: Rust's shortest round-trip decimal (Go's `ParseFloat` reads it back to the
/// same `f64`), infinities and NaN as OpenMetrics spells them.
pub fn value(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_follow_the_openmetrics_suffixes() {
        let names = [
            "http_requests_total",
            "d_seconds_bucket",
            "d_seconds_count",
            "up",
            "x_count",
        ];
        assert_eq!(
            family("http_requests_total", &names),
            ("http_requests", Kind::Counter)
        );
        assert_eq!(
            family("d_seconds_bucket", &names),
            ("d_seconds", Kind::Histogram)
        );
        assert_eq!(
            family("d_seconds_count", &names),
            ("d_seconds", Kind::Histogram)
        );
        // A `_count` without buckets beside it is a gauge of its own.
        assert_eq!(family("x_count", &names), ("x_count", Kind::Gauge));
        assert_eq!(family("up", &names), ("up", Kind::Gauge));
    }

    #[test]
    fn values_and_labels_are_escaped_for_the_text_formats() {
        assert_eq!(value(12.0), "12");
        assert_eq!(value(0.1), "0.1");
        assert_eq!(value(f64::INFINITY), "+Inf");
        assert_eq!(value(f64::NAN), "NaN");
        let l = Labels::new([("__name__", "m"), ("v", "a\"b\\c\nd")]);
        assert_eq!(selector(&l), r#"m{v="a\"b\\c\nd"}"#);
    }
}
