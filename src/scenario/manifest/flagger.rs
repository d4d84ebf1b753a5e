//! A Flagger `Canary` (flagger.app/v1beta1) as a `kind = "flagger"` strategy.

use super::source::{Cx, Mapping, Obj, Out};
use super::yaml::{Node, Value as Y};
use std::collections::BTreeMap;
use toml::{Table, Value};

/// Flagger's built-in success-rate check: a percentage (`thresholdRange.min: 99`).
const SUCCESS_RATE: &str = "request-success-rate";
/// Flagger's built-in latency check: milliseconds.
const DURATION: &str = "request-duration";

/// A number as TOML writes it: an integer when whole.
pub(super) fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        Value::Integer(x as i64)
    } else {
        Value::Float(x)
    }
}

/// `x` rounded to 12 decimals, so that `(100 − 99.9) / 100` reads as the 0.001 a person
/// would write.
fn tidy(x: f64) -> f64 {
    (x * 1e12).round() / 1e12
}

impl Cx<'_> {
    pub(super) fn flagger(&self, o: &Obj) -> Option<Out> {
        self.warn_written(o);
        let mut s = Table::new();
        s.insert("kind".into(), Value::String("flagger".into()));
        if o.get("spec.analysis").is_none() {
            self.error(
                o,
                "spec.analysis",
                "missing `analysis`: a Canary needs spec.analysis (interval, threshold, stepWeight and maxWeight or stepWeights, metrics)",
            );
            return None;
        }
        let a = "spec.analysis";
        let mut analysis = Table::new();
        if let Some(i) = self.duration(o, &format!("{a}.interval")) {
            analysis.insert("interval".into(), Value::String(i));
        }
        if let Some(t) = self.int(o, &format!("{a}.threshold"), i64::from(i32::MIN)) {
            // Flagger: a threshold ≤ 0 is 1 (GetAnalysisThreshold).
            analysis.insert("threshold".into(), Value::Integer(t.max(1)));
        }
        for (yaml, key) in [
            ("stepWeight", "step_weight"),
            ("maxWeight", "max_weight"),
            ("stepWeightPromotion", "step_weight_promotion"),
        ] {
            let p = format!("{a}.{yaml}");
            if let Some(w) = self.num(o, &p) {
                if w > 0.0 && w <= 100.0 {
                    s.insert(key.into(), number(w));
                } else {
                    self.error(
                        o,
                        &p,
                        format!("{w} is not allowed; expected a percentage in (0, 100]"),
                    );
                }
            }
        }
        if let Some(ws) = o.get(&format!("{a}.stepWeights")) {
            let mut out = Vec::new();
            for i in 0..ws.items().len() {
                let p = format!("{a}.stepWeights[{i}]");
                match self.num(o, &p) {
                    Some(w) if w > 0.0 && w <= 100.0 => out.push(number(w)),
                    Some(w) => self.error(
                        o,
                        &p,
                        format!("{w} is not allowed; expected a percentage in (0, 100]"),
                    ),
                    None => {}
                }
            }
            if !matches!(ws.value, Y::Seq(_)) {
                self.error(
                    o,
                    &format!("{a}.stepWeights"),
                    "expected a list of weights, e.g. [1, 2, 10, 80]",
                );
            }
            s.insert("step_weights".into(), Value::Array(out));
        }
        let iterations = self.int(o, &format!("{a}.iterations"), 0).unwrap_or(0);
        if iterations > 0 {
            let ab = o.get(&format!("{a}.match")).is_some();
            if ab && !self.extras.iter().any(|k| k == "match_share") {
                self.error(
                    o,
                    &format!("{a}.match"),
                    "A/B testing routes the users whose headers or cookies match; rehearsal needs their share: write match_share = <percent of users> beside `manifest`",
                );
            }
            s.insert(
                "mode".into(),
                Value::String(if ab { "ab" } else { "blue_green" }.into()),
            );
            s.insert("iterations".into(), Value::Integer(iterations));
        }
        // Flagger's sessionAffinity is a cookie ({ cookieName, maxAge }): present means sticky.
        if o.get(&format!("{a}.sessionAffinity")).is_some() && iterations == 0 {
            s.insert("session_affinity".into(), Value::Boolean(true));
        }
        if let Some(b) = self.flag(o, "spec.skipAnalysis") {
            s.insert("skip_analysis".into(), Value::Boolean(b));
        }
        if let Some(d) = self.seconds(o, "spec.progressDeadlineSeconds") {
            s.insert("progress_deadline".into(), Value::String(d));
        }
        let metrics = self.flagger_metrics(o);
        analysis.insert("metrics".into(), Value::Array(metrics));
        s.insert("analysis".into(), Value::Table(analysis));
        if let Some(rate) = self.load_test(o) {
            s.insert("load_test_rate".into(), number(rate));
        }
        let target = self.text(o, "spec.targetRef.name");
        let hpa = self.text(o, "spec.autoscalerRef.name");
        let workload = self.object("Deployment", target.as_deref());
        Some(Out {
            strategy: s,
            templates: BTreeMap::new(),
            fleet: self.fleet(workload, hpa.as_deref()),
        })
    }

    /// `spec.analysis.metrics`: the built-in checks by themselves, any other through its
    /// `[strategies.metrics]` entry.
    fn flagger_metrics(&self, o: &Obj) -> Vec<Value> {
        let base = "spec.analysis.metrics";
        let count = o.get(base).map_or(0, |m| m.items().len());
        let mut out = Vec::new();
        for i in 0..count {
            let p = format!("{base}[{i}]");
            let Some(name) = self.text(o, &format!("{p}.name")) else {
                self.error(o, &p, "missing `name`: each metric needs a name");
                continue;
            };
            let custom = o.get(&format!("{p}.templateRef")).is_some()
                || o.get(&format!("{p}.query")).is_some();
            let mapping = match (self.maps.get(&name), name.as_str(), custom) {
                (Some(m), _, _) => m.clone(),
                (None, SUCCESS_RATE, false) => Mapping {
                    measure: "success_rate".into(),
                    scope: None,
                    window: None,
                    unit: Some("percent".into()),
                },
                (None, DURATION, false) => Mapping {
                    measure: "latency_p99".into(),
                    scope: None,
                    window: None,
                    unit: Some("ms".into()),
                },
                (None, _, _) => {
                    self.error(
                        o,
                        &format!("{p}.name"),
                        format!(
                            "no mapping for the query \"{name}\": rehearsal cannot run PromQL, so say what it measures in the scenario: [strategies.metrics] \"{name}\" = {{ measure = \"success_rate\", unit = \"percent\" }} (measure: success_rate, error_rate, latency_p99 or bad_write_rate; unit: ratio or percent, ms or s)"
                        ),
                    );
                    continue;
                }
            };
            if mapping.scope.as_deref().is_some_and(|s| s != "candidate") {
                self.error(
                    o,
                    &format!("{p}.name"),
                    format!("the mapping of \"{name}\" has scope = \"service\": a flagger analysis judges the canary's own requests (Flagger's queries select the canary workload); scope is for Argo templates"),
                );
                continue;
            }
            let range = format!("{p}.thresholdRange");
            if o.get(&range).is_none() {
                // Flagger runs the query and has nothing to compare it with.
                continue;
            }
            let min = self.num(o, &format!("{range}.min"));
            let max = self.num(o, &format!("{range}.max"));
            let mut m = Table::new();
            let (metric, lo, hi) = convert(&mapping, min, max);
            m.insert("name".into(), Value::String(metric.into()));
            if let Some(x) = lo {
                m.insert("min".into(), number(x));
            }
            if let Some(x) = hi {
                m.insert("max".into(), number(x));
            }
            if let Some(w) = self
                .duration(o, &format!("{p}.interval"))
                .or(mapping.window.clone())
            {
                m.insert("window".into(), Value::String(w));
            }
            if let (Some(a), Some(b)) = (min, max)
                && a > b
            {
                self.error(
                    o,
                    &range,
                    format!("min {a} is above max {b}: no value passes"),
                );
            }
            out.push(Value::Table(m));
        }
        out
    }

    /// The load tester's rate: a `rollout` webhook running `hey -q Q -c C` sends Q × C
    /// requests per second (hey's `-c` defaults to 50). Other hooks are warned about.
    fn load_test(&self, o: &Obj) -> Option<f64> {
        let hooks = o.get("spec.analysis.webhooks")?;
        let mut rate = None;
        for (i, h) in hooks.items().iter().enumerate() {
            let p = format!("spec.analysis.webhooks[{i}]");
            let kind = h.get("type").and_then(Node::str).unwrap_or("rollout");
            let cmd = h.at_path("metadata.cmd").and_then(Node::str).unwrap_or("");
            match (kind, hey_rate(cmd)) {
                ("rollout", Some(r)) => rate = Some(rate.unwrap_or(0.0) + r),
                _ => {
                    let name = h.get("name").and_then(Node::str).unwrap_or("");
                    let note = super::fields::find("Canary", "spec.analysis.webhooks[]")
                        .map_or("", |f| f.note);
                    self.warn_that(
                        o,
                        &p,
                        format!("the {kind} hook \"{name}\" is not simulated: {note}"),
                    );
                }
            }
        }
        rate
    }
}

