//! Raw → domain: resolve names, apply defaults, check every rule before the first event.
//!
//! One file per section of the scenario file; this one holds the [`Resolver`] (the file
//! name and the field-path errors) and the order in which sections resolve.

mod alerts;
mod database;
pub mod defaults;
mod fault;
mod objectives;
mod strategy;
mod traffic;

pub(super) use objectives::resolve_objectives;

use super::error::{ScenarioError, expected_one_of};
use super::raw::{
    RawAnalysis, RawFault, RawFleet, RawManual, RawResponse, RawScenario, RawStrategy,
};
use super::{Provenance, Scenario};
use crate::detect::{AnalysisSpec, ManualSpec};
use crate::engine::{Probability, SimTime};
use crate::model::{Fault, FaultKind, FleetSpec, ServiceSpec, TrafficSpec};
use crate::names::Named;
use crate::strategy::{ResponseSpec, StrategySpec};
use std::cell::RefCell;
use std::path::Path;

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

type Result<T> = std::result::Result<T, ScenarioError>;

/// Resolves one file: names it in errors and records where each value came from.
pub(in crate::scenario) struct Resolver<'f> {
    file: &'f Path,
    provenance: RefCell<Provenance>,
}

impl<'f> Resolver<'f> {
    /// A resolver for `file`, whose written paths are in `provenance`.
    pub(in crate::scenario) fn new(file: &'f Path, provenance: Provenance) -> Resolver<'f> {
        Resolver {
            file,
            provenance: RefCell::new(provenance),
        }
    }
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

    fn probability(&self, field: &str, x: f64) -> Result<Probability> {
        Probability::new(x).or_else(|e| self.err(field, e.to_string()))
    }

    /// The variant of a closed set of names written at `field`; `noun` names the set in
    /// errors: `unknown strategy "canery"; expected one of … (did you mean "canary"?)`.
    fn named<T: Named>(&self, field: &str, text: &str, noun: &str) -> Result<T> {
        T::parse(text).ok_or(()).or_else(|()| {
            self.err(
                field,
                format!(
                    "unknown {noun} \"{text}\"; {}",
                    expected_one_of(text, T::NAMES)
                ),
            )
        })
    }

    /// [`Resolver::named`] for an optional field, `default` when omitted.
    fn named_or<T: Named>(&self, field: &str, text: Option<&str>, default: T) -> Result<T> {
        text.map_or(Ok(default), |t| self.named(field, t, "value"))
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
pub fn resolve(raw: RawScenario, file: &Path, provenance: Provenance) -> Result<Scenario> {
    let r = Resolver::new(file, provenance);
    r.name(&raw.name)?;
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
    let traffic = r.traffic(&raw.traffic, horizon)?;
    let versions = r.versions(&raw)?;
    let names = [versions[0].name.clone(), versions[1].name.clone()];
    let fleet = r.fleet(raw.fleet.as_ref())?;
    let database = r.database(&raw, &names, horizon)?;
    let migrations: Vec<&str> = database.as_ref().map_or(vec![], |d| {
        d.migrations.iter().map(|m| m.name.as_str()).collect()
    });
    let faults = r.faults(
        &raw.faults,
        &fault::FaultContext {
            names: &names,
            fleet: &fleet,
            horizon,
            migrations: &migrations,
        },
    )?;
    r.request_limit(&raw, &traffic, &faults, horizon)?;
    let scenario_analysis = raw
        .analysis
        .as_ref()
        .map(|a| r.analysis("analysis", a))
        .transpose()?;
    let manual = r.manual(raw.manual.as_ref())?;
    let (alerts, manual_trigger) = r.alerts(&raw, manual.is_some())?;
    let response = r.response(raw.response.as_ref())?;
    let strategies = r.strategies(
        &raw.strategies,
        (scenario_analysis.as_ref(), raw.analysis.as_ref()),
        &fleet,
    )?;
    let max_events = r.event_budget(&raw, &strategies, horizon)?;
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
        manual_trigger,
        alerts,
        response,
        strategies,
        max_events,
        objectives,
        provenance: r.provenance.into_inner(),
    })
}

impl Resolver<'_> {
    /// The scenario's name, which names its report folder.
    fn name(&self, name: &str) -> Result<()> {
        let usable = !name.is_empty()
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if usable {
            return Ok(());
        }
        self.err(
            "name",
            format!(
                "\"{name}\" is not a usable name; expected letters, digits, '-', '_' or '.' (it names the report folder)"
            ),
        )
    }

    /// `[fleet]`, or its defaults.
    fn fleet(&self, f: Option<&RawFleet>) -> Result<FleetSpec> {
        let Some(f) = f else {
            return Ok(FleetSpec {
                instances: defaults::INSTANCES,
                capacity_rps: None,
                startup: self.duration("fleet.startup", defaults::STARTUP)?,
            });
        };
        Ok(FleetSpec {
            instances: match f.instances.unwrap_or(defaults::INSTANCES) {
                n @ 1..=100_000 => n,
                n => {
                    return self.err(
                        "fleet.instances",
                        format!("{n} is not allowed; expected 1 to 100000"),
                    );
                }
            },
            capacity_rps: f
                .capacity_rps
                .map(|c| self.positive("fleet.capacity_rps", c))
                .transpose()?,
            startup: self.opt_duration("fleet.startup", f.startup.as_ref(), defaults::STARTUP)?,
        })
    }

