//! The publish-subscribe broker: publishers send to topics, subscribers receive the topics
//! they chose; in broadcast mode every subscriber receives everything.
//!
//! Built on the communication types: a subscription is a synchronous request (answered once
//! the broker has registered it, so nothing published afterwards is missed), a publication is
//! an asynchronous message or, confirmed, a synchronous request answered with the number of
//! subscribers reached, and each delivery is an asynchronous message to the subscriber.
//!
//! The broker runs on the servers' event loop: a publication is fanned out at once, without
//! waiting for any subscriber. Each subscriber has a bounded queue ([`SUBSCRIBER_QUEUE`]
//! deliveries and [`SUBSCRIBER_QUEUE_BYTES`] bytes, besides what its socket holds); a
//! subscriber that falls behind *lags*: what does not fit is dropped for it alone, and its next
//! delivery says how many it missed ([`Delivery::missed`], as the core's `Broadcast` reports
//! `Lagged`). A subscriber that reads nothing for the stream's write timeout is disconnected
//! with that reason. Publishers and the other subscribers never wait for it. A subscriber that
//! disconnects is noticed at once and removed.
//!
//! Topics are UTF-8 text without newlines: the client refuses other topics, and the broker
//! closes a connection that sends one, saying why.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use super::reactor::{self, Service};
use super::{Listener, ServerConfig, ServerHandle};
use crate::NetError;
use crate::comm::{Endpoint, Incoming};
use crate::transport::Transport;

pub(crate) const OP_PUBLISH: u8 = b'P';
pub(crate) const OP_SUBSCRIBE: u8 = b'S';

/// Deliveries waiting for one subscriber in the broker, at most (besides about 64 KiB being
/// written and what the socket buffers hold); past it the subscriber lags.
pub const SUBSCRIBER_QUEUE: usize = 1024;

/// Bytes of deliveries waiting for one subscriber in the broker, at most; past it the
/// subscriber lags. Deliveries are shared between subscribers, so this bounds what one slow
/// subscriber can keep alive.
pub const SUBSCRIBER_QUEUE_BYTES: usize = 4 << 20;

/// Topics of one subscriber, at most: a subscription past it closes the connection, saying
/// why (the routing table stays bounded).
pub const MAX_TOPICS: usize = 1024;

/// Bytes of topics of one subscriber, at most (the sum of their lengths): a subscription past
/// it closes the connection, saying why, so that no subscriber can make the routing table hold
/// more than this (a topic is also at most 65,535 bytes, the most a publication can name).
pub const MAX_TOPIC_BYTES: usize = 256 * 1024;

/// The longest topic: a publication names its topic with a 16-bit length.
pub(crate) const MAX_TOPIC_LEN: usize = u16::MAX as usize;

/// Bytes of deliveries written ahead into a subscriber's output buffer.
const WRITE_AHEAD: usize = 64 * 1024;

/// Bytes before a delivery's topic: the number of deliveries missed just before it.
const MISSED_LEN: usize = 8;

/// How a [`Broker`] runs.
///
/// # Examples
///
/// ```
/// use lockstep_hosted::server::BrokerConfig;
///
/// assert!(!BrokerConfig::default().broadcast);
/// ```
#[derive(Debug, Clone, Default)]
pub struct BrokerConfig {
    /// Deliver every publication to every subscriber, whatever its topics.
    pub broadcast: bool,
    /// The stream server underneath: the connection limit, the deadlines, the frame size
    /// (`workers` is not used: the broker never blocks). A subscriber is never closed for being
    /// idle; one that does not read is closed after `server.stream.write_timeout`.
    pub server: ServerConfig,
}

/// A message as a subscriber receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The topic it was published to.
    pub topic: String,
    /// The payload.
    pub body: Vec<u8>,
    /// Publications to this subscriber's topics that the broker dropped for it, just before
    /// this one, because it fell behind.
    pub missed: u64,
}

