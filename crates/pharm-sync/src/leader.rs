//! Store-level leader election: a pure, lease-based state machine.
//!
//! When the cloud is unreachable, the 3–10 terminals of one pharmacy sync through one
//! terminal elected among themselves (the "Leader (Elected)" of the system design); it
//! relays everything to the cloud later. This module decides *which* terminal that is. It
//! is sans-IO: no threads, clocks or sockets. Time is an argument in milliseconds, messages
//! are values the caller delivers, and the only randomness comes from a seed given to
//! [`Election::new`]. The same inputs always produce the same outputs.
//!
//! # Protocol
//!
//! Raft's leader election with Raft's *pre-vote* phase, plus leader leases:
//!
//! * **Terms.** Every message carries a term. A node that sees a higher term adopts it and
//!   becomes a follower (a leader steps down); messages of lower terms are answered with the
//!   current term or ignored. A node votes at most once per term, so a term has at most one
//!   leader. Terms only grow.
//! * **Pre-vote.** A follower whose election timer fires first asks everyone "would you vote
//!   for me in term `t + 1`?" ([`ElectionMessage::RequestVote`] with `pre_vote: true`) without
//!   changing anyone's state. Only with a quorum of "yes" does it bump its term and ask for
//!   real votes. A terminal cut off from the others therefore does not inflate its term and
//!   does not depose a healthy leader when it reconnects.
//! * **Leases.** A leader sends [`ElectionMessage::Heartbeat`]s every `heartbeat_ms`. A
//!   heartbeat carries the lease *duration* (never an absolute time: clocks differ) and the
//!   leader's own send time, which receivers only echo back in their
//!   [`ElectionMessage::HeartbeatAck`]. A follower that acks a heartbeat received at its
//!   local time `r` **promises** not to grant any vote or pre-vote, and not to start an
//!   election, before `r + lease_ms` on its own clock. The leader counts its lease from the
//!   *send* time of acked heartbeats: with `s` the latest send time acked by a quorum
//!   (itself included), [`Election::is_leader`] holds while `now < s + lease_ms -
//!   max_clock_drift_ms`. A leader also makes the promise to itself each time it sends.
//!   Votes do not start a lease: a new leader holds its lease after the first heartbeat round
//!   trip, and a split vote does not lock voters for a whole lease.
//! * **Step-down.** A leader steps down when it sees a higher term, or when its lease has
//!   lapsed (and it has been leader for at least one `lease_ms`, the time allowed to collect
//!   the first quorum of acks).
//! * **Timers.** A follower's election timer fires a randomized timeout after its promise
//!   expires; candidates that do not win retry after another randomized timeout. The timeout
//!   is drawn from `election_timeout_ms`, split into one slot per member in terminal order,
//!   so when timers start together the lowest terminal id tries first; ties inside a slot are
//!   broken by the injected seed. A store with a single member leads at once.
//!
//! # Safety
//!
//! At no instant do two terminals both have `is_leader(now) == true`. Sketch: let `A` lead in
//! term `a` and `B` in term `b > a` at the same real instant `x`. `A`'s lease at `x` rests on a
//! quorum that acked heartbeats of term `a` sent no earlier than `x - lease`; `B` was elected
//! by a quorum voting in term `b` before `x`. Some terminal `k` is in both. `k` acked the term
//! `a` heartbeat *before* voting in term `b` (afterwards it rejects term `a`), so it voted
//! while its promise (at least `lease` after *receipt*, hence after the send) was running,
//! which it never does. Within one term there is at most one leader because each terminal
//! votes once per term. The argument holds under message loss, duplication, reordering,
//! unbounded delay and partitions: those only make leases shorter or elections slower.
//!
//! # Assumptions
//!
//! * **Clocks.** `now_ms` is each terminal's *monotonic* clock (e.g. milliseconds since boot),
//!   never wall-clock time, which can jump. Only durations measured on one clock are ever
//!   compared (receivers compute deadlines from *their* receipt time), so the clocks'
//!   offsets do not matter at all. Their *rates* may differ, provided two terminals' clocks
//!   disagree about the length of any interval of at most `lease_ms` by no more than
//!   `max_clock_drift_ms` (roughly a rate difference up to `max_clock_drift_ms / (2 ·
//!   lease_ms)`; with equal rates any margin, even zero, is enough). A larger margin also
//!   covers the time between a leader checking `is_leader` and acting on the answer.
//! * **No Byzantine nodes.** Terminals follow the protocol; the caller authenticates the
//!   sender (`from`) and drops messages from other pharmacies.
//! * **Restarts.** Term and vote must survive a restart: whenever
//!   [`Election::persistent_state`] changes, the caller stores it durably *before* sending the
//!   outputs, and a restarted terminal comes back with [`Election::restore`], which also
//!   keeps it from voting for one lease (its promises were forgotten). Building a restarted
//!   terminal with [`Election::new`] can elect two leaders.
//! * **Membership** is the store's known terminals, the same list on every terminal. A
//!   quorum is a strict majority of it. Changing the list is out of scope: stop the election
//!   on every terminal, wait one lease, then start them all with the new list.
//!
//! # Using it in a POS
//!
//! Keep one [`Election`] per terminal. Call [`Election::tick`] when the time returned by
//! [`Election::poll_timeout`] is reached (calling it earlier is harmless), and
//! [`Election::handle`] for every election message received over the store LAN; send every
//! [`Outgoing`] to its [`Target`] (datagrams are fine: the protocol tolerates loss and
//! duplication). While the cloud is down, sync with the terminal named by
//! [`Election::leader`]; the terminal for which [`Election::is_leader`] holds accepts the
//! others' uploads and relays them to the cloud later. Because the inventory CRDT sync is
//! idempotent, a terminal may keep syncing with a leader it still believes in; the lease
//! guarantees the *leader's own* belief is exclusive.
//!
//! ```
//! use pharm_sync::ids::ReplicaId;
//! use pharm_sync::leader::{Election, ElectionConfig, Target};
//!
//! let me = ReplicaId::new(1, 0);
//! let members = [me, ReplicaId::new(2, 0), ReplicaId::new(3, 0)];
//! let mut election = Election::new(me, &members, ElectionConfig::default(), 0, 0x5eed)?;
//!
//! // The election timer fired: a pre-vote request goes out to every other terminal.
//! let now = election.poll_timeout().unwrap_or(0);
//! for out in election.tick(now) {
//!     assert_eq!(out.to, Target::All);
//!     // ... serialize `out.msg` and send it over the LAN ...
//! }
//! // ... and for every message received: `election.handle(now, from, msg)`.
//! assert_eq!(election.leader(now), None);
//! # Ok::<(), pharm_sync::leader::ElectionError>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::ids::ReplicaId;

