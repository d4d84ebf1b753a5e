//! Report writers: pure serializers over outcomes and summaries. They never simulate.

mod csv;
mod table;

pub use csv::{write_runs, write_summaries};
pub use table::summary_table;
