//! The team's own Kubernetes manifests as strategies: a Flagger `Canary`, an Argo `Rollout`
//! (canary or blue-green) with its `AnalysisTemplate`s, or a plain `Deployment`, read from
//! YAML and expanded into the strategy table the scenario would otherwise spell out.
//!
//! Expansion works on the scenario document before it is resolved, so a manifest strategy is
//! checked and simulated exactly like the same strategy written by hand: the expanded table
//! is what `rehearsal import --inline` prints. A strategy table names its manifest with
//! `manifest = "k8s/podinfo.yaml"` (relative to the scenario file), optionally `templates`
//! (more YAML files with templates), `[strategies.metrics]` (how each query maps onto what
//! the simulation measures) and `set` (values that replace the manifest's, by YAML path: what
//! a sweep writes, and what `sweep --emit` writes back into a copy of the manifest).
//!
//! Kubernetes objects carry many fields rehearsal does not read: unknown fields are not
//! errors. Every field that would change the controller's behaviour and is not modelled is a
//! warning that names the YAML file, line, column and path ([`fields`] lists them all).

mod argo;
pub mod fields;
mod flagger;
pub mod import;
mod source;
pub mod yaml;

pub use source::{Edited, Manifest, edit};

use crate::scenario::ScenarioError;
use source::Cx;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::{Table, Value};
use yaml::Node;

/// Sweep names of a manifest strategy's fields, with the YAML path each one stands for
/// (Flagger's Canary; any other field is swept by its YAML path).
pub const SWEEP_NAMES: &[(&str, &str)] = &[
    ("analysis.interval", "spec.analysis.interval"),
    ("analysis.threshold", "spec.analysis.threshold"),
    ("step_weight", "spec.analysis.stepWeight"),
    ("max_weight", "spec.analysis.maxWeight"),
    ("iterations", "spec.analysis.iterations"),
];

/// Keys of a strategy table that belong to the manifest, not to the strategy it expands to.
pub const KEYS: [&str; 4] = ["manifest", "templates", "metrics", "set"];

/// A scenario document with its manifest strategies expanded.
#[derive(Debug, Clone)]
pub struct Expanded {
    /// The document as if every strategy had been written in TOML.
    pub doc: Table,
    /// What the manifests say that rehearsal does not model, each once.
    pub warnings: Vec<ScenarioError>,
    /// Every manifest and template file read, with the `set` values applied.
    pub sources: Vec<Edited>,
}

