//! Detectors: they observe windowed counters and declare failure. They never steer.

pub mod alerts;
mod analysis;
mod analysis_run;
pub mod burn_rate;
mod condition;
pub mod judges;
pub mod manual;

pub use analysis::{Analysis, AnalysisSpec, Metric, MetricRule, NoData, Verdict, Windows};
pub use analysis_run::{AnalysisRun, ERROR_RETRY, Measure, Measured, RunMetric, RunPhase, Scope};
pub use condition::{Condition, ConditionError};
pub use manual::{ManualSpec, ManualTrigger};
