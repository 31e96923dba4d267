//! [`Broadcast`]: every receiver sees every message (the lecture's broadcast).

use core::fmt;
use core::mem::MaybeUninit;

use super::signal::Signal;
use crate::queue::CachePadded;
use crate::sync::UnsafeCell;
use crate::sync::atomic::{
    AtomicBool, AtomicU32, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
};
use crate::sync::hint::spin_loop;
use crate::wait::{Spin, Wait};

/// Set in a slot's lock word while the sender writes the slot.
const WRITER: u32 = 1 << 31;

/// The `seq` of a slot that holds message number `n`: odd, so that 0 means "never written" even
/// after the numbers wrap (the message numbered `usize::MAX` is followed by 0). The top bit of
/// `n` is dropped, so `seq`s tell numbers apart modulo half the range of `usize`.
#[inline(always)]
fn seq_of(n: usize) -> usize {
    (n << 1) | 1
}

/// Whether `a` comes after `b`, both message numbers or both `seq`s. They wrap (on 32-bit
/// targets after 2^32 messages), so the order is that of the wrapping difference: `a` is after
/// `b` when it is less than half the range ahead. Between `seq`s that is 2^30 messages on
/// 32-bit targets, the bound on a receiver's lag in the channel's docs.
#[inline(always)]
fn after(a: usize, b: usize) -> bool {
    let d = a.wrapping_sub(b);
    d != 0 && d <= usize::MAX / 2
}

/// One slot of the ring.
struct Slot<T> {
    /// | value          | meaning                                   |
    /// |----------------|-------------------------------------------|
    /// | `0`            | free                                      |
    /// | `1..WRITER`    | that many receivers are cloning the value |
    /// | `WRITER`       | the sender is writing the slot            |
    lock: AtomicU32,
    /// [`seq_of`] the number of the message in the slot (odd); 0 before the first one. Changed
    /// only under the writer lock.
    seq: AtomicUsize,
    /// Initialized exactly when `seq != 0`.
    value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> Slot<T> {
    /// Takes the slot for reading (shared).
    #[inline]
    fn read_lock(&self) {
        // Relaxed: a guess; the compare-and-swap acquires.
        let mut l = self.lock.load(Relaxed);
        loop {
            if l & WRITER != 0 {
                // The sender is writing this slot (a few stores long): wait for its unlock.
                spin_loop();
                // Relaxed: as above.
                l = self.lock.load(Relaxed);
                continue;
            }
            // Acquire: pairs with the Release unlock of the writer, so its value and `seq` are
            // visible.
            match self.lock.compare_exchange_weak(l, l + 1, Acquire, Relaxed) {
                Ok(_) => return,
                // Another reader came or went: retry at once with the fresh count.
                Err(current) => l = current,
            }
        }
    }

    #[inline]
    fn read_unlock(&self) {
        // Release: our clone of the value happens before the writer's next write.
        self.lock.fetch_sub(1, Release);
    }
}

/// Why a broadcast [`Receiver`] returned no message.
///
/// [`try_recv`](Receiver::try_recv) returns `Empty`, `Lagged` or `Closed`;
/// [`recv`](Receiver::recv) returns `Lagged` or `Closed`; [`recv_timeout`](Receiver::recv_timeout)
/// returns `Timeout`, `Lagged` or `Closed`.
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::{Broadcast, BroadcastError};
///
/// assert_eq!(BroadcastError::Lagged(3).to_string(), "the receiver lagged behind and missed 3 messages");
/// let b: Broadcast<u8, 2> = Broadcast::new();
/// let mut rx = b.subscribe();
/// assert_eq!(rx.try_recv(), Err(BroadcastError::Empty));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastError {
    /// No new message now.
    Empty,
    /// No new message came before the timeout.
    Timeout,
    /// The receiver missed this many messages: the sender overwrote them before it read them.
    /// It now continues with the oldest message still kept, or, if it lagged again soon after
    /// the last time, a little further on (the skipped messages are counted here; see the lag
    /// policy of [`Broadcast`]).
    Lagged(u64),
    /// The channel is closed and this receiver has read every message kept.
    Closed,
}

