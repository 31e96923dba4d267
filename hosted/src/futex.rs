//! [`Futex`]: the core's [`Wait`] seam on the operating system's futex, with real timeouts.
//!
//! On Linux a blocked thread sleeps in the kernel in `futex(FUTEX_WAIT_PRIVATE)` and costs no CPU
//! until a wake or its timeout; elsewhere `atomic-wait` provides the sleep (Windows'
//! `WaitOnAddress`, macOS' `__ulock_wait`) and a timed wait sleeps in short slices.
//!
//! With the cargo feature `sim`, inside a running `lockstep_sim::check` every operation goes
//! through the simulator instead: `wait` blocks the simulated thread (a futex wait of the
//! simulator, one step), wakes are steps, there is no spinning or yielding (each read would be a
//! step to explore), and deadlines are on the simulated clock (`lockstep_sim::time::now`), so a
//! timed wait costs no real time. Outside a check nothing changes.

use std::time::{Duration, Instant};

use lockstep_core::Wait;
use lockstep_core::sync::atomic::{AtomicU32, Ordering::Relaxed};
use lockstep_core::sync::raw_atomic_u32;

/// The [`Wait`] for std threads: spins briefly, then sleeps in the kernel until woken or until
/// the deadline passes.
///
/// `Timeout` is a [`Duration`] and `Deadline` an [`Instant`], so every timed operation of the
/// core (`try_lock_for`, `acquire_timeout`, `wait_timeout`) takes real time.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use lockstep_core::{Event, Wait};
/// use lockstep_hosted::Futex;
///
/// let e: Event<Futex> = Event::new();
/// assert!(!e.wait_timeout(Duration::from_millis(5))); // nobody sets it: times out
/// e.set();
/// assert!(e.wait_timeout(Duration::from_millis(5)));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Futex;

/// How many times `wait` re-reads the word before it sleeps. A short spin catches a lock that is
/// released within a few hundred nanoseconds without two system calls; a long one wastes the
/// time slice of the thread that would release it when threads outnumber cores.
const SPIN_READS: u32 = 40;

/// Backoff rounds of a lock that spin (1, 2, 4 hints) before the yielding rounds.
const LOCK_SPIN_ROUNDS: u32 = 3;
/// Backoff rounds of a channel hand-off that spin (1, 2, 4, ... 64 hints).
const HANDOFF_SPIN_ROUNDS: u32 = 7;
/// Backoff rounds that yield the CPU before a primitive blocks.
const YIELD_ROUNDS: u32 = 7;

/// `spins` rounds of 1, 2, 4, ... spin hints, then `YIELD_ROUNDS` yields; `false` after that.
#[inline]
fn spin_then_yield(attempt: u32, spins: u32) -> bool {
    if attempt < spins {
        for _ in 0..(1u32 << attempt) {
            std::hint::spin_loop();
        }
        true
    } else if attempt < spins + YIELD_ROUNDS {
        std::thread::yield_now();
        true
    } else {
        false
    }
}

impl Wait for Futex {
    type Timeout = Duration;
    type Deadline = Instant;

    /// Spins a little (1, 2, 4 spin hints), then yields the CPU for up to seven more attempts
    /// before the primitive blocks: yielding lets the holder run when threads outnumber cores,
    /// which is what keeps 100 threads on 2 cores from convoying on a lock (parking_lot's
    /// `SpinWait` has the same shape).
    #[inline]
    fn backoff(attempt: u32) -> bool {
        if sim::active() {
            return false;
        }
        spin_then_yield(attempt, LOCK_SPIN_ROUNDS)
    }

    /// Spins longer (1, 2, 4, ... 64 spin hints: a few microseconds in all), then yields seven
    /// times: a channel's partner on the other core usually answers within that, so a
    /// ping-pong runs without a sleep and a wake per message. The channels announce a waiter
    /// between the spinning and the yielding rounds, so that a partner that sends or receives
    /// while the waiter yields (the usual case when threads outnumber cores) ends the wait
    /// without a wake call.
    #[inline]
    fn backoff_handoff(attempt: u32) -> bool {
        if sim::active() {
            return false;
        }
        spin_then_yield(attempt, HANDOFF_SPIN_ROUNDS)
    }

    #[inline]
    fn deadline(timeout: Duration) -> Instant {
        // A timeout too large to represent waits for ever, in effect.
        sim::now().checked_add(timeout).unwrap_or_else(far_future)
    }

