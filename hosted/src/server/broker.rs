//! The publish-subscribe broker: publishers send to topics, subscribers receive the topics
//! they chose; in broadcast mode every subscriber receives everything.
//!
//! Built on the communication types: a subscription is a synchronous request (answered once
//! the broker has registered it, so nothing published afterwards is missed), a publication is
//! an asynchronous message or, confirmed, a synchronous request answered with the number of
//! subscribers reached, and each delivery is an asynchronous message to the subscriber.
//!
//! Each subscriber has a bounded queue in the broker (the core's [`Queue`](lockstep_core::Queue)
//! of [`SUBSCRIBER_QUEUE`] deliveries):
//! a publisher that outpaces a subscriber waits (backpressure) rather than growing memory; a
//! subscriber whose connection breaks is removed.

use lockstep_core::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Conn, Listener, ServerConfig, ServerHandle, serve};
use crate::NetError;
use crate::comm::{Endpoint, Incoming};
use crate::transport::Transport;
use crate::transport::framing::Framed;

const OP_PUBLISH: u8 = b'P';
const OP_SUBSCRIBE: u8 = b'S';

/// How often a subscriber's worker looks at its connection and the server's stop flag when
/// nothing is published.
const SUBSCRIBER_POLL: Duration = Duration::from_millis(50);

/// Deliveries waiting for one subscriber, at most: a publisher that outpaces the subscriber
/// waits once its queue holds this many.
pub const SUBSCRIBER_QUEUE: usize = 1024;

/// One subscriber's queue of deliveries.
type Deliveries = crate::Queue<Arc<[u8]>, SUBSCRIBER_QUEUE>;

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
    /// The stream server underneath. Each subscriber holds one worker while subscribed, so
    /// `workers` must exceed the number of subscribers.
    pub server: ServerConfig,
}

/// A message as a subscriber receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The topic it was published to.
    pub topic: String,
    /// The payload.
    pub body: Vec<u8>,
}

#[derive(Debug)]
struct Sub {
    id: u64,
    topics: Vec<String>,
    queue: Arc<Deliveries>,
}

#[derive(Debug, Default)]
struct State {
    subs: Mutex<(u64, Vec<Sub>)>,
}

impl State {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Vec<Sub>)> {
        self.subs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fans `delivery` out to the matching subscribers; returns how many took it.
    fn publish(&self, topic: &str, delivery: Arc<[u8]>, broadcast: bool) -> u32 {
        let targets: Vec<Arc<Deliveries>> = self
            .lock()
            .1
            .iter()
            .filter(|s| broadcast || s.topics.iter().any(|t| t == topic))
            .map(|s| s.queue.clone())
            .collect();
        // Outside the lock: a full subscriber queue blocks this publisher only.
        targets
            .iter()
            .filter(|q| q.send(delivery.clone()).is_ok())
            .count() as u32
    }
}

/// The publish-subscribe broker.
#[derive(Debug)]
pub struct Broker;

impl Broker {
    /// Starts a broker on `listener`.
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
    /// assert_eq!((d.topic.as_str(), &d.body[..]), ("news", &b"hello"[..]));
    /// ```
    pub fn start<L: Listener>(listener: L, config: BrokerConfig) -> ServerHandle {
        let state = Arc::new(State::default());
        let broadcast = config.broadcast;
        serve(
            listener,
            config.server,
            move |s: L::Stream, conn: &Conn<'_>| {
                let idle = conn.config().idle_timeout;
                let mut ep = Endpoint::new(Framed::new(s, conn.config().stream.max_frame));
                loop {
                    match ep.recv(Some(idle))? {
                        Incoming::Message(m) => {
                            let (topic, delivery) = parse_publish(&m, ep.transport().peer())?;
                            state.publish(&topic, delivery, broadcast);
                            conn.count_message();
                        }
                        Incoming::Request(r) => match r.body.first() {
                            Some(&OP_PUBLISH) => {
                                let (topic, delivery) =
                                    parse_publish(&r.body, ep.transport().peer())?;
                                let n = state.publish(&topic, delivery, broadcast);
                                conn.count_message();
                                ep.reply(&r, &n.to_be_bytes())?;
                            }
                            Some(&OP_SUBSCRIBE) => {
                                let topics = String::from_utf8_lossy(&r.body[1..])
                                    .split('\n')
                                    .filter(|t| !t.is_empty())
                                    .map(str::to_owned)
                                    .collect();
                                return serve_subscriber(&mut ep, r, topics, &state, conn);
                            }
                            _ => {
                                return Err(NetError::Protocol {
                                    addr: conn.peer().to_owned(),
                                    what: "unknown broker request".into(),
                                });
                            }
                        },
                    }
                }
            },
        )
    }
}

