//! Flagger-style metric analysis: periodic checks, cumulative failed-check threshold.

use super::judges::{Baseline, JudgeSpec, Look, SequentialState, kayenta_score};
use crate::engine::SimTime;
use crate::model::{History, Window};
use crate::names::named;

named! {
    /// A metric the analysis can check over a window of the candidate's requests.
    pub enum Metric {
        /// Failed requests / requests, as a fraction (Flagger's request-success-rate, inverted).
        ErrorRate = "error_rate",
        /// Nearest-rank 99th percentile latency, milliseconds (Flagger's request-duration).
        LatencyP99 = "latency_p99",
        /// Corrupted writes / successful writes: a business metric, the only one that sees
        /// silent data corruption.
        BadWriteRate = "bad_write_rate",
    }
}

impl Metric {
    /// The metric's value over `w` (`None` when the window holds nothing it can measure).
    pub fn value(self, w: &Window) -> Option<f64> {
        match self {
            Metric::ErrorRate => w.error_rate(),
            Metric::LatencyP99 => w.latency_p99_ms(),
            Metric::BadWriteRate => w.bad_write_rate(),
        }
    }
}

/// One metric with its allowed range; a check fails when the value is strictly outside it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRule {
    /// What is measured.
    pub metric: Metric,
    /// Lowest passing value.
    pub min: Option<f64>,
    /// Highest passing value.
    pub max: Option<f64>,
    /// Its own query window ending at the check (Flagger's `metrics[].interval`), under
    /// [`Windows::PerMetric`]; `None` under [`Windows::SincePreviousCheck`].
    pub window: Option<SimTime>,
}

impl MetricRule {
    /// Whether `value` is outside the allowed range.
    pub fn fails(&self, value: f64) -> bool {
        self.max.is_some_and(|m| value > m) || self.min.is_some_and(|m| value < m)
    }
}

named! {
    /// What a window with no request means.
    pub enum NoData {
        /// A failed check, as Flagger counts "no values found" (fluxcd/flagger#1035).
        Fail = "fail",
        /// An inconclusive check, as Argo Rollouts counts a measurement matching no condition.
        Inconclusive = "inconclusive",
    }
}

/// When checks run and which requests each one judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Windows {
    /// A check every `interval` from the start of the run, each over the requests since the
    /// previous one (Argo Rollouts; rehearsal's canary, blue-green, flag and rolling update).
    SincePreviousCheck,
    /// The strategy asks for each check at its own tick ([`crate::strategy::Action::AnalysisTick`])
    /// and each metric reads the requests of its own window ending then, so windows may
    /// overlap or leave gaps (Flagger: `runBuiltinMetricChecks`, `pkg/controller/scheduler_metrics.go`).
    PerMetric,
}

/// The analysis of a scenario or strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisSpec {
    /// Time between checks; each check covers the requests of the last interval.
    pub interval: SimTime,
    /// Failed checks, counted in total (not consecutively), that abort the rollout.
    pub threshold: u32,
    /// A window with fewer requests (but at least one) is inconclusive.
    pub min_requests: u64,
    /// How a window with no request counts.
    pub on_no_data: NoData,
    /// The metrics checked; a check fails when any of them is out of range.
    pub metrics: Vec<MetricRule>,
    /// When checks run and what each metric reads.
    pub windows: Windows,
    /// Judges comparing the candidate with the stable's requests of the same window
    /// (`[[analysis.judges]]`); a check fails when a judge fails it.
    pub judges: Vec<JudgeSpec>,
}

impl AnalysisSpec {
    /// Whether any metric needs latency histograms.
    pub fn needs_latency(&self) -> bool {
        self.metrics.iter().any(|r| r.metric == Metric::LatencyP99)
            || self.judges.iter().any(JudgeSpec::needs_latency)
    }

    /// Whether a judge reads latencies of `baseline`.
    pub fn needs_baseline_latency(&self, baseline: Baseline) -> bool {
        self.judges
            .iter()
            .any(|j| j.baseline() == baseline && j.needs_latency())
    }

