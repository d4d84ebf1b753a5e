//! Overrides of scenario fields by dotted path, for `sweep` grids and `--set`.
//!
//! A path walks the TOML document: `analysis.threshold`, `analysis.interval`,
//! `fleet.startup`. A segment `key[i]` indexes an array; a segment that names no key of an
//! array of tables selects the element whose `name` is that segment, so
//! `analysis.metrics.error_rate.max` and `strategies.canary-10.steps[0].pause` work; a
//! number selects an element of an array by index (`analysis.judges.0.alpha`). The
//! overridden document is parsed and validated like any scenario file.

use super::ScenarioError;
use super::error::expected_one_of;
use std::path::Path;
use toml::{Table, Value};

/// One swept field and its values, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Dotted path of the field.
    pub path: String,
    /// Values to try.
    pub values: Vec<Value>,
}

/// A value written on the command line: TOML when it parses as such (`5`, `0.01`, `true`),
/// a string otherwise (`30s`).
pub fn parse_value(text: &str) -> Value {
    let text = text.trim();
    toml::from_str::<Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(text.to_string()))
}

/// Parses `--set path=v1,v2,…`.
pub fn parse_set(arg: &str) -> Result<Axis, String> {
    let (path, values) = arg.split_once('=').ok_or_else(|| {
        format!("--set {arg}: expected PATH=VALUE[,VALUE…], e.g. analysis.threshold=1,3,5")
    })?;
    let values: Vec<Value> = values
        .split(',')
        .filter(|v| !v.trim().is_empty())
        .map(parse_value)
        .collect();
    if path.trim().is_empty() || values.is_empty() {
        return Err(format!("--set {arg}: expected PATH=VALUE[,VALUE…]"));
    }
    Ok(Axis {
        path: path.trim().to_string(),
        values,
    })
}

/// The `[sweep]` table of a document: each key a path, each value an array of values.
pub fn sweep_axes(doc: &Table, file: &Path) -> Result<Vec<Axis>, ScenarioError> {
    let Some(sweep) = doc.get("sweep") else {
        return Ok(Vec::new());
    };
    let Some(sweep) = sweep.as_table() else {
        return Err(ScenarioError::new(
            file,
            "sweep",
            "expected a table of `\"path\" = [values]`",
        ));
    };
    sweep
        .iter()
        .map(|(path, values)| match values {
            Value::Array(a) if !a.is_empty() => Ok(Axis {
                path: path.clone(),
                values: a.clone(),
            }),
            _ => Err(ScenarioError::new(
                file,
                format!("sweep.\"{path}\""),
                "expected a non-empty array of values, e.g. [1, 3, 5]",
            )),
        })
        .collect()
}

/// Sets the field at `path` of the document `doc` to `value`. The last segment may be a
/// new key of an existing table; every other segment must exist.
pub fn set(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if let Some(done) = manifest_set(doc, path, &value) {
        return done;
    }
    let segments: Vec<&str> = path.split('.').collect();
    let (last, parents) = segments.split_last().ok_or("empty path")?;
    let mut node = doc;
    for seg in parents {
        let choices = choices(node);
        node = step(node, seg).ok_or_else(|| {
            format!(
                "no field \"{seg}\" on the way to {path}; {}",
                expected_one_of(seg, &choices.iter().map(String::as_str).collect::<Vec<_>>())
            )
        })?;
    }
    let (key, index) = split_index(last)?;
    if key.is_empty() {
        return Err(format!("{path}: empty key"));
    }
    if let (Value::Table(t), None) = (&mut *node, index) {
        t.insert(key.to_string(), value);
        return Ok(());
    }
    let choices = choices(node);
    let slot = step(node, last).ok_or_else(|| {
        format!(
            "no field \"{last}\" at {path}; {}",
            expected_one_of(
                last,
                &choices.iter().map(String::as_str).collect::<Vec<_>>()
            )
        )
    })?;
    *slot = value;
    Ok(())
}

/// `strategies.<name>.<field>` on a manifest strategy (named, see
/// [`crate::scenario::manifest::name_strategies`]): the field is the manifest's, by its YAML path
/// (`spec.analysis.threshold`, `AnalysisTemplate/success-rate.spec.metrics[0].failureLimit`)
/// or by a name of [`crate::scenario::manifest::SWEEP_NAMES`], and is recorded in the strategy's `set`
/// table. `None` when `path` is not about a manifest strategy.
fn manifest_set(doc: &mut Value, path: &str, value: &Value) -> Option<Result<(), String>> {
    let rest = path.strip_prefix("strategies.")?;
    let strategies = doc.get_mut("strategies")?.as_array_mut()?;
    let table = strategies
        .iter_mut()
        .filter_map(Value::as_table_mut)
        .filter(|t| t.contains_key("manifest"))
        .find(|t| {
            t.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| rest.starts_with(&format!("{n}.")))
        })?;
    let name = table.get("name")?.as_str()?.to_string();
    let field = &rest[name.len() + 1..];
    let yaml = crate::scenario::manifest::SWEEP_NAMES
        .iter()
        .find(|(m, _)| *m == field)
        .map_or(field, |(_, y)| y);
    let first = yaml.split('.').next().unwrap_or("");
    if !(first == "spec" || first == "metadata" || first.contains('/')) {
        let names: Vec<&str> = crate::scenario::manifest::SWEEP_NAMES
            .iter()
            .map(|(m, _)| *m)
            .collect();
        return Some(Err(format!(
            "strategy \"{name}\" is read from a manifest: sweep its fields by their YAML path (strategies.{name}.spec.analysis.threshold, strategies.{name}.AnalysisTemplate/<name>.spec.metrics[0].failureLimit) or by one of {}",
            names.join(", ")
        )));
    }
    let set = table
        .entry("set")
        .or_insert_with(|| Value::Table(Table::new()));
    match set.as_table_mut() {
        Some(t) => {
            t.insert(yaml.to_string(), value.clone());
            Some(Ok(()))
        }
        None => Some(Err(format!("strategies.{name}.set: expected a table"))),
    }
}

