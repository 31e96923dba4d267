//! [`Rendezvous`]: the channel of capacity 0 (the lecture's synchronous message).

use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;

use super::error::{RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError};
use super::signal::{BUDGET, learned_budget};
use crate::sync::UnsafeCell;
use crate::sync::atomic::{
    AtomicU32,
    Ordering::{Acquire, Relaxed, SeqCst},
};
use crate::wait::{Spin, Wait};

/// No message; a sender may claim the slot.
const EMPTY: u32 = 0;
/// A sender claimed the slot and is writing (or taking back) its message.
const WRITING: u32 = 1;
/// A message waits in the slot for a receiver; its sender is blocked.
const FULL: u32 = 2;
/// A receiver claimed the message and is reading it.
const READING: u32 = 3;
/// The message was taken; its sender resets the slot and returns.
const TAKEN: u32 = 4;
/// Set with any state above once the channel is closed.
const CLOSED: u32 = 8;

/// Back-off rounds a wait may take before it sleeps, at most: more than the hosted futex's
/// `backoff_handoff` takes (7 spinning, 7 yielding), so that a channel whose partners answer
/// while it backs off keeps the whole back-off.
const BACKOFF_ROUNDS: u32 = 16;

/// A channel without a buffer: [`send`](Self::send) returns only once a receiver has taken the
/// message (the lecture's synchronous message, a rendezvous of sender and receiver).
///
/// - Blocking: `send` blocks until a receiver takes its message; `recv` until a sender offers
///   one. Senders take turns: one offers while the others wait through `W`.
/// - Timeout: [`send_timeout`](Self::send_timeout) takes its message back if no receiver came
///   in time, and returns it in the error; a message is either received or returned, never both.
/// - Close: [`close`](Self::close) wakes everyone. A message on offer may still be taken by a
///   receiver, otherwise its sender takes it back and gets `Closed`; then receivers get `Closed`.
///
/// # Interrupt handlers
///
/// An interrupt handler may call [`try_recv`](Self::try_recv), [`close`](Self::close) and
/// [`is_closed`](Self::is_closed): they never wait. [`send`](Self::send) waits for a receiver and
/// [`recv`](Self::recv) for a sender, so neither belongs in a handler (on a single core the other
/// side cannot run until it returns). The pattern: thread mode's `send` returns once the handler
/// took the message. Firmware test: `embedded/src/bin/handoff.rs`.
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::Rendezvous;
///
/// static HANDSHAKE: Rendezvous<&str> = Rendezvous::new();
///
/// std::thread::scope(|s| {
///     s.spawn(|| HANDSHAKE.send("ping").unwrap()); // returns once main took it
///     assert_eq!(HANDSHAKE.recv(), Ok("ping"));
/// });
/// assert_eq!(HANDSHAKE.send_timeout("nobody listens", 5).unwrap_err().into_inner(), "nobody listens");
/// ```
pub struct Rendezvous<T, W = Spin> {
    /// | value (without `CLOSED`) | meaning                                        |
    /// |--------------------------|------------------------------------------------|
    /// | `EMPTY`                  | free for a sender                              |
    /// | `WRITING`                | a sender owns the slot, no message readable    |
    /// | `FULL`                   | a message is on offer                          |
    /// | `READING`                | a receiver owns the message                    |
    /// | `TAKEN`                  | received; the sender resets it to `EMPTY`      |
    state: AtomicU32,
    /// Threads that may be blocked in `W::wait` on `state`.
    waiters: AtomicU32,
    /// Back-off rounds a wait takes before it sleeps, learned (see `wait`): a word of
    /// `signal::learned_budget`, at most [`BACKOFF_ROUNDS`].
    backoff: AtomicU32,
    /// Initialized exactly in the states `FULL` and `READING` (and while written or read).
    slot: UnsafeCell<MaybeUninit<T>>,
    _wait: PhantomData<fn() -> W>,
}

