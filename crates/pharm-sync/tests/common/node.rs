//! Sessions between peers in memory and durable terminal stores.

use pharm_sync::message::Message;
use pharm_sync::protocol::Peer;
use pharm_sync::store::TerminalStore;

/// Either side of a session: a peer in memory or a durable store.
pub trait Node {
    /// Opens a session.
    fn hello(&mut self, now: u64) -> Message;
    /// Answers a message.
    fn on(&mut self, now: u64, m: Message) -> Vec<Message>;
}

impl Node for Peer {
    fn hello(&mut self, now: u64) -> Message {
        Peer::hello(self, now).unwrap()
    }
    fn on(&mut self, now: u64, m: Message) -> Vec<Message> {
        self.handle(now, m).unwrap()
    }
}

impl Node for TerminalStore {
    fn hello(&mut self, now: u64) -> Message {
        self.peer().hello(now).unwrap()
    }
    fn on(&mut self, now: u64, m: Message) -> Vec<Message> {
        self.apply_messages(now, m).unwrap()
    }
}

/// Runs a session of `client` against `server` until quiet.
pub fn session(client: &mut impl Node, server: &mut impl Node, now: u64) {
    let mut up = vec![client.hello(now)];
    for _ in 0..100 {
        let down: Vec<Message> = up.drain(..).flat_map(|m| server.on(now, m)).collect();
        up = down.into_iter().flat_map(|m| client.on(now, m)).collect();
        if up.is_empty() {
            return;
        }
    }
    panic!("sync did not settle");
}
