//! `rehearsal import`: a first scenario around a team's manifest, so that a Canary or a
//! Rollout becomes a drill in one command.
//!
//! The scenario takes its traffic, versions, faults and analysis from a base scenario when
//! one is given, else from the defaults below; its strategy names the manifest (or, with
//! `inline`, is the strategy the manifest expands to). Queries rehearsal cannot run get a
//! `[strategies.metrics]` entry guessed from the query text, marked for checking.

use super::source::{Manifest, ReadError, object_kind};
use super::yaml::Node;
use crate::scenario::ScenarioError;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};
use toml::{Table, Value};

/// What to import.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The manifest, as given on the command line.
    pub manifest: &'a Path,
    /// More YAML files with the templates its analyses name.
    pub templates: &'a [PathBuf],
    /// A scenario whose sections (all but `[[strategies]]` and `[sweep]`) the new one takes.
    pub base: Option<&'a Path>,
    /// The folder the scenario will be written to (paths in it are relative to it).
    pub out_dir: &'a Path,
    /// Write the expanded strategy instead of `manifest = …`.
    pub inline: bool,
}

/// The scenario text, and notes for the person (guessed mappings, values to check).
pub fn scenario(req: &Request) -> Result<(String, Vec<String>), ScenarioError> {
    let read = |p: &Path| {
        Manifest::read(p).map_err(|e| match e {
            ReadError::Io(m) => ScenarioError::new(p, "", m),
            ReadError::Syntax(e) => e,
        })
    };
    let manifest = read(req.manifest)?;
    let mut files = vec![manifest.clone()];
    for t in req.templates {
        files.push(read(t)?);
    }
    let Some(controller) = manifest.controller() else {
        return Err(ScenarioError::new(
            req.manifest,
            "",
            "no Flagger Canary (flagger.app/v1beta1), Argo Rollout (argoproj.io/v1alpha1) or Deployment (apps/v1) in this file",
        ));
    };
    let kind = object_kind(controller).unwrap_or("Deployment");
    let name = controller
        .at_path("metadata.name")
        .and_then(Node::str)
        .unwrap_or("imported")
        .to_string();
    let mut notes = Vec::new();
    let mut strategy = Table::new();
    strategy.insert(
        "manifest".into(),
        Value::String(relative(req.manifest, req.out_dir)),
    );
    if !req.templates.is_empty() {
        strategy.insert(
            "templates".into(),
            Value::Array(
                req.templates
                    .iter()
                    .map(|t| Value::String(relative(t, req.out_dir)))
                    .collect(),
            ),
        );
    }
    let mut comments: Vec<String> = Vec::new();
    let metrics = mappings(kind, controller, &files, &mut notes);
    if !metrics.is_empty() {
        strategy.insert("metrics".into(), Value::Table(metrics));
        comments.push("[strategies.metrics]: what each query measures, guessed from its text: check each entry (measure: success_rate, error_rate, latency_p99 or bad_write_rate).".into());
    }
    for (key, value, why) in required_extras(kind, controller) {
        strategy.insert(key.into(), value);
        comments.push(format!("`{key}`: {why}"));
        notes.push(format!("set `{key}` to your service's value ({why})"));
    }
    let mut base = match req.base {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| ScenarioError::new(p, "", format!("cannot read the file: {e}")))?;
            let mut doc: Table = text
                .parse()
                .map_err(|e: toml::de::Error| ScenarioError::new(p, "", e.message().to_string()))?;
            doc.remove("strategies");
            doc.remove("sweep");
            Some(doc)
        }
        None => None,
    };
    let mut tail = Table::new();
    tail.insert(
        "strategies".into(),
        Value::Array(vec![Value::Table(strategy)]),
    );
    if req.inline {
        // The expansion, with the fleet the manifest gives where the base leaves it out.
        if let Some(f) = base.as_ref().and_then(|b| b.get("fleet")) {
            tail.insert("fleet".into(), f.clone());
        }
        let file = req.out_dir.join("imported.toml");
        tail = super::expand(&tail, &file)
            .map_err(|mut e| e.swap_remove(0))?
            .doc;
        if let Some(b) = &mut base {
            for key in ["fleet", "analysis_templates"] {
                if let Some(v) = tail.remove(key) {
                    match (b.get_mut(key), v) {
                        (Some(Value::Table(mine)), Value::Table(theirs)) => mine.extend(theirs),
                        (_, v) => {
                            b.insert(key.into(), v);
                        }
                    }
                }
            }
        }
    }
    let to_toml = |t: &Table| {
        toml::to_string(t).map_err(|e| ScenarioError::new(req.manifest, "", e.to_string()))
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Generated by `rehearsal import {}` from the {kind} \"{name}\".",
        req.manifest.display()
    );
    if req.inline {
        let _ = writeln!(
            out,
            "# The strategy is the manifest's, written out in rehearsal's terms."
        );
    } else {
        let _ = writeln!(
            out,
            "# The strategy is read from the manifest at every run: edit the manifest, not a copy."
        );
    }
    match &base {
        Some(doc) => {
            let _ = writeln!(
                out,
                "# Traffic, versions, faults and the rest come from {}.\n",
                req.base
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
            out.push_str(&to_toml(doc)?);
        }
        None => out.push_str(&default_sections(&name)),
    }
    for c in &comments {
        let _ = writeln!(out, "\n# {c}");
    }
    out.push('\n');
    out.push_str(&to_toml(&tail)?);
    Ok((out, notes))
}

