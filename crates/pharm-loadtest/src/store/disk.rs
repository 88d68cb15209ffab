//! Storage faults of a pharmacy's durable terminals (the `store-crash` and `rollback`
//! knobs; pharm-sync's crash points, feature `store-faults`).
//!
//! - A crash: before a write (a commit or a sync message), a durable terminal draws
//!   whether its transaction is killed at a crash point, after a drawn number of write
//!   statements and before `COMMIT`. The terminal reopens its file as a restarted one
//!   would; the commit that crashed was never acknowledged, so the oracle never counted it.
//! - A rollback: after a round in which a terminal synced cleanly, its files (database and
//!   write-ahead log) are copied aside and its backup is taken; after a later such round in
//!   which it committed since, the terminal loses power, the old copy is put back (a disk
//!   that lost its last writes), and reopening it must be refused. The operator then
//!   restores the backup as a new incarnation: what it lacks is upstream.

use std::path::{Path, PathBuf};

use pharm_sync::store::{StoreError, TerminalStore};

use super::terminal::{Backup, with_suffix};
use super::{Store, Violation};
use crate::faults::FaultKind;
use crate::rng::XorShift64;
use crate::workload::stream_seed;

/// Most write statements a crash point lets run (a transaction with fewer crashes just
/// before its `COMMIT`).
const MOST_WRITES: u32 = 48;
/// Most crashes of one terminal in a day (each reopen checks the whole file).
const MOST_CRASHES: u64 = 3;
/// The files of a store that a rollback copies aside and puts back.
const FILES: [&str; 3] = ["", "-wal", "-shm"];

/// Where one durable terminal's write transactions are killed.
#[derive(Debug)]
pub(super) struct CrashPoints {
    per_mille: u32,
    rng: XorShift64,
    /// Crashes in the day.
    total: u64,
    /// Crashes since they were last collected.
    crashed: u64,
    /// Of those, crashes handling a sync message (the session ended early).
    crashed_in_sync: u64,
    /// A reopen that failed, since last collected.
    failed: Option<String>,
}

impl CrashPoints {
    /// Crashes with probability `per_mille` per write, drawn from `seed`.
    pub(super) fn new(per_mille: u32, seed: u64) -> CrashPoints {
        CrashPoints {
            per_mille,
            rng: XorShift64::new(seed),
            total: 0,
            crashed: 0,
            crashed_in_sync: 0,
            failed: None,
        }
    }

    /// No more crashes (the final sync).
    pub(super) fn calm(&mut self) {
        self.per_mille = 0;
    }

    /// Arms `store`'s next write transaction when this write is drawn to crash.
    pub(super) fn arm(&mut self, store: &mut TerminalStore) -> Result<(), String> {
        if self.per_mille > 0 && self.total < MOST_CRASHES && self.rng.below(1_000) < self.per_mille
        {
            crash_at(store, self.rng.below(MOST_WRITES))?;
        }
        Ok(())
    }

    /// Notes a crash (handling a sync message when `in_sync`) and the reopen that followed.
    pub(super) fn crashed(&mut self, in_sync: bool, reopened: Result<(), String>) {
        self.total += 1;
        self.crashed += 1;
        self.crashed_in_sync += u64::from(in_sync);
        if let Err(e) = reopened {
            self.failed.get_or_insert(e);
        }
    }
}

#[cfg(feature = "store-faults")]
fn crash_at(store: &mut TerminalStore, after_writes: u32) -> Result<(), String> {
    store.crash_at(after_writes);
    Ok(())
}

#[cfg(not(feature = "store-faults"))]
fn crash_at(_: &mut TerminalStore, _: u32) -> Result<(), String> {
    Err("the store-crash fault needs the feature store-faults".into())
}

#[cfg(feature = "store-faults")]
fn kill(store: &mut TerminalStore) -> Result<(), String> {
    store.kill();
    Ok(())
}

#[cfg(not(feature = "store-faults"))]
fn kill(_: &mut TerminalStore) -> Result<(), String> {
    Err("the rollback fault needs the feature store-faults".into())
}

/// A terminal's files copied aside, waiting to be put back.
#[derive(Debug)]
struct Aside {
    terminal: usize,
    /// Round of the copy.
    round: u64,
    /// Earliest round to put it back.
    back_at: u64,
    /// The terminal's highest committed sequence number at the copy.
    seq: u64,
    /// The copy (`<copy>`, `<copy>-wal`... beside the database).
    copy: PathBuf,
    backup: Backup,
}

