//! Numbers as people read them: `2m30s`, `7.8%`, `14,982`. Used by tables, HTML and plots;
//! the CSV and JSON keep full precision.

/// A duration in seconds, compact: `250ms`, `2.5s`, `45s`, `2m30s`, `1h5m`: the one rule of
/// [`crate::engine::human_duration`] (rounded to the nearest at the unit shown).
///
/// ```
/// use rehearsal::report::format::duration;
/// assert_eq!(duration(149.9997), "2m30s");
/// assert_eq!(duration(0.25), "250ms");
/// assert_eq!(duration(3900.0), "1h5m");
/// ```
pub fn duration(secs: f64) -> String {
    crate::engine::human_duration(secs)
}

/// A share in [0, 1] as a percentage: `0%`, `<0.01%`, `0.43%`, `7.8%`, `100%`.
///
/// ```
/// use rehearsal::report::format::percent;
/// assert_eq!(percent(0.0776), "7.8%");
/// assert_eq!(percent(0.0043), "0.43%");
/// assert_eq!(percent(1.0), "100%");
/// ```
pub fn percent(share: impl Into<f64>) -> String {
    let share: f64 = share.into();
    let p = share * 100.0;
    if !p.is_finite() || p <= 0.0 {
        "0%".into()
    } else if p < 0.01 {
        "<0.01%".into()
    } else if p < 1.0 {
        format!("{p:.2}%")
    } else if (99.95..100.0).contains(&p) {
        // Never round a partial share up to a full one.
        ">99.9%".into()
    } else if (p - p.round()).abs() < 0.05 {
        format!("{}%", p.round())
    } else {
        format!("{p:.1}%")
    }
}

/// A count, rounded, with thousands separated by commas: `14,982`.
///
/// ```
/// use rehearsal::report::format::count;
/// assert_eq!(count(359233.4), "359,233");
/// assert_eq!(count(0.4), "0");
/// ```
pub fn count(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let n = x.round().max(0.0) as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A plain number as a person would write it: `0.01`, `500`, `1.5`.
pub fn number(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Wraps `text` at spaces into lines of at most `width` characters (a longer word stays
/// whole), continuation lines indented by two spaces; every line ends with a newline.
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = "  ".into();
        } else if len > 0 {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

/// A simulated duration as scenario files write it: `0s`, `250ms`, `2m30s`.
pub fn time(t: crate::engine::SimTime) -> String {
    if t == crate::engine::SimTime::ZERO {
        "0s".into()
    } else {
        t.human()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_to_their_unit() {
        assert_eq!(duration(0.0), "0s");
        assert_eq!(duration(0.0004), "400µs");
        assert_eq!(duration(292.787), "4m53s");
        assert_eq!(duration(2.5), "2.5s");
        assert_eq!(duration(9.99), "10s");
        assert_eq!(duration(59.6), "1m");
        assert_eq!(duration(150.0), "2m30s");
        assert_eq!(duration(959.9997), "16m");
        assert_eq!(duration(3599.7), "1h");
        assert_eq!(duration(7200.0), "2h");
    }

    #[test]
    fn percentages_never_claim_all_or_nothing_wrongly() {
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.000_01), "<0.01%");
        assert_eq!(percent(0.9999), ">99.9%");
        assert_eq!(percent(0.725), "72.5%");
        assert_eq!(percent(0.3), "30%");
    }

    #[test]
    fn wrap_keeps_lines_short() {
        let w = wrap(&"word ".repeat(50), 30);
        assert!(w.lines().all(|l| l.chars().count() <= 30), "{w}");
        assert!(w.lines().skip(1).all(|l| l.starts_with("  ")), "{w}");
    }

    #[test]
    fn counts_and_numbers() {
        assert_eq!(count(999.0), "999");
        assert_eq!(count(1000.0), "1,000");
        assert_eq!(count(1_234_567.0), "1,234,567");
        assert_eq!(number(0.01), "0.01");
        assert_eq!(number(500.0), "500");
    }
}
