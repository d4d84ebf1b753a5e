//! Replications chosen by precision: `--precision 1%,5s` runs replications in deterministic
//! batches until every reported 95 % interval is narrow enough, or a cap is reached.
//!
//! A target is a half-width: `1%` bounds every share (the four rates, with their Wilson
//! intervals, and `affected_share`), `5s` every time (`ttd_s`, `ttr_s`, `rollout_s`), and
//! `METRIC=VALUE` one metric (`ttd_s=2s`, `false_rollback_rate=0.5%`,
//! `failed_requests=10`), overriding the broad target of its unit. The half-width of an
//! interval is half its width, `(high − low) / 2`, in the metric's unit (Wilson intervals are
//! not symmetric around their share: half the width is what a reader compares).
//!
//! The loop ([`until_precise`], run by `replications::run_to_precision` and per grid point
//! by `sweep::run_to_precision`) is a pure function of (scenario, seed, precision, cap):
//! replication `i` is the same run whatever the batch or thread that runs it, each batch's
//! size depends only on the summaries of the replications before it, and those are
//! collected in replication order.
//! So the replication count, and every byte of the outputs, do not depend on `-j`.
//!
//! Batch sizes: the first batch is the scenario's `replications` (`-n`). After a batch of `n`
//! replications whose widest interval is `r` times its target, the next total is
//! `⌈1.1 · n · r²⌉` (a half-width shrinks as `1/√n`), at least `n + ⌈n/10⌉` and at most `4n`,
//! and never past the cap. A metric undefined in every run so far (no detection, so no TTD)
//! reports no interval and constrains nothing; a measured metric defined in a single run has
//! no interval yet (Student-t needs two values) and asks for the most growth, `4n`.

use crate::engine::SimTime;
use crate::outcome::{ColumnUnit, Stat, StrategySummary, summarized_columns};
use std::fmt;
use std::ops::Range;

/// The default `--max-replications`: enough for a ±1 % interval on a rate near 5 % (about
/// 1,800 runs by the Wilson width) while bounding a mistyped target's cost.
pub const DEFAULT_MAX_REPLICATIONS: u32 = 2_000;

/// The proportions every summary reports, with their Wilson intervals (shares in [0, 1]).
pub const RATES: [&str; 4] = [
    "detection_probability",
    "rollback_rate",
    "false_rollback_rate",
    "promotion_rate",
];

/// How a metric's half-width is written and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A share in [0, 1], written as a percentage (`1%`) or a fraction (`0.01`).
    Share,
    /// Seconds, written as a duration (`5s`, `500ms`).
    Time,
    /// A count or instance-seconds, written as a plain number.
    Number,
}

