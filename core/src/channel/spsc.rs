//! [`Spsc`]: the single-producer single-consumer channel, split into [`Producer`] and
//! [`Consumer`] halves (the lecture's producer/consumer).

use core::fmt;

use super::error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use super::signal::Signal;
use crate::queue::CachePadded;
use crate::queue::spsc::{ConsumerIndex, ProducerIndex, Ring};
use crate::sync::atomic::{
    AtomicBool,
    Ordering::{Acquire, Relaxed, SeqCst},
};
use crate::wait::{Spin, Wait};

/// A single-producer single-consumer channel of exactly `N` slots: the fastest channel here,
/// used through its [`Producer`] and [`Consumer`] halves.
///
/// The ring is Lamport's, with the producer caching the consumer's index and the consumer
/// polling a stamp in each slot (see `queue::spsc`): a steady stream touches the other side's
/// index about once per lap, and a message costs the consumer one cache line. Wait-free:
/// neither side ever waits for the other inside an operation. A send or receive that does not
/// block calls `W`'s wake only if the other side is blocked (with [`Spin`], never), and orders
/// itself against a waiter with `W::light_fence`, whose heavy half the waiter pays (with the
/// hosted futex on Linux no barrier at all: see [`Wait::light_fence`]).
///
/// - Split: [`split`](Self::split) from `&mut self` (an owned ring, as heapless does), or
///   [`try_split`](Self::try_split) once from `&self`, which works on a `static` without `unsafe`.
/// - Blocking: [`Producer::send`] blocks while full, [`Consumer::recv`] while empty; `_timeout`
///   forms give up after a `W::Timeout`.
/// - Close: [`Producer::close`], or dropping either half, closes the channel and wakes the
///   other side; the consumer drains what is left, then gets `Closed`; the producer gets
///   `Closed` at once.
/// - Iteration: [`Consumer::iter`] (or `for m in &mut consumer`) receives until the channel is
///   closed and drained; [`Consumer::try_iter`] takes what is queued now.
/// - Drop: messages still queued are dropped with the channel.
///
/// # Interrupt handlers
///
/// Either half may live in an interrupt handler (moved there through a
/// `CriticalSectionMutex<Option<Producer<..>>>` of the feature `critical-section`, for example):
/// [`Producer::try_send`], [`Producer::close`] and [`Consumer::try_recv`] never wait. The blocking
/// `send` and `recv` belong in thread mode, which may block on a handler that fills or drains the
/// ring. Firmware test:
/// `embedded/src/bin/spsc.rs` (producer in the handler, then consumer in the handler).
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::Spsc;
///
/// static RING: Spsc<u64, 1024> = Spsc::new();
///
/// let (mut tx, mut rx) = RING.try_split().unwrap();
/// assert!(RING.try_split().is_none()); // one pair of halves per static ring
/// std::thread::scope(|s| {
///     s.spawn(move || {
///         for i in 0..10_000 {
///             tx.send(i).unwrap();
///         }
///     }); // dropping the producer closes the channel
///     let mut expected = 0;
///     while let Ok(v) = rx.recv() {
///         assert_eq!(v, expected);
///         expected += 1;
///     }
///     assert_eq!(expected, 10_000);
/// });
/// ```
pub struct Spsc<T, const N: usize, W = Spin> {
    ring: Ring<T, N>,
    shared: CachePadded<Shared<W>>,
    /// The producer waits here while full. On a cache line of its own, apart from `shared`'s
    /// `not_empty`: the producer reads `not_empty`'s flags at every send and the consumer these
    /// at every receive, and each side's waits and the notifications they cause write the
    /// flags they wait on; on one line they would invalidate it for both sides.
    not_full: CachePadded<Signal<W>>,
}

/// The read-mostly state of an [`Spsc`]: written on close and when a side blocks.
struct Shared<W> {
    /// Set by `close` or by dropping a half; cleared by `split`.
    closed: AtomicBool,
    /// Set by `try_split`; never cleared, so a `&self` ring is split once.
    split: AtomicBool,
    /// The consumer waits here while empty.
    not_empty: Signal<W>,
}

impl<T, const N: usize, W: Wait> Spsc<T, N, W> {
    /// Creates an empty, open channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Spsc;
    ///
    /// static RING: Spsc<u8, 4> = Spsc::new();
    /// assert_eq!(RING.len(), 0);
    /// ```
    pub const fn new() -> Self {
        Self {
            ring: Ring::new(),
            shared: CachePadded::new(Shared {
                closed: AtomicBool::new(false),
                split: AtomicBool::new(false),
                not_empty: Signal::new_asymmetric(),
            }),
            not_full: CachePadded::new(Signal::new_asymmetric()),
        }
    }