    /// Whether a judge compares with an experiment baseline (the world must run one).
    pub fn needs_experiment(&self) -> bool {
        self.judges
            .iter()
            .any(|j| j.baseline() == Baseline::Experiment)
    }

    /// The longest per-metric window (zero when no metric has one).
    pub fn longest_window(&self) -> SimTime {
        self.metrics
            .iter()
            .filter_map(|r| r.window)
            .max()
            .unwrap_or(SimTime::ZERO)
    }
}

/// The result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every metric in range.
    Pass,
    /// A metric out of range (or no data, under [`NoData::Fail`]).
    Fail,
    /// Too few requests to judge.
    Inconclusive,
}

/// A running analysis: judges windows and counts failed checks.
#[derive(Debug, Clone)]
pub struct Analysis {
    spec: AnalysisSpec,
    /// Checks run.
    pub checks: u32,
    /// Checks failed, in total.
    pub failed: u32,
    /// Checks inconclusive.
    pub inconclusive: u32,
    /// Failed checks of the current analysis run, the count the threshold applies to.
    run_failed: u32,
    /// What each sequential judge accumulated since the run started (one per judge).
    sequential: Vec<SequentialState>,
}

impl Analysis {
    /// A fresh analysis with no check run.
    pub fn new(spec: AnalysisSpec) -> Analysis {
        Analysis {
            sequential: vec![SequentialState::default(); spec.judges.len()],
            spec,
            checks: 0,
            failed: 0,
            inconclusive: 0,
            run_failed: 0,
        }
    }

    /// Starts a new analysis run (as Argo starts a new AnalysisRun): the threshold counts
    /// from zero again; the totals keep counting.
    pub fn restart(&mut self) {
        self.run_failed = 0;
        self.sequential.fill(SequentialState::default());
    }

    /// The configuration.
    pub fn spec(&self) -> &AnalysisSpec {
        &self.spec
    }

    /// Judges one window of the candidate, `stable` and `experiment` being the stable's and
    /// the experiment baseline's requests of the same window (read only by judges, each its
    /// [`Baseline`]), and counts the verdict: the metrics' verdict, then each judge's, Fail
    /// over Inconclusive over Pass.
    pub fn check(&mut self, w: &Window, stable: &Window, experiment: &Window) -> Verdict {
        let mut verdict = self.judge(w);
        {
            for (judge, state) in self.spec.judges.iter().zip(&mut self.sequential) {
                let baseline = match judge.baseline() {
                    Baseline::Stable => stable,
                    Baseline::Experiment => experiment,
                };
                let v = match judge {
                    JudgeSpec::Kayenta(k) => {
                        if w.requests < self.spec.min_requests.max(1) {
                            Verdict::Inconclusive
                        } else {
                            let score = kayenta_score(w, baseline, k);
                            if score >= k.pass {
                                Verdict::Pass
                            } else if score >= k.marginal {
                                Verdict::Inconclusive
                            } else {
                                Verdict::Fail
                            }
                        }
                    }
                    JudgeSpec::Sequential(s) => {
                        state.add(s.metric, w, baseline);
                        match state.look(s) {
                            Look::Early => Verdict::Inconclusive,
                            Look::Continue(_) => Verdict::Pass,
                            Look::Regression(_) => Verdict::Fail,
                        }
                    }
                };
                verdict = match (verdict, v) {
                    (_, Verdict::Fail) | (Verdict::Fail, _) => Verdict::Fail,
                    (_, Verdict::Inconclusive) | (Verdict::Inconclusive, _) => {
                        Verdict::Inconclusive
                    }
                    _ => Verdict::Pass,
                };
            }
        }
        self.count(verdict);
        verdict
    }

