//! Feature flags: who is in the cohort, and when each instance learns a flag change.
//!
//! Cohort (Unleash's flexible rollout, `unleash-client-node` `src/strategy/util.ts`):
//! user `u` is in when `murmur3_x86_32("<group>:<u>", seed 0) % 100 + 1 ≤ percent`, with the
//! group the strategy's name. A user stays in or out, and raising the percentage only adds users.
//!
//! Propagation: every instance evaluates the flag locally with the value its SDK last fetched.
//! Under polling, instance `i` fetches at `φᵢ + k·R` (phase `φᵢ ~ U(0, R)`, one per instance and
//! replication); under streaming it learns a change `delay` after it is made. A stalled instance
//! (`flag_stall` fault) fetches nothing from the stall's start to its end (a restart), and falls
//! back to the code default, off, once its data is `stall_timeout` old. Each instance's value is a
//! pure function of time and of the history of the flag's target value.

use crate::engine::{Rng, SimTime};
use crate::names::named;
use rand::RngExt;

/// MurmurHash3 x86 32-bit, the hash Unleash and flagd bucket users with.
pub fn murmur3_x86_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        h ^= k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let k = tail
            .iter()
            .rev()
            .fold(0u32, |k, &b| (k << 8) | u32::from(b));
        h ^= k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// Unleash's normalized bucket of `user` in `group`, 1 to 100.
pub fn bucket(group: &str, user: u64) -> u8 {
    (murmur3_x86_32(format!("{group}:{user}").as_bytes(), 0) % 100 + 1) as u8
}

/// How instances learn flag changes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Refresh {
    /// Each instance fetches every `interval`, on its own random phase.
    Polling {
        /// Time between fetches.
        interval: SimTime,
    },
    /// Changes are pushed; each instance applies them `delay` after they are made.
    Streaming {
        /// Push latency.
        delay: SimTime,
    },
}

named! {
    /// The names of the refresh modes ([`Refresh`] without its parameters).
    pub enum RefreshMode {
        /// [`Refresh::Polling`].
        Polling = "polling",
        /// [`Refresh::Streaming`].
        Streaming = "streaming",
    }
}

impl Refresh {
    /// The mode's name in scenario files.
    pub fn mode(&self) -> RefreshMode {
        match self {
            Refresh::Polling { .. } => RefreshMode::Polling,
            Refresh::Streaming { .. } => RefreshMode::Streaming,
        }
    }
}

/// A stall of some instances' SDKs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stall {
    /// When the stalled instances stop fetching.
    pub start: SimTime,
    /// When they fetch again (a restart); `None`: not within the run.
    pub end: Option<SimTime>,
    /// Age of data after which an SDK serves the code default (off); `None`: never.
    pub timeout: Option<SimTime>,
}

/// One instance's flag value and until when it holds.
#[derive(Debug, Clone, Copy)]
struct Instance {
    percent: f64,
    /// The value may change at or after this time.
    until: SimTime,
    phase: SimTime,
    stall: Option<Stall>,
}

/// Flag routing state: cohort buckets, target history, per-instance values.
#[derive(Debug, Clone)]
pub struct FlagRouting {
    buckets: Vec<u8>,
    refresh: Refresh,
    /// `(time, percent)` of every target change, in time order; before the first, 0.
    history: Vec<(SimTime, f64)>,
    instances: Vec<Instance>,
}

impl FlagRouting {
    /// `instances` instances serving a flag for `users` users in `group`; `stalls[i]` is
    /// instance `i`'s stall, if any; phases are drawn from `rng`.
    pub fn new(
        group: &str,
        users: u64,
        instances: u32,
        refresh: Refresh,
        stalls: &[Option<Stall>],
        rng: &mut Rng,
    ) -> FlagRouting {
        let instances = (0..instances as usize)
            .map(|i| {
                let phase = match refresh {
                    Refresh::Polling { interval } => {
                        SimTime(rng.random_range(0..interval.micros().max(1)))
                    }
                    Refresh::Streaming { .. } => SimTime::ZERO,
                };
                Instance {
                    percent: 0.0,
                    until: SimTime::ZERO,
                    phase,
                    stall: stalls.get(i).copied().flatten(),
                }
            })
            .collect();
        // `bucket` for every user, the key written into one reused buffer (windows mode's runs
        // are short enough for an allocation per user to show).
        let mut key = format!("{group}:").into_bytes();
        let prefix = key.len();
        let buckets = (0..users)
            .map(|u| {
                use std::io::Write as _;
                key.truncate(prefix);
                let _ = write!(key, "{u}");
                (murmur3_x86_32(&key, 0) % 100 + 1) as u8
            })
            .collect();
        FlagRouting {
            buckets,
            refresh,
            history: Vec::new(),
            instances,
        }
    }

