//! The simulated wire: where the [`Faults`] hit sync and election messages.
//!
//! A [`Wire`] belongs to a driver (its recent messages feed replays and cross-tenant
//! forgeries); a [`Link`] is one sync session's or one election round's view of it, with
//! its own seeded stream of draws. A sync message crosses as its bytes (pharm-sync's codec,
//! the receiver's default limits): a truncated or bit-flipped message the codec refuses
//! never reaches the peer; one that still decodes is delivered as damaged, and the peer
//! must refuse it. After any fault in a session the peer may end the session with an
//! error (counted, the next round syncs again); without one, an error is a violation.

use std::collections::VecDeque;

use pharm_sync::codec::{self, DecodeLimits};
use pharm_sync::message::Message;

use super::trace::Trace;
use crate::faults::{FaultCounts, FaultKind, Faults};
use crate::rng::XorShift64;
use crate::workload::stream_seed;

/// Encoded messages kept for replays and forgeries.
const RECENT: usize = 64;

/// A driver's wire: the knobs, recent messages and what was injected.
#[derive(Debug, Clone, Default)]
pub struct Wire {
    faults: Faults,
    seed: u64,
    /// Recent messages: the pharmacy they belong to and their bytes.
    recent: VecDeque<(u32, Vec<u8>)>,
    /// What was injected, and refused.
    pub counts: FaultCounts,
}

impl Wire {
    /// A wire with `faults`, its draws seeded by `seed`.
    pub fn new(faults: Faults, seed: u64) -> Wire {
        Wire {
            faults,
            seed,
            ..Wire::default()
        }
    }

    /// The knobs.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// One session's (or election round's) link for `pharmacy`, its draws seeded by
    /// `stream`; with `clean`, nothing is injected (the final sync heals).
    pub fn link<'a>(
        &'a mut self,
        pharmacy: u32,
        stream: &[u64],
        clean: bool,
        trace: &'a mut Trace,
    ) -> Link<'a> {
        let rng = XorShift64::new(stream_seed(self.seed, stream));
        Link {
            on: !clean && self.faults.any(),
            wire: self,
            trace,
            rng,
            pharmacy,
            tainted: false,
        }
    }
}

/// A message as delivered: damaged (it decoded after its bytes were changed) or of another
/// pharmacy, the receiver must refuse it.
#[derive(Debug)]
pub struct Delivery {
    /// The message.
    pub msg: Message,
    /// Its bytes were changed and it still decoded to another message.
    pub damaged: bool,
    /// It belongs to another pharmacy.
    pub foreign: bool,
}

impl Delivery {
    fn plain(msg: Message) -> Delivery {
        Delivery {
            msg,
            damaged: false,
            foreign: false,
        }
    }
}

/// One session's view of the wire. See the [module documentation](self).
#[derive(Debug)]
pub struct Link<'a> {
    on: bool,
    wire: &'a mut Wire,
    trace: &'a mut Trace,
    rng: XorShift64,
    pharmacy: u32,
    tainted: bool,
}

