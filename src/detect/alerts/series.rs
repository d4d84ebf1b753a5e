//! The series a simulated service exposes, scraped every `scrape_interval` into a small
//! in-memory time-series store that alert rules query.
//!
//! Names and labels are the ones real instrumentation uses: `http_requests_total{version,
//! code}` (`code` is `"200"` or `"500"`), `http_request_duration_seconds_bucket{version, le}`
//! (cumulative, `le` formatted as the Prometheus clients format it: `"0.005"`, `"1"`,
//! `"+Inf"`), kube-state-metrics' `kube_deployment_spec_replicas{version}` and
//! `kube_deployment_status_replicas_available{version}` (instances running and instances
//! serving: ready, not taken out by a readiness probe or a restart) and rehearsal's own
//! `rollout_weight{version}` (percent of traffic routed to the version). Every series exists from t = 0 at zero, as the Prometheus instrumentation
//! guidelines recommend for labelled metrics ("avoid missing metrics").

use promql_parser::label::Matcher;

use crate::detect::burn_rate::normal_cdf;
use crate::engine::SimTime;
use crate::model::{Exposition, LatencyModel};

/// Request counter, by `version` and `code`.
pub const REQUESTS: &str = "http_requests_total";
/// Latency histogram buckets, by `version` and `le`, seconds.
pub const DURATION_BUCKET: &str = "http_request_duration_seconds_bucket";
/// Latency histogram observation count, by `version` (equal to the `+Inf` bucket, as every
/// Prometheus client exposes it beside the buckets).
pub const DURATION_COUNT: &str = "http_request_duration_seconds_count";
/// Percent of traffic routed to each `version`.
pub const ROLLOUT_WEIGHT: &str = "rollout_weight";
/// Instances of each `version` running (started, ready or not), as kube-state-metrics
/// exposes a Deployment's `spec.replicas`.
pub const SPEC_REPLICAS: &str = "kube_deployment_spec_replicas";
/// Instances of each `version` serving (ready and in rotation), as kube-state-metrics
/// exposes a Deployment's `status.availableReplicas`.
pub const AVAILABLE_REPLICAS: &str = "kube_deployment_status_replicas_available";
/// Every metric name the store holds.
pub const METRICS: [&str; 6] = [
    REQUESTS,
    DURATION_BUCKET,
    DURATION_COUNT,
    ROLLOUT_WEIGHT,
    SPEC_REPLICAS,
    AVAILABLE_REPLICAS,
];

/// The gauges of one scrape, read off the world.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gauges {
    /// Percent of traffic routed to the candidate.
    pub candidate_weight_pct: f64,
    /// Instances running, stable and candidate.
    pub replicas: [u32; 2],
    /// Instances serving, stable and candidate.
    pub available: [u32; 2],
}

/// The Prometheus client libraries' default histogram buckets, seconds
/// (`prometheus.DefBuckets` in client_golang, `Histogram.DEFAULT_BUCKETS` in client_python).
pub const DEFAULT_BUCKETS_S: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How long Prometheus looks back for an instant vector's latest sample (`--query.lookback-delta`
/// default, 5 m).
pub const LOOKBACK: SimTime = SimTime::from_secs(300);

/// Whose selection rules a store follows. Prometheus 2 and 3 differ where a sample sits exactly
/// on a window's left edge, which scrapes and evaluations aligned on one clock make common, and
/// in the order of `rate()`'s two extrapolation limits. Runs follow Prometheus 3; `export
/// --prometheus 2` computes the expectations a Prometheus 2 `promtool` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Semantics {
    /// Prometheus 2: ranges `[at − r, at]` and the look-back `[at − 5 m, at]` are closed
    /// (`matrixIterSlice`, `vectorSelectorSingle` in v2.42.0 `promql/engine.go`), and `rate()`
    /// limits its extrapolation to the counter's zero point before testing the 1.1 × spacing
    /// threshold (`extrapolatedRate`, v2.42.0 `promql/functions.go`).
    V2,
    /// Prometheus 3: ranges and the look-back are left-open, `(at − r, at]` (the 3.0
    /// migration guide, `docs/migration.md`: "Range selectors and lookback exclude samples
    /// coinciding with the left boundary"),
    /// and the zero-point limit applies after the threshold.
    #[default]
    V3,
}

