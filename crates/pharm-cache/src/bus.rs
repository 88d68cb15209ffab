//! [`RedisBus`]: invalidation events delivered to every process over Redis pub/sub
//! (feature `redis`).
//!
//! Every process must apply every event to its own L1 ([`Caches::apply`]); the bus is how
//! one process's event reaches the others:
//!
//! * [`RedisBus::publish`] sends an [`Event`] as JSON on the channel `<prefix>events`. A
//!   namespace event (an Orange Book release, a payer's formulary version) is also recorded
//!   as its namespace's latest version, in the same Lua script, and not published at all
//!   when it is not newer than the recorded one (a replay).
//! * [`RedisBus::serve`] subscribes and applies each event to a process's [`Caches`]. Pub/sub
//!   keeps nothing for a disconnected subscriber, so while it is not subscribed L1 is
//!   suspended ([`Caches::suspend_l1`]: neither read nor filled), and it is resumed only
//!   once the subscription is back and the recorded namespace versions are caught up. A
//!   subscription that stays silent for a second is PINGed; no answer within a second
//!   counts as lost (a half-open connection is noticed within two seconds).
//! * [`RedisBus::catch_up`] is also what a process runs at start-up, before serving: it
//!   learns the current Orange Book release and formulary versions.
//!
//! Messages are untrusted: larger than [`MAX_EVENT_BYTES`] or not an event, they are counted
//! in [`BusStats::refused`] and skipped; the subscriber goes on. The limit is checked once
//! the client has read a message: what bounds a flood in memory is Redis's own
//! `client-output-buffer-limit pubsub` (it disconnects a subscriber that falls behind, which
//! suspends L1 until it is back). The channel and the two hashes are trusted: whoever may
//! write them can force reloads everywhere and, worse, move a namespace to a version far
//! ahead (a release numbered `u64::MAX`), after which every real version is refused as not
//! newer and readers keep the keys of the forged one until their TTL. Only the processes
//! that own the data may write them (Redis ACLs). Each process that applies a key event
//! writes its own L2 tombstone (N processes: N writes of one small value).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink, PubSubStream};
use tokio::time::timeout;

use crate::caches::Caches;
use crate::invalidate::{Event, InvalidationError};
use crate::key::Scope;

/// The largest event accepted from the channel or sent on it, bytes.
pub const MAX_EVENT_BYTES: usize = 4096;

/// The wait before subscribing again after the subscription was lost (and between tries
/// to catch up).
const RESUBSCRIBE_AFTER: Duration = Duration::from_millis(200);

/// A subscription silent for this long is PINGed.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// The time limit of a connection, a SUBSCRIBE or a PING on the subscription.
const LIMIT: Duration = Duration::from_secs(1);

/// Tries to catch up before the subscription is dropped and made again.
const CATCH_UP_TRIES: u32 = 5;

/// Records a namespace event if it is newer than the recorded one, then publishes it.
/// `KEYS`: versions hash, events hash. `ARGV`: channel, event, field, version (decimal,
/// no leading zeros: compared by length, then bytes, exact at any size). A key event has
/// no field and is only published. Returns 1 when published.
const PUBLISH: &str = r"
if ARGV[3] ~= '' then
  local cur = redis.call('HGET', KEYS[1], ARGV[3])
  if cur and (#cur > #ARGV[4] or (#cur == #ARGV[4] and cur >= ARGV[4])) then return 0 end
  redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[2])
end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
";

/// The bus could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Redis refused the command or could not be reached.
    #[error("event bus at {url}: {source}")]
    Redis {
        /// The URL (without its password).
        url: String,
        /// The client's error.
        #[source]
        source: redis::RedisError,
    },
    /// The event is larger than [`MAX_EVENT_BYTES`] once encoded.
    #[error("event of {len} bytes; the limit is {MAX_EVENT_BYTES}")]
    TooLarge {
        /// Its encoded size.
        len: usize,
    },
    /// A message or a recorded version is not an event (or not a namespace event).
    #[error("unreadable event {text:?}: {reason}")]
    Unreadable {
        /// Its first 64 characters.
        text: String,
        /// Why.
        reason: String,
    },
}

/// What a bus has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BusStats {
    /// Subscriptions made and caught up (the first and every one after a lost
    /// subscription); L1 was resumed after each.
    pub subscriptions: u64,
    /// Subscriptions lost (the stream ended, or a PING went unanswered); L1 was suspended
    /// after each.
    pub lost: u64,
    /// Events received and applied.
    pub applied: u64,
    /// Namespace events received that were not newer than this process's version.
    pub not_newer: u64,
    /// Messages refused: too large, not an event, or an event the policy cannot apply;
    /// and recorded namespace events that could not be read while catching up.
    pub refused: u64,
}

/// What [`RedisBus::catch_up`] did.
#[derive(Debug, Default)]
pub struct CaughtUp {
    /// The recorded namespace events applied (newer than this process's versions).
    pub applied: Vec<Event>,
    /// Recorded entries that could not be applied (each [`BusError::Unreadable`]); the
    /// others were applied all the same.
    pub refused: Vec<BusError>,
}

