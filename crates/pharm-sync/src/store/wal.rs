//! A check of the write-ahead log before SQLite recovers it.
//!
//! On open, SQLite replays the WAL's frames up to the first one whose salt or checksum is
//! wrong and silently ignores the rest: after a crash that tail is the torn write of the
//! transaction that was being committed (never acknowledged), but after a bit flip in the
//! middle of the log it is acknowledged transactions, and the store would silently go back
//! in time. The two can be told apart: a transaction's frames are contiguous and end with
//! its commit frame, and with `synchronous = FULL` the next transaction is written only
//! after the previous one was synced. So if, after the first bad frame, the log holds a
//! commit frame *followed by further frames* of the same log generation, a transaction
//! that completed was lost: the log is damaged ([`StoreError::WalDamaged`]). A bad frame in
//! the last transaction of the log cannot be told from a torn write and is left to SQLite
//! (the next sync detects the rollback if that transaction had left the terminal).
//!
//! Format (the SQLite file format, "The WAL File Format"): a 32-byte header (magic
//! `0x377f0682`/`0x377f0683`, version, page size, checkpoint sequence, two salts, two
//! checksum words, all big-endian) and frames of a 24-byte header (page number, database
//! size after a commit or 0, the two salts, two checksum words) plus one page. Checksums are
//! cumulative over the header and every frame header's first 8 bytes and page.

use std::path::Path;

use super::StoreError;

const HEADER: usize = 32;
const FRAME_HEADER: usize = 24;
const MAGIC_LE: u32 = 0x377f_0682;
const MAGIC_BE: u32 = 0x377f_0683;

fn be32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(w)
}

/// The cumulative checksum of SQLite's WAL over `data` (a multiple of 8 bytes).
fn checksum(big_endian: bool, data: &[u8], mut s: (u32, u32)) -> (u32, u32) {
    for pair in data.chunks_exact(8) {
        let word = |i: usize| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&pair[i..i + 4]);
            if big_endian {
                u32::from_be_bytes(w)
            } else {
                u32::from_le_bytes(w)
            }
        };
        s.0 = s.0.wrapping_add(word(0)).wrapping_add(s.1);
        s.1 = s.1.wrapping_add(word(4)).wrapping_add(s.0);
    }
    s
}

fn valid_page_size(v: u32) -> Option<usize> {
    let size = if v == 1 { 65_536 } else { v as usize };
    (size.is_power_of_two() && (512..=65_536).contains(&size)).then_some(size)
}

/// Checks the WAL next to `db` (if any) for the loss of a completed transaction.
pub(super) fn check(db: &Path) -> Result<(), StoreError> {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let bytes = match std::fs::read(&wal) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(StoreError::Corrupt {
                what: format!("write-ahead log unreadable: {e}"),
            });
        }
    };
    if bytes.len() < HEADER + FRAME_HEADER {
        return Ok(());
    }
    let magic = be32(&bytes, 0);
    let big_endian = magic == MAGIC_BE;
    let page = match valid_page_size(be32(&bytes, 8)) {
        Some(p) => p,
        None => match db_page_size(db) {
            Some(p) => p,
            None => return Ok(()),
        },
    };
    let salts = (be32(&bytes, 16), be32(&bytes, 20));
    let stored = (be32(&bytes, 24), be32(&bytes, 28));
    let header_ok = (magic == MAGIC_LE || magic == MAGIC_BE)
        && checksum(big_endian, &bytes[..24], (0, 0)) == stored;

    let stride = FRAME_HEADER + page;
    let frames: Vec<&[u8]> = bytes[HEADER..].chunks_exact(stride).collect();
    // The first frame that is not valid (every frame is invalid after a bad header).
    let mut sum = stored;
    let mut first_bad = if header_ok { None } else { Some(0) };
    if header_ok {
        for (i, f) in frames.iter().enumerate() {
            let frame_salts = (be32(f, 8), be32(f, 12));
            sum = checksum(big_endian, &f[..8], sum);
            sum = checksum(big_endian, &f[FRAME_HEADER..], sum);
            if frame_salts != salts || sum != (be32(f, 16), be32(f, 20)) {
                first_bad = Some(i);
                break;
            }
        }
    }
    let Some(k) = first_bad else {
        return Ok(());
    };
    // A commit frame of this generation at or after the bad one, followed by another frame
    // of this generation: a later transaction was written, so this one had completed.
    let belongs = |f: &&[u8]| (be32(f, 8), be32(f, 12)) == salts;
    let commit = frames[k..]
        .iter()
        .position(|f| belongs(f) && be32(f, 4) != 0)
        .map(|c| c + k);
    if let Some(c) = commit
        && frames[c + 1..].iter().any(belongs)
    {
        return Err(StoreError::WalDamaged { frame: k });
    }
    Ok(())
}

/// The page size recorded in the database file's header (bytes 16–17).
fn db_page_size(db: &Path) -> Option<usize> {
    use std::io::Read;
    let mut head = [0u8; 18];
    std::fs::File::open(db).ok()?.read_exact(&mut head).ok()?;
    valid_page_size(u32::from(u16::from_be_bytes([head[16], head[17]])))
}
