//! The event queue: ordered by time, then phase, then insertion order.

use super::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Where an event stands among the events of the same instant. Lower phases run first.
///
/// Phases let a model state rules such as "a check and a step change at the same instant:
/// the check first" without depending on when each event happened to be scheduled.
pub type Phase = u8;

struct Entry<E> {
    time: SimTime,
    phase: Phase,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    fn key(&self) -> (SimTime, Phase, u64) {
        (self.time, self.phase, self.seq)
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed, so that the max-heap pops the earliest key.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

/// A priority queue of events keyed by `(time, phase, seq)`.
///
/// `seq` is a counter of insertions, so events with equal time and phase come out in the
/// order they were pushed (FIFO). The key is unique, which makes the order total and the
/// simulation deterministic.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Adds `event` at `time` in `phase`.
    pub fn push(&mut self, time: SimTime, phase: Phase, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry {
            time,
            phase,
            seq,
            event,
        });
    }

    /// The time of the earliest event, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| e.time)
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap.pop().map(|e| (e.time, e.event))
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_phase_then_fifo() {
        let mut q = EventQueue::default();
        q.push(SimTime(20), 0, "late");
        q.push(SimTime(10), 2, "timer");
        q.push(SimTime(10), 1, "check-a");
        q.push(SimTime(10), 1, "check-b");
        q.push(SimTime(5), 9, "first");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ["first", "check-a", "check-b", "timer", "late"]);
    }
}
