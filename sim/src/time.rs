//! Simulated time: inside a running check the clock starts at the same instant in every
//! execution and moves only when a timed wait times out or a thread sleeps, so a five-second
//! timeout costs nothing and replays identically. Outside a check it is the real clock.

use std::sync::OnceLock;
use std::time::Instant;

use crate::context;

/// The instant every execution's clock starts at.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// The current time: the simulated clock inside a running check, [`Instant::now`] outside.
///
/// Inside a check the clock advances only when a timed wait times out (to its deadline) or a
/// thread sleeps (by the duration), so code that measures elapsed time sees simulated time.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lockstep_sim::{Config, check, thread, time};
///
/// check(Config::random(1, 3), || {
///     let start = time::now();
///     thread::sleep(Duration::from_secs(60)); // no real time passes
///     assert_eq!(time::now() - start, Duration::from_secs(60));
/// });
/// ```
pub fn now() -> Instant {
    match context::with(|s| s.clock) {
        Some(clock) => epoch() + clock,
        None => Instant::now(),
    }
}

/// Moves the simulated clock forward to `t` (never back); nothing outside a simulation.
pub(crate) fn advance_to(t: Instant) {
    let since = t.saturating_duration_since(epoch());
    context::with(|s| s.clock = s.clock.max(since));
}
