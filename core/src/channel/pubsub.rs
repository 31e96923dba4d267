//! [`PubSub`]: publishers post to topics, subscribers get only the topics they chose (the
//! lecture's publish & subscribe).

use core::fmt;

use super::broadcast::{Broadcast, BroadcastError, Receiver};
use crate::wait::{Spin, Wait};

/// A topic: a number below 64.
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::Topic;
///
/// const TEMPERATURE: Topic = Topic::new(3);
/// assert_eq!(TEMPERATURE.id(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Topic(u8);

impl Topic {
    /// The largest number of topics.
    pub const MAX: u8 = 64;

    /// The topic numbered `id`.
    ///
    /// # Panics
    ///
    /// If `id >= 64` (a compile error when used in a `const`).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Topic;
    ///
    /// assert_eq!(Topic::new(0).id(), 0);
    /// ```
    pub const fn new(id: u8) -> Self {
        assert!(id < Self::MAX, "topic numbers are below 64");
        Self(id)
    }

    /// The topic's number.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Topic;
    ///
    /// assert_eq!(Topic::new(9).id(), 9);
    /// ```
    pub const fn id(self) -> u8 {
        self.0
    }
}

/// A fixed set of topics (a 64-bit mask), as a subscriber chooses them.
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::{Topic, Topics};
///
/// const NEWS: Topic = Topic::new(1);
/// const SPORT: Topic = Topic::new(2);
/// let mine = Topics::EMPTY.with(NEWS);
/// assert!(mine.contains(NEWS));
/// assert!(!mine.contains(SPORT));
/// assert!(Topics::ALL.contains(SPORT));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Topics(u64);

impl Topics {
    /// No topic.
    pub const EMPTY: Self = Self(0);
    /// Every topic.
    pub const ALL: Self = Self(u64::MAX);

    /// This set and `topic`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::{Topic, Topics};
    ///
    /// assert!(Topics::EMPTY.with(Topic::new(5)).contains(Topic::new(5)));
    /// ```
    pub const fn with(self, topic: Topic) -> Self {
        Self(self.0 | 1 << topic.0)
    }

    /// Whether `topic` is in the set.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::{Topic, Topics};
    ///
    /// assert!(!Topics::EMPTY.contains(Topic::new(5)));
    /// ```
    pub const fn contains(self, topic: Topic) -> bool {
        self.0 & 1 << topic.0 != 0
    }
}

/// A publish-subscribe channel: publishers post messages to [`Topic`]s, each [`Subscriber`]
/// chose a set of [`Topics`] and receives only messages of those, in the order they were
/// published (the lecture's publish & subscribe).
///
/// Built on [`Broadcast`]: it keeps the last `N` messages of all topics, publishing never waits
/// for subscribers, and a subscriber that falls more than `N` messages behind is told how many
/// messages it missed ([`BroadcastError::Lagged`]; the count includes messages of topics it does
/// not follow, so at most that many were its own). It resumes as a broadcast receiver does: at
/// the oldest message kept, or, lagging again soon after, a little further on (see the lag
/// policy of [`Broadcast`](super::Broadcast)). Filtering happens on the subscriber's side.
///
/// # Interrupt handlers
///
/// As for [`Broadcast`](super::Broadcast), on which it is built: an interrupt handler may
/// [`publish`](Self::publish) and [`close`](Self::close) only if every subscriber it can preempt
/// reads with [`Subscriber::try_recv`] inside a critical section; otherwise it can spin for ever
/// on a slot a preempted subscriber is cloning. Firmware test: `embedded/src/bin/broadcast.rs`.
///
/// # Examples
///
/// ```
/// use heapless::String;
/// use lockstep_core::channel::{BroadcastError, PubSub, Topic, Topics};
///
/// const WEATHER: Topic = Topic::new(0);
/// const TRAFFIC: Topic = Topic::new(1);
/// static BUS: PubSub<String<16>, 8> = PubSub::new();
///
/// let mut commuter = BUS.subscribe(Topics::EMPTY.with(TRAFFIC));
/// let mut everyone = BUS.subscribe(Topics::ALL);
/// BUS.publish(WEATHER, String::try_from("sunny").unwrap());
/// BUS.publish(TRAFFIC, String::try_from("jam on A1").unwrap());
///
/// assert_eq!(commuter.try_recv().unwrap(), (TRAFFIC, String::try_from("jam on A1").unwrap()));
/// assert_eq!(commuter.try_recv(), Err(BroadcastError::Empty));
/// assert_eq!(everyone.try_recv().unwrap().0, WEATHER);
/// assert_eq!(everyone.try_recv().unwrap().0, TRAFFIC);
/// ```
pub struct PubSub<T, const N: usize, W = Spin> {
    bus: Broadcast<(Topic, T), N, W>,
}

impl<T, const N: usize, W: Wait> PubSub<T, N, W> {
    /// Creates an open channel keeping the last `N` messages.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::PubSub;
    ///
    /// static BUS: PubSub<u32, 16> = PubSub::new();
    /// assert!(!BUS.is_closed());
    /// ```
    pub const fn new() -> Self {
        Self {
            bus: Broadcast::new(),
        }
    }

    /// Publishes `value` on `topic` to every subscriber of that topic. Never waits for
    /// subscribers; returns `false` (dropping `value`) if the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::{PubSub, Topic, Topics};
    ///
    /// let bus: PubSub<u32, 4> = PubSub::new();
    /// let mut sub = bus.subscribe(Topics::EMPTY.with(Topic::new(7)));
    /// assert!(bus.publish(Topic::new(7), 42));
    /// assert_eq!(sub.try_recv(), Ok((Topic::new(7), 42)));
    /// ```
    pub fn publish(&self, topic: Topic, value: T) -> bool {
        self.bus.send((topic, value))
    }

