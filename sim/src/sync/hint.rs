//! The spin-loop hint.

use std::panic::Location;

use crate::rt;

/// Signals a spin loop: outside a simulation `core::hint::spin_loop`; inside one, "yield, no
/// progress": the thread is not scheduled again until another thread writes a shared value, or
/// until nothing else can run (then it looks again). A spin that nothing will end is reported
/// as a failure, not a hang: a livelock at the step limit ([`Config::max_steps`]), or under
/// RC11 a check in which no execution runs to the end.
///
/// [`Config::max_steps`]: crate::Config::max_steps
///
/// # Examples
///
/// ```
/// lockstep_sim::sync::hint::spin_loop();
/// ```
#[track_caller]
#[inline]
pub fn spin_loop() {
    match rt::current() {
        None => core::hint::spin_loop(),
        Some(e) => rt::spin(e, Location::caller()),
    }
}