    /// Judges each metric over its own window ending at `now`, read from `history`, and
    /// counts the verdict: Fail when any metric fails, else Inconclusive when any is, else
    /// Pass (also with no metric: Flagger invents none).
    pub fn check_windows(&mut self, history: &mut History, now: SimTime) -> Verdict {
        let mut verdict = Verdict::Pass;
        for rule in &self.spec.metrics {
            let length = rule.window.unwrap_or(self.spec.interval);
            let w = history.window(now, length, true, rule.metric == Metric::LatencyP99);
            match self.judge_rules(&w, std::slice::from_ref(rule)) {
                Verdict::Fail => {
                    verdict = Verdict::Fail;
                    break;
                }
                Verdict::Inconclusive => verdict = Verdict::Inconclusive,
                Verdict::Pass => {}
            }
        }
        self.count(verdict);
        verdict
    }

    fn count(&mut self, verdict: Verdict) {
        self.checks += 1;
        match verdict {
            Verdict::Fail => {
                self.failed += 1;
                self.run_failed += 1;
            }
            Verdict::Inconclusive => self.inconclusive += 1,
            Verdict::Pass => {}
        }
    }

    fn judge(&self, w: &Window) -> Verdict {
        self.judge_rules(w, &self.spec.metrics)
    }

    fn judge_rules(&self, w: &Window, rules: &[MetricRule]) -> Verdict {
        if w.requests == 0 {
            return match self.spec.on_no_data {
                NoData::Fail => Verdict::Fail,
                NoData::Inconclusive => Verdict::Inconclusive,
            };
        }
        if w.requests < self.spec.min_requests {
            return Verdict::Inconclusive;
        }
        let failing = rules
            .iter()
            .any(|r| r.metric.value(w).is_some_and(|v| r.fails(v)));
        if failing {
            Verdict::Fail
        } else {
            Verdict::Pass
        }
    }

    /// Whether the failed checks have reached the threshold: the rollout must abort.
    pub fn tripped(&self) -> bool {
        self.run_failed >= self.spec.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(on_no_data: NoData) -> AnalysisSpec {
        AnalysisSpec {
            interval: SimTime::from_secs(30),
            threshold: 2,
            min_requests: 10,
            on_no_data,
            metrics: vec![MetricRule {
                metric: Metric::ErrorRate,
                min: None,
                max: Some(0.01),
                window: None,
            }],
            windows: Windows::SincePreviousCheck,
            judges: Vec::new(),
        }
    }

    /// An empty baseline window (no judge reads one here).
    fn w0() -> Window {
        Window::new(false)
    }

    fn window(requests: u64, errors: u64) -> Window {
        let mut w = Window::new(false);
        w.requests = requests;
        w.errors = errors;
        w
    }

    #[test]
    fn failed_checks_accumulate_and_are_not_reset_by_passes() {
        let mut a = Analysis::new(spec(NoData::Inconclusive));
        assert_eq!(a.check(&window(100, 5), &w0(), &w0()), Verdict::Fail);
        assert_eq!(a.check(&window(100, 0), &w0(), &w0()), Verdict::Pass);
        assert!(!a.tripped());
        assert_eq!(a.check(&window(100, 2), &w0(), &w0()), Verdict::Fail);
        assert!(a.tripped());
        assert_eq!((a.checks, a.failed, a.inconclusive), (3, 2, 0));
    }

    #[test]
    fn exactly_at_the_limit_passes() {
        let mut a = Analysis::new(spec(NoData::Inconclusive));
        assert_eq!(a.check(&window(100, 1), &w0(), &w0()), Verdict::Pass);
    }

    #[test]
    fn thin_windows_are_inconclusive_and_empty_ones_follow_on_no_data() {
        let mut argo = Analysis::new(spec(NoData::Inconclusive));
        assert_eq!(
            argo.check(&window(9, 9), &w0(), &w0()),
            Verdict::Inconclusive
        );
        assert_eq!(
            argo.check(&window(0, 0), &w0(), &w0()),
            Verdict::Inconclusive
        );
        let mut flagger = Analysis::new(spec(NoData::Fail));
        assert_eq!(
            flagger.check(&window(9, 9), &w0(), &w0()),
            Verdict::Inconclusive
        );
        assert_eq!(flagger.check(&window(0, 0), &w0(), &w0()), Verdict::Fail);
    }
}
