//! [`Mutex`]: a modelled mutual-exclusion lock with `std::sync::Mutex`'s API.
//!
//! Inside a running check, taking the lock is one scheduling step, and a thread whose next step
//! would take a held lock is not scheduled until the holder unlocks (as with loom's and
//! shuttle's `Mutex`): the interleavings explored are those of the critical sections, not of a
//! lock algorithm's own atomics. Unlocking is recorded in the trace and publishes the holder's
//! view of memory to the next locker (happens-before, for data-race detection) but is not a step
//! of its own. A thread that locks a mutex it already holds, or threads that wait for each
//! other's mutexes, end the execution as a deadlock.
//!
//! Poisoning is std's. Inside a check it is kept per execution: a guard dropped while its thread
//! panics (a panic the program catches) poisons the mutex for the rest of that execution, and
//! unwinding a finished execution's threads poisons nothing, so a `static` mutex starts every
//! execution, the shrinking and the replay clean.
//!
//! A limitation: when a failed execution is torn down, its threads are unwound one after another
//! with the simulation off; a destructor that locks a modelled mutex which a thread not yet
//! unwound holds would wait for it for ever. Destructors of simulated code should not lock.
//!
//! To check a lock *algorithm* instead (such as `lockstep_core::Mutex`), build it on
//! [`atomic`](super::atomic) and [`futex`](super::futex): then every step of the algorithm is
//! explored.
//!
//! Outside a check it is `std::sync::Mutex`.

use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};

use crate::rt;

/// A mutual-exclusion lock whose `lock` is one step under the simulator (see the [module
/// docs](self)); `std::sync::Mutex` outside a check.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use lockstep_sim::{Config, check, thread};
/// use lockstep_sim::sync::Mutex;
///
/// let stats = check(Config::dfs(None), || {
///     let count = Arc::new(Mutex::new(0));
///     let c = Arc::clone(&count);
///     let h = thread::spawn(move || *c.lock().unwrap() += 100);
///     *count.lock().unwrap() += 100;
///     h.join().unwrap();
///     assert_eq!(*count.lock().unwrap(), 200);
/// });
/// assert!(stats.complete);
/// ```
#[derive(Default)]
pub struct Mutex<T: ?Sized> {
    inner: std::sync::Mutex<T>,
}

/// The guard of a locked [`Mutex`]; unlocks when dropped.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    /// Dropped first in `drop`, so the real lock is free before the simulator hands it on.
    guard: ManuallyDrop<std::sync::MutexGuard<'a, T>>,
    /// The mutex: its address is its object in the simulation.
    lock: &'a Mutex<T>,
    /// Where `lock` was called, for the unlock's trace row.
    location: &'static Location<'static>,
}

impl<T> Mutex<T> {
    /// Creates an unlocked mutex holding `value` (usable in a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// static M: lockstep_sim::sync::Mutex<u32> = lockstep_sim::sync::Mutex::new(0);
    /// *M.lock().unwrap() += 1;
    /// assert_eq!(*M.lock().unwrap(), 1);
    /// ```
    pub const fn new(value: T) -> Self {
        Self {
            inner: std::sync::Mutex::new(value),
        }
    }

    /// Consumes the mutex and returns the value.
    ///
    /// # Errors
    ///
    /// A [`PoisonError`] (holding the value) if a thread panicked while holding the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = lockstep_sim::sync::Mutex::new(5);
    /// assert_eq!(m.into_inner().unwrap(), 5);
    /// ```
    pub fn into_inner(self) -> LockResult<T> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again after the value is moved out; the
        // simulator forgets the object in `Drop`, which is skipped here, so forget it now.
        let inner = unsafe { std::ptr::read(&this.inner) };
        if let Some(e) = rt::current() {
            rt::forget(e, this.addr());
        }
        inner.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    fn addr(&self) -> usize {
        self as *const Self as *const () as usize
    }