/// Timing parameters of the election, in milliseconds. Every terminal of a store should use
/// the same values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElectionConfig {
    /// How long one acknowledged heartbeat keeps a leader in office (and its followers from
    /// voting for anyone).
    pub lease_ms: u64,
    /// Interval between a leader's heartbeats. Must be below `lease_ms -
    /// max_clock_drift_ms`; a third of the lease tolerates a lost heartbeat or two.
    pub heartbeat_ms: u64,
    /// Range `(min, max)` of the randomized election timeout: how long a follower waits after
    /// its leader's lease expired before campaigning, and how long a candidate waits before
    /// retrying. Requires `0 < min <= max`.
    pub election_timeout_ms: (u64, u64),
    /// Safety margin subtracted from the leader's lease: the most by which two terminals'
    /// clocks can disagree about the length of an interval of `lease_ms`, plus scheduling
    /// slack. Must be below `lease_ms`.
    pub max_clock_drift_ms: u64,
}

impl Default for ElectionConfig {
    /// Lease 10 s, heartbeat 3 s, election timeout 1–3 s, drift margin 0.5 s.
    fn default() -> Self {
        ElectionConfig {
            lease_ms: 10_000,
            heartbeat_ms: 3_000,
            election_timeout_ms: (1_000, 3_000),
            max_clock_drift_ms: 500,
        }
    }
}

impl ElectionConfig {
    /// Checks the parameters against each other.
    pub fn validate(&self) -> Result<(), ElectionError> {
        if self.max_clock_drift_ms >= self.lease_ms {
            return Err(ElectionError::DriftNotBelowLease {
                max_clock_drift_ms: self.max_clock_drift_ms,
                lease_ms: self.lease_ms,
            });
        }
        let usable_lease_ms = self.usable_lease_ms();
        if self.heartbeat_ms == 0 || self.heartbeat_ms >= usable_lease_ms {
            return Err(ElectionError::InvalidHeartbeat {
                heartbeat_ms: self.heartbeat_ms,
                usable_lease_ms,
            });
        }
        let (min, max) = self.election_timeout_ms;
        if min == 0 || min > max {
            return Err(ElectionError::InvalidElectionTimeout { min, max });
        }
        Ok(())
    }

    /// The lease a leader may count on: `lease_ms - max_clock_drift_ms`.
    fn usable_lease_ms(&self) -> u64 {
        self.lease_ms.saturating_sub(self.max_clock_drift_ms)
    }
}

/// Why an [`ElectionConfig`] or a member list was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ElectionError {
    /// The drift margin would eat the whole lease.
    #[error("max_clock_drift_ms ({max_clock_drift_ms}) must be below lease_ms ({lease_ms})")]
    DriftNotBelowLease {
        /// The configured drift margin.
        max_clock_drift_ms: u64,
        /// The configured lease.
        lease_ms: u64,
    },
    /// The heartbeat interval is zero or does not fit in the usable lease.
    #[error(
        "heartbeat_ms ({heartbeat_ms}) must be positive and below lease_ms - max_clock_drift_ms \
         ({usable_lease_ms})"
    )]
    InvalidHeartbeat {
        /// The configured heartbeat interval.
        heartbeat_ms: u64,
        /// `lease_ms - max_clock_drift_ms`.
        usable_lease_ms: u64,
    },
    /// The election timeout range is empty, inverted or starts at zero.
    #[error("election timeout range ({min}, {max}) must satisfy 0 < min <= max")]
    InvalidElectionTimeout {
        /// Lower bound.
        min: u64,
        /// Upper bound.
        max: u64,
    },
    /// This terminal is not in the member list.
    #[error("{0} is not in the member list")]
    NotAMember(ReplicaId),
    /// A terminal appears twice in the member list.
    #[error("{0} appears twice in the member list")]
    DuplicateMember(ReplicaId),
}

/// A terminal's role in the current term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Follows a leader, or waits for one.
    Follower,
    /// Asking for pre-votes; its term is unchanged.
    PreCandidate,
    /// Asking for votes in a term it started.
    Candidate,
    /// Won its term. Leads only while [`Election::is_leader`] holds.
    Leader,
}

/// An election message between two terminals of one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum ElectionMessage {
    /// Asks for a vote in `term`. With `pre_vote`, `term` is the term the candidate *would*
    /// start, and nobody changes state.
    RequestVote {
        /// The (proposed) term.
        term: u64,
        /// The candidate; must be the sender.
        candidate: ReplicaId,
        /// A pre-vote (no state change) rather than a vote.
        pre_vote: bool,
    },
    /// Answer to [`ElectionMessage::RequestVote`].
    Vote {
        /// If granted, the term voted in (the proposed term for a pre-vote); if denied, the
        /// voter's current term.
        term: u64,
        /// Whether the vote (or pre-vote) is granted.
        granted: bool,
        /// Answers a pre-vote.
        pre_vote: bool,
    },
    /// A leader's heartbeat, which renews its lease.
    Heartbeat {
        /// The leader's term.
        term: u64,
        /// Lease duration; the receiver counts it from its own receipt time.
        lease_ms: u64,
        /// The leader's clock at sending. Opaque to receivers, which echo it back.
        sent_at_ms: u64,
    },
    /// A follower's acknowledgement of a heartbeat; with a higher term, a rejection.
    HeartbeatAck {
        /// The follower's term.
        term: u64,
        /// The `sent_at_ms` of the acknowledged heartbeat.
        sent_at_ms: u64,
    },
}

/// Where an [`Outgoing`] message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// One terminal.
    One(ReplicaId),
    /// Every other member.
    All,
}

/// A message for the caller to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Outgoing {
    /// Destination.
    pub to: Target,
    /// Message.
    pub msg: ElectionMessage,
}

/// What must survive a restart (see [`Election::restore`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersistentState {
    /// Current term.
    pub term: u64,
    /// The candidate voted for in `term`, if any.
    pub voted_for: Option<ReplicaId>,
}