// SAFETY: a message moves from the sending to the receiving thread (`T: Send`); the slot is
// accessed only by the thread that owns the current state (`WRITING` or `READING`).
unsafe impl<T: Send, W> Send for Rendezvous<T, W> {}
// SAFETY: as above; no `&T` is ever shared.
unsafe impl<T: Send, W> Sync for Rendezvous<T, W> {}

// Memory ordering. The slot: taking it (`EMPTY -> WRITING`, `FULL -> READING`) acquires the
// previous owner's accesses, and handing it on (`WRITING -> FULL`, `READING -> TAKEN`,
// `-> EMPTY`) releases ours; a sender taking its own message back (`FULL -> WRITING`) needs
// nothing, since only it wrote the slot. Every change is a read-modify-write, so one in between
// (`close`'s) continues the release sequence.
//
// Waking: `state` and `waiters` are a Dekker pair. A changer that wakes (`wake`, after `-> FULL`,
// `-> TAKEN`, `-> EMPTY`) changes `state` with a SeqCst read-modify-write and then reads
// `waiters` with SeqCst; a waiter increments `waiters` and `W::wait` compares `state` after a
// SeqCst fence (its contract). In the SC order either the changer's read comes after the fence,
// and sees the increment, or the comparison reads the changed state (a read-modify-write that
// came before the change in `state`'s order would put the fence before the change, and the
// change before the read). The changes with no wake after them (`EMPTY -> WRITING`,
// `FULL -> READING`, `FULL -> WRITING`) wake nobody: a waiter that sleeps through one of them is
// woken by the change that follows it. `close` wakes unconditionally, through `W::wake_all`.
impl<T, W: Wait> Rendezvous<T, W> {
    /// Creates an open channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Rendezvous;
    ///
    /// static R: Rendezvous<u32> = Rendezvous::new();
    /// assert!(!R.is_closed());
    /// ```
    pub const fn new() -> Self {
        Self {
            state: AtomicU32::new(EMPTY),
            waiters: AtomicU32::new(0),
            backoff: AtomicU32::new(BACKOFF_ROUNDS),
            slot: UnsafeCell::new(MaybeUninit::uninit()),
            _wait: PhantomData,
        }
    }

    /// Wakes every waiter after a state change, if any is blocked.
    #[inline]
    fn wake(&self) {
        // SeqCst: the changer's half of the Dekker pair.
        if W::NEEDS_WAKE && self.waiters.load(SeqCst) > 0 {
            W::wake_all(&self.state);
        }
    }

    /// Blocks while `state` holds `seen`; `false` only if the deadline passed.
    ///
    /// Backs off first (spin, then yield, as `W::backoff_handoff` decides): every message is
    /// several state changes, each waited for by the other side, and a partner running on
    /// another core makes its next change within microseconds, so waiting for it without a
    /// sleep saves a sleep and a wake-all per change.
    ///
    /// How many rounds is learned per channel, as the other channels' signals learn their spin
    /// (`signal::learned_budget`): a wait that ended while backing off allows the next one a
    /// round more, one that had to sleep a round less, and at one round every 16th miss in a
    /// row restores the whole back-off. When threads outnumber cores the partner is often not
    /// running, and a yield then hands the core to another program for its whole time slice
    /// while the partner, once it runs and changes the state, finds nobody to take it: there
    /// the waits soon sleep at once and are woken by the change instead. A partner on another
    /// core keeps the whole back-off.
    fn wait(&self, seen: u32, deadline: Option<&mut W::Deadline>) -> bool {
        let mut round = 0;
        // The learned budget, read after the first round, so that a `W` that never backs off
        // (the simulator's) never touches it.
        let mut budget = BACKOFF_ROUNDS;
        let mut learned = None;
        while round < budget && W::backoff_handoff(round) {
            round += 1;
            let word = *learned.get_or_insert_with(|| {
                // Relaxed: a heuristic; a stale or lost update only changes how long the next
                // wait backs off.
                let word = self.backoff.load(Relaxed);
                budget = word & BUDGET;
                word
            });
            // Relaxed: only decides whether to keep backing off; the caller re-reads the state
            // with the ordering it needs.
            if self.state.load(Relaxed) != seen {
                self.learn(word, true);
                return true;
            }
        }
        if let Some(word) = learned {
            self.learn(word, false);
        }
        if W::NEEDS_WAKE {
            // Relaxed: the waiter's half of the Dekker pair is `W::wait`'s SeqCst fence, which
            // comes after this increment and before its comparison of `state` (see the note on
            // the impl).
            self.waiters.fetch_add(1, Relaxed);
        }
        let woken = W::wait(&self.state, seen, deadline);
        if W::NEEDS_WAKE {
            // Relaxed: only a count; a stale larger value costs one unneeded wake.
            self.waiters.fetch_sub(1, Relaxed);
        }
        woken
    }

