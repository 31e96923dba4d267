//! Dmitry Vyukov's bounded MPMC queue ("Bounded MPMC queue", 1024cores.net, 2010): an array of
//! slots, each with a sequence stamp that says whose turn it is, and two position counters.
//!
//! A producer claims position `tail` with a compare-and-swap once the slot's stamp says the slot
//! is free for that position, writes the value, then publishes it by moving the stamp on by one.
//! A consumer claims `head` once the stamp says the value for that position is there, reads it,
//! then frees the slot for the next lap by moving the stamp to `head + one lap`.
//!
//! Progress: not lock-free. A producer preempted between its claim and its publish stalls the
//! consumer of that slot (and, once the queue wraps, the producers behind it), as with every
//! queue of this family (heapless deprecated its copy for this reason; crossbeam's `ArrayQueue`
//! is the same algorithm). Here a pop that finds its slot not yet written reports the queue empty
//! at once, whether or not a producer has claimed the slot (that send has not completed), and a
//! push that finds its slot not yet released reports it full, so the caller decides how to wait
//! (through `W`) instead of spinning on a preempted thread.
//!
//! Neither operation reads the other side's position to make that report (crossbeam's
//! `ArrayQueue` does, to tell a full queue from a slot being read): a consumer polling an empty
//! queue would pull `tail` into its cache at every try, and the next producer's claim would wait
//! for the line to come back. Consumers read only `head`, the slots and a closed flag kept beside
//! `head` (and `tail` once the queue is closed); producers read only `tail` and the slots.

use core::mem::MaybeUninit;

use super::{Backoff, CachePadded};
use crate::sync::UnsafeCell;
use crate::sync::atomic::{
    AtomicBool, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
};

// Implementation notes
//
// A position is `lap * LAP + index` with `index < N`: the index sits in the low bits, under a
// `CLOSED` bit, and the lap above it. Positions of any `N` thus survive the wrap of `usize`
// (plain counters with `pos % N` would not, unless `N` is a power of two). `CLOSED` is set in
// `tail` only: once it is set no compare-and-swap on `tail` can succeed, so no push succeeds
// after `close`.
//
// A slot's stamp is the position it waits for: `pos` when it is empty and a producer at `pos`
// may write it, `pos + 1` when it holds the value written at `pos`. A slot stores its stamp minus
// its own index, so the initial state (stamp = index, lap 0) is all zeros and `new` is `const`
// for any `T` without a loop.

/// A slot: the stored stamp and the value.
struct Slot<T> {
    /// The stamp minus this slot's index (see the implementation notes).
    stamp: AtomicUsize,
    /// Initialized exactly when the stamp is `pos + 1` for the position `pos` of this slot.
    value: UnsafeCell<MaybeUninit<T>>,
}

/// Why a push failed; the value comes back.
#[derive(Debug)]
pub(crate) enum PushError<T> {
    /// Every slot is taken.
    Full(T),
    /// The queue was closed.
    Closed(T),
}

/// Why a pop failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PopError {
    /// No value, but the queue is open.
    Empty,
    /// No value, and the queue is closed: none will come.
    Closed,
}

/// What a consumer reads on every pop, in one cache line.
struct Head {
    /// The next position to pop. Written by consumers.
    pos: AtomicUsize,
    /// Set by `close` once `CLOSED` is in `tail`, so that a pop which finds its slot empty can
    /// tell "closed" without reading `tail`.
    closed: AtomicBool,
}

/// Vyukov's bounded MPMC queue of exactly `N` slots.
pub(crate) struct Ring<T, const N: usize> {
    head: CachePadded<Head>,
    /// The next position to push, with the `CLOSED` bit. Written by producers and `close`.
    // invariant: head <= tail (as positions) and tail - head <= N
    tail: CachePadded<AtomicUsize>,
    slots: [Slot<T>; N],
}

// SAFETY: values of `T` move from the pushing thread to the popping one (so `T: Send`); a slot's
// value is only touched by the one thread that claimed its position, as the stamps guarantee.
unsafe impl<T: Send, const N: usize> Send for Ring<T, N> {}
// SAFETY: as above; `&Ring` only ever moves whole `T`s between threads, never shares a `&T`.
unsafe impl<T: Send, const N: usize> Sync for Ring<T, N> {}

