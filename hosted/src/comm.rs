//! The four elementary communication types, written once over any [`Transport`].
//!
//! | type | method | the sender ... |
//! |---|---|---|
//! | asynchronous message | [`Endpoint::send`] | sends and goes on |
//! | synchronous message | [`Endpoint::send_sync`] | waits for a receipt; a missing receipt ends in [`NetError::Timeout`] |
//! | asynchronous request | [`Endpoint::request`], [`Endpoint::collect`] | gets a [`Ticket`] and collects the reply later |
//! | synchronous request (RPC) | [`Endpoint::call`] | waits for the reply, with a timeout |
//!
//! Every message travels in an envelope: one kind byte, the sender's 32-bit incarnation
//! number (its *epoch*, random per endpoint) and a 64-bit sequence number (little-endian),
//! then the payload. Receipts (`ACK`) and replies carry the epoch and sequence number of what
//! they answer, and are accepted only by the incarnation that asked. Progress happens inside the calls: an endpoint reads its transport
//! only while one of its methods waits, and keeps what arrives meanwhile (messages and
//! requests for [`Endpoint::recv`], replies for their tickets) in bounded buffers (at most
//! [`INBOX_LIMIT`] messages and [`INBOX_BYTES`] bytes wait for `recv`).
//!
//! Over an unreliable transport (UDP, [`Transport::is_reliable`] `false`) the waiting calls
//! retransmit with exponential backoff: first after [`Retry::interval`], each wait twice the
//! last up to [`Retry::max_interval`], at most [`Retry::max_sends`] sends in all (by default
//! 20 ms doubling to 1 s, 25 sends: a 5 s timeout is covered to its end). A request's schedule
//! starts when [`Endpoint::request`] sends it and runs across the calls that collect it, so a
//! client that polls [`Endpoint::try_collect`] retransmits a lost request too. An ICMP "port
//! unreachable" (the server restarting) does not end the wait: the call retries until its
//! timeout, and then reports [`NetError::Refused`] if that was the last thing heard. The receiver
//! suppresses duplicates by sequence number (a window of [`DEDUP_WINDOW`] numbers), answering a
//! repeated synchronous message with its receipt again and a repeated request with its cached
//! reply: each message reaches the application exactly once. Over reliable transports none of
//! this runs.
//!
//! Sequence numbers count from 0 per endpoint. A peer that restarts (a new endpoint, perhaps
//! on the same address) has a new epoch: the receiver then starts a fresh duplicate filter for
//! it and ignores late datagrams of the incarnations it replaced, so a restarted client is
//! neither mistaken for a repeat nor answered with replies meant for its predecessor.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

use crate::NetError;
use crate::transport::Transport;

pub(crate) const MSG: u8 = 0;
pub(crate) const MSG_RECEIPT: u8 = 1;
pub(crate) const ACK: u8 = 2;
pub(crate) const REQUEST: u8 = 3;
pub(crate) const REPLY: u8 = 4;
/// The answer to a request that could not be answered (its reply too large to send, its
/// handler panicked): the payload says why.
pub(crate) const FAILED: u8 = 5;

/// Envelope header: kind byte, epoch and sequence number.
pub const ENVELOPE_LEN: usize = 13;

/// How many replaced incarnations of a peer are remembered (their late datagrams ignored).
const RETIRED_EPOCHS: usize = 8;

/// How many sequence numbers above the lowest unseen one the duplicate filter remembers.
pub const DEDUP_WINDOW: usize = 4096;

/// How many received messages and requests an endpoint buffers for [`Endpoint::recv`].
pub const INBOX_LIMIT: usize = 4096;

/// How many bytes of received messages and requests an endpoint buffers for
/// [`Endpoint::recv`] (one message is always taken, however large): a peer that floods an
/// endpoint waiting for a reply cannot make it hold more. Past this or [`INBOX_LIMIT`], a
/// reliable transport fails the wait with [`NetError::Protocol`] ("the receive buffer is
/// full"); an unreliable one drops the message unacknowledged, for the sender to retransmit.
pub const INBOX_BYTES: usize = 16 << 20;

/// How long a wait on a reliable transport blocks in one receive before it looks at its
/// deadline again.
const RELIABLE_SLICE: Duration = Duration::from_millis(100);

/// How many replies an endpoint on an unreliable transport keeps to answer repeated requests.
const REPLY_CACHE: usize = 256;

/// Retransmission over unreliable transports: exponential backoff from `interval` to
/// `max_interval`, at most `max_sends` sends.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lockstep_hosted::comm::Retry;
///
/// let r = Retry::default();
/// assert_eq!((r.interval, r.max_interval, r.max_sends), (Duration::from_millis(20), Duration::from_secs(1), 25));
/// // Sends at 0, 20, 60, 140, 300, 620 ms, 1.26 s, then every second: a 5 s wait is
/// // covered to its end.
/// assert_eq!(r.send_times().nth(6), Some(Duration::from_millis(1260)));
/// assert_eq!(r.send_times().count(), 25);
/// // Fixed interval: max_interval equal to interval.
/// let fixed = Retry { max_interval: r.interval, ..r };
/// assert_eq!(fixed.send_times().nth(3), Some(Duration::from_millis(60)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Time before the first retransmission.
    pub interval: Duration,
    /// Each wait doubles the previous one, up to this.
    pub max_interval: Duration,
    /// Sends of one message at most, the first included.
    pub max_sends: u32,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            interval: Duration::from_millis(20),
            max_interval: Duration::from_secs(1),
            max_sends: 25,
        }
    }
}