    /// Sets the flag's target to `percent` at `now`.
    pub fn set_target(&mut self, now: SimTime, percent: f64) {
        self.history.push((now, percent));
        if let Refresh::Streaming { delay } = self.refresh {
            let at = now.saturating_add(delay);
            for inst in &mut self.instances {
                inst.until = inst.until.min(at);
            }
        }
    }

    /// The current target, percent.
    pub fn target(&self) -> f64 {
        self.history.last().map_or(0.0, |h| h.1)
    }

    fn target_at(&self, t: SimTime) -> f64 {
        let n = self.history.partition_point(|h| h.0 <= t);
        if n == 0 { 0.0 } else { self.history[n - 1].1 }
    }

    /// Whether `user`'s request served by instance `draw32 · n / 2³²` gets the feature at `t`.
    #[inline]
    pub fn enabled(&mut self, user: u64, draw32: u32, t: SimTime) -> bool {
        let i = ((u64::from(draw32) * self.instances.len() as u64) >> 32) as usize;
        if t >= self.instances[i].until {
            self.update(i, t);
        }
        f64::from(self.buckets[user as usize]) <= self.instances[i].percent
    }

    /// When instance `i` fetches or receives the target as of `as_of`, stalls aside: its next
    /// poll at or after `as_of` (polling), or `as_of + delay` (streaming).
    fn delivery(&self, i: usize, as_of: SimTime) -> SimTime {
        match self.refresh {
            Refresh::Polling { interval } => {
                polls_around(
                    self.instances[i].phase,
                    interval,
                    as_of.saturating_sub(SimTime(1)),
                )
                .1
            }
            Refresh::Streaming { delay } => as_of.saturating_add(delay),
        }
    }

    /// The target time whose value instance `i` serves at `t`, stalls aside (`None`: nothing
    /// received yet, the code default).
    fn seen_as_of(&self, i: usize, t: SimTime) -> Option<SimTime> {
        match self.refresh {
            Refresh::Polling { interval } => polls_around(self.instances[i].phase, interval, t).0,
            Refresh::Streaming { delay } => t.micros().checked_sub(delay.micros()).map(SimTime),
        }
    }

    /// The next time after `t` at which instance `i`'s value may change, stalls aside.
    fn next_change(&self, i: usize, t: SimTime) -> SimTime {
        match self.refresh {
            Refresh::Polling { interval } => polls_around(self.instances[i].phase, interval, t).1,
            Refresh::Streaming { delay } => self
                .history
                .iter()
                .map(|h| h.0.saturating_add(delay))
                .find(|&a| a > t)
                .unwrap_or(SimTime(u64::MAX)),
        }
    }

    /// The stall of instance `i` as `[start, resumes)`: from the stall's start to its first
    /// fetch after the restart (its next poll, or at once for a stream reconnecting).
    fn stall_window(&self, i: usize) -> Option<(SimTime, SimTime, Stall)> {
        let s = self.instances[i].stall?;
        let resumes = match (s.end, self.refresh) {
            (None, _) => SimTime(u64::MAX),
            (Some(e), Refresh::Polling { interval }) => {
                polls_around(
                    self.instances[i].phase,
                    interval,
                    e.saturating_sub(SimTime(1)),
                )
                .1
            }
            (Some(e), Refresh::Streaming { .. }) => e,
        };
        Some((s.start, resumes, s))
    }

