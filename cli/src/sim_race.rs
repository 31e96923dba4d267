//! The lecture's race under the deterministic simulator: `threads` threads each run `iters`
//! rounds of `count += 100; count -= 100`, with no synchronization, a lock, lockstep's futex
//! lock, a bounded semaphore or atomic read-modify-writes, and the main thread asserts
//! `count == 0`.
//!
//! `lockstep sim race`, `cli/examples/sim_race.rs` and the tests run these closures under
//! [`lockstep_sim::check`].

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use lockstep_core::{Mutex, Semaphore, SimWait};
use lockstep_sim::sync::atomic::{AtomicI64, Ordering::Relaxed};
use lockstep_sim::sync::cell::SharedCell;
use lockstep_sim::thread;

/// How the counter is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sync {
    /// Nothing: `count += 100` is a separate load and store (Relaxed atomics), so an update
    /// can be lost.
    None,
    /// A lock held around both updates of a plain shared cell: the simulator's modelled
    /// `lockstep_sim::sync::Mutex`, one step to lock and one to unlock, so the search is about
    /// the program, not the lock (3 threads x 2 rounds: 90 executions, the orders of the six
    /// critical sections).
    Lock,
    /// The same with `lockstep_core::Mutex<(), SimWait>`: every step of lockstep's futex lock
    /// algorithm is explored too (10 executions at 2 x 1, 750 at 2 x 2, 107,624 at 2 x 3, and
    /// more than ten million at 3 x 2).
    FutexLock,
    /// `lockstep_core::Semaphore::<SimWait>::bounded(1)` (the lecture's BoundedSemaphore(1)).
    Semaphore,
    /// `fetch_add` / `fetch_sub`: each update is one atomic step.
    Atomic,
}

impl FromStr for Sync {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Sync::None),
            "lock" => Ok(Sync::Lock),
            "futex-lock" => Ok(Sync::FutexLock),
            "semaphore" => Ok(Sync::Semaphore),
            "atomic" => Ok(Sync::Atomic),
            _ => Err(format!(
                "unknown synchronization `{s}` (expected none, lock, futex-lock, semaphore or atomic)"
            )),
        }
    }
}

impl fmt::Display for Sync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sync::None => "none",
            Sync::Lock => "lock",
            Sync::FutexLock => "futex-lock",
            Sync::Semaphore => "semaphore",
            Sync::Atomic => "atomic",
        })
    }
}

/// The counter program for one simulated execution.
///
/// # Panics
///
/// When run and the final count is not 0 (the lost update): that is the failure the simulator
/// looks for.
///
/// # Examples
///
/// ```
/// use lockstep_cli::sim_race::{Sync, race};
/// use lockstep_sim::{Config, try_check};
///
/// assert!(try_check(Config::dfs(None), race(2, 1, Sync::None)).is_err());
/// assert!(try_check(Config::dfs(None), race(2, 1, Sync::Lock)).unwrap().complete);
/// ```
pub fn race(threads: usize, iters: usize, sync: Sync) -> impl Fn() + Send + 'static {
    move || {
        let count = Arc::new(AtomicI64::new(0));
        let cell = Arc::new(SharedCell::new(0i64));
        let lock = Arc::new(lockstep_sim::sync::Mutex::new(()));
        let futex_lock = Arc::new(Mutex::<(), SimWait>::new(()));
        let sem = Arc::new(Semaphore::<SimWait>::bounded(1));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (count, cell, lock, futex_lock, sem) = (
                    Arc::clone(&count),
                    Arc::clone(&cell),
                    Arc::clone(&lock),
                    Arc::clone(&futex_lock),
                    Arc::clone(&sem),
                );
                thread::spawn(move || {
                    for _ in 0..iters {
                        match sync {
                            Sync::None => {
                                // Relaxed: deliberately unsynchronized; the race is the point.
                                count.store(count.load(Relaxed) + 100, Relaxed);
                                count.store(count.load(Relaxed) - 100, Relaxed);
                            }
                            Sync::Lock => {
                                // Poisoning is not modelled inside a check: the result is Ok.
                                let _g = lock.lock().unwrap_or_else(|p| p.into_inner());
                                cell.set(cell.get() + 100);
                                cell.set(cell.get() - 100);
                            }
                            Sync::FutexLock => {
                                let _g = futex_lock.lock();
                                cell.set(cell.get() + 100);
                                cell.set(cell.get() - 100);
                            }
                            Sync::Semaphore => {
                                let _p = sem.acquire_permit();
                                cell.set(cell.get() + 100);
                                cell.set(cell.get() - 100);
                            }
                            Sync::Atomic => {
                                // Relaxed: each update is one indivisible step; the join
                                // orders them before the final read.
                                count.fetch_add(100, Relaxed);
                                count.fetch_sub(100, Relaxed);
                            }
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            let _ = h.join();
        }
        let result = match sync {
            Sync::None | Sync::Atomic => count.load(Relaxed),
            Sync::Lock | Sync::FutexLock | Sync::Semaphore => cell.get(),
        };
        assert_eq!(result, 0, "lost update: count is {result}, not 0");
    }
}