impl fmt::Display for BroadcastError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("no new broadcast message"),
            Self::Timeout => f.write_str("timed out waiting for a broadcast message"),
            Self::Lagged(n) => write!(f, "the receiver lagged behind and missed {n} messages"),
            Self::Closed => f.write_str("receiving on a closed broadcast channel"),
        }
    }
}

impl core::error::Error for BroadcastError {}

/// A broadcast channel keeping the last `N` messages: every [`Receiver`] sees every message
/// sent after it subscribed, in order (the lecture's broadcast).
///
/// Policy: the sender never waits for receivers. [`send`](Self::send) overwrites the oldest
/// message once `N` are kept, so a receiver that falls more than `N` messages behind loses the
/// oldest ones and is told exactly how many ([`BroadcastError::Lagged`]); what it receives plus
/// what it is told it missed always adds up to what was sent. The only wait in `send` is for a
/// receiver that is cloning the very slot being overwritten (one `clone` long).
///
/// Where a lagged receiver resumes: at the oldest message kept. But that is the message the
/// sender overwrites next, so a receiver that does not keep pace would be overtaken again at
/// once, over and over, missing a few messages each time while it reads the very slot the
/// sender is writing (which slows the sender too). So a receiver that lags again within `N`
/// messages of where its last lag resumed skips further: 1 message past the oldest kept, then
/// 2, 4, and so on up to `N / 2`; a lag after a full lap of reading resumes at the oldest kept
/// again. A skipped message counts as missed: `Lagged(n)` is exactly how many messages this
/// receiver will never see, and the count still adds up.
///
/// - Receivers: any number; [`subscribe`](Self::subscribe) creates one, a cursor into the ring.
///   Receiving clones the message (`T: Clone`).
/// - Blocking: [`Receiver::recv`] blocks through `W` while no new message is there.
/// - Close: [`close`](Self::close) wakes every receiver; each reads what is kept, then gets
///   `Closed`. A send racing with `close` may or may not be seen.
/// - Message numbers are `usize` and wrap (on 32-bit targets after 2^32 messages, a few days
///   of a firmware sending at 10 kHz); the channel carries on across the wrap, where a receiver
///   may be told it lagged a few messages earlier than `N` would say. A receiver must not fall
///   more than 2^30 messages behind (on 32-bit targets): further back, the numbers no longer
///   tell old from new, and it reads the channel as empty until the count comes round.
///
/// # Interrupt handlers
///
/// [`send`](Self::send) waits for a receiver that is cloning the very slot it overwrites (and for
/// another sender writing it), and a receiver waits for a sender writing the slot it reads. So an
/// interrupt handler may `send` (and [`close`](Self::close)) only if no receiver or sender that it
/// can preempt is inside such a read or write: receivers in thread mode call
/// [`Receiver::try_recv`] inside a critical section (`critical_section::with`, a clone long).
/// Otherwise, on a single core, the handler spins for ever on the slot. `recv` and `recv_timeout`
/// never belong in a handler. Firmware test: `embedded/src/bin/broadcast.rs`.
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::{Broadcast, BroadcastError};
///
/// static NEWS: Broadcast<u32, 4> = Broadcast::new();
///
/// let mut fast = NEWS.subscribe();
/// let mut slow = NEWS.subscribe();
/// for n in 0..6 {
///     NEWS.send(n);
///     assert_eq!(fast.try_recv(), Ok(n));
/// }
/// assert_eq!(slow.try_recv(), Err(BroadcastError::Lagged(2))); // 0 and 1 were overwritten
/// assert_eq!(slow.try_recv(), Ok(2));
/// ```
pub struct Broadcast<T, const N: usize, W = Spin> {
    /// The number of messages sent so far (claimed by senders).
    tail: CachePadded<AtomicUsize>,
    slots: [Slot<T>; N],
    closed: AtomicBool,
    /// Receivers wait here for a new message.
    signal: Signal<W>,
}

