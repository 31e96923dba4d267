//! [`Queue`]: the bounded MPMC channel (the lecture's bounded buffer).

use core::fmt;

use super::error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use super::signal::Signal;
use crate::queue::CachePadded;
use crate::queue::mpmc::{PopError, PushError, Ring};
use crate::sync::hint::spin_loop;
use crate::wait::{Spin, Wait};

/// One round of waiting for another thread to finish an operation it has begun: `W`'s backoff
/// (spin, then yield), starting over when it is used up, with a spin hint in between (the
/// simulator reads it as "wait for a change").
fn relax<W: Wait>(attempt: &mut u32) {
    if W::backoff(*attempt) {
        *attempt += 1;
    } else {
        spin_loop();
        *attempt = 0;
    }
}

/// A bounded multi-producer multi-consumer channel of exactly `N` slots, blocking through `W`
/// (the lecture's bounded buffer).
///
/// `const` constructible, so it can live in a `static`; no allocation. The ring is Vyukov's
/// bounded queue (see `queue::mpmc`): a send or receive that does not have to wait is one
/// compare-and-swap, one slot access and one store, and calls `W` only if another thread is
/// blocked on the other side (with [`Spin`], never).
///
/// - Blocking: [`send`](Self::send) blocks only while the queue is full, [`recv`](Self::recv)
///   only while it is empty; `_timeout` forms give up after a `W::Timeout` (a `Duration` with
///   the hosted futex, a number of backoff cycles with [`Spin`]).
/// - Close: [`close`](Self::close) wakes every blocked thread; sends fail from then on with the
///   message handed back, receivers drain what is left and then get `Closed`.
/// - Iteration: [`iter`](Self::iter) (or `for m in &queue`) receives until the queue is closed
///   and drained; [`try_iter`](Self::try_iter) takes what is queued now.
/// - Order: FIFO in the order the sends took their slots. Not lock-free: a sender preempted in
///   the middle of its send stalls the receiver of that slot.
/// - Drop: messages still queued are dropped with the queue.
///
/// # Interrupt handlers
///
/// An interrupt handler may call [`try_send`](Self::try_send), [`try_recv`](Self::try_recv),
/// [`close`](Self::close) and the snapshots (`len`, `is_empty`, `is_full`, `is_closed`): none of
/// them waits for another context. A slot that preempted code has claimed but not finished counts
/// as occupied for `try_send` and as empty for `try_recv` (`Full` or `Empty`: try again on the next
/// interrupt). The blocking [`send`](Self::send), [`recv`](Self::recv) and their `_timeout` forms
/// belong in thread mode: in a handler they would wait for the code they preempted, for ever on a
/// single core. Thread mode may block on a queue that a handler fills or drains. Firmware test:
/// `embedded/src/bin/queue.rs` (both directions, and a close from the handler).
///
/// # Examples
///
/// ```
/// use lockstep_core::{Queue, TryRecvError, TrySendError};
///
/// static JOBS: Queue<u32, 2> = Queue::new();
///
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         for job in 0..10 {
///             JOBS.send(job).unwrap(); // blocks while both slots are taken
///         }
///         JOBS.close();
///     });
///     let mut sum = 0;
///     while let Ok(job) = JOBS.recv() {
///         sum += job;
///     }
///     assert_eq!(sum, 45);
/// });
/// assert_eq!(JOBS.try_recv(), Err(TryRecvError::Closed));
/// assert_eq!(JOBS.try_send(1), Err(TrySendError::Closed(1)));
/// ```
///
/// Byte payloads in `no_std` use fixed-capacity buffers such as `heapless::Vec<u8, M>`:
///
/// ```
/// use heapless::Vec;
/// use lockstep_core::Queue;
///
/// static FRAMES: Queue<Vec<u8, 16>, 4> = Queue::new();
/// FRAMES.try_send(Vec::from_slice(b"Hello World").unwrap()).unwrap();
/// assert_eq!(FRAMES.try_recv().unwrap().as_slice(), b"Hello World");
/// ```
pub struct Queue<T, const N: usize, W = Spin> {
    ring: Ring<T, N>,
    /// Receivers wait here while the queue is empty. On a cache line of its own, apart from
    /// `not_full`: every send reads these flags and every receive reads `not_full`'s, and a
    /// waiter announcing itself or a notification clearing the flags writes them, so on one
    /// shared line each side's waits and notifications would invalidate the line the other side
    /// reads at every operation.
    not_empty: CachePadded<Signal<W>>,
    /// Senders wait here while the queue is full.
    not_full: CachePadded<Signal<W>>,
}

// Memory ordering: the ring orders the messages (see `queue::mpmc`). Its claims of `head` and
// `tail` are SeqCst read-modify-writes, which is the state change of the Dekker pair inside
// `Signal`: a sender reads the receivers' waiter flags after its SeqCst claim, a receiver after
// its own.
impl<T, const N: usize, W: Wait> Queue<T, N, W> {
    /// Creates an empty, open queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Queue;
    ///
    /// static Q: Queue<u64, 8> = Queue::new();
    /// assert!(Q.is_empty());
    /// assert_eq!(Q.capacity(), 8);
    /// ```
    pub const fn new() -> Self {
        Self {
            ring: Ring::new(),
            not_empty: CachePadded::new(Signal::new()),
            not_full: CachePadded::new(Signal::new()),
        }
    }

    #[inline(always)]
    fn not_empty(&self) -> &Signal<W> {
        &self.not_empty
    }

    #[inline(always)]
    fn not_full(&self) -> &Signal<W> {
        &self.not_full
    }

    /// Sends `value` if a slot is free now, without blocking.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the message handed back.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{Queue, TrySendError};
    ///
    /// let q: Queue<&str, 1> = Queue::new();
    /// assert_eq!(q.try_send("a"), Ok(()));
    /// assert_eq!(q.try_send("b"), Err(TrySendError::Full("b")));
    /// ```
    #[inline]
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.ring.push(value) {
            Ok(()) => {
                self.not_empty().notify_one();
                Ok(())
            }
            Err(PushError::Full(v)) => Err(TrySendError::Full(v)),
            Err(PushError::Closed(v)) => Err(TrySendError::Closed(v)),
        }
    }

    /// Sends `value`, blocking through `W` while the queue is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message if the queue is closed (before or while blocking).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Queue;
    ///
    /// let q: Queue<u8, 2> = Queue::new();
    /// q.send(1).unwrap();
    /// assert_eq!(q.recv(), Ok(1));
    /// ```
    #[inline]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.try_send(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(v)) => Err(SendError(v)),
            Err(TrySendError::Full(v)) => match self.send_contended(v, None) {
                Ok(()) => Ok(()),
                Err(SendTimeoutError::Closed(v) | SendTimeoutError::Timeout(v)) => {
                    Err(SendError(v))
                }
            },
        }
    }

    /// Sends `value`, blocking through `W` for at most `timeout` while the queue is full.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] or [`SendTimeoutError::Closed`], with the message.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{Queue, SendTimeoutError};
    ///
    /// let q: Queue<u8, 1> = Queue::new();
    /// assert_eq!(q.send_timeout(1, 10), Ok(()));
    /// assert_eq!(q.send_timeout(2, 10), Err(SendTimeoutError::Timeout(2)));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: W::Timeout) -> Result<(), SendTimeoutError<T>> {
        match self.try_send(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(v)) => Err(SendTimeoutError::Closed(v)),
            Err(TrySendError::Full(v)) => self.send_contended(v, Some(&mut W::deadline(timeout))),
        }
    }

    /// Sends `value`, blocking through `W` until `deadline` (if any) while the queue is full.
    pub(crate) fn send_deadline(
        &self,
        value: T,
        deadline: Option<&mut W::Deadline>,
    ) -> Result<(), SendTimeoutError<T>> {
        match self.try_send(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(v)) => Err(SendTimeoutError::Closed(v)),
            Err(TrySendError::Full(v)) => self.send_contended(v, deadline),
        }
    }

    #[cold]
    fn send_contended(
        &self,
        value: T,
        deadline: Option<&mut W::Deadline>,
    ) -> Result<(), SendTimeoutError<T>> {
        let mut value = Some(value);
        // Kept across the attempts of this send: while consumers keep slots half-released, each
        // wait for one backs off longer than the last instead of polling the slot the consumer
        // is about to write (which slowed that consumer) at the same short interval.
        let mut attempt = 0;
        let closed = self.not_full().wait_until_announced(deadline, |announced| {
            loop {
                // The closure runs only while `value` is `Some`: it returns as soon as it takes
                // it.
                match self.try_send(value.take()?) {
                    Ok(()) => return Some(false),
                    Err(TrySendError::Closed(v)) => {
                        value = Some(v);
                        return Some(true);
                    }
                    Err(TrySendError::Full(v)) => {
                        value = Some(v);
                        // Before the announcement, `None` only means "back off and try again":
                        // do not read the consumers' `head` (see `wait_until_announced`).
                        if !announced || !self.ring.popped_unreleased() {
                            return None;
                        }
                        // A consumer is between its claim and its release of a slot; it may
                        // miss our announcement (see `Ring::claimed_unpopped`), so wait for it
                        // here rather than sleep.
                        relax::<W>(&mut attempt);
                    }
                }
            }
        });
        match (closed, value) {
            (Some(false), _) => Ok(()),
            (Some(true), Some(v)) => Err(SendTimeoutError::Closed(v)),
            (None, Some(v)) => Err(SendTimeoutError::Timeout(v)),
            // A send that failed always put the value back.
            (_, None) => Ok(()),
        }
    }

    /// Receives the oldest message if there is one now, without blocking.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`], or [`TryRecvError::Closed`] once the queue is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{Queue, TryRecvError};
    ///
    /// let q: Queue<u8, 4> = Queue::new();
    /// q.try_send(1).unwrap();
    /// q.close();
    /// assert_eq!(q.try_recv(), Ok(1)); // drains after close
    /// assert_eq!(q.try_recv(), Err(TryRecvError::Closed));
    /// ```
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.ring.pop() {
            Ok(v) => {
                self.not_full().notify_one();
                Ok(v)
            }
            Err(PopError::Empty) => Err(TryRecvError::Empty),
            Err(PopError::Closed) => Err(TryRecvError::Closed),
        }
    }

    /// Receives the oldest message, blocking through `W` while the queue is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the queue is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Queue;
    ///
    /// let q: Queue<u8, 4> = Queue::new();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| q.send(5).unwrap());
    ///     assert_eq!(q.recv(), Ok(5));
    /// });
    /// ```
    #[inline]
    pub fn recv(&self) -> Result<T, RecvError> {
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
    /// use lockstep_core::{Queue, RecvTimeoutError};
    ///
    /// let q: Queue<u8, 4> = Queue::new();
    /// assert_eq!(q.recv_timeout(10), Err(RecvTimeoutError::Timeout));
    /// q.send(1).unwrap();
    /// assert_eq!(q.recv_timeout(10), Ok(1));
    /// ```
    pub fn recv_timeout(&self, timeout: W::Timeout) -> Result<T, RecvTimeoutError> {
        match self.try_recv() {
            Ok(v) => Ok(v),
            Err(TryRecvError::Closed) => Err(RecvTimeoutError::Closed),
            Err(TryRecvError::Empty) => self.recv_contended(Some(&mut W::deadline(timeout))),
        }
    }

    /// Receives, blocking through `W` until `deadline` (if any) while the queue is empty.
    #[allow(dead_code)] // for channels built on the queue
    pub(crate) fn recv_deadline(
        &self,
        deadline: Option<&mut W::Deadline>,
    ) -> Result<T, RecvTimeoutError> {
        match self.try_recv() {
            Ok(v) => Ok(v),
            Err(TryRecvError::Closed) => Err(RecvTimeoutError::Closed),
            Err(TryRecvError::Empty) => self.recv_contended(deadline),
        }
    }

    #[cold]
    fn recv_contended(&self, deadline: Option<&mut W::Deadline>) -> Result<T, RecvTimeoutError> {
        // Kept across attempts, as in `send_contended`.
        let mut attempt = 0;
        self.not_empty()
            .wait_until_announced(deadline, |announced| {
                loop {
                    match self.try_recv() {
                        Ok(v) => return Some(Ok(v)),
                        Err(TryRecvError::Closed) => return Some(Err(RecvTimeoutError::Closed)),
                        // Before the announcement, do not read the producers' `tail` (as in
                        // `send_contended`).
                        Err(TryRecvError::Empty) if announced && self.ring.claimed_unpopped() => {
                            // A producer is between its claim and its write; it may miss our
                            // announcement (see `Ring::claimed_unpopped`), so wait for it here
                            // rather than sleep.
                            relax::<W>(&mut attempt);
                        }
                        Err(TryRecvError::Empty) => return None,
                    }
                }
            })
            .unwrap_or(Err(RecvTimeoutError::Timeout))
    }

    /// Closes the queue and wakes every blocked sender and receiver.
    ///
    /// Sends fail from now on, handing the message back; receivers get what is still queued,
    /// then `Closed`. Returns `true` if this call closed it, `false` if it was closed already.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Queue;
    ///
    /// let q: Queue<u8, 4> = Queue::new();
    /// assert!(q.close());
    /// assert!(!q.close());
    /// assert!(q.is_closed());
    /// ```
    pub fn close(&self) -> bool {
        // The ring's close is a SeqCst read-modify-write: the state change the signals need.
        let closed = self.ring.close();
        self.not_empty().notify_all();
        self.not_full().notify_all();
        closed
    }

    /// Whether the queue is closed (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Queue;
    ///
    /// let q: Queue<u8, 4> = Queue::new();
    /// assert!(!q.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.ring.is_closed()
    }

    /// The number of queued messages (a snapshot that may be stale at once).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Queue;
    ///
    /// let q: Queue<u8, 4> = Queue::new();
    /// q.send(1).unwrap();
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether no message is queued (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Queue;
    ///
    /// let q: Queue<u8, 4> = Queue::new();
    /// assert!(q.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every slot is taken (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Queue;
    ///
    /// let q: Queue<u8, 1> = Queue::new();
    /// q.send(1).unwrap();
    /// assert!(q.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == N
    }

    /// The number of slots, `N`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Queue;
    ///
    /// assert_eq!(Queue::<u8, 3>::new().capacity(), 3);
    /// ```
    pub const fn capacity(&self) -> usize {
        N
    }

    /// An iterator that receives messages, blocking while the queue is empty, and ends once
    /// the queue is closed and drained (`while let Ok(m) = q.recv()` as a `for` loop; `&queue`
    /// is [`IntoIterator`] too).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Queue;
    ///
    /// let q: Queue<u32, 2> = Queue::new();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| {
    ///         for n in 1..=4 {
    ///             q.send(n).unwrap();
    ///         }
    ///         q.close();
    ///     });
    ///     assert_eq!(q.iter().sum::<u32>(), 10);
    /// });
    /// for _ in &q {
    ///     unreachable!("closed and drained");
    /// }
    /// ```
    pub fn iter(&self) -> QueueIter<'_, T, N, W> {
        QueueIter { queue: self }
    }

    /// An iterator over the messages queued now, without blocking: it ends at the first
    /// [`try_recv`](Self::try_recv) that finds the queue empty (or closed and drained).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Queue;
    ///
    /// let q: Queue<u32, 4> = Queue::new();
    /// q.send(1).unwrap();
    /// q.send(2).unwrap();
    /// assert_eq!(q.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(q.try_iter().next(), None); // empty, still open
    /// ```
    pub fn try_iter(&self) -> QueueTryIter<'_, T, N, W> {
        QueueTryIter { queue: self }
    }
}

