//! The step ladder shared by progressive strategies (canary weights, flag percentages).
//!
//! Step `i` holds a value (a weight or a percentage) for its `pause`. A failed check holds the
//! ladder; when the pause has elapsed it climbs at once if the latest conclusive check passed,
//! otherwise at the next passing check. Climbing past the last step, or onto a 100 % step,
//! completes it. A freeze (a roll-forward) holds the step as a failed check does: the pause
//! keeps counting, and once resumed the ladder climbs at once if the pause has elapsed and
//! the latest conclusive check did not fail, otherwise by the rule above.

use crate::detect::Verdict;
use crate::engine::SimTime;

/// One step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Percent of traffic (canary) or users (flag), in `(0, 100]`.
    pub percent: f64,
    /// Time to stay on this step (zero for a 100 % step).
    pub pause: SimTime,
}

/// What the ladder asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Move {
    /// Go to this percentage.
    Enter(f64),
    /// The last step is done: promote.
    Complete,
}

/// A ladder in progress.
#[derive(Debug, Clone)]
pub struct Ladder {
    steps: Vec<Step>,
    step: usize,
    pause_end: SimTime,
    pause_elapsed: bool,
    /// The latest conclusive check failed.
    held: bool,
    /// Frozen by a roll-forward until resumed.
    frozen: bool,
    done: bool,
}

impl Ladder {
    /// A ladder not yet started.
    pub fn new(steps: Vec<Step>) -> Ladder {
        Ladder {
            steps,
            step: 0,
            pause_end: SimTime::ZERO,
            pause_elapsed: false,
            held: false,
            frozen: false,
            done: false,
        }
    }

    /// Enters the first step at `now`.
    pub fn start(&mut self, now: SimTime) -> Move {
        self.enter(now, 0)
    }

    fn enter(&mut self, now: SimTime, step: usize) -> Move {
        match self.steps.get(step).filter(|s| s.percent < 100.0) {
            Some(s) => {
                self.step = step;
                self.pause_end = now.saturating_add(s.pause);
                self.pause_elapsed = false;
                Move::Enter(s.percent)
            }
            None => {
                self.done = true;
                Move::Complete
            }
        }
    }

    /// Restarts the current step's pause at `now`: the step's value applies only from now on
    /// (a canary weight waits for its instances to be ready).
    pub fn begin_pause(&mut self, now: SimTime) {
        if let Some(s) = self.steps.get(self.step) {
            self.pause_end = now.saturating_add(s.pause);
            self.pause_elapsed = false;
        }
    }

    /// A check concluded at `now`.
    pub fn on_check(&mut self, now: SimTime, verdict: Verdict) -> Option<Move> {
        if self.done {
            return None;
        }
        match verdict {
            Verdict::Pass => self.held = false,
            Verdict::Fail => self.held = true,
            Verdict::Inconclusive => {}
        }
        (verdict == Verdict::Pass && self.pause_elapsed && !self.frozen)
            .then(|| self.enter(now, self.step + 1))
    }

    /// The ladder's timer fired at `now`.
    pub fn on_timer(&mut self, now: SimTime) -> Option<Move> {
        if self.done || self.pause_elapsed || now < self.pause_end {
            return None;
        }
        self.pause_elapsed = true;
        (!self.held && !self.frozen).then(|| self.enter(now, self.step + 1))
    }

    /// Holds the current step (a roll-forward): no move until [`Ladder::resume`].
    pub fn freeze(&mut self) {
        self.frozen = true;
    }

    /// Releases a freeze at `now`: climbs at once if the step's pause has elapsed and the
    /// latest conclusive check did not fail.
    pub fn resume(&mut self, now: SimTime) -> Option<Move> {
        let was_frozen = std::mem::replace(&mut self.frozen, false);
        (was_frozen && !self.done && self.pause_elapsed && !self.held)
            .then(|| self.enter(now, self.step + 1))
    }

    /// When the current pause ends, while it has not.
    pub fn next_timer(&self) -> Option<SimTime> {
        (!self.done && !self.pause_elapsed).then_some(self.pause_end)
    }

    /// Stops the ladder (an abort): no more moves.
    pub fn stop(&mut self) {
        self.done = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ladder(percents: &[f64], pause_s: u64) -> Ladder {
        Ladder::new(
            percents
                .iter()
                .map(|&percent| Step {
                    percent,
                    pause: SimTime::from_secs(pause_s),
                })
                .collect(),
        )
    }

    #[test]
    fn climbs_at_each_pause_and_completes_after_the_last() {
        let s = SimTime::from_secs;
        let mut l = ladder(&[10.0, 50.0], 60);
        assert_eq!(l.start(s(0)), Move::Enter(10.0));
        assert_eq!(l.next_timer(), Some(s(60)));
        assert_eq!(l.on_timer(s(60)), Some(Move::Enter(50.0)));
        assert_eq!(l.on_timer(s(120)), Some(Move::Complete));
        assert_eq!(l.next_timer(), None);
    }

    #[test]
    fn a_failed_check_holds_until_the_next_pass() {
        let s = SimTime::from_secs;
        let mut l = ladder(&[10.0, 50.0], 60);
        l.start(s(0));
        assert_eq!(l.on_check(s(30), Verdict::Fail), None);
        assert_eq!(l.on_timer(s(60)), None, "held");
        assert_eq!(l.next_timer(), None);
        assert_eq!(
            l.on_check(s(90), Verdict::Inconclusive),
            None,
            "inconclusive does not release"
        );
        assert_eq!(l.on_check(s(120), Verdict::Pass), Some(Move::Enter(50.0)));
        assert_eq!(l.next_timer(), Some(s(180)));
    }

    #[test]
    fn a_freeze_holds_the_step_while_the_pause_counts() {
        let s = SimTime::from_secs;
        let mut l = ladder(&[10.0, 50.0], 60);
        l.start(s(0));
        l.freeze();
        assert_eq!(l.on_timer(s(60)), None, "frozen");
        assert_eq!(l.on_check(s(70), Verdict::Pass), None, "frozen");
        assert_eq!(l.next_timer(), None);
        assert_eq!(l.resume(s(100)), Some(Move::Enter(50.0)));
        assert_eq!(l.next_timer(), Some(s(160)));
        // Resumed before the pause ends: the pause's own timer climbs.
        l.freeze();
        assert_eq!(l.resume(s(130)), None);
        assert_eq!(l.on_timer(s(160)), Some(Move::Complete));
        // A failed check before the freeze still holds after it.
        let mut l = ladder(&[10.0, 50.0], 60);
        l.start(s(0));
        l.on_check(s(30), Verdict::Fail);
        l.freeze();
        l.on_timer(s(60));
        assert_eq!(l.resume(s(90)), None);
        assert_eq!(l.on_check(s(120), Verdict::Pass), Some(Move::Enter(50.0)));
    }

    #[test]
    fn a_full_step_completes_at_once() {
        let mut l = ladder(&[100.0], 0);
        assert_eq!(l.start(SimTime::ZERO), Move::Complete);
    }
}
