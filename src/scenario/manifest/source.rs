//! Reading manifest files, applying `set` values to their text, and the context that turns
//! their objects into strategy tables with errors and warnings at their places.

use super::fields::{self, Treatment};
use super::yaml::{self, Node, Value as Y};
use crate::engine::SimTime;
use crate::scenario::ScenarioError;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// One YAML file: its text and documents.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// As found from the scenario's folder.
    pub path: PathBuf,
    /// The text, after any `set` edits.
    pub text: String,
    /// Its documents, in order.
    pub docs: Vec<Node>,
}

/// Why a file could not be read.
#[derive(Debug)]
pub(super) enum ReadError {
    /// Missing or unreadable: a message for the field that names it.
    Io(String),
    /// Not YAML: an error at its place in the file.
    Syntax(ScenarioError),
}

impl Manifest {
    /// Reads and parses the file at `path`.
    pub(super) fn read(path: &Path) -> Result<Manifest, ReadError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ReadError::Io(format!(
                "cannot read the manifest \"{}\": {e}",
                path.display()
            ))
        })?;
        Manifest::parse(path, text).map_err(ReadError::Syntax)
    }

    fn parse(path: &Path, text: String) -> Result<Manifest, ScenarioError> {
        let docs = yaml::documents(&text).map_err(|e| {
            let mut err = ScenarioError::new(
                path,
                "",
                format!("not YAML: {}; a manifest is a Kubernetes YAML file (documents separated by ---)", e.message),
            );
            err.location = e.location;
            err
        })?;
        Ok(Manifest {
            path: path.to_path_buf(),
            text,
            docs,
        })
    }

    /// The controller object: the Flagger Canary or Argo Rollout of the file, else its one
    /// Deployment (a rolling update).
    pub fn controller(&self) -> Option<&Node> {
        let of = |kind: &'static str| self.docs.iter().find(|d| object_kind(d) == Some(kind));
        of("Canary")
            .or_else(|| of("Rollout"))
            .or_else(|| of("Deployment"))
    }
}

/// The kind of a document, when it is one rehearsal reads: `Canary` and `MetricTemplate`
/// (flagger.app), `Rollout`, `AnalysisTemplate` (argoproj.io; a ClusterAnalysisTemplate reads
/// as one), `Deployment`, `HorizontalPodAutoscaler`.
pub(super) fn object_kind(doc: &Node) -> Option<&'static str> {
    let api = doc.get("apiVersion").and_then(Node::str).unwrap_or("");
    let group = api.split('/').next().unwrap_or("");
    match (group, doc.get("kind").and_then(Node::str)?) {
        ("flagger.app", "Canary") => Some("Canary"),
        ("flagger.app", "MetricTemplate") => Some("MetricTemplate"),
        ("argoproj.io", "Rollout") => Some("Rollout"),
        ("argoproj.io", "AnalysisTemplate" | "ClusterAnalysisTemplate") => Some("AnalysisTemplate"),
        ("apps", "Deployment") => Some("Deployment"),
        ("autoscaling", "HorizontalPodAutoscaler") => Some("HorizontalPodAutoscaler"),
        _ => None,
    }
}

/// A manifest or template file as read, and as edited by `set`.
#[derive(Debug, Clone)]
pub struct Edited {
    /// The file with the `set` values written in.
    pub manifest: Manifest,
    /// The text as read.
    pub original: String,
}