    /// When a stalled instance's data turns `stall.timeout` old: counted from its last poll
    /// before the stall (polling) or from the stall's start, when the stream went quiet.
    fn stale_at(&self, i: usize, stall: Stall) -> Option<SimTime> {
        let received = match self.refresh {
            Refresh::Polling { .. } => self
                .seen_as_of(i, stall.start.saturating_sub(SimTime(1)))
                .unwrap_or(stall.start),
            Refresh::Streaming { .. } => stall.start,
        };
        stall.timeout.map(|d| received.saturating_add(d))
    }

    /// Instance `i`'s value at `t` and the first time after `t` at which it may change: a pure
    /// function of `t` and of the target history up to `t`.
    ///
    /// A stalled instance serves what it had received when the stall began; once that data is
    /// `timeout` old it serves the code default (off); at the stall's end (a restart) it
    /// fetches again.
    fn value_at(&self, i: usize, t: SimTime) -> (f64, SimTime) {
        let value = |as_of: Option<SimTime>| as_of.map_or(0.0, |s| self.target_at(s));
        let window = self.stall_window(i);
        let (percent, until) = match window.filter(|w| t >= w.0 && t < w.1) {
            None => {
                let mut until = self.next_change(i, t);
                if let Some((start, _, _)) = window.filter(|w| w.0 > t) {
                    until = until.min(start);
                }
                (value(self.seen_as_of(i, t)), until)
            }
            Some((start, resumes, s)) => {
                let frozen = self.seen_as_of(i, start.saturating_sub(SimTime(1)));
                match self.stale_at(i, s) {
                    Some(at) if t >= at => (0.0, resumes),
                    Some(at) => (value(frozen), at.min(resumes)),
                    None => (value(frozen), resumes),
                }
            }
        };
        (percent, until.max(SimTime(t.micros() + 1)))
    }

    /// Recomputes instance `i`'s value at `t` and until when it holds.
    fn update(&mut self, i: usize, t: SimTime) {
        let (percent, until) = self.value_at(i, t);
        self.instances[i].percent = percent;
        self.instances[i].until = until;
    }

    /// The share of 32-bit routing draws [`FlagRouting::enabled`] sends to instance `i`: the
    /// draws `d` with `⌊d·n/2³²⌋ = i`, `⌈(i+1)·2³²/n⌉ − ⌈i·2³²/n⌉` of the 2³² (exact, so
    /// not quite 1/n when n does not divide 2³²).
    pub fn instance_share(&self, i: usize) -> f64 {
        let n = self.instances.len() as u128;
        let first = |k: u128| (k << 32).div_ceil(n);
        let i = i as u128;
        (first(i + 1) - first(i)) as f64 / 4_294_967_296.0
    }

    /// How many of the users have each bucket: `counts[b − 1]` users are in bucket `b`. Fixed
    /// by the users' ids and the group, not random.
    pub fn users_per_bucket(&self) -> [u64; 100] {
        self.users_per_bucket_in(1, |_| 0)[0]
    }

    /// [`FlagRouting::users_per_bucket`] within classes of users: `counts[c][b − 1]` users are
    /// in bucket `b` and in class `class_of(u) = c` (below `classes`).
    pub fn users_per_bucket_in(
        &self,
        classes: usize,
        class_of: impl Fn(u64) -> usize,
    ) -> Vec<[u64; 100]> {
        let mut counts = vec![[0u64; 100]; classes];
        for (u, &b) in (0u64..).zip(&self.buckets) {
            counts[class_of(u)][usize::from(b) - 1] += 1;
        }
        counts
    }

    /// The probability that a request of a user in bucket `b` goes to the candidate at `t`,
    /// `shares[b − 1]`: the routing draw picks instance `i` with [`FlagRouting::instance_share`]
    /// and the candidate serves it when `b` is at most the percent `i` serves at `t`.
    pub fn bucket_shares(&self, t: SimTime) -> [f64; 100] {
        let mut shares = [0.0; 100];
        for i in 0..self.instances.len() {
            let (percent, _) = self.value_at(i, t);
            let w = self.instance_share(i);
            for (b, share) in (1u8..).zip(shares.iter_mut()) {
                if f64::from(b) <= percent {
                    *share += w;
                }
            }
        }
        shares
    }

