//! [`Signal`]: an event counter with waiter flags, the blocking half shared by the channels.

use core::fmt;
use core::marker::PhantomData;

use crate::sync::atomic::{
    AtomicU32,
    Ordering::{Relaxed, SeqCst},
    fence,
};
use crate::wait::Wait;

/// An event word that waiters sleep on through `W`, and a word of flags saying whether someone
/// waits for it and whether someone may be asleep in `W::wait`, so that a notifier skips the bump
/// when nobody waits and the wake when nobody sleeps.
///
/// The channel's state (its ring) says whether a waiter can proceed; the counter only makes
/// "something changed since I looked" visible to `W::wait` and to waiters backing off.
///
/// A waiter first backs off on its own ([`ANNOUNCE_AFTER`] rounds: the spinning ones of the hosted
/// futex), then announces itself ([`WAITING`]) and backs off further while watching `event`, and
/// only then marks itself [`SLEEPING`] and calls `W::wait`. A notification that finds a flag set
/// clears both (starting a new epoch), bumps `event`, and makes the wake call only if a waiter may
/// sleep: a waiter that is still backing off sees the bump and retries without a system call on
/// either side (what crossbeam-channel gets from unparking a thread that has not parked yet). Counting waiters
/// instead, each leaving when it woke, made every message sent or received while a woken thread
/// had not yet run pay a wake system call.
///
/// Waking every sleeper is what the flags can promise; a channel's sleepers are few, and a sleeper
/// woken for a slot that another thread took announces itself and waits again.
pub(crate) struct Signal<W> {
    /// Bumped (wrapping) by each notification that found a flag set.
    event: AtomicU32,
    /// [`WAITING`] and [`SLEEPING`] in the low bits, set by waiters and cleared together by the
    /// notification that bumps `event`, which also advances the epoch in the bits above
    /// (wrapping). A waiter that took what it waited for without sleeping leaves its flag set,
    /// which costs the next notification a bump (and a wake call if `SLEEPING` was set), and
    /// nothing has to be undone when a waiter leaves.
    flags: AtomicU32,
    _wait: PhantomData<fn() -> W>,
}

/// A waiter announced itself and re-checks the state, backs off, or sleeps.
const WAITING: u32 = 1;
/// A waiter may be asleep in `W::wait` (or about to call it).
const SLEEPING: u32 = 2;
/// Both flags; the bits above them count epochs.
const FLAGS: u32 = WAITING | SLEEPING;
/// One epoch: a notification that clears the flags adds it.
const EPOCH: u32 = 4;
/// Back-off rounds a waiter takes before it announces itself: the rounds that spin with the hosted
/// futex (`Futex::backoff_handoff`'s 1 to 64 hints). The rounds after it (yields, for the futex)
/// come after the announcement, so a notification during them costs a bump and no wake.
const ANNOUNCE_AFTER: u32 = 7;

// Memory ordering. Announcement: a Dekker pair. A notifier changes the channel state with a SeqCst
// operation (or follows it with a SeqCst fence) and then reads `flags` with SeqCst; a waiter sets
// `WAITING` with a SeqCst read-modify-write, issues a SeqCst fence, then re-checks the state. In
// the single total order one of them sees the other: either the waiter's re-check finds the new
// state, or the notifier sees the flag.
//
// Sleeping: a notifier that sees a flag clears both and advances the epoch with a SeqCst
// compare-and-swap, then bumps `event`, then calls the wake if `SLEEPING` was among what it
// cleared. A waiter marks `SLEEPING` with a SeqCst read-modify-write and compares the epoch it
// finds with the one it announced itself in. Same epoch: no clear came between, so the next one
// sees `SLEEPING` and wakes after its bump, and that bump comes after the waiter read `event`
// (before announcing itself), so `W::wait(event, seen)` either finds the word changed or sleeps
// first and is woken. Another epoch: a notifier cleared the announcement, and the mark, reading
// the clear's value or a later one in its release sequence, acquires the state change made before
// it; the waiter does not sleep but tries again. (A shared flag alone cannot tell the two apart:
// a waiter announcing itself again after a clear and a late bump would sleep on the bumped value
// with its flags gone.) The epoch wraps after 2^30 clears; a waiter that misses exactly that many
// still finds `event` changed, unless it also missed exactly 2^32 bumps.
impl<W: Wait> Signal<W> {
    /// A signal with no waiters.
    pub(crate) const fn new() -> Self {
        Self {
            event: AtomicU32::new(0),
            flags: AtomicU32::new(0),
            _wait: PhantomData,
        }
    }

    /// Wakes the waiters, if any: at least one, as the channels need when one message or one
    /// slot came free. The caller changed the state with a SeqCst operation or fence.
    #[inline]
    pub(crate) fn notify_one(&self) {
        self.notify_all();
    }