    /// Splits an owned channel into its halves (and reopens it if a previous pair closed it).
    /// Messages a previous pair left queued stay: the new consumer receives them first, and
    /// they take their slots until it does.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Spsc;
    ///
    /// let mut ring: Spsc<u8, 2> = Spsc::new();
    /// let (mut tx, mut rx) = ring.split();
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// tx.try_send(2).unwrap();
    /// drop((tx, rx)); // closes the channel; 2 is still queued
    /// let (mut tx, mut rx) = ring.split();
    /// tx.try_send(3).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(2));
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// ```
    pub fn split(&mut self) -> (Producer<'_, T, N, W>, Consumer<'_, T, N, W>) {
        // Relaxed: `&mut self` means no half is alive.
        self.shared.closed.store(false, Relaxed);
        // Relaxed: as above.
        self.shared.split.store(true, Relaxed);
        self.halves()
    }

    /// Splits the channel into its halves the first time it is called, and returns `None` ever
    /// after: the way to use a `static` channel without `unsafe`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Spsc;
    ///
    /// static RING: Spsc<u8, 2> = Spsc::new();
    /// let halves = RING.try_split();
    /// assert!(halves.is_some());
    /// assert!(RING.try_split().is_none());
    /// ```
    pub fn try_split(&self) -> Option<(Producer<'_, T, N, W>, Consumer<'_, T, N, W>)> {
        // Relaxed: the swap finds `false` only once (nothing stores `false` after `new`), and
        // then the ring is as `new` made it, which happened before `&self` reached this thread;
        // the halves read nothing anyone wrote since. The swap's atomicity alone makes the
        // claim exclusive.
        (!self.shared.split.swap(true, Relaxed)).then(|| self.halves())
    }

    fn halves(&self) -> (Producer<'_, T, N, W>, Consumer<'_, T, N, W>) {
        (
            Producer {
                chan: self,
                index: self.ring.producer_index(),
            },
            Consumer {
                chan: self,
                index: self.ring.consumer_index(),
            },
        )
    }

    /// The number of queued messages (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Spsc;
    ///
    /// let mut ring: Spsc<u8, 2> = Spsc::new();
    /// let (mut tx, _rx) = ring.split();
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether no message is queued (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Spsc;
    ///
    /// assert!(Spsc::<u8, 2>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the channel is closed (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Spsc;
    ///
    /// static RING: Spsc<u8, 2> = Spsc::new();
    /// let (tx, _rx) = RING.try_split().unwrap();
    /// assert!(!RING.is_closed());
    /// drop(tx);
    /// assert!(RING.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        // Relaxed: a snapshot.
        self.shared.closed.load(Relaxed)
    }

    /// The number of slots, `N`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Spsc;
    ///
    /// assert_eq!(Spsc::<u8, 2>::new().capacity(), 2);
    /// ```
    pub const fn capacity(&self) -> usize {
        N
    }

    fn close(&self) {
        // SeqCst: the state change of the signals' Dekker pair; it also releases every message
        // pushed before it to a consumer that reads the flag with Acquire.
        self.shared.closed.store(true, SeqCst);
        self.shared.not_empty.notify_all();
        self.not_full.notify_all();
    }
}

impl<T, const N: usize, W: Wait> Default for Spsc<T, N, W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize, W: Wait> fmt::Debug for Spsc<T, N, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spsc")
            .field("len", &self.len())
            .field("capacity", &N)
            .finish_non_exhaustive()
    }
}

/// The sending half of an [`Spsc`] channel. Dropping it closes the channel.
///
/// Interrupt handlers: `try_send` and `close` never wait; see [`Spsc`].
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::Spsc;
///
/// let mut ring: Spsc<u8, 1> = Spsc::new();
/// let (mut tx, _rx) = ring.split();
/// assert!(tx.try_send(1).is_ok());
/// assert!(tx.try_send(2).unwrap_err().is_full());
/// ```
pub struct Producer<'a, T, const N: usize, W: Wait = Spin> {
    chan: &'a Spsc<T, N, W>,
    index: ProducerIndex,
}

