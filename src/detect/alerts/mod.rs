//! `[[alerts]]`: Prometheus alerting rules, evaluated on the run's own series.
//!
//! Every `scrape_interval` the service's counters are scraped into a [`SeriesStore`]; every
//! `evaluation_interval` each rule's PromQL expression is evaluated there and its alerts go
//! through Prometheus' states (`rules/alerting.go`): an alert appears pending, fires once it
//! has been pending for `for`, and keeps firing `keep_firing_for` after its expression stops
//! returning it. A rule whose alert starts firing acts: `rollback` declares failure,
//! `page` starts the human's delay.

pub mod eval;
pub mod promql;
pub mod series;

use std::collections::BTreeMap;

pub use promql::Expr;
pub use series::{Gauges, Labels, Semantics, SeriesStore, Steady};

use crate::engine::SimTime;
use crate::model::Exposition;
use crate::names::named;

named! {
    /// What a firing alert sets off.
    pub enum AlertAction {
        /// A human is paged: the `[manual]` delay starts when the alert fires.
        Page = "page",
        /// Automation rolls back at once.
        Rollback = "rollback",
        /// A ticket is opened: it is worked on in business hours, so nothing acts on it
        /// within a drill (the Workbook's slowest burn-rate alert). It is still evaluated,
        /// so that its firing time is known to the timeline and to tests.
        Ticket = "ticket",
    }
}

named! {
    /// What an `[[alerts]]` table is.
    pub enum AlertKind {
        /// A Prometheus alerting rule: `expr` in PromQL.
        Rule = "rule",
        /// The multiwindow, multi-burn-rate alerts of an `[slo]` objective.
        BurnRate = "burn_rate",
    }
}

/// One alerting rule, resolved.
#[derive(Debug, Clone)]
pub struct AlertRule {
    /// The alert's name (`alert:` in a rule file); `detected_by` reports it.
    pub name: String,
    /// The expression as written.
    pub text: String,
    /// The expression, compiled.
    pub expr: Expr,
    /// `for`: how long an alert stays pending before it fires.
    pub hold: SimTime,
    /// `keep_firing_for`: how long a firing alert outlives its expression.
    pub keep_firing_for: SimTime,
    /// What firing sets off.
    pub action: AlertAction,
}

impl PartialEq for AlertRule {
    fn eq(&self, o: &AlertRule) -> bool {
        // The compiled tree follows from the text.
        (
            &self.name,
            &self.text,
            self.hold,
            self.keep_firing_for,
            self.action,
        ) == (&o.name, &o.text, o.hold, o.keep_firing_for, o.action)
    }
}

/// The scenario's alert rules and the monitoring that feeds them.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsSpec {
    /// Period of scrapes (the first at t = 0).
    pub scrape_interval: SimTime,
    /// Period of rule evaluations (the first at one interval).
    pub evaluation_interval: SimTime,
    /// Histogram bucket upper bounds, seconds, increasing (`+Inf` implied).
    pub buckets_s: Vec<f64>,
    /// The rules, in file order.
    pub rules: Vec<AlertRule>,
    /// How much of the service's past Prometheus holds at t = 0 (`[monitoring] history`):
    /// the stable's steady state, so that a long window (a burn-rate alert's 6 h) is not
    /// read as if the service had been born with the rollout. Zero keeps no history.
    pub history: SimTime,
}

impl AlertsSpec {
    /// Whether a rule reads the latency histogram (only then is it kept).
    pub fn needs_histogram(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.expr.reads(series::DURATION_BUCKET) || r.expr.reads(series::DURATION_COUNT))
    }

    /// Whether some rule pages a human.
    pub fn pages(&self) -> bool {
        self.rules.iter().any(|r| r.action == AlertAction::Page)
    }
}

/// An alert's state (`rules/alerting.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    /// Returned by the expression for less than `for`.
    Pending,
    /// Firing: its action was set off.
    Firing,
}

/// One alert (one series of a rule's result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert {
    /// Pending or firing.
    pub state: AlertState,
    /// The first evaluation that returned it.
    pub active_at: SimTime,
    /// The first evaluation, while firing, that no longer returned it.
    pub keep_firing_since: Option<SimTime>,
}

/// The alerts of one rule, by labels.
#[derive(Debug, Clone, Default)]
pub struct RuleState {
    /// Alerts pending or firing.
    pub active: BTreeMap<Labels, Alert>,
}