/// Applies `sets` (YAML path → value) to `files` (the manifest first): a path is the
/// manifest's controller object's (`spec.analysis.threshold`) or names a document
/// (`AnalysisTemplate/success-rate.spec.metrics[0].failureLimit`). Only values written in the
/// file can be set. Errors name the path.
pub fn edit(files: &[Manifest], sets: &[(String, Value)]) -> Result<Vec<Edited>, (String, String)> {
    let mut out: Vec<Edited> = files
        .iter()
        .map(|m| Edited {
            manifest: m.clone(),
            original: m.text.clone(),
        })
        .collect();
    for (key, value) in sets {
        let (doc_ref, path) = match key.split_once('.') {
            Some((first, rest)) if first.contains('/') => (Some(first), rest),
            _ => (None, key.as_str()),
        };
        let found = out.iter().enumerate().find_map(|(fi, e)| {
            let m = &e.manifest;
            let doc = match doc_ref {
                None if fi == 0 => m.controller(),
                None => None,
                Some(r) => {
                    let (kind, name) = r.split_once('/')?;
                    m.docs.iter().find(|d| {
                        d.get("kind").and_then(Node::str) == Some(kind)
                            && d.at_path("metadata.name").and_then(Node::str) == Some(name)
                    })
                }
            }?;
            Some((fi, doc.at_path(path)?.at))
        });
        let Some((fi, at)) = found else {
            return Err((
                key.clone(),
                format!(
                    "no value at \"{key}\" in {}; `set` replaces values written in the manifest (a path such as \"spec.analysis.threshold\", or \"AnalysisTemplate/<name>.spec.metrics[0].failureLimit\")",
                    out[0].manifest.path.display()
                ),
            ));
        };
        let e = &mut out[fi];
        let text = yaml::replace_scalar(&e.manifest.text, at, value)
            .map_err(|m| (key.clone(), format!("cannot set \"{key}\": {m}")))?;
        e.manifest = Manifest::parse(&e.manifest.path, text).map_err(|err| {
            (
                key.clone(),
                format!("the value {value} does not fit there: {}", err.message),
            )
        })?;
    }
    Ok(out)
}

/// How one query maps onto what the simulation measures: a `[strategies.metrics]` entry.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Mapping {
    /// `success_rate`, `error_rate`, `latency_p99` or `bad_write_rate`.
    pub measure: String,
    /// Argo: `service` or `candidate`.
    pub scope: Option<String>,
    /// The range the query reads.
    pub window: Option<String>,
    /// Flagger: the unit of the query's result: `ratio` or `percent` for rates, `ms` or `s`
    /// for latency.
    pub unit: Option<String>,
}

const MEASURES: [&str; 4] = [
    "success_rate",
    "error_rate",
    "latency_p99",
    "bad_write_rate",
];

/// `[strategies.metrics]`: each entry's keys checked, errors at the TOML path.
pub(super) fn mappings(
    table: Option<&Value>,
    file: &Path,
    path: &str,
) -> Result<BTreeMap<String, Mapping>, Vec<ScenarioError>> {
    let err = |field: String, msg: String| vec![ScenarioError::new(file, field, msg)];
    let Some(table) = table else {
        return Ok(BTreeMap::new());
    };
    let Some(table) = table.as_table() else {
        return Err(err(
            path.to_string(),
            "expected a table: [strategies.metrics] \"<query name>\" = { measure = \"success_rate\" }".into(),
        ));
    };
    let mut out = BTreeMap::new();
    for (name, entry) in table {
        let field = format!("{path}.\"{name}\"");
        let Some(entry) = entry.as_table() else {
            return Err(err(
                field,
                "expected { measure = \"success_rate\", scope = \"service\", window = \"5m\" }"
                    .into(),
            ));
        };
        for key in entry.keys() {
            if !["measure", "scope", "window", "unit"].contains(&key.as_str()) {
                return Err(err(
                    format!("{field}.{key}"),
                    format!(
                        "unknown field \"{key}\"; {}",
                        crate::scenario::expected_one_of(
                            key,
                            &["measure", "scope", "window", "unit"]
                        )
                    ),
                ));
            }
        }
        let text = |key: &str| -> Result<Option<String>, Vec<ScenarioError>> {
            match entry.get(key) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(v) => Err(err(
                    format!("{field}.{key}"),
                    format!("{v} is not allowed; expected a string"),
                )),
            }
        };
        let Some(measure) = text("measure")? else {
            return Err(err(
                format!("{field}.measure"),
                format!(
                    "missing: what the query \"{name}\" measures, one of {}",
                    MEASURES.join(", ")
                ),
            ));
        };
        if !MEASURES.contains(&measure.as_str()) {
            return Err(err(
                format!("{field}.measure"),
                format!(
                    "unknown measure \"{measure}\"; {}",
                    crate::scenario::expected_one_of(&measure, &MEASURES)
                ),
            ));
        }
        let unit = text("unit")?;
        let units: &[&str] = if measure == "latency_p99" {
            &["ms", "s"]
        } else {
            &["ratio", "percent"]
        };
        if let Some(u) = &unit
            && !units.contains(&u.as_str())
        {
            return Err(err(
                format!("{field}.unit"),
                format!(
                    "unknown unit \"{u}\" for {measure}; expected one of {}",
                    units.join(", ")
                ),
            ));
        }
        out.insert(
            name.clone(),
            Mapping {
                measure,
                scope: text("scope")?,
                window: text("window")?,
                unit,
            },
        );
    }
    Ok(out)
}

