//! Benchmarks of the simulation core: the event queue, the arrival loop, one full replay, a
//! whole drill, and one run in each execution mode (`modes_*`: the ratio of the `requests` and
//! `windows` times is windows mode's speed-up, docs/modes.md).
//!
//! Run with `cargo bench --bench engine`. Every group reports elements/s, so the per-element
//! cost (ns per event, per arrival, per simulated request) reads straight off the output.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rehearsal::engine::{EventQueue, Probability, RngStreams, SimTime, splitmix64};
use rehearsal::model::{Arrivals, TrafficSpec};
use rehearsal::modes::{Mode, unsupported};
use rehearsal::scenario::{self, Scenario};
use std::hint::black_box;
use std::path::Path;

/// Events pushed then popped per iteration of `queue`.
const QUEUE_EVENTS: u64 = 10_000;

/// One hour at 1000 req/s.
const HOUR: SimTime = SimTime::from_secs(3_600);
const ARRIVALS_PER_HOUR: u64 = 3_600_000;

/// A healthy 1 h, 1000 req/s sticky canary; `{faults}` is replaced by fault tables.
const CANARY: &str = r#"
name = "bench-canary"
horizon = "1h"
seed = 11
replications = 1
slo_latency = "1s"

[traffic]
rate = 1000.0
users = 100000
write_fraction = 0.2

[versions.old]
error_rate = 0.001
latency = { median = "50ms", p99 = "250ms" }
[versions.new]
error_rate = 0.001
latency = { median = "50ms", p99 = "250ms" }

[fleet]
instances = 10
capacity_rps = 200
startup = "30s"

{faults}

[analysis]
interval = "30s"
threshold = 5
min_requests = 100
[[analysis.metrics]]
name = "error_rate"
max = 0.01
[[analysis.metrics]]
name = "latency_p99"
max = 500

[[strategies]]
name = "canary"
kind = "canary"
sticky = true
steps = [
  { weight = 10, pause = "10m" },
  { weight = 25, pause = "10m" },
  { weight = 50, pause = "10m" },
  { weight = 100 },
]
"#;

const ERROR_FAULT: &str = r#"
[[faults]]
kind = "error_rate"
target = "new"
start = "0s"
rate = 0.03
"#;

/// The faulty canary watched by two alert rules, one reading the latency histogram: the cost
/// of counting the series (every request's latency and bucket) and of the evaluations.
const ALERTED: &str = r#"
[[faults]]
kind = "error_rate"
target = "new"
start = "0s"
rate = 0.03

[[alerts]]
name = "CanaryErrors"
expr = 'sum by (version) (rate(http_requests_total{code="500"}[5m])) / sum by (version) (rate(http_requests_total[5m])) > 0.5'
action = "rollback"

[[alerts]]
name = "CanaryLatency"
expr = 'histogram_quantile(0.99, sum by (version, le) (rate(http_request_duration_seconds_bucket[5m]))) > 60'
action = "rollback"
"#;

/// The faulty canary with its instances kept one by one (readiness probes and outlier
/// detection): the cost of routing each request to an instance and of the probe events.
const POOLED: &str = r#"
[[faults]]
kind = "error_rate"
target = "new"
start = "0s"
rate = 0.03

[fleet.probes.readiness]
[fleet.outlier_detection]
"#;

fn canary_scenario(faults: &str) -> Scenario {
    let text = CANARY.replace("{faults}", faults);
    scenario::parse(&text, Path::new("bench.toml")).expect("the bench scenario is valid")
}

fn queue(c: &mut Criterion) {
    // Pseudo-random times over one hour, fixed across iterations.
    let times: Vec<SimTime> = (0..QUEUE_EVENTS)
        .map(|i| SimTime(splitmix64(i) % HOUR.micros()))
        .collect();
    let mut group = c.benchmark_group("queue");
    group.throughput(Throughput::Elements(QUEUE_EVENTS));
    group.bench_function("push_pop_10k", |b| {
        b.iter(|| {
            let mut q = EventQueue::default();
            for (i, &t) in times.iter().enumerate() {
                q.push(t, (i % 3) as u8, i as u64);
            }
            let mut sum = 0u64;
            while let Some((t, e)) = q.pop() {
                sum = sum.wrapping_add(t.micros() ^ e);
            }
            black_box(sum)
        })
    });
    group.finish();
}

fn arrivals(c: &mut Criterion) {
    let spec = TrafficSpec {
        rate_per_s: 1000.0,
        users: 100_000,
        write_fraction: Probability::new(0.2).expect("a probability"),
        user_skew: None,
        diurnal: None,
        bursts: vec![],
    };
    let streams = RngStreams::new(11, 0);
    let mut group = c.benchmark_group("arrivals");
    group.sample_size(20);
    group.throughput(Throughput::Elements(ARRIVALS_PER_HOUR));
    group.bench_function("poisson_1h_1000rps", |b| {
        b.iter(|| {
            let mut a = Arrivals::new(
                black_box(&spec),
                &streams,
                "arrivals",
                1.0,
                SimTime::ZERO,
                HOUR,
            );
            let mut n = 0u64;
            while a.peek().is_some() {
                n += 1;
                a.step(&spec);
            }
            black_box(n)
        })
    });
    group.finish();
}

fn canary_run(c: &mut Criterion) {
    for (name, faults) in [
        ("canary_run", ""),
        ("canary_run_faulty", ERROR_FAULT),
        ("canary_run_faulty_alerted", ALERTED),
        ("canary_run_faulty_pooled", POOLED),
    ] {
        let scenario = canary_scenario(faults);
        let requests = rehearsal::replay::replay(&scenario, 0, 0)
            .expect("the bench scenario runs")
            .requests;
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        group.throughput(Throughput::Elements(requests));
        group.bench_function("1h_1000rps", |b| {
            b.iter(|| rehearsal::replay::replay(black_box(&scenario), 0, 0).expect("runs"))
        });
        group.finish();
    }
}

fn drill(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good/crash.toml");
    let mut scenario = scenario::load(&path).expect("the crash fixture loads");
    scenario.replications = 4;
    let requests: u64 = rehearsal::replications::run_scenario(&scenario)
        .expect("the crash fixture runs")
        .runs
        .iter()
        .map(|r| r.requests)
        .sum();
    let mut group = c.benchmark_group("drill");
    group.sample_size(10);
    group.throughput(Throughput::Elements(requests));
    group.bench_function("crash_4_replications", |b| {
        b.iter(|| rehearsal::replications::run_scenario(black_box(&scenario)).expect("runs"))
    });
    group.finish();
}

/// The canary with error-rate and p99 checks, healthy and faulty, in each mode (so windows
/// mode also draws the p99 order statistics).
fn modes(c: &mut Criterion) {
    for (name, faults) in [("modes_healthy", ""), ("modes_faulty", ERROR_FAULT)] {
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        for mode in Mode::ALL {
            let mut scenario = canary_scenario(faults);
            assert_eq!(unsupported(&scenario), None);
            scenario.mode = *mode;
            let mut replication = 0u32;
            group.bench_function(mode.name(), |b| {
                b.iter(|| {
                    // A new replication each iteration: windows mode's cost depends on the draws.
                    replication = replication.wrapping_add(1) % 1000;
                    rehearsal::replay::replay(black_box(&scenario), 0, replication).expect("runs")
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, queue, arrivals, canary_run, drill, modes);
criterion_main!(benches);
