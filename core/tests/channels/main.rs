//! Channel family tests: model-based property tests and bounded multi-threaded runs.
//!
//! Threaded tests scale with `LOCKSTEP_TEST_SCALE` (default 1) through [`scale`]; blocking uses
//! `Spin<Yield>`, which yields to the OS, because tests run more threads than there are cores.

#[cfg(feature = "async")]
mod async_queue;
#[cfg(feature = "async")]
mod async_spsc;
mod broadcast;
mod duplex;
mod mpmc;
mod rendezvous;
mod spsc;

use lockstep_core::{RelaxStrategy, Spin};

/// Relaxes by yielding the time slice, so a waiting thread lets the one it waits for run.
#[derive(Debug)]
pub struct Yield;

impl RelaxStrategy for Yield {
    fn relax() {
        std::thread::yield_now();
    }
}

/// The `Wait` the threaded tests block with.
pub type W = Spin<Yield>;

/// Runs `f` on its own thread and fails the test if it has not returned within `secs` seconds
/// (the thread is left behind): a deadlock shows as a failure naming `what`, never as a hung
/// test run. A panic in `f` fails the test with that panic.
pub fn within(secs: u64, what: &str, f: impl FnOnce() + Send + 'static) {
    let (done, finished) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    match finished.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(()) => worker.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(worker.join().unwrap_err())
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: still blocked after {secs} s (deadlock or lost wake-up)")
        }
    }
}

/// A [`lockstep_core::Wait`] that really sleeps (a `std` condition variable stands in for the
/// futex) and needs its wakes, unlike [`Spin`], whose waiters poll: a missing wake shows as a
/// waiter sleeping until its deadline.
#[derive(Debug)]
pub struct Parked;

static PARKED: (std::sync::Mutex<()>, std::sync::Condvar) =
    (std::sync::Mutex::new(()), std::sync::Condvar::new());

impl lockstep_core::Wait for Parked {
    type Timeout = std::time::Duration;
    type Deadline = std::time::Instant;

    fn deadline(timeout: std::time::Duration) -> std::time::Instant {
        std::time::Instant::now() + timeout
    }

    fn wait(
        atom: &lockstep_core::sync::atomic::AtomicU32,
        expected: u32,
        deadline: Option<&mut std::time::Instant>,
    ) -> bool {
        use lockstep_core::sync::atomic::Ordering::SeqCst;
        // The check and the sleep are atomic with respect to the wakes, which take the lock.
        let guard = PARKED.0.lock().unwrap();
        if atom.load(SeqCst) != expected {
            return true;
        }
        match deadline {
            None => drop(PARKED.1.wait(guard).unwrap()),
            Some(d) => {
                let left = d.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return false;
                }
                drop(PARKED.1.wait_timeout(guard, left).unwrap());
            }
        }
        true
    }

    fn wake_one(_atom: &lockstep_core::sync::atomic::AtomicU32) {
        let _guard = PARKED.0.lock().unwrap();
        PARKED.1.notify_all();
    }

    fn wake_all(_atom: &lockstep_core::sync::atomic::AtomicU32) {
        let _guard = PARKED.0.lock().unwrap();
        PARKED.1.notify_all();
    }
}

/// Multiplies the size of threaded tests: `LOCKSTEP_TEST_SCALE`, 1 by default.
pub fn scale() -> usize {
    lockstep_sim::test_scale()
}

/// The longest operation sequence of the model-based property tests (shorter under Miri).
pub const MODEL_OPS: usize = if cfg!(miri) { 60 } else { 200 };

/// The configuration of the model-based property tests: 256 cases, or under Miri 4 cases and
/// no failure file (Miri isolates the test from the file system).
pub fn model_config() -> proptest::prelude::ProptestConfig {
    let default = proptest::prelude::ProptestConfig::default();
    if cfg!(miri) {
        proptest::prelude::ProptestConfig {
            cases: 4,
            failure_persistence: None,
            ..default
        }
    } else {
        proptest::prelude::ProptestConfig {
            cases: 256,
            ..default
        }
    }
}

/// The size of a threaded test: `n` times [`scale`], or under Miri (which runs code about a
/// million times slower and checks every access) a thousandth of `n`, at least 16.
pub fn sized(n: usize) -> usize {
    if cfg!(miri) {
        (n / 1000).max(16)
    } else {
        n * scale()
    }
}

/// Compile-time `Send`/`Sync` checks of the public types.
#[allow(dead_code)]
fn send_sync() {
    fn send_sync<X: Send + Sync>() {}
    fn send<X: Send>() {}
    send_sync::<lockstep_core::Queue<std::string::String, 4>>();
    send_sync::<lockstep_core::channel::Spsc<std::string::String, 4>>();
    send::<lockstep_core::channel::Producer<'static, std::string::String, 4>>();
    send::<lockstep_core::channel::Consumer<'static, std::string::String, 4>>();
    #[cfg(feature = "async")]
    send_sync::<lockstep_core::channel::AsyncQueue<std::string::String, 4>>();
    #[cfg(feature = "async")]
    send_sync::<lockstep_core::channel::AsyncSpsc<std::string::String, 4>>();
    #[cfg(feature = "async")]
    send::<lockstep_core::channel::AsyncProducer<'static, std::string::String, 4>>();
    #[cfg(feature = "async")]
    send::<lockstep_core::channel::AsyncConsumer<'static, std::string::String, 4>>();
    send_sync::<lockstep_core::channel::Broadcast<std::string::String, 4>>();
    send::<lockstep_core::channel::Receiver<'static, std::string::String, 4>>();
    send_sync::<lockstep_core::channel::PubSub<std::string::String, 4>>();
    send::<lockstep_core::channel::Subscriber<'static, std::string::String, 4>>();
    send_sync::<lockstep_core::channel::Client<'static, u8, u8, 4>>();
    send_sync::<lockstep_core::channel::Server<'static, u8, u8, 4>>();
    send_sync::<lockstep_core::channel::Rendezvous<std::string::String>>();
    send_sync::<lockstep_core::channel::Duplex<std::string::String, std::string::String, 4>>();
    send::<lockstep_core::channel::Ticket<'static, std::string::String, std::string::String, 4>>();
}
