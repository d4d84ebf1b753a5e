//! Argo Rollouts' AnalysisTemplate metrics and the AnalysisRun that measures them
//! (argoproj/argo-rollouts `analysis/analysis.go`, `utils/evaluate/evaluate.go`).
//!
//! Semantics, as the controller's code runs them:
//! - Each metric takes its first measurement when the run starts, or `initial_delay` later
//!   (`generateMetricTasks`), then one every `interval` after the previous one; after a
//!   measurement error the next comes 10 s later (`DefaultErrorRetryInterval`).
//! - A measurement is judged by `EvaluateResult`: with only a success condition it fails
//!   when the condition is false; with only a failure condition it succeeds when that one is
//!   false; with both, neither true is Inconclusive and a true failure condition wins; with
//!   neither it succeeds. An empty query result is a measurement Error.
//! - A metric completes (`assessMetricStatus`): Failed when failed > `failure_limit`,
//!   Inconclusive when inconclusive > `inconclusive_limit`, Error when consecutive errors >
//!   `consecutive_error_limit` (the last of those wins, as `assessMetricFailureInconclusiveOrError`
//!   assigns them in that order); else Successful once `count` measurements are taken
//!   (errors are not counted). With no `count` it runs until the run is stopped.
//! - The run ends when a metric completes in anything but Successful (the next reconcile
//!   terminates it, `IsTerminating`), with the worst phase of its completed metrics
//!   (Failed worse than Error worse than Inconclusive, `analysisStatusOrder`), or when every
//!   metric completed Successful. A run stopped from outside ends Successful unless a metric
//!   completed worse.

use super::condition::Condition;
use crate::engine::SimTime;
use crate::model::{VersionSpec, Window};
use crate::names::named;

/// Argo's retry delay after a measurement error (`DefaultErrorRetryInterval`).
pub const ERROR_RETRY: SimTime = SimTime::from_secs(10);

named! {
    /// What the simulated metric provider returns as `result[0]`.
    pub enum Measure {
        /// Successful requests / requests, a fraction (the Argo docs' success-rate query).
        SuccessRate = "success_rate",
        /// Failed requests / requests, a fraction.
        ErrorRate = "error_rate",
        /// Nearest-rank 99th percentile latency, milliseconds.
        LatencyP99 = "latency_p99",
        /// Corrupted writes / successful writes, a fraction.
        BadWriteRate = "bad_write_rate",
    }
}

impl Measure {
    /// The value over `w`: NaN when the window holds nothing to divide by (0/0, as
    /// Prometheus returns for series that exist but saw no request).
    pub fn value(self, w: &Window) -> f64 {
        match self {
            Measure::SuccessRate => w.error_rate().map_or(f64::NAN, |e| 1.0 - e),
            Measure::ErrorRate => w.error_rate().unwrap_or(f64::NAN),
            Measure::LatencyP99 => w.latency_p99_ms().unwrap_or(f64::NAN),
            Measure::BadWriteRate => w.bad_write_rate().unwrap_or(f64::NAN),
        }
    }

    /// The value `stable` shows in steady state, for a service-wide window that lies wholly
    /// before the rollout (t = 0, where the simulation begins: the stable served then).
    pub fn steady(self, stable: &VersionSpec) -> f64 {
        let error = stable.error_rate.get();
        match self {
            Measure::SuccessRate => 1.0 - error,
            Measure::ErrorRate => error,
            Measure::LatencyP99 => stable.latency.median_p99().1.micros() as f64 / 1000.0,
            Measure::BadWriteRate => 0.0,
        }
    }
}

named! {
    /// Whose requests a measurement reads.
    pub enum Scope {
        /// The candidate's own requests.
        Candidate = "candidate",
        /// Every request of the service, stable and candidate (the Argo docs' queries).
        Service = "service",
    }
}

/// One metric of an analysis template, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMetric {
    /// `<template>.<metric>`, for reports.
    pub name: String,
    /// What is measured.
    pub measure: Measure,
    /// Whose requests.
    pub scope: Scope,
    /// Each measurement reads the requests of this long ending then.
    pub window: SimTime,
    /// Time from one measurement to the next (`None`: a single measurement).
    pub interval: Option<SimTime>,
    /// Measurements after which the metric is Successful (`None`: until stopped).
    pub count: Option<u32>,
    /// Delay of the first measurement after the run starts.
    pub initial_delay: SimTime,
    /// Failed measurements allowed; one more fails the metric.
    pub failure_limit: u32,
    /// Inconclusive measurements allowed; one more makes it Inconclusive.
    pub inconclusive_limit: u32,
    /// Consecutive errors allowed; one more makes it Error.
    pub consecutive_error_limit: u32,
    /// `successCondition`.
    pub success: Option<Condition>,
    /// `failureCondition`.
    pub failure: Option<Condition>,
}

