//! The columns of `runs.csv`: one table that names each column, gives its unit and meaning,
//! and computes its cell from a [`RunOutcome`]. The CSV header, the CSV rows, the summary
//! statistics (`summary.csv`, `--format json`), the metrics `check` compares with a baseline
//! and the column table of docs/semantics.md all follow it, so they cannot drift apart.

use super::RunOutcome;
use crate::engine::SimTime;

/// What a column's numbers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnUnit {
    /// Words (names).
    Text,
    /// A whole number that identifies (index, seed), not a quantity.
    Id,
    /// Seconds since the start of the run (or a duration), six decimals: exact µs.
    Seconds,
    /// A count of users, requests, checks or records.
    Count,
    /// A fraction in [0, 1], six decimals.
    Share,
    /// `true` or `false`.
    Flag,
    /// Instance-seconds (instances × seconds), six decimals.
    InstanceSeconds,
}

/// One cell of a run's row, before formatting.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Written as is.
    Text(String),
    /// A time, empty when undefined.
    Time(Option<SimTime>),
    /// A whole number.
    Int(u64),
    /// A real number, written with six decimals.
    Real(f64),
    /// A real number that may be undefined (empty).
    MaybeReal(Option<f64>),
    /// A boolean.
    Flag(bool),
}

impl Cell {
    /// The cell as `runs.csv` writes it: times in seconds with six decimals (exact µs),
    /// reals with six decimals, empty when undefined.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Time(t) => t.map(|t| t.to_string()).unwrap_or_default(),
            Cell::Int(n) => n.to_string(),
            Cell::Real(x) => format!("{x:.6}"),
            Cell::MaybeReal(x) => x.map(|x| format!("{x:.6}")).unwrap_or_default(),
            Cell::Flag(b) => b.to_string(),
        }
    }
}

/// One column of `runs.csv`.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Header name; a unit suffix (`_s`) where it has one.
    pub name: &'static str,
    /// What its numbers are.
    pub unit: ColumnUnit,
    /// One line of meaning (docs/semantics.md's table has the full definition).
    pub doc: &'static str,
    /// Whether `summary.csv` and `--format json` give its statistics across replications.
    pub summarized: bool,
    /// Its cell for one run.
    pub cell: fn(&RunOutcome) -> Cell,
}

const fn col(
    name: &'static str,
    unit: ColumnUnit,
    doc: &'static str,
    cell: fn(&RunOutcome) -> Cell,
) -> Column {
    Column {
        name,
        unit,
        doc,
        summarized: false,
        cell,
    }
}

/// The same column, with statistics in the summaries.
const fn stat(
    name: &'static str,
    unit: ColumnUnit,
    doc: &'static str,
    cell: fn(&RunOutcome) -> Cell,
) -> Column {
    Column {
        summarized: true,
        ..col(name, unit, doc, cell)
    }
}

use ColumnUnit::{Count, Flag, Id, InstanceSeconds, Seconds, Share, Text};

