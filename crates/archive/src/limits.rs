//! How much an archive may make a reader decompress, and the count kept against it.

use plugboard_manifest::MIB;

/// The caps on what reading one archive may decompress. They are checked against the
/// bytes actually decompressed, never against the sizes an archive declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackLimits {
    /// The largest file, in bytes. Default 256 MiB: a big component is tens of MiB.
    pub max_entry_bytes: u64,
    /// The largest total of all files, in bytes. Default 512 MiB.
    pub max_total_bytes: u64,
    /// The most entries. Default 10 000: each one costs a file and a directory lookup.
    pub max_entries: usize,
    /// The largest ratio of a file's size to its compressed size. Default 200: code and
    /// text compress 3 to 10 times, a zip bomb thousands of times. Judged only once a
    /// file passes 1 MiB, since small files of repeated bytes may compress better.
    pub max_ratio: u64,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        Self {
            max_entry_bytes: 256 * MIB,
            max_total_bytes: 512 * MIB,
            max_entries: 10_000,
            max_ratio: 200,
        }
    }
}

/// The ratio is judged only past this many decompressed bytes of a file: a small file
/// of repeated bytes legitimately compresses far better than any sane ratio, and a
/// megabyte cannot hurt.
const RATIO_GRACE_BYTES: u64 = MIB;

/// Which cap a file passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exceeded {
    Entry,
    Total,
    Ratio,
}

/// The bytes decompressed so far from one archive, checked against its limits.
#[derive(Debug)]
pub(crate) struct Budget {
    limits: UnpackLimits,
    total: u64,
}

impl Budget {
    pub(crate) fn new(limits: &UnpackLimits) -> Self {
        Self {
            limits: *limits,
            total: 0,
        }
    }

    pub(crate) fn limits(&self) -> &UnpackLimits {
        &self.limits
    }

    /// Counts `more` bytes just decompressed from a file that now has `entry_bytes` in
    /// all, out of `compressed` bytes in the archive.
    pub(crate) fn spend(&mut self, more: u64, entry_bytes: u64, compressed: u64) -> Result<(), Exceeded> {
        self.total = self.total.saturating_add(more);
        if entry_bytes > self.limits.max_entry_bytes {
            return Err(Exceeded::Entry);
        }
        if self.total > self.limits.max_total_bytes {
            return Err(Exceeded::Total);
        }
        if entry_bytes > RATIO_GRACE_BYTES && entry_bytes > compressed.saturating_mul(self.limits.max_ratio) {
            return Err(Exceeded::Ratio);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cap_is_reported_once_passed() {
        let limits = UnpackLimits {
            max_entry_bytes: 10 * MIB,
            max_total_bytes: 15 * MIB,
            max_entries: 10,
            max_ratio: 10,
        };
        let mut budget = Budget::new(&limits);
        assert_eq!(budget.spend(10 * MIB, 10 * MIB, MIB), Ok(()));
        assert_eq!(budget.spend(1, 10 * MIB + 1, MIB), Err(Exceeded::Entry));

        let mut budget = Budget::new(&limits);
        assert_eq!(budget.spend(8 * MIB, 8 * MIB, MIB), Ok(()));
        assert_eq!(budget.spend(8 * MIB, 8 * MIB, MIB), Err(Exceeded::Total));

        let mut budget = Budget::new(&limits);
        assert_eq!(budget.spend(MIB, MIB, 1), Ok(()), "small files may compress well");
        assert_eq!(budget.spend(MIB, 2 * MIB, 100), Err(Exceeded::Ratio));
    }
}
