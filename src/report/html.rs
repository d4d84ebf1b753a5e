//! `report.html` per scenario and `index.html` per drill: one self-contained file each
//! (inline CSS and SVG, no script, no network), readable from disk in any browser.
//!
//! Pages are deterministic: no clock, no absolute path that the caller did not pass in.

use super::format::{count, duration, percent};
use super::objectives::{Status, shown};
use super::params::Param;
use crate::objectives::Verdict;
use crate::outcome::{Stat, StrategySummary};
use crate::scenario::Scenario;
use std::fmt::Write;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root { --ink: #212529; --muted: #5f6368; --line: #dee2e6; --soft: #f6f8fa;
        --met: #1e7b34; --met-bg: #e6f4ea; --missed: #b3261e; --missed-bg: #fce8e6; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1260px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 17px; margin: 22px 0 6px; }
p { margin: 6px 0; }
a { color: #0b57d0; }
.lead { font-size: 17px; }
.meta, .note, figcaption { color: var(--muted); }
.note, figcaption { font-size: 14px; }
nav { margin: 14px 0 0; font-size: 14px; }
nav a { margin-right: 14px; }
pre, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 13.5px; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; overflow-x: auto; white-space: pre-wrap; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.best { font-weight: 700; }
td.tie { font-style: italic; }
td.name { white-space: nowrap; font-weight: 600; }
td.name .meta { font-weight: 400; }
table.summary { font-size: 13.5px; }
table.summary .meta { font-size: 12.5px; }
tr.default td { color: var(--muted); }
tr.default td.source { font-style: italic; }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 13px; font-weight: 600; white-space: nowrap; }
.met { color: var(--met); background: var(--met-bg); }
.missed { color: var(--missed); background: var(--missed-bg); }
.na { color: var(--muted); background: var(--soft); }
figure { margin: 18px 0 28px; }
figure svg { display: block; width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
dl.rules dt { font-weight: 600; margin-top: 8px; }
dl.rules dd { margin: 0 0 0 18px; color: var(--muted); font-size: 14px; }
footer { margin-top: 48px; color: var(--muted); font-size: 13px; }
"#;

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"rehearsal {}\">\n<title>{}</title>\n<style>{CSS}</style>\n\
         </head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        escape(title)
    )
}

fn badge(status: Status) -> String {
    let class = match status {
        Status::Met => "met",
        Status::Missed => "missed",
        Status::NotApplicable => "na",
    };
    format!("<span class=\"badge {class}\">{}</span>", status.name())
}

/// `mean ± ci` with `fmt`, then `p50` and `p95`; `–` when undefined.
fn stat_cell(s: Option<Stat>, fmt: &dyn Fn(f64) -> String, percentiles: bool) -> String {
    match s {
        None => "–".into(),
        Some(s) if percentiles => format!(
            "{} ± {}<br><span class=\"meta\">p50 {}<br>p95 {}</span>",
            fmt(s.mean),
            fmt(s.half_width()),
            fmt(s.p50),
            fmt(s.p95)
        ),
        Some(s) => format!("{} ± {}", fmt(s.mean), fmt(s.half_width())),
    }
}

/// A proportion with its 95 % Wilson interval: `12% [5.3%–26%]`; `–` when undefined.
fn rate_cell(s: Option<Stat>) -> String {
    s.map_or("–".into(), |s| {
        format!(
            "{} <span class=\"meta\">[{}–{}]</span>",
            percent(s.mean),
            percent(s.ci95_low),
            percent(s.ci95_high)
        )
    })
}

