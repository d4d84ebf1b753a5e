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

    /// A compact human form for tables: `2m30s`, `150ms`, `1h5m`.
    pub fn human(self) -> String {
        let us = self.0;
        if us < 1_000 {
            return format!("{us}µs");
        }
        if us < Self::MICROS_PER_SEC {
            return format!("{}ms", us / 1_000);
        }
        let total_s = us / Self::MICROS_PER_SEC;
        let (h, m, s) = (total_s / 3600, total_s / 60 % 60, total_s % 60);
        let frac_ds = (us % Self::MICROS_PER_SEC) / 100_000;
        match (h, m) {
            (0, 0) if frac_ds > 0 => format!("{s}.{frac_ds}s"),
            (0, 0) => format!("{s}s"),
            (0, _) if s == 0 => format!("{m}m"),
            (0, _) => format!("{m}m{s}s"),
            _ if m == 0 => format!("{h}h"),
            _ => format!("{h}h{m}m"),
        }
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
    }
}