    /// The first time in `(t, to)` at which some instance's value differs from its value at
    /// `t`, given the target history so far (`None`: none before `to`). Between `t` and that
    /// time every instance serves a constant value.
    pub fn next_value_change(&self, t: SimTime, to: SimTime) -> Option<SimTime> {
        let mut first = to;
        for i in 0..self.instances.len() {
            let (now, mut at) = self.value_at(i, t);
            while at < first {
                let (value, until) = self.value_at(i, at);
                if value != now {
                    first = at;
                    break;
                }
                at = until;
            }
        }
        (first < to).then_some(first)
    }

    /// When every instance serves the current target, if ever (meaningful for a kill
    /// switch: when the last instance stops serving the feature).
    pub fn settled_at(&self) -> Option<SimTime> {
        let (changed, target) = *self.history.last()?;
        let mut latest = changed;
        for i in 0..self.instances.len() {
            let at = self.delivery(i, changed);
            let at = match self.stall_window(i) {
                Some((start, resumes, s)) if at >= start && at < resumes => {
                    // Stale data falls back to off, which is the kill switch's target.
                    let fallback = self
                        .stale_at(i, s)
                        .filter(|_| target == 0.0)
                        .map(|a| a.max(changed));
                    let resumes = (resumes < SimTime(u64::MAX)).then_some(resumes);
                    match (resumes, fallback) {
                        (Some(a), Some(b)) => a.min(b),
                        (a, b) => a.or(b)?,
                    }
                }
                _ => at,
            };
            latest = latest.max(at);
        }
        Some(latest)
    }
}

