//! # lockstep-hosted
//!
//! The std adapter of lockstep: the core's primitives with real OS blocking (a futex) and
//! timeouts from `std::time`, thread-aware pieces such as the reentrant lock, and OS sockets
//! carrying the four elementary communication types.

pub mod comm;
mod error;
pub mod server;
pub mod transport;

pub use error::NetError;
