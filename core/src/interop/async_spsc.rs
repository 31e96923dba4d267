//! [`AsyncSpsc`]: the single-producer single-consumer channel with `async` send and receive
//! (cargo feature `async`), each side's task woken through an embassy-sync waker registration.

use core::fmt;

use super::async_queue::Wakers;
use crate::channel::{RecvError, SendError, TryRecvError, TrySendError};
use crate::queue::CachePadded;
use crate::queue::spsc::{ConsumerIndex, ProducerIndex, Ring};
use crate::sync::atomic::{
    AtomicBool,
    Ordering::{Acquire, Relaxed, Release},
};

/// A single-producer single-consumer channel of exactly `N` slots for `async` code, used
/// through its [`AsyncProducer`] and [`AsyncConsumer`] halves: the async form of
/// [`Spsc`](crate::channel::Spsc), on the same ring.
///
/// A waiting task registers its waker (one per side) and the other side wakes it only if one is
/// registered; a send or receive that does not wait costs the ring operation plus one fence and
/// one load of a read-mostly flag.
///
/// - Split: [`split`](Self::split) from `&mut self`, or [`try_split`](Self::try_split) once
///   from `&self` (for a `static`).
/// - Close: [`AsyncProducer::close`], or dropping either half, closes the channel and wakes the
///   other side; the consumer drains what is left, then gets `Closed`.
/// - Cancel: dropping a `send` future drops its message if it was not sent; dropping a `recv`
///   future loses nothing.
///
/// # Interrupt handlers
///
/// Either half may live in an interrupt handler: [`AsyncProducer::try_send`],
/// [`AsyncProducer::close`], dropping a half, and [`AsyncConsumer::try_recv`] never wait and wake the
/// other side's task even when the handler preempted its registration. The `send` and `recv`
/// futures run in tasks. Firmware test: `embedded/src/bin/async.rs` (the producer in the handler).
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::AsyncSpsc;
///
/// static RING: AsyncSpsc<u32, 4> = AsyncSpsc::new();
///
/// async fn pipeline() -> u32 {
///     let (mut tx, mut rx) = RING.try_split().unwrap();
///     tx.send(20).await.unwrap();
///     tx.send(22).await.unwrap();
///     drop(tx); // closes: the consumer drains, then stops
///     let mut sum = 0;
///     while let Ok(v) = rx.recv().await {
///         sum += v;
///     }
///     sum
/// }
///
/// // Any executor runs it; this one polls a future that never has to wait.
/// let mut fut = core::pin::pin!(pipeline());
/// let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
/// assert_eq!(fut.as_mut().poll(&mut cx), core::task::Poll::Ready(42));
/// ```
pub struct AsyncSpsc<T, const N: usize> {
    ring: Ring<T, N>,
    shared: CachePadded<Shared>,
}

/// The read-mostly state: written on close, on split and when a side waits.
struct Shared {
    /// Set by `close` or by dropping a half; cleared by `split`.
    closed: AtomicBool,
    /// Set by `try_split`; never cleared, so a `&self` channel is split once.
    split: AtomicBool,
    /// The producer's task while the ring is full.
    sender: Wakers<1>,
    /// The consumer's task while the ring is empty.
    receiver: Wakers<1>,
}

// Memory ordering: the ring orders the messages (see `queue::spsc`). Waking is the Dekker pair of
// `Wakers`: a side that changed the ring or the `closed` flag (Release stores) issues a SeqCst
// fence and reads the other side's `waiting` flag; a task that found nothing to do sets its flag,
// issues a SeqCst fence and tries again.
impl<T, const N: usize> AsyncSpsc<T, N> {
    /// Creates an empty, open channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::AsyncSpsc;
    ///
    /// static RING: AsyncSpsc<u8, 4> = AsyncSpsc::new();
    /// assert!(RING.is_empty());
    /// ```
    pub const fn new() -> Self {
        Self {
            ring: Ring::new(),
            shared: CachePadded::new(Shared {
                closed: AtomicBool::new(false),
                split: AtomicBool::new(false),
                sender: Wakers::new(),
                receiver: Wakers::new(),
            }),
        }
    }

    /// Splits an owned channel into its halves (and reopens it if a previous pair closed it).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::AsyncSpsc;
    ///
    /// let mut ring: AsyncSpsc<u8, 2> = AsyncSpsc::new();
    /// let (mut tx, mut rx) = ring.split();
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn split(&mut self) -> (AsyncProducer<'_, T, N>, AsyncConsumer<'_, T, N>) {
        // Relaxed: `&mut self` means no half is alive.
        self.shared.closed.store(false, Relaxed);
        // Relaxed: as above.
        self.shared.split.store(true, Relaxed);
        self.halves()
    }

