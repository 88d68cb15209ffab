//! Deterministic simulation of the store-level leader election (`pharm_sync::leader`).
//!
//! Virtual real time in milliseconds; every terminal has its own clock (arbitrary offset,
//! optionally a bounded rate error); the network drops, duplicates, delays (hence reorders)
//! and partitions messages; terminals pause, resume, and restart from their persisted state.
//! After every event the simulator checks that no two terminals have `is_leader` at that real
//! instant (all terminals are checked, paused ones included: a paused process that wakes up
//! consults the same state), that terms only grow, that a term has at most one leader, and
//! that no terminal votes or campaigns while its promise to a leader runs. It also checks the
//! lemma behind safety directly: while a terminal leads, a quorum (itself included) still
//! runs a promise, made in that term, to it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use pharm_sync::ids::ReplicaId;
use pharm_sync::leader::{
    Election, ElectionConfig, ElectionMessage, Outgoing, PersistentState, Role, Target,
};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

/// SplitMix64, for the network's coin flips.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.next() % 100 < u64::from(percent)
    }
}

/// A terminal's monotonic clock: `local = offset + real + real * ppm / 1e6`.
#[derive(Debug, Clone, Copy)]
struct Clock {
    offset: u64,
    ppm: i64,
}

impl Clock {
    fn local(&self, real: u64) -> u64 {
        let skew = (i128::from(real) * i128::from(self.ppm)).div_euclid(1_000_000);
        u64::try_from(i128::from(self.offset) + i128::from(real) + skew).unwrap()
    }

    /// The earliest real time `>= not_before` at which this clock reads at least `target`.
    fn real_at(&self, target: u64, not_before: u64) -> u64 {
        let start = self.local(not_before);
        if start >= target {
            return not_before;
        }
        let delta = i128::from(target - start) * 1_000_000 / (1_000_000 + i128::from(self.ppm));
        let mut real = not_before + u64::try_from(delta).unwrap();
        while self.local(real) < target {
            real += 1;
        }
        while real > not_before && self.local(real - 1) >= target {
            real -= 1;
        }
        real
    }
}

/// The largest rate error (ppm) the drift margin covers, with 10 % slack for rounding: two
/// clocks must disagree about a `lease_ms` interval by less than `max_clock_drift_ms`.
fn max_ppm(config: &ElectionConfig) -> i64 {
    let margin = config.max_clock_drift_ms as i64 - 2;
    let ppm = margin * 1_000_000 / (2 * config.lease_ms as i64 - margin);
    ppm * 9 / 10
}

#[derive(Debug, Clone)]
struct Network {
    /// `cut[from * n + to]`: the directed link is down. Cuts need not be symmetric nor
    /// transitive (A hears B, B hears C, A does not hear C).
    cut: Vec<bool>,
    drop_pct: u32,
    dup_pct: u32,
    min_delay: u64,
    /// Delay of the "slow" messages; the others take at most `min_delay + 20`.
    max_delay: u64,
    /// Share of slow messages (heavy tail); 100 makes all delays uniform up to `max_delay`.
    slow_pct: u32,
}

impl Network {
    fn healthy(n: usize, min_delay: u64, max_delay: u64) -> Self {
        Network {
            cut: vec![false; n * n],
            drop_pct: 0,
            dup_pct: 0,
            min_delay,
            max_delay,
            slow_pct: 100,
        }
    }

    fn n(&self) -> usize {
        self.cut.len().isqrt()
    }

    fn link(&self, from: usize, to: usize) -> bool {
        !self.cut[from * self.n() + to]
    }

    /// Terminals talk only within their group.
    fn partition(&mut self, groups: &[u8]) {
        let n = groups.len();
        self.cut = (0..n * n).map(|k| groups[k / n] != groups[k % n]).collect();
    }

    fn delay(&self, rng: &mut Rng) -> u64 {
        if rng.chance(self.slow_pct) {
            rng.between(self.min_delay, self.max_delay)
        } else {
            rng.between(self.min_delay, self.max_delay.min(self.min_delay + 20))
        }
    }
}