impl<T, const N: usize> Ring<T, N> {
    /// Above every index: `N` fits below it.
    const CLOSED: usize = (N + 1).next_power_of_two();
    /// One lap in position units.
    const LAP: usize = Self::CLOSED * 2;
    /// The index bits of a position.
    const INDEX: usize = Self::CLOSED - 1;

    /// Creates an empty, open queue.
    pub(crate) const fn new() -> Self {
        const {
            assert!(
                N > 0,
                "a queue needs at least one slot (use a rendezvous channel for none)"
            )
        };
        const { assert!(N <= usize::MAX / 4, "capacity too large") };
        Self {
            head: CachePadded::new(Head {
                pos: AtomicUsize::new(0),
                closed: AtomicBool::new(false),
            }),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots: [const {
                Slot {
                    stamp: AtomicUsize::new(0),
                    value: UnsafeCell::new(MaybeUninit::uninit()),
                }
            }; N],
        }
    }

    /// The position after `pos` (which carries no `CLOSED` bit).
    #[inline(always)]
    fn next(pos: usize) -> usize {
        if (pos & Self::INDEX) + 1 < N {
            pos + 1
        } else {
            (pos & !(Self::LAP - 1)).wrapping_add(Self::LAP)
        }
    }

    /// Whether stamp or position `a` comes before `b` (at most a few laps apart, so the wrapping
    /// difference tells the order).
    #[inline(always)]
    fn before(a: usize, b: usize) -> bool {
        a.wrapping_sub(b) > usize::MAX / 2
    }

    /// Whether a producer has claimed a position that no consumer has popped yet, judged by the
    /// positions alone: `false` means the queue is truly empty, not merely waiting for a
    /// producer between its claim and its write.
    ///
    /// A consumer about to sleep asks this after announcing itself as a waiter. The producer's
    /// stamp store is only Release, so it may still sit in a store buffer while the producer
    /// reads the waiter flags and finds none set; its claim of `tail`, though, is SeqCst, so a
    /// claim that this check misses comes after the announcement in the total order, and that
    /// producer sees the waiter and wakes it.
    ///
    /// The caller must have issued a SeqCst fence after its announcement and before this call
    /// (`Signal::wait_until_announced` does, before every attempt that may lead to a sleep):
    /// that fence is what orders these reads after the announcement. With a `Wait` that has no
    /// wakes (`NEEDS_WAKE = false`) there is neither announcement nor fence, and none is needed:
    /// its waits end by themselves and the caller tries again.
    pub(crate) fn claimed_unpopped(&self) -> bool {
        // Relaxed, both: the caller's SeqCst fence after its announcement orders them (a fence,
        // a read that misses a producer's SeqCst claim, then that producer's SeqCst read of the
        // flags: RC11 forbids the read of the flags to miss the announcement). They read no data,
        // so nothing is to be acquired.
        let tail = self.tail.load(Relaxed) & !Self::CLOSED;
        tail != self.head.pos.load(Relaxed)
    }

    /// Whether a consumer has claimed a position whose slot a producer cannot reuse yet, judged
    /// by the positions alone: `false` means the queue is truly full (see
    /// [`claimed_unpopped`](Self::claimed_unpopped) for why a waiting producer needs this).
    ///
    /// The caller must have issued a SeqCst fence after its announcement, as for
    /// `claimed_unpopped`.
    pub(crate) fn popped_unreleased(&self) -> bool {
        // Relaxed, both: ordered by the caller's SeqCst fence, as in `claimed_unpopped`,
        // opposite the consumers' SeqCst claims of `head`.
        let head = self.head.pos.load(Relaxed);
        head.wrapping_add(Self::LAP) != self.tail.load(Relaxed) & !Self::CLOSED
    }

