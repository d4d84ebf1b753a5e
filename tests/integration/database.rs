//! Issue 4: schema versions, migrations and the ledger of inconsistent records.

use crate::common::{analysis, mean, run, scenario, secs, shortened};
use rehearsal::outcome::RunOutcome;
use rehearsal::scenario::parse;
use std::path::Path;

/// 1000 req/s, 20 % writes; the expand runs at 0; a 10 % sticky canary whose requests fail
/// half the time is rolled back at the 5th failed 30 s check, 150 s.
fn release(candidate: &str, database: &str, reps: u32) -> String {
    format!(
        r#"
name = "db"
horizon = "10m"
seed = 21
replications = {reps}
[traffic]
rate = 1000.0
users = 50000
write_fraction = 0.2
[versions.old]
schemas = [1, 2]
writes = "old"
reads = "old"
[versions.new]
{candidate}
[database]
{database}
[[database.migrations]]
name = "expand: add INTEREST_RATE"
to = 2
kind = "expand"
duration = "0s"
[[faults]]
kind = "error_rate"
target = "new"
rate = 0.5
{analysis}[[strategies]]
name = "canary"
kind = "canary"
prescaled = true
sticky = true
steps = [{{ weight = 10, pause = "30m" }}, {{ weight = 100 }}]
"#,
        analysis = analysis("30s", 5)
    )
}

const NEW_ONLY: &str = r#"schemas = [2]
writes = "new"
reads = "new_with_fallback""#;

#[test]
fn issue4_new_format_only_records_after_an_app_rollback() {
    // 1000 × 0.1 × 0.2 × 0.5 × 150 = 1 500 records written only to the new structure, which
    // the rolled-back v1 cannot read. Poisson: sd ≈ 39 per run, ≈ 12 over 10 runs.
    let runs = run(&release(NEW_ONLY, "", 10)).runs;
    for r in &runs {
        assert_eq!(secs(r.detected), Some(150.0));
        assert_eq!(r.inconsistent.new_format_only, r.inconsistent_records);
    }
    let m = mean(
        &runs
            .iter()
            .map(|r| r.inconsistent.new_format_only as f64)
            .collect::<Vec<_>>(),
    );
    assert!((m - 1500.0).abs() < 4.0 * 39.0 / 10f64.sqrt(), "{m}");
}

#[test]
fn issue4_dual_writes_leave_no_inconsistency() {
    let dual = NEW_ONLY.replace("writes = \"new\"", "writes = \"dual\"");
    for r in run(&release(&dual, "", 3)).runs {
        assert!(r.rolled_back);
        assert_eq!(r.inconsistent_records, 0);
    }
}

#[test]
fn issue4_down_migration_loses_exactly_the_new_only_records() {
    // Common random numbers: the same replication writes the same records under both
    // policies; the down migration of the expand drops exactly those held only there.
    let app_only = run(&release(NEW_ONLY, "", 4)).runs;
    let down = run(&release(NEW_ONLY, "rollback = \"app_and_down\"", 4)).runs;
    for (a, d) in app_only.iter().zip(&down) {
        assert!(a.inconsistent.new_format_only > 1000);
        assert_eq!(
            d.inconsistent.lost_on_down_migration,
            a.inconsistent.new_format_only
        );
        assert_eq!(d.inconsistent.new_format_only, 0);
    }
}

#[test]
fn issue4_write_block_trades_failed_writes_for_consistency() {
    // A 10 s rollback delay keeps v2 writing; blocking its writes for that drain stops it.
    let delay = r#"
[response]
rollback_delay = "10s""#;
    let plain = run(&format!("{}{delay}", release(NEW_ONLY, "", 3))).runs;
    let blocked = run(&format!(
        "{}{delay}",
        release(NEW_ONLY, "write_block = true\ndrain = \"10s\"", 3)
    ))
    .runs;
    for (p, b) in plain.iter().zip(&blocked) {
        // 10 s × 1000 × 0.1 × 0.2 × 0.5 ≈ 100 fewer new-only records, and more failed writes.
        let saved = p.inconsistent.new_format_only as f64 - b.inconsistent.new_format_only as f64;
        assert!((saved - 100.0).abs() < 45.0, "{saved}");
        assert!(b.failed_requests > p.failed_requests);
    }
}

