//! Per-request tallies of one run, written by the world as requests are served.
//!
//! They are the raw counts the outcome rules later read into a run's measurements; they
//! live with the model because the model writes them on its hot path.

use crate::engine::SimTime;

/// A set of user ids, one bit each: exact distinct-user counts at 1 bit per user.
#[derive(Debug, Clone)]
pub struct UserSet(Vec<u64>);

impl UserSet {
    /// An empty set for ids `0..users`.
    pub fn new(users: u64) -> UserSet {
        UserSet(vec![0; users.div_ceil(64) as usize])
    }

    /// Adds `user`.
    #[inline]
    pub fn insert(&mut self, user: u64) {
        self.0[(user >> 6) as usize] |= 1 << (user & 63);
    }

    /// Adds users `0..k` (windows mode keeps counts, not ids; only the count is read).
    pub fn fill_first(&mut self, k: u64) {
        let k = k.min(self.0.len() as u64 * 64);
        let full = (k / 64) as usize;
        self.0[..full].fill(u64::MAX);
        if !k.is_multiple_of(64) {
            self.0[full] |= (1u64 << (k % 64)) - 1;
        }
    }

    /// Number of users in the set.
    pub fn len(&self) -> u64 {
        self.0.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }
}

/// The per-request tallies of one run, written by the model as requests are served.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// Users who sent at least one request.
    pub active: UserSet,
    /// Users who got at least one fault-affected response.
    pub affected: UserSet,
    /// Requests served.
    pub requests: u64,
    /// Requests that failed because of a fault (would have succeeded without it).
    pub failed: u64,
    /// Requests that failed without any fault's help.
    pub baseline_failed: u64,
    /// Time of the first fault-affected request.
    pub onset: Option<SimTime>,
    /// Bit `i` set when fault `i` affected at least one request directly (an error, a delay,
    /// a corrupted write on the requests it targets).
    pub hurt: u64,
    /// Bit `i` set when fault `i` affected a request through lost capacity (load shedding).
    pub hurt_capacity: u64,
    /// Whether the database (a lock, a schema, an unreadable record) hurt a request.
    pub hurt_database: bool,
    /// Records stored corrupted by a `data_corruption` fault.
    pub corrupted: u64,
}

impl Recorder {
    /// Tallies for a population of `users`.
    pub fn new(users: u64) -> Recorder {
        Recorder {
            active: UserSet::new(users),
            affected: UserSet::new(users),
            requests: 0,
            failed: 0,
            baseline_failed: 0,
            onset: None,
            hurt: 0,
            hurt_capacity: 0,
            hurt_database: false,
            corrupted: 0,
        }
    }
}
