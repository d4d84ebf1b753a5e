//! Issue 11: the team's own manifests as strategies. Each bundled manifest drill keeps the
//! controller's timeline (the arithmetic is in each test), a manifest and the same strategy
//! written in TOML give byte-identical `runs.csv`, `import` writes scenarios that run, `sweep
//! --emit` changes only the swept values, and bad manifests get exit 2 with their YAML place.

use super::common::{output, succeed};
use rehearsal::replications::run_scenario;
use rehearsal::scenario::{self, Scenario};
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A bundled drill with `n` replications.
fn drill(name: &str, n: u32) -> Scenario {
    let mut s = scenario::load(&repo(&format!("scenarios/{name}.toml")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    s.set_replications(n);
    s
}

/// Every run's rollback time (faulty) and, for the healthy twin, its rollout time.
fn times(s: &Scenario) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
    let faulty = run_scenario(s).unwrap();
    let healthy = run_scenario(&rehearsal::sweep::healthy_twin(s)).unwrap();
    let secs = |t: Option<rehearsal::engine::SimTime>| t.map(|t| t.as_secs_f64());
    (
        faulty.runs.iter().map(|r| secs(r.rollback)).collect(),
        healthy
            .runs
            .iter()
            .inspect(|r| assert!(!r.rolled_back, "{}: a healthy run rolled back", s.name))
            .map(|r| secs(r.rollout))
            .collect(),
    )
}

#[test]
fn issue11_flagger_canary_manifest_keeps_flaggers_ticks() {
    // Ticks every 60 s from the revision (tick 0). Healthy: 10 % at tick 1 (60 s), checks pass
    // at ticks 2–5 (20 … 50 %), tick 6 (360 s) passes at maxWeight and promotes, tick 7
    // (420 s) routes all traffic to the primary: (1 + 50/10 + 1) × 60 = 420 s.
    // 5 % errors: checks fail at ticks 2–6 (120–360 s), failedChecks reaches threshold 5 at
    // tick 6, acted on at tick 7: rollback at 420 s.
    let s = drill("manifest-flagger-canary", 3);
    assert_eq!(s.service.fleet.instances, 2, "the Deployment's replicas");
    assert_eq!(
        s.service.fleet.startup.as_secs_f64(),
        5.0,
        "its readiness probe"
    );
    let (rollback, rollout) = times(&s);
    assert!(rollback.iter().all(|t| *t == Some(420.0)), "{rollback:?}");
    assert!(rollout.iter().all(|t| *t == Some(420.0)), "{rollout:?}");
}

#[test]
fn issue11_flagger_blue_green_manifest_checks_the_load_test_before_any_user() {
    // Ticks every 30 s. Healthy: 10 iterations at ticks 2–11 (60–330 s) on load-test traffic,
    // all traffic to the canary at tick 12 (360 s), promoted at tick 13: 13 × 30 = 390 s.
    // 5 % errors: the load-test checks fail at ticks 2 and 3 (60, 90 s), threshold 2 is acted
    // on at tick 4: rollback at 120 s, with no user ever routed to the canary.
    let s = drill("manifest-flagger-blue-green", 3);
    let (rollback, rollout) = times(&s);
    assert!(rollback.iter().all(|t| *t == Some(120.0)), "{rollback:?}");
    assert!(rollout.iter().all(|t| *t == Some(390.0)), "{rollout:?}");
    let r = run_scenario(&s).unwrap();
    assert!(r.runs.iter().all(|r| r.affected_users == 0));
}

#[test]
fn issue11_argo_canary_manifest_keeps_argos_background_analysis() {
    // Healthy: each setWeight waits for its pods (30 s), then 10-minute pauses, and the final
    // 100 % waits for all 10: 4 × 600 + 5 × 30 = 2550 s.
    // Crash: the run starts with step 2 (40 %) at 630 s and measures at once and every 5 m:
    // 630, 930, 1230, 1530 s; the 4th failure is above failureLimit 3: abort at 1530 s.
    let s = drill("manifest-argo-canary", 3);
    assert_eq!(s.service.fleet.instances, 10, "the Rollout's replicas");
    let (rollback, rollout) = times(&s);
    assert!(rollback.iter().all(|t| *t == Some(1530.0)), "{rollback:?}");
    assert!(rollout.iter().all(|t| *t == Some(2550.0)), "{rollout:?}");
}

#[test]
fn issue11_argo_blue_green_manifest_keeps_argos_promotion_analyses() {
    // Green ready at 30 s. The smoke test's first measurement (30 s) finds no load-test
    // request yet, an Error retried after 10 s: 40, 70, 100, 130 s (count 4), switch at 130 s.
    // Post-promotion: 5 measurements a minute apart from the switch, the last at
    // 130 + 4 × 60 = 370 s: promoted at 370 s. Faulty: the measurement at 190 s reads a minute
    // of green at 6 % errors (success 94 % < 95 %, failureLimit 0): abort at 190 s.
    let s = drill("manifest-argo-blue-green", 3);
    let (rollback, rollout) = times(&s);
    assert!(rollback.iter().all(|t| *t == Some(190.0)), "{rollback:?}");
    assert!(rollout.iter().all(|t| *t == Some(370.0)), "{rollout:?}");
}

/// The bundled drill `name`, with its `[[strategies]]` replaced by `strategy` (TOML) and
/// manifest paths made absolute so the file can live anywhere.
fn variant(name: &str, strategy: &str) -> String {
    let text = fs::read_to_string(repo(&format!("scenarios/{name}.toml"))).unwrap();
    let head = &text[..text.find("[[strategies]]").unwrap()];
    let strategy = strategy.replace(
        "manifest = \"k8s/",
        &format!("manifest = \"{}/", repo("scenarios/k8s").display()),
    );
    format!("{head}{strategy}")
}

/// `runs.csv` of scenario `text` run with 3 replications.
fn runs_csv(dir: &Path, file: &str, text: &str) -> String {
    let path = dir.join(file);
    fs::write(&path, text).unwrap();
    let out = dir.join(format!("{file}.out"));
    succeed(&[
        OsStr::new("run"),
        path.as_os_str(),
        OsStr::new("-n"),
        OsStr::new("3"),
        OsStr::new("-q"),
        OsStr::new("--out"),
        out.as_os_str(),
    ]);
    fs::read_to_string(out.join("runs.csv")).unwrap()
}

/// The drill's manifest strategy and `native` (the same strategy in TOML) give the same bytes.
fn same_runs(name: &str, native: &str) {
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(repo(&format!("scenarios/{name}.toml"))).unwrap();
    let manifest = variant(name, &text[text.find("[[strategies]]").unwrap()..]);
    let a = runs_csv(dir.path(), "manifest.toml", &manifest);
    let b = runs_csv(dir.path(), "native.toml", &variant(name, native));
    assert!(a.lines().count() == 4, "{a}");
    assert_eq!(a, b, "{name}: the manifest and its TOML differ");
}

#[test]
fn issue11_flagger_manifest_and_native_toml_give_the_same_runs() {
    same_runs(
        "manifest-flagger-canary",
        r#"[fleet]
instances = 2
startup = "5s"

[[strategies]]
name = "podinfo"
kind = "flagger"
step_weight = 10
max_weight = 50
progress_deadline = "60s"
load_test_rate = 20
[strategies.analysis]
interval = "1m"
threshold = 5
metrics = [
  { name = "error_rate", max = 0.01, window = "1m" },
  { name = "latency_p99", max = 500, window = "30s" },
]
"#,
    );
    same_runs(
        "manifest-flagger-blue-green",
        r#"[fleet]
instances = 4
startup = "10s"

[[strategies]]
name = "podinfo-bg"
kind = "flagger"
mode = "blue_green"
iterations = 10
progress_deadline = "600s"
load_test_rate = 20
[strategies.analysis]
interval = "30s"
threshold = 2
metrics = [
  { name = "error_rate", max = 0.01, window = "1m" },
  { name = "latency_p99", max = 500, window = "30s" },
]
"#,
    );
}

#[test]
fn issue11_argo_manifests_and_native_toml_give_the_same_runs() {
    same_runs(
        "manifest-argo-canary",
        r#"[fleet]
instances = 10
startup = "30s"

[[strategies]]
name = "guestbook"
kind = "argo_canary"
progress_deadline = "600s"
steps = [
  { set_weight = 20 }, { pause = "10m" },
  { set_weight = 40 }, { pause = "10m" },
  { set_weight = 60 }, { pause = "10m" },
  { set_weight = 80 }, { pause = "10m" },
]
background_analysis = { templates = ["success-rate"], starting_step = 2 }

[[analysis_templates.success-rate.metrics]]
name = "success-rate"
measure = "success_rate"
scope = "service"
window = "5m"
interval = "5m"
success_condition = "result[0] >= 0.95"
failure_limit = 3
"#,
    );
    same_runs(
        "manifest-argo-blue-green",
        r#"[fleet]
instances = 4
startup = "30s"

[[strategies]]
name = "checkout"
kind = "blue_green"
preview_rate = 20.0
scale_down_delay = "30s"
pre_promotion_analysis = { templates = ["smoke-tests"] }
post_promotion_analysis = { templates = ["success-rate-post"] }

[[analysis_templates.smoke-tests.metrics]]
name = "smoke-error-rate"
measure = "error_rate"
scope = "candidate"
window = "30s"
interval = "30s"
count = 4
failure_limit = 0
success_condition = "result[0] <= 0.01"

[[analysis_templates.success-rate-post.metrics]]
name = "success-rate"
measure = "success_rate"
scope = "service"
window = "1m"
interval = "60s"
count = 5
success_condition = "result[0] >= 0.95"
"#,
    );
}

#[test]
fn issue11_import_writes_scenarios_that_validate_and_run() {
    let dir = tempfile::tempdir().unwrap();
    for (i, m) in [
        "podinfo-canary",
        "podinfo-blue-green",
        "rollout-canary",
        "rollout-blue-green",
    ]
    .iter()
    .enumerate()
    {
        for inline in [false, true] {
            let out = dir.path().join(format!("drills/{m}-{inline}.toml"));
            let manifest = repo(&format!("scenarios/k8s/{m}.yaml"));
            let mut args: Vec<&OsStr> = vec![
                OsStr::new("import"),
                manifest.as_os_str(),
                OsStr::new("--out"),
                out.as_os_str(),
            ];
            if inline {
                args.push(OsStr::new("--inline"));
            }
            succeed(&args);
            let text = fs::read_to_string(&out).unwrap();
            assert_eq!(text.contains("manifest = "), !inline, "{text}");
            succeed(&[OsStr::new("validate"), out.as_os_str()]);
            // Run a short version of one of each kind.
            if i % 2 == 0 {
                let short = text.replace("replications = 20", "replications = 2");
                fs::write(&out, short).unwrap();
                let report = dir.path().join(format!("report-{i}-{inline}"));
                succeed(&[
                    OsStr::new("run"),
                    out.as_os_str(),
                    OsStr::new("-q"),
                    OsStr::new("--out"),
                    report.as_os_str(),
                ]);
                assert!(report.join("runs.csv").exists());
            }
        }
    }
}

#[test]
fn issue11_sweep_emit_changes_only_the_swept_values() {
    let dir = tempfile::tempdir().unwrap();
    let k8s = dir.path().join("k8s");
    fs::create_dir_all(&k8s).unwrap();
    let original = fs::read_to_string(repo("scenarios/k8s/podinfo-canary.yaml")).unwrap();
    fs::write(k8s.join("podinfo-canary.yaml"), &original).unwrap();
    let text = fs::read_to_string(repo("scenarios/manifest-flagger-canary.toml")).unwrap();
    let file = dir.path().join("drill.toml");
    fs::write(&file, text).unwrap();
    let emit = dir.path().join("tuned");
    let out = succeed(&[
        OsStr::new("sweep"),
        file.as_os_str(),
        OsStr::new("--set"),
        OsStr::new("strategies.podinfo.spec.analysis.threshold=2,5"),
        OsStr::new("--set"),
        OsStr::new("strategies.podinfo.max_weight=30,50"),
        OsStr::new("-n"),
        OsStr::new("3"),
        OsStr::new("--max-false-rollback"),
        OsStr::new("100%"),
        OsStr::new("--out"),
        dir.path().join("sweep").as_os_str(),
        OsStr::new("--emit"),
        emit.as_os_str(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Threshold 2 detects sooner (fewer users hurt) and max 30 promotes sooner: recommended.
    let tuned = fs::read_to_string(emit.join("podinfo-canary.yaml")).unwrap();
    let expected = original
        .replace("    threshold: 5\n", "    threshold: 2\n")
        .replace("    maxWeight: 50\n", "    maxWeight: 30\n");
    assert_eq!(tuned, expected, "{stdout}");
    assert!(
        stdout.contains(
            "-    threshold: 5\n-    maxWeight: 50\n+    threshold: 2\n+    maxWeight: 30\n"
        ),
        "{stdout}"
    );
    // The tuned manifest parses again to the recommended values.
    let docs = rehearsal::scenario::manifest::yaml::documents(&tuned).unwrap();
    let canary = docs
        .iter()
        .find_map(|d| d.at_path("spec.analysis"))
        .unwrap();
    let num = |k: &str| canary.get(k).map(|n| n.value.clone());
    use rehearsal::scenario::manifest::yaml::Value;
    assert_eq!(num("threshold"), Some(Value::Number(2.0)));
    assert_eq!(num("maxWeight"), Some(Value::Number(30.0)));
}

#[test]
fn issue11_bad_manifests_name_their_file_place_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let bad = repo("tests/fixtures/bad-manifests");
    let mut names: Vec<String> = fs::read_dir(&bad)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 6);
    let mut messages = String::new();
    for name in &names {
        let scenario = format!(
            "name = \"bad\"\nhorizon = \"1h\"\n[traffic]\nrate = 10.0\nusers = 100\n[versions.old]\n[versions.new]\n[[strategies]]\nmanifest = \"{}\"\n[strategies.metrics]\n\"success-rate\" = {{ measure = \"success_rate\" }}\n",
            bad.join(name).display()
        );
        let file = dir.path().join("bad.toml");
        fs::write(&file, scenario).unwrap();
        let out = output(&[OsStr::new("validate"), file.as_os_str()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr)
            .replace(&bad.display().to_string(), "tests/fixtures/bad-manifests")
            .replace(&dir.path().display().to_string(), "TMP");
        assert!(
            stderr.contains(&format!("tests/fixtures/bad-manifests/{name}:")),
            "{stderr}"
        );
        messages.push_str(&format!("{name}:\n{stderr}\n"));
    }
    insta::assert_snapshot!("issue11_bad_manifests", messages);
}

#[test]
fn issue11_unmodelled_fields_are_warnings_and_strict_makes_them_errors() {
    let file = repo("scenarios/manifest-flagger-canary.toml");
    let out = succeed(&[OsStr::new("validate"), file.as_os_str()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("podinfo-canary.yaml:109:9: spec.analysis.webhooks[0]: the pre-rollout hook \"acceptance-test\" is not simulated"),
        "{stderr}"
    );
    let strict = output(&[
        OsStr::new("validate"),
        OsStr::new("--strict"),
        file.as_os_str(),
    ]);
    assert_eq!(strict.status.code(), Some(2));
}

#[test]
fn issue11_the_mapping_table_is_documented_as_generated() {
    let doc = fs::read_to_string(repo("docs/manifests.md")).unwrap();
    assert!(
        doc.contains(&rehearsal::scenario::manifest::fields::markdown()),
        "docs/manifests.md: the mapping table differs from rehearsal::scenario::manifest::fields::FIELDS; paste the output of fields::markdown()"
    );
}

#[test]
fn issue11_a_deployment_alone_is_a_rolling_update() {
    // Its fleet: 8 replicas, Ready at the earliest 15 + (2 − 1) × 5 = 20 s after start.
    let dir = tempfile::tempdir().unwrap();
    let head = "name = \"api\"\nhorizon = \"1h\"\nseed = 5\nreplications = 3\n[traffic]\nrate = 50.0\nusers = 5000\n[versions.old]\n[versions.new]\n[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 0.5\n[manual]\nmedian = \"5m\"\n";
    let manifest = format!(
        "{head}[[strategies]]\nmanifest = \"{}\"\n",
        repo("tests/fixtures/manifests/deployment.yaml").display()
    );
    let native = format!(
        "{head}[fleet]\ninstances = 8\nstartup = \"20s\"\n[[strategies]]\nname = \"api\"\nkind = \"rolling\"\nmax_surge = \"25%\"\nmax_unavailable = 1\nmin_ready = \"10s\"\nprogress_deadline = \"300s\"\n"
    );
    let a = runs_csv(dir.path(), "manifest.toml", &manifest);
    let b = runs_csv(dir.path(), "native.toml", &native);
    assert_eq!(a, b);
}

#[test]
fn issue11_template_fields_are_set_by_document_and_path() {
    // `strategies.<name>.AnalysisTemplate/<template>.<yaml path>` reaches a template's value,
    // and the edit changes that value's bytes only.
    let file = repo("scenarios/manifest-argo-canary.toml");
    let text = fs::read_to_string(&file).unwrap();
    let mut doc: toml::Table = text.parse().unwrap();
    rehearsal::scenario::manifest::name_strategies(&mut doc, &file);
    let mut doc = toml::Value::Table(doc);
    rehearsal::scenario::overrides::set(
        &mut doc,
        "strategies.guestbook.AnalysisTemplate/success-rate.spec.metrics.success-rate.failureLimit",
        toml::Value::Integer(1),
    )
    .unwrap();
    let toml::Value::Table(doc) = doc else {
        unreachable!()
    };
    let edited = rehearsal::scenario::manifest::edited_files(&doc, &file).unwrap();
    assert_eq!(edited.len(), 1);
    assert_eq!(
        edited[0].manifest.text,
        edited[0]
            .original
            .replace("failureLimit: 3", "failureLimit: 1")
    );
    // A value the manifest does not write cannot be set.
    let mut doc: toml::Table = text.parse().unwrap();
    rehearsal::scenario::manifest::name_strategies(&mut doc, &file);
    let mut doc = toml::Value::Table(doc);
    rehearsal::scenario::overrides::set(
        &mut doc,
        "strategies.guestbook.spec.strategy.canary.scaleDownDelaySeconds",
        toml::Value::Integer(60),
    )
    .unwrap();
    let toml::Value::Table(doc) = doc else {
        unreachable!()
    };
    let e = rehearsal::scenario::manifest::edited_files(&doc, &file).unwrap_err();
    assert!(
        e[0].message
            .contains("no value at \"spec.strategy.canary.scaleDownDelaySeconds\""),
        "{e:?}"
    );
    assert_eq!(
        e[0].field,
        "strategies[0].set.\"spec.strategy.canary.scaleDownDelaySeconds\""
    );
}

#[test]
fn issue11_import_takes_a_base_scenario_and_maps_custom_queries() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shop.toml");
    let manifest = repo("tests/fixtures/manifests/canary-custom-metric.yaml");
    let base = repo("scenarios/error-regression-3pct.toml");
    let run = succeed(&[
        OsStr::new("import"),
        manifest.as_os_str(),
        OsStr::new("--scenario"),
        base.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
    ]);
    let notes = String::from_utf8_lossy(&run.stderr);
    assert!(notes.contains("query \"error-rate\" mapped to"), "{notes}");
    let text = fs::read_to_string(&out).unwrap();
    // The base's traffic and faults, not its strategies; the query guessed from its text.
    assert!(text.contains("rate = 1000.0"), "{text}");
    assert!(!text.contains("canary-10-t5"), "{text}");
    assert!(text.contains("[strategies.metrics.error-rate]"), "{text}");
    let s = scenario::load(&out).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(s.strategies.len(), 1);
    assert_eq!(s.strategies[0].name, "shop");
}
