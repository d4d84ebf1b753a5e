//! Probabilities and shares as a checked type.

use std::fmt;

/// A probability or a share: a number in [0, 1], checked once where it is read, so that no
/// model code has to clamp or re-check it.
///
/// ```
/// use rehearsal::engine::Probability;
/// assert_eq!(Probability::new(0.25).unwrap().get(), 0.25);
/// assert_eq!(
///     Probability::new(1.5).unwrap_err().to_string(),
///     "1.5 is not a probability; expected a number from 0 to 1"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Probability(f64);

/// A value that is not a probability, with the message that says so.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NotAProbability(pub f64);

impl fmt::Display for NotAProbability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not a probability; expected a number from 0 to 1",
            self.0
        )
    }
}

impl std::error::Error for NotAProbability {}

impl Probability {
    /// Never.
    pub const ZERO: Probability = Probability(0.0);
    /// Always.
    pub const ONE: Probability = Probability(1.0);

    /// `x` when it is in [0, 1] (NaN is not).
    pub fn new(x: f64) -> Result<Probability, NotAProbability> {
        if (0.0..=1.0).contains(&x) {
            Ok(Probability(x))
        } else {
            Err(NotAProbability(x))
        }
    }

    /// The value, in [0, 1].
    pub fn get(self) -> f64 {
        self.0
    }
}

impl From<Probability> for f64 {
    fn from(p: Probability) -> f64 {
        p.0
    }
}