/// What the manifests say about the fleet.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct FleetHints {
    /// `fleet.instances`.
    pub instances: Option<i64>,
    /// `fleet.startup`, a duration.
    pub startup: Option<String>,
}

impl FleetHints {
    /// The `[fleet]` keys and their values as the scenario would write them, in a fixed order.
    pub fn entries(&self) -> [(&'static str, Option<Value>); 2] {
        [
            ("instances", self.instances.map(Value::Integer)),
            ("startup", self.startup.clone().map(Value::String)),
        ]
    }
}

/// One object of a file: where its nodes were read.
#[derive(Clone, Copy)]
pub(super) struct Obj<'a> {
    /// The file.
    pub file: &'a Path,
    /// Its document.
    pub root: &'a Node,
    /// `Canary`, `Rollout`, … ([`object_kind`]).
    pub kind: &'static str,
}

impl<'a> Obj<'a> {
    /// The node at `path`.
    pub fn get(&self, path: &str) -> Option<&'a Node> {
        self.root.at_path(path)
    }

    /// `metadata.name`, or "".
    pub fn name(&self) -> &'a str {
        self.get("metadata.name").and_then(Node::str).unwrap_or("")
    }
}

/// What a controller object expands to.
pub(super) struct Out {
    pub strategy: Table,
    pub templates: BTreeMap<String, (PathBuf, Table)>,
    pub fleet: FleetHints,
}

/// Expands the objects of one manifest strategy, recording errors and warnings.
pub(super) struct Cx<'a> {
    pub files: &'a [Edited],
    pub maps: BTreeMap<String, Mapping>,
    /// The strategy fields written beside `manifest` in the scenario.
    pub extras: Vec<String>,
    errors: RefCell<Vec<ScenarioError>>,
    warnings: RefCell<Vec<ScenarioError>>,
}

