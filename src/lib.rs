//! # lockstep
//!
//! Synchronization and inter-process communication done properly: the facade over
//! [`lockstep_core`] (the `no_std` primitives) and [`lockstep_hosted`] (std threads, OS blocking
//! and sockets), with plain atomics. With the cargo feature `sim` (for `[dev-dependencies]`),
//! the same types run under the deterministic simulator `lockstep_sim` inside a check, so an
//! application can check its own code on them (see the README, "Checking your own code").
//! The application's own atomics, spin loops, threads and cells come from [`sync::atomic`],
//! [`hint`], [`thread`] and [`cell`]: std's without the feature, the simulator's with it, so they
//! are checked too.
//! The feature `proptest` (which turns on `sim`) adds `lockstep_sim::proptest`, a proptest
//! strategy of schedules.
//!
//! ```toml
//! [dependencies]
//! lockstep = "0.1"
//! [dev-dependencies]
//! lockstep = { version = "0.1", features = ["sim"] }
//! ```
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
//!
//! The sockets are [`transport`] (whole messages over TCP, UDP, Unix streams and datagrams),
//! [`comm`] (the four communication types over any transport) and [`server`] (echo, RPC,
//! datagram and publish-subscribe servers), re-exported from [`lockstep_hosted`]; their
//! errors are [`NetError`], which converts to [`std::io::Error`]:
//!
//! ```
//! use std::time::Duration;
//! use lockstep::comm::Endpoint;
//! use lockstep::server::{ServerConfig, rpc_server};
//! use lockstep::transport::tcp;
//!
//! fn main() -> std::io::Result<()> {
//!     let listener = tcp::listen("127.0.0.1:0".parse().unwrap())?; // loopback only
//!     let server = rpc_server(listener, ServerConfig::default(), |req| req.to_ascii_uppercase());
//!     let mut client = Endpoint::new(tcp::connect(server.local_addr().unwrap())?);
//!     assert_eq!(client.call(b"hello", Duration::from_secs(5))?, b"HELLO");
//!     Ok(())
//! }
//! ```

/// `std::sync` for an application's own code, checkable like lockstep's types: std's `Arc`,
/// `Mutex`, `RwLock`, `Condvar`, `Barrier`, `Once`, `OnceLock`, `LazyLock`, `mpsc` and atomics
/// without the feature `sim`, the simulator's mirror of them and its instrumented atomics with it
/// (same names and API; every lock, wait, send and atomic operation is a scheduling step inside a
/// check). An application written against `std::sync` changes its imports to `lockstep::sync` and
/// is checked in every test build.
///
/// The atomics are for an application's own lock-free code.
/// Code that uses `std::sync::atomic` directly is invisible to the simulator: its operations are
/// not scheduling points, so their interleavings are never explored and a simulated thread that
/// spins on one never lets another run (the check hangs). Import these instead and enable `sim`
/// in `[dev-dependencies]` only: the application ships with std's atomics, and every test build
/// (unit tests in `src/` and integration tests in `tests/` alike, which a `#[cfg(test)]` swap
/// does not reach) checks the instrumented ones. Outside a running check the instrumented types
/// behave as std's.
///
/// `AtomicPtr` is checked like the integers (under RC11 too: the addresses a pointer holds differ
/// from one execution to the next, and the search takes them from the running one).
/// `compiler_fence` orders nothing between threads, so the simulator does not see it.
///
/// # Examples
///
/// ```
/// use lockstep::sync::atomic::{AtomicBool, AtomicU64, Ordering};
///
/// static READY: AtomicBool = AtomicBool::new(false);
/// let data = AtomicU64::new(0);
/// data.store(42, Ordering::Relaxed);
/// READY.store(true, Ordering::Release);
/// assert!(READY.load(Ordering::Acquire));
/// assert_eq!(data.load(Ordering::Relaxed), 42);
/// ```
///
/// std's names, as an application written against `std::sync` uses them:
///
/// ```
/// use lockstep::sync::{Arc, Mutex, mpsc};
///
/// let total = Arc::new(Mutex::new(0));
/// let (tx, rx) = mpsc::channel();
/// let t = Arc::clone(&total);
/// let h = lockstep::thread::spawn(move || {
///     *t.lock().unwrap() += 1;
///     tx.send("done").unwrap();
/// });
/// assert_eq!(rx.recv(), Ok("done"));
/// h.join().unwrap();
/// assert_eq!(*total.lock().unwrap(), 1);
/// ```
pub mod sync {
    // std's synchronization types under their std names, or with the feature `sim` the
    // simulator's mirror of them (one scheduling step per operation inside a check; std's
    // behavior outside one), for an application written against `std::sync`.
    #[cfg(feature = "sim")]
    pub use lockstep_sim::sync::{
        Arc, Barrier, BarrierWaitResult, Condvar, LazyLock, LockResult, Mutex, MutexGuard, Once,
        OnceLock, OnceState, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError,
        TryLockResult, WaitTimeoutResult, Weak, mpsc,
    };
    #[cfg(not(feature = "sim"))]
    pub use std::sync::{
        Arc, Barrier, BarrierWaitResult, Condvar, LazyLock, LockResult, Mutex, MutexGuard, Once,
        OnceLock, OnceState, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError,
        TryLockResult, WaitTimeoutResult, Weak, mpsc,
    };