/// The summary table: every statistic of `summary.csv`, formatted, units in the headers.
pub fn summary_table_html(scenario: &Scenario, summaries: &[StrategySummary]) -> String {
    let mut h = String::from(
        "<div class=\"table-wrap\"><table class=\"summary\">\n<thead><tr>\
         <th>strategy</th><th class=\"num\">detected<br>(% of hurt)</th>\
         <th class=\"num\">TTD<br>mean ± 95 % CI</th><th class=\"num\">TTR<br>mean ± 95 % CI</th>\
         <th class=\"num\">affected users<br>(% of active)</th><th class=\"num\">failed<br>requests</th>\
         <th class=\"num\">inconsistent<br>records</th><th class=\"num\">rollbacks<br>(false)</th>\
         <th class=\"num\">promoted<br>(rollout time)</th>\
         </tr></thead>\n<tbody>\n",
    );
    for (s, spec) in summaries.iter().zip(&scenario.strategies) {
        let no_data = spec
            .analysis
            .as_ref()
            .map_or("no analysis".to_string(), |a| {
                format!("empty window: {}", a.on_no_data.name())
            });
        let _ = writeln!(
            h,
            "<tr><td class=\"name\">{}<br><span class=\"meta\">{} · {} runs, {} hurt<br>{}</span></td>\
             <td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}<br><span class=\"meta\">({})</span></td>\
             <td class=\"num\">{}<br><span class=\"meta\">({})</span></td></tr>",
            escape(&s.strategy),
            spec.kind.name(),
            s.replications,
            s.with_onset,
            escape(&no_data),
            rate_cell(s.detection_probability),
            stat_cell(s.ttd_s, &duration, true),
            stat_cell(s.ttr_s, &duration, true),
            stat_cell(s.affected_share, &percent, true),
            stat_cell(s.failed_requests, &count, false),
            stat_cell(s.inconsistent_records, &count, false),
            rate_cell(Some(s.rollback_rate)),
            rate_cell(Some(s.false_rollback_rate)),
            rate_cell(Some(s.promotion_rate)),
            s.rollout_s.map_or("–".into(), |r| format!(
                "{} ± {}",
                duration(r.mean),
                duration(r.half_width())
            )),
        );
    }
    h.push_str("</tbody></table></div>\n");
    h
}

/// The objectives table: strategy × objective, each cell the status and the value judged.
pub fn objectives_html(names: &[String], verdicts: &[Vec<Verdict>], source: &str) -> String {
    let mut h = String::from(
        "<div class=\"table-wrap\"><table class=\"objectives\">\n<thead><tr><th>strategy</th>",
    );
    for v in verdicts.first().into_iter().flatten() {
        let _ = write!(h, "<th>{}</th>", escape(&v.objective.describe()));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for (name, vs) in names.iter().zip(verdicts) {
        let _ = write!(h, "<tr><td class=\"name\">{}</td>", escape(name));
        for v in vs {
            let _ = write!(h, "<td>{} {}</td>", badge(Status::of(v)), escape(&shown(v)));
        }
        h.push_str("</tr>\n");
    }
    let _ = writeln!(
        h,
        "</tbody></table></div>\n<p class=\"note\">Objectives: {}. The same verdicts as \
         <code>rehearsal check</code>: TTR statistics count a run that never recovered as \
         infinite (<q>never</q>); n/a means the statistic is undefined (no onset, nothing \
         detected), which meets the objective.</p>",
        escape(source)
    );
    h
}

fn params_html(params: &[Param]) -> String {
    let mut h = String::from(
        "<div class=\"table-wrap\"><table class=\"params\">\n<thead><tr><th>field</th><th>value</th><th>source</th></tr></thead>\n<tbody>\n",
    );
    for p in params {
        let _ = writeln!(
            h,
            "<tr{}><td><code>{}</code></td><td>{}</td><td class=\"source\">{}</td></tr>",
            if p.source.is_default() {
                " class=\"default\""
            } else {
                ""
            },
            escape(&p.field),
            escape(&p.value),
            escape(&p.source.name())
        );
    }
    h.push_str("</tbody></table></div>\n");
    h
}

/// A rendered plot for a page: its SVG, caption, and the PNG next to the page.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Title (for the heading and the PNG link).
    pub title: String,
    /// The SVG document, inlined as is.
    pub svg: String,
    /// How to read it.
    pub caption: String,
    /// The PNG's path relative to the page (`plots/timeline-0-canary.png`).
    pub png: String,
}

fn figure(f: &Figure) -> String {
    format!(
        "<figure>\n{}<figcaption>{} <a href=\"{}\">PNG</a></figcaption>\n</figure>\n",
        f.svg,
        escape(&f.caption),
        escape(&f.png)
    )
}

/// Everything `report.html` shows.
#[derive(Debug, Clone)]
pub struct ScenarioPage<'a> {
    /// The scenario as run (after any `--seed` or `--replications`).
    pub scenario: &'a Scenario,
    /// Its summaries, strategy order.
    pub summaries: &'a [StrategySummary],
    /// Each strategy's objective verdicts.
    pub verdicts: &'a [Vec<Verdict>],
    /// Where the objectives come from.
    pub objectives_source: &'a str,
    /// The scenario file as given on the command line.
    pub file: &'a str,
    /// The command that reproduces the numbers.
    pub reproduce: &'a str,
    /// How `--precision` settled the replications, one line (`None` without it).
    pub precision: Option<String>,
    /// `compare`'s section: its table with the best and significance marks.
    pub compare: Option<&'a str>,
    /// Its resolved parameters.
    pub params: &'a [Param],
    /// The comparison plot, shown after the summary.
    pub comparison: Option<&'a Figure>,
    /// One timeline per strategy.
    pub timelines: &'a [Figure],
    /// CDFs, strip plots.
    pub distributions: &'a [Figure],
}