impl Retry {
    /// The wait after send number `sends` (1 for the first).
    fn wait_after(&self, sends: u32) -> Duration {
        let doubled = self
            .interval
            .checked_mul(1 << sends.saturating_sub(1).min(30))
            .unwrap_or(Duration::MAX);
        doubled.min(self.max_interval.max(self.interval))
    }

    /// When each send happens, from the first (at zero): the schedule of one message (of a
    /// request, across the calls that collect it).
    pub fn send_times(&self) -> impl Iterator<Item = Duration> + '_ {
        let mut at = Duration::ZERO;
        (1..=self.max_sends).map(move |n| {
            let now = at;
            at = at.saturating_add(self.wait_after(n));
            now
        })
    }
}

/// Something received: a message or a request to answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// An asynchronous or synchronous message (its receipt has been sent).
    Message(Vec<u8>),
    /// A request; answer it with [`Endpoint::reply`].
    Request(Request),
}

/// A received request, answered with [`Endpoint::reply`].
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    id: u64,
    epoch: u32,
    /// The request's payload.
    pub body: Vec<u8>,
}

impl Request {
    /// The request's sequence number at its sender.
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// The claim on the reply of an asynchronous request; see [`Endpoint::collect`].
#[derive(Debug, PartialEq, Eq, Hash)]
#[must_use = "a ticket is the only way to collect the reply; dropping it leaves the reply uncollected"]
pub struct Ticket {
    seq: u64,
}

/// Duplicate suppression by sequence number.
#[derive(Debug, Default)]
pub(crate) struct Dedup {
    // invariant: every number below `floor` counts as seen; `above` holds seen numbers >= floor
    // and below u64::MAX
    floor: u64,
    above: BTreeSet<u64>,
    // u64::MAX has been seen (kept apart so that `floor + 1` never overflows)
    top: bool,
}

impl Dedup {
    pub(crate) fn contains(&self, seq: u64) -> bool {
        if seq == u64::MAX {
            return self.top;
        }
        seq < self.floor || self.above.contains(&seq)
    }

    /// Records `seq`; `true` if it had not been seen.
    pub(crate) fn insert(&mut self, seq: u64) -> bool {
        if seq == u64::MAX {
            return !std::mem::replace(&mut self.top, true);
        }
        if seq == self.floor {
            // In order, the usual case: no set operation, so no allocation.
            self.floor += 1;
        } else if seq < self.floor || !self.above.insert(seq) {
            return false;
        }
        while self.above.first() == Some(&self.floor) {
            self.above.pop_first();
            self.floor += 1;
        }
        if self.above.len() > DEDUP_WINDOW {
            // Forget the oldest hole: a message that late is treated as a duplicate.
            if let Some(oldest) = self.above.pop_first() {
                self.floor = oldest + 1;
            }
        }
        true
    }
}

/// Hashes sequence numbers: they are distinct counters from one peer, so a multiplication
/// spreads them well enough, at a fraction of SipHash's cost (the maps are on every call's path).
#[derive(Debug, Default)]
struct SeqHasher(u64);

impl Hasher for SeqHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type SeqMap<V> = HashMap<u64, V, BuildHasherDefault<SeqHasher>>;

/// Where a message is in its retransmission schedule ([`Retry`]): how often it has been sent,
/// and when the next send is due.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    sends: u32,
    next_send: Instant,
}

impl Schedule {
    /// The schedule of a message sent once, now.
    fn sent_now(retry: &Retry) -> Self {
        Schedule {
            sends: 1,
            next_send: Instant::now() + retry.wait_after(1),
        }
    }
}

/// An outstanding request: its body (over unreliable transports, for retransmission) and its
/// schedule. Kept per request, so that collecting in several calls, or polling with
/// [`Endpoint::try_collect`], retransmits a lost request on the schedule of its first send
/// rather than starting it over (or, polling, never reaching the first retransmission).
#[derive(Debug, Default)]
struct Pending {
    body: Vec<u8>,
    schedule: Option<Schedule>,
}
type SeqSet = HashSet<u64, BuildHasherDefault<SeqHasher>>;

/// Writes the envelope `[kind][epoch][seq][payload]` (little-endian) into `buf`.
pub(crate) fn encode_envelope(buf: &mut Vec<u8>, kind: u8, epoch: u32, seq: u64, payload: &[u8]) {
    buf.clear();
    buf.push(kind);
    buf.extend_from_slice(&epoch.to_le_bytes());
    buf.extend_from_slice(&seq.to_le_bytes());
    buf.extend_from_slice(payload);
}

/// An envelope's header fields and payload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Envelope<'a> {
    pub(crate) kind: u8,
    pub(crate) epoch: u32,
    pub(crate) seq: u64,
    pub(crate) payload: &'a [u8],
}

/// Splits an envelope; `None` if it is shorter than its header.
pub(crate) fn decode_envelope(env: &[u8]) -> Option<Envelope<'_>> {
    let (head, payload) = env.split_first_chunk::<ENVELOPE_LEN>()?;
    let mut epoch = [0; 4];
    epoch.copy_from_slice(&head[1..5]);
    let mut seq = [0; 8];
    seq.copy_from_slice(&head[5..]);
    Some(Envelope {
        kind: head[0],
        epoch: u32::from_le_bytes(epoch),
        seq: u64::from_le_bytes(seq),
        payload,
    })
}