// SAFETY: messages move from the sender to receivers (`T: Send`), and receivers clone them
// through `&T` concurrently (`T: Sync`); slot access follows the slot's lock word.
unsafe impl<T: Send + Sync, const N: usize, W> Sync for Broadcast<T, N, W> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync, const N: usize, W> Send for Broadcast<T, N, W> {}

// Memory ordering: a slot's value and `seq` are protected by its lock word (writer: Acquire
// compare-and-swap, Release store; readers: Acquire compare-and-swap, Release decrement), so
// `seq` itself is Relaxed. Every look at a slot is a read-modify-write of its lock word, so a
// receiver's look and a sender's write of that slot are ordered one way or the other by
// happens-before: that, not a SeqCst fence, is what lets the sender's look for waiters in
// `send` see a receiver that announced itself and then found the slot empty (see `send`).
// `close` is a plain flag that receivers load, so it is the SeqCst state change of the
// signal's Dekker pair.
impl<T, const N: usize, W: Wait> Broadcast<T, N, W> {
    /// Creates an empty, open channel keeping the last `N` messages.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Broadcast;
    ///
    /// static B: Broadcast<u8, 8> = Broadcast::new();
    /// assert_eq!(B.sent(), 0);
    /// ```
    pub const fn new() -> Self {
        const { assert!(N > 0, "a broadcast channel keeps at least one message") };
        Self {
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots: [const {
                Slot {
                    lock: AtomicU32::new(0),
                    seq: AtomicUsize::new(0),
                    value: UnsafeCell::new(MaybeUninit::uninit()),
                }
            }; N],
            closed: AtomicBool::new(false),
            signal: Signal::new(),
        }
    }

    /// Sends `value` to every receiver, overwriting the oldest kept message if `N` are kept.
    /// Never waits for a receiver to catch up.
    ///
    /// Returns `false` (and drops `value`) if the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Broadcast;
    ///
    /// let b: Broadcast<&str, 2> = Broadcast::new();
    /// let mut rx = b.subscribe();
    /// assert!(b.send("hello"));
    /// assert_eq!(rx.try_recv(), Ok("hello"));
    /// ```
    pub fn send(&self, value: T) -> bool {
        // Relaxed: a stop flag; a send racing with `close` may or may not be seen (documented).
        if self.closed.load(Relaxed) {
            return false;
        }
        // Relaxed: the number only picks the slot; the slot's lock orders the data. It wraps
        // (a `fetch_add` never panics); `n % N` then jumps, so around the wrap a message may
        // overwrite a slot fewer than `N` messages after its previous one: its receivers are
        // told they lagged, and what they receive plus what they missed still adds up.
        let n = self.tail.fetch_add(1, Relaxed);
        let slot = &self.slots[n % N];
        // Acquire: pairs with the readers' Release unlock, so their clones are done.
        while slot
            .lock
            .compare_exchange_weak(0, WRITER, Acquire, Relaxed)
            .is_err()
        {
            spin_loop();
        }
        // Relaxed: under the writer lock.
        let old = slot.seq.load(Relaxed);
        // What this send drops: the message it replaces, or its own if a later one is already
        // there. It is dropped only after the slot is consistent and unlocked and the receivers
        // are notified, so a panicking `T::drop` neither leaves the slot locked, nor lets
        // `Broadcast::drop` drop the message a second time, nor leaves receivers asleep.
        let garbage = if old == 0 || after(seq_of(n), old) {
            let replaced = (old != 0).then(|| {
                // SAFETY: `seq != 0`, so the slot holds a message; the writer lock excludes
                // readers, and the write below replaces what is moved out here.
                slot.value.with_mut(|p| unsafe { (*p).assume_init_read() })
            });
            // SAFETY: under the writer lock; the old message was moved out above.
            slot.value.with_mut(|p| unsafe { (*p).write(value) });
            // Relaxed: under the writer lock.
            slot.seq.store(seq_of(n), Relaxed);
            // Release: publishes the message and `seq` to the readers' Acquire lock.
            slot.lock.store(0, Release);
            replaced
        } else {
            // A later message (a concurrent sender, a lap ahead) is already here: ours is as
            // good as overwritten.
            // Release: as above.
            slot.lock.store(0, Release);
            Some(value)
        };
        // No SeqCst fence before the signal's look for waiters (which the signal's contract
        // otherwise asks for): the receiver's re-check after announcing itself is a
        // read-modify-write on this slot's lock word, whose modification order is total. If it
        // comes before our compare-and-swap, our Acquire compare-and-swap reads its Release
        // unlock (or a later read-modify-write in that release sequence), so the announcement
        // happens before `notify_all` reads the flags, which must then see it (or a later
        // clear by another notifier, which wakes instead). If it comes after, it reads our
        // Release unlock (or a read-modify-write after it) and sees this message or a later one.
        // A receiver never concludes "empty" from the lock held by the writer: it spins on it.
        self.signal.notify_all();
        drop(garbage);
        true
    }