struct Node {
    id: ReplicaId,
    clock: Clock,
    election: Election,
    /// A terminal that is down neither receives nor ticks (paused or crashed).
    up: bool,
    /// What the terminal stored durably (updated before its outputs are sent).
    persisted: PersistentState,
    /// Real time of the next tick.
    next_tick: u64,
    highest_term: u64,
    /// Local time before which this terminal may neither vote nor campaign, by the
    /// simulator's own account (acked heartbeats, own heartbeats, restarts).
    promise_end: u64,
    /// Per (leader, term): local time until which this terminal promised that leader, by
    /// acking its heartbeat (or, for the leader itself, sending one).
    promises: BTreeMap<(ReplicaId, u64), u64>,
    /// Real time and sender of the last heartbeat this terminal acked.
    last_acked_heartbeat: Option<(u64, ReplicaId)>,
    /// The candidate this terminal voted for in each term (across restarts).
    votes: BTreeMap<u64, ReplicaId>,
    seed: u64,
}

struct Sim {
    config: ElectionConfig,
    members: Vec<ReplicaId>,
    nodes: Vec<Node>,
    now: u64,
    /// (delivery time, sequence number) of messages in flight.
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    in_flight: BTreeMap<u64, (usize, usize, ElectionMessage)>,
    seq: u64,
    net: Network,
    rng: Rng,
    leader_of_term: BTreeMap<u64, ReplicaId>,
    /// Longest delay any message was given.
    max_delay_seen: u64,
    events: u64,
}

fn id(terminal: usize) -> ReplicaId {
    ReplicaId::new(u16::try_from(terminal).unwrap(), 7)
}

impl Sim {
    fn new(config: ElectionConfig, clocks: &[Clock], seed: u64) -> Self {
        let members: Vec<ReplicaId> = (1..=clocks.len()).map(id).collect();
        let nodes = clocks
            .iter()
            .enumerate()
            .map(|(i, &clock)| {
                let node_seed = seed.wrapping_add(i as u64);
                let election =
                    Election::new(members[i], &members, config, clock.local(0), node_seed).unwrap();
                let mut node = Node {
                    id: members[i],
                    clock,
                    persisted: election.persistent_state(),
                    highest_term: election.term(),
                    election,
                    up: true,
                    next_tick: 0,
                    promise_end: 0,
                    promises: BTreeMap::new(),
                    last_acked_heartbeat: None,
                    votes: BTreeMap::new(),
                    seed: node_seed,
                };
                node.next_tick = clock.real_at(node.election.poll_timeout().unwrap(), 0);
                node
            })
            .collect();
        let mut sim = Sim {
            config,
            net: Network::healthy(clocks.len(), 0, 20),
            members,
            nodes,
            now: 0,
            queue: BinaryHeap::new(),
            in_flight: BTreeMap::new(),
            seq: 0,
            rng: Rng(seed ^ 0xA5A5_A5A5),
            leader_of_term: BTreeMap::new(),
            max_delay_seen: 0,
            events: 0,
        };
        for i in 0..sim.nodes.len() {
            sim.observe(i, &[]);
        }
        sim.check();
        sim
    }

    fn local(&self, i: usize) -> u64 {
        self.nodes[i].clock.local(self.now)
    }

    fn is_leader(&self, i: usize) -> bool {
        self.nodes[i].election.is_leader(self.local(i))
    }

