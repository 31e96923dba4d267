//! # lockstep-hosted
//!
//! The std adapter of lockstep: the core's primitives with real OS blocking ([`Futex`]) and
//! timeouts from `std::time`, thread-aware pieces such as the reentrant lock, and OS sockets
//! carrying the four elementary communication types.
//!
//! The aliases below are what a std program uses: a blocked thread sleeps in the kernel and
//! every blocking call has a timed form taking a [`Duration`](std::time::Duration).
//!
//! With the cargo feature `sim` (meant for `[dev-dependencies]`, usually through the `lockstep`
//! facade's own `sim`), the same types can be checked by `lockstep_sim::check`: inside a running
//! check [`Futex`] blocks the simulated thread through the simulator, deadlines are on the
//! simulated clock (`lockstep_sim::time::now`) and a [`ReentrantMutex`] is owned by the simulated
//! thread; outside a check nothing changes. Sockets and OS I/O are not simulated.
//!
//! | lecture (Python `threading`) | lockstep                               |
//! |------------------------------|----------------------------------------|
//! | `Lock`                       | [`Mutex<T>`]                           |
//! | `RLock`                      | [`ReentrantMutex<T>`]                  |
//! | `Semaphore(n)`               | [`Semaphore::new(n)`](Semaphore)       |
//! | `BoundedSemaphore(n)`        | [`Semaphore::bounded(n)`](Semaphore)   |
//! | `Condition`                  | [`Condvar`] with a [`Mutex`]           |
//! | `Event`                      | [`Event`]                              |
//!
//! ```
//! use std::time::Duration;
//!
//! use lockstep_hosted::{Mutex, Semaphore};
//!
//! let count = Mutex::new(0i64);
//! let sem = Semaphore::bounded(1);
//! std::thread::scope(|s| {
//!     for _ in 0..4 {
//!         s.spawn(|| {
//!             for _ in 0..1000 {
//!                 let _p = sem.acquire_permit();
//!                 *count.lock() += 1;
//!             }
//!         });
//!     }
//! });
//! assert_eq!(*count.lock(), 4000);
//! assert!(count.try_lock_for(Duration::from_millis(1)).is_some());
//! assert!(sem.release().is_err()); // over-releasing a BoundedSemaphore is an error
//! ```

mod futex;
pub mod lecture;
mod lecture_ipc;
mod reentrant;

pub use futex::Futex;
pub use reentrant::{ReentrantMutex, ReentrantMutexGuard};

/// The lecture's Lock for std threads: [`lockstep_core::Mutex`] blocking in the kernel.
pub type Mutex<T> = lockstep_core::Mutex<T, Futex>;
/// The guard of a [`Mutex`].
pub type MutexGuard<'a, T> = lockstep_core::MutexGuard<'a, T, Futex>;
/// A raw lock without data, blocking in the kernel.
pub type RawLock = lockstep_core::SpinLock<Futex>;
/// The lecture's Semaphore and BoundedSemaphore for std threads.
pub type Semaphore = lockstep_core::Semaphore<Futex>;
/// A permit of a [`Semaphore`].
pub type SemaphorePermit<'a> = lockstep_core::SemaphorePermit<'a, Futex>;
/// The lecture's Event for std threads.
pub type Event = lockstep_core::Event<Futex>;
/// The lecture's Condition for std threads, used with [`Mutex`].
pub type Condvar = lockstep_core::Condvar<Futex>;
/// The lecture's bounded buffer for std threads: [`lockstep_core::Queue`] blocking in the kernel.
pub type Queue<T, const N: usize> = lockstep_core::Queue<T, N, Futex>;
/// The single-producer single-consumer channel, blocking in the kernel.
pub type Spsc<T, const N: usize> = lockstep_core::channel::Spsc<T, N, Futex>;
/// The lecture's synchronous message (capacity 0), blocking in the kernel.
pub type Rendezvous<T> = lockstep_core::channel::Rendezvous<T, Futex>;
/// Request/reply (the lecture's duplex communication), blocking in the kernel.
pub type Duplex<Req, Rep, const N: usize> = lockstep_core::channel::Duplex<Req, Rep, N, Futex>;
/// The lecture's broadcast, blocking in the kernel.
pub type Broadcast<T, const N: usize> = lockstep_core::channel::Broadcast<T, N, Futex>;
/// The lecture's publish & subscribe, blocking in the kernel.
pub type PubSub<T, const N: usize> = lockstep_core::channel::PubSub<T, N, Futex>;

// OS sockets: [`transport`] (whole messages over in-process queues, UDP, Unix and TCP sockets),
// [`comm`] (the four communication types), [`server`] (servers and their clients).
pub mod comm;
mod error;
pub mod server;
pub mod transport;

pub use error::NetError;
