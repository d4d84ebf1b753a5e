//! The fault catalog: every fault kind, in one place, with everything it is.
//!
//! A kind's entry ([`KindSpec`]) gives its name, its one-line description, its parameters
//! with their types, defaults and meanings, the targets and user shares it accepts and when it
//! acts. [`FaultName::build`] turns checked parameter values into a [`FaultKind`], and the
//! methods of [`Fault`] give its effective end and its per-request effect. The scenario
//! resolver, error messages, the parameter table of reports and the docs/reference.md test all read this
//! catalog; none restates it. Adding a kind: a variant of [`FaultName`] and of [`FaultKind`],
//! its [`KindSpec`], its arm in [`FaultName::build`], [`FaultKind::describe`] and
//! [`Fault::effect`] (the compiler lists every match that needs it), its tests and a row in docs/reference.md.

use super::VersionId;
use crate::engine::{Probability, SimTime};
use crate::format::{number, percent, time};
use crate::names::named;

/// What a fault does, with its checked parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Requests of the target fail with probability `max(baseline, rate)`.
    ErrorRate {
        /// Error probability while active.
        rate: Probability,
        /// Only the first `k` instances of the target (by start order) fail (`None`: all).
        /// Requests then pick an instance uniformly (see `model::pool`).
        instances: Option<u32>,
    },
    /// Requests of the target take `delay` longer.
    Latency {
        /// Added response time.
        delay: SimTime,
    },
    /// Instances of the target never pass readiness: every request routed to it fails (503).
    CrashLoop,
    /// Degradation that grows linearly from 0 at `start` to full at `start + ramp`.
    MemoryLeak {
        /// Error probability once fully degraded.
        rate: Probability,
        /// Added latency once fully degraded.
        delay: SimTime,
        /// Time to full degradation.
        ramp: SimTime,
    },
    /// Successful writes of the target are silently corrupted with probability `rate`.
    /// No error: only a business metric (`bad_write_rate`) sees it.
    DataCorruption {
        /// Share of writes corrupted.
        rate: Probability,
    },
    /// A dependency every version uses is down: requests fail with probability `rate`,
    /// whichever version serves them. Rolling back does not help.
    DependencyOutage {
        /// Error probability while active.
        rate: Probability,
        /// Whether the instances' probes check the dependency, and so fail with it.
        probe: bool,
    },
    /// Extra traffic: the rate is multiplied by `multiplier` while active.
    TrafficSpike {
        /// Rate multiplier (> 1).
        multiplier: f64,
    },
    /// `instances` instances of the target die at `start`; replacements serve after the
    /// fleet's `startup`. Only visible through capacity (load shedding).
    InstanceKill {
        /// Instances killed.
        instances: u32,
    },
    /// Migration `migration` holds its table lock for `lock` instead of the planned time.
    MigrationLock {
        /// Index of the migration in the plan.
        migration: usize,
        /// The lock it really takes.
        lock: SimTime,
    },
    /// Once migration `migration` has run, the target version cannot use the schema although
    /// it declares it (the single-step DROP COLUMN anti-pattern): its table requests fail.
    SchemaIncompatibility {
        /// Index of the migration in the plan.
        migration: usize,
    },
    /// A share of instances stop refreshing feature flags from `start` to `end` (a restart):
    /// they keep serving the value they had, kill switch or not, until their data is
    /// `stall_timeout` old (then they serve the code default, off).
    FlagStall {
        /// Share of instances stalled (the nearest whole number of instances).
        share: Probability,
        /// Data age after which an SDK falls back to the code default.
        stall_timeout: Option<SimTime>,
    },
}

named! {
    /// The fault kinds by name, in the order errors and docs/reference.md list them.
    pub enum FaultName {
        /// `error_rate`: see [`FaultKind::ErrorRate`].
        ErrorRate = "error_rate",
        /// `latency`: see [`FaultKind::Latency`].
        Latency = "latency",
        /// `crash_loop`: see [`FaultKind::CrashLoop`].
        CrashLoop = "crash_loop",
        /// `memory_leak`: see [`FaultKind::MemoryLeak`].
        MemoryLeak = "memory_leak",
        /// `data_corruption`: see [`FaultKind::DataCorruption`].
        DataCorruption = "data_corruption",
        /// `dependency_outage`: see [`FaultKind::DependencyOutage`].
        DependencyOutage = "dependency_outage",
        /// `traffic_spike`: see [`FaultKind::TrafficSpike`].
        TrafficSpike = "traffic_spike",
        /// `instance_kill`: see [`FaultKind::InstanceKill`].
        InstanceKill = "instance_kill",
        /// `flag_stall`: see [`FaultKind::FlagStall`].
        FlagStall = "flag_stall",
        /// `migration_lock`: see [`FaultKind::MigrationLock`].
        MigrationLock = "migration_lock",
        /// `schema_incompatibility`: see [`FaultKind::SchemaIncompatibility`].
        SchemaIncompatibility = "schema_incompatibility",
    }
}

