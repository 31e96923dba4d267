//! [`Duplex`]: request/reply over a fixed set of reply slots (the lecture's duplex
//! communication, synchronous and asynchronous request).

use core::fmt;
use core::mem::MaybeUninit;

use super::error::{RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError};
use super::mpmc::Queue;
use super::signal::Signal;
use crate::sync::UnsafeCell;
use crate::sync::atomic::{
    AtomicU32, AtomicUsize,
    Ordering::{Acquire, Relaxed, SeqCst},
};
use crate::wait::{Spin, Wait};

/// The slot is free (tag bits).
const FREE: u32 = 0;
/// A caller holds the slot and waits for the reply of its request.
const WAITING: u32 = 1;
/// The server is writing the reply.
const WRITING: u32 = 2;
/// The reply is in the slot for its caller.
const REPLIED: u32 = 3;
/// The tag bits of a slot state; the generation sits above them.
const TAG: u32 = 0b11;
/// One generation in state units.
const GENERATION: u32 = TAG + 1;

/// Where the reply to one request goes: a reply slot and the generation of the call that holds
/// it. A reply to an older generation (a caller that gave up) is refused, so it never reaches
/// the next caller of that slot.
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::Duplex;
///
/// let d: Duplex<u8, u8, 2> = Duplex::new();
/// let ticket = d.call_async(1).unwrap();
/// let (to, _req) = d.try_recv().unwrap();
/// assert_eq!(to, ticket.reply_to());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyTo {
    slot: u32,
    /// The slot's state with tag `WAITING` at the time of the call.
    state: u32,
}

/// One reply slot.
struct ReplySlot<Rep> {
    /// | tag bits  | meaning                                              |
    /// |-----------|------------------------------------------------------|
    /// | `FREE`    | no call uses the slot                                |
    /// | `WAITING` | a caller of this generation waits for its reply      |
    /// | `WRITING` | the server writes the reply of this generation       |
    /// | `REPLIED` | the reply is there; only its caller takes it         |
    ///
    /// The generation (above the tag) grows each time the slot is freed.
    state: AtomicU32,
    /// Initialized exactly in `REPLIED`.
    value: UnsafeCell<MaybeUninit<Rep>>,
}

/// A request/reply channel: callers send requests of type `Req` and get replies of type `Rep`;
/// up to `N` calls are in flight at once (the lecture's duplex communication, and its
/// synchronous and asynchronous request).
///
/// - [`call`](Self::call): the synchronous request. It sends and waits for the reply, both
///   within one timeout. No reply in time is reported as [`CallError::Timeout`] (the lecture's
///   missing receipt detected by timeout).
/// - [`call_async`](Self::call_async): the asynchronous request. It returns a [`Ticket`] to
///   collect the reply later ([`Ticket::try_take`], [`Ticket::wait`], [`Ticket::wait_timeout`]).
/// - The server side: [`recv`](Self::recv) a request with its [`ReplyTo`], then
///   [`reply`](Self::reply).
/// - A caller that gives up (timeout, or a dropped ticket) frees its reply slot at once; the
///   late reply is refused and handed back to the server, never delivered to the slot's next
///   caller (each use of a slot has its own generation, 2^30 before they repeat).
/// - Close: [`close`](Self::close) refuses new calls; requests already queued are still
///   delivered to the server and may be answered.
///
/// # Interrupt handlers
///
/// The server may be an interrupt handler: [`try_recv`](Self::try_recv),
/// [`reply`](Self::reply), [`close`](Self::close) and [`is_closed`](Self::is_closed) never wait.
/// [`call`](Self::call), [`call_async`](Self::call_async) (which waits for a free reply slot),
/// [`recv`](Self::recv) and [`Ticket::wait`] wait for the other side and belong in thread mode;
/// dropping an unanswered [`Ticket`] in a handler may wait for a reply that preempted code is
/// writing, so tickets stay in thread mode too. Firmware test: `embedded/src/bin/handoff.rs`
/// (thread mode calls, the handler serves).
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::{CallError, Duplex};
///
/// static SQUARES: Duplex<u32, u32, 4> = Duplex::new();
///
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         while let Ok((to, n)) = SQUARES.recv() {
///             let _ = SQUARES.reply(to, n * n); // refused only if the caller gave up
///         }
///     });
///     assert_eq!(SQUARES.call(7, 1_000_000), Ok(49)); // synchronous, with a timeout
///     let ticket = SQUARES.call_async(8).unwrap(); // asynchronous
///     assert_eq!(ticket.wait(), 64);
///     SQUARES.close();
/// });
/// assert!(matches!(SQUARES.call(1, 10), Err(CallError::NotSent(1))));
/// ```
pub struct Duplex<Req, Rep, const N: usize, W = Spin> {
    requests: Queue<(ReplyTo, Req), N, W>,
    slots: [ReplySlot<Rep>; N],
    /// Callers wait here for a free slot or for their reply.
    replies: Signal<W>,
    /// Where the next slot search starts, so calls spread over the slots.
    next: AtomicUsize,
}

// SAFETY: replies move from the server thread to the caller (`Rep: Send`); a slot's value is
// touched only by the owner of its state (`WRITING`: the server; `REPLIED`: the caller).
unsafe impl<Req: Send, Rep: Send, const N: usize, W> Sync for Duplex<Req, Rep, N, W> {}
// SAFETY: as above.
unsafe impl<Req: Send, Rep: Send, const N: usize, W> Send for Duplex<Req, Rep, N, W> {}

/// Why a [`call`](Duplex::call) failed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CallError<Req> {
    /// The request was not sent (no free reply slot or queue room before the timeout, or the
    /// channel is closed); it is handed back.
    NotSent(Req),
    /// The request was sent but no reply came in time; a later reply will be dropped.
    Timeout,
}