/// A fresh epoch: random per call (std's per-instance hash keys), mixed with the clock and
/// the process id.
fn new_epoch() -> u32 {
    use std::hash::BuildHasher;
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    h.write_u128(now.as_nanos());
    h.write_u32(std::process::id());
    let x = h.finish();
    (x ^ (x >> 32)) as u32
}

/// What a receiver keeps about one peer: its current incarnation, the ones it replaced, the
/// duplicate filter and the recent replies of the current one.
#[derive(Debug, Default)]
pub(crate) struct PeerState {
    epoch: Option<u32>,
    retired: VecDeque<u32>,
    seen: Dedup,
    // (sequence number, reply), oldest first
    replies: VecDeque<(u64, Vec<u8>)>,
}

/// Whether a fresh message (not an answer) is new, a repeat, or from a replaced incarnation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fresh {
    New,
    Repeat,
    Stale,
}

impl PeerState {
    /// Classifies `(epoch, seq)` without recording it; a new epoch replaces the current one.
    pub(crate) fn check(&mut self, epoch: u32, seq: u64) -> Fresh {
        if self.epoch != Some(epoch) {
            if self.retired.contains(&epoch) {
                return Fresh::Stale;
            }
            if let Some(old) = self.epoch.replace(epoch) {
                if self.retired.len() >= RETIRED_EPOCHS {
                    self.retired.pop_front();
                }
                self.retired.push_back(old);
            }
            self.seen = Dedup::default();
            self.replies.clear();
        }
        if self.seen.contains(seq) {
            Fresh::Repeat
        } else {
            Fresh::New
        }
    }

    /// Records `seq` of the current incarnation as delivered.
    pub(crate) fn record(&mut self, seq: u64) {
        self.seen.insert(seq);
    }

    /// The kept reply to request `seq`, if any.
    pub(crate) fn reply_to(&self, seq: u64) -> Option<&[u8]> {
        self.replies
            .iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, r)| r.as_slice())
    }

    /// Keeps `body` as the reply to `seq`, forgetting the oldest beyond `cap` (whose buffer is
    /// reused).
    pub(crate) fn keep_reply(&mut self, seq: u64, body: &[u8], cap: usize) {
        let mut kept = if self.replies.len() >= cap {
            self.replies.pop_front().map(|(_, v)| v).unwrap_or_default()
        } else {
            Vec::new()
        };
        kept.clear();
        kept.extend_from_slice(body);
        self.replies.push_back((seq, kept));
    }

    /// The current incarnation's epoch.
    pub(crate) fn epoch(&self) -> u32 {
        self.epoch.unwrap_or(0)
    }
}

/// One side of a conversation over a transport, offering the four communication types.
///
/// # Examples
///
/// ```
/// use std::thread;
/// use std::time::Duration;
/// use lockstep_hosted::comm::{Endpoint, Incoming};
/// use lockstep_hosted::transport::udp;
///
/// let (a, b) = udp::pair().unwrap();
/// let (mut client, mut server) = (Endpoint::new(a), Endpoint::new(b));
/// let t = Duration::from_secs(5);
/// thread::scope(|s| {
///     s.spawn(move || {
///         // Answer one synchronous message and one request.
///         assert_eq!(server.recv(Some(t)).unwrap(), Incoming::Message(b"note".to_vec()));
///         let Incoming::Request(req) = server.recv(Some(t)).unwrap() else { panic!() };
///         server.reply(&req, &req.body.to_ascii_uppercase()).unwrap();
///     });
///     client.send_sync(b"note", t).unwrap(); // returns once the receipt is back
///     assert_eq!(client.call(b"hello", t).unwrap(), b"HELLO");
/// });
/// ```
#[derive(Debug)]
pub struct Endpoint<T> {
    t: T,
    retry: Retry,
    next_seq: u64,
    sbuf: Vec<u8>,
    rbuf: Vec<u8>,
    inbox: VecDeque<Incoming>,
    // invariant: the sum of the bodies' lengths in `inbox`
    inbox_bytes: usize,
    awaiting_ack: SeqSet,
    acked: SeqSet,
    // outstanding requests: seq -> request body (kept for retransmission when unreliable) and
    // its retransmission schedule, which runs across the calls that collect it
    outstanding: SeqMap<Pending>,
    // replies, or why the peer could not answer
    replies: SeqMap<Result<Vec<u8>, String>>,
    epoch: u32,
    peer: PeerState,
    // a failed send is looking for the peer's goodbye (see `emit`)
    explaining: bool,
    // sends wait for room at most until then (see `within`)
    send_deadline: Option<Instant>,
}

impl<T: Transport> Endpoint<T> {
    /// An endpoint over `t` with the default [`Retry`].
    pub fn new(t: T) -> Self {
        Self::with_retry(t, Retry::default())
    }