/// The type of a fault parameter, which says how it is written and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// A number from 0 to 1.
    Probability,
    /// A duration ≥ 0 such as `"300ms"`.
    Duration,
    /// A duration > 0.
    PositiveDuration,
    /// A finite number > 1.
    Multiplier,
    /// A whole number ≥ 1.
    Count,
    /// The name of a `[[database.migrations]]` entry.
    Migration,
    /// `true` or `false`.
    Flag,
}

/// One parameter of a fault kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// Its key in the scenario file.
    pub name: &'static str,
    /// How it is written and checked.
    pub ty: ParamType,
    /// Whether it must be written, and its default otherwise.
    pub need: Need,
    /// What it means, completing "needs `name`, …" in errors.
    pub doc: &'static str,
}

/// Whether a parameter must be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// It must be written.
    Required,
    /// Written as this value when omitted (in the parameter's own syntax).
    Default(&'static str),
    /// It may be omitted, and then has no value.
    Optional,
}

/// Which `target` values a kind accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Targets {
    /// A version name, required.
    Version,
    /// A version name or `"all"`, required.
    VersionOrAll,
    /// A version name; omitted means the stable version (the classic schema break).
    VersionOrStable,
    /// Every version: `"all"` or omitted.
    Everywhere,
}

/// When a kind acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Over `[start, end)`, both optional (start 0, no end).
    Window,
    /// From `start`; the effect ends by itself (no `end`).
    Instant,
    /// When its migration runs: no `start` or `end`.
    WithMigration,
}

/// Everything a fault kind is, except its behaviour (in [`Fault::effect`] and the model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSpec {
    /// One line for errors, reports and docs/reference.md.
    pub doc: &'static str,
    /// Its own parameters; any other key is an error.
    pub params: &'static [ParamSpec],
    /// The targets it accepts.
    pub targets: Targets,
    /// When it acts.
    pub timing: Timing,
    /// Whether it takes `users`: it hits requests, not instances every user shares.
    pub per_user: bool,
    /// Whether it acts through capacity, so that `fleet.capacity_rps` is required.
    pub needs_capacity: bool,
}

const fn param(name: &'static str, ty: ParamType, need: Need, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        ty,
        need,
        doc,
    }
}

const ERROR_RATE: ParamSpec = param(
    "rate",
    ParamType::Probability,
    Need::Required,
    "a probability from 0 to 1",
);
const MIGRATION: ParamSpec = param(
    "migration",
    ParamType::Migration,
    Need::Required,
    "the name of the migration it hits",
);