impl Semantics {
    /// `"2"` or `"3"`, the major version.
    pub fn parse(text: &str) -> Option<Semantics> {
        match text {
            "2" => Some(Semantics::V2),
            "3" => Some(Semantics::V3),
            _ => None,
        }
    }

    /// Whether a sample at `t` lies in a window whose left edge is `from` (µs).
    fn after_edge(self, t: SimTime, from: u64) -> bool {
        match self {
            Semantics::V2 => t.micros() >= from,
            Semantics::V3 => t.micros() > from,
        }
    }
}

/// A series' labels, `__name__` included, sorted by label name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(pub Vec<(String, String)>);

impl Labels {
    /// Labels from pairs, sorted by name.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Labels {
        let mut v: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        v.sort();
        Labels(v)
    }

    /// The value of label `name` (`""` when absent, as PromQL reads a missing label).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Whether every matcher accepts these labels.
    pub fn matches(&self, matchers: &[Matcher]) -> bool {
        matchers.iter().all(|m| m.is_match(self.get(&m.name)))
    }

    /// Only the labels named in `names` (`keep`) or all but those (`!keep`).
    pub fn filter(&self, names: &[String], keep: bool) -> Labels {
        Labels(
            self.0
                .iter()
                .filter(|(k, _)| names.contains(k) == keep)
                .cloned()
                .collect(),
        )
    }

    /// Without the metric name.
    pub fn without_name(&self) -> Labels {
        Labels(
            self.0
                .iter()
                .filter(|(k, _)| k != "__name__")
                .cloned()
                .collect(),
        )
    }
}

/// One series: its labels and its samples, oldest first.
///
/// The samples are one contiguous `Vec` whose first `start` entries are forgotten (dropped in
/// bulk once they are half of it), so that a range is a slice: a 3-day burn-rate window
/// reads its 17 280 samples in place, with no copy.
#[derive(Debug, Clone)]
pub struct Series {
    /// The series' identity.
    pub labels: Labels,
    samples: Vec<(SimTime, f64)>,
    start: usize,
}

impl Series {
    /// A series with no sample yet.
    pub fn new(labels: Labels) -> Series {
        Series {
            labels,
            samples: Vec::new(),
            start: 0,
        }
    }

    /// The samples kept, oldest first.
    fn kept(&self) -> &[(SimTime, f64)] {
        &self.samples[self.start..]
    }

    /// Forgets the samples older than `oldest`.
    fn forget_before(&mut self, oldest: SimTime) {
        self.start += self.kept().partition_point(|&(t, _)| t < oldest);
        if self.start > 0 && self.start * 2 >= self.samples.len() {
            self.samples.drain(..self.start);
            self.start = 0;
        }
    }

    /// Appends a sample at `at` (non-decreasing).
    pub fn push(&mut self, at: SimTime, value: f64) {
        self.samples.push((at, value));
    }

    /// The samples kept (all of them in a store that forgets nothing), oldest first.
    pub fn samples(&self) -> &[(SimTime, f64)] {
        self.kept()
    }
}

/// What the service served before the rollout, all of it on the stable version: the steady
/// state a store's history is made of (expected counts, not draws: history is context, and
/// drawing it would spend random numbers the run does not have).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Steady {
    /// Requests per second (the offered rate at t = 0).
    pub rate_per_s: f64,
    /// The stable's baseline error probability.
    pub error_rate: f64,
    /// The stable's latency.
    pub latency: LatencyModel,
    /// The stable's instances, all serving.
    pub instances: u32,
}

