//! Issue 16: one 1 h, 1,000 req/s sticky canary (3.6 M requests) in each execution mode.
//!
//! Run with `cargo bench --bench modes`. Each group reports the time of one run; the ratio of
//! the `requests` and `windows` times is windows mode's speed-up (docs/modes.md).

use criterion::{Criterion, criterion_group, criterion_main};
use rehearsal::modes::{Mode, unsupported};
use rehearsal::scenario::{self, Scenario};
use std::hint::black_box;
use std::path::Path;

/// The canary of `docs/sweep-benchmark.toml` with a p99 check too, faulty (a 3 % error
/// regression) or healthy.
const CANARY: &str = r#"
name = "bench-modes"
horizon = "1h"
seed = 17
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

fn canary(faults: &str, mode: Mode) -> Scenario {
    let text = CANARY.replace("{faults}", faults);
    let mut s =
        scenario::parse(&text, Path::new("bench.toml")).expect("the bench scenario is valid");
    assert_eq!(unsupported(&s), None);
    s.mode = mode;
    s
}

fn modes(c: &mut Criterion) {
    for (name, faults) in [("modes_healthy", ""), ("modes_faulty", ERROR_FAULT)] {
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        for mode in Mode::ALL {
            let scenario = canary(faults, *mode);
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

criterion_group!(benches, modes);
criterion_main!(benches);