    /// A new receiver that will see every message sent from now on.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::{Broadcast, BroadcastError};
    ///
    /// let b: Broadcast<u8, 2> = Broadcast::new();
    /// b.send(1);
    /// let mut rx = b.subscribe();
    /// assert_eq!(rx.try_recv(), Err(BroadcastError::Empty)); // only what comes after
    /// ```
    pub fn subscribe(&self) -> Receiver<'_, T, N, W> {
        // Relaxed: the starting point only; the slots' locks order the data.
        let next = self.tail.load(Relaxed);
        Receiver {
            chan: self,
            next,
            // A lap back: the first lag is not a repeated one.
            resumed: next.wrapping_sub(N),
            skip: 0,
        }
    }

    /// The number of messages sent so far, wrapping at `usize::MAX + 1`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Broadcast;
    ///
    /// let b: Broadcast<u8, 2> = Broadcast::new();
    /// b.send(1);
    /// assert_eq!(b.sent(), 1);
    /// ```
    pub fn sent(&self) -> usize {
        // Relaxed: a snapshot.
        self.tail.load(Relaxed)
    }

    /// Closes the channel and wakes every receiver. Returns `true` if this call closed it.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::{Broadcast, BroadcastError};
    ///
    /// let b: Broadcast<u8, 2> = Broadcast::new();
    /// let mut rx = b.subscribe();
    /// b.send(1);
    /// assert!(b.close());
    /// assert!(!b.send(2));
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(BroadcastError::Closed));
    /// ```
    pub fn close(&self) -> bool {
        // SeqCst: the state change of the signal's Dekker pair (receivers load the flag after
        // announcing themselves and their SeqCst fence).
        let was = self.closed.swap(true, SeqCst);
        self.signal.notify_all();
        !was
    }

    /// Whether the channel is closed (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Broadcast;
    ///
    /// let b: Broadcast<u8, 2> = Broadcast::new();
    /// assert!(!b.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        // Relaxed: a snapshot.
        self.closed.load(Relaxed)
    }
}

