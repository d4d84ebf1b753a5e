//! Outlier detection in windows mode (`[fleet.outlier_detection]`, Envoy's consecutive 5xx).
//!
//! Over a piece each routable instance's failed and successful responses are independent
//! Poisson processes (the piece's outcome probabilities are constant), measured in the
//! piece's expected user requests so that the rates stay constant under a diurnal swing. The
//! instance's count of failures in a row is a Markov chain driven by them, drawn event by event
//! where a run can eject the instance:
//! - at 0, the next failure comes after Exp(failure rate); the successes before it change
//!   nothing, so they are counted afterwards, Poisson over the time spent at 0;
//! - at c > 0, the next response comes after Exp(rate): a failure (c + 1) or a success (0);
//! - the `consecutive_5xx`-th failure in a row of an ejectable instance ejects it and ends the
//!   piece there, since routing changes; the next piece draws what follows afresh (the
//!   processes are Markov, so stopping at the ejection is exact).
//!
//! An instance whose run cannot eject it (already ejected and routed to under the panic
//! threshold, or beyond `max_ejection_percent`) only needs its count at the piece's end: its
//! last success is an Exp(success rate) back from the end (time reversal) and the failures
//! after it are Poisson, a few draws whatever its traffic.
//!
//! Given an instance's failures and successes, which outcome cell each one is (scope class,
//! baseline or fault, z zone) does not depend on when it came (the marks of a Poisson
//! process), so the counts split over its groups' cells by conditional binomials. The users
//! behind a slice's affected requests are uniform among its users, so the newly affected are
//! an occupancy draw, one geometric wait per newly affected user.

use super::{Cells, Group, Parts, Quiet, Route, Sampler, Tally, binomial, poisson};
use crate::engine::{Rng, SimTime};
use crate::model::{Recorder, VersionId, World};
use rand::RngExt;
use rand_distr::{Distribution, Exp1, Geometric};

/// One instance's responses over a piece, as outlier detection counts them.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Chain {
    /// Failed responses per expected user request of the piece.
    pub fail: f64,
    /// Successful responses per expected user request of the piece.
    pub ok: f64,
    /// Failures in a row at the piece's start.
    pub counter: u32,
    /// Whether a run reaching the threshold ejects it.
    pub ejectable: bool,
}

/// What one instance answered over (the start of) a piece.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Run {
    pub failed: u64,
    pub ok: u64,
    /// Failures in a row at the end (0 after an ejection).
    pub counter: u32,
}

/// The runs of `chains` over `mass` expected requests, stopped at the first ejection by
/// `threshold` failures in a row: `(the ejected chain and the mass of its ejection, every
/// chain's run up to then)`.
pub(super) fn run(
    rng: &mut Rng,
    chains: &[Chain],
    threshold: u32,
    mass: f64,
) -> (Option<(usize, f64)>, Vec<Run>) {
    #[derive(Clone, Copy)]
    struct State {
        next: f64,
        /// Since when the count is 0 (`None`: within a run of failures).
        at_zero: Option<f64>,
        zero_mass: f64,
        run: Run,
    }
    let wait = |rng: &mut Rng, rate: f64| {
        if rate > 0.0 {
            <Exp1 as Distribution<f64>>::sample(&Exp1, rng) / rate
        } else {
            f64::INFINITY
        }
    };
    let mut states: Vec<State> = chains
        .iter()
        .map(|c| {
            let run = Run {
                counter: c.counter,
                ..Run::default()
            };
            let (next, at_zero) = match (c.ejectable, c.counter) {
                (false, _) => (f64::INFINITY, None),
                (true, 0) => (wait(rng, c.fail), Some(0.0)),
                (true, _) => (wait(rng, c.fail + c.ok), None),
            };
            State {
                next,
                at_zero,
                zero_mass: 0.0,
                run,
            }
        })
        .collect();
    let mut ejection = None;
    while let Some((j, m)) = (states.iter().enumerate())
        .map(|(j, s)| (j, s.next))
        .filter(|&(_, m)| m < mass)
        .min_by(|a, b| a.1.total_cmp(&b.1))
    {
        let c = chains[j];
        let s = &mut states[j];
        let failed = match s.at_zero.take() {
            Some(since) => {
                s.zero_mass += m - since;
                true
            }
            None => rng.random::<f64>() * (c.fail + c.ok) < c.fail,
        };
        if failed {
            s.run.failed += 1;
            s.run.counter += 1;
            if s.run.counter >= threshold {
                s.run.counter = 0;
                ejection = Some((j, m));
                break;
            }
            s.next = m + wait(rng, c.fail + c.ok);
        } else {
            s.run.ok += 1;
            s.run.counter = 0;
            s.at_zero = Some(m);
            s.next = m + wait(rng, c.fail);
        }
    }
    let end = ejection.map_or(mass, |(_, m)| m);
    let runs = (chains.iter().zip(states))
        .map(|(c, s)| {
            if !c.ejectable {
                return unwatched(rng, c, threshold, end);
            }
            let zero = s.zero_mass + s.at_zero.map_or(0.0, |since| end - since);
            Run {
                ok: s.run.ok + poisson(rng, c.ok * zero),
                ..s.run
            }
        })
        .collect();
    (ejection, runs)
}

