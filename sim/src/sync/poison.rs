//! Poisoning for the std mirror's locks: std's rules, inside a check too.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use crate::{context, rt};

/// A poison flag, set when a guard is dropped during a panic (std's rule).
///
/// Inside a check the poison is kept per execution (by the flag's address): a panic caught by
/// the program poisons the lock for the rest of that execution, and the next execution, the
/// shrinking and the replay start clean even for a `static` lock. Unwinding a finished
/// execution's threads poisons nothing.
#[derive(Debug, Default)]
pub(crate) struct Flag(AtomicBool);

impl Flag {
    pub(crate) const fn new() -> Self {
        Self(AtomicBool::new(false))
    }

    fn addr(&self) -> usize {
        self as *const Self as usize
    }

    /// Whether the lock is poisoned.
    pub(crate) fn get(&self) -> bool {
        // Relaxed: advisory, as std's own flag; the lock orders the data.
        context::poisoned(self.addr()).unwrap_or_else(|| self.0.load(Relaxed))
    }

    /// Poisons the lock if the thread is panicking.
    pub(crate) fn done(&self) {
        if std::thread::panicking() && !rt::tearing_down() {
            mark(self.addr(), &self.0, true);
        }
    }

    pub(crate) fn clear(&self) {
        mark(self.addr(), &self.0, false);
    }
}

/// Sets or clears poison: in the running execution's record, or in `flag` outside one.
pub(crate) fn mark(addr: usize, flag: &AtomicBool, on: bool) {
    if !context::set_poisoned(addr, on) {
        // Relaxed: see `Flag::get`.
        flag.store(on, Relaxed);
    }
}
