//! The futex-shaped blocking seam: [`Wait`], and [`Spin`], its implementation for bare metal.
//!
//! Everything in this crate that blocks does it through `Wait`: "sleep while this `AtomicU32`
//! still holds `expected`", "wake one", "wake all" (the shape of Linux's futex and of std's
//! futex-based `Mutex` and `Condvar`). Each platform provides one implementation: [`Spin`] here,
//! an OS futex in `lockstep-hosted`, and the simulator's own under feature `sim`. Primitives never
//! call the seam on their fast paths, and skip wakes when nobody waits.

use core::fmt;
use core::marker::PhantomData;

use crate::sync::atomic::{
    AtomicU32,
    Ordering::{Relaxed, SeqCst},
    fence,
};
use crate::sync::hint::spin_loop;

pub use spin::relax::{Loop, RelaxStrategy};

/// A futex-shaped way to block a thread until an atomic word changes.
///
/// The methods are associated functions: like a futex, waiters are found by the address of the
/// word, so an implementation is a zero-sized marker type and primitives stay `const`-constructible.
///
/// # Contract
///
/// - [`wait`](Wait::wait) may return at any time (spuriously); callers re-check their condition in a
///   loop. It must not sleep if `atom` no longer holds `expected` when it starts (no lost wake-up):
///   the check and the sleep are atomic with respect to [`wake_one`](Wait::wake_one) and
///   [`wake_all`](Wait::wake_all) on the same word.
/// - A wake call wakes at least one (or every) thread sleeping in `wait` on that word at the time.
///
/// # Examples
///
/// ```
/// use lockstep_core::{Spin, Wait, sync::atomic::{self, AtomicU32}};
///
/// let word = AtomicU32::new(1);
/// // The word no longer holds 0, so this returns at once instead of blocking.
/// assert!(<Spin as Wait>::wait(&word, 0, None));
/// word.store(0, atomic::Ordering::Release);
/// <Spin as Wait>::wake_all(&word); // nobody to wake: a no-op
/// ```
pub trait Wait {
    /// A relative timeout as users write it (`Duration` where there is a clock, a spin budget
    /// for [`Spin`]).
    type Timeout: Copy;
    /// An absolute deadline computed from a [`Timeout`](Wait::Timeout) when a timed operation
    /// starts, and carried through its retries.
    type Deadline;

    /// Whether [`wake_one`](Wait::wake_one) and [`wake_all`](Wait::wake_all) do anything.
    ///
    /// `false` for implementations whose waiters watch the word themselves ([`Spin`]); primitives
    /// then skip the bookkeeping that only exists to decide whether to wake (such as a lock's
    /// "contended" state), which keeps their fast paths as cheap as a plain spin lock's.
    const NEEDS_WAKE: bool = true;

    /// Backs off once before a primitive retries without blocking; returns `false` when
    /// `attempt` (0, 1, 2, ... per acquisition) is high enough that blocking is the better choice.
    ///
    /// Primitives call this between failed attempts on their slow path before they announce
    /// themselves as waiters, so that a lock released within microseconds is taken without a
    /// sleep and a wake. The default does not back off: block at once.
    #[inline]
    fn backoff(attempt: u32) -> bool {
        let _ = attempt;
        false
    }

    /// Like [`backoff`](Wait::backoff), for a wait on a hand-off from another thread (a channel
    /// waiting for a message or a free slot): a partner on another core often answers within
    /// microseconds, so an implementation may spin longer here than for a lock, where the holder
    /// may be preempted. The default is [`backoff`](Wait::backoff).
    #[inline]
    fn backoff_handoff(attempt: u32) -> bool {
        Self::backoff(attempt)
    }

    /// Turns a relative timeout into a deadline, starting now.
    fn deadline(timeout: Self::Timeout) -> Self::Deadline;

    /// Blocks while `atom` holds `expected`, until woken, until `deadline` passes, or spuriously.
    ///
    /// Returns `false` only when the deadline has passed; `true` otherwise (woken, the value had
    /// already changed, or a spurious return).
    ///
    /// Memory ordering, when [`NEEDS_WAKE`](Wait::NEEDS_WAKE): the comparison must read `atom`
    /// after a SeqCst fence (a full barrier), and a wait and a wake on one word must be ordered
    /// as if they took one lock (a wait after a wake sees the stores made before the wake). The
    /// Linux futex does both (its `smp_mb()` and its hash-bucket lock), and the simulator's
    /// RC11 model of `SimWait` checks the primitives against exactly that: their Dekker pairs
    /// (a SeqCst announcement of a waiter, then this comparison) rely on the barrier.
    fn wait(atom: &AtomicU32, expected: u32, deadline: Option<&mut Self::Deadline>) -> bool;

    /// Wakes at least one thread blocked in [`wait`](Wait::wait) on `atom`, if any. When
    /// [`NEEDS_WAKE`](Wait::NEEDS_WAKE), it acts as a SeqCst fence before it looks for waiters
    /// (see [`wait`](Wait::wait)).
    fn wake_one(atom: &AtomicU32);

    /// Wakes every thread blocked in [`wait`](Wait::wait) on `atom`.
    fn wake_all(atom: &AtomicU32);