/// The run over `mass` of an instance its runs cannot eject: the count restarts at
/// `threshold`, so only the failures after its last success (Exp(success rate) back from the
/// end) decide the count at the end.
fn unwatched(rng: &mut Rng, c: &Chain, threshold: u32, mass: f64) -> Run {
    let back = if c.ok > 0.0 {
        <Exp1 as Distribution<f64>>::sample(&Exp1, rng) / c.ok
    } else {
        f64::INFINITY
    };
    let threshold = u64::from(threshold.max(1));
    if back >= mass {
        let failed = poisson(rng, c.fail * mass);
        let counter = (u64::from(c.counter) + failed) % threshold;
        return Run {
            failed,
            ok: 0,
            counter: counter as u32,
        };
    }
    let last = poisson(rng, c.fail * back);
    let before = mass - back;
    Run {
        failed: last + poisson(rng, c.fail * before),
        ok: 1 + poisson(rng, c.ok * before),
        counter: (last % threshold) as u32,
    }
}

/// The number of empty bins among `empty` of `bins` that `balls` thrown uniformly fill: one
/// geometric wait (balls until one lands in an empty bin) per newly filled bin.
pub(super) fn occupancy(rng: &mut Rng, balls: u64, bins: u64, empty: u64) -> u64 {
    let (mut filled, mut left) = (0, balls);
    while left > 0 && filled < empty {
        let p = (empty - filled) as f64 / bins as f64;
        let wait = if p >= 1.0 {
            1
        } else {
            Geometric::new(p).map_or(u64::MAX, |g| g.sample(rng).saturating_add(1))
        };
        if wait > left {
            break;
        }
        left -= wait;
        filled += 1;
    }
    filled
}

/// One outcome cell of a group: a quiet cell's index or an affected cell's.
#[derive(Clone, Copy)]
enum Cell {
    Quiet(usize),
    Hit(usize),
}

/// The cells of `cs` whose requests fail (`failed`) or succeed, with their probabilities;
/// affected cells only `with_affected`.
fn outcome_cells(
    cs: &Cells,
    failed: bool,
    with_affected: bool,
) -> impl Iterator<Item = (Cell, f64)> {
    let quiet = (cs.quiet.iter().enumerate())
        .filter(move |(_, q)| (q.1 != Quiet::Ok) == failed)
        .map(|(j, q)| (Cell::Quiet(j), q.0));
    let hits = (cs.affected.iter().enumerate())
        .filter(move |(_, h)| with_affected && h.failed == failed)
        .map(|(j, h)| (Cell::Hit(j), h.p));
    quiet.chain(hits)
}