    fn leaders(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.is_leader(i))
            .collect()
    }

    /// Processes the next event if it is due at or before `until`.
    fn step(&mut self, until: u64) -> bool {
        let message = self.queue.peek().map(|Reverse((at, seq))| (*at, *seq));
        let tick = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].up)
            .map(|i| (self.nodes[i].next_tick, i))
            .min();
        let deliver = match (message, tick) {
            (Some((at, _)), Some((t, _))) => at <= t,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return false,
        };
        let at = if deliver {
            message.unwrap().0
        } else {
            tick.unwrap().0
        };
        if at > until {
            return false;
        }
        assert!(at >= self.now, "time went backwards");
        self.now = at;
        self.events += 1;
        assert!(self.events < 2_000_000, "runaway simulation");
        if deliver {
            let Reverse((_, seq)) = self.queue.pop().unwrap();
            let (from, to, msg) = self.in_flight.remove(&seq).unwrap();
            if self.nodes[to].up && self.net.link(from, to) {
                let local = self.local(to);
                let sender = self.nodes[from].id;
                let out = self.nodes[to].election.handle(local, sender, msg);
                self.observe(to, &out);
                if let ElectionMessage::Heartbeat { term, .. } = msg
                    && out.iter().any(|o| {
                        matches!(o.msg, ElectionMessage::HeartbeatAck { term: t, .. } if t == term)
                    })
                {
                    let node = &mut self.nodes[to];
                    let end = local + self.config.lease_ms;
                    node.last_acked_heartbeat = Some((self.now, sender));
                    node.promise_end = node.promise_end.max(end);
                    let promise = node.promises.entry((sender, term)).or_default();
                    *promise = (*promise).max(end);
                }
                self.send(to, out);
            }
        } else {
            let (_, i) = tick.unwrap();
            let local = self.local(i);
            let out = self.nodes[i].election.tick(local);
            let next = self.nodes[i].election.poll_timeout().unwrap();
            assert!(next > local, "tick at {local} left the timer at {next}");
            self.observe(i, &out);
            self.send(i, out);
        }
        self.check();
        true
    }

    fn run_until(&mut self, until: u64) {
        while self.step(until) {}
        assert!(until >= self.now);
        self.now = until;
        self.check();
    }

    /// Bookkeeping and per-terminal invariants after terminal `i` processed an event.
    fn observe(&mut self, i: usize, out: &[Outgoing]) {
        let local = self.local(i);
        let lease = self.config.lease_ms;
        let now = self.now;
        let node = &mut self.nodes[i];
        let term = node.election.term();
        assert!(
            term >= node.highest_term,
            "{}: term {} -> {term}",
            node.id,
            node.highest_term
        );
        node.highest_term = term;
        node.persisted = node.election.persistent_state();
        if node.election.role() == Role::Leader {
            let first = *self.leader_of_term.entry(term).or_insert(node.id);
            assert_eq!(first, node.id, "two leaders in term {term}");
        }
        for o in out {
            // Everything a terminal sends is in its current term, except pre-vote requests
            // and granted pre-votes, which name the proposed term.
            let (msg_term, expected) = match o.msg {
                ElectionMessage::RequestVote {
                    term: t,
                    pre_vote: true,
                    ..
                } => (t, term + 1),
                ElectionMessage::Vote {
                    granted: true,
                    pre_vote: true,
                    ..
                } => (term, term),
                ElectionMessage::RequestVote { term: t, .. }
                | ElectionMessage::Vote { term: t, .. }
                | ElectionMessage::Heartbeat { term: t, .. }
                | ElectionMessage::HeartbeatAck { term: t, .. } => (t, term),
            };
            assert_eq!(
                msg_term, expected,
                "{} in term {term} sent {:?}",
                node.id, o.msg
            );
            let candidate = match (o.msg, o.to) {
                (
                    ElectionMessage::RequestVote {
                        pre_vote: false, ..
                    },
                    _,
                ) => Some(node.id),
                (
                    ElectionMessage::Vote {
                        granted: true,
                        pre_vote: false,
                        ..
                    },
                    Target::One(c),
                ) => Some(c),
                _ => None,
            };
            if let Some(candidate) = candidate {
                let first = *node.votes.entry(term).or_insert(candidate);
                assert_eq!(first, candidate, "{} voted twice in term {term}", node.id);
            }
            match o.msg {
                ElectionMessage::Vote { granted: true, .. }
                | ElectionMessage::RequestVote { .. } => assert!(
                    local >= node.promise_end,
                    "{} voted or campaigned at local {local} (real {now}) while promised until {}: {:?}",
                    node.id,
                    node.promise_end,
                    o.msg
                ),
                ElectionMessage::HeartbeatAck { .. } | ElectionMessage::Heartbeat { .. } => {}
                ElectionMessage::Vote { granted: false, .. } => {}
            }
            if let ElectionMessage::Heartbeat { term, .. } = o.msg {
                node.promise_end = node.promise_end.max(local + lease);
                let promise = node.promises.entry((node.id, term)).or_default();
                *promise = (*promise).max(local + lease);
            }
        }
        node.next_tick = node
            .clock
            .real_at(node.election.poll_timeout().unwrap(), now);
    }

    fn send(&mut self, from: usize, out: Vec<Outgoing>) {
        for Outgoing { to, msg } in out {
            let targets: Vec<usize> = match to {
                Target::One(target) => {
                    vec![self.members.iter().position(|&m| m == target).unwrap()]
                }
                Target::All => (0..self.nodes.len()).filter(|&j| j != from).collect(),
            };
            for to in targets {
                if self.rng.chance(self.net.drop_pct) {
                    continue;
                }
                let copies = if self.rng.chance(self.net.dup_pct) {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let delay = self.net.delay(&mut self.rng);
                    self.max_delay_seen = self.max_delay_seen.max(delay);
                    self.seq += 1;
                    self.queue.push(Reverse((self.now + delay, self.seq)));
                    self.in_flight.insert(self.seq, (from, to, msg));
                }
            }
        }
    }

    /// The safety property, at the current real instant, and the lemma behind it.
    fn check(&self) {
        let leaders = self.leaders();
        let quorum = self.nodes.len() / 2 + 1;
        // (A lone member promises itself without sending anything the simulator could see.)
        for &l in leaders.iter().filter(|_| self.nodes.len() > 1) {
            let key = (self.nodes[l].id, self.nodes[l].election.term());
            let backing = (0..self.nodes.len())
                .filter(|&j| {
                    self.nodes[j]
                        .promises
                        .get(&key)
                        .is_some_and(|&end| self.local(j) < end)
                })
                .count();
            assert!(
                backing >= quorum,
                "{:?} leads at real {} backed by {backing} promises (quorum {quorum})",
                key,
                self.now
            );
        }
        assert!(
            leaders.len() <= 1,
            "two leaders at real {}: {:?}",
            self.now,
            leaders
                .iter()
                .map(|&i| (self.nodes[i].id, self.nodes[i].election.term()))
                .collect::<Vec<_>>()
        );
    }

    /// Pauses terminal `i` (its clock keeps running; it neither receives nor ticks).
    fn pause(&mut self, i: usize) {
        self.nodes[i].up = false;
    }

    /// Resumes a paused terminal with its state, or restarts it from its persisted state
    /// (with a fresh clock offset, as after a reboot).
    fn resume(&mut self, i: usize, restart: bool, new_offset: u64) {
        if self.nodes[i].up {
            return;
        }
        self.nodes[i].up = true;
        if restart {
            let node = &mut self.nodes[i];
            // The restored terminal forgets its promises but keeps silent for a lease, which
            // covers what remained of them: carry them over to the new clock.
            let old_local = node.clock.local(self.now);
            node.clock.offset = new_offset;
            node.seed = node.seed.wrapping_add(1_000);
            let local = node.clock.local(self.now);
            for end in node.promises.values_mut() {
                *end = local + end.saturating_sub(old_local);
            }
            node.election = Election::restore(
                node.id,
                &self.members,
                self.config,
                local,
                node.seed,
                node.persisted,
            )
            .unwrap();
            node.promise_end = if self.members.len() > 1 {
                local + self.config.lease_ms
            } else {
                0
            };
            node.last_acked_heartbeat = None;
        }
        self.observe(i, &[]);
        self.check();
    }
}