/// The HTML of one scenario's `report.html`.
pub fn scenario_page(p: &ScenarioPage) -> String {
    let s = p.scenario;
    let mut b = String::new();
    let _ = writeln!(b, "<header>\n<h1>{}</h1>", escape(&s.name));
    if !s.description.trim().is_empty() {
        let _ = writeln!(b, "<p class=\"lead\">{}</p>", escape(s.description.trim()));
    }
    let _ = writeln!(
        b,
        "<p class=\"meta\">{} strategies × {} replications · horizon {} · seed {} · scenario file <code>{}</code> · rehearsal {}</p>",
        s.strategies.len(),
        s.replications,
        duration(s.horizon.as_secs_f64()),
        s.seed,
        escape(p.file),
        env!("CARGO_PKG_VERSION")
    );
    if let Some(line) = &p.precision {
        let _ = writeln!(b, "<p class=\"meta\">{}</p>", escape(line));
    }
    let _ = writeln!(
        b,
        "<p>Reproduce these numbers exactly:</p>\n<pre>{}</pre>",
        escape(p.reproduce)
    );
    b.push_str(
        "<nav><a href=\"#summary\">Summary</a><a href=\"#objectives\">Objectives</a>\
         <a href=\"#timelines\">Timelines</a><a href=\"#distributions\">Distributions</a>\
         <a href=\"#parameters\">Parameters</a><a href=\"#files\">Files</a></nav>\n</header>\n",
    );

    b.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n");
    b.push_str(&summary_table_html(s, p.summaries));
    b.push_str(
        "<p class=\"note\">Means over the replications where a metric is defined (TTD: detected \
         replications; TTR: recovered ones; rollout: promoted ones), ± the half-width of the 95 % \
         confidence interval of the mean (Student t; 0 with one value). p50 and p95 are nearest-rank \
         percentiles. The same numbers, unrounded, are in <a href=\"summary.csv\">summary.csv</a>; \
         one row per run in <a href=\"runs.csv\">runs.csv</a>.</p>\n",
    );
    if let Some(c) = p.comparison {
        b.push_str(&figure(c));
    }
    b.push_str("</section>\n");
    if let Some(section) = p.compare {
        b.push_str(section);
    }

    b.push_str("<section id=\"objectives\">\n<h2>Objectives</h2>\n");
    let names: Vec<String> = p.summaries.iter().map(|s| s.strategy.clone()).collect();
    b.push_str(&objectives_html(&names, p.verdicts, p.objectives_source));
    b.push_str("</section>\n");

    b.push_str("<section id=\"timelines\">\n<h2>Timelines</h2>\n<p class=\"note\">One representative replication per strategy, replayed with its time series: the replication with the median TTR (nearest rank); each caption says which rule chose it when no replication recovered.</p>\n");
    for f in p.timelines {
        b.push_str(&figure(f));
    }
    b.push_str("</section>\n");

    b.push_str("<section id=\"distributions\">\n<h2>Distributions across replications</h2>\n");
    for f in p.distributions {
        b.push_str(&figure(f));
    }
    b.push_str("</section>\n");

    b.push_str("<section id=\"parameters\">\n<h2>Resolved parameters</h2>\n<p class=\"note\">Every value the runs used. Greyed rows came from built-in defaults (see docs/reference.md, the scenario reference, for their sources); <q>[analysis]</q> marks a strategy that uses the scenario's analysis table.</p>\n");
    b.push_str(&params_html(p.params));
    b.push_str("</section>\n");

    b.push_str("<section id=\"files\">\n<h2>Files</h2>\n<ul>\n<li><a href=\"runs.csv\">runs.csv</a>: one row per strategy × replication</li>\n<li><a href=\"summary.csv\">summary.csv</a>: one row per strategy</li>\n");
    for f in p
        .comparison
        .into_iter()
        .chain(p.timelines)
        .chain(p.distributions)
    {
        let _ = writeln!(
            b,
            "<li><a href=\"{}\">{}</a></li>",
            escape(&f.png),
            escape(&f.png)
        );
    }
    b.push_str("</ul>\n</section>\n");
    let _ = writeln!(
        b,
        "<footer>Generated by rehearsal {}. Self-contained: no script, no network; the plots are inline SVG.</footer>",
        env!("CARGO_PKG_VERSION")
    );
    page(&format!("{} — rehearsal report", s.name), &b)
}

