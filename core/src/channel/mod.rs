//! The channel family: message passing between threads (or interrupt handlers) through
//! fixed-capacity buffers, blocking through a [`Wait`](crate::Wait).
//!
//! | type | lecture name | shape |
//! |---|---|---|
//! | [`Queue`] | bounded buffer | MPMC, `N` slots, asynchronous message |
//! | [`Spsc`] with [`Producer`]/[`Consumer`] | producer/consumer | one sender, one receiver, fastest |
//! | `Rendezvous` | synchronous message | capacity 0: `send` returns once a receiver took it |
//! | `Duplex` with `Client`/`Server` | duplex, request/reply | synchronous call with a timeout, asynchronous call with a `Ticket` |
//! | `Broadcast` | broadcast | every receiver sees every message; slow ones learn how many they missed |
//! | `PubSub` | publish & subscribe | subscribers choose topics and get only those |
//!
//! Errors follow std and crossbeam: operations that fail hand the message back.

mod error;
mod mpmc;
mod signal;
mod spsc;

pub use error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
pub use mpmc::Queue;
pub use spsc::{Consumer, Producer, Spsc};