#[derive(Debug, Clone)]
struct Phase {
    duration: u64,
    net: Network,
    down: Vec<bool>,
    restart: Vec<bool>,
}

/// Healthy links, a partition into groups, or each directed link cut at random.
fn cuts(n: usize) -> impl Strategy<Value = Vec<bool>> {
    prop_oneof![
        Just(vec![false; n * n]),
        prop::collection::vec(0u8..3, n).prop_map(move |groups| {
            let mut net = Network::healthy(n, 0, 0);
            net.partition(&groups);
            net.cut
        }),
        prop::collection::vec(prop::bool::weighted(0.3), n * n),
    ]
}

fn phase(n: usize) -> impl Strategy<Value = Phase> {
    (
        0u64..=25_000,
        cuts(n),
        prop_oneof![Just(0u32), 0u32..=60],
        prop_oneof![Just(0u32), 0u32..=40],
        prop_oneof![0u64..=50, 0u64..=2_000, 0u64..=15_000],
        prop_oneof![Just(100u32), 1u32..=30],
        prop::collection::vec(prop::bool::weighted(0.2), n),
        prop::collection::vec(any::<bool>(), n),
    )
        .prop_map(
            |(duration, cut, drop_pct, dup_pct, max_delay, slow_pct, down, restart)| {
                let net = Network {
                    cut,
                    drop_pct,
                    dup_pct,
                    min_delay: 0,
                    max_delay,
                    slow_pct,
                };
                Phase {
                    duration,
                    net,
                    down,
                    restart,
                }
            },
        )
}

