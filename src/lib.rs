//! # lockstep
//!
//! Synchronization and inter-process communication done properly: the facade over
//! [`lockstep_core`] (the `no_std` primitives) and [`lockstep_hosted`] (std threads, OS blocking
//! and sockets), with plain atomics. With the cargo feature `sim` (for `[dev-dependencies]`),
//! the same types run under the deterministic simulator [`lockstep_sim`] inside a check, so an
//! application can check its own code on them (see the README, "Checking your own code").
//!
//! At the top level are the std versions, which block in the kernel and take `Duration`
//! timeouts, with the error and permit types their methods return:
//!
//! ```
//! use std::time::Duration;
//!
//! let count = lockstep::Mutex::new(0);
//! let ready = lockstep::Event::new();
//! std::thread::scope(|s| {
//!     s.spawn(|| {
//!         *count.lock() += 1;
//!         ready.set();
//!     });
//!     assert!(ready.wait_timeout(Duration::from_secs(10)));
//! });
//! assert_eq!(*count.lock(), 1);
//!
//! let queue: lockstep::Queue<u32, 2> = lockstep::Queue::new();
//! queue.try_send(1).unwrap();
//! queue.try_send(2).unwrap();
//! assert!(matches!(queue.try_send(3), Err(lockstep::TrySendError::Full(3))));
//!
//! let sem = lockstep::Semaphore::bounded(1);
//! assert!(matches!(sem.release(), Err(lockstep::OverRelease { .. })));
//! ```

pub use lockstep_core;
pub use lockstep_hosted;
#[cfg(feature = "sim")]
pub use lockstep_sim;

pub use lockstep_hosted::{Broadcast, Duplex, PubSub, Queue, Rendezvous, Spsc};
pub use lockstep_hosted::{
    Condvar, Event, Futex, Mutex, MutexGuard, RawLock, ReentrantMutex, ReentrantMutexGuard,
    Semaphore, SemaphorePermit,
};

// The error and permit types beside the types whose methods return them.
pub use lockstep_core::channel::{
    BroadcastError, CallError, RecvError, RecvTimeoutError, ReplyTo, SendError, SendTimeoutError,
    StaleReply, Topic, Topics, TryRecvError, TrySendError,
};
pub use lockstep_core::{NoPermit, OverRelease};
pub use lockstep_hosted::NetError;

#[cfg(feature = "async")]
pub use lockstep_core::channel::{AsyncConsumer, AsyncProducer, AsyncQueue, AsyncSpsc};

/// The producer half of a [`Spsc`] (from [`Spsc::split`](lockstep_core::channel::Spsc::split)).
pub type Producer<'a, T, const N: usize> = lockstep_core::channel::Producer<'a, T, N, Futex>;
/// The consumer half of a [`Spsc`].
pub type Consumer<'a, T, const N: usize> = lockstep_core::channel::Consumer<'a, T, N, Futex>;
/// A subscription to a [`Broadcast`] (from
/// [`Broadcast::subscribe`](lockstep_core::channel::Broadcast::subscribe)).
pub type BroadcastReceiver<'a, T, const N: usize> =
    lockstep_core::channel::Receiver<'a, T, N, Futex>;
/// A subscription to topics of a [`PubSub`].
pub type Subscriber<'a, T, const N: usize> = lockstep_core::channel::Subscriber<'a, T, N, Futex>;
/// The client side of a [`Duplex`].
pub type Client<'a, Req, Rep, const N: usize> =
    lockstep_core::channel::Client<'a, Req, Rep, N, Futex>;
/// The server side of a [`Duplex`].
pub type Server<'a, Req, Rep, const N: usize> =
    lockstep_core::channel::Server<'a, Req, Rep, N, Futex>;
/// A pending asynchronous call on a [`Duplex`].
pub type Ticket<'a, Req, Rep, const N: usize> =
    lockstep_core::channel::Ticket<'a, Req, Rep, N, Futex>;