/// An ejection drawn in a piece.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ejected {
    pub v: VersionId,
    /// The instance's index in its pool.
    pub index: usize,
    /// Expected user requests from the piece's start to the ejection.
    pub mass: f64,
}

impl World<'_> {
    /// Windows mode under outlier detection: draws every instance's run over the piece's `mass`
    /// expected user requests, stopped at the first ejection, and fills the groups' tallies
    /// from them (`with_affected`: after the onset; before it only unaffected requests come).
    /// Writes each instance's failures in a row back; returns the ejection, if any.
    pub(super) fn draw_watched(
        &mut self,
        sm: &mut Sampler,
        (cells, routes): (&[[Parts; 2]], &[Vec<Route>; 2]),
        groups: &mut [Group],
        (users_v, share_c): (&[[f64; 2]], &[f64]),
        (mass, with_affected): (f64, bool),
        now: SimTime,
    ) -> Option<Ejected> {
        let h = self.health.as_deref_mut()?;
        let threshold = h.outlier()?.consecutive_5xx;
        let n_users = self.spec.traffic.users.max(1) as f64;
        let offset = [0, routes[0].len()];
        let instance = |g: &Group| offset[g.v] + g.part;
        // Each group's expected requests per expected user request of the piece.
        let weights = &(groups.iter())
            .map(|g| users_v[g.class][g.v] / (routes[g.v].len() as f64 * n_users))
            .collect::<Vec<f64>>();
        let mut chains = vec![Chain::default(); offset[1] + routes[1].len()];
        for (v, rs) in routes.iter().enumerate() {
            for (part, r) in rs.iter().enumerate() {
                if let Route::To(p) = r {
                    let version = VersionId::ALL[v];
                    let c = &mut chains[offset[v] + part];
                    c.counter = h.consecutive_5xx(version, p.index);
                    c.ejectable = h.ejectable(version, p.index, now);
                }
            }
        }
        for (g, &w) in groups.iter().zip(weights) {
            let cs = &cells[g.class][g.v].each[g.part];
            let c = &mut chains[instance(g)];
            c.fail += w * outcome_cells(cs, true, with_affected)
                .map(|x| x.1)
                .sum::<f64>();
            c.ok += w * outcome_cells(cs, false, with_affected)
                .map(|x| x.1)
                .sum::<f64>();
        }
        let (ejection, runs) = run(&mut sm.outlier, &chains, threshold, mass);

        // Each instance's failures and successes over its groups' cells.
        let mut affected = vec![[0u64; 2]; cells.len()];
        for (i, r) in runs.iter().enumerate() {
            for (failed, count) in [(true, r.failed), (false, r.ok)] {
                let entries: Vec<(usize, Cell, f64)> = (groups.iter().enumerate())
                    .filter(|(_, g)| instance(g) == i)
                    .flat_map(|(j, g)| {
                        let cs = &cells[g.class][g.v].each[g.part];
                        outcome_cells(cs, failed, with_affected)
                            .map(move |(cell, p)| (j, cell, weights[j] * p))
                    })
                    .filter(|e| e.2 > 0.0)
                    .collect();
                let (mut left, mut w_left) = (count, entries.iter().map(|e| e.2).sum::<f64>());
                for (k, &(j, cell, w)) in entries.iter().enumerate() {
                    let c = if k + 1 == entries.len() {
                        left
                    } else if w_left > 0.0 {
                        binomial(&mut sm.outlier, left, (w / w_left).min(1.0))
                    } else {
                        0
                    };
                    left -= c;
                    w_left -= w;
                    let g = &mut groups[j];
                    let cs = &cells[g.class][g.v].each[g.part];
                    record_cell(&mut g.users, cs, cell, c, &mut self.recorder);
                    if let Cell::Hit(_) = cell {
                        affected[g.class][g.v] += c;
                    }
                }
            }
        }
        if with_affected {
            sm.occupy(&affected, share_c);
        }
        let h = self.health.as_deref_mut()?;
        for (v, rs) in routes.iter().enumerate() {
            for (part, r) in rs.iter().enumerate() {
                if let Route::To(p) = r {
                    let counter = runs[offset[v] + part].counter;
                    h.set_consecutive_5xx(VersionId::ALL[v], p.index, counter);
                }
            }
        }
        let (i, mass) = ejection?;
        let v = usize::from(i >= offset[1]);
        let Route::To(p) = routes[v][i - offset[v]] else {
            return None;
        };
        Some(Ejected {
            v: VersionId::ALL[v],
            index: p.index,
            mass,
        })
    }
}