fn configs() -> [ElectionConfig; 2] {
    [
        ElectionConfig::default(),
        ElectionConfig {
            lease_ms: 1_000,
            heartbeat_ms: 300,
            election_timeout_ms: (50, 250),
            max_clock_drift_ms: 100,
        },
    ]
}

/// Clocks: arbitrary offsets, rate errors as a per-mille fraction of what the margin covers.
fn clocks(config: &ElectionConfig, raw: &[(u64, i64)]) -> Vec<Clock> {
    let ppm = max_ppm(config);
    raw.iter()
        .map(|&(offset, permille)| Clock {
            offset,
            ppm: ppm * permille / 1_000,
        })
        .collect()
}

#[derive(Debug, Clone)]
struct Scenario {
    n: usize,
    config: usize,
    seed: u64,
    clocks: Vec<(u64, i64)>,
    phases: Vec<Phase>,
    /// How terminals down in the last phase come back: restart (else resume).
    final_restart: Vec<bool>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (1usize..=7).prop_flat_map(|n| {
        (
            Just(n),
            0usize..2,
            any::<u64>(),
            prop::collection::vec((0u64..=1_000_000_000, -1_000i64..=1_000), n),
            prop::collection::vec(phase(n), 0..=5),
            prop::collection::vec(any::<bool>(), n),
        )
            .prop_map(
                |(n, config, seed, clocks, phases, final_restart)| Scenario {
                    n,
                    config,
                    seed,
                    clocks,
                    phases,
                    final_restart,
                },
            )
    })
}

