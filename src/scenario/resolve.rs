//! Raw → domain: resolve names, apply defaults, check every rule before the first event.

use super::Scenario;
use super::error::{ScenarioError, expected_one_of};
use super::raw::{
    CountOrPercent, RawAnalysis, RawFault, RawMigration, RawObjectives, RawScenario, RawStrategy,
    RawTraffic,
};
use crate::detect::{AnalysisSpec, ManualSpec, Metric, MetricRule, NoData};
use crate::engine::SimTime;
use crate::model::{
    AppSchema, Burst, DataPolicy, DatabaseSpec, Diurnal, Fault, FaultKind, FleetSpec, InitialData,
    LatencyModel, Migration, MigrationKind, ReadMode, Refresh, ServiceSpec, Target, TrafficSpec,
    VersionId, VersionSpec, WriteMode,
};
use crate::objectives::{Objective, ObjectiveMetric};
use crate::strategy::{
    BlueGreenSpec, CanaryRollback, CanarySpec, FeatureFlagSpec, ResponseSpec, RollingSpec, Step,
    StrategyKind, StrategySpec,
};
use std::path::Path;

/// Defaults, each with its source (README "Scenario reference" repeats them).
pub mod defaults {
    /// Replications per strategy (the example scenario).
    pub const REPLICATIONS: u32 = 20;
    /// Scenario seed.
    pub const SEED: u64 = 1;
    /// Slower responses are bad when a fault made them so (the example).
    pub const SLO_LATENCY: &str = "1s";
    /// Version names of the two roles.
    pub const STABLE: &str = "old";
    /// Version names of the two roles.
    pub const CANDIDATE: &str = "new";
    /// Baseline latency (the example).
    pub const LATENCY_MEDIAN: &str = "50ms";
    /// Baseline latency (the example).
    pub const LATENCY_P99: &str = "250ms";
    /// Fleet size.
    pub const INSTANCES: u32 = 10;
    /// Instance start-up (the example).
    pub const STARTUP: &str = "30s";
    /// Flagger's `interval` default (`pkg/apis/flagger/v1beta1/canary.go`).
    pub const INTERVAL: &str = "60s";
    /// Flagger's `threshold` default when unset (`canary.go`).
    pub const THRESHOLD: u32 = 1;
    /// Any non-empty window is judged (Flagger and Argo have no minimum).
    pub const MIN_REQUESTS: u64 = 1;
    /// Flagger's built-in request-success-rate ≥ 99 %.
    pub const MAX_ERROR_RATE: f64 = 0.01;
    /// Flagger's built-in request-duration P99 ≤ 500 ms.
    pub const MAX_LATENCY_P99_MS: f64 = 500.0;
    /// Spread of human detection delays.
    pub const MANUAL_SIGMA: f64 = 0.8;
    /// Diurnal cycle.
    pub const DIURNAL_PERIOD: &str = "24h";
    /// Control events one run may handle.
    pub const MAX_EVENTS: u64 = 1_000_000;
    /// Blue kept up after a blue-green switch: Argo's `scaleDownDelaySeconds`.
    pub const SCALE_DOWN_DELAY: &str = "30s";
    /// No progress for this long flags a rollout: `progressDeadlineSeconds` of Kubernetes and Argo.
    pub const PROGRESS_DEADLINE: &str = "600s";
    /// Flag SDK polling: the Unleash server SDK's `refreshInterval`.
    pub const FLAG_POLLING: &str = "15s";
    /// Flag streaming push latency (LaunchDarkly streams by default; sub-second pushes).
    pub const FLAG_STREAM_DELAY: &str = "1s";
    /// Readiness probe period: Kubernetes `periodSeconds`.
    pub const PROBE_PERIOD: &str = "10s";
    /// `maxSurge` and `maxUnavailable`: Kubernetes and Argo default 25 %.
    pub const ROLLING_BUDGET_PCT: f64 = 25.0;
    /// A request stalled by a lock longer than this fails: Envoy's default route timeout.
    pub const CLIENT_TIMEOUT: &str = "15s";
    /// Drain before a write-blocked rollback moves traffic: Kubernetes'
    /// `terminationGracePeriodSeconds`.
    pub const DRAIN: &str = "30s";
    /// Spread of the roll-forward hotfix delay.
    pub const HOTFIX_SIGMA: f64 = 0.5;
}

/// Hard limits that keep every run finite and in memory.
pub mod limits {
    /// Longest horizon: 30 days.
    pub const MAX_HORIZON_S: u64 = 30 * 86_400;
    /// Largest user population (two bitsets of 12.5 MB per run).
    pub const MAX_USERS: u64 = 100_000_000;
    /// Most requests expected per replication (about a minute of simulation).
    pub const MAX_REQUESTS: f64 = 2e9;
    /// Most replications.
    pub const MAX_REPLICATIONS: u32 = 100_000;
    /// Most faults (a 64-bit mask tracks which ones hurt).
    pub const MAX_FAULTS: usize = 64;
}

const FAULT_KINDS: [&str; 11] = [
    "error_rate",
    "latency",
    "crash_loop",
    "memory_leak",
    "data_corruption",
    "dependency_outage",
    "traffic_spike",
    "instance_kill",
    "flag_stall",
    "migration_lock",
    "schema_incompatibility",
];

type Result<T> = std::result::Result<T, ScenarioError>;

pub(super) struct Resolver<'f> {
    pub(super) file: &'f Path,
}

impl Resolver<'_> {
    fn err<T>(&self, field: impl Into<String>, message: impl Into<String>) -> Result<T> {
        Err(ScenarioError::new(self.file, field, message))
    }

    fn duration(&self, field: &str, text: &str) -> Result<SimTime> {
        SimTime::parse(text).or_else(|e| {
            self.err(
                field,
                format!("invalid duration \"{text}\" ({e}); expected a duration such as \"30s\", \"5m\", \"1h 30m\", \"250ms\""),
            )
        })
    }

    fn opt_duration(&self, field: &str, text: Option<&String>, default: &str) -> Result<SimTime> {
        self.duration(field, text.map_or(default, String::as_str))
    }

    fn positive_duration(&self, field: &str, text: &str) -> Result<SimTime> {
        let d = self.duration(field, text)?;
        if d == SimTime::ZERO {
            return self.err(field, format!("\"{text}\" must be longer than 0"));
        }
        Ok(d)
    }

    fn probability(&self, field: &str, x: f64) -> Result<f64> {
        if !(0.0..=1.0).contains(&x) {
            return self.err(
                field,
                format!("{x} is not a probability; expected a number from 0 to 1"),
            );
        }
        Ok(x)
    }

    fn positive(&self, field: &str, x: f64) -> Result<f64> {
        if !(x.is_finite() && x > 0.0 && x < 1e15) {
            return self.err(
                field,
                format!(
                    "{} is not allowed; expected a finite number > 0 (and < 1e15)",
                    short(x)
                ),
            );
        }
        Ok(x)
    }
}