/// Splits `[P][topic length u16][topic][body]` into the topic and the delivery
/// `[topic length u16][topic][body]`.
fn parse_publish(m: &[u8], peer: &str) -> Result<(String, Arc<[u8]>), NetError> {
    let bad = || NetError::Protocol {
        addr: peer.to_owned(),
        what: "malformed publication".into(),
    };
    let rest = m.strip_prefix(&[OP_PUBLISH]).ok_or_else(bad)?;
    let (len, after) = rest.split_first_chunk::<2>().ok_or_else(bad)?;
    let len = u16::from_be_bytes(*len) as usize;
    let topic = after.get(..len).ok_or_else(bad)?;
    Ok((String::from_utf8_lossy(topic).into_owned(), Arc::from(rest)))
}

/// Removes a subscriber from the broker when its worker stops serving it.
struct Unsubscribe<'a>(&'a State, u64);

impl Drop for Unsubscribe<'_> {
    fn drop(&mut self) {
        self.0.lock().1.retain(|s| {
            if s.id == self.1 {
                // Releases publishers blocked on this subscriber's full queue.
                s.queue.close();
            }
            s.id != self.1
        });
    }
}

fn serve_subscriber<T: Transport>(
    ep: &mut Endpoint<T>,
    request: crate::comm::Request,
    topics: Vec<String>,
    state: &State,
    conn: &Conn<'_>,
) -> Result<(), NetError> {
    let queue = Arc::new(Deliveries::new());
    let id = {
        let mut g = state.lock();
        g.0 += 1;
        let id = g.0;
        g.1.push(Sub {
            id,
            topics,
            queue: queue.clone(),
        });
        id
    };
    let _unsubscribe = Unsubscribe(state, id);
    ep.reply(&request, b"OK")?;
    loop {
        match queue.recv_timeout(SUBSCRIBER_POLL) {
            Ok(d) => {
                ep.send(&d)?;
                conn.count_message();
            }
            Err(RecvTimeoutError::Timeout) => {
                if conn.stopping() {
                    return Ok(());
                }
                // Has the subscriber gone? Anything it sends now is ignored.
                match ep.recv(Some(Duration::ZERO)) {
                    Err(e) if e.is_timeout() => {}
                    Err(e) => return Err(e),
                    Ok(_) => {}
                }
            }
            Err(RecvTimeoutError::Closed) => return Ok(()),
        }
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
        let len = u16::try_from(topic.len()).map_err(|_| NetError::Protocol {
            addr: self.ep.transport().peer().to_owned(),
            what: format!("topic of {} bytes is over 65535", topic.len()),
        })?;
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
    /// [`NetError::Protocol`] for a topic over 65,535 bytes; transport errors.
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
    /// [`NetError::Timeout`] when the broker does not confirm within `timeout`; transport
    /// errors.
    pub fn new(t: T, topics: &[&str], timeout: Duration) -> Result<Self, NetError> {
        let mut ep = Endpoint::new(t);
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
        let (len, rest) = m.split_first_chunk::<2>().ok_or_else(bad)?;
        let len = u16::from_be_bytes(*len) as usize;
        let topic = rest.get(..len).ok_or_else(bad)?;
        Ok(Delivery {
            topic: String::from_utf8_lossy(topic).into_owned(),
            body: rest[len..].to_vec(),
        })
    }
}
