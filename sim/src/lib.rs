//! # lockstep-sim
//!
//! A deterministic scheduler that runs threads one step at a time, explores their
//! interleavings, finds races, replays a failing interleaving exactly, shrinks it and explains
//! it step by step.
//!
//! [`check`] runs a closure many times; threads made with [`thread::spawn`] are coroutines on
//! the calling OS thread, and every operation on the instrumented types of [`sync`] is a
//! scheduling point. A scheduler (seeded random, PCT, exhaustive depth-first search with a
//! preemption bound, or a replay) decides which thread takes each step. A failure (a panic, a
//! deadlock, a data race on a cell) comes back as a [`Failure`]: the kind, the [`Schedule`] that
//! replays it, and the trace, printed as a table with one column per thread or drawn as SVG.
//!
//! ```
//! use std::sync::Arc;
//! use lockstep_sim::{Config, FailureKind, thread, try_check};
//! use lockstep_sim::sync::atomic::{AtomicI64, Ordering::Relaxed};
//!
//! // The lecture's race: `count += 100` as a separate load and store in two threads.
//! let racy = || {
//!     let count = Arc::new(AtomicI64::new(0));
//!     let c = Arc::clone(&count);
//!     let h = thread::spawn(move || c.store(c.load(Relaxed) + 100, Relaxed));
//!     count.store(count.load(Relaxed) + 100, Relaxed);
//!     h.join().unwrap();
//!     assert_eq!(count.load(Relaxed), 200);
//! };
//! let failure = try_check(Config::dfs(None), racy).unwrap_err();
//! assert!(matches!(failure.kind, FailureKind::Panic { .. }));
//! println!("{failure}"); // the seed, the schedule string, how to replay it, the table
//! ```
//!
//! What is modelled: interleavings of operations on the instrumented atomics and cells, spawn,
//! join, futex-shaped waits, spin hints and a [`Mutex`](sync::Mutex) (one step per lock); by
//! default every operation is executed sequentially consistently, and with
//! [`Config::weak_memory`] stores go through x86-TSO store buffers. What is not: reorderings
//! weaker than TSO (Arm's), thread-locals (simulated threads share the OS thread's), and real
//! time.

pub mod future;
pub mod sync;
pub mod thread;
pub mod time;

mod check;
mod context;
mod explain;
mod rt;
mod scheduler;

#[cfg(feature = "proptest")]
pub mod proptest;

pub use check::{Config, ProgressFn, Stats, Strategy, check, try_check};
pub use explain::{Failure, FailureKind, RaceAccess};
pub use rt::in_simulation;
pub use rt::trace::{Event, Op, Trace};
pub use scheduler::{ParseScheduleError, Schedule};

/// The multiplier of test sizes (threaded-test iterations, simulator budgets): the environment
/// variable `LOCKSTEP_TEST_SCALE`, 1 when unset or not a positive number. CI runs with 1; raise it
/// to search longer. Every test of the workspace reads the knob through this one function.
///
/// # Examples
///
/// ```
/// assert!(lockstep_sim::test_scale() >= 1);
/// ```
pub fn test_scale() -> usize {
    std::env::var("LOCKSTEP_TEST_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1)
}