impl RuleState {
    /// One evaluation at `ts` that returned `result`; true when an alert started firing.
    /// The transitions are those of `AlertingRule.Eval` (`rules/alerting.go`); resolved
    /// alerts are forgotten at once (Prometheus keeps them 15 m only to notify).
    pub fn step(
        &mut self,
        ts: SimTime,
        result: &[Labels],
        hold: SimTime,
        keep_firing_for: SimTime,
    ) -> bool {
        for labels in result {
            self.active.entry(labels.clone()).or_insert(Alert {
                state: AlertState::Pending,
                active_at: ts,
                keep_firing_since: None,
            });
        }
        let mut fired = false;
        self.active.retain(|labels, a| {
            if result.contains(labels) {
                a.keep_firing_since = None;
            } else {
                let since = *a.keep_firing_since.get_or_insert(ts);
                let keep = a.state == AlertState::Firing
                    && keep_firing_for > SimTime::ZERO
                    && ts - since < keep_firing_for;
                if !keep {
                    return false;
                }
            }
            if a.state == AlertState::Pending && ts - a.active_at >= hold {
                a.state = AlertState::Firing;
                fired = true;
            }
            true
        });
        fired
    }

    /// Whether some alert of the rule is firing.
    pub fn firing(&self) -> bool {
        self.active.values().any(|a| a.state == AlertState::Firing)
    }
}

/// The alert rules of one run: the scraped series and each rule's alerts.
#[derive(Debug, Clone)]
pub struct Alerts<'s> {
    spec: &'s AlertsSpec,
    store: SeriesStore,
    states: Vec<RuleState>,
}

impl<'s> Alerts<'s> {
    /// Rules of `spec` over a service whose versions are named `versions`, which served
    /// `steady` before the rollout (read only when the spec keeps history).
    pub fn new(spec: &'s AlertsSpec, versions: [&str; 2], steady: &Steady) -> Alerts<'s> {
        let reach = spec.rules.iter().map(|r| r.expr.reach()).max();
        let retention = reach
            .unwrap_or(SimTime::ZERO)
            .saturating_add(spec.scrape_interval);
        Alerts::with(spec, versions, steady, spec.needs_histogram(), retention)
    }

    /// The same rules over a store that keeps every sample and every series, the histogram
    /// too (for exports): what the rules see, and so what they decide, is unchanged.
    pub fn recording(spec: &'s AlertsSpec, versions: [&str; 2], steady: &Steady) -> Alerts<'s> {
        Alerts::with(spec, versions, steady, true, SimTime(u64::MAX))
    }

    fn with(
        spec: &'s AlertsSpec,
        versions: [&str; 2],
        steady: &Steady,
        histogram: bool,
        retention: SimTime,
    ) -> Alerts<'s> {
        let buckets: &[f64] = if histogram { &spec.buckets_s } else { &[] };
        let mut store = SeriesStore::for_service(versions, buckets, retention);
        if spec.history > SimTime::ZERO {
            store.prefill(spec.history, spec.scrape_interval, steady);
        }
        Alerts {
            spec,
            store,
            states: vec![RuleState::default(); spec.rules.len()],
        }
    }

    /// The histogram bounds the service must count, µs (empty when the store keeps no
    /// histogram).
    pub fn bounds_us(&self) -> Vec<f64> {
        let histogram = self
            .store
            .series()
            .iter()
            .any(|s| s.labels.get("__name__") == series::DURATION_BUCKET);
        if histogram {
            self.spec.buckets_s.iter().map(|b| b * 1e6).collect()
        } else {
            Vec::new()
        }
    }

    /// The scraped series, for a recording's export.
    pub fn into_store(self) -> SeriesStore {
        self.store
    }

    /// The spec the rules come from.
    pub fn spec(&self) -> &'s AlertsSpec {
        self.spec
    }

    /// Scrapes the service at `now`.
    pub fn scrape(&mut self, now: SimTime, x: &Exposition, g: &Gauges) {
        self.store.scrape(now, x, g);
    }

    /// Evaluates every rule at `now`; returns the rules with an alert that started firing.
    /// A rule whose evaluation fails keeps its alerts as they were, as in Prometheus.
    pub fn evaluate(&mut self, now: SimTime) -> Vec<usize> {
        let mut fired = Vec::new();
        for (i, rule) in self.spec.rules.iter().enumerate() {
            let at = now.saturating_add(self.store.shift());
            let result = match eval::eval(&rule.expr, &self.store, at) {
                Ok(eval::Value::Vector(v)) => v.into_iter().map(|(l, _)| l).collect(),
                // A scalar result is one alert without labels (`EngineQueryFunc`).
                Ok(eval::Value::Scalar(_)) => vec![Labels(vec![])],
                Err(_) => continue,
            };
            if self.states[i].step(now, &result, rule.hold, rule.keep_firing_for) {
                fired.push(i);
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests;