/// The phase of a measurement, a completed metric or a completed run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunPhase {
    /// Passed.
    Successful,
    /// Neither condition held (or too many such measurements): a human decides.
    Inconclusive,
    /// The provider returned nothing usable (or too many errors in a row).
    Error,
    /// Failed (or too many failed measurements).
    Failed,
}

impl RunMetric {
    /// `EvaluateResult` for a query result (`None`: the empty result, an Error).
    pub fn judge(&self, result: Option<f64>) -> RunPhase {
        if self.success.is_none() && self.failure.is_none() {
            return RunPhase::Successful;
        }
        let Some(r) = result else {
            return RunPhase::Error;
        };
        let success = self.success.as_ref().map(|c| c.holds(r));
        let failure = self.failure.as_ref().map(|c| c.holds(r));
        let (success, failure) = match (success, failure) {
            (Some(s), None) => (s, !s),
            (None, Some(f)) => (!f, f),
            (s, f) => (s.unwrap_or(false), f.unwrap_or(false)),
        };
        if failure {
            RunPhase::Failed
        } else if success {
            RunPhase::Successful
        } else {
            RunPhase::Inconclusive
        }
    }
}

/// One metric's counters in a run (`MetricResult`).
#[derive(Debug, Clone, Default)]
struct MetricState {
    /// Measurements that were not errors.
    count: u32,
    failed: u32,
    inconclusive: u32,
    consecutive_errors: u32,
    /// When the next measurement is due (`None`: completed).
    due: Option<SimTime>,
    done: Option<RunPhase>,
}

/// A running AnalysisRun: when each metric measures next and how the run stands.
#[derive(Debug, Clone)]
pub struct AnalysisRun {
    metrics: Vec<MetricState>,
}

/// What one measurement came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    /// The measurement's own phase.
    pub phase: RunPhase,
    /// The run's phase if the run ended with it.
    pub run_ended: Option<RunPhase>,
}

impl AnalysisRun {
    /// A run of `metrics` started at `now`.
    pub fn start(metrics: &[RunMetric], now: SimTime) -> AnalysisRun {
        AnalysisRun {
            metrics: metrics
                .iter()
                .map(|m| MetricState {
                    due: Some(now.saturating_add(m.initial_delay)),
                    ..MetricState::default()
                })
                .collect(),
        }
    }

    /// When metric `i` measures next (`None`: it is complete).
    pub fn due(&self, i: usize) -> Option<SimTime> {
        self.metrics[i].due
    }

    /// Records the measurement of metric `i` (spec `m`) at `now` from a query `result`.
    pub fn measure(
        &mut self,
        i: usize,
        m: &RunMetric,
        now: SimTime,
        result: Option<f64>,
    ) -> Measured {
        let phase = m.judge(result);
        let s = &mut self.metrics[i];
        match phase {
            RunPhase::Error => s.consecutive_errors += 1,
            _ => {
                s.count += 1;
                s.consecutive_errors = 0;
            }
        }
        s.failed += u32::from(phase == RunPhase::Failed);
        s.inconclusive += u32::from(phase == RunPhase::Inconclusive);
        let mut done = None;
        if s.failed > m.failure_limit {
            done = Some(RunPhase::Failed);
        }
        if s.inconclusive > m.inconclusive_limit {
            done = Some(RunPhase::Inconclusive);
        }
        if s.consecutive_errors > m.consecutive_error_limit {
            done = Some(RunPhase::Error);
        }
        if done.is_none() && m.count.is_some_and(|c| s.count >= c) {
            done = Some(RunPhase::Successful);
        }
        s.done = done;
        s.due = match (done, phase, m.interval) {
            (Some(_), _, _) => None,
            (None, RunPhase::Error, _) => Some(now.saturating_add(ERROR_RETRY)),
            (None, _, Some(interval)) => Some(now.saturating_add(interval)),
            (None, _, None) => Some(now.saturating_add(ERROR_RETRY)),
        };
        Measured {
            phase,
            run_ended: self.ended(),
        }
    }

