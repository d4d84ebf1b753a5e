//! Issue 9: the fault catalog is the one definition of the fault kinds. docs/reference.md lists
//! exactly what the parser accepts, and every kind's errors come from its catalog entry.

use crate::common::Preamble;
use rehearsal::model::{FaultName, Need, Targets, Timing};
use rehearsal::scenario::{ScenarioError, parse};
use std::path::Path;

/// A valid scenario with one canary; the tests append a fault (and its fleet).
fn base() -> String {
    Preamble {
        name: "catalog",
        seed: 1,
        traffic: "rate = 10.0\nusers = 100",
        tables: "",
    }
    .text(
        "10m",
        1,
        "[[strategies]]\nname = \"canary\"\nkind = \"canary\"\nsteps = [{ weight = 10, pause = \"1m\" }, { weight = 100 }]\n",
    )
}

fn with_fault(fault: &str) -> Result<rehearsal::scenario::Scenario, ScenarioError> {
    parse(
        &format!("{}[[faults]]\n{fault}\n", base()),
        Path::new("catalog.toml"),
    )
}

fn error(fault: &str) -> ScenarioError {
    match with_fault(fault) {
        Ok(_) => panic!("accepted: {fault}"),
        Err(e) => e,
    }
}

/// The rows of the table of fault kinds in docs/reference.md: (kind, parameters cell).
fn readme_kinds() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/reference.md"))
        .expect("docs/reference.md");
    let table = readme
        .split("| kind | parameters | `target` | effect |")
        .nth(1)
        .expect("docs/reference.md has the table of fault kinds");
    table
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), cells[2].to_string())
        })
        .collect()
}

#[test]
fn issue9_readme_lists_exactly_the_catalog_kinds_and_parameters() {
    let rows = readme_kinds();
    let listed: Vec<&str> = rows.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        listed,
        FaultName::NAMES,
        "docs/reference.md kinds, in catalog order"
    );
    for (kind, params) in &rows {
        let spec = FaultName::parse(kind).expect("a catalog kind").spec();
        let written: Vec<&str> = params
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .collect();
        let takes: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
        for p in &takes {
            assert!(
                written.contains(p),
                "docs/reference.md row {kind} lacks `{p}`"
            );
        }
        for w in written.iter().filter(|w| !["start", "end"].contains(w)) {
            assert!(
                takes.contains(w),
                "docs/reference.md row {kind} names `{w}`, not a parameter"
            );
        }
        if takes.is_empty() {
            assert_eq!(params, "none", "docs/reference.md row {kind}");
        }
    }
}

/// A fault of kind `spec` with valid values for its parameters except `omit`, and the fleet
/// it needs; `None` for the kinds that need a migration plan (the database tests cover them).
fn valid_fault(kind: FaultName, omit: Option<&str>) -> Option<String> {
    let spec = kind.spec();
    use rehearsal::model::ParamType::*;
    if spec.timing == Timing::WithMigration {
        return None;
    }
    let mut text = String::new();
    if spec.needs_capacity {
        text.push_str("[fleet]\ncapacity_rps = 5.0\n");
    }
    text.push_str(&format!("[[faults]]\nkind = \"{}\"\n", kind.name()));
    for p in spec.params.iter().filter(|p| Some(p.name) != omit) {
        let value = match p.ty {
            Probability => "0.5",
            Multiplier => "2.0",
            Count => "1",
            Duration | PositiveDuration => "\"5s\"",
            Migration => return None,
            Flag => "true",
        };
        text.push_str(&format!("{} = {value}\n", p.name));
    }
    if matches!(spec.targets, Targets::Version | Targets::VersionOrAll) {
        text.push_str("target = \"new\"\n");
    }
    text.push_str("start = \"1m\"\n");
    Some(text)
}

#[test]
fn issue9_every_kind_accepts_its_documented_parameters() {
    for &kind in FaultName::ALL {
        let Some(fault) = valid_fault(kind, None) else {
            continue;
        };
        let s = parse(&format!("{}{fault}", base()), Path::new("catalog.toml"))
            .unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
        assert_eq!(s.service.faults[0].kind.name_of(), kind);
    }
}

#[test]
fn issue9_required_parameters_are_named_with_their_meaning() {
    let mut checked = 0;
    for &kind in FaultName::ALL {
        let spec = kind.spec();
        for p in spec.params.iter().filter(|p| p.need == Need::Required) {
            let Some(fault) = valid_fault(kind, Some(p.name)) else {
                continue;
            };
            let e = parse(&format!("{}{fault}", base()), Path::new("catalog.toml"))
                .expect_err(kind.name());
            assert_eq!(e.field, format!("faults[0].{}", p.name), "{}", kind.name());
            assert!(
                e.message.starts_with("missing: ") && e.message.ends_with(p.doc),
                "{e}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 7, "only {checked} required parameters checked");
    let e = error("kind = \"latency\"\ntarget = \"new\"");
    assert_eq!(
        e.message,
        "missing: a latency fault needs `delay`, the added latency, e.g. \"300ms\""
    );
}

#[test]
fn issue9_unknown_and_mistyped_parameters_are_clear_errors() {
    let e = error("kind = \"error_rate\"\ntarget = \"new\"\nrte = 0.1");
    assert_eq!(e.field, "faults[0].rte");
    assert_eq!(
        e.message,
        "an error_rate fault takes no `rte`; its parameters are: rate, instances (did you mean `rate`?)"
    );
    let e = error("kind = \"error_rate\"\ntarget = \"new\"\nrate = \"high\"");
    assert_eq!(e.field, "faults[0].rate");
    assert_eq!(
        e.message,
        "\"high\" is not allowed; expected a number from 0 to 1"
    );
    let e = error("kind = \"traffic_spike\"\nmultiplier = 1");
    assert_eq!(e.message, "1 is not allowed; expected a number > 1");
    let e = error("kind = \"crash_loop\"\ntarget = \"new\"\nusers = 0");
    assert_eq!(e.field, "faults[0].users");
    let e = error("kind = \"traffic_spike\"\nmultiplier = 2.0\nusers = 0.5");
    assert_eq!(
        e.message,
        "a traffic_spike fault acts on instances that every user shares; it takes no `users`"
    );
}

#[test]
fn issue9_defaults_come_from_the_catalog() {
    let s = with_fault("kind = \"dependency_outage\"").expect("parses");
    let f = &s.service.faults[0];
    assert_eq!(
        f.kind,
        rehearsal::model::FaultKind::DependencyOutage {
            rate: rehearsal::engine::Probability::ONE,
            probe: false
        }
    );
    assert_eq!(f.target, rehearsal::model::Target::All);
    let e = error("kind = \"memory_leak\"\ntarget = \"new\"\nramp = \"10m\"");
    assert_eq!(e.field, "faults[0].rate");
}
