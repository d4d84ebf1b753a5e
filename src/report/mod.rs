//! Report writers: pure serializers over outcomes and summaries. They never simulate.

mod compare;
mod csv;
mod junit;
mod sweep;
mod table;

pub use compare::{compare_table, write_compare};
pub use csv::{read_runs, write_runs, write_summaries};
pub use junit::{Case, write_junit};
pub use sweep::{merge_sweeps, sweep_header, sweep_row, trade_offs, write_pareto, write_sweep};
pub use table::summary_table;