const fn kind(
    doc: &'static str,
    params: &'static [ParamSpec],
    targets: Targets,
    timing: Timing,
    per_user: bool,
) -> KindSpec {
    KindSpec {
        doc,
        params,
        targets,
        timing,
        per_user,
        needs_capacity: false,
    }
}
const ERROR: KindSpec = kind(
    "requests of the target fail with probability max(baseline, rate)",
    &[
        ERROR_RATE,
        param(
            "instances",
            ParamType::Count,
            Need::Optional,
            "the number of the target's instances that fail (≥ 1; omitted: all)",
        ),
    ],
    Targets::VersionOrAll,
    Timing::Window,
    true,
);
const LATENCY: KindSpec = kind(
    "responses of the target take `delay` longer",
    &[param(
        "delay",
        ParamType::Duration,
        Need::Required,
        "the added latency, e.g. \"300ms\"",
    )],
    Targets::VersionOrAll,
    Timing::Window,
    true,
);
const CRASH: KindSpec = kind(
    "instances of the target never pass readiness; requests reaching it fail",
    &[],
    Targets::Version,
    Timing::Window,
    true,
);
const LEAK: KindSpec = kind(
    "errors and latency grow linearly from 0 at start to full at start + ramp",
    &[
        param(
            "rate",
            ParamType::Probability,
            Need::Default("0"),
            "the error probability at full degradation",
        ),
        param(
            "delay",
            ParamType::Duration,
            Need::Default("0s"),
            "the added latency at full degradation",
        ),
        param(
            "ramp",
            ParamType::PositiveDuration,
            Need::Required,
            "the time to full degradation, e.g. \"20m\"",
        ),
    ],
    Targets::Version,
    Timing::Window,
    true,
);
const CORRUPTION: KindSpec = kind(
    "successful writes of the target are stored corrupted with probability rate",
    &[ERROR_RATE],
    Targets::Version,
    Timing::Window,
    true,
);
const OUTAGE: KindSpec = kind(
    "a shared dependency is down: requests of every version fail with probability rate",
    &[
        param(
            "rate",
            ParamType::Probability,
            Need::Default("1"),
            "a probability from 0 to 1",
        ),
        param(
            "probe",
            ParamType::Flag,
            Need::Default("false"),
            "whether the instances' probes check the dependency (true or false)",
        ),
    ],
    Targets::Everywhere,
    Timing::Window,
    true,
);
const SPIKE: KindSpec = kind(
    "extra arrivals at (multiplier − 1) × rate",
    &[param(
        "multiplier",
        ParamType::Multiplier,
        Need::Required,
        "the rate multiplier (> 1)",
    )],
    Targets::Everywhere,
    Timing::Window,
    false,
);
const KILL: KindSpec = KindSpec {
    needs_capacity: true,
    ..kind(
        "instances of the target die at start; replacements serve after fleet.startup",
        &[param(
            "instances",
            ParamType::Count,
            Need::Required,
            "the number of instances killed (≥ 1)",
        )],
        Targets::Version,
        Timing::Instant,
        false,
    )
};
const STALL: KindSpec = kind(
    "a share of instances stop refreshing feature flags until end",
    &[
        param(
            "rate",
            ParamType::Probability,
            Need::Required,
            "the share of instances whose flag SDK stalls",
        ),
        param(
            "stall_timeout",
            ParamType::PositiveDuration,
            Need::Optional,
            "the data age after which a stalled SDK serves the code default",
        ),
    ],
    Targets::Everywhere,
    Timing::Window,
    false,
);
const LOCK: KindSpec = kind(
    "the migration holds its table lock for `lock` instead of the planned time",
    &[
        MIGRATION,
        param(
            "lock",
            ParamType::PositiveDuration,
            Need::Required,
            "the lock it really takes, e.g. \"90s\"",
        ),
    ],
    Targets::Everywhere,
    Timing::WithMigration,
    true,
);
const SCHEMA: KindSpec = kind(
    "once the migration has run, the target cannot use the schema",
    &[MIGRATION],
    Targets::VersionOrStable,
    Timing::WithMigration,
    true,
);

impl FaultName {
    /// The kind's catalog entry.
    pub fn spec(self) -> &'static KindSpec {
        match self {
            FaultName::ErrorRate => &ERROR,
            FaultName::Latency => &LATENCY,
            FaultName::CrashLoop => &CRASH,
            FaultName::MemoryLeak => &LEAK,
            FaultName::DataCorruption => &CORRUPTION,
            FaultName::DependencyOutage => &OUTAGE,
            FaultName::TrafficSpike => &SPIKE,
            FaultName::InstanceKill => &KILL,
            FaultName::FlagStall => &STALL,
            FaultName::MigrationLock => &LOCK,
            FaultName::SchemaIncompatibility => &SCHEMA,
        }
    }

    /// Builds the kind from its checked parameters (defaults applied by the caller).
    /// Fails only on rules that span several parameters.
    pub fn build(self, p: &Params) -> Result<FaultKind, ParamError> {
        Ok(match self {
            FaultName::ErrorRate => FaultKind::ErrorRate {
                rate: p.probability("rate")?,
                instances: p.optional_count("instances"),
            },
            FaultName::Latency => FaultKind::Latency {
                delay: p.duration("delay")?,
            },
            FaultName::CrashLoop => FaultKind::CrashLoop,
            FaultName::MemoryLeak => {
                let (rate, delay) = (p.probability("rate")?, p.duration("delay")?);
                if rate == Probability::ZERO && delay == SimTime::ZERO {
                    return Err(ParamError {
                        param: "rate",
                        message: "a memory_leak fault needs `rate` (errors at full degradation), `delay` (added latency), or both".into(),
                    });
                }
                FaultKind::MemoryLeak {
                    rate,
                    delay,
                    ramp: p.duration("ramp")?,
                }
            }
            FaultName::DataCorruption => FaultKind::DataCorruption {
                rate: p.probability("rate")?,
            },
            FaultName::DependencyOutage => FaultKind::DependencyOutage {
                rate: p.probability("rate")?,
                probe: p.flag("probe")?,
            },
            FaultName::TrafficSpike => FaultKind::TrafficSpike {
                multiplier: p.number("multiplier")?,
            },
            FaultName::InstanceKill => FaultKind::InstanceKill {
                instances: p.count("instances")?,
            },
            FaultName::FlagStall => FaultKind::FlagStall {
                share: p.probability("rate")?,
                stall_timeout: p.optional_duration("stall_timeout"),
            },
            FaultName::MigrationLock => FaultKind::MigrationLock {
                migration: p.migration("migration")?,
                lock: p.duration("lock")?,
            },
            FaultName::SchemaIncompatibility => FaultKind::SchemaIncompatibility {
                migration: p.migration("migration")?,
            },
        })
    }
}