impl Link<'_> {
    /// Whether a fault hit this session so far (a refusal is then expected).
    pub fn tainted(&self) -> bool {
        self.tainted
    }

    /// Records a delivered message in the trace.
    pub fn note(&mut self, m: &Message) {
        self.trace.push(|| format!("    {}", describe(m)));
    }

    /// Counts a refusal by a peer after a fault.
    pub fn refused(&mut self, what: &str) {
        self.wire.counts.refused_by_peer += 1;
        self.trace
            .push(|| format!("  refused after a fault: {what}"));
    }

    fn draw(&mut self, per_mille: u32) -> bool {
        self.on && per_mille > 0 && self.rng.below(1_000) < per_mille
    }

    fn inject(&mut self, kind: FaultKind, what: impl FnOnce() -> String) {
        self.tainted = true;
        self.wire.counts.add(kind);
        self.trace
            .push(|| format!("  fault {}: {}", kind.name(), what()));
    }

    /// Whether a batch of election messages is lost, duplicated: the deliveries of one
    /// (0, 1 or 2).
    pub fn election_copies(&mut self) -> usize {
        let f = self.wire.faults;
        if self.draw(f.loss) {
            self.inject(FaultKind::Loss, || "election message".into());
            return 0;
        }
        if self.draw(f.duplicate) {
            self.inject(FaultKind::Duplicate, || "election message".into());
            return 2;
        }
        1
    }

    /// Maybe delivers `batch` in another order.
    pub fn reorder<T>(&mut self, batch: &mut [T]) {
        if batch.len() < 2 || !self.draw(self.wire.faults.reorder) {
            return;
        }
        let i = self.rng.index(batch.len());
        let j = (i + 1 + self.rng.index(batch.len() - 1)) % batch.len();
        batch.swap(i, j);
        self.inject(FaultKind::Reorder, || format!("messages {i} and {j}"));
    }

    /// What reaches the receiver when `msg` is sent (`dir` names the direction for the
    /// trace): nothing, the message, a damaged copy, twice, or after a replayed or foreign
    /// message.
    pub fn transmit(&mut self, msg: Message, dir: &str) -> Vec<Delivery> {
        if !self.on {
            return vec![Delivery::plain(msg)];
        }
        let f = self.wire.faults;
        let kind = msg.body.kind();
        let mut out = Vec::with_capacity(2);
        if self.draw(f.replay)
            && let Some(old) = self.recent(true)
        {
            self.inject(FaultKind::Replay, || format!("{dir}: {}", old.body.kind()));
            out.push(Delivery::plain(old));
        }
        if self.draw(f.foreign)
            && let Some(forged) = self.recent(false)
        {
            self.inject(FaultKind::Foreign, || {
                format!("{dir}: {} of {:?}", forged.body.kind(), forged.store)
            });
            out.push(Delivery {
                msg: forged,
                damaged: false,
                foreign: true,
            });
        }
        if self.draw(f.loss) {
            self.inject(FaultKind::Loss, || format!("{dir}: {kind}"));
            return out;
        }
        let Ok(bytes) = codec::encode(&msg) else {
            // A message its sender cannot encode never leaves it; the peers' own checks
            // report that (the session's error), not the wire.
            out.push(Delivery::plain(msg));
            return out;
        };
        let mut sent = bytes;
        let mut changed = false;
        if self.draw(f.truncate) && !sent.is_empty() {
            let keep = self.rng.index(sent.len());
            sent.truncate(keep);
            changed = true;
            self.inject(FaultKind::Truncate, || {
                format!("{dir}: {kind} cut to {keep} bytes")
            });
        }
        if self.draw(f.corrupt) && !sent.is_empty() {
            let bit = self.rng.index(sent.len() * 8);
            if let Some(b) = sent.get_mut(bit / 8) {
                *b ^= 1 << (bit % 8);
            }
            changed = true;
            self.inject(FaultKind::Corrupt, || {
                format!("{dir}: {kind} bit {bit} flipped")
            });
        }
        let delivered = if changed {
            match codec::decode(&sent, &DecodeLimits::default()) {
                Ok(m) => {
                    let damaged = m != msg;
                    Delivery {
                        msg: m,
                        damaged,
                        foreign: false,
                    }
                }
                Err(e) => {
                    self.wire.counts.refused_by_codec += 1;
                    self.trace.push(|| format!("  codec refused: {e}"));
                    return out;
                }
            }
        } else {
            Delivery::plain(msg)
        };
        if f.replay > 0 || f.foreign > 0 {
            self.remember(sent);
        }
        if self.draw(f.duplicate) {
            self.inject(FaultKind::Duplicate, || format!("{dir}: {kind}"));
            out.push(Delivery {
                msg: delivered.msg.clone(),
                damaged: delivered.damaged,
                foreign: false,
            });
        }
        out.push(delivered);
        out
    }

    fn remember(&mut self, bytes: Vec<u8>) {
        if self.wire.recent.len() == RECENT {
            self.wire.recent.pop_front();
        }
        self.wire.recent.push_back((self.pharmacy, bytes));
    }

    /// A recent message of this pharmacy (`own`) or of another one, decoded.
    fn recent(&mut self, own: bool) -> Option<Message> {
        let candidates: Vec<usize> = (0..self.wire.recent.len())
            .filter(|i| {
                self.wire
                    .recent
                    .get(*i)
                    .is_some_and(|(p, _)| (*p == self.pharmacy) == own)
            })
            .collect();
        let pick = *candidates.get(self.rng.index(candidates.len()))?;
        let (_, bytes) = self.wire.recent.get(pick)?;
        codec::decode(bytes, &DecodeLimits::default()).ok()
    }
}

/// A one-line account of a message for the trace: its kind, sender and what it carries
/// per replica (terminal numbers and sequence numbers).
pub(super) fn describe(m: &Message) -> String {
    use pharm_sync::message::Body;
    use std::fmt::Write as _;
    let mut out = format!("{} from t{}", m.body.kind(), m.from.terminal);
    let seqs = |vv: &pharm_sync::state::VersionVector| {
        vv.iter()
            .map(|(r, s)| format!("t{}:{s}", r.terminal))
            .collect::<Vec<_>>()
            .join(" ")
    };
    match &m.body {
        Body::Hello { vv, .. } => {
            let _ = write!(out, " vv [{}]", seqs(vv));
        }
        Body::Welcome { vv, acks, root, .. } => {
            let acks: Vec<String> = acks
                .iter()
                .map(|(r, a)| format!("t{}:{}..={}", r.terminal, a.from, a.seq))
                .collect();
            let _ = write!(
                out,
                " vv [{}] acks [{}] root {root}",
                seqs(vv),
                acks.join(" ")
            );
        }
        Body::Upload { txns } => {
            let mut runs: Vec<(u16, u64, u64)> = Vec::new();
            for t in txns {
                let (r, s) = (t.txn.id.replica.terminal, t.txn.id.seq);
                match runs.last_mut() {
                    Some(last) if last.0 == r && last.2 + 1 == s => last.2 = s,
                    _ => runs.push((r, s, s)),
                }
            }
            let runs: Vec<String> = runs
                .iter()
                .map(|(r, a, b)| format!("t{r}:{a}..={b}"))
                .collect();
            let _ = write!(out, " [{}]", runs.join(" "));
        }
        Body::UploadAck { vv, acks, refused } => {
            let acks: Vec<String> = acks
                .iter()
                .map(|(r, a)| format!("t{}:{}..={}", r.terminal, a.from, a.seq))
                .collect();
            let refused: Vec<String> = refused
                .iter()
                .map(|x| format!("t{}:{}", x.id.replica.terminal, x.id.seq))
                .collect();
            let _ = write!(
                out,
                " vv [{}] acks [{}] refused [{}]",
                seqs(vv),
                acks.join(" "),
                refused.join(" ")
            );
        }
        Body::Delta { delta } => {
            let _ = write!(out, " vv [{}] cells {}", seqs(&delta.vv), delta.cells.len());
        }
    }
    out
}
