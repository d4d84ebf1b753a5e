//! A run's monitoring, put in front of the real Prometheus pipeline.
//!
//! [`record`] replays one run with every scrape kept: the series Prometheus would have
//! stored (the pre-run history included) and rehearsal's own markers. [`openmetrics`] writes
//! them for `promtool tsdb create-blocks-from openmetrics` (backfill for dashboards),
//! [`promtool`] writes the scenario's rules and a `promtool test rules` file whose expected
//! alerts are rehearsal's own evaluation, so that Prometheus itself judges it.

pub mod live;
pub mod openmetrics;
pub mod promtool;

use crate::detect::alerts::eval::{self, Value};
use crate::detect::alerts::series::{self as metric, DEFAULT_BUCKETS_S, Series};
use crate::detect::alerts::{AlertRule, AlertState, AlertsSpec, Labels, RuleState, SeriesStore};
use crate::engine::{EngineError, SimTime};
use crate::outcome::{Marker, RunOutcome};
use crate::replay;
use crate::scenario::{Scenario, defaults};

/// Gauge, 0 then 1 from the first failure declaration (the rollback decision) on.
pub const DETECTED: &str = "rehearsal_detected";
/// Gauge, 0 then 1 from the moment the candidate serves no traffic after a rollback.
pub const ROLLED_BACK: &str = "rehearsal_rolled_back";

/// The help line of a metric family (base name), for the expositions.
pub fn help(family: &str) -> String {
    let known = [
        (
            "http_requests",
            "Requests served, by version and status code (200 or 500).",
        ),
        (
            "http_request_duration_seconds",
            "Request latency in seconds, by version.",
        ),
        (
            metric::ROLLOUT_WEIGHT,
            "Percent of traffic the rollout routes to each version.",
        ),
        (
            metric::SPEC_REPLICAS,
            "Instances of each version running, ready or not (kube-state-metrics' name).",
        ),
        (
            metric::AVAILABLE_REPLICAS,
            "Instances of each version serving: ready and in rotation (kube-state-metrics' name).",
        ),
        (
            DETECTED,
            "1 from rehearsal's failure declaration (the rollback decision) on.",
        ),
        (
            ROLLED_BACK,
            "1 once the candidate serves no traffic after a rollback.",
        ),
    ];
    known.iter().find(|(name, _)| *name == family).map_or_else(
        || format!("rehearsal series {family}."),
        |(_, h)| h.to_string(),
    )
}

/// Steps `rules` over `store` at each of `times` (the store's clock), as a Prometheus rule
/// group evaluates them; `each(at, i, state)` sees rule `i`'s alerts after its evaluation at
/// `at`. A rule whose evaluation fails keeps its alerts, as in Prometheus.
pub fn evaluate(
    store: &SeriesStore,
    rules: &[&AlertRule],
    times: impl IntoIterator<Item = SimTime>,
    mut each: impl FnMut(SimTime, usize, &RuleState),
) {
    let mut states = vec![RuleState::default(); rules.len()];
    for at in times {
        for (i, (rule, state)) in rules.iter().zip(&mut states).enumerate() {
            let result = match eval::eval(&rule.expr, store, at) {
                Ok(Value::Vector(v)) => Some(v.into_iter().map(|(l, _)| l).collect::<Vec<_>>()),
                // A scalar result is one alert without labels (`EngineQueryFunc`).
                Ok(Value::Scalar(_)) => Some(vec![Labels(vec![])]),
                Err(_) => None,
            };
            if let Some(result) = result {
                state.step(at, &result, rule.hold, rule.keep_firing_for);
            }
            each(at, i, state);
        }
    }
}

/// One alert after an evaluation: its rule (as the scenario names it), labels and state.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertNow {
    /// The rule's name.
    pub rule: String,
    /// The alert's labels (the expression's result, without `__name__`).
    pub labels: Labels,
    /// Pending or firing.
    pub state: AlertState,
}

