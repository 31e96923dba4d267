//! [`Event`]: a flag that threads wait on until it is set (the lecture's Event).

use core::fmt;
use core::marker::PhantomData;

use crate::sync::atomic::{
    AtomicU32,
    Ordering::{Acquire, Relaxed, Release},
};
use crate::wait::{Spin, Wait};

/// The flag is clear and nobody is blocked in `W::wait` on it.
const CLEAR: u32 = 0;
/// The flag is set: waiters return at once.
const SET: u32 = 1;
/// The flag is clear and a waiter may be blocked on it: `set` must wake everyone.
const CLEAR_WAITING: u32 = 2;

/// A flag that one side sets and others wait for (the lecture's Event).
///
/// [`set`](Self::set) wakes every waiter; waits return at once while the flag is set, until
/// [`clear`](Self::clear). A waiter never misses a `set` that happens after it started waiting,
/// even if the flag is cleared again before the waiter runs: it sleeps only on the word value
/// "clear, somebody waits", which every `set` replaces before waking. Setting an event nobody
/// waits for is one atomic swap and no wake.
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
    /// | value           | meaning                                        |
    /// |-----------------|------------------------------------------------|
    /// | `CLEAR`         | clear; nobody blocked (or `W` needs no wake)   |
    /// | `SET`           | set                                            |
    /// | `CLEAR_WAITING` | clear; a waiter may be blocked: `set` wakes all |
    state: AtomicU32,
    _wait: PhantomData<fn() -> W>,
}

// Memory ordering: `set` writes SET with Release and waiters read it with Acquire, so what the
// setter did before `set` is visible to every thread that returns from a wait. `clear` is a
// Relaxed compare-and-swap: it publishes nothing, it only makes later waits block.
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
            state: AtomicU32::new(CLEAR),
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
        // Release: pairs with the Acquire loads of the waiters, publishing the setter's writes.
        if self.state.swap(SET, Release) == CLEAR_WAITING {
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
        // Relaxed: clearing publishes nothing. Only SET is replaced: CLEAR_WAITING must stay, so
        // the next `set` still wakes the threads already asleep.
        let _ = self.state.compare_exchange(SET, CLEAR, Relaxed, Relaxed);
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
        self.state.load(Acquire) == SET
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

    /// The slow path of the waits: returns whether the flag was seen set.
    #[cold]
    fn wait_contended(&self, mut deadline: Option<&mut W::Deadline>) -> bool {
        loop {
            // Acquire: as in `is_set`.
            let mut state = self.state.load(Acquire);
            if state == SET {
                return true;
            }
            if W::NEEDS_WAKE && state == CLEAR {
                // Relaxed: announcing a waiter publishes nothing; the SET that ends the wait is
                // read with Acquire above.
                match self
                    .state
                    .compare_exchange(CLEAR, CLEAR_WAITING, Relaxed, Acquire)
                {
                    Ok(_) => state = CLEAR_WAITING,
                    Err(SET) => return true,
                    Err(s) => state = s,
                }
            }
            if !W::wait(&self.state, state, deadline.as_deref_mut()) {
                return self.is_set();
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
        let set = self.state.load(Relaxed) == SET;
        f.debug_struct("Event").field("set", &set).finish()
    }
}