    /// The run's phase once it has ended.
    fn ended(&self) -> Option<RunPhase> {
        let worst = self.metrics.iter().filter_map(|s| s.done).max();
        match worst {
            Some(p) if p != RunPhase::Successful => Some(p),
            Some(_) if self.metrics.iter().all(|s| s.done.is_some()) => Some(RunPhase::Successful),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(success: Option<&str>, failure: Option<&str>) -> RunMetric {
        RunMetric {
            name: "t.m".into(),
            measure: Measure::SuccessRate,
            scope: Scope::Service,
            window: SimTime::from_secs(300),
            interval: Some(SimTime::from_secs(300)),
            count: None,
            initial_delay: SimTime::ZERO,
            failure_limit: 3,
            inconclusive_limit: 0,
            consecutive_error_limit: 4,
            success: success.map(|c| Condition::parse(c).unwrap()),
            failure: failure.map(|c| Condition::parse(c).unwrap()),
        }
    }

    #[test]
    fn evaluate_result_follows_argo() {
        let only_success = metric(Some("result[0] >= 0.95"), None);
        assert_eq!(only_success.judge(Some(0.96)), RunPhase::Successful);
        assert_eq!(only_success.judge(Some(0.90)), RunPhase::Failed);
        // NaN with only a success condition fails; the empty result is an error.
        assert_eq!(only_success.judge(Some(f64::NAN)), RunPhase::Failed);
        assert_eq!(only_success.judge(None), RunPhase::Error);
        let only_failure = metric(None, Some("result[0] < 0.95"));
        assert_eq!(only_failure.judge(Some(f64::NAN)), RunPhase::Successful);
        let both = metric(Some("result[0] >= 0.99"), Some("result[0] < 0.95"));
        assert_eq!(both.judge(Some(0.97)), RunPhase::Inconclusive);
        assert_eq!(both.judge(Some(f64::NAN)), RunPhase::Inconclusive);
        let conflicting = metric(Some("result[0] > 0"), Some("result[0] > 0"));
        assert_eq!(conflicting.judge(Some(1.0)), RunPhase::Failed);
        assert_eq!(metric(None, None).judge(None), RunPhase::Successful);
    }

    #[test]
    fn the_run_fails_at_the_measurement_past_the_failure_limit_and_passes_below_it() {
        let m = metric(Some("result[0] >= 0.95"), None);
        let mut run = AnalysisRun::start(std::slice::from_ref(&m), SimTime::from_secs(630));
        assert_eq!(run.due(0), Some(SimTime::from_secs(630)));
        for k in 0..3 {
            let t = SimTime::from_secs(630 + 300 * k);
            let r = run.measure(0, &m, t, Some(0.5));
            assert_eq!(
                r,
                Measured {
                    phase: RunPhase::Failed,
                    run_ended: None
                }
            );
        }
        assert_eq!(run.due(0), Some(SimTime::from_secs(1530)));
        let r = run.measure(0, &m, SimTime::from_secs(1530), Some(0.5));
        assert_eq!(r.run_ended, Some(RunPhase::Failed));
        assert_eq!(run.due(0), None);
    }

    #[test]
    fn errors_retry_every_ten_seconds_and_end_the_run_after_the_limit() {
        let m = metric(Some("result[0] >= 0.95"), None);
        let mut run = AnalysisRun::start(std::slice::from_ref(&m), SimTime::ZERO);
        for k in 0..4 {
            let r = run.measure(0, &m, SimTime::from_secs(10 * k), None);
            assert_eq!(r.run_ended, None);
            assert_eq!(run.due(0), Some(SimTime::from_secs(10 * k + 10)));
        }
        // The fifth error in a row: 5 > consecutive_error_limit 4.
        let r = run.measure(0, &m, SimTime::from_secs(40), None);
        assert_eq!(r.run_ended, Some(RunPhase::Error));
    }

    #[test]
    fn a_counted_run_succeeds_when_every_metric_reached_its_count() {
        let mut a = metric(Some("result[0] >= 0.95"), None);
        a.count = Some(2);
        let mut b = a.clone();
        b.count = Some(1);
        let metrics = [a, b];
        let mut run = AnalysisRun::start(&metrics, SimTime::ZERO);
        assert_eq!(
            run.measure(1, &metrics[1], SimTime::ZERO, Some(1.0))
                .run_ended,
            None
        );
        assert_eq!(
            run.measure(0, &metrics[0], SimTime::ZERO, Some(1.0))
                .run_ended,
            None
        );
        let last = run.measure(0, &metrics[0], SimTime::from_secs(300), Some(0.5));
        assert_eq!(
            last.run_ended,
            Some(RunPhase::Successful),
            "1 failure ≤ limit 3"
        );
    }

    #[test]
    fn inconclusive_beyond_its_limit_ends_the_run_inconclusive() {
        let m = metric(Some("result[0] >= 0.99"), Some("result[0] < 0.95"));
        let mut run = AnalysisRun::start(std::slice::from_ref(&m), SimTime::ZERO);
        let r = run.measure(0, &m, SimTime::ZERO, Some(0.97));
        assert_eq!(r.run_ended, Some(RunPhase::Inconclusive));
    }
}