/// Every metric a target may name, with its kind: the four rates, then the summarized
/// `runs.csv` columns (the same registry as `summary.csv`).
pub fn metrics() -> Vec<(&'static str, Kind)> {
    let mut all: Vec<(&'static str, Kind)> = RATES.iter().map(|&r| (r, Kind::Share)).collect();
    all.extend(summarized_columns().map(|c| {
        let kind = match c.unit {
            ColumnUnit::Share => Kind::Share,
            ColumnUnit::Seconds => Kind::Time,
            _ => Kind::Number,
        };
        (c.name, kind)
    }));
    all
}

/// Which intervals a target bounds.
#[derive(Debug, Clone, PartialEq)]
enum Scope {
    /// Every metric of this kind (`1%`, `5s`).
    Every(Kind),
    /// One metric by name.
    Metric(&'static str),
}

/// A parsed `--precision` with its `--max-replications` cap.
#[derive(Debug, Clone, PartialEq)]
pub struct Precision {
    /// `(scope, half-width)`, half-widths in the metric's unit (share, seconds, count).
    targets: Vec<(Scope, f64)>,
    /// The text as given, for reproduce lines and reports.
    text: String,
    /// Most replications per strategy (per family and grid point in a sweep).
    pub max_replications: u32,
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parses a share: `1%`, `0.5 %` or a fraction `0.01`, in (0, 1].
fn parse_share(v: &str) -> Option<f64> {
    let v = v.trim();
    let x = match v.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().ok()? / 100.0,
        None => v.parse::<f64>().ok()?,
    };
    (x > 0.0 && x <= 1.0).then_some(x)
}

impl Precision {
    /// Parses `--precision` (comma-separated targets) with the cap `max_replications`.
    /// Errors say which target is wrong and what is allowed.
    pub fn parse(text: &str, max_replications: u32) -> Result<Precision, String> {
        let allowed = "expected comma-separated targets: a share such as 1% (every rate and share), a duration such as 5s (every time), or METRIC=VALUE";
        let mut targets = Vec::new();
        for item in text.split(',').map(str::trim) {
            if item.is_empty() {
                return Err(format!("--precision {text:?}: an empty target; {allowed}"));
            }
            let target = match item.split_once('=') {
                Some((name, value)) => {
                    let name = name.trim();
                    let Some(&(metric, kind)) = metrics().iter().find(|(m, _)| *m == name) else {
                        let names: Vec<&str> = metrics().iter().map(|(m, _)| *m).collect();
                        return Err(format!(
                            "--precision {item:?}: unknown metric {name:?}; expected one of {}",
                            names.join(", ")
                        ));
                    };
                    let value = value.trim();
                    let half = match kind {
                        Kind::Share => parse_share(value).ok_or_else(|| {
                            format!("--precision {item:?}: {metric} is a share: expected a half-width in (0, 100 %], e.g. 1% or 0.01")
                        })?,
                        Kind::Time => SimTime::parse(value)
                            .ok()
                            .filter(|t| *t > SimTime::ZERO)
                            .map(SimTime::as_secs_f64)
                            .ok_or_else(|| {
                                format!("--precision {item:?}: {metric} is a time: expected a positive duration such as \"5s\"")
                            })?,
                        Kind::Number => value
                            .parse::<f64>()
                            .ok()
                            .filter(|x| x.is_finite() && *x > 0.0)
                            .ok_or_else(|| {
                                format!("--precision {item:?}: {metric} is a number: expected a positive half-width such as 10")
                            })?,
                    };
                    (Scope::Metric(metric), half)
                }
                None if item.ends_with('%') => {
                    let half = parse_share(item).ok_or_else(|| {
                        format!("--precision {item:?}: a share half-width must be in (0, 100 %]")
                    })?;
                    (Scope::Every(Kind::Share), half)
                }
                None => match SimTime::parse(item) {
                    Ok(t) if t > SimTime::ZERO => (Scope::Every(Kind::Time), t.as_secs_f64()),
                    _ => {
                        return Err(format!(
                            "--precision {item:?}: {allowed} (e.g. ttd_s=5s, false_rollback_rate=1%)"
                        ));
                    }
                },
            };
            if targets.iter().any(|(s, _)| *s == target.0) {
                return Err(format!(
                    "--precision {text:?}: {item:?} repeats a target given before"
                ));
            }
            targets.push(target);
        }
        if max_replications == 0 {
            return Err("--max-replications 0: expected at least 1".into());
        }
        Ok(Precision {
            targets,
            text: text.split(',').map(str::trim).collect::<Vec<_>>().join(","),
            max_replications,
        })
    }

    /// The half-width bound of `metric`, if any target covers it: its own target, else the
    /// target of its kind.
    pub fn target(&self, metric: &str) -> Option<f64> {
        let kind = metrics().into_iter().find(|(m, _)| *m == metric)?.1;
        let own = self
            .targets
            .iter()
            .find(|(s, _)| *s == Scope::Metric(metric_name(metric)));
        own.or_else(|| self.targets.iter().find(|(s, _)| *s == Scope::Every(kind)))
            .map(|(_, h)| *h)
    }

    /// The intervals among `reported` (`(strategy, metric, statistic)`) wider than their
    /// target, in the order given.
    pub fn shortfalls(&self, reported: &[(String, &'static str, Option<Stat>)]) -> Vec<Shortfall> {
        reported
            .iter()
            .filter_map(|(strategy, metric, stat)| {
                let target = self.target(metric)?;
                let stat = (*stat)?;
                let kind = metrics().into_iter().find(|(m, _)| m == metric)?.1;
                let measured = !RATES.contains(metric);
                let half_width = if measured && stat.n < 2 {
                    None
                } else {
                    Some(stat.half_width())
                };
                match half_width {
                    Some(h) if h <= target => None,
                    _ => Some(Shortfall {
                        strategy: strategy.clone(),
                        metric,
                        kind,
                        half_width,
                        target,
                    }),
                }
            })
            .collect()
    }

    /// The next replication total after `n` replications fell short by `shortfalls` (see the
    /// module doc), or `None` when nothing falls short or the cap is reached.
    pub fn next_total(&self, n: u32, shortfalls: &[Shortfall]) -> Option<u32> {
        if shortfalls.is_empty() || n >= self.max_replications {
            return None;
        }
        let ratio = shortfalls
            .iter()
            .map(|s| s.half_width.map_or(f64::INFINITY, |h| h / s.target))
            .fold(1.0, f64::max);
        let n_f = f64::from(n.max(1));
        let projected = (1.1 * n_f * ratio * ratio).ceil();
        let low = n_f + (n_f / 10.0).ceil();
        let high = 4.0 * n_f;
        let next = projected
            .clamp(low, high)
            .min(f64::from(self.max_replications));
        Some(next as u32)
    }
}

/// The `&'static str` of a metric name (for scope comparison).
fn metric_name(metric: &str) -> &'static str {
    metrics()
        .into_iter()
        .find(|(m, _)| *m == metric)
        .map_or("", |(m, _)| m)
}

/// One interval still wider than its target.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortfall {
    /// The strategy (in a sweep: with its grid point).
    pub strategy: String,
    /// The metric.
    pub metric: &'static str,
    /// How its values are written.
    pub kind: Kind,
    /// Its half-width, in the metric's unit; `None` for a measurement defined in one run.
    pub half_width: Option<f64>,
    /// The target half-width, same unit.
    pub target: f64,
}

/// A value of `kind` in the unit `--precision` takes: `1.2%`, `4.25s`, `10.5`.
fn show(kind: Kind, x: f64) -> String {
    match kind {
        Kind::Share => format!("{:.2}%", 100.0 * x),
        Kind::Time => format!("{x:.2}s"),
        Kind::Number => format!("{x:.2}"),
    }
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.half_width {
            Some(h) => write!(
                f,
                "{} {}: ±{} > ±{}",
                self.strategy,
                self.metric,
                show(self.kind, h),
                show(self.kind, self.target)
            ),
            None => write!(
                f,
                "{} {}: defined in one run only, no interval (target ±{})",
                self.strategy,
                self.metric,
                show(self.kind, self.target)
            ),
        }
    }
}

/// How a precision loop ended: reported in every output of a run under `--precision`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    /// The `--precision` text.
    pub precision: String,
    /// The cap.
    pub max_replications: u32,
    /// Replications per strategy at the end.
    pub replications: u32,
    /// Batches run (the first is `-n`).
    pub batches: u32,
    /// The intervals still wider than their target: empty when the precision was reached,
    /// else the cap stopped the loop.
    pub shortfalls: Vec<Shortfall>,
}

