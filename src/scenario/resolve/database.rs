//! `[database]`, its migrations and the database fields of `[versions.*]`.

use super::super::error::{ScenarioError, expected_one_of};
use super::super::raw::{RawMigration, RawScenario};
use super::{Resolver, Result, defaults};
use crate::engine::SimTime;
use crate::model::{
    AppSchema, DataPolicy, DatabaseSpec, InitialData, Migration, MigrationKind, ReadMode, WriteMode,
};

impl Resolver<'_> {
    /// The `[database]` table and the database fields of `[versions.*]`.
    pub(super) fn database(
        &self,
        raw: &RawScenario,
        names: &[String; 2],
        horizon: SimTime,
    ) -> Result<Option<DatabaseSpec>> {
        let Some(d) = &raw.database else {
            for (name, v) in &raw.versions {
                for (field, given) in [
                    ("schemas", v.schemas.is_some()),
                    ("writes", v.writes.is_some()),
                    ("reads", v.reads.is_some()),
                ] {
                    if given {
                        return self.err(
                            format!("versions.{name}.{field}"),
                            "only meaningful with a [database] table; add one",
                        );
                    }
                }
            }
            return Ok(None);
        };
        let schema = d.schema.unwrap_or(1);
        let table_fraction =
            self.probability("database.table_fraction", d.table_fraction.unwrap_or(1.0))?;
        let client_timeout = self.opt_duration(
            "database.client_timeout",
            d.client_timeout.as_ref(),
            defaults::CLIENT_TIMEOUT,
        )?;

        let initial = match d.state.as_deref() {
            None | Some("old") => InitialData::Old,
            Some("expanded") => InitialData::Expanded,
            Some("backfilled") => InitialData::Backfilled,
            Some(o) => {
                return self.err(
                    "database.state",
                    format!(
                        "unknown value \"{o}\"; {}",
                        expected_one_of(o, &["old", "expanded", "backfilled"])
                    ),
                );
            }
        };
        // The plan: consecutive schema versions, one migrated field (expand, backfill, contract).
        let mut migrations: Vec<Migration> = Vec::new();
        let (mut new_exists, mut old_exists, mut version) =
            (initial != InitialData::Old, true, schema);
        // When the database is free again: after the with-rollout chain, then after each migration.
        let mut free_from = SimTime::ZERO;
        for (i, m) in d.migrations.iter().enumerate() {
            let path = format!("database.migrations[{i}]");
            let field = |f: &str| format!("{path}.{f}");
            let migration = self.planned_migration(&path, m)?;
            if migrations.iter().any(|o| o.name == m.name) {
                return self.err(
                    field("name"),
                    format!(
                        "\"{}\" is used by another migration; names must be unique",
                        m.name
                    ),
                );
            }
            if m.to != version + 1 {
                return self.err(
                    field("to"),
                    format!(
                        "{} does not follow schema {version}; expected {}",
                        m.to,
                        version + 1
                    ),
                );
            }
            let problem = match migration.kind {
                MigrationKind::Expand if new_exists => {
                    Some("the new structure already exists (one migrated field per scenario)")
                }
                MigrationKind::Backfill { .. } | MigrationKind::Contract if !new_exists => {
                    Some("it needs an expand before it: there is no new structure yet")
                }
                _ if !old_exists => {
                    Some("the old structure is already dropped: nothing can follow a contract")
                }
                _ => None,
            };
            if let Some(p) = problem {
                return self.err(
                    field("kind"),
                    format!("\"{}\" cannot run here: {p}", m.kind),
                );
            }
            match migration.kind {
                MigrationKind::Expand => new_exists = true,
                MigrationKind::Contract => old_exists = false,
                MigrationKind::Backfill { .. } => {}
            }
            if !migration.with_rollout && migration.start >= horizon {
                return self.err(
                    field("start"),
                    format!(
                        "{} is at or after the horizon ({})",
                        migration.start.human(),
                        horizon.human()
                    ),
                );
            }
            if !migration.with_rollout && migration.start < free_from {
                return self.err(
                    field("start"),
                    format!(
                        "{} is before the previous migration ends ({}); migrations run one at a time",
                        migration.start.human(),
                        free_from.human()
                    ),
                );
            }
            if migration.with_rollout && migrations.iter().any(|o| !o.with_rollout) {
                return self.err(
                    field("with_rollout"),
                    "migrations that run with the rollout must come first in the plan",
                );
            }
            free_from = if migration.with_rollout {
                free_from
            } else {
                migration.start
            }
            .saturating_add(migration.duration);
            version = m.to;
            migrations.push(migration);
        }
        let reached: Vec<u32> = (schema..=version).collect();

        let mut apps = Vec::new();
        for name in names {
            let v = &raw.versions[name];
            let path = format!("versions.{name}");
            let schemas = match &v.schemas {
                Some(list) if list.is_empty() => {
                    return self.err(
                        format!("{path}.schemas"),
                        "empty: a version needs at least one schema version",
                    );
                }
                Some(list) => list.clone(),
                None => reached.clone(),
            };
            if !schemas.iter().any(|s| reached.contains(s)) {
                return self.err(
                    format!("{path}.schemas"),
                    format!("{schemas:?} contains no schema version the plan reaches ({reached:?}); the version could never run"),
                );
            }
            let writes = match v.writes.as_deref() {
                None | Some("old") => WriteMode::Old,
                Some("dual") => WriteMode::Dual,
                Some("new") => WriteMode::New,
                Some(o) => {
                    return self.err(
                        format!("{path}.writes"),
                        format!(
                            "unknown value \"{o}\"; {}",
                            expected_one_of(o, &["old", "dual", "new"])
                        ),
                    );
                }
            };
            let reads = match v.reads.as_deref() {
                None | Some("old") => ReadMode::Old,
                Some("new") => ReadMode::New,
                Some("new_with_fallback") => ReadMode::NewWithFallback,
                Some(o) => {
                    return self.err(
                        format!("{path}.reads"),
                        format!(
                            "unknown value \"{o}\"; {}",
                            expected_one_of(o, &["old", "new", "new_with_fallback"])
                        ),
                    );
                }
            };
            apps.push(AppSchema {
                schemas,
                writes,
                reads,
            });
        }
        let [stable, candidate]: [AppSchema; 2] = apps
            .try_into()
            .map_err(|_| ScenarioError::new(self.file, "versions", "expected two versions"))?;

        let policy_name = d.rollback.as_deref().unwrap_or("app_only");
        for (field, given, owner) in [
            ("hotfix_time", d.hotfix_time.is_some(), "roll_forward"),
            ("restore_time", d.restore_time.is_some(), "restore"),
        ] {
            if given && policy_name != owner {
                return self.err(
                    format!("database.{field}"),
                    format!(
                        "only used with rollback = \"{owner}\" (this scenario: \"{policy_name}\")"
                    ),
                );
            }
        }
        let policy = match policy_name {
            "app_only" => DataPolicy::AppOnly,
            "app_and_down" => DataPolicy::AppAndDown,
            "roll_forward" => {
                let Some(h) = &d.hotfix_time else {
                    return self.err(
                        "database.hotfix_time",
                        "missing: roll_forward needs hotfix_time = { median = \"30m\", sigma = 0.5 }",
                    );
                };
                let sigma = h.sigma.unwrap_or(defaults::HOTFIX_SIGMA);
                if !(sigma.is_finite() && sigma >= 0.0) {
                    return self.err(
                        "database.hotfix_time.sigma",
                        format!("{sigma} is not allowed; expected a finite number ≥ 0"),
                    );
                }
                DataPolicy::RollForward {
                    median: self.positive_duration("database.hotfix_time.median", &h.median)?,
                    sigma,
                }
            }
            "restore" => match &d.restore_time {
                Some(t) => DataPolicy::Restore {
                    restore_time: self.positive_duration("database.restore_time", t)?,
                },
                None => {
                    return self.err(
                        "database.restore_time",
                        "missing: restore needs restore_time, e.g. \"20m\"",
                    );
                }
            },
            other => {
                return self.err(
                    "database.rollback",
                    format!(
                        "unknown policy \"{other}\"; {}",
                        expected_one_of(
                            other,
                            &["app_only", "app_and_down", "roll_forward", "restore"]
                        )
                    ),
                );
            }
        };
        let write_block = match (d.write_block.unwrap_or(false), &d.drain) {
            (true, drain) => {
                Some(self.opt_duration("database.drain", drain.as_ref(), defaults::DRAIN)?)
            }
            (false, Some(_)) => {
                return self.err("database.drain", "only used with write_block = true");
            }
            (false, None) => None,
        };
        if write_block.is_some() && policy_name == "roll_forward" {
            return self.err(
                "database.write_block",
                "a roll-forward has no rollback to block writes before",
            );
        }
        Ok(Some(DatabaseSpec {
            schema,
            initial,
            rows: d.rows.unwrap_or(0),
            table_fraction,
            client_timeout,
            migrations,
            apps: [stable, candidate],
            policy,
            write_block,
        }))
    }

    /// One `[[database.migrations]]` table.
    fn planned_migration(&self, path: &str, m: &RawMigration) -> Result<Migration> {
        let field = |f: &str| format!("{path}.{f}");
        if m.name.is_empty() {
            return self.err(field("name"), "empty: a migration needs a name");
        }
        let kind = match m.kind.as_str() {
            "expand" => MigrationKind::Expand,
            "contract" => MigrationKind::Contract,
            "backfill" => match (m.rows, m.rate) {
                (Some(rows), Some(rate)) => MigrationKind::Backfill {
                    rows,
                    rate: self.positive(&field("rate"), rate)?,
                },
                (None, _) => {
                    return self.err(
                        field("rows"),
                        "missing: a backfill needs `rows` and `rate` (rows per second)",
                    );
                }
                (_, None) => {
                    return self.err(
                        field("rate"),
                        "missing: a backfill needs `rate`, rows per second",
                    );
                }
            },
            o => {
                return self.err(
                    field("kind"),
                    format!(
                        "unknown kind \"{o}\"; {}",
                        expected_one_of(o, &["expand", "backfill", "contract"])
                    ),
                );
            }
        };
        if !matches!(kind, MigrationKind::Backfill { .. }) {
            for (f, given) in [("rows", m.rows.is_some()), ("rate", m.rate.is_some())] {
                if given {
                    return self.err(field(f), format!("only a backfill takes `{f}`"));
                }
            }
        }
        let duration = match (&kind, &m.duration) {
            (MigrationKind::Backfill { .. }, Some(_)) => {
                return self.err(
                    field("duration"),
                    "a backfill lasts rows / rate; it takes no `duration`",
                );
            }
            (MigrationKind::Backfill { rows, rate }, None) => {
                SimTime((*rows as f64 / rate * 1e6).ceil() as u64)
            }
            (_, Some(d)) => self.duration(&field("duration"), d)?,
            (_, None) => {
                return self.err(
                    field("duration"),
                    "missing: how long the migration runs, e.g. \"20s\"",
                );
            }
        };
        let with_rollout = m.with_rollout.unwrap_or(false);
        if with_rollout && m.start.is_some() {
            return self.err(
                field("start"),
                "a migration that runs with the rollout starts before it; it takes no `start`",
            );
        }
        let reversible = m.reversible.unwrap_or(kind != MigrationKind::Contract);
        if kind == MigrationKind::Contract && reversible {
            return self.err(field("reversible"), "a contract drops the old structure and its data: it is not reversible without a backup restore");
        }
        let down_duration = match (&m.down_duration, reversible) {
            (Some(_), false) => {
                return self.err(
                    field("down_duration"),
                    "an irreversible migration has no down migration",
                );
            }
            (Some(d), true) => self.duration(&field("down_duration"), d)?,
            (None, true) => duration,
            (None, false) => SimTime::ZERO,
        };
        let lock = self.opt_duration(&field("lock"), m.lock.as_ref(), "0s")?;
        if lock > duration {
            return self.err(
                field("lock"),
                format!(
                    "{} is longer than the migration ({})",
                    lock.human(),
                    duration.human()
                ),
            );
        }
        Ok(Migration {
            name: m.name.clone(),
            to: m.to,
            kind,
            start: self.opt_duration(&field("start"), m.start.as_ref(), "0s")?,
            with_rollout,
            duration,
            lock,
            reversible,
            down_duration,
        })
    }
}
