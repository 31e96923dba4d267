//! [`Condvar`]: a condition variable used with the core [`Mutex`] (the lecture's Condition).

use core::fmt;
use core::marker::PhantomData;
use core::mem;

use crate::mutex::{Mutex, MutexGuard};
use crate::sync::atomic::{AtomicU32, Ordering::Relaxed};
use crate::wait::{Spin, Wait};

/// A condition variable: threads wait on it, holding a [`Mutex`], until another thread changes
/// the protected state and notifies (the lecture's Condition).
///
/// [`wait`](Self::wait) unlocks the mutex, blocks through `W` until a notification, and locks it
/// again before returning. A notification meant for another waiter may wake it too, so check the
/// condition in a loop, or use
/// [`wait_while`](Self::wait_while), which does (Python's `Condition.wait_for`). No wake-up is
/// lost: a notification that comes after a waiter released the mutex wakes it, because the
/// waiter sleeps only while a notification counter still holds the value it read while holding
/// the mutex. Notifying with nobody waiting costs one atomic load and no wake.
///
/// Use one condvar with one mutex at a time; as with `std`, change the state under the mutex
/// before notifying, or a waiter that is about to sleep can miss the change.
///
/// # Interrupt handlers
///
/// Not for interrupt handlers: a waiter holds the mutex, and a notification must follow a change
/// made under that mutex, which a handler can only `try_lock` (see [`Mutex`](crate::Mutex)). A
/// handler that signals thread mode uses an [`Event`](crate::Event), a
/// [`Semaphore`](crate::Semaphore) or a channel's `try_send` instead.
///
/// # Examples
///
/// ```
/// use lockstep_core::{Condvar, Mutex};
///
/// let queue: Mutex<Vec<u32>> = Mutex::new(Vec::new());
/// let ready: Condvar = Condvar::new();
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         queue.lock().push(42);
///         ready.notify_one();
///     });
///     let mut q = ready.wait_while(queue.lock(), |q| q.is_empty());
///     assert_eq!(q.pop(), Some(42));
/// });
/// ```
pub struct Condvar<W = Spin> {
    /// Counts notifications (wrapping); waiters sleep while it holds the value they read.
    seq: AtomicU32,
    /// Threads between announcing a wait (under the mutex) and returning from `W::wait`.
    waiters: AtomicU32,
    _wait: PhantomData<fn() -> W>,
}

// Memory ordering: every access here is Relaxed, because synchronization is done by unlocking
// and locking the mutex (as in std's futex condvar). A waiter increments `waiters` and reads
// `seq` while holding the mutex; a notifier that changed the state under the same mutex locked
// it after the waiter unlocked it, so its later reads of `waiters` and increment of `seq` are
// ordered after the waiter's by happens-before, and the waiter's `W::wait` sees the new `seq`
// or is woken. A stale, larger `waiters` costs one needless wake.
impl<W: Wait> Condvar<W> {
    /// Creates a condition variable; usable in a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Condvar;
    ///
    /// static CV: Condvar = Condvar::new();
    /// CV.notify_all(); // nobody waits: nothing happens
    /// ```
    #[inline]
    pub const fn new() -> Self {
        Self {
            seq: AtomicU32::new(0),
            waiters: AtomicU32::new(0),
            _wait: PhantomData,
        }
    }

