//! Issue 15 point 8: the README's first-scenario tutorial is a file that validates, and each
//! message it quotes for a common mistake is the message rehearsal prints for it.

use crate::common::rehearsal;

const TUTORIAL: &str = include_str!("../../docs/tutorial/checkout.toml");

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

/// `validate` on `text` written as `checkout.toml`: (exit code, stderr lines).
fn validate(text: &str, extra: &[&str]) -> (i32, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("checkout.toml"), text).unwrap();
    let o = rehearsal()
        .current_dir(tmp.path())
        .arg("validate")
        .args(extra)
        .arg("checkout.toml")
        .output()
        .unwrap();
    let stderr = String::from_utf8(o.stderr).unwrap();
    (
        o.status.code().unwrap_or(-1),
        stderr.lines().map(str::to_string).collect(),
    )
}

/// The tutorial with `from` replaced by `to` (panics when `from` is missing: the file changed).
fn with(from: &str, to: &str) -> String {
    assert!(TUTORIAL.contains(from), "the tutorial changed: no {from:?}");
    TUTORIAL.replacen(from, to, 1)
}

#[test]
fn issue15_the_readme_tutorial_is_the_file_and_it_validates() {
    let readme = readme();
    assert!(
        readme.contains(&format!("```toml\n{TUTORIAL}```")),
        "the README's tutorial block differs from docs/tutorial/checkout.toml"
    );
    let (code, stderr) = validate(TUTORIAL, &["--deny-warnings"]);
    assert_eq!((code, stderr), (0, Vec::<String>::new()));
}

#[test]
fn issue15_the_readme_quotes_the_message_of_each_common_mistake() {
    let readme = readme();
    let canary = "name = \"canary-10-50\"\nkind = \"canary\"\n";
    let big_bang = "name = \"big-bang\"\nkind = \"canary\"\n";
    let mistakes = [
        (with("rate = 0.03", "rate = 3%"), 2),
        (with("interval = \"30s\"", "interval = 30"), 2),
        (with(canary, &format!("{canary}stepWeight = 10\n")), 2),
        (with(big_bang, &format!("{big_bang}threshold = 3\n")), 2),
        (with("max = 0.01\n", "max = 2\n"), 2),
        (
            with(
                "{ weight = 10, pause = \"2m\" },\n  { weight = 50, pause = \"2m\" },\n  { weight = 100 },",
                "{ weight = 0.1, pause = \"2m\" },\n  { weight = 0.5, pause = \"2m\" },",
            ),
            0,
        ),
        (
            with(
                "max = 0.01\n",
                "max = 0.01\n[[analysis.metrics]]\nname = \"latency_p99\"\nmax = 0.5\n",
            ),
            0,
        ),
    ];
    for (text, exit) in mistakes {
        let (code, stderr) = validate(&text, &[]);
        assert_eq!(code, exit, "{stderr:?}");
        assert_eq!(stderr.len(), 1, "one message per mistake: {stderr:?}");
        let quoted = format!("`` {} ``", stderr[0]);
        assert!(
            readme.contains(&quoted),
            "the README does not quote this message as printed:\n{quoted}"
        );
    }
}