impl<Req> fmt::Debug for CallError<Req> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotSent(_) => "NotSent(..)",
            Self::Timeout => "Timeout",
        })
    }
}

impl<Req> fmt::Display for CallError<Req> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotSent(_) => "the request could not be sent",
            Self::Timeout => "no reply came before the timeout",
        })
    }
}

impl<Req> core::error::Error for CallError<Req> {}

/// The caller of this reply gave up (or it was already answered): the reply is handed back.
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::{Duplex, StaleReply};
///
/// let d: Duplex<u8, u8, 1> = Duplex::new();
/// drop(d.call_async(1).unwrap()); // the caller gives up
/// let (to, _) = d.try_recv().unwrap();
/// assert_eq!(d.reply(to, 2), Err(StaleReply(2)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaleReply<Rep>(pub Rep);

impl<Rep> fmt::Display for StaleReply<Rep> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the caller no longer waits for this reply")
    }
}

impl<Rep: fmt::Debug> core::error::Error for StaleReply<Rep> {}

// Memory ordering: the reply is handed over by the slot state. The server acquires the slot
// (`WAITING -> WRITING`, Acquire) and publishes the reply with the SeqCst store of `REPLIED`;
// the caller reads `REPLIED` with Acquire and frees the slot with a SeqCst store. The next
// caller's claim is Relaxed: the claims and give-ups between two frees are read-modify-writes,
// so the next server's Acquire compare-and-swap synchronizes with the free through them. The
// SeqCst state changes are also the state changes of the `replies` signal's Dekker pair.
impl<Req, Rep, const N: usize, W: Wait> Duplex<Req, Rep, N, W> {
    /// Creates an open channel with `N` reply slots and room for `N` queued requests.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Duplex;
    ///
    /// static RPC: Duplex<u8, u8, 4> = Duplex::new();
    /// assert!(!RPC.is_closed());
    /// ```
    pub const fn new() -> Self {
        const { assert!(N <= (u32::MAX >> 2) as usize, "too many reply slots") };
        Self {
            requests: Queue::new(),
            slots: [const {
                ReplySlot {
                    state: AtomicU32::new(FREE),
                    value: UnsafeCell::new(MaybeUninit::uninit()),
                }
            }; N],
            replies: Signal::new(),
            next: AtomicUsize::new(0),
        }
    }