    /// Wakes every waiter. The caller changed the state with a SeqCst operation or fence.
    #[inline]
    pub(crate) fn notify_all(&self) {
        // SeqCst: the notifier's half of the Dekker pair (see the impl note). When nobody waits
        // this load is all a send or a receive adds to its ring operation.
        if W::NEEDS_WAKE && self.flags.load(SeqCst) != 0 {
            self.notify_contended();
        }
    }

    #[cold]
    fn notify_contended(&self) {
        // Relaxed: a first guess for the compare-and-swap.
        let mut flags = self.flags.load(Relaxed);
        loop {
            if flags & FLAGS == 0 {
                // Another notifier cleared them: it bumps and wakes.
                return;
            }
            // SeqCst: clears the flags and starts an epoch after the caller's state change (see
            // the impl note); a waiter that announces itself afterwards re-checks a state that
            // includes it.
            match self.flags.compare_exchange_weak(
                flags,
                (flags & !FLAGS).wrapping_add(EPOCH),
                SeqCst,
                Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => flags = now,
            }
        }
        // Relaxed: the bump only has to change the word that `W::wait` compares and the waiters
        // backing off watch; the state it stands for was published by the caller's SeqCst
        // operation and is acquired through `flags` or the ring.
        self.event.fetch_add(1, Relaxed);
        if flags & SLEEPING != 0 {
            W::wake_all(&self.event);
        }
    }

    /// Calls `attempt` until it returns `Some`, blocking through `W` between tries. Returns
    /// `None` only when the deadline passed (after one last try). See
    /// [`wait_until_announced`](Self::wait_until_announced).
    #[inline]
    pub(crate) fn wait_until<R>(
        &self,
        deadline: Option<&mut W::Deadline>,
        mut attempt: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        self.wait_until_announced(deadline, |_| attempt())
    }

    /// Calls `attempt` until it returns `Some`, blocking through `W` between tries. Returns
    /// `None` only when the deadline passed (after one last try).
    ///
    /// `attempt` learns whether the waiter has announced itself (`true`): only then does a
    /// `None` lead to a sleep, so only then must it be sure that a notification will come, which
    /// may cost it more (the MPMC queue then reads the other side's position, to tell a full or
    /// empty ring from an operation half done, and waits for the latter). Before that a `None`
    /// only leads to another round of back-off, and reading the other side's position at every
    /// try pulled the line its threads write at every operation away from them: with 2 producers
    /// and 2 consumers on 2 cores, producers retrying a full queue so slowed the consumers that
    /// the blocking queue ran at a quarter of its speed with spinning producers.
    ///
    /// Backs off first (spin, then yield, as `W::backoff_handoff` decides): a message or a free
    /// slot that comes within microseconds is taken without a sleep and a wake, which is what a
    /// ping-pong needs. The yielding part comes after the announcement, so that when threads
    /// outnumber cores, the thread that runs meanwhile and sends or receives ends the wait with a
    /// bump instead of a wake call.
    #[inline]
    pub(crate) fn wait_until_announced<R>(
        &self,
        mut deadline: Option<&mut W::Deadline>,
        mut attempt: impl FnMut(bool) -> Option<R>,
    ) -> Option<R> {
        let mut round = 0;
        loop {
            if let Some(r) = attempt(false) {
                return Some(r);
            }
            if round < ANNOUNCE_AFTER && W::backoff_handoff(round) {
                round += 1;
                continue;
            }
            // Relaxed: read before the announcement below; a notification that clears the
            // announcement bumps the word afterwards (see the impl note).
            let seen = self.event.load(Relaxed);
            if W::NEEDS_WAKE {
                // SeqCst: the waiter's half of the Dekker pair.
                let epoch = self.flags.fetch_or(WAITING, SeqCst) & !FLAGS;
                fence(SeqCst);
                if let Some(r) = attempt(true) {
                    // The flag stays set: a notifier may already have cleared it for us, so
                    // clearing it here could hide another waiter. The next notification clears
                    // it with one unneeded bump.
                    return Some(r);
                }
                // Back off on while watching the word: a notification now costs a bump.
                let mut bumped = false;
                while W::backoff_handoff(round) {
                    round += 1;
                    // Relaxed: only decides whether to try again; `attempt` reads the state
                    // with the orderings it needs.
                    if self.event.load(Relaxed) != seen {
                        bumped = true;
                        break;
                    }
                }
                if bumped {
                    continue;
                }
                // SeqCst: see "Sleeping" in the impl note.
                if self.flags.fetch_or(SLEEPING, SeqCst) & !FLAGS != epoch {
                    // Cleared since the announcement: the state changed; look again. (The mark
                    // stays, in the new epoch: one unneeded wake call for its notifier.)
                    continue;
                }
            }
            if !W::wait(&self.event, seen, deadline.as_deref_mut()) {
                return attempt(true);
            }
            // Woken, or the word had changed: back off again before the next sleep.
            round = 0;
        }
    }
}

impl<W> fmt::Debug for Signal<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display.
        f.debug_struct("Signal")
            .field("flags", &self.flags.load(Relaxed))
            .finish_non_exhaustive()
    }
}
