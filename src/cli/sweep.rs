//! `rehearsal sweep FILE` and `rehearsal merge DIR…`: threshold tuning over a grid.

use super::files::{check_out_dir, out_dir, write_bytes};
use super::resume::Folder;
use super::scenario_args::ScenarioArgs;
use crate::modes::Mode;
use crate::precision::Precision;
use crate::report::plot::tradeoff;
use crate::report::{merge_sweeps, sweep_row, trade_offs, write_pareto, write_sweep};
use crate::scenario::work::Work;
use crate::scenario::{self, overrides};
use crate::sweep::params::{self, SweepParams, content_hash};
use crate::sweep::{self, ConstraintOn, GridPoint, Optimize, TradeOff, pareto};
use anyhow::Context;
use clap::{Args, ValueEnum};
use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// What the recommendation minimises.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OptimizeArg {
    /// Mean share of users affected by the fault.
    Affected,
    /// Mean time to detect.
    Ttd,
}

/// How the front and the recommendation are chosen (shared by `sweep` and `merge`).
#[derive(Debug, Args)]
pub struct Choice {
    /// The team's constraint: recommend only points with at most this false-rollback rate
    /// (`1%` or `0.01`).
    #[arg(long, value_name = "RATE", default_value = "5%")]
    pub max_false_rollback: String,
    /// What the recommendation minimises under the constraint.
    #[arg(long, value_enum, default_value = "affected")]
    pub optimize: OptimizeArg,
    /// Which statistic of the false-rollback rate `--max-false-rollback` bounds: the upper
    /// bound of its 95 % Wilson interval, or the observed share.
    #[arg(long, value_enum, default_value = "upper")]
    pub constraint_on: ConstraintOnArg,
}

/// Which statistic of the false-rollback rate the constraint bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConstraintOnArg {
    /// The observed share of healthy runs with a false rollback.
    Mean,
    /// The upper bound of its 95 % Wilson score interval.
    Upper,
}

impl ConstraintOnArg {
    fn get(self) -> ConstraintOn {
        match self {
            ConstraintOnArg::Mean => ConstraintOn::Mean,
            ConstraintOnArg::Upper => ConstraintOn::Upper,
        }
    }
}

/// Arguments of `sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// A swept field and its values, e.g. `--set analysis.threshold=1,3,5`; repeatable;
    /// overrides the same path in the file's `[sweep]` table, which gives the grid.
    #[arg(long = "set", value_name = "PATH=V1,V2,…")]
    pub set: Vec<String>,
    /// Run only the I-th of N shards of the grid (1-based; grid point g goes to shard g mod N + 1),
    /// with the seeds of a full run.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Start over in an `--out` that holds an earlier sweep: discard its finished grid points
    /// (`points/<index>.csv`) and `params.txt`, and nothing else. Without it, the same command
    /// resumes the folder and a changed one is refused.
    #[arg(long)]
    pub restart: bool,
    /// Write into DIR a copy of each swept manifest (and template file) with the recommended
    /// grid point's values: only the swept values change, every other byte stays. A unified
    /// diff of each is printed.
    #[arg(long, value_name = "DIR")]
    pub emit: Option<PathBuf>,
    #[command(flatten)]
    pub choice: Choice,
}

/// Arguments of `merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Output folders of `sweep --shard` runs.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Where the merged `sweep.csv`, `pareto.csv` and trade-off plot go.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub choice: Choice,
}

fn parse_rate(text: &str) -> anyhow::Result<f64> {
    let t = text.trim();
    let x = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
        None => t.parse::<f64>(),
    }
    .ok()
    .filter(|x| (0.0..=1.0).contains(x));
    x.with_context(|| format!("--max-false-rollback {text}: expected a rate such as 1% or 0.01"))
}

fn optimize(choice: &Choice) -> Optimize {
    match choice.optimize {
        OptimizeArg::Affected => Optimize::AffectedShare,
        OptimizeArg::Ttd => Optimize::Ttd,
    }
}

