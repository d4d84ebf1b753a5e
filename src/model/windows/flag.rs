//! Windows mode under feature-flag routing: users grouped by Unleash bucket, pieces cut where
//! an instance's SDK value changes.
//!
//! In the request mode ([`FlagRouting::enabled`]) a request of user `u` goes to instance
//! `⌊d·n/2³²⌋` of its 32-bit routing draw `d`, and to the candidate when `u`'s bucket
//! `b(u) ∈ 1..=100` is at most the percent that instance's SDK serves at `t`. The routing draw
//! is independent of the user and of the request's other draws, so a request of a bucket-`b`
//! user goes to the candidate with probability `q_b(t) = Σᵢ wᵢ·[b ≤ pᵢ(t)]`, `wᵢ` the exact
//! share of draws instance `i` gets ([`FlagRouting::instance_share`]). Users of one bucket are
//! exchangeable, so windows mode keeps them as 100 slices, one per bucket, whose sizes are
//! counted from the users' ids (they are fixed by the ids and the group, not random).
//!
//! Every instance's value `pᵢ(t)` is a pure function of time and of the target history (polls
//! at its phase + k·R, the streaming delay, stalls and their timeouts), so between two changes
//! of some instance's value every `q_b` is constant: [`World::advance_windows`] ends a piece
//! at each change ([`FlagRouting::next_value_change`]), and within a piece each bucket is a
//! slice with candidate share `q_b`, drawn as sticky slices are (cells, per-user affected
//! draws, onset). Flags add no random draw of their own here; the SDKs' phases are the request
//! mode's, from the same stream. Load shedding under flags pools the one fleet's capacity over
//! both code paths (`World::shedding_at`), thresholds set at control events in both modes.

use super::Slice;
use crate::engine::SimTime;
use crate::model::{FlagRouting, Scope, World};

/// One slice per bucket and scope class (classes `masks` of the faults' `scopes`), in bucket
/// order (`hi = Some(b)` for bucket `b`), each holding the users of that bucket and class.
pub(super) fn slices(flag: &FlagRouting, masks: &[u64], scopes: &[Scope]) -> Vec<Slice> {
    let scoped: Vec<Scope> = scopes.iter().filter(|s| !s.all).copied().collect();
    let class_of = |u: u64| {
        let mask = scoped
            .iter()
            .filter(|s| s.hits(u))
            .fold(0, |m, s| m | s.bit);
        masks.binary_search(&mask).unwrap_or(0)
    };
    let counts = flag.users_per_bucket_in(masks.len(), class_of);
    let mut slices = Vec::with_capacity(100 * masks.len());
    for b in 1..=100u64 {
        for (class, per_bucket) in counts.iter().enumerate() {
            slices.push(Slice {
                hi: Some(b),
                class,
                users: per_bucket[b as usize - 1],
                affected: 0,
                quiet_mean: 0.0,
            });
        }
    }
    slices
}

impl World<'_> {
    /// The candidate's share of each slice's requests over a piece starting at `t`: per bucket
    /// under flag routing ([`FlagRouting::bucket_shares`]), else as weights route them.
    pub(super) fn slice_shares(&self, slices: &[Slice], t: SimTime) -> Vec<f64> {
        match self.routing.flag() {
            Some(f) => {
                let shares = f.bucket_shares(t);
                let of = |s: &Slice| s.hi.map_or(0.0, |b| shares[b as usize - 1]);
                slices.iter().map(of).collect()
            }
            None => {
                let (sticky, thr32, thr64) = self.routing.thresholds();
                super::candidate_shares(slices, sticky, thr32, thr64)
            }
        }
    }

    /// Where a piece from `at` must end at the latest: the next change of some instance's flag
    /// value before `to` under flag routing, else `to`.
    pub(super) fn flag_piece_end(&self, at: SimTime, to: SimTime) -> SimTime {
        self.routing
            .flag()
            .and_then(|f| f.next_value_change(at, to))
            .unwrap_or(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;
    use crate::model::{Refresh, bucket};

    fn polling(instances: u32, seed: u64) -> FlagRouting {
        let mut rng = RngStreams::new(seed, 0).named("flags");
        let refresh = Refresh::Polling {
            interval: SimTime::from_secs(10),
        };
        let stalls = vec![None; instances as usize];
        FlagRouting::new("g", 1000, instances, refresh, &stalls, &mut rng)
    }

    #[test]
    fn a_bucket_share_is_the_share_of_instances_that_learned_the_target() {
        // 4 instances polling every 10 s, each on its own phase in [0, 10 s); the target goes
        // to 30 % at 0. At 5 s the k instances whose phase is at most 5 s serve 30 %, the
        // others still 0 (k read from the request mode's path: a user of bucket ≤ 30 routed
        // to each instance by a draw in its quarter). 4 divides 2³², so each instance gets
        // exactly a quarter of the draws: buckets 1..=30 go to the candidate with probability
        // k/4, buckets 31..=100 never.
        let mut f = polling(4, 7);
        f.set_target(SimTime::ZERO, 30.0);
        let at = SimTime::from_secs(5);
        let user = (0..1000).find(|&u| bucket("g", u) <= 30).unwrap();
        let k = (0..4u32).filter(|&i| f.enabled(user, i << 30, at)).count();
        assert!(k > 0 && k < 4, "seed 7 gives a mixed fleet, k = {k}");
        let shares = f.bucket_shares(at);
        assert_eq!(shares.len(), 100);
        for (b, &q) in (1..).zip(&shares) {
            let expected = if b <= 30 { k as f64 / 4.0 } else { 0.0 };
            assert_eq!(q, expected, "bucket {b}");
        }
        // Once every instance polled (at 10 s), buckets 1..=30 are wholly on the candidate.
        assert_eq!(f.bucket_shares(SimTime::from_secs(10))[29], 1.0);
    }

    #[test]
    fn bucket_slices_hold_every_user_once() {
        let f = polling(3, 1);
        let s = slices(&f, &[0], &[]);
        assert_eq!(s.len(), 100);
        assert_eq!(s.iter().map(|x| x.users).sum::<u64>(), 1000);
        let in42 = (0..1000).filter(|&u| bucket("g", u) == 42).count() as u64;
        assert_eq!(s[41].users, in42);
        assert_eq!(s[41].hi, Some(42));
    }
}