/// Resolves a parsed file into a [`Scenario`], or the first error found.
pub fn resolve(raw: RawScenario, file: &Path) -> Result<Scenario> {
    let r = Resolver { file };
    if raw.name.is_empty()
        || !raw
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        || raw.name.starts_with('.')
    {
        return r.err(
            "name",
            format!(
                "\"{}\" is not a usable name; expected letters, digits, '-', '_' or '.' (it names the report folder)",
                raw.name
            ),
        );
    }
    let horizon = r.positive_duration("horizon", &raw.horizon)?;
    if horizon > SimTime::from_secs(limits::MAX_HORIZON_S) {
        return r.err(
            "horizon",
            format!("\"{}\" is longer than the limit of 30 days", raw.horizon),
        );
    }
    let replications = raw.replications.unwrap_or(defaults::REPLICATIONS);
    if replications == 0 || replications > limits::MAX_REPLICATIONS {
        return r.err(
            "replications",
            format!(
                "{replications} is not allowed; expected 1 to {}",
                limits::MAX_REPLICATIONS
            ),
        );
    }
    let slo_latency = match &raw.slo_latency {
        Some(s) => r.positive_duration("slo_latency", s)?,
        None => r.duration("slo_latency", defaults::SLO_LATENCY)?,
    };

    let traffic = resolve_traffic(&r, &raw.traffic, horizon)?;
    let versions = resolve_versions(&r, &raw)?;
    let names = [versions[0].name.clone(), versions[1].name.clone()];
    let fleet = match &raw.fleet {
        None => FleetSpec {
            instances: defaults::INSTANCES,
            capacity_rps: None,
            startup: r.duration("fleet.startup", defaults::STARTUP)?,
        },
        Some(f) => FleetSpec {
            instances: match f.instances.unwrap_or(defaults::INSTANCES) {
                n @ 1..=100_000 => n,
                n => {
                    return r.err(
                        "fleet.instances",
                        format!("{n} is not allowed; expected 1 to 100000"),
                    );
                }
            },
            capacity_rps: f
                .capacity_rps
                .map(|c| r.positive("fleet.capacity_rps", c))
                .transpose()?,
            startup: r.opt_duration("fleet.startup", f.startup.as_ref(), defaults::STARTUP)?,
        },
    };
    if raw.faults.len() > limits::MAX_FAULTS {
        return r.err(
            "faults",
            format!(
                "{} faults; at most {} are allowed",
                raw.faults.len(),
                limits::MAX_FAULTS
            ),
        );
    }
    let database = resolve_database(&r, &raw, &names, horizon)?;
    let migrations: Vec<&str> = database.as_ref().map_or(vec![], |d| {
        d.migrations.iter().map(|m| m.name.as_str()).collect()
    });
    let faults = raw
        .faults
        .iter()
        .enumerate()
        .map(|(i, f)| {
            resolve_fault(
                &r,
                &format!("faults[{i}]"),
                f,
                &names,
                &fleet,
                horizon,
                &migrations,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    // Spikes multiply the traffic; blame the largest one when they dominate.
    let spikes: Vec<(usize, f64)> = faults
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f.kind {
            FaultKind::TrafficSpike { multiplier } => Some((i, multiplier - 1.0)),
            _ => None,
        })
        .collect();
    let spike_extra: f64 = spikes.iter().map(|(_, m)| m).sum();
    let expected =
        traffic.rate_per_s * traffic.max_shape() * (1.0 + spike_extra) * horizon.as_secs_f64();
    if expected > limits::MAX_REQUESTS {
        let field = match spikes.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
            Some((i, m)) if *m >= 1.0 => format!("faults[{i}].multiplier"),
            _ => "traffic.rate".to_string(),
        };
        return r.err(
            field,
            format!(
                "{} req/s (× diurnal, bursts and spikes) over {} is about {expected:.3e} requests per replication; the limit is {:.0e}: lower the rate, the multipliers or the horizon",
                short(raw.traffic.rate),
                raw.horizon,
                limits::MAX_REQUESTS
            ),
        );
    }

    let scenario_analysis = raw
        .analysis
        .as_ref()
        .map(|a| resolve_analysis(&r, "analysis", a))
        .transpose()?;
    let manual = raw
        .manual
        .as_ref()
        .map(|m| -> Result<ManualSpec> {
            let sigma = m.sigma.unwrap_or(defaults::MANUAL_SIGMA);
            if !(sigma.is_finite() && sigma >= 0.0) {
                return r.err(
                    "manual.sigma",
                    format!("{sigma} is not allowed; expected a finite number ≥ 0"),
                );
            }
            Ok(ManualSpec {
                median: r.positive_duration("manual.median", &m.median)?,
                sigma,
            })
        })
        .transpose()?;
    let response = ResponseSpec {
        rollback_delay: r.opt_duration(
            "response.rollback_delay",
            raw.response
                .as_ref()
                .and_then(|x| x.rollback_delay.as_ref()),
            "0s",
        )?,
        verify: r.opt_duration(
            "response.verify",
            raw.response.as_ref().and_then(|x| x.verify.as_ref()),
            "0s",
        )?,
    };

    if raw.strategies.is_empty() {
        return r.err(
            "strategies",
            "no strategy; add at least one [[strategies]] table (kind = \"canary\")",
        );
    }
    let mut strategies = Vec::new();
    for (i, s) in raw.strategies.iter().enumerate() {
        let path = format!("strategies[{i}]");
        let spec = resolve_strategy(&r, &path, s, scenario_analysis.as_ref(), &fleet)?;
        if strategies
            .iter()
            .any(|o: &StrategySpec| o.name == spec.name)
        {
            return r.err(
                format!("{path}.name"),
                format!(
                    "\"{}\" is used by another strategy; names must be unique",
                    spec.name
                ),
            );
        }
        strategies.push(spec);
    }

    let max_events = raw
        .limits
        .as_ref()
        .and_then(|l| l.max_events)
        .unwrap_or(defaults::MAX_EVENTS);
    if max_events == 0 {
        return r.err(
            "limits.max_events",
            "0 is not allowed; expected a positive count",
        );
    }
    for (i, s) in strategies.iter().enumerate() {
        if let Some(a) = &s.analysis {
            let checks = horizon.micros() / a.interval.micros();
            if checks > max_events / 2 {
                let field = if raw.strategies[i].analysis.is_some() {
                    format!("strategies[{i}].analysis.interval")
                } else {
                    "analysis.interval".into()
                };
                return r.err(
                    field,
                    format!(
                        "{checks} checks over the horizon exceed half the event budget ({max_events}); use a longer interval or raise limits.max_events"
                    ),
                );
            }
        }
    }

    let objectives = raw
        .objectives
        .as_ref()
        .map(|o| resolve_objectives(&r, "objectives", o))
        .transpose()?;

    Ok(Scenario {
        name: raw.name,
        description: raw.description.unwrap_or_default(),
        horizon,
        seed: raw.seed.unwrap_or(defaults::SEED),
        replications,
        service: ServiceSpec {
            traffic,
            versions,
            fleet,
            faults,
            slo_latency,
            database,
        },
        manual,
        response,
        strategies,
        max_events,
        objectives,
    })
}

fn resolve_traffic(r: &Resolver, t: &RawTraffic, horizon: SimTime) -> Result<TrafficSpec> {
    let rate_per_s = r.positive("traffic.rate", t.rate)?;
    if t.users == 0 || t.users > limits::MAX_USERS {
        return r.err(
            "traffic.users",
            format!(
                "{} is not allowed; expected 1 to {}",
                t.users,
                limits::MAX_USERS
            ),
        );
    }
    let write_fraction =
        r.probability("traffic.write_fraction", t.write_fraction.unwrap_or(0.0))?;
    if let Some(s) = t.user_skew
        && !(s.is_finite() && s >= 0.0)
    {
        return r.err(
            "traffic.user_skew",
            format!("{s} is not allowed; expected a Zipf exponent ≥ 0 (1.0 is classic Zipf)"),
        );
    }
    let diurnal = t
        .diurnal
        .as_ref()
        .map(|d| -> Result<Diurnal> {
            if !(0.0..=1.0).contains(&d.amplitude) {
                return r.err(
                    "traffic.diurnal.amplitude",
                    format!("{} is not allowed; expected 0 to 1", d.amplitude),
                );
            }
            let period = match &d.period {
                Some(p) => r.positive_duration("traffic.diurnal.period", p)?,
                None => r.duration("traffic.diurnal.period", defaults::DIURNAL_PERIOD)?,
            };
            Ok(Diurnal {
                amplitude: d.amplitude,
                period,
                peak: r.opt_duration("traffic.diurnal.peak", d.peak.as_ref(), "0s")?,
            })
        })
        .transpose()?;
    let mut bursts = Vec::new();
    for (i, b) in t.bursts.iter().enumerate() {
        let path = format!("traffic.bursts[{i}]");
        let at = r.duration(&format!("{path}.at"), &b.at)?;
        if at >= horizon {
            return r.err(
                format!("{path}.at"),
                format!("\"{}\" is at or after the horizon", b.at),
            );
        }
        bursts.push(Burst {
            at,
            duration: r.positive_duration(&format!("{path}.duration"), &b.duration)?,
            multiplier: r.positive(&format!("{path}.multiplier"), b.multiplier)?,
        });
    }
    Ok(TrafficSpec {
        rate_per_s,
        users: t.users,
        write_fraction,
        user_skew: t.user_skew,
        diurnal,
        bursts,
    })
}

fn resolve_versions(r: &Resolver, raw: &RawScenario) -> Result<[VersionSpec; 2]> {
    let stable = raw.stable.as_deref().unwrap_or(defaults::STABLE);
    let candidate = raw.candidate.as_deref().unwrap_or(defaults::CANDIDATE);
    if stable == candidate {
        return r.err(
            "candidate",
            format!("\"{candidate}\" is also the stable version; the two must differ"),
        );
    }
    let declared: Vec<&str> = raw.versions.keys().map(String::as_str).collect();
    if let Some(extra) = declared.iter().find(|n| **n != stable && **n != candidate) {
        return r.err(
            format!("versions.{extra}"),
            format!("\"{extra}\" is neither the stable version (\"{stable}\") nor the candidate (\"{candidate}\"); set `stable` and `candidate` at the top level to name them"),
        );
    }
    let one = |role: &str, name: &str| -> Result<VersionSpec> {
        let Some(v) = raw.versions.get(name) else {
            return r.err(
                format!("versions.{name}"),
                format!("missing: the {role} version \"{name}\" needs a [versions.{name}] table"),
            );
        };
        let path = format!("versions.{name}");
        let (median, p99) = match &v.latency {
            Some(l) => (
                r.positive_duration(&format!("{path}.latency.median"), &l.median)?,
                r.positive_duration(&format!("{path}.latency.p99"), &l.p99)?,
            ),
            None => (
                r.duration("", defaults::LATENCY_MEDIAN)?,
                r.duration("", defaults::LATENCY_P99)?,
            ),
        };
        if p99 < median {
            return r.err(
                format!("{path}.latency.p99"),
                format!(
                    "{} is below the median {}; expected p99 ≥ median",
                    p99.human(),
                    median.human()
                ),
            );
        }
        Ok(VersionSpec {
            name: name.to_string(),
            error_rate: r
                .probability(&format!("{path}.error_rate"), v.error_rate.unwrap_or(0.0))?,
            latency: LatencyModel::from_median_p99(median, p99),
        })
    };
    Ok([one("stable", stable)?, one("candidate", candidate)?])
}

fn resolve_fault(
    r: &Resolver,
    path: &str,
    f: &RawFault,
    names: &[String; 2],
    fleet: &FleetSpec,
    horizon: SimTime,
    migrations: &[&str],
) -> Result<Fault> {
    let field = |name: &str| format!("{path}.{name}");
    // Which optional parameters each kind takes; any other is an error.
    let takes: &[&str] = match f.kind.as_str() {
        "error_rate" | "dependency_outage" | "data_corruption" => &["rate"],
        "latency" => &["delay"],
        "crash_loop" => &[],
        "memory_leak" => &["rate", "delay", "ramp"],
        "traffic_spike" => &["multiplier"],
        "instance_kill" => &["instances"],
        "flag_stall" => &["rate", "stall_timeout"],
        "migration_lock" => &["migration", "lock"],
        "schema_incompatibility" => &["migration"],
        other => {
            return r.err(
                field("kind"),
                format!(
                    "unknown fault kind \"{other}\"; {}",
                    expected_one_of(other, &FAULT_KINDS)
                ),
            );
        }
    };
    let given = [
        ("rate", f.rate.is_some()),
        ("delay", f.delay.is_some()),
        ("ramp", f.ramp.is_some()),
        ("multiplier", f.multiplier.is_some()),
        ("instances", f.instances.is_some()),
        ("stall_timeout", f.stall_timeout.is_some()),
        ("migration", f.migration.is_some()),
        ("lock", f.lock.is_some()),
    ];
    if let Some((name, _)) = given.iter().find(|(n, g)| *g && !takes.contains(n)) {
        return r.err(
            field(name),
            format!(
                "{} {} fault takes no `{name}`; its parameters are: {}",
                article(&f.kind),
                f.kind,
                if takes.is_empty() {
                    "none".into()
                } else {
                    takes.join(", ")
                }
            ),
        );
    }
    let rate = |required: bool, default: f64| -> Result<f64> {
        match f.rate {
            Some(x) => r.probability(&field("rate"), x),
            None if required => r.err(
                field("rate"),
                format!(
                    "missing: {} {} fault needs `rate`, a probability from 0 to 1",
                    article(&f.kind),
                    f.kind
                ),
            ),
            None => Ok(default),
        }
    };
    let delay = |required: bool| -> Result<SimTime> {
        match &f.delay {
            Some(d) => r.duration(&field("delay"), d),
            None if required => r.err(
                field("delay"),
                format!(
                    "missing: {} {} fault needs `delay`, e.g. \"300ms\"",
                    article(&f.kind),
                    f.kind
                ),
            ),
            None => Ok(SimTime::ZERO),
        }
    };
    let kind = match f.kind.as_str() {
        "error_rate" => FaultKind::ErrorRate {
            rate: rate(true, 0.0)?,
        },
        "dependency_outage" => FaultKind::DependencyOutage {
            rate: rate(false, 1.0)?,
        },
        "data_corruption" => FaultKind::DataCorruption {
            rate: rate(true, 0.0)?,
        },
        "latency" => FaultKind::Latency {
            delay: delay(true)?,
        },
        "crash_loop" => FaultKind::CrashLoop,
        "memory_leak" => {
            let ramp = match &f.ramp {
                Some(t) => r.positive_duration(&field("ramp"), t)?,
                None => return r.err(field("ramp"), "missing: a memory_leak fault needs `ramp`, the time to full degradation, e.g. \"20m\""),
            };
            let (rate, delay) = (rate(false, 0.0)?, delay(false)?);
            if rate == 0.0 && delay == SimTime::ZERO {
                return r.err(field("rate"), "a memory_leak fault needs `rate` (errors at full degradation), `delay` (added latency), or both");
            }
            FaultKind::MemoryLeak { rate, delay, ramp }
        }
        "traffic_spike" => match f.multiplier {
            Some(m) if m.is_finite() && m > 1.0 => FaultKind::TrafficSpike { multiplier: m },
            Some(m) => {
                return r.err(
                    field("multiplier"),
                    format!("{m} is not allowed; expected a number > 1"),
                );
            }
            None => {
                return r.err(
                    field("multiplier"),
                    "missing: a traffic_spike fault needs `multiplier` (> 1)",
                );
            }
        },
        "migration_lock" | "schema_incompatibility" => {
            let Some(name) = &f.migration else {
                return r.err(field("migration"), format!("missing: a {} fault names the migration it hits", f.kind));
            };
            let Some(migration) = migrations.iter().position(|m| m == name) else {
                let msg = if migrations.is_empty() {
                    "there is no [[database.migrations]] to name".to_string()
                } else {
                    expected_one_of(name, migrations)
                };
                return r.err(field("migration"), format!("unknown migration \"{name}\"; {msg}"));
            };
            if f.start.is_some() || f.end.is_some() {
                let which = if f.start.is_some() { "start" } else { "end" };
                return r.err(field(which), format!("a {} fault happens when its migration runs; it takes no `{which}`", f.kind));
            }
            if f.kind == "migration_lock" {
                match &f.lock {
                    Some(l) => FaultKind::MigrationLock {
                        migration,
                        lock: r.positive_duration(&field("lock"), l)?,
                    },
                    None => return r.err(field("lock"), "missing: a migration_lock fault needs `lock`, the lock it really takes, e.g. \"90s\""),
                }
            } else {
                FaultKind::SchemaIncompatibility { migration }
            }
        }
        "flag_stall" => FaultKind::FlagStall {
            share: match f.rate {
                Some(x) => r.probability(&field("rate"), x)?,
                None => return r.err(field("rate"), "missing: a flag_stall fault needs `rate`, the share of instances whose flag SDK stalls"),
            },
            stall_timeout: f.stall_timeout.as_ref().map(|t| r.positive_duration(&field("stall_timeout"), t)).transpose()?,
        },
        "instance_kill" => {
            if fleet.capacity_rps.is_none() {
                return r.err(
                    field("kind"),
                    "an instance_kill fault acts through capacity; set fleet.capacity_rps",
                );
            }
            match f.instances {
                Some(n) if n >= 1 => FaultKind::InstanceKill { instances: n },
                _ => {
                    return r.err(
                        field("instances"),
                        "missing or 0: an instance_kill fault needs `instances` ≥ 1",
                    );
                }
            }
        }
        other => {
            // Not reached: `takes` above rejects unknown kinds. Kept as an error, not a panic.
            return r.err(field("kind"), format!("unknown fault kind \"{other}\""));
        }
    };
    let everywhere = matches!(
        kind,
        FaultKind::DependencyOutage { .. }
            | FaultKind::TrafficSpike { .. }
            | FaultKind::FlagStall { .. }
            | FaultKind::MigrationLock { .. }
    );
    let target = match f.target.as_deref() {
        None if everywhere => Target::All,
        // The classic break: a migration the old app cannot live with.
        None if matches!(kind, FaultKind::SchemaIncompatibility { .. }) => {
            Target::Version(VersionId::Stable)
        }
        Some("all")
            if everywhere
                || matches!(
                    kind,
                    FaultKind::ErrorRate { .. } | FaultKind::Latency { .. }
                ) =>
        {
            Target::All
        }
        Some(t) if everywhere => {
            return r.err(field("target"), format!("\"{t}\" is not allowed: a {} fault hits every version; expected \"all\" or no target", f.kind));
        }
        None => {
            return r.err(
                field("target"),
                format!(
                    "missing: expected a version name ({}) or \"all\"",
                    names.join(", ")
                ),
            );
        }
        Some(t) => match names.iter().position(|n| n == t) {
            Some(0) => Target::Version(VersionId::Stable),
            Some(_) => Target::Version(VersionId::Candidate),
            None => {
                let mut allowed: Vec<&str> = names.iter().map(String::as_str).collect();
                if matches!(
                    kind,
                    FaultKind::ErrorRate { .. } | FaultKind::Latency { .. }
                ) {
                    allowed.push("all");
                }
                return r.err(
                    field("target"),
                    format!("unknown version \"{t}\"; {}", expected_one_of(t, &allowed)),
                );
            }
        },
    };
    let start = r.opt_duration(&field("start"), f.start.as_ref(), "0s")?;
    if start >= horizon {
        return r.err(
            field("start"),
            format!(
                "\"{}\" is at or after the horizon ({})",
                f.start.as_deref().unwrap_or("0s"),
                horizon.human()
            ),
        );
    }
    let end = f
        .end
        .as_ref()
        .map(|e| r.duration(&field("end"), e))
        .transpose()?;
    if let Some(e) = end
        && e <= start
    {
        return r.err(
            field("end"),
            format!("{} is not after the start {}", e.human(), start.human()),
        );
    }
    if matches!(kind, FaultKind::InstanceKill { .. }) && end.is_some() {
        return r.err(
            field("end"),
            "an instance_kill fault has no end: replacements serve after fleet.startup",
        );
    }
    if f.users.is_some()
        && matches!(
            kind,
            FaultKind::TrafficSpike { .. }
                | FaultKind::InstanceKill { .. }
                | FaultKind::FlagStall { .. }
        )
    {
        return r.err(
            field("users"),
            format!(
                "{} {} fault acts on instances that every user shares; it takes no `users`",
                article(&f.kind),
                f.kind
            ),
        );
    }
    let users = f.users.unwrap_or(1.0);
    if !(users > 0.0 && users <= 1.0) {
        return r.err(
            field("users"),
            format!("{users} is not allowed; expected a share of users in (0, 1]"),
        );
    }
    Ok(Fault {
        kind,
        target,
        start,
        end,
        users,
    })
}

/// A number as a person would write it: `5`, `0.25`, `1e308`.
fn short(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e15 || x.abs() < 1e-6) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// "a" or "an" before a fault kind.
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn resolve_analysis(r: &Resolver, path: &str, a: &RawAnalysis) -> Result<AnalysisSpec> {
    let field = |name: &str| format!("{path}.{name}");
    let interval = match &a.interval {
        Some(i) => r.positive_duration(&field("interval"), i)?,
        None => r.duration(&field("interval"), defaults::INTERVAL)?,
    };
    let threshold = a.threshold.unwrap_or(defaults::THRESHOLD);
    if threshold == 0 {
        return r.err(
            field("threshold"),
            "0 is not allowed; expected the number of failed checks (≥ 1) that aborts the rollout",
        );
    }
    let on_no_data = match a.on_no_data.as_deref() {
        None | Some("fail") => NoData::Fail,
        Some("inconclusive") => NoData::Inconclusive,
        Some(other) => {
            return r.err(
                field("on_no_data"),
                format!(
                    "unknown value \"{other}\"; {}",
                    expected_one_of(other, &["fail", "inconclusive"])
                ),
            );
        }
    };
    let mut metrics = Vec::new();
    for (i, m) in a.metrics.iter().enumerate() {
        let mpath = format!("{path}.metrics[{i}]");
        let names: Vec<&str> = Metric::ALL.iter().map(|(_, n)| *n).collect();
        let Some(&(metric, _)) = Metric::ALL.iter().find(|(_, n)| *n == m.name) else {
            return r.err(
                format!("{mpath}.name"),
                format!(
                    "unknown metric \"{}\"; {}",
                    m.name,
                    expected_one_of(&m.name, &names)
                ),
            );
        };
        for (bound, value) in [("max", m.max), ("min", m.min)] {
            if let Some(x) = value
                && !x.is_finite()
            {
                return r.err(
                    format!("{mpath}.{bound}"),
                    format!("{x} is not allowed; expected a finite number"),
                );
            }
        }
        match (m.min, m.max) {
            (None, None) => {
                return r.err(
                    format!("{mpath}.max"),
                    "missing: a metric needs `max`, `min`, or both",
                );
            }
            (Some(lo), Some(hi)) if lo > hi => {
                return r.err(
                    format!("{mpath}.min"),
                    format!("{lo} is above max {hi}; no value could pass"),
                );
            }
            _ => {}
        }
        metrics.push(MetricRule {
            metric,
            min: m.min,
            max: m.max,
        });
    }
    if metrics.is_empty() {
        metrics = vec![
            MetricRule {
                metric: Metric::ErrorRate,
                min: None,
                max: Some(defaults::MAX_ERROR_RATE),
            },
            MetricRule {
                metric: Metric::LatencyP99,
                min: None,
                max: Some(defaults::MAX_LATENCY_P99_MS),
            },
        ];
    }
    Ok(AnalysisSpec {
        interval,
        threshold,
        min_requests: a.min_requests.unwrap_or(defaults::MIN_REQUESTS),
        on_no_data,
        metrics,
    })
}

fn resolve_strategy(
    r: &Resolver,
    path: &str,
    s: &RawStrategy,
    scenario_analysis: Option<&AnalysisSpec>,
    fleet: &FleetSpec,
) -> Result<StrategySpec> {
    let field = |name: &str| format!("{path}.{name}");
    if s.name.is_empty() || s.name.contains([',', '"', '\n']) {
        return r.err(
            field("name"),
            format!(
                "\"{}\" is not allowed; expected a non-empty name without commas or quotes",
                s.name
            ),
        );
    }
    // Which optional fields each kind takes; any other is an error.
    let takes: &[&str] = match s.kind.as_str() {
        "canary" => &["sticky", "steps", "rollback"],
        "blue_green" => &[
            "pre_promotion",
            "preview_share",
            "post_promotion",
            "switch_delay",
            "scale_down_delay",
            "progress_deadline",
        ],
        "feature_flag" => &["steps", "refresh"],
        "rolling" => &[
            "max_surge",
            "max_unavailable",
            "period",
            "min_ready",
            "progress_deadline",
        ],
        other => {
            return r.err(
                field("kind"),
                format!(
                    "unknown strategy \"{other}\"; {}",
                    expected_one_of(other, &StrategyKind::NAMES)
                ),
            );
        }
    };
    let given = [
        ("sticky", s.sticky.is_some()),
        ("steps", !s.steps.is_empty()),
        ("rollback", s.rollback.is_some()),
        ("pre_promotion", s.pre_promotion.is_some()),
        ("preview_share", s.preview_share.is_some()),
        ("post_promotion", s.post_promotion.is_some()),
        ("switch_delay", s.switch_delay.is_some()),
        ("scale_down_delay", s.scale_down_delay.is_some()),
        ("progress_deadline", s.progress_deadline.is_some()),
        ("refresh", s.refresh.is_some()),
        ("max_surge", s.max_surge.is_some()),
        ("max_unavailable", s.max_unavailable.is_some()),
        ("period", s.period.is_some()),
        ("min_ready", s.min_ready.is_some()),
    ];
    if let Some((name, _)) = given.iter().find(|(n, g)| *g && !takes.contains(n)) {
        return r.err(
            field(name),
            format!(
                "a {} strategy takes no `{name}`; its fields are: {}",
                s.kind,
                takes.join(", ")
            ),
        );
    }
    let analysis = match &s.analysis {
        Some(a) => Some(resolve_analysis(r, &field("analysis"), a)?),
        None => scenario_analysis.cloned(),
    };
    let dur = |name: &str, value: &Option<String>, default: &str| {
        r.opt_duration(&field(name), value.as_ref(), default)
    };
    let kind = match s.kind.as_str() {
        "canary" => StrategyKind::Canary(CanarySpec {
            sticky: s.sticky.unwrap_or(false),
            steps: resolve_steps(r, path, s, "weight")?,
            rollback: match s.rollback.as_deref() {
                None | Some("instant") => CanaryRollback::Instant,
                Some("rolling") => CanaryRollback::Rolling,
                Some(other) => {
                    return r.err(
                        field("rollback"),
                        format!(
                            "unknown value \"{other}\"; {}",
                            expected_one_of(other, &["instant", "rolling"])
                        ),
                    );
                }
            },
        }),
        "blue_green" => {
            let pre_promotion = dur("pre_promotion", &s.pre_promotion, "0s")?;
            let preview_share = s.preview_share.unwrap_or(0.0);
            if !(0.0..=100.0).contains(&preview_share) {
                return r.err(
                    field("preview_share"),
                    format!("{preview_share} is not allowed; expected a percentage from 0 to 100"),
                );
            }
            if pre_promotion > SimTime::ZERO && (preview_share == 0.0 || analysis.is_none()) {
                return r.err(
                    field("pre_promotion"),
                    "pre-promotion analysis needs `preview_share` > 0 (the share of user traffic green receives) and an [analysis]",
                );
            }
            // Post-promotion analysis defaults to twice the time the analysis needs to reach
            // its threshold, so a failing green is always caught by it.
            let post_default = analysis.as_ref().map_or(SimTime::ZERO, |a| {
                SimTime(a.interval.micros() * u64::from(a.threshold) * 2)
            });
            StrategyKind::BlueGreen(BlueGreenSpec {
                pre_promotion,
                preview_share,
                post_promotion: match &s.post_promotion {
                    Some(p) => r.duration(&field("post_promotion"), p)?,
                    None => post_default,
                },
                switch_delay: dur("switch_delay", &s.switch_delay, "0s")?,
                scale_down_delay: dur(
                    "scale_down_delay",
                    &s.scale_down_delay,
                    defaults::SCALE_DOWN_DELAY,
                )?,
                progress_deadline: dur(
                    "progress_deadline",
                    &s.progress_deadline,
                    defaults::PROGRESS_DEADLINE,
                )?,
            })
        }
        "feature_flag" => {
            let refresh = match &s.refresh {
                None => Refresh::Polling {
                    interval: r.duration("", defaults::FLAG_POLLING)?,
                },
                Some(x) => {
                    let mode_field = format!("{path}.refresh.mode");
                    match x.mode.as_str() {
                        "polling" if x.delay.is_none() => Refresh::Polling {
                            interval: match &x.interval {
                                Some(i) => {
                                    r.positive_duration(&format!("{path}.refresh.interval"), i)?
                                }
                                None => r.duration("", defaults::FLAG_POLLING)?,
                            },
                        },
                        "streaming" if x.interval.is_none() => Refresh::Streaming {
                            delay: r.opt_duration(
                                &format!("{path}.refresh.delay"),
                                x.delay.as_ref(),
                                defaults::FLAG_STREAM_DELAY,
                            )?,
                        },
                        "polling" => {
                            return r.err(
                                format!("{path}.refresh.delay"),
                                "polling takes `interval`, not `delay`",
                            );
                        }
                        "streaming" => {
                            return r.err(
                                format!("{path}.refresh.interval"),
                                "streaming takes `delay`, not `interval`",
                            );
                        }
                        other => {
                            return r.err(
                                mode_field,
                                format!(
                                    "unknown mode \"{other}\"; {}",
                                    expected_one_of(other, &["polling", "streaming"])
                                ),
                            );
                        }
                    }
                }
            };
            let steps = resolve_steps(r, path, s, "percent")?;
            if let Some((i, st)) = steps
                .iter()
                .enumerate()
                .find(|(_, st)| st.percent.fract() != 0.0)
            {
                return r.err(
                    format!("{path}.steps[{i}].percent"),
                    format!("{} is not allowed; flags bucket users in whole percents (Unleash: 1 to 100)", st.percent),
                );
            }
            StrategyKind::FeatureFlag(FeatureFlagSpec { steps, refresh })
        }
        "rolling" => {
            let n = fleet.instances;
            let surge = resolve_count(r, &field("max_surge"), s.max_surge.as_ref(), n, true)?;
            let unavailable = resolve_count(
                r,
                &field("max_unavailable"),
                s.max_unavailable.as_ref(),
                n,
                false,
            )?;
            if surge == 0 && unavailable == 0 {
                return r.err(field("max_surge"), "max_surge and max_unavailable are both 0: the update could never start (Kubernetes rejects this too)");
            }
            StrategyKind::Rolling(RollingSpec {
                max_surge: surge,
                max_unavailable: unavailable,
                period: match &s.period {
                    Some(p) => r.positive_duration(&field("period"), p)?,
                    None => r.duration("", defaults::PROBE_PERIOD)?,
                },
                min_ready: dur("min_ready", &s.min_ready, "0s")?,
                progress_deadline: dur(
                    "progress_deadline",
                    &s.progress_deadline,
                    defaults::PROGRESS_DEADLINE,
                )?,
            })
        }
        _ => unreachable_kind(r, &field("kind"), &s.kind)?,
    };
    Ok(StrategySpec {
        name: s.name.clone(),
        kind,
        analysis,
    })
}

/// Kinds are checked against the list above; this keeps the match total without a panic.
fn unreachable_kind(r: &Resolver, field: &str, kind: &str) -> Result<StrategyKind> {
    r.err(field, format!("unknown strategy \"{kind}\""))
}

/// A step ladder whose values are written as `key` (`weight` or `percent`).
fn resolve_steps(r: &Resolver, path: &str, s: &RawStrategy, key: &str) -> Result<Vec<Step>> {
    if s.steps.is_empty() {
        return r.err(
            format!("{path}.steps"),
            format!("empty: a {} needs at least one step, e.g. [{{ {key} = 10, pause = \"5m\" }}, {{ {key} = 100 }}]", s.kind),
        );
    }
    let mut steps = Vec::new();
    for (i, st) in s.steps.iter().enumerate() {
        let spath = format!("{path}.steps[{i}]");
        let (value, wrong) = match key {
            "weight" => (st.weight, st.percent.map(|_| "percent")),
            _ => (st.percent, st.weight.map(|_| "weight")),
        };
        if let Some(w) = wrong {
            return r.err(
                format!("{spath}.{w}"),
                format!("a {} step takes `{key}`, not `{w}`", s.kind),
            );
        }
        let Some(value) = value else {
            return r.err(
                format!("{spath}.{key}"),
                format!(
                    "missing: a {} step needs `{key}`, a percentage in (0, 100]",
                    s.kind
                ),
            );
        };
        if !(value > 0.0 && value <= 100.0) {
            return r.err(
                format!("{spath}.{key}"),
                format!("{value} is not allowed; expected a percentage in (0, 100]"),
            );
        }
        let last = i + 1 == s.steps.len();
        let pause = match (&st.pause, value >= 100.0) {
            (Some(_), true) => {
                return r.err(
                    format!("{spath}.pause"),
                    "a 100 % step completes the rollout; it takes no pause",
                );
            }
            (None, true) => SimTime::ZERO,
            (Some(p), false) => r.duration(&format!("{spath}.pause"), p)?,
            (None, false) => {
                return r.err(
                    format!("{spath}.pause"),
                    "missing: a step below 100 % needs a pause, e.g. \"5m\" (an indefinite pause waits for a human and is not simulated)",
                );
            }
        };
        if value >= 100.0 && !last {
            return r.err(
                format!("{spath}.{key}"),
                "100 completes the rollout; only the last step may be 100",
            );
        }
        steps.push(Step {
            percent: value,
            pause,
        });
    }
    Ok(steps)
}

/// A Kubernetes count-or-percentage of `n` instances; percentages round up for the surge
/// and down for unavailability, as the Deployment controller does. Default: 25 %.
fn resolve_count(
    r: &Resolver,
    field: &str,
    value: Option<&CountOrPercent>,
    n: u32,
    round_up: bool,
) -> Result<u32> {
    let pct = match value {
        None => defaults::ROLLING_BUDGET_PCT,
        Some(CountOrPercent::Count(c)) => {
            return u32::try_from(*c)
                .ok()
                .filter(|&c| c <= n)
                .ok_or(())
                .or_else(|_| r.err(field, format!("{c} is not allowed; expected 0 to fleet.instances ({n}) or a percentage")));
        }
        Some(CountOrPercent::Percent(p)) => match p.strip_suffix('%').map(|x| x.trim().parse::<f64>()) {
            Some(Ok(x)) if (0.0..=100.0).contains(&x) => x,
            _ => return r.err(field, format!("\"{p}\" is not allowed; expected a percentage such as \"25%\" or a whole number")),
        },
    };
    let exact = pct / 100.0 * f64::from(n);
    Ok((if round_up {
        exact.ceil()
    } else {
        exact.floor()
    }) as u32)
}

/// The `[database]` table and the database fields of `[versions.*]`.
fn resolve_database(
    r: &Resolver,
    raw: &RawScenario,
    names: &[String; 2],
    horizon: SimTime,
) -> Result<Option<DatabaseSpec>> {
    let Some(d) = &raw.database else {
        for (name, v) in &raw.versions {
            for (field, given) in [
                ("schemas", v.schemas.is_some()),
                ("writes", v.writes.is_some()),
                ("reads", v.reads.is_some()),
            ] {
                if given {
                    return r.err(
                        format!("versions.{name}.{field}"),
                        "only meaningful with a [database] table; add one",
                    );
                }
            }
        }
        return Ok(None);
    };
    let schema = d.schema.unwrap_or(1);
    let table_fraction =
        r.probability("database.table_fraction", d.table_fraction.unwrap_or(1.0))?;
    let client_timeout = r.opt_duration(
        "database.client_timeout",
        d.client_timeout.as_ref(),
        defaults::CLIENT_TIMEOUT,
    )?;

    let initial = match d.state.as_deref() {
        None | Some("old") => InitialData::Old,
        Some("expanded") => InitialData::Expanded,
        Some("backfilled") => InitialData::Backfilled,
        Some(o) => {
            return r.err(
                "database.state",
                format!(
                    "unknown value \"{o}\"; {}",
                    expected_one_of(o, &["old", "expanded", "backfilled"])
                ),
            );
        }
    };
    // The plan: consecutive schema versions, one migrated field (expand, backfill, contract).
    let mut migrations: Vec<Migration> = Vec::new();
    let (mut new_exists, mut old_exists, mut version) = (initial != InitialData::Old, true, schema);
    // When the database is free again: after the with-rollout chain, then after each migration.
    let mut free_from = SimTime::ZERO;
    for (i, m) in d.migrations.iter().enumerate() {
        let path = format!("database.migrations[{i}]");
        let field = |f: &str| format!("{path}.{f}");
        let migration = resolve_migration(r, &path, m)?;
        if migrations.iter().any(|o| o.name == m.name) {
            return r.err(
                field("name"),
                format!(
                    "\"{}\" is used by another migration; names must be unique",
                    m.name
                ),
            );
        }
        if m.to != version + 1 {
            return r.err(
                field("to"),
                format!(
                    "{} does not follow schema {version}; expected {}",
                    m.to,
                    version + 1
                ),
            );
        }
        let problem = match migration.kind {
            MigrationKind::Expand if new_exists => {
                Some("the new structure already exists (one migrated field per scenario)")
            }
            MigrationKind::Backfill { .. } | MigrationKind::Contract if !new_exists => {
                Some("it needs an expand before it: there is no new structure yet")
            }
            _ if !old_exists => {
                Some("the old structure is already dropped: nothing can follow a contract")
            }
            _ => None,
        };
        if let Some(p) = problem {
            return r.err(
                field("kind"),
                format!("\"{}\" cannot run here: {p}", m.kind),
            );
        }
        match migration.kind {
            MigrationKind::Expand => new_exists = true,
            MigrationKind::Contract => old_exists = false,
            MigrationKind::Backfill { .. } => {}
        }
        if !migration.with_rollout && migration.start >= horizon {
            return r.err(
                field("start"),
                format!(
                    "{} is at or after the horizon ({})",
                    migration.start.human(),
                    horizon.human()
                ),
            );
        }
        if !migration.with_rollout && migration.start < free_from {
            return r.err(
                field("start"),
                format!(
                    "{} is before the previous migration ends ({}); migrations run one at a time",
                    migration.start.human(),
                    free_from.human()
                ),
            );
        }
        if migration.with_rollout && migrations.iter().any(|o| !o.with_rollout) {
            return r.err(
                field("with_rollout"),
                "migrations that run with the rollout must come first in the plan",
            );
        }
        free_from = if migration.with_rollout {
            free_from
        } else {
            migration.start
        }
        .saturating_add(migration.duration);
        version = m.to;
        migrations.push(migration);
    }
    let reached: Vec<u32> = (schema..=version).collect();

    let mut apps = Vec::new();
    for name in names {
        let v = &raw.versions[name];
        let path = format!("versions.{name}");
        let schemas = match &v.schemas {
            Some(list) if list.is_empty() => {
                return r.err(
                    format!("{path}.schemas"),
                    "empty: a version needs at least one schema version",
                );
            }
            Some(list) => list.clone(),
            None => reached.clone(),
        };
        if !schemas.iter().any(|s| reached.contains(s)) {
            return r.err(
                format!("{path}.schemas"),
                format!("{schemas:?} contains no schema version the plan reaches ({reached:?}); the version could never run"),
            );
        }
        let writes = match v.writes.as_deref() {
            None | Some("old") => WriteMode::Old,
            Some("dual") => WriteMode::Dual,
            Some("new") => WriteMode::New,
            Some(o) => {
                return r.err(
                    format!("{path}.writes"),
                    format!(
                        "unknown value \"{o}\"; {}",
                        expected_one_of(o, &["old", "dual", "new"])
                    ),
                );
            }
        };
        let reads = match v.reads.as_deref() {
            None | Some("old") => ReadMode::Old,
            Some("new") => ReadMode::New,
            Some("new_with_fallback") => ReadMode::NewWithFallback,
            Some(o) => {
                return r.err(
                    format!("{path}.reads"),
                    format!(
                        "unknown value \"{o}\"; {}",
                        expected_one_of(o, &["old", "new", "new_with_fallback"])
                    ),
                );
            }
        };
        apps.push(AppSchema {
            schemas,
            writes,
            reads,
        });
    }
    let [stable, candidate]: [AppSchema; 2] = apps
        .try_into()
        .map_err(|_| ScenarioError::new(r.file, "versions", "expected two versions"))?;

    let policy_name = d.rollback.as_deref().unwrap_or("app_only");
    for (field, given, owner) in [
        ("hotfix_time", d.hotfix_time.is_some(), "roll_forward"),
        ("restore_time", d.restore_time.is_some(), "restore"),
    ] {
        if given && policy_name != owner {
            return r.err(
                format!("database.{field}"),
                format!("only used with rollback = \"{owner}\" (this scenario: \"{policy_name}\")"),
            );
        }
    }
    let policy = match policy_name {
        "app_only" => DataPolicy::AppOnly,
        "app_and_down" => DataPolicy::AppAndDown,
        "roll_forward" => {
            let Some(h) = &d.hotfix_time else {
                return r.err(
                    "database.hotfix_time",
                    "missing: roll_forward needs hotfix_time = { median = \"30m\", sigma = 0.5 }",
                );
            };
            let sigma = h.sigma.unwrap_or(defaults::HOTFIX_SIGMA);
            if !(sigma.is_finite() && sigma >= 0.0) {
                return r.err(
                    "database.hotfix_time.sigma",
                    format!("{sigma} is not allowed; expected a finite number ≥ 0"),
                );
            }
            DataPolicy::RollForward {
                median: r.positive_duration("database.hotfix_time.median", &h.median)?,
                sigma,
            }
        }
        "restore" => match &d.restore_time {
            Some(t) => DataPolicy::Restore {
                restore_time: r.positive_duration("database.restore_time", t)?,
            },
            None => {
                return r.err(
                    "database.restore_time",
                    "missing: restore needs restore_time, e.g. \"20m\"",
                );
            }
        },
        other => {
            return r.err(
                "database.rollback",
                format!(
                    "unknown policy \"{other}\"; {}",
                    expected_one_of(
                        other,
                        &["app_only", "app_and_down", "roll_forward", "restore"]
                    )
                ),
            );
        }
    };
    let write_block = match (d.write_block.unwrap_or(false), &d.drain) {
        (true, drain) => Some(r.opt_duration("database.drain", drain.as_ref(), defaults::DRAIN)?),
        (false, Some(_)) => return r.err("database.drain", "only used with write_block = true"),
        (false, None) => None,
    };
    if write_block.is_some() && policy_name == "roll_forward" {
        return r.err(
            "database.write_block",
            "a roll-forward has no rollback to block writes before",
        );
    }
    Ok(Some(DatabaseSpec {
        schema,
        initial,
        rows: d.rows.unwrap_or(0),
        table_fraction,
        client_timeout,
        migrations,
        apps: [stable, candidate],
        policy,
        write_block,
    }))
}

/// One `[[database.migrations]]` table.
fn resolve_migration(r: &Resolver, path: &str, m: &RawMigration) -> Result<Migration> {
    let field = |f: &str| format!("{path}.{f}");
    if m.name.is_empty() {
        return r.err(field("name"), "empty: a migration needs a name");
    }
    let kind = match m.kind.as_str() {
        "expand" => MigrationKind::Expand,
        "contract" => MigrationKind::Contract,
        "backfill" => match (m.rows, m.rate) {
            (Some(rows), Some(rate)) => MigrationKind::Backfill {
                rows,
                rate: r.positive(&field("rate"), rate)?,
            },
            (None, _) => {
                return r.err(
                    field("rows"),
                    "missing: a backfill needs `rows` and `rate` (rows per second)",
                );
            }
            (_, None) => {
                return r.err(
                    field("rate"),
                    "missing: a backfill needs `rate`, rows per second",
                );
            }
        },
        o => {
            return r.err(
                field("kind"),
                format!(
                    "unknown kind \"{o}\"; {}",
                    expected_one_of(o, &["expand", "backfill", "contract"])
                ),
            );
        }
    };
    if !matches!(kind, MigrationKind::Backfill { .. }) {
        for (f, given) in [("rows", m.rows.is_some()), ("rate", m.rate.is_some())] {
            if given {
                return r.err(field(f), format!("only a backfill takes `{f}`"));
            }
        }
    }
    let duration = match (&kind, &m.duration) {
        (MigrationKind::Backfill { .. }, Some(_)) => {
            return r.err(
                field("duration"),
                "a backfill lasts rows / rate; it takes no `duration`",
            );
        }
        (MigrationKind::Backfill { rows, rate }, None) => {
            SimTime((*rows as f64 / rate * 1e6).ceil() as u64)
        }
        (_, Some(d)) => r.duration(&field("duration"), d)?,
        (_, None) => {
            return r.err(
                field("duration"),
                "missing: how long the migration runs, e.g. \"20s\"",
            );
        }
    };
    let with_rollout = m.with_rollout.unwrap_or(false);
    if with_rollout && m.start.is_some() {
        return r.err(
            field("start"),
            "a migration that runs with the rollout starts before it; it takes no `start`",
        );
    }
    let reversible = m.reversible.unwrap_or(kind != MigrationKind::Contract);
    if kind == MigrationKind::Contract && reversible {
        return r.err(field("reversible"), "a contract drops the old structure and its data: it is not reversible without a backup restore");
    }
    let down_duration = match (&m.down_duration, reversible) {
        (Some(_), false) => {
            return r.err(
                field("down_duration"),
                "an irreversible migration has no down migration",
            );
        }
        (Some(d), true) => r.duration(&field("down_duration"), d)?,
        (None, true) => duration,
        (None, false) => SimTime::ZERO,
    };
    let lock = r.opt_duration(&field("lock"), m.lock.as_ref(), "0s")?;
    if lock > duration {
        return r.err(
            field("lock"),
            format!(
                "{} is longer than the migration ({})",
                lock.human(),
                duration.human()
            ),
        );
    }
    Ok(Migration {
        name: m.name.clone(),
        to: m.to,
        kind,
        start: r.opt_duration(&field("start"), m.start.as_ref(), "0s")?,
        with_rollout,
        duration,
        lock,
        reversible,
        down_duration,
    })
}

/// An `[objectives]` table (in a scenario, or a suite's objectives file) at `path`.
pub(super) fn resolve_objectives(
    r: &Resolver,
    path: &str,
    o: &RawObjectives,
) -> Result<Vec<Objective>> {
    let mut list = Vec::new();
    for (metric, text) in [
        (ObjectiveMetric::TtrMean, &o.ttr_mean),
        (ObjectiveMetric::TtrP95, &o.ttr_p95),
        (ObjectiveMetric::TtdMean, &o.ttd_mean),
        (ObjectiveMetric::TtdP95, &o.ttd_p95),
    ] {
        if let Some(t) = text {
            let limit = r
                .duration(&format!("{path}.{}", metric.name()), t)?
                .as_secs_f64();
            list.push(Objective { metric, limit });
        }
    }
    for (metric, share) in [
        (ObjectiveMetric::AffectedShareMean, o.affected_share_mean),
        (
            ObjectiveMetric::DetectionProbability,
            o.detection_probability,
        ),
        (ObjectiveMetric::FalseRollbackRate, o.false_rollback_rate),
    ] {
        if let Some(x) = share {
            list.push(Objective {
                metric,
                limit: r.probability(&format!("{path}.{}", metric.name()), x)?,
            });
        }
    }
    if let Some(n) = o.inconsistent_records_max {
        list.push(Objective {
            metric: ObjectiveMetric::InconsistentRecordsMax,
            limit: n as f64,
        });
    }
    if list.is_empty() {
        return r.err(path, "empty: state at least one objective, or remove the table to use the defaults (ttr_mean ≤ 30m, affected_share_mean ≤ 1 %)");
    }
    Ok(list)
}