/// Runs a scenario's faulty phases, then heals everything; returns the healed simulation
/// and the real time of the heal.
fn run_chaos(s: &Scenario) -> (Sim, u64) {
    let config = configs()[s.config];
    let mut sim = Sim::new(config, &clocks(&config, &s.clocks), s.seed);
    let mut offsets = Rng(s.seed.rotate_left(17));
    for phase in &s.phases {
        sim.net = phase.net.clone();
        for i in 0..s.n {
            if phase.down[i] {
                sim.pause(i);
            } else {
                sim.resume(i, phase.restart[i], offsets.between(0, 1_000_000_000));
            }
        }
        let end = sim.now + phase.duration;
        sim.run_until(end);
    }
    sim.net = Network::healthy(s.n, 0, 20);
    for i in 0..s.n {
        sim.resume(i, s.final_restart[i], offsets.between(0, 1_000_000_000));
    }
    let healed = sim.now;
    (sim, healed)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        max_shrink_iters: 2_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// (1) never two leaders, (2) terms only grow (both checked after every event), and
    /// (3) after healing, exactly one leader that everyone agrees on, and it stays.
    #[test]
    fn safety_under_faults_and_liveness_after_heal(s in scenario()) {
        let (mut sim, healed) = run_chaos(&s);
        let config = sim.config;
        // Late messages from the faulty phases land within `max_delay_seen`; after that a
        // term clash costs at most one lease plus a few election rounds.
        let settle = sim.max_delay_seen
            + 3 * config.lease_ms
            + 30 * config.election_timeout_ms.1;
        sim.run_until(healed + settle);
        let leaders = sim.leaders();
        prop_assert_eq!(leaders.len(), 1, "no single leader {} ms after the heal", settle);
        let leader = sim.nodes[leaders[0]].id;
        let term = sim.nodes[leaders[0]].election.term();
        for i in 0..s.n {
            let node = &sim.nodes[i];
            prop_assert_eq!(node.election.leader(sim.local(i)), Some(leader), "{} disagrees", node.id);
            prop_assert_eq!(node.election.term(), term);
        }
        // A healthy network keeps its leader.
        let end = sim.now + 3 * config.lease_ms;
        while sim.step(end) {
            prop_assert_eq!(sim.leaders(), vec![leaders[0]], "leader changed at real {}", sim.now);
        }
        sim.run_until(end);
        prop_assert_eq!(sim.nodes[leaders[0]].election.term(), term);
    }

    /// (5) After the leader crashes, the others elect a new leader once its lease expired,
    /// never before: followers keep their view of it until exactly one lease after the last
    /// heartbeat they acked, and nobody campaigns before that plus the minimum timeout.
    #[test]
    fn leader_crash_new_leader_after_lease_not_before(
        n in 3usize..=7,
        config in 0usize..2,
        seed in any::<u64>(),
        offsets in prop::collection::vec(0u64..=1_000_000_000, 7),
        delay in 0u64..=20,
        crash_after in 0u64..=20_000,
    ) {
        let config = configs()[config];
        let lease = config.lease_ms;
        let (min_timeout, max_timeout) = config.election_timeout_ms;
        // Equal clock rates (arbitrary offsets), constant delay, no loss: every follower acks
        // the last heartbeat at the same real instant, which makes the boundary exact.
        let clocks: Vec<Clock> = offsets[..n].iter().map(|&offset| Clock { offset, ppm: 0 }).collect();
        let mut sim = Sim::new(config, &clocks, seed);
        sim.net = Network::healthy(n, delay, delay);
        sim.run_until(max_timeout + 10 * delay + 1);
        let leaders = sim.leaders();
        prop_assert_eq!(leaders.len(), 1, "cold start elects within one timeout");
        let old = leaders[0];
        let old_id = sim.nodes[old].id;
        let term = sim.nodes[old].election.term();

        sim.run_until(sim.now + crash_after);
        prop_assert_eq!(sim.leaders(), vec![old]);
        let crash = sim.now;
        sim.pause(old); // forever
        // Heartbeats already sent still arrive.
        sim.run_until(crash + delay);
        let survivors: Vec<usize> = (0..n).filter(|&i| i != old).collect();
        let last: Vec<(u64, ReplicaId)> = survivors
            .iter()
            .map(|&i| sim.nodes[i].last_acked_heartbeat.unwrap())
            .collect();
        let acked_at = last[0].0;
        prop_assert!(last.iter().all(|&l| l == (acked_at, old_id)), "{:?}", last);
        prop_assert!(acked_at <= crash + delay);

        // Up to the boundary, every survivor still follows the old leader in its term.
        sim.run_until(acked_at + lease - 1);
        for &i in &survivors {
            let e = &sim.nodes[i].election;
            prop_assert_eq!(e.leader(sim.local(i)), Some(old_id));
            prop_assert_eq!((e.role(), e.term()), (Role::Follower, term));
        }
        // The old leader's own lease has ended by then (drift margin).
        prop_assert!(!sim.is_leader(old));
        sim.run_until(acked_at + lease);
        for &i in &survivors {
            prop_assert_eq!(sim.nodes[i].election.leader(sim.local(i)), None);
        }
        // Nobody campaigns before the minimum election timeout after the lease.
        let earliest = acked_at + lease + min_timeout;
        while sim.step(earliest - 1) {
            for &i in &survivors {
                let e = &sim.nodes[i].election;
                prop_assert_eq!((e.role(), e.term()), (Role::Follower, term), "at real {}", sim.now);
            }
        }
        // And a new leader arrives within a few election rounds.
        let deadline = acked_at + lease + 10 * max_timeout;
        let mut new_leader = None;
        while new_leader.is_none() && sim.step(deadline) {
            new_leader = sim.leaders().first().copied();
        }
        let new_leader = new_leader.expect("no new leader within 10 election timeouts");
        prop_assert!(new_leader != old);
        // Pre-vote, vote and heartbeat round trips come on top.
        prop_assert!(sim.now >= earliest + 6 * delay, "elected at {} before {}", sim.now, earliest);
        prop_assert!(sim.nodes[new_leader].election.term() > term);
    }
}

/// (4) A single-member store leads at once and keeps leading, whatever the network does.
#[test]
fn single_member_store_elects_itself_immediately() {
    let config = ElectionConfig::default();
    let mut sim = Sim::new(
        config,
        &[Clock {
            offset: 12_345,
            ppm: 0,
        }],
        1,
    );
    assert_eq!(sim.leaders(), vec![0]);
    assert_eq!(sim.nodes[0].election.term(), 1);
    assert_eq!(sim.nodes[0].election.leader(sim.local(0)), Some(id(1)));
    sim.net.drop_pct = 100;
    let end = 3_600_000;
    while sim.step(end) {
        assert_eq!(sim.leaders(), vec![0]);
    }
    assert_eq!(sim.nodes[0].election.term(), 1);
    assert!(sim.in_flight.is_empty(), "nothing to send");
}

