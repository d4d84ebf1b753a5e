//! Scenario files: TOML in, a validated [`Scenario`] out.
//!
//! Parsing has two stages. [`raw`] mirrors the file with serde (unknown fields are errors);
//! [`resolve`](mod@resolve) applies defaults, resolves every name and checks every rule, so
//! that a run never starts on a scenario that cannot be simulated.
//!
//! ```
//! let text = r#"
//! name = "tiny"
//! horizon = "10m"
//! [traffic]
//! rate = 10.0
//! users = 100
//! [versions.old]
//! [versions.new]
//! [[strategies]]
//! name = "canary"
//! kind = "canary"
//! steps = [{ weight = 10, pause = "1m" }, { weight = 100 }]
//! "#;
//! let s = rehearsal::scenario::parse(text, std::path::Path::new("tiny.toml")).unwrap();
//! assert_eq!(s.replications, 20);
//!
//! let bad = text.replace("kind = \"canary\"", "kind = \"canery\"");
//! let e = rehearsal::scenario::parse(&bad, std::path::Path::new("tiny.toml")).unwrap_err();
//! assert_eq!(e.field, "strategies[0].kind");
//! assert!(e.message.contains("did you mean \"canary\"?"));
//! ```

mod error;
#[cfg(test)]
mod fields;
mod hints;
pub mod manifest;
pub mod overrides;
mod provenance;
mod raw;
mod resolve;
mod spans;
mod warnings;
pub mod work;

pub use error::{ScenarioError, ScenarioErrors, expected_one_of};
pub use provenance::{Origin, Provenance};
pub use resolve::{defaults, limits};
pub use warnings::warnings;

use crate::detect::alerts::AlertsSpec;
use crate::detect::{ManualSpec, ManualTrigger};
use crate::engine::SimTime;
use crate::model::{ServiceSpec, Target, VersionId};
use crate::objectives::{Objective, Release};
use crate::strategy::{ResponseSpec, StrategySpec};
use std::path::{Path, PathBuf};

/// A validated scenario: everything a run needs, nothing left to resolve.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Name; reports land in `reports/<name>/`.
    pub name: String,
    /// What the drill is about.
    pub description: String,
    /// Each run simulates `[0, horizon)`.
    pub horizon: SimTime,
    /// Master seed; replication `i` derives its streams from `(seed, i)`.
    pub seed: u64,
    /// Runs per strategy.
    pub replications: u32,
    /// The service, its traffic and faults.
    pub service: ServiceSpec,
    /// Human detection, if any.
    pub manual: Option<ManualSpec>,
    /// When the human's delay starts: at onset, or when a paging alert fires.
    pub manual_trigger: ManualTrigger,
    /// Prometheus alert rules over the run's series, if any.
    pub alerts: Option<AlertsSpec>,
    /// The service's objectives (`[slo]`), for burn-rate alerts and `budget_consumed`.
    pub slo: Option<crate::detect::burn_rate::SloSpec>,
    /// What happens after the rollback decision.
    pub response: ResponseSpec,
    /// The strategies to replay, in file order.
    pub strategies: Vec<StrategySpec>,
    /// Control events one run may handle.
    pub max_events: u64,
    /// What `check` holds every strategy to; `None` when the file states none (then a suite's
    /// objectives, or the defaults of [`crate::objectives::default_objectives`], apply).
    pub objectives: Option<Vec<Objective>>,
    /// Where each value came from: the file, a default, or a command-line override.
    pub provenance: Provenance,
    /// What the manifests of manifest strategies say that rehearsal does not model, each
    /// with its YAML file, place and path (printed with the other [`warnings`]).
    pub manifest_warnings: Vec<ScenarioError>,
    /// How runs produce their requests (set by the command line, never by the file).
    pub mode: crate::model::windows::Mode,
}

impl Scenario {
    /// Whether the release has a fault of its own: faulty when any `[[faults]]` entry targets
    /// the candidate version, healthy otherwise.
    pub fn release(&self) -> Release {
        let own = Target::Version(VersionId::Candidate);
        if self.service.faults.iter().any(|f| f.target == own) {
            Release::Faulty
        } else {
            Release::Healthy
        }
    }

