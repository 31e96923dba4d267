//! What `lockstep-core` imports under its feature `sim`: atomics, the spin hint and cells with
//! the same API as the plain ones, plus futex-shaped blocking for a `Wait` implementation; and
//! a modelled [`Mutex`] for programs under test that need a lock, not a lock algorithm.
//!
//! Inside a running check every operation is a scheduling point (or, for cells, a checked
//! access); outside one these behave exactly like `core`'s types, after one thread-local read.

pub mod atomic;
pub mod cell;
pub mod futex;
pub mod hint;
pub mod mutex;

pub use mutex::{Mutex, MutexGuard};
