//! [`Signal`]: an event counter with a sleepers flag, the blocking half shared by the channels.

use core::fmt;
use core::marker::PhantomData;

use crate::sync::atomic::{
    AtomicU32,
    Ordering::{Relaxed, SeqCst},
    fence,
};
use crate::wait::Wait;

/// An event word that waiters sleep on through `W`, and a flag saying that someone may be asleep
/// on it, so that a notifier skips the wake (and the counter bump) when nobody waits.
///
/// The channel's state (its ring) says whether a waiter can proceed; the counter only makes
/// "something changed since I looked" visible to `W::wait`.
///
/// A notification that finds the flag set clears it and wakes every sleeper at once; the next
/// notifications cost one load each until a thread announces itself again. Counting the waiters
/// instead (each leaving when it wakes) made every message sent or received while a woken thread
/// had not yet run pay a wake system call: with 2 producers and 2 consumers on 2 cores that was
/// most of the messages, and the blocking queue ran at half the speed of its spinning ring.
/// Waking every sleeper is what the flag can promise; a channel's sleepers are few, and a
/// sleeper woken for a slot that another thread took announces itself and sleeps again.
pub(crate) struct Signal<W> {
    /// Bumped (wrapping) by each notification that found the flag set.
    event: AtomicU32,
    /// 1 while a thread may be asleep on `event` (or about to be): set by a waiter before its last
    /// look at the state, cleared by the notification that wakes it. Only 0 and 1: a waiter that
    /// took what it waited for without sleeping leaves it set, which costs one unneeded wake, and
    /// nothing has to be undone when a waiter leaves.
    sleepers: AtomicU32,
    _wait: PhantomData<fn() -> W>,
}

// Memory ordering: a Dekker pair. A notifier changes the channel state with a SeqCst operation
// (or follows it with a SeqCst fence) and then reads `sleepers` with SeqCst; a waiter sets
// `sleepers` with a SeqCst swap, issues a SeqCst fence, then re-checks the state. In the single
// total order one of them sees the other: either the waiter's re-check finds the new state, or the
// notifier sees the flag. A notifier that sees it clears it (SeqCst swap, which also acquires the
// waiter's swap) and only then bumps `event`; every waiter whose announcement it cleared read
// `event` before announcing, so its read happens before the bump, and its `W::wait(event, seen)`
// either finds the word changed or sleeps before the bump and is woken by the wake-all after it.
// A waiter that announces itself after the clear leaves the flag set for the next notifier.
impl<W: Wait> Signal<W> {
    /// A signal with no waiters.
    pub(crate) const fn new() -> Self {
        Self {
            event: AtomicU32::new(0),
            sleepers: AtomicU32::new(0),
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
        // SeqCst: the notifier's half of the Dekker pair (see the impl note). When nobody sleeps
        // this load is all a send or a receive adds to its ring operation.
        if W::NEEDS_WAKE && self.sleepers.load(SeqCst) != 0 {
            self.notify_contended();
        }
    }

    #[cold]
    fn notify_contended(&self) {
        // SeqCst: clears the flag after the caller's state change in the total order, so a
        // waiter that sets it again afterwards re-checks a state that includes the change; and
        // acquires the announcements it clears (see the impl note).
        if self.sleepers.swap(0, SeqCst) == 0 {
            // Another notifier cleared it first and wakes the sleepers.
            return;
        }
        // Relaxed: the bump only has to change the word that `W::wait` compares; it is ordered
        // after the announcements by the swap above, and the state it stands for was published by
        // the caller's SeqCst operation.
        self.event.fetch_add(1, Relaxed);
        W::wake_all(&self.event);
    }

    /// Calls `attempt` until it returns `Some`, blocking through `W` between tries. Returns
    /// `None` only when the deadline passed (after one last try).
    #[inline]
    pub(crate) fn wait_until<R>(
        &self,
        mut deadline: Option<&mut W::Deadline>,
        mut attempt: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        // Back off first (spin, then yield, as `W::backoff_handoff` decides): a message or a free
        // slot that comes within microseconds is taken without a sleep and a wake, which is what a
        // ping-pong needs.
        let mut round = 0;
        loop {
            if let Some(r) = attempt() {
                return Some(r);
            }
            if W::backoff_handoff(round) {
                round += 1;
                continue;
            }
            // Relaxed: read before the announcement below; a notification that clears the
            // announcement bumps the word afterwards, so `W::wait` returns at once.
            let seen = self.event.load(Relaxed);
            if W::NEEDS_WAKE {
                // SeqCst: the waiter's half of the Dekker pair.
                self.sleepers.swap(1, SeqCst);
                fence(SeqCst);
                if let Some(r) = attempt() {
                    // The flag stays set: a notifier may already have cleared it for us, so
                    // clearing it here could hide another sleeper. The next notification
                    // clears it with one unneeded wake.
                    return Some(r);
                }
            }
            if !W::wait(&self.event, seen, deadline.as_deref_mut()) {
                return attempt();
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
            .field("sleepers", &(self.sleepers.load(Relaxed) != 0))
            .finish_non_exhaustive()
    }
}