/// One terminal's view of the store's election. See the [module documentation](self).
#[derive(Debug, Clone)]
pub struct Election {
    me: ReplicaId,
    /// Sorted, without duplicates.
    members: Vec<ReplicaId>,
    /// Index of `me` in `members`.
    rank: usize,
    quorum: usize,
    config: ElectionConfig,
    rng: u64,
    term: u64,
    voted_for: Option<ReplicaId>,
    state: State,
    /// No vote or pre-vote is granted and no election started before this local time.
    promise_until: u64,
    /// The leader of the current term heard from, and until when its lease is believed.
    follow: Option<(ReplicaId, u64)>,
    /// When a non-leader campaigns (again).
    election_deadline: u64,
    /// Test only: votes are granted without the term and one-vote-per-term checks.
    #[cfg(feature = "test-breaks")]
    ignore_terms: bool,
}

#[derive(Debug, Clone)]
enum State {
    Follower,
    PreCandidate { grants: Vec<ReplicaId> },
    Candidate { grants: Vec<ReplicaId> },
    Leader(LeaderState),
}

#[derive(Debug, Clone)]
struct LeaderState {
    /// When this term's leadership began.
    since: u64,
    /// Per member (by index): the latest send time of one of our heartbeats it acked.
    acked: Vec<Option<u64>>,
    /// The lease holds while `now < lease_until`.
    lease_until: u64,
    next_heartbeat: u64,
}

impl Election {
    /// A terminal joining the election for the first time (term 0, no vote); after a
    /// restart use [`Election::restore`] instead. A single-member store leads at once. Fails
    /// on an invalid config, if `me` is not in `members`, or on a duplicate member. `seed`
    /// drives the randomized timeouts (the terminal id is mixed in, so equal seeds are fine).
    pub fn new(
        me: ReplicaId,
        members: &[ReplicaId],
        config: ElectionConfig,
        now_ms: u64,
        seed: u64,
    ) -> Result<Self, ElectionError> {
        Self::build(
            me,
            members,
            config,
            now_ms,
            seed,
            PersistentState::default(),
            false,
        )
    }

    /// A terminal restarting with the [`PersistentState`] it stored before. It grants no
    /// vote and starts no election for `lease_ms`, since the promises it made before the
    /// restart are forgotten (a single-member store leads at once).
    pub fn restore(
        me: ReplicaId,
        members: &[ReplicaId],
        config: ElectionConfig,
        now_ms: u64,
        seed: u64,
        state: PersistentState,
    ) -> Result<Self, ElectionError> {
        Self::build(me, members, config, now_ms, seed, state, true)
    }