fn parse_shard(text: &str) -> anyhow::Result<(usize, usize)> {
    let parsed = text
        .split_once('/')
        .and_then(|(i, n)| {
            Some((
                i.trim().parse::<usize>().ok()?,
                n.trim().parse::<usize>().ok()?,
            ))
        })
        .filter(|&(i, n)| n >= 1 && (1..=n).contains(&i));
    parsed.with_context(|| format!("--shard {text}: expected I/N with 1 ≤ I ≤ N, e.g. 2/4"))
}

pub(super) fn sweep_cmd(args: SweepArgs) -> anyhow::Result<ExitCode> {
    // Validate the file as written first: its own errors name its own fields.
    let base = scenario::load(&args.scenario.file)?;
    args.scenario.check()?;
    let text = fs::read_to_string(&args.scenario.file)?;
    let doc: toml::Table = toml::from_str(&text)
        .with_context(|| format!("{}: not a TOML table", args.scenario.file.display()))?;
    let mut axes = overrides::sweep_axes(&doc, &args.scenario.file)?;
    for s in &args.set {
        let axis = overrides::parse_set(s).map_err(anyhow::Error::msg)?;
        axes.retain(|a| a.path != axis.path);
        axes.push(axis);
    }
    anyhow::ensure!(
        !axes.is_empty(),
        "{}: nothing to sweep: add a [sweep] table (\"analysis.threshold\" = [1, 3, 5]) or --set PATH=V1,V2",
        args.scenario.file.display()
    );
    if !base.service.faults.iter().any(|f| f.is_candidates()) {
        eprintln!(
            "warning: {}: no fault targets the candidate: nothing to detect, so detection and its times are undefined and a rollback is always false",
            args.scenario.file.display()
        );
    }
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let precision = args.scenario.precision.get()?;
    let max_fr = parse_rate(&args.choice.max_false_rollback)?;
    let mut points = sweep::grid(
        &doc,
        &args.scenario.file,
        &axes,
        |i| shard.is_none_or(|(k, n)| i % n == k - 1),
        |s| args.scenario.apply(s),
    )?;
    let mode = choose_modes(&args, &mut points)?;
    let out = args
        .scenario
        .out
        .clone()
        .unwrap_or_else(|| super::default_reports_dir().join(&base.name).join("sweep"));
    check_out_dir("--out", &out)?;
    let total: usize = points.iter().map(runs_of).sum();
    let most = args.scenario.precision.most_replications();
    let work: Work = points
        .iter()
        .map(|p| Work::at_most(&p.faulty, most) + Work::at_most(&p.healthy, most))
        .sum();
    args.scenario.work.check(work)?;
    let paths: Vec<String> = axes.iter().map(|a| a.path.clone()).collect();
    let params = SweepParams {
        program: env!("CARGO_PKG_VERSION").to_string(),
        scenario: content_hash(&scenario_bytes(&doc, &text, &args.scenario.file)),
        grid: SweepParams::grid_of(&axes),
        grid_points: sweep::combinations(&axes).len(),
        seed: args.scenario.seed.unwrap_or(base.seed),
        replications: args.scenario.replications.unwrap_or(base.replications),
        precision: precision.as_ref().map_or_else(
            || "none".to_string(),
            |p| format!("{p} max {}", p.max_replications),
        ),
        mode: modes_of(&points),
        shard,
    };
    let folder = Folder::open(&out, &params, write_sweep(&paths, &[])?, args.restart)?;
    super::interrupt::install("grid point");
    let Some(csv) = run_points(&points, &folder, &paths, precision.as_ref())
        .with_context(|| format!("{}: the sweep stopped", args.scenario.file.display()))?
    else {
        eprintln!(
            "sweep: interrupted: the finished grid points are in {}; no sweep.csv was written; rerun the same command to resume",
            out.join(super::resume::POINTS_DIR).display()
        );
        return Ok(ExitCode::from(super::interrupt::EXIT));
    };
    write_bytes(&out.join("sweep.csv"), &csv)?;
    let mut stdout = io::stdout().lock();
    if let Some((i, n)) = shard {
        writeln!(
            stdout,
            "shard {i}/{n}: {} grid points × {} runs each; wrote {}/sweep.csv; combine the shards with `rehearsal merge`",
            points.len(),
            total / points.len().max(1),
            out.display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        stdout,
        "{}",
        crate::modes::suite_header(points.iter().map(|p| p.faulty.mode))
    )?;
    let best = finish(&mut stdout, &csv, &out, &args.choice, max_fr)?;
    if let Some(dir) = &args.emit {
        emit(
            &mut stdout,
            dir,
            &doc,
            &args.scenario.file,
            &axes,
            &csv,
            best,
        )?;
    }
    let mut command = reproduce(&args);
    if args.scenario.mode.mode.is_none() {
        command.push_str(&format!(" --mode {}", mode.name()));
    }
    writeln!(stdout, "reproduce: {command}")?;
    Ok(ExitCode::SUCCESS)
}

/// What the sweep's results depend on in files: the scenario's text and, for its manifest
/// strategies, every manifest and template file's (a changed manifest is a different sweep).
fn scenario_bytes(doc: &toml::Table, text: &str, file: &Path) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    if let Ok(x) = crate::scenario::manifest::expand(doc, file) {
        for e in x.sources {
            bytes.extend_from_slice(e.original.as_bytes());
        }
    }
    bytes
}

