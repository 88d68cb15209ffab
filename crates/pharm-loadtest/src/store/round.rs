//! A store's sync round, its crash and restore, and the final sync.
//!
//! A round at simulated time `at`: the store leader may drop off the store's network
//! (`leader_loss_per_mille`); the terminals run their election (pharm-sync's lease-based
//! Raft election, messages delivered at once on the store's network, dropped to and from a
//! terminal off it); each member on the network syncs with the leader; when the store
//! reaches the cloud, the leader syncs with the cloud's root, whose newly logged
//! transactions are written to the pharmacy's shard store, and the terminals hand over
//! their queued claims and reconciliation items.

use std::collections::{BTreeSet, VecDeque};

use pharm_sync::ids::ReplicaId;
use pharm_sync::leader::{Outgoing, Target};
use pharm_sync::message::{Body, Message};

use super::terminal::SyncEnd;
use super::wire::{Delivery, Link, Wire};
use super::{START_MS, Store, Violation};
use crate::cloud::table::TxnRow;
use crate::cloud::writer::ShardWriter;
use crate::faults::FaultKind;
use crate::rng::XorShift64;
use crate::workload::stream_seed;

/// Longest an election may take in one round before the round goes without a leader.
const ELECTION_WINDOW_MS: u64 = 30_000;
/// Longest the final sync waits for a leader: a leader that lost its store's network keeps
/// its promise not to vote for about one lease after it steps down, and a store of two
/// terminals needs both votes.
const FINAL_ELECTION_WINDOW_MS: u64 = 4 * 3_600_000;
/// Most election messages delivered in one round (a bound, never reached in practice).
const ELECTION_MESSAGES: usize = 10_000;
/// Most message exchanges of one sync session.
const SESSION_STEPS: usize = 32;
/// Most passes of the final sync before it gives up on convergence.
const FINAL_PASSES: usize = 12;

impl Store {
    /// Plays sync round `k` at simulated `at_ms`, handing what the cloud logged to
    /// `writer`, its messages crossing `wire`.
    pub fn round(&mut self, k: u64, at_ms: u64, writer: &mut ShardWriter, wire: &mut Wire) {
        self.counts.rounds += 1;
        self.round_faulted = false;
        self.maybe_lose_leader(k);
        self.partition(k);
        self.elect(at_ms, k, wire, false, ELECTION_WINDOW_MS);
        let online = self.is_online(at_ms);
        if !online {
            self.counts.offline_rounds += 1;
        }
        let leader = self.current_leader(k);
        self.trace.push(|| {
            format!(
                "round {k} at {at_ms} ms: leader {leader:?}, online {online}, term {}",
                self.terminals
                    .iter()
                    .map(|t| t.election.term())
                    .max()
                    .unwrap_or_default()
            )
        });
        if let Some(leader) = leader {
            self.sync_members(leader, k, wire, false);
            if online && !self.cloud_cut {
                self.sync_cloud(leader, writer, wire, false);
            }
        } else {
            self.counts.leaderless_rounds += 1;
        }
        if online {
            self.hand_over_queues(k);
        }
        self.collect_store_crashes(k);
        self.roll_back(k, |s, t| s.synced_cleanly(t, k, leader, online));
        self.crash_and_backup(k, leader, online);
    }

    /// The final sync after the day: every terminal back on the network, the store online,
    /// rounds until every terminal holds the cloud's state and every outbox is empty.
    pub fn final_sync(&mut self, at_ms: u64, writer: &mut ShardWriter, wire: &mut Wire) {
        let k = u64::MAX;
        self.collect_store_crashes(k);
        self.calm_disks();
        for t in &mut self.terminals {
            t.lan_down_until = 0;
        }
        self.plan.offline = None;
        self.cut.clear();
        self.cloud_cut = false;
        self.trace.push(|| format!("final sync at {at_ms} ms"));
        let mut rng = XorShift64::new(stream_seed(self.seed, &[u64::from(self.index), 0x4EA1]));
        self.pmp.recover(&mut rng, at_ms);
        self.payer.recover(&mut rng, at_ms);
        let mut now = at_ms;
        for _ in 0..FINAL_PASSES {
            self.elect(now, k, wire, true, FINAL_ELECTION_WINDOW_MS);
            let Some(leader) = self.current_leader(k) else {
                let en = self.election_now;
                self.trace
                    .push(|| format!("  no leader elected by {en} ms"));
                now = en + 1;
                continue;
            };
            self.sync_members(leader, k, wire, true);
            self.sync_cloud(leader, writer, wire, true);
            self.sync_members(leader, k, wire, true);
            self.hand_over_queues(k);
            self.settle_write(writer);
            if self.is_quiet() {
                return;
            }
            now += self.sync_every_ms;
        }
        let root = self.root.replica();
        let mut lines = vec![format!(
            "not quiet after the final sync: cloud vv {:?}, acks {:?}",
            root.state().vv(),
            root.acks()
        )];
        for (i, t) in self.terminals.iter().enumerate() {
            let r = t.replica();
            let out: Vec<u64> = r.outbox().map(|x| x.id.seq).collect();
            lines.push(format!(
                "  terminal {i} {:?}: outbox {:?}, vv {:?}",
                r.id(),
                out,
                r.state().vv()
            ));
        }
        for l in lines {
            self.trace.push(|| l);
        }
    }

