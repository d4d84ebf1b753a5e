//! `rehearsal`: a chaos-and-rollback drill simulator.
//!
//! A scenario describes a service running a stable and a candidate version, its traffic, the
//! faults to inject, the detectors and the rollout strategies. Each strategy is replayed many
//! times in simulated time and every run reports when the fault first hurt a user (onset),
//! when it was detected, when service recovered, how many users and requests it hurt, and
//! how many records it left inconsistent.
//!
//! # Vocabulary
//! - **stable / candidate**: the version before the rollout and the one rolled out.
//! - **onset**: the first request affected by a fault. **TTD** = detection − onset,
//!   **TTR** = recovery − onset (MTTR is its mean).
//! - **affected**: worse *because of* the fault, judged on the same random draws with and
//!   without it (counterfactual attribution).
//! - **false rollback**: a rollback with no fault of the candidate in force, or before any
//!   request was affected.
//!
//! # Modules
//! [`engine`] (time, queue, run loop, random streams, probabilities; no deployments),
//! [`model`] (traffic, fleet, routing, flags, the fault catalog, the database and its ledger,
//! per-request tallies), [`strategy`] (canary,
//! blue-green, feature flag, rolling, Flagger: state machines), [`detect`] (analysis, humans),
//! [`outcome`] (measurements and the rules that read them from a finished run, the
//! `runs.csv` columns, statistics, paired comparisons, timelines), [`scenario`]
//! (files resolved section by section, provenance, overrides), [`names`] (closed sets of
//! names, one table each), [`format`] (numbers as people read them), [`replay`] (one run), [`replications`] (many runs in parallel), [`sweep`]
//! (grids for threshold tuning), [`objectives`] and [`regression`] (the weekly gate),
//! [`report`] (CSV, JSON, JUnit, tables, plots, HTML: serializers only), [`cli`] (the
//! command line).
//!
//! `docs/extending.md` lists the files to touch to add a fault kind or a strategy.
//!
//! # Determinism
//! A run is a pure function of (scenario, strategy, replication, program version). Every
//! random number comes from a stream seeded by `(scenario seed, replication, stream name)`,
//! requests draw the same numbers whatever the strategy, the event queue breaks ties by
//! phase then insertion order, and parallel results are collected in index order. The same
//! scenario and seed give byte-identical CSV whatever the thread count.

#![warn(missing_docs)]

pub mod cli;
pub mod detect;
pub mod engine;
pub mod format;
pub mod model;
pub mod modes;
pub mod monitoring;
pub mod names;
pub mod objectives;
pub mod outcome;
pub mod precision;
pub mod regression;
pub mod replay;
pub mod replications;
pub mod report;
pub mod scenario;
pub mod strategy;
pub mod sweep;
