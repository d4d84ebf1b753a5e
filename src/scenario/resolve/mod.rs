//! Raw → domain: resolve names, apply defaults, check every rule before the first event.
//!
//! One file per section of the scenario file; this one holds the [`Resolver`] (the file
//! name and the field-path errors) and the order in which sections resolve.

mod alerts;
mod argo;
mod database;
pub mod defaults;
mod fault;
mod health;
mod judges;
mod objectives;
mod strategy;
mod traffic;

pub(super) use objectives::resolve_objectives;

use super::error::{ScenarioError, expected_one_of};
use super::raw::{
    RawAnalysis, RawBound, RawFault, RawFleet, RawManual, RawResponse, RawScenario, RawStrategy,
};
use super::{Provenance, Scenario};
use crate::detect::alerts::AlertsSpec;
use crate::detect::{AnalysisSpec, ManualSpec, ManualTrigger, Metric};
use crate::engine::{LogNormalDelay, Probability, SimTime};
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
    /// Longest scenario name, in characters: it names a report folder, and file systems
    /// refuse names over 255 bytes.
    pub const MAX_NAME_CHARS: usize = 100;
    /// Most faults (a 64-bit mask tracks which ones hurt).
    pub const MAX_FAULTS: usize = 64;
    /// Most strategies in one scenario: each one is a row of every table and a line of
    /// every plot, and a comparison of more is not read by anyone.
    pub const MAX_STRATEGIES: usize = 100;
    /// Shortest period of a repeating event (analysis interval, measurement interval, SDK
    /// polling, scrape and evaluation), seconds.
    pub const MIN_PERIOD_S: u64 = 1;
    /// Largest `limits.max_events`: 10⁸ control events take about ten seconds per run.
    pub const MAX_EVENTS: u64 = 100_000_000;
}

type Result<T> = std::result::Result<T, ScenarioError>;

/// Resolves one file: names it in errors and records where each value came from.
pub(in crate::scenario) struct Resolver<'f> {
    file: &'f Path,
    provenance: RefCell<Provenance>,
    /// Errors of the sections resolved so far, in the order found, each once.
    errors: RefCell<Vec<ScenarioError>>,
}

