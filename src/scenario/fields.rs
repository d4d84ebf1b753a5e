//! Every field the scenario parser accepts, read from the parser itself.
//!
//! serde's derive hands each struct's field list to the deserializer (it is the list that
//! `deny_unknown_fields` checks keys against). [`accepted_fields`] walks [`RawScenario`] with a
//! deserializer that records those lists instead of reading a file, so the answer cannot drift
//! from the parser: a field added to `raw.rs` appears here at once. The tests check that
//! docs/reference.md documents each one in its table's section, and that the hand lists of
//! `hints.rs` name only fields that exist (the module is compiled for those tests only).

use super::raw::RawScenario;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;
use std::fmt;

/// A table of the scenario file and the fields it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    /// Dotted path from the top: `""` for the top level, `strategies[].steps[]`,
    /// `versions.<name>.latency`.
    pub path: String,
    /// The raw struct that reads it (`RawManual` reads `[manual]` and `promotion_delay`).
    pub reader: &'static str,
    /// Its fields, in declaration order, as the file writes them.
    pub fields: Vec<&'static str>,
}

/// The fields of `[[faults]]` tables outside the fault catalog: serde reads a fault with a
/// flattened parameter table, which hides its field list, and the catalog
/// (`model::fault`) defines every kind's own parameters (checked by the catalog tests).
pub(crate) const FAULT_FIELDS: [&str; 5] = ["kind", "target", "start", "end", "users"];

/// Every table the parser accepts, in the order the walk meets them.
pub(crate) fn accepted_fields() -> Vec<Table> {
    let found = RefCell::new(Vec::new());
    let walk = <RawScenario as serde::Deserialize>::deserialize(Walker {
        path: String::new(),
        found: &found,
    });
    if let Err(e) = walk {
        // The walk feeds every field a value of its type: a failure is a bug of the walk.
        panic!("walking the scenario's fields: {e}");
    }
    let mut tables = found.into_inner();
    tables.push(Table {
        path: "faults[]".into(),
        reader: "RawFault",
        fields: FAULT_FIELDS.to_vec(),
    });
    tables
}

#[derive(Debug)]
struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// A deserializer that yields one value of whatever type is asked for, recording the field
/// list of every struct it is asked for, with the path it met it at.
struct Walker<'a> {
    path: String,
    found: &'a RefCell<Vec<Table>>,
}

impl<'a> Walker<'a> {
    fn at(&self, path: String) -> Walker<'a> {
        Walker {
            path,
            found: self.found,
        }
    }
}

macro_rules! value {
    ($($method:ident => $visit:ident($v:expr)),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            visitor.$visit($v)
        })*
    };
}

