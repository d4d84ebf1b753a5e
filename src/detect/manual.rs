//! Human detection: alert → page → acknowledge → diagnose, as one log-normal delay.

use crate::engine::LogNormalDelay;

/// The delay from fault onset until a human declares failure: `median × e^(σ·Z)`. Drawn once
/// per replication from [`STREAM`] and shared by every strategy, so that strategies are
/// compared against the same humans (common random numbers).
pub type ManualSpec = LogNormalDelay;

/// The random stream the human's delay is drawn from.
pub const STREAM: &str = "manual";

crate::names::named! {
    /// When the human's delay starts.
    pub enum ManualTrigger {
        /// At fault onset: a user reports it (without page alerts, the only path).
        Onset = "onset",
        /// When an `action = "page"` alert fires.
        Page = "page",
    }
}