    /// Adapts the back-off budget after a wait that backed off (see [`wait`](Self::wait)).
    #[inline]
    fn learn(&self, word: u32, backed_off_enough: bool) {
        let next = learned_budget(word, backed_off_enough, BACKOFF_ROUNDS);
        if next != word {
            // Relaxed: as where it is read.
            self.backoff.store(next, Relaxed);
        }
    }

    /// Sends `value` and blocks until a receiver has taken it.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message if the channel is closed before a receiver took it.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Rendezvous;
    ///
    /// let r: Rendezvous<u8> = Rendezvous::new();
    /// std::thread::scope(|s| {
    ///     let rx = s.spawn(|| r.recv());
    ///     r.send(9).unwrap();
    ///     assert_eq!(rx.join().unwrap(), Ok(9));
    /// });
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.send_deadline(value, None)
            .map_err(|e| SendError(e.into_inner()))
    }

    /// Sends `value` and blocks until a receiver has taken it, for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] if no receiver took it in time, [`SendTimeoutError::Closed`]
    /// if the channel closed first; the message comes back in both.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{SendTimeoutError, channel::Rendezvous};
    ///
    /// let r: Rendezvous<u8> = Rendezvous::new();
    /// assert_eq!(r.send_timeout(1, 5), Err(SendTimeoutError::Timeout(1)));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: W::Timeout) -> Result<(), SendTimeoutError<T>> {
        self.send_deadline(value, Some(&mut W::deadline(timeout)))
    }

    fn send_deadline(
        &self,
        value: T,
        mut deadline: Option<&mut W::Deadline>,
    ) -> Result<(), SendTimeoutError<T>> {
        // Claim the slot.
        loop {
            // Relaxed: only decides what to try; the compare-and-swap acquires.
            let s = self.state.load(Relaxed);
            if s & CLOSED != 0 {
                return Err(SendTimeoutError::Closed(value));
            }
            if s == EMPTY {
                // Acquire: takes the slot from its previous owner: the reset to `EMPTY` (a
                // release) after the receiver's read, or after its sender's read when it took the
                // message back. No wake follows, so this is no part of the Dekker pair: a waiter
                // sleeping through it is woken by `-> FULL`.
                if self
                    .state
                    .compare_exchange(EMPTY, WRITING, Acquire, Relaxed)
                    .is_ok()
                {
                    break;
                }
                continue;
            }
            if !self.wait(s, deadline.as_deref_mut()) {
                return Err(SendTimeoutError::Timeout(value));
            }
        }
        // SAFETY: in `WRITING` this thread owns the slot.
        self.slot.with_mut(|p| unsafe { (*p).write(value) });
        // SeqCst: WRITING -> FULL (keeping `CLOSED`), releasing the message to the receiver.
        self.state.fetch_add(FULL - WRITING, SeqCst);
        self.wake();
        // Wait until it is taken; take it back on timeout or close.
        let mut give_up = false;
        loop {
            // Relaxed: only decides what to do; each outcome acts through a read-modify-write
            // that orders what it needs (`TAKEN -> EMPTY` acquires the receiver's release).
            let s = self.state.load(Relaxed);
            match s & !CLOSED {
                TAKEN => {
                    // SeqCst: TAKEN -> EMPTY (keeping `CLOSED`), a state change for the others.
                    self.state.fetch_sub(TAKEN, SeqCst);
                    self.wake();
                    return Ok(());
                }
                FULL if give_up || s & CLOSED != 0 => {
                    // Relaxed: FULL -> WRITING takes the slot back, unless a receiver just took it
                    // (the read-modify-write decides between them); the slot holds what this
                    // thread wrote, so there is nothing to acquire, and no wake follows (the
                    // reset below wakes).
                    if self
                        .state
                        .compare_exchange(s, s - (FULL - WRITING), Relaxed, Relaxed)
                        .is_ok()
                    {
                        // SAFETY: in `WRITING` this thread owns the slot, which holds its message.
                        let value = self.slot.with(|p| unsafe { (*p).assume_init_read() });
                        // SeqCst: WRITING -> EMPTY, freeing the slot for the next sender.
                        self.state.fetch_sub(WRITING, SeqCst);
                        self.wake();
                        return Err(if s & CLOSED != 0 {
                            SendTimeoutError::Closed(value)
                        } else {
                            SendTimeoutError::Timeout(value)
                        });
                    }
                }
                // FULL: wait for a receiver; READING: a receiver is copying, wait for TAKEN.
                _ => {
                    // Once a receiver is reading, the deadline no longer matters: it will finish.
                    let d = if s & !CLOSED == FULL {
                        deadline.as_deref_mut()
                    } else {
                        None
                    };
                    if !self.wait(s, d) {
                        give_up = true;
                    }
                }
            }
        }
    }

    /// Takes the message a blocked sender offers now, without blocking.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if no sender is offering one, [`TryRecvError::Closed`] if the
    /// channel is closed and nothing is on offer.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{TryRecvError, channel::Rendezvous};
    ///
    /// let r: Rendezvous<u8> = Rendezvous::new();
    /// assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    /// r.close();
    /// assert_eq!(r.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        loop {
            // Relaxed: only decides what to try; the compare-and-swap acquires.
            let s = self.state.load(Relaxed);
            if s & !CLOSED == FULL {
                if let Some(v) = self.take(s) {
                    return Ok(v);
                }
                continue;
            }
            return Err(if s & CLOSED != 0 && s & !CLOSED != WRITING {
                TryRecvError::Closed
            } else {
                TryRecvError::Empty
            });
        }
    }

    /// Takes the offered message if the state is still `s` (which is `FULL`, maybe `CLOSED`).
    fn take(&self, s: u32) -> Option<T> {
        // Acquire: FULL -> READING acquires the sender's message (its release `-> FULL`). No
        // wake follows: a sender sleeping through it is woken by `-> TAKEN`.
        self.state
            .compare_exchange(s, s + (READING - FULL), Acquire, Relaxed)
            .ok()?;
        // SAFETY: in `READING` this thread owns the slot, which holds the sender's message.
        let value = self.slot.with(|p| unsafe { (*p).assume_init_read() });
        // SeqCst: READING -> TAKEN releases the slot back to the sender.
        self.state.fetch_add(TAKEN - READING, SeqCst);
        self.wake();
        Some(value)
    }

    /// Receives a message, blocking until a sender offers one.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and nothing is on offer.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Rendezvous;
    ///
    /// let r: Rendezvous<u8> = Rendezvous::new();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| r.send(3).unwrap());
    ///     assert_eq!(r.recv(), Ok(3));
    /// });
    /// ```
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_deadline(None).map_err(|_| RecvError)
    }

    /// Receives a message, blocking for at most `timeout` until a sender offers one.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`], or [`RecvTimeoutError::Closed`] once closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{RecvTimeoutError, channel::Rendezvous};
    ///
    /// let r: Rendezvous<u8> = Rendezvous::new();
    /// assert_eq!(r.recv_timeout(5), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&self, timeout: W::Timeout) -> Result<T, RecvTimeoutError> {
        self.recv_deadline(Some(&mut W::deadline(timeout)))
    }

    fn recv_deadline(&self, mut deadline: Option<&mut W::Deadline>) -> Result<T, RecvTimeoutError> {
        loop {
            // Relaxed: only decides what to try; `take` acquires.
            let s = self.state.load(Relaxed);
            if s & !CLOSED == FULL {
                if let Some(v) = self.take(s) {
                    return Ok(v);
                }
                continue;
            }
            if s & CLOSED != 0 && s & !CLOSED != WRITING {
                return Err(RecvTimeoutError::Closed);
            }
            if !self.wait(s, deadline.as_deref_mut()) {
                return Err(RecvTimeoutError::Timeout);
            }
        }
    }

    /// Closes the channel and wakes every blocked sender and receiver. Returns `true` if this
    /// call closed it.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Rendezvous;
    ///
    /// let r: Rendezvous<u8> = Rendezvous::new();
    /// assert!(r.close());
    /// assert_eq!(r.send(1).unwrap_err().into_inner(), 1);
    /// ```
    pub fn close(&self) -> bool {
        // Relaxed: no data is published (receivers read the flag with Relaxed loads), and the
        // wake below needs no Dekker pair: it is unconditional, and `W::wake_all` acts on
        // `state` after this change (in `state`'s order), so a waiter either compares after it
        // and sees `CLOSED`, or is already asleep and is woken. As a read-modify-write it keeps
        // the slot's release sequences going.
        let was = self.state.fetch_or(CLOSED, Relaxed);
        if W::NEEDS_WAKE {
            W::wake_all(&self.state);
        }
        was & CLOSED == 0
    }

    /// Whether the channel is closed (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Rendezvous;
    ///
    /// let r: Rendezvous<u8> = Rendezvous::new();
    /// r.close();
    /// assert!(r.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        // Relaxed: a snapshot.
        self.state.load(Relaxed) & CLOSED != 0
    }

    /// An iterator that receives messages, blocking until a sender offers one, and ends once
    /// the channel is closed and nothing is on offer; `&channel` is [`IntoIterator`] too.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Rendezvous;
    ///
    /// let r: Rendezvous<u32> = Rendezvous::new();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| {
    ///         for n in 1..=3 {
    ///             r.send(n).unwrap(); // returns once the loop below took it
    ///         }
    ///         r.close();
    ///     });
    ///     assert_eq!(r.iter().collect::<Vec<_>>(), [1, 2, 3]);
    /// });
    /// ```
    pub fn iter(&self) -> RendezvousIter<'_, T, W> {
        RendezvousIter { chan: self }
    }
}

/// The blocking iterator of a [`Rendezvous`], from [`Rendezvous::iter`] or `&channel`: each
/// `next` is a [`recv`](Rendezvous::recv), and it ends once the channel is closed.
pub struct RendezvousIter<'a, T, W = Spin> {
    chan: &'a Rendezvous<T, W>,
}

impl<T, W: Wait> Iterator for RendezvousIter<'_, T, W> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.chan.recv().ok()
    }
}

impl<T, W> fmt::Debug for RendezvousIter<'_, T, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RendezvousIter").field(self.chan).finish()
    }
}

impl<'a, T, W: Wait> IntoIterator for &'a Rendezvous<T, W> {
    type Item = T;
    type IntoIter = RendezvousIter<'a, T, W>;

    fn into_iter(self) -> RendezvousIter<'a, T, W> {
        self.iter()
    }
}

impl<T, W: Wait> Default for Rendezvous<T, W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, W> fmt::Debug for Rendezvous<T, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display.
        let s = self.state.load(Relaxed);
        f.debug_struct("Rendezvous")
            .field("offered", &(s & !CLOSED == FULL))
            .field("closed", &(s & CLOSED != 0))
            .finish()
    }
}
