//! [`Semaphore`]: a counting semaphore, optionally bounded (the lecture's Semaphore and
//! BoundedSemaphore).

use core::fmt;
use core::marker::PhantomData;

use crate::sync::atomic::{
    AtomicU32,
    Ordering::{Acquire, Relaxed, SeqCst},
};
use crate::wait::{Spin, Wait};

/// A counting semaphore: [`acquire`](Self::acquire) takes a permit, blocking through `W` while
/// none is free; [`release`](Self::release) returns one.
///
/// Created with [`new`](Self::new) it is the lecture's Semaphore (any number of releases);
/// created with [`bounded`](Self::bounded) it is the BoundedSemaphore: releasing above the
/// bound is an error that changes nothing, which catches a release without an acquire.
/// [`acquire_permit`](Self::acquire_permit) returns an RAII [`SemaphorePermit`] that releases on
/// drop. Not fair: a thread arriving while a permit is free may take it before a woken waiter.
///
/// # Interrupt handlers
///
/// An interrupt handler may call [`release`](Self::release), [`try_acquire`](Self::try_acquire),
/// [`try_acquire_permit`](Self::try_acquire_permit) and [`available`](Self::available): none of
/// them waits. It must not call [`acquire`](Self::acquire), [`acquire_permit`](Self::acquire_permit)
/// or [`acquire_timeout`](Self::acquire_timeout) where only code it preempted can release a
/// permit: on a single core that code cannot run until the handler returns, so the handler spins
/// for ever (or times out). The usual pattern: the handler releases once per event, thread mode
/// acquires. Firmware tests: `embedded/src/bin/queue.rs` (release in the handler, `acquire` in
/// thread mode) and `embedded/src/bin/locks.rs` (`try_acquire` in the handler).
///
/// # Examples
///
/// ```
/// use lockstep_core::{Semaphore, Spin};
///
/// let sem: Semaphore<Spin> = Semaphore::bounded(2);
/// sem.acquire();
/// assert_eq!(sem.available(), 1);
/// sem.release().unwrap();
/// assert!(sem.release().is_err()); // above the bound: rejected, nothing changed
/// assert_eq!(sem.available(), 2);
/// ```
pub struct Semaphore<W = Spin> {
    /// Free permits. invariant: `permits <= max`.
    permits: AtomicU32,
    /// Threads that announced they may block in `W::wait` on `permits`.
    waiters: AtomicU32,
    /// The bound (`u32::MAX` when unbounded).
    max: u32,
    _wait: PhantomData<fn() -> W>,
}

/// Releasing would raise a bounded semaphore above its bound, or an unbounded one above
/// `u32::MAX` permits (then `max` is `u32::MAX`); nothing was changed.
///
/// # Examples
///
/// ```
/// use lockstep_core::{OverRelease, Semaphore};
///
/// let sem: Semaphore = Semaphore::bounded(1);
/// assert_eq!(sem.release(), Err(OverRelease { max: 1 }));
/// assert_eq!(OverRelease { max: 1 }.to_string(), "releasing a bounded semaphore above its bound of 1");
///
/// let unbounded: Semaphore = Semaphore::new(u32::MAX);
/// let err = unbounded.release().unwrap_err();
/// assert_eq!(err.to_string(), "releasing a semaphore that already holds u32::MAX permits");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverRelease {
    /// The semaphore's bound.
    pub max: u32,
}

impl fmt::Display for OverRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.max == u32::MAX {
            // An unbounded semaphore (or one bounded at the counter's top) that is full.
            f.write_str("releasing a semaphore that already holds u32::MAX permits")
        } else {
            write!(
                f,
                "releasing a bounded semaphore above its bound of {}",
                self.max
            )
        }
    }
}

impl core::error::Error for OverRelease {}

// Memory ordering. Taking a permit is an Acquire read-modify-write of `permits` and returning
// one is a Release (here SeqCst) read-modify-write, so what a thread did before `release`
// happens before what the next acquirer does. `permits` and `waiters` form a Dekker pair: a
// waiter increments `waiters` and then re-reads `permits` inside `W::wait`, after the SeqCst fence
// that `Wait`'s contract puts before that comparison; a releaser increments `permits` and then
// reads `waiters`, both SeqCst. In RC11 one of them sees the other's write (the fence and the two
// SeqCst accesses cannot all miss), so either the releaser wakes the waiter or the waiter does not
// sleep.
impl<W: Wait> Semaphore<W> {
    /// Creates a semaphore with `permits` free permits and no bound (the lecture's Semaphore).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Semaphore;
    ///
    /// static SLOTS: Semaphore = Semaphore::new(3);
    /// assert_eq!(SLOTS.available(), 3);
    /// SLOTS.release().unwrap(); // unbounded: may grow
    /// assert_eq!(SLOTS.available(), 4);
    /// ```
    pub const fn new(permits: u32) -> Self {
        Self::with_max(permits, u32::MAX)
    }