impl<'f> Resolver<'f> {
    /// A resolver for `file`, whose written paths are in `provenance`.
    pub(in crate::scenario) fn new(file: &'f Path, provenance: Provenance) -> Resolver<'f> {
        Resolver {
            file,
            provenance: RefCell::new(provenance),
            errors: RefCell::new(Vec::new()),
        }
    }

    /// The value of a section, or `None` with its error recorded (once).
    pub(in crate::scenario) fn keep<T>(&self, r: Result<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                let mut errors = self.errors.borrow_mut();
                if !errors.contains(&e) {
                    errors.push(e);
                }
                None
            }
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

    /// The period of something that repeats through a run (an analysis interval, a
    /// measurement interval, SDK polling, scrapes and rule evaluations): at least
    /// [`limits::MIN_PERIOD_S`], so that no run schedules more than one such event a second.
    fn periodic_duration(&self, field: &str, text: &str) -> Result<SimTime> {
        let d = self.positive_duration(field, text)?;
        if d < SimTime::from_secs(limits::MIN_PERIOD_S) {
            return self.err(
                field,
                format!(
                    "\"{text}\" is below the {} s floor of periodic events (Flagger itself raises analysis intervals below 10 s to 10 s); expected at least \"{}s\"",
                    limits::MIN_PERIOD_S,
                    limits::MIN_PERIOD_S
                ),
            );
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

    /// A metric's `max` or `min` in the metric's unit: a fraction in [0, 1] for a rate (a
    /// bound above 1 was meant as a percentage and would turn the check off), milliseconds
    /// or a duration (`"500ms"`) for latency.
    fn bound(&self, field: &str, metric: Metric, bound: Option<&RawBound>) -> Result<Option<f64>> {
        let x = match (bound, metric) {
            (None, _) => return Ok(None),
            (Some(RawBound::Duration(text)), Metric::LatencyP99) => {
                return Ok(Some(self.duration(field, text)?.as_secs_f64() * 1000.0));
            }
            (Some(RawBound::Duration(text)), _) => {
                return self.err(
                    field,
                    format!(
                        "\"{text}\" is not allowed; {} is a fraction: expected a number in [0, 1], e.g. 0.01 for 1 %",
                        metric.name()
                    ),
                );
            }
            (Some(RawBound::Number(x)), _) => *x,
        };
        if !x.is_finite() {
            return self.err(
                field,
                format!("{x} is not allowed; expected a finite number"),
            );
        }
        match metric {
            Metric::LatencyP99 if x < 0.0 => self.err(
                field,
                format!(
                    "{} is not allowed; expected milliseconds ≥ 0 or a duration such as \"500ms\"",
                    short(x)
                ),
            ),
            Metric::ErrorRate | Metric::BadWriteRate if !(0.0..=1.0).contains(&x) => self.err(
                field,
                format!(
                    "{} is not allowed; {} is a fraction: expected a number in [0, 1]{}",
                    short(x),
                    metric.name(),
                    if x > 1.0 && x <= 100.0 {
                        format!(" (for {} %, write {})", short(x), short(x / 100.0))
                    } else {
                        String::new()
                    }
                ),
            ),
            _ => Ok(Some(x)),
        }
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

/// Resolves a parsed file into a [`Scenario`], or every error found.
///
/// Sections resolve independently: a section in error is reported and replaced by a stand-in
/// that blames nothing else (a broken horizon stands in as the 30-day limit, so no fault
/// starts "after" it), and the checks that span sections run only when their sections
/// resolved. Each error is reported once.
pub fn resolve(
    raw: RawScenario,
    file: &Path,
    provenance: Provenance,
) -> std::result::Result<Scenario, Vec<ScenarioError>> {
    let r = Resolver::new(file, provenance);
    let name = r.keep(r.name(&raw.name));
    let horizon = r.keep(r.horizon(&raw.horizon));
    let replications = r.keep(r.replications(raw.replications));
    let slo_latency = r.keep(match &raw.slo_latency {
        Some(s) => r.positive_duration("slo_latency", s),
        None => r.duration("slo_latency", defaults::SLO_LATENCY),
    });
    let limit = horizon.unwrap_or(SimTime::from_secs(limits::MAX_HORIZON_S));
    let traffic = r.keep(r.traffic(&raw.traffic, limit));
    let versions = r.keep(r.versions(&raw));
    let names = version_names(&raw);
    let fleet = r.keep(r.fleet(raw.fleet.as_ref()));
    let health = r.keep(
        r.health(
            raw.fleet.as_ref().and_then(|f| f.probes.as_ref()),
            raw.fleet
                .as_ref()
                .and_then(|f| f.outlier_detection.as_ref()),
        ),
    );
    let database = r.keep(r.database(&raw, &names, limit));
    let migrations: Vec<&str> = raw.database.as_ref().map_or(vec![], |d| {
        d.migrations.iter().map(|m| m.name.as_str()).collect()
    });
    let stand_in = fleet
        .clone()
        .unwrap_or_else(|| stand_in_fleet(raw.fleet.as_ref()));
    let faults = r.faults(
        &raw.faults,
        &fault::FaultContext {
            names: &names,
            fleet: &stand_in,
            horizon: limit,
            migrations: &migrations,
        },
    );
    if let (Some(t), Some(f), Some(h)) = (&traffic, &faults, horizon) {
        r.keep(r.request_limit(&raw, t, f, h));
    }
    let slo = r.keep(r.slo(raw.slo.as_ref()));
    // A section in error stands in as the Workbook's 99.9 %, so its alerts blame nothing else.
    let slo_for_alerts = match (&slo, &raw.slo) {
        (Some(s), _) => s.clone(),
        (None, Some(_)) => Some(crate::detect::burn_rate::SloSpec {
            availability: 0.999,
            latency: None,
            window: SimTime::from_secs(30 * 86_400),
        }),
        (None, None) => None,
    };
    let sections = Sections {
        manual: r.keep(
            raw.manual
                .as_ref()
                .map(|m| r.log_normal("manual", m, defaults::MANUAL_SIGMA))
                .transpose(),
        ),
        alerts: r.keep(r.alerts(&raw, raw.manual.is_some(), slo_for_alerts.as_ref())),
        response: r.keep(r.response(raw.response.as_ref())),
        objectives: r.keep(
            raw.objectives
                .as_ref()
                .map(|o| resolve_objectives(&r, "objectives", o))
                .transpose(),
        ),
    };
    let (strategies, max_events) = r.strategies_and_budget(&raw, horizon, &stand_in);
    let scenario = (|| {
        name?;
        Some(Scenario {
            name: raw.name.clone(),
            description: raw.description.clone().unwrap_or_default(),
            horizon: horizon?,
            seed: raw.seed.unwrap_or(defaults::SEED),
            replications: replications?,
            service: ServiceSpec {
                traffic: traffic?,
                versions: versions?,
                fleet: fleet?,
                faults: faults?,
                slo_latency: slo_latency?,
                database: database?,
                health: health?,
            },
            manual: sections.manual?,
            manual_trigger: sections.alerts.as_ref()?.1,
            alerts: sections.alerts?.0,
            slo: slo?,
            response: sections.response?,
            strategies: strategies?,
            max_events: max_events?,
            objectives: sections.objectives?,
            provenance: Provenance::default(),
            manifest_warnings: Vec::new(),
            mode: crate::model::windows::Mode::Requests,
        })
    })();
    let errors = r.errors.take();
    match scenario {
        Some(mut s) if errors.is_empty() => {
            s.provenance = r.provenance.into_inner();
            Ok(s)
        }
        _ if errors.is_empty() => Err(vec![ScenarioError::new(
            file,
            "",
            "could not be resolved (no error was recorded: please report this)",
        )]),
        _ => Err(errors),
    }
}

/// The sections that depend on no other.
struct Sections {
    manual: Option<Option<ManualSpec>>,
    /// `[[alerts]]` and `[monitoring]`, with how `[manual]` is triggered.
    alerts: Option<(Option<AlertsSpec>, ManualTrigger)>,
    response: Option<ResponseSpec>,
    objectives: Option<Option<Vec<crate::objectives::Objective>>>,
}

/// An `[analysis]` table that writes nothing: the defaults.
fn no_analysis() -> RawAnalysis {
    RawAnalysis {
        interval: None,
        threshold: None,
        min_requests: None,
        on_no_data: None,
        metrics: Vec::new(),
        judges: Vec::new(),
    }
}

/// The stable and candidate versions' names, as written or by default.
fn version_names(raw: &RawScenario) -> [String; 2] {
    [
        raw.stable
            .as_deref()
            .unwrap_or(defaults::STABLE)
            .to_string(),
        raw.candidate
            .as_deref()
            .unwrap_or(defaults::CANDIDATE)
            .to_string(),
    ]
}

/// The fleet the faults and strategies are checked against when `[fleet]` itself is in error:
/// as large as allowed and with a capacity when one is written, so that nothing else is blamed.
fn stand_in_fleet(raw: Option<&RawFleet>) -> FleetSpec {
    FleetSpec {
        instances: 100_000,
        capacity_rps: raw.and_then(|f| f.capacity_rps).map(|_| 1.0),
        startup: SimTime::ZERO,
    }
}

impl Resolver<'_> {
    /// `horizon`: positive, at most [`limits::MAX_HORIZON_S`].
    fn horizon(&self, text: &str) -> Result<SimTime> {
        let horizon = self.positive_duration("horizon", text)?;
        if horizon > SimTime::from_secs(limits::MAX_HORIZON_S) {
            return self.err(
                "horizon",
                format!("\"{text}\" is longer than the limit of 30 days"),
            );
        }
        Ok(horizon)
    }

    /// `replications`, its default when omitted.
    fn replications(&self, written: Option<u32>) -> Result<u32> {
        let replications = written.unwrap_or(defaults::REPLICATIONS);
        if replications == 0 || replications > limits::MAX_REPLICATIONS {
            return self.err(
                "replications",
                format!(
                    "{replications} is not allowed; expected 1 to {}",
                    limits::MAX_REPLICATIONS
                ),
            );
        }
        Ok(replications)
    }

    /// The scenario's name, which names its report folder.
    fn name(&self, name: &str) -> Result<()> {
        let chars = name.chars().count();
        if chars > limits::MAX_NAME_CHARS {
            return self.err(
                "name",
                format!(
                    "{chars} characters is too long; at most {} (it names the report folder)",
                    limits::MAX_NAME_CHARS
                ),
            );
        }
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

    /// `[[faults]]`, at most [`limits::MAX_FAULTS`]; `None` when any is in error (each one's
    /// error is recorded).
    fn faults(&self, raw: &[RawFault], cx: &fault::FaultContext) -> Option<Vec<Fault>> {
        if raw.len() > limits::MAX_FAULTS {
            return self.keep(self.err(
                "faults",
                format!(
                    "{} faults; at most {} are allowed",
                    raw.len(),
                    limits::MAX_FAULTS
                ),
            ));
        }
        let faults: Vec<Option<Fault>> = raw
            .iter()
            .enumerate()
            .map(|(i, f)| self.keep(self.fault(&format!("faults[{i}]"), f, cx)))
            .collect();
        faults.into_iter().collect()
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

    /// A log-normal delay at `path` (`[manual]`, a hotfix, a human promotion): `median`, and
    /// `sigma` (`default_sigma` when omitted).
    fn log_normal(&self, path: &str, m: &RawManual, default_sigma: f64) -> Result<LogNormalDelay> {
        if m.trigger.is_some() && path != "manual" {
            return self.err(
                format!("{path}.trigger"),
                "unknown field \"trigger\"; expected one of median, sigma (`trigger` belongs to [manual])",
            );
        }
        let sigma = m.sigma.unwrap_or(default_sigma);
        if !(sigma.is_finite() && sigma >= 0.0) {
            return self.err(
                format!("{path}.sigma"),
                format!("{sigma} is not allowed; expected a finite number ≥ 0"),
            );
        }
        Ok(LogNormalDelay {
            median: self.positive_duration(&format!("{path}.median"), &m.median)?,
            sigma,
        })
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

    /// `[analysis]`, `[[strategies]]` and the event budget they share; `None` for what is in
    /// error (recorded). A scenario `[analysis]` in error stands in as the defaults for the
    /// strategies that use it, and the budget is checked only when everything else resolved.
    fn strategies_and_budget(
        &self,
        raw: &RawScenario,
        horizon: Option<SimTime>,
        fleet: &FleetSpec,
    ) -> (Option<Vec<StrategySpec>>, Option<u64>) {
        let scenario_analysis = match &raw.analysis {
            Some(a) => self
                .keep(self.analysis("analysis", a))
                .or_else(|| self.keep(self.analysis("analysis", &no_analysis()))),
            None => None,
        };
        let templates = self.templates(&raw.analysis_templates);
        let strategies = self.strategies(
            &raw.strategies,
            (scenario_analysis.as_ref(), raw.analysis.as_ref()),
            fleet,
            &templates,
        );
        let checked: &[StrategySpec] = match (&strategies, horizon) {
            (Some(s), Some(_)) => s,
            _ => &[],
        };
        let budget = self.keep(self.event_budget(
            raw,
            checked,
            horizon.unwrap_or(SimTime::from_secs(limits::MAX_HORIZON_S)),
        ));
        (strategies, budget)
    }

    /// `[[strategies]]`: at least one, names unique; `None` when any is in error (recorded).
    fn strategies(
        &self,
        raw: &[RawStrategy],
        scenario_analysis: (Option<&AnalysisSpec>, Option<&RawAnalysis>),
        fleet: &FleetSpec,
        templates: &argo::Templates,
    ) -> Option<Vec<StrategySpec>> {
        if raw.is_empty() {
            return self.keep(self.err(
                "strategies",
                "no strategy; add at least one [[strategies]] table (kind = \"canary\")",
            ));
        }
        if raw.len() > limits::MAX_STRATEGIES {
            return self.keep(self.err(
                "strategies",
                format!(
                    "{} strategies; at most {} fit in one scenario (each is a row of every table and a line of every plot): split them over several scenario files",
                    raw.len(),
                    limits::MAX_STRATEGIES
                ),
            ));
        }
        let mut strategies = Vec::new();
        let mut names = std::collections::HashSet::new();
        for (i, s) in raw.iter().enumerate() {
            let path = format!("strategies[{i}]");
            let spec = self.keep(self.strategy(&path, s, scenario_analysis, fleet, templates));
            if !names.insert(s.name.as_str()) {
                self.keep::<()>(self.err(
                    format!("{path}.name"),
                    format!(
                        "\"{}\" is used by another strategy; names must be unique",
                        s.name
                    ),
                ));
                strategies.push(None);
            } else {
                strategies.push(spec);
            }
        }
        strategies.into_iter().collect()
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
        if max_events == 0 || max_events > limits::MAX_EVENTS {
            return self.err(
                "limits.max_events",
                format!(
                    "{max_events} is not allowed; expected a positive count up to {:.0e} (about ten seconds of control events per run)",
                    limits::MAX_EVENTS as f64
                ),
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

/// "a" or "an" before a fault or strategy kind.
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}
