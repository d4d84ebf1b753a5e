//! Bad scenario input: every mistake in `tests/fixtures/bad/` gives exit code 2 and a one-line
//! message naming the file, the field path, the bad value and what is allowed; never a panic.
//!
//! Each fixture is the same minimal valid scenario with exactly one defect (see its first
//! line). The messages are pinned as insta snapshots in `snapshots/`.

use super::common::{self, rehearsal};
use rehearsal::scenario::{ScenarioError, parse};
use std::path::{Path, PathBuf};

/// The folder of bad fixtures.
fn bad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad")
}

/// Every `*.toml` in the bad folder, sorted.
fn bad_fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(bad_dir())
        .expect("tests/fixtures/bad")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// The library's error for fixture `name` (without `.toml`).
fn parse_error(name: &str) -> ScenarioError {
    let path = bad_dir().join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    match parse(&text, Path::new("bad.toml")) {
        Ok(_) => panic!("{name}: the bad fixture parsed without error"),
        Err(e) => e,
    }
}

/// The mistakes the suite must cover, one fixture each.
const REQUIRED: [&str; 25] = [
    "unknown_top_level_field",
    "unknown_nested_field",
    "wrong_type",
    "negative_rate",
    "unknown_strategy_kind",
    "strategy_field_not_for_kind",
    "step_weight_over_100",
    "empty_steps",
    "full_step_not_last",
    "missing_pause",
    "unknown_fault_kind",
    "unknown_fault_target",
    "fault_end_before_start",
    "fault_start_after_horizon",
    "probability_over_one",
    "bad_duration",
    "unknown_metric",
    "metric_min_above_max",
    "threshold_zero",
    "duplicate_strategy_names",
    "toml_syntax_error",
    "missing_horizon",
    "fault_param_not_for_kind",
    "instance_kill_without_capacity",
    "request_limit",
];

/// The valid scenario every bad fixture is a copy of, before its one defect.
const BASE: &str = r#"
name = "tiny"
horizon = "10m"

[traffic]
rate = 10.0
users = 100

[versions.old]
[versions.new]

[[faults]]
kind = "error_rate"
target = "new"
start = "1m"
rate = 0.5

[analysis]
interval = "30s"
threshold = 2
[[analysis.metrics]]
name = "error_rate"
max = 0.01

[[strategies]]
name = "canary"
kind = "canary"
steps = [{ weight = 10, pause = "1m" }, { weight = 100 }]
"#;

#[test]
fn bad_fixtures_base_is_valid() {
    let s = common::scenario(BASE);
    assert_eq!(s.strategies.len(), 1);
    assert_eq!(s.service.faults.len(), 1);
}

#[test]
fn bad_fixtures_cover_every_required_mistake() {
    let names: Vec<String> = bad_fixtures()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for file in bad_fixtures() {
        let text = std::fs::read_to_string(&file).unwrap();
        let (first, body) = text.split_once('\n').unwrap_or((&text, ""));
        assert!(
            first.starts_with("# Bad: "),
            "{}: line 1 must say what is wrong",
            file.display()
        );
        assert_ne!(body.trim(), BASE.trim(), "{}: no defect", file.display());
    }
    for required in REQUIRED.iter().chain(&["zero_users"]) {
        assert!(
            names.iter().any(|n| n == required),
            "missing fixture tests/fixtures/bad/{required}.toml"
        );
    }
}

