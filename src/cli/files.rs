//! Output files that are never half-written.
//!
//! Every file a command writes goes through [`write_file`]: into a temporary file in the same
//! folder (same file system, so the rename is atomic), flushed to disk, then renamed over the
//! target. A run killed at any moment leaves either the previous file or the new one, never a
//! truncated `runs.csv` that a later `check --baseline` would read as truth; at worst a
//! `.<name>.*.tmp` file remains beside it. Appends ([`append_locked`]) are one `write` of whole
//! lines under an exclusive lock, so two `check` runs sharing a history file interleave whole
//! lines. Nothing here deletes a file it did not create.

use anyhow::Context;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;

/// Refuses an output folder `dir` that is an existing file, before anything runs: `flag` is the
/// option that named it (`--out`), for the message.
pub(super) fn check_out_dir(flag: &str, dir: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        !dir.exists() || dir.is_dir(),
        "{flag} {}: is an existing file; expected a folder (new or existing) for the outputs",
        dir.display()
    );
    Ok(())
}

/// Creates the output folder `dir` (and its parents), refusing a path that is an existing file
/// rather than a folder: `flag` is the option that named it (`--out`), for the message.
pub(super) fn out_dir(flag: &str, dir: &Path) -> anyhow::Result<()> {
    check_out_dir(flag, dir)?;
    fs::create_dir_all(dir).with_context(|| format!("{flag} {}: cannot create", dir.display()))
}

/// Writes `path` whole or not at all: `write` fills a buffered temporary file in the same
/// folder, which is synced and renamed over `path`. On any error the temporary file is removed
/// and `path` is left as it was.
pub(super) fn write_file<E>(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&mut File>) -> Result<(), E>,
) -> anyhow::Result<()>
where
    E: Into<anyhow::Error>,
{
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file path", path.display()))?;
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // A temporary file is private (0600); an output gets the mode `File::create` would give
    // (0666 less the umask).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    let written = (|| -> anyhow::Result<()> {
        let mut w = BufWriter::new(tmp.as_file_mut());
        write(&mut w).map_err(Into::into)?;
        w.flush()?;
        drop(w);
        tmp.as_file().sync_all()?;
        Ok(())
    })();
    // Dropping `tmp` on error removes the temporary file (we created it).
    written.with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// [`write_file`] of ready bytes.
pub(super) fn write_bytes(path: &Path, bytes: impl AsRef<[u8]>) -> anyhow::Result<()> {
    write_file(path, |w| w.write_all(bytes.as_ref()))
}

/// Appends `lines` (whole lines, each ending in a newline) to `path` in one `write` under an
/// exclusive lock, first writing `header` if the file is empty (new). Creates the folders
/// above `path`.
pub(super) fn append_locked(path: &Path, header: &str, lines: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    f.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    // Under the lock: another writer may have created the header meanwhile.
    let empty = f.metadata().map(|m| m.len() == 0)?;
    let mut text = String::with_capacity(header.len() + lines.len());
    if empty {
        text.push_str(header);
    }
    text.push_str(lines);
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot append to {}", path.display()))?;
    f.unlock()
        .with_context(|| format!("cannot unlock {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("runs.csv");
        write_bytes(&path, "old\n").unwrap();
        let err = write_file(&path, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("runs.csv"), "{err:#}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
        let names: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[cfg(unix)]
    #[test]
    fn outputs_get_the_mode_file_create_gives() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let (ours, plain) = (tmp.path().join("a.csv"), tmp.path().join("b.csv"));
        write_bytes(&ours, "x").unwrap();
        File::create(&plain).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&ours), mode(&plain));
    }

    #[test]
    fn appends_write_the_header_once_then_whole_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("deep/history.csv");
        append_locked(&path, "h\n", "a\nb\n").unwrap();
        append_locked(&path, "h\n", "c\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "h\na\nb\nc\n");
    }

    #[test]
    fn concurrent_appends_interleave_whole_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("history.csv");
        std::thread::scope(|scope| {
            for t in 0..4 {
                let path = &path;
                scope.spawn(move || {
                    for i in 0..50 {
                        let body = format!("{t},{i},first\n{t},{i},second\n");
                        append_locked(path, "header\n", &body).unwrap();
                    }
                });
            }
        });
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "header");
        assert_eq!(lines.len(), 1 + 4 * 50 * 2);
        // Each append's two lines stay together.
        for pair in lines[1..].chunks(2) {
            let first = pair[0].strip_suffix(",first").unwrap();
            assert_eq!(pair[1], format!("{first},second"));
        }
    }

    #[test]
    fn an_out_folder_that_is_a_file_is_refused_and_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("report");
        fs::write(&path, "mine").unwrap();
        let err = out_dir("--out", &path).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "report: is an existing file; expected a folder (new or existing) for the outputs"
            ),
            "{err}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "mine");
    }
}