/// A checked parameter value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamValue {
    /// A probability or a share.
    Probability(Probability),
    /// A multiplier.
    Number(f64),
    /// A duration.
    Duration(SimTime),
    /// A count.
    Count(u32),
    /// A migration, by its index in the plan.
    Migration(usize),
    /// A flag.
    Flag(bool),
}

/// The checked parameters of one fault, defaults applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(Vec<(&'static str, ParamValue)>);

/// A parameter rule broken: which parameter, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter to blame.
    pub param: &'static str,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl Params {
    /// Sets parameter `name`.
    pub fn set(&mut self, name: &'static str, value: ParamValue) {
        self.0.push((name, value));
    }

    fn get(&self, name: &'static str) -> Option<ParamValue> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    fn missing(name: &'static str) -> ParamError {
        ParamError {
            param: name,
            message: format!("missing: `{name}` has no value"),
        }
    }

    fn probability(&self, name: &'static str) -> Result<Probability, ParamError> {
        match self.get(name) {
            Some(ParamValue::Probability(p)) => Ok(p),
            _ => Err(Self::missing(name)),
        }
    }

    fn number(&self, name: &'static str) -> Result<f64, ParamError> {
        match self.get(name) {
            Some(ParamValue::Number(x)) => Ok(x),
            _ => Err(Self::missing(name)),
        }
    }

    fn duration(&self, name: &'static str) -> Result<SimTime, ParamError> {
        self.optional_duration(name)
            .ok_or_else(|| Self::missing(name))
    }

    fn optional_duration(&self, name: &'static str) -> Option<SimTime> {
        match self.get(name) {
            Some(ParamValue::Duration(d)) => Some(d),
            _ => None,
        }
    }

    fn count(&self, name: &'static str) -> Result<u32, ParamError> {
        match self.get(name) {
            Some(ParamValue::Count(n)) => Ok(n),
            _ => Err(Self::missing(name)),
        }
    }

    fn optional_count(&self, name: &'static str) -> Option<u32> {
        match self.get(name) {
            Some(ParamValue::Count(n)) => Some(n),
            _ => None,
        }
    }

    fn flag(&self, name: &'static str) -> Result<bool, ParamError> {
        match self.get(name) {
            Some(ParamValue::Flag(b)) => Ok(b),
            _ => Err(Self::missing(name)),
        }
    }

    fn migration(&self, name: &'static str) -> Result<usize, ParamError> {
        match self.get(name) {
            Some(ParamValue::Migration(i)) => Ok(i),
            _ => Err(Self::missing(name)),
        }
    }
}

impl FaultKind {
    /// The kind's name.
    pub fn name_of(&self) -> FaultName {
        match self {
            FaultKind::ErrorRate { .. } => FaultName::ErrorRate,
            FaultKind::Latency { .. } => FaultName::Latency,
            FaultKind::CrashLoop => FaultName::CrashLoop,
            FaultKind::MemoryLeak { .. } => FaultName::MemoryLeak,
            FaultKind::DataCorruption { .. } => FaultName::DataCorruption,
            FaultKind::DependencyOutage { .. } => FaultName::DependencyOutage,
            FaultKind::TrafficSpike { .. } => FaultName::TrafficSpike,
            FaultKind::InstanceKill { .. } => FaultName::InstanceKill,
            FaultKind::FlagStall { .. } => FaultName::FlagStall,
            FaultKind::MigrationLock { .. } => FaultName::MigrationLock,
            FaultKind::SchemaIncompatibility { .. } => FaultName::SchemaIncompatibility,
        }
    }