    fn build(
        me: ReplicaId,
        members: &[ReplicaId],
        config: ElectionConfig,
        now: u64,
        seed: u64,
        persisted: PersistentState,
        restored: bool,
    ) -> Result<Self, ElectionError> {
        config.validate()?;
        let mut sorted = members.to_vec();
        sorted.sort_unstable();
        if let Some(pair) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(ElectionError::DuplicateMember(pair[0]));
        }
        let rank = sorted
            .binary_search(&me)
            .map_err(|_| ElectionError::NotAMember(me))?;
        let single = sorted.len() == 1;
        let mut election = Election {
            me,
            quorum: sorted.len() / 2 + 1,
            members: sorted,
            rank,
            config,
            rng: seed
                ^ (u64::from(me.terminal) ^ me.incarnation.rotate_left(16))
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15),
            term: persisted.term,
            voted_for: persisted.voted_for,
            state: State::Follower,
            promise_until: if restored && !single {
                now.saturating_add(config.lease_ms)
            } else {
                0
            },
            follow: None,
            election_deadline: 0,
            #[cfg(feature = "test-breaks")]
            ignore_terms: false,
        };
        if single {
            // Nobody else can lead: take the next term right away (no messages to send).
            let _ = election.start_election(now);
        } else {
            election.election_deadline = now
                .max(election.promise_until)
                .saturating_add(election.timeout());
        }
        Ok(election)
    }

    /// This terminal.
    pub fn me(&self) -> ReplicaId {
        self.me
    }

    /// The current role. A [`Role::Leader`] leads only while [`Election::is_leader`] holds.
    pub fn role(&self) -> Role {
        match self.state {
            State::Follower => Role::Follower,
            State::PreCandidate { .. } => Role::PreCandidate,
            State::Candidate { .. } => Role::Candidate,
            State::Leader(_) => Role::Leader,
        }
    }

    /// The current term.
    pub fn term(&self) -> u64 {
        self.term
    }

    /// What the caller must store durably (when it changes) before sending outputs.
    pub fn persistent_state(&self) -> PersistentState {
        PersistentState {
            term: self.term,
            voted_for: self.voted_for,
        }
    }

    /// Whether this terminal leads at local time `now_ms`: it won the current term and a
    /// quorum acked one of its heartbeats recently enough that its lease (less the drift
    /// margin) still runs. At most one terminal of the store has this at any instant.
    pub fn is_leader(&self, now_ms: u64) -> bool {
        matches!(&self.state, State::Leader(ls) if now_ms < ls.lease_until)
    }

    /// Test only (feature `test-breaks`): from now on this terminal grants every vote and
    /// pre-vote it is asked for, whatever the term, its promise to a leader and whoever it
    /// voted for before (and changes nothing else), so two candidates can win one term or a
    /// candidate win while a leader holds its lease. For showing that a checker catches it;
    /// never in production.
    #[cfg(feature = "test-breaks")]
    pub fn break_ignore_terms(&mut self) {
        self.ignore_terms = true;
    }

    #[cfg(feature = "test-breaks")]
    fn ignores_terms(&self) -> bool {
        self.ignore_terms
    }

    #[cfg(not(feature = "test-breaks"))]
    fn ignores_terms(&self) -> bool {
        false
    }

    /// Who this terminal believes leads at `now_ms`: itself while [`Election::is_leader`]
    /// holds, otherwise the leader of the current term whose heartbeat it acked less than a
    /// lease ago (by its own clock). `None` while there is no such leader.
    pub fn leader(&self, now_ms: u64) -> Option<ReplicaId> {
        match &self.state {
            State::Leader(_) => self.is_leader(now_ms).then_some(self.me),
            _ => self
                .follow
                .and_then(|(leader, until)| (now_ms < until).then_some(leader)),
        }
    }

    /// The local time at which [`Election::tick`] should next be called. Always `Some`
    /// today: every role has a timer.
    pub fn poll_timeout(&self) -> Option<u64> {
        Some(match &self.state {
            State::Leader(ls) => ls.next_heartbeat.min(self.step_down_at(ls)),
            _ => self.election_deadline,
        })
    }

    /// Advances the timers to local time `now_ms`: a leader sends its heartbeat or steps
    /// down when its lease lapsed; a follower or candidate whose timer fired campaigns.
    #[must_use = "the outgoing messages must be sent"]
    pub fn tick(&mut self, now_ms: u64) -> Vec<Outgoing> {
        let now = now_ms;
        match &self.state {
            State::Leader(ls) => {
                if now >= self.step_down_at(ls) {
                    self.become_follower(now);
                    Vec::new()
                } else if now >= ls.next_heartbeat {
                    self.send_heartbeat(now)
                } else {
                    Vec::new()
                }
            }
            _ if now >= self.election_deadline => self.start_pre_vote(now),
            _ => Vec::new(),
        }
    }

    /// Handles a message from another member received at local time `now_ms`, returning the
    /// replies to send. Messages from non-members or from this terminal are ignored.
    #[must_use = "the outgoing messages must be sent"]
    pub fn handle(&mut self, now_ms: u64, from: ReplicaId, msg: ElectionMessage) -> Vec<Outgoing> {
        let now = now_ms;
        if from == self.me || self.index_of(from).is_none() {
            return Vec::new();
        }
        match msg {
            ElectionMessage::RequestVote {
                term,
                candidate,
                pre_vote,
            } => {
                if candidate != from {
                    Vec::new()
                } else if pre_vote {
                    self.on_pre_vote_request(now, from, term)
                } else {
                    self.on_vote_request(now, from, term)
                }
            }
            ElectionMessage::Vote {
                term,
                granted,
                pre_vote,
            } => self.on_vote(now, from, term, granted, pre_vote),
            ElectionMessage::Heartbeat {
                term,
                lease_ms,
                sent_at_ms,
            } => self.on_heartbeat(now, from, term, lease_ms, sent_at_ms),
            ElectionMessage::HeartbeatAck { term, sent_at_ms } => {
                self.on_ack(now, from, term, sent_at_ms);
                Vec::new()
            }
        }
    }

    fn on_pre_vote_request(&mut self, now: u64, from: ReplicaId, proposed: u64) -> Vec<Outgoing> {
        if self.ignores_terms() {
            return grant_anything(from, proposed, true);
        }
        let granted = now >= self.promise_until
            && !matches!(self.state, State::Leader(_))
            && (proposed > self.term
                || (proposed == self.term && self.voted_for.is_none_or(|v| v == from)));
        let term = if granted { proposed } else { self.term };
        reply(
            from,
            ElectionMessage::Vote {
                term,
                granted,
                pre_vote: true,
            },
        )
    }

    fn on_vote_request(&mut self, now: u64, from: ReplicaId, term: u64) -> Vec<Outgoing> {
        if self.ignores_terms() {
            return grant_anything(from, term, false);
        }
        if term > self.term {
            if now < self.promise_until {
                // A leader we promised to may still hold its lease: do not even adopt the
                // term, so a disruptive candidate cannot depose it.
                let denial = ElectionMessage::Vote {
                    term: self.term,
                    granted: false,
                    pre_vote: false,
                };
                return reply(from, denial);
            }
            self.adopt_term(now, term);
        }
        let granted = term == self.term
            && now >= self.promise_until
            && !matches!(self.state, State::Leader(_))
            && self.voted_for.is_none_or(|v| v == from);
        if granted {
            self.voted_for = Some(from);
            self.state = State::Follower;
            self.election_deadline = now.saturating_add(self.timeout());
        }
        reply(
            from,
            ElectionMessage::Vote {
                term: self.term,
                granted,
                pre_vote: false,
            },
        )
    }

    fn on_vote(
        &mut self,
        now: u64,
        from: ReplicaId,
        term: u64,
        granted: bool,
        pre_vote: bool,
    ) -> Vec<Outgoing> {
        if pre_vote && granted {
            // A granted pre-vote carries the *proposed* term: never adopt it.
            if let State::PreCandidate { grants } = &mut self.state
                && term == self.term.saturating_add(1)
            {
                add_grant(grants, from);
                if grants.len() >= self.quorum {
                    return self.start_election(now);
                }
            }
            return Vec::new();
        }
        if term > self.term {
            self.adopt_term(now, term);
            return Vec::new();
        }
        if !pre_vote
            && granted
            && term == self.term
            && let State::Candidate { grants } = &mut self.state
        {
            add_grant(grants, from);
            if grants.len() >= self.quorum {
                return self.become_leader(now);
            }
        }
        Vec::new()
    }

    fn on_heartbeat(
        &mut self,
        now: u64,
        from: ReplicaId,
        term: u64,
        lease_ms: u64,
        sent_at_ms: u64,
    ) -> Vec<Outgoing> {
        if term < self.term {
            // Stale leader: tell it about the newer term so it steps down.
            return reply(
                from,
                ElectionMessage::HeartbeatAck {
                    term: self.term,
                    sent_at_ms,
                },
            );
        }
        if term > self.term {
            self.adopt_term(now, term);
        }
        if matches!(self.state, State::Leader(_)) {
            return Vec::new(); // Two leaders in one term cannot happen; ignore.
        }
        if self.follow.is_some_and(|(leader, _)| leader != from) {
            return Vec::new(); // Same: one leader per term.
        }
        let until = now.saturating_add(lease_ms.max(self.config.lease_ms));
        self.promise_until = self.promise_until.max(until);
        let until = self
            .follow
            .map_or(until, |(_, previous)| previous.max(until));
        self.follow = Some((from, until));
        self.state = State::Follower;
        self.election_deadline = self.promise_until.saturating_add(self.timeout());
        reply(from, ElectionMessage::HeartbeatAck { term, sent_at_ms })
    }

    fn on_ack(&mut self, now: u64, from: ReplicaId, term: u64, sent_at_ms: u64) {
        if term > self.term {
            self.adopt_term(now, term);
            return;
        }
        let Some(index) = self.index_of(from) else {
            return;
        };
        let (quorum, usable) = (self.quorum, self.config.usable_lease_ms());
        if term == self.term
            && let State::Leader(ls) = &mut self.state
            && sent_at_ms <= now
            && sent_at_ms >= ls.since
        {
            if let Some(slot) = ls.acked.get_mut(index) {
                *slot = Some(slot.map_or(sent_at_ms, |t| t.max(sent_at_ms)));
            }
            ls.renew_lease(quorum, usable);
        }
    }

    fn start_pre_vote(&mut self, now: u64) -> Vec<Outgoing> {
        if now < self.promise_until {
            self.election_deadline = self.promise_until.saturating_add(self.timeout());
            return Vec::new();
        }
        self.follow = None;
        self.state = State::PreCandidate {
            grants: vec![self.me],
        };
        self.election_deadline = now.saturating_add(self.timeout());
        if self.quorum <= 1 {
            return self.start_election(now);
        }
        let proposed = self.term.saturating_add(1);
        self.broadcast(ElectionMessage::RequestVote {
            term: proposed,
            candidate: self.me,
            pre_vote: true,
        })
    }

    fn start_election(&mut self, now: u64) -> Vec<Outgoing> {
        if now < self.promise_until {
            // Defensive: a running promise forbids voting, for ourselves too.
            self.become_follower(now);
            return Vec::new();
        }
        self.term = self.term.saturating_add(1);
        self.voted_for = Some(self.me);
        self.follow = None;
        self.state = State::Candidate {
            grants: vec![self.me],
        };
        self.election_deadline = now.saturating_add(self.timeout());
        if self.quorum <= 1 {
            return self.become_leader(now);
        }
        self.broadcast(ElectionMessage::RequestVote {
            term: self.term,
            candidate: self.me,
            pre_vote: false,
        })
    }

    fn become_leader(&mut self, now: u64) -> Vec<Outgoing> {
        self.follow = None;
        self.state = State::Leader(LeaderState {
            since: now,
            acked: vec![None; self.members.len()],
            lease_until: 0,
            next_heartbeat: now,
        });
        self.send_heartbeat(now)
    }

    fn send_heartbeat(&mut self, now: u64) -> Vec<Outgoing> {
        let (rank, quorum, usable) = (self.rank, self.quorum, self.config.usable_lease_ms());
        let State::Leader(ls) = &mut self.state else {
            return Vec::new();
        };
        ls.next_heartbeat = now.saturating_add(self.config.heartbeat_ms);
        // We ack our own heartbeat, and promise ourselves not to vote for another.
        if let Some(slot) = ls.acked.get_mut(rank) {
            *slot = Some(now);
        }
        ls.renew_lease(quorum, usable);
        self.promise_until = self
            .promise_until
            .max(now.saturating_add(self.config.lease_ms));
        self.broadcast(ElectionMessage::Heartbeat {
            term: self.term,
            lease_ms: self.config.lease_ms,
            sent_at_ms: now,
        })
    }

    fn adopt_term(&mut self, now: u64, term: u64) {
        self.term = term;
        self.voted_for = None;
        self.follow = None;
        if !matches!(self.state, State::Follower) {
            self.become_follower(now);
        }
    }

    fn become_follower(&mut self, now: u64) {
        if matches!(self.state, State::Leader(_)) {
            self.follow = None;
        }
        self.state = State::Follower;
        self.election_deadline = now.max(self.promise_until).saturating_add(self.timeout());
    }

    /// A leader whose lease lapsed steps down, once it has had one `lease_ms` to collect
    /// its first quorum of acks.
    fn step_down_at(&self, ls: &LeaderState) -> u64 {
        ls.lease_until
            .max(ls.since.saturating_add(self.config.lease_ms))
    }

    fn broadcast(&self, msg: ElectionMessage) -> Vec<Outgoing> {
        if self.members.len() > 1 {
            vec![Outgoing {
                to: Target::All,
                msg,
            }]
        } else {
            Vec::new()
        }
    }

    fn index_of(&self, id: ReplicaId) -> Option<usize> {
        self.members.binary_search(&id).ok()
    }

    /// A randomized election timeout: slot `rank` of `members.len()` equal slots of the
    /// configured range, at a random point inside the slot.
    fn timeout(&mut self) -> u64 {
        let (min, max) = self.config.election_timeout_ms;
        let span = u128::from(max - min);
        let jitter = if span == 0 {
            0
        } else {
            u128::from(self.next_random()) % span
        };
        let slots = self.members.len() as u128;
        let offset = (self.rank as u128 * span + jitter) / slots;
        min + u64::try_from(offset).unwrap_or(0)
    }

    /// SplitMix64.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl LeaderState {
    /// Extends the lease to `usable` after the latest send time acked by a quorum.
    fn renew_lease(&mut self, quorum: usize, usable: u64) {
        let mut acked: Vec<u64> = self.acked.iter().flatten().copied().collect();
        acked.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(&sent) = quorum.checked_sub(1).and_then(|i| acked.get(i)) {
            self.lease_until = self.lease_until.max(sent.saturating_add(usable));
        }
    }
}