impl<'a> Cx<'a> {
    pub fn new(
        files: &'a [Edited],
        maps: BTreeMap<String, Mapping>,
        extras: Vec<String>,
    ) -> Cx<'a> {
        Cx {
            files,
            maps,
            extras,
            errors: RefCell::new(Vec::new()),
            warnings: RefCell::new(Vec::new()),
        }
    }

    /// The warnings recorded, each once.
    pub fn warnings(&self) -> Vec<ScenarioError> {
        self.warnings.take()
    }

    fn at(o: &Obj, node: Option<&Node>, path: &str, message: String) -> ScenarioError {
        let mut e = ScenarioError::new(o.file, path, message);
        e.location = node.map(|n| (n.at.line, n.at.column));
        e
    }

    /// Records an error about the node at `path` (or the object, when it is missing).
    pub fn error(&self, o: &Obj, path: &str, message: impl Into<String>) {
        // A missing field is placed at the nearest enclosing node that is written.
        let mut at = path;
        let node = loop {
            if let Some(n) = o.get(at) {
                break n;
            }
            match at.rsplit_once('.') {
                Some((parent, _)) => at = parent,
                None => break o.root,
            }
        };
        let node = Some(node);
        let e = Self::at(o, node, path, message.into());
        let mut errors = self.errors.borrow_mut();
        if !errors.contains(&e) {
            errors.push(e);
        }
    }

    /// Records a warning about the node at `path`, from the field table's entry `pattern`.
    pub fn warn(&self, o: &Obj, pattern: &str, path: &str) {
        let note = fields::find(o.kind, pattern).map_or("not modelled", |f| f.note);
        self.warn_that(o, path, note.to_string());
    }

    /// Records the warning `message` about the node at `path`.
    pub fn warn_that(&self, o: &Obj, path: &str, message: String) {
        let e = Self::at(o, o.get(path), path, message);
        let mut warnings = self.warnings.borrow_mut();
        if !warnings.contains(&e) {
            warnings.push(e);
        }
    }

    /// Warns about every warned field of the table that `o` writes, for fields without `[]`.
    pub fn warn_written(&self, o: &Obj) {
        for f in fields::FIELDS {
            if f.object == o.kind
                && f.treatment == Treatment::Warned
                && !f.path.contains("[]")
                && o.get(f.path).is_some()
                // Written when `trafficRouting` is missing, by `argo_canary`.
                && f.path != "spec.strategy.canary"
            {
                self.warn(o, f.path, f.path);
            }
        }
    }

    /// A number at `path`, if written.
    pub fn num(&self, o: &Obj, path: &str) -> Option<f64> {
        let n = o.get(path)?;
        match n.value {
            Y::Number(x) => Some(x),
            ref v => {
                self.error(
                    o,
                    path,
                    format!("{} is not allowed; expected a number", v.describe()),
                );
                None
            }
        }
    }

    /// A whole number at `path`, if written, at least `min`.
    pub fn int(&self, o: &Obj, path: &str, min: i64) -> Option<i64> {
        let x = self.num(o, path)?;
        if x.fract() != 0.0 || x < min as f64 || x > 1e12 {
            self.error(
                o,
                path,
                format!(
                    "{} is not allowed; expected a whole number ≥ {min}",
                    yaml::short(x)
                ),
            );
            return None;
        }
        Some(x as i64)
    }

    /// A boolean at `path`, if written.
    pub fn flag(&self, o: &Obj, path: &str) -> Option<bool> {
        match &o.get(path)?.value {
            Y::Bool(b) => Some(*b),
            v => {
                self.error(
                    o,
                    path,
                    format!("{} is not allowed; expected true or false", v.describe()),
                );
                None
            }
        }
    }

    /// A string at `path`, if written.
    pub fn text(&self, o: &Obj, path: &str) -> Option<String> {
        match &o.get(path)?.value {
            Y::Str(s) => Some(s.clone()),
            v => {
                self.error(
                    o,
                    path,
                    format!("{} is not allowed; expected a string", v.describe()),
                );
                None
            }
        }
    }

    /// A duration string (`"1m"`, `"30s"`) at `path`, if written, checked.
    pub fn duration(&self, o: &Obj, path: &str) -> Option<String> {
        let n = o.get(path)?;
        let text = match &n.value {
            Y::Str(s) => s.clone(),
            // Argo reads a bare number as seconds.
            Y::Number(x) if *x >= 0.0 && x.fract() == 0.0 => format!("{x}s"),
            v => {
                self.error(
                    o,
                    path,
                    format!(
                        "{} is not allowed; expected a duration such as \"1m\" or \"30s\"",
                        v.describe()
                    ),
                );
                return None;
            }
        };
        match SimTime::parse(&text) {
            Ok(_) => Some(text),
            Err(e) => {
                self.error(o, path, format!("\"{text}\" is not a duration ({e}); expected a duration such as \"1m\" or \"30s\""));
                None
            }
        }
    }

    /// Whole seconds at `path` (`…Seconds` fields), if written, as a duration string.
    pub fn seconds(&self, o: &Obj, path: &str) -> Option<String> {
        self.int(o, path, 0).map(|s| format!("{s}s"))
    }

    /// Every object of kind `kind` in the files.
    pub fn objects(&self, kind: &str) -> Vec<Obj<'a>> {
        self.files
            .iter()
            .flat_map(|e| {
                e.manifest
                    .docs
                    .iter()
                    .map(move |d| (e.manifest.path.as_path(), d))
            })
            .filter_map(|(file, d)| {
                let k = object_kind(d)?;
                (k == kind).then_some(Obj {
                    file,
                    root: d,
                    kind: k,
                })
            })
            .collect()
    }

    /// The object of kind `kind` named `name`, else the only one of that kind.
    pub fn object(&self, kind: &str, name: Option<&str>) -> Option<Obj<'a>> {
        let all = self.objects(kind);
        match name {
            Some(n) => all.into_iter().find(|o| o.name() == n),
            None if all.len() == 1 => all.into_iter().next(),
            None => None,
        }
    }

    /// Expands the manifest's controller object (the first file's), with everything it
    /// refers to.
    pub fn expand(&self, path: &str) -> Result<Out, Vec<ScenarioError>> {
        let first = &self.files[0].manifest;
        let Some(root) = first.controller() else {
            return Err(vec![ScenarioError::new(
                &first.path,
                "",
                format!(
                    "no Flagger Canary (flagger.app/v1beta1), Argo Rollout (argoproj.io/v1alpha1) or Deployment (apps/v1) in this file; {path}.manifest names the file of the strategy's controller object"
                ),
            )]);
        };
        let kind = object_kind(root).unwrap_or("Deployment");
        let o = Obj {
            file: &first.path,
            root,
            kind,
        };
        let controllers = first
            .docs
            .iter()
            .filter(|d| matches!(object_kind(d), Some("Canary" | "Rollout")))
            .count();
        if controllers > 1 {
            self.error(&o, "kind", format!("{controllers} Canary or Rollout objects in one file; a manifest strategy reads one: put each in its own file"));
        }
        let out = match kind {
            "Canary" => self.flagger(&o),
            "Rollout" => self.rollout(&o),
            _ => self.deployment_strategy(&o),
        };
        let errors = self.errors.take();
        match out {
            Some(mut out) if errors.is_empty() => {
                if !o.name().is_empty() {
                    out.strategy
                        .insert("name".into(), Value::String(o.name().to_string()));
                }
                Ok(out)
            }
            _ if errors.is_empty() => Err(vec![Self::at(
                &o,
                Some(root),
                "",
                "cannot be read as a strategy".into(),
            )]),
            _ => Err(errors),
        }
    }

    /// Fleet hints from the Deployment `name` (or the only one), its pod template and an HPA.
    pub fn fleet(&self, workload: Option<Obj>, hpa: Option<&str>) -> FleetHints {
        let mut hints = FleetHints::default();
        if let Some(d) = workload {
            hints.instances = self.int(&d, "spec.replicas", 1);
            hints.startup = self.startup(&d);
        }
        if hints.instances.is_none()
            && let Some(h) = self.object("HorizontalPodAutoscaler", hpa)
        {
            hints.instances = self.int(&h, "spec.minReplicas", 1);
        }
        hints
    }

    /// The earliest a pod is Ready by its first container's readiness probe:
    /// `initialDelaySeconds + (successThreshold − 1) × periodSeconds` (Kubernetes defaults
    /// 0, 10 and 1, kubernetes.io "Configure Liveness, Readiness and Startup Probes").
    fn startup(&self, o: &Obj) -> Option<String> {
        let containers = o.get("spec.template.spec.containers")?;
        let (i, _) = containers
            .items()
            .iter()
            .enumerate()
            .find(|(_, c)| c.get("readinessProbe").is_some())?;
        let p = format!("spec.template.spec.containers[{i}].readinessProbe");
        let delay = self
            .int(o, &format!("{p}.initialDelaySeconds"), 0)
            .unwrap_or(0);
        let period = self.int(o, &format!("{p}.periodSeconds"), 1).unwrap_or(10);
        let success = self
            .int(o, &format!("{p}.successThreshold"), 1)
            .unwrap_or(1);
        Some(format!("{}s", delay + (success - 1) * period))
    }

    /// A Deployment alone: a Kubernetes rolling update.
    fn deployment_strategy(&self, o: &Obj) -> Option<Out> {
        if let Some(t) = self.text(o, "spec.strategy.type")
            && t != "RollingUpdate"
        {
            self.error(o, "spec.strategy.type", format!("\"{t}\" is not modelled; expected RollingUpdate (a Deployment alone is simulated as a rolling update)"));
        }
        let mut s = Table::new();
        s.insert("kind".into(), Value::String("rolling".into()));
        let ru = "spec.strategy.rollingUpdate";
        for (yaml, key) in [
            ("maxSurge", "max_surge"),
            ("maxUnavailable", "max_unavailable"),
        ] {
            let p = format!("{ru}.{yaml}");
            match o.get(&p).map(|n| &n.value) {
                None => {}
                Some(Y::Number(x)) if *x >= 0.0 && x.fract() == 0.0 => {
                    s.insert(key.into(), Value::Integer(*x as i64));
                }
                Some(Y::Str(pc)) if pc.ends_with('%') => {
                    s.insert(key.into(), Value::String(pc.clone()));
                }
                Some(v) => self.error(o, &p, format!("{} is not allowed; expected a whole number or a percentage such as \"25%\"", v.describe())),
            }
        }
        if let Some(d) = self.seconds(o, "spec.minReadySeconds") {
            s.insert("min_ready".into(), Value::String(d));
        }
        if let Some(d) = self.seconds(o, "spec.progressDeadlineSeconds") {
            s.insert("progress_deadline".into(), Value::String(d));
        }
        Some(Out {
            strategy: s,
            templates: BTreeMap::new(),
            fleet: self.fleet(Some(*o), None),
        })
    }
}