    /// Claims a free reply slot, if there is one now.
    fn try_claim(&self) -> Option<ReplyTo> {
        // Relaxed: only spreads the search; the claim itself is the compare-and-swap.
        let start = self.next.fetch_add(1, Relaxed);
        for k in 0..N {
            let slot = (start.wrapping_add(k)) % N;
            // Relaxed: a guess; the compare-and-swap acquires.
            let state = self.slots[slot].state.load(Relaxed);
            if state & TAG == FREE {
                let waiting = state | WAITING;
                // Relaxed: the claim reads nothing the slot protects. The next access to the
                // slot's value is the server's write of the reply, after its Acquire
                // compare-and-swap `WAITING -> WRITING` (in `reply`) that reads this claim; a
                // claim, like a ticket's give-up, is a read-modify-write, so it continues the
                // release sequence of the SeqCst store that freed the slot after the previous
                // caller read its reply, and that compare-and-swap synchronizes with it.
                if self.slots[slot]
                    .state
                    .compare_exchange(state, waiting, Relaxed, Relaxed)
                    .is_ok()
                {
                    return Some(ReplyTo {
                        slot: slot as u32,
                        state: waiting,
                    });
                }
            }
        }
        None
    }

    /// Claims a slot and queues the request, blocking until `deadline`.
    fn start_call(&self, req: Req, mut deadline: Option<&mut W::Deadline>) -> Result<ReplyTo, Req> {
        if self.requests.is_closed() {
            return Err(req);
        }
        // Each retry checks for a close too: `close` wakes the callers waiting for a slot, and
        // they must then give up rather than wait for a slot again.
        let claimed = self.replies.wait_until(deadline.as_deref_mut(), || {
            if self.requests.is_closed() {
                Some(None)
            } else {
                self.try_claim().map(Some)
            }
        });
        let Some(Some(to)) = claimed else {
            return Err(req);
        };
        match self.requests.send_deadline((to, req), deadline) {
            Ok(()) => Ok(to),
            Err(SendTimeoutError::Closed((_, req)) | SendTimeoutError::Timeout((_, req))) => {
                self.free(to);
                Err(req)
            }
        }
    }

    /// Frees the slot of `to` for the next generation. The caller owns the slot.
    fn free(&self, to: ReplyTo) {
        let next = (to.state & !TAG).wrapping_add(GENERATION) | FREE;
        // SeqCst: releases the slot to the next claim (Acquire) and is a state change of the
        // signal's Dekker pair.
        self.slots[to.slot as usize].state.store(next, SeqCst);
        self.replies.notify_all();
    }

    /// The synchronous request: sends `req` and waits for its reply, all within `timeout`.
    ///
    /// # Errors
    ///
    /// [`CallError::NotSent`] with the request if it could not be queued in time or the channel
    /// is closed; [`CallError::Timeout`] if it was sent but no reply came in time.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::{CallError, Duplex};
    ///
    /// let d: Duplex<u8, u8, 1> = Duplex::new();
    /// // Nobody serves: the request is queued, the reply never comes.
    /// assert_eq!(d.call(1, 10), Err(CallError::Timeout));
    /// ```
    pub fn call(&self, req: Req, timeout: W::Timeout) -> Result<Rep, CallError<Req>> {
        let mut deadline = W::deadline(timeout);
        let to = self
            .start_call(req, Some(&mut deadline))
            .map_err(CallError::NotSent)?;
        let mut ticket = Ticket {
            duplex: self,
            to,
            done: false,
        };
        ticket
            .wait_deadline(Some(&mut deadline))
            .ok_or(CallError::Timeout)
    }