    /// Splits the channel the first time it is called and returns `None` ever after: the way to
    /// use a `static` channel without `unsafe`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::AsyncSpsc;
    ///
    /// static RING: AsyncSpsc<u8, 2> = AsyncSpsc::new();
    /// assert!(RING.try_split().is_some());
    /// assert!(RING.try_split().is_none());
    /// ```
    pub fn try_split(&self) -> Option<(AsyncProducer<'_, T, N>, AsyncConsumer<'_, T, N>)> {
        // Relaxed: as in `Spsc::try_split`: the swap finds `false` only once, on a ring as `new`
        // made it, and its atomicity alone makes the claim exclusive.
        (!self.shared.split.swap(true, Relaxed)).then(|| self.halves())
    }

    fn halves(&self) -> (AsyncProducer<'_, T, N>, AsyncConsumer<'_, T, N>) {
        (
            AsyncProducer {
                chan: self,
                index: self.ring.producer_index(),
            },
            AsyncConsumer {
                chan: self,
                index: self.ring.consumer_index(),
            },
        )
    }

    fn close(&self) {
        // Release: publishes every message pushed before the close (by this thread, or by
        // another one before the producer was handed over here) to a consumer that reads the
        // flag with Acquire. The wakers' Dekker pair needs no more: the first thing `wake` does
        // is a SeqCst fence, which orders this store before its load of `waiting` as a SeqCst
        // store would.
        self.shared.closed.store(true, Release);
        self.shared.sender.wake();
        self.shared.receiver.wake();
    }

    /// The number of queued messages (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::AsyncSpsc;
    ///
    /// let mut ring: AsyncSpsc<u8, 2> = AsyncSpsc::new();
    /// let (mut tx, rx) = ring.split();
    /// tx.try_send(1).unwrap();
    /// drop((tx, rx));
    /// assert_eq!(ring.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether no message is queued (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(lockstep_core::channel::AsyncSpsc::<u8, 2>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the channel is closed (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::AsyncSpsc;
    ///
    /// let mut ring: AsyncSpsc<u8, 2> = AsyncSpsc::new();
    /// let (tx, rx) = ring.split();
    /// drop((tx, rx));
    /// assert!(ring.is_closed());
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
    /// assert_eq!(lockstep_core::channel::AsyncSpsc::<u8, 8>::new().capacity(), 8);
    /// ```
    pub const fn capacity(&self) -> usize {
        N
    }
}

impl<T, const N: usize> Default for AsyncSpsc<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> fmt::Debug for AsyncSpsc<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncSpsc")
            .field("len", &self.len())
            .field("capacity", &N)
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The sending half of an [`AsyncSpsc`]. Dropping it closes the channel.
///
/// Interrupt handlers: `try_send`, `close` and dropping it never wait; see [`AsyncSpsc`].
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::AsyncSpsc;
///
/// let mut ring: AsyncSpsc<u8, 1> = AsyncSpsc::new();
/// let (mut tx, _rx) = ring.split();
/// assert!(tx.try_send(1).is_ok());
/// assert!(tx.try_send(2).unwrap_err().is_full());
/// ```
pub struct AsyncProducer<'a, T, const N: usize> {
    chan: &'a AsyncSpsc<T, N>,
    index: ProducerIndex,
}

impl<T, const N: usize> AsyncProducer<'_, T, N> {
    /// Sends `value` if a slot is free now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the message handed back.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{TrySendError, channel::AsyncSpsc};
    ///
    /// let mut ring: AsyncSpsc<u8, 1> = AsyncSpsc::new();
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
        // SAFETY: an `AsyncProducer` is the ring's only producer (one per split, not `Clone`),
        // and `self.index` is its state.
        match unsafe { self.chan.ring.push(&mut self.index, value) } {
            Ok(()) => {
                self.chan.shared.receiver.wake();
                Ok(())
            }
            Err(v) => Err(TrySendError::Full(v)),
        }
    }

    /// Sends `value`, waiting (as a future) while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message if the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::AsyncSpsc;
    ///
    /// let mut ring: AsyncSpsc<u8, 1> = AsyncSpsc::new();
    /// let (mut tx, mut rx) = ring.split();
    /// let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    /// assert!(core::pin::pin!(tx.send(1)).poll(&mut cx).is_ready());
    /// let mut second = core::pin::pin!(tx.send(2));
    /// assert!(second.as_mut().poll(&mut cx).is_pending()); // full
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(second.as_mut().poll(&mut cx), core::task::Poll::Ready(Ok(())));
    /// ```
    pub async fn send(&mut self, value: T) -> Result<(), SendError<T>> {
        let chan = self.chan;
        chan.shared.sender.send(value, |v| self.try_send(v)).await
    }

    /// Closes the channel: later sends fail, the consumer drains what is left and its waiting
    /// task is woken.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{TryRecvError, channel::AsyncSpsc};
    ///
    /// let mut ring: AsyncSpsc<u8, 2> = AsyncSpsc::new();
    /// let (mut tx, mut rx) = ring.split();
    /// tx.try_send(1).unwrap();
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
    /// use lockstep_core::channel::AsyncSpsc;
    ///
    /// let mut ring: AsyncSpsc<u8, 2> = AsyncSpsc::new();
    /// let (mut tx, _rx) = ring.split();
    /// tx.try_send(1).unwrap();
    /// assert_eq!((tx.len(), tx.free()), (1, 1));
    /// ```
    pub fn len(&self) -> usize {
        self.chan.ring.len_from_producer(&self.index)
    }

    /// Whether no message is queued (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::AsyncSpsc;
    ///
    /// let mut ring: AsyncSpsc<u8, 2> = AsyncSpsc::new();
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
    /// use lockstep_core::channel::AsyncSpsc;
    ///
    /// let mut ring: AsyncSpsc<u8, 2> = AsyncSpsc::new();
    /// let (tx, _rx) = ring.split();
    /// assert_eq!(tx.free(), 2);
    /// ```
    pub fn free(&self) -> usize {
        N - self.len()
    }
}

