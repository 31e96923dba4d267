//! Leslie Lamport's single-producer single-consumer ring ("Specifying concurrent program
//! modules", TOPLAS 1983), as tuned for caches:
//!
//! - The consumer polls a stamp in each slot instead of the producer's index (the idea of
//!   FastForward, Giacomoni, Moseley and Vachharajani, PPoPP 2008): a message then costs the
//!   consumer one cache line, the slot's, instead of two (the index, then the slot), which is
//!   what a round trip through two rings pays per hop.
//! - The producer keeps a private copy of the consumer's index and re-reads the shared one only
//!   when the copy says the ring is full, so a steady stream touches the consumer's line about
//!   once per lap.
//! - Both indices sit on cache lines of their own.
//!
//! Wait-free: each operation is a bounded number of steps whatever the other side does.

use core::mem::MaybeUninit;

use super::CachePadded;
use crate::sync::UnsafeCell;
use crate::sync::atomic::{
    AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};

// Implementation notes
//
// Positions run over `0..2N` and wrap there, so `tail - head` (mod 2N) tells a full ring (N)
// from an empty one (0) without a wasted slot, for any `N`; slot index = position mod N, which
// is `pos` or `pos - N`. A slot's stamp is `pos + 1` for the position it last held, so the
// stamp the consumer waits for (`head + 1`) differs from the one a lap earlier
// (`head + 1 - N`, mod 2N) and from the initial 0.

/// Lamport's ring of exactly `N` slots, for one producer and one consumer.
pub(crate) struct Ring<T, const N: usize> {
    /// The next position to pop. Written only by the consumer.
    head: CachePadded<AtomicUsize>,
    /// The next position to push. Written only by the producer.
    // invariant: (tail - head) mod 2N <= N
    tail: CachePadded<AtomicUsize>,
    /// Slots of positions `head..tail` hold values.
    buf: [Slot<T>; N],
}

/// A slot: the value and the stamp that says which position it holds.
struct Slot<T> {
    /// `pos + 1` once the value of position `pos` is written; the consumer polls this word
    /// instead of `tail`, so a message costs it one cache line, not two.
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: values of `T` move from the producer to the consumer thread (so `T: Send`); a slot is
// only touched by the side that owns its position, as the indices guarantee.
unsafe impl<T: Send, const N: usize> Send for Ring<T, N> {}
// SAFETY: as above; the ring never hands out `&T`.
unsafe impl<T: Send, const N: usize> Sync for Ring<T, N> {}

/// The producer's private state: its own index, and where its copy of the consumer's index says
/// the ring is full.
#[derive(Debug)]
pub(crate) struct ProducerIndex {
    tail: usize,
    /// The position one lap after the producer's copy of the consumer's index: the ring is full
    /// (as far as the copy knows) when `tail` reaches it. Kept instead of the copy itself, so
    /// that a push tests for "maybe full" with one comparison.
    full_at: usize,
}

/// The consumer's private state: its own index.
#[derive(Debug)]
pub(crate) struct ConsumerIndex {
    head: usize,
}

impl<T, const N: usize> Ring<T, N> {
    /// Creates an empty ring.
    pub(crate) const fn new() -> Self {
        const { assert!(N > 0, "a ring needs at least one slot") };
        const { assert!(N <= usize::MAX / 2, "capacity too large") };
        Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            buf: [const {
                Slot {
                    stamp: AtomicUsize::new(0),
                    value: UnsafeCell::new(MaybeUninit::uninit()),
                }
            }; N],
        }
    }

    /// The number of values between positions `head` and `tail`.
    #[inline(always)]
    fn distance(head: usize, tail: usize) -> usize {
        if tail >= head {
            tail - head
        } else {
            tail + 2 * N - head
        }
    }

    /// The position one lap after `pos` (`pos + N`, mod 2N): where `tail` stands when the ring
    /// is full and `head` is `pos`.
    #[inline(always)]
    fn lap_after(pos: usize) -> usize {
        if pos >= N { pos - N } else { pos + N }
    }

    /// The position after `pos`.
    #[inline(always)]
    fn next(pos: usize) -> usize {
        if pos + 1 == 2 * N { 0 } else { pos + 1 }
    }

    /// The slot of position `pos`.
    #[inline(always)]
    fn slot(&self, pos: usize) -> &Slot<T> {
        let index = if pos >= N { pos - N } else { pos };
        // SAFETY: positions are below 2N, so `index < N`.
        unsafe { self.buf.get_unchecked(index) }
    }

    /// The producer's starting state.
    pub(crate) fn producer_index(&self) -> ProducerIndex {
        // Relaxed: called when no producer is active (split); the consumer's index is re-read
        // with Acquire before it is trusted for anything but "maybe full".
        ProducerIndex {
            tail: self.tail.load(Relaxed),
            full_at: Self::lap_after(self.head.load(Relaxed)),
        }
    }