/// The broker's routing table: subscribers (connection tokens) by topic.
#[derive(Debug, Default)]
pub(crate) struct Topics {
    broadcast: bool,
    by_topic: HashMap<String, Vec<usize>>,
    all: Vec<usize>,
}

impl Topics {
    pub(crate) fn matching(&self, topic: &str) -> Vec<usize> {
        if self.broadcast {
            self.all.clone()
        } else {
            self.by_topic.get(topic).cloned().unwrap_or_default()
        }
    }

    pub(crate) fn add(&mut self, topic: &str, token: usize) {
        let subs = self.by_topic.entry(topic.to_owned()).or_default();
        if !subs.contains(&token) {
            subs.push(token);
        }
    }

    pub(crate) fn add_subscriber(&mut self, token: usize) {
        if !self.all.contains(&token) {
            self.all.push(token);
        }
    }

    pub(crate) fn remove(&mut self, topics: &[String], token: usize) {
        for t in topics {
            if let Some(subs) = self.by_topic.get_mut(t) {
                subs.retain(|&s| s != token);
                if subs.is_empty() {
                    self.by_topic.remove(t);
                }
            }
        }
        self.all.retain(|&s| s != token);
    }
}

/// One subscriber's topics and queue.
#[derive(Debug, Default)]
pub(crate) struct Subscription {
    pub(crate) topics: Vec<String>,
    // (deliveries missed just before it, delivery `[topic length u16][topic][body]`)
    queue: VecDeque<(u64, Arc<[u8]>)>,
    // invariant: the sum of the queued deliveries' lengths
    queued_bytes: usize,
    // dropped since the last queued delivery
    missed: u64,
}

impl Subscription {
    /// Queues `delivery`; `false` (and counted as missed) if the queue is full.
    pub(crate) fn offer(&mut self, delivery: &Arc<[u8]>) -> bool {
        if self.queue.len() >= SUBSCRIBER_QUEUE
            || self.queued_bytes + delivery.len() > SUBSCRIBER_QUEUE_BYTES
        {
            self.missed += 1;
            return false;
        }
        self.queued_bytes += delivery.len();
        self.queue
            .push_back((std::mem::take(&mut self.missed), delivery.clone()));
        true
    }

    /// Moves queued deliveries into the output buffer while less than [`WRITE_AHEAD`] bytes
    /// wait there.
    pub(crate) fn refill(&mut self, out: &mut Vec<u8>, out_pos: usize) {
        while out.len() - out_pos < WRITE_AHEAD {
            let Some((missed, d)) = self.queue.pop_front() else {
                return;
            };
            self.queued_bytes -= d.len();
            let mut head = [0; crate::comm::ENVELOPE_LEN + MISSED_LEN];
            head[0] = crate::comm::MSG;
            head[crate::comm::ENVELOPE_LEN..].copy_from_slice(&missed.to_be_bytes());
            reactor::push_frame(out, &[&head, &d]);
        }
    }
}

/// Splits `[P][topic length u16][topic][body]` into the topic and the delivery
/// `[topic length u16][topic][body]`.
pub(crate) fn parse_publish(m: &[u8]) -> Result<(&str, Arc<[u8]>), String> {
    let bad = || "a malformed publication".to_owned();
    let rest = m.strip_prefix(&[OP_PUBLISH]).ok_or_else(bad)?;
    let (len, after) = rest.split_first_chunk::<2>().ok_or_else(bad)?;
    let len = u16::from_be_bytes(*len) as usize;
    let topic = after.get(..len).ok_or_else(bad)?;
    let topic = std::str::from_utf8(topic)
        .map_err(|_| "a publication's topic is not valid UTF-8".to_owned())?;
    Ok((topic, Arc::from(rest)))
}