    /// The asynchronous request: sends `req` (blocking while no reply slot is free or the queue
    /// is full) and returns a [`Ticket`] to collect the reply with.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the request if the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Duplex;
    ///
    /// let d: Duplex<&str, usize, 2> = Duplex::new();
    /// let mut ticket = d.call_async("four").unwrap();
    /// assert_eq!(ticket.try_take(), None); // not answered yet
    /// let (to, req) = d.recv().unwrap();
    /// d.reply(to, req.len()).unwrap();
    /// assert_eq!(ticket.try_take(), Some(4));
    /// ```
    pub fn call_async(&self, req: Req) -> Result<Ticket<'_, Req, Rep, N, W>, SendError<Req>> {
        let to = self.start_call(req, None).map_err(SendError)?;
        Ok(Ticket {
            duplex: self,
            to,
            done: false,
        })
    }

    /// Receives the next request, if one is queued now (the server side).
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`], or [`TryRecvError::Closed`] once closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{TryRecvError, channel::Duplex};
    ///
    /// let d: Duplex<u8, u8, 1> = Duplex::new();
    /// assert_eq!(d.try_recv().unwrap_err(), TryRecvError::Empty);
    /// ```
    pub fn try_recv(&self) -> Result<(ReplyTo, Req), TryRecvError> {
        self.requests.try_recv()
    }

    /// Receives the next request, blocking while none is queued (the server side).
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Duplex;
    ///
    /// let d: Duplex<u8, u8, 1> = Duplex::new();
    /// let _ticket = d.call_async(5).unwrap();
    /// assert_eq!(d.recv().unwrap().1, 5);
    /// ```
    pub fn recv(&self) -> Result<(ReplyTo, Req), RecvError> {
        self.requests.recv()
    }

    /// Receives the next request, blocking for at most `timeout` (the server side).
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`], or [`RecvTimeoutError::Closed`] once closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{RecvTimeoutError, channel::Duplex};
    ///
    /// let d: Duplex<u8, u8, 1> = Duplex::new();
    /// assert_eq!(d.recv_timeout(5).unwrap_err(), RecvTimeoutError::Timeout);
    /// ```
    pub fn recv_timeout(&self, timeout: W::Timeout) -> Result<(ReplyTo, Req), RecvTimeoutError> {
        self.requests.recv_timeout(timeout)
    }

    /// Delivers `rep` to the caller of the request `to` came with (the server side).
    ///
    /// # Errors
    ///
    /// [`StaleReply`] with the reply if that caller gave up (or `to` was answered already).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Duplex;
    ///
    /// let d: Duplex<u8, u8, 1> = Duplex::new();
    /// let ticket = d.call_async(5).unwrap();
    /// let (to, req) = d.recv().unwrap();
    /// assert!(d.reply(to, req + 1).is_ok());
    /// assert!(d.reply(to, 0).is_err()); // answered already
    /// assert_eq!(ticket.wait(), 6);
    /// ```
    pub fn reply(&self, to: ReplyTo, rep: Rep) -> Result<(), StaleReply<Rep>> {
        let Some(slot) = self.slots.get(to.slot as usize) else {
            return Err(StaleReply(rep));
        };
        let writing = (to.state & !TAG) | WRITING;
        // Acquire: reads the caller's claim, a read-modify-write in the release sequence of
        // the SeqCst store that last freed the slot (the claim itself is Relaxed), so the
        // previous caller's read of its reply happens before our write of this one.
        if slot
            .state
            .compare_exchange(to.state, writing, Acquire, Relaxed)
            .is_err()
        {
            return Err(StaleReply(rep));
        }
        // SAFETY: in `WRITING` the server owns the slot's value.
        slot.value.with_mut(|p| unsafe { (*p).write(rep) });
        // SeqCst: publishes the reply to the caller's Acquire load, and is a state change of
        // the signal's Dekker pair.
        slot.state.store((to.state & !TAG) | REPLIED, SeqCst);
        self.replies.notify_all();
        Ok(())
    }

    /// Closes the channel to new calls and wakes every blocked thread. Queued requests are
    /// still delivered to the server. Returns `true` if this call closed it.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Duplex;
    ///
    /// let d: Duplex<u8, u8, 1> = Duplex::new();
    /// assert!(d.close());
    /// assert!(d.call_async(1).is_err());
    /// ```
    pub fn close(&self) -> bool {
        let closed = self.requests.close();
        self.replies.notify_all();
        closed
    }

    /// Whether the channel is closed (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Duplex;
    ///
    /// let d: Duplex<u8, u8, 1> = Duplex::new();
    /// assert!(!d.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.requests.is_closed()
    }
}