/// The requests per second of a `hey` command line with a `-q` limit.
fn hey_rate(cmd: &str) -> Option<f64> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    if words.first() != Some(&"hey") {
        return None;
    }
    let flag = |f: &str| {
        words
            .windows(2)
            .find(|w| w[0] == f)
            .and_then(|w| w[1].parse::<f64>().ok())
    };
    let q = flag("-q")?;
    Some(q * flag("-c").unwrap_or(50.0))
}

/// A mapped query's bounds as rehearsal's metric and bounds: a success rate's min is an
/// error rate's max (`1 − min`), percentages become fractions, seconds milliseconds.
fn convert(
    m: &Mapping,
    min: Option<f64>,
    max: Option<f64>,
) -> (&'static str, Option<f64>, Option<f64>) {
    let scale = match m.unit.as_deref() {
        Some("percent") => 100.0,
        Some("s") => 0.001,
        _ => 1.0,
    };
    let s = |x: Option<f64>| x.map(|v| tidy(v / scale));
    match m.measure.as_str() {
        "success_rate" => (
            "error_rate",
            max.map(|v| tidy(1.0 - v / scale)),
            min.map(|v| tidy(1.0 - v / scale)),
        ),
        "latency_p99" => ("latency_p99", s(min), s(max)),
        "bad_write_rate" => ("bad_write_rate", s(min), s(max)),
        _ => ("error_rate", s(min), s(max)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hey_commands_give_their_rate() {
        assert_eq!(
            hey_rate("hey -z 1m -q 10 -c 2 http://podinfo-canary:9898/"),
            Some(20.0)
        );
        assert_eq!(hey_rate("hey -z 1m -q 5 http://x/"), Some(250.0));
        assert_eq!(hey_rate("hey -z 1m http://x/"), None);
        assert_eq!(hey_rate("curl -s http://x/"), None);
    }

    #[test]
    fn success_rate_percent_becomes_an_error_rate_bound() {
        let m = Mapping {
            measure: "success_rate".into(),
            scope: None,
            window: None,
            unit: Some("percent".into()),
        };
        assert_eq!(
            convert(&m, Some(99.0), None),
            ("error_rate", None, Some(0.01))
        );
        assert_eq!(
            convert(&m, Some(99.9), None),
            ("error_rate", None, Some(0.001))
        );
        let s = Mapping {
            measure: "latency_p99".into(),
            unit: Some("s".into()),
            ..m
        };
        assert_eq!(
            convert(&s, None, Some(0.5)),
            ("latency_p99", None, Some(500.0))
        );
    }
}