/// Cold start of a healthy store: the lowest terminal id wins, within one election timeout.
#[test]
fn cold_start_prefers_lowest_terminal() {
    for n in 2..=10 {
        let config = ElectionConfig::default();
        let clocks = vec![Clock { offset: 0, ppm: 0 }; n];
        let mut sim = Sim::new(config, &clocks, 99);
        sim.net = Network::healthy(n, 1, 1);
        sim.run_until(config.election_timeout_ms.1);
        assert_eq!(sim.leaders(), vec![0], "n = {n}");
        for i in 0..n {
            assert_eq!(sim.nodes[i].election.leader(sim.local(i)), Some(id(1)));
        }
    }
}

/// A terminal cut off from the others does not inflate its term (pre-vote), so it does not
/// depose the leader when it comes back.
#[test]
fn isolated_terminal_does_not_disrupt_on_return() {
    let config = ElectionConfig::default();
    let clocks = vec![Clock { offset: 0, ppm: 0 }; 5];
    let mut sim = Sim::new(config, &clocks, 5);
    sim.run_until(10_000);
    let leader = sim.leaders()[0];
    let term = sim.nodes[leader].election.term();
    let isolated = (leader + 1) % 5;
    let mut groups = [0; 5];
    groups[isolated] = 1;
    sim.net.partition(&groups);
    sim.run_until(200_000);
    assert_eq!(sim.nodes[isolated].election.term(), term);
    assert_eq!(
        sim.nodes[isolated].election.leader(sim.local(isolated)),
        None
    );
    sim.net.partition(&[0; 5]);
    let end = sim.now + 60_000;
    while sim.step(end) {
        assert_eq!(sim.leaders(), vec![leader]);
    }
    assert_eq!(
        sim.nodes[isolated].election.leader(sim.local(isolated)),
        Some(sim.nodes[leader].id)
    );
    assert_eq!(sim.nodes[leader].election.term(), term);
}

/// A minority partition loses its leader's lease; the majority elects another only after it.
#[test]
fn leader_in_minority_steps_down_majority_takes_over() {
    let config = ElectionConfig::default();
    let clocks: Vec<Clock> = (0..5)
        .map(|i| Clock {
            offset: i * 1_000_003,
            ppm: 0,
        })
        .collect();
    let mut sim = Sim::new(config, &clocks, 11);
    sim.run_until(10_000);
    let old = sim.leaders()[0];
    let old_term = sim.nodes[old].election.term();
    let minority = [old, (old + 1) % 5];
    let groups: Vec<u8> = (0..5).map(|i| u8::from(minority.contains(&i))).collect();
    sim.net.partition(&groups);
    let cut = sim.now;
    sim.run_until(cut + 60_000);
    let new = sim.leaders();
    assert_eq!(new.len(), 1);
    assert!(!minority.contains(&new[0]));
    // The deposed leader keeps asking for pre-votes, but without a quorum it never bumps its
    // term, so it will not disrupt the majority's leader on return.
    assert_ne!(sim.nodes[old].election.role(), Role::Leader);
    assert_eq!(sim.nodes[old].election.term(), old_term);
    // Heal: everyone converges on the majority's leader.
    sim.net.partition(&[0; 5]);
    sim.run_until(sim.now + 30_000);
    assert_eq!(sim.leaders(), new);
    for i in 0..5 {
        assert_eq!(
            sim.nodes[i].election.leader(sim.local(i)),
            Some(sim.nodes[new[0]].id)
        );
    }
}

#[test]
fn clock_model_round_trips() {
    for ppm in [-25_000, -1, 0, 1, 25_000] {
        let clock = Clock { offset: 777, ppm };
        for real in [0u64, 1, 999, 1_000_000, 123_456_789] {
            let local = clock.local(real);
            let back = clock.real_at(local, 0);
            assert!(
                back <= real && clock.local(back) >= local,
                "ppm {ppm} real {real}"
            );
        }
    }
}
