//! [`Condvar`]: `std::sync::Condvar` for the modelled [`Mutex`].

use std::fmt;
use std::panic::Location;
use std::sync::{LockResult, PoisonError};
use std::time::Duration;

use super::atomic::{AtomicU32, Ordering::Relaxed};
use super::futex;
use super::mutex::{Mutex, MutexGuard};
use crate::rt;

/// A condition variable with `std::sync::Condvar`'s API, used with the modelled
/// [`Mutex`](super::Mutex).
///
/// Inside a check it is a futex condvar (as std's own on Linux): `wait` reads a sequence word,
/// unlocks, and waits on the word until a notify changes it; `notify_*` increments the word and
/// wakes (each a step), so a notify that comes before the wait starts is not lost, while a
/// notify that nobody is waiting for is (as with any condvar). Timed waits time out on the
/// simulated clock. Outside a check it is `std::sync::Condvar`.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use lockstep_sim::sync::{Condvar, Mutex};
/// use lockstep_sim::{Config, check, thread};
///
/// check(Config::dfs(None), || {
///     let pair = Arc::new((Mutex::new(false), Condvar::new()));
///     let p = Arc::clone(&pair);
///     thread::spawn(move || {
///         *p.0.lock().unwrap() = true;
///         p.1.notify_one();
///     });
///     let mut ready = pair.0.lock().unwrap();
///     while !*ready {
///         ready = pair.1.wait(ready).unwrap();
///     }
/// });
/// ```
pub struct Condvar {
    seq: AtomicU32,
    std: std::sync::Condvar,
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Condvar { .. }")
    }
}

impl Default for Condvar {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a timed wait of a [`Condvar`] timed out (`std::sync::WaitTimeoutResult`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// Whether the wait ended because its timeout passed.
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

/// Rebuilds a guard from std's result, keeping poison.
fn rewrap<'a, T>(
    m: &'a Mutex<T>,
    r: LockResult<std::sync::MutexGuard<'a, T>>,
    location: &'static Location<'static>,
) -> LockResult<MutexGuard<'a, T>> {
    match r {
        Ok(g) => Ok(MutexGuard::from_std(m, g, location)),
        Err(p) => Err(PoisonError::new(MutexGuard::from_std(
            m,
            p.into_inner(),
            location,
        ))),
    }
}

impl Condvar {
    /// A condition variable nobody waits on (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            seq: AtomicU32::new(0),
            std: std::sync::Condvar::new(),
        }
    }

    /// Unlocks `guard`'s mutex, waits for a notify, and locks it again; may wake spuriously.
    ///
    /// # Errors
    ///
    /// A [`PoisonError`] holding the guard if the mutex is poisoned (as std).
    #[track_caller]
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        self.wait_inner(guard, None).0
    }

    /// Waits while `condition` holds (re-checked after every wake-up, under the lock).
    ///
    /// # Errors
    ///
    /// A [`PoisonError`] holding the guard if the mutex is poisoned.
    #[track_caller]
    pub fn wait_while<'a, T, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> LockResult<MutexGuard<'a, T>>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut *guard) {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }

    /// Like [`wait`](Self::wait), giving up after `dur` (simulated time inside a check: a
    /// five-second timeout costs nothing).
    ///
    /// # Errors
    ///
    /// A [`PoisonError`] holding the guard and the result if the mutex is poisoned.
    #[track_caller]
    pub fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        dur: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let deadline = crate::time::now().checked_add(dur);
        let (r, timed_out) = self.wait_inner(guard, Some((dur, deadline)));
        match r {
            Ok(g) => Ok((g, WaitTimeoutResult(timed_out))),
            Err(p) => Err(PoisonError::new((
                p.into_inner(),
                WaitTimeoutResult(timed_out),
            ))),
        }
    }

    /// Waits while `condition` holds, for at most `dur` in all.
    ///
    /// # Errors
    ///
    /// A [`PoisonError`] holding the guard and the result if the mutex is poisoned.
    #[track_caller]
    pub fn wait_timeout_while<'a, T, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        dur: Duration,
        mut condition: F,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)>
    where
        F: FnMut(&mut T) -> bool,
    {
        let start = crate::time::now();
        loop {
            if !condition(&mut *guard) {
                return Ok((guard, WaitTimeoutResult(false)));
            }
            let Some(left) = dur.checked_sub(crate::time::now() - start) else {
                return Ok((guard, WaitTimeoutResult(true)));
            };
            let (g, r) = self.wait_timeout(guard, left)?;
            guard = g;
            if r.timed_out() {
                let timed_out = condition(&mut *guard);
                return Ok((guard, WaitTimeoutResult(timed_out)));
            }
        }
    }

    /// One wait: untimed, or timed with (`dur`, the deadline on the simulated clock).
    #[track_caller]
    fn wait_inner<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Option<(Duration, Option<std::time::Instant>)>,
    ) -> (LockResult<MutexGuard<'a, T>>, bool) {
        let m = guard.mutex();
        if rt::in_simulation() {
            // Relaxed: the mutex orders everything; the futex compares the word atomically
            // with going to sleep, so a notify after this load is not missed.
            let seq = self.seq.load(Relaxed);
            drop(guard);
            let woken = match timeout {
                None => futex::wait(&self.seq, seq, false),
                Some((_, Some(deadline))) => futex::wait_until(&self.seq, seq, deadline),
                // A timeout beyond the clock's range: an untimed wait.
                Some((_, None)) => futex::wait(&self.seq, seq, false),
            };
            return (m.lock(), !woken);
        }
        let (g, location) = guard.into_std();
        match timeout {
            None => (rewrap(m, self.std.wait(g), location), false),
            Some((dur, _)) => match self.std.wait_timeout(g, dur) {
                Ok((g, r)) => (Ok(MutexGuard::from_std(m, g, location)), r.timed_out()),
                Err(p) => {
                    let (g, r) = p.into_inner();
                    let g = MutexGuard::from_std(m, g, location);
                    (Err(PoisonError::new(g)), r.timed_out())
                }
            },
        }
    }

    /// Wakes one waiting thread.
    #[track_caller]
    pub fn notify_one(&self) {
        if rt::in_simulation() {
            // Relaxed: see `wait_inner`.
            self.seq.fetch_add(1, Relaxed);
            futex::wake_one(&self.seq);
        } else {
            self.std.notify_one();
        }
    }

    /// Wakes every waiting thread.
    #[track_caller]
    pub fn notify_all(&self) {
        if rt::in_simulation() {
            // Relaxed: see `wait_inner`.
            self.seq.fetch_add(1, Relaxed);
            futex::wake_all(&self.seq);
        } else {
            self.std.notify_all();
        }
    }
}
