//! embassy-sync interop (cargo feature `embassy`): [`SpinLock`] is an
//! `embassy_sync::blocking_mutex::raw::RawMutex`, so embassy's channels, signals and mutexes can
//! run on it in multi-core or hosted contexts where a critical section is too coarse.
//!
//! ```
//! use embassy_sync::blocking_mutex::Mutex;
//! use lockstep_core::{Spin, SpinLock};
//!
//! let m: Mutex<SpinLock<Spin>, core::cell::Cell<u32>> = Mutex::new(core::cell::Cell::new(1));
//! m.lock(|c| c.set(c.get() + 1));
//! assert_eq!(m.lock(|c| c.get()), 2);
//! ```

use embassy_sync::blocking_mutex::raw::RawMutex;

use crate::mutex::SpinLock;
use crate::wait::Wait;

/// Unlocks on drop, so a panic inside the closure does not leave the lock held.
struct Unlock<'a, W: Wait>(&'a SpinLock<W>);

impl<W: Wait> Drop for Unlock<'_, W> {
    fn drop(&mut self) {
        // SAFETY: an `Unlock` is created only right after this context locked the lock.
        unsafe { self.0.unlock() }
    }
}

// SAFETY: `SpinLock` excludes every other context from the closure: it is locked before the
// closure runs and unlocked after it returns or unwinds. Like any non-reentrant lock, calling
// `lock` again from inside the closure on the same lock deadlocks rather than aliasing.
unsafe impl<W: Wait> RawMutex for SpinLock<W> {
    #[allow(clippy::declare_interior_mutable_const)] // the trait's way to build statics
    const INIT: Self = SpinLock::new();

    fn lock<R>(&self, f: impl FnOnce() -> R) -> R {
        SpinLock::lock(self);
        let _unlock = Unlock(self);
        f()
    }
}

#[cfg(test)]
mod tests {
    use embassy_sync::blocking_mutex::Mutex;

    use crate::{Spin, SpinLock};

    #[test]
    fn embassy_mutex_counts_exactly_across_threads() {
        let m: Mutex<SpinLock<Spin>, core::cell::Cell<u32>> = Mutex::new(core::cell::Cell::new(0));
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        m.lock(|c| c.set(c.get() + 1));
                    }
                });
            }
        });
        assert_eq!(m.lock(|c| c.get()), 4000);
    }
}
