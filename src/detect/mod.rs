//! Detectors: they observe windowed counters and declare failure. They never steer.

pub mod alerts;
mod analysis;
pub mod manual;

pub use analysis::{Analysis, AnalysisSpec, Metric, MetricRule, NoData, Verdict, Windows};
pub use manual::{ManualSpec, ManualTrigger};
