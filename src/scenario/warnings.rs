//! Unit mistakes that still make a valid scenario: each is probably not what was meant, so
//! `validate` and `run` print it (and `--deny-warnings` refuses the file).
//!
//! A warning names the file, the line and column, and the field path like an error (a
//! defaulted field points at its table); it reads the resolved scenario only, so every
//! number it quotes is the one the run would use.

use super::{Scenario, ScenarioError};
use crate::detect::{AnalysisSpec, Metric, Windows};
use crate::engine::SimTime;
use crate::strategy::{FlaggerLadder, Step, StrategyKind};
use std::path::Path;

/// Every warning of `scenario` (read from `file`), in strategy order, each once.
pub fn warnings(scenario: &Scenario, file: &Path) -> Vec<ScenarioError> {
    let mut found: Vec<ScenarioError> = scenario.manifest_warnings.clone();
    let mut warn = |field: String, message: String| {
        let mut w = ScenarioError::new(file, field, message);
        w.location = scenario.provenance.location(&w.field);
        if !found.contains(&w) {
            found.push(w);
        }
    };
    for (i, s) in scenario.strategies.iter().enumerate() {
        let path = format!("strategies[{i}]");
        if let Some(a) = &s.analysis {
            let apath = if scenario.provenance.is_written(&format!("{path}.analysis")) {
                format!("{path}.analysis")
            } else {
                "analysis".to_string()
            };
            for (field, message) in analysis_warnings(scenario, a, &apath) {
                warn(field, message);
            }
        }
        if let Some((field, message)) = fraction_weights(&s.kind, &path) {
            warn(field, message);
        }
        if let Some(min) = min_rollout(s)
            && min >= scenario.horizon
        {
            warn(
                "horizon".into(),
                format!(
                    "{} is not longer than strategy \"{}\"'s rollout (at least {}): no run can promote it",
                    scenario.horizon.human(),
                    s.name,
                    min.human()
                ),
            );
        }
    }
    found
}

/// A latency bound below the candidate's median, and a `min_requests` that no window reaches.
fn analysis_warnings(scenario: &Scenario, a: &AnalysisSpec, path: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    // Rounded to the microsecond the model counts in.
    let median_ms = scenario.service.versions[1].latency.mu.exp().round() / 1000.0;
    for (j, rule) in a.metrics.iter().enumerate() {
        if rule.metric == Metric::LatencyP99
            && let Some(max) = rule.max
            && max < median_ms
        {
            out.push((
                format!("{path}.metrics[{j}].max"),
                format!(
                    "{max} ms is below the candidate's median latency ({median_ms} ms): nearly every check fails without any fault (a bound in seconds? write \"{max}s\")"
                ),
            ));
        }
    }
    let window = match a.windows {
        Windows::SincePreviousCheck => a.interval,
        Windows::PerMetric => a
            .metrics
            .iter()
            .filter_map(|r| r.window)
            .max()
            .unwrap_or(a.interval),
    };
    let traffic = &scenario.service.traffic;
    let most = traffic.rate_per_s * traffic.max_shape() * window.as_secs_f64();
    if a.min_requests as f64 > most {
        out.push((
            format!("{path}.min_requests"),
            format!(
                "{} requests per check is more than a {} window holds even with all traffic at its peak (about {}): every check is inconclusive",
                a.min_requests,
                window.human(),
                most.floor()
            ),
        ));
    }
    out
}

/// Every weight of a ladder below 1 %: fractions (0.1) written where percentages (10) go.
fn fraction_weights(kind: &StrategyKind, path: &str) -> Option<(String, String)> {
    let (weights, field): (Vec<f64>, &str) = match kind {
        StrategyKind::Canary(c) => (c.steps.iter().map(|s| s.percent).collect(), "steps"),
        StrategyKind::FeatureFlag(f) => (f.steps.iter().map(|s| s.percent).collect(), "steps"),
        StrategyKind::Flagger(f) => match &f.ladder {
            FlaggerLadder::Explicit(w) => (w.clone(), "step_weights"),
            FlaggerLadder::Linear { max, .. } => (vec![*max], "max_weight"),
        },
        _ => return None,
    };
    (!weights.is_empty() && weights.iter().all(|w| *w < 1.0)).then(|| {
        (
            format!("{path}.{field}"),
            "every weight is below 1 %: weights are percentages (10 for 10 %), not fractions (0.1)"
                .to_string(),
        )
    })
}

/// The least time strategy `s` needs to promote: its pauses, or its ticks for Flagger.
fn min_rollout(s: &crate::strategy::StrategySpec) -> Option<SimTime> {
    let pauses = |steps: &[Step]| SimTime(steps.iter().map(|st| st.pause.micros()).sum());
    match &s.kind {
        StrategyKind::Canary(c) => Some(pauses(&c.steps)),
        StrategyKind::FeatureFlag(f) => Some(pauses(&f.steps)),
        StrategyKind::Flagger(f) => {
            let interval = s.analysis.as_ref()?.interval;
            let steps = match &f.ladder {
                FlaggerLadder::Explicit(w) => w.len() as u64,
                FlaggerLadder::Linear { step, max } => (max / step).ceil() as u64,
            };
            // One tick per weight after the first.
            Some(SimTime(
                interval.micros().saturating_mul(steps.saturating_sub(1)),
            ))
        }
        _ => None,
    }
}
