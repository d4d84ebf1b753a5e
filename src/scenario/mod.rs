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
pub mod overrides;
mod provenance;
mod raw;
mod resolve;

pub use error::ScenarioError;
pub use provenance::{Origin, Provenance};
pub use resolve::{defaults, limits};

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

    /// Replaces the file's replications (`--replications`), recording the override.
    pub fn set_replications(&mut self, replications: u32) {
        self.replications = replications;
        self.provenance
            .set_override("replications", "--replications");
    }
}

/// Parses and validates scenario `text`; `file` names it in errors.
pub fn parse(text: &str, file: &Path) -> Result<Scenario, ScenarioError> {
    let raw: raw::RawScenario = deserialize(text, file)?;
    let doc: toml::Table = text.parse().map_err(|e| toml_error(&e, "", text, file))?;
    resolve::resolve(raw, file, Provenance::of_document(&doc))
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

/// Reads, parses and validates the scenario file at `path`.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ScenarioError::new(path, "", format!("cannot read the file: {e}")))?;
    parse(&text, path)
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
    let mut err = ScenarioError::new(file, field, plain_types(e.message().trim()));
    if let Some(span) = e.span() {
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        err.location = Some((line, col));
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
        err.field = join(&err.field, key);
        err.message = format!(
            "unknown field \"{key}\"; {}",
            error::expected_one_of(key, &allowed)
        );
    } else if let Some(rest) = err.message.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or(rest).to_string();
        err.field = join(&err.field, &key);
        err.message =
            "missing: this field is required (see the README's scenario reference)".into();
        // The span is the enclosing table, not a place to edit.
        err.location = None;
    }
    err
}

/// serde's messages name Rust types; say what to write instead.
fn plain_types(message: &str) -> String {
    [
        ("expected f64", "expected a number"),
        ("expected u64", "expected a whole number ≥ 0"),
        ("expected u32", "expected a whole number ≥ 0"),
        ("expected a boolean", "expected true or false"),
        ("expected a string", "expected a quoted string"),
    ]
    .iter()
    .fold(message.to_string(), |m, (from, to)| m.replace(from, to))
}