#[test]
fn issue4_table_lock_stalls_then_times_out() {
    // A 3 s lock at 60 s with a 1 s client timeout: arrivals in [60, 62) wait more than 1 s and
    // fail; those in [62, 63) wait under 1 s. Half the requests touch the table: ≈ 1 000
    // failures, none of them a baseline failure.
    let text = r#"
name = "lock"
horizon = "3m"
replications = 4
[traffic]
rate = 1000.0
users = 20000
[versions.old]
[versions.new]
[database]
table_fraction = 0.5
client_timeout = "1s"
[[database.migrations]]
name = "alter"
to = 2
kind = "expand"
start = "60s"
duration = "10s"
lock = "3s"
[[strategies]]
name = "idle"
kind = "canary"
prescaled = true
steps = [{ weight = 1, pause = "30m" }]
"#;
    for r in run(text).runs {
        let f = r.failed_requests as f64;
        assert!((f - 1000.0).abs() < 4.0 * 1000f64.sqrt(), "{f}");
        assert_eq!(r.baseline_failed_requests, 0);
        assert!(secs(r.onset).unwrap() >= 60.0);
        // The lock ends at 63 s: no harm after it.
        assert_eq!(secs(r.recovered), Some(63.0));
    }
}

#[test]
fn issue4_a_migration_lock_fault_trips_the_analysis_into_a_false_rollback() {
    let text = release(
        "schemas = [1, 2]",
        "client_timeout = \"1s\"",
        3,
    )
    .replace("[[faults]]\nkind = \"error_rate\"\ntarget = \"new\"\nrate = 0.5", "[[faults]]\nkind = \"migration_lock\"\nmigration = \"expand: add INTEREST_RATE\"\nlock = \"5m\"")
    .replace("duration = \"0s\"", "start = \"1m\"\nduration = \"10m\"\nlock = \"1s\"");
    for r in run(&text).runs {
        // Windows from 60 s fail on both versions: the 5th failed check is at 210 s.
        assert_eq!(secs(r.detected), Some(210.0));
        assert!(
            r.rolled_back && r.false_rollback,
            "the code was fine: the migration hurt"
        );
    }
}

#[test]
fn issue4_readers_of_the_new_structure_miss_rows_not_yet_backfilled() {
    let text = |reads: &str| {
        format!(
            r#"
name = "backfill"
horizon = "2m"
replications = 2
[traffic]
rate = 500.0
users = 20000
write_fraction = 0.0
[versions.old]
[versions.new]
schemas = [2, 3]
writes = "dual"
reads = "{reads}"
[database]
rows = 100000
[[database.migrations]]
name = "expand"
to = 2
kind = "expand"
duration = "0s"
[[database.migrations]]
name = "backfill"
to = 3
kind = "backfill"
rows = 100000
rate = 1000.0
[[strategies]]
name = "all-new"
kind = "canary"
prescaled = true
steps = [{{ weight = 100 }}]
"#
        )
    };
    // 100 000 rows at 1 000 rows/s: the backfill runs past the 2 min horizon. At time t a
    // read misses with probability 1 − t/100: over 120 s reads miss on average
    // ∫(1 − t/100)dt / 120 over [0, 100] = 50/120 = 0.4167 of the time.
    for r in run(&text("new")).runs {
        let share = r.missing_during_backfill as f64 / r.requests as f64;
        assert!((share - 50.0 / 120.0).abs() < 0.01, "{share}");
        assert!(r.affected_users > 0);
    }
    for r in run(&text("new_with_fallback")).runs {
        assert_eq!(
            (
                r.missing_during_backfill,
                r.invisible_reads,
                r.affected_users
            ),
            (0, 0, 0)
        );
    }
}