    /// An endpoint over `t` retransmitting (when `t` is unreliable) as `retry` says.
    pub fn with_retry(t: T, retry: Retry) -> Self {
        Endpoint {
            t,
            retry,
            next_seq: 0,
            sbuf: Vec::new(),
            rbuf: Vec::new(),
            inbox: VecDeque::new(),
            inbox_bytes: 0,
            awaiting_ack: SeqSet::default(),
            acked: SeqSet::default(),
            outstanding: SeqMap::default(),
            replies: SeqMap::default(),
            epoch: new_epoch(),
            peer: PeerState::default(),
            explaining: false,
            send_deadline: None,
        }
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.t
    }

    /// The transport, mutably.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.t
    }

    /// Gives the transport back.
    pub fn into_inner(self) -> T {
        self.t
    }

    /// The largest message, request or reply body this endpoint sends: the transport's
    /// largest message less the [`ENVELOPE_LEN`] bytes of the envelope. A larger one is refused
    /// with [`NetError::MessageTooLarge`] naming its length and this maximum.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_hosted::comm::{ENVELOPE_LEN, Endpoint};
    /// use lockstep_hosted::transport::{udp, Transport};
    /// use lockstep_hosted::NetError;
    ///
    /// let (a, _b) = udp::pair().unwrap();
    /// let mut a = Endpoint::new(a);
    /// assert_eq!(a.max_message(), a.transport().max_message() - ENVELOPE_LEN);
    /// let too_large = vec![0; a.max_message() + 1];
    /// match a.send(&too_large) {
    ///     Err(NetError::MessageTooLarge { len, max, .. }) => {
    ///         assert_eq!((len, max), (too_large.len(), a.max_message()));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    pub fn max_message(&self) -> usize {
        self.t.max_message().saturating_sub(ENVELOPE_LEN)
    }

    /// Asynchronous message: sends `msg` and returns without waiting for anything.
    ///
    /// Over an unreliable transport it may be lost; it is never delivered twice.
    ///
    /// # Errors
    ///
    /// The transport's send error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lockstep_hosted::comm::{Endpoint, Incoming};
    /// use lockstep_hosted::transport::inproc;
    ///
    /// let (a, b) = inproc::pair::<4>();
    /// let (mut a, mut b) = (Endpoint::new(a), Endpoint::new(b));
    /// a.send(b"fire and forget").unwrap(); // returns at once: nobody has received it yet
    /// assert_eq!(b.recv(Some(Duration::from_secs(1))).unwrap(), Incoming::Message(b"fire and forget".to_vec()));
    /// ```
    pub fn send(&mut self, msg: &[u8]) -> Result<(), NetError> {
        let seq = self.take_seq();
        self.emit(MSG, self.epoch, seq, msg)
    }

    /// Synchronous message: sends `msg` and waits until the receiver's endpoint has it
    /// (its receipt arrives), retransmitting over unreliable transports.
    ///
    /// # Errors
    ///
    /// [`NetError::Timeout`] ("a receipt") when no receipt came within `timeout`; transport
    /// errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lockstep_hosted::comm::Endpoint;
    /// use lockstep_hosted::transport::inproc;
    ///
    /// let (a, b) = inproc::pair::<4>();
    /// let mut a = Endpoint::new(a);
    /// // The receiver never receives: the missing receipt is detected by timeout.
    /// let err = a.send_sync(b"are you there?", Duration::from_millis(20)).unwrap_err();
    /// assert!(err.is_timeout());
    /// # drop(b);
    /// ```
    pub fn send_sync(&mut self, msg: &[u8], timeout: Duration) -> Result<(), NetError> {
        self.within(Some(timeout), |s| s.send_sync_inner(msg, timeout))
    }

    fn send_sync_inner(&mut self, msg: &[u8], timeout: Duration) -> Result<(), NetError> {
        let seq = self.take_seq();
        self.awaiting_ack.insert(seq);
        let result = self.emit(MSG_RECEIPT, self.epoch, seq, msg).and_then(|()| {
            let mut schedule = Schedule::sent_now(&self.retry);
            self.wait_for(
                timeout,
                "a receipt",
                (MSG_RECEIPT, seq, msg),
                &mut schedule,
                |s| s.acked.remove(&seq),
            )
        });
        self.awaiting_ack.remove(&seq);
        self.acked.remove(&seq);
        result
    }

    /// Asynchronous request: sends `body` and returns a [`Ticket`] for the reply.
    ///
    /// # Errors
    ///
    /// The transport's send error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lockstep_hosted::comm::{Endpoint, Incoming};
    /// use lockstep_hosted::transport::inproc;
    ///
    /// let (a, b) = inproc::pair::<4>();
    /// let (mut client, mut server) = (Endpoint::new(a), Endpoint::new(b));
    /// let t = Duration::from_secs(1);
    /// let ticket = client.request(b"2+2").unwrap(); // the client goes on with other work
    /// assert_eq!(client.try_collect(&ticket).unwrap(), None); // not answered yet
    /// let Incoming::Request(req) = server.recv(Some(t)).unwrap() else { panic!() };
    /// server.reply(&req, b"4").unwrap();
    /// assert_eq!(client.collect(&ticket, t).unwrap(), b"4");
    /// ```
    pub fn request(&mut self, body: &[u8]) -> Result<Ticket, NetError> {
        let seq = self.take_seq();
        let kept = if self.t.is_reliable() {
            Vec::new()
        } else {
            body.to_vec()
        };
        self.outstanding.insert(
            seq,
            Pending {
                body: kept,
                schedule: None,
            },
        );
        if let Err(e) = self.emit(REQUEST, self.epoch, seq, body) {
            self.outstanding.remove(&seq);
            self.replies.remove(&seq); // (filed while a failed send looked for a goodbye)
            return Err(e);
        }
        if let Some(p) = self.outstanding.get_mut(&seq) {
            p.schedule = Some(Schedule::sent_now(&self.retry));
        }
        Ok(Ticket { seq })
    }

    /// Collects the reply to `ticket`, waiting at most `timeout` (retransmitting the request
    /// over unreliable transports). After a timeout the ticket stays valid.
    ///
    /// # Errors
    ///
    /// [`NetError::Timeout`] ("a reply"); transport errors; [`NetError::Protocol`] for a ticket
    /// already collected or cancelled.
    pub fn collect(&mut self, ticket: &Ticket, timeout: Duration) -> Result<Vec<u8>, NetError> {
        self.within(Some(timeout), |s| s.collect_inner(ticket, timeout))
    }

    fn collect_inner(&mut self, ticket: &Ticket, timeout: Duration) -> Result<Vec<u8>, NetError> {
        let seq = ticket.seq;
        let Some(pending) = self.outstanding.get_mut(&seq) else {
            return Err(NetError::Protocol {
                addr: self.t.peer().to_owned(),
                what: format!("ticket {seq} was already collected or cancelled"),
            });
        };
        // Taken out for the wait (the key stays, so the reply is still accepted), put back
        // if the wait ends without it.
        let body = std::mem::take(&mut pending.body);
        let mut schedule = pending
            .schedule
            .unwrap_or_else(|| Schedule::sent_now(&self.retry));
        let waited = self.wait_for(
            timeout,
            "a reply",
            (REQUEST, seq, &body),
            &mut schedule,
            |s| s.replies.contains_key(&seq),
        );
        if let Err(e) = waited {
            if let Some(slot) = self.outstanding.get_mut(&seq) {
                *slot = Pending {
                    body,
                    schedule: Some(schedule),
                };
            }
            return Err(e);
        }
        self.outstanding.remove(&seq);
        match self.replies.remove(&seq) {
            Some(Err(reason)) => Err(NetError::Failed {
                addr: self.t.peer().to_owned(),
                reason,
            }),
            Some(Ok(r)) => Ok(r),
            None => Ok(Vec::new()),
        }
    }

    /// Collects the reply to `ticket` if it has arrived, without blocking. Over an unreliable
    /// transport a call also retransmits the request when its schedule says so, so polling
    /// recovers a lost request as [`collect`](Self::collect) does.
    ///
    /// # Errors
    ///
    /// Transport errors other than a timeout; over datagrams, [`NetError::Refused`] when the
    /// last thing heard was an ICMP "port unreachable" (the ticket stays valid, as after any
    /// error of a collect).
    pub fn try_collect(&mut self, ticket: &Ticket) -> Result<Option<Vec<u8>>, NetError> {
        match self.collect(ticket, Duration::ZERO) {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.is_timeout() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Gives up on `ticket`: a late reply is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lockstep_hosted::comm::{Endpoint, Incoming};
    /// use lockstep_hosted::transport::inproc;
    ///
    /// let (a, b) = inproc::pair::<4>();
    /// let (mut a, mut b) = (Endpoint::new(a), Endpoint::new(b));
    /// let ticket = a.request(b"never mind").unwrap();
    /// a.cancel(ticket);
    /// let Incoming::Request(req) = b.recv(None).unwrap() else { panic!() };
    /// b.reply(&req, b"too late").unwrap();
    /// // The late reply is dropped; the next exchange is unaffected.
    /// a.send(b"hello").unwrap();
    /// assert_eq!(b.recv(None).unwrap(), Incoming::Message(b"hello".to_vec()));
    /// ```
    pub fn cancel(&mut self, ticket: Ticket) {
        self.outstanding.remove(&ticket.seq);
        self.replies.remove(&ticket.seq);
    }

    /// Synchronous request (RPC): sends `body` and waits at most `timeout` for the reply.
    ///
    /// # Errors
    ///
    /// [`NetError::Timeout`] ("a reply") when none came in time; transport errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lockstep_hosted::comm::Endpoint;
    /// use lockstep_hosted::transport::inproc;
    ///
    /// let (a, _b) = inproc::pair::<4>();
    /// let mut client = Endpoint::new(a);
    /// let err = client.call(b"nobody answers", Duration::from_millis(20)).unwrap_err();
    /// assert!(err.to_string().contains("waiting for a reply"));
    /// ```
    pub fn call(&mut self, body: &[u8], timeout: Duration) -> Result<Vec<u8>, NetError> {
        // The timeout covers the send too: a peer that stops reading cannot hold the call.
        let start = Instant::now();
        self.within(Some(timeout), |s| {
            let ticket = s.request(body)?;
            let left = timeout.saturating_sub(start.elapsed());
            let result = s.collect_inner(&ticket, left);
            s.cancel(ticket);
            // The wait had what the send left of the timeout; the error names the caller's.
            result.map_err(|e| match e {
                NetError::Timeout { addr, what, .. } => NetError::Timeout {
                    addr,
                    what,
                    after: timeout,
                },
                e => e,
            })
        })
    }

    /// Receives the next message or request, waiting at most `timeout` (`None`: for ever).
    ///
    /// # Errors
    ///
    /// [`NetError::Timeout`] ("a message"); [`NetError::Closed`] and other transport errors;
    /// [`NetError::Protocol`] for a malformed envelope on a reliable transport (malformed
    /// datagrams, and datagrams over the transport's largest message, are dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lockstep_hosted::comm::{Endpoint, Incoming};
    /// use lockstep_hosted::transport::inproc;
    ///
    /// let (a, b) = inproc::pair::<4>();
    /// let (mut a, mut b) = (Endpoint::new(a), Endpoint::new(b));
    /// assert!(b.recv(Some(Duration::ZERO)).unwrap_err().is_timeout()); // nothing yet
    /// a.send(b"first").unwrap();
    /// let ticket = a.request(b"second").unwrap();
    /// assert_eq!(b.recv(None).unwrap(), Incoming::Message(b"first".to_vec()));
    /// let Incoming::Request(req) = b.recv(None).unwrap() else { panic!() };
    /// assert_eq!(req.body, b"second");
    /// b.reply(&req, b"answer").unwrap();
    /// assert_eq!(a.collect(&ticket, Duration::from_secs(1)).unwrap(), b"answer");
    /// ```
    pub fn recv(&mut self, timeout: Option<Duration>) -> Result<Incoming, NetError> {
        self.within(timeout, |s| s.recv_inner(timeout))
    }

    fn recv_inner(&mut self, timeout: Option<Duration>) -> Result<Incoming, NetError> {
        // A timeout too large to add to now means: no deadline.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            if let Some(m) = self.inbox.pop_front() {
                self.inbox_bytes -= match &m {
                    Incoming::Message(b) => b.len(),
                    Incoming::Request(r) => r.body.len(),
                };
                return Ok(m);
            }
            let slice = deadline.map(|d| self.slice(d.saturating_duration_since(Instant::now())));
            match self.pump(slice) {
                Err(e) if e.is_timeout() => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(NetError::timeout(
                            self.t.peer(),
                            "a message",
                            timeout.unwrap_or_default(),
                        ));
                    }
                }
                Err(e) => return Err(e),
                Ok(()) => {}
            }
        }
    }

    /// Answers `request` with `body`.
    ///
    /// A reply too large for the transport is not sent: the asker gets
    /// [`NetError::Failed`] saying so (and this call returns the
    /// [`NetError::MessageTooLarge`]).
    ///
    /// # Errors
    ///
    /// The transport's send error.
    pub fn reply(&mut self, request: &Request, body: &[u8]) -> Result<(), NetError> {
        if body.len() > self.max_message() {
            let e = NetError::MessageTooLarge {
                addr: self.t.peer().to_owned(),
                len: body.len(),
                max: self.max_message(),
            };
            let why = format!(
                "its reply of {} bytes exceeds the transport's maximum of {} bytes",
                body.len(),
                self.t.max_message() - ENVELOPE_LEN
            );
            self.emit(FAILED, request.epoch, request.id, why.as_bytes())?;
            return Err(e);
        }
        if !self.t.is_reliable() && request.epoch == self.peer.epoch() {
            self.peer.keep_reply(request.id, body, REPLY_CACHE);
        }
        self.emit(REPLY, request.epoch, request.id, body)
    }

    /// Runs `f` with sends limited to `timeout` from now (an enclosing limit that ends sooner
    /// stays): a waiting call's own sends, and the receipts it sends while it waits, cannot
    /// outlast it when the peer stops reading.
    fn within<R>(&mut self, timeout: Option<Duration>, f: impl FnOnce(&mut Self) -> R) -> R {
        let outer = self.send_deadline;
        let mine = timeout.and_then(|t| Instant::now().checked_add(t));
        self.send_deadline = match (outer, mine) {
            (Some(o), Some(m)) => Some(o.min(m)),
            (o, m) => o.or(m),
        };
        let r = f(self);
        self.send_deadline = outer;
        r
    }

    fn take_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    /// Sends an envelope: `epoch` is ours for what we originate, the asker's for answers.
    ///
    /// A send that fails because the peer closed a stream looks for the peer's goodbye among
    /// what has already arrived (a server refusing a client at its connection limit says why,
    /// then closes, perhaps before the client's first send): the reason, as
    /// [`NetError::ClosedBy`], explains more than a broken pipe. What else has arrived is
    /// filed as usual.
    fn emit(&mut self, kind: u8, epoch: u32, seq: u64, payload: &[u8]) -> Result<(), NetError> {
        // Checked here rather than by the transport, so that the error speaks of the caller's
        // message and the largest one it may send, not of the envelope around it.
        if payload.len() > self.max_message() {
            return Err(NetError::MessageTooLarge {
                addr: self.t.peer().to_owned(),
                len: payload.len(),
                max: self.max_message(),
            });
        }
        encode_envelope(&mut self.sbuf, kind, epoch, seq, payload);
        let sent = match self.send_deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                self.t.send_within(&self.sbuf, left)
            }
            None => self.t.send(&self.sbuf),
        };
        match sent {
            Err(e) if e.is_disconnect() && self.t.is_reliable() && !self.explaining => {
                self.explaining = true;
                let told = self.drain();
                self.explaining = false;
                match told {
                    Err(why @ NetError::ClosedBy { .. }) => Err(why),
                    _ => Err(e),
                }
            }
            r => r,
        }
    }

    /// Pumps the transport until `done`, retransmitting `(kind, seq, payload)` on unreliable
    /// transports as `schedule` says (and moving it on), for at most `timeout`.
    fn wait_for(
        &mut self,
        timeout: Duration,
        what: &'static str,
        (kind, seq, payload): (u8, u64, &[u8]),
        schedule: &mut Schedule,
        mut done: impl FnMut(&mut Self) -> bool,
    ) -> Result<(), NetError> {
        let start = Instant::now();
        // A timeout too large to represent waits for ever, in effect (about 30 years).
        let deadline = start
            .checked_add(timeout)
            .unwrap_or_else(|| start + Duration::from_secs(60 * 60 * 24 * 365 * 30));
        let reliable = self.t.is_reliable();
        // Over datagrams, an ICMP "port unreachable" (nobody listens, perhaps only for a
        // moment while the server restarts) is remembered, not fatal: the wait goes on.
        let mut refused: Option<NetError> = None;
        let transient = |r: Result<(), NetError>, refused: &mut Option<NetError>| match r {
            Err(e) if !reliable && e.is_refused() => {
                *refused = Some(e);
                Ok(())
            }
            Err(e) if e.is_timeout() => Ok(()),
            Ok(()) => {
                *refused = None; // the peer is there
                Ok(())
            }
            Err(e) => Err(e),
        };
        loop {
            if done(self) {
                return Ok(());
            }
            let now = Instant::now();
            // Before the deadline check, so that a zero timeout (`try_collect`, polled) also
            // retransmits when the schedule says so.
            if !reliable && now >= schedule.next_send && schedule.sends < self.retry.max_sends {
                let sent = self.emit(kind, self.epoch, seq, payload);
                if let Err(e) = sent {
                    transient(Err(e), &mut refused)?;
                }
                schedule.sends += 1;
                schedule.next_send = now + self.retry.wait_after(schedule.sends);
            }
            if now >= deadline {
                // Before giving up, take what has already arrived (all of it, for a zero
                // timeout: `try_collect`), without waiting for more. Only something that
                // arrived says the peer is there: a drain that found nothing keeps the
                // refusal heard before as the answer.
                let drained = match self.drain() {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(NetError::timeout(self.t.peer(), what, timeout)),
                    Err(e) => Err(e),
                };
                if transient(drained, &mut refused).is_ok() && done(self) {
                    return Ok(());
                }
                return Err(refused
                    .take()
                    .unwrap_or_else(|| NetError::timeout(self.t.peer(), what, timeout)));
            }
            // Until the next retransmission or the deadline.
            let until = if reliable || schedule.sends >= self.retry.max_sends {
                deadline
            } else {
                schedule.next_send.min(deadline)
            };
            let got = self.pump(Some(self.slice(until.saturating_duration_since(now))));
            transient(got, &mut refused)?;
        }
    }

    /// How long one pump waits when `remaining` is left: at most a constant quantum (the first
    /// retransmission interval, or [`RELIABLE_SLICE`]), so that the socket's read timeout,
    /// cached by the transport, is rarely set again.
    fn slice(&self, remaining: Duration) -> Duration {
        let quantum = if self.t.is_reliable() {
            RELIABLE_SLICE
        } else {
            self.retry.interval
        };
        remaining.min(quantum)
    }

    /// Files every envelope that has already arrived, without waiting (at most
    /// [`INBOX_LIMIT`] of them, so a peer that never stops sending cannot hold the caller);
    /// `true` if any arrived.
    fn drain(&mut self) -> Result<bool, NetError> {
        let mut any = false;
        for _ in 0..INBOX_LIMIT {
            match self.pump(Some(Duration::ZERO)) {
                Ok(()) => any = true,
                Err(e) if e.is_timeout() => break,
                Err(e) => return Err(e),
            }
        }
        Ok(any)
    }

    /// Receives one envelope and files it.
    fn pump(&mut self, timeout: Option<Duration>) -> Result<(), NetError> {
        let mut buf = std::mem::take(&mut self.rbuf);
        let result = match self.t.recv_into(&mut buf, timeout) {
            // A datagram over the largest message (cut short by the kernel) is malformed, and
            // dropped like any other malformed datagram: it does not end a wait.
            Err(NetError::FrameTooLarge { .. }) if !self.t.is_reliable() => Ok(()),
            r => r.and_then(|()| self.dispatch(&buf)),
        };
        self.rbuf = buf;
        result
    }

    fn dispatch(&mut self, env: &[u8]) -> Result<(), NetError> {
        let reliable = self.t.is_reliable();
        let malformed = |s: &Self, what: String| {
            if reliable {
                Err(NetError::Protocol {
                    addr: s.t.peer().to_owned(),
                    what,
                })
            } else {
                Ok(())
            }
        };
        let Some(Envelope {
            kind,
            epoch,
            seq,
            payload,
        }) = decode_envelope(env)
        else {
            return malformed(
                self,
                format!("envelope of {} bytes is shorter than its header", env.len()),
            );
        };
        match kind {
            MSG | MSG_RECEIPT | REQUEST => {
                let fresh = if reliable {
                    Fresh::New
                } else {
                    self.peer.check(epoch, seq)
                };
                match fresh {
                    Fresh::Stale => return Ok(()), // from a replaced incarnation of the peer
                    Fresh::Repeat => {
                        // Answer it again (the first answer may have been lost), deliver
                        // nothing.
                        if kind == MSG_RECEIPT {
                            self.emit(ACK, epoch, seq, &[])?;
                        } else if kind == REQUEST
                            && let Some(r) = self.peer.reply_to(seq)
                        {
                            let r = r.to_vec();
                            self.emit(REPLY, epoch, seq, &r)?;
                        }
                        return Ok(());
                    }
                    Fresh::New => {}
                }
                if self.inbox.len() >= INBOX_LIMIT
                    || (!self.inbox.is_empty() && self.inbox_bytes + payload.len() > INBOX_BYTES)
                {
                    if reliable {
                        return malformed(self, "the receive buffer is full".into());
                    }
                    return Ok(()); // dropped unseen and unacknowledged: retransmission brings it back
                }
                if !reliable {
                    self.peer.record(seq);
                }
                if kind == MSG_RECEIPT {
                    self.emit(ACK, epoch, seq, &[])?;
                }
                let body = payload.to_vec();
                self.inbox_bytes += body.len();
                self.inbox.push_back(if kind == REQUEST {
                    Incoming::Request(Request {
                        id: seq,
                        epoch,
                        body,
                    })
                } else {
                    Incoming::Message(body)
                });
            }
            // Answers count only for this incarnation's own questions.
            ACK if epoch == self.epoch => {
                if self.awaiting_ack.remove(&seq) {
                    self.acked.insert(seq);
                }
            }
            REPLY if epoch == self.epoch => {
                if self.outstanding.contains_key(&seq) {
                    self.replies
                        .entry(seq)
                        .or_insert_with(|| Ok(payload.to_vec()));
                }
            }
            FAILED if epoch == self.epoch => {
                if self.outstanding.contains_key(&seq) {
                    let why = crate::transport::framing::escape(payload);
                    self.replies.entry(seq).or_insert(Err(why));
                }
            }
            ACK | REPLY | FAILED => {}
            other => return malformed(self, format!("unknown message kind {other}")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_suppresses_repeats_and_stays_bounded() {
        let mut d = Dedup::default();
        assert!(d.insert(0) && !d.insert(0));
        assert!(d.insert(2) && d.insert(1) && !d.insert(2));
        assert_eq!((d.floor, d.above.len()), (3, 0));
        for s in (10..100_000).step_by(2) {
            assert!(d.insert(s));
        }
        assert!(d.above.len() <= DEDUP_WINDOW);
    }

    #[test]
    fn sequence_numbers_near_the_top_do_not_overflow_the_filter() {
        let mut d = Dedup::default();
        for s in u64::MAX - 4095..u64::MAX {
            assert!(d.insert(s));
        }
        assert!(!d.contains(u64::MAX));
        assert!(
            d.insert(u64::MAX),
            "the largest number is a number like any other"
        );
        assert!(
            d.contains(u64::MAX) && !d.insert(u64::MAX),
            "and its repeat a repeat"
        );
        assert!(d.insert(u64::MAX - 4097));
        assert!(d.insert(u64::MAX - 4096));
        assert!(!d.insert(u64::MAX - 1), "a repeat is still a repeat");
        assert!(d.above.len() <= DEDUP_WINDOW);
    }

    #[test]
    fn a_new_epoch_resets_the_filter_and_old_ones_stay_out() {
        let mut p = PeerState::default();
        assert_eq!(p.check(7, 0), Fresh::New);
        p.record(0);
        p.keep_reply(0, b"old", 4);
        assert_eq!(p.check(7, 0), Fresh::Repeat);
        // The peer restarted: same numbers, new epoch, nothing remembered.
        assert_eq!(p.check(9, 0), Fresh::New);
        assert_eq!(p.reply_to(0), None);
        p.record(0);
        // A late datagram of the replaced incarnation is ignored.
        assert_eq!(p.check(7, 1), Fresh::Stale);
        assert_eq!(p.check(9, 0), Fresh::Repeat);
    }

    #[test]
    fn four_types_over_inproc() {
        let (a, b) = crate::transport::inproc::pair::<16>();
        let (mut c, mut s) = (Endpoint::new(a), Endpoint::new(b));
        let t = Duration::from_secs(5);
        std::thread::scope(|sc| {
            sc.spawn(move || {
                for _ in 0..4 {
                    match s.recv(Some(t)).unwrap() {
                        Incoming::Message(m) => assert!(m == b"async" || m == b"sync"),
                        Incoming::Request(r) => s.reply(&r, &[r.body.len() as u8]).unwrap(),
                    }
                }
            });
            c.send(b"async").unwrap();
            c.send_sync(b"sync", t).unwrap();
            let ticket = c.request(b"abc").unwrap();
            assert_eq!(c.call(b"abcd", t).unwrap(), [4]);
            assert_eq!(c.collect(&ticket, t).unwrap(), [3]);
            assert!(c.collect(&ticket, t).is_err());
        });
    }

    #[test]
    fn missing_receipt_times_out() {
        let (a, _b) = crate::transport::inproc::pair::<16>();
        let mut c = Endpoint::new(a);
        let e = c.send_sync(b"x", Duration::from_millis(30)).unwrap_err();
        assert!(e.is_timeout(), "{e}");
        assert!(e.to_string().contains("a receipt"));
    }
}