#[test]
fn validate_rejects_every_bad_fixture_with_exit_2_and_a_clear_message() {
    let files = bad_fixtures();
    assert!(
        files.len() >= REQUIRED.len(),
        "only {} fixtures",
        files.len()
    );
    for file in files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let output = rehearsal()
            .arg("validate")
            .arg(&file)
            .output()
            .expect("run rehearsal");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8(output.stderr).expect("UTF-8 stderr");
        assert_eq!(
            output.status.code(),
            Some(2),
            "{name}: exit code; stderr:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name} panicked:\n{stderr}");
        assert!(!stderr.trim().is_empty(), "{name}: empty stderr");
        assert!(stdout.is_empty(), "{name}: unexpected stdout:\n{stdout}");
        assert!(
            stderr.contains(&format!("{name}.toml")),
            "{name}: stderr does not name the file:\n{stderr}"
        );
        assert_eq!(
            stderr.lines().count(),
            1,
            "{name}: expected a one-line message:\n{stderr}"
        );
        assert!(
            stderr.starts_with(&format!("error: {}", file.display())),
            "{name}: expected \"error: <file>…\":\n{stderr}"
        );
        // The absolute path depends on the machine; the snapshot keeps the repository path.
        let normalised = stderr.replace(
            &file.display().to_string(),
            &format!("tests/fixtures/bad/{name}.toml"),
        );
        insta::assert_snapshot!(name.as_str(), normalised);
    }
}

#[test]
fn validate_reports_every_bad_file_not_just_the_first() {
    let files = [
        bad_dir().join("wrong_type.toml"),
        bad_dir().join("threshold_zero.toml"),
    ];
    let output = rehearsal()
        .arg("validate")
        .args(&files)
        .output()
        .expect("run rehearsal");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert!(stderr.contains("wrong_type.toml"), "{stderr}");
    assert!(stderr.contains("threshold_zero.toml"), "{stderr}");
}

#[test]
fn library_errors_name_the_exact_field_path() {
    let cases = [
        ("unknown_strategy_kind", "strategies[0].kind"),
        ("strategy_field_not_for_kind", "strategies[0].steps"),
        ("wrong_type", "traffic.rate"),
        ("negative_rate", "traffic.rate"),
        ("request_limit", "traffic.rate"),
        ("zero_users", "traffic.users"),
        ("unknown_fault_target", "faults[0].target"),
        ("unknown_fault_kind", "faults[0].kind"),
        ("instance_kill_without_capacity", "faults[0].kind"),
        ("fault_param_not_for_kind", "faults[0].delay"),
        ("fault_end_before_start", "faults[0].end"),
        ("fault_start_after_horizon", "faults[0].start"),
        ("step_weight_over_100", "strategies[0].steps[0].weight"),
        ("full_step_not_last", "strategies[0].steps[0].weight"),
        ("missing_pause", "strategies[0].steps[0].pause"),
        ("bad_duration", "strategies[0].steps[0].pause"),
        ("empty_steps", "strategies[0].steps"),
        ("duplicate_strategy_names", "strategies[1].name"),
        ("probability_over_one", "versions.new.error_rate"),
        ("unknown_metric", "analysis.metrics[0].name"),
        ("metric_min_above_max", "analysis.metrics[0].min"),
        ("threshold_zero", "analysis.threshold"),
        ("zero_replications", "replications"),
        ("undeclared_version", "versions.v3"),
    ];
    for (name, field) in cases {
        let e = parse_error(name);
        assert_eq!(e.field, field, "{name}: {e}");
        assert_eq!(e.file, Path::new("bad.toml"), "{name}");
        assert!(!e.message.is_empty(), "{name}");
        assert!(
            e.to_string().starts_with("bad.toml"),
            "{name}: display must start with the file: {e}"
        );
    }
}

#[test]
fn library_errors_suggest_the_closest_name() {
    let e = parse_error("unknown_strategy_kind");
    assert!(e.message.contains("\"canery\""), "{e}");
    assert!(e.message.contains("did you mean \"canary\"?"), "{e}");
    let e = parse_error("unknown_fault_kind");
    assert!(e.message.contains("did you mean \"error_rate\"?"), "{e}");
    let e = parse_error("unknown_metric");
    assert!(e.message.contains("did you mean \"latency_p99\"?"), "{e}");
    let e = parse_error("strategy_field_not_for_kind");
    assert!(e.message.contains("takes no `steps`"), "{e}");
    assert!(e.message.contains("max_surge"), "{e}");
}

