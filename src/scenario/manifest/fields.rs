//! Every manifest field rehearsal knows, and what it does with it: mapped onto a strategy
//! field, warned about (it changes the controller's behaviour and is not modelled), or
//! ignored (it does not change what the simulation measures). The importer warns from this
//! table and the documentation's mapping table is generated from it, so the two agree.

/// What the importer does with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treatment {
    /// Read into the strategy field named (or, for a note, into what the note says).
    Mapped(&'static str),
    /// Changes the controller's behaviour and is not modelled: a warning with its place.
    Warned,
    /// Read by the controller but without effect on what rehearsal measures.
    Ignored,
}

/// One manifest field. `[]` stands for any item of a sequence.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The object: `Canary`, `Rollout`, `AnalysisTemplate`, `MetricTemplate`,
    /// `Deployment`, `HorizontalPodAutoscaler`.
    pub object: &'static str,
    /// YAML path inside the object.
    pub path: &'static str,
    /// What happens to it.
    pub treatment: Treatment,
    /// The mapping's rule, or why the field is warned about or ignored.
    pub note: &'static str,
}

use Treatment::{Ignored, Mapped, Warned};

const fn f(
    object: &'static str,
    path: &'static str,
    treatment: Treatment,
    note: &'static str,
) -> Field {
    Field {
        object,
        path,
        treatment,
        note,
    }
}