/// The `mode` of `params.txt`: the grid points' one mode, or `windows where supported` when
/// some fell back to requests mode.
fn modes_of(points: &[GridPoint]) -> String {
    let first = points.first().map_or(Mode::Requests, |p| p.faulty.mode);
    if points.iter().all(|p| p.faulty.mode == first) {
        first.name().to_string()
    } else {
        "windows where supported".to_string()
    }
}

/// Sets the mode of every grid point (both families alike): windows by default where the
/// point allows it, else requests with a note on stderr; `--mode windows` on a point windows
/// mode cannot run is an error naming the feature. Returns the mode of the first point, for
/// the reproduce line.
fn choose_modes(args: &SweepArgs, points: &mut [GridPoint]) -> anyhow::Result<Mode> {
    let mut notes: Vec<String> = Vec::new();
    for p in points.iter_mut() {
        if args.scenario.mode.mode == Some(Mode::Windows) {
            args.scenario.mode.apply_strict(&mut p.faulty)?;
        } else if let Some(note) = args
            .scenario
            .mode
            .apply_lenient(&mut p.faulty, Mode::Windows)
            && !notes.contains(&note)
        {
            eprintln!("sweep: {note}");
            notes.push(note);
        }
        p.healthy.mode = p.faulty.mode;
    }
    Ok(points.first().map_or(Mode::Requests, |p| p.faulty.mode))
}

/// Runs per grid point: both families of every strategy.
fn runs_of(p: &GridPoint) -> usize {
    2 * p.faulty.replications as usize * p.faulty.strategies.len()
}

/// Runs the grid points `folder` has not finished, one after another (each on every core),
/// recording each as it completes; returns `sweep.csv` assembled from every point's rows, or
/// `None` when Ctrl-C stopped it between two points.
fn run_points(
    points: &[GridPoint],
    folder: &Folder,
    paths: &[String],
    precision: Option<&Precision>,
) -> anyhow::Result<Option<String>> {
    // The header alone first: a shard with no grid point still writes its header.
    let mut texts = vec![write_sweep(paths, &[])?];
    let mut pending = Vec::new();
    for p in points {
        match folder.finished(p.index)? {
            Some(text) => texts.push(text),
            None => pending.push(p),
        }
    }
    if pending.len() < points.len() {
        eprintln!(
            "sweep: resuming: {} of {} grid points already finished in this --out",
            points.len() - pending.len(),
            points.len()
        );
    }
    // Under --precision each batch adds its runs to the bar as it is scheduled.
    let total = match precision {
        None => pending.iter().map(|p| runs_of(p)).sum(),
        Some(_) => 0,
    };
    let progress = Progress::new(total);
    for p in pending {
        if super::interrupt::requested() {
            return Ok(None);
        }
        let rows = match precision {
            None => sweep::run(std::slice::from_ref(p), &|| progress.tick())?,
            Some(precision) => {
                let (rows, settled) =
                    sweep::run_to_precision(p, precision, &|| progress.tick(), &|n| {
                        progress.grow(n)
                    })?;
                if !settled.reached() {
                    progress.clear();
                    eprintln!(
                        "warning: grid point {} ({}): {}",
                        p.index + 1,
                        grid_point_label(paths, &p.values),
                        settled.line()
                    );
                }
                rows
            }
        };
        let text = write_sweep(paths, &rows)?;
        folder.record(p.index, &text)?;
        texts.push(text);
    }
    progress.done();
    merge_sweeps(&texts).map(Some).map_err(anyhow::Error::msg)
}

