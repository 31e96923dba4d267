//! # lockstep-core
//!
//! Synchronization primitives and fixed-capacity message queues for `#![no_std]`, without `alloc`,
//! built on atomics and one futex-shaped blocking seam, [`Wait`].
//!
//! Every primitive is generic over how it blocks: [`Spin`] here (bounded backoff, then a relax
//! strategy), an OS futex in `lockstep-hosted`, or the deterministic simulator of `lockstep-sim`
//! with the cargo feature `sim`, which then checks this very code.
//!
//! | lecture name     | type                                   |
//! |------------------|----------------------------------------|
//! | Lock             | [`Mutex`] (raw: [`SpinLock`])          |
//! | Semaphore        | [`Semaphore::new`]                     |
//! | BoundedSemaphore | [`Semaphore::bounded`]                 |
//! | Condition        | [`Condvar`]                            |
//! | Event            | [`Event`]                              |
//!
//! ```
//! use lockstep_core::{Mutex, Spin};
//!
//! static COUNT: Mutex<u64, Spin> = Mutex::new(0);
//! *COUNT.lock() += 100;
//! *COUNT.lock() -= 100;
//! assert_eq!(*COUNT.lock(), 0);
//! ```
//!
//! Cargo features, each additive: `lock_api` and `embassy` (raw-mutex interop for [`SpinLock`]),
//! `critical-section` (`CriticalSectionMutex`), `async` (`channel::AsyncQueue` and
//! `channel::AsyncSpsc`, with `send().await` and `recv().await`), `sim` (the simulator's atomics).
#![no_std]
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]

#[cfg(test)]
extern crate std;

pub mod sync;
mod wait;

mod condvar;
mod event;
mod mutex;
mod semaphore;
#[cfg(feature = "sim")]
mod sim_wait;

#[cfg(feature = "critical-section")]
#[path = "interop/critical_section.rs"]
mod critical_section_mutex;
#[cfg(feature = "embassy")]
#[path = "interop/embassy.rs"]
mod embassy_interop;
#[cfg(feature = "lock_api")]
#[path = "interop/lock_api.rs"]
mod lock_api_interop;

pub use condvar::Condvar;
#[cfg(feature = "critical-section")]
pub use critical_section_mutex::CriticalSectionMutex;
pub use event::Event;
pub use mutex::{Mutex, MutexGuard, SpinLock};
pub use semaphore::{NoPermit, OverRelease, Semaphore, SemaphorePermit};
#[cfg(feature = "sim")]
pub use sim_wait::SimWait;
pub use wait::{Loop, RelaxStrategy, Spin, Wait};

pub mod channel;
mod queue;

pub use channel::{
    Queue, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
