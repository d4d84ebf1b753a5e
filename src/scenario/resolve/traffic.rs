//! `[traffic]` and `[versions.*]`.

use super::super::raw::{RawScenario, RawTraffic};
use super::{Resolver, Result, defaults, limits};
use crate::engine::SimTime;
use crate::model::{Burst, Diurnal, LatencyModel, TrafficSpec, VersionSpec};

impl Resolver<'_> {
    pub(super) fn traffic(&self, t: &RawTraffic, horizon: SimTime) -> Result<TrafficSpec> {
        let rate_per_s = self.positive("traffic.rate", t.rate)?;
        if t.users == 0 || t.users > limits::MAX_USERS {
            return self.err(
                "traffic.users",
                format!(
                    "{} is not allowed; expected 1 to {}",
                    t.users,
                    limits::MAX_USERS
                ),
            );
        }
        let write_fraction =
            self.probability("traffic.write_fraction", t.write_fraction.unwrap_or(0.0))?;
        if let Some(s) = t.user_skew
            && !(s.is_finite() && s >= 0.0)
        {
            return self.err(
                "traffic.user_skew",
                format!("{s} is not allowed; expected a Zipf exponent ≥ 0 (1.0 is classic Zipf)"),
            );
        }
        let diurnal = t
            .diurnal
            .as_ref()
            .map(|d| -> Result<Diurnal> {
                let amplitude = self.probability("traffic.diurnal.amplitude", d.amplitude)?;
                let period = match &d.period {
                    Some(p) => self.positive_duration("traffic.diurnal.period", p)?,
                    None => self.duration("traffic.diurnal.period", defaults::DIURNAL_PERIOD)?,
                };
                Ok(Diurnal {
                    amplitude,
                    period,
                    peak: self.opt_duration("traffic.diurnal.peak", d.peak.as_ref(), "0s")?,
                })
            })
            .transpose()?;
        let mut bursts = Vec::new();
        for (i, b) in t.bursts.iter().enumerate() {
            let path = format!("traffic.bursts[{i}]");
            let at = self.duration(&format!("{path}.at"), &b.at)?;
            if at >= horizon {
                return self.err(
                    format!("{path}.at"),
                    format!("\"{}\" is at or after the horizon", b.at),
                );
            }
            bursts.push(Burst {
                at,
                duration: self.positive_duration(&format!("{path}.duration"), &b.duration)?,
                multiplier: self.positive(&format!("{path}.multiplier"), b.multiplier)?,
            });
        }
        Ok(TrafficSpec {
            rate_per_s,
            users: t.users,
            write_fraction,
            user_skew: t.user_skew,
            diurnal,
            bursts,
        })
    }

    pub(super) fn versions(&self, raw: &RawScenario) -> Result<[VersionSpec; 2]> {
        let stable = raw.stable.as_deref().unwrap_or(defaults::STABLE);
        let candidate = raw.candidate.as_deref().unwrap_or(defaults::CANDIDATE);
        if stable == candidate {
            return self.err(
                "candidate",
                format!("\"{candidate}\" is also the stable version; the two must differ"),
            );
        }
        let declared: Vec<&str> = raw.versions.keys().map(String::as_str).collect();
        if let Some(extra) = declared.iter().find(|n| **n != stable && **n != candidate) {
            return self.err(
                format!("versions.{extra}"),
                format!("\"{extra}\" is neither the stable version (\"{stable}\") nor the candidate (\"{candidate}\"); set `stable` and `candidate` at the top level to name them"),
            );
        }
        let one = |role: &str, name: &str| -> Result<VersionSpec> {
            let Some(v) = raw.versions.get(name) else {
                return self.err(
                    format!("versions.{name}"),
                    format!(
                        "missing: the {role} version \"{name}\" needs a [versions.{name}] table"
                    ),
                );
            };
            let path = format!("versions.{name}");
            let (median, p99) = match &v.latency {
                Some(l) => (
                    self.positive_duration(&format!("{path}.latency.median"), &l.median)?,
                    self.positive_duration(&format!("{path}.latency.p99"), &l.p99)?,
                ),
                None => (
                    self.duration("", defaults::LATENCY_MEDIAN)?,
                    self.duration("", defaults::LATENCY_P99)?,
                ),
            };
            if p99 < median {
                return self.err(
                    format!("{path}.latency.p99"),
                    format!(
                        "{} is below the median {}; expected p99 ≥ median",
                        p99.human(),
                        median.human()
                    ),
                );
            }
            Ok(VersionSpec {
                name: name.to_string(),
                error_rate: self
                    .probability(&format!("{path}.error_rate"), v.error_rate.unwrap_or(0.0))?,
                latency: LatencyModel::from_median_p99(median, p99),
            })
        };
        Ok([one("stable", stable)?, one("candidate", candidate)?])
    }
}