/// The last poll at or before `t` (if any) and the first poll after `t`, for polls at
/// `phase + k·interval`, `k ≥ 0`.
fn polls_around(phase: SimTime, interval: SimTime, t: SimTime) -> (Option<SimTime>, SimTime) {
    let r = interval.micros().max(1);
    if t < phase {
        return (None, phase);
    }
    let k = (t.micros() - phase.micros()) / r;
    let last = SimTime(phase.micros() + k * r);
    (Some(last), last.saturating_add(SimTime(r)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;

    #[test]
    fn murmur3_matches_reference_vectors() {
        assert_eq!(murmur3_x86_32(b"", 0), 0);
        assert_eq!(murmur3_x86_32(b"hello", 0), 0x248b_fa47);
        assert_eq!(
            murmur3_x86_32(b"The quick brown fox jumps over the lazy dog", 0),
            0x2e4f_f723
        );
    }

    #[test]
    fn buckets_are_uniform_and_raising_only_adds() {
        let n = 100_000;
        let in10 = (0..n).filter(|&u| bucket("f", u) <= 10).count() as f64;
        // Binomial(100 000, 0.1): sd ≈ 95.
        assert!((in10 - 10_000.0).abs() < 400.0, "{in10}");
        assert!((0..1000).all(|u| bucket("f", u) > 10 || bucket("f", u) <= 25));
    }

    fn routing(refresh: Refresh, stalls: &[Option<Stall>]) -> FlagRouting {
        let mut rng = RngStreams::new(1, 0).named("flags");
        FlagRouting::new("f", 100, 1, refresh, stalls, &mut rng)
    }

    #[test]
    fn polling_instances_learn_at_their_next_poll() {
        let r = SimTime::from_secs(15);
        let mut f = routing(Refresh::Polling { interval: r }, &[None]);
        let phase = f.instances[0].phase;
        f.set_target(SimTime::ZERO, 100.0);
        assert!(phase >= SimTime::ZERO && phase < r);
        if phase > SimTime::ZERO {
            assert!(!f.enabled(0, 0, phase - SimTime(1)));
        }
        assert!(f.enabled(0, 0, phase));
        f.set_target(SimTime::from_secs(100), 0.0);
        let first_after = polls_around(phase, r, SimTime::from_secs(100) - SimTime(1)).1;
        assert!(f.enabled(0, 0, first_after - SimTime(1)));
        assert!(!f.enabled(0, 0, first_after));
        assert_eq!(f.settled_at(), Some(first_after));
    }

    #[test]
    fn streaming_instances_learn_after_the_delay() {
        let mut f = routing(
            Refresh::Streaming {
                delay: SimTime::from_secs(1),
            },
            &[None],
        );
        f.set_target(SimTime::from_secs(10), 100.0);
        assert!(!f.enabled(0, 0, SimTime::from_secs(10)));
        assert!(f.enabled(0, 0, SimTime::from_secs(11)));
        f.set_target(SimTime::from_secs(20), 0.0);
        assert!(f.enabled(0, 0, SimTime::from_secs(20)));
        assert!(!f.enabled(0, 0, SimTime::from_secs(21)));
        assert_eq!(f.settled_at(), Some(SimTime::from_secs(21)));
    }

    #[test]
    fn a_stalled_instance_keeps_the_feature_until_restart_or_timeout() {
        let r = SimTime::from_secs(10);
        let stall = Stall {
            start: SimTime::from_secs(50),
            end: Some(SimTime::from_secs(300)),
            timeout: None,
        };
        let mut f = routing(Refresh::Polling { interval: r }, &[Some(stall)]);
        f.set_target(SimTime::ZERO, 100.0);
        f.set_target(SimTime::from_secs(100), 0.0);
        assert!(
            f.enabled(0, 0, SimTime::from_secs(299)),
            "stalled: still on"
        );
        let resumes = polls_around(
            f.instances[0].phase,
            r,
            SimTime::from_secs(300) - SimTime(1),
        )
        .1;
        assert!(!f.enabled(0, 0, resumes));
        assert_eq!(f.settled_at(), Some(resumes));

        let timed = Stall {
            timeout: Some(SimTime::from_secs(120)),
            ..stall
        };
        let mut g = routing(Refresh::Polling { interval: r }, &[Some(timed)]);
        g.set_target(SimTime::ZERO, 100.0);
        g.set_target(SimTime::from_secs(100), 0.0);
        let fetched = polls_around(g.instances[0].phase, r, SimTime::from_secs(50) - SimTime(1))
            .0
            .unwrap();
        let stale = fetched + SimTime::from_secs(120);
        assert!(g.enabled(0, 0, stale - SimTime(1)));
        assert!(!g.enabled(0, 0, stale), "stale data: the code default, off");
        assert_eq!(g.settled_at(), Some(stale));
    }

    #[test]
    fn instance_shares_are_exact_and_match_the_instance_choice() {
        // 12 instances: 2³² = 12·357 913 941 + 4, so the draws with ⌊d·12/2³²⌋ = i number
        // ⌈(i+1)·2³²/12⌉ − ⌈i·2³²/12⌉: 357 913 942 for four instances, 357 913 941 for eight.
        let mut rng = RngStreams::new(1, 0).named("flags");
        let polling = Refresh::Polling {
            interval: SimTime::from_secs(15),
        };
        let f = FlagRouting::new("g", 10, 12, polling, &[None; 12], &mut rng);
        let counts: Vec<u64> = (0..12)
            .map(|i| (f.instance_share(i) * 4_294_967_296.0) as u64)
            .collect();
        assert_eq!(counts.iter().sum::<u64>(), 1 << 32);
        assert_eq!(counts.iter().filter(|&&c| c == 357_913_942).count(), 4);
        assert_eq!(counts.iter().filter(|&&c| c == 357_913_941).count(), 8);
        // Instance 0 ends where `enabled`'s choice switches to instance 1.
        assert_eq!(((counts[0] - 1) * 12) >> 32, 0);
        assert_eq!((counts[0] * 12) >> 32, 1);
    }

    #[test]
    fn users_per_bucket_count_the_hash() {
        let mut rng = RngStreams::new(1, 0).named("flags");
        let streaming = Refresh::Streaming {
            delay: SimTime::from_secs(1),
        };
        let f = FlagRouting::new("grp", 5000, 3, streaming, &[None; 3], &mut rng);
        let counts = f.users_per_bucket();
        assert_eq!(counts.iter().sum::<u64>(), 5000);
        let in7 = (0..5000).filter(|&u| bucket("grp", u) == 7).count();
        assert_eq!(counts[6], in7 as u64);
        // Every user's bucket as `bucket` computes it: one class per user.
        let each = f.users_per_bucket_in(5000, |u| u as usize);
        assert!((0..5000u64).all(|u| each[u as usize][usize::from(bucket("grp", u)) - 1] == 1));
        // By the parity of the id: the two classes add up to the buckets.
        let split = f.users_per_bucket_in(2, |u| (u % 2) as usize);
        let even7 = (0..5000)
            .filter(|&u| u % 2 == 0 && bucket("grp", u) == 7)
            .count();
        assert_eq!(split[0][6], even7 as u64);
        assert_eq!(split[0][6] + split[1][6], counts[6]);
    }

    #[test]
    fn value_changes_and_shares_follow_stalls_and_streaming() {
        // Streaming with a 1 s delay on 3 instances, instance 0 stalled from 50 s with a 20 s
        // timeout and restarted at 200 s; target 20 % at 10 s, 0 at 100 s. Values change at
        // 11 s (all three learn 20 %), at 70 s (instance 0's data, quiet since its stall at
        // 50 s, is 20 s old: off) and at 101 s (the other two learn 0); instance 0 resumes at
        // 200 s with the 0 it already serves: no change.
        let s = SimTime::from_secs;
        let stall = Stall {
            start: s(50),
            end: Some(s(200)),
            timeout: Some(s(20)),
        };
        let mut rng = RngStreams::new(1, 0).named("flags");
        let streaming = Refresh::Streaming { delay: s(1) };
        let mut f = FlagRouting::new("g", 100, 3, streaming, &[Some(stall), None, None], &mut rng);
        f.set_target(s(10), 20.0);
        f.set_target(s(100), 0.0);
        let mut changes = Vec::new();
        let mut t = SimTime::ZERO;
        while let Some(c) = f.next_value_change(t, s(1000)) {
            changes.push(c);
            t = c;
        }
        assert_eq!(changes, [s(11), s(70), s(101)]);
        assert_eq!(f.next_value_change(s(11), s(70)), None, "`to` is excluded");
        // Bucket 20's candidate share: 0, 1, then 1 − w₀ once instance 0 falls back, then 0;
        // 3 does not divide 2³²: instance 0 gets ⌈2³²/3⌉ = 1 431 655 766 draws. Bucket 21: 0.
        let w0 = 1_431_655_766.0 / 4_294_967_296.0;
        let share = |t| f.bucket_shares(t)[19];
        assert_eq!(share(s(10)), 0.0);
        assert!((share(s(11)) - 1.0).abs() < 1e-12);
        assert!((share(s(70)) - (1.0 - w0)).abs() < 1e-12);
        assert_eq!(share(s(101)), 0.0);
        assert_eq!(f.bucket_shares(s(11))[20], 0.0);
    }

    #[test]
    fn cached_values_agree_with_the_pure_function() {
        // The request mode caches each instance's value until it may change; windows mode
        // reads the pure function. Polling (random phases) with a stall and a timeout, and a
        // target history set as time goes, queried at irregular times.
        let s = SimTime::from_secs;
        let stall = Stall {
            start: s(40),
            end: Some(s(170)),
            timeout: Some(s(45)),
        };
        let mut rng = RngStreams::new(9, 0).named("flags");
        let polling = Refresh::Polling { interval: s(15) };
        let stalls = [Some(stall), None, Some(stall), None, None];
        let mut f = FlagRouting::new("g", 2000, 5, polling, &stalls, &mut rng);
        let targets = [(s(0), 10.0), (s(61), 50.0), (s(130), 0.0), (s(150), 100.0)];
        let user = (0..2000).find(|&u| bucket("g", u) == 10).unwrap();
        let mut changes = 0;
        let mut previous = [false; 5];
        let mut next_target = 0;
        for step in 0..25_000u64 {
            let t = SimTime(step * 10_007);
            // Each change is set once time reaches it (no query happened at or after it yet).
            while next_target < targets.len() && targets[next_target].0 <= t {
                let (at, p) = targets[next_target];
                f.set_target(at, p);
                next_target += 1;
            }
            for i in 0..5u32 {
                let draw = ((u64::from(i) << 32).div_ceil(5)) as u32;
                let on = f.enabled(user, draw, t);
                assert_eq!(
                    on,
                    f.value_at(i as usize, t).0 >= 10.0,
                    "{t:?} instance {i}"
                );
                changes += usize::from(on != previous[i as usize]);
                previous[i as usize] = on;
            }
        }
        assert!(changes >= 10, "the history switches values: {changes}");
    }
}
