//! The channel family: message passing between threads (or interrupt handlers) through
//! fixed-capacity buffers, blocking through a [`Wait`](crate::Wait).
//!
//! | type | lecture name | shape |
//! |---|---|---|
//! | [`Queue`] | bounded buffer | MPMC, `N` slots, asynchronous message |
//! | [`Spsc`] with [`Producer`]/[`Consumer`] | producer/consumer | one sender, one receiver, fastest |
//! | [`Rendezvous`] | synchronous message | capacity 0: `send` returns once a receiver took it |
//! | [`Duplex`] with [`Client`]/[`Server`] | duplex, request/reply | synchronous [`call`](Duplex::call) with a timeout, asynchronous [`call_async`](Duplex::call_async) with a [`Ticket`] |
//! | [`Broadcast`] | broadcast | every receiver sees every message; slow ones learn how many they missed |
//! | [`PubSub`] | publish & subscribe | subscribers choose topics and get only those |
//!
//! With the cargo feature `async`, `AsyncQueue` (MPMC) and `AsyncSpsc` (with `AsyncProducer` and
//! `AsyncConsumer`) offer `send().await` and `recv().await`.
//!
//! Errors follow std and crossbeam: operations that fail hand the message back.

#[cfg(feature = "async")]
#[path = "../interop/async_queue.rs"]
mod async_queue;
#[cfg(feature = "async")]
#[path = "../interop/async_spsc.rs"]
mod async_spsc;
mod broadcast;
mod duplex;
mod error;
mod mpmc;
mod pubsub;
mod rendezvous;
mod signal;
mod spsc;

#[cfg(feature = "async")]
pub use async_queue::AsyncQueue;
#[cfg(feature = "async")]
pub use async_spsc::{AsyncConsumer, AsyncProducer, AsyncSpsc};
pub use broadcast::{Broadcast, BroadcastError, Receiver};
pub use duplex::{CallError, Client, Duplex, ReplyTo, Server, StaleReply, Ticket};
pub use error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
pub use mpmc::{Queue, QueueIter, QueueTryIter};
pub use pubsub::{PubSub, Subscriber, Topic, Topics};
pub use rendezvous::{Rendezvous, RendezvousIter};
pub use spsc::{Consumer, ConsumerIter, ConsumerTryIter, Producer, Spsc};