    /// Creates a bounded semaphore with `max` free permits that can never hold more than `max`
    /// (the lecture's BoundedSemaphore).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Semaphore;
    ///
    /// let sem: Semaphore = Semaphore::bounded(1);
    /// assert_eq!(sem.available(), 1);
    /// assert_eq!(sem.max(), Some(1));
    /// ```
    pub const fn bounded(max: u32) -> Self {
        Self::with_max(max, max)
    }

    /// Creates a semaphore with `permits` free permits and bound `max`.
    ///
    /// # Panics
    ///
    /// If `permits > max` (in a `const` context this is a compile error).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Semaphore;
    ///
    /// let sem: Semaphore = Semaphore::with_max(0, 4); // all 4 permits start taken
    /// assert!(sem.try_acquire().is_err());
    /// sem.release().unwrap();
    /// assert!(sem.try_acquire().is_ok());
    /// ```
    pub const fn with_max(permits: u32, max: u32) -> Self {
        assert!(
            permits <= max,
            "a semaphore cannot start with more permits than its bound"
        );
        Self {
            permits: AtomicU32::new(permits),
            waiters: AtomicU32::new(0),
            max,
            _wait: PhantomData,
        }
    }

    /// Takes a permit, blocking through `W` while none is free.
    ///
    /// Give it back with [`release`](Self::release), or use [`acquire_permit`](Self::acquire_permit).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Semaphore;
    ///
    /// let sem: Semaphore = Semaphore::new(1);
    /// sem.acquire();
    /// assert_eq!(sem.available(), 0);
    /// ```
    #[inline]
    pub fn acquire(&self) {
        if self.try_acquire().is_err() {
            self.acquire_contended(None);
        }
    }

    /// Takes a permit if one is free at once (the lecture's `acquire(blocking=False)`).
    ///
    /// # Errors
    ///
    /// [`NoPermit`] if every permit is taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Semaphore;
    ///
    /// let sem: Semaphore = Semaphore::new(1);
    /// assert!(sem.try_acquire().is_ok());
    /// assert!(sem.try_acquire().is_err());
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Result<(), NoPermit> {
        // Relaxed: the first read only guesses; the compare-and-swap below decides.
        let mut n = self.permits.load(Relaxed);
        while n > 0 {
            // Acquire: pairs with the release of the permit we take, so the releaser's writes
            // are visible.
            match self
                .permits
                .compare_exchange_weak(n, n - 1, Acquire, Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(cur) => n = cur,
            }
        }
        Err(NoPermit)
    }

    /// Takes a permit, blocking through `W` for at most `timeout`.
    ///
    /// Returns `true` if a permit was taken, `false` if the timeout passed first.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{Semaphore, Spin};
    ///
    /// let sem: Semaphore<Spin> = Semaphore::new(1);
    /// assert!(sem.acquire_timeout(10));
    /// assert!(!sem.acquire_timeout(10)); // Spin counts the timeout in backoff cycles
    /// ```
    pub fn acquire_timeout(&self, timeout: W::Timeout) -> bool {
        self.try_acquire().is_ok() || self.acquire_contended(Some(&mut W::deadline(timeout)))
    }