/// A pharmacy's rollback: drawn per round until one is due, then done at the first
/// round that allows it.
#[derive(Debug)]
pub(super) struct Rollback {
    per_mille: u32,
    rng: XorShift64,
    /// The terminal whose files are due to be copied aside.
    due: Option<usize>,
    aside: Option<Aside>,
    done: bool,
}

impl Rollback {
    /// Copies aside with probability `per_mille` per round, drawn from `seed`.
    pub(super) fn new(per_mille: u32, seed: u64) -> Rollback {
        Rollback {
            per_mille,
            rng: XorShift64::new(seed),
            due: None,
            aside: None,
            done: false,
        }
    }
}

/// Copies the files of the database at `db` to `to` (each with its suffix); a file that
/// does not exist is removed at `to`.
fn copy_files(db: &Path, to: &Path) -> Result<(), String> {
    for suffix in FILES {
        let (from, target) = (with_suffix(db, suffix), with_suffix(to, suffix));
        let done = if from.exists() {
            std::fs::copy(&from, &target).map(|_| ())
        } else {
            match std::fs::remove_file(&target) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        };
        done.map_err(|e| format!("copying {} to {}: {e}", from.display(), target.display()))?;
    }
    Ok(())
}

impl Store {
    /// Collects the crashes of the durable terminals since the last call: counted, traced,
    /// and after a crash in a sync session the round is no longer clean (the session ended
    /// early). A reopen that failed is a violation.
    pub(super) fn collect_store_crashes(&mut self, k: u64) {
        for (t, term) in self.terminals.iter_mut().enumerate() {
            let Some(points) = term.end.crash_points() else {
                continue;
            };
            let (crashed, in_sync) = (points.crashed, points.crashed_in_sync);
            let failed = points.failed.take();
            (points.crashed, points.crashed_in_sync) = (0, 0);
            for _ in 0..crashed {
                self.faults_seen.add(FaultKind::StoreCrash);
            }
            self.round_faulted |= in_sync > 0;
            if crashed > 0 {
                self.trace.push(|| {
                    format!(
                        "round {k}: terminal {t} crashed {crashed} time(s) inside a write, reopened"
                    )
                });
            }
            if let Some(e) = failed {
                self.violations.push(Violation::new(
                    "terminal stores write",
                    format!(
                        "pharmacy {} terminal {t}: reopening after a crash: {e}",
                        self.index
                    ),
                ));
            }
        }
    }

    /// No more crashes: the final sync runs on healthy disks.
    pub(super) fn calm_disks(&mut self) {
        for term in &mut self.terminals {
            if let Some(points) = term.end.crash_points() {
                points.calm();
            }
        }
    }

    /// The rollback's step after round `k`: copy a terminal's files aside, or put them
    /// back, refuse them and restore the backup. `clean(t)` tells whether terminal `t`
    /// synced cleanly with the cloud this round.
    pub(super) fn roll_back(&mut self, k: u64, clean: impl Fn(&Store, usize) -> bool) {
        if self.rollback.done || self.rollback.per_mille == 0 {
            return;
        }
        let result = match self.rollback.aside.take() {
            None => self.copy_aside(k),
            Some(aside) if k >= aside.back_at && clean(self, aside.terminal) => {
                let seq = self.own_seq(aside.terminal);
                if seq > aside.seq {
                    self.rollback.done = true;
                    self.put_back(k, aside)
                } else {
                    self.rollback.aside = Some(aside);
                    Ok(())
                }
            }
            Some(aside) => {
                self.rollback.aside = Some(aside);
                Ok(())
            }
        };
        if let Err(e) = result {
            self.rollback.done = true;
            self.violations.push(Violation::new(
                "restores succeed",
                format!("pharmacy {}: rollback: {e}", self.index),
            ));
        }
    }

    /// The highest sequence number terminal `t`'s current incarnation committed.
    fn own_seq(&self, t: usize) -> u64 {
        self.terminals
            .get(t)
            .and_then(|term| self.committed.get(&term.replica().id()))
            .copied()
            .unwrap_or_default()
    }

