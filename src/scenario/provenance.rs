//! Where each value of a scenario came from: written in the file, a built-in default, or a
//! command-line override. Recorded once while the file is parsed and resolved, so that reports
//! never read the file again to guess.

use std::collections::{BTreeMap, BTreeSet};

/// The origin of one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Written in the scenario file.
    File,
    /// Not in the file (or written empty where empty means the default): a default applied.
    Default,
    /// Replaced on the command line by this flag (`--seed`).
    Override(&'static str),
}

/// The origins of a scenario's values, by field path as the file writes it (`traffic.rate`,
/// `faults[0]`, `strategies[1].analysis.interval`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Provenance {
    /// Every path present in the file, tables and arrays included.
    written: BTreeSet<String>,
    /// Present in the file, but the resolver applied the default (an empty metric list).
    defaulted: BTreeSet<String>,
    /// Paths replaced on the command line, with the flag.
    overrides: BTreeMap<String, &'static str>,
    /// 1-based line and column of each value written in the file, by field path, so that a
    /// warning about a valid file points at the value like an error does.
    locations: BTreeMap<String, (usize, usize)>,
}

impl Provenance {
    /// The paths written in a parsed scenario file.
    pub(super) fn of_document(doc: &toml::Table) -> Provenance {
        let mut p = Provenance::default();
        p.walk_table("", doc);
        p
    }

    fn walk_table(&mut self, prefix: &str, t: &toml::Table) {
        for (key, value) in t {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            self.walk(path, value);
        }
    }

    fn walk(&mut self, path: String, value: &toml::Value) {
        match value {
            toml::Value::Table(t) => self.walk_table(&path, t),
            toml::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.walk(format!("{path}[{i}]"), item);
                }
            }
            _ => {}
        }
        self.written.insert(path);
    }

    /// The resolver applied the default at `field` although the file wrote it.
    /// Records where each value of the file is written.
    pub(super) fn set_locations(&mut self, locations: BTreeMap<String, (usize, usize)>) {
        self.locations = locations;
    }

    /// The line and column of `field` in the file, else of the closest table above it that
    /// is written (`analysis` for a defaulted `analysis.min_requests`), else `None`.
    pub fn location(&self, field: &str) -> Option<(usize, usize)> {
        let mut path = field;
        loop {
            if let Some(at) = self.locations.get(path) {
                return Some(*at);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }

    pub(super) fn defaulted(&mut self, field: &str) {
        self.defaulted.insert(field.to_string());
    }

    /// `field` was replaced on the command line by `flag`.
    pub fn set_override(&mut self, field: &str, flag: &'static str) {
        self.overrides.insert(field.to_string(), flag);
    }

    /// Whether the file writes `field` (a value, a table or an array).
    pub fn is_written(&self, field: &str) -> bool {
        self.written.contains(field)
    }

    /// Where the value at `field` came from.
    pub fn origin(&self, field: &str) -> Origin {
        if let Some(flag) = self.overrides.get(field) {
            Origin::Override(flag)
        } else if self.is_written(field) && !self.defaulted.contains(field) {
            Origin::File
        } else {
            Origin::Default
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_values_tables_and_array_items() {
        let doc: toml::Table = "seed = 3\n[traffic]\nrate = 1.0\n[[faults]]\nkind = \"x\"\n"
            .parse()
            .unwrap();
        let mut p = Provenance::of_document(&doc);
        for field in [
            "seed",
            "traffic",
            "traffic.rate",
            "faults",
            "faults[0]",
            "faults[0].kind",
        ] {
            assert_eq!(p.origin(field), Origin::File, "{field}");
        }
        assert_eq!(p.origin("traffic.users"), Origin::Default);
        p.set_override("seed", "--seed");
        assert_eq!(p.origin("seed"), Origin::Override("--seed"));
        p.defaulted("traffic.rate");
        assert_eq!(p.origin("traffic.rate"), Origin::Default);
    }
}
