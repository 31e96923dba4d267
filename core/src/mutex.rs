//! [`SpinLock`], the raw lock, and [`Mutex`], the lock that owns its data (the lecture's Lock).

use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use crate::sync::UnsafeCell;
use crate::sync::atomic::{
    AtomicU32,
    Ordering::{Acquire, Relaxed, Release},
};
use crate::wait::{Spin, Wait};

/// The lock is free.
const UNLOCKED: u32 = 0;
/// The lock is held and no thread is blocked in `W::wait` on it.
const LOCKED: u32 = 1;
/// The lock is held and a thread may be blocked on it: `unlock` must wake one.
const CONTENDED: u32 = 2;

/// A raw lock (no data) on one atomic word, blocking through `W` when contended.
///
/// This is the lock under [`Mutex`]; use it directly to build other primitives, or through the
/// `lock_api` and `embassy-sync` raw-mutex traits (cargo features `lock_api` and `embassy`).
/// Locking an uncontended lock is one compare-and-swap; unlocking is one store, or one swap when
/// `W` needs explicit wakes, and `W` is called only when another thread is waiting.
///
/// Not fair: a thread that arrives while the lock is free may take it before a woken waiter.
///
/// # Interrupt handlers
///
/// An interrupt handler may call [`try_lock`](Self::try_lock) (it fails while the code it
/// interrupted holds the lock) and `unlock` after its own successful `try_lock`. It must not call
/// [`lock`](Self::lock) on a lock that code it can preempt may hold: on a single core the holder
/// cannot run until the handler returns, so the handler spins for ever (a timed lock only times
/// out). Thread mode may `lock` freely. To share data with an interrupt without failing, use
/// `CriticalSectionMutex` (feature `critical-section`). Firmware test: `embedded/src/bin/locks.rs`.
///
/// # Examples
///
/// ```
/// use lockstep_core::{Spin, SpinLock};
///
/// let lock: SpinLock<Spin> = SpinLock::new();
/// lock.lock();
/// assert!(lock.is_locked());
/// assert!(!lock.try_lock());
/// // SAFETY: this context locked it just above.
/// unsafe { lock.unlock() };
/// assert!(lock.try_lock());
/// ```
pub struct SpinLock<W = Spin> {
    /// | value       | meaning                                                 |
    /// |-------------|---------------------------------------------------------|
    /// | `UNLOCKED`  | free                                                    |
    /// | `LOCKED`    | held; nobody blocked in `W::wait` (or `W` needs no wake) |
    /// | `CONTENDED` | held; a waiter may be blocked: unlock wakes one          |
    state: AtomicU32,
    _wait: PhantomData<fn() -> W>,
}

// Memory ordering: a successful acquisition reads `state` with Acquire and every release writes
// it with Release, so the writes of one critical section happen before the next one. Failed
// attempts and the waiting loop only look at the value and use Relaxed.
impl<W: Wait> SpinLock<W> {
    /// Creates an unlocked lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::SpinLock;
    ///
    /// static LOCK: SpinLock = SpinLock::new();
    /// assert!(!LOCK.is_locked());
    /// ```
    #[inline]
    pub const fn new() -> Self {
        Self {
            state: AtomicU32::new(UNLOCKED),
            _wait: PhantomData,
        }
    }

