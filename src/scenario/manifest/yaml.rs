//! A YAML stream as a tree of nodes that remember where they were written, so that every
//! message names the line and column, and a value can be replaced in the text without
//! touching any other byte (comments, key order and quoting stay as they were).

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::fmt;

/// Where a node was written: 1-based line and column, and its bytes in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Place {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// Byte offset of the scalar's first byte (its opening quote, when quoted).
    pub start: usize,
    /// Length of the scalar in bytes, quotes included; 0 for collections.
    pub len: usize,
}

/// One YAML node.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What it holds.
    pub value: Value,
    /// Where it was written.
    pub at: Place,
}

/// A node's content: scalars as YAML 1.2's core schema reads them.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer or a float.
    Number(f64),
    /// Any other scalar, quoted or plain.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in the order written.
    Map(Vec<(String, Node)>),
}

impl Value {
    /// How the value reads in a message: `a number`, `"1m"`, `a mapping`.
    pub fn describe(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Number(x) => short(*x),
            Value::Str(s) => format!("\"{s}\""),
            Value::Seq(_) => "a sequence".into(),
            Value::Map(_) => "a mapping".into(),
        }
    }
}

/// `5`, `0.25`, `1e308`, as a person writes it.
pub fn short(x: f64) -> String {
    format!("{x}")
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Value>::deserialize(d)?;
        let span = s.referenced.span();
        Ok(Node {
            value: s.value,
            at: Place {
                line: s.referenced.line() as usize,
                column: s.referenced.column() as usize,
                start: span.byte_offset().unwrap_or(0) as usize,
                len: span.byte_len().unwrap_or(0) as usize,
            },
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
                Ok(Value::Number(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Number(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Value, E> {
                Ok(Value::Str(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                Value::deserialize(d)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Value, A::Error> {
                let mut items = Vec::new();
                while let Some(x) = s.next_element()? {
                    items.push(x);
                }
                Ok(Value::Seq(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = m.next_entry::<Key, Node>()? {
                    entries.push((k.0, v));
                }
                Ok(Value::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// A mapping key: any scalar, as text.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A stream that is not YAML: the message and, when known, the place.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// One line, without the source snippet.
    pub message: String,
    /// 1-based line and column.
    pub location: Option<(usize, usize)>,
}

/// Every document of a YAML stream (`---`-separated); empty documents are dropped.
pub fn documents(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let docs: Vec<Option<Node>> = serde_saphyr::from_multiple(text).map_err(|e| {
        let shown = e.to_string();
        let first = shown.lines().next().unwrap_or_default();
        let first = first.strip_prefix("error: ").unwrap_or(first);
        // "line 4 column 17: invalid floating point" → the place is reported on its own.
        let message = match first.split_once(": ") {
            Some((place, rest)) if place.starts_with("line ") => rest.to_string(),
            _ => first.to_string(),
        };
        SyntaxError {
            message,
            location: e
                .location()
                .map(|l| (l.line() as usize, l.column() as usize)),
        }
    })?;
    Ok(docs
        .into_iter()
        .flatten()
        .filter(|d| d.value != Value::Null)
        .collect())
}

impl Node {
    /// The entry `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The node at dotted `path` below this one: keys, `key[i]` for an item of a sequence,
    /// or, in a sequence of mappings, the item whose `name` is the segment
    /// (`spec.analysis.metrics.request-success-rate.thresholdRange.min`).
    pub fn at_path(&self, path: &str) -> Option<&Node> {
        let mut node = self;
        for seg in path.split('.') {
            let (key, index) = match seg.split_once('[') {
                Some((k, rest)) => (k, Some(rest.strip_suffix(']')?.parse::<usize>().ok()?)),
                None => (seg, None),
            };
            node = match (&node.value, key.is_empty()) {
                (Value::Seq(items), false) => items
                    .iter()
                    .find(|i| i.get("name").and_then(Node::str) == Some(key))?,
                (_, true) => node,
                _ => node.get(key)?,
            };
            if let Some(i) = index {
                match &node.value {
                    Value::Seq(items) => node = items.get(i)?,
                    _ => return None,
                }
            }
        }
        Some(node)
    }

    /// The scalar text of a string node.
    pub fn str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The items of a sequence (none for anything else).
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// The entries of a mapping (none for anything else).
    pub fn entries(&self) -> &[(String, Node)] {
        match &self.value {
            Value::Map(m) => m,
            _ => &[],
        }
    }
}

/// `text` with the scalar written at `at` replaced by `value`, written in the scalar's own
/// style (plain, `'single'` or `"double"` quoted); every other byte stays. Refuses a
/// collection or a multi-line scalar, which a one-value edit cannot replace in place.
pub fn replace_scalar(text: &str, at: Place, value: &toml::Value) -> Result<String, String> {
    let old = text
        .get(at.start..at.start + at.len)
        .filter(|o| at.len > 0 && !o.contains('\n'))
        .ok_or("only a one-line scalar can be replaced (not a mapping, a sequence or a block)")?;
    let new = match value {
        toml::Value::String(s) if s.contains(['\n', '\r']) => {
            return Err("a value written into a manifest must be one line".into());
        }
        toml::Value::String(s) => match old.chars().next() {
            Some('\'') => format!("'{}'", s.replace('\'', "''")),
            Some('"') => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
            _ if plain_safe(s) => s.clone(),
            _ => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
        },
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(x) => short(*x),
        toml::Value::Boolean(b) => b.to_string(),
        other => return Err(format!("{other} is not a scalar")),
    };
    let mut out = String::with_capacity(text.len() + new.len());
    out.push_str(&text[..at.start]);
    out.push_str(&new);
    out.push_str(&text[at.start + at.len..]);
    Ok(out)
}

/// Whether `s` reads back as the same string when written plain.
fn plain_safe(s: &str) -> bool {
    let reads_as_other = matches!(
        s,
        "" | "~" | "null" | "Null" | "NULL" | "true" | "false" | "True" | "False" | "yes" | "no"
    ) || s.parse::<f64>().is_ok();
    !reads_as_other
        && !s.starts_with([
            '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%',
            '@', '`', ' ',
        ])
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with([' ', ':'])
}

/// A unified diff of two texts with the same number of lines (scalar edits never add or
/// remove one), three lines of context, as `diff -u` prints it.
pub fn unified_diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let changed: Vec<usize> = (0..a.len().max(b.len()))
        .filter(|&i| a.get(i) != b.get(i))
        .collect();
    if changed.is_empty() {
        return String::new();
    }
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    let context = 3;
    let mut i = 0;
    while i < changed.len() {
        // Group changes whose contexts touch into one hunk.
        let first = changed[i];
        let mut last = first;
        while i + 1 < changed.len() && changed[i + 1] <= last + 2 * context + 1 {
            i += 1;
            last = changed[i];
        }
        i += 1;
        let from = first.saturating_sub(context);
        let to = (last + context + 1).min(a.len());
        let n = to - from;
        out.push_str(&format!("@@ -{},{n} +{},{n} @@\n", from + 1, from + 1));
        let line = |l: &str| {
            let mut s = l.to_string();
            if !s.ends_with('\n') {
                s.push_str("\n\\ No newline at end of file\n");
            }
            s
        };
        let mut j = from;
        while j < to {
            if a.get(j) == b.get(j) {
                out.push(' ');
                out.push_str(&line(a[j]));
                j += 1;
                continue;
            }
            // A run of changed lines: the old ones, then the new ones.
            let end = (j..to).find(|&k| a.get(k) == b.get(k)).unwrap_or(to);
            for l in &a[j..end] {
                out.push('-');
                out.push_str(&line(l));
            }
            for l in &b[j..end] {
                out.push('+');
                out.push_str(&line(l));
            }
            j = end;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# podinfo\napiVersion: flagger.app/v1beta1\nkind: Canary\n---\nspec:\n  analysis:\n    interval: \"1m\"  # tick\n    threshold: 5\n    metrics:\n      - name: request-success-rate\n        thresholdRange:\n          min: 99\n";

    #[test]
    fn documents_keep_places_across_the_stream() {
        let docs = documents(TEXT).unwrap();
        assert_eq!(docs.len(), 2);
        let t = docs[1].at_path("spec.analysis.threshold").unwrap();
        assert_eq!(t.value, Value::Number(5.0));
        assert_eq!((t.at.line, t.at.column), (8, 16));
        let min = docs[1]
            .at_path("spec.analysis.metrics.request-success-rate.thresholdRange.min")
            .unwrap();
        assert_eq!(min.value, Value::Number(99.0));
        assert_eq!(
            docs[1].at_path("spec.analysis.metrics[0].thresholdRange.min"),
            Some(min)
        );
        assert!(docs[1].at_path("spec.analysis.nothing").is_none());
    }

    #[test]
    fn replacing_a_scalar_keeps_every_other_byte_and_its_quotes() {
        let docs = documents(TEXT).unwrap();
        let at = docs[1].at_path("spec.analysis.interval").unwrap().at;
        let out = replace_scalar(TEXT, at, &toml::Value::String("30s".into())).unwrap();
        assert_eq!(out, TEXT.replace("\"1m\"", "\"30s\""));
        // The edit moved the bytes after it: places are read again from the edited text.
        let at = documents(&out).unwrap()[1]
            .at_path("spec.analysis.threshold")
            .unwrap()
            .at;
        let out = replace_scalar(&out, at, &toml::Value::Integer(8)).unwrap();
        assert!(out.contains("    threshold: 8\n"));
        let diff = unified_diff(TEXT, &out, "a.yaml", "b.yaml");
        assert_eq!(
            diff,
            "--- a.yaml\n+++ b.yaml\n@@ -4,8 +4,8 @@\n ---\n spec:\n   analysis:\n-    interval: \"1m\"  # tick\n-    threshold: 5\n+    interval: \"30s\"  # tick\n+    threshold: 8\n     metrics:\n       - name: request-success-rate\n         thresholdRange:\n"
        );
        let map = docs[1].at_path("spec.analysis").unwrap().at;
        assert!(replace_scalar(TEXT, map, &toml::Value::Integer(1)).is_err());
    }

    #[test]
    fn plain_strings_that_would_read_as_something_else_are_quoted() {
        assert!(plain_safe("10m"));
        assert!(!plain_safe("10"));
        assert!(!plain_safe("true"));
        assert!(!plain_safe("a: b"));
    }

    #[test]
    fn a_syntax_error_has_its_place_and_one_line() {
        let e = documents("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.location.is_some(), "{e:?}");
        assert!(!e.message.contains('\n'));
    }
}
