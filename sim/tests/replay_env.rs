//! `LOCKSTEP_REPLAY` makes `check` replay one schedule instead of searching. This binary holds a
//! single test, because it sets the process environment.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use lockstep_sim::sync::atomic::{AtomicU32, Ordering::Relaxed};
use lockstep_sim::{Config, check, thread, try_check};

fn lost_update() {
    let n = Arc::new(AtomicU32::new(0));
    let n2 = Arc::clone(&n);
    let h = thread::spawn(move || n2.store(n2.load(Relaxed) + 1, Relaxed));
    n.store(n.load(Relaxed) + 1, Relaxed);
    h.join().unwrap();
    assert_eq!(n.load(Relaxed), 2, "lost update");
}

#[test]
fn replay_variable_reproduces_the_printed_failure() {
    let failure = try_check(Config::random(3, 1_000), lost_update).unwrap_err();
    // SAFETY: this test binary runs this one test, so no other thread reads the environment.
    unsafe { std::env::set_var("LOCKSTEP_REPLAY", failure.schedule.to_string()) };
    // A search that would find nothing by itself (one execution, no preemption) now replays.
    let panic = catch_unwind(AssertUnwindSafe(|| {
        check(Config::dfs(Some(0)).iterations(1), lost_update);
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains(&failure.table()), "{message}");
    assert!(message.contains(&format!("LOCKSTEP_REPLAY={}", failure.schedule)));

    // A schedule string with a typo is an error, not a search that passes as a replay.
    // SAFETY: as above.
    unsafe { std::env::set_var("LOCKSTEP_REPLAY", "0x3-1y2") };
    let panic = catch_unwind(AssertUnwindSafe(|| {
        check(Config::dfs(None), || {});
    }))
    .unwrap_err();
    // SAFETY: as above.
    unsafe { std::env::remove_var("LOCKSTEP_REPLAY") };
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("LOCKSTEP_REPLAY=\"0x3-1y2\" is not a schedule string"),
        "{message}"
    );
}