#[test]
fn library_errors_from_toml_carry_a_location() {
    // Line 1 of every fixture is a comment; `rate = "fast"` is line 6, the value column 8.
    let e = parse_error("wrong_type");
    assert_eq!(e.location, Some((6, 8)), "{e}");
    assert!(e.message.contains("\"fast\""), "{e}");
    let e = parse_error("toml_syntax_error");
    assert!(e.location.is_some(), "{e}");
    assert_eq!(e.field, "", "{e}");
    let e = parse_error("missing_horizon");
    assert_eq!((e.field.as_str(), e.location), ("horizon", None), "{e}");
}

/// The path of an unknown key must name the key once: `traffic.rte`, not `traffic.rte.rte`.
#[test]

fn library_unknown_keys_name_their_path_once() {
    assert_eq!(parse_error("unknown_nested_field").field, "traffic.rte");
    assert_eq!(parse_error("unknown_top_level_field").field, "colour");
}

/// [`BASE`] with five mistakes in five sections: the horizon, the traffic, a fault, the
/// analysis and a strategy (and one right, the duplicate-free strategy names).
fn five_mistakes() -> String {
    [
        ("horizon = \"10m\"", "horizon = \"10 parsecs\""),
        ("users = 100", "users = 0"),
        ("kind = \"error_rate\"", "kind = \"eror_rate\""),
        ("threshold = 2", "threshold = 0"),
        ("kind = \"canary\"", "kind = \"canery\""),
    ]
    .iter()
    .fold(BASE.to_string(), |text, (from, to)| {
        assert!(text.contains(from), "{from}");
        text.replacen(from, to, 1)
    })
}

/// Issue 15, point 4: one `validate` reports every error the resolver finds, each with its
/// line and column, not only the first.
#[test]
fn issue15_validate_reports_all_five_errors_of_one_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("five.toml");
    std::fs::write(&file, five_mistakes()).unwrap();
    let output = rehearsal()
        .arg("validate")
        .arg(&file)
        .output()
        .expect("run rehearsal");
    let stderr = String::from_utf8(output.stderr).expect("UTF-8 stderr");
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 5, "{stderr}");
    for (line, field) in lines.iter().zip([
        "horizon",
        "traffic.users",
        "faults[0].kind",
        "analysis.threshold",
        "strategies[0].kind",
    ]) {
        let prefix = format!("error: {}:", file.display());
        assert!(line.starts_with(&prefix), "{line}");
        let (location, rest) = line[prefix.len()..].split_once(": ").unwrap();
        assert!(
            location.split(':').all(|n| n.parse::<usize>().is_ok()),
            "no line:col in {line}"
        );
        assert!(rest.starts_with(&format!("{field}: ")), "{line}");
    }
    insta::assert_snapshot!(
        "five_errors",
        stderr.replace(&file.display().to_string(), "five.toml")
    );
}

/// The library keeps the same five, in the order of the file's sections.
#[test]
fn issue15_parse_all_returns_every_error_and_parse_the_first() {
    let text = five_mistakes();
    let all = rehearsal::scenario::parse_all(&text, Path::new("five.toml")).unwrap_err();
    let fields: Vec<&str> = all.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "horizon",
            "traffic.users",
            "faults[0].kind",
            "analysis.threshold",
            "strategies[0].kind"
        ]
    );
    assert_eq!(parse(&text, Path::new("five.toml")).unwrap_err(), all.0[0]);
}

/// A strategy that uses the broken scenario `[analysis]` is not blamed for it a second time,
/// and a broken horizon does not make every fault start "after" it.
#[test]
fn issue15_an_error_is_reported_once_and_blames_nothing_else() {
    let text = BASE
        .replace("threshold = 2", "threshold = 0")
        .replace("horizon = \"10m\"", "horizon = \"0s\"")
        + "\n[[strategies]]\nname = \"f\"\nkind = \"flagger\"\nstep_weight = 10\nmax_weight = 50\n";
    let all = rehearsal::scenario::parse_all(&text, Path::new("s.toml")).unwrap_err();
    let fields: Vec<&str> = all.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["horizon", "analysis.threshold"], "{all}");
}