/// The scraped series of one run, samples older than `retention` forgotten.
///
/// With a history ([`SeriesStore::prefill`]) the store's clock runs `shift` ahead of the
/// run's: sample times are `now + shift`, so the history lies in `[0, shift)` and every
/// counter continues from the count the history reached.
#[derive(Debug, Clone)]
pub struct SeriesStore {
    series: Vec<Series>,
    retention: SimTime,
    /// How far the store's clock is ahead of the run's (the history's length).
    shift: SimTime,
    /// What each series had counted when the run began (0 for gauges).
    base: Vec<f64>,
    /// Whose window edges the store's selections follow.
    semantics: Semantics,
}

impl SeriesStore {
    /// The series of a service with versions named `versions` (stable, candidate): request
    /// counters, histogram buckets with upper bounds `buckets_s` (seconds; empty for none),
    /// rollout weights and replica counts, in the order [`SeriesStore::scrape`] fills them.
    pub fn for_service(versions: [&str; 2], buckets_s: &[f64], retention: SimTime) -> Self {
        let mut series = Vec::new();
        for v in versions {
            for code in ["200", "500"] {
                let l = Labels::new([("__name__", REQUESTS), ("version", v), ("code", code)]);
                series.push(Series::new(l));
            }
            let les = buckets_s.iter().map(|b| b.to_string());
            let les = les.chain((!buckets_s.is_empty()).then(|| "+Inf".to_string()));
            for le in les {
                let l = Labels::new([("__name__", DURATION_BUCKET), ("version", v), ("le", &le)]);
                series.push(Series::new(l));
            }
            if !buckets_s.is_empty() {
                let l = Labels::new([("__name__", DURATION_COUNT), ("version", v)]);
                series.push(Series::new(l));
            }
            for name in [ROLLOUT_WEIGHT, SPEC_REPLICAS, AVAILABLE_REPLICAS] {
                series.push(Series::new(Labels::new([
                    ("__name__", name),
                    ("version", v),
                ])));
            }
        }
        SeriesStore::of(series, retention)
    }

    /// A store of the given series (for evaluating expressions on hand-made data).
    pub fn of(series: Vec<Series>, retention: SimTime) -> SeriesStore {
        let base = vec![0.0; series.len()];
        SeriesStore {
            series,
            retention,
            shift: SimTime::ZERO,
            base,
            semantics: Semantics::default(),
        }
    }

    /// Selects with the window edges of `semantics` from now on.
    pub fn with_semantics(mut self, semantics: Semantics) -> SeriesStore {
        self.semantics = semantics;
        self
    }

    /// Whose window edges the store's selections follow.
    pub fn semantics(&self) -> Semantics {
        self.semantics
    }

    /// Every series, in the order [`SeriesStore::for_service`] made them.
    pub fn series(&self) -> &[Series] {
        &self.series
    }

    /// How far the store's clock runs ahead of the run's: evaluate at `now + shift`.
    pub fn shift(&self) -> SimTime {
        self.shift
    }

    /// Fills `history` (rounded up to whole `scrape` intervals) of scrapes before the run,
    /// at the steady state `steady`: the stable's counters grow at `rate × (1 − error)` and
    /// `rate × error` per second, its `le` buckets at `rate × Φ(z(le))` (the log-normal's
    /// CDF at the bound), the candidate's stay at 0, the stable's weight is 100 % and all
    /// its instances serve.
    /// A store built by [`SeriesStore::for_service`] only, before its first scrape.
    pub fn prefill(&mut self, history: SimTime, scrape: SimTime, steady: &Steady) {
        let step = scrape.micros().max(1);
        let n = history.micros().div_ceil(step);
        self.shift = SimTime(n * step);
        let per_s: Vec<(f64, bool)> = self
            .series
            .iter()
            .map(|s| {
                let l = &s.labels;
                let stable = self.series[0].labels.get("version") == l.get("version");
                let rate = steady.rate_per_s * f64::from(u8::from(stable));
                match l.get("__name__") {
                    REQUESTS if l.get("code") == "500" => (rate * steady.error_rate, true),
                    REQUESTS => (rate * (1.0 - steady.error_rate), true),
                    DURATION_COUNT => (rate, true),
                    DURATION_BUCKET => {
                        let share = match l.get("le").parse::<f64>() {
                            Ok(b) if l.get("le") != "+Inf" => {
                                normal_cdf(steady.latency.z_above(b * 1e6))
                            }
                            _ => 1.0,
                        };
                        (rate * share, true)
                    }
                    SPEC_REPLICAS | AVAILABLE_REPLICAS if stable => {
                        (f64::from(steady.instances), false)
                    }
                    _ => (if stable { 100.0 } else { 0.0 }, false),
                }
            })
            .collect();
        let secs = self.shift.as_secs_f64();
        self.base = per_s
            .iter()
            .map(|&(x, counter)| if counter { x * secs } else { 0.0 })
            .collect();
        let oldest = self.shift.saturating_sub(self.retention);
        for k in 0..n {
            let t = SimTime(k * step);
            if t < oldest {
                continue;
            }
            for (s, &(x, counter)) in self.series.iter_mut().zip(&per_s) {
                let value = if counter { x * t.as_secs_f64() } else { x };
                s.push(t, value);
            }
        }
    }

