//! What to write instead: the fixes that TOML's and serde's messages do not suggest.
//!
//! Each function rewrites one kind of message into the scenario's words: a value written as a
//! percentage, a duration written as a bare number, a field of another strategy kind or of the
//! analysis table, a duplicate key, Rust type names.

use super::error::suggest;
use crate::strategy::StrategyName;

/// Fields every strategy takes, whatever its kind.
const COMMON_STRATEGY_FIELDS: [&str; 3] = ["name", "kind", "analysis"];

/// Fields of an `[analysis]` table, which a strategy writes in `[strategies.analysis]`.
const ANALYSIS_FIELDS: [&str; 5] = [
    "interval",
    "threshold",
    "min_requests",
    "on_no_data",
    "metrics",
];

/// Keys whose value is a percentage written as a bare number (`weight = 10`).
pub(super) const PERCENT_KEYS: [&str; 9] = [
    "weight",
    "set_weight",
    "match_share",
    "percent",
    "preview_share",
    "step_weight",
    "max_weight",
    "step_weights",
    "step_weight_promotion",
];

/// Keys whose value is a count or a quoted percentage, as Kubernetes writes them.
const QUOTED_PERCENT_KEYS: [&str; 2] = ["max_surge", "max_unavailable"];

/// Keys whose value is a duration (`"30s"`), in every table of a scenario file.
pub(super) const DURATION_KEYS: [&str; 35] = [
    "abort_scale_down_delay",
    "initial_delay",
    "horizon",
    "slo_latency",
    "ttr_mean",
    "ttr_p95",
    "ttd_mean",
    "ttd_p95",
    "client_timeout",
    "restore_time",
    "drain",
    "start",
    "end",
    "duration",
    "lock",
    "down_duration",
    "period",
    "peak",
    "at",
    "median",
    "p99",
    "startup",
    "interval",
    "window",
    "rollback_delay",
    "verify",
    "pre_promotion",
    "post_promotion",
    "switch_delay",
    "auto_promotion_delay",
    "scale_down_delay",
    "progress_deadline",
    "min_ready",
    "delay",
    "pause",
];

/// `stepWeight` → `step_weight`.
fn snake_case(key: &str) -> String {
    let mut s = String::new();
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            if !s.is_empty() {
                s.push('_');
            }
            s.push(c.to_ascii_lowercase());
        } else if c == '-' {
            s.push('_');
        } else {
            s.push(c);
        }
    }
    s
}

/// The message for `key`, which a strategy of kind `kind` (when known) does not take: the
/// fields it does take, and where `key` belongs when it belongs elsewhere.
pub(super) fn strategy_field(key: &str, kind: Option<StrategyName>) -> Option<String> {
    let snake = snake_case(key);
    if ANALYSIS_FIELDS.contains(&snake.as_str()) {
        return Some(format!(
            "unknown field \"{key}\"; `{snake}` belongs to the analysis: write it in a [strategies.analysis] table under this strategy, or in [analysis] for every strategy"
        ));
    }
    let kind = kind?;
    let mut message = format!(
        "unknown field \"{key}\"; a {} strategy's fields are: {}",
        kind.name(),
        COMMON_STRATEGY_FIELDS
            .iter()
            .chain(kind.fields())
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
    );
    if snake != key && kind.fields().contains(&snake.as_str()) {
        message.push_str(&format!(" (did you mean \"{snake}\"?)"));
    } else if let Some(other) = other_kinds(&snake, kind) {
        message.push_str(&other);
    } else if let Some(m) = suggest(
        &snake,
        COMMON_STRATEGY_FIELDS.iter().chain(kind.fields()).copied(),
    ) {
        message.push_str(&format!(" (did you mean \"{m}\"?)"));
    }
    Some(message)
}

/// `"; `step_weight` is a field of kind = "flagger""`, when other kinds take `field`, and the
/// ladder this kind writes instead when `field` is about steps or weights.
pub(super) fn other_kinds(field: &str, kind: StrategyName) -> Option<String> {
    let owners: Vec<String> = StrategyName::ALL
        .iter()
        .filter(|k| **k != kind && k.fields().contains(&field))
        .map(|k| format!("kind = \"{}\"", k.name()))
        .collect();
    if owners.is_empty() {
        return None;
    }
    let mut s = format!("; `{field}` is a field of {}", owners.join(" or "));
    if kind.fields().contains(&"steps") && (field.contains("step") || field.contains("weight")) {
        s.push_str(&format!(
            ", while a {} writes its ladder as steps = [{{ weight = 10, pause = \"5m\" }}, {{ weight = 100 }}]",
            kind.name()
        ));
    }
    Some(s)
}

