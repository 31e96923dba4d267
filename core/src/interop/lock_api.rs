//! `lock_api` 0.5 interop (cargo feature `lock_api`): [`SpinLock`] is a `lock_api::RawMutex`, so
//! `lock_api::Mutex<SpinLock<W>, T>` gives its full guard API (mapped guards, `try_lock_for`).
//!
//! ```
//! use lockstep_core::{Spin, SpinLock};
//!
//! type Mutex<T> = lock_api::Mutex<SpinLock<Spin>, T>;
//! let m = Mutex::new(5);
//! *m.lock() += 1;
//! assert_eq!(*m.lock(), 6);
//! assert!(m.try_lock_for(10).is_some());
//! ```

use lock_api::{GuardSend, RawMutex, RawMutexTimed};

use crate::mutex::SpinLock;
use crate::wait::Wait;

// SAFETY: `SpinLock` provides mutual exclusion: it is held from a successful compare-and-swap or
// swap from UNLOCKED until `unlock`, with Acquire on locking and Release on unlocking. Guards
// carry no state, so forgetting one merely leaves the lock held.
unsafe impl<W: Wait> RawMutex for SpinLock<W> {
    #[allow(clippy::declare_interior_mutable_const)] // the trait's way to build statics
    const INIT: Self = SpinLock::new();
    type Guard = GuardSend;

    #[inline]
    fn lock(&self) -> GuardSend {
        SpinLock::lock(self);
        GuardSend::new()
    }

    #[inline]
    fn try_lock(&self) -> Option<GuardSend> {
        SpinLock::try_lock(self).then(GuardSend::new)
    }

    #[inline]
    unsafe fn unlock(&self, _guard: GuardSend) {
        // SAFETY: the caller hands in the guard of a successful acquisition by this context.
        unsafe { SpinLock::unlock(self) }
    }

    #[inline]
    fn is_locked(&self) -> bool {
        SpinLock::is_locked(self)
    }
}

// SAFETY: the timed forms acquire through the same state machine as `lock`.
unsafe impl<W: Wait> RawMutexTimed for SpinLock<W> {
    type Duration = W::Timeout;
    type Instant = W::Deadline;

    #[inline]
    fn try_lock_for(&self, timeout: W::Timeout) -> Option<GuardSend> {
        SpinLock::try_lock_for(self, timeout).then(GuardSend::new)
    }

    #[inline]
    fn try_lock_until(&self, mut deadline: W::Deadline) -> Option<GuardSend> {
        self.try_lock_until_deadline(&mut deadline)
            .then(GuardSend::new)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Spin, SpinLock};

    type Mutex<T> = lock_api::Mutex<SpinLock<Spin>, T>;

    #[test]
    fn lock_api_mutex_excludes_and_times_out() {
        let m = Mutex::new(0u32);
        let g = m.lock();
        assert!(m.try_lock().is_none());
        assert!(m.try_lock_for(3).is_none());
        drop(g);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        *m.lock() += 1;
                    }
                });
            }
        });
        assert_eq!(m.into_inner(), 4000);
    }
}
