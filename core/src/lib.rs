//! # lockstep-core
//!
//! Synchronization primitives and fixed-capacity message queues for `#![no_std]`, without `alloc`,
//! built on atomics and one futex-shaped blocking seam, [`Wait`].
//!
//! Every primitive is generic over how it blocks: [`Spin`] here (bounded backoff, then a relax
//! strategy), an OS futex in `lockstep-hosted`, or the deterministic simulator of `lockstep-sim`
//! with the cargo feature `sim`, which then checks this very code.
//!
//! ```
//! use lockstep_core::{Mutex, Spin};
//!
//! static COUNT: Mutex<u64, Spin> = Mutex::new(0);
//! *COUNT.lock() += 100;
//! *COUNT.lock() -= 100;
//! assert_eq!(*COUNT.lock(), 0);
//! ```
#![no_std]
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]

#[cfg(test)]
extern crate std;

pub mod sync;
mod wait;

mod mutex;
mod semaphore;

pub use mutex::{Mutex, MutexGuard, SpinLock};
pub use semaphore::{NoPermit, OverRelease, Semaphore, SemaphorePermit};
pub use wait::{Loop, RelaxStrategy, Spin, Wait};

pub mod channel;
mod queue;

pub use channel::{
    Queue, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