    /// Every terminal holds what the cloud holds and has nothing left to upload.
    fn is_quiet(&self) -> bool {
        let vv = self.root.replica().state().vv();
        self.terminals.iter().all(|t| {
            let r = t.replica();
            r.state().vv() == vv && r.outbox().next().is_none()
        })
    }

    pub(super) fn is_up(&self, i: usize, k: u64) -> bool {
        up(&self.terminals, i, k)
    }

    /// The terminal on the store's network that leads now.
    fn current_leader(&self, k: u64) -> Option<usize> {
        (0..self.terminals.len()).find(|i| {
            self.is_up(*i, k)
                && self.terminals[*i]
                    .election
                    .is_leader(self.election_clock(*i, self.election_now))
        })
    }

    fn maybe_lose_leader(&mut self, k: u64) {
        let mut rng = XorShift64::new(stream_seed(self.seed, &[u64::from(self.index), k, 0x1EAD]));
        if rng.below(1_000) >= self.leader_loss_per_mille {
            return;
        }
        if let Some(i) = self.current_leader(k) {
            let until = k + 1 + u64::from(rng.below(3));
            self.terminals[i].lan_down_until = until;
            self.counts.leader_losses += 1;
            self.faults_seen.add(FaultKind::LeaderLoss);
            self.trace.push(|| {
                format!("round {k}: leader terminal {i} off the network until round {until}")
            });
        }
    }

    /// This round's partitions: each pair of terminals, and the store and the cloud, cut
    /// with the faults' `partition` chance.
    fn partition(&mut self, k: u64) {
        self.cut.clear();
        self.cloud_cut = false;
        let per_mille = self.faults.partition;
        if per_mille == 0 {
            return;
        }
        let mut rng = XorShift64::new(stream_seed(self.seed, &[u64::from(self.index), k, 0xC07]));
        let n = self.terminals.len();
        for i in 0..n {
            for j in i + 1..n {
                if rng.below(1_000) < per_mille {
                    self.cut.insert((i, j));
                }
            }
        }
        self.cloud_cut = rng.below(1_000) < per_mille;
        for _ in 0..self.cut.len() + usize::from(self.cloud_cut) {
            self.faults_seen.add(FaultKind::Partition);
        }
        if !self.cut.is_empty() || self.cloud_cut {
            let (cut, cloud) = (&self.cut, self.cloud_cut);
            self.trace
                .push(|| format!("round {k}: partitioned pairs {cut:?}, cloud cut {cloud}"));
        }
    }

    /// Whether terminals `i` and `j` can reach each other this round.
    fn reachable(&self, i: usize, j: usize) -> bool {
        !self.cut.contains(&(i.min(j), i.max(j)))
    }

