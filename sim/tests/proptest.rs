//! proptest drives the simulator: schedules are drawn as values, so proptest explores
//! interleavings and shrinks a failing one.
#![cfg(feature = "proptest")]

use std::sync::Arc;

use lockstep_sim::proptest::{run, schedules};
use lockstep_sim::sync::atomic::{AtomicU32, Ordering::Relaxed};
use lockstep_sim::thread;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestError, TestRunner};

/// Two threads increment a counter with `fetch_add` (`atomic: true`) or a separate load and
/// store; the main thread checks the total.
fn counter(atomic: bool) -> impl Fn() {
    move || {
        let n = Arc::new(AtomicU32::new(0));
        let n2 = Arc::clone(&n);
        let bump = move |n: &AtomicU32| {
            if atomic {
                n.fetch_add(1, Relaxed);
            } else {
                n.store(n.load(Relaxed) + 1, Relaxed);
            }
        };
        let h = thread::spawn(move || bump(&n2));
        bump(&n);
        h.join().unwrap();
        assert_eq!(n.load(Relaxed), 2);
    }
}

proptest! {
    #![proptest_config(RunnerConfig { cases: 64, ..RunnerConfig::default() })]

    #[test]
    fn fetch_add_never_loses_an_update(s in schedules(2, 8)) {
        prop_assert!(run(&s, counter(true)).is_ok());
    }
}

#[test]
fn proptest_finds_and_shrinks_the_lost_update() {
    let mut runner = TestRunner::new(RunnerConfig {
        cases: 256,
        ..RunnerConfig::default()
    });
    let result = runner.run(&schedules(2, 8), |s| {
        prop_assert!(run(&s, counter(false)).is_ok());
        Ok(())
    });
    match result {
        Err(TestError::Fail(_, schedule)) => {
            // The shrunk schedule still fails, and replays to the same failure.
            let failure = run(&schedule, counter(false)).unwrap_err();
            assert_eq!(
                run(&schedule, counter(false)).unwrap_err().trace,
                failure.trace
            );
            assert!(schedule.runs().len() <= 4, "not shrunk: {schedule}");
        }
        other => panic!("expected a failing schedule, got {other:?}"),
    }
}