#[derive(Debug, Default)]
struct Counters {
    subscriptions: AtomicU64,
    lost: AtomicU64,
    applied: AtomicU64,
    not_newer: AtomicU64,
    refused: AtomicU64,
}

/// Invalidation events over Redis pub/sub (see the module documentation). Cheap to clone.
#[derive(Clone)]
pub struct RedisBus {
    client: redis::Client,
    connection: ConnectionManager,
    url: String,
    channel: String,
    versions: String,
    events: String,
    publish: Arc<redis::Script>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl RedisBus {
    /// Connects to `url`; the channel is `<prefix>events` and the recorded namespace
    /// versions live in the hashes `<prefix>ns:versions` and `<prefix>ns:events` (one prefix
    /// per tenant, as for [`crate::l2::RedisL2`]).
    ///
    /// # Errors
    ///
    /// [`BusError::Redis`] when the URL is invalid or the first connection fails.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, BusError> {
        let shown = crate::l2::redacted(url);
        let fail = |source| BusError::Redis {
            url: shown.clone(),
            source,
        };
        let client = redis::Client::open(url).map_err(fail)?;
        // Events are not on a read's path: a looser limit than the L2's 100 ms.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        let connection = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(fail)?;
        Ok(Self {
            client,
            connection,
            channel: format!("{prefix}events"),
            versions: format!("{prefix}ns:versions"),
            events: format!("{prefix}ns:events"),
            url: shown,
            publish: Arc::new(redis::Script::new(PUBLISH)),
            counters: Arc::default(),
        })
    }

    fn fail(&self) -> impl Fn(redis::RedisError) -> BusError + '_ {
        |source| BusError::Redis {
            url: self.url.clone(),
            source,
        }
    }

    /// Publishes `event` to every subscribed process; a namespace event is recorded as its
    /// namespace's version first. `false`: a namespace event not newer than the recorded
    /// version, neither recorded nor published. The publisher applies the event to its own
    /// caches itself (or through its own [`Self::serve`]).
    ///
    /// # Errors
    ///
    /// [`BusError::TooLarge`] for an event over [`MAX_EVENT_BYTES`]; [`BusError::Redis`]
    /// when Redis cannot be reached.
    pub async fn publish(&self, event: &Event) -> Result<bool, BusError> {
        let text = serde_json::to_string(event).map_err(|e| BusError::Unreadable {
            text: String::new(),
            reason: e.to_string(),
        })?;
        if text.len() > MAX_EVENT_BYTES {
            return Err(BusError::TooLarge { len: text.len() });
        }
        let (field, version) = match namespace_field(event) {
            Some((field, version)) => (field, itoa::Buffer::new().format(version).to_owned()),
            None => (String::new(), String::new()),
        };
        let mut connection = self.connection.clone();
        let published: i64 = self
            .publish
            .key(&self.versions)
            .key(&self.events)
            .arg(&self.channel)
            .arg(&text)
            .arg(&field)
            .arg(&version)
            .invoke_async(&mut connection)
            .await
            .map_err(self.fail())?;
        Ok(published == 1)
    }

    /// Applies the recorded namespace versions to `caches` (those newer than its own).
    /// A recorded entry that is not its field's namespace event is refused and reported in
    /// [`CaughtUp::refused`]; the other entries are applied all the same.
    ///
    /// # Errors
    ///
    /// [`BusError::Redis`] when Redis cannot be reached (nothing was applied).
    pub async fn catch_up(&self, caches: &Caches) -> Result<CaughtUp, BusError> {
        let mut connection = self.connection.clone();
        let recorded: Vec<(String, Vec<u8>)> = redis::cmd("HGETALL")
            .arg(&self.events)
            .query_async(&mut connection)
            .await
            .map_err(self.fail())?;
        let mut caught_up = CaughtUp::default();
        for (field, bytes) in recorded {
            let event = match parse(&bytes) {
                Ok(event) => event,
                Err(error) => {
                    caught_up.refused.push(error);
                    continue;
                }
            };
            if namespace_field(&event).map(|(f, _)| f).as_deref() != Some(field.as_str()) {
                let error = unreadable(&bytes, "not the namespace event of its field");
                caught_up.refused.push(error);
                continue;
            }
            match caches.apply(&event).await {
                Ok(_) => caught_up.applied.push(event),
                Err(InvalidationError::NotNewer { .. }) => {}
                Err(error) => caught_up
                    .refused
                    .push(unreadable(&bytes, &error.to_string())),
            }
        }
        Ok(caught_up)
    }

    /// Applies every event published on the channel to `caches`, for as long as it runs
    /// (spawn it; abort the task to stop). L1 is suspended whenever the process is not
    /// subscribed and caught up, and resumed once it is again (see the module
    /// documentation); a lost subscription is made again every 200 ms. Refused messages
    /// are counted, never fatal.
    pub async fn serve(&self, caches: &Caches) {
        caches.suspend_l1();
        loop {
            if let Some((mut sink, mut messages)) = self.subscribe().await
                && self.catch_up_retrying(caches).await
            {
                caches.resume_l1();
                add(&self.counters.subscriptions);
                self.listen(caches, &mut sink, &mut messages).await;
                caches.suspend_l1();
                add(&self.counters.lost);
            }
            tokio::time::sleep(RESUBSCRIBE_AFTER).await;
        }
    }

    async fn subscribe(&self) -> Option<(PubSubSink, PubSubStream)> {
        let pubsub = timeout(LIMIT, self.client.get_async_pubsub())
            .await
            .ok()?
            .ok()?;
        let (mut sink, messages) = pubsub.split();
        timeout(LIMIT, sink.subscribe(&self.channel))
            .await
            .ok()?
            .ok()?;
        Some((sink, messages))
    }

    /// Catches up, trying again a few times; whether it did.
    async fn catch_up_retrying(&self, caches: &Caches) -> bool {
        for _ in 0..CATCH_UP_TRIES {
            if let Ok(caught_up) = self.catch_up(caches).await {
                for _ in &caught_up.refused {
                    add(&self.counters.refused);
                }
                return true;
            }
            tokio::time::sleep(RESUBSCRIBE_AFTER).await;
        }
        false
    }

    /// Applies messages until the subscription is lost: its stream ends, or it was silent
    /// for [`HEARTBEAT`] and a PING got no answer within [`LIMIT`].
    async fn listen(&self, caches: &Caches, sink: &mut PubSubSink, messages: &mut PubSubStream) {
        loop {
            match timeout(HEARTBEAT, messages.next()).await {
                Ok(Some(message)) => self.receive(caches, message.get_payload_bytes()).await,
                Ok(None) => return,
                Err(_) => {
                    let pong = timeout(LIMIT, sink.ping::<redis::Value>()).await;
                    if !matches!(pong, Ok(Ok(_))) {
                        return;
                    }
                }
            }
        }
    }

    async fn receive(&self, caches: &Caches, bytes: &[u8]) {
        let Ok(event) = parse(bytes) else {
            add(&self.counters.refused);
            return;
        };
        match caches.apply(&event).await {
            Ok(_) => add(&self.counters.applied),
            Err(InvalidationError::NotNewer { .. }) => add(&self.counters.not_newer),
            Err(_) => add(&self.counters.refused),
        }
    }

    /// What this bus (and its clones) did so far.
    #[must_use]
    pub fn stats(&self) -> BusStats {
        let c = &self.counters;
        BusStats {
            subscriptions: c.subscriptions.load(Ordering::Relaxed),
            lost: c.lost.load(Ordering::Relaxed),
            applied: c.applied.load(Ordering::Relaxed),
            not_newer: c.not_newer.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
        }
    }
}