impl<T, const N: usize, W: Wait> Producer<'_, T, N, W> {
    /// Sends `value` if a slot is free now, without blocking.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the message handed back.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{TrySendError, channel::Spsc};
    ///
    /// let mut ring: Spsc<u8, 1> = Spsc::new();
    /// let (mut tx, rx) = ring.split();
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    /// ```
    #[inline]
    pub fn try_send(&mut self, value: T) -> Result<(), TrySendError<T>> {
        // Relaxed: the flag only ever tells the producer to stop; no data is read after it.
        if self.chan.shared.closed.load(Relaxed) {
            return Err(TrySendError::Closed(value));
        }
        // SAFETY: a `Producer` is the ring's only producer (one per split, not `Clone`), and
        // `self.index` is its state.
        match unsafe { self.chan.ring.push(&mut self.index, value) } {
            Ok(()) => {
                if W::NEEDS_WAKE {
                    // The push's Release store of the slot's stamp becomes the state change of
                    // the signal's Dekker pair: the light half of an asymmetric fence pair,
                    // since the signal's waiters issue the heavy half (`new_asymmetric`). With
                    // the hosted futex on Linux this is no barrier at all, which a send would
                    // otherwise pay every time, waiting for its stores to leave the core.
                    W::light_fence();
                    self.chan.shared.not_empty.notify_one();
                }
                Ok(())
            }
            Err(v) => Err(TrySendError::Full(v)),
        }
    }

    /// Sends `value`, blocking through `W` while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message if the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Spsc;
    ///
    /// let mut ring: Spsc<u8, 1> = Spsc::new();
    /// let (mut tx, mut rx) = ring.split();
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    #[inline]
    pub fn send(&mut self, value: T) -> Result<(), SendError<T>> {
        match self.try_send(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(v)) => Err(SendError(v)),
            Err(TrySendError::Full(v)) => self
                .send_contended(v, None)
                .map_err(|e| SendError(e.into_inner())),
        }
    }

    /// Sends `value`, blocking through `W` for at most `timeout` while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] or [`SendTimeoutError::Closed`], with the message.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{SendTimeoutError, channel::Spsc};
    ///
    /// let mut ring: Spsc<u8, 1> = Spsc::new();
    /// let (mut tx, _rx) = ring.split();
    /// tx.send_timeout(1, 10).unwrap();
    /// assert_eq!(tx.send_timeout(2, 10), Err(SendTimeoutError::Timeout(2)));
    /// ```
    pub fn send_timeout(
        &mut self,
        value: T,
        timeout: W::Timeout,
    ) -> Result<(), SendTimeoutError<T>> {
        match self.try_send(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(v)) => Err(SendTimeoutError::Closed(v)),
            Err(TrySendError::Full(v)) => self.send_contended(v, Some(&mut W::deadline(timeout))),
        }
    }

    #[cold]
    fn send_contended(
        &mut self,
        value: T,
        deadline: Option<&mut W::Deadline>,
    ) -> Result<(), SendTimeoutError<T>> {
        let chan = self.chan;
        let mut value = Some(value);
        let outcome = chan
            .not_full
            .wait_until(deadline, || match self.try_send(value.take()?) {
                Ok(()) => Some(Ok(())),
                Err(TrySendError::Closed(v)) => Some(Err(SendTimeoutError::Closed(v))),
                Err(TrySendError::Full(v)) => {
                    value = Some(v);
                    None
                }
            });
        match (outcome, value) {
            (Some(r), _) => r,
            (None, Some(v)) => Err(SendTimeoutError::Timeout(v)),
            // A send that failed always put the value back.
            (None, None) => Ok(()),
        }
    }

    /// Closes the channel and wakes the consumer, which drains what is queued and then gets
    /// `Closed`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{TryRecvError, channel::Spsc};
    ///
    /// let mut ring: Spsc<u8, 2> = Spsc::new();
    /// let (mut tx, mut rx) = ring.split();
    /// tx.send(1).unwrap();
    /// tx.close();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn close(&mut self) {
        self.chan.close();
    }

    /// The number of queued messages (at most this many, as the producer sees it: the consumer
    /// may have taken some since). A count, not a synchronization: it does not make what the
    /// consumer did before its receives visible to the producer.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Spsc;
    ///
    /// let mut ring: Spsc<u8, 2> = Spsc::new();
    /// let (mut tx, _rx) = ring.split();
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.ring.len_from_producer(&self.index)
    }

    /// Whether no message is queued (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Spsc;
    ///
    /// let mut ring: Spsc<u8, 2> = Spsc::new();
    /// let (tx, _rx) = ring.split();
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of free slots now (at least this many: that many `try_send` calls in a row
    /// succeed unless the channel is closed).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Spsc;
    ///
    /// let mut ring: Spsc<u8, 2> = Spsc::new();
    /// let (mut tx, _rx) = ring.split();
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.free(), 1);
    /// ```
    pub fn free(&self) -> usize {
        N - self.len()
    }

    /// Whether the channel is closed (a snapshot): the consumer was dropped, or either half
    /// closed it. Sends fail from then on.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Spsc;
    ///
    /// let mut ring: Spsc<u8, 2> = Spsc::new();
    /// let (tx, rx) = ring.split();
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }
}

