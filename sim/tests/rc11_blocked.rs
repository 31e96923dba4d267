//! Under RC11 an execution that blocks in a spin loop or at a held `Mutex` stops there and is
//! counted in `Stats::blocked`, not run to the end. A check in which every execution blocked
//! looked at nothing: it used to pass (a thread spinning for ever on a flag set only after it
//! is joined was "complete", with 0 executions; a thread pool sampled with `Config::random`
//! ran 0 of 2,000). It now fails saying so.

use std::sync::Arc;

use lockstep_sim::sync::atomic::{AtomicBool, Ordering};
use lockstep_sim::sync::{Condvar, Mutex};
use lockstep_sim::{Config, FailureKind, MemoryModel, check, thread, try_check};

fn rc11(config: Config) -> Config {
    config.memory_model(MemoryModel::Rc11)
}

/// A livelock: the spinner waits for a flag the main thread sets only after joining it.
fn spin_for_ever() {
    let flag = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&flag);
    let h = thread::spawn(move || {
        while !f.load(Ordering::Acquire) {
            lockstep_sim::sync::hint::spin_loop();
        }
    });
    h.join().unwrap();
    flag.store(true, Ordering::Release);
}

#[test]
fn a_spin_that_never_ends_fails_the_exhaustive_rc11_search() {
    let failure = try_check(rc11(Config::dfs(None)), spin_for_ever).unwrap_err();
    match &failure.kind {
        FailureKind::Unsupported { message } => {
            assert!(message.contains("no execution RC11 allows"), "{message}");
            let text = failure.to_string();
            assert!(!text.contains("LOCKSTEP_REPLAY"), "{text}");
        }
        other => panic!("{other:?}"),
    }
}

/// Two threads taking turns on a `Mutex` + `Condvar`. Sampled under RC11, a lock that found the
/// mutex held used to block for good, so nearly every sample (all 20 here) stopped; sampling
/// now waits for the unlock, as the other memory models do.
fn turns() {
    let state = Arc::new((Mutex::new(0u32), Condvar::new()));
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let s = Arc::clone(&state);
            thread::spawn(move || {
                let mut g = s.0.lock().unwrap();
                *g += 1;
                s.1.notify_all();
                drop(g);
                let g = s.1.wait_while(s.0.lock().unwrap(), |n| *n < 2).unwrap();
                assert_eq!(*g, 2);
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

#[test]
fn sampling_under_rc11_waits_for_a_held_mutex_instead_of_blocking_for_good() {
    for config in [Config::random(1, 200), Config::pct(1, 3, 200)] {
        let stats = check(rc11(config.clone()), turns);
        assert_eq!(
            (stats.schedules, stats.blocked),
            (200, 0),
            "{config:?}: {stats:?}"
        );
    }
    // The exhaustive search reaches the executions where the lock is free.
    let stats = check(rc11(Config::dfs(None)), turns);
    assert!(stats.complete && stats.schedules > 0, "{stats:?}");
}

#[test]
fn sampling_that_runs_no_execution_to_the_end_fails_instead_of_passing() {
    match try_check(rc11(Config::random(1, 20)), spin_for_ever) {
        // Every one of the 20 samples blocks: passing would claim a check of nothing.
        Ok(stats) => panic!("passed having run no execution to the end: {stats:?}"),
        Err(failure) => match &failure.kind {
            FailureKind::Unsupported { message } => {
                assert!(message.contains("nothing was checked"), "{message}")
            }
            other => panic!("{other:?}"),
        },
    }
}
