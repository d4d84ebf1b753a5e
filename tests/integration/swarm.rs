//! Issue 13 point 1: swarm testing. A generator of random valid scenarios turns random subsets
//! of the features on (every strategy kind, every fault kind with random windows, cohorts and
//! targets, database plans and data policies, flags, bursts and diurnal shapes, analysis
//! settings, manual detection); each scenario runs with two replications at `-j 1` and `-j 2`,
//! and every run of `runs.csv` is checked against the invariants of [`violations`].
//!
//! CI runs 8 cases from a fixed seed (a few seconds); the long run is
//! `PROPTEST_CASES=2000 PROPTEST_RNG_SEED=$RANDOM cargo test --release --test integration swarm`.
//! A failing case is shrunk by proptest and printed as a scenario file (with its `seed`).

use proptest::prelude::*;
use rehearsal::replications::run_scenario;
use rehearsal::report::write_runs;
use rehearsal::scenario::parse;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// A `runs.csv` row, by column name.
type Row = BTreeMap<String, String>;

fn rows(csv_text: &str) -> Vec<Row> {
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    let header = r.headers().expect("header").clone();
    r.records()
        .map(|rec| {
            let rec = rec.expect("record");
            header
                .iter()
                .map(String::from)
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

fn num(r: &Row, col: &str) -> Option<f64> {
    let cell = r
        .get(col)
        .unwrap_or_else(|| panic!("runs.csv has no {col}"));
    (!cell.is_empty()).then(|| cell.parse().unwrap_or_else(|_| panic!("{col}: {cell:?}")))
}

fn int(r: &Row, col: &str) -> u64 {
    r[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col}: {:?}", r[col]))
}

/// Every invariant `runs.csv` breaks, one line each (empty when all hold). Times are compared
/// to the µs the file prints (1e-6 s).
pub fn violations(csv_text: &str) -> Vec<String> {
    const EPS: f64 = 1.5e-6;
    let mut out = Vec::new();
    let runs = rows(csv_text);
    for r in &runs {
        let mut bad =
            |what: String| out.push(format!("{} #{}: {what}", r["strategy"], r["replication"]));
        let requests = int(r, "requests");
        let (failed, baseline) = (
            int(r, "failed_requests"),
            int(r, "baseline_failed_requests"),
        );
        if failed + baseline > requests {
            bad(format!(
                "failed {failed} + baseline failed {baseline} > requests {requests}"
            ));
        }
        let (affected, active) = (int(r, "affected_users"), int(r, "active_users"));
        if affected > active {
            bad(format!("affected_users {affected} > active_users {active}"));
        }
        let share = num(r, "affected_share").unwrap_or(0.0);
        let expected = if active == 0 {
            0.0
        } else {
            affected as f64 / active as f64
        };
        if (share - expected).abs() > 1e-6 {
            bad(format!("affected_share {share} ≠ {affected}/{active}"));
        }
        let (onset, detected) = (num(r, "onset_s"), num(r, "detected_s"));
        let (ttd, ttr, recovered) = (num(r, "ttd_s"), num(r, "ttr_s"), num(r, "recovered_s"));
        if let Some(ttd) = ttd {
            if ttd < 0.0 {
                bad(format!("ttd_s {ttd} < 0"));
            }
            match (onset, detected) {
                (Some(o), Some(d)) if (d - o - ttd).abs() <= EPS => {}
                _ => bad(format!(
                    "ttd_s {ttd} ≠ detected_s {detected:?} − onset_s {onset:?}"
                )),
            }
        }
        if let Some(ttr) = ttr {
            match (onset, recovered) {
                (Some(o), Some(rec)) if (rec - o - ttr).abs() <= EPS => {}
                _ => bad(format!(
                    "ttr_s {ttr} ≠ recovered_s {recovered:?} − onset_s {onset:?}"
                )),
            }
            if ttr < 0.0 {
                bad(format!("ttr_s {ttr} < 0"));
            }
        }
        if onset.is_none() && (ttd.is_some() || ttr.is_some() || affected > 0 || failed > 0) {
            bad("no onset, yet a TTD, a TTR, affected users or failed requests".into());
        }
        let rolled_back = r["rolled_back"] == "true";
        if r["false_rollback"] == "true" && !rolled_back {
            bad("false_rollback without rolled_back".into());
        }
        if rolled_back != num(r, "rollback_s").is_some() {
            bad(format!(
                "rolled_back {rolled_back} but rollback_s {:?}",
                r["rollback_s"]
            ));
        }
        let causes: u64 = [
            "new_format_only",
            "old_format_only",
            "lost_on_down_migration",
            "dropped_by_contract",
            "lost_on_restore",
            "corrupted",
        ]
        .iter()
        .map(|c| int(r, c))
        .sum();
        if causes != int(r, "inconsistent_records") {
            bad(format!(
                "inconsistent_records {} ≠ sum of causes {causes}",
                r["inconsistent_records"]
            ));
        }
        let (checks, failed_checks, inconclusive) = (
            int(r, "checks"),
            int(r, "failed_checks"),
            int(r, "inconclusive_checks"),
        );
        if failed_checks + inconclusive > checks {
            bad(format!(
                "failed {failed_checks} + inconclusive {inconclusive} checks > {checks}"
            ));
        }
    }
    // Common random numbers: every strategy of a replication sees the same users.
    let mut active: BTreeMap<&str, &str> = BTreeMap::new();
    for r in &runs {
        let seen = active
            .entry(&r["replication"])
            .or_insert(&r["active_users"]);
        if *seen != r["active_users"] {
            out.push(format!(
                "replication {}: active_users {} for {} but {seen} for an earlier strategy",
                r["replication"], r["active_users"], r["strategy"]
            ));
        }
    }
    out
}

/// `runs.csv` of `text` on a pool of `threads` workers.
fn runs_csv(text: &str, threads: usize) -> Result<String, String> {
    let scenario = parse(text, Path::new("swarm.toml")).map_err(|e| format!("invalid: {e}"))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    let result = pool
        .install(|| run_scenario(&scenario))
        .map_err(|e| format!("run stopped: {e}"))?;
    let mut bytes = Vec::new();
    write_runs(&result.runs, &mut bytes).expect("write runs.csv");
    Ok(String::from_utf8(bytes).expect("utf-8"))
}

fn dur(s: u64) -> String {
    format!("\"{s}s\"")
}

/// One fault, as TOML, for a scenario of `horizon` seconds.
fn fault(kind: u8, t: Window, horizon: u64, capacity: bool, db: bool) -> Option<String> {
    let (start_pct, end_pct, x, users, target) = t;
    let start = horizon * start_pct / 100;
    let window = match end_pct {
        Some(e) => format!(
            "start = {}\nend = {}\n",
            dur(start),
            dur(start + 1 + horizon * e / 100)
        ),
        None => format!("start = {}\n", dur(start)),
    };
    let version = ["new", "old"][usize::from(target % 2)];
    let any = ["new", "old", "all"][usize::from(target % 3)];
    let cohort = if users < 1.0 {
        format!("users = {users:.2}\n")
    } else {
        String::new()
    };
    let body = match kind {
        0 => format!("kind = \"error_rate\"\ntarget = \"{any}\"\n{window}{cohort}rate = {x:.3}\n"),
        1 => format!(
            "kind = \"latency\"\ntarget = \"{any}\"\n{window}{cohort}delay = \"{}ms\"\n",
            100 + (x * 2000.0) as u64
        ),
        2 => format!("kind = \"crash_loop\"\ntarget = \"{version}\"\n{window}{cohort}"),
        3 => format!(
            "kind = \"memory_leak\"\ntarget = \"{version}\"\n{window}{cohort}ramp = \"{}s\"\nrate = {x:.3}\n",
            60 + (x * 600.0) as u64
        ),
        4 => format!(
            "kind = \"data_corruption\"\ntarget = \"{version}\"\n{window}{cohort}rate = {x:.3}\n"
        ),
        5 => format!("kind = \"dependency_outage\"\n{window}{cohort}rate = {x:.3}\n"),
        6 => format!(
            "kind = \"traffic_spike\"\n{window}multiplier = {:.2}\n",
            1.2 + 2.0 * x
        ),
        7 if capacity => format!(
            "kind = \"instance_kill\"\ntarget = \"{version}\"\nstart = {}\ninstances = 1\n",
            dur(start)
        ),
        8 => format!("kind = \"flag_stall\"\n{window}rate = {x:.2}\n"),
        9 if db => format!(
            "kind = \"migration_lock\"\nmigration = \"expand\"\nlock = \"{}s\"\n",
            1 + (x * 30.0) as u64
        ),
        10 if db => format!(
            "kind = \"schema_incompatibility\"\nmigration = \"expand\"\ntarget = \"{version}\"\n"
        ),
        _ => return None,
    };
    Some(format!("\n[[faults]]\n{body}"))
}

/// A ladder of `n` increasing steps from `weights`, ending at 100 when `full`.
fn ladder(key: &str, n: usize, full: bool, pause_s: u64) -> String {
    let weights = [5, 10, 25, 50, 75];
    let mut steps: Vec<String> = weights[..n.clamp(1, 5)]
        .iter()
        .map(|w| format!("{{ {key} = {w}, pause = {} }}", dur(pause_s)))
        .collect();
    if full {
        steps.push(format!("{{ {key} = 100 }}"));
    }
    format!("steps = [{}]\n", steps.join(", "))
}

/// One strategy of kind `kind` (0 canary … 4 flagger), named `s{i}`.
fn strategy(i: usize, kind: u8, k: (u8, bool, u64), instances: u64, has_analysis: bool) -> String {
    let (n, flag, pause) = k;
    let n = usize::from(n);
    let mut s = format!("\n[[strategies]]\nname = \"s{i}\"\n");
    match kind {
        0 => {
            s += "kind = \"canary\"\n";
            s += &format!("sticky = {flag}\nprescaled = {}\n", n % 2 == 0);
            s += &ladder("weight", n, flag || n > 2, pause);
            if n == 3 {
                s += "rollback = \"rolling\"\n";
            }
        }
        1 => {
            s += "kind = \"blue_green\"\n";
            if has_analysis && flag {
                s += &format!("pre_promotion = {}\npreview_share = 10\n", dur(pause));
            }
            s += &format!(
                "scale_down_delay = {}\nswitch_delay = \"{}s\"\n",
                dur(pause / 2),
                n
            );
        }
        2 => {
            s += "kind = \"feature_flag\"\n";
            s += &ladder("percent", n, !flag, pause);
            s += if flag {
                "refresh = { mode = \"streaming\", delay = \"2s\" }\n"
            } else {
                "refresh = { mode = \"polling\", interval = \"20s\" }\n"
            };
        }
        3 => {
            s += "kind = \"rolling\"\n";
            let surge = (n as u64).min(instances);
            let unavailable = if surge == 0 || flag {
                1.min(instances)
            } else {
                0
            };
            s += &format!("max_surge = {surge}\nmax_unavailable = {unavailable}\n");
        }
        _ => {
            s += "kind = \"flagger\"\n";
            s += &format!("step_weight = {}\nmax_weight = 50\n", 10 * n.max(1));
            s += &format!(
                "canary_replicas = \"{}\"\n",
                if flag { "proportional" } else { "full" }
            );
        }
    }
    s
}

/// Fault window: start and end (% of the horizon), magnitude, user share, target choice.
type Window = (u64, Option<u64>, f64, f64, u8);
/// Traffic: write fraction, user skew, diurnal (amplitude, period in minutes), bursts (at %,
/// seconds, multiplier).
type Traffic = (
    Option<f64>,
    Option<f64>,
    Option<(f64, u64)>,
    Vec<(u64, u64, f64)>,
);

/// The feature toggles of one swarm scenario.
#[derive(Debug, Clone)]
struct Swarm {
    seed: u64,
    minutes: u64,
    rate: f64,
    users: u64,
    traffic: Traffic,
    versions: (f64, f64, bool),
    fleet: (u64, Option<f64>, u64),
    database: Option<(u8, u8, u8, bool)>,
    faults: Vec<(u8, Window)>,
    analysis: Option<(u64, u32, u32, bool, u8)>,
    manual: Option<(u64, f64)>,
    response: (u64, u64),
    strategies: Vec<(u8, (u8, bool, u64))>,
}

fn render(s: &Swarm) -> String {
    let horizon = s.minutes * 60;
    let mut t = format!(
        "name = \"swarm\"\nhorizon = \"{}m\"\nseed = {}\nreplications = 2\nslo_latency = \"1s\"\n",
        s.minutes, s.seed
    );
    let (write, skew, diurnal, bursts) = &s.traffic;
    let _ = write!(
        t,
        "\n[traffic]\nrate = {:.2}\nusers = {}\n",
        s.rate, s.users
    );
    if let Some(w) = write {
        let _ = writeln!(t, "write_fraction = {w:.2}");
    }
    if let Some(k) = skew {
        let _ = writeln!(t, "user_skew = {k:.2}");
    }
    if let Some((a, period)) = diurnal {
        let _ = writeln!(
            t,
            "diurnal = {{ amplitude = {a:.2}, period = \"{period}m\" }}"
        );
    }
    for (at, len, m) in bursts {
        let _ = write!(
            t,
            "[[traffic.bursts]]\nat = {}\nduration = \"{len}s\"\nmultiplier = {m:.2}\n",
            dur(horizon * at / 100)
        );
    }
    let db = s.database.is_some();
    let (old_err, new_err, latency) = s.versions;
    for (name, err) in [("old", old_err), ("new", new_err)] {
        let _ = write!(t, "\n[versions.{name}]\nerror_rate = {err:.4}\n");
        if latency {
            t += "latency = { median = \"40ms\", p99 = \"400ms\" }\n";
        }
        if let Some((_, writes, reads, _)) = s.database {
            if name == "old" {
                t += "schemas = [1, 2]\nwrites = \"old\"\nreads = \"old\"\n";
            } else {
                let _ = write!(
                    t,
                    "schemas = [2]\nwrites = \"{}\"\nreads = \"{}\"\n",
                    ["dual", "new", "old"][usize::from(writes % 3)],
                    ["new_with_fallback", "new", "old"][usize::from(reads % 3)]
                );
            }
        }
    }
    let (instances, capacity, startup) = s.fleet;
    let _ = write!(
        t,
        "\n[fleet]\ninstances = {instances}\nstartup = \"{startup}s\"\n"
    );
    if let Some(c) = capacity {
        let _ = writeln!(t, "capacity_rps = {:.2}", c * s.rate / instances as f64);
    }
    if let Some((policy, _, _, block)) = s.database {
        t += "\n[database]\nrows = 10000\ntable_fraction = 0.5\n";
        t += match policy % 4 {
            0 => "rollback = \"app_only\"\n",
            1 => "rollback = \"app_and_down\"\n",
            2 => "rollback = \"roll_forward\"\nhotfix_time = { median = \"5m\" }\n",
            _ => "rollback = \"restore\"\nrestore_time = \"2m\"\n",
        };
        if block && policy % 4 != 2 {
            t += "write_block = true\n";
        }
        t += "[[database.migrations]]\nname = \"expand\"\nto = 2\nkind = \"expand\"\nwith_rollout = true\nduration = \"10s\"\nlock = \"2s\"\n";
    }
    for (kind, w) in &s.faults {
        t += &fault(*kind, *w, horizon, capacity.is_some(), db).unwrap_or_default();
    }
    if let Some((interval, threshold, min_requests, fail, metrics)) = s.analysis {
        let _ = write!(
            t,
            "\n[analysis]\ninterval = \"{interval}s\"\nthreshold = {threshold}\nmin_requests = {min_requests}\non_no_data = \"{}\"\n",
            if fail { "fail" } else { "inconclusive" }
        );
        for (bit, name, max) in [
            (1, "error_rate", 0.02),
            (2, "latency_p99", 800.0),
            (4, "bad_write_rate", 0.01),
        ] {
            if metrics & bit != 0 {
                let _ = write!(t, "[[analysis.metrics]]\nname = \"{name}\"\nmax = {max}\n");
            }
        }
    }
    if let Some((median, sigma)) = s.manual {
        let _ = write!(
            t,
            "\n[manual]\nmedian = \"{median}m\"\nsigma = {sigma:.2}\n"
        );
    }
    let _ = write!(
        t,
        "\n[response]\nrollback_delay = \"{}s\"\nverify = \"{}s\"\n",
        s.response.0, s.response.1
    );
    for (i, (kind, k)) in s.strategies.iter().enumerate() {
        t += &strategy(i, *kind, *k, instances, s.analysis.is_some());
    }
    t
}

fn swarm() -> impl Strategy<Value = String> {
    let traffic = (
        proptest::option::of(0.0..0.6f64),
        proptest::option::of(0.3..1.5f64),
        proptest::option::of((0.0..1.0f64, 10..120u64)),
        proptest::collection::vec((0..90u64, 10..300u64, 0.3..3.0f64), 0..3),
    );
    let window = (
        0..60u64,
        proptest::option::of(1..60u64),
        0.0..1.0f64,
        0.05..1.2f64,
        any::<u8>(),
    );
    (
        (
            0..i64::MAX as u64,
            10..30u64,
            2.0..40.0f64,
            50..3000u64,
            traffic,
        ),
        (
            (0.0..0.01f64, 0.0..0.01f64, any::<bool>()),
            (1..10u64, proptest::option::of(1.05..3.0f64), 0..60u64),
        ),
        proptest::option::of((any::<u8>(), any::<u8>(), any::<u8>(), any::<bool>())),
        proptest::collection::vec((0..11u8, window), 0..4),
        proptest::option::of((10..120u64, 1..5u32, 1..30u32, any::<bool>(), 0..8u8)),
        (
            proptest::option::of((1..20u64, 0.0..1.0f64)),
            (0..60u64, 0..60u64),
        ),
        proptest::collection::vec((0..5u8, (1..5u8, any::<bool>(), 60..600u64)), 1..4),
    )
        .prop_map(
            |(
                top,
                (versions, fleet),
                database,
                faults,
                analysis,
                (manual, response),
                strategies,
            )| {
                let (seed, minutes, rate, users, traffic) = top;
                render(&Swarm {
                    seed,
                    minutes,
                    rate,
                    users,
                    traffic,
                    versions,
                    fleet,
                    database,
                    faults,
                    analysis,
                    manual,
                    response,
                    strategies,
                })
            },
        )
}

proptest! {
    #![proptest_config(crate::common::proptest_config(8))]

    #[test]
    fn issue13_swarm_random_scenarios_keep_every_invariant(text in swarm()) {
        let one = runs_csv(&text, 1);
        let csv = match &one {
            Ok(csv) => csv,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n--- swarm.toml ---\n{text}"))),
        };
        let broken = violations(csv);
        prop_assert!(broken.is_empty(), "{}\n--- swarm.toml ---\n{text}", broken.join("\n"));
        let two = runs_csv(&text, 2);
        prop_assert!(two.as_ref() == Ok(csv), "runs.csv differs at -j 1 and -j 2\n--- swarm.toml ---\n{text}");
    }
}

/// A fixed scenario with a fault, a rollback and users: its `runs.csv`, to break by hand.
fn sample_runs_csv() -> String {
    let text = r#"
name = "sample"
horizon = "20m"
seed = 5
replications = 2
[traffic]
rate = 20.0
users = 500
[versions.old]
[versions.new]
[[faults]]
kind = "error_rate"
target = "new"
rate = 0.5
[analysis]
interval = "30s"
threshold = 2
[[analysis.metrics]]
name = "error_rate"
max = 0.02
[[strategies]]
name = "canary"
kind = "canary"
steps = [{ weight = 25, pause = "5m" }, { weight = 100 }]
[[strategies]]
name = "bg"
kind = "blue_green"
"#;
    runs_csv(text, 1).unwrap()
}

#[test]
fn issue13_the_swarm_checker_fails_on_an_injected_broken_invariant() {
    let csv = sample_runs_csv();
    assert_eq!(violations(&csv), Vec::<String>::new());
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    // Rewrites cell `name` of the first data row with `f`.
    let broken = |name: &str, f: &dyn Fn(&str) -> String| -> Vec<String> {
        let mut lines: Vec<String> = csv.lines().map(String::from).collect();
        let mut cells: Vec<String> = lines[1].split(',').map(String::from).collect();
        cells[col(name)] = f(&cells[col(name)]);
        lines[1] = cells.join(",");
        violations(&(lines.join("\n") + "\n"))
    };
    let says = |v: Vec<String>, what: &str| {
        assert!(
            v.iter().any(|l| l.contains(what)),
            "expected {what:?} in {v:?}"
        );
    };
    says(
        broken("affected_users", &|_| "999999".into()),
        "affected_users 999999 > active_users",
    );
    says(
        broken("active_users", &|a| {
            format!("{}", a.parse::<u64>().unwrap() + 1)
        }),
        "for an earlier strategy",
    );
    says(broken("ttd_s", &|_| "-1.000000".into()), "ttd_s -1 < 0");
    says(broken("corrupted", &|_| "7".into()), "≠ sum of causes 7");
    says(
        broken("rolled_back", &|_| "false".into()),
        "rolled_back false but rollback_s",
    );
    says(
        broken("failed_requests", &|_| "99999999".into()),
        "> requests",
    );
}