/// One scenario in the drill's `index.html`.
#[derive(Debug, Clone)]
pub struct IndexEntry<'a> {
    /// The scenario as run.
    pub scenario: &'a Scenario,
    /// Its summaries.
    pub summaries: &'a [StrategySummary],
    /// Each strategy's objective verdicts.
    pub verdicts: &'a [Vec<Verdict>],
    /// Its report, relative to the index (`crash-loop/report.html`).
    pub report: String,
}

/// The HTML of a drill's `index.html`: every scenario with its key numbers, the objectives
/// each strategy met or missed, and links to the reports.
pub fn index_page(entries: &[IndexEntry], command: &str) -> String {
    let mut b = String::new();
    let runs: usize = entries
        .iter()
        .flat_map(|e| e.summaries.iter().map(|s| s.replications))
        .sum();
    let _ = writeln!(
        b,
        "<header>\n<h1>Drill report</h1>\n<p class=\"meta\">{} scenarios · {} runs · rehearsal {}</p>\n<p>Reproduce the whole drill:</p>\n<pre>{}</pre>\n</header>",
        entries.len(),
        runs,
        env!("CARGO_PKG_VERSION"),
        escape(command)
    );
    b.push_str("<section id=\"scenarios\">\n<h2>Scenarios</h2>\n<p class=\"note\">Means over replications; each scenario's report has the confidence intervals, percentiles, timelines and distributions. The suite's numbers, unrounded: <a href=\"summary.csv\">summary.csv</a>.</p>\n");
    for e in entries {
        let _ = writeln!(
            b,
            "<h3><a href=\"{}\">{}</a></h3>",
            escape(&e.report),
            escape(&e.scenario.name)
        );
        if !e.scenario.description.trim().is_empty() {
            let _ = writeln!(b, "<p>{}</p>", escape(e.scenario.description.trim()));
        }
        b.push_str("<div class=\"table-wrap\"><table>\n<thead><tr><th>strategy</th><th class=\"num\">detected<br>(% of hurt)</th><th class=\"num\">TTD<br>mean</th><th class=\"num\">MTTR</th><th class=\"num\">affected users<br>(mean)</th><th class=\"num\">false<br>rollbacks</th><th class=\"num\">promoted</th>");
        for v in e.verdicts.first().into_iter().flatten() {
            let _ = write!(b, "<th>{}</th>", escape(&v.objective.describe()));
        }
        b.push_str("</tr></thead>\n<tbody>\n");
        for (s, vs) in e.summaries.iter().zip(e.verdicts) {
            let mean =
                |st: Option<Stat>, f: &dyn Fn(f64) -> String| st.map_or("–".into(), |x| f(x.mean));
            let _ = write!(
                b,
                "<tr><td class=\"name\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
                escape(&s.strategy),
                rate_cell(s.detection_probability),
                mean(s.ttd_s, &duration),
                mean(s.ttr_s, &duration),
                mean(s.affected_share, &percent),
                rate_cell(Some(s.false_rollback_rate)),
                rate_cell(Some(s.promotion_rate))
            );
            for v in vs {
                let _ = write!(b, "<td>{} {}</td>", badge(Status::of(v)), escape(&shown(v)));
            }
            b.push_str("</tr>\n");
        }
        b.push_str("</tbody></table></div>\n");
    }
    b.push_str("<p class=\"note\">Objectives: each scenario's <code>[objectives]</code>, or the default targets of the rollback playbooks (MTTR ≤ 30 min, affected users ≤ 1 %, false rollbacks ≤ 5 % on the upper bound of their 95 % interval, deploy success ≥ 95 %) when it states none; the same verdicts as <code>rehearsal check</code>.</p>\n</section>\n");
    let _ = writeln!(
        b,
        "<footer>Generated by rehearsal {}. Self-contained: no script, no network.</footer>",
        env!("CARGO_PKG_VERSION")
    );
    page("Drill report — rehearsal", &b)
}