    /// The cheap half of an asymmetric fence pair, for a Dekker pair whose one side runs at every
    /// operation (a channel's notifier) and whose other side runs rarely (a waiter about to sleep).
    ///
    /// Contract: for a `light_fence` in one thread and a [`heavy_fence`](Wait::heavy_fence) in
    /// another, the two are ordered as two SeqCst fences would be (one of them comes first, and
    /// what its thread did before it is visible to what the other thread does after the other
    /// fence). Two light fences order nothing between themselves, so a primitive pairs a light
    /// fence only with heavy ones.
    ///
    /// The default is a SeqCst fence, which meets the contract on every target; `SimWait`
    /// keeps it, so the RC11 checks verify a primitive with both halves as SeqCst fences, which
    /// is what the contract promises. An implementation may make this a compiler fence and pay
    /// in [`heavy_fence`](Wait::heavy_fence) instead (the hosted futex uses Linux's
    /// `membarrier`), taking a full barrier off every send and receive; the simulator checks
    /// that pairing under x86-TSO with `lockstep_sim::sync::atomic::membarrier`.
    #[inline]
    fn light_fence() {
        fence(SeqCst);
    }

    /// The expensive half of an asymmetric fence pair (see [`light_fence`](Wait::light_fence)); at
    /// least a SeqCst fence on the calling thread. The default is a SeqCst fence.
    #[inline]
    fn heavy_fence() {
        fence(SeqCst);
    }
}

/// Spins with bounded exponential backoff, then relaxes with `R`: the [`Wait`] for bare metal.
///
/// A `wait` call first spins briefly with [`spin_loop`](crate::sync::hint::spin_loop) hints (one,
/// then two) while the word still holds `expected`; if it is still unchanged it calls
/// `R::relax()` once and returns, so the caller re-checks its condition. The spin is kept short
/// so that a yielding `R` yields early: with 100 threads on 2 cores, spinning up to 64 hints per
/// round before yielding made the lecture's lock workload 2-3x slower (`bench --bin locks`). Wakes are no-ops: waiters observe the change themselves.
///
/// With the default `R = Loop` (a spin hint) this is a pure spin wait, fine when every waiting
/// thread has a core of its own, as on a microcontroller with interrupts, and unsuitable when
/// threads outnumber cores: a waiter then burns the time slice that the lock holder needs
/// (measured in `BENCHMARKS.md`: the lecture workload with 100 threads on 2 cores convoys).
/// Hosted code passes a relax strategy that yields to the OS scheduler, or uses the futex `Wait`.
///
/// Timeouts are counted in `wait` calls (one backoff cycle each), since there is no clock.
///
/// # Low power
///
/// On a Cortex-M, a relax strategy that runs `wfe` (`cortex_m::asm::wfe()`) makes thread mode
/// sleep between its checks instead of spinning: `Mutex<T, Spin<Wfe>>`, `Queue<T, N, Spin<Wfe>>`
/// and so on. No wake-up is lost: `wait` reads the word just before it relaxes, and an interrupt
/// that changes the word after that read ends with an exception return, which sets the event
/// register, so that `wfe` returns at once. (`wfi` has no such register: an interrupt between
/// the read and the `wfi` leaves thread mode asleep until the next one.) Only for thread mode:
/// in a handler, a blocking call must not wait for preempted code at all (below). Firmware
/// test: `embedded/src/bin/sleep.rs`.
///
/// # Interrupt handlers
///
/// A blocking call waits by spinning, so in an interrupt handler it must never wait for a value
/// that only preempted code can change: on a single core that code cannot run until the handler
/// returns, and the spin never ends. Each type says which of its methods a handler may call (the
/// crate docs have the table); thread mode may block on anything a handler changes.
///
/// # Examples
///
/// ```
/// use lockstep_core::{Mutex, Spin};
///
/// let m: Mutex<u32, Spin> = Mutex::new(1);
/// *m.lock() += 1;
/// assert_eq!(*m.lock(), 2);
/// ```
pub struct Spin<R = Loop>(PhantomData<fn() -> R>);

impl<R> fmt::Debug for Spin<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Spin")
    }
}

/// Spin hints per round double from 1 up to this; after the last round `R::relax()` runs.
const MAX_BACKOFF: u32 = 2;

impl<R: RelaxStrategy> Wait for Spin<R> {
    /// The number of [`wait`](Wait::wait) calls (backoff cycles) before a timed operation gives up.
    type Timeout = u32;
    /// The remaining number of backoff cycles.
    type Deadline = u32;

    const NEEDS_WAKE: bool = false;

    #[inline]
    fn deadline(timeout: u32) -> u32 {
        timeout
    }

    fn wait(atom: &AtomicU32, expected: u32, deadline: Option<&mut u32>) -> bool {
        if let Some(left) = deadline {
            if *left == 0 {
                return false;
            }
            *left -= 1;
        }
        let mut backoff = 1;
        while backoff <= MAX_BACKOFF {
            // Relaxed: this only decides whether to keep spinning; the caller re-reads its
            // state with the ordering it needs.
            if atom.load(Relaxed) != expected {
                return true;
            }
            for _ in 0..backoff {
                spin_loop();
            }
            backoff *= 2;
        }
        R::relax();
        true
    }

    #[inline]
    fn wake_one(_atom: &AtomicU32) {}

    #[inline]
    fn wake_all(_atom: &AtomicU32) {}
}
