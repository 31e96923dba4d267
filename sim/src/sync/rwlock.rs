//! [`RwLock`]: `std::sync::RwLock`'s API on the modelled [`Mutex`] and [`Condvar`].

use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};

use super::poison::Flag;
use super::{Condvar, Mutex};

#[derive(Debug, Default)]
struct State {
    readers: usize,
    writer: bool,
}

/// A readers-writer lock with `std::sync::RwLock`'s API.
///
/// Inside a check it is a modelled [`Mutex`] over the count of readers and the writer flag, and
/// a [`Condvar`] to wait on, so every acquisition and release is a few steps and a thread that
/// cannot get the lock waits (a cycle of waits is reported as a deadlock). Readers are admitted
/// while no writer holds the lock (a waiting writer does not hold back new readers). Poisoning
/// is std's (a writer panicking poisons it); inside a check it lasts for the execution.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use lockstep_sim::sync::RwLock;
/// use lockstep_sim::{Config, check, thread};
///
/// check(Config::dfs(None), || {
///     let lock = Arc::new(RwLock::new(1));
///     let l = Arc::clone(&lock);
///     let h = thread::spawn(move || *l.write().unwrap() += 1);
///     let seen = *lock.read().unwrap();
///     assert!(seen == 1 || seen == 2);
///     h.join().unwrap();
///     assert_eq!(*lock.read().unwrap(), 2);
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    state: Mutex<State>,
    changed: Condvar,
    poison: Flag,
    data: UnsafeCell<T>,
}

// Implementation notes: when a failed or abandoned execution is torn down its threads are
// unwound one by one with the simulation off; a guard dropped then must not lock `state`, which
// a thread not yet unwound may hold. The execution is discarded: its bookkeeping does not matter.

// SAFETY: as std's RwLock: the lock hands out `&T` to several threads at once (needs `Sync`)
// and `&mut T` to one (needs `Send`).
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

/// Shared access to the data of a [`RwLock`]; releases it when dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

/// Exclusive access to the data of a [`RwLock`]; releases it when dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T> RwLock<T> {
    /// An unlocked lock holding `value` (usable in a `static`).
    pub const fn new(value: T) -> Self {
        Self {
            state: Mutex::new(State {
                readers: 0,
                writer: false,
            }),
            changed: Condvar::new(),
            poison: Flag::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock and returns the data.
    ///
    /// # Errors
    ///
    /// A [`PoisonError`] holding the data if the lock is poisoned.
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.get();
        let v = self.data.into_inner();
        if poisoned {
            Err(PoisonError::new(v))
        } else {
            Ok(v)
        }
    }
}

impl<T: ?Sized> RwLock<T> {
    fn state(&self) -> super::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn result<G>(&self, guard: G) -> LockResult<G> {
        if self.poison.get() {
            Err(PoisonError::new(guard))
        } else {
            Ok(guard)
        }
    }

    /// Locks for reading, waiting while a writer holds the lock.
    ///
    /// # Errors
    ///
    /// A [`PoisonError`] holding the guard if the lock is poisoned.
    #[track_caller]
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        let mut s = self.state();
        while s.writer {
            s = self.changed.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        s.readers += 1;
        drop(s);
        self.result(RwLockReadGuard { lock: self })
    }

    /// Locks for writing, waiting while anyone holds the lock.
    ///
    /// # Errors
    ///
    /// A [`PoisonError`] holding the guard if the lock is poisoned.
    #[track_caller]
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        let mut s = self.state();
        while s.writer || s.readers > 0 {
            s = self.changed.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        s.writer = true;
        drop(s);
        self.result(RwLockWriteGuard { lock: self })
    }

    /// Locks for reading if no writer holds the lock.
    ///
    /// # Errors
    ///
    /// [`TryLockError::WouldBlock`] if a writer holds it, [`TryLockError::Poisoned`] if it is
    /// poisoned.
    #[track_caller]
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        let mut s = self.state();
        if s.writer {
            return Err(TryLockError::WouldBlock);
        }
        s.readers += 1;
        drop(s);
        Ok(self.result(RwLockReadGuard { lock: self })?)
    }

    /// Locks for writing if nobody holds the lock.
    ///
    /// # Errors
    ///
    /// [`TryLockError::WouldBlock`] if it is held, [`TryLockError::Poisoned`] if poisoned.
    #[track_caller]
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        let mut s = self.state();
        if s.writer || s.readers > 0 {
            return Err(TryLockError::WouldBlock);
        }
        s.writer = true;
        drop(s);
        Ok(self.result(RwLockWriteGuard { lock: self })?)
    }

    /// Whether a writer panicked while holding the lock.
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Clears the poison.
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// The data, through a unique borrow.
    ///
    /// # Errors
    ///
    /// A [`PoisonError`] holding the reference if the lock is poisoned.
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = self.poison.get();
        let v = self.data.get_mut();
        if poisoned {
            Err(PoisonError::new(v))
        } else {
            Ok(v)
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLock").finish_non_exhaustive()
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read guard exists only while `readers > 0` and no writer holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    #[track_caller]
    fn drop(&mut self) {
        if crate::rt::tearing_down() {
            return; // see `RwLock`'s implementation notes
        }
        let mut s = self.lock.state();
        s.readers -= 1;
        let last = s.readers == 0;
        drop(s);
        if last {
            self.lock.changed.notify_all();
        }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a write guard exists only while `writer` is set: nobody else has access.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    #[track_caller]
    fn drop(&mut self) {
        if crate::rt::tearing_down() {
            return; // see `RwLock`'s implementation notes
        }
        self.lock.poison.done();
        self.lock.state().writer = false;
        self.lock.changed.notify_all();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