impl World<'_> {
    /// After a piece under outlier detection, at its end `t` µs: the run's ejection, or the
    /// onset's request, which counts as its instance's failure when it failed (and may eject
    /// the instance then).
    pub(super) fn react_to_runs(
        &mut self,
        groups: &[Group],
        routes: &[Vec<Route>; 2],
        ejected: Option<Ejected>,
        t: Option<f64>,
    ) {
        let (Some(h), Some(t)) = (self.health.as_deref_mut(), t) else {
            return;
        };
        let t = SimTime(t as u64);
        if let Some(e) = ejected {
            h.eject(e.v, e.index, t);
            return;
        }
        for g in groups {
            if let (Some((true, _)), Route::To(p)) = (g.onset, routes[g.v][g.part]) {
                h.observe(VersionId::ALL[g.v], p, true, t);
            }
        }
    }
}

/// Adds `c` requests of `cell` of `cs` to a group's tally.
fn record_cell(t: &mut Tally, cs: &Cells, cell: Cell, c: u64, rec: &mut Recorder) {
    if c == 0 {
        return;
    }
    match cell {
        Cell::Quiet(j) => {
            let (_, kind, k) = cs.quiet[j];
            t.quiet(kind, k, c, rec);
        }
        Cell::Hit(j) => t.hit(&cs.affected[j], cs.causes, c, rec),
    }
}