impl<Req, Rep, const N: usize, W: Wait> Default for Duplex<Req, Rep, N, W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<Req, Rep, const N: usize, W: Wait> fmt::Debug for Duplex<Req, Rep, N, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Duplex")
            .field("queued", &self.requests.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<Req, Rep, const N: usize, W> Drop for Duplex<Req, Rep, N, W> {
    fn drop(&mut self) {
        for slot in &mut self.slots {
            // Relaxed: `&mut self`, no other thread.
            if slot.state.load(Relaxed) & TAG == REPLIED {
                // SAFETY: in `REPLIED` the slot holds a reply nobody took (its ticket cannot
                // outlive the channel, so this only happens if the ticket was leaked).
                slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
        }
    }
}

/// A pending asynchronous call: collect its reply with [`try_take`](Self::try_take),
/// [`wait`](Self::wait) or [`wait_timeout`](Self::wait_timeout). Dropping it gives up the call:
/// the reply slot is freed and a late reply is refused.
///
/// Interrupt handlers: keep tickets in thread mode: `wait` waits for the server, and dropping an unanswered ticket may wait for a reply being written; `try_take` never waits. See [`Duplex`].
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::Duplex;
///
/// let d: Duplex<u8, u8, 1> = Duplex::new();
/// let mut t = d.call_async(2).unwrap();
/// assert_eq!(t.wait_timeout(5), None); // nobody answered yet; the ticket stays valid
/// let (to, n) = d.recv().unwrap();
/// d.reply(to, n * 10).unwrap();
/// assert_eq!(t.wait_timeout(5), Some(20));
/// ```
#[must_use = "dropping a ticket gives up the call and discards its reply"]
pub struct Ticket<'a, Req, Rep, const N: usize, W: Wait = Spin> {
    duplex: &'a Duplex<Req, Rep, N, W>,
    to: ReplyTo,
    /// The reply was taken; the slot is no longer ours.
    done: bool,
}

impl<Req, Rep, const N: usize, W: Wait> Ticket<'_, Req, Rep, N, W> {
    /// Where the reply goes (what the server received with the request).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Duplex;
    ///
    /// let d: Duplex<u8, u8, 1> = Duplex::new();
    /// let t = d.call_async(2).unwrap();
    /// assert_eq!(d.recv().unwrap().0, t.reply_to());
    /// ```
    pub fn reply_to(&self) -> ReplyTo {
        self.to
    }

    /// Takes the reply if it has come; `None` if not yet (or already taken).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Duplex;
    ///
    /// let d: Duplex<u8, u8, 1> = Duplex::new();
    /// let mut t = d.call_async(2).unwrap();
    /// assert_eq!(t.try_take(), None);
    /// ```
    pub fn try_take(&mut self) -> Option<Rep> {
        if self.done {
            return None;
        }
        let slot = &self.duplex.slots[self.to.slot as usize];
        // Acquire: pairs with the server's SeqCst store of `REPLIED`, so the reply is visible.
        if slot.state.load(Acquire) != (self.to.state & !TAG) | REPLIED {
            return None;
        }
        // SAFETY: in `REPLIED` of our generation the slot holds our reply and only this ticket
        // (not `Clone`) takes it.
        let rep = slot.value.with(|p| unsafe { (*p).assume_init_read() });
        self.done = true;
        self.duplex.free(self.to);
        Some(rep)
    }

    /// Waits for the reply, blocking through `W` for as long as it takes.
    ///
    /// Blocks forever if the server never answers; use [`wait_timeout`](Self::wait_timeout)
    /// to bound it.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Duplex;
    ///
    /// let d: Duplex<u8, u8, 1> = Duplex::new();
    /// let t = d.call_async(2).unwrap();
    /// let (to, n) = d.recv().unwrap();
    /// d.reply(to, n + 1).unwrap();
    /// assert_eq!(t.wait(), 3);
    /// ```
    pub fn wait(mut self) -> Rep {
        loop {
            if let Some(rep) = self.wait_deadline(None) {
                return rep;
            }
        }
    }

    /// Waits for the reply for at most `timeout`; `None` if it has not come (the ticket stays
    /// valid, so the caller may wait again or drop it to give up).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Duplex;
    ///
    /// let d: Duplex<u8, u8, 1> = Duplex::new();
    /// let mut t = d.call_async(2).unwrap();
    /// assert_eq!(t.wait_timeout(3), None);
    /// ```
    pub fn wait_timeout(&mut self, timeout: W::Timeout) -> Option<Rep> {
        self.wait_deadline(Some(&mut W::deadline(timeout)))
    }

    fn wait_deadline(&mut self, deadline: Option<&mut W::Deadline>) -> Option<Rep> {
        let duplex = self.duplex;
        duplex.replies.wait_until(deadline, || self.try_take())
    }
}