/// Expands every manifest strategy of `doc`, the scenario read from `file`; manifest paths
/// are relative to `file`'s folder. All errors at once, each with its file and place.
pub fn expand(doc: &Table, file: &Path) -> Result<Expanded, Vec<ScenarioError>> {
    let mut out = doc.clone();
    let mut errors = Vec::new();
    let mut warnings: Vec<ScenarioError> = Vec::new();
    let mut sources = Vec::new();
    let mut fleet: Vec<(PathBuf, source::FleetHints)> = Vec::new();
    let mut templates: BTreeMap<String, (PathBuf, Table)> = BTreeMap::new();
    let dir = file.parent().unwrap_or(Path::new(""));
    if let Some(Value::Array(strategies)) = out.get_mut("strategies") {
        for (i, s) in strategies.iter_mut().enumerate() {
            let Some(table) = s.as_table_mut() else {
                continue;
            };
            if !table.contains_key("manifest") {
                errors.extend(check_written(table, &format!("strategies[{i}]"), file));
                continue;
            }
            match expand_one(table, &format!("strategies[{i}]"), file, dir) {
                Ok(x) => {
                    *table = x.strategy;
                    for w in x.warnings {
                        if !warnings.contains(&w) {
                            warnings.push(w);
                        }
                    }
                    fleet.push((x.manifest, x.fleet));
                    for (name, (from, t)) in x.templates {
                        match templates.get(&name) {
                            Some((other, o)) if *o != t => errors.push(ScenarioError::new(
                                &from,
                                format!("AnalysisTemplate/{name}"),
                                format!(
                                    "a different template \"{name}\" is also read from {}; template names are one namespace, as in one Kubernetes namespace",
                                    other.display()
                                ),
                            )),
                            _ => {
                                templates.insert(name, (from, t));
                            }
                        }
                    }
                    sources.extend(x.sources);
                }
                Err(e) => errors.extend(e),
            }
        }
    }
    if let Err(e) = fill_fleet(&mut out, &fleet, file) {
        errors.push(e);
    }
    if !templates.is_empty() {
        let slot = out
            .entry("analysis_templates")
            .or_insert_with(|| Value::Table(Table::new()));
        if let Value::Table(written) = slot {
            for (name, (from, t)) in templates {
                if written.contains_key(&name) {
                    errors.push(ScenarioError::new(
                        &from,
                        format!("AnalysisTemplate/{name}"),
                        format!("the scenario also defines [analysis_templates.{name}]; rename one of them"),
                    ));
                } else {
                    written.insert(name, Value::Table(t));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(Expanded {
            doc: out,
            warnings,
            sources,
        })
    } else {
        Err(errors)
    }
}

/// A strategy written in TOML: its `name` and `kind` are required, and the manifest keys
/// need a `manifest`.
fn check_written(table: &Table, path: &str, file: &Path) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    for key in ["name", "kind"] {
        if !table.contains_key(key) {
            errors.push(ScenarioError::new(
                file,
                format!("{path}.{key}"),
                "missing: this field is required (see docs/reference.md)",
            ));
        }
    }
    for key in &KEYS[1..] {
        if table.contains_key(*key) {
            errors.push(ScenarioError::new(
                file,
                format!("{path}.{key}"),
                format!("`{key}` goes with `manifest = \"<file>.yaml\"` (a Flagger Canary or Argo Rollout); a strategy written in TOML takes no `{key}`"),
            ));
        }
    }
    errors
}

/// What one manifest strategy expands to.
struct One {
    strategy: Table,
    templates: BTreeMap<String, (PathBuf, Table)>,
    fleet: source::FleetHints,
    manifest: PathBuf,
    warnings: Vec<ScenarioError>,
    sources: Vec<Edited>,
}

/// One strategy table with `manifest = …`.
fn expand_one(
    table: &Table,
    path: &str,
    file: &Path,
    dir: &Path,
) -> Result<One, Vec<ScenarioError>> {
    let toml_err =
        |key: &str, msg: String| vec![ScenarioError::new(file, format!("{path}.{key}"), msg)];
    let manifest = match table.get("manifest") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        other => {
            return Err(toml_err(
                "manifest",
                format!(
                    "{} is not allowed; expected the path of a YAML file, relative to the scenario file, e.g. \"k8s/podinfo-canary.yaml\"",
                    other.map_or("empty".to_string(), ToString::to_string)
                ),
            ));
        }
    };
    if let Some(kind) = table.get("kind") {
        return Err(toml_err(
            "kind",
            format!("{kind}: a manifest strategy takes its kind from the manifest; remove `kind`"),
        ));
    }
    let template_files: Vec<String> = match table.get("templates") {
        None => Vec::new(),
        Some(Value::Array(a)) if a.iter().all(Value::is_str) => a
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        Some(other) => {
            return Err(toml_err(
                "templates",
                format!(
                    "{other} is not allowed; expected an array of YAML file paths, e.g. [\"k8s/analysis.yaml\"]"
                ),
            ));
        }
    };
    let sets: Vec<(String, Value)> = match table.get("set") {
        None => Vec::new(),
        Some(Value::Table(t)) => t.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Some(other) => {
            return Err(toml_err(
                "set",
                format!(
                    "{other} is not allowed; expected a table of YAML paths and values, e.g. set = {{ \"spec.analysis.threshold\" = 5 }}"
                ),
            ));
        }
    };
    let mappings = source::mappings(table.get("metrics"), file, &format!("{path}.metrics"))?;

    let read = |p: &str, key: &str| -> Result<Manifest, Vec<ScenarioError>> {
        Manifest::read(&dir.join(p)).map_err(|e| match e {
            source::ReadError::Io(msg) => toml_err(key, msg),
            source::ReadError::Syntax(e) => vec![e],
        })
    };
    let mut files = vec![read(&manifest, "manifest")?];
    for (j, t) in template_files.iter().enumerate() {
        files.push(read(t, &format!("templates[{j}]"))?);
    }
    let edited = edit(&files, &sets)
        .map_err(|(k, msg)| vec![ScenarioError::new(file, format!("{path}.set.\"{k}\""), msg)])?;
    let extras = table
        .keys()
        .filter(|k| !KEYS.contains(&k.as_str()))
        .cloned()
        .collect();
    let cx = Cx::new(&edited, mappings, extras);
    let mut x = cx.expand(path)?;
    // Fields written beside `manifest` complete what the manifest cannot say.
    for (key, value) in table {
        if KEYS.contains(&key.as_str()) {
            continue;
        }
        if key == "name" {
            x.strategy.insert(key.clone(), value.clone());
            continue;
        }
        if x.strategy.contains_key(key) {
            return Err(toml_err(
                key,
                format!(
                    "the manifest sets `{key}` already ({}); change it there, or with set = {{ \"<yaml path>\" = … }}",
                    edited[0].manifest.path.display()
                ),
            ));
        }
        x.strategy.insert(key.clone(), value.clone());
    }
    Ok(One {
        strategy: x.strategy,
        templates: x.templates,
        fleet: x.fleet,
        manifest: edited[0].manifest.path.clone(),
        warnings: cx.warnings(),
        sources: edited,
    })
}

/// Writes the manifests' replicas and start-up into `[fleet]` where the scenario leaves them
/// out; manifests that disagree need the scenario to say.
fn fill_fleet(
    doc: &mut Table,
    hints: &[(PathBuf, source::FleetHints)],
    file: &Path,
) -> Result<(), ScenarioError> {
    let written = doc.get("fleet").and_then(Value::as_table).cloned();
    let mut fleet = written.clone().unwrap_or_default();
    let keys = source::FleetHints::default().entries().map(|(key, _)| key);
    for (k, key) in keys.into_iter().enumerate() {
        if fleet.contains_key(key) {
            continue;
        }
        let given: Vec<(&PathBuf, Value)> = hints
            .iter()
            .filter_map(|(p, h)| h.entries()[k].1.clone().map(|v| (p, v)))
            .collect();
        if let Some((_, first)) = given.first() {
            if let Some((other, v)) = given.iter().find(|(_, v)| v != first) {
                return Err(ScenarioError::new(
                    file,
                    format!("fleet.{key}"),
                    format!(
                        "the manifests disagree ({} in {}, {v} in {}); write [fleet] {key} in the scenario",
                        first,
                        given[0].0.display(),
                        other.display()
                    ),
                ));
            }
            fleet.insert(key.to_string(), first.clone());
        }
    }
    if !fleet.is_empty() && Some(&fleet) != written.as_ref() {
        doc.insert("fleet".into(), Value::Table(fleet));
    }
    Ok(())
}

/// The name a manifest strategy table gets: its `name`, else the manifest's
/// `metadata.name`. Used to address it (`strategies.<name>.…`) before it is expanded.
pub fn strategy_name(table: &Table, file: &Path) -> Option<String> {
    if let Some(n) = table.get("name").and_then(Value::as_str) {
        return Some(n.to_string());
    }
    let m = table.get("manifest")?.as_str()?;
    let dir = file.parent().unwrap_or(Path::new(""));
    let manifest = Manifest::read(&dir.join(m)).ok()?;
    manifest
        .controller()
        .and_then(|d| d.at_path("metadata.name"))
        .and_then(Node::str)
        .map(String::from)
}

/// Gives every manifest strategy of `doc` its name explicitly, so that a path such as
/// `strategies.podinfo.spec.analysis.threshold` finds it.
pub fn name_strategies(doc: &mut Table, file: &Path) {
    if let Some(Value::Array(strategies)) = doc.get_mut("strategies") {
        for s in strategies.iter_mut().filter_map(Value::as_table_mut) {
            if s.contains_key("manifest")
                && !s.contains_key("name")
                && let Some(name) = strategy_name(s, file)
            {
                s.insert("name".into(), Value::String(name));
            }
        }
    }
}

/// The manifest and template files of `doc`'s manifest strategies that its `set` values
/// change, as edited: what `sweep --emit` writes for the recommended grid point.
pub fn edited_files(doc: &Table, file: &Path) -> Result<Vec<Edited>, Vec<ScenarioError>> {
    let x = expand(doc, file)?;
    let mut out: Vec<Edited> = Vec::new();
    for e in x.sources {
        if e.manifest.text != e.original && !out.iter().any(|o| o.manifest.path == e.manifest.path)
        {
            out.push(e);
        }
    }
    Ok(out)
}
