//! What `lockstep-core` imports under its feature `sim`: atomics, the spin hint and a cell with
//! the same API as the plain ones.
//!
//! Outside a running check these behave exactly like `core`'s types.

/// Atomic types mirroring `core::sync::atomic`.
pub mod atomic {
    pub use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering, fence};
}

/// The spin-loop hint.
pub mod hint {
    pub use core::hint::spin_loop;
}

pub mod cell;
