//! Report writers: pure serializers over outcomes and summaries. They never simulate.

mod compare;
mod csv;
mod table;

pub use compare::{compare_table, write_compare};
pub use csv::{write_runs, write_summaries};
pub use table::summary_table;