/// Issue 13/15: `drill` and `check` report every invalid file of a suite, each error once,
/// before anything runs.
#[test]
fn issue15_drill_and_check_report_every_invalid_file_of_a_suite() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("suite");
    std::fs::create_dir(&suite).unwrap();
    std::fs::write(suite.join("a_good.toml"), BASE).unwrap();
    std::fs::write(
        suite.join("b_bad.toml"),
        BASE.replace("name = \"tiny\"", "name = \"b\"")
            .replace("users = 100", "users = 0"),
    )
    .unwrap();
    std::fs::write(
        suite.join("c_bad.toml"),
        five_mistakes().replace("tiny", "c"),
    )
    .unwrap();
    for command in ["drill", "check"] {
        let output = rehearsal()
            .arg(command)
            .arg(&suite)
            .arg("--out")
            .arg(tmp.path().join("out"))
            .output()
            .expect("run rehearsal");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        assert_eq!(stderr.lines().count(), 6, "{command}: {stderr}");
        assert!(stderr.lines().all(|l| l.starts_with("error: ")), "{stderr}");
        assert_eq!(stderr.matches("b_bad.toml").count(), 1, "{stderr}");
        assert_eq!(stderr.matches("c_bad.toml").count(), 5, "{stderr}");
        assert!(!tmp.path().join("out").exists(), "{command} ran: {stderr}");
    }
}

/// Issue 15 point 4 and issue 13 "Messages": each message that misled now says what to
/// write instead (the full texts are the fixtures' snapshots).
#[test]
fn issue15_misleading_messages_say_what_to_write() {
    let cases = [
        (
            "percent_literal",
            "",
            "a probability in [0, 1], e.g. rate = 0.03",
        ),
        (
            "bare_number_duration",
            "analysis.interval",
            "such as \"60s\"",
        ),
        (
            "camel_case_strategy_field",
            "strategies[0].stepWeight",
            "`step_weight` is a field of kind = \"flagger\", while a canary writes its ladder as steps = [",
        ),
        (
            "camel_case_strategy_field",
            "strategies[0].stepWeight",
            "a canary strategy's fields are: name, kind, analysis, sticky, steps,",
        ),
        (
            "field_of_another_kind",
            "strategies[0].step_weight",
            "is a field of kind = \"flagger\"",
        ),
        (
            "analysis_field_in_strategy",
            "strategies[0].threshold",
            "[strategies.analysis]",
        ),
        ("duplicate_key", "", "duplicate key \"rate\""),
        (
            "array_item_not_a_table",
            "strategies[0].steps[0]",
            "expected a table",
        ),
        (
            "integer_out_of_range",
            "traffic.users",
            "18446744073709551616 is out of range; expected a whole number from 0 to",
        ),
        (
            "name_too_long",
            "name",
            "300 characters is too long; at most 100",
        ),
        (
            "rate_bound_over_one",
            "analysis.metrics[0].max",
            "(for 1.5 %, write 0.015)",
        ),
        (
            "duration_bound_for_rate",
            "analysis.metrics[0].max",
            "error_rate is a fraction",
        ),
    ];
    for (name, field, says) in cases {
        let e = parse_error(name);
        assert_eq!(e.field, field, "{name}: {e}");
        assert!(e.message.contains(says), "{name}: {e}");
        assert!(!e.message.contains("Raw"), "{name}: a Rust type in {e}");
        assert!(!e.message.contains("i128"), "{name}: a Rust type in {e}");
        assert!(e.location.is_some(), "{name}: no line:col in {e}");
    }
    let e = parse_error("control_characters");
    assert!(e.to_string().contains(r"ti\u{1b}[31mny\u{7}"), "{e}");
    assert!(!e.to_string().contains('\u{1b}'), "{e}");
}

/// Issue 15 point 4: a latency bound takes a duration as well as milliseconds.
#[test]
fn issue15_latency_bounds_take_a_duration_or_milliseconds() {
    let latency = |max: &str| {
        let text = BASE
            .replace("name = \"error_rate\"", "name = \"latency_p99\"")
            .replace("max = 0.01", &format!("max = {max}"));
        let s = common::scenario(&text);
        let rule = &s.strategies[0].analysis.as_ref().unwrap().metrics[0];
        (rule.min, rule.max)
    };
    assert_eq!(latency("\"500ms\""), (None, Some(500.0)));
    assert_eq!(latency("\"1.5s\""), (None, Some(1500.0)));
    assert_eq!(latency("500"), latency("\"500ms\""));
}