    /// Runs the election at `at_ms` until a terminal on the network leads (or the window
    /// passes), then checks that at most one terminal leads and records the term's leader.
    fn elect(&mut self, at_ms: u64, k_now: u64, wire: &mut Wire, clean: bool, window_ms: u64) {
        let mut now = self.election_now.max(at_ms);
        let deadline = now + window_ms;
        let mut first = true;
        loop {
            let mut out = VecDeque::new();
            for i in 0..self.terminals.len() {
                let local = self.election_clock(i, now);
                let t = &mut self.terminals[i];
                let due = t.election.poll_timeout().is_some_and(|d| d <= local);
                if first || due {
                    out.extend(t.election.tick(local).into_iter().map(|o| (i, o)));
                }
            }
            first = false;
            self.deliver(now, k_now, out, wire, clean);
            self.election_now = now;
            if self.current_leader(k_now).is_some() || now >= deadline {
                break;
            }
            // Each terminal's next deadline, by its own clock, on the store's clock.
            let next = (0..self.terminals.len())
                .filter_map(|i| {
                    let d = self.terminals[i].election.poll_timeout()?;
                    Some(d.saturating_sub(self.election_offset(i)))
                })
                .min()
                .unwrap_or(deadline);
            now = next.clamp(now + 1, deadline);
        }
        self.check_leaders();
    }

    /// Delivers election messages at once on the store's network (through the wire's
    /// faults and this round's partitions).
    fn deliver(
        &mut self,
        now: u64,
        k: u64,
        mut queue: VecDeque<(usize, Outgoing)>,
        wire: &mut Wire,
        clean: bool,
    ) {
        let mut budget = ELECTION_MESSAGES;
        let stream = [u64::from(self.index), k, now, 0xE1EC];
        let offsets: Vec<u64> = (0..self.terminals.len())
            .map(|i| self.election_offset(i))
            .collect();
        let mut link = wire.link(self.index, &stream, clean, &mut self.trace);
        link.reorder(queue.make_contiguous());
        while let Some((from, o)) = queue.pop_front() {
            if budget == 0 {
                break;
            }
            if !up(&self.terminals, from, k) {
                continue;
            }
            let sender = self.terminals[from].election.me();
            let targets: Vec<usize> = match o.to {
                Target::All => (0..self.terminals.len()).filter(|j| *j != from).collect(),
                Target::One(id) => (0..self.terminals.len())
                    .filter(|j| self.terminals[*j].election.me() == id)
                    .collect(),
            };
            for j in targets {
                if !up(&self.terminals, j, k) || self.cut.contains(&(from.min(j), from.max(j))) {
                    continue;
                }
                for _ in 0..link.election_copies() {
                    budget = budget.saturating_sub(1);
                    let local = now.saturating_add(offsets.get(j).copied().unwrap_or(0));
                    let replies = self.terminals[j].election.handle(local, sender, o.msg);
                    queue.extend(replies.into_iter().map(|r| (j, r)));
                }
            }
        }
    }

    /// At most one terminal leads at this instant, and each term has one leader.
    fn check_leaders(&mut self) {
        let now = self.election_now;
        let leading: Vec<(u64, ReplicaId)> = (0..self.terminals.len())
            .filter(|i| {
                self.terminals[*i]
                    .election
                    .is_leader(self.election_clock(*i, now))
            })
            .map(|i| {
                (
                    self.terminals[i].election.term(),
                    self.terminals[i].election.me(),
                )
            })
            .collect();
        if leading.len() > 1 {
            self.violations.push(Violation::new(
                "at most one leader",
                format!("pharmacy {}: {leading:?} lead at once", self.index),
            ));
        }
        for (term, me) in leading {
            match self.leaders.get(&term) {
                None => {
                    self.leaders.insert(term, me);
                    self.counts.terms += 1;
                }
                Some(held) if *held == me => {}
                Some(held) => {
                    let detail = format!(
                        "pharmacy {}: term {term} led by {held:?} and {me:?}",
                        self.index
                    );
                    self.violations
                        .push(Violation::new("at most one leader per term", detail));
                }
            }
        }
    }

    /// Each member on the network syncs with the leader.
    fn sync_members(&mut self, leader: usize, k: u64, wire: &mut Wire, clean: bool) {
        let now = START_MS + self.election_now;
        for i in 0..self.terminals.len() {
            if i == leader || !self.is_up(i, k) || !self.reachable(i, leader) {
                continue;
            }
            let (member_now, leader_now) = (self.clock(i, now), self.clock(leader, now));
            let Some((member, lead)) = pair(&mut self.terminals, i, leader) else {
                continue;
            };
            let stream = [u64::from(self.index), k, i as u64, 0x5E55];
            self.trace
                .push(|| format!("session: terminal {i} with leader {leader}"));
            let mut link = wire.link(self.index, &stream, clean, &mut self.trace);
            let result = session(
                (&mut member.end, member_now),
                (&mut lead.end, leader_now),
                false,
                &mut link,
            );
            self.round_faulted |= link.tainted();
            self.count_session(result);
        }
    }

