//! The resolved parameters of a scenario, one row per field, each marked with where its value
//! came from: the file, a built-in default, or a command-line override.

use super::format::{number, percent};
use crate::detect::{AnalysisSpec, Metric};
use crate::engine::SimTime;
use crate::model::{
    DataPolicy, FaultKind, InitialData, LatencyModel, MigrationKind, ReadMode, Refresh, Target,
    WriteMode,
};
use crate::scenario::{Scenario, defaults};
use crate::strategy::{CanaryRollback, Step, StrategyKind};

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
    /// The file was not available to tell.
    Unknown,
}

impl Source {
    /// `file`, `default`, `[analysis], file`, `--seed`, `?`.
    pub fn name(&self) -> String {
        match self {
            Source::File => "file".into(),
            Source::Default => "default".into(),
            Source::Inherited(s) => format!("[analysis], {}", s.name()),
            Source::Override(flag) => (*flag).into(),
            Source::Unknown => "?".into(),
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

/// A step of a field path in the TOML document.
#[derive(Debug, Clone, Copy)]
enum Key<'k> {
    Name(&'k str),
    Index(usize),
}
use Key::{Index, Name};

fn field_name(path: &[Key]) -> String {
    let mut f = String::new();
    for k in path {
        match k {
            Name(n) if f.is_empty() => f.push_str(n),
            Name(n) => {
                f.push('.');
                f.push_str(n);
            }
            Index(i) => f.push_str(&format!("[{i}]")),
        }
    }
    f
}

/// Collects the rows, looking up each field in the file.
struct Rows<'a> {
    raw: Option<&'a toml::Table>,
    rows: Vec<Param>,
}

impl<'a> Rows<'a> {
    /// The value at `path` in the file, if the file is known and has it.
    fn get(&self, path: &[Key]) -> Option<&'a toml::Value> {
        let raw = self.raw?;
        let (first, rest) = path.split_first()?;
        let mut node = match first {
            Name(n) => raw.get(*n)?,
            Index(_) => return None,
        };
        for k in rest {
            node = match (k, node) {
                (Name(n), toml::Value::Table(t)) => t.get(*n)?,
                (Index(i), toml::Value::Array(a)) => a.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    fn source(&self, path: &[Key]) -> Source {
        match (self.raw, self.get(path)) {
            (None, _) => Source::Unknown,
            (Some(_), Some(_)) => Source::File,
            (Some(_), None) => Source::Default,
        }
    }

    fn push(&mut self, path: &[Key], value: String) {
        let source = self.source(path);
        self.push_with(field_name(path), value, source);
    }

    fn push_with(&mut self, field: String, value: String, source: Source) {
        self.rows.push(Param {
            field,
            value,
            source,
        });
    }

    /// A top-level integer that a command-line flag may have replaced.
    fn push_overridable(
        &mut self,
        key: &'static str,
        flag: &'static str,
        value: u64,
        default: u64,
    ) {
        let in_file = self.get(&[Name(key)]).and_then(|v| v.as_integer());
        let source = match (self.raw, in_file) {
            (None, _) => Source::Unknown,
            (Some(_), Some(v)) if u64::try_from(v).ok() == Some(value) => Source::File,
            (Some(_), None) if value == default => Source::Default,
            _ => Source::Override(flag),
        };
        self.push_with(key.into(), value.to_string(), source);
    }
}

/// The median and p99 of a latency model, back to whole microseconds.
fn median_p99(l: &LatencyModel) -> (SimTime, SimTime) {
    const Z_P99: f64 = 2.326_347_874_040_841;
    (
        SimTime(l.mu.exp().round() as u64),
        SimTime((l.mu + l.sigma * Z_P99).exp().round() as u64),
    )
}

fn time(t: SimTime) -> String {
    if t == SimTime::ZERO {
        "0s".into()
    } else {
        t.human()
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
    a.metrics
        .iter()
        .map(|r| {
            let unit = |v: f64| match r.metric {
                Metric::LatencyP99 => format!("{} ms", number(v)),
                _ => number(v),
            };
            match (r.min, r.max) {
                (Some(lo), Some(hi)) => {
                    format!("{} in [{}, {}]", r.metric.name(), unit(lo), unit(hi))
                }
                (Some(lo), None) => format!("{} ≥ {}", r.metric.name(), unit(lo)),
                (None, Some(hi)) => format!("{} ≤ {}", r.metric.name(), unit(hi)),
                (None, None) => r.metric.name().into(),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn fault_value(scenario: &Scenario, i: usize) -> String {
    let service = &scenario.service;
    let fault = &service.faults[i];
    let target = match fault.target {
        Target::All => "every version".to_string(),
        Target::Version(v) => service.versions[v.index()].name.clone(),
    };
    let what = match &fault.kind {
        FaultKind::ErrorRate { rate } => format!("error_rate {}", percent(*rate)),
        FaultKind::Latency { delay } => format!("latency +{}", time(*delay)),
        FaultKind::CrashLoop => "crash_loop".into(),
        FaultKind::MemoryLeak { rate, delay, ramp } => format!(
            "memory_leak to {} errors and +{} over {}",
            percent(*rate),
            time(*delay),
            time(*ramp)
        ),
        FaultKind::DataCorruption { rate } => {
            format!("data_corruption of {} of writes", percent(*rate))
        }
        FaultKind::DependencyOutage { rate } => {
            format!("dependency_outage failing {}", percent(*rate))
        }
        FaultKind::TrafficSpike { multiplier } => {
            format!("traffic_spike × {}", number(*multiplier))
        }
        FaultKind::InstanceKill { instances } => {
            format!("instance_kill of {instances} instances")
        }
        FaultKind::MigrationLock { migration, lock } => format!(
            "migration_lock: {} holds its lock {}",
            migration_name(scenario, *migration),
            time(*lock)
        ),
        FaultKind::SchemaIncompatibility { migration } => format!(
            "schema_incompatibility after {}",
            migration_name(scenario, *migration)
        ),
        FaultKind::FlagStall {
            share,
            stall_timeout,
        } => format!(
            "flag_stall of {} of instances{}",
            percent(*share),
            stall_timeout.map_or(String::new(), |t| format!(
                ", code default after {}",
                time(t)
            ))
        ),
    };
    format!(
        "{what} on {target}, from {} to {}, {} of users",
        time(fault.start),
        fault.end.map_or("the horizon".into(), time),
        percent(fault.users)
    )
}

fn migration_name(scenario: &Scenario, i: usize) -> String {
    scenario
        .service
        .database
        .as_ref()
        .and_then(|d| d.migrations.get(i))
        .map_or(format!("migration {i}"), |m| format!("\"{}\"", m.name))
}

fn database_rows(r: &mut Rows, scenario: &Scenario) {
    let db = Name("database");
    let Some(d) = &scenario.service.database else {
        r.push(&[db], "none (no migrated table)".into());
        return;
    };
    for (i, v) in scenario.service.versions.iter().enumerate() {
        let app = &d.apps[i];
        let version = [Name("versions"), Name(v.name.as_str())];
        let schemas: Vec<String> = app.schemas.iter().map(u32::to_string).collect();
        r.push(
            &[version[0], version[1], Name("schemas")],
            schemas.join(", "),
        );
        r.push(
            &[version[0], version[1], Name("writes")],
            match app.writes {
                WriteMode::Old => "old",
                WriteMode::Dual => "dual",
                WriteMode::New => "new",
            }
            .into(),
        );
        r.push(
            &[version[0], version[1], Name("reads")],
            match app.reads {
                ReadMode::Old => "old",
                ReadMode::New => "new",
                ReadMode::NewWithFallback => "new_with_fallback",
            }
            .into(),
        );
    }
    r.push(&[db, Name("schema")], d.schema.to_string());
    r.push(
        &[db, Name("state")],
        match d.initial {
            InitialData::Old => "old (only the old structure)",
            InitialData::Expanded => "expanded (both structures, rows in the old one)",
            InitialData::Backfilled => "backfilled (every row in both structures)",
        }
        .into(),
    );
    r.push(&[db, Name("rows")], d.rows.to_string());
    r.push(&[db, Name("table_fraction")], percent(d.table_fraction));
    r.push(&[db, Name("client_timeout")], time(d.client_timeout));
    for (i, m) in d.migrations.iter().enumerate() {
        let kind = match &m.kind {
            MigrationKind::Expand => "expand".to_string(),
            MigrationKind::Backfill { rows, rate } => {
                format!("backfill of {rows} rows at {} rows/s", number(*rate))
            }
            MigrationKind::Contract => "contract".to_string(),
        };
        r.push(
            &[db, Name("migrations"), Index(i)],
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
            ),
        );
    }
    let policy = match &d.policy {
        DataPolicy::AppOnly => "app_only (the schema stays)".to_string(),
        DataPolicy::AppAndDown => "app_and_down (down migrations, newest first)".to_string(),
        DataPolicy::RollForward { median, sigma } => format!(
            "roll_forward (hotfix after median {}, sigma {})",
            time(*median),
            number(*sigma)
        ),
        DataPolicy::Restore { restore_time } => {
            format!("restore (the backup of time 0, in {})", time(*restore_time))
        }
    };
    r.push(&[db, Name("rollback")], policy);
    r.push(
        &[db, Name("write_block")],
        d.write_block
            .map_or("no".into(), |drain| format!("yes, drain {}", time(drain))),
    );
}

/// Every resolved field of `scenario`, in file order. `raw` is the scenario file parsed as a
/// plain TOML table: it tells written values from defaults, and `seed` or `replications`
/// that differ from the file's from command-line overrides. Without it every source is `?`.
pub fn resolved_parameters(scenario: &Scenario, raw: Option<&toml::Table>) -> Vec<Param> {
    let mut r = Rows {
        raw,
        rows: Vec::new(),
    };
    let s = scenario;
    let service = &s.service;
    r.push_overridable("seed", "--seed", s.seed, defaults::SEED);
    r.push_overridable(
        "replications",
        "--replications",
        u64::from(s.replications),
        u64::from(defaults::REPLICATIONS),
    );
    r.push(&[Name("horizon")], time(s.horizon));
    r.push(&[Name("slo_latency")], time(service.slo_latency));
    r.push(&[Name("stable")], service.versions[0].name.clone());
    r.push(&[Name("candidate")], service.versions[1].name.clone());

    let t = &service.traffic;
    let traffic = Name("traffic");
    r.push(
        &[traffic, Name("rate")],
        format!("{} req/s", number(t.rate_per_s)),
    );
    r.push(&[traffic, Name("users")], t.users.to_string());
    r.push(
        &[traffic, Name("write_fraction")],
        percent(t.write_fraction),
    );
    r.push(
        &[traffic, Name("user_skew")],
        t.user_skew.map_or("uniform".into(), |z| {
            format!("Zipf, exponent {}", number(z))
        }),
    );
    match &t.diurnal {
        Some(d) => {
            let diurnal = Name("diurnal");
            r.push(&[traffic, diurnal, Name("amplitude")], percent(d.amplitude));
            r.push(&[traffic, diurnal, Name("period")], time(d.period));
            r.push(&[traffic, diurnal, Name("peak")], time(d.peak));
        }
        None => r.push(&[traffic, Name("diurnal")], "none (constant rate)".into()),
    }
    for (i, b) in t.bursts.iter().enumerate() {
        r.push(
            &[traffic, Name("bursts"), Index(i)],
            format!(
                "× {} from {} for {}",
                number(b.multiplier),
                time(b.at),
                time(b.duration)
            ),
        );
    }

    for v in &service.versions {
        let version = [Name("versions"), Name(v.name.as_str())];
        r.push(
            &[version[0], version[1], Name("error_rate")],
            percent(v.error_rate),
        );
        let (median, p99) = median_p99(&v.latency);
        r.push(
            &[version[0], version[1], Name("latency")],
            format!("median {}, p99 {} (log-normal)", time(median), time(p99)),
        );
    }

    database_rows(&mut r, s);

    let f = &service.fleet;
    let fleet = Name("fleet");
    r.push(&[fleet, Name("instances")], f.instances.to_string());
    r.push(
        &[fleet, Name("capacity_rps")],
        f.capacity_rps.map_or("unlimited".into(), |c| {
            format!("{} req/s per instance", number(c))
        }),
    );
    r.push(&[fleet, Name("startup")], time(f.startup));

    if service.faults.is_empty() {
        r.push(&[Name("faults")], "none".into());
    }
    for i in 0..service.faults.len() {
        r.push(&[Name("faults"), Index(i)], fault_value(s, i));
    }

    match &s.manual {
        Some(m) => {
            r.push(&[Name("manual"), Name("median")], time(m.median));
            r.push(&[Name("manual"), Name("sigma")], number(m.sigma));
        }
        None => r.push(&[Name("manual")], "none (no human detection)".into()),
    }
    let response = Name("response");
    r.push(
        &[response, Name("rollback_delay")],
        time(s.response.rollback_delay),
    );
    r.push(&[response, Name("verify")], time(s.response.verify));
    r.push(
        &[Name("limits"), Name("max_events")],
        s.max_events.to_string(),
    );

    for (i, spec) in s.strategies.iter().enumerate() {
        let at = |key: &'static str| [Name("strategies"), Index(i), Name(key)];
        r.push(&at("name"), spec.name.clone());
        r.push(&at("kind"), spec.kind.name().into());
        match &spec.kind {
            StrategyKind::Canary(c) => {
                r.push(&at("sticky"), c.sticky.to_string());
                r.push(&at("steps"), ladder(&c.steps));
                r.push(
                    &at("rollback"),
                    match c.rollback {
                        CanaryRollback::Instant => "instant (the stable fleet stays up)",
                        CanaryRollback::Rolling => "rolling (the stable fleet starts again)",
                    }
                    .into(),
                );
            }
            StrategyKind::BlueGreen(b) => {
                r.push(&at("pre_promotion"), time(b.pre_promotion));
                r.push(
                    &at("preview_share"),
                    format!("{}%", number(b.preview_share)),
                );
                r.push(&at("post_promotion"), time(b.post_promotion));
                r.push(&at("switch_delay"), time(b.switch_delay));
                r.push(&at("scale_down_delay"), time(b.scale_down_delay));
                r.push(&at("progress_deadline"), time(b.progress_deadline));
            }
            StrategyKind::FeatureFlag(flag) => {
                r.push(&at("steps"), ladder(&flag.steps));
                r.push(
                    &at("refresh"),
                    match flag.refresh {
                        Refresh::Polling { interval } => {
                            format!("polling every {}", time(interval))
                        }
                        Refresh::Streaming { delay } => format!("streaming, {} delay", time(delay)),
                    },
                );
            }
            StrategyKind::Rolling(roll) => {
                r.push(&at("max_surge"), format!("{} instances", roll.max_surge));
                r.push(
                    &at("max_unavailable"),
                    format!("{} instances", roll.max_unavailable),
                );
                r.push(&at("period"), time(roll.period));
                r.push(&at("min_ready"), time(roll.min_ready));
                r.push(&at("progress_deadline"), time(roll.progress_deadline));
            }
        }
        let own = r.get(&at("analysis")).is_some();
        let prefix = format!("strategies[{i}].analysis");
        let Some(a) = &spec.analysis else {
            let source = r.source(&[Name("analysis")]);
            r.push_with(prefix, "none (no automatic detection)".into(), source);
            continue;
        };
        let fields = [
            ("interval", time(a.interval)),
            ("threshold", format!("{} failed checks", a.threshold)),
            ("min_requests", format!("{} requests", a.min_requests)),
            ("on_no_data", a.on_no_data.name().to_string()),
            ("metrics", metrics(a)),
        ];
        for (key, value) in fields {
            let mut path = vec![Name("strategies"), Index(i), Name("analysis"), Name(key)];
            if !own {
                path.drain(..2);
            }
            let mut source = r.source(&path);
            // An empty list means the built-in metrics.
            if key == "metrics"
                && r.get(&path)
                    .and_then(|v| v.as_array())
                    .is_some_and(|l| l.is_empty())
            {
                source = Source::Default;
            }
            if !own && source != Source::Unknown {
                source = Source::Inherited(Box::new(source));
            }
            r.push_with(format!("{prefix}.{key}"), value, source);
        }
    }
    r.rows
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
        s.replications = 3;
        let raw: toml::Table = TEXT.parse().unwrap();
        let rows = resolved_parameters(&s, Some(&raw));
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
        assert!(
            resolved_parameters(&s, None)
                .iter()
                .all(|p| p.source == Source::Unknown)
        );
    }
}