    /// The name used in scenario files.
    pub fn name(&self) -> &'static str {
        self.name_of().name()
    }

    /// What the fault does, in words, for reports: `error_rate 5.0%`, `latency +300ms`.
    /// `migration` names migration `i` of the plan.
    pub fn describe(&self, migration: &dyn Fn(usize) -> String) -> String {
        match self {
            FaultKind::ErrorRate { rate, instances } => format!(
                "error_rate {}{}",
                percent(*rate),
                instances.map_or(String::new(), |k| format!(" on {k} instances"))
            ),
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
            FaultKind::DependencyOutage { rate, probe } => format!(
                "dependency_outage failing {}{}",
                percent(*rate),
                if *probe { ", probes too" } else { "" }
            ),
            FaultKind::TrafficSpike { multiplier } => {
                format!("traffic_spike × {}", number(*multiplier))
            }
            FaultKind::InstanceKill { instances } => {
                format!("instance_kill of {instances} instances")
            }
            FaultKind::MigrationLock { migration: i, lock } => format!(
                "migration_lock: {} holds its lock {}",
                migration(*i),
                time(*lock)
            ),
            FaultKind::SchemaIncompatibility { migration: i } => {
                format!("schema_incompatibility after {}", migration(*i))
            }
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
        }
    }
}

/// Which versions a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// One version.
    Version(VersionId),
    /// Every version.
    All,
}

impl Target {
    /// Whether requests served by `v` can be hit.
    pub fn includes(self, v: VersionId) -> bool {
        match self {
            Target::Version(t) => t == v,
            Target::All => true,
        }
    }
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// What it does.
    pub kind: FaultKind,
    /// Which versions it hits.
    pub target: Target,
    /// When it starts.
    pub start: SimTime,
    /// When it ends (`None`: never, within the horizon).
    pub end: Option<SimTime>,
    /// Share of users it can hit (chosen by a hash of the user id, so a user is in or out).
    pub users: Probability,
}

/// What an active fault does to each request of the versions it targets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Effect {
    /// Fails with this probability.
    Error(Probability),
    /// Adds µs of latency.
    Delay(f64),
    /// A linear ramp of error probability and latency.
    Ramp {
        /// µs at which the ramp starts.
        start_us: f64,
        /// µs to full degradation (at least 1).
        ramp_us: f64,
        /// Error probability at full degradation.
        rate: Probability,
        /// µs of latency at full degradation.
        delay_us: f64,
    },
    /// Corrupts a successful write with this probability.
    Corrupt(Probability),
}

impl Fault {
    /// Whether the fault is in force at `t`.
    pub fn active_at(&self, t: SimTime) -> bool {
        t >= self.start && self.end.is_none_or(|e| t < e)
    }

    /// When the fault stops changing the world: its `end`, or for an `instance_kill` (which
    /// has none) the moment the replacements serve, `start + startup`.
    pub fn effective_end(&self, startup: SimTime) -> Option<SimTime> {
        match self.kind {
            FaultKind::InstanceKill { .. } => Some(self.start.saturating_add(startup)),
            _ => self.end,
        }
    }

    /// When the fault stops changing by itself, before any `end`: a `memory_leak` at full
    /// degradation (`start + ramp`), an `instance_kill` when the replacements serve; `None`
    /// for the kinds whose effect is constant while they are in force.
    pub fn settled_at(&self, startup: SimTime) -> Option<SimTime> {
        match self.kind {
            FaultKind::MemoryLeak { ramp, .. } => Some(self.start.saturating_add(ramp)),
            FaultKind::InstanceKill { .. } => self.effective_end(startup),
            _ => None,
        }
    }

    /// Whether the fault changes the world at `t`: `[start, effective end)`.
    pub fn in_force_at(&self, t: SimTime, startup: SimTime) -> bool {
        t >= self.start && self.effective_end(startup).is_none_or(|e| t < e)
    }

    /// Whether the fault belongs to the candidate version, so that rolling back removes it.
    /// A fault on every version (a dependency, a spike) is not the release's fault.
    pub fn is_candidates(&self) -> bool {
        // A schema fault acts through the database once its migration has run; whether the
        // candidate is broken then is the database's question, not the fault's window.
        self.target == Target::Version(VersionId::Candidate)
            && self.kind.name_of().spec().timing != Timing::WithMigration
    }

