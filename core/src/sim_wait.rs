//! [`SimWait`], the [`Wait`] of the deterministic simulator (cargo feature `sim`).

use core::fmt;

use crate::sync::atomic::AtomicU32;
use crate::wait::Wait;
use lockstep_sim::sync::futex;

/// Blocks a simulated thread through `lockstep-sim`'s futex: the [`Wait`] for checking this
/// crate's primitives under the simulator.
///
/// Inside a running `lockstep_sim::check`, `wait` blocks the simulated thread until a wake on
/// the same word (the scheduler runs other threads meanwhile; when every thread is blocked the
/// execution is reported as a deadlock), and wakes are scheduling steps. Timeouts are counted in
/// `wait` calls; a timed wait expires only when no other thread can run. Outside a simulation
/// `wait` is one spin hint and returns, so primitives degrade to spin waits.
///
/// # Examples
///
/// ```
/// use lockstep_core::{Mutex, SimWait};
///
/// let m: Mutex<u32, SimWait> = Mutex::new(0);
/// lockstep_sim::check(lockstep_sim::Config::random(1, 10), || {
///     *m.lock() += 1;
/// });
/// assert_eq!(*m.lock(), 10);
/// ```
pub struct SimWait(());

impl fmt::Debug for SimWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SimWait")
    }
}

impl Wait for SimWait {
    /// The number of [`wait`](Wait::wait) calls before a timed operation gives up.
    type Timeout = u32;
    /// The remaining number of `wait` calls.
    type Deadline = u32;

    #[inline]
    fn deadline(timeout: u32) -> u32 {
        timeout
    }

    #[track_caller]
    fn wait(atom: &AtomicU32, expected: u32, deadline: Option<&mut u32>) -> bool {
        match deadline {
            None => futex::wait(atom, expected, false),
            Some(left) => {
                if *left == 0 {
                    return false;
                }
                *left -= 1;
                if futex::wait(atom, expected, true) {
                    true
                } else {
                    *left = 0;
                    false
                }
            }
        }
    }

    #[track_caller]
    fn wake_one(atom: &AtomicU32) {
        futex::wake_one(atom);
    }

    #[track_caller]
    fn wake_all(atom: &AtomicU32) {
        futex::wake_all(atom);
    }
}
