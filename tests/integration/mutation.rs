//! Issue 13 point 2: mutation fuzzing of the parser on stable Rust. Proptest mutates the bundled
//! scenario files as text (deleted and duplicated spans, swapped lines, inserted TOML
//! fragments, numbers replaced by extreme values, truncation) and as bytes (any byte value
//! written anywhere, so invalid UTF-8 too), and parses the result: every
//! outcome must be a scenario or an error that names the file and a `line:col` or a field
//! path, and nothing may panic.
//!
//! CI runs 2,000 cases from a fixed seed; the long run is
//! `PROPTEST_CASES=1000000 PROPTEST_RNG_SEED=$RANDOM cargo test --release --test integration mutation`.

use proptest::prelude::*;
use rehearsal::scenario::{ScenarioError, parse};
use std::path::{Path, PathBuf};

/// The bundled scenarios, `(path, text)`, in file-name order.
fn bundled() -> &'static [(PathBuf, String)] {
    static FILES: std::sync::OnceLock<Vec<(PathBuf, String)>> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("scenarios/")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let text = std::fs::read_to_string(&p).expect("utf-8 scenario");
                (p, text)
            })
            .collect()
    })
}

/// Fragments that break TOML or push values to their limits.
const FRAGMENTS: &[&str] = &[
    "\"",
    "'",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    ",",
    "\n",
    "#",
    ".",
    "-",
    "0",
    "-1",
    "1e309",
    "-1e309",
    "nan",
    "inf",
    "-inf",
    "0.0",
    "1.5",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "\"0s\"",
    "\"1us\"",
    "\"30 days\"",
    "\"9999999h\"",
    "\"\"",
    "\"\\u0000\"",
    "true",
    "[]",
    "{}",
    "[[strategies]]\n",
    "[[faults]]\nkind = \"error_rate\"\n",
    "kind = \"canary\"\n",
    "name = \"x\"\n",
    "[database]\n",
    "[limits]\nmax_events = 1\n",
    "\u{202e}",
    "é",
    "\t",
];

/// Extreme replacements for a number of the file.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1e308",
    "1e-320",
    "nan",
    "inf",
    "-inf",
    "4294967296",
    "18446744073709551615",
    "9223372036854775807",
    "0.0000001",
    "100000000",
    "3.5",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Delete `len` bytes at `at` (a fraction of the length).
    Delete(f64, usize),
    /// Insert `FRAGMENTS[i]` at `at`.
    Insert(f64, usize),
    /// Replace the `k`-th number with `NUMBERS[i]`.
    Number(usize, usize),
    /// Duplicate line `k`.
    Duplicate(usize),
    /// Swap lines `a` and `b`.
    Swap(usize, usize),
    /// Keep only the start, up to `at`.
    Truncate(f64),
    /// Overwrite the byte at `at` with this value (any byte: the text may stop being UTF-8).
    Byte(f64, u8),
}

fn boundary(text: &str, at: f64) -> usize {
    let mut p = ((text.len() as f64) * at) as usize;
    p = p.min(text.len());
    while !text.is_char_boundary(p) {
        p -= 1;
    }
    p
}

fn apply(text: &str, m: &Mutation) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    match *m {
        Mutation::Delete(at, len) => {
            let from = boundary(text, at);
            let mut to = (from + len).min(text.len());
            while !text.is_char_boundary(to) {
                to += 1;
            }
            format!("{}{}", &text[..from], &text[to..])
        }
        Mutation::Insert(at, i) => {
            let p = boundary(text, at);
            format!(
                "{}{}{}",
                &text[..p],
                FRAGMENTS[i % FRAGMENTS.len()],
                &text[p..]
            )
        }
        Mutation::Number(k, i) => {
            let spans = numbers(text);
            match spans.get(k % spans.len().max(1)) {
                Some(&(a, b)) => {
                    format!("{}{}{}", &text[..a], NUMBERS[i % NUMBERS.len()], &text[b..])
                }
                None => text.to_string(),
            }
        }
        Mutation::Duplicate(k) if !lines.is_empty() => {
            let k = k % lines.len();
            let mut out: Vec<&str> = lines.clone();
            out.insert(k, lines[k]);
            out.concat()
        }
        Mutation::Swap(a, b) if !lines.is_empty() => {
            let mut out = lines.clone();
            out.swap(a % lines.len(), b % lines.len());
            out.concat()
        }
        Mutation::Truncate(at) => text[..boundary(text, at)].to_string(),
        // Byte mutations apply to bytes ([`apply_bytes`]).
        _ => text.to_string(),
    }
}

