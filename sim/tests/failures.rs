//! Each kind of failure is found, reported as a value, shrunk and replayed: a panic, a deadlock,
//! a data race on a cell, a livelock; and what must not be reported is not.

use std::sync::Arc;

use lockstep_sim::sync::atomic::{AtomicBool, AtomicU32, Ordering::*};
use lockstep_sim::sync::cell::{SharedCell, UnsafeCell};
use lockstep_sim::sync::{futex, hint};
use lockstep_sim::{Config, FailureKind, Op, check, thread, try_check};

/// A futex lock on the simulator's atomics: 0 free, 1 held, 2 held with waiters.
struct Lock(AtomicU32);

impl Lock {
    fn lock(&self) {
        if self.0.compare_exchange(0, 1, Acquire, Relaxed).is_err() {
            while self.0.swap(2, Acquire) != 0 {
                futex::wait(&self.0, 2, false);
            }
        }
    }
    fn unlock(&self) {
        if self.0.swap(0, Release) == 2 {
            futex::wake_one(&self.0);
        }
    }
}

fn two_locks_in_opposite_order() {
    let locks = Arc::new((Lock(AtomicU32::new(0)), Lock(AtomicU32::new(0))));
    let l2 = Arc::clone(&locks);
    let h = thread::spawn(move || {
        l2.1.lock();
        l2.0.lock();
        l2.0.unlock();
        l2.1.unlock();
    });
    locks.0.lock();
    locks.1.lock();
    locks.1.unlock();
    locks.0.unlock();
    h.join().unwrap();
}

#[test]
fn lock_order_inversion_is_a_deadlock() {
    for config in [
        Config::dfs(None),
        Config::pct(1, 2, 1_000),
        Config::random(1, 1_000),
    ] {
        let f = try_check(config, two_locks_in_opposite_order).unwrap_err();
        assert!(
            matches!(&f.kind, FailureKind::Deadlock { blocked } if blocked.len() == 2),
            "{f}"
        );
        let again = try_check(
            Config::replay(f.schedule.clone()),
            two_locks_in_opposite_order,
        )
        .unwrap_err();
        assert_eq!(again.trace, f.trace);
    }
}

#[test]
fn unsynchronized_cell_writes_are_a_data_race() {
    let f = try_check(Config::random(1, 10), || {
        let cell = Arc::new(SharedCell::new(0u32));
        let c2 = Arc::clone(&cell);
        let h = thread::spawn(move || c2.set(1));
        cell.set(2);
        h.join().unwrap();
    })
    .unwrap_err();
    match f.kind {
        FailureKind::DataRace { first, second, .. } => {
            assert!(first.write && second.write);
            assert_ne!(first.thread, second.thread);
        }
        other => panic!("expected a data race, got {other}"),
    }
}

/// A cell published through a flag.
struct Published(UnsafeCell<u32>, AtomicBool);

// SAFETY: the tests below access the cell only as the flag allows; the checker verifies it (and
// must catch the test that publishes with Relaxed).
unsafe impl Sync for Published {}

#[test]
fn release_acquire_orders_cell_accesses() {
    // The classic message passing: data written, flag released; reader acquires the flag,
    // then reads the data. No race in any schedule.
    let stats = check(Config::dfs(None), || {
        let shared = Arc::new(Published(UnsafeCell::new(0u32), AtomicBool::new(false)));
        let s2 = Arc::clone(&shared);
        let h = thread::spawn(move || {
            // SAFETY: the reader touches the cell only after it sees the flag.
            s2.0.with_mut(|p| unsafe { *p = 42 });
            s2.1.store(true, Release);
        });
        while !shared.1.load(Acquire) {
            hint::spin_loop();
        }
        // SAFETY: the flag's Release/Acquire pair orders the write before this read.
        assert_eq!(shared.0.with(|p| unsafe { *p }), 42);
        h.join().unwrap();
    });
    assert!(stats.complete);
}

#[test]
fn relaxed_flag_does_not_order_cell_accesses() {
    let f = try_check(Config::dfs(None), || {
        let shared = Arc::new(Published(UnsafeCell::new(0u32), AtomicBool::new(false)));
        let s2 = Arc::clone(&shared);
        let h = thread::spawn(move || {
            // SAFETY: deliberately unsound publication, for the checker to catch.
            s2.0.with_mut(|p| unsafe { *p = 42 });
            s2.1.store(true, Relaxed);
        });
        while !shared.1.load(Relaxed) {
            hint::spin_loop();
        }
        // SAFETY: as above: this read races with the write.
        let _ = shared.0.with(|p| unsafe { *p });
        h.join().unwrap();
    })
    .unwrap_err();
    assert!(matches!(f.kind, FailureKind::DataRace { .. }), "{f}");
}

#[test]
fn spinning_forever_is_a_livelock() {
    let f = try_check(Config::random(1, 1).max_steps(200), || {
        let flag = AtomicBool::new(false);
        while !flag.load(Acquire) {
            hint::spin_loop();
        }
    })
    .unwrap_err();
    assert!(matches!(f.kind, FailureKind::StepLimit { .. }), "{f}");
}

#[test]
fn timed_wait_times_out_only_when_nothing_else_can_run() {
    check(Config::dfs(None), || {
        let word = Arc::new(AtomicU32::new(0));
        let w2 = Arc::clone(&word);
        let h = thread::spawn(move || {
            w2.store(1, Release);
            futex::wake_all(&w2);
        });
        // Either woken (or the value changed first), or timed out after the other thread ended.
        let woken = futex::wait(&word, 0, true);
        h.join().unwrap();
        assert!(woken || word.load(Acquire) == 1);
    });
}

#[test]
fn trace_names_values_and_locations() {
    let f = try_check(Config::random(1, 1), || {
        let a = AtomicU32::new(5);
        a.fetch_add(2, Relaxed);
        assert_eq!(a.load(Relaxed), 8);
    })
    .unwrap_err();
    assert!(f.trace.iter().any(|e| e.op
        == Op::Rmw {
            name: "fetch_add",
            old: 5,
            new: 7
        }));
    assert!(f.trace.iter().all(|e| e.location.file().ends_with(".rs")));
    assert!(f.table().contains("fetch_add #0: 5 -> 7"));
}