/// The sections of a first drill, with where each default comes from.
fn default_sections(name: &str) -> String {
    format!(
        r#"# Traffic, versions and faults are rehearsal's starter defaults: replace them with your
# service's numbers (requests per second, users, error rates and latencies of today's version).

name = "{name}"
description = "First drill of {name}: a 3 % error regression on the new version."
horizon = "2h"
seed = 1
replications = 20

[traffic]
rate = 100.0        # requests per second
users = 10000       # distinct users in the horizon

[versions.old]
error_rate = 0.001
latency = {{ median = "50ms", p99 = "250ms" }}
[versions.new]
error_rate = 0.001
latency = {{ median = "50ms", p99 = "250ms" }}

# One fault at a time: the run ends at the first rollback. `rehearsal sweep` runs each grid
# point's healthy twin too (the same scenario with the new version's faults off), which is
# where false rollbacks are counted.

# A 3 % error regression of the new version.
[[faults]]
kind = "error_rate"
target = "new"
rate = 0.03

# A crash: every request of the new version fails. Uncomment instead of the one above.
# [[faults]]
# kind = "error_rate"
# target = "new"
# rate = 1.0

# A p99 regression: 400 ms more on every request of the new version.
# [[faults]]
# kind = "latency"
# target = "new"
# delay = "400ms"
"#
    )
}

/// A `[strategies.metrics]` entry for every query the importer cannot map by itself,
/// guessed from the query's text.
fn mappings(kind: &str, controller: &Node, files: &[Manifest], notes: &mut Vec<String>) -> Table {
    let mut out = Table::new();
    let mut add = |name: &str, query: &str, argo: bool| {
        let (measure, window) = guess(query);
        let mut e = Table::new();
        e.insert("measure".into(), Value::String(measure.into()));
        if argo {
            e.insert(
                "scope".into(),
                Value::String(
                    if query.contains("canary") {
                        "candidate"
                    } else {
                        "service"
                    }
                    .into(),
                ),
            );
            if let Some(w) = &window {
                e.insert("window".into(), Value::String(w.clone()));
            }
        } else if measure != "latency_p99" {
            // Flagger's own success-rate queries return percentages.
            e.insert(
                "unit".into(),
                Value::String(
                    if query.contains("100") {
                        "percent"
                    } else {
                        "ratio"
                    }
                    .into(),
                ),
            );
        }
        notes.push(format!("query \"{name}\" mapped to {measure} (guessed from its text): check [strategies.metrics]"));
        out.insert(name.to_string(), Value::Table(e));
    };
    if kind == "Canary" {
        for m in controller
            .at_path("spec.analysis.metrics")
            .map_or(&[][..], Node::items)
        {
            let name = m.get("name").and_then(Node::str).unwrap_or_default();
            let query = m
                .get("query")
                .and_then(Node::str)
                .map(String::from)
                .or_else(|| {
                    let t = m.at_path("templateRef.name").and_then(Node::str)?;
                    files
                        .iter()
                        .flat_map(|f| &f.docs)
                        .find(|d| {
                            object_kind(d) == Some("MetricTemplate")
                                && d.at_path("metadata.name").and_then(Node::str) == Some(t)
                        })?
                        .at_path("spec.query")
                        .and_then(Node::str)
                        .map(String::from)
                });
            if let Some(q) = query.or_else(|| m.get("templateRef").map(|_| String::new())) {
                add(name, &q, false);
            }
        }
    } else if kind == "Rollout" {
        for d in files.iter().flat_map(|f| &f.docs) {
            if object_kind(d) != Some("AnalysisTemplate") {
                continue;
            }
            for m in d.at_path("spec.metrics").map_or(&[][..], Node::items) {
                let name = m.get("name").and_then(Node::str).unwrap_or_default();
                let query = m
                    .get("provider")
                    .map(|p| find_query(p).unwrap_or_default())
                    .unwrap_or_default();
                add(name, &query, true);
            }
        }
    }
    out
}