/// `bytes` with every byte mutation of `ms` applied (text mutations apply before).
fn apply_bytes(mut bytes: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        if let Mutation::Byte(at, value) = *m
            && !bytes.is_empty()
        {
            let i = ((bytes.len() as f64 * at) as usize).min(bytes.len() - 1);
            bytes[i] = value;
        }
    }
    bytes
}

/// Byte spans of the unquoted numbers of `text`.
fn numbers(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit()
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            spans.push((start, i));
        }
        i += 1;
    }
    spans
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0.0..1.0f64, 1..40usize).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (0.0..1.0f64, any::<usize>()).prop_map(|(a, i)| Mutation::Insert(a, i)),
        (any::<usize>(), any::<usize>()).prop_map(|(k, i)| Mutation::Number(k, i)),
        any::<usize>().prop_map(Mutation::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        (0.0..1.0f64).prop_map(Mutation::Truncate),
        (0.0..1.0f64, any::<u8>()).prop_map(|(a, b)| Mutation::Byte(a, b)),
    ]
}

/// `None` when parsing `text` as `file` gives a scenario or a located error; else what is
/// wrong with the error.
fn outcome_problem(text: &str, file: &Path) -> Option<String> {
    problem(parse(text, file).map(|_| ()), file)
}

/// What is wrong with a parse outcome for `file`, if anything.
fn problem(outcome: Result<(), ScenarioError>, file: &Path) -> Option<String> {
    match outcome {
        Ok(()) => None,
        // A manifest strategy's errors name its YAML file (with their line:col).
        Err(e)
            if e.file != file
                && !(e.file.extension().is_some_and(|x| x == "yaml") && e.location.is_some()) =>
        {
            Some(format!(
                "the error names {} instead of {}",
                e.file.display(),
                file.display()
            ))
        }
        Err(e) if e.location.is_none() && e.field.is_empty() => Some(format!(
            "the error has neither line:col nor a field path: {e}"
        )),
        Err(e) if e.message.trim().is_empty() => Some(format!("the error has no message: {e}")),
        Err(_) => None,
    }
}

proptest! {
    #![proptest_config(crate::common::proptest_config(2000))]

    #[test]
    fn issue13_mutated_scenarios_parse_or_fail_with_a_located_error(
        which in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..5),
    ) {
        let (path, text) = &bundled()[which % bundled().len()];
        let mutated = mutations.iter().fold(text.clone(), |t, m| apply(&t, m));
        let bytes = apply_bytes(mutated.into_bytes(), &mutations);
        let outcome = rehearsal::scenario::parse_bytes(bytes.clone(), path)
            .map(|_| ())
            .map_err(|mut e| e.0.swap_remove(0));
        let problem = problem(outcome, path);
        prop_assert!(problem.is_none(), "{}\n--- {} mutated ---\n{}", problem.unwrap_or_default(), path.display(), String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn issue13_the_mutation_checker_fails_on_an_unlocated_error() {
    // Every bundled file parses as it is.
    for (path, text) in bundled() {
        assert_eq!(outcome_problem(text, path), None, "{}", path.display());
    }
    let file = Path::new("scenarios/x.toml");
    // Injected: an error with neither line:col nor field path, one naming another file, and
    // one without a message.
    let bare = ScenarioError::new(file, "", "bad value");
    assert!(
        problem(Err(bare), file)
            .unwrap()
            .contains("neither line:col nor a field path")
    );
    let other = ScenarioError::new(Path::new("y.toml"), "horizon", "bad value");
    assert!(
        problem(Err(other), file)
            .unwrap()
            .contains("names y.toml instead of")
    );
    let silent = ScenarioError::new(file, "horizon", " ");
    assert!(problem(Err(silent), file).unwrap().contains("no message"));
    // A mutation that breaks the TOML gives a located error, which the checker accepts.
    let (path, text) = &bundled()[0];
    let broken = apply(text, &Mutation::Insert(0.0, 0));
    assert!(parse(&broken, path).unwrap_err().location.is_some());
    assert_eq!(outcome_problem(&broken, path), None);
}