/// The anti-pattern: one release moves the column and drops the old one.
fn single_step(policy: &str) -> String {
    format!(
        r#"
name = "drop-column"
horizon = "20m"
seed = 5
replications = 2
[traffic]
rate = 300.0
users = 20000
write_fraction = 0.3
[versions.old]
schemas = [1, 2]
[versions.new]
schemas = [2, 3]
writes = "new"
reads = "new"
[database]
rows = 10000
{policy}
[[database.migrations]]
name = "add new column"
to = 2
kind = "expand"
with_rollout = true
duration = "10s"
[[database.migrations]]
name = "drop old column"
to = 3
kind = "contract"
with_rollout = true
duration = "10s"
[[faults]]
kind = "error_rate"
target = "new"
rate = 0.2
{analysis}[[strategies]]
name = "canary"
kind = "canary"
prescaled = true
steps = [{{ weight = 20, pause = "10m" }}, {{ weight = 100 }}]
"#,
        analysis = analysis("30s", 2)
    )
}

#[test]
fn issue4_rollback_after_a_contract_cannot_recover_the_old_app() {
    for r in run(&single_step("rollback = \"app_and_down\"")).runs {
        // The rollout starts at 20 s; the 2nd failed check is at 80 s.
        assert_eq!(secs(r.detected), Some(80.0));
        assert!(r.rolled_back);
        // v1 needs schema 1 or 2 and the old column: every table request fails after the
        // rollback, to the horizon; the contract dropped the 10 000 rows never copied.
        assert_eq!(r.recovered, None);
        assert!(r.failed_requests > 100_000, "{}", r.failed_requests);
        // 10 000 rows never copied, plus what v1 wrote to the old column during the 20 s of
        // migrations: 300 × 0.3 × 20 ≈ 1 800 (sd ≈ 42).
        let dropped = r.inconsistent.dropped_by_contract as f64;
        assert!((dropped - 11_800.0).abs() < 200.0, "{dropped}");
        assert!(r.inconsistent.new_format_only > 0);
    }
}

#[test]
fn issue4_roll_forward_is_the_way_out_of_a_contract() {
    let text =
        single_step("rollback = \"roll_forward\"\nhotfix_time = { median = \"5m\", sigma = 0.0 }");
    for r in run(&text).runs {
        assert!(!r.rolled_back && !r.false_rollback);
        // The rollout freezes at 80 s; the hotfix lands at 380 s; the next check (410 s)
        // passes, so the step's pause (20 s + 10 m) promotes at 620 s. Until then v1 keeps 80 %
        // of the traffic on a schema it cannot use: recovery is the promotion.
        assert_eq!(secs(r.rollout), Some(620.0));
        assert_eq!(secs(r.recovered), Some(620.0));
        assert_eq!(r.inconsistent.new_format_only, 0);
    }
}

#[test]
fn issue4_restore_loses_every_write_since_the_backup() {
    let text = single_step("rollback = \"restore\"\nrestore_time = \"2m\"");
    for r in run(&text).runs {
        assert!(r.rolled_back);
        // The restore runs 80 s → 200 s; the table is back on schema 1, which v1 reads.
        assert_eq!(secs(r.recovered), Some(200.0));
        // Every record written since the backup is lost: v1's old-column writes in the first
        // 20 s (≈ 300 × 0.3 × 20 = 1 800) and v2's new-only writes until 80 s
        // (≈ 300 × 0.2 × 0.3 × 0.8 × 60 = 860). The rows the contract dropped are back.
        let lost = r.inconsistent.lost_on_restore as f64;
        assert!((lost - 2_660.0).abs() < 300.0, "{lost}");
        assert_eq!(
            (
                r.inconsistent.dropped_by_contract,
                r.inconsistent.new_format_only
            ),
            (0, 0)
        );
    }
}