impl<T, const N: usize, W: Wait> Default for Broadcast<T, N, W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize, W> Drop for Broadcast<T, N, W> {
    fn drop(&mut self) {
        for slot in &mut self.slots {
            // Relaxed: `&mut self`, no other thread.
            if slot.seq.load(Relaxed) != 0 {
                // SAFETY: `seq != 0`: the slot holds a message.
                slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
        }
    }
}

impl<T, const N: usize, W: Wait> fmt::Debug for Broadcast<T, N, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broadcast")
            .field("sent", &self.sent())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// A receiver of a [`Broadcast`] channel: a cursor that reads every message in order.
///
/// Interrupt handlers: `try_recv` waits for a sender writing the slot it reads, so call it inside a critical section where a handler may send, and from a handler only if no sender it can preempt is mid-write; `recv` never; see [`Broadcast`].
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::Broadcast;
///
/// let b: Broadcast<u8, 4> = Broadcast::new();
/// let mut a = b.subscribe();
/// let mut c = b.subscribe();
/// b.send(5);
/// assert_eq!((a.try_recv(), c.try_recv()), (Ok(5), Ok(5)));
/// ```
pub struct Receiver<'a, T, const N: usize, W: Wait = Spin> {
    chan: &'a Broadcast<T, N, W>,
    /// The number of the next message to read.
    next: usize,
    /// Where the last lag resumed (`next` then).
    resumed: usize,
    /// How far past the oldest message kept the last lag resumed (0: at it).
    skip: usize,
}

