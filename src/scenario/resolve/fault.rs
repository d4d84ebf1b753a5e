//! `[[faults]]`, checked against the fault catalog ([`crate::model::FaultName::spec`]): which
//! kinds exist, which parameters each takes with their types and defaults, which targets and
//! timing it accepts. Nothing here lists kinds or parameters by hand.

use super::super::error::{expected_one_of, suggest};
use super::super::raw::RawFault;
use super::{Resolver, Result, article, short};
use crate::engine::{Probability, SimTime};
use crate::model::{
    Fault, FaultName, FleetSpec, Need, ParamSpec, ParamType, ParamValue, Params, Target, Targets,
    Timing, VersionId,
};

/// What a fault is resolved against: the version names, the fleet, the horizon and the
/// migrations of the plan (by name, in plan order).
pub(super) struct FaultContext<'a> {
    pub names: &'a [String; 2],
    pub fleet: &'a FleetSpec,
    pub horizon: SimTime,
    pub migrations: &'a [&'a str],
}

impl Resolver<'_> {
    /// Fault `f`, found at `path` (`faults[2]`).
    pub(super) fn fault(&self, path: &str, f: &RawFault, cx: &FaultContext) -> Result<Fault> {
        let field = |name: &str| format!("{path}.{name}");
        let Some(name) = FaultName::parse(&f.kind) else {
            return self.err(
                field("kind"),
                format!(
                    "unknown fault kind \"{}\"; {}",
                    f.kind,
                    expected_one_of(&f.kind, FaultName::NAMES)
                ),
            );
        };
        let spec = name.spec();
        self.unknown_params(path, name, f)?;
        if spec.needs_capacity && cx.fleet.capacity_rps.is_none() {
            return self.err(
                field("kind"),
                format!(
                    "{} {} fault acts through capacity; set fleet.capacity_rps",
                    article(name.name()),
                    name.name()
                ),
            );
        }
        let mut params = Params::default();
        for p in spec.params {
            if let Some(value) = self.param(path, name, p, f.params.get(p.name), cx)? {
                params.set(p.name, value);
            }
        }
        let kind = name
            .build(&params)
            .or_else(|e| self.err(field(e.param), e.message))?;
        if let crate::model::FaultKind::ErrorRate {
            instances: Some(k), ..
        } = kind
            && k > cx.fleet.instances
        {
            return self.err(
                field("instances"),
                format!(
                    "{k} is not allowed; expected at most fleet.instances ({})",
                    cx.fleet.instances
                ),
            );
        }
        let target = self.fault_target(path, name, f.target.as_deref(), cx.names)?;
        let (start, end) = self.fault_window(path, name, f, cx.horizon)?;
        Ok(Fault {
            kind,
            target,
            start,
            end,
            users: self.fault_users(path, name, f.users)?,
        })
    }

    /// Rejects any key the kind does not take, naming the ones it does.
    fn unknown_params(&self, path: &str, kind: FaultName, f: &RawFault) -> Result<()> {
        let spec = kind.spec();
        let takes: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
        let Some(key) = f.params.keys().find(|k| !takes.contains(&k.as_str())) else {
            return Ok(());
        };
        let mut message = format!(
            "{} {} fault takes no `{key}`; its parameters are: {}",
            article(kind.name()),
            kind.name(),
            if takes.is_empty() {
                "none".into()
            } else {
                takes.join(", ")
            }
        );
        if let Some(m) = suggest(key, takes.iter().copied()) {
            message.push_str(&format!(" (did you mean `{m}`?)"));
        }
        self.err(format!("{path}.{key}"), message)
    }

    /// One parameter, checked by its type; its default when omitted.
    fn param(
        &self,
        path: &str,
        kind: FaultName,
        p: &ParamSpec,
        written: Option<&toml::Value>,
        cx: &FaultContext,
    ) -> Result<Option<ParamValue>> {
        let field = format!("{path}.{}", p.name);
        let default;
        let value = match (written, p.need) {
            (Some(v), _) => v,
            (None, Need::Optional) => return Ok(None),
            (None, Need::Default(text)) => {
                default = match p.ty {
                    ParamType::Probability | ParamType::Multiplier => {
                        toml::Value::Float(text.parse().unwrap_or(f64::NAN))
                    }
                    ParamType::Flag => toml::Value::Boolean(text == "true"),
                    _ => toml::Value::String(text.into()),
                };
                &default
            }
            (None, Need::Required) => {
                return self.err(
                    field,
                    format!(
                        "missing: {} {} fault needs `{}`, {}",
                        article(kind.name()),
                        kind.name(),
                        p.name,
                        p.doc
                    ),
                );
            }
        };
        let number = value
            .as_float()
            .or_else(|| value.as_integer().map(|i| i as f64));
        let text = value.as_str();
        let wrong = |expected: &str| {
            self.err(
                &field,
                format!("{value} is not allowed; expected {expected}"),
            )
        };
        Ok(Some(match p.ty {
            ParamType::Probability => match number {
                Some(x) => ParamValue::Probability(self.probability(&field, x)?),
                None => return wrong("a number from 0 to 1"),
            },
            ParamType::Multiplier => match number {
                Some(m) if m.is_finite() && m > 1.0 => ParamValue::Number(m),
                Some(m) => return wrong_number(self, &field, m, "a number > 1"),
                None => return wrong("a number > 1"),
            },
            ParamType::Count => match value.as_integer().map(u32::try_from) {
                Some(Ok(n)) if n >= 1 => ParamValue::Count(n),
                _ => return wrong("a whole number ≥ 1"),
            },
            ParamType::Duration => match text {
                Some(t) => ParamValue::Duration(self.duration(&field, t)?),
                None => return wrong("a duration such as \"300ms\""),
            },
            ParamType::PositiveDuration => match text {
                Some(t) => ParamValue::Duration(self.positive_duration(&field, t)?),
                None => return wrong("a duration such as \"90s\""),
            },
            ParamType::Flag => match value.as_bool() {
                Some(b) => ParamValue::Flag(b),
                None => return wrong("true or false"),
            },
            ParamType::Migration => match text {
                Some(name) => ParamValue::Migration(self.migration(&field, name, cx.migrations)?),
                None => return wrong("a migration's name"),
            },
        }))
    }

    /// The index of migration `name` in the plan.
    fn migration(&self, field: &str, name: &str, migrations: &[&str]) -> Result<usize> {
        match migrations.iter().position(|m| *m == name) {
            Some(i) => Ok(i),
            None => {
                let msg = if migrations.is_empty() {
                    "there is no [[database.migrations]] to name".to_string()
                } else {
                    expected_one_of(name, migrations)
                };
                self.err(field, format!("unknown migration \"{name}\"; {msg}"))
            }
        }
    }

    /// The versions the fault hits, as its kind allows.
    fn fault_target(
        &self,
        path: &str,
        kind: FaultName,
        target: Option<&str>,
        names: &[String; 2],
    ) -> Result<Target> {
        let spec = kind.spec();
        let field = format!("{path}.target");
        match (spec.targets, target) {
            (Targets::Everywhere, None | Some("all")) => Ok(Target::All),
            (Targets::Everywhere, Some(t)) => self.err(
                field,
                format!(
                    "\"{t}\" is not allowed: a {} fault hits every version; expected \"all\" or no target",
                    kind.name()
                ),
            ),
            (Targets::VersionOrStable, None) => Ok(Target::Version(VersionId::Stable)),
            (Targets::VersionOrAll, Some("all")) => Ok(Target::All),
            (Targets::VersionOrAll, None) => self.err(
                field,
                format!(
                    "missing: expected a version name ({}) or \"all\"",
                    names.join(", ")
                ),
            ),
            (Targets::Version, None) => self.err(
                field,
                format!("missing: expected a version name ({})", names.join(", ")),
            ),
            (_, Some(t)) => match names.iter().position(|n| n == t) {
                Some(0) => Ok(Target::Version(VersionId::Stable)),
                Some(_) => Ok(Target::Version(VersionId::Candidate)),
                None => {
                    let mut allowed: Vec<&str> = names.iter().map(String::as_str).collect();
                    if spec.targets == Targets::VersionOrAll {
                        allowed.push("all");
                    }
                    self.err(
                        field,
                        format!("unknown version \"{t}\"; {}", expected_one_of(t, &allowed)),
                    )
                }
            },
        }
    }

    /// `start` and `end`, as the kind's timing allows.
    fn fault_window(
        &self,
        path: &str,
        kind: FaultName,
        f: &RawFault,
        horizon: SimTime,
    ) -> Result<(SimTime, Option<SimTime>)> {
        let spec = kind.spec();
        let field = |name: &str| format!("{path}.{name}");
        let refuse = |which: &str, why: String| self.err(field(which), why);
        match spec.timing {
            Timing::WithMigration if f.start.is_some() || f.end.is_some() => {
                let which = if f.start.is_some() { "start" } else { "end" };
                return refuse(
                    which,
                    format!(
                        "a {} fault happens when its migration runs; it takes no `{which}`",
                        kind.name()
                    ),
                );
            }
            Timing::Instant if f.end.is_some() => {
                return refuse(
                    "end",
                    format!(
                        "{} {} fault has no end: {}",
                        article(kind.name()),
                        kind.name(),
                        spec.doc
                    ),
                );
            }
            _ => {}
        }
        let start = self.opt_duration(&field("start"), f.start.as_ref(), "0s")?;
        if start >= horizon {
            return refuse(
                "start",
                format!(
                    "\"{}\" is at or after the horizon ({})",
                    f.start.as_deref().unwrap_or("0s"),
                    horizon.human()
                ),
            );
        }
        let end = f
            .end
            .as_ref()
            .map(|e| self.duration(&field("end"), e))
            .transpose()?;
        if let Some(e) = end
            && e <= start
        {
            return refuse(
                "end",
                format!("{} is not after the start {}", e.human(), start.human()),
            );
        }
        Ok((start, end))
    }

    /// The share of users the fault can hit: 1 unless the kind hits requests and says less.
    fn fault_users(&self, path: &str, kind: FaultName, users: Option<f64>) -> Result<Probability> {
        let spec = kind.spec();
        let field = format!("{path}.users");
        if users.is_some() && !spec.per_user {
            return self.err(
                field,
                format!(
                    "{} {} fault acts on instances that every user shares; it takes no `users`",
                    article(kind.name()),
                    kind.name()
                ),
            );
        }
        match users.map(Probability::new) {
            None => Ok(Probability::ONE),
            Some(Ok(p)) if p > Probability::ZERO => Ok(p),
            Some(_) => self.err(
                field,
                format!(
                    "{} is not allowed; expected a share of users in (0, 1]",
                    users.map_or(String::new(), short)
                ),
            ),
        }
    }
}

fn wrong_number<T>(r: &Resolver, field: &str, x: f64, expected: &str) -> Result<T> {
    r.err(
        field,
        format!("{} is not allowed; expected {expected}", short(x)),
    )
}
