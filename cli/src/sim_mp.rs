//! Message passing under a weak memory model: a writer stores the data, then raises a flag; a
//! reader that sees the flag reads the data and asserts it is there. With Relaxed orderings
//! RC11 (the memory model of Rust's atomics) lets the reader see the flag and still read the old
//! data; a Release store of the flag and an Acquire load of it forbid that.
//!
//! `lockstep sim mp` and the lecture's `sim mp` row run these closures under
//! [`lockstep_sim::check`].

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use lockstep_sim::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use lockstep_sim::thread;

/// The orderings of the flag's store and load (the data is always Relaxed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    /// Relaxed store and load: nothing orders the data with the flag.
    Relaxed,
    /// A Release store and an Acquire load: the reader that sees the flag sees the data.
    ReleaseAcquire,
    /// SeqCst store and load.
    SeqCst,
}

impl Flag {
    fn orders(self) -> (Ordering, Ordering) {
        match self {
            Flag::Relaxed => (Ordering::Relaxed, Ordering::Relaxed),
            Flag::ReleaseAcquire => (Ordering::Release, Ordering::Acquire),
            Flag::SeqCst => (Ordering::SeqCst, Ordering::SeqCst),
        }
    }
}

impl FromStr for Flag {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "relaxed" => Ok(Flag::Relaxed),
            "release-acquire" => Ok(Flag::ReleaseAcquire),
            "seq-cst" => Ok(Flag::SeqCst),
            _ => Err(format!(
                "unknown flag ordering `{s}` (expected relaxed, release-acquire or seq-cst)"
            )),
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flag::Relaxed => "relaxed",
            Flag::ReleaseAcquire => "release-acquire",
            Flag::SeqCst => "seq-cst",
        })
    }
}

/// The program: thread 1 stores `data = 42` then `ready = true`; the main thread, if it reads
/// `ready == true`, asserts that it reads `data == 42`.
///
/// # Examples
///
/// ```
/// use lockstep_cli::sim_mp::{Flag, message_passing};
/// use lockstep_sim::{Config, MemoryModel, try_check};
///
/// let rc11 = || Config::dfs(None).memory_model(MemoryModel::Rc11);
/// assert!(try_check(rc11(), message_passing(Flag::Relaxed)).is_err());
/// assert!(try_check(rc11(), message_passing(Flag::ReleaseAcquire)).is_ok());
/// ```
pub fn message_passing(flag: Flag) -> impl Fn() + Send + Sync + 'static {
    let (store, load) = flag.orders();
    move || {
        let data = Arc::new(AtomicU32::new(0));
        let ready = Arc::new(AtomicBool::new(false));
        let writer = {
            let (data, ready) = (Arc::clone(&data), Arc::clone(&ready));
            thread::spawn(move || {
                data.store(42, Ordering::Relaxed);
                ready.store(true, store);
            })
        };
        if ready.load(load) {
            let seen = data.load(Ordering::Relaxed);
            assert_eq!(seen, 42, "saw ready == true but data == {seen}");
        }
        writer.join().unwrap();
    }
}