impl<T, const N: usize, W: Wait> Drop for Producer<'_, T, N, W> {
    fn drop(&mut self) {
        self.chan.close();
    }
}

impl<T, const N: usize, W: Wait> fmt::Debug for Producer<'_, T, N, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// The receiving half of an [`Spsc`] channel. Dropping it closes the channel.
///
/// Interrupt handlers: `try_recv` never waits; see [`Spsc`].
///
/// # Examples
///
/// ```
/// use lockstep_core::{TryRecvError, channel::Spsc};
///
/// let mut ring: Spsc<u8, 1> = Spsc::new();
/// let (mut tx, mut rx) = ring.split();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// tx.send(4).unwrap();
/// assert_eq!(rx.try_recv(), Ok(4));
/// ```
pub struct Consumer<'a, T, const N: usize, W: Wait = Spin> {
    chan: &'a Spsc<T, N, W>,
    index: ConsumerIndex,
}

impl<'a, T, const N: usize, W: Wait> Consumer<'a, T, N, W> {
    /// Receives the oldest message if there is one now, without blocking.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`], or [`TryRecvError::Closed`] once closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{TryRecvError, channel::Spsc};
    ///
    /// let mut ring: Spsc<u8, 2> = Spsc::new();
    /// let (mut tx, mut rx) = ring.split();
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    #[inline]
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        // SAFETY: a `Consumer` is the ring's only consumer (one per split, not `Clone`), and
        // `self.index` is its state.
        match unsafe { self.chan.ring.pop(&mut self.index) } {
            Some(v) => {
                if W::NEEDS_WAKE {
                    // The pop's Release store of `head` becomes the state change of the
                    // signal's Dekker pair, with the light half of the asymmetric fence pair
                    // (as in `try_send`).
                    W::light_fence();
                    self.chan.not_full.notify_one();
                }
                Ok(v)
            }
            None => self.try_recv_empty(),
        }
    }

    /// `try_recv` found the ring empty: closed and drained, or just empty.
    #[cold]
    fn try_recv_empty(&mut self) -> Result<T, TryRecvError> {
        // Acquire: pairs with the SeqCst store in `close`, so every push before the close is
        // visible to the pop below.
        if !self.chan.shared.closed.load(Acquire) {
            return Err(TryRecvError::Empty);
        }
        // SAFETY: as in `try_recv`.
        unsafe { self.chan.ring.pop(&mut self.index) }.ok_or(TryRecvError::Closed)
    }

    /// Receives the oldest message, blocking through `W` while the channel is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{RecvError, channel::Spsc};
    ///
    /// let mut ring: Spsc<u8, 2> = Spsc::new();
    /// let (tx, mut rx) = ring.split();
    /// drop(tx);
    /// assert_eq!(rx.recv(), Err(RecvError));
    /// ```
    #[inline]
    pub fn recv(&mut self) -> Result<T, RecvError> {
        match self.try_recv() {
            Ok(v) => Ok(v),
            Err(TryRecvError::Closed) => Err(RecvError),
            Err(TryRecvError::Empty) => self.recv_contended(None).map_err(|_| RecvError),
        }
    }

    /// Receives the oldest message, blocking through `W` for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`], or [`RecvTimeoutError::Closed`] once closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{RecvTimeoutError, channel::Spsc};
    ///
    /// let mut ring: Spsc<u8, 2> = Spsc::new();
    /// let (_tx, mut rx) = ring.split();
    /// assert_eq!(rx.recv_timeout(10), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&mut self, timeout: W::Timeout) -> Result<T, RecvTimeoutError> {
        match self.try_recv() {
            Ok(v) => Ok(v),
            Err(TryRecvError::Closed) => Err(RecvTimeoutError::Closed),
            Err(TryRecvError::Empty) => self.recv_contended(Some(&mut W::deadline(timeout))),
        }
    }

    #[cold]
    fn recv_contended(
        &mut self,
        deadline: Option<&mut W::Deadline>,
    ) -> Result<T, RecvTimeoutError> {
        let chan = self.chan;
        chan.shared
            .not_empty
            .wait_until(deadline, || match self.try_recv() {
                Ok(v) => Some(Ok(v)),
                Err(TryRecvError::Closed) => Some(Err(RecvTimeoutError::Closed)),
                Err(TryRecvError::Empty) => None,
            })
            .unwrap_or(Err(RecvTimeoutError::Timeout))
    }

    /// The number of queued messages (at least this many, as the consumer sees it: that many
    /// `try_recv` calls in a row succeed).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Spsc;
    ///
    /// let mut ring: Spsc<u8, 2> = Spsc::new();
    /// let (mut tx, rx) = ring.split();
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.ring.len_from_consumer(&self.index)
    }

    /// Whether no message is queued (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Spsc;
    ///
    /// let mut ring: Spsc<u8, 2> = Spsc::new();
    /// let (_tx, rx) = ring.split();
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the channel is closed (a snapshot): the producer was dropped or closed it. The
    /// messages still queued can be received; then receives return `Closed`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Spsc;
    ///
    /// let mut ring: Spsc<u8, 2> = Spsc::new();
    /// let (mut tx, mut rx) = ring.split();
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// assert_eq!(rx.try_recv(), Ok(1)); // still drains
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// An iterator that receives messages, blocking while the channel is empty, and ends once
    /// it is closed (the producer closed it or was dropped) and drained; `&mut consumer` is
    /// [`IntoIterator`] too.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Spsc;
    ///
    /// let mut ring: Spsc<u32, 2> = Spsc::new();
    /// let (mut tx, mut rx) = ring.split();
    /// std::thread::scope(|s| {
    ///     s.spawn(move || {
    ///         for n in 1..=4 {
    ///             tx.send(n).unwrap();
    ///         }
    ///     }); // dropping the producer ends the consumer's iteration
    ///     assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2, 3, 4]);
    /// });
    /// ```
    pub fn iter(&mut self) -> ConsumerIter<'_, 'a, T, N, W> {
        ConsumerIter { consumer: self }
    }

    /// An iterator over the messages queued now, without blocking: it ends at the first
    /// [`try_recv`](Self::try_recv) that finds none.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Spsc;
    ///
    /// let mut ring: Spsc<u32, 4> = Spsc::new();
    /// let (mut tx, mut rx) = ring.split();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(rx.try_iter().next(), None);
    /// ```
    pub fn try_iter(&mut self) -> ConsumerTryIter<'_, 'a, T, N, W> {
        ConsumerTryIter { consumer: self }
    }
}

