//! # lockstep
//!
//! Synchronization and inter-process communication done properly: the facade over
//! [`lockstep_core`] (the `no_std` primitives), [`lockstep_hosted`] (std threads and OS sockets)
//! and [`lockstep_sim`] (the deterministic simulator), plus the lecture's scenarios that the
//! `lockstep` command-line tool and the examples run.
//!
//! At the top level are the std versions, which block in the kernel and take `Duration`
//! timeouts:
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
//! ```

pub use lockstep_core;
pub use lockstep_hosted;
pub use lockstep_sim;

pub use lockstep_hosted::{Broadcast, Duplex, PubSub, Queue, Rendezvous, Spsc};
pub use lockstep_hosted::{
    Condvar, Event, Futex, Mutex, MutexGuard, RawLock, ReentrantMutex, ReentrantMutexGuard,
    Semaphore, SemaphorePermit,
};

pub mod sim_race;
