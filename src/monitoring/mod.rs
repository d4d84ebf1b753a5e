//! A run's monitoring, put in front of the real Prometheus pipeline.
//!
//! [`record`] replays one run with every scrape kept: the series Prometheus would have
//! stored (the pre-run history included) and rehearsal's own markers. [`openmetrics`] writes
//! them for `promtool tsdb create-blocks-from openmetrics` (backfill for dashboards),
//! [`promtool`] writes the scenario's rules and a `promtool test rules` file whose expected
//! alerts are rehearsal's own evaluation, so that Prometheus itself judges it.

pub mod openmetrics;
pub mod promtool;

use crate::detect::alerts::series::{DEFAULT_BUCKETS_S, Series};
use crate::detect::alerts::{AlertsSpec, Labels};
use crate::engine::{EngineError, SimTime};
use crate::outcome::{Marker, RunOutcome};
use crate::replay;
use crate::scenario::{Scenario, defaults};

/// Gauge, 0 then 1 from the first failure declaration (the rollback decision) on.
pub const DETECTED: &str = "rehearsal_detected";
/// Gauge, 0 then 1 from the moment the candidate serves no traffic after a rollback.
pub const ROLLED_BACK: &str = "rehearsal_rolled_back";

/// Every sample of one run's monitoring, on the store's clock: the history (if any) lies in
/// `[0, run_start)` and the run's `t` is at `run_start + t`.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The scraped series, in the store's order, then the marker gauges.
    pub series: Vec<Series>,
    /// The store time of the run's t = 0 (the history's length).
    pub run_start: SimTime,
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
        spec,
    };
    Ok((outcome, recording))
}