/// The alerts after each of the run's evaluations (`evaluation_interval`, 2 ×, … before the
/// horizon), on the run's clock: what the run's own evaluator saw.
pub fn alert_states(rec: &Recording, horizon: SimTime) -> Vec<(SimTime, Vec<AlertNow>)> {
    let store = SeriesStore::of(rec.series.clone(), SimTime(u64::MAX));
    let rules: Vec<&AlertRule> = rec.spec.rules.iter().collect();
    let every = rec.spec.evaluation_interval.micros().max(1);
    let times = (1..)
        .map(|k| SimTime(k * every))
        .take_while(|&t| t < horizon)
        .map(|t| t.saturating_add(rec.run_start));
    let mut out: Vec<(SimTime, Vec<AlertNow>)> = Vec::new();
    evaluate(&store, &rules, times, |at, i, state| {
        let at = at - rec.run_start;
        if out.last().is_none_or(|(t, _)| *t != at) {
            out.push((at, Vec::new()));
        }
        let alerts = &mut out.last_mut().unwrap_or_else(|| unreachable!()).1;
        for (labels, a) in &state.active {
            alerts.push(AlertNow {
                rule: rules[i].name.clone(),
                labels: labels.without_name(),
                state: a.state,
            });
        }
    });
    out
}

/// Every sample of one run's monitoring, on the store's clock: the history (if any) lies in
/// `[0, run_start)` and the run's `t` is at `run_start + t`.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The scraped series, in the store's order, then the marker gauges.
    pub series: Vec<Series>,
    /// The store time of the run's t = 0 (the history's length).
    pub run_start: SimTime,
    /// When the candidate stopped serving after a rollback (the run's clock), if it did.
    pub rolled_back: Option<SimTime>,
    /// The monitoring the run was scraped and evaluated with (the scenario's, or the
    /// `[monitoring]` defaults with no rule when it has no `[[alerts]]`).
    pub spec: AlertsSpec,
}

/// The monitoring of a scenario without `[[alerts]]`: the `[monitoring]` defaults, the
/// clients' default buckets, no rule and no history.
fn default_monitoring() -> AlertsSpec {
    let period = |text: &str| {
        let d = humantime::parse_duration(text)
            .unwrap_or_else(|e| unreachable!("a default duration parses: {e}"));
        SimTime(d.as_micros() as u64)
    };
    AlertsSpec {
        scrape_interval: period(defaults::SCRAPE_INTERVAL),
        evaluation_interval: period(defaults::EVALUATION_INTERVAL),
        buckets_s: DEFAULT_BUCKETS_S.to_vec(),
        rules: Vec::new(),
        history: SimTime::ZERO,
    }
}

/// Replays replication `replication` of strategy `strategy` with its monitoring recorded.
/// The outcome is the one `run` reports for that run: recording draws no random number and
/// changes no evaluation.
pub fn record(
    scenario: &Scenario,
    strategy: usize,
    replication: u32,
) -> Result<(RunOutcome, Recording), EngineError> {
    let mut scenario = scenario.clone();
    let spec = scenario
        .alerts
        .get_or_insert_with(default_monitoring)
        .clone();
    let (outcome, timeline, store) =
        replay::replay_recorded(&scenario, strategy, replication, spec.scrape_interval)?;
    let store = store.unwrap_or_else(|| unreachable!("the scenario has monitoring"));
    let run_start = store.shift();
    let mut series = store.series().to_vec();
    let first = |marker: Marker| {
        timeline
            .markers
            .iter()
            .find(|(_, m)| *m == marker)
            .map(|&(t, _)| t)
    };
    let times: Vec<SimTime> = series
        .first()
        .map(|s| s.samples().iter().map(|&(t, _)| t).collect())
        .unwrap_or_default();
    for (name, at) in [
        (DETECTED, first(Marker::Detected)),
        (ROLLED_BACK, first(Marker::RolledBack)),
    ] {
        let mut gauge = Series::new(Labels::new([("__name__", name)]));
        for &t in &times {
            let on = at.is_some_and(|at| t >= run_start && t - run_start >= at);
            gauge.push(t, f64::from(u8::from(on)));
        }
        series.push(gauge);
    }
    let recording = Recording {
        series,
        run_start,
        rolled_back: first(Marker::RolledBack),
        spec,
    };
    Ok((outcome, recording))
}