    /// Terminal `i`'s election clock when the store's is at `now`: its skew applied on top
    /// of the largest skew drawn, so no clock starts below zero.
    fn election_clock(&self, i: usize, now: u64) -> u64 {
        now.saturating_add(self.election_offset(i))
    }

    fn election_offset(&self, i: usize) -> u64 {
        let max = i64::from(self.faults.skew_ms);
        let skew = self.skew.get(i).copied().unwrap_or_default();
        u64::try_from(max + skew).unwrap_or(0)
    }

    /// Terminal `i`'s clock when the store's is at `now` (its skew applied).
    fn clock(&self, i: usize, now: u64) -> u64 {
        let skew = self.skew.get(i).copied().unwrap_or_default();
        now.saturating_add_signed(skew)
    }

    /// The leader syncs with the cloud; the cloud's newly logged transactions go to the
    /// pharmacy's shard store.
    fn sync_cloud(
        &mut self,
        leader: usize,
        writer: &mut ShardWriter,
        wire: &mut Wire,
        clean: bool,
    ) {
        let now = START_MS + self.election_now;
        let leader_now = self.clock(leader, now);
        // The cloud answers this store again only once its last write ended.
        self.settle_write(writer);
        let Some(t) = self.terminals.get_mut(leader) else {
            return;
        };
        let stream = [u64::from(self.index), now, 0xC10D];
        self.trace
            .push(|| format!("session: leader {leader} with the cloud"));
        let mut link = wire.link(self.index, &stream, clean, &mut self.trace);
        let result = session(
            (&mut t.end, leader_now),
            (&mut self.root, now),
            true,
            &mut link,
        );
        self.round_faulted |= link.tainted();
        self.count_session(result);
        let mut rows: Vec<TxnRow> = self
            .root
            .take_logged()
            .iter()
            .map(|txn| TxnRow {
                pharmacy: self.index,
                terminal: txn.id.replica.terminal,
                incarnation: txn.id.replica.incarnation,
                seq: txn.id.seq,
                digest: txn.digest.0,
                units: txn.lines.iter().map(|l| l.delta).sum(),
            })
            .collect();
        if self.breaks.drop_upload && !self.dropped_upload && !rows.is_empty() {
            // The defect: the shard store acknowledged this one and never stored it.
            rows.remove(0);
            self.dropped_upload = true;
        }
        if !rows.is_empty() {
            self.pending_write = Some(writer.submit(self.shard, rows));
        }
    }

    /// Waits until the shard store holds what this store's root logged last.
    pub(super) fn settle_write(&mut self, writer: &mut ShardWriter) {
        if let Some(ticket) = self.pending_write.take() {
            writer.settle(ticket);
        }
    }

    fn count_session(&mut self, result: Result<u64, Refusal>) {
        self.counts.sessions += 1;
        match result {
            Ok(messages) => self.counts.messages += messages,
            Err(e) => {
                self.counts.sync_errors += 1;
                self.trace
                    .push(|| format!("  session failed: {}: {}", e.invariant, e.detail));
                if self.violations.len() < 16 {
                    let detail = format!("pharmacy {}: {}", self.index, e.detail);
                    self.violations.push(Violation::new(e.invariant, detail));
                }
            }
        }
    }

    /// Terminals on the network hand their queued claims and reconciliation items to the
    /// cloud.
    fn hand_over_queues(&mut self, k: u64) {
        let now = START_MS + self.election_now;
        for i in 0..self.terminals.len() {
            if !self.is_up(i, k) {
                continue;
            }
            let end = &mut self.terminals[i].end;
            let claims: Vec<_> = end.replica().pending_claims().map(|q| q.txn).collect();
            let items: Vec<_> = end
                .replica()
                .pending_pmp_reports()
                .map(|q| (q.txn, q.payload.clone()))
                .collect();
            let mut failed = None;
            for txn in claims {
                match end.claim_sent(txn, now) {
                    Ok(true) => self.counts.claims_sent += 1,
                    Ok(false) => {}
                    Err(e) => failed = Some(e),
                }
            }
            for (txn, payload) in items {
                match end.pmp_report_sent(txn, now) {
                    Ok(true) => {
                        self.counts.reconciliations_sent += 1;
                        self.reconciliation_received.insert(payload);
                    }
                    Ok(false) => {}
                    Err(e) => failed = Some(e),
                }
            }
            if let Some(e) = failed {
                let detail = format!("pharmacy {} terminal {i}: {e}", self.index);
                self.violations
                    .push(Violation::new("terminal stores write", detail));
            }
        }
    }