/// The blocking iterator of a [`Queue`], from [`Queue::iter`] or `&queue`: each `next` is a
/// [`recv`](Queue::recv), and the iterator ends once the queue is closed and drained.
pub struct QueueIter<'a, T, const N: usize, W = Spin> {
    queue: &'a Queue<T, N, W>,
}

impl<T, const N: usize, W: Wait> Iterator for QueueIter<'_, T, N, W> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.queue.recv().ok()
    }
}

impl<T, const N: usize, W: Wait> fmt::Debug for QueueIter<'_, T, N, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("QueueIter").field(self.queue).finish()
    }
}

/// The non-blocking iterator of a [`Queue`], from [`Queue::try_iter`]: each `next` is a
/// [`try_recv`](Queue::try_recv), and the iterator ends when one finds no message.
pub struct QueueTryIter<'a, T, const N: usize, W = Spin> {
    queue: &'a Queue<T, N, W>,
}

impl<T, const N: usize, W: Wait> Iterator for QueueTryIter<'_, T, N, W> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.queue.try_recv().ok()
    }
}

impl<T, const N: usize, W: Wait> fmt::Debug for QueueTryIter<'_, T, N, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("QueueTryIter").field(self.queue).finish()
    }
}

impl<'a, T, const N: usize, W: Wait> IntoIterator for &'a Queue<T, N, W> {
    type Item = T;
    type IntoIter = QueueIter<'a, T, N, W>;

    fn into_iter(self) -> QueueIter<'a, T, N, W> {
        self.iter()
    }
}

impl<T, const N: usize, W: Wait> Default for Queue<T, N, W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize, W: Wait> fmt::Debug for Queue<T, N, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("len", &self.len())
            .field("capacity", &N)
            .field("closed", &self.is_closed())
            .finish()
    }
}