fn error(text: &str) -> (String, String) {
    let e = parse(text, Path::new("db.toml")).expect_err("must be rejected");
    (e.field, e.message)
}

#[test]
fn issue4_validator_rejects_impossible_plans() {
    let base = single_step("");
    let (field, msg) = error(&base.replace("to = 3", "to = 4"));
    assert_eq!(field, "database.migrations[1].to");
    assert!(msg.contains("does not follow schema 2"), "{msg}");
    let (field, msg) = error(&base.replace("schemas = [2, 3]", "schemas = [7]"));
    assert_eq!(field, "versions.new.schemas");
    assert!(msg.contains("no schema version the plan reaches"), "{msg}");
    let (field, _) = error(&base.replace(
        "kind = \"contract\"",
        "kind = \"contract\"\ndown_duration = \"1m\"",
    ));
    assert_eq!(field, "database.migrations[1].down_duration");
    let (field, _) = error(&base.replace(
        "kind = \"contract\"",
        "kind = \"contract\"\nreversible = true",
    ));
    assert_eq!(field, "database.migrations[1].reversible");
    let (field, _) = error(
        &base
            .replace(
                "kind = \"expand\"",
                "kind = \"backfill\"\nrows = 1\nrate = 1.0",
            )
            .replace(
                "duration = \"10s\"\n[[database.migrations]]",
                "[[database.migrations]]",
            ),
    );
    assert_eq!(field, "database.migrations[0].kind");
    let (field, msg) = error(&base.replace("[database]", "[database]\nrollback = \"undo\""));
    assert_eq!(field, "database.rollback");
    assert!(msg.contains("app_and_down"), "{msg}");
    let (field, _) = error(&release("schemas = [2]\nwrites = \"sideways\"", "", 1));
    assert_eq!(field, "versions.new.writes");
    let (field, _) = error(&release(NEW_ONLY, "", 1).replace("[database]\n", "").replace("[[database.migrations]]\nname = \"expand: add INTEREST_RATE\"\nto = 2\nkind = \"expand\"\nduration = \"0s\"\n", ""));
    assert_eq!(
        field, "versions.new.schemas",
        "versions are checked in name order"
    );
}

#[test]
fn issue4_database_scenarios_keep_the_traffic_of_the_others() {
    // A scenario with a database draws its table accesses from their own stream: the arrivals
    // of every strategy stay identical.
    let s = scenario(&release(NEW_ONLY, "", 2));
    assert!(s.service.database.is_some());
    let runs = run(&release(NEW_ONLY, "", 2)).runs;
    let plain = run(
        &release(NEW_ONLY, "", 2).replace("[database]\n", "[database]\ntable_fraction = 0.5\n")
    )
    .runs;
    for (a, b) in runs.iter().zip(&plain) {
        assert_eq!((a.requests, a.active_users), (b.requests, b.active_users));
    }
}

/// A bundled drill, shortened to 2 replications.
fn bundled(name: &str) -> Vec<RunOutcome> {
    let path = format!("scenarios/{name}.toml");
    run(&shortened(
        &path,
        &[("replications = 10", "replications = 2")],
    ))
    .runs
}

#[test]
fn issue4_expand_contract_suite_rolls_back_cleanly_and_the_anti_pattern_does_not() {
    for release in [
        "db-release-1-expand",
        "db-release-2-backfill",
        "db-release-3-contract",
    ] {
        for r in bundled(release) {
            assert!(r.rolled_back && !r.false_rollback, "{release}");
            assert_eq!(r.inconsistent_records, 0, "{release}");
            assert_eq!(
                r.recovered
                    .zip(r.detected)
                    .map(|(a, b)| (a - b).as_secs_f64()),
                Some(30.0),
                "{release}: verify only"
            );
        }
    }
    for r in bundled("db-anti-pattern-drop-column") {
        assert!(r.rolled_back);
        assert_eq!(
            r.recovered, None,
            "v1 cannot use the schema it is rolled back onto"
        );
        assert!(
            r.inconsistent.dropped_by_contract > 1_000_000 && r.inconsistent.new_format_only > 0
        );
    }
    for r in bundled("db-lock-false-rollback") {
        assert!(
            r.rolled_back && r.false_rollback,
            "the migration, not the code"
        );
    }
}

