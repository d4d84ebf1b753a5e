//! The one integration binary: determinism, CLI, scenario errors, metrics against hand-computed
//! answers. Test names cite the issue they pin (`issue2_…`).

mod alerts;
mod argo;
mod catalog;
mod check;
mod cli;
mod common;
mod compare;
mod controllers;
mod database;
mod detectors;
mod determinism;
mod docs;
mod errors;
mod flagger;
mod layout;
mod manifests;
mod metrics;
mod monitoring;
mod mutation;
mod precision;
mod probes;
mod reliability;

mod report;
mod strategies;
mod swarm;
mod sweep;
mod windows;