    /// Unlocks the guard's mutex, blocks until notified (or spuriously), and locks it again.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{Condvar, Mutex};
    ///
    /// let done = Mutex::new(false);
    /// let cv: Condvar = Condvar::new();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| {
    ///         *done.lock() = true;
    ///         cv.notify_all();
    ///     });
    ///     let mut g = done.lock();
    ///     while !*g {
    ///         g = cv.wait(g);
    ///     }
    /// });
    /// ```
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T, W>) -> MutexGuard<'a, T, W> {
        self.wait_inner(guard, None).0
    }

    /// Like [`wait`](Self::wait), giving up after `timeout`.
    ///
    /// Returns the relocked guard and `true` if woken, `false` if the timeout passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{Condvar, Mutex, Spin};
    ///
    /// let m: Mutex<u8, Spin> = Mutex::new(0);
    /// let cv: Condvar<Spin> = Condvar::new();
    /// let (g, woken) = cv.wait_timeout(m.lock(), 5); // nobody notifies
    /// assert!(!woken);
    /// assert_eq!(*g, 0);
    /// ```
    pub fn wait_timeout<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T, W>,
        timeout: W::Timeout,
    ) -> (MutexGuard<'a, T, W>, bool) {
        self.wait_inner(guard, Some(&mut W::deadline(timeout)))
    }

    /// Waits while `condition` holds, re-checking it under the mutex after every wake-up
    /// (Python's `Condition.wait_for(predicate)`, with the predicate negated).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{Condvar, Mutex};
    ///
    /// let items = Mutex::new(0u32);
    /// let cv: Condvar = Condvar::new();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| {
    ///         for _ in 0..3 {
    ///             *items.lock() += 1;
    ///             cv.notify_one();
    ///         }
    ///     });
    ///     let g = cv.wait_while(items.lock(), |n| *n < 3);
    ///     assert_eq!(*g, 3);
    /// });
    /// ```
    pub fn wait_while<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T, W>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T, W> {
        while condition(&mut *guard) {
            guard = self.wait(guard);
        }
        guard
    }

    /// Waits while `condition` holds, for at most `timeout` in all.
    ///
    /// Returns the guard and `true` if the condition became false, `false` if the timeout passed
    /// while it still held.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::{Condvar, Mutex, Spin};
    ///
    /// let m: Mutex<u8, Spin> = Mutex::new(0);
    /// let cv: Condvar<Spin> = Condvar::new();
    /// let (_g, ok) = cv.wait_timeout_while(m.lock(), 5, |n| *n == 0);
    /// assert!(!ok);
    /// ```
    pub fn wait_timeout_while<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T, W>,
        timeout: W::Timeout,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> (MutexGuard<'a, T, W>, bool) {
        let mut deadline = W::deadline(timeout);
        while condition(&mut *guard) {
            let (g, woken) = self.wait_inner(guard, Some(&mut deadline));
            guard = g;
            if !woken {
                let done = !condition(&mut *guard);
                return (guard, done);
            }
        }
        (guard, true)
    }

    /// Wakes one waiting thread, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Condvar;
    ///
    /// let cv: Condvar = Condvar::new();
    /// cv.notify_one(); // no waiter: a no-op
    /// ```
    #[inline]
    pub fn notify_one(&self) {
        // Relaxed: see the impl note; the mutex orders this after the waiter's announcement.
        if self.waiters.load(Relaxed) > 0 {
            self.seq.fetch_add(1, Relaxed);
            W::wake_one(&self.seq);
        }
    }

    /// Wakes every waiting thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::Condvar;
    ///
    /// let cv: Condvar = Condvar::new();
    /// cv.notify_all(); // no waiter: a no-op
    /// ```
    #[inline]
    pub fn notify_all(&self) {
        // Relaxed: as in `notify_one`.
        if self.waiters.load(Relaxed) > 0 {
            self.seq.fetch_add(1, Relaxed);
            W::wake_all(&self.seq);
        }
    }

    fn wait_inner<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T, W>,
        deadline: Option<&mut W::Deadline>,
    ) -> (MutexGuard<'a, T, W>, bool) {
        let mutex: &'a Mutex<T, W> = guard.mutex();
        // Relaxed: both happen under the mutex, which orders them (see the impl note).
        self.waiters.fetch_add(1, Relaxed);
        let seq = self.seq.load(Relaxed);
        // The guard's drop would unlock; do it by hand so the lock is released exactly once.
        mem::forget(guard);
        // SAFETY: the guard we consumed proves this context holds the lock.
        unsafe { mutex.raw().unlock() };
        // A return of `W::wait` without a notification (a spurious one, or `Spin` handing back
        // control after a backoff round) is absorbed here, so the result is meaningful.
        let mut deadline = deadline;
        let woken = loop {
            if !W::wait(&self.seq, seq, deadline.as_deref_mut()) {
                break false;
            }
            // Relaxed: only compares the counter; the mutex orders the data (impl note).
            if self.seq.load(Relaxed) != seq {
                break true;
            }
        };
        // Relaxed: only a count; see the impl note.
        self.waiters.fetch_sub(1, Relaxed);
        mutex.raw().lock();
        (MutexGuard::from_locked(mutex), woken)
    }
}

impl<W: Wait> Default for Condvar<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W> fmt::Debug for Condvar<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}