impl<T: Clone, const N: usize, W: Wait> Receiver<'_, T, N, W> {
    /// Returns the next message if it has been sent, without blocking.
    ///
    /// # Errors
    ///
    /// [`BroadcastError::Empty`] if no new message is there; [`BroadcastError::Lagged`] with the
    /// number of messages this receiver missed (it then continues with the oldest one kept, or
    /// a little further on: see [`Broadcast`]); [`BroadcastError::Closed`] once closed and read
    /// to the end.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::{Broadcast, BroadcastError};
    ///
    /// let b: Broadcast<u8, 1> = Broadcast::new();
    /// let mut rx = b.subscribe();
    /// b.send(1);
    /// b.send(2);
    /// assert_eq!(rx.try_recv(), Err(BroadcastError::Lagged(1)));
    /// assert_eq!(rx.try_recv(), Ok(2));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, BroadcastError> {
        loop {
            if let Some(v) = self.recv_now(true, &|_: &T| true)? {
                return Ok(v);
            }
        }
    }

    /// `try_recv` of the next message `keep` accepts: one it refuses is passed over without
    /// being cloned (`Ok(None)`: look again). With `peek`, a slot the message has not reached
    /// yet is found with a load instead of the read lock (see [`read`](Self::read)).
    #[inline]
    pub(crate) fn recv_now(
        &mut self,
        peek: bool,
        keep: &impl Fn(&T) -> bool,
    ) -> Result<Option<T>, BroadcastError> {
        match self.read(peek, keep) {
            Err(BroadcastError::Empty) => {
                // Relaxed: the second read takes the slot's lock with a read-modify-write. A
                // message whose send happened before the close is then seen: had that read come
                // before the send's compare-and-swap on the lock, the send would acquire our
                // unlock, so this load, sequenced before the read, would happen before the
                // close and could not read it.
                if self.chan.closed.load(Relaxed) {
                    match self.read(false, keep) {
                        Err(BroadcastError::Empty) => Err(BroadcastError::Closed),
                        other => other,
                    }
                } else {
                    Err(BroadcastError::Empty)
                }
            }
            other => other,
        }
    }

    /// Reads the message numbered `self.next` if `keep` accepts it (`Ok(None)`: passed over,
    /// not cloned), or says why not (never `Closed`).
    ///
    /// With `peek`, first a plain load of the slot's `seq`: while it says the message has not
    /// been written, the answer is `Empty` without the read lock. A receiver polling an empty
    /// channel then only reads the slot's cache line, instead of taking it from the sender with
    /// a read-modify-write at every poll and making the sender's next write pull it back.
    /// The load may be stale, which only answers `Empty` for a message whose send does not
    /// happen before this read: a send that does is seen (read-read coherence with
    /// happens-before). What a peek cannot do is the waiter's re-check after it announced
    /// itself, which must be a read-modify-write of the lock word (see `Broadcast::send`), so
    /// the blocking receive peeks only before it announces itself.
    fn read(
        &mut self,
        peek: bool,
        keep: &impl Fn(&T) -> bool,
    ) -> Result<Option<T>, BroadcastError> {
        let slot = &self.chan.slots[self.next % N];
        let wanted = seq_of(self.next);
        if peek {
            // Relaxed: see above; the read lock below acquires whatever is read under it.
            let seq = slot.seq.load(Relaxed);
            if seq != wanted {
                // A later message: ours was overwritten, which no later look can undo (a
                // slot's `seq` only moves forward), so the lag is settled without the read
                // lock, which would take the line from the sender about to write it.
                if seq != 0 && after(seq, wanted) {
                    return Err(self.lagged());
                }
                // Not written yet.
                return Err(BroadcastError::Empty);
            }
        }
        slot.read_lock();
        /// Releases the read lock when dropped, so a panicking `T::clone` does not leave the
        /// slot locked against every later send.
        struct Unlock<'a, T>(&'a Slot<T>);
        impl<T> Drop for Unlock<'_, T> {
            fn drop(&mut self) {
                self.0.read_unlock();
            }
        }
        let unlock = Unlock(slot);
        // Relaxed: under the read lock.
        let seq = slot.seq.load(Relaxed);
        if seq == wanted {
            let value = slot.value.with(|p| {
                // SAFETY: `seq != 0` (it is odd), so the slot holds a message; the read lock
                // keeps the writer out.
                let v = unsafe { (*p).assume_init_ref() };
                keep(v).then(|| v.clone())
            });
            drop(unlock);
            self.next = self.next.wrapping_add(1);
            return Ok(value);
        }
        drop(unlock);
        if seq != 0 && after(seq, wanted) {
            return Err(self.lagged());
        }
        Err(BroadcastError::Empty)
    }

    /// The message numbered `self.next` was overwritten: moves on past what is lost (see the
    /// lag policy in [`Broadcast`]) and returns how many messages that skips.
    #[cold]
    fn lagged(&mut self) -> BroadcastError {
        // Again within a lap of where the last lag resumed: the receiver is not keeping pace,
        // and the oldest message kept is the one the sender overwrites next. Skip further
        // past it each time (twice as far), up to half the ring. (After 2^32 messages without
        // a lag, on 32-bit targets, the distance may wrap into this range: the skip is then
        // longer than it had to be, the count stays exact.)
        let again = self.next.wrapping_sub(self.resumed) < N;
        self.skip = if again {
            (self.skip * 2).max(1).min(N / 2)
        } else {
            0
        };
        // Relaxed: any value `tail` had will do. Every message before `tail - N` was
        // overwritten or is claimed by a send that overwrites it; a stale `tail` only skips
        // fewer, down to the one message seen overwritten (`self.next + 1`). `skip < N`, so the
        // receiver never skips past `tail`, a message not sent yet.
        let kept = self.chan.tail.load(Relaxed).wrapping_sub(N);
        let resume = kept.wrapping_add(self.skip);
        let oldest = if after(resume, self.next) {
            resume
        } else {
            self.next.wrapping_add(1)
        };
        let missed = oldest.wrapping_sub(self.next);
        self.next = oldest;
        self.resumed = oldest;
        BroadcastError::Lagged(missed as u64)
    }

    /// Returns the next message, blocking through `W` until one is sent.
    ///
    /// # Errors
    ///
    /// [`BroadcastError::Lagged`] or [`BroadcastError::Closed`], as for
    /// [`try_recv`](Self::try_recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Broadcast;
    ///
    /// let b: Broadcast<u8, 4> = Broadcast::new();
    /// let mut rx = b.subscribe();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| b.send(3));
    ///     assert_eq!(rx.recv(), Ok(3));
    /// });
    /// ```
    pub fn recv(&mut self) -> Result<T, BroadcastError> {
        self.recv_deadline(None)
    }

    /// Returns the next message, blocking through `W` for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`BroadcastError::Timeout`], [`BroadcastError::Lagged`] or [`BroadcastError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::{Broadcast, BroadcastError};
    ///
    /// let b: Broadcast<u8, 4> = Broadcast::new();
    /// let mut rx = b.subscribe();
    /// assert_eq!(rx.recv_timeout(5), Err(BroadcastError::Timeout));
    /// ```
    pub fn recv_timeout(&mut self, timeout: W::Timeout) -> Result<T, BroadcastError> {
        self.recv_deadline(Some(&mut W::deadline(timeout)))
    }

    /// Returns the next message, blocking through `W` until `deadline` (if any).
    pub(crate) fn recv_deadline(
        &mut self,
        deadline: Option<&mut W::Deadline>,
    ) -> Result<T, BroadcastError> {
        self.recv_deadline_kept(deadline, &|_: &T| true)
    }

    /// [`recv_deadline`](Self::recv_deadline) of the next message `keep` accepts; the others
    /// are passed over without being cloned.
    pub(crate) fn recv_deadline_kept(
        &mut self,
        deadline: Option<&mut W::Deadline>,
        keep: &impl Fn(&T) -> bool,
    ) -> Result<T, BroadcastError> {
        let chan = self.chan;
        chan.signal
            .wait_until_announced(deadline, |announced| {
                loop {
                    match self.recv_now(!announced, keep) {
                        Err(BroadcastError::Empty) => return None,
                        Ok(None) => {}
                        Ok(Some(v)) => return Some(Ok(v)),
                        Err(e) => return Some(Err(e)),
                    }
                }
            })
            .unwrap_or(Err(BroadcastError::Timeout))
    }
}

