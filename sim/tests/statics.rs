//! Atomics in `static`s: every execution of a check starts from the values they held when the
//! check began, and the check gives those values back when it ends. Without this the first
//! execution of a lazy initialization set the static flag for all the others, so the exhaustive
//! search reported a complete, clean check of a racy check-then-act, and a replay, starting from
//! the values the check left, did not reproduce its failure.

use std::sync::atomic::Ordering::SeqCst;

use lockstep_sim::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use lockstep_sim::{Config, FailureKind, MemoryModel, check, thread, try_check};

/// A lazy initialization with a check-then-act race, on statics.
mod racy {
    use super::*;

    pub(super) static READY: AtomicBool = AtomicBool::new(false);
    pub(super) static INITS: AtomicU32 = AtomicU32::new(0);

    pub(super) fn get() {
        if !READY.load(Ordering::Acquire) {
            INITS.fetch_add(1, Ordering::Relaxed);
            READY.store(true, Ordering::Release);
        }
    }

    pub(super) fn scenario() {
        let h = thread::spawn(get);
        get();
        h.join().unwrap();
        assert_eq!(INITS.load(Ordering::Relaxed), 1, "initialized twice");
    }
}

/// The same initialization claimed by a compare-and-swap, on statics.
mod claimed {
    use super::*;

    static CLAIMED: AtomicBool = AtomicBool::new(false);
    pub(super) static INITS: AtomicU32 = AtomicU32::new(0);

    fn get() {
        if CLAIMED
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            INITS.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(super) fn scenario() {
        let h = thread::spawn(get);
        get();
        h.join().unwrap();
        assert_eq!(INITS.load(Ordering::Relaxed), 1, "initialized twice");
    }
}

/// The statics of this file are shared by its tests, which cargo runs in parallel.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_check_then_act_race_on_statics_is_found_and_replayed_exactly() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for config in [
        Config::dfs(None),
        Config::dfs(Some(1)),
        Config::dfs(None).memory_model(MemoryModel::X86Tso),
        Config::dfs(None).memory_model(MemoryModel::Rc11),
    ] {
        let failure = try_check(config.clone(), racy::scenario).unwrap_err();
        assert!(
            matches!(&failure.kind, FailureKind::Panic { message, .. } if message.contains("initialized twice")),
            "{config:?}: {failure}"
        );
        // The check gave the statics back: a replay starts where the check did.
        assert!(!racy::READY.load(SeqCst));
        assert_eq!(racy::INITS.load(SeqCst), 0);
        let replayed =
            try_check(Config::replay(failure.schedule.clone()), racy::scenario).unwrap_err();
        assert_eq!(replayed.trace, failure.trace, "{config:?}");
    }
}

#[test]
fn every_execution_of_a_correct_initialization_on_statics_starts_afresh() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // As many executions as the same program on fresh atomics: each starts from the same state.
    let fresh = check(Config::dfs(None), || {
        let claimed = std::sync::Arc::new(AtomicBool::new(false));
        let inits = std::sync::Arc::new(AtomicU32::new(0));
        let get = {
            let (claimed, inits) = (claimed.clone(), inits.clone());
            move || {
                if claimed
                    .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    inits.fetch_add(1, Ordering::Relaxed);
                }
            }
        };
        let h = thread::spawn(get.clone());
        get();
        h.join().unwrap();
        assert_eq!(inits.load(Ordering::Relaxed), 1);
    });
    let statics = check(Config::dfs(None), claimed::scenario);
    assert!(statics.complete && fresh.complete);
    assert_eq!(statics.schedules, fresh.schedules);
    assert!(statics.schedules > 1);
    for model in [MemoryModel::X86Tso, MemoryModel::Rc11] {
        assert!(check(Config::dfs(None).memory_model(model), claimed::scenario).complete);
    }
    assert_eq!(
        claimed::INITS.load(SeqCst),
        0,
        "given back when the check ended"
    );
}

#[test]
fn a_static_set_between_checks_is_where_the_next_check_starts() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Set before the check (outside it): every execution starts initialized, so none races.
    racy::READY.store(true, SeqCst);
    racy::INITS.store(1, SeqCst);
    let stats = check(Config::dfs(None), racy::scenario);
    assert!(stats.complete);
    assert!(racy::READY.load(SeqCst));
    assert_eq!(racy::INITS.load(SeqCst), 1);
    racy::READY.store(false, SeqCst);
    racy::INITS.store(0, SeqCst);
}