impl<Req, Rep, const N: usize, W: Wait> Drop for Ticket<'_, Req, Rep, N, W> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let slot = &self.duplex.slots[self.to.slot as usize];
        // SeqCst: WAITING -> FREE of the next generation: the server's later compare-and-swap
        // fails and its reply is refused.
        let next = (self.to.state & !TAG).wrapping_add(GENERATION) | FREE;
        if slot
            .state
            .compare_exchange(self.to.state, next, SeqCst, Relaxed)
            .is_ok()
        {
            self.duplex.replies.notify_all();
            return;
        }
        // The server is writing or has written the reply: wait for it (it is one store away),
        // then take and drop it.
        loop {
            if let Some(rep) = self.try_take() {
                drop(rep);
                return;
            }
            crate::sync::hint::spin_loop();
        }
    }
}

impl<Req, Rep, const N: usize, W: Wait> fmt::Debug for Ticket<'_, Req, Rep, N, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticket")
            .field("reply_to", &self.to)
            .field("done", &self.done)
            .finish()
    }
}

impl<Req, Rep, const N: usize, W: Wait> Duplex<Req, Rep, N, W> {
    /// The calling side as a handle of its own, to give to code that only makes calls.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Duplex;
    ///
    /// let d: Duplex<u8, u8, 2> = Duplex::new();
    /// let (client, server) = (d.client(), d.server());
    /// let ticket = client.call_async(4).unwrap();
    /// let (to, n) = server.recv().unwrap();
    /// server.reply(to, n * 2).unwrap();
    /// assert_eq!(ticket.wait(), 8);
    /// ```
    pub fn client(&self) -> Client<'_, Req, Rep, N, W> {
        Client { duplex: self }
    }

    /// The serving side as a handle of its own, to give to code that only answers calls.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Duplex;
    ///
    /// let d: Duplex<u8, u8, 2> = Duplex::new();
    /// assert!(d.server().try_recv().is_err());
    /// ```
    pub fn server(&self) -> Server<'_, Req, Rep, N, W> {
        Server { duplex: self }
    }
}

/// The calling side of a [`Duplex`] (a copyable handle): [`call`](Self::call) and
/// [`call_async`](Self::call_async), as on the channel itself.
///
/// Interrupt handlers: calls wait for the server: thread mode only; see [`Duplex`].
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::{CallError, Duplex};
///
/// let d: Duplex<u8, u8, 1> = Duplex::new();
/// let client = d.client();
/// assert_eq!(client.call(1, 5), Err(CallError::Timeout)); // nobody serves
/// ```
pub struct Client<'a, Req, Rep, const N: usize, W: Wait = Spin> {
    duplex: &'a Duplex<Req, Rep, N, W>,
}

impl<'a, Req, Rep, const N: usize, W: Wait> Client<'a, Req, Rep, N, W> {
    /// The synchronous request; see [`Duplex::call`].
    ///
    /// # Errors
    ///
    /// As [`Duplex::call`].
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::{CallError, Duplex};
    ///
    /// let d: Duplex<u8, u8, 1> = Duplex::new();
    /// d.close();
    /// assert_eq!(d.client().call(1, 5), Err(CallError::NotSent(1)));
    /// ```
    pub fn call(&self, req: Req, timeout: W::Timeout) -> Result<Rep, CallError<Req>> {
        self.duplex.call(req, timeout)
    }