/// The first `query` string under a provider (Prometheus, Datadog, …).
fn find_query(n: &Node) -> Option<String> {
    if let Some(q) = n.get("query").and_then(Node::str) {
        return Some(q.to_string());
    }
    n.entries().iter().find_map(|(_, v)| find_query(v))
}

/// What a query measures, from its text: a quantile is latency; a selector excluding 5xx
/// codes (`!~"5.."`) a success rate; one selecting them an error rate; and the range of its
/// first `[…]` window.
pub fn guess(query: &str) -> (&'static str, Option<String>) {
    let q = query.replace(' ', "");
    let measure =
        if q.contains("histogram_quantile") || q.contains("duration") || q.contains("latency") {
            "latency_p99"
        } else if q.contains("!~\"5") || q.contains("!=\"5") || q.contains("success") {
            "success_rate"
        } else if q.contains("=~\"5") || q.contains("error") {
            "error_rate"
        } else {
            "success_rate"
        };
    // `100 - <success> * 100` and `1 - <success>` are error rates, and the other way round.
    let complement = q.starts_with("100-") || q.starts_with("1-");
    let measure = match (measure, complement) {
        ("success_rate", true) => "error_rate",
        ("error_rate", true) => "success_rate",
        (m, _) => m,
    };
    let window = q
        .split('[')
        .nth(1)
        .and_then(|r| r.split(']').next())
        .filter(|w| crate::engine::SimTime::parse(w).is_ok());
    (measure, window.map(String::from))
}

/// Strategy fields a manifest cannot give and the model needs, with a starter value.
fn required_extras(kind: &str, c: &Node) -> Vec<(&'static str, Value, &'static str)> {
    let mut out = Vec::new();
    if kind == "Canary"
        && c.at_path("spec.analysis.match").is_some()
        && c.at_path("spec.analysis.iterations").is_some()
    {
        out.push((
            "match_share",
            Value::Float(10.0),
            "the percentage of users whose headers or cookies match the A/B test's `match`",
        ));
    }
    if kind == "Rollout" {
        if c.at_path("spec.strategy.blueGreen.prePromotionAnalysis")
            .is_some()
        {
            out.push((
                "preview_rate",
                Value::Float(10.0),
                "load-test requests per second on the preview, which gets no user traffic",
            ));
        }
        let steps = c
            .at_path("spec.strategy.canary.steps")
            .map_or(&[][..], Node::items);
        let waits = steps
            .iter()
            .any(|s| s.get("pause").is_some_and(|p| p.get("duration").is_none()));
        if waits {
            let mut t = Table::new();
            t.insert("median".into(), Value::String("30m".into()));
            out.push((
                "promotion_delay",
                Value::Table(t),
                "how long a person takes to promote a paused rollout (median, log-normal)",
            ));
        }
    }
    out
}

/// `target` as a path from `dir`, with `/` separators (`../k8s/podinfo.yaml`).
pub fn relative(target: &Path, dir: &Path) -> String {
    let abs = |p: &Path| {
        std::path::absolute(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .components()
            .filter(|c| !matches!(c, Component::CurDir))
            .fold(PathBuf::new(), |mut acc, c| {
                if matches!(c, Component::ParentDir) {
                    acc.pop();
                } else {
                    acc.push(c);
                }
                acc
            })
    };
    let (t, d) = (abs(target), abs(dir));
    let common = t
        .components()
        .zip(d.components())
        .take_while(|(a, b)| a == b)
        .count();
    let ups = d.components().count() - common;
    let mut parts: Vec<String> = vec!["..".to_string(); ups];
    parts.extend(
        t.components()
            .skip(common)
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_guessed_by_their_selectors() {
        let q = "sum(irate(istio_requests_total{response_code!~\"5.*\"}[5m])) / sum(irate(istio_requests_total[5m]))";
        assert_eq!(guess(q), ("success_rate", Some("5m".into())));
        assert_eq!(
            guess("histogram_quantile(0.99, sum(rate(x_bucket[1m])) by (le))").0,
            "latency_p99"
        );
        assert_eq!(
            guess("sum(rate(x{code=~\"5..\"}[2m]))/sum(rate(x[2m]))").0,
            "error_rate"
        );
        // Flagger's error-rate MetricTemplate: 100 − the success percentage.
        let flagger = "100 - sum(rate(r{code!~\"5.*\"}[1m])) / sum(rate(r[1m])) * 100";
        assert_eq!(guess(flagger).0, "error_rate");
    }

    #[test]
    fn relative_paths_climb_and_descend() {
        assert_eq!(
            relative(Path::new("/a/k8s/x.yaml"), Path::new("/a/drills")),
            "../k8s/x.yaml"
        );
        assert_eq!(
            relative(Path::new("/a/k8s/x.yaml"), Path::new("/a")),
            "k8s/x.yaml"
        );
    }
}