    /// Whether leader `l` holds as relay copies every transaction of terminal `t` still in
    /// `t`'s outbox (always, when `t` leads): a member whose run the leader only buffered
    /// (it arrived after a gap the leader knew as state) would lose it with its disk, as a
    /// real one would, so its crash waits for a round in which nothing of it is only its own.
    fn relayed_by(&self, t: usize, l: usize) -> bool {
        if t == l {
            return true;
        }
        let (Some(member), Some(lead)) = (self.terminals.get(t), self.terminals.get(l)) else {
            return false;
        };
        let (mine, lead) = (member.end.replica(), lead.end.replica());
        let me = mine.id();
        let relayed: BTreeSet<u64> = lead
            .outbox()
            .filter(|x| x.id.replica == me)
            .map(|x| x.id.seq)
            .collect();
        mine.outbox()
            .filter(|x| x.id.replica == me)
            .all(|x| relayed.contains(&x.id.seq))
    }

    /// The planned crash: two rounds before it the terminal backs up its replica; at it,
    /// the terminal is restored from that backup as a new incarnation (or, under
    /// [`Breaks::reuse_incarnation`](crate::config::Breaks), under its old one). It crashes
    /// right after an online round in which it synced (as a member with the leader, which
    /// then synced with the cloud, or as the leader with the cloud: its transactions since
    /// the backup are upstream, its queued claims and reconciliation items at the cloud);
    /// otherwise the crash waits for such a round, since a terminal whose disk dies
    /// before that loses those records for real.
    /// Whether terminal `t` synced cleanly with the cloud in round `k`: it is up, the store
    /// is online, it and the leader reached each other and the cloud, and no fault hit a
    /// session.
    pub(super) fn synced_cleanly(
        &self,
        t: usize,
        k: u64,
        leader: Option<usize>,
        online: bool,
    ) -> bool {
        self.is_up(t, k)
            && online
            && leader.is_some_and(|l| self.reachable(t, l))
            && !self.cloud_cut
            && !self.round_faulted
    }

    fn crash_and_backup(&mut self, k: u64, leader: Option<usize>, online: bool) {
        let Some((t, round)) = self.plan.crash else {
            return;
        };
        if k + 2 == round
            && let Some(term) = self.terminals.get_mut(t)
        {
            match term.end.backup() {
                Ok(b) => term.backup = Some(b),
                Err(e) => self.violations.push(Violation::new(
                    "terminal stores write",
                    format!("pharmacy {} terminal {t}: backup: {e}", self.index),
                )),
            }
        }
        if k < round {
            return;
        }
        // It crashes only after a round in which it and the leader synced cleanly (no fault
        // hit a session, neither the store's network nor the cloud link was cut) and the
        // leader holds what it has not had acknowledged.
        let ready = self.synced_cleanly(t, k, leader, online)
            && leader.is_some_and(|l| self.relayed_by(t, l));
        if !ready {
            self.plan.crash = Some((t, k + 1));
            return;
        }
        let Some(term) = self.terminals.get_mut(t) else {
            return;
        };
        let Some(backup) = term.backup.take() else {
            return;
        };
        let mut rng = XorShift64::new(stream_seed(self.seed, &[u64::from(self.index), k, 0xBAC]));
        let reuse = self.breaks.reuse_incarnation;
        match term.end.restore(backup, reuse, &mut || rng.next_u64()) {
            Ok(()) => {
                // The new incarnation's first transaction (a restore record linking its
                // controlled-substance log to the backup's head) is the terminal's own.
                let r = term.end.replica();
                if let Some(head) = r.state().head(&r.id()) {
                    let seq = self.committed.entry(r.id()).or_default();
                    *seq = (*seq).max(head.id.seq);
                }
                self.counts.restores += 1;
                self.faults_seen.add(FaultKind::Crash);
                self.trace.push(|| {
                    format!(
                        "round {k}: terminal {t} crashed, restored from a backup of round {}",
                        round.saturating_sub(2)
                    )
                });
            }
            Err(e) => self.violations.push(Violation::new(
                "restores succeed",
                format!("pharmacy {} terminal {t}: {e}", self.index),
            )),
        }
    }
}

