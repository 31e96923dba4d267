//! [`AsyncQueue`]: the bounded MPMC queue with `async` send and receive (cargo feature `async`),
//! waking tasks through embassy-sync's `MultiWakerRegistration`.

use core::fmt;
use core::future::poll_fn;
use core::task::{Poll, Waker};

use embassy_sync::waitqueue::MultiWakerRegistration;

use crate::channel::{RecvError, SendError, TryRecvError, TrySendError};
use crate::mutex::Mutex;
use crate::queue::mpmc::{PopError, PushError, Ring};
use crate::sync::atomic::{
    AtomicBool,
    Ordering::{Relaxed, SeqCst},
    fence,
};
use crate::wait::Spin;

/// The wakers of the tasks waiting on one side, and whether there are any.
///
/// Waking never waits for the lock: a notifier that finds it taken (by a registration it
/// interrupted, or by a waker's `clone` or `wake` that itself sends on the queue) leaves the wake
/// to the holder through `pending`, so `try_send`, `try_recv` and `close` are safe in an interrupt
/// handler and from inside a waker.
pub(super) struct Wakers<const K: usize> {
    /// Set when a waker is registered, cleared when they are woken.
    waiting: AtomicBool,
    /// Set by a notifier that found `list` locked; whoever holds or next takes the lock wakes
    /// the list for it.
    pending: AtomicBool,
    /// Taken only to register, or (never waiting for it) to take the wakers out; wakers are
    /// woken after it is released.
    list: Mutex<MultiWakerRegistration<K>, Spin>,
}

// Memory ordering: a Dekker pair like the blocking channels' `Signal`. A task registers its
// waker, sets `waiting`, issues a SeqCst fence (the first step of `drain`) and then retries the
// queue; the other side changes the queue, issues a SeqCst fence and reads `waiting`. With a
// SeqCst fence between the write and the read on both sides, RC11 forbids both reads to miss the
// other side's write (store buffering with fences), whatever the orderings of the accesses: the
// retry succeeds, or the waker is woken. So `waiting` and `pending` are written and read Relaxed;
// the wakers themselves pass from the registering task to the waking thread under `list`'s lock.
//
// The hand-over of a wake through `pending` is a second Dekker pair: a notifier sets `pending`,
// issues a SeqCst fence and tries the lock; a holder releases the lock, issues a SeqCst fence
// and reads `pending`. Either the notifier gets the lock or the holder sees `pending`; both then
// try the lock, and whoever gets it clears `pending` before taking the wakers, so a wake set
// after that is seen on the next round of `drain`.
impl<const K: usize> Wakers<K> {
    pub(super) const fn new() -> Self {
        Self {
            waiting: AtomicBool::new(false),
            pending: AtomicBool::new(false),
            list: Mutex::new(MultiWakerRegistration::new()),
        }
    }

    /// Registers `waker`. Not for interrupt handlers: it waits for the lock, which a preempted
    /// registration may hold (only tasks register, from thread mode).
    pub(super) fn register(&self, waker: &Waker) {
        // A wake that finds the lock taken here (a waker's `clone` that sends on the queue, an
        // interrupt on this core) sets `pending`; `drain` below does it.
        self.list.lock().register(waker);
        // Relaxed: the waiter's half of the Dekker pair; the SeqCst fence that `drain` begins
        // with orders it before the caller's retry of the queue (see the memory-ordering note).
        self.waiting.store(true, Relaxed);
        self.drain();
    }

    #[inline]
    pub(super) fn wake(&self) {
        // SeqCst: the notifier's half of the Dekker pair.
        fence(SeqCst);
        // Relaxed: ordered by the fence.
        if self.waiting.load(Relaxed) {
            self.wake_contended();
        }
    }

