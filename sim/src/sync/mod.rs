//! `std::sync`'s names for checked programs, and what `lockstep-core` imports under its feature
//! `sim`.
//!
//! - The std mirror: [`Arc`] (std's own), [`Mutex`], [`RwLock`], [`Condvar`], [`Barrier`],
//!   [`Once`], [`OnceLock`], [`LazyLock`], [`mpsc`] and [`atomic`], with std's signatures. Inside
//!   a running check, taking a lock, waiting and notifying are scheduling steps and blocking is
//!   modelled (a thread that cannot proceed is not scheduled; when none can, the check reports a
//!   deadlock); outside a check they behave as std's.
//! - For a lock *algorithm* under test: instrumented atomics, the spin hint and cells with the
//!   same API as the plain ones, plus futex-shaped blocking for a `Wait` implementation.
//!
//! Inside a running check every operation is a scheduling point (or, for cells, a checked
//! access); outside one these behave exactly like std's, after one thread-local read.

pub mod atomic;
mod barrier;
pub mod cell;
mod condvar;
pub mod futex;
pub mod hint;
pub mod mpsc;
pub mod mutex;
mod once;
mod poison;
mod rwlock;

pub use std::sync::{Arc, LockResult, PoisonError, TryLockError, TryLockResult, Weak};

pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard};
pub use once::{LazyLock, Once, OnceLock, OnceState};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
