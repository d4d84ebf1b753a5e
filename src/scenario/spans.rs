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
            spans.table(text, "", doc.get_ref());
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

    fn table(&mut self, text: &str, prefix: &str, t: &DeTable) {
        for (key, value) in t {
            let path = if prefix.is_empty() {
                key.get_ref().to_string()
            } else {
                format!("{prefix}.{}", key.get_ref())
            };
            self.value(text, path, value);
        }
    }

    fn value(&mut self, text: &str, path: String, value: &Spanned<DeValue>) {
        match value.get_ref() {
            DeValue::Table(t) => self.table(text, &path, t),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(text, format!("{path}[{i}]"), item);
                }
            }
            _ => {}
        }
        self.0.insert(path, line_col(text, value.span().start));
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
    }
}
