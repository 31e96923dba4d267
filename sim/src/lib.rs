//! # lockstep-sim
//!
//! A deterministic scheduler that runs threads one step at a time, explores their
//! interleavings, finds races, replays a failing interleaving exactly and explains it.

pub mod sync;
