//! Where each value of a scenario file is written: field path → line and column, so that an
//! error the resolver finds points at the value to edit (`s.toml:12:9: analysis.threshold: …`).

use std::collections::BTreeMap;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The 1-based line and column of every value of a file, by field path as errors write it
/// (`traffic.rate`, `strategies[1].steps[0].pause`).
#[derive(Debug, Default)]
pub(super) struct Spans(BTreeMap<String, (usize, usize)>);

impl Spans {
    /// The spans of `text`; empty when it is not TOML (the parser reports that first).
    pub(super) fn of(text: &str) -> Spans {
        let mut spans = Spans::default();
        if let Ok(doc) = DeTable::parse(text) {
            spans.table(&Lines::of(text), "", doc.get_ref());
        }
        spans
    }

    /// Every field path with its line and column.
    pub(super) fn into_map(self) -> BTreeMap<String, (usize, usize)> {
        self.0
    }

    /// Where `field` is written, if it is.
    pub(super) fn get(&self, field: &str) -> Option<(usize, usize)> {
        self.0.get(field).copied()
    }

    fn table(&mut self, text: &Lines, prefix: &str, t: &DeTable) {
        for (key, value) in t {
            let path = if prefix.is_empty() {
                key.get_ref().to_string()
            } else {
                format!("{prefix}.{}", key.get_ref())
            };
            self.value(text, path, value);
        }
    }

    fn value(&mut self, text: &Lines, path: String, value: &Spanned<DeValue>) {
        match value.get_ref() {
            DeValue::Table(t) => self.table(text, &path, t),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(text, format!("{path}[{i}]"), item);
                }
            }
            _ => {}
        }
        self.0.insert(path, text.line_col(value.span().start));
    }
}

/// A text with the offsets of its lines, so that finding the line of an offset is a binary
/// search instead of a count from the start (a file of 10 000 strategies has 50 000 values).
struct Lines<'t> {
    text: &'t str,
    /// Byte offset of each line's first byte.
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    fn of(text: &'t str) -> Lines<'t> {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { text, starts }
    }

    /// As [`line_col`].
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        (line, self.text[start..offset].chars().count() + 1)
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_values_in_tables_arrays_and_inline_tables() {
        let text =
            "horizon = \"10m\"\n[traffic]\nrate = 3.0\n[[strategies]]\nsteps = [{ weight = 10 }]\n";
        let s = Spans::of(text);
        assert_eq!(s.get("horizon"), Some((1, 11)));
        assert_eq!(s.get("traffic.rate"), Some((3, 8)));
        assert_eq!(s.get("strategies[0].steps[0].weight"), Some((5, 21)));
        assert_eq!(s.get("traffic.users"), None);
        let text = "a\nbé = 1\n\nc";
        let lines = Lines::of(text);
        for offset in 0..=text.len() {
            assert_eq!(lines.line_col(offset), line_col(text, offset), "{offset}");
        }
    }
}