    /// Replaces the file's seed (`--seed`), recording the override.
    pub fn set_seed(&mut self, seed: u64) {
        self.seed = seed;
        self.provenance.set_override("seed", "--seed");
    }

    /// Records the replication count `--precision` settled on (after the runs).
    pub fn settle_replications(&mut self, replications: u32) {
        self.replications = replications;
        self.provenance.set_override("replications", "--precision");
    }

    /// Replaces the file's replications (`--replications`), recording the override.
    pub fn set_replications(&mut self, replications: u32) {
        self.replications = replications;
        self.provenance
            .set_override("replications", "--replications");
    }
}

/// Parses and validates scenario `text`; `file` names it in errors. The first error only:
/// [`parse_all`] has them all.
pub fn parse(text: &str, file: &Path) -> Result<Scenario, ScenarioError> {
    parse_all(text, file).map_err(|mut e| e.0.swap_remove(0))
}

/// Parses and validates scenario `text`, with every error of the file: the first syntax or
/// shape error (TOML and serde stop there), else every error the resolver finds.
pub fn parse_all(text: &str, file: &Path) -> Result<Scenario, ScenarioErrors> {
    let raw: raw::RawScenario = deserialize(text, file)?;
    let doc: toml::Table = text.parse().map_err(|e| toml_error(&e, "", text, file))?;
    // Manifest strategies become the strategy tables they stand for.
    let expanded = crate::scenario::manifest::expand(&doc, file).map_err(ScenarioErrors)?;
    let (raw, doc) = if expanded.doc == doc {
        (raw, doc)
    } else {
        (
            deserialize_expanded(&expanded.doc, text, file)?,
            expanded.doc,
        )
    };
    let mut provenance = Provenance::of_document(&doc);
    provenance.set_locations(spans::Spans::of(text).into_map());
    let mut scenario = resolve::resolve(raw, file, provenance).map_err(|mut errors| {
        let spans = spans::Spans::of(text);
        for e in &mut errors {
            e.location = e.location.or_else(|| spans.get(&e.field));
        }
        // In the order of the file; those with no place (a missing field) after, as found.
        errors.sort_by_key(|e| e.location.unwrap_or((usize::MAX, 0)));
        ScenarioErrors(errors)
    })?;
    scenario.manifest_warnings = expanded.warnings;
    Ok(scenario)
}

/// The raw scenario of a document whose manifest strategies were expanded; an error in what
/// the scenario file writes keeps its place in the file.
fn deserialize_expanded(
    doc: &toml::Table,
    text: &str,
    file: &Path,
) -> Result<raw::RawScenario, ScenarioError> {
    serde_path_to_error::deserialize(toml::Value::Table(doc.clone())).map_err(|e| {
        let field = e.path().to_string();
        let mut err =
            ScenarioError::new(file, field, hints::plain_types(e.inner().message().trim()));
        err.location = spans::Spans::of(text).get(&err.field);
        err
    })
}

/// Parses a suite's objectives file: one `[objectives]` table, as in a scenario.
pub fn parse_objectives(text: &str, file: &Path) -> Result<Vec<Objective>, ScenarioError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        objectives: raw::RawObjectives,
    }
    let f: File = deserialize(text, file)?;
    resolve::resolve_objectives(
        &resolve::Resolver::new(file, Provenance::default()),
        "objectives",
        &f.objectives,
    )
}

/// Reads, parses and validates the scenario file at `path` (the first error only).
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_all(path).map_err(|mut e| e.0.swap_remove(0))
}

/// Reads, parses and validates the scenario file at `path`, with every error of the file.
pub fn load_all(path: &Path) -> Result<Scenario, ScenarioErrors> {
    let bytes = std::fs::read(path)
        .map_err(|e| ScenarioError::new(path, "", format!("cannot read the file: {e}")))?;
    parse_bytes(bytes, path)
}

