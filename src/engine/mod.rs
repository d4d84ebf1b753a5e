//! The discrete-event core: virtual clock, event queue, run loop and random streams.
//!
//! It knows nothing of deployments. A model implements [`Process`]: `advance` carries the
//! continuous activity (request arrivals, generated in a tight loop, never one heap event each)
//! up to the next control event, and `handle` reacts to that event and schedules new ones.
//!
//! # Ordering contract
//! Events are handled in `(time, phase, seq)` order: earlier time first; at the same instant,
//! lower [`Phase`] first; then insertion order (FIFO). Requests arriving in `[t0, t1)` are
//! processed by `advance(t0, t1)` before any event at `t1`. Given the same seeds, a run is
//! therefore a pure function of its inputs.
//!
//! # Limits
//! Every run stops at its horizon and fails with [`EngineError::EventBudget`] after
//! `max_events` control events, so no input can make it loop forever.

mod delay;
mod probability;
mod queue;
mod rng;
mod time;

pub use delay::LogNormalDelay;
pub use probability::{NotAProbability, Probability};
pub use queue::{EventQueue, Phase};
pub use rng::{Rng, RngStreams, splitmix64};
pub use time::{SimTime, human_duration};

/// A simulated system driven by the engine.
pub trait Process {
    /// The control events of this model (timers, checks, fault boundaries…).
    type Event;

    /// Carries continuous activity forward over `[from, to)`. Called before each event at `to`
    /// and at the end with `to = horizon`.
    ///
    /// Returns how far it got: `to`, or an earlier time `t` at which it scheduled a new event
    /// on `sched` (then the engine handles the events due and calls `advance(t, …)` again).
    fn advance(
        &mut self,
        from: SimTime,
        to: SimTime,
        sched: &mut Scheduler<Self::Event>,
    ) -> SimTime;

    /// Reacts to `event` at `now`; may schedule further events on `sched`.
    fn handle(&mut self, now: SimTime, event: Self::Event, sched: &mut Scheduler<Self::Event>);
}

/// The queue as seen by a model while it handles an event: it can only schedule forward.
pub struct Scheduler<E> {
    queue: EventQueue<E>,
    now: SimTime,
}

impl<E> Default for Scheduler<E> {
    fn default() -> Self {
        Scheduler {
            queue: EventQueue::default(),
            now: SimTime::ZERO,
        }
    }
}

impl<E> Scheduler<E> {
    /// Schedules `event` at `time` in `phase`.
    ///
    /// # Panics
    /// When `time` is before the current time: time never goes backwards, and a model that
    /// asks for it has a bug.
    pub fn at(&mut self, time: SimTime, phase: Phase, event: E) {
        assert!(
            time >= self.now,
            "event scheduled in the past: {time} < {}",
            self.now
        );
        self.queue.push(time, phase, event);
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }
}

/// Why a run stopped early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// More control events than the budget allows: the model is probably scheduling in a loop.
    #[error("event budget of {budget} control events exhausted at t={at}s")]
    EventBudget {
        /// The budget that was exceeded.
        budget: u64,
        /// When it was exceeded.
        at: SimTime,
    },
}

/// How far a run may go.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The run ends here; events at or after it are never handled.
    pub horizon: SimTime,
    /// The most control events a run may handle.
    pub max_events: u64,
}

/// Runs `process` from time 0 until `limits.horizon`, starting from the events already in `sched`.
/// Returns the number of control events handled.
pub fn run<P: Process>(
    process: &mut P,
    mut sched: Scheduler<P::Event>,
    limits: Limits,
) -> Result<u64, EngineError> {
    let mut handled = 0u64;
    loop {
        let next = sched.queue.peek_time().filter(|&t| t < limits.horizon);
        let target = next.unwrap_or(limits.horizon);
        let reached = process.advance(sched.now, target, &mut sched);
        assert!(
            reached >= sched.now && reached <= target,
            "advance went from {} to {reached}, outside [{0}, {target}]",
            sched.now
        );
        sched.now = reached;
        if reached < target {
            continue;
        }
        if next.is_none() {
            return Ok(handled);
        }
        if handled >= limits.max_events {
            return Err(EngineError::EventBudget {
                budget: limits.max_events,
                at: target,
            });
        }
        let (t, event) = sched.queue.pop().expect("peeked");
        process.handle(t, event, &mut sched);
        handled += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process that re-arms a timer forever and records what it saw.
    struct Ticker {
        period: SimTime,
        advanced: Vec<(SimTime, SimTime)>,
        ticks: Vec<SimTime>,
    }

    impl Process for Ticker {
        type Event = ();
        fn advance(&mut self, from: SimTime, to: SimTime, _: &mut Scheduler<()>) -> SimTime {
            self.advanced.push((from, to));
            to
        }
        fn handle(&mut self, now: SimTime, _: (), sched: &mut Scheduler<()>) {
            self.ticks.push(now);
            sched.at(now + self.period, 0, ());
        }
    }

    fn ticker(period: u64) -> (Ticker, Scheduler<()>) {
        let mut sched = Scheduler::default();
        sched.at(SimTime(period), 0, ());
        let t = Ticker {
            period: SimTime(period),
            advanced: vec![],
            ticks: vec![],
        };
        (t, sched)
    }

    #[test]
    fn runs_to_the_horizon_and_covers_time_without_gaps() {
        let (mut t, sched) = ticker(10);
        let limits = Limits {
            horizon: SimTime(35),
            max_events: 100,
        };
        assert_eq!(run(&mut t, sched, limits), Ok(3));
        assert_eq!(t.ticks, [SimTime(10), SimTime(20), SimTime(30)]);
        let spans: Vec<_> = t.advanced.iter().map(|(a, b)| (a.0, b.0)).collect();
        assert_eq!(spans, [(0, 10), (10, 20), (20, 30), (30, 35)]);
    }

    #[test]
    fn a_runaway_model_hits_the_event_budget() {
        let (mut t, sched) = ticker(0);
        let limits = Limits {
            horizon: SimTime(1),
            max_events: 50,
        };
        assert_eq!(
            run(&mut t, sched, limits),
            Err(EngineError::EventBudget {
                budget: 50,
                at: SimTime(0)
            })
        );
    }
}
