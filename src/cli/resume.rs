//! A sweep's output folder as a record of finished work: `params.txt` says what the rows were
//! computed from, `points/<grid index>.csv` holds each finished grid point's rows (written
//! atomically as the point completes). Rerunning the same command skips the finished points;
//! `sweep.csv` is assembled from the point files, so it is byte-identical to an uninterrupted
//! run's.

use super::files::{out_dir, write_bytes};
use crate::sweep::params::{self, SweepParams};
use anyhow::Context;
use std::fs;
use std::path::{Path, PathBuf};

/// The sub-folder of finished grid points.
pub const POINTS_DIR: &str = "points";

/// A sweep output folder opened for these parameters.
pub(super) struct Folder {
    points: PathBuf,
    header: String,
}

impl Folder {
    /// Opens `out` for a sweep with `params` whose `sweep.csv` starts with `header` (its first
    /// line, with its newline). A folder of another sweep is refused, naming what differs; a
    /// folder without `params.txt` but with point files is refused (their origin is unknown).
    /// With `restart`, an earlier sweep's record is discarded first ([`discard`]).
    pub(super) fn open(
        out: &Path,
        params: &SweepParams,
        header: String,
        restart: bool,
    ) -> anyhow::Result<Self> {
        out_dir("--out", out)?;
        let path = out.join(params::FILE);
        let points = out.join(POINTS_DIR);
        if restart {
            discard(out)?;
        }
        match fs::read_to_string(&path) {
            Ok(text) => {
                let old = SweepParams::parse(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                let diff = old.differences(params, true);
                anyhow::ensure!(
                    diff.is_empty(),
                    "--out {}: holds a sweep with other parameters, so it cannot be resumed ({}; folder's value first); \
                     rerun the original command, add --restart to discard it, or choose another --out",
                    out.display(),
                    diff.join(", ")
                );
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                anyhow::ensure!(
                    restart || !points.exists(),
                    "--out {}: has a {POINTS_DIR}/ folder but no {}: its points cannot be trusted; add --restart to discard them, or choose another --out",
                    out.display(),
                    params::FILE
                );
                write_bytes(&path, params.to_text())?;
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
        out_dir("--out", &points)?;
        Ok(Folder { points, header })
    }

    fn point(&self, index: usize) -> PathBuf {
        self.points.join(format!("{index}.csv"))
    }

    /// The rows of grid point `index` if it finished in an earlier run (checked: the same
    /// header, every row of this point).
    pub(super) fn finished(&self, index: usize) -> anyhow::Result<Option<String>> {
        let path = self.point(index);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let prefix = format!("{index},");
        let ok = text.starts_with(&self.header)
            && text[self.header.len()..]
                .lines()
                .all(|l| l.starts_with(&prefix));
        anyhow::ensure!(
            ok,
            "{}: not the rows of grid point {index} of this sweep; remove it to recompute the point",
            path.display()
        );
        Ok(Some(text))
    }

    /// Records grid point `index` as finished with `text` (header and its rows), atomically.
    pub(super) fn record(&self, index: usize, text: &str) -> anyhow::Result<()> {
        write_bytes(&self.point(index), text)
    }
}

/// Removes what a sweep wrote to record its progress in `out`, and only that: `params.txt`
/// and the `points/<index>.csv` files (the `points/` folder stays). The outputs are replaced
/// when the new sweep ends.
fn discard(out: &Path) -> anyhow::Result<()> {
    let remove = |p: &Path| match fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", p.display()))
        }
        _ => Ok(()),
    };
    remove(&out.join(params::FILE))?;
    let points = out.join(POINTS_DIR);
    let Ok(entries) = fs::read_dir(&points) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        let ours = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".csv"))
            .is_some_and(|stem| !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()));
        if ours {
            remove(&path)?;
        }
    }
    Ok(())
}
