//! Issue 9: the architecture stays as documented. No import cycle between the top-level
//! modules of `src/` (so the engine, the model and the outcome rules can be read bottom-up),
//! and no function over 150 lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const MAX_FUNCTION_LINES: usize = 150;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn sources() -> Vec<(PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable");
            (p.strip_prefix(&src).expect("under src").to_path_buf(), text)
        })
        .collect()
}

/// The top-level module a file of `src/` belongs to (`model` for `model/fault.rs`).
fn top_module(rel: &Path) -> String {
    let first = rel.components().next().expect("a path");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// Top-level module → the top-level modules its code names as `crate::…`.
fn dependencies() -> BTreeMap<String, Vec<String>> {
    let files = sources();
    let modules: Vec<String> = files.iter().map(|(p, _)| top_module(p)).collect();
    let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, text) in &files {
        let from = top_module(path);
        if from == "lib" || from == "main" {
            continue;
        }
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let to: String = line[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let list = deps.entry(from.clone()).or_default();
                if to != from && modules.contains(&to) && !list.contains(&to) {
                    list.push(to);
                }
            }
        }
    }
    deps
}

/// A cycle through `node`, if any (depth-first search).
fn cycle(
    deps: &BTreeMap<String, Vec<String>>,
    node: &str,
    stack: &mut Vec<String>,
) -> Option<Vec<String>> {
    if let Some(at) = stack.iter().position(|n| n == node) {
        let mut c = stack[at..].to_vec();
        c.push(node.to_string());
        return Some(c);
    }
    stack.push(node.to_string());
    for next in deps.get(node).into_iter().flatten() {
        if let Some(c) = cycle(deps, next, stack) {
            return Some(c);
        }
    }
    stack.pop();
    None
}

#[test]
fn issue9_no_import_cycle_between_top_level_modules() {
    let deps = dependencies();
    assert!(
        deps.get("engine").is_none_or(|d| d.is_empty()),
        "the engine depends on {:?}",
        deps["engine"]
    );
    for node in deps.keys() {
        if let Some(c) = cycle(&deps, node, &mut Vec::new()) {
            panic!("import cycle: {}", c.join(" → "));
        }
    }
}

#[test]
fn issue9_cycle_finder_finds_cycles() {
    let mut deps = BTreeMap::new();
    deps.insert("a".to_string(), vec!["b".to_string()]);
    deps.insert("b".to_string(), vec!["a".to_string()]);
    assert_eq!(
        cycle(&deps, "a", &mut Vec::new()),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
}

/// `(file, line, name, length)` of every function: from its `fn` line to the closing brace
/// at the same indentation.
fn functions(rel: &Path, text: &str) -> Vec<(String, usize, String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let head = [
            "pub(crate) ",
            "pub(super) ",
            "pub ",
            "const ",
            "async ",
            "unsafe ",
        ]
        .iter()
        .fold(trimmed, |t, p| t.strip_prefix(p).unwrap_or(t));
        let Some(rest) = head.strip_prefix("fn ") else {
            continue;
        };
        if line.trim_end().ends_with(';') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let close = format!("{}}}", " ".repeat(indent));
        let Some(end) = lines[i + 1..].iter().position(|l| l.starts_with(&close)) else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        out.push((rel.display().to_string(), i + 1, name, end + 2));
    }
    out
}

#[test]
fn issue9_no_function_over_150_lines() {
    let long: Vec<String> = sources()
        .iter()
        .flat_map(|(p, t)| functions(p, t))
        .filter(|(.., n)| *n > MAX_FUNCTION_LINES)
        .map(|(f, l, name, n)| format!("{f}:{l} {name} ({n} lines)"))
        .collect();
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines: {long:#?}"
    );
}

#[test]
fn issue9_function_lengths_are_measured() {
    let text = "fn a() {\n    x();\n}\n\npub fn b(\n    y: u8,\n) -> u8 {\n    y\n}\n";
    let f = functions(Path::new("t.rs"), text);
    assert_eq!(f[0].2, "a");
    assert_eq!(f[0].3, 3);
    assert_eq!((f[1].2.as_str(), f[1].3), ("b", 5));
}