    /// Pushes `value` unless the queue is full or closed.
    #[inline]
    pub(crate) fn push(&self, value: T) -> Result<(), PushError<T>> {
        let mut backoff = Backoff::default();
        // Relaxed: a guess; the compare-and-swap below decides.
        let mut tail = self.tail.load(Relaxed);
        loop {
            if tail & Self::CLOSED != 0 {
                return Err(PushError::Closed(value));
            }
            let index = tail & Self::INDEX;
            // SAFETY: `index < N`: positions are built by `next`, which keeps the index below N.
            let slot = unsafe { self.slots.get_unchecked(index) };
            // Acquire: pairs with the Release stamp store in `pop`, so the consumer's read of the
            // previous value happens before our write.
            let stamp = slot.stamp.load(Acquire).wrapping_add(index);
            if stamp == tail {
                // SeqCst: the claim is in the single total order with the fence of
                // `claimed_unpopped`, and with the waiter flags that the channel reads after it.
                match self
                    .tail
                    .compare_exchange_weak(tail, Self::next(tail), SeqCst, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: the stamp said the slot is empty for position `tail`, and the
                        // compare-and-swap made this thread its only producer.
                        slot.value.with_mut(|p| unsafe { (*p).write(value) });
                        // Release: publishes the value to the consumer's Acquire stamp load.
                        slot.stamp
                            .store(tail.wrapping_add(1).wrapping_sub(index), Release);
                        return Ok(());
                    }
                    // Another producer won the position: back off, then retry with the fresh
                    // `tail`.
                    Err(current) => {
                        tail = current;
                        backoff.contended();
                    }
                }
            } else if Self::before(stamp, tail) {
                // The slot has not been released for position `tail` yet: it holds the value of
                // the previous lap, or a consumer is between its claim and its read of that
                // value, or (rarely) the previous lap's producer is between its claim and its
                // write. Either way no slot is free now, so the queue is full. (`tail` is not
                // stale: nobody can have claimed a position whose slot was not released for it.)
                // The blocking `send` tells a truly full queue from a slot about to be released
                // with `popped_unreleased`.
                return Err(PushError::Full(value));
            } else {
                // The stamp is ahead of `tail`: another producer claimed the position since we
                // read `tail`. Back off, as after a lost compare-and-swap (the same contention,
                // seen one step earlier), then retry with a fresh `tail`.
                backoff.contended();
                // Relaxed: a new guess. It is newer than `tail`: the Acquire stamp load saw the
                // write of a thread that had moved `tail` past it.
                tail = self.tail.load(Relaxed);
            }
        }
    }

    /// Pops the oldest value, or says why there is none.
    #[inline]
    pub(crate) fn pop(&self) -> Result<T, PopError> {
        let mut backoff = Backoff::default();
        // Relaxed: a guess; the compare-and-swap below decides.
        let mut head = self.head.pos.load(Relaxed);
        loop {
            let index = head & Self::INDEX;
            // SAFETY: `index < N`, as in `push`.
            let slot = unsafe { self.slots.get_unchecked(index) };
            // Acquire: pairs with the Release stamp store in `push`, so the value is visible.
            let stamp = slot.stamp.load(Acquire).wrapping_add(index);
            if stamp == head.wrapping_add(1) {
                // SeqCst: the claim is in the single total order with the fence of
                // `popped_unreleased`, and with the waiter flags that the channel reads after it.
                match self
                    .head
                    .pos
                    .compare_exchange_weak(head, Self::next(head), SeqCst, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: the stamp said the slot holds the value of position `head`, and
                        // the compare-and-swap made this thread its only consumer.
                        let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
                        // Release: hands the slot to the producer one lap later (its Acquire
                        // stamp load), after our read.
                        slot.stamp
                            .store(head.wrapping_add(Self::LAP).wrapping_sub(index), Release);
                        return Ok(value);
                    }
                    // Another consumer won the position: back off, then retry with the fresh
                    // `head`.
                    Err(current) => {
                        head = current;
                        backoff.contended();
                    }
                }
            } else if Self::before(stamp, head.wrapping_add(1)) {
                // No value has been written for position `head` (the slot is empty for this lap,
                // or a consumer of the previous lap has not released it yet), so the queue is
                // empty now. (`head` is not stale: nobody can have claimed a position whose
                // value was not written.) A producer may be between its claim and its write, but
                // its send has not completed, so "empty" is a truthful answer for this moment;
                // the blocking `recv` tells the cases apart with `claimed_unpopped`.
                // Acquire: pairs with the SeqCst store in `close`, which comes after `CLOSED`
                // is in `tail`, so the `tail` read below sees its final value.
                if self.head.closed.load(Acquire) {
                    // Relaxed: ordered by the Acquire load above.
                    if self.tail.load(Relaxed) & !Self::CLOSED == head {
                        // No position was claimed beyond ours, and none can be any more.
                        return Err(PopError::Closed);
                    }
                }
                return Err(PopError::Empty);
            } else {
                // The stamp is ahead: another consumer claimed the position since we read
                // `head`. Back off and retry, as in `push`.
                backoff.contended();
                // Relaxed: a new guess, newer than `head` (as in `push`).
                head = self.head.pos.load(Relaxed);
            }
        }
    }

    /// Closes the queue: every later push fails; pops drain what is left. Returns `true` if
    /// this call closed it.
    pub(crate) fn close(&self) -> bool {
        // SeqCst: the state change of the Dekker pair with a blocked sender (the channel reads
        // the senders' waiter flags with SeqCst after it; the sender announces itself, fences and
        // re-reads `tail`): with AcqRel both could miss the other's write, and the sender would
        // sleep through the close. (That a claim of `tail` either comes before it, and succeeds,
        // or fails on `CLOSED` needs only the atomicity of read-modify-writes.)
        let closed = self.tail.fetch_or(Self::CLOSED, SeqCst) & Self::CLOSED == 0;
        // SeqCst: after `CLOSED` is in `tail`, for the Acquire load in `pop`; and in the total
        // order with the SeqCst waiter announcements of blocked receivers, so that a receiver
        // that announced itself after the channel's wake-up read sees the flag when it retries.
        self.head.closed.store(true, SeqCst);
        closed
    }

    /// Whether [`close`](Self::close) was called.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        // Relaxed: a snapshot; `push` and `pop` decide with their own orderings.
        self.tail.load(Relaxed) & Self::CLOSED != 0
    }

    /// The number of values now (a snapshot that may be stale at once).
    pub(crate) fn len(&self) -> usize {
        // A pair is consistent (head <= tail <= head + N) when the two `tail` reads agree:
        // - tail <= head + N: a producer claims position `p` only after its Acquire stamp load
        //   saw the release of the slot by the consumer of `p - N`, which claimed `head` past
        //   `p - N` before. Reading `tail` with Acquire makes that claim of `head` happen before
        //   our read of `head`, which therefore sees it or a later value.
        // - head <= tail: a consumer claims position `p` only after its Acquire stamp load saw
        //   the value written for `p`, whose producer had moved `tail` past `p`. Reading `head`
        //   with Acquire makes that move happen before our second read of `tail`, which then
        //   differs from the first if the first was older than it.
        // No total order is needed.
        loop {
            // Acquire: pairs with the producers' SeqCst (release) claims of `tail` (first point).
            let tail = self.tail.load(Acquire);
            // Acquire: pairs with the consumers' SeqCst (release) claims of `head` (second point).
            let head = self.head.pos.load(Acquire);
            // Relaxed: ordered after the claims that matter by the Acquire read of `head`.
            if self.tail.load(Relaxed) == tail {
                let tail = tail & !Self::CLOSED;
                let (hix, tix) = (head & Self::INDEX, tail & Self::INDEX);
                return if hix < tix {
                    tix - hix
                } else if hix > tix {
                    N - hix + tix
                } else if tail == head {
                    0
                } else {
                    N
                };
            }
        }
    }
}

impl<T, const N: usize> Drop for Ring<T, N> {
    fn drop(&mut self) {
        // Relaxed: `&mut self` means no other thread is using the queue.
        let mut head = self.head.pos.load(Relaxed);
        // Relaxed: as above.
        let tail = self.tail.load(Relaxed) & !Self::CLOSED;
        while head != tail {
            let slot = &mut self.slots[head & Self::INDEX];
            // SAFETY: every position in `head..tail` holds a pushed value that was not popped
            // (`&mut self`: no operation is half done).
            unsafe { slot.value.get_mut().assume_init_drop() };
            head = Self::next(head);
        }
    }
}