    /// One scrape at `now`: the exposition's counters and the world's gauges.
    pub fn scrape(&mut self, now: SimTime, x: &Exposition, g: &Gauges) {
        let mut values = Vec::with_capacity(self.series.len());
        for v in 0..2 {
            let (ok, failed) = x.requests(v);
            values.extend([ok as f64, failed as f64]);
            let before = values.len();
            values.extend(x.cumulative_buckets(v).map(|c| c as f64));
            // `_count` is the `+Inf` bucket, the last one (none without a histogram).
            if values.len() > before {
                values.push(values[values.len() - 1]);
            }
            let w = if v == 0 {
                100.0 - g.candidate_weight_pct
            } else {
                g.candidate_weight_pct
            };
            values.extend([w, f64::from(g.replicas[v]), f64::from(g.available[v])]);
        }
        debug_assert_eq!(values.len(), self.series.len());
        let now = now.saturating_add(self.shift);
        let oldest = now.saturating_sub(self.retention);
        for ((s, value), base) in self.series.iter_mut().zip(values).zip(&self.base) {
            let value = value + base;
            s.forget_before(oldest);
            s.push(now, value);
        }
    }

    /// The instant vector of `matchers` at `at`: each matching series' latest sample in
    /// `(at − 5 m, at]` (`[at − 5 m, at]` under Prometheus 2).
    pub fn instant(&self, matchers: &[Matcher], at: SimTime) -> Vec<(Labels, f64)> {
        let from = at.saturating_sub(LOOKBACK);
        self.matching(matchers)
            .filter_map(|s| {
                let kept = s.kept();
                let last = kept[..kept.partition_point(|&(t, _)| t <= at)].last()?;
                // Before 5 m, the look-back reaches before the run: every sample counts.
                (at < LOOKBACK || self.semantics.after_edge(last.0, from.micros()))
                    .then(|| (s.labels.clone(), last.1))
            })
            .collect()
    }

    /// The range vector of `matchers` over `(at − range, at]` (left-open, as Prometheus 3
    /// selects; closed under Prometheus 2): each matching series with its samples in the
    /// range.
    pub fn range<'a>(
        &'a self,
        matchers: &'a [Matcher],
        at: SimTime,
        range: SimTime,
    ) -> Vec<(&'a Labels, &'a [(SimTime, f64)])> {
        let from = at.micros().checked_sub(range.micros());
        self.matching(matchers)
            .map(|s| {
                let kept = s.kept();
                let end = kept.partition_point(|&(t, _)| t <= at);
                let begin = kept[..end].partition_point(|&(t, _)| {
                    from.is_some_and(|f| !self.semantics.after_edge(t, f))
                });
                (&s.labels, &kept[begin..end])
            })
            .collect()
    }

    fn matching<'a>(&'a self, matchers: &'a [Matcher]) -> impl Iterator<Item = &'a Series> {
        self.series.iter().filter(|s| s.labels.matches(matchers))
    }
}
