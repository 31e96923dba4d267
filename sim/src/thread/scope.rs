//! Scoped threads: [`scope`], with `std::thread::scope`'s signature.

use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, Location, catch_unwind, resume_unwind};
use std::sync::{Arc, Mutex};

use super::{JoinHandle, Thread, spawn_named};
use crate::rt;

type Shared<T> = Arc<Mutex<Option<T>>>;

/// Locks a std mutex of this module, ignoring poison (the data are plain slots).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A scope to spawn threads that may borrow from outside it (see [`scope`]).
pub struct Scope<'scope, 'env: 'scope> {
    /// The threads spawned in the scope and not yet joined.
    pending: Mutex<Vec<Shared<JoinHandle<()>>>>,
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

impl std::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("pending", &lock(&self.pending).len())
            .finish()
    }
}

/// A handle to join a scoped thread.
pub struct ScopedJoinHandle<'scope, T> {
    handle: Shared<JoinHandle<()>>,
    result: Shared<std::thread::Result<T>>,
    thread: Thread,
    scope: PhantomData<&'scope ()>,
}

impl<T> std::fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopedJoinHandle")
            .field("thread", &self.thread)
            .finish_non_exhaustive()
    }
}

/// Creates a scope for spawning threads that borrow local data; every thread spawned in it is
/// joined before `scope` returns (`std::thread::scope`).
///
/// Inside a check the threads are simulated ones. A limitation there: when an execution fails,
/// its threads are unwound one by one with the simulation off; a scoped thread's destructors may
/// then run after the data it borrowed is gone, so destructors in scoped threads should not
/// touch borrowed data.
///
/// # Panics
///
/// If `f` panics (after joining every thread), or if a thread spawned in the scope panicked
/// and was not joined (outside a simulation; inside one, a panic fails the execution).
///
/// # Examples
///
/// ```
/// use lockstep_sim::sync::atomic::{AtomicU32, Ordering::Relaxed};
/// use lockstep_sim::{Config, check, thread};
///
/// check(Config::dfs(None), || {
///     let hits = AtomicU32::new(0);
///     thread::scope(|s| {
///         s.spawn(|| hits.fetch_add(1, Relaxed));
///         s.spawn(|| hits.fetch_add(1, Relaxed));
///     });
///     assert_eq!(hits.load(Relaxed), 2);
/// });
/// ```
#[track_caller]
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let scope = Scope {
        pending: Mutex::new(Vec::new()),
        scope: PhantomData,
        env: PhantomData,
    };
    let result = catch_unwind(AssertUnwindSafe(|| f(&scope)));
    if let Err(payload) = result {
        // While a failed execution is torn down its threads cannot run: no joining then.
        if !rt::tearing_down() {
            scope.join_all();
        }
        resume_unwind(payload);
    }
    let panicked = scope.join_all();
    match result {
        Ok(v) if !panicked => v,
        Ok(_) => panic!("a scoped thread panicked"),
        Err(_) => unreachable!("handled above"),
    }
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Joins every thread spawned in the scope (and the threads those spawned); whether one
    /// panicked without being joined by its handle.
    fn join_all(&self) -> bool {
        let mut panicked = false;
        loop {
            let batch = std::mem::take(&mut *lock(&self.pending));
            if batch.is_empty() {
                return panicked;
            }
            for h in batch {
                let taken = lock(&h).take();
                if let Some(h) = taken {
                    panicked |= h.join().is_err();
                }
            }
        }
    }

    /// Spawns a thread in the scope; it may borrow anything that outlives the scope.
    ///
    /// # Examples
    ///
    /// ```
    /// let v = vec![1, 2, 3];
    /// let sum = lockstep_sim::thread::scope(|s| s.spawn(|| v.iter().sum::<i32>()).join().unwrap());
    /// assert_eq!(sum, 6);
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        match self.spawn_named(f, None, Location::caller()) {
            Ok(h) => h,
            Err(e) => panic!("failed to spawn thread: {e}"),
        }
    }

    pub(super) fn spawn_named<F, T>(
        &'scope self,
        f: F,
        name: Option<String>,
        location: &'static Location<'static>,
    ) -> std::io::Result<ScopedJoinHandle<'scope, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let result: Shared<std::thread::Result<T>> = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&result);
        let body: Box<dyn FnOnce() + Send + 'scope> = Box::new(move || {
            // Inside a simulation a panic must reach the runtime (it fails the execution);
            // outside, it is kept for `join` as std does.
            let r = if rt::in_simulation() {
                Ok(f())
            } else {
                catch_unwind(AssertUnwindSafe(f))
            };
            *lock(&slot) = Some(r);
        });
        // SAFETY: `scope` joins every thread spawned here before it returns (also when its
        // closure panics), so the closure never outlives 'scope; the lifetime is erased only
        // to pass it through `spawn`, which needs 'static.
        let body: Box<dyn FnOnce() + Send + 'static> = unsafe {
            std::mem::transmute::<Box<dyn FnOnce() + Send + 'scope>, Box<dyn FnOnce() + Send>>(body)
        };
        let handle = spawn_named(body, name, location)?;
        let thread = handle.thread().clone();
        let handle = Arc::new(Mutex::new(Some(handle)));
        lock(&self.pending).push(Arc::clone(&handle));
        Ok(ScopedJoinHandle {
            handle,
            result,
            thread,
            scope: PhantomData,
        })
    }
}

impl<T> ScopedJoinHandle<'_, T> {
    /// Waits for the thread and returns its result.
    ///
    /// # Errors
    ///
    /// The thread's panic payload, if it panicked (outside a simulation).
    #[track_caller]
    pub fn join(self) -> std::thread::Result<T> {
        let taken = lock(&self.handle).take();
        if let Some(h) = taken {
            h.join()?;
        }
        lock(&self.result).take().unwrap_or_else(|| {
            Err(Box::new("the thread did not finish") as Box<dyn std::any::Any + Send>)
        })
    }

    /// The thread's handle.
    pub fn thread(&self) -> &Thread {
        &self.thread
    }

    /// Whether the thread has finished.
    pub fn is_finished(&self) -> bool {
        lock(&self.result).is_some()
    }
}
