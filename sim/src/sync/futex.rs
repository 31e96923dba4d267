//! Futex-shaped blocking on an [`AtomicU32`]: what a `Wait` implementation for the simulator
//! calls (`lockstep_core::SimWait` does).
//!
//! Inside a running check, [`wait`] blocks the simulated thread (it is not scheduled again)
//! until a [`wake_one`] or [`wake_all`] on the same word; when every thread is blocked, a timed
//! wait times out, and otherwise the execution is a deadlock. Waiters are woken in FIFO order.
//! Outside a check, `wait` is a spin hint that returns at once and the wakes do nothing, so a
//! caller's retry loop becomes a spin wait.

use std::panic::Location;

use crate::rt::{self, WaitEnd};
use crate::sync::atomic::AtomicU32;

/// Blocks while `atom` holds `expected`, until woken; returns `false` only if `timed` and the
/// wait timed out.
///
/// Inside a simulation a timed wait times out only when no other thread can run (time passes
/// when nothing else can happen), or, with
/// [`Config::explore_timeouts`](crate::Config::explore_timeouts), at any step the scheduler
/// chooses. Outside a simulation it spins once and returns `true`.
///
/// # Examples
///
/// ```
/// use lockstep_sim::sync::atomic::AtomicU32;
/// use lockstep_sim::sync::futex;
///
/// let word = AtomicU32::new(1);
/// assert!(futex::wait(&word, 0, false)); // the word holds 1, not 0: returns at once
/// ```
#[track_caller]
pub fn wait(atom: &AtomicU32, expected: u32, timed: bool) -> bool {
    match rt::current() {
        None => {
            core::hint::spin_loop();
            true
        }
        Some(e) => {
            rt::futex_wait(e, atom.as_raw(), expected, timed, Location::caller())
                != WaitEnd::TimedOut
        }
    }
}

/// Wakes the longest-waiting thread blocked in [`wait`] on `atom`, if any; returns how many
/// were woken (0 outside a simulation).
///
/// # Examples
///
/// ```
/// use lockstep_sim::sync::atomic::AtomicU32;
///
/// assert_eq!(lockstep_sim::sync::futex::wake_one(&AtomicU32::new(0)), 0);
/// ```
#[track_caller]
pub fn wake_one(atom: &AtomicU32) -> usize {
    match rt::current() {
        None => 0,
        Some(e) => rt::futex_wake(
            e,
            atom as *const AtomicU32 as usize,
            false,
            Location::caller(),
        ),
    }
}

/// Wakes every thread blocked in [`wait`] on `atom`; returns how many were woken (0 outside a
/// simulation).
///
/// # Examples
///
/// ```
/// use lockstep_sim::sync::atomic::AtomicU32;
///
/// assert_eq!(lockstep_sim::sync::futex::wake_all(&AtomicU32::new(0)), 0);
/// ```
#[track_caller]
pub fn wake_all(atom: &AtomicU32) -> usize {
    match rt::current() {
        None => 0,
        Some(e) => rt::futex_wake(
            e,
            atom as *const AtomicU32 as usize,
            true,
            Location::caller(),
        ),
    }
}

/// Like [`wait`] with a deadline on the clock of [`time::now`](crate::time::now): returns
/// `false` if the deadline passed (or had already passed) before a wake.
///
/// Inside a simulation this is a timed [`wait`]; when it times out the simulated clock moves to
/// `deadline`, so a timeout costs no real time. Outside a simulation it spins once and returns
/// whether the deadline is still ahead.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use lockstep_sim::sync::atomic::AtomicU32;
/// use lockstep_sim::sync::futex;
///
/// let word = AtomicU32::new(0);
/// assert!(!futex::wait_until(&word, 0, Instant::now())); // already passed
/// ```
#[track_caller]
pub fn wait_until(atom: &AtomicU32, expected: u32, deadline: std::time::Instant) -> bool {
    if crate::time::now() >= deadline {
        return false;
    }
    match rt::current() {
        None => {
            core::hint::spin_loop();
            std::time::Instant::now() < deadline
        }
        Some(e) => {
            let end = rt::futex_wait(e, atom.as_raw(), expected, true, Location::caller());
            if end == WaitEnd::TimedOut {
                crate::time::advance_to(deadline);
                false
            } else {
                true
            }
        }
    }
}