/// The blocking iterator of a [`Consumer`], from [`Consumer::iter`] or `&mut consumer`: each
/// `next` is a [`recv`](Consumer::recv), and it ends once the channel is closed and drained.
pub struct ConsumerIter<'c, 'a, T, const N: usize, W: Wait = Spin> {
    consumer: &'c mut Consumer<'a, T, N, W>,
}

impl<T, const N: usize, W: Wait> Iterator for ConsumerIter<'_, '_, T, N, W> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.consumer.recv().ok()
    }
}

impl<T, const N: usize, W: Wait> fmt::Debug for ConsumerIter<'_, '_, T, N, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ConsumerIter")
            .field(&*self.consumer)
            .finish()
    }
}

/// The non-blocking iterator of a [`Consumer`], from [`Consumer::try_iter`]: each `next` is a
/// [`try_recv`](Consumer::try_recv), and it ends when one finds no message.
pub struct ConsumerTryIter<'c, 'a, T, const N: usize, W: Wait = Spin> {
    consumer: &'c mut Consumer<'a, T, N, W>,
}

impl<T, const N: usize, W: Wait> Iterator for ConsumerTryIter<'_, '_, T, N, W> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.consumer.try_recv().ok()
    }
}

impl<T, const N: usize, W: Wait> fmt::Debug for ConsumerTryIter<'_, '_, T, N, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ConsumerTryIter")
            .field(&*self.consumer)
            .finish()
    }
}

impl<'c, 'a, T, const N: usize, W: Wait> IntoIterator for &'c mut Consumer<'a, T, N, W> {
    type Item = T;
    type IntoIter = ConsumerIter<'c, 'a, T, N, W>;

    fn into_iter(self) -> ConsumerIter<'c, 'a, T, N, W> {
        self.iter()
    }
}

impl<T, const N: usize, W: Wait> Drop for Consumer<'_, T, N, W> {
    fn drop(&mut self) {
        self.chan.close();
    }
}

impl<T, const N: usize, W: Wait> fmt::Debug for Consumer<'_, T, N, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}