/// `path=value, …` of one grid point.
fn grid_point_label(paths: &[String], values: &[String]) -> String {
    paths
        .iter()
        .zip(values)
        .map(|(p, v)| format!("{p}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The command that repeats this sweep: the file and every option given.
fn reproduce(args: &SweepArgs) -> String {
    let mut command = format!("rehearsal sweep {}", args.scenario.file.display());
    for s in &args.set {
        // Quoted when a shell would read it otherwise (`metrics[0]` is a glob).
        let plain = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.,=:/-%+".contains(c));
        if plain {
            command.push_str(&format!(" --set {s}"));
        } else {
            command.push_str(&format!(" --set '{}'", s.replace('\'', "'\\''")));
        }
    }
    if let Some(dir) = &args.emit {
        command.push_str(&format!(" --emit {}", dir.display()));
    }
    for (flag, value) in [
        ("-n", args.scenario.replications.map(|n| n.to_string())),
        ("--seed", args.scenario.seed.map(|s| s.to_string())),
        (
            "--mode",
            args.scenario.mode.mode.map(|m| m.name().to_string()),
        ),
    ] {
        if let Some(v) = value {
            command.push_str(&format!(" {flag} {v}"));
        }
    }
    command.push_str(&args.scenario.precision.flags());
    command.push_str(&format!(
        " --max-false-rollback {}",
        args.choice.max_false_rollback
    ));
    if let OptimizeArg::Ttd = args.choice.optimize {
        command.push_str(" --optimize ttd");
    }
    if args.choice.constraint_on == ConstraintOnArg::Mean {
        command.push_str(" --constraint-on mean");
    }
    command
}

pub(super) fn merge_cmd(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let max_fr = parse_rate(&args.choice.max_false_rollback)?;
    check_merge_out(&args.out, &args.shards)?;
    let params = check_shards(&args.shards)?;
    let shards = args
        .shards
        .iter()
        .zip(&params)
        .map(|(d, p)| {
            let path = d.join("sweep.csv");
            let text = fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            check_shard_rows(&path, &text, p)?;
            Ok(text)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let csv = merge_sweeps(&shards).map_err(anyhow::Error::msg)?;
    out_dir("--out", &args.out)?;
    write_bytes(&args.out.join("sweep.csv"), &csv)?;
    finish(
        &mut io::stdout().lock(),
        &csv,
        &args.out,
        &args.choice,
        max_fr,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Refuses a merge `--out` that is one of the shards or any sweep's folder: its `sweep.csv`
/// would be overwritten.
fn check_merge_out(out: &Path, shards: &[PathBuf]) -> anyhow::Result<()> {
    check_out_dir("--out", out)?;
    let same = |d: &PathBuf| {
        fs::canonicalize(d)
            .ok()
            .zip(fs::canonicalize(out).ok())
            .is_some_and(|(a, b)| a == b)
    };
    anyhow::ensure!(
        !shards.iter().any(same) && !out.join(params::FILE).exists(),
        "--out {}: is the output folder of a sweep or shard (it has {}); merging there would overwrite it; choose a new folder",
        out.display(),
        params::FILE
    );
    Ok(())
}

/// Reads each shard's `params.txt`: every shard `1..=N` of one sweep (same program, scenario,
/// grid, seed and replications), each once. Returns them in argument order.
fn check_shards(dirs: &[PathBuf]) -> anyhow::Result<Vec<SweepParams>> {
    let mut all: Vec<SweepParams> = Vec::new();
    for d in dirs {
        let path = d.join(params::FILE);
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {}: not a `sweep --shard` output",
                path.display()
            )
        })?;
        let p =
            SweepParams::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        anyhow::ensure!(
            p.shard.is_some(),
            "{}: a whole sweep, not a shard: nothing to merge it with",
            d.display()
        );
        if let Some(first) = all.first() {
            let diff = first.differences(&p, false);
            anyhow::ensure!(
                diff.is_empty(),
                "the shards come from different sweeps: {} and {} differ in {}",
                dirs[0].display(),
                d.display(),
                diff.join(", ")
            );
        }
        all.push(p);
    }
    let shard = |p: &SweepParams| p.shard.unwrap_or((0, 0));
    let n = shard(&all[0]).1;
    anyhow::ensure!(
        all.iter().all(|p| shard(p).1 == n),
        "the shards come from different sweeps (shard counts differ)"
    );
    let mut got: Vec<usize> = all.iter().map(|p| shard(p).0).collect();
    got.sort_unstable();
    anyhow::ensure!(
        got == (1..=n).collect::<Vec<_>>(),
        "expected shards 1 to {n} of one sweep, once each; got {got:?}"
    );
    Ok(all)
}

/// A shard's `sweep.csv` holds exactly its own grid points: every grid index in range and
/// owned by the shard, and every owned point present.
fn check_shard_rows(path: &Path, text: &str, p: &SweepParams) -> anyhow::Result<()> {
    let mut seen: Vec<usize> = Vec::new();
    for line in text.lines().skip(1) {
        let cell = line.split(',').next().unwrap_or("");
        let g: usize = cell.parse().ok().with_context(|| {
            format!("{}: grid \"{cell}\": expected a grid index", path.display())
        })?;
        anyhow::ensure!(
            g < p.grid_points && p.owns(g),
            "{}: grid index {g} is not a point of this shard (grid of {} points, shard {})",
            path.display(),
            p.grid_points,
            p.shard
                .map_or_else(String::new, |(i, n)| format!("{i}/{n}"))
        );
        seen.push(g);
    }
    seen.dedup();
    let expected: Vec<usize> = (0..p.grid_points).filter(|&g| p.owns(g)).collect();
    anyhow::ensure!(
        seen == expected,
        "{}: expected the rows of grid points {expected:?}, found {seen:?}",
        path.display()
    );
    Ok(())
}

/// Writes `pareto.csv` and the trade-off plot (`tradeoff.svg`, `tradeoff.png`), and prints
/// the grid with its front and recommendation.
fn finish(
    w: &mut impl Write,
    csv: &str,
    out: &Path,
    choice: &Choice,
    max_fr: f64,
) -> anyhow::Result<Option<usize>> {
    let opt = optimize(choice);
    let on = choice.constraint_on.get();
    let (pareto_csv, best) = write_pareto(csv, opt, max_fr, on)?;
    write_bytes(&out.join("pareto.csv"), pareto_csv)?;
    let points = trade_offs(csv, opt)?;
    let front = pareto(&points);
    let objective = match opt {
        Optimize::AffectedShare => "affected",
        Optimize::Ttd => "TTD",
    };
    let labels = row_labels(csv, &points);
    let plot = tradeoff(
        &plot_title(csv),
        &labels,
        &points,
        &front,
        best,
        objective,
        Some(max_fr),
    );
    write_bytes(&out.join("tradeoff.svg"), plot.svg()?)?;
    write_bytes(&out.join("tradeoff.png"), plot.png()?)?;
    let grid = Grid {
        points: &points,
        labels: &labels,
        front: &front,
        best,
        opt,
        objective,
    };
    print_grid(w, &grid)?;
    let bound = match on {
        ConstraintOn::Upper => "the upper bound of its 95 % interval",
        ConstraintOn::Mean => "the observed rate",
    };
    match best {
        Some(b) => {
            writeln!(
                w,
                "recommended: row {} of sweep.csv: the lowest {objective} with false rollbacks ≤ {:.1}% on {bound}",
                b + 1,
                max_fr * 100.0
            )?;
            writeln!(w, "  false rollbacks: {}", false_rollbacks(csv, b))?;
        }
        None => writeln!(
            w,
            "no grid point keeps false rollbacks ≤ {:.1}% on {bound}",
            max_fr * 100.0
        )?,
    }
    warn_mean_only(&points, best, max_fr, on);
    writeln!(
        w,
        "wrote {}/sweep.csv, pareto.csv, tradeoff.svg and tradeoff.png",
        out.display()
    )?;
    Ok(best)
}

/// `--emit DIR`: the manifests of the recommended grid point (sweep.csv row `best`), each
/// written to `dir` under its file name, with a unified diff against the original.
fn emit(
    w: &mut impl Write,
    dir: &Path,
    doc: &toml::Table,
    file: &Path,
    axes: &[overrides::Axis],
    csv: &str,
    best: Option<usize>,
) -> anyhow::Result<()> {
    let Some(row) = best else {
        writeln!(
            w,
            "emit: no recommended grid point, so no manifest was written"
        )?;
        return Ok(());
    };
    let grid: usize = csv
        .lines()
        .nth(row + 1)
        .and_then(|l| l.split(',').next())
        .and_then(|g| g.parse().ok())
        .context("sweep.csv: no grid index in the recommended row")?;
    let values = sweep::combinations(axes)
        .into_iter()
        .nth(grid)
        .context("sweep.csv: the recommended grid point is not in the grid")?;
    let mut d = doc.clone();
    d.remove("sweep");
    crate::scenario::manifest::name_strategies(&mut d, file);
    let mut d = toml::Value::Table(d);
    for (axis, v) in axes.iter().zip(values) {
        overrides::set(&mut d, &axis.path, v).map_err(anyhow::Error::msg)?;
    }
    let toml::Value::Table(d) = d else {
        unreachable!("a document is a table")
    };
    let edited = crate::scenario::manifest::edited_files(&d, file)
        .map_err(|e| anyhow::anyhow!("{}", crate::scenario::ScenarioErrors(e)))?;
    if edited.is_empty() {
        writeln!(
            w,
            "emit: no swept field is a manifest's (sweep strategies.<name>.spec.… to tune a manifest), so no manifest was written"
        )?;
        return Ok(());
    }
    fs::create_dir_all(dir).with_context(|| format!("--emit {}", dir.display()))?;
    for e in &edited {
        let name = e
            .manifest
            .path
            .file_name()
            .context("a manifest path without a file name")?;
        let target = dir.join(name);
        write_bytes(&target, &e.manifest.text)?;
        write!(
            w,
            "{}",
            crate::scenario::manifest::yaml::unified_diff(
                &e.original,
                &e.manifest.text,
                &e.manifest.path.display().to_string(),
                &target.display().to_string(),
            )
        )?;
        writeln!(w, "emitted: {}", target.display())?;
    }
    Ok(())
}

/// Row `i`'s false rollbacks as `0 of 30 healthy runs: 0% [95 % Wilson interval 0%–11.35%]`.
fn false_rollbacks(csv: &str, i: usize) -> String {
    let cells = sweep_row(csv, i);
    let cell = |name: &str| {
        cells
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse::<f64>().ok())
    };
    match (
        cell("false_rollback_n"),
        cell("false_rollback_mean"),
        cell("false_rollback_ci95_low"),
        cell("false_rollback_ci95_high"),
    ) {
        (Some(n), Some(mean), Some(low), Some(high)) => format!(
            "{:.0} of {n:.0} healthy runs: {:.2}% [95 % Wilson interval {:.2}%–{:.2}%]",
            mean * n,
            mean * 100.0,
            low * 100.0,
            high * 100.0
        ),
        _ => "no healthy run".into(),
    }
}

/// Warns on stderr when the constraint holds only on the observed rate: for the
/// recommendation itself (`--constraint-on mean`), or for rows that would beat it.
fn warn_mean_only(points: &[TradeOff], best: Option<usize>, max_fr: f64, on: ConstraintOn) {
    let best_point = best.and_then(|b| points.iter().find(|p| p.row == b));
    match on {
        ConstraintOn::Mean => {
            if let Some(p) = best_point.filter(|p| p.false_rollback_high > max_fr) {
                eprintln!(
                    "warning: the recommendation keeps false rollbacks ≤ {:.1}% only on the observed rate: its 95 % interval reaches {:.2}%; run more replications (-n) or use --constraint-on upper",
                    max_fr * 100.0,
                    p.false_rollback_high * 100.0
                );
            }
        }
        ConstraintOn::Upper => {
            let better = |p: &&TradeOff| best_point.is_none_or(|b| p.objective < b.objective);
            let rows: Vec<String> = points
                .iter()
                .filter(|p| p.false_rollback <= max_fr && p.false_rollback_high > max_fr)
                .filter(better)
                .map(|p| (p.row + 1).to_string())
                .collect();
            if !rows.is_empty() {
                eprintln!(
                    "warning: rows {} of sweep.csv keep false rollbacks ≤ {:.1}% only on the observed rate, not on the upper bound of its 95 % interval; more replications (-n) may admit them",
                    rows.join(", "),
                    max_fr * 100.0
                );
            }
        }
    }
}

/// Each row of `sweep.csv` as its strategy and swept `path=value` pairs.
fn row_labels(csv: &str, points: &[TradeOff]) -> Vec<String> {
    points
        .iter()
        .map(|p| {
            let label: Vec<String> = sweep_row(csv, p.row)
                .iter()
                .skip(1)
                .take_while(|(k, _)| k != "replications")
                .map(|(k, v)| {
                    if k == "strategy" {
                        v.clone()
                    } else {
                        format!("{k}={v}")
                    }
                })
                .collect();
            label.join(" ")
        })
        .collect()
}

/// The plot's title: the swept paths, or their count when they do not fit.
fn plot_title(csv: &str) -> String {
    let swept: Vec<String> = sweep_row(csv, 0)
        .into_iter()
        .skip(2)
        .take_while(|(k, _)| k != "replications")
        .map(|(k, _)| k)
        .collect();
    let axes = swept.join(" × ");
    if axes.is_empty() {
        "sweep".to_string()
    } else if axes.chars().count() <= 60 {
        format!("sweep of {axes}")
    } else {
        format!("sweep of {} axes", swept.len())
    }
}

/// The rows of a sweep with their front and recommendation, as printed.
struct Grid<'a> {
    points: &'a [TradeOff],
    labels: &'a [String],
    front: &'a [usize],
    best: Option<usize>,
    opt: Optimize,
    /// The objective's name in the header.
    objective: &'static str,
}

/// Prints one line per row (→ recommended, * on the front) and the key.
fn print_grid(w: &mut impl Write, grid: &Grid) -> io::Result<()> {
    let objective = grid.objective;
    writeln!(
        w,
        "grid point                                 false rollback  {objective:>10}  rollout"
    )?;
    for (p, label) in grid.points.iter().zip(grid.labels) {
        let mark = if grid.best == Some(p.row) {
            "→"
        } else if grid.front.contains(&p.row) {
            "*"
        } else {
            " "
        };
        let obj = match grid.opt {
            Optimize::AffectedShare => format!("{:.3}%", p.objective * 100.0),
            Optimize::Ttd if p.objective.is_finite() => format!("{:.1}s", p.objective),
            Optimize::Ttd => "never".into(),
        };
        let rollout = if p.rollout.is_finite() {
            format!("{:.0}s", p.rollout)
        } else {
            "-".into()
        };
        writeln!(
            w,
            "{mark} {label:<40} {:>13.1}%  {:>10}  {rollout:>7}",
            p.false_rollback * 100.0,
            obj
        )?;
    }
    writeln!(
        w,
        "* Pareto front over (false-rollback rate, {objective}, rollout time); → recommended"
    )
}

/// A progress line with an ETA on stderr, only when stderr is a terminal.
struct Progress {
    total: AtomicUsize,
    done: AtomicUsize,
    start: Instant,
    on: bool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress {
            total: AtomicUsize::new(total),
            done: AtomicUsize::new(0),
            start: Instant::now(),
            on: io::stderr().is_terminal(),
        }
    }

    /// `n` more runs scheduled (a `--precision` batch).
    fn grow(&self, n: u64) {
        self.total
            .fetch_add(usize::try_from(n).unwrap_or(usize::MAX), Ordering::Relaxed);
    }

    fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.total.load(Ordering::Relaxed).max(done);
        if self.on && (done * 100 / total) != ((done - 1) * 100 / total) {
            let elapsed = self.start.elapsed().as_secs_f64();
            let eta = elapsed / done as f64 * (total - done) as f64;
            eprint!(
                "\rsweep: {done}/{total} runs, {:.0}% (ETA {:.0}s)   ",
                100.0 * done as f64 / total as f64,
                eta
            );
        }
    }

    /// Ends the current progress line so that a note can follow.
    fn clear(&self) {
        if self.on {
            eprint!("\r");
        }
    }

    fn done(&self) {
        if self.on {
            eprintln!();
        }
    }
}