    /// Takes a permit, blocking like [`acquire`](Self::acquire), and returns a guard that
    /// releases it when dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Semaphore;
    ///
    /// let sem: Semaphore = Semaphore::new(2);
    /// {
    ///     let _p = sem.acquire_permit();
    ///     assert_eq!(sem.available(), 1);
    /// }
    /// assert_eq!(sem.available(), 2);
    /// ```
    pub fn acquire_permit(&self) -> SemaphorePermit<'_, W> {
        self.acquire();
        SemaphorePermit { sem: self }
    }

    /// Takes a permit if one is free at once, as an RAII guard.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Semaphore;
    ///
    /// let sem: Semaphore = Semaphore::new(1);
    /// let p = sem.try_acquire_permit().unwrap();
    /// assert!(sem.try_acquire_permit().is_none());
    /// drop(p);
    /// assert!(sem.try_acquire_permit().is_some());
    /// ```
    pub fn try_acquire_permit(&self) -> Option<SemaphorePermit<'_, W>> {
        self.try_acquire()
            .ok()
            .map(|()| SemaphorePermit { sem: self })
    }

    /// Takes a permit, blocking like [`acquire_timeout`](Self::acquire_timeout) for at most
    /// `timeout`, as an RAII guard; `None` if the timeout passed first.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{Semaphore, Spin};
    ///
    /// let sem: Semaphore<Spin> = Semaphore::new(1);
    /// let p = sem.acquire_permit_timeout(10).unwrap();
    /// assert!(sem.acquire_permit_timeout(10).is_none()); // Spin counts backoff cycles
    /// drop(p);
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn acquire_permit_timeout(&self, timeout: W::Timeout) -> Option<SemaphorePermit<'_, W>> {
        // `then`, not `then_some`: a guard made when no permit was taken would release one
        // it never had when dropped.
        self.acquire_timeout(timeout)
            .then(|| SemaphorePermit { sem: self })
    }

    /// Returns a permit, waking one blocked acquirer if there is one.
    ///
    /// # Errors
    ///
    /// [`OverRelease`] if the semaphore is bounded and already holds `max` permits; nothing is
    /// changed then. An unbounded semaphore reports it only at `u32::MAX` permits.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Semaphore;
    ///
    /// let sem: Semaphore = Semaphore::bounded(1);
    /// sem.acquire();
    /// assert!(sem.release().is_ok());
    /// assert!(sem.release().is_err());
    /// ```
    pub fn release(&self) -> Result<(), OverRelease> {
        // SeqCst: part of the Dekker pair with `waiters` (see the impl note), and the release of
        // this thread's writes to the next acquirer.
        // `then`, not `then_some`: `n + 1` must only be computed when `n < max`, or a release at
        // `u32::MAX` permits overflows (a panic in a debug build) instead of returning the error.
        self.permits
            .fetch_update(SeqCst, Relaxed, |n| (n < self.max).then(|| n + 1))
            .map_err(|_| OverRelease { max: self.max })?;
        // SeqCst: the other half of the Dekker pair.
        if W::NEEDS_WAKE && self.waiters.load(SeqCst) > 0 {
            W::wake_one(&self.permits);
        }
        Ok(())
    }

    /// The number of free permits now (a snapshot that may be stale at once).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Semaphore;
    ///
    /// let sem: Semaphore = Semaphore::new(5);
    /// assert_eq!(sem.available(), 5);
    /// ```
    pub fn available(&self) -> u32 {
        // Relaxed: a snapshot; it orders nothing.
        self.permits.load(Relaxed)
    }

    /// The bound given to [`bounded`](Self::bounded) or [`with_max`](Self::with_max); `None` if
    /// unbounded.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Semaphore;
    ///
    /// assert_eq!(Semaphore::<lockstep_core::Spin>::new(1).max(), None);
    /// ```
    pub fn max(&self) -> Option<u32> {
        (self.max != u32::MAX).then_some(self.max)
    }

    /// The slow path of `acquire`: returns `false` only if `deadline` passed.
    #[cold]
    fn acquire_contended(&self, mut deadline: Option<&mut W::Deadline>) -> bool {
        // Back off first (spin, then yield, as `W::backoff` decides): a permit returned within
        // microseconds is taken without a sleep and a wake.
        let mut attempt = 0;
        loop {
            if self.try_acquire().is_ok() {
                return true;
            }
            if W::backoff(attempt) {
                attempt += 1;
                continue;
            }
            attempt = 0;
            // Relaxed: announces this waiter; the SeqCst fence with which `W::wait` begins its
            // comparison (the `Wait` contract) orders it before the re-check of `permits` (the
            // Dekker pair described above). `W`s without wakes (`NEEDS_WAKE = false`) never
            // sleep on the word, so they need no order here.
            self.waiters.fetch_add(1, Relaxed);
            let woken = W::wait(&self.permits, 0, deadline.as_deref_mut());
            // Relaxed: only a count of announcements; `release` reading a stale, larger value
            // costs one unneeded wake.
            self.waiters.fetch_sub(1, Relaxed);
            if !woken {
                // One last try: a permit may have come just as the deadline passed.
                return self.try_acquire().is_ok();
            }
        }
    }
}

impl<W> fmt::Debug for Semaphore<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display.
        let permits = self.permits.load(Relaxed);
        let mut d = f.debug_struct("Semaphore");
        d.field("available", &permits);
        if self.max != u32::MAX {
            d.field("max", &self.max);
        }
        d.finish()
    }
}

/// No permit was free for [`Semaphore::try_acquire`].
///
/// # Examples
///
/// ```
/// use lockstep_core::{NoPermit, Semaphore};
///
/// let sem: Semaphore = Semaphore::new(0);
/// assert_eq!(sem.try_acquire(), Err(NoPermit));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoPermit;

impl fmt::Display for NoPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no semaphore permit is free")
    }
}

impl core::error::Error for NoPermit {}

/// A permit taken from a [`Semaphore`], returned when dropped.
///
/// # Examples
///
/// ```
/// use lockstep_core::Semaphore;
///
/// let sem: Semaphore = Semaphore::bounded(1);
/// let permit = sem.acquire_permit();
/// assert_eq!(sem.available(), 0);
/// drop(permit);
/// assert_eq!(sem.available(), 1);
/// ```
#[must_use = "if unused the permit is returned to the semaphore at once"]
pub struct SemaphorePermit<'a, W: Wait = Spin> {
    sem: &'a Semaphore<W>,
}

impl<W: Wait> SemaphorePermit<'_, W> {
    /// Keeps the permit taken: it is not returned when the guard drops.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Semaphore;
    ///
    /// let sem: Semaphore = Semaphore::new(1);
    /// sem.acquire_permit().forget();
    /// assert_eq!(sem.available(), 0);
    /// ```
    pub fn forget(self) {
        core::mem::forget(self);
    }
}

impl<W: Wait> Drop for SemaphorePermit<'_, W> {
    fn drop(&mut self) {
        // A permit guard exists only for a permit it took, so giving it back cannot exceed the
        // bound while the guard was honest; if permits were released by hand meanwhile, the
        // bound wins and the extra release is dropped.
        let _ = self.sem.release();
    }
}

impl<W: Wait> fmt::Debug for SemaphorePermit<'_, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit").finish_non_exhaustive()
    }
}