fn add(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The recorded-version field of a namespace event and its version.
fn namespace_field(event: &Event) -> Option<(String, u64)> {
    let (scope, version) = event.namespace()?;
    let name = match (event, scope) {
        (Event::OrangeBookRelease { .. }, Scope::Global) => "orange_book_release",
        (Event::PayerUpdated { .. }, Scope::Payer(_)) => "payer_updated",
        _ => return None,
    };
    Some((format!("{name}/{scope}"), version))
}

fn parse(bytes: &[u8]) -> Result<Event, BusError> {
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(BusError::TooLarge { len: bytes.len() });
    }
    serde_json::from_slice(bytes).map_err(|e| unreadable(bytes, &e.to_string()))
}

fn unreadable(bytes: &[u8], reason: &str) -> BusError {
    BusError::Unreadable {
        text: String::from_utf8_lossy(bytes).chars().take(64).collect(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_events_have_one_field_each_and_key_events_none() {
        let release = Event::OrangeBookRelease {
            release: 20_261_208,
        };
        assert_eq!(
            namespace_field(&release),
            Some(("orange_book_release/g".to_owned(), 20_261_208))
        );
        let payer = Event::PayerUpdated {
            payer: 610_014,
            version: 3,
        };
        assert_eq!(
            namespace_field(&payer),
            Some(("payer_updated/y610014".to_owned(), 3))
        );
        assert_eq!(
            namespace_field(&Event::Logout {
                session: "s1".into()
            }),
            None
        );
    }

    #[test]
    fn messages_are_bounded_and_must_be_events() {
        let big = vec![b' '; MAX_EVENT_BYTES + 1];
        assert!(
            matches!(parse(&big), Err(BusError::TooLarge { len }) if len == MAX_EVENT_BYTES + 1)
        );
        assert!(matches!(
            parse(b"{\"event\":\"drop_table\"}"),
            Err(BusError::Unreadable { .. })
        ));
        assert!(matches!(
            parse(b"\xff\xfe"),
            Err(BusError::Unreadable { .. })
        ));
        assert_eq!(
            parse(b"{\"event\":\"logout\",\"session\":\"s1\"}").ok(),
            Some(Event::Logout {
                session: "s1".into()
            })
        );
    }
}