    /// Atomic types and orderings: `std::sync::atomic`'s, or with the feature `sim`
    /// `lockstep_sim::sync::atomic`'s (see [`sync`](crate::sync)).
    pub mod atomic {
        #[cfg(feature = "sim")]
        pub use lockstep_sim::sync::atomic::{
            AtomicBool, AtomicI8, AtomicI16, AtomicI32, AtomicI64, AtomicIsize, AtomicPtr,
            AtomicU8, AtomicU16, AtomicU32, AtomicU64, AtomicUsize, Ordering, compiler_fence,
            fence,
        };
        #[cfg(not(feature = "sim"))]
        pub use std::sync::atomic::{
            AtomicBool, AtomicI8, AtomicI16, AtomicI32, AtomicI64, AtomicIsize, AtomicPtr,
            AtomicU8, AtomicU16, AtomicU32, AtomicU64, AtomicUsize, Ordering, compiler_fence,
            fence,
        };
    }
}

/// A cell for data an application's own synchronization protects, with loom's closure-based
/// access API (`with` for a read, `with_mut` for a write): `core::cell::UnsafeCell` without the
/// feature `sim`, the simulator's with it, which checks every access for a data race (two
/// accesses, one a write, not ordered by happens-before: a flag published with `Relaxed`, say).
///
/// # Examples
///
/// ```
/// use lockstep::cell::UnsafeCell;
///
/// let c = UnsafeCell::new(1);
/// // SAFETY: no other reference to the value exists.
/// c.with_mut(|p| unsafe { *p += 1 });
/// // SAFETY: as above.
/// assert_eq!(c.with(|p| unsafe { *p }), 2);
/// assert_eq!(c.into_inner(), 2);
/// ```
pub mod cell {
    #[cfg(feature = "sim")]
    pub use lockstep_sim::sync::cell::UnsafeCell;

    /// `core::cell::UnsafeCell` with loom's closure-based access API (see [`cell`](crate::cell)).
    #[cfg(not(feature = "sim"))]
    #[derive(Debug, Default)]
    #[repr(transparent)]
    pub struct UnsafeCell<T: ?Sized>(core::cell::UnsafeCell<T>);

    #[cfg(not(feature = "sim"))]
    impl<T> UnsafeCell<T> {
        /// Creates a cell holding `value` (usable in a `static`).
        #[inline(always)]
        pub const fn new(value: T) -> Self {
            Self(core::cell::UnsafeCell::new(value))
        }

        /// Consumes the cell and returns the value.
        #[inline(always)]
        pub fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    #[cfg(not(feature = "sim"))]
    impl<T: ?Sized> UnsafeCell<T> {
        /// Runs `f` with a shared pointer to the value (a read access).
        #[inline(always)]
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with a mutable pointer to the value (a write access).
        #[inline(always)]
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }

        /// Returns a mutable reference; the `&mut self` proves no other access exists.
        #[inline(always)]
        pub fn get_mut(&mut self) -> &mut T {
            self.0.get_mut()
        }
    }
}

/// The spin-loop hint for an application's own spin loops: `std::hint::spin_loop`, or with the
/// feature `sim` the simulator's, where a spinning thread lets the others run until something
/// it read changes (a spin nothing will end is reported as a failure, a livelock at the step
/// limit, not a hang).
///
/// # Examples
///
/// ```
/// use lockstep::sync::atomic::{AtomicBool, Ordering};
///
/// let ready = AtomicBool::new(true);
/// while !ready.load(Ordering::Acquire) {
///     lockstep::hint::spin_loop();
/// }
/// ```
pub mod hint {
    #[cfg(feature = "sim")]
    pub use lockstep_sim::sync::hint::spin_loop;
    #[cfg(not(feature = "sim"))]
    pub use std::hint::spin_loop;
}