impl<T, const N: usize> Drop for AsyncProducer<'_, T, N> {
    fn drop(&mut self) {
        self.chan.close();
    }
}

impl<T, const N: usize> fmt::Debug for AsyncProducer<'_, T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncProducer")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// The receiving half of an [`AsyncSpsc`]. Dropping it closes the channel.
///
/// Interrupt handlers: `try_recv` and dropping it never wait; see [`AsyncSpsc`].
///
/// # Examples
///
/// ```
/// use lockstep_core::{TryRecvError, channel::AsyncSpsc};
///
/// let mut ring: AsyncSpsc<u8, 1> = AsyncSpsc::new();
/// let (mut tx, mut rx) = ring.split();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// tx.try_send(4).unwrap();
/// assert_eq!(rx.try_recv(), Ok(4));
/// ```
pub struct AsyncConsumer<'a, T, const N: usize> {
    chan: &'a AsyncSpsc<T, N>,
    index: ConsumerIndex,
}

impl<T, const N: usize> AsyncConsumer<'_, T, N> {
    /// Receives the oldest message if there is one now.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`], or [`TryRecvError::Closed`] once closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{TryRecvError, channel::AsyncSpsc};
    ///
    /// let mut ring: AsyncSpsc<u8, 2> = AsyncSpsc::new();
    /// let (mut tx, mut rx) = ring.split();
    /// tx.try_send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    #[inline]
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        // SAFETY: an `AsyncConsumer` is the ring's only consumer (one per split, not `Clone`),
        // and `self.index` is its state.
        match unsafe { self.chan.ring.pop(&mut self.index) } {
            Some(v) => {
                self.chan.shared.sender.wake();
                Ok(v)
            }
            None => self.try_recv_empty(),
        }
    }

    /// `try_recv` found the ring empty: closed and drained, or just empty.
    #[cold]
    fn try_recv_empty(&mut self) -> Result<T, TryRecvError> {
        // Acquire: pairs with the Release store in `close`, so every push before the close is
        // visible to the pop below.
        if !self.chan.shared.closed.load(Acquire) {
            return Err(TryRecvError::Empty);
        }
        // SAFETY: as in `try_recv`.
        unsafe { self.chan.ring.pop(&mut self.index) }.ok_or(TryRecvError::Closed)
    }

    /// Receives the oldest message, waiting (as a future) while the channel is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::AsyncSpsc;
    ///
    /// let mut ring: AsyncSpsc<u8, 1> = AsyncSpsc::new();
    /// let (mut tx, mut rx) = ring.split();
    /// let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    /// let mut fut = core::pin::pin!(rx.recv());
    /// assert!(fut.as_mut().poll(&mut cx).is_pending());
    /// tx.try_send(3).unwrap();
    /// assert_eq!(fut.as_mut().poll(&mut cx), core::task::Poll::Ready(Ok(3)));
    /// ```
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        let chan = self.chan;
        chan.shared.receiver.recv(|| self.try_recv()).await
    }

    /// The number of queued messages (at least this many, as the consumer sees it: that many
    /// `try_recv` calls in a row succeed).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::AsyncSpsc;
    ///
    /// let mut ring: AsyncSpsc<u8, 2> = AsyncSpsc::new();
    /// let (mut tx, rx) = ring.split();
    /// tx.try_send(1).unwrap();
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
    /// use lockstep_core::channel::AsyncSpsc;
    ///
    /// let mut ring: AsyncSpsc<u8, 2> = AsyncSpsc::new();
    /// let (_tx, rx) = ring.split();
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T, const N: usize> Drop for AsyncConsumer<'_, T, N> {
    fn drop(&mut self) {
        self.chan.close();
    }
}

impl<T, const N: usize> fmt::Debug for AsyncConsumer<'_, T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncConsumer")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}