impl<T, const N: usize, W: Wait> Clone for Receiver<'_, T, N, W> {
    /// A second receiver at the same position.
    fn clone(&self) -> Self {
        Self {
            chan: self.chan,
            next: self.next,
            resumed: self.resumed,
            skip: self.skip,
        }
    }
}

impl<T, const N: usize, W: Wait> fmt::Debug for Receiver<'_, T, N, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::rc::{Rc, Weak};
    use std::vec::Vec;

    use super::*;

    impl<T, const N: usize, W: Wait> Broadcast<T, N, W> {
        /// An empty channel whose next message is numbered `start`.
        fn starting_at(start: usize) -> Self {
            let b = Self::new();
            // Relaxed: not shared yet.
            b.tail.store(start, Relaxed);
            b
        }
    }

    /// The lag policy, step by step on 8 slots: a first lag resumes at the oldest message kept;
    /// lagging again within a lap of that skips 1, then 2, then 4 messages past the oldest kept;
    /// a lag after a full lap of reading resumes at the oldest kept again. Every count is
    /// exact: the next message received is the one after the skipped ones.
    #[test]
    fn repeated_lags_skip_further_past_the_oldest() {
        let b: Broadcast<u32, 8> = Broadcast::new();
        let mut rx = b.subscribe();
        let send = |r: core::ops::Range<u32>| r.for_each(|i| assert!(b.send(i)));
        send(0..9); // kept: 1..=8
        assert_eq!(rx.try_recv(), Err(BroadcastError::Lagged(1)));
        send(9..10); // kept: 2..=9; 1 overwritten again
        assert_eq!(rx.try_recv(), Err(BroadcastError::Lagged(2))); // skips 1 past 2
        assert_eq!(rx.try_recv(), Ok(3));
        send(10..14); // kept: 6..=13
        assert_eq!(rx.try_recv(), Err(BroadcastError::Lagged(4))); // 2 past 6
        assert_eq!(rx.try_recv(), Ok(8));
        send(14..20); // kept: 12..=19
        assert_eq!(rx.try_recv(), Err(BroadcastError::Lagged(7))); // 4 past 12
        assert_eq!(rx.try_recv(), Ok(16));
        send(20..30); // kept: 22..=29
        assert_eq!(rx.try_recv(), Err(BroadcastError::Lagged(9))); // 4 past 22: half the ring
        for i in 26..30 {
            assert_eq!(rx.try_recv(), Ok(i));
        }
        send(30..34);
        for i in 30..34 {
            assert_eq!(rx.try_recv(), Ok(i)); // a full lap (8) read since the lag at 26
        }
        send(34..43); // kept: 35..=42
        assert_eq!(rx.try_recv(), Err(BroadcastError::Lagged(1))); // the oldest again
        assert_eq!(rx.try_recv(), Ok(35));
    }

    /// With 1 and 2 slots the skip stays within half the ring (0 and 1): a receiver never
    /// skips past the newest message.
    #[test]
    fn repeated_lags_on_tiny_rings() {
        let b: Broadcast<u32, 1> = Broadcast::new();
        let mut rx = b.subscribe();
        for round in 0..4u32 {
            b.send(2 * round);
            b.send(2 * round + 1);
            assert_eq!(rx.try_recv(), Err(BroadcastError::Lagged(1)));
            assert_eq!(rx.try_recv(), Ok(2 * round + 1));
        }
        let b: Broadcast<u32, 2> = Broadcast::new();
        let mut rx = b.subscribe();
        (0..3).for_each(|i| assert!(b.send(i)));
        assert_eq!(rx.try_recv(), Err(BroadcastError::Lagged(1)));
        for (first, skipped) in [(3, 4), (6, 2), (9, 2)] {
            (first..first + 3).for_each(|i| assert!(b.send(i)));
            // Lagged again within a lap: 1 past the oldest kept, so only the newest is left.
            assert_eq!(rx.try_recv(), Err(BroadcastError::Lagged(skipped)));
            assert_eq!(rx.try_recv(), Ok(first + 2));
            assert_eq!(rx.try_recv(), Err(BroadcastError::Empty));
        }
    }

    /// Sends 0..20 on a channel of 3 slots (3 does not divide 2^64, so the slot sequence jumps at
    /// the wrap) whose message numbers wrap at several points of the run.
    #[test]
    fn message_numbers_wrap() {
        // Also across the point where `seq_of` drops the number's top bit.
        for start in [
            usize::MAX - 10,
            usize::MAX - 2,
            usize::MAX,
            usize::MAX / 2 - 5,
            0,
        ] {
            let b: Broadcast<Rc<u32>, 3> = Broadcast::starting_at(start);
            let mut fast = b.subscribe();
            let mut slow = b.subscribe();
            let mut sent: Vec<Weak<u32>> = Vec::new();
            for i in 0..20 {
                let v = Rc::new(i);
                sent.push(Rc::downgrade(&v));
                assert!(b.send(v));
                // A receiver that keeps up gets every message, in order, across the wrap.
                assert_eq!(fast.try_recv().as_deref(), Ok(&i), "start {start}");
                assert_eq!(fast.try_recv(), Err(BroadcastError::Empty));
            }
            assert_eq!(b.sent(), start.wrapping_add(20));
            // One that did not gets the last messages in order and is told how many it missed.
            let (mut got, mut missed) = (Vec::new(), 0);
            loop {
                match slow.try_recv() {
                    Ok(v) => got.push(*v),
                    Err(BroadcastError::Lagged(n)) => missed += n,
                    Err(BroadcastError::Empty) => break,
                    Err(e) => panic!("start {start}: {e}"),
                }
            }
            assert_eq!(got.len() as u64 + missed, 20, "start {start}: {got:?}");
            assert!(!got.is_empty() && got.len() <= 3, "start {start}: {got:?}");
            let first = 20 - got.len() as u32;
            assert_eq!(got, (first..20).collect::<Vec<_>>(), "start {start}");
            assert!(b.close());
            assert_eq!(slow.try_recv(), Err(BroadcastError::Closed));
            drop(b);
            // Every message was dropped (none leaked by the wrap).
            assert!(sent.iter().all(|w| w.upgrade().is_none()), "start {start}");
        }
    }
}
