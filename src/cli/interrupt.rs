//! Ctrl-C: the first one lets `drill` and `sweep` finish the scenario or grid point under way,
//! write what is done and exit 130 (128 + SIGINT, what a shell reports for a process the
//! signal ended); the second ends the process at once, also with 130. Either way no output is
//! half-written ([`super::files`]).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// The exit code of an interrupted command.
pub(super) const EXIT: u8 = 130;

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Handles Ctrl-C from now on, telling the user what is being finished (`unit`: "scenario",
/// "grid point"). Without a handler (it could not be installed) Ctrl-C ends the process.
pub(super) fn install(unit: &'static str) {
    let _ = ctrlc::set_handler(move || {
        if REQUESTED.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT));
        }
        let _ = writeln!(
            std::io::stderr(),
            "\ninterrupted: finishing the {unit} under way, then writing what is done (Ctrl-C again to stop at once)"
        );
    });
}

/// Whether Ctrl-C was pressed.
pub(super) fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