    /// Locks the mutex, blocking until it is free.
    ///
    /// Inside a check this is one step, and the thread is not scheduled while another holds the
    /// lock; locking a mutex the thread already holds is reported as a deadlock.
    ///
    /// # Errors
    ///
    /// A [`PoisonError`] holding the guard if a thread panicked while holding the lock (as
    /// `std::sync::Mutex`).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = lockstep_sim::sync::Mutex::new(vec![1]);
    /// m.lock().unwrap().push(2);
    /// assert_eq!(*m.lock().unwrap(), [1, 2]);
    /// ```
    #[track_caller]
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        let location = Location::caller();
        let wrap = |guard| self.guard(guard, location);
        if let Some(e) = rt::current() {
            rt::mutex_lock(e, self.addr(), location);
            // The simulator just made this thread the only holder, so this never blocks (all
            // simulated threads share one OS thread); poison is this execution's (module docs).
            self.inner.clear_poison();
            let guard = wrap(self.inner.lock().unwrap_or_else(PoisonError::into_inner));
            return if self.is_poisoned() {
                Err(PoisonError::new(guard))
            } else {
                Ok(guard)
            };
        }
        match self.inner.lock() {
            Ok(g) => Ok(wrap(g)),
            Err(p) => Err(PoisonError::new(wrap(p.into_inner()))),
        }
    }

    /// Locks the mutex if it is free now, without blocking.
    ///
    /// Inside a check this is one step.
    ///
    /// # Errors
    ///
    /// [`TryLockError::WouldBlock`] if another thread holds the lock (or this one does),
    /// [`TryLockError::Poisoned`] as for [`lock`](Self::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = lockstep_sim::sync::Mutex::new(1);
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_err());
    /// drop(g);
    /// assert!(m.try_lock().is_ok());
    /// ```
    #[track_caller]
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        let location = Location::caller();
        let wrap = |guard| self.guard(guard, location);
        if let Some(e) = rt::current() {
            if !rt::mutex_try_lock(e, self.addr(), location) {
                return Err(TryLockError::WouldBlock);
            }
            // As in `lock`.
            self.inner.clear_poison();
            let guard = match self.inner.try_lock() {
                Ok(g) => wrap(g),
                Err(TryLockError::Poisoned(p)) => wrap(p.into_inner()),
                Err(TryLockError::WouldBlock) => return Err(TryLockError::WouldBlock),
            };
            return if self.is_poisoned() {
                Err(TryLockError::Poisoned(PoisonError::new(guard)))
            } else {
                Ok(guard)
            };
        }
        match self.inner.try_lock() {
            Ok(g) => Ok(wrap(g)),
            Err(TryLockError::Poisoned(p)) => Err(TryLockError::Poisoned(PoisonError::new(wrap(
                p.into_inner(),
            )))),
            Err(TryLockError::WouldBlock) => Err(TryLockError::WouldBlock),
        }
    }

    fn guard<'a>(
        &'a self,
        guard: std::sync::MutexGuard<'a, T>,
        location: &'static Location<'static>,
    ) -> MutexGuard<'a, T> {
        MutexGuard {
            guard: ManuallyDrop::new(guard),
            lock: self,
            location,
        }
    }

    /// Whether a thread panicked while holding the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!lockstep_sim::sync::Mutex::new(()).is_poisoned());
    /// ```
    pub fn is_poisoned(&self) -> bool {
        crate::context::poisoned(self.addr()).unwrap_or_else(|| self.inner.is_poisoned())
    }

    /// The value, through a unique borrow (no locking needed).
    ///
    /// # Errors
    ///
    /// A [`PoisonError`] holding the reference if a thread panicked while holding the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut m = lockstep_sim::sync::Mutex::new(1);
    /// *m.get_mut().unwrap() = 2;
    /// assert_eq!(*m.lock().unwrap(), 2);
    /// ```
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let modelled = crate::context::poisoned(self.addr());
        match (modelled, self.inner.get_mut()) {
            (Some(true), Ok(v)) => Err(PoisonError::new(v)),
            (Some(_), Err(p)) => Ok(p.into_inner()),
            (_, r) => r,
        }
    }

    /// Clears the poison (as `std::sync::Mutex::clear_poison`).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = lockstep_sim::sync::Mutex::new(());
    /// m.clear_poison();
    /// assert!(!m.is_poisoned());
    /// ```
    pub fn clear_poison(&self) {
        crate::context::set_poisoned(self.addr(), false);
        self.inner.clear_poison();
    }

    /// The data, locked without a step (the simulator's own bookkeeping between executions,
    /// when no simulated thread holds it).
    pub(crate) fn plain(&self) -> std::sync::MutexGuard<'_, T> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: ?Sized> Drop for Mutex<T> {
    fn drop(&mut self) {
        if let Some(e) = rt::current() {
            rt::forget(e, self.addr());
        }
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Reads through the real lock only: a debug print is not a step of the simulation.
        match self.inner.try_lock() {
            Ok(g) => f.debug_struct("Mutex").field("data", &&*g).finish(),
            Err(_) => f.debug_struct("Mutex").field("data", &"<locked>").finish(),
        }
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The locked mutex (for `Condvar`, which unlocks and relocks it).
    pub(crate) fn mutex(&self) -> &'a Mutex<T> {
        self.lock
    }

    /// Takes the std guard out without unlocking the simulator's view (outside a simulation,
    /// where there is none): for std's `Condvar::wait`.
    pub(crate) fn into_std(self) -> (std::sync::MutexGuard<'a, T>, &'static Location<'static>) {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the guard is moved out exactly once.
        let guard = unsafe { ManuallyDrop::take(&mut this.guard) };
        (guard, this.location)
    }

    /// The inverse of [`into_std`](Self::into_std).
    pub(crate) fn from_std(
        lock: &'a Mutex<T>,
        guard: std::sync::MutexGuard<'a, T>,
        location: &'static Location<'static>,
    ) -> Self {
        lock.guard(guard, location)
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: dropped exactly once, here; the field is not used afterwards.
        unsafe { ManuallyDrop::drop(&mut self.guard) };
        if let Some(e) = rt::current() {
            // The real poison is cleared; the execution records its own (module docs).
            self.lock.inner.clear_poison();
            if std::thread::panicking() {
                crate::context::set_poisoned(self.lock.addr(), true);
            }
            rt::mutex_unlock(e, self.lock.addr(), self.location);
        } else if rt::tearing_down() {
            // Unwinding a finished execution's thread poisoned it; that is not the program's.
            self.lock.inner.clear_poison();
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