/// Whether terminal `i` is on the store's network in round `k`.
fn up(terminals: &[super::Terminal], i: usize, k: u64) -> bool {
    terminals.get(i).is_some_and(|t| t.lan_down_until <= k)
}

/// Two distinct terminals, mutably.
fn pair<T>(v: &mut [T], i: usize, j: usize) -> Option<(&mut T, &mut T)> {
    if i == j || i >= v.len() || j >= v.len() {
        return None;
    }
    if i < j {
        let (a, b) = v.split_at_mut(j);
        Some((&mut a[i], &mut b[0]))
    } else {
        let (a, b) = v.split_at_mut(i);
        Some((&mut b[0], &mut a[j]))
    }
}

/// One sync session of `client` with `server` (either in memory or durable, each with its
/// own clock), its messages crossing `link`: hello, then messages both ways until quiet.
/// Returns the messages delivered; an error is the refusing side's, as the violation
/// reports it. After a fault on the link a refusal ends the session without an error (the
/// next round syncs again), but a damaged or foreign message accepted is an error.
///
/// With `hold_upload_acks` the server's `UploadAck`s are not delivered: the cloud's store
/// writes what the root logged after the session, and the uploader learns the
/// acknowledgements from the next session's `Welcome`, which starts only once that write
/// ended (no transaction leaves an outbox before its row is stored).
pub(super) fn session(
    client: (&mut impl SyncEnd, u64),
    server: (&mut impl SyncEnd, u64),
    hold_upload_acks: bool,
    link: &mut Link<'_>,
) -> Result<u64, Refusal> {
    let ((client, client_now), (server, server_now)) = (client, server);
    let mut to_server = vec![client.hello(client_now)?];
    let mut messages = 0;
    for _ in 0..SESSION_STEPS {
        if to_server.is_empty() {
            break;
        }
        let mut to_client = Vec::new();
        link.reorder(&mut to_server);
        for m in to_server.drain(..) {
            for d in link.transmit(m, "to server") {
                messages += 1;
                match accept(server, server_now, d, link)? {
                    Some(replies) => to_client.extend(replies),
                    None => return Ok(messages),
                }
            }
        }
        to_client.retain(|m| !(hold_upload_acks && matches!(m.body, Body::UploadAck { .. })));
        link.reorder(&mut to_client);
        for m in to_client {
            for d in link.transmit(m, "to client") {
                messages += 1;
                match accept(client, client_now, d, link)? {
                    Some(replies) => to_server.extend(replies),
                    None => return Ok(messages),
                }
            }
        }
    }
    Ok(messages)
}

/// One delivery handled by `end`: its replies, or `None` when it refused the message after
/// a fault (the session ends there). A damaged or foreign message it accepted, or a refusal
/// with no fault on the link, is an error.
fn accept(
    end: &mut impl SyncEnd,
    now_ms: u64,
    d: Delivery,
    link: &mut Link<'_>,
) -> Result<Option<Vec<Message>>, Refusal> {
    let kind = d.msg.body.kind();
    link.note(&d.msg);
    match end.handle(now_ms, d.msg) {
        Ok(_) if d.foreign => Err(Refusal {
            invariant: "no cross-tenant effect",
            detail: format!("a {kind} of another pharmacy was accepted"),
        }),
        Ok(_) if d.damaged => Err(Refusal {
            invariant: "damaged messages refused",
            detail: format!("a {kind} with changed bytes was accepted"),
        }),
        Ok(replies) => Ok(Some(replies)),
        Err(e) if link.tainted() => {
            link.refused(&e);
            Ok(None)
        }
        Err(e) => Err(Refusal::from(e)),
    }
}

/// Why a session failed: the invariant it broke and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    /// The invariant's name.
    pub invariant: &'static str,
    /// What happened.
    pub detail: String,
}

impl From<String> for Refusal {
    /// A peer's error with no fault to explain it.
    fn from(detail: String) -> Refusal {
        Refusal {
            invariant: "sync sessions succeed",
            detail,
        }
    }
}