impl Settled {
    /// Whether every targeted interval is within its target.
    pub fn reached(&self) -> bool {
        self.shortfalls.is_empty()
    }

    /// One line for tables and notes: `precision 1%: reached with 240 replications (3
    /// batches)` or `precision 1%: NOT reached: stopped at --max-replications 500; canary
    /// false_rollback_rate: ±1.31% > ±1.00%`.
    pub fn line(&self) -> String {
        let batches = if self.batches == 1 {
            "1 batch".to_string()
        } else {
            format!("{} batches", self.batches)
        };
        if self.reached() {
            format!(
                "precision {}: every targeted 95 % interval within its half-width after {} replications ({batches})",
                self.precision, self.replications
            )
        } else {
            let worst: Vec<String> = self.shortfalls.iter().map(ToString::to_string).collect();
            format!(
                "precision {}: NOT reached: stopped at --max-replications {} ({batches}); still wider: {}",
                self.precision,
                self.max_replications,
                worst.join("; ")
            )
        }
    }
}

/// The reported statistics of a strategy summary, as `(strategy, metric, statistic)`.
pub fn reported(summary: &StrategySummary) -> Vec<(String, &'static str, Option<Stat>)> {
    let mut out: Vec<(String, &'static str, Option<Stat>)> = vec![
        (
            summary.strategy.clone(),
            "detection_probability",
            summary.detection_probability,
        ),
        (
            summary.strategy.clone(),
            "rollback_rate",
            Some(summary.rollback_rate),
        ),
        (
            summary.strategy.clone(),
            "false_rollback_rate",
            Some(summary.false_rollback_rate),
        ),
        (
            summary.strategy.clone(),
            "promotion_rate",
            Some(summary.promotion_rate),
        ),
    ];
    out.extend(
        summarized_columns().map(|c| (summary.strategy.clone(), c.name, summary.stat(c.name))),
    );
    out
}

