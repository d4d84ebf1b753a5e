//! Defaults of scenario fields, each with its source (docs/reference.md, the scenario reference
//! repeats them).

/// Replications per strategy (the example scenario).
pub const REPLICATIONS: u32 = 20;
/// Scenario seed.
pub const SEED: u64 = 1;
/// Slower responses are bad when a fault made them so (the example).
pub const SLO_LATENCY: &str = "1s";
/// Version names of the two roles.
pub const STABLE: &str = "old";
/// Version names of the two roles.
pub const CANDIDATE: &str = "new";
/// Baseline latency (the example).
pub const LATENCY_MEDIAN: &str = "50ms";
/// Baseline latency (the example).
pub const LATENCY_P99: &str = "250ms";
/// Fleet size.
pub const INSTANCES: u32 = 10;
/// Instance start-up (the example).
pub const STARTUP: &str = "30s";
/// Flagger's `interval` default (`pkg/apis/flagger/v1beta1/canary.go`).
pub const INTERVAL: &str = "60s";
/// Flagger's `threshold` default when unset (`canary.go`).
pub const THRESHOLD: u32 = 1;
/// Any non-empty window is judged (Flagger and Argo have no minimum).
pub const MIN_REQUESTS: u64 = 1;
/// Flagger's built-in request-success-rate ≥ 99 %.
pub const MAX_ERROR_RATE: f64 = 0.01;
/// Flagger's built-in request-duration P99 ≤ 500 ms.
pub const MAX_LATENCY_P99_MS: f64 = 500.0;
/// Spread of human detection delays.
pub const MANUAL_SIGMA: f64 = 0.8;
/// Diurnal cycle.
pub const DIURNAL_PERIOD: &str = "24h";
/// Control events one run may handle.
pub const MAX_EVENTS: u64 = 1_000_000;
/// Blue kept up after a blue-green switch: Argo's `scaleDownDelaySeconds`.
pub const SCALE_DOWN_DELAY: &str = "30s";
/// No progress for this long flags a rollout: `progressDeadlineSeconds` of Kubernetes and Argo.
pub const PROGRESS_DEADLINE: &str = "600s";
/// Flag SDK polling: the Unleash server SDK's `refreshInterval`.
pub const FLAG_POLLING: &str = "15s";
/// Flag streaming push latency (LaunchDarkly streams by default; sub-second pushes).
pub const FLAG_STREAM_DELAY: &str = "1s";
/// Readiness probe period: Kubernetes `periodSeconds`.
pub const PROBE_PERIOD: &str = "10s";
/// `maxSurge` and `maxUnavailable`: Kubernetes and Argo default 25 %.
pub const ROLLING_BUDGET_PCT: f64 = 25.0;
/// A request stalled by a lock longer than this fails: Envoy's default route timeout.
pub const CLIENT_TIMEOUT: &str = "15s";
/// Drain before a write-blocked rollback moves traffic: Kubernetes'
/// `terminationGracePeriodSeconds`.
pub const DRAIN: &str = "30s";
/// Spread of the roll-forward hotfix delay.
pub const HOTFIX_SIGMA: f64 = 0.5;
/// Flagger's `stepWeightPromotion` when unset: all traffic to the primary in one tick
/// (`runPromotionTrafficShift`, `pkg/controller/scheduler.go`; `docs/gitbook/usage/deployment-strategies.md`).
pub const FLAGGER_STEP_WEIGHT_PROMOTION: f64 = 100.0;
/// Flagger's `progressDeadlineSeconds` default (`GetProgressDeadlineSeconds`,
/// `pkg/apis/flagger/v1beta1/canary.go`).
pub const FLAGGER_PROGRESS_DEADLINE: &str = "600s";
/// Flagger clamps a shorter analysis interval to 10 s (`GetAnalysisInterval`, `canary.go`).
pub const FLAGGER_MIN_INTERVAL: &str = "10s";
/// A metric's query window when unset: Flagger's `metrics[].interval` default
/// (`MetricInterval`, `GetMetricInterval`, `canary.go`).
pub const FLAGGER_METRIC_WINDOW: &str = "1m";
/// Argo's `consecutiveErrorLimit` default (`DefaultConsecutiveErrorLimit`,
/// `utils/defaults/defaults.go`).
pub const ARGO_CONSECUTIVE_ERROR_LIMIT: u32 = 4;
/// Argo's `abortScaleDownDelaySeconds` default (`DefaultAbortScaleDownDelaySeconds`,
/// `utils/defaults/defaults.go`).
pub const ARGO_ABORT_SCALE_DOWN_DELAY: &str = "30s";
/// Prometheus scrape period asked by issue 14 (Prometheus' own global default is 1 m,
/// `DefaultGlobalConfig`, `config/config.go`; 15 s is the interval of its example
/// configuration and of most Helm charts).
pub const SCRAPE_INTERVAL: &str = "15s";
/// Rule evaluation period: Prometheus' global `evaluation_interval` default
/// (`DefaultGlobalConfig`, `config/config.go`).
pub const EVALUATION_INTERVAL: &str = "1m";
/// An alert fires at the first evaluation that returns it: Prometheus' `for` default.
pub const ALERT_FOR: &str = "0s";
/// A resolved alert stops at once: Prometheus' `keep_firing_for` default.
pub const KEEP_FIRING_FOR: &str = "0s";
/// The label of a rule file that carries a rule's action (`page` when absent).
pub const ACTION_LABEL: &str = "rehearsal_action";