/// A roll-forward release starting at 10 s (after a 10 s expand): the candidate fails 20 %
/// of its requests until a hotfix lands exactly 10 min after the decision (σ = 0).
fn frozen_release(detector: &str, strategy: &str, fault: &str) -> String {
    format!(
        r#"
name = "freeze"
horizon = "30m"
seed = 9
replications = 2
[traffic]
rate = 200.0
users = 20000
[versions.old]
schemas = [1, 2]
[versions.new]
schemas = [1, 2]
[database]
rows = 1000
rollback = "roll_forward"
hotfix_time = {{ median = "10m", sigma = 0.0 }}
[[database.migrations]]
name = "expand"
to = 2
kind = "expand"
with_rollout = true
duration = "10s"
[[faults]]
target = "new"
{fault}
{detector}
[[strategies]]
name = "s"
{strategy}
"#
    )
}

const FROZEN_CANARY: &str = r#"kind = "canary"
prescaled = true
steps = [{ weight = 20, pause = "5m" }, { weight = 50, pause = "5m" }, { weight = 100 }]"#;

#[test]
fn roll_forward_after_a_manual_detection_holds_the_canary_until_the_hotfix() {
    let text = frozen_release(
        "[manual]\nmedian = \"2m\"\nsigma = 0.0",
        FROZEN_CANARY,
        "kind = \"error_rate\"\nrate = 0.2",
    );
    for r in run(&text).runs {
        let (onset, d) = (secs(r.onset).unwrap(), secs(r.detected).unwrap());
        assert_eq!(d, onset + 120.0);
        assert_eq!(r.detected_by.map(|b| b.name()), Some("manual"));
        assert!(!r.rolled_back && !r.false_rollback);
        // The 20 % step's pause ends at 310 s while frozen; the hotfix lands at d + 600 and the
        // canary climbs to 50 % at once, then promotes after that step's 5 min pause. Without
        // the freeze it would have promoted at 310 + 300 = 610 s.
        assert_eq!(secs(r.rollout), Some(d + 900.0));
    }
}

#[test]
fn roll_forward_after_an_analysis_detection_waits_for_a_passing_check() {
    let analysis = "[analysis]\ninterval = \"30s\"\nthreshold = 2\n[[analysis.metrics]]\n\
                    name = \"error_rate\"\nmax = 0.01";
    let text = frozen_release(analysis, FROZEN_CANARY, "kind = \"error_rate\"\nrate = 0.2");
    for r in run(&text).runs {
        // Failed checks at 40 s and 70 s; the hotfix lands at 670 s; the step is still held by
        // the failed check, so the canary climbs at the first check of the new analysis run
        // (700 s) and promotes 5 min later.
        assert_eq!(secs(r.detected), Some(70.0));
        assert_eq!(r.detected_by.map(|b| b.name()), Some("analysis"));
        assert!(!r.rolled_back);
        assert_eq!(secs(r.rollout), Some(1000.0));
    }
}

#[test]
fn roll_forward_after_a_progress_deadline_pauses_the_rolling_update() {
    let rolling = "kind = \"rolling\"\nmax_surge = 1\nmax_unavailable = 0";
    let text = frozen_release("", rolling, "kind = \"crash_loop\"");
    for r in run(&text).runs {
        // The first new instance never becomes ready: flagged 600 s after the start (10 s).
        // The update is paused until the hotfix (1210 s), then its deadline counts again; the
        // run ends without a rollback, and without flagging the same deadline over and over.
        assert_eq!(secs(r.detected), Some(610.0));
        assert_eq!(r.detected_by.map(|b| b.name()), Some("progress_deadline"));
        assert!(!r.rolled_back && r.rollout.is_none());
    }
}
