//! An Argo `Rollout` (argoproj.io/v1alpha1) as a `kind = "argo_canary"` or
//! `kind = "blue_green"` strategy, and its `AnalysisTemplate`s as `[analysis_templates]`.

use super::flagger::number;
use super::source::{Cx, Obj, Out};
use super::yaml::Value as Y;
use crate::detect::Condition;
use std::collections::BTreeMap;
use std::path::PathBuf;
use toml::{Table, Value};

/// Step kinds that change the rollout and are not modelled: warned about and skipped.
const SKIPPED_STEPS: [&str; 5] = [
    "experiment",
    "setCanaryScale",
    "setHeaderRoute",
    "setMirrorRoute",
    "plugin",
];

impl Cx<'_> {
    pub(super) fn rollout(&self, o: &Obj) -> Option<Out> {
        self.warn_written(o);
        let mut s = Table::new();
        let mut names: Vec<(String, String)> = Vec::new();
        if let Some(d) = self.seconds(o, "spec.progressDeadlineSeconds") {
            s.insert("progress_deadline".into(), Value::String(d));
        }
        if let Some(b) = self.flag(o, "spec.progressDeadlineAbort") {
            s.insert("progress_deadline_abort".into(), Value::Boolean(b));
        }
        if o.get("spec.strategy.canary").is_some() {
            self.argo_canary(o, &mut s, &mut names);
        } else if o.get("spec.strategy.blueGreen").is_some() {
            self.argo_blue_green(o, &mut s, &mut names);
        } else {
            self.error(
                o,
                "spec.strategy",
                "missing: a Rollout needs spec.strategy.canary or spec.strategy.blueGreen",
            );
            return None;
        }
        let mut templates = BTreeMap::new();
        for (name, path) in names {
            if templates.contains_key(&name) {
                continue;
            }
            match self.object("AnalysisTemplate", Some(&name)) {
                Some(t) => {
                    if let Some(table) = self.template(&t) {
                        templates.insert(name, (PathBuf::from(t.file), table));
                    }
                }
                None => self.error(
                    o,
                    &path,
                    format!("no AnalysisTemplate \"{name}\" in the manifest or its `templates` files; add the file that defines it to `templates` beside `manifest`"),
                ),
            }
        }
        let workload = match o.get("spec.workloadRef") {
            Some(_) => self.object(
                "Deployment",
                self.text(o, "spec.workloadRef.name").as_deref(),
            ),
            None => Some(*o),
        };
        let mut fleet = self.fleet(workload, None);
        if fleet.instances.is_none() {
            fleet.instances = self.int(o, "spec.replicas", 1);
        }
        Some(Out {
            strategy: s,
            templates,
            fleet,
        })
    }

    /// `spec.strategy.canary`: steps, background analysis and the scaling fields.
    fn argo_canary(&self, o: &Obj, s: &mut Table, names: &mut Vec<(String, String)>) {
        let c = "spec.strategy.canary";
        s.insert("kind".into(), Value::String("argo_canary".into()));
        if o.get(&format!("{c}.trafficRouting")).is_none() {
            self.warn(o, c, c);
        }
        let count = o.get(&format!("{c}.steps")).map_or(0, |n| n.items().len());
        let mut steps = Vec::new();
        for i in 0..count {
            let p = format!("{c}.steps[{i}]");
            let Some(step) = o.get(&p) else { continue };
            let mut t = Table::new();
            if let Some(skipped) = SKIPPED_STEPS.iter().find(|k| step.get(k).is_some()) {
                self.warn(
                    o,
                    &format!("{c}.steps[].{skipped}"),
                    &format!("{p}.{skipped}"),
                );
                continue;
            }
            if step.get("setWeight").is_some() {
                let wp = format!("{p}.setWeight");
                match self.num(o, &wp) {
                    Some(w) if (0.0..=100.0).contains(&w) => {
                        t.insert("set_weight".into(), number(w));
                    }
                    Some(w) => self.error(
                        o,
                        &wp,
                        format!("{w} is not allowed; expected a percentage from 0 to 100"),
                    ),
                    None => {}
                }
            } else if let Some(pause) = step.get("pause") {
                let pp = format!("{p}.pause");
                match &pause.value {
                    Y::Map(m) if m.is_empty() => {
                        t.insert("pause".into(), Value::Table(Table::new()));
                    }
                    Y::Null => {
                        t.insert("pause".into(), Value::Table(Table::new()));
                    }
                    _ => match self.duration(o, &format!("{pp}.duration")) {
                        Some(d) => {
                            t.insert("pause".into(), Value::String(d));
                        }
                        None if pause.get("duration").is_none() => self.error(
                            o,
                            &pp,
                            "expected {} (wait for a human) or { duration: 10m }",
                        ),
                        None => {}
                    },
                }
            } else if step.get("analysis").is_some() {
                let list = self.template_names(o, &format!("{p}.analysis"), names);
                let mut a = Table::new();
                a.insert("templates".into(), Value::Array(list));
                t.insert("analysis".into(), Value::Table(a));
            } else {
                self.error(o, &p, "expected a step with setWeight, pause or analysis (or one of the warned kinds: experiment, setCanaryScale, setHeaderRoute, setMirrorRoute, plugin)");
                continue;
            }
            steps.push(Value::Table(t));
        }
        if count == 0 {
            // Argo with no steps promotes at once.
            let mut t = Table::new();
            t.insert("set_weight".into(), Value::Integer(100));
            steps.push(Value::Table(t));
        }
        s.insert("steps".into(), Value::Array(steps));
        let bg = format!("{c}.analysis");
        if o.get(&bg).is_some() {
            let list = self.template_names(o, &bg, names);
            let mut b = Table::new();
            b.insert("templates".into(), Value::Array(list));
            if let Some(k) = self.int(o, &format!("{bg}.startingStep"), 0) {
                b.insert("starting_step".into(), Value::Integer(k));
            }
            s.insert("background_analysis".into(), Value::Table(b));
        }
        if let Some(b) = self.flag(o, &format!("{c}.dynamicStableScale")) {
            s.insert("dynamic_stable_scale".into(), Value::Boolean(b));
        }
        for (yaml, key) in [
            ("scaleDownDelaySeconds", "scale_down_delay"),
            ("abortScaleDownDelaySeconds", "abort_scale_down_delay"),
        ] {
            if let Some(d) = self.seconds(o, &format!("{c}.{yaml}")) {
                s.insert(key.into(), Value::String(d));
            }
        }
    }

    /// `spec.strategy.blueGreen`: the preview, the promotion and its analyses.
    fn argo_blue_green(&self, o: &Obj, s: &mut Table, names: &mut Vec<(String, String)>) {
        let b = "spec.strategy.blueGreen";
        s.insert("kind".into(), Value::String("blue_green".into()));
        if let Some(d) = self.seconds(o, &format!("{b}.autoPromotionSeconds")) {
            s.insert("auto_promotion_delay".into(), Value::String(d));
        }
        if let Some(n) = self.int(o, &format!("{b}.previewReplicaCount"), 1) {
            s.insert("preview_replicas".into(), Value::Integer(n));
        }
        if let Some(d) = self.seconds(o, &format!("{b}.scaleDownDelaySeconds")) {
            s.insert("scale_down_delay".into(), Value::String(d));
        }
        for (yaml, key) in [
            ("prePromotionAnalysis", "pre_promotion_analysis"),
            ("postPromotionAnalysis", "post_promotion_analysis"),
        ] {
            let p = format!("{b}.{yaml}");
            if o.get(&p).is_some() {
                let list = self.template_names(o, &p, names);
                let mut a = Table::new();
                a.insert("templates".into(), Value::Array(list));
                s.insert(key.into(), Value::Table(a));
            }
        }
        if !s.contains_key("post_promotion_analysis") {
            // Argo runs no analysis after the switch unless postPromotionAnalysis says so.
            s.insert("post_promotion".into(), Value::String("0s".into()));
        }
    }

    /// The `templates[].templateName` of an analysis at `path`, each recorded with its place.
    fn template_names(&self, o: &Obj, path: &str, names: &mut Vec<(String, String)>) -> Vec<Value> {
        let n = o
            .get(&format!("{path}.templates"))
            .map_or(0, |t| t.items().len());
        if n == 0 {
            self.error(o, path, "expected templates: [{ templateName: <name> }]");
        }
        let mut out = Vec::new();
        for i in 0..n {
            let p = format!("{path}.templates[{i}].templateName");
            match self.text(o, &p) {
                Some(name) => {
                    names.push((name.clone(), p));
                    out.push(Value::String(name));
                }
                None => self.error(
                    o,
                    &format!("{path}.templates[{i}]"),
                    "missing `templateName`",
                ),
            }
        }
        out
    }

    /// An AnalysisTemplate as an `[analysis_templates.<name>]` table; each metric's query
    /// through its `[strategies.metrics]` entry.
    fn template(&self, t: &Obj) -> Option<Table> {
        self.warn_written(t);
        let count = t.get("spec.metrics").map_or(0, |m| m.items().len());
        if count == 0 {
            self.error(
                t,
                "spec",
                "missing `metrics`: a template needs at least one metric",
            );
            return None;
        }
        let mut metrics = Vec::new();
        for i in 0..count {
            let p = format!("spec.metrics[{i}]");
            for w in ["consecutiveSuccessLimit", "dryRun"] {
                if t.get(&format!("{p}.{w}")).is_some() {
                    self.warn(t, &format!("spec.metrics[].{w}"), &format!("{p}.{w}"));
                }
            }
            let Some(name) = self.text(t, &format!("{p}.name")) else {
                self.error(t, &p, "missing `name`: each metric needs a name");
                continue;
            };
            let Some(map) = self.maps.get(&name) else {
                self.error(
                    t,
                    &format!("{p}.name"),
                    format!("no mapping for the query of metric \"{name}\": rehearsal cannot run provider queries, so say what it measures in the scenario: [strategies.metrics] \"{name}\" = {{ measure = \"success_rate\", scope = \"service\", window = \"5m\" }} (measure: success_rate, error_rate, latency_p99 in ms or bad_write_rate; scope: service or candidate)"),
                );
                continue;
            };
            if map.unit.is_some() {
                self.error(t, &format!("{p}.name"), format!("the mapping of \"{name}\" has a `unit`: an Argo condition reads the simulated provider's result (rates as fractions, latency in ms); remove `unit`"));
            }
            let mut m = Table::new();
            m.insert("name".into(), Value::String(name));
            m.insert("measure".into(), Value::String(map.measure.clone()));
            if let Some(sc) = &map.scope {
                m.insert("scope".into(), Value::String(sc.clone()));
            }
            if let Some(w) = &map.window {
                m.insert("window".into(), Value::String(w.clone()));
            }
            for (yaml, key) in [("interval", "interval"), ("initialDelay", "initial_delay")] {
                if let Some(d) = self.duration(t, &format!("{p}.{yaml}")) {
                    m.insert(key.into(), Value::String(d));
                }
            }
            for (yaml, key, min) in [
                ("count", "count", 0),
                ("failureLimit", "failure_limit", -1),
                ("inconclusiveLimit", "inconclusive_limit", 0),
                ("consecutiveErrorLimit", "consecutive_error_limit", 0),
            ] {
                if let Some(x) = self.int(t, &format!("{p}.{yaml}"), min) {
                    m.insert(key.into(), Value::Integer(x));
                }
            }
            for (yaml, key) in [
                ("successCondition", "success_condition"),
                ("failureCondition", "failure_condition"),
            ] {
                let cp = format!("{p}.{yaml}");
                if let Some(c) = self.text(t, &cp) {
                    match Condition::parse(&c) {
                        Ok(_) => {
                            m.insert(key.into(), Value::String(c));
                        }
                        Err(e) => self.error(t, &cp, format!("\"{c}\" cannot be evaluated: {e}")),
                    }
                }
            }
            metrics.push(Value::Table(m));
        }
        let mut table = Table::new();
        table.insert("metrics".into(), Value::Array(metrics));
        Some(table)
    }
}