fn add_grant(grants: &mut Vec<ReplicaId>, from: ReplicaId) {
    if !grants.contains(&from) {
        grants.push(from);
    }
}

/// The defect of [`Election::break_ignore_terms`]: a granted vote for `term`, whatever it is.
fn grant_anything(to: ReplicaId, term: u64, pre_vote: bool) -> Vec<Outgoing> {
    let granted = ElectionMessage::Vote {
        term,
        granted: true,
        pre_vote,
    };
    reply(to, granted)
}

fn reply(to: ReplicaId, msg: ElectionMessage) -> Vec<Outgoing> {
    vec![Outgoing {
        to: Target::One(to),
        msg,
    }]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const CFG: ElectionConfig = ElectionConfig {
        lease_ms: 1_000,
        heartbeat_ms: 300,
        election_timeout_ms: (100, 200),
        max_clock_drift_ms: 50,
    };

    fn id(terminal: u16) -> ReplicaId {
        ReplicaId::new(terminal, 0)
    }

    fn members(n: u16) -> Vec<ReplicaId> {
        (1..=n).map(id).collect()
    }

    fn node(me: u16, n: u16) -> Election {
        Election::new(id(me), &members(n), CFG, 0, 7).unwrap()
    }

    fn rv(term: u64, candidate: u16) -> ElectionMessage {
        ElectionMessage::RequestVote {
            term,
            candidate: id(candidate),
            pre_vote: false,
        }
    }

    fn pv(term: u64, candidate: u16) -> ElectionMessage {
        ElectionMessage::RequestVote {
            term,
            candidate: id(candidate),
            pre_vote: true,
        }
    }

    fn vote(term: u64, granted: bool) -> ElectionMessage {
        ElectionMessage::Vote {
            term,
            granted,
            pre_vote: false,
        }
    }

    fn pre_vote(term: u64, granted: bool) -> ElectionMessage {
        ElectionMessage::Vote {
            term,
            granted,
            pre_vote: true,
        }
    }

    fn hb(term: u64, sent_at_ms: u64) -> ElectionMessage {
        ElectionMessage::Heartbeat {
            term,
            lease_ms: CFG.lease_ms,
            sent_at_ms,
        }
    }

    fn ack(term: u64, sent_at_ms: u64) -> ElectionMessage {
        ElectionMessage::HeartbeatAck { term, sent_at_ms }
    }

    fn only_reply(out: &[Outgoing]) -> (Target, ElectionMessage) {
        assert_eq!(out.len(), 1, "{out:?}");
        (out[0].to, out[0].msg)
    }

    /// Node 1 of 3 made leader of `term` at local time `now` (heartbeat sent, not yet acked).
    fn leader(term: u64, now: u64) -> Election {
        let mut e = node(1, 3);
        e.term = term - 1;
        let _ = e.start_election(now);
        let _ = e.handle(now, id(2), vote(term, true));
        assert_eq!(e.role(), Role::Leader);
        e
    }

    /// (case, setup, now, from, request, reply (granted, term), term after, voted_for after)
    type VoteRow = (
        &'static str,
        Setup,
        u64,
        u16,
        ElectionMessage,
        Option<(bool, u64)>,
        u64,
        Option<u16>,
    );
    /// (case, from, term, ack term, term after, leader after, promise after)
    type HeartbeatRow = (&'static str, u16, u64, u64, u64, Option<u16>, u64);
    type Validation = Result<(), ElectionError>;

    #[derive(Clone, Copy, Debug)]
    enum Setup {
        Fresh,
        VotedFor(u16),
        PromisedUntil(u64),
        Leader,
    }

    #[test]
    fn vote_requests_table() {
        use Setup::*;
        // Node 1 of 5, in term 5 unless the setup makes it leader of term 5.
        #[rustfmt::skip]
        let rows: Vec<VoteRow> = vec![
            ("lower term denied",            Fresh,                10,    2, rv(4, 2), Some((false, 5)), 5, None),
            ("same term granted",            Fresh,                10,    2, rv(5, 2), Some((true, 5)),  5, Some(2)),
            ("same term, voted other",       VotedFor(3),          10,    2, rv(5, 2), Some((false, 5)), 5, Some(3)),
            ("same term, duplicate request", VotedFor(2),          10,    2, rv(5, 2), Some((true, 5)),  5, Some(2)),
            ("higher term resets the vote",  VotedFor(3),          10,    2, rv(6, 2), Some((true, 6)),  6, Some(2)),
            ("promise: term not adopted",    PromisedUntil(2_000), 1_999, 2, rv(6, 2), Some((false, 5)), 5, None),
            ("promise ends at boundary",     PromisedUntil(2_000), 2_000, 2, rv(6, 2), Some((true, 6)),  6, Some(2)),
            ("promise blocks same term",     PromisedUntil(2_000), 1_000, 2, rv(5, 2), Some((false, 5)), 5, None),
            ("leader denies same term",      Leader,               10,    2, rv(5, 2), Some((false, 5)), 5, Some(1)),
            ("leader in lease, higher term", Leader,               10,    2, rv(9, 2), Some((false, 5)), 5, Some(1)),
            ("candidate must be the sender", Fresh,                10,    2, rv(6, 3), None,             5, None),
            ("non-member ignored",           Fresh,                10,    9, rv(6, 9), None,             5, None),
            ("self ignored",                 Fresh,                10,    1, rv(6, 1), None,             5, None),
            ("pre-vote: no state change",    VotedFor(3),          10,    2, pv(6, 2), Some((true, 6)),  5, Some(3)),
            ("pre-vote same term, voted",    VotedFor(3),          10,    2, pv(5, 2), Some((false, 5)), 5, Some(3)),
            ("pre-vote same term, free",     Fresh,                10,    2, pv(5, 2), Some((true, 5)),  5, None),
            ("pre-vote lower term",          Fresh,                10,    2, pv(4, 2), Some((false, 5)), 5, None),
            ("pre-vote during promise",      PromisedUntil(2_000), 1_999, 2, pv(6, 2), Some((false, 5)), 5, None),
            ("pre-vote at promise end",      PromisedUntil(2_000), 2_000, 2, pv(6, 2), Some((true, 6)),  5, None),
            ("pre-vote to a leader",         Leader,               10,    2, pv(9, 2), Some((false, 5)), 5, Some(1)),
        ];
        for (case, setup, now, from, msg, expected, term_after, voted_after) in rows {
            let mut e = Election::new(id(1), &members(5), CFG, 0, 1).unwrap();
            e.term = 5;
            match setup {
                Fresh => {}
                VotedFor(v) => e.voted_for = Some(id(v)),
                PromisedUntil(t) => e.promise_until = t,
                Leader => {
                    e.term = 4;
                    let _ = e.start_election(0);
                    for v in [2, 3] {
                        let _ = e.handle(0, id(v), vote(5, true));
                    }
                    assert_eq!(e.role(), Role::Leader, "{case}");
                }
            }
            let out = e.handle(now, id(from), msg);
            match expected {
                None => assert!(out.is_empty(), "{case}: {out:?}"),
                Some((granted, term)) => {
                    let (to, reply) = only_reply(&out);
                    assert_eq!(to, Target::One(id(from)), "{case}");
                    let is_pre = matches!(msg, ElectionMessage::RequestVote { pre_vote: true, .. });
                    let expected = if is_pre {
                        pre_vote(term, granted)
                    } else {
                        vote(term, granted)
                    };
                    assert_eq!(reply, expected, "{case}");
                }
            }
            assert_eq!(e.term(), term_after, "{case}");
            assert_eq!(e.voted_for, voted_after.map(id), "{case}");
        }
    }

    #[test]
    fn heartbeat_table() {
        // Node 2 of 3 in term 5 receives at 500 a heartbeat from `from` in `term`.
        #[rustfmt::skip]
        let rows: Vec<HeartbeatRow> = vec![
            ("current term followed",    1, 5, 5, 5, Some(1), 1_500),
            ("higher term adopted",      3, 7, 7, 7, Some(3), 1_500),
            ("stale heartbeat rejected", 1, 4, 5, 5, None,    0),
        ];
        for (case, from, term, ack_term, term_after, leader_after, promise_after) in rows {
            let mut e = node(2, 3);
            e.term = 5;
            let deadline = e.poll_timeout().unwrap();
            let out = e.handle(500, id(from), hb(term, 42));
            let (to, reply) = only_reply(&out);
            assert_eq!(to, Target::One(id(from)), "{case}");
            assert_eq!(reply, ack(ack_term, 42), "{case}");
            assert_eq!(e.term(), term_after, "{case}");
            assert_eq!(e.leader(500), leader_after.map(id), "{case}");
            assert_eq!(e.leader(1_499), leader_after.map(id), "{case}");
            assert_eq!(
                e.leader(1_500),
                None,
                "{case}: the follower's view of the lease ended"
            );
            assert_eq!(e.promise_until, promise_after, "{case}");
            assert_eq!(e.role(), Role::Follower, "{case}");
            assert!(!e.is_leader(500), "{case}");
            if leader_after.is_none() {
                assert_eq!(e.poll_timeout(), Some(deadline), "{case}: timer not reset");
            } else {
                assert!(
                    e.poll_timeout().unwrap() >= 1_500 + CFG.election_timeout_ms.0,
                    "{case}"
                );
            }
        }
    }

    #[test]
    fn heartbeat_from_second_leader_of_a_term_is_ignored() {
        let mut e = node(2, 3);
        let _ = e.handle(0, id(1), hb(3, 0));
        assert!(e.handle(10, id(3), hb(3, 10)).is_empty());
        assert_eq!(e.leader(10), Some(id(1)));
    }

    #[test]
    fn candidate_yields_to_leader_of_its_term() {
        let mut e = node(2, 3);
        let _ = e.start_election(0);
        assert_eq!((e.role(), e.term()), (Role::Candidate, 1));
        let out = e.handle(5, id(1), hb(1, 3));
        assert_eq!(only_reply(&out).1, ack(1, 3));
        assert_eq!((e.role(), e.leader(5)), (Role::Follower, Some(id(1))));
    }

    #[test]
    fn step_down_on_higher_term_table() {
        // Leader (node 1 of 3) of term 5 with a valid lease receives `msg` from node 2.
        #[rustfmt::skip]
        let rows: Vec<(&str, ElectionMessage, Role, u64)> = vec![
            ("ack with higher term",              ack(6, 10),        Role::Follower, 6),
            ("vote denial with higher term",      vote(6, false),     Role::Follower, 6),
            ("pre-vote denial with higher term",  pre_vote(8, false), Role::Follower, 8),
            ("heartbeat with higher term",        hb(6, 0),           Role::Follower, 6),
            ("granted pre-vote carries no term",  pre_vote(6, true),  Role::Leader,   5),
            ("ack with lower term",               ack(4, 10),         Role::Leader,   5),
            ("heartbeat with lower term",         hb(4, 0),           Role::Leader,   5),
            ("vote request during own lease",     rv(6, 2),           Role::Leader,   5),
            ("pre-vote request during own lease", pv(6, 2),           Role::Leader,   5),
        ];
        for (case, msg, role, term) in rows {
            let mut e = leader(5, 10);
            let _ = e.handle(11, id(2), ack(5, 10));
            assert!(e.is_leader(11), "{case}");
            let _ = e.handle(12, id(2), msg);
            assert_eq!((e.role(), e.term()), (role, term), "{case}");
            assert_eq!(e.is_leader(12), role == Role::Leader, "{case}");
        }
    }

    #[test]
    fn lease_counts_from_quorum_send_time_minus_drift() {
        let mut e = leader(5, 10);
        assert!(!e.is_leader(10), "no quorum ack yet");
        assert_eq!(e.leader(10), None);
        // Node 2 acks the heartbeat sent at 10; with node 1 itself that is a quorum of 3.
        let _ = e.handle(400, id(2), ack(5, 10));
        let end = 10 + CFG.lease_ms - CFG.max_clock_drift_ms;
        assert!(e.is_leader(400) && e.is_leader(end - 1));
        assert!(!e.is_leader(end));
        assert_eq!(e.leader(end - 1), Some(id(1)));
        // Duplicated, future, pre-leadership or wrong-term acks change nothing.
        for (now, term, sent) in [(401, 5, 10), (402, 5, 500), (403, 5, 5), (404, 4, 300)] {
            let _ = e.handle(now, id(3), ack(term, sent));
            assert!(!e.is_leader(end), "ack ({now}, {term}, {sent})");
        }
        // The next heartbeat, once acked, extends the lease from its own send time.
        let out = e.tick(10 + CFG.heartbeat_ms);
        assert_eq!(
            out,
            vec![Outgoing {
                to: Target::All,
                msg: hb(5, 310)
            }]
        );
        assert!(!e.is_leader(end), "not acked yet");
        let _ = e.handle(320, id(3), ack(5, 310));
        assert!(e.is_leader(end) && e.is_leader(end + 299) && !e.is_leader(end + 300));
    }

    #[test]
    fn leader_steps_down_when_lease_lapses() {
        let mut e = leader(5, 10);
        let _ = e.handle(20, id(2), ack(5, 10));
        let mut now = 10;
        while e.role() == Role::Leader {
            now = e.poll_timeout().unwrap();
            let _ = e.tick(now);
        }
        // Nobody acked after the first heartbeat: the lease ended at 960, but the leader had
        // until `since + lease` to gather acks.
        assert_eq!(now, 10 + CFG.lease_ms);
        assert_eq!((e.role(), e.term()), (Role::Follower, 5));
        // Its promise to itself (from its last heartbeat, at 910) still holds back a campaign.
        assert!(e.poll_timeout().unwrap() >= 910 + CFG.lease_ms + CFG.election_timeout_ms.0);
    }

    #[test]
    fn follower_promise_boundary() {
        // Node 2 acks a heartbeat at 1_000: no vote for anyone before 2_000, then one.
        let mut e = node(2, 3);
        let _ = e.handle(1_000, id(1), hb(1, 77));
        assert_eq!(
            only_reply(&e.handle(1_999, id(3), rv(2, 3))).1,
            vote(1, false)
        );
        assert_eq!(
            only_reply(&e.handle(1_999, id(3), pv(2, 3))).1,
            pre_vote(1, false)
        );
        assert_eq!(e.tick(1_999), vec![], "no campaign while promised");
        assert!(e.poll_timeout().unwrap() >= 2_000 + CFG.election_timeout_ms.0);
        assert_eq!(
            only_reply(&e.handle(2_000, id(3), rv(2, 3))).1,
            vote(2, true)
        );
    }

    #[test]
    fn full_election_between_three_nodes() {
        let mut nodes: Vec<Election> = (1..=3).map(|i| node(i, 3)).collect();
        // Node 1 has the lowest rank, so its timer fires first.
        let first: Vec<u64> = nodes.iter().map(|e| e.poll_timeout().unwrap()).collect();
        assert!(first[0] < first[1] && first[1] < first[2], "{first:?}");
        let now = first[0];
        let mut queue: Vec<(ReplicaId, Outgoing)> =
            nodes[0].tick(now).into_iter().map(|o| (id(1), o)).collect();
        assert_eq!(nodes[0].role(), Role::PreCandidate);
        while let Some((from, out)) = queue.pop() {
            for e in &mut nodes {
                let me = e.me();
                let for_me = match out.to {
                    Target::One(to) => to == me,
                    Target::All => from != me,
                };
                if for_me {
                    queue.extend(e.handle(now, from, out.msg).into_iter().map(|o| (me, o)));
                }
            }
        }
        assert!(nodes[0].is_leader(now));
        assert_eq!(nodes[0].term(), 1);
        for e in &nodes {
            assert_eq!(e.leader(now), Some(id(1)));
            assert_eq!(e.term(), 1);
        }
    }

    #[test]
    fn single_member_leads_at_once_and_keeps_leading() {
        let mut e = Election::new(id(4), &[id(4)], CFG, 100, 0).unwrap();
        assert_eq!(
            (e.role(), e.term(), e.leader(100)),
            (Role::Leader, 1, Some(id(4)))
        );
        assert!(e.is_leader(100));
        for _ in 0..100 {
            let now = e.poll_timeout().unwrap();
            assert!(e.tick(now).is_empty(), "nobody to send to");
            assert!(e.is_leader(now));
        }
        assert_eq!(e.term(), 1);
        let state = PersistentState {
            term: 9,
            voted_for: Some(id(4)),
        };
        let restored = Election::restore(id(4), &[id(4)], CFG, 5, 0, state).unwrap();
        assert!(restored.is_leader(5));
        assert_eq!(restored.term(), 10);
    }

    #[test]
    fn restore_remembers_vote_and_waits_one_lease() {
        let state = PersistentState {
            term: 4,
            voted_for: Some(id(3)),
        };
        let mut e = Election::restore(id(2), &members(3), CFG, 50, 1, state).unwrap();
        assert_eq!(e.persistent_state(), state);
        assert!(e.poll_timeout().unwrap() >= 50 + CFG.lease_ms + CFG.election_timeout_ms.0);
        assert_eq!(only_reply(&e.handle(51, id(1), rv(5, 1))).1, vote(4, false));
        assert_eq!(
            only_reply(&e.handle(1_050, id(1), rv(4, 1))).1,
            vote(4, false)
        );
        assert_eq!(
            only_reply(&e.handle(1_050, id(3), rv(4, 3))).1,
            vote(4, true)
        );
    }

    #[test]
    fn config_validation_table() {
        use ElectionError::*;
        let with = |f: fn(&mut ElectionConfig)| {
            let mut c = ElectionConfig::default();
            f(&mut c);
            c.validate()
        };
        #[rustfmt::skip]
        let rows: Vec<(&str, Validation, Validation)> = vec![
            ("default", with(|_| {}), Ok(())),
            ("drift = lease", with(|c| c.max_clock_drift_ms = 10_000),
                Err(DriftNotBelowLease { max_clock_drift_ms: 10_000, lease_ms: 10_000 })),
            ("zero lease", with(|c| { c.lease_ms = 0; c.max_clock_drift_ms = 0 }),
                Err(DriftNotBelowLease { max_clock_drift_ms: 0, lease_ms: 0 })),
            ("heartbeat = usable lease", with(|c| c.heartbeat_ms = 9_500),
                Err(InvalidHeartbeat { heartbeat_ms: 9_500, usable_lease_ms: 9_500 })),
            ("heartbeat below usable lease", with(|c| c.heartbeat_ms = 9_499), Ok(())),
            ("zero heartbeat", with(|c| c.heartbeat_ms = 0),
                Err(InvalidHeartbeat { heartbeat_ms: 0, usable_lease_ms: 9_500 })),
            ("inverted timeout", with(|c| c.election_timeout_ms = (3, 2)),
                Err(InvalidElectionTimeout { min: 3, max: 2 })),
            ("zero timeout", with(|c| c.election_timeout_ms = (0, 2)),
                Err(InvalidElectionTimeout { min: 0, max: 2 })),
            ("fixed timeout", with(|c| c.election_timeout_ms = (5, 5)), Ok(())),
        ];
        for (case, got, expected) in rows {
            assert_eq!(got, expected, "{case}");
        }
        let bad = ElectionConfig {
            heartbeat_ms: 0,
            ..CFG
        };
        let err = Election::new(id(1), &members(3), bad, 0, 0).err();
        assert!(matches!(err, Some(InvalidHeartbeat { .. })), "{err:?}");
    }

    #[test]
    fn membership_errors() {
        let err = Election::new(id(9), &members(3), CFG, 0, 0).err();
        assert_eq!(err, Some(ElectionError::NotAMember(id(9))));
        let err = Election::new(id(1), &[id(1), id(2), id(1)], CFG, 0, 0).err();
        assert_eq!(err, Some(ElectionError::DuplicateMember(id(1))));
        assert_eq!(
            ElectionError::NotAMember(id(9)).to_string(),
            "T9.0 is not in the member list"
        );
    }

    #[test]
    fn timeouts_stay_in_their_rank_slot() {
        let (min, max) = CFG.election_timeout_ms;
        for n in 1..=10u16 {
            for me in 1..=n {
                let mut e = Election::new(id(me), &members(n), CFG, 0, u64::from(me) * 31).unwrap();
                let lo = min + (max - min) * u64::from(me - 1) / u64::from(n);
                let hi = min + (max - min) * u64::from(me) / u64::from(n);
                for _ in 0..200 {
                    let t = e.timeout();
                    assert!(
                        t >= lo && t <= hi && t <= max,
                        "n={n} me={me} t={t} slot={lo}..{hi}"
                    );
                }
            }
        }
    }
}