impl Sampler {
    /// Marks the users behind each class's and version's `affected` requests: they split over
    /// the class's slices in proportion to the slices' requests to the version (users × share),
    /// and a slice's requests fall on its users uniformly ([`occupancy`]).
    fn occupy(&mut self, affected: &[[u64; 2]], share_c: &[f64]) {
        let mut per_slice = vec![0u64; self.slices.len()];
        for (class, by_version) in affected.iter().enumerate() {
            for (v, &count) in by_version.iter().enumerate() {
                let weight = |(s, &q): (&super::Slice, &f64)| {
                    let share = if v == 1 { q } else { 1.0 - q };
                    if s.class == class {
                        s.users as f64 * share
                    } else {
                        0.0
                    }
                };
                let weights: Vec<f64> = self.slices.iter().zip(share_c).map(weight).collect();
                let Some(last) = weights.iter().rposition(|&w| w > 0.0) else {
                    continue;
                };
                let (mut left, mut w_left) = (count, weights.iter().sum::<f64>());
                for (i, &w) in weights.iter().enumerate().filter(|x| *x.1 > 0.0) {
                    let c = match i == last {
                        true => left,
                        false => binomial(&mut self.outlier, left, (w / w_left).min(1.0)),
                    };
                    per_slice[i] += c;
                    left -= c;
                    w_left -= w;
                }
            }
        }
        for (s, r) in self.slices.iter_mut().zip(per_slice) {
            s.affected += occupancy(&mut self.outlier, r, s.users, s.users - s.affected);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;

    fn rng(seed: u64) -> Rng {
        RngStreams::new(seed, 0).named("t")
    }

    #[test]
    fn an_instance_failing_every_request_is_ejected_at_its_fifth() {
        // Every response fails at 2 per unit: the fifth comes at Gamma(5, 2), mean 2.5 and
        // variance 1.25; no success. Four standard errors over 4 000 draws: 0.071.
        let mut rng = rng(1);
        let chain = Chain {
            fail: 2.0,
            ok: 0.0,
            counter: 0,
            ejectable: true,
        };
        let n = 4_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let (e, runs) = run(&mut rng, &[chain], 5, 1e9);
            let (i, m) = e.expect("ejected");
            assert_eq!(i, 0);
            assert_eq!(runs[0], Run::default().with_failed(5));
            sum += m;
        }
        let mean = sum / f64::from(n);
        assert!(
            (mean - 2.5).abs() < 4.0 * (1.25f64 / f64::from(n)).sqrt(),
            "{mean}"
        );
        // Starting at 3 in a row, two more failures eject it.
        let (_, runs) = run(
            &mut rng,
            &[Chain {
                counter: 3,
                ..chain
            }],
            5,
            1e9,
        );
        assert_eq!(runs[0].failed, 2);
    }

    impl Run {
        fn with_failed(self, failed: u64) -> Run {
            Run { failed, ..self }
        }
    }

    #[test]
    fn the_count_at_the_end_is_the_failures_after_the_last_success() {
        // Failures and successes at 1 per unit each over 50 units: the count at the end is the
        // trailing run of failures, geometric with P(0) = 1/2, P(1) = 1/4, whether the
        // instance is watched event by event or not (a threshold no run reaches); the totals
        // are Poisson(50) each. 4 000 draws: four standard errors of a share near 1/2, 0.032.
        let mut rng = rng(2);
        for ejectable in [true, false] {
            let chain = Chain {
                fail: 1.0,
                ok: 1.0,
                counter: 2,
                ejectable,
            };
            let n = 4_000u32;
            let (mut zero, mut one, mut failed, mut ok) = (0, 0, 0, 0);
            for _ in 0..n {
                let (e, runs) = run(&mut rng, &[chain], 1_000, 50.0);
                assert!(e.is_none());
                zero += u32::from(runs[0].counter == 0);
                one += u32::from(runs[0].counter == 1);
                failed += runs[0].failed;
                ok += runs[0].ok;
            }
            let share = |k: u32| f64::from(k) / f64::from(n);
            assert!(
                (share(zero) - 0.5).abs() < 0.032,
                "{ejectable}: {}",
                share(zero)
            );
            assert!(
                (share(one) - 0.25).abs() < 0.028,
                "{ejectable}: {}",
                share(one)
            );
            // Means 50, standard error √(50/4000) = 0.11: within 0.45.
            let mean = |x: u64| x as f64 / f64::from(n);
            assert!((mean(failed) - 50.0).abs() < 0.45, "{}", mean(failed));
            assert!((mean(ok) - 50.0).abs() < 0.45, "{}", mean(ok));
        }
    }

    #[test]
    fn an_unejectable_count_restarts_at_the_threshold() {
        // Only failures: 0 + Poisson(7.5) failures, counted modulo 5.
        let mut rng = rng(3);
        let chain = Chain {
            fail: 1.5,
            ok: 0.0,
            counter: 4,
            ejectable: false,
        };
        for _ in 0..100 {
            let (e, runs) = run(&mut rng, &[chain], 5, 5.0);
            assert!(e.is_none());
            assert_eq!(u64::from(runs[0].counter), (4 + runs[0].failed) % 5);
        }
    }

    #[test]
    fn occupancy_fills_the_expected_number_of_empty_bins() {
        // 300 balls into 1 000 bins, 200 already full: 800·(1 − 0.999³⁰⁰) = 207.4 newly
        // filled; its variance is below the binomial's 207.4·0.74 = 153.5, so 2 000 draws
        // put the mean within 4·√(153.5/2000) = 1.1.
        let mut rng = rng(4);
        let n = 2_000;
        let total: u64 = (0..n).map(|_| occupancy(&mut rng, 300, 1_000, 800)).sum();
        let mean = total as f64 / f64::from(n);
        let expected = 800.0 * (1.0 - 0.999f64.powi(300));
        assert!((mean - expected).abs() < 1.1, "{mean} vs {expected}");
        assert_eq!(occupancy(&mut rng, 10_000, 5, 5), 5);
        assert_eq!(occupancy(&mut rng, 0, 5, 5), 0);
    }
}