/// The table, object by object.
pub const FIELDS: &[Field] = &[
    // Flagger Canary (flagger.app/v1beta1).
    f(
        "Canary",
        "metadata.name",
        Mapped("name"),
        "the strategy's name unless the scenario gives `name`",
    ),
    f(
        "Canary",
        "spec.targetRef",
        Mapped("[fleet]"),
        "the Deployment of that name in the same files feeds `[fleet]`",
    ),
    f(
        "Canary",
        "spec.autoscalerRef",
        Mapped("[fleet]"),
        "the HPA of that name: its `minReplicas` is `fleet.instances` when the Deployment sets no `replicas`",
    ),
    f(
        "Canary",
        "spec.autoscalerRef.primaryScalerReplicas",
        Warned,
        "no autoscaler is modelled: the primary keeps the fleet's size",
    ),
    f(
        "Canary",
        "spec.progressDeadlineSeconds",
        Mapped("progress_deadline"),
        "seconds; default 600",
    ),
    f("Canary", "spec.skipAnalysis", Mapped("skip_analysis"), ""),
    f(
        "Canary",
        "spec.suspend",
        Warned,
        "a suspended Canary never runs; rehearsal runs it",
    ),
    f(
        "Canary",
        "spec.service",
        Ignored,
        "ports, gateways, hosts, retries and timeouts: routing is modelled as weights",
    ),
    f(
        "Canary",
        "spec.provider",
        Ignored,
        "the mesh or ingress: routing is modelled as exact weights",
    ),
    f(
        "Canary",
        "spec.revertOnDeletion",
        Ignored,
        "acts when the Canary is deleted",
    ),
    f("Canary", "spec.analysis", Mapped("analysis"), "required"),
    f(
        "Canary",
        "spec.analysis.interval",
        Mapped("analysis.interval"),
        "Flagger's 10 s floor and 60 s default apply",
    ),
    f(
        "Canary",
        "spec.analysis.threshold",
        Mapped("analysis.threshold"),
        "≤ 0 becomes 1, as Flagger does",
    ),
    f(
        "Canary",
        "spec.analysis.stepWeight",
        Mapped("step_weight"),
        "",
    ),
    f(
        "Canary",
        "spec.analysis.maxWeight",
        Mapped("max_weight"),
        "",
    ),
    f(
        "Canary",
        "spec.analysis.stepWeights",
        Mapped("step_weights"),
        "",
    ),
    f(
        "Canary",
        "spec.analysis.stepWeightPromotion",
        Mapped("step_weight_promotion"),
        "",
    ),
    f(
        "Canary",
        "spec.analysis.iterations",
        Mapped("iterations"),
        "with `match`: mode = \"ab\"; without: mode = \"blue_green\"",
    ),
    f(
        "Canary",
        "spec.analysis.match",
        Mapped("mode"),
        "A/B testing; needs `match_share` beside `manifest` (the share of users whose headers or cookies match)",
    ),
    f(
        "Canary",
        "spec.analysis.sessionAffinity",
        Mapped("session_affinity"),
        "",
    ),
    f(
        "Canary",
        "spec.analysis.mirror",
        Warned,
        "traffic mirroring is not modelled: the canary gets no shadow traffic",
    ),
    f(
        "Canary",
        "spec.analysis.mirrorWeight",
        Warned,
        "traffic mirroring is not modelled",
    ),
    f(
        "Canary",
        "spec.analysis.primaryReadyThreshold",
        Ignored,
        "readiness is all or nothing per instance",
    ),
    f(
        "Canary",
        "spec.analysis.canaryReadyThreshold",
        Ignored,
        "readiness is all or nothing per instance",
    ),
    f("Canary", "spec.analysis.alerts", Ignored, "notifications"),
    f(
        "Canary",
        "spec.analysis.metrics[].name",
        Mapped("analysis.metrics"),
        "`request-success-rate` → `error_rate`, `request-duration` → `latency_p99`; any other name needs `[strategies.metrics]`",
    ),
    f(
        "Canary",
        "spec.analysis.metrics[].thresholdRange.min",
        Mapped("analysis.metrics[].max or min"),
        "success rate in percent: min 99 is `error_rate` max 0.01",
    ),
    f(
        "Canary",
        "spec.analysis.metrics[].thresholdRange.max",
        Mapped("analysis.metrics[].max or min"),
        "request-duration in milliseconds",
    ),
    f(
        "Canary",
        "spec.analysis.metrics[].interval",
        Mapped("analysis.metrics[].window"),
        "the query's range; default 1m",
    ),
    f(
        "Canary",
        "spec.analysis.metrics[].templateRef",
        Mapped("[strategies.metrics]"),
        "the query is not read: the mapping says what it measures",
    ),
    f(
        "Canary",
        "spec.analysis.metrics[].query",
        Mapped("[strategies.metrics]"),
        "the query is not read: the mapping says what it measures",
    ),
    f(
        "Canary",
        "spec.analysis.metrics[].templateVariables",
        Ignored,
        "query variables",
    ),
    f(
        "Canary",
        "spec.analysis.webhooks[]",
        Warned,
        "hooks are not modelled, except a `rollout` hook running `hey` (the load tester)",
    ),
    f(
        "Canary",
        "spec.analysis.webhooks[].metadata.cmd",
        Mapped("load_test_rate"),
        "`hey -q Q -c C`: Q × C requests per second",
    ),
    // Flagger MetricTemplate.
    f(
        "MetricTemplate",
        "spec.query",
        Ignored,
        "the query is not read: `[strategies.metrics]` says what it measures",
    ),
    f(
        "MetricTemplate",
        "spec.provider",
        Ignored,
        "measurements come from the simulation",
    ),
    // Argo Rollout (argoproj.io/v1alpha1).
    f(
        "Rollout",
        "metadata.name",
        Mapped("name"),
        "the strategy's name unless the scenario gives `name`",
    ),
    f(
        "Rollout",
        "spec.replicas",
        Mapped("fleet.instances"),
        "when the scenario leaves it out",
    ),
    f(
        "Rollout",
        "spec.workloadRef",
        Mapped("[fleet]"),
        "the Deployment of that name in the same files feeds `[fleet]`",
    ),
    f(
        "Rollout",
        "spec.template",
        Mapped("fleet.startup"),
        "the first container's readiness probe",
    ),
    f(
        "Rollout",
        "spec.progressDeadlineSeconds",
        Mapped("progress_deadline"),
        "seconds; default 600",
    ),
    f(
        "Rollout",
        "spec.progressDeadlineAbort",
        Mapped("progress_deadline_abort"),
        "default false: Degraded, no abort",
    ),
    f(
        "Rollout",
        "spec.minReadySeconds",
        Warned,
        "instances are available as soon as they are ready",
    ),
    f("Rollout", "spec.revisionHistoryLimit", Ignored, ""),
    f(
        "Rollout",
        "spec.strategy.canary.steps[].setWeight",
        Mapped("steps[].set_weight"),
        "",
    ),
    f(
        "Rollout",
        "spec.strategy.canary.steps[].pause",
        Mapped("steps[].pause"),
        "`{}` waits for a human (`promotion_delay`)",
    ),
    f(
        "Rollout",
        "spec.strategy.canary.steps[].pause.duration",
        Mapped("steps[].pause"),
        "a duration string, or whole seconds",
    ),
    f(
        "Rollout",
        "spec.strategy.canary.steps[].analysis.templates[].templateName",
        Mapped("steps[].analysis.templates"),
        "",
    ),
    f(
        "Rollout",
        "spec.strategy.canary.steps[].experiment",
        Warned,
        "experiments are not modelled: the step is skipped",
    ),
    f(
        "Rollout",
        "spec.strategy.canary.steps[].setCanaryScale",
        Warned,
        "canary replicas follow the weight: the step is skipped",
    ),
    f(
        "Rollout",
        "spec.strategy.canary.steps[].setHeaderRoute",
        Warned,
        "header routing is not modelled: the step is skipped",
    ),
    f(
        "Rollout",
        "spec.strategy.canary.steps[].setMirrorRoute",
        Warned,
        "mirroring is not modelled: the step is skipped",
    ),
    f(
        "Rollout",
        "spec.strategy.canary.steps[].plugin",
        Warned,
        "step plugins are not modelled: the step is skipped",
    ),
    f(
        "Rollout",
        "spec.strategy.canary.analysis.templates[].templateName",
        Mapped("background_analysis.templates"),
        "",
    ),
    f(
        "Rollout",
        "spec.strategy.canary.analysis.startingStep",
        Mapped("background_analysis.starting_step"),
        "",
    ),
    f(
        "Rollout",
        "spec.strategy.canary.analysis.args",
        Ignored,
        "arguments feed queries, which are not read",
    ),
    f(
        "Rollout",
        "spec.strategy.canary.dynamicStableScale",
        Mapped("dynamic_stable_scale"),
        "",
    ),
    f(
        "Rollout",
        "spec.strategy.canary.scaleDownDelaySeconds",
        Mapped("scale_down_delay"),
        "seconds",
    ),
    f(
        "Rollout",
        "spec.strategy.canary.abortScaleDownDelaySeconds",
        Mapped("abort_scale_down_delay"),
        "seconds",
    ),
    f(
        "Rollout",
        "spec.strategy.canary.trafficRouting",
        Ignored,
        "present: weights are exact, as modelled",
    ),
    f(
        "Rollout",
        "spec.strategy.canary",
        Warned,
        "without `trafficRouting` Argo weights by replica counts; rehearsal routes the exact weight",
    ),
    f(
        "Rollout",
        "spec.strategy.canary.maxSurge",
        Ignored,
        "with traffic routing the canary's replicas follow the weight",
    ),
    f(
        "Rollout",
        "spec.strategy.canary.maxUnavailable",
        Ignored,
        "with traffic routing the canary's replicas follow the weight",
    ),
    f("Rollout", "spec.strategy.canary.canaryService", Ignored, ""),
    f("Rollout", "spec.strategy.canary.stableService", Ignored, ""),
    f("Rollout", "spec.strategy.canary.antiAffinity", Ignored, ""),
    f(
        "Rollout",
        "spec.strategy.blueGreen.activeService",
        Ignored,
        "",
    ),
    f(
        "Rollout",
        "spec.strategy.blueGreen.previewService",
        Ignored,
        "",
    ),
    f(
        "Rollout",
        "spec.strategy.blueGreen.autoPromotionEnabled",
        Warned,
        "false waits for a human before the switch; not modelled: the switch is automatic",
    ),
    f(
        "Rollout",
        "spec.strategy.blueGreen.autoPromotionSeconds",
        Mapped("auto_promotion_delay"),
        "seconds",
    ),
    f(
        "Rollout",
        "spec.strategy.blueGreen.previewReplicaCount",
        Mapped("preview_replicas"),
        "",
    ),
    f(
        "Rollout",
        "spec.strategy.blueGreen.prePromotionAnalysis.templates[].templateName",
        Mapped("pre_promotion_analysis.templates"),
        "the preview gets no user traffic: give `preview_rate` (load-test requests per second) beside `manifest`",
    ),
    f(
        "Rollout",
        "spec.strategy.blueGreen.postPromotionAnalysis.templates[].templateName",
        Mapped("post_promotion_analysis.templates"),
        "without it: `post_promotion = \"0s\"` (no analysis after the switch)",
    ),
    f(
        "Rollout",
        "spec.strategy.blueGreen.scaleDownDelaySeconds",
        Mapped("scale_down_delay"),
        "seconds; default 30",
    ),
    f(
        "Rollout",
        "spec.strategy.blueGreen.abortScaleDownDelaySeconds",
        Ignored,
        "cost only",
    ),
    f(
        "Rollout",
        "spec.strategy.blueGreen.previewMetadata",
        Ignored,
        "",
    ),
    f(
        "Rollout",
        "spec.strategy.blueGreen.activeMetadata",
        Ignored,
        "",
    ),
    // Argo AnalysisTemplate / ClusterAnalysisTemplate.
    f(
        "AnalysisTemplate",
        "metadata.name",
        Mapped("[analysis_templates.<name>]"),
        "",
    ),
    f(
        "AnalysisTemplate",
        "spec.metrics[].name",
        Mapped("metrics[].name"),
        "and the key of its `[strategies.metrics]` entry (measure, scope, window)",
    ),
    f(
        "AnalysisTemplate",
        "spec.metrics[].interval",
        Mapped("metrics[].interval"),
        "",
    ),
    f(
        "AnalysisTemplate",
        "spec.metrics[].count",
        Mapped("metrics[].count"),
        "",
    ),
    f(
        "AnalysisTemplate",
        "spec.metrics[].initialDelay",
        Mapped("metrics[].initial_delay"),
        "",
    ),
    f(
        "AnalysisTemplate",
        "spec.metrics[].failureLimit",
        Mapped("metrics[].failure_limit"),
        "",
    ),
    f(
        "AnalysisTemplate",
        "spec.metrics[].inconclusiveLimit",
        Mapped("metrics[].inconclusive_limit"),
        "",
    ),
    f(
        "AnalysisTemplate",
        "spec.metrics[].consecutiveErrorLimit",
        Mapped("metrics[].consecutive_error_limit"),
        "",
    ),
    f(
        "AnalysisTemplate",
        "spec.metrics[].successCondition",
        Mapped("metrics[].success_condition"),
        "the supported expression subset",
    ),
    f(
        "AnalysisTemplate",
        "spec.metrics[].failureCondition",
        Mapped("metrics[].failure_condition"),
        "the supported expression subset",
    ),
    f(
        "AnalysisTemplate",
        "spec.metrics[].provider",
        Mapped("[strategies.metrics]"),
        "the query is not read: the mapping says what it measures",
    ),
    f(
        "AnalysisTemplate",
        "spec.metrics[].consecutiveSuccessLimit",
        Warned,
        "not modelled",
    ),
    f(
        "AnalysisTemplate",
        "spec.metrics[].dryRun",
        Warned,
        "dry-run metrics are not modelled: this one counts",
    ),
    f(
        "AnalysisTemplate",
        "spec.dryRun",
        Warned,
        "dry-run metrics are not modelled: they count",
    ),
    f(
        "AnalysisTemplate",
        "spec.measurementRetention",
        Ignored,
        "bookkeeping",
    ),
    f(
        "AnalysisTemplate",
        "spec.args",
        Ignored,
        "arguments feed queries, which are not read",
    ),
    // Kubernetes.
    f(
        "Deployment",
        "spec.replicas",
        Mapped("fleet.instances"),
        "when the scenario leaves it out",
    ),
    f(
        "Deployment",
        "spec.template.spec.containers[].readinessProbe",
        Mapped("fleet.startup"),
        "the earliest Ready: initialDelaySeconds + (successThreshold − 1) × periodSeconds (defaults 0, 10, 1)",
    ),
    f(
        "Deployment",
        "spec.strategy.rollingUpdate.maxSurge",
        Mapped("max_surge"),
        "a Deployment alone is a rolling update",
    ),
    f(
        "Deployment",
        "spec.strategy.rollingUpdate.maxUnavailable",
        Mapped("max_unavailable"),
        "a Deployment alone is a rolling update",
    ),
    f(
        "Deployment",
        "spec.minReadySeconds",
        Mapped("min_ready"),
        "a Deployment alone is a rolling update",
    ),
    f(
        "Deployment",
        "spec.progressDeadlineSeconds",
        Mapped("progress_deadline"),
        "a Deployment alone is a rolling update",
    ),
    f(
        "Deployment",
        "spec.strategy.type",
        Mapped("kind"),
        "`Recreate` is refused: rehearsal models rolling updates",
    ),
    f(
        "HorizontalPodAutoscaler",
        "spec.minReplicas",
        Mapped("fleet.instances"),
        "when neither the scenario nor the Deployment sets it",
    ),
    f(
        "HorizontalPodAutoscaler",
        "spec.maxReplicas",
        Ignored,
        "no autoscaling is modelled",
    ),
];

