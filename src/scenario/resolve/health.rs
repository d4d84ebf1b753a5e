//! `[fleet.probes]` and `[fleet.outlier_detection]`: Kubernetes probes and Envoy outlier
//! detection, with their upstream defaults.

use super::super::raw::{RawOutlierDetection, RawProbe, RawProbes};
use super::{Resolver, Result, short};
use crate::engine::SimTime;
use crate::model::{HealthSpec, OutlierSpec, ProbeSpec, ProbesSpec};

/// Kubernetes `Probe` defaults (`periodSeconds` 10, `timeoutSeconds` 1, `failureThreshold` 3,
/// `successThreshold` 1, `initialDelaySeconds` 0):
/// <https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#Probe>.
const PERIOD: &str = "10s";
const TIMEOUT: &str = "1s";
const FAILURE_THRESHOLD: u32 = 3;
const SUCCESS_THRESHOLD: u32 = 1;
const INITIAL_DELAY: &str = "0s";
/// Kubernetes `terminationGracePeriodSeconds` default (30).
const TERMINATION_GRACE: &str = "30s";
/// Envoy `OutlierDetection` defaults: `consecutive_5xx` 5, `interval` 10 s,
/// `base_ejection_time` 30 s, `max_ejection_time` 300 s, `max_ejection_percent` 10
/// (<https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/outlier_detection.proto>),
/// and the cluster's `healthy_panic_threshold` 50 %
/// (<https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/panic_threshold>).
const CONSECUTIVE_5XX: u32 = 5;
const INTERVAL: &str = "10s";
const BASE_EJECTION_TIME: &str = "30s";
const MAX_EJECTION_TIME: &str = "300s";
const MAX_EJECTION_PERCENT: f64 = 10.0;
const PANIC_THRESHOLD: f64 = 50.0;

impl Resolver<'_> {
    /// The probes and outlier detection of `[fleet]` (none when not written).
    pub(super) fn health(
        &self,
        probes: Option<&RawProbes>,
        outlier: Option<&RawOutlierDetection>,
    ) -> Result<HealthSpec> {
        Ok(HealthSpec {
            probes: probes.map(|p| self.probes(p)).transpose()?,
            outlier: outlier.map(|o| self.outlier(o)).transpose()?,
        })
    }

    fn probes(&self, p: &RawProbes) -> Result<ProbesSpec> {
        let path = "fleet.probes";
        if p.readiness.is_none() && p.liveness.is_none() {
            return self.err(
                path,
                "empty: configure [fleet.probes.readiness], [fleet.probes.liveness] or both",
            );
        }
        let liveness = p
            .liveness
            .as_ref()
            .map(|l| self.probe(&format!("{path}.liveness"), l))
            .transpose()?;
        if let Some(l) = &liveness
            && l.success_threshold != 1
        {
            return self.err(
                format!("{path}.liveness.success_threshold"),
                format!(
                    "{} is not allowed; a liveness probe's success threshold must be 1 (Kubernetes)",
                    l.success_threshold
                ),
            );
        }
        Ok(ProbesSpec {
            readiness: p
                .readiness
                .as_ref()
                .map(|r| self.probe(&format!("{path}.readiness"), r))
                .transpose()?,
            liveness,
            termination_grace: self.opt_duration(
                &format!("{path}.termination_grace_period"),
                p.termination_grace_period.as_ref(),
                TERMINATION_GRACE,
            )?,
        })
    }

    fn probe(&self, path: &str, p: &RawProbe) -> Result<ProbeSpec> {
        let field = |name: &str| format!("{path}.{name}");
        let count = |name: &str, n: Option<u32>, default: u32| match n.unwrap_or(default) {
            0 => self.err(field(name), "0 is not allowed; expected a whole number ≥ 1"),
            n => Ok(n),
        };
        Ok(ProbeSpec {
            period: self
                .periodic_duration(&field("period"), p.period.as_deref().unwrap_or(PERIOD))?,
            timeout: self
                .positive_duration(&field("timeout"), p.timeout.as_deref().unwrap_or(TIMEOUT))?,
            failure_threshold: count("failure_threshold", p.failure_threshold, FAILURE_THRESHOLD)?,
            success_threshold: count("success_threshold", p.success_threshold, SUCCESS_THRESHOLD)?,
            initial_delay: self.opt_duration(
                &field("initial_delay"),
                p.initial_delay.as_ref(),
                INITIAL_DELAY,
            )?,
        })
    }

    fn outlier(&self, o: &RawOutlierDetection) -> Result<OutlierSpec> {
        let field = |name: &str| format!("fleet.outlier_detection.{name}");
        let percent = |name: &str, x: Option<f64>, default: f64| match x.unwrap_or(default) {
            x if (0.0..=100.0).contains(&x) => Ok(x),
            x => self.err(
                field(name),
                format!(
                    "{} is not allowed; expected a percentage from 0 to 100",
                    short(x)
                ),
            ),
        };
        let base = self.positive_duration(
            &field("base_ejection_time"),
            o.base_ejection_time
                .as_deref()
                .unwrap_or(BASE_EJECTION_TIME),
        )?;
        Ok(OutlierSpec {
            consecutive_5xx: match o.consecutive_5xx.unwrap_or(CONSECUTIVE_5XX) {
                0 => {
                    return self.err(
                        field("consecutive_5xx"),
                        "0 is not allowed; expected a whole number ≥ 1",
                    );
                }
                n => n,
            },
            interval: self.periodic_duration(
                &field("interval"),
                o.interval.as_deref().unwrap_or(INTERVAL),
            )?,
            base_ejection_time: base,
            max_ejection_time: self
                .opt_duration(
                    &field("max_ejection_time"),
                    o.max_ejection_time.as_ref(),
                    MAX_EJECTION_TIME,
                )?
                .max(SimTime::ZERO),
            max_ejection_percent: percent(
                "max_ejection_percent",
                o.max_ejection_percent,
                MAX_EJECTION_PERCENT,
            )?,
            panic_threshold: percent("panic_threshold", o.panic_threshold, PANIC_THRESHOLD)?,
        })
    }
}