    /// The consumer's starting state.
    pub(crate) fn consumer_index(&self) -> ConsumerIndex {
        // Relaxed: as in `producer_index`.
        ConsumerIndex {
            head: self.head.load(Relaxed),
        }
    }

    /// Pushes `value` unless the ring is full.
    ///
    /// # Safety
    ///
    /// The caller is the ring's only producer and `p` is its state from
    /// [`producer_index`](Self::producer_index); a second producer would overwrite values.
    #[inline]
    pub(crate) unsafe fn push(&self, p: &mut ProducerIndex, value: T) -> Result<(), T> {
        let tail = p.tail;
        if tail == p.full_at {
            // Acquire: pairs with the consumer's Release store of `head`, so its read of the
            // slot we are about to overwrite happened before.
            p.full_at = Self::lap_after(self.head.load(Acquire));
            if tail == p.full_at {
                return Err(value);
            }
        }
        let slot = self.slot(tail);
        // SAFETY: position `tail` is outside `head..tail`, so the consumer does not touch its
        // slot, and we are the only producer.
        slot.value.with_mut(|s| unsafe { (*s).write(value) });
        p.tail = Self::next(tail);
        // Release: publishes the value to the consumer's Acquire load of the stamp.
        slot.stamp.store(tail + 1, Release);
        // Release: pairs with the Acquire load of `tail` in `len_from_consumer`, so a consumer
        // that counted this value also finds its stamp (a different word, which coherence alone
        // would not bring along). The drop needs nothing: it has `&mut self`, and whatever ended
        // the halves' borrows ordered their writes before it.
        self.tail.store(p.tail, Release);
        Ok(())
    }

    /// Pops the oldest value, if any.
    ///
    /// # Safety
    ///
    /// The caller is the ring's only consumer and `c` is its state from
    /// [`consumer_index`](Self::consumer_index); a second consumer would read a value twice.
    #[inline]
    pub(crate) unsafe fn pop(&self, c: &mut ConsumerIndex) -> Option<T> {
        let head = c.head;
        let slot = self.slot(head);
        // Acquire: pairs with the producer's Release store of the stamp, so the value is
        // visible. A stamp of an earlier lap is `head + 1 - N` (mod 2N), never `head + 1`.
        if slot.stamp.load(Acquire) != head + 1 {
            return None;
        }
        // SAFETY: the stamp says position `head` was written, so its slot holds a value the
        // producer no longer touches, and we are the only consumer.
        let value = slot.value.with(|s| unsafe { (*s).assume_init_read() });
        c.head = Self::next(head);
        // Release: hands the slot back to the producer's Acquire load of `head`, after our read.
        self.head.store(c.head, Release);
        Some(value)
    }

    /// The number of values now, as the producer sees it (at most this many are in the ring,
    /// so at least `N` minus it pushes in a row succeed).
    #[inline]
    pub(crate) fn len_from_producer(&self, p: &ProducerIndex) -> usize {
        // Relaxed: a count that orders nothing. `push` never relies on it: it writes a slot only
        // after its own Acquire load of `head` (now, or earlier into `full_at`) showed the
        // slot free, and a reload after this load reads this value or a later one (read-read
        // coherence), so the free slots counted here stay free for the pushes that follow.
        Self::distance(self.head.load(Relaxed), p.tail)
    }

    /// The number of values now, as the consumer sees it (at least this many are in the ring,
    /// and that many pops in a row succeed).
    #[inline]
    pub(crate) fn len_from_consumer(&self, c: &ConsumerIndex) -> usize {
        // Acquire: pairs with the Release store of `tail` in `push`, so the stamps of the
        // values counted here are visible to the pops that follow: a pop reads the slot's
        // stamp, not `tail`, and only this pair carries the stamp store over.
        Self::distance(c.head, self.tail.load(Acquire))
    }

    /// The number of values now (a snapshot).
    pub(crate) fn len(&self) -> usize {
        // Relaxed: a snapshot; it orders nothing.
        Self::distance(self.head.load(Relaxed), self.tail.load(Relaxed))
    }
}

impl<T, const N: usize> Drop for Ring<T, N> {
    fn drop(&mut self) {
        // Relaxed: `&mut self` means neither side is active.
        let mut head = self.head.load(Relaxed);
        // Relaxed: as above.
        let tail = self.tail.load(Relaxed);
        while head != tail {
            // SAFETY: positions `head..tail` hold values not yet popped.
            self.slot(head)
                .value
                .with_mut(|s| unsafe { (*s).assume_init_drop() });
            head = Self::next(head);
        }
    }
}
