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
//! ## Interrupt handlers
//!
//! On a single core an interrupt handler runs to completion before the code it preempted can
//! continue, so a handler must never wait for something only that code can do: it would spin for
//! ever. Methods that never wait may be called from a handler; each type's docs say which, and
//! a firmware test under QEMU (`embedded/`, Cortex-M3 and Cortex-M0) runs each pattern:
//!
//! | type | from an interrupt handler | never from a handler (if preempted code is the other side) |
//! |---|---|---|
//! | [`Mutex`], [`SpinLock`] | `try_lock` | `lock`, `try_lock_for` |
//! | `CriticalSectionMutex` | `lock`, `try_lock` (interrupts are masked inside) | |
//! | [`Semaphore`] | `release`, `try_acquire`, `try_acquire_permit`, `available` | `acquire`, `acquire_permit`, `acquire_timeout` |
//! | [`Event`] | `set`, `clear`, `is_set` | `wait`, `wait_timeout` |
//! | [`Condvar`] | nothing (signal with an `Event`, a `Semaphore` or a channel) | all |
//! | [`Queue`] | `try_send`, `try_recv`, `close`, snapshots | `send`, `recv`, `_timeout` forms |
//! | `channel::Spsc` halves | `try_send`, `try_recv`, `close` | `send`, `recv`, `_timeout` forms |
//! | `channel::Rendezvous` | `try_recv`, `close` | `send`, `recv`, `_timeout` forms |
//! | `channel::Duplex` | `try_recv`, `reply`, `close` (the server side) | `call`, `call_async`, `recv`, tickets |
//! | `channel::Broadcast`, `channel::PubSub` | `send`/`publish`, `close`, if the receivers it can preempt read inside a critical section | `recv`, `recv_timeout` |
//! | `channel::AsyncQueue`, `channel::AsyncSpsc` (feature `async`) | `try_send`, `try_recv`, `close`, dropping a half | the `send`/`recv` futures (tasks only) |
//!
//! Thread mode may block on anything a handler changes. On targets without compare-and-swap
//! (Cortex-M0/M0+, RISC-V without the A extension) the atomics come from `portable-atomic`, whose
//! read-modify-write operations run in a short critical section: see [`sync`].
//!
//! Cargo features, each additive: `lock_api` and `embassy` (raw-mutex interop for [`SpinLock`]),
//! `critical-section` (`CriticalSectionMutex` only, not the atomics' critical sections), `async` (`channel::AsyncQueue` and
//! `channel::AsyncSpsc`, with `send().await` and `recv().await`), `portable-atomic` (the atomics
//! of `portable-atomic` on every target, not only those without compare-and-swap), `sim` (the
//! simulator's atomics), and the default `atomics-critical-section` (how a target without
//! compare-and-swap gets it: see [`sync`]).
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
