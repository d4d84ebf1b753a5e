//! A recorded run read at any simulated instant: what `rehearsal serve` exposes while it plays
//! the run at a pace. Pure: the caller says which instant (`now`, the run's clock).

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::openmetrics::{Kind, family, selector, value};
use super::{AlertNow, Recording, alert_states, help};
use crate::detect::alerts::series::{REQUESTS, ROLLOUT_WEIGHT, Series};
use crate::detect::alerts::{AlertState, Labels};
use crate::engine::{EngineError, SimTime};
use crate::outcome::RunOutcome;
use crate::scenario::Scenario;

/// How far back the live page's error ratios look (the shortest window alert rules commonly
/// use).
pub const RATIO_WINDOW: SimTime = SimTime::from_secs(60);

/// Most instants of a joining page's backlog.
pub const BACKLOG: u64 = 200;

/// One run, recorded, with the alert states of each of its evaluations.
#[derive(Debug, Clone)]
pub struct Live {
    /// Scenario name.
    pub scenario: String,
    /// Strategy name.
    pub strategy: String,
    /// Replication index.
    pub replication: u32,
    /// The run's horizon.
    pub horizon: SimTime,
    /// The versions' names (stable, candidate).
    pub versions: [String; 2],
    rec: Recording,
    alerts: Vec<(SimTime, Vec<AlertNow>)>,
    outcome: RunOutcome,
}

impl Live {
    /// Records replication `replication` of strategy `strategy` (the whole run, at once).
    pub fn record(
        scenario: &Scenario,
        strategy: usize,
        replication: u32,
    ) -> Result<Live, EngineError> {
        let (outcome, rec) = super::record(scenario, strategy, replication)?;
        let alerts = alert_states(&rec, scenario.horizon);
        Ok(Live {
            scenario: scenario.name.clone(),
            strategy: scenario.strategies[strategy].name.clone(),
            replication,
            horizon: scenario.horizon,
            versions: scenario.service.versions.each_ref().map(|v| v.name.clone()),
            rec,
            alerts,
            outcome,
        })
    }

    /// The recording.
    pub fn recording(&self) -> &Recording {
        &self.rec
    }

    /// The run's outcome.
    pub fn outcome(&self) -> &RunOutcome {
        &self.outcome
    }

    /// The latest sample of `s` at the run's `now`, if any.
    fn latest(&self, s: &Series, now: SimTime) -> Option<f64> {
        let at = now.saturating_add(self.rec.run_start);
        let samples = s.samples();
        let end = samples.partition_point(|&(t, _)| t <= at);
        end.checked_sub(1).map(|i| samples[i].1)
    }

    /// Every series' latest sample at `now` in the Prometheus text exposition format 0.0.4
    /// (<https://prometheus.io/docs/instrumenting/exposition_formats/>): `# HELP`, `# TYPE`,
    /// then the samples, without timestamps (the scraper stamps them).
    pub fn metrics(&self, now: SimTime) -> String {
        let names: Vec<&str> = self
            .rec
            .series
            .iter()
            .map(|s| s.labels.get("__name__"))
            .collect();
        let mut out = String::new();
        let mut done: Vec<&str> = Vec::new();
        for name in &names {
            let (base, kind) = family(name, &names);
            if done.contains(&base) {
                continue;
            }
            done.push(base);
            // The text format names a counter family with its `_total`.
            let typed = if kind == Kind::Counter { *name } else { base };
            writeln!(out, "# HELP {typed} {}", help(base)).ok();
            writeln!(out, "# TYPE {typed} {}", kind.name()).ok();
            for s in &self.rec.series {
                if family(s.labels.get("__name__"), &names).0 != base {
                    continue;
                }
                if let Some(x) = self.latest(s, now) {
                    writeln!(out, "{} {}", selector(&s.labels), value(x)).ok();
                }
            }
        }
        out
    }

    /// The instants a page joining at `now` is sent first so that it draws the run so far: at
    /// most [`BACKLOG`] + 1, every scrape interval or evenly spaced, ending at `now`.
    pub fn backlog(&self, now: SimTime) -> Vec<SimTime> {
        let now = now.min(self.horizon);
        let step = self
            .rec
            .spec
            .scrape_interval
            .micros()
            .max(now.micros().div_ceil(BACKLOG))
            .max(1);
        let mut at: Vec<SimTime> = (0..now.micros().div_ceil(step))
            .map(|k| SimTime(k * step))
            .collect();
        at.push(now);
        at
    }

    /// The value of series `name` with `version` at `now` (0 before the first sample).
    fn of(&self, name: &str, version: &str, code: Option<&str>, now: SimTime) -> f64 {
        self.rec
            .series
            .iter()
            .find(|s| {
                let l = &s.labels;
                l.get("__name__") == name
                    && l.get("version") == version
                    && code.is_none_or(|c| l.get("code") == c)
            })
            .and_then(|s| self.latest(s, now))
            .unwrap_or(0.0)
    }

    /// The share of `version`'s requests that failed in the last [`RATIO_WINDOW`] (0 without
    /// requests).
    fn error_ratio(&self, version: &str, now: SimTime) -> f64 {
        let then = now.saturating_sub(RATIO_WINDOW);
        let count = |code: &str| {
            self.of(REQUESTS, version, Some(code), now)
                - self.of(REQUESTS, version, Some(code), then)
        };
        let (ok, failed) = (count("200"), count("500"));
        if ok + failed > 0.0 {
            failed / (ok + failed)
        } else {
            0.0
        }
    }

    /// The alerts after the latest evaluation at or before `now`.
    fn alerts_at(&self, now: SimTime) -> &[AlertNow] {
        let i = self.alerts.partition_point(|(t, _)| *t <= now);
        i.checked_sub(1).map_or(&[], |i| &self.alerts[i].1)
    }

    /// The state at `now` as JSON: simulated time, the versions (stable, candidate), weights,
    /// error ratios, alert states,
    /// detection, rollback and recovery (each `null` until it has happened).
    pub fn state(&self, now: SimTime) -> Value {
        let now = now.min(self.horizon);
        let secs = |t: Option<SimTime>| {
            t.filter(|&t| t <= now)
                .map_or(Value::Null, |t| json!(t.as_secs_f64()))
        };
        let mut weights = Map::new();
        let mut ratios = Map::new();
        for v in &self.versions {
            weights.insert(v.clone(), json!(self.of(ROLLOUT_WEIGHT, v, None, now)));
            ratios.insert(v.clone(), json!(self.error_ratio(v, now)));
        }
        let alerts: Vec<Value> = self
            .alerts_at(now)
            .iter()
            .map(|a| {
                json!({
                    "rule": a.rule,
                    "labels": labels_json(&a.labels),
                    "state": match a.state {
                        AlertState::Pending => "pending",
                        AlertState::Firing => "firing",
                    },
                })
            })
            .collect();
        let detected = self.outcome.detected.filter(|&t| t <= now);
        json!({
            "scenario": self.scenario,
            "strategy": self.strategy,
            "replication": self.replication,
            "horizon_s": self.horizon.as_secs_f64(),
            "now_s": now.as_secs_f64(),
            "versions": self.versions,
            "done": now >= self.horizon,
            "weights_pct": weights,
            "error_ratio_1m": ratios,
            "alerts": alerts,
            "detected_s": secs(detected),
            "detected_by": detected.and(self.outcome.detected_by_text().into()),
            "rolled_back_s": secs(self.rec.rolled_back),
            "recovered_s": secs(self.outcome.recovered),
        })
    }
}

fn labels_json(l: &Labels) -> Value {
    Value::Object(
        l.0.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}