    /// `[[faults]]`, at most [`limits::MAX_FAULTS`].
    fn faults(&self, raw: &[RawFault], cx: &fault::FaultContext) -> Result<Vec<Fault>> {
        if raw.len() > limits::MAX_FAULTS {
            return self.err(
                "faults",
                format!(
                    "{} faults; at most {} are allowed",
                    raw.len(),
                    limits::MAX_FAULTS
                ),
            );
        }
        raw.iter()
            .enumerate()
            .map(|(i, f)| self.fault(&format!("faults[{i}]"), f, cx))
            .collect()
    }

    /// The expected requests of one replication must stay under [`limits::MAX_REQUESTS`].
    /// Spikes multiply the traffic; the largest one is blamed when they dominate.
    fn request_limit(
        &self,
        raw: &RawScenario,
        traffic: &TrafficSpec,
        faults: &[Fault],
        horizon: SimTime,
    ) -> Result<()> {
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
        if expected <= limits::MAX_REQUESTS {
            return Ok(());
        }
        let field = match spikes.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
            Some((i, m)) if *m >= 1.0 => format!("faults[{i}].multiplier"),
            _ => "traffic.rate".to_string(),
        };
        self.err(
            field,
            format!(
                "{} req/s (× diurnal, bursts and spikes) over {} is about {expected:.3e} requests per replication; the limit is {:.0e}: lower the rate, the multipliers or the horizon",
                short(raw.traffic.rate),
                raw.horizon,
                limits::MAX_REQUESTS
            ),
        )
    }

    /// `[manual]`: human detection, if any.
    fn manual(&self, m: Option<&RawManual>) -> Result<Option<ManualSpec>> {
        let Some(m) = m else {
            return Ok(None);
        };
        let sigma = m.sigma.unwrap_or(defaults::MANUAL_SIGMA);
        if !(sigma.is_finite() && sigma >= 0.0) {
            return self.err(
                "manual.sigma",
                format!("{sigma} is not allowed; expected a finite number ≥ 0"),
            );
        }
        Ok(Some(ManualSpec {
            median: self.positive_duration("manual.median", &m.median)?,
            sigma,
        }))
    }

    /// `[response]`, or its defaults.
    fn response(&self, x: Option<&RawResponse>) -> Result<ResponseSpec> {
        Ok(ResponseSpec {
            rollback_delay: self.opt_duration(
                "response.rollback_delay",
                x.and_then(|x| x.rollback_delay.as_ref()),
                "0s",
            )?,
            verify: self.opt_duration(
                "response.verify",
                x.and_then(|x| x.verify.as_ref()),
                "0s",
            )?,
        })
    }

    /// `[[strategies]]`: at least one, names unique.
    fn strategies(
        &self,
        raw: &[RawStrategy],
        scenario_analysis: (Option<&AnalysisSpec>, Option<&RawAnalysis>),
        fleet: &FleetSpec,
    ) -> Result<Vec<StrategySpec>> {
        if raw.is_empty() {
            return self.err(
                "strategies",
                "no strategy; add at least one [[strategies]] table (kind = \"canary\")",
            );
        }
        let mut strategies: Vec<StrategySpec> = Vec::new();
        for (i, s) in raw.iter().enumerate() {
            let path = format!("strategies[{i}]");
            let spec = self.strategy(&path, s, scenario_analysis, fleet)?;
            if strategies.iter().any(|o| o.name == spec.name) {
                return self.err(
                    format!("{path}.name"),
                    format!(
                        "\"{}\" is used by another strategy; names must be unique",
                        spec.name
                    ),
                );
            }
            strategies.push(spec);
        }
        Ok(strategies)
    }

    /// `limits.max_events`: every analysis must fit in half of it.
    fn event_budget(
        &self,
        raw: &RawScenario,
        strategies: &[StrategySpec],
        horizon: SimTime,
    ) -> Result<u64> {
        let max_events = raw
            .limits
            .as_ref()
            .and_then(|l| l.max_events)
            .unwrap_or(defaults::MAX_EVENTS);
        if max_events == 0 {
            return self.err(
                "limits.max_events",
                "0 is not allowed; expected a positive count",
            );
        }
        for (i, s) in strategies.iter().enumerate() {
            let Some(a) = &s.analysis else { continue };
            let checks = horizon.micros() / a.interval.micros();
            if checks > max_events / 2 {
                let field = if raw.strategies[i].analysis.is_some() {
                    format!("strategies[{i}].analysis.interval")
                } else {
                    "analysis.interval".into()
                };
                return self.err(
                    field,
                    format!(
                        "{checks} checks over the horizon exceed half the event budget ({max_events}); use a longer interval or raise limits.max_events"
                    ),
                );
            }
        }
        Ok(max_events)
    }
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
