//! The resolved parameters of a scenario, one row per field, each marked with where its value
//! came from: the file, a built-in default, or a command-line override.

use crate::detect::{AnalysisSpec, Metric};
use crate::engine::SimTime;
use crate::format::{number, percent, time};
use crate::model::{
    DataPolicy, InitialData, Migration, MigrationKind, Refresh, Target, TrafficSpec,
};
use crate::scenario::{Origin, Provenance, Scenario};
use crate::strategy::{
    ArgoCanarySpec, ArgoStep, CanaryRollback, FlaggerLadder, FlaggerMode, FlaggerSpec, RunSpec,
    Step, StrategyKind, StrategySpec,
};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Written in the scenario file.
    File,
    /// Not in the file: a built-in default applied.
    Default,
    /// Taken from the scenario's `[analysis]`, where it was written (`File`) or defaulted.
    Inherited(Box<Source>),
    /// A command-line flag replaced the file's value (`--seed`, `--replications`).
    Override(&'static str),
}

impl Source {
    /// `file`, `default`, `[analysis], file`, `--seed`.
    pub fn name(&self) -> String {
        match self {
            Source::File => "file".into(),
            Source::Default => "default".into(),
            Source::Inherited(s) => format!("[analysis], {}", s.name()),
            Source::Override(flag) => (*flag).into(),
        }
    }

    /// Whether a built-in default supplied the value.
    pub fn is_default(&self) -> bool {
        match self {
            Source::Default => true,
            Source::Inherited(s) => s.is_default(),
            _ => false,
        }
    }
}

impl From<Origin> for Source {
    fn from(o: Origin) -> Source {
        match o {
            Origin::File => Source::File,
            Origin::Default => Source::Default,
            Origin::Override(flag) => Source::Override(flag),
        }
    }
}

/// One resolved field.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The field path, as in the scenario file: `fleet.startup`, `strategies[1].analysis.interval`.
    pub field: String,
    /// The value in effect, formatted with its unit.
    pub value: String,
    /// Where it came from.
    pub source: Source,
}

/// Collects the rows, each with the origin the resolver recorded for its field.
struct Rows<'a> {
    provenance: &'a Provenance,
    rows: Vec<Param>,
}

impl Rows<'_> {
    fn source(&self, field: &str) -> Source {
        self.provenance.origin(field).into()
    }

    fn push(&mut self, field: impl Into<String>, value: String) {
        let field = field.into();
        let source = self.source(&field);
        self.push_with(field, value, source);
    }

    fn push_with(&mut self, field: String, value: String, source: Source) {
        self.rows.push(Param {
            field,
            value,
            source,
        });
    }
}