    fn copy_aside(&mut self, k: u64) -> Result<(), String> {
        let t = match self.rollback.due {
            Some(t) => t,
            None if self.rollback.rng.below(1_000) < self.rollback.per_mille => {
                let t = self.rollback.rng.index(self.terminals.len());
                // Not the terminal of the planned crash: one restore plan per terminal.
                if self.plan.crash.is_some_and(|(c, _)| c == t) {
                    return Ok(());
                }
                self.rollback.due = Some(t);
                t
            }
            None => return Ok(()),
        };
        // The copy needs no clean round (the backup is taken with it); putting it back does.
        if !self.is_up(t, k) {
            return Ok(());
        }
        self.rollback.due = None;
        let seq = self.own_seq(t);
        let back_at = k + 1 + u64::from(self.rollback.rng.below(4));
        let Some(term) = self.terminals.get(t) else {
            return Ok(());
        };
        let Some(db) = term.end.path() else {
            return Ok(());
        };
        let copy = with_suffix(db, ".aside");
        copy_files(db, &copy)?;
        let backup = term.end.backup_as(".rollback-backup")?;
        self.trace
            .push(|| format!("round {k}: terminal {t}'s files copied aside"));
        self.rollback.aside = Some(Aside {
            terminal: t,
            round: k,
            back_at,
            seq,
            copy,
            backup,
        });
        Ok(())
    }

    fn put_back(&mut self, k: u64, aside: Aside) -> Result<(), String> {
        let t = aside.terminal;
        let index = self.index;
        let Some(term) = self.terminals.get_mut(t) else {
            return Ok(());
        };
        let opened = {
            let durable = term
                .end
                .durable_mut()
                .ok_or("the terminal is not durable")?;
            kill(durable.store_mut())?;
            let db = durable.store().path().to_path_buf();
            copy_files(&aside.copy, &db)?;
            durable.reopened()
        };
        match opened {
            Err(StoreError::RolledBack { missing }) => self.trace.push(|| {
                format!("round {k}: terminal {t}'s files of round {} put back, refused: {missing} commits missing", aside.round)
            }),
            Err(e) => self.trace.push(|| {
                format!("round {k}: terminal {t}'s files of round {} put back, refused: {e}", aside.round)
            }),
            Ok(_) => self.violations.push(Violation::new(
                "rolled-back files refused",
                format!(
                    "pharmacy {index} terminal {t}: its files of round {} opened silently at round {k}",
                    aside.round
                ),
            )),
        }
        // The operator restores the terminal's backup as a new incarnation.
        let mut rng = XorShift64::new(stream_seed(self.seed, &[u64::from(index), k, 0xB0B]));
        let term = self.terminals.get_mut(t).ok_or("the terminal is gone")?;
        term.end
            .restore(aside.backup, false, &mut || rng.next_u64())?;
        let r = term.end.replica();
        if let Some(head) = r.state().head(&r.id()) {
            let seq = self.committed.entry(r.id()).or_default();
            *seq = (*seq).max(head.id.seq);
        }
        self.counts.restores += 1;
        self.faults_seen.add(FaultKind::Rollback);
        self.trace.push(|| {
            format!(
                "round {k}: terminal {t} restored from its backup of round {}",
                aside.round
            )
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_points_are_drawn_at_their_rate_and_calm_down() {
        let mut never = CrashPoints::new(0, 1);
        let mut always = CrashPoints::new(1_000, 1);
        let drawn: Vec<bool> = (0..200)
            .map(|_| always.per_mille > 0 && always.rng.below(1_000) < always.per_mille)
            .collect();
        assert!(drawn.iter().all(|d| *d));
        assert_eq!(never.per_mille, 0);
        always.calm();
        never.calm();
        assert_eq!(always.per_mille, 0);
        always.crashed(true, Err("x".into()));
        always.crashed(false, Ok(()));
        assert_eq!((always.crashed, always.crashed_in_sync), (2, 1));
        assert_eq!(always.failed.as_deref(), Some("x"));
    }

    #[test]
    fn copies_files_and_removes_those_missing() {
        let dir = std::env::temp_dir().join(format!("pharm-disk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(std::fs::create_dir_all(&dir).is_ok());
        let (db, copy) = (dir.join("a.sqlite"), dir.join("b.sqlite"));
        assert!(std::fs::write(&db, b"db").is_ok());
        assert!(std::fs::write(with_suffix(&copy, "-wal"), b"old").is_ok());
        assert!(copy_files(&db, &copy).is_ok());
        assert_eq!(std::fs::read(&copy).ok().as_deref(), Some(&b"db"[..]));
        assert!(!with_suffix(&copy, "-wal").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