/// Grows a family of runs batch by batch: `batch(range)` runs replications `range` (and
/// keeps them), `shortfalls()` judges everything kept so far. Starts with `first`
/// replications (at least 1, at most the cap).
pub fn until_precise<E>(
    precision: &Precision,
    first: u32,
    mut batch: impl FnMut(Range<u32>) -> Result<(), E>,
    mut shortfalls: impl FnMut() -> Vec<Shortfall>,
) -> Result<Settled, E> {
    let mut n = first.clamp(1, precision.max_replications);
    batch(0..n)?;
    let mut batches = 1;
    loop {
        let short = shortfalls();
        match precision.next_total(n, &short) {
            Some(next) => {
                batch(n..next)?;
                n = next;
                batches += 1;
            }
            None => {
                return Ok(Settled {
                    precision: precision.text.clone(),
                    max_replications: precision.max_replications,
                    replications: n,
                    batches,
                    shortfalls: short,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_by_unit_and_metric() {
        let p = Precision::parse("1%, 5s, ttd_s=2s, failed_requests=10", 100).unwrap();
        assert_eq!(p.target("false_rollback_rate"), Some(0.01));
        assert_eq!(p.target("affected_share"), Some(0.01));
        assert_eq!(p.target("ttr_s"), Some(5.0));
        assert_eq!(p.target("ttd_s"), Some(2.0));
        assert_eq!(p.target("failed_requests"), Some(10.0));
        assert_eq!(p.target("instance_seconds"), None);
        assert_eq!(p.to_string(), "1%,5s,ttd_s=2s,failed_requests=10");
        let only = Precision::parse("false_rollback_rate=0.02", 100).unwrap();
        assert_eq!(only.target("false_rollback_rate"), Some(0.02));
        assert_eq!(only.target("rollback_rate"), None);
    }

    #[test]
    fn bad_targets_say_what_is_allowed() {
        for (text, says) in [
            ("1", "a share such as 1%"),
            ("0%", "(0, 100 %]"),
            (
                "ttd=5s",
                "unknown metric \"ttd\"; expected one of detection_probability",
            ),
            ("ttd_s=5", "expected a positive duration such as \"5s\""),
            ("false_rollback_rate=5s", "e.g. 1% or 0.01"),
            ("1%,2%", "repeats a target"),
            ("1%,", "an empty target"),
        ] {
            let e = Precision::parse(text, 100).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
        assert!(Precision::parse("1%", 0).is_err());
    }

    fn short(h: Option<f64>, target: f64) -> Shortfall {
        Shortfall {
            strategy: "s".into(),
            metric: "ttd_s",
            kind: Kind::Time,
            half_width: h,
            target,
        }
    }

    #[test]
    fn batches_grow_by_the_inverse_square_law_within_bounds() {
        let p = Precision::parse("5s", 1000).unwrap();
        // Twice too wide: 1.1 × 30 × 4 = 132 > 4 × 30, so 120.
        assert_eq!(p.next_total(30, &[short(Some(10.0), 5.0)]), Some(120));
        // 1.5 times too wide: ⌈1.1 × 30 × 2.25⌉ = 75.
        assert_eq!(p.next_total(30, &[short(Some(7.5), 5.0)]), Some(75));
        // Barely too wide: ⌈1.1 × 30 × 1.002²⌉ = 34; the floor n + ⌈n/10⌉ = 33 holds below.
        assert_eq!(p.next_total(30, &[short(Some(5.01), 5.0)]), Some(34));
        assert_eq!(p.next_total(30, &[short(Some(4.0), 3.9)]), Some(35));
        assert_eq!(p.next_total(100, &[short(Some(3.91), 3.9)]), Some(111));
        // No interval yet: 4n; the cap bounds everything.
        assert_eq!(p.next_total(300, &[short(None, 5.0)]), Some(1000));
        assert_eq!(p.next_total(1000, &[short(None, 5.0)]), None);
        assert_eq!(p.next_total(30, &[]), None);
    }

    #[test]
    fn a_zero_rate_needs_the_wilson_width_of_its_target() {
        // 0 out of n has the Wilson interval [0, z²/(n + z²)]: a half-width of
        // z²/(2(n + z²)) ≤ 1 % needs n ≥ z²(1/0.02 − 1) = 188.2, so 189 runs.
        let p = Precision::parse("false_rollback_rate=1%", 10_000).unwrap();
        let n = std::cell::Cell::new(0);
        let settled = until_precise::<()>(
            &p,
            30,
            |r| {
                n.set(r.end);
                Ok(())
            },
            || {
                let stat = Stat::of_proportion(0, n.get() as usize);
                p.shortfalls(&[("s".into(), "false_rollback_rate", stat)])
            },
        )
        .unwrap();
        assert!(settled.reached());
        assert!(settled.replications >= 189, "{}", settled.replications);
        let (_, high) = crate::outcome::wilson95(0, settled.replications as usize);
        assert!(high / 2.0 <= 0.01);
        // The loop overshoots by at most its growth rule: 1.1 × the projected need, ≤ 4n.
        assert!(settled.replications <= 4 * 189, "{}", settled.replications);
    }

    #[test]
    fn the_cap_is_reported_with_what_stayed_wide() {
        let p = Precision::parse("false_rollback_rate=1%", 50).unwrap();
        let n = std::cell::Cell::new(0);
        let settled = until_precise::<()>(
            &p,
            30,
            |r| {
                n.set(r.end);
                Ok(())
            },
            || {
                p.shortfalls(&[(
                    "canary".into(),
                    "false_rollback_rate",
                    Stat::of_proportion(0, n.get() as usize),
                )])
            },
        )
        .unwrap();
        // 0/50: the Wilson half-width is z²/(2(50 + z²)) = 3.8415/107.683 = 3.567 %.
        assert_eq!(settled.replications, 50);
        assert!(!settled.reached());
        let line = settled.line();
        assert!(
            line.contains("NOT reached: stopped at --max-replications 50")
                && line.contains("canary false_rollback_rate: ±3.57% > ±1.00%"),
            "{line}"
        );
    }

    #[test]
    fn undefined_metrics_constrain_nothing_and_single_values_have_no_interval() {
        let p = Precision::parse("5s", 100).unwrap();
        let one = Stat::of(&[10.0]);
        let s = p.shortfalls(&[("a".into(), "ttd_s", None), ("b".into(), "ttr_s", one)]);
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].strategy.as_str(), s[0].half_width), ("b", None));
    }
}