/// What a segment may name at `node`: its keys, or, on an array, the names of its tables
/// and its indices.
fn choices(node: &Value) -> Vec<String> {
    match node {
        Value::Table(t) => t.keys().cloned().collect(),
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.get("name").and_then(Value::as_str).map(String::from))
            .chain((0..a.len()).map(|i| i.to_string()))
            .collect(),
        _ => Vec::new(),
    }
}

/// `key[3]` → (`key`, Some(3)); `key` → (`key`, None).
fn split_index(seg: &str) -> Result<(&str, Option<usize>), String> {
    match seg.split_once('[') {
        None => Ok((seg, None)),
        Some((key, rest)) => {
            let i = rest
                .strip_suffix(']')
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("\"{seg}\": expected key[index]"))?;
            Ok((key, Some(i)))
        }
    }
}

/// One step down a segment: a table key (with an optional index), or, on an array of
/// tables, the element named so.
fn step<'v>(node: &'v mut Value, seg: &str) -> Option<&'v mut Value> {
    let (key, index) = split_index(seg).ok()?;
    let child = match node {
        Value::Table(t) if t.contains_key(key) => t.get_mut(key)?,
        Value::Array(a) => {
            // The element named `key`, else (`judges.0.alpha`) the element at index `key`.
            let at = a
                .iter()
                .position(|v| v.get("name").and_then(Value::as_str) == Some(key))
                .or_else(|| key.parse().ok())?;
            let named = a.get_mut(at)?;
            return match index {
                None => Some(named),
                Some(_) => None,
            };
        }
        _ => return None,
    };
    match index {
        None => Some(child),
        Some(i) => child.as_array_mut()?.get_mut(i),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        toml::from_str::<Table>(
            r#"
name = "x"
[analysis]
interval = "30s"
[[analysis.metrics]]
name = "error_rate"
max = 0.01
[[strategies]]
name = "canary-10"
steps = [{ weight = 10, pause = "5m" }, { weight = 100 }]
"#,
        )
        .map(Value::Table)
        .unwrap()
    }

    #[test]
    fn paths_reach_tables_named_elements_and_indices() {
        let mut d = doc();
        set(&mut d, "analysis.threshold", parse_value("5")).unwrap();
        set(&mut d, "analysis.interval", parse_value("15s")).unwrap();
        set(
            &mut d,
            "analysis.metrics.error_rate.max",
            parse_value("0.02"),
        )
        .unwrap();
        set(
            &mut d,
            "strategies.canary-10.steps[0].pause",
            parse_value("10m"),
        )
        .unwrap();
        assert_eq!(d["analysis"]["threshold"].as_integer(), Some(5));
        assert_eq!(d["analysis"]["interval"].as_str(), Some("15s"));
        assert_eq!(d["analysis"]["metrics"][0]["max"].as_float(), Some(0.02));
        assert_eq!(
            d["strategies"][0]["steps"][0]["pause"].as_str(),
            Some("10m")
        );
        assert!(set(&mut d, "analysis.metrics.latency.max", parse_value("1")).is_err());
        let e = set(&mut d, "analysis.metrics.error_rat.max", parse_value("1")).unwrap_err();
        assert!(
            e.ends_with("expected one of error_rate, 0 (did you mean \"error_rate\"?)"),
            "{e}"
        );
        assert!(set(&mut d, "nowhere.threshold", parse_value("1")).is_err());
        // An array of unnamed tables: by index, and the error lists the indices.
        set(&mut d, "analysis.metrics.0.max", parse_value("0.03")).unwrap();
        assert_eq!(d["analysis"]["metrics"][0]["max"].as_float(), Some(0.03));
        let e = set(&mut d, "analysis.metrics.7.max", parse_value("1")).unwrap_err();
        assert!(e.contains("expected one of error_rate, 0"), "{e}");
    }

    #[test]
    fn sweep_axes_keep_the_file_order() {
        let doc: Table = toml::from_str("[sweep]\n\"b.x\" = [1]\n\"a.y\" = [2, 3]\n").unwrap();
        let axes = sweep_axes(&doc, Path::new("f.toml")).unwrap();
        let paths: Vec<&str> = axes.iter().map(|a| a.path.as_str()).collect();
        assert_eq!(paths, ["b.x", "a.y"]);
    }

    #[test]
    fn set_arguments_parse_values_as_toml_or_strings() {
        let a = parse_set("analysis.threshold=1,3,5").unwrap();
        assert_eq!(
            a.values,
            [Value::Integer(1), Value::Integer(3), Value::Integer(5)]
        );
        let b = parse_set("analysis.interval=15s,30s").unwrap();
        assert_eq!(b.values[0], Value::String("15s".into()));
        assert!(parse_set("analysis.threshold").is_err());
    }
}