/// Issue 13: a file that is not UTF-8 names the byte offset and the line.
#[test]
fn issue13_invalid_utf8_names_the_byte_and_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("latin1.toml");
    let mut bytes = BASE.as_bytes().to_vec();
    let at = BASE.find("[traffic]").unwrap();
    bytes.splice(at..at, b"# caf\xe9\n".iter().copied());
    std::fs::write(&file, &bytes).unwrap();
    let output = rehearsal().arg("validate").arg(&file).output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let line = BASE[..at].matches('\n').count() + 1;
    assert!(
        stderr.contains(&format!("invalid UTF-8 at byte {} (line {line})", at + 5)),
        "{stderr}"
    );
    assert!(
        stderr.starts_with(&format!("error: {}:{line}:6: ", file.display())),
        "{stderr}"
    );
}

/// Issue 15 point 4: a `--set` path with a typo suggests the name it meant.
#[test]
fn issue15_set_path_typo_suggests_the_name() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("s.toml");
    std::fs::write(&file, BASE).unwrap();
    let output = rehearsal()
        .args([
            "sweep",
            "-n",
            "1",
            "--set",
            "analysis.metrics.error_rat.max=0.01,0.02",
        ])
        .arg(&file)
        .arg("--out")
        .arg(tmp.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no field \"error_rat\"")
            && stderr.contains("(did you mean \"error_rate\"?)"),
        "{stderr}"
    );
}

/// Issue 13: `-j 100000` is refused naming `--jobs` and its range (instead of trying to
/// start 100000 threads).
#[test]
fn issue13_too_many_jobs_names_the_flag() {
    for jobs in ["100000", "0"] {
        let output = rehearsal()
            .args(["-j", jobs, "validate", "x.toml"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("--jobs") && stderr.contains("1..=256"),
            "{stderr}"
        );
    }
}

/// Text replacements, `(from, to)`.
type Edits<'a> = &'a [(&'a str, &'a str)];

/// The warnings of [`BASE`] with each `(from, to)` replaced.
fn warnings_of(replacements: &[(&str, &str)]) -> Vec<ScenarioError> {
    let text = replacements.iter().fold(BASE.to_string(), |t, (from, to)| {
        assert!(t.contains(from), "{from}");
        t.replacen(from, to, 1)
    });
    rehearsal::scenario::warnings(&common::scenario(&text), Path::new("w.toml"))
}

/// Issue 15 point 5: unit mistakes that leave a valid file are warnings, each naming its
/// field; the base scenario has none.
#[test]
fn issue15_unit_mistakes_are_warnings() {
    assert_eq!(warnings_of(&[]), []);
    let cases: [(Edits, &str, &str); 4] = [
        (
            &[
                ("name = \"error_rate\"", "name = \"latency_p99\""),
                ("max = 0.01", "max = 0.5"),
            ],
            "analysis.metrics[0].max",
            "0.5 ms is below the candidate's median latency (50 ms)",
        ),
        (
            &[(
                "steps = [{ weight = 10, pause = \"1m\" }, { weight = 100 }]",
                "steps = [{ weight = 0.1, pause = \"1m\" }, { weight = 0.5, pause = \"1m\" }]",
            )],
            "strategies[0].steps",
            "every weight is below 1 %",
        ),
        (
            // 10 req/s over a 30 s window: about 300 requests at most.
            &[("threshold = 2", "threshold = 2\nmin_requests = 301")],
            "analysis.min_requests",
            "(about 300)",
        ),
        (
            // The canary pauses 1m at 10 %: it cannot promote within 1m.
            &[
                ("horizon = \"10m\"", "horizon = \"1m\""),
                ("start = \"1m\"", "start = \"10s\""),
            ],
            "horizon",
            "1m is not longer than strategy \"canary\"'s rollout (at least 1m)",
        ),
    ];
    for (replacements, field, says) in cases {
        let w = warnings_of(replacements);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].field, field, "{}", w[0]);
        assert!(w[0].message.contains(says), "{}", w[0]);
    }
    // Just reachable, just long enough: no warning.
    assert_eq!(
        warnings_of(&[("threshold = 2", "threshold = 2\nmin_requests = 300")]),
        []
    );
    assert_eq!(
        warnings_of(&[("horizon = \"10m\"", "horizon = \"61s\"")]),
        []
    );
}

