//! Simulated threads: [`spawn`], [`JoinHandle::join`] and [`yield_now`], with `std::thread`'s
//! shape.
//!
//! Inside a running check a spawned thread is a coroutine that the scheduler runs one step at a
//! time; outside a check these are `std::thread`'s functions, so code written against them also
//! runs for real.

use std::panic::Location;
use std::sync::{Arc, Mutex};

use crate::rt;

enum Inner<T> {
    Sim {
        id: usize,
        result: Arc<Mutex<Option<T>>>,
    },
    Std(std::thread::JoinHandle<T>),
}

/// An owned permission to join a thread (wait for it to finish and take its result).
///
/// Dropping it detaches the thread; inside a simulation the execution still runs it to the end.
///
/// # Examples
///
/// ```
/// let h = lockstep_sim::thread::spawn(|| 6 * 7);
/// assert_eq!(h.join().unwrap(), 42);
/// ```
pub struct JoinHandle<T>(Inner<T>);

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Inner::Sim { id, .. } => f.debug_struct("JoinHandle").field("thread", id).finish(),
            Inner::Std(h) => f.debug_tuple("JoinHandle").field(h).finish(),
        }
    }
}

/// Spawns a thread running `f` and returns a handle to join it.
///
/// Inside a running check this is one scheduling step and the new thread is a simulated one;
/// outside it is `std::thread::spawn`.
///
/// # Examples
///
/// ```
/// use lockstep_sim::{Config, check, thread};
///
/// check(Config::random(7, 10), || {
///     let h = thread::spawn(|| 1);
///     assert_eq!(h.join().unwrap(), 1);
/// });
/// ```
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match rt::current() {
        None => JoinHandle(Inner::Std(std::thread::spawn(f))),
        Some(e) => {
            let result = Arc::new(Mutex::new(None));
            let slot = Arc::clone(&result);
            let body = Box::new(move || {
                let v = f();
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(v);
            });
            let id = rt::spawn(e, body, Location::caller());
            JoinHandle(Inner::Sim { id, result })
        }
    }
}

impl<T> JoinHandle<T> {
    /// Waits for the thread to finish and returns its result.
    ///
    /// Inside a simulation a panicking thread ends the whole execution as a failure, so this
    /// returns `Ok` there; outside it is `std::thread::JoinHandle::join`.
    ///
    /// # Errors
    ///
    /// The thread's panic payload, if it panicked (outside a simulation).
    ///
    /// # Examples
    ///
    /// ```
    /// let h = lockstep_sim::thread::spawn(|| "done");
    /// assert_eq!(h.join().unwrap(), "done");
    /// ```
    #[track_caller]
    pub fn join(self) -> std::thread::Result<T> {
        match self.0 {
            Inner::Std(h) => h.join(),
            Inner::Sim { id, result } => {
                if let Some(e) = rt::current() {
                    rt::join(e, id, Location::caller());
                }
                let v = result.lock().unwrap_or_else(|p| p.into_inner()).take();
                v.ok_or_else(|| {
                    Box::new("the thread did not finish") as Box<dyn std::any::Any + Send>
                })
            }
        }
    }

    /// The simulated thread's number (0 is the checked closure), or `None` for a real thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = lockstep_sim::thread::spawn(|| ());
    /// assert_eq!(h.id(), None); // outside a check: a real thread
    /// h.join().unwrap();
    /// ```
    pub fn id(&self) -> Option<usize> {
        match &self.0 {
            Inner::Sim { id, .. } => Some(*id),
            Inner::Std(_) => None,
        }
    }
}

/// Yields: inside a simulation the thread is not scheduled again until another thread writes a
/// shared value (as [`spin_loop`](crate::sync::hint::spin_loop)); outside it is
/// `std::thread::yield_now`.
///
/// # Examples
///
/// ```
/// lockstep_sim::thread::yield_now();
/// ```
#[track_caller]
pub fn yield_now() {
    match rt::current() {
        None => std::thread::yield_now(),
        Some(e) => rt::spin(e, Location::caller()),
    }
}