    /// The moments the fault changes the world.
    pub fn boundaries(&self, startup: SimTime) -> Vec<SimTime> {
        let mut b = vec![self.start];
        b.extend(self.effective_end(startup));
        b
    }

    /// The instances of its target the fault hits, when only some (`instances = k`).
    pub fn instances(&self) -> Option<u32> {
        match self.kind {
            FaultKind::ErrorRate { instances, .. } => instances,
            _ => None,
        }
    }

    /// What the fault does to each request it can hit while active; `None` for the kinds that
    /// act through instances, capacity, flags or the database instead.
    pub(super) fn effect(&self) -> Option<Effect> {
        match self.kind {
            FaultKind::ErrorRate { rate, .. } | FaultKind::DependencyOutage { rate, .. } => {
                Some(Effect::Error(rate))
            }
            FaultKind::CrashLoop => Some(Effect::Error(Probability::ONE)),
            FaultKind::Latency { delay } => Some(Effect::Delay(delay.micros() as f64)),
            FaultKind::DataCorruption { rate } => Some(Effect::Corrupt(rate)),
            FaultKind::MemoryLeak { rate, delay, ramp } => Some(Effect::Ramp {
                start_us: self.start.micros() as f64,
                ramp_us: (ramp.micros() as f64).max(1.0),
                rate,
                delay_us: delay.micros() as f64,
            }),
            FaultKind::TrafficSpike { .. }
            | FaultKind::InstanceKill { .. }
            | FaultKind::FlagStall { .. }
            | FaultKind::MigrationLock { .. }
            | FaultKind::SchemaIncompatibility { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_are_unique() {
        for &k in FaultName::ALL {
            assert_eq!(FaultName::parse(k.name()), Some(k));
        }
        let mut names = FaultName::NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FaultName::ALL.len());
    }

    #[test]
    fn every_kind_builds_from_its_own_parameters() {
        let value = |ty| match ty {
            ParamType::Probability => ParamValue::Probability(Probability::new(0.5).unwrap()),
            ParamType::Multiplier => ParamValue::Number(2.0),
            ParamType::Duration | ParamType::PositiveDuration => {
                ParamValue::Duration(SimTime::from_secs(1))
            }
            ParamType::Count => ParamValue::Count(1),
            ParamType::Migration => ParamValue::Migration(0),
            ParamType::Flag => ParamValue::Flag(true),
        };
        for &k in FaultName::ALL {
            let mut p = Params::default();
            for s in k.spec().params {
                p.set(s.name, value(s.ty));
            }
            let built = k.build(&p).expect("builds");
            assert_eq!(built.name_of(), k);
        }
    }

    #[test]
    fn every_default_is_written_in_its_parameters_syntax() {
        for &k in FaultName::ALL {
            for p in k.spec().params {
                let Need::Default(text) = p.need else {
                    continue;
                };
                let ok = match p.ty {
                    ParamType::Probability => text
                        .parse::<f64>()
                        .is_ok_and(|x| Probability::new(x).is_ok()),
                    ParamType::Multiplier => text.parse::<f64>().is_ok_and(|x| x > 1.0),
                    ParamType::Count => text.parse::<u32>().is_ok_and(|n| n >= 1),
                    ParamType::Duration => SimTime::parse(text).is_ok(),
                    ParamType::PositiveDuration => {
                        SimTime::parse(text).is_ok_and(|d| d > SimTime::ZERO)
                    }
                    ParamType::Migration => false,
                    ParamType::Flag => text == "true" || text == "false",
                };
                assert!(ok, "{}.{} default {text:?}", k.name(), p.name);
            }
        }
    }

    #[test]
    fn instance_kill_ends_when_replacements_serve() {
        let f = Fault {
            kind: FaultKind::InstanceKill { instances: 2 },
            target: Target::Version(VersionId::Stable),
            start: SimTime::from_secs(60),
            end: None,
            users: Probability::ONE,
        };
        let startup = SimTime::from_secs(30);
        assert_eq!(f.effective_end(startup), Some(SimTime::from_secs(90)));
        assert_eq!(
            f.boundaries(startup),
            [SimTime::from_secs(60), SimTime::from_secs(90)]
        );
        assert!(f.in_force_at(SimTime::from_secs(89), startup));
        assert!(!f.in_force_at(SimTime::from_secs(90), startup));
    }
}
