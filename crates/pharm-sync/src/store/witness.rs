//! The commit witness: a 16-byte file next to the database holding the number of write
//! transactions the store has committed, rewritten after every commit.
//!
//! SQLite cannot tell a torn write of the last transaction in its write-ahead log (never
//! acknowledged) from damage to an acknowledged one, and a database file copied back from
//! another day looks perfectly healthy. The witness can: it is written only after a commit
//! returned, so it is never ahead of an intact database. On open, a witness ahead of the
//! database's own counter means committed transactions are missing
//! ([`StoreError::RolledBack`](super::StoreError::RolledBack)). The witness is written
//! without a sync of its own (it costs no extra flush): after a power loss it may be behind,
//! which only means less evidence, never a false alarm. A missing or unreadable witness is
//! recreated from the database.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The witness of one database file.
#[derive(Debug, Clone)]
pub(super) struct Witness {
    path: PathBuf,
}

fn fnv(v: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in v.to_le_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Witness {
    /// The witness of the database at `db` (`<db>-witness`).
    pub(super) fn of(db: &Path) -> Self {
        let mut p = db.as_os_str().to_owned();
        p.push("-witness");
        Witness {
            path: PathBuf::from(p),
        }
    }

    /// The count it holds, if the file exists and is intact.
    pub(super) fn read(&self) -> Option<u64> {
        let mut bytes = [0u8; 16];
        std::fs::File::open(&self.path)
            .and_then(|mut f| f.read_exact(&mut bytes))
            .ok()?;
        let mut count = [0u8; 8];
        let mut check = [0u8; 8];
        count.copy_from_slice(&bytes[..8]);
        check.copy_from_slice(&bytes[8..]);
        let count = u64::from_le_bytes(count);
        (fnv(count) == u64::from_le_bytes(check)).then_some(count)
    }

    /// Records `count` (best effort: a witness that cannot be written only weakens the
    /// check, it never makes a sound store fail).
    pub(super) fn write(&self, count: u64) {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&count.to_le_bytes());
        bytes[8..].copy_from_slice(&fnv(count).to_le_bytes());
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
            .and_then(|mut f| {
                f.seek(SeekFrom::Start(0))?;
                f.write_all(&bytes)
            });
    }
}
