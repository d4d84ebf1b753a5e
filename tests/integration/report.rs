//! Report writers: plots, HTML, terminal table, JSON (issue 5).