/// Splits a subscription's topics (newline-separated UTF-8).
pub(crate) fn parse_subscribe(m: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(m)
        .map_err(|_| "a subscription's topics are not valid UTF-8".to_owned())?;
    Ok(text
        .split('\n')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Checks a topic a client is about to send.
fn check_topic(topic: &str, peer: &str) -> Result<(), NetError> {
    if topic.len() > MAX_TOPIC_LEN || topic.contains('\n') || topic.is_empty() {
        return Err(NetError::Protocol {
            addr: peer.to_owned(),
            what: if topic.is_empty() {
                "a topic cannot be empty".into()
            } else if topic.contains('\n') {
                format!("topic {topic:?} contains a newline")
            } else {
                format!("topic of {} bytes is over 65535", topic.len())
            },
        });
    }
    Ok(())
}

/// The publish-subscribe broker.
#[derive(Debug)]
pub struct Broker;

impl Broker {
    /// Starts a broker on `listener`.
    ///
    /// # Panics
    ///
    /// If the event loop cannot be created (the process is out of file descriptors or
    /// threads); [`try_start`](Self::try_start) returns that error instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lockstep_hosted::server::{Broker, BrokerConfig, Publisher, Subscriber};
    /// use lockstep_hosted::transport::tcp;
    ///
    /// let broker = Broker::start(tcp::listen("127.0.0.1:0".parse().unwrap()).unwrap(), BrokerConfig::default());
    /// let addr = broker.local_addr().unwrap();
    /// let t = Duration::from_secs(5);
    /// let mut sub = Subscriber::new(tcp::connect(addr).unwrap(), &["news"], t).unwrap();
    /// let mut publisher = Publisher::new(tcp::connect(addr).unwrap());
    /// publisher.publish("weather", b"rain").unwrap(); // nobody subscribed to it
    /// assert_eq!(publisher.publish_confirmed("news", b"hello", t).unwrap(), 1);
    /// let d = sub.next(Some(t)).unwrap();
    /// assert_eq!((d.topic.as_str(), &d.body[..], d.missed), ("news", &b"hello"[..], 0));
    /// ```
    pub fn start<L: Listener>(listener: L, config: BrokerConfig) -> ServerHandle {
        Self::try_start(listener, config).expect("starting the broker's event loop")
    }

    /// Starts a broker on `listener`.
    ///
    /// # Errors
    ///
    /// [`NetError::Io`] if the event loop cannot be created.
    pub fn try_start<L: Listener>(
        listener: L,
        config: BrokerConfig,
    ) -> Result<ServerHandle, NetError> {
        let topics = Topics {
            broadcast: config.broadcast,
            ..Topics::default()
        };
        super::start_events(listener, config.server, Service::Broker(topics))
    }
}

/// Publishes to a [`Broker`].
#[derive(Debug)]
pub struct Publisher<T> {
    ep: Endpoint<T>,
    buf: Vec<u8>,
}

impl<T: Transport> Publisher<T> {
    /// A publisher over a connection to a broker.
    pub fn new(t: T) -> Self {
        Publisher {
            ep: Endpoint::new(t),
            buf: Vec::new(),
        }
    }

    fn encode(&mut self, topic: &str, body: &[u8]) -> Result<(), NetError> {
        check_topic(topic, self.ep.transport().peer())?;
        let len = topic.len() as u16; // checked: at most 65,535
        self.buf.clear();
        self.buf.push(OP_PUBLISH);
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(topic.as_bytes());
        self.buf.extend_from_slice(body);
        Ok(())
    }

    /// Publishes `body` to `topic` as an asynchronous message.
    ///
    /// # Errors
    ///
    /// [`NetError::Protocol`] for a topic that is empty, over 65,535 bytes or holds a
    /// newline; transport errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lockstep_hosted::server::{Broker, BrokerConfig, Publisher, Subscriber};
    /// use lockstep_hosted::transport::unix;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("broker.sock");
    /// let _broker = Broker::start(unix::listen(&path).unwrap(), BrokerConfig::default());
    /// let t = Duration::from_secs(5);
    /// let mut sub = Subscriber::new(unix::connect(&path).unwrap(), &["a", "b"], t).unwrap();
    /// let mut p = Publisher::new(unix::connect(&path).unwrap());
    /// for (topic, body) in [("a", "1"), ("c", "2"), ("b", "3")] {
    ///     p.publish(topic, body.as_bytes()).unwrap(); // returns at once
    /// }
    /// assert_eq!(sub.next(Some(t)).unwrap().body, b"1");
    /// assert_eq!(sub.next(Some(t)).unwrap().body, b"3"); // "c" was not subscribed
    /// assert!(p.publish(&"x".repeat(70_000), b"").is_err()); // topic too long
    /// ```
    pub fn publish(&mut self, topic: &str, body: &[u8]) -> Result<(), NetError> {
        self.encode(topic, body)?;
        let buf = std::mem::take(&mut self.buf);
        let r = self.ep.send(&buf);
        self.buf = buf;
        r
    }

    /// Publishes and waits until the broker has fanned the message out; returns how many
    /// subscribers took it.
    ///
    /// # Errors
    ///
    /// [`NetError::Timeout`] when the broker does not answer in time; as [`publish`](Self::publish).
    pub fn publish_confirmed(
        &mut self,
        topic: &str,
        body: &[u8],
        timeout: Duration,
    ) -> Result<u32, NetError> {
        self.encode(topic, body)?;
        let buf = std::mem::take(&mut self.buf);
        let r = self.ep.call(&buf, timeout);
        self.buf = buf;
        let r = r?;
        let n: [u8; 4] = r.as_slice().try_into().map_err(|_| NetError::Protocol {
            addr: self.ep.transport().peer().to_owned(),
            what: "malformed publish confirmation".into(),
        })?;
        Ok(u32::from_be_bytes(n))
    }
}

/// Receives from a [`Broker`] the publications on its topics.
#[derive(Debug)]
pub struct Subscriber<T> {
    ep: Endpoint<T>,
}

impl<T: Transport> Subscriber<T> {
    /// Subscribes over a connection to a broker; returns once the broker has registered the
    /// subscription, so everything published afterwards arrives.
    ///
    /// # Errors
    ///
    /// [`NetError::Protocol`] for a topic that is empty, over 65,535 bytes or holds a
    /// newline; [`NetError::Timeout`] when the broker does not confirm within `timeout`;
    /// transport errors.
    pub fn new(t: T, topics: &[&str], timeout: Duration) -> Result<Self, NetError> {
        let mut ep = Endpoint::new(t);
        for topic in topics {
            check_topic(topic, ep.transport().peer())?;
        }
        let mut req = vec![OP_SUBSCRIBE];
        req.extend_from_slice(topics.join("\n").as_bytes());
        let ok = ep.call(&req, timeout)?;
        if ok != b"OK" {
            return Err(NetError::Protocol {
                addr: ep.transport().peer().to_owned(),
                what: "subscription refused".into(),
            });
        }
        Ok(Subscriber { ep })
    }

    /// The next publication, waiting at most `timeout` (`None`: for ever).
    ///
    /// # Errors
    ///
    /// [`NetError::Timeout`]; [`NetError::Closed`] when the broker stops; transport errors.
    pub fn next(&mut self, timeout: Option<Duration>) -> Result<Delivery, NetError> {
        let m = match self.ep.recv(timeout)? {
            Incoming::Message(m) => m,
            Incoming::Request(r) => r.body,
        };
        let bad = || NetError::Protocol {
            addr: self.ep.transport().peer().to_owned(),
            what: "malformed delivery".into(),
        };
        let (missed, rest) = m.split_first_chunk::<MISSED_LEN>().ok_or_else(bad)?;
        let (len, rest) = rest.split_first_chunk::<2>().ok_or_else(bad)?;
        let len = u16::from_be_bytes(*len) as usize;
        let topic = rest.get(..len).ok_or_else(bad)?;
        let topic = std::str::from_utf8(topic).map_err(|_| bad())?;
        Ok(Delivery {
            topic: topic.to_owned(),
            body: rest[len..].to_vec(),
            missed: u64::from_be_bytes(*missed),
        })
    }
}
