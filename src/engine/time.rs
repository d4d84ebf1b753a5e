//! Simulated time: an integer count of microseconds since the rollout began.

use std::fmt;
use std::ops::{Add, Sub};

/// A point in simulated time, or a span of it, in integer microseconds.
///
/// Time 0 is the moment the rollout begins. Integer time keeps the event order exact:
/// two events are simultaneous only when they really are, never because of rounding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

impl SimTime {
    /// The rollout's start.
    pub const ZERO: SimTime = SimTime(0);
    /// Microseconds in one second.
    pub const MICROS_PER_SEC: u64 = 1_000_000;

    /// `s` whole seconds.
    pub const fn from_secs(s: u64) -> SimTime {
        SimTime(s * Self::MICROS_PER_SEC)
    }

    /// `ms` whole milliseconds.
    pub const fn from_millis(ms: u64) -> SimTime {
        SimTime(ms * 1_000)
    }

    /// The time in microseconds.
    pub const fn micros(self) -> u64 {
        self.0
    }

    /// The time in (fractional) seconds, for reports and rate arithmetic only.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / Self::MICROS_PER_SEC as f64
    }

    /// `self + d`, saturating at the largest representable time.
    pub fn saturating_add(self, d: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }

    /// `self - d`, or zero when `d` is later.
    pub fn saturating_sub(self, d: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(d.0))
    }

    /// Parses a duration written as in scenario files: `"30s"`, `"5m"`, `"1h 30m"`, `"250ms"`.
    ///
    /// The resolution is one microsecond; finer parts are an error rather than silently dropped.
    ///
    /// ```
    /// use rehearsal::engine::SimTime;
    /// assert_eq!(SimTime::parse("1m30s").unwrap(), SimTime::from_secs(90));
    /// assert_eq!(SimTime::parse("250ms").unwrap(), SimTime::from_millis(250));
    /// assert!(SimTime::parse("5 parsecs").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<SimTime, String> {
        let d = humantime::parse_duration(text.trim()).map_err(|e| e.to_string())?;
        if d.subsec_nanos() % 1_000 != 0 {
            return Err("durations resolve to whole microseconds".into());
        }
        u64::try_from(d.as_micros())
            .map(SimTime)
            .map_err(|_| "duration too long".into())
    }

    /// A compact human form for tables: `2m30s`, `150ms`, `1h5m`, by the one rounding rule
    /// of every table, report and message ([`human_duration`]).
    pub fn human(self) -> String {
        human_duration(self.as_secs_f64())
    }
}

/// A duration in seconds, compact: `400µs`, `250ms`, `2.5s`, `45s`, `2m30s`, `1h5m`.
///
/// The one rounding rule of every duration rehearsal prints (tables, `index.html`, reports,
/// objectives, messages), so that 292.787 s reads `4m53s` everywhere: below 1 ms whole
/// microseconds, below 1 s whole milliseconds, below 10 s tenths, below 1 h whole seconds,
/// above whole minutes, each rounded to the nearest (never truncated). Zero, negative and
/// non-finite values read `0s`.
///
/// ```
/// use rehearsal::engine::human_duration;
/// assert_eq!(human_duration(292.787), "4m53s");
/// assert_eq!(human_duration(149.9997), "2m30s");
/// assert_eq!(human_duration(0.25), "250ms");
/// ```
pub fn human_duration(secs: f64) -> String {
    if !secs.is_finite() || secs <= 0.0 {
        return "0s".into();
    }
    if secs < 0.000_999_5 {
        return format!("{}µs", (secs * 1e6).round().max(1.0));
    }
    if secs < 0.9995 {
        return format!("{}ms", (secs * 1000.0).round());
    }
    if secs < 9.95 {
        let tenths = (secs * 10.0).round() as u64;
        return if tenths.is_multiple_of(10) {
            format!("{}s", tenths / 10)
        } else {
            format!("{}.{}s", tenths / 10, tenths % 10)
        };
    }
    let s = secs.round() as u64;
    if s < 3600 {
        return match (s / 60, s % 60) {
            (0, s) => format!("{s}s"),
            (m, 0) => format!("{m}m"),
            (m, s) => format!("{m}m{s}s"),
        };
    }
    let m = (secs / 60.0).round() as u64;
    match (m / 60, m % 60) {
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m}m"),
    }
}

impl Add for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimTime) -> SimTime {
        SimTime(self.0 + rhs.0)
    }
}

impl Sub for SimTime {
    type Output = SimTime;
    fn sub(self, rhs: SimTime) -> SimTime {
        SimTime(self.0 - rhs.0)
    }
}

impl fmt::Display for SimTime {
    /// Seconds with microsecond precision, the form every report uses: `150.000000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}",
            self.0 / Self::MICROS_PER_SEC,
            self.0 % Self::MICROS_PER_SEC
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scenario_durations() {
        assert_eq!(SimTime::parse("30s"), Ok(SimTime::from_secs(30)));
        assert_eq!(SimTime::parse("5m"), Ok(SimTime::from_secs(300)));
        assert_eq!(SimTime::parse("1h"), Ok(SimTime::from_secs(3600)));
        assert_eq!(SimTime::parse("1h 30m"), Ok(SimTime::from_secs(5400)));
        assert_eq!(SimTime::parse("0s"), Ok(SimTime::ZERO));
        assert!(SimTime::parse("1ns").is_err());
        assert!(SimTime::parse("-5s").is_err());
        assert!(SimTime::parse("").is_err());
    }

    #[test]
    fn displays_seconds_exactly() {
        assert_eq!(SimTime(150_000_001).to_string(), "150.000001");
        assert_eq!(SimTime::ZERO.to_string(), "0.000000");
    }

    #[test]
    fn human_form_is_compact() {
        assert_eq!(SimTime::from_secs(150).human(), "2m30s");
        assert_eq!(SimTime::from_secs(3900).human(), "1h5m");
        assert_eq!(SimTime::from_millis(250).human(), "250ms");
        assert_eq!(SimTime::from_millis(2500).human(), "2.5s");
        assert_eq!(SimTime::from_secs(600).human(), "10m");
        // Rounded to the nearest, never truncated: the same text in every table.
        assert_eq!(SimTime(292_787_000).human(), "4m53s");
        assert_eq!(SimTime(400).human(), "400µs");
        assert_eq!(SimTime::from_millis(12_500).human(), "13s");
    }
}