impl<'de> Deserializer<'de> for Walker<'_> {
    type Error = Error;

    value! {
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_i64(1),
        deserialize_i16 => visit_i64(1),
        deserialize_i32 => visit_i64(1),
        deserialize_i64 => visit_i64(1),
        deserialize_u8 => visit_u64(1),
        deserialize_u16 => visit_u64(1),
        deserialize_u32 => visit_u64(1),
        deserialize_u64 => visit_u64(1),
        deserialize_f32 => visit_f64(0.5),
        deserialize_f64 => visit_f64(0.5),
        deserialize_char => visit_char('x'),
        deserialize_str => visit_str("x"),
        deserialize_string => visit_str("x"),
        deserialize_identifier => visit_str("x"),
        deserialize_bytes => visit_bytes(b"x"),
        deserialize_byte_buf => visit_bytes(b"x"),
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    /// Self-describing values: `alerts` takes its tables (a sequence), every other one a
    /// string (a duration, a percentage, a rule file's path).
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.path == "alerts" {
            self.deserialize_seq(visitor)
        } else {
            visitor.visit_str("x")
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let element = self.at(format!("{}[]", self.path));
        visitor.visit_seq(One(Some(element)))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    /// A map keyed by names (`[versions.<name>]`): one entry. A fault's flattened table: its
    /// required `kind`.
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let key = if self.path == "faults[]" {
            "kind"
        } else {
            "<name>"
        };
        let value = self.at(join(&self.path, "<name>"));
        visitor.visit_map(Entries {
            keys: vec![key],
            at: 0,
            path: self.path.clone(),
            found: self.found,
            named: Some(value),
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.found.borrow_mut().push(Table {
            path: self.path.clone(),
            reader: name,
            fields: fields.to_vec(),
        });
        visitor.visit_map(Entries {
            keys: fields.to_vec(),
            at: 0,
            path: self.path,
            found: self.found,
            named: None,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Error> {
        Err(Error("the scenario file has no enum-typed field".into()))
    }
}

/// `a.b`, or `b` at the top.
fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// A sequence of one element.
struct One<'a>(Option<Walker<'a>>);

impl<'de> SeqAccess<'de> for One<'_> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0.take().map(|w| seed.deserialize(w)).transpose()
    }
}

/// The entries of a struct (each field once) or of a map (one named entry).
struct Entries<'a> {
    keys: Vec<&'static str>,
    at: usize,
    path: String,
    found: &'a RefCell<Vec<Table>>,
    /// For a map: the walker of its one value.
    named: Option<Walker<'a>>,
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(key) = self.keys.get(self.at) else {
            return Ok(None);
        };
        seed.deserialize(de::value::StrDeserializer::<Error>::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let key = self.keys[self.at];
        self.at += 1;
        let walker = match self.named.take() {
            Some(w) if key != "kind" => w,
            _ => Walker {
                path: join(&self.path, key),
                found: self.found,
            },
        };
        seed.deserialize(walker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sections of the reference pages that document the table at `path`: those whose
    /// heading names its first segment (`[traffic]`, `[[strategies]]`), or "Top level".
    fn section(doc: &str, path: &str) -> String {
        let top = path.split(['.', '[']).next().unwrap_or("");
        let headings: Vec<(usize, &str)> = doc
            .match_indices("\n## ")
            .map(|(i, _)| (i, doc[i + 4..].lines().next().unwrap_or("")))
            .collect();
        let wanted = |h: &str| {
            if top.is_empty() {
                h == "Top level"
            } else {
                h.contains(&format!("[{top}]"))
                    || h.contains(&format!("[[{top}]]"))
                    || h.contains(&format!("[{top}."))
                    || h.contains(&format!("[[{top}."))
            }
        };
        let found: Vec<&str> = headings
            .iter()
            .enumerate()
            .filter(|(_, (_, h))| wanted(h))
            .map(|(k, &(start, _))| {
                let end = headings.get(k + 1).map_or(doc.len(), |&(e, _)| e);
                &doc[start..end]
            })
            .collect();
        assert!(
            !found.is_empty(),
            "docs/reference.md has no section for [{top}]"
        );
        found.concat()
    }

    /// The reference pages: docs/reference.md, and the pages of the detectors and of
    /// manifest strategies, which hold their own tables' references.
    fn reference() -> String {
        ["reference.md", "detectors.md", "manifests.md"]
            .iter()
            .map(|page| {
                let path = format!("{}/docs/{page}", env!("CARGO_MANIFEST_DIR"));
                std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn issue15_docs_reference_documents_every_field_the_parser_accepts() {
        let doc = reference();
        let tables = accepted_fields();
        // Written as a key: `field`, `field = …`, `parent.field`, `[table.field]`, `[[field]]`.
        let documented_in = |text: &str, field: &str| {
            [
                format!("`{field}`"),
                format!("`{field} ="),
                format!("{field} = "),
                format!(".{field}]"),
                format!(".{field}`"),
                format!("[{field}]"),
                format!("[[{field}]]"),
                format!("[{field}."),
                format!("[[{field}."),
            ]
            .iter()
            .any(|form| text.contains(form.as_str()))
        };
        let mut missing = Vec::new();
        for t in &tables {
            for field in t.fields.iter().filter(|f| !f.starts_with('_')) {
                // In its table's section, or in the section of another table the same struct
                // reads (a strategy's `analysis` has "the same fields as `[analysis]`"), or, for
                // a field that is itself a table, in that table's own section.
                let here = documented_in(&section(&doc, &t.path), field);
                let shared = tables
                    .iter()
                    .filter(|o| o.reader == t.reader && o.path != t.path)
                    .any(|o| documented_in(&section(&doc, &o.path), field));
                let own_section = t.path.is_empty()
                    && tables.iter().any(|o| o.path == *field)
                    && doc.lines().any(|l| {
                        l.starts_with("## ")
                            && (l.contains(&format!("[{field}]"))
                                || l.contains(&format!("[[{field}]]"))
                                || l.contains(&format!("[{field}.")))
                    });
                if !(here || shared || own_section) {
                    missing.push(format!("{}: {field}", t.path));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "fields the parser accepts but docs/reference.md does not document in their table's section:\n{}",
            missing.join("\n")
        );
        // The walk reaches every table: a sample of the deep ones.
        for path in [
            "",
            "traffic.diurnal",
            "versions.<name>.latency",
            "strategies[].steps[]",
            "strategies[].refresh",
            "analysis_templates.<name>.metrics[]",
            "alerts[]",
            "database.migrations[]",
        ] {
            assert!(tables.iter().any(|t| t.path == path), "{path}");
        }
    }

    #[test]
    fn hint_key_lists_name_only_fields_the_parser_accepts() {
        let fields: Vec<&str> = accepted_fields()
            .iter()
            .flat_map(|t| t.fields.clone())
            .collect();
        for key in super::super::hints::DURATION_KEYS
            .iter()
            .chain(super::super::hints::PERCENT_KEYS.iter())
        {
            assert!(
                fields.contains(key),
                "hints.rs names `{key}`, which no table accepts"
            );
        }
    }
}