/// Parses and validates the bytes of a scenario file (`path` names it in errors), with
/// every error of the file; bytes that are not UTF-8 are an error with their offset and line.
pub fn parse_bytes(bytes: Vec<u8>, path: &Path) -> Result<Scenario, ScenarioErrors> {
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..at];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let col = String::from_utf8_lossy(&before[before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)..])
            .chars()
            .count()
            + 1;
        let mut err = ScenarioError::new(
            path,
            "",
            format!("invalid UTF-8 at byte {at} (line {line}); scenario files are UTF-8 text: save the file as UTF-8"),
        );
        err.location = Some((line, col));
        err
    })?;
    parse_all(&text, path)
}

/// The scenario files directly under `dir`, sorted by name.
pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, ScenarioError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| ScenarioError::new(dir, "", format!("cannot read the folder: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ScenarioError::new(
            dir,
            "",
            "no scenario (*.toml) in this folder",
        ));
    }
    Ok(files)
}

/// Parses TOML `text` into `T`, errors naming the field path and, when known, the location.
fn deserialize<T: serde::de::DeserializeOwned>(
    text: &str,
    file: &Path,
) -> Result<T, ScenarioError> {
    let de = toml::de::Deserializer::parse(text).map_err(|e| toml_error(&e, "", text, file))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        toml_error(
            e.inner(),
            if field == "." { "" } else { &field },
            text,
            file,
        )
    })
}

fn toml_error(e: &toml::de::Error, field: &str, text: &str, file: &Path) -> ScenarioError {
    let mut err = ScenarioError::new(file, field, hints::plain_types(e.message().trim()));
    let offset = e.span().map(|span| span.start);
    if let Some(offset) = offset {
        err.location = Some(spans::line_col(text, offset));
    }
    let join = |parent: &str, key: &str| {
        if parent.is_empty() || parent == key || parent.ends_with(&format!(".{key}")) {
            if parent.is_empty() {
                key.to_string()
            } else {
                parent.to_string()
            }
        } else {
            format!("{parent}.{key}")
        }
    };
    // Unknown keys: name the key in the path and suggest the closest allowed one.
    if let Some(rest) = err.message.strip_prefix("unknown field `") {
        let (key, allowed) = rest.split_once('`').unwrap_or((rest, ""));
        let allowed: Vec<&str> = allowed.split('`').skip(1).step_by(2).collect();
        let key = key.to_string();
        let table = err
            .field
            .strip_suffix(&format!(".{key}"))
            .unwrap_or(&err.field);
        err.message = strategy_of(table, text)
            .and_then(|kind| hints::strategy_field(&key, kind))
            .unwrap_or_else(|| {
                format!(
                    "unknown field \"{key}\"; {}",
                    error::expected_one_of(&key, &allowed)
                )
            });
        err.field = join(&err.field, &key);
    } else if let Some(rest) = err.message.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or(rest).to_string();
        err.field = join(&err.field, &key);
        err.message = "missing: this field is required (see docs/reference.md)".into();
        // The span is the enclosing table, not a place to edit.
        err.location = None;
    } else if err.message == "duplicate key" {
        if let Some(key) = offset.and_then(|o| hints::key_at(text, o)) {
            err.message = format!(
                "duplicate key \"{key}\": it is already written in this table; each key may be written once"
            );
        }
    } else if let Some(m) = hints::bare_duration(&err.field, &err.message) {
        err.message = m;
    } else if err.message.starts_with("string values must be quoted")
        && let Some((line, col)) = err.location
        && let Some(m) = hints::percent_literal(text, line, col)
    {
        err.message = m;
    }
    err
}

/// When `field` is a strategy table (`strategies[2]`), its kind as written: `Some(None)` when
/// the kind is missing or unknown.
fn strategy_of(field: &str, text: &str) -> Option<Option<crate::strategy::StrategyName>> {
    let i: usize = field
        .strip_prefix("strategies[")?
        .strip_suffix(']')?
        .parse()
        .ok()?;
    let doc: toml::Table = text.parse().ok()?;
    let kind = doc
        .get("strategies")
        .and_then(|s| s.get(i))
        .and_then(|s| s.get("kind"))
        .and_then(toml::Value::as_str);
    Some(kind.and_then(crate::strategy::StrategyName::parse))
}
