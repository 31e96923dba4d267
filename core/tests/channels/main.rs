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

/// Multiplies the size of threaded tests: `LOCKSTEP_TEST_SCALE`, 1 by default.
pub fn scale() -> usize {
    lockstep_sim::test_scale()
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