/// Threads for an application's own code: `std::thread`'s functions and types, or with the
/// feature `sim` `lockstep_sim::thread`'s, which are simulated threads inside a running check and
/// std's threads outside one. A thread made with `std::thread::spawn` inside a check is not
/// simulated: its steps are not explored, and if it blocks on one of lockstep's types while a
/// simulated thread holds it, nothing wakes it.
///
/// # Examples
///
/// ```
/// let h = lockstep::thread::spawn(|| 6 * 7);
/// let joined: lockstep::thread::Result<i32> = h.join();
/// assert_eq!(joined.unwrap(), 42);
/// assert!(!lockstep::thread::panicking());
/// assert!(lockstep::thread::available_parallelism().is_ok_and(|n| n.get() >= 1));
/// lockstep::thread::scope(|s| {
///     s.spawn(|| lockstep::thread::yield_now());
/// });
/// ```
pub mod thread {
    #[cfg(feature = "sim")]
    pub use lockstep_sim::thread::{
        AccessError, Builder, JoinHandle, LocalKey, Result, Scope, ScopedJoinHandle, Thread,
        ThreadId, available_parallelism, current, panicking, park, park_timeout, scope, sleep,
        spawn, yield_now,
    };
    #[cfg(not(feature = "sim"))]
    pub use std::thread::{
        AccessError, Builder, JoinHandle, LocalKey, Result, Scope, ScopedJoinHandle, Thread,
        ThreadId, available_parallelism, current, panicking, park, park_timeout, scope, sleep,
        spawn, yield_now,
    };
}

/// `std::thread_local!`, or with the feature `sim` `lockstep_sim::thread_local!` (one value per
/// simulated thread inside a check).
///
/// ```
/// use std::cell::Cell;
/// lockstep::thread_local!(static DEPTH: Cell<u32> = Cell::new(0));
/// DEPTH.with(|d| d.set(d.get() + 1));
/// assert_eq!(DEPTH.with(Cell::get), 1);
/// ```
#[cfg(feature = "sim")]
pub use lockstep_sim::thread_local;
/// `std::thread_local!` (with the feature `sim`, `lockstep_sim::thread_local!`: one value per
/// simulated thread inside a check).
#[cfg(not(feature = "sim"))]
pub use std::thread_local;

// The README's Rust samples, compiled and run as doctests of the facade (the ones marked
// `ignore` need an application's own types: `examples/checked-app` runs them).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeSamples;

pub use lockstep_core;
pub use lockstep_hosted;
pub use lockstep_hosted::{comm, server, transport};
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
/// The blocking iterator of a [`Queue`] (from
/// [`Queue::iter`](lockstep_core::Queue::iter), or `for m in &queue`).
pub type QueueIter<'a, T, const N: usize> = lockstep_core::channel::QueueIter<'a, T, N, Futex>;
/// The non-blocking iterator of a [`Queue`] (from
/// [`Queue::try_iter`](lockstep_core::Queue::try_iter)).
pub type QueueTryIter<'a, T, const N: usize> =
    lockstep_core::channel::QueueTryIter<'a, T, N, Futex>;
/// The blocking iterator of a [`Rendezvous`] (from
/// [`Rendezvous::iter`](lockstep_core::channel::Rendezvous::iter), or `for m in &channel`).
pub type RendezvousIter<'a, T> = lockstep_core::channel::RendezvousIter<'a, T, Futex>;
/// The blocking iterator of a [`Consumer`] (from
/// [`Consumer::iter`](lockstep_core::channel::Consumer::iter), or `for m in &mut consumer`).
pub type ConsumerIter<'c, 'a, T, const N: usize> =
    lockstep_core::channel::ConsumerIter<'c, 'a, T, N, Futex>;
/// The non-blocking iterator of a [`Consumer`] (from
/// [`Consumer::try_iter`](lockstep_core::channel::Consumer::try_iter)).
pub type ConsumerTryIter<'c, 'a, T, const N: usize> =
    lockstep_core::channel::ConsumerTryIter<'c, 'a, T, N, Futex>;
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
