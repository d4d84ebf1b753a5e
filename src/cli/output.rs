//! What `run` and `drill` print: the summary format on stdout, the progress bar on stderr.

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{self, IsTerminal};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How the summary is printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// A table for people (at most 100 columns), with file locations and the reproduce command.
    #[default]
    Table,
    /// The rows of `summary.csv`; nothing else on stdout.
    Csv,
    /// One JSON document; nothing else on stdout.
    Json,
}

/// Output flags shared by the commands that run scenarios.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Summary format on stdout: `table` for people, `csv` or `json` for other programs
    /// (file locations and the reproduce command then go to stderr).
    #[arg(long, value_enum, default_value_t = Format::Table, value_name = "FORMAT")]
    pub format: Format,
    /// No progress bar and no notes on stderr; only the summary and errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl OutputArgs {
    /// Whether notes (file locations, the reproduce command) go to stderr rather than stdout.
    pub fn notes_to_stderr(&self) -> bool {
        self.format != Format::Table
    }
}

/// A progress bar on stderr for runs that take more than about a second. It stays hidden
/// when stderr is not a terminal, with `--quiet`, and for quick runs.
pub struct Progress {
    bar: ProgressBar,
    start: Instant,
    enabled: bool,
    shown: AtomicBool,
}

/// How long a run goes before its progress bar appears.
const SHOW_AFTER: Duration = Duration::from_secs(1);

impl Progress {
    /// A bar of `total` runs.
    pub fn new(total: u64, quiet: bool) -> Progress {
        let style = ProgressStyle::with_template(
            // `wide_bar` takes what the terminal has left, so the line never wraps.
            "{msg:.bold} [{wide_bar}] {pos}/{len} runs · {elapsed}, about {eta} left",
        )
        .expect("a valid progress template")
        .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
            .with_style(style);
        Progress {
            bar,
            start: Instant::now(),
            enabled: !quiet && io::stderr().is_terminal(),
            shown: AtomicBool::new(false),
        }
    }

    /// One run done (callable from any thread).
    pub fn tick(&self) {
        self.bar.inc(1);
        if self.enabled
            && self.start.elapsed() >= SHOW_AFTER
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    /// `n` more runs scheduled (a `--precision` batch).
    pub fn grow(&self, n: u64) {
        self.bar.inc_length(n);
    }

    /// Names what is running.
    pub fn set_message(&self, message: &str) {
        self.bar.set_message(message.to_string());
    }

    /// Runs `f` (which prints) with the bar cleared, then redraws it.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// `path` as a shell word: quoted when it holds anything but letters, digits and `/._-+:,@`.
pub fn shell_word(path: &Path) -> String {
    let s = path.display().to_string();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:,@".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