/// The field of `object` at `path` (`[]` for sequence items).
pub fn find(object: &str, path: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.object == object && f.path == path)
}

/// The mapping table as Markdown, one row a field.
pub fn markdown() -> String {
    let mut out =
        String::from("| object | field | treatment | rule or reason |\n|---|---|---|---|\n");
    for f in FIELDS {
        let treatment = match f.treatment {
            Mapped(to) => format!("mapped → `{to}`"),
            Warned => "warned".to_string(),
            Ignored => "ignored".to_string(),
        };
        out.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            f.object, f.path, treatment, f.note
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    /// `REHEARSAL_BLESS=1 cargo test --lib manifest::fields` writes the table into
    /// docs/manifests.md between its markers; the integration test checks it is there.
    #[test]
    fn bless_the_documented_table() {
        if std::env::var_os("REHEARSAL_BLESS").is_none() {
            return;
        }
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/manifests.md");
        let doc = std::fs::read_to_string(&path).unwrap();
        let (head, rest) = doc.split_once("<!-- fields:begin -->\n").unwrap();
        let (_, tail) = rest.split_once("<!-- fields:end -->").unwrap();
        let doc = format!(
            "{head}<!-- fields:begin -->\n{}<!-- fields:end -->{tail}",
            super::markdown()
        );
        std::fs::write(&path, doc).unwrap();
    }
}