    /// The asynchronous request; see [`Duplex::call_async`].
    ///
    /// # Errors
    ///
    /// As [`Duplex::call_async`].
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Duplex;
    ///
    /// let d: Duplex<u8, u8, 1> = Duplex::new();
    /// let mut ticket = d.client().call_async(1).unwrap();
    /// assert_eq!(ticket.try_take(), None);
    /// ```
    pub fn call_async(&self, req: Req) -> Result<Ticket<'a, Req, Rep, N, W>, SendError<Req>> {
        self.duplex.call_async(req)
    }
}

impl<Req, Rep, const N: usize, W: Wait> Clone for Client<'_, Req, Rep, N, W> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Req, Rep, const N: usize, W: Wait> Copy for Client<'_, Req, Rep, N, W> {}

impl<Req, Rep, const N: usize, W: Wait> fmt::Debug for Client<'_, Req, Rep, N, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

/// The serving side of a [`Duplex`] (a copyable handle): receive requests and reply, as on
/// the channel itself.
///
/// Interrupt handlers: `try_recv` and `reply` never wait, so the server may be a handler; see [`Duplex`].
///
/// # Examples
///
/// ```
/// use lockstep_core::channel::Duplex;
///
/// let d: Duplex<u8, u8, 1> = Duplex::new();
/// let server = d.server();
/// let t = d.call_async(3).unwrap();
/// let (to, n) = server.recv().unwrap();
/// server.reply(to, n + 1).unwrap();
/// assert_eq!(t.wait(), 4);
/// ```
pub struct Server<'a, Req, Rep, const N: usize, W: Wait = Spin> {
    duplex: &'a Duplex<Req, Rep, N, W>,
}

impl<Req, Rep, const N: usize, W: Wait> Server<'_, Req, Rep, N, W> {
    /// See [`Duplex::try_recv`].
    ///
    /// # Errors
    ///
    /// As [`Duplex::try_recv`].
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{TryRecvError, channel::Duplex};
    ///
    /// let d: Duplex<u8, u8, 1> = Duplex::new();
    /// assert_eq!(d.server().try_recv().unwrap_err(), TryRecvError::Empty);
    /// ```
    pub fn try_recv(&self) -> Result<(ReplyTo, Req), TryRecvError> {
        self.duplex.try_recv()
    }

    /// See [`Duplex::recv`].
    ///
    /// # Errors
    ///
    /// As [`Duplex::recv`].
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Duplex;
    ///
    /// let d: Duplex<u8, u8, 1> = Duplex::new();
    /// d.close();
    /// assert!(d.server().recv().is_err());
    /// ```
    pub fn recv(&self) -> Result<(ReplyTo, Req), RecvError> {
        self.duplex.recv()
    }

    /// See [`Duplex::recv_timeout`].
    ///
    /// # Errors
    ///
    /// As [`Duplex::recv_timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{RecvTimeoutError, channel::Duplex};
    ///
    /// let d: Duplex<u8, u8, 1> = Duplex::new();
    /// assert_eq!(d.server().recv_timeout(3).unwrap_err(), RecvTimeoutError::Timeout);
    /// ```
    pub fn recv_timeout(&self, timeout: W::Timeout) -> Result<(ReplyTo, Req), RecvTimeoutError> {
        self.duplex.recv_timeout(timeout)
    }

    /// See [`Duplex::reply`].
    ///
    /// # Errors
    ///
    /// As [`Duplex::reply`].
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::channel::Duplex;
    ///
    /// let d: Duplex<u8, u8, 1> = Duplex::new();
    /// let t = d.call_async(1).unwrap();
    /// let (to, _) = d.server().recv().unwrap();
    /// assert!(d.server().reply(to, 2).is_ok());
    /// assert_eq!(t.wait(), 2);
    /// ```
    pub fn reply(&self, to: ReplyTo, rep: Rep) -> Result<(), StaleReply<Rep>> {
        self.duplex.reply(to, rep)
    }
}

impl<Req, Rep, const N: usize, W: Wait> Clone for Server<'_, Req, Rep, N, W> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Req, Rep, const N: usize, W: Wait> Copy for Server<'_, Req, Rep, N, W> {}

impl<Req, Rep, const N: usize, W: Wait> fmt::Debug for Server<'_, Req, Rep, N, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").finish_non_exhaustive()
    }
}