fn ladder(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|st| {
            if st.pause == SimTime::ZERO {
                format!("{}%", number(st.percent))
            } else {
                format!("{}% for {}", number(st.percent), time(st.pause))
            }
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

fn metrics(a: &AnalysisSpec) -> String {
    if a.metrics.is_empty() {
        return "none (no metric check)".into();
    }
    a.metrics
        .iter()
        .map(|r| {
            let unit = |v: f64| match r.metric {
                Metric::LatencyP99 => format!("{} ms", number(v)),
                _ => number(v),
            };
            let rule = match (r.min, r.max) {
                (Some(lo), Some(hi)) => {
                    format!("{} in [{}, {}]", r.metric.name(), unit(lo), unit(hi))
                }
                (Some(lo), None) => format!("{} ≥ {}", r.metric.name(), unit(lo)),
                (None, Some(hi)) => format!("{} ≤ {}", r.metric.name(), unit(hi)),
                (None, None) => r.metric.name().into(),
            };
            match r.window {
                Some(w) => format!("{rule} over the last {}", time(w)),
                None => rule,
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fault `i` in words: what it does, to which version, when and to how many users.
fn fault_value(scenario: &Scenario, i: usize) -> String {
    let service = &scenario.service;
    let fault = &service.faults[i];
    let target = match fault.target {
        Target::All => "every version".to_string(),
        Target::Version(v) => service.versions[v.index()].name.clone(),
    };
    let migration = |m: usize| {
        service
            .database
            .as_ref()
            .and_then(|d| d.migrations.get(m))
            .map_or(format!("migration {m}"), |m| format!("\"{}\"", m.name))
    };
    format!(
        "{} on {target}, from {} to {}, {} of users",
        fault.kind.describe(&migration),
        time(fault.start),
        fault.end.map_or("the horizon".into(), time),
        percent(fault.users)
    )
}

fn database_rows(r: &mut Rows, scenario: &Scenario) {
    let Some(d) = &scenario.service.database else {
        r.push("database", "none (no migrated table)".into());
        return;
    };
    for (i, v) in scenario.service.versions.iter().enumerate() {
        let app = &d.apps[i];
        let at = |key: &str| format!("versions.{}.{key}", v.name);
        let schemas: Vec<String> = app.schemas.iter().map(u32::to_string).collect();
        r.push(at("schemas"), schemas.join(", "));
        r.push(at("writes"), app.writes.name().into());
        r.push(at("reads"), app.reads.name().into());
    }
    r.push("database.schema", d.schema.to_string());
    let state = match d.initial {
        InitialData::Old => "only the old structure",
        InitialData::Expanded => "both structures, rows in the old one",
        InitialData::Backfilled => "every row in both structures",
    };
    r.push("database.state", format!("{} ({state})", d.initial.name()));
    r.push("database.rows", d.rows.to_string());
    r.push("database.table_fraction", percent(d.table_fraction));
    r.push("database.client_timeout", time(d.client_timeout));
    for (i, m) in d.migrations.iter().enumerate() {
        r.push(format!("database.migrations[{i}]"), migration_value(m));
    }
    let policy = match &d.policy {
        DataPolicy::AppOnly => "the schema stays".to_string(),
        DataPolicy::AppAndDown => "down migrations, newest first".to_string(),
        DataPolicy::RollForward { median, sigma } => format!(
            "hotfix after median {}, sigma {}",
            time(*median),
            number(*sigma)
        ),
        DataPolicy::Restore { restore_time } => {
            format!("the backup of time 0, in {}", time(*restore_time))
        }
    };
    r.push(
        "database.rollback",
        format!("{} ({policy})", d.policy.name_of().name()),
    );
    r.push(
        "database.write_block",
        d.write_block
            .map_or("no".into(), |drain| format!("yes, drain {}", time(drain))),
    );
}

fn migration_value(m: &Migration) -> String {
    let kind = match &m.kind {
        MigrationKind::Backfill { rows, rate } => {
            format!("backfill of {rows} rows at {} rows/s", number(*rate))
        }
        other => other.name_of().name().to_string(),
    };
    format!(
        "\"{}\": {kind} to schema {}, {}, runs {}, locks {}, {}",
        m.name,
        m.to,
        if m.with_rollout {
            "with the rollout".to_string()
        } else {
            format!("at {}", time(m.start))
        },
        time(m.duration),
        time(m.lock),
        if m.reversible {
            format!("down migration {}", time(m.down_duration))
        } else {
            "irreversible".to_string()
        }
    )
}

/// Every resolved field of `scenario`, in file order, each with where its value came from
/// (recorded in [`Scenario::provenance`] when the file was read).
pub fn resolved_parameters(scenario: &Scenario) -> Vec<Param> {
    let mut r = Rows {
        provenance: &scenario.provenance,
        rows: Vec::new(),
    };
    let s = scenario;
    let service = &s.service;
    r.push("seed", s.seed.to_string());
    r.push("replications", s.replications.to_string());
    r.push("horizon", time(s.horizon));
    r.push("mode", s.mode.name().into());
    r.push("slo_latency", time(service.slo_latency));
    r.push("stable", service.versions[0].name.clone());
    r.push("candidate", service.versions[1].name.clone());
    traffic_rows(&mut r, &service.traffic);
    for v in &service.versions {
        let at = |key: &str| format!("versions.{}.{key}", v.name);
        r.push(at("error_rate"), percent(v.error_rate));
        let (median, p99) = v.latency.median_p99();
        r.push(
            at("latency"),
            format!("median {}, p99 {} (log-normal)", time(median), time(p99)),
        );
    }
    database_rows(&mut r, s);
    let f = &service.fleet;
    r.push("fleet.instances", f.instances.to_string());
    r.push(
        "fleet.capacity_rps",
        f.capacity_rps.map_or("unlimited".into(), |c| {
            format!("{} req/s per instance", number(c))
        }),
    );
    r.push("fleet.startup", time(f.startup));
    if service.faults.is_empty() {
        r.push("faults", "none".into());
    }
    for i in 0..service.faults.len() {
        r.push(format!("faults[{i}]"), fault_value(s, i));
    }
    match &s.manual {
        Some(m) => {
            r.push("manual.median", time(m.median));
            r.push("manual.sigma", number(m.sigma));
        }
        None => r.push("manual", "none (no human detection)".into()),
    }
    alert_rows(&mut r, s);
    r.push("response.rollback_delay", time(s.response.rollback_delay));
    r.push("response.verify", time(s.response.verify));
    r.push("limits.max_events", s.max_events.to_string());
    for (i, spec) in s.strategies.iter().enumerate() {
        strategy_rows(&mut r, i, spec);
    }
    r.rows
}

/// `[[alerts]]`, `[monitoring]` and `[manual] trigger`, only when the scenario has rules.
fn alert_rows(r: &mut Rows, s: &Scenario) {
    let Some(a) = &s.alerts else { return };
    if s.manual.is_some() {
        r.push("manual.trigger", s.manual_trigger.name().to_string());
    }
    r.push("monitoring.scrape_interval", time(a.scrape_interval));
    r.push(
        "monitoring.evaluation_interval",
        time(a.evaluation_interval),
    );
    if a.needs_histogram() {
        let bounds: Vec<String> = a.buckets_s.iter().map(|b| b.to_string()).collect();
        r.push(
            "monitoring.buckets",
            format!("{} s, +Inf", bounds.join(", ")),
        );
    }
    for (i, rule) in a.rules.iter().enumerate() {
        let mut value = format!(
            "{}: {} for {}, {}",
            rule.name,
            rule.text,
            time(rule.hold),
            rule.action.name()
        );
        if rule.keep_firing_for > SimTime::ZERO {
            value.push_str(&format!(", keep firing {}", time(rule.keep_firing_for)));
        }
        r.push(format!("alerts[{i}]"), value);
    }
}

fn traffic_rows(r: &mut Rows, t: &TrafficSpec) {
    r.push("traffic.rate", format!("{} req/s", number(t.rate_per_s)));
    r.push("traffic.users", t.users.to_string());
    r.push("traffic.write_fraction", percent(t.write_fraction));
    r.push(
        "traffic.user_skew",
        t.user_skew.map_or("uniform".into(), |z| {
            format!("Zipf, exponent {}", number(z))
        }),
    );
    match &t.diurnal {
        Some(d) => {
            r.push("traffic.diurnal.amplitude", percent(d.amplitude));
            r.push("traffic.diurnal.period", time(d.period));
            r.push("traffic.diurnal.peak", time(d.peak));
        }
        None => r.push("traffic.diurnal", "none (constant rate)".into()),
    }
    for (i, b) in t.bursts.iter().enumerate() {
        r.push(
            format!("traffic.bursts[{i}]"),
            format!(
                "× {} from {} for {}",
                number(b.multiplier),
                time(b.at),
                time(b.duration)
            ),
        );
    }
}

/// The rows of strategy `i`: its kind's fields, then its analysis (its own, or the
/// scenario's, marked inherited).
fn strategy_rows(r: &mut Rows, i: usize, spec: &StrategySpec) {
    let at = |key: &str| format!("strategies[{i}].{key}");
    r.push(at("name"), spec.name.clone());
    r.push(
        at("kind"),
        format!("{} ({})", spec.kind.name(), spec.kind.name_of().semantics()),
    );
    match &spec.kind {
        StrategyKind::Canary(c) => {
            r.push(at("sticky"), c.sticky.to_string());
            r.push(at("steps"), ladder(&c.steps));
            let rollback = match c.rollback {
                CanaryRollback::Instant => "the stable fleet stays up",
                CanaryRollback::Rolling => "the stable fleet starts again",
            };
            r.push(
                at("rollback"),
                format!("{} ({rollback})", c.rollback.name()),
            );
            let prescaled = if c.prescaled {
                "instances ready before each step"
            } else {
                "each step waits for its instances"
            };
            r.push(at("prescaled"), format!("{} ({prescaled})", c.prescaled));
            r.push(at("progress_deadline"), time(c.progress_deadline));
        }
        StrategyKind::BlueGreen(b) => {
            r.push(at("pre_promotion"), time(b.pre_promotion));
            r.push(at("preview_share"), format!("{}%", number(b.preview_share)));
            r.push(
                at("preview_rate"),
                format!("{} req/s (synthetic)", number(b.preview_rate)),
            );
            r.push(
                at("preview_replicas"),
                format!("{} instances", b.preview_replicas),
            );
            r.push(at("post_promotion"), time(b.post_promotion));
            r.push(at("switch_delay"), time(b.switch_delay));
            r.push(at("auto_promotion_delay"), time(b.auto_promotion_delay));
            r.push(at("scale_down_delay"), time(b.scale_down_delay));
            r.push(at("progress_deadline"), time(b.progress_deadline));
            r.push(
                at("progress_deadline_abort"),
                b.progress_deadline_abort.to_string(),
            );
            let run =
                |i: Option<usize>| i.map_or("none".into(), |i| b.runs[i].templates.join(" + "));
            r.push(at("pre_promotion_analysis"), run(b.pre_run));
            r.push(at("post_promotion_analysis"), run(b.post_run));
            run_rows(r, &b.runs);
        }
        StrategyKind::FeatureFlag(flag) => {
            r.push(at("steps"), ladder(&flag.steps));
            let refresh = match flag.refresh {
                Refresh::Polling { interval } => format!("polling every {}", time(interval)),
                Refresh::Streaming { delay } => format!("streaming, {} delay", time(delay)),
            };
            r.push(at("refresh"), refresh);
        }
        StrategyKind::Rolling(roll) => {
            r.push(at("max_surge"), format!("{} instances", roll.max_surge));
            r.push(
                at("max_unavailable"),
                format!("{} instances", roll.max_unavailable),
            );
            r.push(at("period"), time(roll.period));
            r.push(at("min_ready"), time(roll.min_ready));
            r.push(at("progress_deadline"), time(roll.progress_deadline));
        }
        StrategyKind::Flagger(f) => flagger_rows(r, &at, f),
        StrategyKind::ArgoCanary(a) => return argo_rows(r, &at, a),
    }
    let own = r.provenance.is_written(&at("analysis"));
    let clamped = match &spec.kind {
        StrategyKind::Flagger(f) => f.clamped_interval,
        _ => None,
    };
    let Some(a) = &spec.analysis else {
        let source = r.source("analysis");
        r.push_with(
            at("analysis"),
            "none (no automatic detection)".into(),
            source,
        );
        return;
    };
    let interval = match clamped {
        Some(written) => format!(
            "{} (Flagger's floor; {} written)",
            time(a.interval),
            time(written)
        ),
        None => time(a.interval),
    };
    let fields = [
        ("interval", interval),
        ("threshold", format!("{} failed checks", a.threshold)),
        ("min_requests", format!("{} requests", a.min_requests)),
        ("on_no_data", a.on_no_data.name().to_string()),
        ("metrics", metrics(a)),
    ];
    for (key, value) in fields {
        let field = format!("analysis.{key}");
        let source = if own {
            r.source(&at(&field))
        } else {
            Source::Inherited(Box::new(r.source(&field)))
        };
        r.push_with(at(&field), value, source);
    }
}

/// A flagger strategy's own rows: the ladder as written and the weights it gives.
fn flagger_rows(r: &mut Rows, at: &dyn Fn(&str) -> String, f: &FlaggerSpec) {
    r.push(at("mode"), f.mode.name().into());
    r.push(
        at("load_test_rate"),
        format!("{} req/s (synthetic)", number(f.load_test_rate)),
    );
    if let FlaggerLadder::Explicit(w) = &f.ladder
        && f.mode != FlaggerMode::Canary
    {
        if f.mode == FlaggerMode::Ab {
            r.push(at("iterations"), w.len().to_string());
            let share = w.first().copied().unwrap_or_default();
            r.push(at("match_share"), format!("{}% of users", number(share)));
        } else {
            let n = w.len().saturating_sub(1);
            r.push(
                at("iterations"),
                format!("{n} on load-test traffic, then 1 on all traffic"),
            );
        }
        r.push(at("canary_replicas"), f.canary_replicas.name().into());
        r.push(at("progress_deadline"), time(f.progress_deadline));
        return;
    }
    let weights = f
        .ladder
        .weights()
        .iter()
        .map(|w| format!("{}%", number(*w)))
        .collect::<Vec<_>>()
        .join(" → ");
    match &f.ladder {
        FlaggerLadder::Linear { step, max } => {
            r.push(at("step_weight"), format!("{}%", number(*step)));
            r.push(
                at("max_weight"),
                format!("{}% (weights {weights})", number(*max)),
            );
        }
        FlaggerLadder::Explicit(_) => r.push(at("step_weights"), weights),
    }
    r.push(
        at("step_weight_promotion"),
        format!("{}%", number(f.step_weight_promotion)),
    );
    r.push(at("canary_replicas"), f.canary_replicas.name().into());
    r.push(at("progress_deadline"), time(f.progress_deadline));
    r.push(at("skip_analysis"), f.skip_analysis.to_string());
    r.push(at("session_affinity"), f.session_affinity.to_string());
}

/// The metrics of analysis runs, as the simulated provider measures them.
fn run_rows(r: &mut Rows, runs: &[RunSpec]) {
    for m in runs.iter().flat_map(|run| &run.metrics) {
        let conditions = [("success", &m.success), ("failure", &m.failure)]
            .iter()
            .filter_map(|(k, c)| c.as_ref().map(|c| format!("{k} when {}", c.text())))
            .collect::<Vec<_>>()
            .join(", ");
        let cadence = match (m.interval, m.count) {
            (Some(i), Some(c)) => format!("every {} × {c}", time(i)),
            (Some(i), None) => format!("every {} until stopped", time(i)),
            (None, _) => "once".to_string(),
        };
        r.push(
            format!("analysis_templates.{}", m.name),
            format!(
                "{} of the {} over {}, {cadence}, first after {}; {conditions}; limits: failure {}, inconclusive {}, consecutive errors {}",
                m.measure.name(),
                m.scope.name(),
                time(m.window),
                time(m.initial_delay),
                m.failure_limit,
                m.inconclusive_limit,
                m.consecutive_error_limit
            ),
        );
    }
}

/// An argo_canary strategy's rows: its steps, its analysis runs with their metrics as the
/// simulated provider measures them, and its timings.
fn argo_rows(r: &mut Rows, at: &dyn Fn(&str) -> String, a: &ArgoCanarySpec) {
    let run_name = |i: usize| a.runs[i].templates.join(" + ");
    let steps = a
        .steps
        .iter()
        .map(|st| match st {
            ArgoStep::SetWeight(w) => format!("set weight {}%", number(*w)),
            ArgoStep::Pause(d) => format!("pause {}", time(*d)),
            ArgoStep::PauseIndefinite => "pause until promoted".to_string(),
            ArgoStep::Analysis(i) => format!("analysis {}", run_name(*i)),
        })
        .collect::<Vec<_>>()
        .join(" → ");
    r.push(at("steps"), steps);
    r.push(
        at("background_analysis"),
        a.background.as_ref().map_or("none".into(), |b| {
            format!("{} from step {}", run_name(b.run), b.starting_step)
        }),
    );
    run_rows(r, &a.runs);
    r.push(
        at("dynamic_stable_scale"),
        a.dynamic_stable_scale.to_string(),
    );
    r.push(at("scale_down_delay"), time(a.scale_down_delay));
    r.push(at("abort_scale_down_delay"), time(a.abort_scale_down_delay));
    r.push(at("progress_deadline"), time(a.progress_deadline));
    r.push(
        at("progress_deadline_abort"),
        a.progress_deadline_abort.to_string(),
    );
    r.push(
        at("promotion_delay"),
        a.promotion_delay
            .map_or("none (a paused rollout stays paused)".into(), |d| {
                format!("median {}, sigma {}", time(d.median), number(d.sigma))
            }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const TEXT: &str = r#"
name = "p"
horizon = "10m"
seed = 7
[traffic]
rate = 10.0
users = 100
[versions.old]
[versions.new]
error_rate = 0.01
[analysis]
interval = "30s"
[[strategies]]
name = "c"
kind = "canary"
steps = [{ weight = 10, pause = "1m" }, { weight = 100 }]
"#;

    fn row<'p>(rows: &'p [Param], field: &str) -> &'p Param {
        rows.iter()
            .find(|p| p.field == field)
            .unwrap_or_else(|| panic!("no {field} in {rows:#?}"))
    }

    #[test]
    fn sources_tell_file_default_inherited_and_override() {
        let mut s = crate::scenario::parse(TEXT, Path::new("p.toml")).unwrap();
        s.set_replications(3);
        let rows = resolved_parameters(&s);
        assert_eq!(row(&rows, "seed").source, Source::File);
        assert_eq!(
            row(&rows, "replications").source,
            Source::Override("--replications")
        );
        assert_eq!(row(&rows, "fleet.startup").source, Source::Default);
        assert_eq!(row(&rows, "versions.new.error_rate").value, "1%");
        assert_eq!(
            row(&rows, "versions.old.latency").value,
            "median 50ms, p99 250ms (log-normal)"
        );
        let interval = row(&rows, "strategies[0].analysis.interval");
        assert_eq!(interval.source, Source::Inherited(Box::new(Source::File)));
        assert!(
            row(&rows, "strategies[0].analysis.threshold")
                .source
                .is_default()
        );
        assert_eq!(row(&rows, "strategies[0].steps").value, "10% for 1m → 100%");
    }

    #[test]
    fn alert_rules_are_listed_with_their_monitoring() {
        let text = TEXT.replace(
            "[[strategies]]",
            "[manual]\nmedian = \"5m\"\n[[alerts]]\nname = \"Slow\"\nexpr = 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 0.5'\nfor = \"2m\"\naction = \"page\"\n[[strategies]]",
        );
        let s = crate::scenario::parse(&text, Path::new("p.toml")).unwrap();
        let rows = resolved_parameters(&s);
        assert_eq!(row(&rows, "manual.trigger").value, "page");
        assert_eq!(row(&rows, "monitoring.scrape_interval").value, "15s");
        assert_eq!(
            row(&rows, "monitoring.evaluation_interval").source,
            Source::Default
        );
        assert!(
            row(&rows, "monitoring.buckets")
                .value
                .starts_with("0.005, 0.01")
        );
        let rule = &row(&rows, "alerts[0]").value;
        assert!(rule.starts_with("Slow: histogram_quantile(0.99"), "{rule}");
        assert!(rule.ends_with("for 2m, page"), "{rule}");
    }
}
