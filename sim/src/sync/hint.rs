//! The spin-loop hint.

use std::panic::Location;

use crate::rt;

/// Signals a spin loop: outside a simulation `core::hint::spin_loop`; inside one, "yield, no
/// progress": the thread is not scheduled again until another thread writes a shared value, and
/// when every thread is spinning or blocked the execution is reported as a deadlock.
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
