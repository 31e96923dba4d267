//! A lock for contexts without compare-and-swap or with interrupts (cargo feature
//! `critical-section`): [`CriticalSectionMutex`].
//!
//! On a single-core microcontroller a critical section disables interrupts, which is the only
//! sound way to share data with an interrupt handler, and needs no atomic read-modify-write
//! (thumbv6m has none). The platform's `critical-section` implementation decides what a critical
//! section is (interrupts off, a hardware spinlock, a global std mutex on hosts).

use core::cell::Cell;
use core::fmt;

use crate::sync::UnsafeCell;

/// A mutex whose lock is a critical section: the data is reachable only inside
/// [`lock`](Self::lock)'s closure, while every other context (threads, interrupt handlers,
/// other cores, as the platform defines it) is held off.
///
/// Keep the closure short: interrupts may be off while it runs.
///
/// # Interrupt handlers
///
/// The lock to share data with interrupt handlers: [`lock`](Self::lock) and
/// [`try_lock`](Self::try_lock) may be called from any context, and never wait on a single core (the
/// critical section keeps every other context out instead). `lock` panics when called again from
/// inside its own closure; a handler that interrupts a closure cannot get in, since interrupts are
/// masked while it runs (with a single-core critical-section implementation). Firmware tests:
/// `embedded/src/bin/locks.rs` (a counter shared by thread mode and the handler, no update lost),
/// `spsc.rs` and `async.rs` (channel halves handed to the handler).
///
/// # Examples
///
/// ```
/// use lockstep_core::CriticalSectionMutex;
///
/// static TICKS: CriticalSectionMutex<u32> = CriticalSectionMutex::new(0);
/// TICKS.lock(|t| *t += 1); // for example in an interrupt handler
/// assert_eq!(TICKS.lock(|t| *t), 1);
/// ```
pub struct CriticalSectionMutex<T: ?Sized> {
    /// Set while a closure runs: catches re-entry from the same context (a nested critical
    /// section does not exclude its own context). Only accessed inside a critical section.
    busy: Cell<bool>,
    data: UnsafeCell<T>,
}

// SAFETY: every access to `busy` and `data` happens inside a critical section, which excludes
// every other context, so sharing the mutex hands `T` to one context at a time: `T: Send` is
// what that needs, as for `std::sync::Mutex`.
unsafe impl<T: ?Sized + Send> Sync for CriticalSectionMutex<T> {}

impl<T> CriticalSectionMutex<T> {
    /// Creates a mutex holding `value`; usable in a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::CriticalSectionMutex;
    ///
    /// let m = CriticalSectionMutex::new([0u8; 2]);
    /// assert_eq!(m.into_inner(), [0, 0]);
    /// ```
    pub const fn new(value: T) -> Self {
        Self {
            busy: Cell::new(false),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex and returns its data.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::CriticalSectionMutex;
    ///
    /// assert_eq!(CriticalSectionMutex::new(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> CriticalSectionMutex<T> {
    /// Runs `f` with exclusive access to the data inside a critical section.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::CriticalSectionMutex;
    ///
    /// let m = CriticalSectionMutex::new(1);
    /// let doubled = m.lock(|v| {
    ///     *v *= 2;
    ///     *v
    /// });
    /// assert_eq!(doubled, 2);
    /// ```
    ///
    /// # Panics
    ///
    /// If called from inside `f` on the same mutex (re-entry from the same context), which
    /// would otherwise create two `&mut T`. Use [`try_lock`](Self::try_lock) where re-entry can
    /// happen.
    pub fn lock<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.try_lock(f)
            .expect("CriticalSectionMutex locked again from inside its own closure")
    }

    /// Runs `f` like [`lock`](Self::lock), or returns `None` without running it if this context
    /// is already inside `lock` on the same mutex.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_core::CriticalSectionMutex;
    ///
    /// let m = CriticalSectionMutex::new(0);
    /// let nested = m.lock(|_| m.try_lock(|v| *v));
    /// assert_eq!(nested, None);
    /// assert_eq!(m.try_lock(|v| *v), Some(0));
    /// ```
    pub fn try_lock<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        critical_section::with(|_cs| {
            if self.busy.replace(true) {
                return None;
            }
            /// Clears `busy` even if `f` unwinds.
            struct Done<'a>(&'a Cell<bool>);
            impl Drop for Done<'_> {
                fn drop(&mut self) {
                    self.0.set(false);
                }
            }
            let _done = Done(&self.busy);
            // SAFETY: we are inside a critical section, which excludes every other context, and
            // `busy` was false, so no closure of this context holds a reference to the data.
            Some(self.data.with_mut(|p| f(unsafe { &mut *p })))
        })
    }
}

impl<T: ?Sized> fmt::Debug for CriticalSectionMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CriticalSectionMutex")
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::CriticalSectionMutex;

    #[test]
    fn critical_section_mutex_counts_exactly_across_threads() {
        let m = CriticalSectionMutex::new(0u32);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        m.lock(|v| *v += 1);
                    }
                });
            }
        });
        assert_eq!(m.into_inner(), 4000);
    }

    #[test]
    fn reentry_is_refused_not_aliased() {
        let m = CriticalSectionMutex::new(1);
        assert_eq!(m.lock(|_| m.try_lock(|v| *v)), None);
        let caught =
            std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| m.lock(|_| m.lock(|v| *v))));
        assert!(caught.is_err());
        // The flag was cleared while unwinding, so the mutex works again.
        assert_eq!(m.lock(|v| *v), 1);
    }
}
