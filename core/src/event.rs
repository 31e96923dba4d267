//! [`Event`]: a flag that threads wait on until it is set (the lecture's Event).

use core::fmt;
use core::marker::PhantomData;

use crate::sync::atomic::{
    AtomicU32,
    Ordering::{Acquire, Relaxed, Release},
};
use crate::wait::{Spin, Wait};

/// Bit 0 of the word: the flag is set; waiters return at once.
const SET: u32 = 1;
/// Bit 1 of the word: the flag is clear and a waiter may be blocked on it: `set` must wake all.
const WAITING: u32 = 2;
/// The generation (bits 2..) counts `set` calls that found the flag clear (wrapping).
const GENERATION: u32 = 4;

/// The generation of a state word.
#[inline]
fn generation(state: u32) -> u32 {
    state / GENERATION
}

/// A flag that one side sets and others wait for (the lecture's Event).
///
/// [`set`](Self::set) wakes every waiter; waits return at once while the flag is set, until
/// [`clear`](Self::clear). A waiter never misses a `set` that happens after it started waiting,
/// even if the flag is cleared again before the waiter runs: every `set` of a clear flag starts
/// a new generation, and a waiter returns once the generation it started in has ended (as
/// Python's `Event.wait` returns `True` when woken by `set`). Setting an event nobody waits for
/// is one atomic read-modify-write and no wake.
///
/// # Interrupt handlers
///
/// An interrupt handler may call [`set`](Self::set), [`clear`](Self::clear) and
/// [`is_set`](Self::is_set). It must not [`wait`](Self::wait) for an event that only code it
/// preempted can set: on a single core that code cannot run until the handler returns, so the wait
/// never ends (a timed wait times out). The usual pattern: the handler sets, thread mode waits.
/// Firmware test: `embedded/src/bin/queue.rs`.
///
/// # Examples
///
/// ```
/// use lockstep_core::{Event, Spin};
///
/// let ready: Event<Spin> = Event::new();
/// std::thread::scope(|s| {
///     let waiter = s.spawn(|| {
///         ready.wait();
///         ready.is_set()
///     });
///     ready.set();
///     assert!(waiter.join().unwrap());
/// });
/// ```
pub struct Event<W = Spin> {
    /// | bits          | meaning                                                       |
    /// |---------------|---------------------------------------------------------------|
    /// | 0 (`SET`)     | the flag is set                                               |
    /// | 1 (`WAITING`) | clear, and a waiter may be blocked: `set` wakes all (never with `SET`) |
    /// | 2.. (`GENERATION`) | how many times a clear flag was set, wrapping (a waiter sleeping through exactly 2^30 set/clear pairs would miss them) |
    state: AtomicU32,
    _wait: PhantomData<fn() -> W>,
}

// Memory ordering: `set` is a Release read-modify-write and waiters read the word with Acquire,
// so what the setter did before `set` is visible to every thread that returns from a wait. A
// waiter that reads a later `clear` still synchronizes with the `set`: `clear` is a
// read-modify-write, so it continues the set's release sequence. `clear` itself is Relaxed: it
// publishes nothing, it only makes later waits block.
impl<W: Wait> Event<W> {
    /// Creates a clear event; usable in a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Event;
    ///
    /// static DONE: Event = Event::new();
    /// assert!(!DONE.is_set());
    /// ```
    #[inline]
    pub const fn new() -> Self {
        Self {
            state: AtomicU32::new(0),
            _wait: PhantomData,
        }
    }

    /// Sets the flag and wakes every waiting thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Event;
    ///
    /// let e: Event = Event::new();
    /// e.set();
    /// assert!(e.is_set());
    /// e.wait(); // returns at once
    /// ```
    #[inline]
    pub fn set(&self) {
        // Relaxed: only a guess for the first compare-and-swap.
        let mut state = self.state.load(Relaxed);
        loop {
            if state & SET != 0 {
                return;
            }
            let new = (state & !WAITING).wrapping_add(GENERATION) | SET;
            // Release: pairs with the Acquire loads of the waiters, publishing the setter's
            // writes.
            match self
                .state
                .compare_exchange_weak(state, new, Release, Relaxed)
            {
                Ok(_) => break,
                Err(s) => state = s,
            }
        }
        if state & WAITING != 0 {
            W::wake_all(&self.state);
        }
    }

    /// Clears the flag, so that later waits block until the next [`set`](Self::set).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Event;
    ///
    /// let e: Event = Event::new();
    /// e.set();
    /// e.clear();
    /// assert!(!e.is_set());
    /// ```
    #[inline]
    pub fn clear(&self) {
        // Relaxed: clearing publishes nothing (see the impl note). Only the SET bit goes; the
        // generation stays, so a waiter that slept through the set still sees it ended.
        self.state.fetch_and(!SET, Relaxed);
    }

    /// Returns whether the flag is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Event;
    ///
    /// let e: Event = Event::new();
    /// assert!(!e.is_set());
    /// e.set();
    /// assert!(e.is_set());
    /// ```
    #[inline]
    pub fn is_set(&self) -> bool {
        // Acquire: a caller that sees the flag set may rely on what the setter wrote before.
        self.state.load(Acquire) & SET != 0
    }

    /// Blocks through `W` until the flag is set; returns at once if it already is.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Event;
    ///
    /// let e: Event = Event::new();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| e.set());
    ///     e.wait();
    /// });
    /// assert!(e.is_set());
    /// ```
    #[inline]
    pub fn wait(&self) {
        if !self.is_set() {
            self.wait_contended(None);
        }
    }

    /// Blocks through `W` until the flag is set or `timeout` passes.
    ///
    /// Returns whether the flag was set (Python's `Event.wait(timeout)`): `false` means the
    /// timeout passed first.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{Event, Spin};
    ///
    /// let e: Event<Spin> = Event::new();
    /// assert!(!e.wait_timeout(10)); // Spin counts its timeout in backoff cycles
    /// e.set();
    /// assert!(e.wait_timeout(10));
    /// ```
    #[inline]
    pub fn wait_timeout(&self, timeout: W::Timeout) -> bool {
        self.is_set() || self.wait_contended(Some(&mut W::deadline(timeout)))
    }

    /// The slow path of the waits: returns whether the flag was set since the wait began.
    #[cold]
    fn wait_contended(&self, mut deadline: Option<&mut W::Deadline>) -> bool {
        // Acquire: as in `is_set`.
        let mut state = self.state.load(Acquire);
        let start = generation(state);
        let done = |state: u32| state & SET != 0 || generation(state) != start;
        loop {
            if done(state) {
                return true;
            }
            if W::NEEDS_WAKE && state & WAITING == 0 {
                // Relaxed on success: announcing a waiter publishes nothing. Acquire on failure:
                // the value read may be the set that ends the wait.
                match self
                    .state
                    .compare_exchange(state, state | WAITING, Relaxed, Acquire)
                {
                    Ok(_) => state |= WAITING,
                    Err(s) => {
                        state = s;
                        continue;
                    }
                }
            }
            let in_time = W::wait(&self.state, state, deadline.as_deref_mut());
            // Acquire: as in `is_set`.
            state = self.state.load(Acquire);
            if !in_time {
                return done(state);
            }
        }
    }
}

impl<W: Wait> Default for Event<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W> fmt::Debug for Event<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display.
        let set = self.state.load(Relaxed) & SET != 0;
        f.debug_struct("Event").field("set", &set).finish()
    }
}