    /// Sends `value` through `try_send`, waiting on these wakers while it reports full: a
    /// failed try registers the task, then tries once more before it waits (the waiter's half of
    /// the Dekker pair).
    pub(super) async fn send<T>(
        &self,
        value: T,
        mut try_send: impl FnMut(T) -> Result<(), TrySendError<T>>,
    ) -> Result<(), SendError<T>> {
        let mut value = Some(value);
        poll_fn(|cx| {
            // `poll_fn` is not polled again after `Ready`, so the value is there.
            let Some(v) = value.take() else {
                return Poll::Pending;
            };
            let v = match try_send(v) {
                Ok(()) => return Poll::Ready(Ok(())),
                Err(TrySendError::Closed(v)) => return Poll::Ready(Err(SendError(v))),
                Err(TrySendError::Full(v)) => v,
            };
            self.register(cx.waker());
            match try_send(v) {
                Ok(()) => Poll::Ready(Ok(())),
                Err(TrySendError::Closed(v)) => Poll::Ready(Err(SendError(v))),
                Err(TrySendError::Full(v)) => {
                    value = Some(v);
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// Receives through `try_recv`, waiting on these wakers while it reports empty (as in
    /// [`send`](Self::send)).
    pub(super) async fn recv<T>(
        &self,
        mut try_recv: impl FnMut() -> Result<T, TryRecvError>,
    ) -> Result<T, RecvError> {
        poll_fn(|cx| {
            match try_recv() {
                Ok(v) => return Poll::Ready(Ok(v)),
                Err(TryRecvError::Closed) => return Poll::Ready(Err(RecvError)),
                Err(TryRecvError::Empty) => {}
            }
            self.register(cx.waker());
            match try_recv() {
                Ok(v) => Poll::Ready(Ok(v)),
                Err(TryRecvError::Closed) => Poll::Ready(Err(RecvError)),
                Err(TryRecvError::Empty) => Poll::Pending,
            }
        })
        .await
    }

    #[cold]
    fn wake_contended(&self) {
        // Relaxed: the notifier's half of the hand-over pair; the SeqCst fence that `drain`
        // begins with orders it before the try of the lock (see the memory-ordering note).
        self.pending.store(true, Relaxed);
        self.drain();
    }

    /// Wakes the registered tasks if a wake is pending and the lock is free; if it is taken, its
    /// holder runs this again after releasing it. Never waits.
    fn drain(&self) {
        loop {
            // SeqCst: the fence of three Dekker roles: a registering task's between `waiting` and
            // its retry of the queue, a notifier's between `pending` and its try of the lock, a
            // holder's between releasing the lock and reading `pending`.
            fence(SeqCst);
            // Relaxed: ordered by the fence.
            if !self.pending.load(Relaxed) {
                return;
            }
            let Some(mut list) = self.list.try_lock() else {
                // The holder reads `pending` after it releases the lock.
                return;
            };
            // Relaxed: under the lock; a wake set after this store is seen by the next round.
            self.pending.store(false, Relaxed);
            // Relaxed: under the lock that registrations take too.
            self.waiting.store(false, Relaxed);
            let mut woken = core::mem::replace(&mut *list, MultiWakerRegistration::new());
            drop(list);
            // Outside the lock: a waker that sends on this queue finds it free.
            woken.wake();
        }
    }
}

/// A bounded MPMC queue of `N` slots for `async` code: [`send`](Self::send) and
/// [`recv`](Self::recv) return futures that wait without blocking the executor.
///
/// The same Vyukov ring as [`Queue`](crate::Queue); a waiting task registers its waker in one
/// of two embassy-sync `MultiWakerRegistration<K>`s (senders, receivers), and the other side
/// wakes them only if one is registered. When more than `K` tasks wait on one side, the
/// registration wakes all of them and they register again (embassy-sync's policy).
///
/// - Close: [`close`](Self::close) wakes every waiting task; sends fail with the message,
///   receivers drain what is left, then get `Closed`.
/// - Cancel: dropping a `send` future drops its message if it was not sent; dropping a `recv`
///   future loses nothing.
///
/// # Interrupt handlers
///
/// An interrupt handler may call [`try_send`](Self::try_send), [`try_recv`](Self::try_recv),
/// [`close`](Self::close) and the snapshots; they never wait, and they wake the waiting tasks even
/// when the handler preempted a task in the middle of registering its waker (the wake is then
/// handed to that task's registration), or when a waker's `clone` or `wake` itself sends on the
/// queue. The futures of [`send`](Self::send) and [`recv`](Self::recv) run in tasks; a task
/// registers its waker under a short spin lock, so tasks that wait on the same side of one queue
/// must not preempt each other (two executors at different interrupt priorities waiting to
/// receive from one queue could spin on a preempted registration). This is
/// embassy's pattern: the interrupt sends, a task awaits. Firmware tests: `embedded/src/bin/async.rs`
/// (the interrupt as the only source of wake-ups, both directions) and `pending_waker.rs` (wakers
/// whose clone triggers the interrupt in the middle of a registration).
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::AsyncQueue;
///
/// static Q: AsyncQueue<u32, 4> = AsyncQueue::new();
///
/// async fn pipeline() -> u32 {
///     Q.send(20).await.unwrap();
///     Q.send(22).await.unwrap();
///     Q.recv().await.unwrap() + Q.recv().await.unwrap()
/// }
///
/// // Any executor runs it; this one polls a future that never has to wait.
/// let mut fut = core::pin::pin!(pipeline());
/// let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
/// assert_eq!(fut.as_mut().poll(&mut cx), core::task::Poll::Ready(42));
/// ```
pub struct AsyncQueue<T, const N: usize, const K: usize = 4> {
    ring: Ring<T, N>,
    senders: Wakers<K>,
    receivers: Wakers<K>,
}

impl<T, const N: usize, const K: usize> AsyncQueue<T, N, K> {
    /// Creates an empty, open queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::AsyncQueue;
    ///
    /// static Q: AsyncQueue<u8, 2> = AsyncQueue::new();
    /// assert!(!Q.is_closed());
    /// ```
    pub const fn new() -> Self {
        Self {
            ring: Ring::new(),
            senders: Wakers::new(),
            receivers: Wakers::new(),
        }
    }

    /// Sends `value` if a slot is free now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the message.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::AsyncQueue;
    ///
    /// let q: AsyncQueue<u8, 1> = AsyncQueue::new();
    /// assert!(q.try_send(1).is_ok());
    /// assert!(q.try_send(2).unwrap_err().is_full());
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.ring.push(value) {
            Ok(()) => {
                self.receivers.wake();
                Ok(())
            }
            Err(PushError::Full(v)) => Err(TrySendError::Full(v)),
            Err(PushError::Closed(v)) => Err(TrySendError::Closed(v)),
        }
    }

    /// Receives the oldest message if there is one now.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`], or [`TryRecvError::Closed`] once closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{TryRecvError, channel::AsyncQueue};
    ///
    /// let q: AsyncQueue<u8, 1> = AsyncQueue::new();
    /// assert_eq!(q.try_recv(), Err(TryRecvError::Empty));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.ring.pop() {
            Ok(v) => {
                self.senders.wake();
                Ok(v)
            }
            Err(PopError::Empty) => Err(TryRecvError::Empty),
            Err(PopError::Closed) => Err(TryRecvError::Closed),
        }
    }

    /// Sends `value`, waiting (as a future) while the queue is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message if the queue is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::AsyncQueue;
    ///
    /// let q: AsyncQueue<u8, 1> = AsyncQueue::new();
    /// let mut fut = core::pin::pin!(q.send(1));
    /// let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    /// assert!(fut.as_mut().poll(&mut cx).is_ready());
    /// ```
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.senders.send(value, |v| self.try_send(v)).await
    }

    /// Receives the oldest message, waiting (as a future) while the queue is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the queue is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::AsyncQueue;
    ///
    /// let q: AsyncQueue<u8, 1> = AsyncQueue::new();
    /// let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    /// let mut fut = core::pin::pin!(q.recv());
    /// assert!(fut.as_mut().poll(&mut cx).is_pending());
    /// q.try_send(3).unwrap();
    /// assert_eq!(fut.as_mut().poll(&mut cx), core::task::Poll::Ready(Ok(3)));
    /// ```
    pub async fn recv(&self) -> Result<T, RecvError> {
        self.receivers.recv(|| self.try_recv()).await
    }

    /// Closes the queue and wakes every waiting task. Returns `true` if this call closed it.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::AsyncQueue;
    ///
    /// let q: AsyncQueue<u8, 1> = AsyncQueue::new();
    /// assert!(q.close());
    /// assert!(q.try_send(1).unwrap_err().is_closed());
    /// ```
    pub fn close(&self) -> bool {
        let closed = self.ring.close();
        self.senders.wake();
        self.receivers.wake();
        closed
    }

    /// Whether the queue is closed (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::AsyncQueue;
    ///
    /// let q: AsyncQueue<u8, 1> = AsyncQueue::new();
    /// assert!(!q.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.ring.is_closed()
    }

    /// The number of queued messages (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::AsyncQueue;
    ///
    /// let q: AsyncQueue<u8, 2> = AsyncQueue::new();
    /// q.try_send(1).unwrap();
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
    /// use lockstep_core::channel::AsyncQueue;
    ///
    /// assert!(AsyncQueue::<u8, 2>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T, const N: usize, const K: usize> Default for AsyncQueue<T, N, K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize, const K: usize> fmt::Debug for AsyncQueue<T, N, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncQueue")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}
