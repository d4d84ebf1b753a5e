//! Which version serves a request: a weight per request, or sticky by user hash.

use super::VersionId;
use super::flag::FlagRouting;
use crate::engine::{SimTime, splitmix64};

/// The router's state: the candidate's share of traffic and how it is applied.
///
/// Per-request routing sends each request to the candidate with probability `weight`.
/// Sticky routing (session affinity) sends user `u` to the candidate when
/// `splitmix64(u ⊕ salt) / 2⁶⁴ < weight`, so a user stays on one side and raising the weight
/// only adds users. Flag routing sends a request to the candidate code path when the flag is
/// on for its user on the instance that serves it (see [`FlagRouting`]).
#[derive(Debug, Clone)]
pub struct Routing {
    flag: Option<FlagRouting>,
    sticky: bool,
    salt: u64,
    weight_pct: f64,
    /// Threshold against a 32-bit per-request draw.
    thr32: u64,
    /// Threshold against a 64-bit user hash.
    thr64: u64,
    /// Since when each version has had no traffic.
    idle_since: [Option<SimTime>; 2],
}

impl Routing {
    /// All traffic on the stable version.
    pub fn new(sticky: bool, salt: u64) -> Routing {
        Routing {
            flag: None,
            sticky,
            salt,
            weight_pct: 0.0,
            thr32: 0,
            thr64: 0,
            idle_since: [None, Some(SimTime::ZERO)],
        }
    }

    /// Sends `weight_pct` % of traffic to the candidate from `now` on.
    pub fn set_weight(&mut self, now: SimTime, weight_pct: f64) {
        let share = (weight_pct / 100.0).clamp(0.0, 1.0);
        self.weight_pct = share * 100.0;
        self.thr32 = (share * 4_294_967_296.0) as u64;
        self.thr64 = if share >= 1.0 {
            u64::MAX
        } else {
            (share * 18_446_744_073_709_551_616.0) as u64
        };
        for (v, share_v) in [
            (VersionId::Stable, 1.0 - share),
            (VersionId::Candidate, share),
        ] {
            let idle = &mut self.idle_since[v.index()];
            match (share_v > 0.0, *idle) {
                (true, _) => *idle = None,
                (false, None) => *idle = Some(now),
                (false, Some(_)) => {}
            }
        }
    }

    /// Flag routing: every request goes through `flag`, starting with the flag off.
    pub fn flagged(flag: FlagRouting) -> Routing {
        Routing {
            flag: Some(flag),
            ..Routing::new(false, 0)
        }
    }

    /// Whether both versions share the same instances (flags: one fleet runs both code paths).
    pub fn pooled(&self) -> bool {
        self.flag.is_some()
    }

    /// The flag routing, when requests are routed by a feature flag (windows mode reads its
    /// per-bucket candidate shares and when instances' values change).
    pub(super) fn flag(&self) -> Option<&FlagRouting> {
        self.flag.as_ref()
    }

    /// Sets the flag's target percentage at `now` (flag routing only; ignored otherwise).
    pub fn set_flag(&mut self, now: SimTime, percent: f64) {
        if let Some(f) = &mut self.flag {
            f.set_target(now, percent);
            self.weight_pct = percent;
        }
    }

    /// The share of traffic `v` receives, in `[0, 1]` (flags: the target's share).
    pub fn share(&self, v: VersionId) -> f64 {
        match v {
            VersionId::Candidate => self.weight_pct / 100.0,
            VersionId::Stable => 1.0 - self.weight_pct / 100.0,
        }
    }

    /// Since when `v` has received no traffic for good (`None`: it may still receive some).
    /// Under flags, the candidate is idle once the last instance has learned a 0 % target.
    pub fn idle_since(&self, v: VersionId) -> Option<SimTime> {
        match &self.flag {
            None => self.idle_since[v.index()],
            Some(f) => {
                let off = match v {
                    VersionId::Candidate => 0.0,
                    VersionId::Stable => 100.0,
                };
                if f.target() == off {
                    f.settled_at()
                } else {
                    None
                }
            }
        }
    }

    /// `(sticky, thr32, thr64)`: how [`Routing::pick`] decides outside flag routing, for
    /// windows mode, which routes counts rather than requests.
    pub(super) fn thresholds(&self) -> (bool, u64, u64) {
        (self.sticky, self.thr32, self.thr64)
    }

    /// The version serving a request of `user` at `t`, given the request's 32-bit routing draw.
    #[inline]
    pub fn pick(&mut self, user: u64, draw32: u32, t: SimTime) -> VersionId {
        if let Some(f) = &mut self.flag {
            return if f.enabled(user, draw32, t) {
                VersionId::Candidate
            } else {
                VersionId::Stable
            };
        }
        if self.thr32 == 0 && self.thr64 == 0 {
            return VersionId::Stable;
        }
        let to_candidate = if self.sticky {
            self.thr64 == u64::MAX || splitmix64(user ^ self.salt) < self.thr64
        } else {
            u64::from(draw32) < self.thr32
        };
        if to_candidate {
            VersionId::Candidate
        } else {
            VersionId::Stable
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sticky_routing_only_adds_users_as_weight_grows() {
        let mut r = Routing::new(true, 42);
        r.set_weight(SimTime::ZERO, 10.0);
        let at10: Vec<u64> = (0..10_000)
            .filter(|&u| r.pick(u, 0, SimTime::ZERO) == VersionId::Candidate)
            .collect();
        r.set_weight(SimTime::ZERO, 25.0);
        assert!(
            at10.iter()
                .all(|&u| r.pick(u, 0, SimTime::ZERO) == VersionId::Candidate)
        );
        // 10 % of 10 000 users: sd = √(10 000·0.1·0.9) = 30.
        assert!((at10.len() as f64 - 1000.0).abs() < 120.0, "{}", at10.len());
    }

    #[test]
    fn full_and_zero_weights_are_exact() {
        let mut r = Routing::new(false, 1);
        assert_eq!(r.pick(5, u32::MAX, SimTime::ZERO), VersionId::Stable);
        r.set_weight(SimTime::ZERO, 100.0);
        assert_eq!(r.pick(5, u32::MAX, SimTime::ZERO), VersionId::Candidate);
        assert_eq!(r.idle_since(VersionId::Stable), Some(SimTime::ZERO));
        r.set_weight(SimTime::from_secs(9), 0.0);
        assert_eq!(
            r.idle_since(VersionId::Candidate),
            Some(SimTime::from_secs(9))
        );
        assert_eq!(r.idle_since(VersionId::Stable), None);
    }
}