/// Issue 15 point 5: a rate bound above 1 (a percentage) is an error for both rates.
#[test]
fn issue15_rate_bounds_above_one_are_errors() {
    for metric in ["error_rate", "bad_write_rate"] {
        let text = BASE
            .replace("name = \"error_rate\"", &format!("name = \"{metric}\""))
            .replace("max = 0.01", "max = 1.5");
        let e = parse(&text, Path::new("s.toml")).unwrap_err();
        assert_eq!(e.field, "analysis.metrics[0].max", "{e}");
        assert!(
            e.message.contains(&format!("{metric} is a fraction")),
            "{e}"
        );
    }
}

/// Issue 15 point 5: `validate` and `run` print warnings and go on; `--deny-warnings` makes
/// them errors (exit 2, nothing run).
#[test]
fn issue15_deny_warnings_fails_validate_and_run() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("w.toml");
    std::fs::write(
        &file,
        BASE.replace("threshold = 2", "threshold = 2\nmin_requests = 301"),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let run = |args: &[&str]| {
        let o = rehearsal()
            .args(args)
            .arg(&file)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let output = rehearsal().arg("validate").arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.starts_with("warning: ") && stderr.contains("analysis.min_requests"),
        "{stderr}"
    );
    let output = rehearsal()
        .args(["validate", "--deny-warnings"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("analysis.min_requests"),
        "{stderr}"
    );

    let (code, stderr) = run(&["run", "-q", "-n", "1", "--deny-warnings"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("analysis.min_requests"), "{stderr}");
    assert!(!out.exists(), "ran despite --deny-warnings");
    let (code, stderr) = run(&["run", "-q", "-n", "1"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: ") && stderr.contains("analysis.min_requests"),
        "{stderr}"
    );
}

/// Issue 15: a warning points at its value with `file:line:col` like an error, and `drill`
/// and `check` print the warnings of every file of the suite (and refuse them under
/// `--deny-warnings`, exit 2, nothing run).
#[test]
fn issue15_warnings_have_line_and_column_and_drill_and_check_print_them() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("suite")).unwrap();
    let text = BASE.replace("threshold = 2", "threshold = 2\nmin_requests = 301");
    std::fs::write(tmp.path().join("suite/w.toml"), &text).unwrap();
    // The value `301` on its own line, after `min_requests = `.
    let line = text
        .lines()
        .position(|l| l == "min_requests = 301")
        .unwrap()
        + 1;
    let at = format!("suite/w.toml:{line}:16: analysis.min_requests: 301 requests per check");
    let stderr_of = |args: &[&str]| {
        let o = rehearsal()
            .current_dir(tmp.path())
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, stderr) = stderr_of(&["validate", "suite/w.toml"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains(&format!("warning: {at}")), "{stderr}");
    for command in ["drill", "check"] {
        let (code, stderr) = stderr_of(&[command, "suite", "--out", "out", "-q"]);
        assert!(code == Some(0) || code == Some(1), "{command}: {stderr}");
        assert!(
            stderr.contains(&format!("warning: {at}")),
            "{command}: {stderr}"
        );
        let (code, stderr) = stderr_of(&[command, "suite", "--out", "denied", "--deny-warnings"]);
        assert_eq!(code, Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains(&format!("error: {at}")),
            "{command}: {stderr}"
        );
        assert!(!tmp.path().join("denied").exists(), "{command} ran");
    }
}
