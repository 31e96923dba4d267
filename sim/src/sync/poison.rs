//! Poisoning for the std mirror's own locks: std's rules outside a check.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use crate::rt;

/// A poison flag, set when a guard is dropped during a panic.
///
/// Inside a check poison is not modelled (as for [`Mutex`](super::Mutex)): a panic ends the
/// execution anyway, and poison left by one execution must not leak into the next (a `static`),
/// into shrinking or into the replay.
#[derive(Debug, Default)]
pub(crate) struct Flag(AtomicBool);

impl Flag {
    pub(crate) const fn new() -> Self {
        Self(AtomicBool::new(false))
    }

    /// Whether the lock is poisoned (never inside a check).
    pub(crate) fn get(&self) -> bool {
        // Relaxed: advisory, as std's own flag; the lock orders the data.
        !rt::in_simulation() && self.0.load(Relaxed)
    }

    /// Poisons the lock if the thread is panicking (outside a check).
    pub(crate) fn done(&self) {
        if std::thread::panicking() && !rt::in_simulation() && !rt::tearing_down() {
            // Relaxed: see `get`.
            self.0.store(true, Relaxed);
        }
    }

    pub(crate) fn clear(&self) {
        // Relaxed: see `get`.
        self.0.store(false, Relaxed);
    }
}
