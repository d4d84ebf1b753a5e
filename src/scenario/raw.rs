//! The scenario file as written: serde structs that mirror the TOML one to one.
//!
//! Nothing here is interpreted. Durations stay strings and names stay unresolved until
//! [`super::resolve`] turns them into domain types, so that each error can name its field.
//! Every struct denies unknown fields: a typo is an error, never a silently ignored key.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub name: String,
    pub description: Option<String>,
    pub horizon: String,
    pub seed: Option<u64>,
    pub replications: Option<u32>,
    pub slo_latency: Option<String>,
    pub stable: Option<String>,
    pub candidate: Option<String>,
    pub traffic: RawTraffic,
    pub versions: BTreeMap<String, RawVersion>,
    pub fleet: Option<RawFleet>,
    #[serde(default)]
    pub faults: Vec<RawFault>,
    pub analysis: Option<RawAnalysis>,
    pub manual: Option<RawManual>,
    pub response: Option<RawResponse>,
    #[serde(default)]
    pub strategies: Vec<RawStrategy>,
    #[serde(default)]
    pub analysis_templates: BTreeMap<String, RawTemplate>,
    pub limits: Option<RawLimits>,
    pub database: Option<RawDatabase>,
    pub objectives: Option<RawObjectives>,
    /// `[[alerts]]` tables, or `alerts = "rules.yaml"`.
    pub alerts: Option<RawAlerts>,
    pub monitoring: Option<RawMonitoring>,
    /// `[slo]`: the service's objectives, for burn-rate alerts and `budget_consumed`.
    pub slo: Option<RawSlo>,
    /// The sweep grid: read from the document by `rehearsal sweep`, accepted here so that
    /// every command parses the same file.
    #[serde(rename = "sweep")]
    pub _sweep: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawObjectives {
    pub ttr_mean: Option<String>,
    pub ttr_p95: Option<String>,
    pub ttd_mean: Option<String>,
    pub ttd_p95: Option<String>,
    pub affected_share_mean: Option<f64>,
    pub detection_probability: Option<f64>,
    pub false_rollback_rate: Option<f64>,
    pub deploy_success: Option<f64>,
    pub inconsistent_records_max: Option<u64>,
    pub budget_consumed_mean: Option<f64>,
    pub probe_ttd_mean: Option<String>,
    pub probe_ttd_p95: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDatabase {
    pub schema: Option<u32>,
    pub state: Option<String>,
    pub rows: Option<u64>,
    pub table_fraction: Option<f64>,
    pub client_timeout: Option<String>,
    #[serde(default)]
    pub migrations: Vec<RawMigration>,
    pub rollback: Option<String>,
    pub hotfix_time: Option<RawManual>,
    pub restore_time: Option<String>,
    pub write_block: Option<bool>,
    pub drain: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMigration {
    pub name: String,
    pub to: u32,
    pub kind: String,
    pub start: Option<String>,
    pub with_rollout: Option<bool>,
    pub duration: Option<String>,
    pub lock: Option<String>,
    pub reversible: Option<bool>,
    pub down_duration: Option<String>,
    pub rows: Option<u64>,
    pub rate: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTraffic {
    pub rate: f64,
    pub users: u64,
    pub write_fraction: Option<f64>,
    pub user_skew: Option<f64>,
    pub diurnal: Option<RawDiurnal>,
    #[serde(default)]
    pub bursts: Vec<RawBurst>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDiurnal {
    pub amplitude: f64,
    pub period: Option<String>,
    pub peak: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBurst {
    pub at: String,
    pub duration: String,
    pub multiplier: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVersion {
    pub error_rate: Option<f64>,
    pub latency: Option<RawLatency>,
    pub schemas: Option<Vec<u32>>,
    pub writes: Option<String>,
    pub reads: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLatency {
    pub median: String,
    pub p99: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFleet {
    pub instances: Option<u32>,
    pub capacity_rps: Option<f64>,
    pub startup: Option<String>,
    /// `[fleet.probes]`: Kubernetes readiness and liveness probes.
    pub probes: Option<RawProbes>,
    /// `[fleet.outlier_detection]`: Envoy outlier detection on each version's pool.
    pub outlier_detection: Option<RawOutlierDetection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProbes {
    pub readiness: Option<RawProbe>,
    pub liveness: Option<RawProbe>,
    pub termination_grace_period: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProbe {
    pub period: Option<String>,
    pub timeout: Option<String>,
    pub failure_threshold: Option<u32>,
    pub success_threshold: Option<u32>,
    pub initial_delay: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOutlierDetection {
    pub consecutive_5xx: Option<u32>,
    pub interval: Option<String>,
    pub base_ejection_time: Option<String>,
    pub max_ejection_time: Option<String>,
    pub max_ejection_percent: Option<f64>,
    pub panic_threshold: Option<f64>,
}

/// One fault: the fields every kind has, and the kind's own parameters as written.
///
/// The parameters are collected as they are (serde's `flatten` cannot be combined with
/// `deny_unknown_fields`) and checked against the fault catalog when resolving: a key the
/// kind does not take is an error there, naming the key and the kind's parameters.
#[derive(Debug, Deserialize)]
pub(crate) struct RawFault {
    pub kind: String,
    pub target: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub users: Option<f64>,
    #[serde(flatten)]
    pub params: toml::Table,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAnalysis {
    pub interval: Option<String>,
    pub threshold: Option<u32>,
    pub min_requests: Option<u64>,
    pub on_no_data: Option<String>,
    #[serde(default)]
    pub metrics: Vec<RawMetric>,
    /// `[[analysis.judges]]`: comparisons with a baseline.
    #[serde(default)]
    pub judges: Vec<RawJudge>,
}

/// One `[[analysis.judges]]` table; which fields apply depends on `kind`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawJudge {
    pub kind: String,
    pub baseline: Option<String>,
    pub metrics: Option<Vec<String>>,
    pub confidence: Option<f64>,
    pub tolerance: Option<f64>,
    pub allowed_increase: Option<f64>,
    pub pass: Option<f64>,
    pub marginal: Option<f64>,
    pub metric: Option<String>,
    pub regression_threshold: Option<f64>,
    pub alpha: Option<f64>,
    pub tau: Option<f64>,
    pub min_requests: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetric {
    pub name: String,
    pub max: Option<RawBound>,
    pub min: Option<RawBound>,
    pub window: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawManual {
    pub median: String,
    pub sigma: Option<f64>,
    pub trigger: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawResponse {
    pub rollback_delay: Option<String>,
    pub verify: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStrategy {
    /// Required, unless a manifest names the strategy (checked by `crate::scenario::manifest::expand`).
    #[serde(default)]
    pub name: String,
    /// Required, unless given by a manifest.
    #[serde(default)]
    pub kind: String,
    /// A manifest strategy (`manifest`, `templates`, `metrics`, `set`): expanded into the
    /// fields below before resolving, so these are always `None` when resolving.
    #[serde(rename = "manifest")]
    pub _manifest: Option<serde::de::IgnoredAny>,
    #[serde(rename = "templates")]
    pub _templates: Option<serde::de::IgnoredAny>,
    #[serde(rename = "metrics")]
    pub _metrics: Option<serde::de::IgnoredAny>,
    #[serde(rename = "set")]
    pub _set: Option<serde::de::IgnoredAny>,
    pub sticky: Option<bool>,
    pub prescaled: Option<bool>,
    #[serde(default)]
    pub steps: Vec<RawStep>,
    pub analysis: Option<RawAnalysis>,
    pub rollback: Option<String>,
    pub pre_promotion: Option<String>,
    pub preview_share: Option<f64>,
    pub preview_rate: Option<f64>,
    pub pre_promotion_analysis: Option<RawStepAnalysis>,
    pub post_promotion_analysis: Option<RawStepAnalysis>,
    pub preview_replicas: Option<u32>,
    pub post_promotion: Option<String>,
    pub switch_delay: Option<String>,
    pub auto_promotion_delay: Option<String>,
    pub scale_down_delay: Option<String>,
    pub progress_deadline: Option<String>,
    pub refresh: Option<RawRefresh>,
    pub max_surge: Option<CountOrPercent>,
    pub max_unavailable: Option<CountOrPercent>,
    pub period: Option<String>,
    pub min_ready: Option<String>,
    pub step_weight: Option<f64>,
    pub max_weight: Option<f64>,
    pub step_weights: Option<Vec<f64>>,
    pub step_weight_promotion: Option<f64>,
    pub canary_replicas: Option<String>,
    pub skip_analysis: Option<bool>,
    pub session_affinity: Option<bool>,
    pub mode: Option<String>,
    pub iterations: Option<u32>,
    pub match_share: Option<f64>,
    pub load_test_rate: Option<f64>,
    pub background_analysis: Option<RawBackground>,
    pub dynamic_stable_scale: Option<bool>,
    pub abort_scale_down_delay: Option<String>,
    pub progress_deadline_abort: Option<bool>,
    pub promotion_delay: Option<RawManual>,
}

/// An Argo AnalysisTemplate: `[analysis_templates.<name>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTemplate {
    #[serde(default)]
    pub metrics: Vec<RawTemplateMetric>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTemplateMetric {
    pub name: String,
    pub measure: String,
    pub scope: Option<String>,
    pub window: Option<String>,
    pub interval: Option<String>,
    pub count: Option<u32>,
    pub initial_delay: Option<String>,
    pub failure_limit: Option<i64>,
    pub inconclusive_limit: Option<u32>,
    pub consecutive_error_limit: Option<u32>,
    pub success_condition: Option<String>,
    pub failure_condition: Option<String>,
}

/// Argo's `analysis` of a canary (background) or of a step: templates by name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBackground {
    pub templates: Vec<String>,
    pub starting_step: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStepAnalysis {
    pub templates: Vec<String>,
}

/// A step's `pause`: a duration, or `{}` (Argo's indefinite pause).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawPause {
    Duration(String),
    Indefinite,
}

impl<'de> Deserialize<'de> for RawPause {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawPause;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a duration such as \"10m\", or {} to wait for a human")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawPause::Duration(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                match map.next_key::<String>()? {
                    None => Ok(RawPause::Indefinite),
                    Some(k) => Err(serde::de::Error::custom(format!(
                        "unknown field `{k}`: write a duration such as pause = \"10m\", or pause = {{}} to wait for a human"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRefresh {
    pub mode: String,
    pub interval: Option<String>,
    pub delay: Option<String>,
}

/// `3` or `"25%"`, as Kubernetes writes `maxSurge` and `maxUnavailable`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CountOrPercent {
    Count(u64),
    Percent(String),
}

impl<'de> Deserialize<'de> for CountOrPercent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = CountOrPercent;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a whole number of instances or a percentage such as \"25%\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u64::try_from(v)
                    .map(CountOrPercent::Count)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(CountOrPercent::Count(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CountOrPercent::Percent(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A metric's bound: a number in the metric's unit, or a duration (`"500ms"`) for latency.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawBound {
    Number(f64),
    Duration(String),
}

impl<'de> Deserialize<'de> for RawBound {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = RawBound;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number, or for latency a duration such as \"500ms\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(RawBound::Number(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(RawBound::Number(v as f64))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(RawBound::Number(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawBound::Duration(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    pub weight: Option<f64>,
    pub percent: Option<f64>,
    pub pause: Option<RawPause>,
    pub set_weight: Option<f64>,
    pub analysis: Option<RawStepAnalysis>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    pub max_events: Option<u64>,
}

/// `[monitoring]`: what Prometheus' `global` block sets.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMonitoring {
    pub scrape_interval: Option<String>,
    pub evaluation_interval: Option<String>,
    pub buckets: Option<Vec<f64>>,
    pub history: Option<String>,
}

/// `[slo]`: availability (and optionally latency) objectives over a window.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSlo {
    pub availability: f64,
    pub window: Option<String>,
    pub latency: Option<RawLatencySlo>,
}

/// `[slo] latency = { threshold = "300ms", objective = 0.99 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLatencySlo {
    pub threshold: String,
    pub objective: f64,
}

/// One row of a burn-rate alert's `windows`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBurnWindow {
    pub factor: f64,
    pub long: String,
    pub short: String,
    pub action: Option<String>,
}

/// `alerts`: rules written in the scenario (`[[alerts]]`) or a Prometheus rule file's path.
#[derive(Debug)]
pub(crate) enum RawAlerts {
    File(String),
    Rules(Vec<RawAlert>),
}

impl<'de> Deserialize<'de> for RawAlerts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawAlerts;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("[[alerts]] tables or the path of a Prometheus rule file")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawAlerts::File(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<Self::Value, A::Error> {
                Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(RawAlerts::Rules)
            }
        }
        d.deserialize_any(V)
    }
}

/// One `[[alerts]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlert {
    pub name: String,
    /// `"rule"` (the default: `expr` is the rule) or `"burn_rate"` (rules generated from `[slo]`).
    pub kind: Option<String>,
    pub expr: Option<String>,
    /// A burn-rate alert's objective: `"availability"` (default) or `"latency"`.
    pub slo: Option<String>,
    /// A burn-rate alert's table (default: the SRE Workbook's three rows).
    pub windows: Option<Vec<RawBurnWindow>>,
    #[serde(rename = "for")]
    pub hold: Option<String>,
    pub keep_firing_for: Option<String>,
    pub action: Option<String>,
}

/// A Prometheus rule file (`groups:`), as `promtool check rules` reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRuleFile {
    pub groups: Vec<RawRuleGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRuleGroup {
    pub name: String,
    pub rules: Vec<RawRule>,
}

/// One rule of a group: alerting rules only (`record:` is refused when resolving).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub alert: Option<String>,
    pub record: Option<String>,
    pub expr: String,
    #[serde(rename = "for")]
    pub hold: Option<String>,
    pub keep_firing_for: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Notification text: accepted, not used.
    #[serde(rename = "annotations")]
    pub _annotations: Option<BTreeMap<String, String>>,
}
