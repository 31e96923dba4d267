//! proptest integration (cargo feature `proptest`): a strategy that yields [`Schedule`]s, so a
//! `proptest!` test explores interleavings and proptest shrinks a failing one.
//!
//! A schedule drawn here is a list of `(thread, count)` runs; replaying it runs each listed
//! thread for that many steps where it can, and continues without preemption after the end (see
//! [`Schedule`]), so every value is a valid schedule and proptest's shrinking (fewer runs,
//! smaller counts, lower thread numbers) leads to simpler interleavings.

use proptest::prelude::*;

use crate::{Config, Failure, Schedule, Stats};

/// Schedules over threads `0..threads` with at most `max_runs` runs of 1 to 4 steps each.
///
/// # Examples
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let mut runner = TestRunner::deterministic();
/// let s = lockstep_sim::proptest::schedules(3, 8).new_tree(&mut runner).unwrap().current();
/// assert!(s.runs().iter().all(|&(t, _)| t < 3));
/// assert!(s.len() <= 8 * 4);
/// ```
pub fn schedules(threads: usize, max_runs: usize) -> impl Strategy<Value = Schedule> {
    proptest::collection::vec((0..threads.max(1), 1..=4usize), 0..=max_runs)
        .prop_map(|runs| Schedule::from_runs(&runs))
}

/// Runs `f` once under `schedule` (no shrinking: proptest shrinks the schedule instead).
///
/// # Errors
///
/// The [`Failure`] if the execution fails.
///
/// # Examples
///
/// ```
/// let s: lockstep_sim::Schedule = "0".parse().unwrap();
/// assert!(lockstep_sim::proptest::run(&s, || {}).is_ok());
/// ```
#[track_caller]
pub fn run(schedule: &Schedule, f: impl Fn()) -> Result<Stats, Box<Failure>> {
    crate::try_check(Config::replay(schedule.clone()).shrink(false), f)
}
