//! `[database]`, its migrations and the database fields of `[versions.*]`.

use super::super::error::ScenarioError;
use super::super::raw::{RawDatabase, RawMigration, RawScenario};
use super::{Resolver, Result, defaults};
use crate::engine::SimTime;
use crate::model::{
    AppSchema, DataPolicy, DatabaseSpec, InitialData, Migration, MigrationKind, MigrationKindName,
    PolicyName, ReadMode, WriteMode,
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
            self.no_database_fields(raw)?;
            return Ok(None);
        };
        let schema = d.schema.unwrap_or(1);
        let initial = self.named_or("database.state", d.state.as_deref(), InitialData::Old)?;
        let migrations = self.plan(d, schema, initial, horizon)?;
        let reached: Vec<u32> = (schema..=migrations.last().map_or(schema, |m| m.to)).collect();
        let apps = [
            self.app(raw, &names[0], &reached)?,
            self.app(raw, &names[1], &reached)?,
        ];
        let policy = self.policy(d)?;
        let write_block = match (d.write_block.unwrap_or(false), &d.drain) {
            (true, drain) => {
                Some(self.opt_duration("database.drain", drain.as_ref(), defaults::DRAIN)?)
            }
            (false, Some(_)) => {
                return self.err("database.drain", "only used with write_block = true");
            }
            (false, None) => None,
        };
        if write_block.is_some() && policy.name_of() == PolicyName::RollForward {
            return self.err(
                "database.write_block",
                "a roll-forward has no rollback to block writes before",
            );
        }
        Ok(Some(DatabaseSpec {
            schema,
            initial,
            rows: d.rows.unwrap_or(0),
            table_fraction: self
                .probability("database.table_fraction", d.table_fraction.unwrap_or(1.0))?,
            client_timeout: self.opt_duration(
                "database.client_timeout",
                d.client_timeout.as_ref(),
                defaults::CLIENT_TIMEOUT,
            )?,
            migrations,
            apps,
            policy,
            write_block,
        }))
    }

    /// Without a `[database]`, versions may not declare how they use one.
    fn no_database_fields(&self, raw: &RawScenario) -> Result<()> {
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
        Ok(())
    }

    /// The plan: consecutive schema versions from `schema`, one migrated field (expand,
    /// backfill, contract in that order), one migration at a time, with-rollout ones first.
    fn plan(
        &self,
        d: &RawDatabase,
        schema: u32,
        initial: InitialData,
        horizon: SimTime,
    ) -> Result<Vec<Migration>> {
        let mut migrations: Vec<Migration> = Vec::new();
        let (mut new_exists, mut old_exists) = (initial != InitialData::Old, true);
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
            let version = migrations.last().map_or(schema, |o| o.to);
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
            free_from = self.schedule(&path, &migration, &migrations, free_from, horizon)?;
            migrations.push(migration);
        }
        Ok(migrations)
    }

    /// Checks when `migration` runs against the horizon and the migrations before it;
    /// returns when the database is free after it.
    fn schedule(
        &self,
        path: &str,
        migration: &Migration,
        before: &[Migration],
        free_from: SimTime,
        horizon: SimTime,
    ) -> Result<SimTime> {
        let field = |f: &str| format!("{path}.{f}");
        if migration.with_rollout {
            if before.iter().any(|o| !o.with_rollout) {
                return self.err(
                    field("with_rollout"),
                    "migrations that run with the rollout must come first in the plan",
                );
            }
            return Ok(free_from.saturating_add(migration.duration));
        }
        if migration.start >= horizon {
            return self.err(
                field("start"),
                format!(
                    "{} is at or after the horizon ({})",
                    migration.start.human(),
                    horizon.human()
                ),
            );
        }
        if migration.start < free_from {
            return self.err(
                field("start"),
                format!(
                    "{} is before the previous migration ends ({}); migrations run one at a time",
                    migration.start.human(),
                    free_from.human()
                ),
            );
        }
        Ok(migration.start.saturating_add(migration.duration))
    }

    /// How version `name` uses the database; by default every schema the plan reaches.
    fn app(&self, raw: &RawScenario, name: &str, reached: &[u32]) -> Result<AppSchema> {
        let path = format!("versions.{name}");
        let v = raw.versions.get(name).ok_or_else(|| {
            ScenarioError::new(self.file, &path, "missing: the version needs a table")
        })?;
        let schemas = match &v.schemas {
            Some(list) if list.is_empty() => {
                return self.err(
                    format!("{path}.schemas"),
                    "empty: a version needs at least one schema version",
                );
            }
            Some(list) => list.clone(),
            None => reached.to_vec(),
        };
        if !schemas.iter().any(|s| reached.contains(s)) {
            return self.err(
                format!("{path}.schemas"),
                format!("{schemas:?} contains no schema version the plan reaches ({reached:?}); the version could never run"),
            );
        }
        Ok(AppSchema {
            schemas,
            writes: self.named_or(
                &format!("{path}.writes"),
                v.writes.as_deref(),
                WriteMode::Old,
            )?,
            reads: self.named_or(&format!("{path}.reads"), v.reads.as_deref(), ReadMode::Old)?,
        })
    }

    /// `database.rollback` and the fields only its policy uses.
    fn policy(&self, d: &RawDatabase) -> Result<DataPolicy> {
        let name = match &d.rollback {
            Some(text) => self.named("database.rollback", text, "policy")?,
            None => PolicyName::AppOnly,
        };
        for (field, given, owner) in [
            (
                "hotfix_time",
                d.hotfix_time.is_some(),
                PolicyName::RollForward,
            ),
            (
                "restore_time",
                d.restore_time.is_some(),
                PolicyName::Restore,
            ),
        ] {
            if given && name != owner {
                return self.err(
                    format!("database.{field}"),
                    format!(
                        "only used with rollback = \"{}\" (this scenario: \"{}\")",
                        owner.name(),
                        name.name()
                    ),
                );
            }
        }
        Ok(match name {
            PolicyName::AppOnly => DataPolicy::AppOnly,
            PolicyName::AppAndDown => DataPolicy::AppAndDown,
            PolicyName::RollForward => {
                let Some(h) = &d.hotfix_time else {
                    return self.err(
                        "database.hotfix_time",
                        "missing: roll_forward needs hotfix_time = { median = \"30m\", sigma = 0.5 }",
                    );
                };
                if h.trigger.is_some() {
                    return self.err(
                        "database.hotfix_time.trigger",
                        "unknown field \"trigger\"; expected one of median, sigma",
                    );
                }
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
            PolicyName::Restore => match &d.restore_time {
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
        })
    }

    /// One `[[database.migrations]]` table.
    fn planned_migration(&self, path: &str, m: &RawMigration) -> Result<Migration> {
        let field = |f: &str| format!("{path}.{f}");
        if m.name.is_empty() {
            return self.err(field("name"), "empty: a migration needs a name");
        }
        let name: MigrationKindName = self.named(&field("kind"), &m.kind, "kind")?;
        let kind = match name {
            MigrationKindName::Expand => MigrationKind::Expand,
            MigrationKindName::Contract => MigrationKind::Contract,
            MigrationKindName::Backfill => match (m.rows, m.rate) {
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