/// Every column of `runs.csv`, in file order: the reported numbers first, then diagnostics.
pub static RUN_COLUMNS: [Column; 38] = [
    col("scenario", Text, "Scenario name.", |r| {
        Cell::Text(r.scenario.clone())
    }),
    col("strategy", Text, "Strategy name.", |r| {
        Cell::Text(r.strategy.clone())
    }),
    col("replication", Id, "Replication index, from 0.", |r| {
        Cell::Int(u64::from(r.replication))
    }),
    col(
        "seed",
        Id,
        "Scenario seed; with the replication it reproduces the run.",
        |r| Cell::Int(r.seed),
    ),
    col("onset_s", Seconds, "First fault-affected request.", |r| {
        Cell::Time(r.onset)
    }),
    col(
        "detected_s",
        Seconds,
        "First failure declaration, even a false alarm.",
        |r| Cell::Time(r.detected),
    ),
    stat(
        "ttd_s",
        Seconds,
        "Detection minus onset, when detected at or after onset.",
        |r| Cell::Time(r.ttd()),
    ),
    col(
        "rollback_s",
        Seconds,
        "Rollback decision; empty for a roll-forward.",
        |r| Cell::Time(r.rollback),
    ),
    col(
        "recovered_s",
        Seconds,
        "Structural recovery plus verify, within the horizon.",
        |r| Cell::Time(r.recovered),
    ),
    stat(
        "ttr_s",
        Seconds,
        "Recovery minus onset; MTTR is its mean.",
        |r| Cell::Time(r.ttr()),
    ),
    col(
        "affected_users",
        Count,
        "Distinct users with a fault-affected response.",
        |r| Cell::Int(r.affected_users),
    ),
    col(
        "active_users",
        Count,
        "Distinct users with at least one request.",
        |r| Cell::Int(r.active_users),
    ),
    stat(
        "affected_share",
        Share,
        "Affected users over active users.",
        |r| Cell::Real(r.affected_share()),
    ),
    stat(
        "failed_requests",
        Count,
        "Requests that failed only because of a fault.",
        |r| Cell::Int(r.failed_requests),
    ),
    stat(
        "inconsistent_records",
        Count,
        "Records left inconsistent at the end.",
        |r| Cell::Int(r.inconsistent_records),
    ),
    col(
        "rolled_back",
        Flag,
        "Whether a rollback decision was taken.",
        |r| Cell::Flag(r.rolled_back),
    ),
    col(
        "false_rollback",
        Flag,
        "A rollback with no candidate fault in force.",
        |r| Cell::Flag(r.false_rollback),
    ),
    stat(
        "rollout_s",
        Seconds,
        "Promotion (the candidate takes 100 %).",
        |r| Cell::Time(r.rollout),
    ),
    col(
        "degraded_s",
        Seconds,
        "The rollout marked Degraded: a progress deadline passed without abort.",
        |r| Cell::Time(r.degraded),
    ),
    stat(
        "instance_seconds",
        InstanceSeconds,
        "Running instances integrated over the horizon.",
        |r| Cell::Real(r.instance_seconds),
    ),
    col(
        "detected_by",
        Text,
        "The detector that declared the failure.",
        |r| Cell::Text(r.detected_by_text()),
    ),
    col("requests", Count, "Requests simulated.", |r| {
        Cell::Int(r.requests)
    }),
    col(
        "baseline_failed_requests",
        Count,
        "Requests that would have failed without faults.",
        |r| Cell::Int(r.baseline_failed_requests),
    ),
    col("checks", Count, "Analysis checks run.", |r| {
        Cell::Int(u64::from(r.checks))
    }),
    col(
        "failed_checks",
        Count,
        "Analysis checks that failed.",
        |r| Cell::Int(u64::from(r.failed_checks)),
    ),
    col(
        "inconclusive_checks",
        Count,
        "Analysis checks with too few requests.",
        |r| Cell::Int(u64::from(r.inconclusive_checks)),
    ),
    col(
        "new_format_only",
        Count,
        "Records only the new structure holds.",
        |r| Cell::Int(r.inconsistent.new_format_only),
    ),
    col(
        "old_format_only",
        Count,
        "Records only the old structure holds.",
        |r| Cell::Int(r.inconsistent.old_format_only),
    ),
    col(
        "lost_on_down_migration",
        Count,
        "Records a down migration dropped.",
        |r| Cell::Int(r.inconsistent.lost_on_down_migration),
    ),
    col(
        "dropped_by_contract",
        Count,
        "Records a contract dropped.",
        |r| Cell::Int(r.inconsistent.dropped_by_contract),
    ),
    col(
        "lost_on_restore",
        Count,
        "Records written before a restore ended.",
        |r| Cell::Int(r.inconsistent.lost_on_restore),
    ),
    col("corrupted", Count, "Writes stored corrupted.", |r| {
        Cell::Int(r.inconsistent.corrupted)
    }),
    col(
        "missing_during_backfill",
        Count,
        "Reads of rows not yet backfilled.",
        |r| Cell::Int(r.missing_during_backfill),
    ),
    col(
        "invisible_reads",
        Count,
        "Other reads of records the reader cannot see.",
        |r| Cell::Int(r.invisible_reads),
    ),
    stat(
        "budget_consumed",
        Share,
        "Share of the [slo] availability error budget of the SLO window the faults burned (may exceed 1).",
        |r| Cell::MaybeReal(r.budget_consumed),
    ),
    col(
        "probe_ttd_s",
        Seconds,
        "Time from a fault's start to the first probe failure it caused that took an instance out (readiness removal or liveness kill).",
        |r| Cell::Time(r.probe_ttd),
    ),
    col(
        "restarts",
        Count,
        "Instances restarted by their liveness probe.",
        |r| Cell::Int(r.restarts),
    ),
    col(
        "ejections",
        Count,
        "Instances ejected by outlier detection.",
        |r| Cell::Int(r.ejections),
    ),
];

/// The column named `name`, if `runs.csv` has one.
pub fn run_column(name: &str) -> Option<&'static Column> {
    RUN_COLUMNS.iter().find(|c| c.name == name)
}

/// The columns whose statistics the summaries give, in file order.
pub fn summarized_columns() -> impl Iterator<Item = &'static Column> {
    RUN_COLUMNS.iter().filter(|c| c.summarized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_durations_say_seconds() {
        for (i, c) in RUN_COLUMNS.iter().enumerate() {
            assert!(
                RUN_COLUMNS[..i].iter().all(|d| d.name != c.name),
                "{}",
                c.name
            );
            assert_eq!(c.unit == Seconds, c.name.ends_with("_s"), "{}", c.name);
            assert!(c.doc.ends_with('.'), "{}", c.name);
        }
    }

    #[test]
    fn docs_list_exactly_these_columns_in_order() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/semantics.md"))
                .expect("docs/semantics.md is readable");
        let table: Vec<(String, String)> = readme
            .lines()
            .skip_while(|l| !l.starts_with("| # | column |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (cells[1].to_string(), cells[2].trim_matches('`').to_string())
            })
            .collect();
        let expected: Vec<(String, String)> = RUN_COLUMNS
            .iter()
            .enumerate()
            .map(|(i, c)| ((i + 1).to_string(), c.name.to_string()))
            .collect();
        assert_eq!(table, expected);
    }
}
