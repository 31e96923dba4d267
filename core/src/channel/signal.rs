//! [`Signal`]: an event counter with waiter flags, the blocking half shared by the channels.

use core::fmt;
use core::marker::PhantomData;

use crate::sync::atomic::{
    AtomicU32,
    Ordering::{Acquire, Relaxed, SeqCst},
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
    /// Spinning rounds a waiter takes before it announces itself, learned (see `wait_until_announced`).
    spin: AtomicU32,
    /// Whether the waiter's fence after its announcement is `W::heavy_fence`, so that notifiers
    /// may use `W::light_fence` (see [`new_asymmetric`](Self::new_asymmetric)).
    asymmetric: bool,
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
/// Back-off rounds a waiter takes before it announces itself, at most: the rounds that spin with
/// the hosted futex (`Futex::backoff_handoff`'s 1 to 64 hints). The rounds after it (yields, for
/// the futex) come after the announcement, so a notification during them costs a bump and no
/// wake. A signal learns how many of them pay (see `wait_until_announced`).
const ANNOUNCE_AFTER: u32 = 7;
/// The back-off round a wait starts at (4 spin hints with the hosted futex, not 1): a waiter that
/// looks again at once pulls the cache line its partner is writing (the next slot) away from it
/// in the middle of a burst. Measured on 2 free cores: starting at round 0 gave the blocking
/// `Spsc` 0.69-0.76x and `Broadcast` (1P+1C) 0.30-0.65x crossbeam-channel; round 3 gave 1.37x
/// and 2.65x but the blocking ping-pong fell from 1.5x to 0.94x; round 2 keeps the ping-pong
/// above 1.0x.
const FIRST_ROUND: u32 = 2;

// Memory ordering. Announcement: a Dekker pair. A notifier changes the channel state with a SeqCst
// operation (or follows it with a SeqCst fence) and then reads `flags` with SeqCst; a waiter sets
// `WAITING` with a read-modify-write, issues a SeqCst fence, then re-checks the state. In
// the single total order one of them sees the other: either the waiter's re-check finds the new
// state, or the notifier sees the flag. In a signal made by `new_asymmetric` the notifier follows
// its state change with `W::light_fence` and the waiter's fence is `W::heavy_fence`: the pair is
// ordered as two SeqCst fences are, which is all the argument uses.
//
// Sleeping: a notifier that sees a flag clears both and advances the epoch with a compare-and-swap
// (Acquire), then bumps `event`, then calls the wake if `SLEEPING` was among what it cleared. A
// waiter marks `SLEEPING` with a (Relaxed) read-modify-write and compares the epoch it finds with
// the one it announced itself in. Same epoch: no clear came between, and every write to `flags` is
// a read-modify-write, so the next clear comes after the mark in `flags`'s order and sees
// `SLEEPING`: it wakes after its bump. That bump comes after the waiter read `event`: the waiter's
// SeqCst fence, between its read of `event` and its marks, is a release fence that the clear's
// Acquire read of the mark (or of a later value in its release sequence) synchronizes with. So
// `W::wait(event, seen)` either finds the word changed or sleeps first and is woken. Another
// epoch: a notifier cleared the announcement; the waiter does not sleep but tries again, and
// announces itself again (with the Dekker pair above) before it may sleep, so no ordering of the
// mark is needed for that case. (A shared flag alone cannot tell the two apart:
// a waiter announcing itself again after a clear and a late bump would sleep on the bumped value
// with its flags gone.) The epoch wraps after 2^30 clears; a waiter that misses exactly that many
// still finds `event` changed, unless it also missed exactly 2^32 bumps.
impl<W: Wait> Signal<W> {
    /// A signal with no waiters.
    pub(crate) const fn new() -> Self {
        Self {
            event: AtomicU32::new(0),
            flags: AtomicU32::new(0),
            spin: AtomicU32::new(ANNOUNCE_AFTER),
            asymmetric: false,
            _wait: PhantomData,
        }
    }

    /// A signal with no waiters whose notifiers may make their state change the first half of
    /// the Dekker pair with `W::light_fence` instead of a SeqCst operation or fence: its waiters
    /// issue `W::heavy_fence` after announcing themselves. For a channel whose every operation
    /// would otherwise pay a full barrier (the SPSC ring's stores are plain Release stores); a
    /// waiter pays instead, once per announcement, which comes only after it backed off.
    pub(crate) const fn new_asymmetric() -> Self {
        let mut signal = Self::new();
        signal.asymmetric = true;
        signal
    }

    /// Wakes the waiters, if any: at least one, as the channels need when one message or one
    /// slot came free. The caller changed the state with a SeqCst operation or fence (or, for a
    /// signal made by [`new_asymmetric`](Self::new_asymmetric), followed it with
    /// `W::light_fence`).
    #[inline]
    pub(crate) fn notify_one(&self) {
        self.notify_all();
    }

    /// Wakes every waiter. The caller changed the state with a SeqCst operation or fence, or
    /// otherwise made every waiter's announcement that its re-check missed happen before this
    /// call (`Broadcast::send`: the waiter's re-check and the send are read-modify-writes of one
    /// lock word, so whichever comes second synchronizes with the first).
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
            // Acquire: pairs with the SeqCst fence a waiter issues between its read of `event`
            // and its marks, so that read happens before the bump below (see "Sleeping" in the
            // impl note). A waiter that announces itself after this clear is covered by the
            // notifier's SeqCst read of `flags`, which comes before it. (RC11 forbids the cycle
            // this prevents, read `event` -> mark -> clear -> bump read by that first read, even
            // with Relaxed, as load buffering; the C++20 model Rust follows does not promise
            // that, so the simulator's RC11 checks cannot show this Acquire is needed.)
            match self.flags.compare_exchange_weak(
                flags,
                (flags & !FLAGS).wrapping_add(EPOCH),
                Acquire,
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
    ///
    /// How many rounds spin is learned per signal, as adaptive mutexes do (glibc's, parking_lot's
    /// idea of spinning only while it pays): a wait that succeeds while spinning allows the next
    /// one a round more (up to [`ANNOUNCE_AFTER`]), a wait that had to go on to yield or sleep
    /// a round less (down to one). A partner on another core keeps the spin; threads that share
    /// a core with the partner they wait for (more threads than cores) soon yield at once instead
    /// of spinning away the time slice the partner needs.
    #[inline]
    pub(crate) fn wait_until_announced<R>(
        &self,
        mut deadline: Option<&mut W::Deadline>,
        mut attempt: impl FnMut(bool) -> Option<R>,
    ) -> Option<R> {
        let mut round = FIRST_ROUND;
        // Spinning rounds before the announcement: the signal's learned budget, read after the
        // first round, so that a `W` that never backs off (the simulator's) never touches it.
        let mut budget = ANNOUNCE_AFTER;
        let mut spin = ANNOUNCE_AFTER;
        let mut learning = false;
        let mut announced = false;
        loop {
            if let Some(r) = attempt(false) {
                if learning {
                    self.learn(spin, !announced);
                }
                return Some(r);
            }
            if round < budget && W::backoff_handoff(round) {
                if !learning {
                    learning = true;
                    // Relaxed: a heuristic; a stale or lost update only changes how long the
                    // next wait spins.
                    spin = self.spin.load(Relaxed);
                    budget = spin & BUDGET;
                }
                round += 1;
                continue;
            }
            // The yielding rounds come after the announcement, however few rounds spun.
            round = round.max(ANNOUNCE_AFTER);
            announced = true;
            // Relaxed: read before the announcement below; a notification that clears the
            // announcement bumps the word afterwards (see the impl note).
            let seen = self.event.load(Relaxed);
            if W::NEEDS_WAKE {
                // Relaxed: the SeqCst fence right after it is the waiter's half of the Dekker
                // pair (it orders this announcement before the re-check of the state), and the
                // epoch read here is only compared with a later read of the same word.
                let epoch = self.flags.fetch_or(WAITING, Relaxed) & !FLAGS;
                if self.asymmetric {
                    // Pairs with the notifiers' `W::light_fence` as two SeqCst fences would,
                    // and is a SeqCst fence itself.
                    W::heavy_fence();
                } else {
                    fence(SeqCst);
                }
                if let Some(r) = attempt(true) {
                    // The flag stays set: a notifier may already have cleared it for us, so
                    // clearing it here could hide another waiter. The next notification clears
                    // it with one unneeded bump.
                    if learning {
                        self.learn(spin, false);
                    }
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
                // Relaxed: see "Sleeping" in the impl note: only the read-modify-write's place in
                // `flags`'s order matters, and the fence above orders it after the read of
                // `event`.
                if self.flags.fetch_or(SLEEPING, Relaxed) & !FLAGS != epoch {
                    // Cleared since the announcement: the state changed; look again. (The mark
                    // stays, in the new epoch: one unneeded wake call for its notifier.)
                    continue;
                }
            }
            if !W::wait(&self.event, seen, deadline.as_deref_mut()) {
                if learning {
                    self.learn(spin, false);
                }
                return attempt(true);
            }
            // Woken, or the word had changed: back off again before the next sleep.
            round = FIRST_ROUND;
        }
    }
}

impl<W> Signal<W> {
    /// Adapts the spinning budget after a wait that spun: see [`learned_budget`].
    #[cold]
    fn learn(&self, spin: u32, spun_enough: bool) {
        let next = learned_budget(spin, spun_enough, ANNOUNCE_AFTER);
        if next != spin {
            // Relaxed: as where it is read.
            self.spin.store(next, Relaxed);
        }
    }
}

/// The next value of a learned back-off word (a budget of rounds in [`BUDGET`]'s bits, the misses
/// in a row at one round above [`MISSES_SHIFT`]) after a wait that backed off: a round more, up
/// to `full`, if it succeeded while backing off; a round less if it had to go on (announce,
/// yield or sleep). At one round, every [`PROBE_AFTER`]th miss in a row restores `full` for the
/// next wait, so a partner that got faster (a ping-pong whose round trip outgrew the shortened
/// back-off) is found again.
pub(crate) fn learned_budget(spin: u32, spun_enough: bool, full: u32) -> u32 {
    let (budget, misses) = (spin & BUDGET, spin >> MISSES_SHIFT);
    if spun_enough {
        (budget + 1).min(full)
    } else if budget > 1 {
        budget - 1
    } else if misses + 1 >= PROBE_AFTER {
        full
    } else {
        1 | (misses + 1) << MISSES_SHIFT
    }
}

/// The budget's bits in a learned back-off word (see [`learned_budget`]); above them, the misses
/// in a row at one round.
pub(crate) const BUDGET: u32 = 0xff;
/// Where the misses at one round start in the `spin` word.
const MISSES_SHIFT: u32 = 8;
/// Misses in a row at one round after which a wait spins the full budget again.
const PROBE_AFTER: u32 = 16;

impl<W> fmt::Debug for Signal<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display.
        f.debug_struct("Signal")
            .field("flags", &self.flags.load(Relaxed))
            .field("spin", &self.spin.load(Relaxed))
            .finish_non_exhaustive()
    }
}
