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
//! join, futex-shaped waits, spin hints, and the std mirror below, under the memory model of
//! [`Config::memory_model`]. The program's own instrumented atomics in `static`s start every
//! execution with the values they held when the check began, and get those back when it ends (on
//! Linux), and so do the std mirror's `Once`, `OnceLock` and `LazyLock` in statics (each
//! execution initializes them anew); the state of another static lockstep type lives on, as in a
//! process. What is not: `std`'s own atomics, locks and reference counts (they
//! run, but are not scheduling points), I/O, and real time (time is the simulated clock of
//! [`time::now`]).
//!
//! # Memory models
//!
//! [`MemoryModel::SequentiallyConsistent`] (the default) runs every operation at once, in one
//! order: the interleavings are the only nondeterminism. [`MemoryModel::X86Tso`] gives each
//! thread a store buffer. [`MemoryModel::Rc11`] is the model Rust's atomics actually have (C++20's,
//! formalized as RC11 by Lahav, Vafeiadis, Kang, Hur and Dreyer, PLDI 2017): a load may read any
//! store that coherence and happens-before allow, not only the newest. It finds what the orderings
//! of a program allow and sequential consistency hides (message passing with Relaxed, IRIW,
//! 2+2W, Peterson's lock with Release/Acquire), without false alarms on SeqCst. With
//! [`Config::dfs(None)`](Config::dfs) every RC11-consistent execution is explored exactly once
//! (the counts of GenMC's litmus tests, all 126 of `tests/litmus.rs`); random and PCT sample what
//! each load reads. A failure's table says which store a stale load read and which newer stores
//! it did not see, and its schedule string (`rc11:...`) replays it.
//!
//! ```
//! use std::sync::Arc;
//! use lockstep_sim::{Config, MemoryModel, thread, try_check};
//! use lockstep_sim::sync::atomic::{AtomicBool, AtomicU32, Ordering::*};
//!
//! let message_passing = |store, load| move || {
//!     let m = Arc::new((AtomicU32::new(0), AtomicBool::new(false)));
//!     let w = Arc::clone(&m);
//!     let h = thread::spawn(move || {
//!         w.0.store(42, Relaxed);
//!         w.1.store(true, store);
//!     });
//!     if m.1.load(load) {
//!         assert_eq!(m.0.load(Relaxed), 42);
//!     }
//!     h.join().unwrap();
//! };
//! let rc11 = || Config::dfs(None).memory_model(MemoryModel::Rc11);
//! assert!(try_check(rc11(), message_passing(Relaxed, Relaxed)).is_err());
//! assert!(try_check(rc11(), message_passing(Release, Acquire)).is_ok());
//! // Sequential consistency hides the bug.
//! assert!(try_check(Config::dfs(None), message_passing(Relaxed, Relaxed)).is_ok());
//! ```
//!
//! Under RC11 a spin-loop hint (or `yield_now`) after loads that did not end the loop, and a
//! modelled `Mutex` found held, block the thread for the rest of that execution: the search
//! explores the execution where those loads read what lets the thread go on instead (as GenMC
//! does with spin loops and locks), and counts the blocked ones apart ([`Stats::blocked`]).
//! Sampling (random, PCT) instead waits for a held `Mutex`'s unlock, and a lock that reads an
//! older value tries again, so a sampled lock-based program runs its executions to the end. A
//! futex wait or wake is a SeqCst read-modify-write of its word that leaves it unchanged. Not
//! modelled under RC11 yet: explored timeouts ([`Config::explore_timeouts`]), and
//! `compare_exchange_weak` failing spuriously.
//!
//! # Checking your own code
//!
//! Programs written against `std`'s names check by swapping the imports: [`sync`] has `Arc`,
//! [`Mutex`](sync::Mutex), [`RwLock`](sync::RwLock), [`Condvar`](sync::Condvar),
//! [`Barrier`](sync::Barrier), [`Once`](sync::Once), [`OnceLock`](sync::OnceLock),
//! [`LazyLock`](sync::LazyLock), [`mpsc`](sync::mpsc) and [`atomic`](sync::atomic); [`thread`]
//! has `spawn`, `scope`, `Builder`, `current`, `park`/`unpark`, `sleep`, `yield_now` and
//! [`thread_local!`]; [`future`] runs async tasks as simulated threads (`block_on`, `spawn`,
//! `yield_now`), with wakers whose `wake` is a step. Outside a check each behaves as std's, so
//! the same code runs for real. Only these are scheduling points: `std::sync::atomic` and
//! `std::thread::spawn` inside a check are not explored (a simulated thread spinning on a std
//! atomic hangs the check). A `#[cfg(test)]` import swap reaches the crate's own unit tests only,
//! not its integration tests (`tests/` builds the library without `cfg(test)`); the facade's
//! `lockstep::sync::atomic`, `lockstep::hint` and `lockstep::thread` switch on its feature `sim`
//! instead, which a dev-dependency turns on for every test build.
//!
//! ```
//! use lockstep_sim::sync::{Arc, Condvar, Mutex, mpsc};
//! use lockstep_sim::{Config, check, thread};
//!
//! check(Config::dfs(None), || {
//!     let (tx, rx) = mpsc::channel();
//!     let state = Arc::new((Mutex::new(0), Condvar::new()));
//!     let s = Arc::clone(&state);
//!     let h = thread::spawn(move || {
//!         *s.0.lock().unwrap() += 1;
//!         s.1.notify_one();
//!         tx.send("done").unwrap();
//!     });
//!     let g = state.1.wait_while(state.0.lock().unwrap(), |n| *n == 0).unwrap();
//!     assert_eq!(*g, 1);
//!     drop(g);
//!     assert_eq!(rx.recv(), Ok("done"));
//!     h.join().unwrap();
//! });
//! ```
//!
//! Applications on lockstep's own types enable the facade's feature `sim` in their
//! `[dev-dependencies]` (`lockstep = { version = "0.1", features = ["sim"] }`): inside a check
//! every hosted blocking operation then blocks through this simulator, and timeouts run on the
//! simulated clock. A failure prints the schedule string; `LOCKSTEP_REPLAY=<schedule> cargo test
//! <test>` replays it in every [`check`] of the run. The README's "Checking your own code" walks
//! through a first check, reading a failure and what is and is not modelled.
//!
//! The simulator runs the checked code thousands of times: optimize it in test builds too, or an
//! exhaustive search runs several times slower (the code under test stays a debug build):
//!
//! ```toml
//! [profile.dev.package.lockstep-sim]
//! opt-level = 3
//! [profile.dev.package.corosensei]
//! opt-level = 3
//! ```

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

pub use check::{Config, MemoryModel, ProgressFn, Stats, Strategy, check, try_check};
pub use explain::{Explanation, Failure, FailureKind, RaceAccess};
pub use rt::in_simulation;
pub use rt::trace::{Caller, Event, Op, Trace};
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
