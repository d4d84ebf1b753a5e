//! The one integration binary: determinism, CLI, scenario errors, metrics against hand-computed
//! answers. Test names cite the issue they pin (`issue2_…`).

mod catalog;
mod check;
mod cli;
mod common;
mod database;
mod determinism;
mod errors;
mod layout;
mod metrics;
mod readiness;
mod report;
mod strategies;
mod sweep;
