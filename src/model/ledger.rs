//! The ledger of written records: counted, never estimated.

use super::VersionId;

/// Records written during a run, by the version that wrote them and how they ended up.
///
/// Each successful write stores one record. The database issue extends this with the
/// structures each record was written to; today the only inconsistency is corruption.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Records written, per version.
    pub written: [u64; 2],
    /// Records stored corrupted by a `data_corruption` fault.
    pub corrupted: u64,
}

impl Ledger {
    /// Counts one successful write by `v`.
    #[inline]
    pub fn write(&mut self, v: VersionId, corrupted: bool) {
        self.written[v.index()] += 1;
        self.corrupted += u64::from(corrupted);
    }

    /// Records unreadable, invisible, lost or corrupted at the end of the run.
    pub fn inconsistent(&self) -> u64 {
        self.corrupted
    }
}
