//! [`ReentrantMutex`]: a lock the owning thread may take again (the lecture's RLock).

use std::cell::Cell;
use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use lockstep_core::SpinLock;

use crate::Futex;

/// A mutual-exclusion lock that the thread holding it may lock again (the lecture's RLock).
///
/// The lock is released when every guard of the owning thread has dropped: as often as it was
/// locked. Other threads block (in the kernel, through [`Futex`]) meanwhile. Because several
/// guards of one thread may be alive at once, a guard gives shared access only (`&T`); put a
/// `Cell` or `RefCell` inside for mutation, as with `std`'s `ReentrantLock`.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
///
/// use lockstep_hosted::ReentrantMutex;
///
/// let m = ReentrantMutex::new(Cell::new(0));
/// let outer = m.lock();
/// let inner = m.lock(); // the same thread: no deadlock
/// inner.set(inner.get() + 1);
/// assert_eq!(m.lock_count(), 2);
/// drop(inner);
/// drop(outer);
/// assert_eq!(m.lock_count(), 0);
/// assert_eq!(m.into_inner().get(), 1);
/// ```
pub struct ReentrantMutex<T: ?Sized> {
    raw: SpinLock<Futex>,
    /// The id of the owning thread (see `current_thread_id`), or 0 when free.
    owner: AtomicUsize,
    /// How many guards the owner holds. invariant: written only by the owner.
    count: Cell<u32>,
    data: T,
}

// SAFETY: `count` is only touched by the thread that holds `raw` (the owner), so sharing the
// mutex is safe when `T` may be shared and sent (guards hand out `&T` on any thread that locks).
unsafe impl<T: ?Sized + Send> Send for ReentrantMutex<T> {}
// SAFETY: as above; `&T` reaches several threads over time, which needs `T: Sync` only if they
// can hold it at once, and they cannot, but the guard is `Deref` so we require `T: Send` like
// std's `ReentrantLock`.
unsafe impl<T: ?Sized + Send> Sync for ReentrantMutex<T> {}

// Implementation notes: `owner` is read without synchronization by threads that do not own the
// lock; a thread can only ever see its own id there if it stored it itself (ids are unique
// among live threads, and the owner resets `owner` to 0 before unlocking), so Relaxed suffices:
// `raw`'s Acquire/Release orders the data.

/// A per-thread id that is never 0 and never reused while the process runs (unlike a
/// thread-local's address), so a thread that exits holding a forgotten guard cannot pass the
/// ownership on to a later thread.
///
/// With feature `sim`, inside a running check, it is the simulated thread's id (all simulated
/// threads share one OS thread).
fn current_thread_id() -> usize {
    #[cfg(feature = "sim")]
    if lockstep_sim::in_simulation() {
        // Simulated ids have the high bit set: never a real thread's (small) number.
        return lockstep_sim::thread::current().id().as_u64().get() as usize;
    }
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    thread_local! {
        // Relaxed: only uniqueness matters, which the read-modify-write guarantees.
        static ID: usize = NEXT.fetch_add(1, Relaxed);
    }
    ID.with(|id| *id)
}

impl<T> ReentrantMutex<T> {
    /// Creates an unlocked reentrant mutex holding `value`; usable in a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_hosted::ReentrantMutex;
    ///
    /// static M: ReentrantMutex<u32> = ReentrantMutex::new(7);
    /// assert_eq!(*M.lock(), 7);
    /// ```
    pub const fn new(value: T) -> Self {
        Self {
            raw: SpinLock::new(),
            owner: AtomicUsize::new(0),
            count: Cell::new(0),
            data: value,
        }
    }

    /// Consumes the mutex and returns its data.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_hosted::ReentrantMutex;
    ///
    /// assert_eq!(ReentrantMutex::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.data
    }
}

