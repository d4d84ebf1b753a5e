//! Scenario errors: each names the file, the field path, the bad value and what is allowed.

use std::fmt;
use std::path::{Path, PathBuf};

/// A scenario file that cannot be used. Always the user's to fix, never fatal to the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file, as given.
    pub file: PathBuf,
    /// 1-based line and column, when known.
    pub location: Option<(usize, usize)>,
    /// Dotted field path (`strategies[1].kind`); empty for the file as a whole.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl ScenarioError {
    /// An error about `field` of `file`.
    pub fn new(file: &Path, field: impl Into<String>, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: file.to_path_buf(),
            location: None,
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.location {
            write!(f, ":{line}:{col}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", escape_controls(&self.field))?;
        }
        write!(f, ": {}", escape_controls(&self.message))
    }
}

/// Control characters as escapes (`\u{1b}`), so that a value quoted from the file cannot
/// move the cursor, colour the terminal or split the one-line message.
fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

impl std::error::Error for ScenarioError {}

/// Every error found in one or more scenario files, each file's in the order of its lines
/// (those with no line, a missing field, last), so that one `validate` shows them all.
/// Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl ScenarioErrors {
    /// The first error (the one a caller that wants a single error reports).
    pub fn first(&self) -> Option<&ScenarioError> {
        self.0.first()
    }
}

impl From<ScenarioError> for ScenarioErrors {
    fn from(e: ScenarioError) -> ScenarioErrors {
        ScenarioErrors(vec![e])
    }
}

/// One error per line; each line after the first starts with `error: ` as `main` prints the
/// first, so that every line reads alike.
impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, "\nerror: ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioErrors {}

/// The closest of `candidates` to `input`, if close enough to be a typo.
pub fn suggest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(input, c), c))
        .filter(|&(d, c)| d > 0 && d <= (c.len() / 3).max(1))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// `"; expected one of a, b, c (did you mean "b"?)"`.
pub fn expected_one_of(input: &str, allowed: &[&str]) -> String {
    let mut s = format!("expected one of {}", allowed.join(", "));
    if let Some(m) = suggest(input, allowed.iter().copied()) {
        s.push_str(&format!(" (did you mean \"{m}\"?)"));
    }
    s
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let kinds = ["canary", "blue_green", "feature_flag", "rolling"];
        assert_eq!(suggest("canery", kinds), Some("canary"));
        assert_eq!(suggest("blue-green", kinds), Some("blue_green"));
        assert_eq!(suggest("xyz", kinds), None);
    }

    #[test]
    fn displays_file_location_field_and_message() {
        let mut e = ScenarioError::new(Path::new("s.toml"), "traffic.rate", "must be > 0");
        assert_eq!(e.to_string(), "s.toml: traffic.rate: must be > 0");
        e.location = Some((3, 8));
        assert_eq!(e.to_string(), "s.toml:3:8: traffic.rate: must be > 0");
    }

    #[test]
    fn displays_control_characters_escaped() {
        let e = ScenarioError::new(Path::new("s.toml"), "name", "\"a\u{1b}[31m\u{7}\n\"");
        assert_eq!(e.to_string(), "s.toml: name: \"a\\u{1b}[31m\\u{7}\\n\"");
    }
}