    #[track_caller]
    fn wait(atom: &AtomicU32, expected: u32, deadline: Option<&mut Instant>) -> bool {
        if sim::active() {
            return sim::wait(atom, expected, deadline.map(|d| *d));
        }
        for _ in 0..SPIN_READS {
            // Relaxed: only decides whether to sleep; callers re-read their state with the
            // ordering they need.
            if atom.load(Relaxed) != expected {
                return true;
            }
            std::hint::spin_loop();
        }
        let timeout = match deadline {
            None => None,
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return false,
            },
        };
        // The `Wait` contract: the comparison reads `atom` after a full barrier, so that a
        // waiter's announcement made before this call (the core's Dekker pairs) is visible to
        // a waker before the kernel decides to sleep. The Linux futex has its own `smp_mb()`;
        // the other OSes' wait-on-address calls do not promise one, and a fence costs little
        // next to a system call.
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        sys::wait(raw_atomic_u32(atom), expected, timeout);
        true
    }

    #[inline]
    #[track_caller]
    fn wake_one(atom: &AtomicU32) {
        if sim::active() {
            return sim::wake(atom, false);
        }
        sys::wake(raw_atomic_u32(atom), false);
    }

    #[inline]
    #[track_caller]
    fn wake_all(atom: &AtomicU32) {
        if sim::active() {
            return sim::wake(atom, true);
        }
        sys::wake(raw_atomic_u32(atom), true);
    }
}

fn far_future() -> Instant {
    // About 30 years: later than any timeout a program will see pass.
    sim::now() + Duration::from_secs(60 * 60 * 24 * 365 * 30)
}

/// Blocking through the simulator inside a running check (feature `sim`).
#[cfg(feature = "sim")]
mod sim {
    use std::time::Instant;

    use lockstep_core::sync::atomic::AtomicU32;
    use lockstep_sim::sync::futex;

    /// Whether this thread is inside a running check.
    #[inline]
    pub(super) fn active() -> bool {
        lockstep_sim::in_simulation()
    }

    /// The simulated clock inside a check, the real one outside.
    #[inline]
    pub(super) fn now() -> Instant {
        lockstep_sim::time::now()
    }

    /// A futex wait of the simulator; `false` if `deadline` passed (on the simulated clock).
    #[track_caller]
    pub(super) fn wait(atom: &AtomicU32, expected: u32, deadline: Option<Instant>) -> bool {
        // With feature `sim` the core's atomics are the simulator's (the feature turns on the
        // core's `sim`), so the word is the simulator's own type.
        match deadline {
            None => futex::wait(atom, expected, false),
            Some(d) => futex::wait_until(atom, expected, d),
        }
    }

    /// A futex wake of the simulator.
    #[track_caller]
    pub(super) fn wake(atom: &AtomicU32, all: bool) {
        if all {
            futex::wake_all(atom);
        } else {
            futex::wake_one(atom);
        }
    }
}

/// Without feature `sim` there is no simulator: never active.
#[cfg(not(feature = "sim"))]
mod sim {
    use std::time::Instant;

    use lockstep_core::sync::atomic::AtomicU32;

    #[inline(always)]
    pub(super) fn active() -> bool {
        false
    }

    #[inline(always)]
    pub(super) fn now() -> Instant {
        Instant::now()
    }

    pub(super) fn wait(_: &AtomicU32, _: u32, _: Option<Instant>) -> bool {
        unreachable!("never active without feature `sim`")
    }

    pub(super) fn wake(_: &AtomicU32, _: bool) {
        unreachable!("never active without feature `sim`")
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use std::sync::atomic::AtomicU32;
    use std::time::Duration;

    /// Sleeps while `atom` holds `expected`, for at most `timeout`.
    pub(super) fn wait(atom: &AtomicU32, expected: u32, timeout: Option<Duration>) {
        let ts = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
            tv_nsec: t.subsec_nanos() as _,
        });
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: FUTEX_WAIT reads the aligned 32-bit word at `atom` (valid for the call, since we
        // hold a reference) and an optional relative timespec that lives on this stack frame.
        // Its errors (EAGAIN: the value changed, EINTR, ETIMEDOUT) all mean "re-check", which
        // every caller does.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                atom.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                expected,
                ts_ptr,
            );
        }
    }

    /// Wakes one or every thread sleeping on `atom`.
    pub(super) fn wake(atom: &AtomicU32, all: bool) {
        let n = if all { i32::MAX } else { 1 };
        // SAFETY: FUTEX_WAKE only uses the address as a key; it never dereferences freed memory
        // because `atom` is a live reference.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                atom.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                n,
            );
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
    use std::time::{Duration, Instant};

    /// Sleeps while `atom` holds `expected`, for at most `timeout` (in 1 ms slices when timed,
    /// since `atomic-wait` has no timeout).
    pub(super) fn wait(atom: &AtomicU32, expected: u32, timeout: Option<Duration>) {
        match timeout {
            None => atomic_wait::wait(atom, expected),
            Some(t) => {
                let end = Instant::now() + t;
                // Relaxed: only decides whether to keep sleeping; the caller re-checks.
                while atom.load(Relaxed) == expected && Instant::now() < end {
                    std::thread::sleep(Duration::from_millis(1).min(t));
                }
            }
        }
    }

    /// Wakes one or every thread sleeping on `atom`.
    pub(super) fn wake(atom: &AtomicU32, all: bool) {
        if all {
            atomic_wait::wake_all(atom)
        } else {
            atomic_wait::wake_one(atom)
        }
    }
}