impl<T: ?Sized> ReentrantMutex<T> {
    /// Locks, blocking while another thread owns the lock; the owner locks again at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_hosted::ReentrantMutex;
    ///
    /// let m = ReentrantMutex::new(());
    /// let _a = m.lock();
    /// let _b = m.lock();
    /// assert_eq!(m.lock_count(), 2);
    /// ```
    ///
    /// # Panics
    ///
    /// If one thread holds more than `u32::MAX` guards at once.
    pub fn lock(&self) -> ReentrantMutexGuard<'_, T> {
        let me = current_thread_id();
        if self.owner.load(Relaxed) == me {
            self.increment();
        } else {
            self.raw.lock();
            self.owner.store(me, Relaxed);
            self.count.set(1);
        }
        ReentrantMutexGuard {
            lock: self,
            _not_send: std::marker::PhantomData,
        }
    }

    /// Locks if the lock is free or already owned by this thread; `None` at once otherwise (the
    /// lecture's `acquire(blocking=False)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_hosted::ReentrantMutex;
    ///
    /// let m = ReentrantMutex::new(());
    /// let g = m.lock();
    /// assert!(m.try_lock().is_some()); // same thread
    /// std::thread::scope(|s| {
    ///     s.spawn(|| assert!(m.try_lock().is_none())); // another thread
    /// });
    /// drop(g);
    /// ```
    pub fn try_lock(&self) -> Option<ReentrantMutexGuard<'_, T>> {
        self.try_lock_with(|raw| raw.try_lock())
    }

    /// Locks like [`lock`](Self::lock), giving up after `timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use lockstep_hosted::ReentrantMutex;
    ///
    /// let m = ReentrantMutex::new(());
    /// let _g = m.lock();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| assert!(m.try_lock_for(Duration::from_millis(5)).is_none()));
    /// });
    /// ```
    pub fn try_lock_for(&self, timeout: Duration) -> Option<ReentrantMutexGuard<'_, T>> {
        self.try_lock_with(|raw| raw.try_lock_for(timeout))
    }

    fn try_lock_with(
        &self,
        acquire: impl FnOnce(&SpinLock<Futex>) -> bool,
    ) -> Option<ReentrantMutexGuard<'_, T>> {
        let me = current_thread_id();
        if self.owner.load(Relaxed) == me {
            self.increment();
        } else if acquire(&self.raw) {
            self.owner.store(me, Relaxed);
            self.count.set(1);
        } else {
            return None;
        }
        Some(ReentrantMutexGuard {
            lock: self,
            _not_send: std::marker::PhantomData,
        })
    }

    /// How many guards the owning thread holds now, as seen by the calling thread: the count if
    /// the caller owns the lock, else 0 (another thread's count is not the caller's to read).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_hosted::ReentrantMutex;
    ///
    /// let m = ReentrantMutex::new(());
    /// assert_eq!(m.lock_count(), 0);
    /// let _g = m.lock();
    /// assert_eq!(m.lock_count(), 1);
    /// ```
    pub fn lock_count(&self) -> u32 {
        if self.owner.load(Relaxed) == current_thread_id() {
            self.count.get()
        } else {
            0
        }
    }

    /// Returns whether some thread holds the lock (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_hosted::ReentrantMutex;
    ///
    /// let m = ReentrantMutex::new(());
    /// assert!(!m.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }

    fn increment(&self) {
        let n = self
            .count
            .get()
            .checked_add(1)
            .expect("ReentrantMutex locked more than u32::MAX times");
        self.count.set(n);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for ReentrantMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ReentrantMutex");
        match self.try_lock() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// Shared access to a [`ReentrantMutex`]'s data; the last guard of the owner to drop releases
/// the lock. Not `Send`: it must drop on the thread that locked.
///
/// # Examples
///
/// ```
/// use lockstep_hosted::ReentrantMutex;
///
/// let m = ReentrantMutex::new(5);
/// let g = m.lock();
/// assert_eq!(*g, 5);
/// ```
#[must_use = "if unused the ReentrantMutex will immediately be released once"]
pub struct ReentrantMutexGuard<'a, T: ?Sized> {
    lock: &'a ReentrantMutex<T>,
    _not_send: std::marker::PhantomData<*const ()>,
}

// SAFETY: sharing a guard shares `&T` only, which needs `T: Sync`.
unsafe impl<T: ?Sized + Sync> Sync for ReentrantMutexGuard<'_, T> {}

impl<T: ?Sized> Deref for ReentrantMutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.lock.data
    }
}

impl<T: ?Sized> Drop for ReentrantMutexGuard<'_, T> {
    fn drop(&mut self) {
        let n = self.lock.count.get() - 1;
        self.lock.count.set(n);
        if n == 0 {
            self.lock.owner.store(0, Relaxed);
            // SAFETY: the count reached 0 on the owning thread (guards are not Send), which
            // acquired `raw` when the count went from 0 to 1.
            unsafe { self.lock.raw.unlock() };
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for ReentrantMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
