//! # lockstep
//!
//! Synchronization and inter-process communication done properly: the facade over
//! [`lockstep_core`] (the `no_std` primitives), [`lockstep_hosted`] (std threads and OS sockets)
//! and [`lockstep_sim`] (the deterministic simulator), plus the lecture's scenarios that the
//! `lockstep` command-line tool and the examples run.

pub use lockstep_core;
pub use lockstep_hosted;
pub use lockstep_sim;