    /// Acquires the lock, blocking through `W` while another context holds it.
    ///
    /// Release it with [`unlock`](Self::unlock).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::SpinLock;
    ///
    /// let lock: SpinLock = SpinLock::new();
    /// lock.lock();
    /// assert!(lock.is_locked());
    /// // SAFETY: locked just above, by this context.
    /// unsafe { lock.unlock() };
    /// ```
    #[inline]
    pub fn lock(&self) {
        // Acquire: pairs with the Release in `unlock`, so the previous holder's writes are visible.
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed)
            .is_err()
        {
            self.lock_contended(None);
        }
    }

    /// Tries to acquire the lock without blocking (the lecture's `acquire(blocking=False)`).
    ///
    /// Returns `true` if the lock is now held by the caller.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::SpinLock;
    ///
    /// let lock: SpinLock = SpinLock::new();
    /// assert!(lock.try_lock());
    /// assert!(!lock.try_lock());
    /// ```
    #[inline]
    pub fn try_lock(&self) -> bool {
        // Acquire: as in `lock`.
        self.state
            .compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed)
            .is_ok()
    }

    /// Tries to acquire the lock, blocking through `W` for at most `timeout`.
    ///
    /// Returns `true` if the lock is now held by the caller, `false` if the timeout passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{Spin, SpinLock};
    ///
    /// let lock: SpinLock<Spin> = SpinLock::new();
    /// assert!(lock.try_lock_for(10)); // Spin counts its timeout in backoff cycles
    /// assert!(!lock.try_lock_for(10));
    /// ```
    #[inline]
    pub fn try_lock_for(&self, timeout: W::Timeout) -> bool {
        self.try_lock() || self.lock_contended(Some(&mut W::deadline(timeout)))
    }

    /// Tries to acquire the lock until `deadline` passes (for `lock_api`'s `try_lock_until`).
    #[cfg(feature = "lock_api")]
    pub(crate) fn try_lock_until_deadline(&self, deadline: &mut W::Deadline) -> bool {
        self.try_lock() || self.lock_contended(Some(deadline))
    }

    /// Returns whether some context holds the lock (a snapshot that may be stale at once).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::SpinLock;
    ///
    /// let lock: SpinLock = SpinLock::new();
    /// assert!(!lock.is_locked());
    /// ```
    #[inline]
    pub fn is_locked(&self) -> bool {
        // Relaxed: a snapshot for diagnostics; it orders nothing.
        self.state.load(Relaxed) != UNLOCKED
    }

    /// Releases the lock, waking one waiter if any is blocked.
    ///
    /// # Safety
    ///
    /// The lock must be held by the current context (acquired by `lock`, a successful
    /// `try_lock` or `try_lock_for`, and not yet released). Unlocking a lock held by someone else
    /// lets two contexts into the critical section, which breaks the exclusive access that
    /// [`Mutex`] and other users rely on for soundness.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::SpinLock;
    ///
    /// let lock: SpinLock = SpinLock::new();
    /// lock.lock();
    /// // SAFETY: locked just above, by this context.
    /// unsafe { lock.unlock() };
    /// assert!(!lock.is_locked());
    /// ```
    #[inline]
    pub unsafe fn unlock(&self) {
        if W::NEEDS_WAKE {
            // Release: pairs with the Acquire of the next `lock`.
            if self.state.swap(UNLOCKED, Release) == CONTENDED {
                W::wake_one(&self.state);
            }
        } else {
            // Release: as above. Without wakes, nobody reads CONTENDED, so a store suffices.
            self.state.store(UNLOCKED, Release);
        }
    }

    /// The slow path of `lock` and `try_lock_for`: returns `false` only if `deadline` passed.
    #[cold]
    fn lock_contended(&self, mut deadline: Option<&mut W::Deadline>) -> bool {
        if !W::NEEDS_WAKE {
            loop {
                // Relaxed: only decides whether a compare-and-swap is worth trying.
                let state = self.state.load(Relaxed);
                if state == UNLOCKED
                    // Acquire: as in `lock`.
                    && self.state.compare_exchange_weak(UNLOCKED, LOCKED, Acquire, Relaxed).is_ok()
                {
                    return true;
                }
                if !W::wait(&self.state, state, deadline.as_deref_mut()) {
                    return false;
                }
            }
        }
        // Implementation notes: std's futex mutex with a backoff phase before every sleep. A
        // thread backs off (spin, then yield, as `W::backoff` decides) retrying the lock, and
        // only then marks it CONTENDED and sleeps. A thread that has slept may leave others
        // asleep, so it takes the lock as CONTENDED and its unlock wakes the next one.
        let mut attempt = 0;
        let mut slept = false;
        loop {
            // Relaxed: only decides which transition to try.
            let state = self.state.load(Relaxed);
            if state == UNLOCKED {
                let new = if slept { CONTENDED } else { LOCKED };
                // Acquire: as in `lock`.
                if self
                    .state
                    .compare_exchange(UNLOCKED, new, Acquire, Relaxed)
                    .is_ok()
                {
                    return true;
                }
                continue;
            }
            if W::backoff(attempt) {
                attempt += 1;
                continue;
            }
            // Relaxed: marking contention publishes nothing; the lock's data is ordered by the
            // Acquire that finally takes it.
            if state == LOCKED
                && self
                    .state
                    .compare_exchange(LOCKED, CONTENDED, Relaxed, Relaxed)
                    .is_err()
            {
                continue;
            }
            if !W::wait(&self.state, CONTENDED, deadline.as_deref_mut()) {
                return false;
            }
            slept = true;
            attempt = 0;
        }
    }
}