/// TOML cannot write `3%`: says what `key` takes instead, from the line of the error.
pub(super) fn percent_literal(text: &str, line: usize, col: usize) -> Option<String> {
    let line = text.lines().nth(line.checked_sub(1)?)?;
    let at = line
        .char_indices()
        .nth(col.checked_sub(1)?)
        .map(|(i, _)| i)?;
    let (before, after) = line.split_at(at);
    let value: String = after
        .chars()
        .take_while(|c| !matches!(c, ',' | '}' | ']' | '#'))
        .collect();
    let number = value.trim().strip_suffix('%')?.trim();
    let x: f64 = number.parse().ok()?;
    let key = before
        .rsplit_once('=')?
        .0
        .trim_end()
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .next()?;
    Some(if PERCENT_KEYS.contains(&key) {
        format!(
            "`{key} = {number}%` is not TOML; `{key}` is a percentage written as a number: {key} = {number}"
        )
    } else if QUOTED_PERCENT_KEYS.contains(&key) {
        format!("`{key} = {number}%` is not TOML; quote the percentage: {key} = \"{number}%\"")
    } else {
        format!(
            "`{key} = {number}%` is not TOML; `{key}` is a probability in [0, 1], e.g. {key} = {}",
            x / 100.0
        )
    })
}

/// A number where `field` takes a duration: `interval = 60` → write `"60s"`.
pub(super) fn bare_duration(field: &str, message: &str) -> Option<String> {
    let key = field.rsplit('.').next()?;
    let key = key.split('[').next()?;
    if !DURATION_KEYS.contains(&key) {
        return None;
    }
    let rest = message
        .strip_prefix("invalid type: integer `")
        .or_else(|| message.strip_prefix("invalid type: floating point `"))?;
    let (number, _) = rest.split_once('`')?;
    Some(format!(
        "{number} is a bare number; expected a duration with its unit, such as \"{number}s\" or \"{number}ms\""
    ))
}

/// The key at byte `offset` of `text` (bare or quoted), for "duplicate key" messages.
pub(super) fn key_at(text: &str, offset: usize) -> Option<String> {
    let rest = text.get(offset..)?;
    let key: String = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?.to_string(),
        None => rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
            .collect(),
    };
    (!key.is_empty()).then_some(key)
}

/// serde's messages name Rust types; say what to write instead.
pub(super) fn plain_types(message: &str) -> String {
    let mut m = message.to_string();
    // A number beyond u64 and i64: `invalid type: integer `N` as i128, expected u64`.
    if let Some(rest) = m.strip_prefix("invalid type: integer `")
        && let Some((n, expected)) = rest.split_once("` as i128, ")
    {
        m = format!("{n} is out of range; {expected}");
    }
    // A struct of raw.rs is a table in the file: `expected struct RawStep`.
    while let Some(i) = m.find("struct Raw") {
        let end = m[i + 7..]
            .find(|c: char| !c.is_alphanumeric())
            .map_or(m.len(), |j| i + 7 + j);
        m.replace_range(i..end, "a table");
    }
    for (from, to) in [
        ("expected f64", "expected a number"),
        (
            "expected u64",
            "expected a whole number from 0 to 18446744073709551615",
        ),
        (
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        ),
        ("expected a boolean", "expected true or false"),
        ("expected a string", "expected a quoted string"),
        ("expected a sequence", "expected an array [ … ]"),
        ("expected a map", "expected a table"),
    ] {
        m = m.replace(from, to);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_keys_become_snake_case() {
        assert_eq!(snake_case("stepWeight"), "step_weight");
        assert_eq!(snake_case("max-surge"), "max_surge");
    }

    #[test]
    fn percent_literals_get_the_value_their_key_takes() {
        let text =
            "[[faults]]\nrate = 3%\nsteps = [{ weight = 10%, pause = \"1m\" }]\nmax_surge = 25%\n";
        let m = percent_literal(text, 2, 8).unwrap();
        assert!(m.contains("probability in [0, 1], e.g. rate = 0.03"), "{m}");
        let m = percent_literal(text, 3, 21).unwrap();
        assert!(m.contains("weight = 10"), "{m}");
        let m = percent_literal(text, 4, 13).unwrap();
        assert!(m.contains("max_surge = \"25%\""), "{m}");
        assert_eq!(percent_literal(text, 1, 1), None);
    }

    #[test]
    fn type_names_become_what_to_write() {
        assert_eq!(
            plain_types("invalid type: integer `3`, expected struct RawStep"),
            "invalid type: integer `3`, expected a table"
        );
        assert_eq!(
            plain_types("invalid type: integer `18446744073709551616` as i128, expected u64"),
            "18446744073709551616 is out of range; expected a whole number from 0 to 18446744073709551615"
        );
    }

    #[test]
    fn keys_are_read_bare_or_quoted() {
        assert_eq!(key_at("name = 1", 0).as_deref(), Some("name"));
        assert_eq!(key_at("\"a.b\" = 1", 0).as_deref(), Some("a.b"));
        assert_eq!(key_at(" = 1", 0), None);
    }
}
