//! Report writers: pure serializers over outcomes, summaries and timelines. They never simulate.
//!
//! `csv` writes (and reads back) `runs.csv` and `summary.csv`, `junit` the JUnit XML of
//! `check`, `compare` the comparison table, `sweep` the sweep tables; [`summary_table`] the terminal summary; [`json`]
//! the `--format json` document; [`plot`] the timeline, distribution, comparison and sweep trade-off plots
//! (SVG and PNG); [`html`] the self-contained `report.html` and `index.html`; [`params`] the
//! resolved parameters with their sources; [`objectives`] the verdicts of
//! [`crate::objectives`] as reports show them. Writers return bytes; the command line writes
//! the files.

mod compare;
mod csv;
pub use crate::format;
pub mod html;
pub mod json;
mod junit;
pub mod objectives;
pub mod params;
pub mod plot;
mod sweep;
mod table;

pub use compare::{
    BEST_RULE, COMPARE_LEGEND, CompareJson, compare_cells, compare_html, compare_json,
    compare_table, write_compare,
};
pub use csv::{SummaryRow, read_runs, write_runs, write_summaries};
pub use junit::{Case, write_junit};
pub use sweep::{merge_sweeps, sweep_row, trade_offs, write_pareto, write_sweep};
pub use table::{TABLE_WIDTH, semantics_lines, summary_table};

use crate::replications::ScenarioResult;
use crate::scenario::Scenario;
use html::{Figure, ScenarioPage};
use plot::{Plot, PlotError};
use rayon::prelude::*;
use std::path::PathBuf;

/// Where a scenario's numbers came from, for its report.
#[derive(Debug, Clone, Copy)]
pub struct Provenance<'a> {
    /// The scenario file as given on the command line.
    pub file: &'a str,
    /// The command that reproduces the numbers.
    pub reproduce: &'a str,
    /// `compare`'s section (best and significance marks), placed after the summary.
    pub compare: Option<&'a str>,
}

/// Folder of the PNGs, relative to the scenario's report folder.
pub const PLOTS_DIR: &str = "plots";

/// The plots of one scenario in report order: the comparison of means, one timeline per
/// strategy, the TTD/TTR distributions, affected users, and inconsistent records when the
/// scenario can leave any.
pub fn scenario_plots(scenario: &Scenario, result: &ScenarioResult) -> Vec<Plot> {
    let mut plots = vec![plot::comparison(&scenario.name, &result.summaries)];
    plots.extend(
        result
            .timelines
            .iter()
            .map(|rep| plot::timeline(scenario, result, rep)),
    );
    plots.push(plot::distributions(scenario, result));
    plots.push(plot::affected_share(scenario, result));
    plots.extend(plot::inconsistent_records(scenario, result));
    plots
}

/// The report files of one scenario besides its CSVs, as (path relative to the scenario's
/// folder, contents): `report.html` first, then one PNG per plot under [`PLOTS_DIR`].
pub fn scenario_report(
    scenario: &Scenario,
    result: &ScenarioResult,
    provenance: &Provenance,
) -> Result<Vec<(PathBuf, Vec<u8>)>, PlotError> {
    let plots = scenario_plots(scenario, result);
    let rendered = plots
        .par_iter()
        .map(|p| Ok((p.svg()?, p.png()?)))
        .collect::<Result<Vec<_>, PlotError>>()?;
    let mut files = vec![(PathBuf::from("report.html"), Vec::new())];
    let mut figures = Vec::new();
    for (p, (svg, png)) in plots.iter().zip(rendered) {
        let rel = format!("{PLOTS_DIR}/{}.png", p.name);
        figures.push(Figure {
            title: p.title.clone(),
            svg,
            caption: p.caption.clone(),
            png: rel.clone(),
        });
        files.push((PathBuf::from(rel), png));
    }
    let strategies = result.timelines.len();
    let params = params::resolved_parameters(scenario);
    let verdicts = objectives::judge(scenario, result);
    let (_, objectives_source) = objectives::objectives_of(scenario);
    let page = html::scenario_page(&ScenarioPage {
        scenario,
        summaries: &result.summaries,
        verdicts: &verdicts,
        objectives_source,
        file: provenance.file,
        reproduce: provenance.reproduce,
        precision: result.precision.as_ref().map(|s| s.line()),
        compare: provenance.compare,
        params: &params,
        comparison: figures.first(),
        timelines: &figures[1..1 + strategies],
        distributions: &figures[1 + strategies..],
    });
    files[0].1 = page.into_bytes();
    Ok(files)
}