    /// A subscriber to `topics`, receiving what is published from now on.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::{PubSub, Topic, Topics};
    ///
    /// let bus: PubSub<u32, 4> = PubSub::new();
    /// let sub = bus.subscribe(Topics::EMPTY.with(Topic::new(1)));
    /// assert!(sub.topics().contains(Topic::new(1)));
    /// ```
    pub fn subscribe(&self, topics: Topics) -> Subscriber<'_, T, N, W> {
        Subscriber {
            rx: self.bus.subscribe(),
            topics,
        }
    }

    /// Closes the channel and wakes every subscriber. Returns `true` if this call closed it.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::{PubSub, Topic};
    ///
    /// let bus: PubSub<u32, 4> = PubSub::new();
    /// assert!(bus.close());
    /// assert!(!bus.publish(Topic::new(0), 1));
    /// ```
    pub fn close(&self) -> bool {
        self.bus.close()
    }

    /// Whether the channel is closed (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::PubSub;
    ///
    /// let bus: PubSub<u32, 4> = PubSub::new();
    /// assert!(!bus.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.bus.is_closed()
    }
}

impl<T, const N: usize, W: Wait> Default for PubSub<T, N, W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize, W: Wait> fmt::Debug for PubSub<T, N, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PubSub")
            .field("published", &self.bus.sent())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// A subscriber of a [`PubSub`] channel: receives the messages of its topics, in order.
///
/// Interrupt handlers: as for a broadcast [`Receiver`](super::Receiver); see [`PubSub`].
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::{PubSub, Topic, Topics};
///
/// let bus: PubSub<u8, 4> = PubSub::new();
/// let mut sub = bus.subscribe(Topics::EMPTY.with(Topic::new(2)));
/// bus.publish(Topic::new(1), 10);
/// bus.publish(Topic::new(2), 20);
/// assert_eq!(sub.try_recv(), Ok((Topic::new(2), 20)));
/// ```
pub struct Subscriber<'a, T, const N: usize, W: Wait = Spin> {
    rx: Receiver<'a, (Topic, T), N, W>,
    topics: Topics,
}

impl<T: Clone, const N: usize, W: Wait> Subscriber<'_, T, N, W> {
    /// The topics this subscriber receives.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::{PubSub, Topics};
    ///
    /// let bus: PubSub<u8, 4> = PubSub::new();
    /// assert_eq!(bus.subscribe(Topics::ALL).topics(), Topics::ALL);
    /// ```
    pub fn topics(&self) -> Topics {
        self.topics
    }

    /// Returns the next message of a chosen topic if one has been published, without blocking.
    ///
    /// # Errors
    ///
    /// As [`Receiver::try_recv`](super::Receiver::try_recv): `Empty`, `Lagged(n)`, `Closed`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::{BroadcastError, PubSub, Topics};
    ///
    /// let bus: PubSub<u8, 4> = PubSub::new();
    /// let mut sub = bus.subscribe(Topics::ALL);
    /// assert_eq!(sub.try_recv(), Err(BroadcastError::Empty));
    /// ```
    pub fn try_recv(&mut self) -> Result<(Topic, T), BroadcastError> {
        let topics = self.topics;
        loop {
            // Messages of other topics are passed over without being cloned.
            if let Some(m) = self
                .rx
                .recv_now(true, &|m: &(Topic, T)| topics.contains(m.0))?
            {
                return Ok(m);
            }
        }
    }

    /// Returns the next message of a chosen topic, blocking through `W` until one comes.
    ///
    /// # Errors
    ///
    /// `Lagged(n)` or `Closed`, as [`Receiver::recv`](super::Receiver::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::{PubSub, Topic, Topics};
    ///
    /// let bus: PubSub<u8, 4> = PubSub::new();
    /// let mut sub = bus.subscribe(Topics::ALL);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| bus.publish(Topic::new(0), 1));
    ///     assert_eq!(sub.recv(), Ok((Topic::new(0), 1)));
    /// });
    /// ```
    pub fn recv(&mut self) -> Result<(Topic, T), BroadcastError> {
        let topics = self.topics;
        self.rx
            .recv_deadline_kept(None, &|m: &(Topic, T)| topics.contains(m.0))
    }

    /// Returns the next message of a chosen topic, blocking through `W` for at most `timeout` in
    /// all, however many messages of other topics arrive meanwhile.
    ///
    /// # Errors
    ///
    /// `Timeout`, `Lagged(n)` or `Closed`, as [`Receiver::recv_timeout`](super::Receiver::recv_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::{BroadcastError, PubSub, Topics};
    ///
    /// let bus: PubSub<u8, 4> = PubSub::new();
    /// let mut sub = bus.subscribe(Topics::ALL);
    /// assert_eq!(sub.recv_timeout(5), Err(BroadcastError::Timeout));
    /// ```
    pub fn recv_timeout(&mut self, timeout: W::Timeout) -> Result<(Topic, T), BroadcastError> {
        let topics = self.topics;
        self.rx
            .recv_deadline_kept(Some(&mut W::deadline(timeout)), &|m: &(Topic, T)| {
                topics.contains(m.0)
            })
    }
}

impl<T, const N: usize, W: Wait> fmt::Debug for Subscriber<'_, T, N, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}
