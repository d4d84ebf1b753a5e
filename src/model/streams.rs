//! The names of the random streams the model draws from.
//!
//! Each concern gets its own stream (see [`RngStreams`](crate::engine::RngStreams)), so
//! adding a fault or a strategy never shifts the draws of another concern (common random
//! numbers). A stream's seed is derived from its name: renaming one changes its draws and
//! every report.

/// Inter-arrival times and thinning of the request process (prefixed `spike.<i>.` for the
/// extra arrivals of a traffic spike, like every per-request stream).
pub const ARRIVALS: &str = "arrivals";
/// Which user sends each request.
pub const USERS: &str = "users";
/// Per-request routing between versions (when not sticky) and read/write choice.
pub const ROUTING: &str = "routing";
/// Per-request latency draws.
pub const LATENCY: &str = "latency";
/// Per-request error draws (baseline and fault) and load-shedding draws.
pub const ERRORS: &str = "errors";
/// Per-request fault draws (which writes a `data_corruption` fault corrupts).
pub const FAULTS: &str = "faults";
/// Per-request table access: whether a request touches the migrated table, which record.
pub const DATABASE: &str = "database";
/// The salt of consistent user hashing for sticky routing (a value, not a generator). Which
/// users a fault can hit is salted by the name `fault.<index>.users`.
pub const HASHING: &str = "hashing";
/// Feature-flag SDK polling phases, one per instance.
pub const FLAG_REFRESH: &str = "flag_refresh";
/// The roll-forward hotfix delay, one per replication.
pub const HOTFIX: &str = "hotfix";
/// Synthetic load-test traffic to one version (arrivals, errors and latency of its requests).
pub const PROBE: &str = "probe";
/// Salt of the hash that diverts stable requests to a judge's experiment baseline.
pub const EXPERIMENT: &str = "experiment";
/// Random probe failures (a leaking instance's, a partial dependency outage's), one draw per
/// probe whose failure is random; drawn only when `[fleet.probes]` is configured.
pub const PROBES: &str = "probes";