impl<W: Wait> Default for SpinLock<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W> fmt::Debug for SpinLock<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display.
        let locked = self.state.load(Relaxed) != UNLOCKED;
        f.debug_struct("SpinLock").field("locked", &locked).finish()
    }
}

/// A mutual-exclusion lock that owns the data it protects (the lecture's Lock).
///
/// [`lock`](Self::lock) blocks through `W` until the lock is free and returns a guard; the lock
/// is released when the guard drops. Releasing a lock you do not hold is impossible by
/// construction. The lock is not poisoned by a panic: the guard releases it while unwinding.
///
/// # Interrupt handlers
///
/// An interrupt handler may call [`try_lock`](Self::try_lock), which returns `None` while the code
/// it interrupted holds the lock; it must not call [`lock`](Self::lock) or
/// [`try_lock_for`](Self::try_lock_for) on a mutex that code it can preempt may hold: on a single
/// core the holder cannot run until the handler returns, so `lock` spins for ever (and a timed lock
/// times out). Thread mode may `lock` freely: a handler's `try_lock` never holds it for long. To
/// share data with an interrupt without failing, use `CriticalSectionMutex` (feature
/// `critical-section`). Firmware test: `embedded/src/bin/locks.rs`.
///
/// # Examples
///
/// ```
/// use lockstep_core::{Mutex, Spin};
///
/// let count: Mutex<i64, Spin> = Mutex::new(0);
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| {
///             for _ in 0..1000 {
///                 let mut c = count.lock();
///                 *c += 100;
///                 *c -= 100;
///             }
///         });
///     }
/// });
/// assert_eq!(count.into_inner(), 0);
/// ```
pub struct Mutex<T: ?Sized, W = Spin> {
    raw: SpinLock<W>,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `T` to one thread at a time, so it can be shared between
// threads when `T` can be sent between them (as `std::sync::Mutex`).
unsafe impl<T: ?Sized + Send, W> Sync for Mutex<T, W> {}
// SAFETY: sending the mutex sends the `T` it owns, which needs `T: Send`.
unsafe impl<T: ?Sized + Send, W> Send for Mutex<T, W> {}

impl<T, W: Wait> Mutex<T, W> {
    /// Creates an unlocked mutex holding `value`; usable in a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Mutex;
    ///
    /// static M: Mutex<[u8; 4]> = Mutex::new([0; 4]);
    /// M.lock()[0] = 7;
    /// assert_eq!(M.lock()[0], 7);
    /// ```
    #[inline]
    pub const fn new(value: T) -> Self {
        Self {
            raw: SpinLock::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex and returns its data.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Mutex;
    ///
    /// let m: Mutex<u8> = Mutex::new(3);
    /// assert_eq!(m.into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized, W: Wait> Mutex<T, W> {
    /// Acquires the lock, blocking through `W` until it is free.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Mutex;
    ///
    /// let m: Mutex<u8> = Mutex::new(1);
    /// *m.lock() += 1;
    /// assert_eq!(*m.lock(), 2);
    /// ```
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T, W> {
        self.raw.lock();
        MutexGuard { mutex: self }
    }

    /// Acquires the lock if it is free at once (the lecture's `acquire(blocking=False)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Mutex;
    ///
    /// let m: Mutex<u8> = Mutex::new(1);
    /// let held = m.lock();
    /// assert!(m.try_lock().is_none());
    /// drop(held);
    /// assert!(m.try_lock().is_some());
    /// ```
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T, W>> {
        self.raw.try_lock().then(|| MutexGuard { mutex: self })
    }

    /// Acquires the lock, blocking through `W` for at most `timeout`; `None` if it passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{Mutex, Spin};
    ///
    /// let m: Mutex<u8, Spin> = Mutex::new(1);
    /// let held = m.lock();
    /// assert!(m.try_lock_for(100).is_none());
    /// drop(held);
    /// assert!(m.try_lock_for(100).is_some());
    /// ```
    #[inline]
    pub fn try_lock_for(&self, timeout: W::Timeout) -> Option<MutexGuard<'_, T, W>> {
        self.raw
            .try_lock_for(timeout)
            .then(|| MutexGuard { mutex: self })
    }

    /// Returns whether the lock is held (a snapshot that may be stale at once).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Mutex;
    ///
    /// let m: Mutex<u8> = Mutex::new(1);
    /// let g = m.lock();
    /// assert!(m.is_locked());
    /// drop(g);
    /// assert!(!m.is_locked());
    /// ```
    #[inline]
    pub fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }

    /// Returns a mutable reference to the data; `&mut self` proves nobody else can lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Mutex;
    ///
    /// let mut m: Mutex<u8> = Mutex::new(1);
    /// *m.get_mut() = 5;
    /// assert_eq!(*m.lock(), 5);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// The raw lock under the data, for primitives built on the mutex (such as `Condvar`).
    pub(crate) fn raw(&self) -> &SpinLock<W> {
        &self.raw
    }
}

impl<T: Default, W: Wait> Default for Mutex<T, W> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug, W: Wait> fmt::Debug for Mutex<T, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// Exclusive access to the data of a [`Mutex`]; the lock is released when the guard drops.
///
/// # Examples
///
/// ```
/// use lockstep_core::Mutex;
///
/// let m: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// let mut g = m.lock();
/// g.push(1);
/// drop(g); // unlocks
/// assert_eq!(*m.lock(), [1]);
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized, W: Wait = Spin> {
    mutex: &'a Mutex<T, W>,
}

// SAFETY: a shared guard only gives `&T`, so sharing it between threads needs `T: Sync`.
unsafe impl<T: ?Sized + Sync, W: Wait> Sync for MutexGuard<'_, T, W> {}

impl<'a, T: ?Sized, W: Wait> MutexGuard<'a, T, W> {
    /// The mutex this guard locks (for `Condvar`, which unlocks and relocks it).
    pub(crate) fn mutex(&self) -> &'a Mutex<T, W> {
        self.mutex
    }

    /// Wraps a mutex that the current context has just locked through its raw lock.
    pub(crate) fn from_locked(mutex: &'a Mutex<T, W>) -> Self {
        MutexGuard { mutex }
    }
}

impl<T: ?Sized, W: Wait> Deref for MutexGuard<'_, T, W> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: a guard exists only while its mutex is locked by it, so no `&mut T` is live.
        self.mutex.data.with(|p| unsafe { &*p })
    }
}

impl<T: ?Sized, W: Wait> DerefMut for MutexGuard<'_, T, W> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard is the only way to the data while the lock is held, and `&mut self`
        // makes this the only reference derived from it.
        self.mutex.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: ?Sized, W: Wait> Drop for MutexGuard<'_, T, W> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard was created when this context locked the mutex, and it is dropped once.
        unsafe { self.mutex.raw.unlock() };
    }
}

impl<T: ?Sized + fmt::Debug, W: Wait> fmt::Debug for MutexGuard<'_, T, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display, W: Wait> fmt::Display for MutexGuard<'_, T, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
