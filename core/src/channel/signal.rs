//! [`Signal`]: an event counter with a waiter count, the blocking half shared by the channels.

use core::fmt;
use core::marker::PhantomData;

use crate::sync::atomic::{
    AtomicU32,
    Ordering::{Relaxed, SeqCst},
    fence,
};
use crate::wait::Wait;

/// An event word that waiters sleep on through `W`, and a count of waiters so that a notifier
/// skips the wake (and the counter bump) when nobody waits.
///
/// The channel's state (its ring) says whether a waiter can proceed; the counter only makes
/// "something changed since I looked" visible to `W::wait`.
pub(crate) struct Signal<W> {
    /// Bumped (wrapping) by each notification that found a waiter.
    event: AtomicU32,
    /// Threads between announcing themselves and leaving `wait_until`.
    waiters: AtomicU32,
    _wait: PhantomData<fn() -> W>,
}

// Memory ordering: a Dekker pair. A notifier changes the channel state with a SeqCst operation
// (or follows it with a SeqCst fence) and then reads `waiters` with SeqCst; a waiter increments
// `waiters` with SeqCst, issues a SeqCst fence, then re-checks the state. In the single total
// order one of them sees the other: either the waiter's re-check finds the new state, or the
// notifier sees the waiter and bumps `event`, which makes `W::wait(event, old)` return.
impl<W: Wait> Signal<W> {
    /// A signal with no waiters.
    pub(crate) const fn new() -> Self {
        Self {
            event: AtomicU32::new(0),
            waiters: AtomicU32::new(0),
            _wait: PhantomData,
        }
    }

    /// Wakes one waiter, if any. The caller changed the state with a SeqCst operation or fence.
    #[inline]
    pub(crate) fn notify_one(&self) {
        // SeqCst: the notifier's half of the Dekker pair (see the impl note).
        if W::NEEDS_WAKE && self.waiters.load(SeqCst) > 0 {
            self.notify_contended(false);
        }
    }

    /// Wakes every waiter. The caller changed the state with a SeqCst operation or fence.
    #[inline]
    pub(crate) fn notify_all(&self) {
        // SeqCst: as in `notify_one`.
        if W::NEEDS_WAKE && self.waiters.load(SeqCst) > 0 {
            self.notify_contended(true);
        }
    }

    #[cold]
    fn notify_contended(&self, all: bool) {
        // Relaxed: the bump only has to change the word that `W::wait` compares; the state it
        // stands for was published by the caller's SeqCst operation.
        self.event.fetch_add(1, Relaxed);
        if all {
            W::wake_all(&self.event);
        } else {
            W::wake_one(&self.event);
        }
    }

    /// Calls `attempt` until it returns `Some`, blocking through `W` between tries. Returns
    /// `None` only when the deadline passed (after one last try).
    #[inline]
    pub(crate) fn wait_until<R>(
        &self,
        mut deadline: Option<&mut W::Deadline>,
        mut attempt: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        // Back off first (spin, then yield, as `W::backoff_handoff` decides): a message or a free slot
        // that comes within microseconds is taken without a sleep and a wake, which is what a
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
            round = 0;
            // Relaxed: read before the re-check below; if a notification comes after it, the
            // word differs and `W::wait` returns at once.
            let seen = self.event.load(Relaxed);
            if W::NEEDS_WAKE {
                // SeqCst: the waiter's half of the Dekker pair.
                self.waiters.fetch_add(1, SeqCst);
                fence(SeqCst);
                if let Some(r) = attempt() {
                    // Relaxed: only a count; a stale larger value costs one unneeded wake.
                    self.waiters.fetch_sub(1, Relaxed);
                    return Some(r);
                }
            }
            let woken = W::wait(&self.event, seen, deadline.as_deref_mut());
            if W::NEEDS_WAKE {
                // Relaxed: as above.
                self.waiters.fetch_sub(1, Relaxed);
            }
            if !woken {
                return attempt();
            }
        }
    }
}

impl<W> fmt::Debug for Signal<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display.
        f.debug_struct("Signal")
            .field("waiters", &self.waiters.load(Relaxed))
            .finish_non_exhaustive()
    }
}
