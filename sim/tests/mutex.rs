//! The modelled `Mutex`: one step per lock, a held lock keeps its waiters off the schedule,
//! unlocks publish happens-before, and the bugs a lock is about (a lost update when the lock is
//! dropped too early, a lock-order inversion, relocking) are found, shrunk and replayed.

use std::sync::Arc;

use lockstep_sim::sync::Mutex;
use lockstep_sim::sync::atomic::{AtomicI64, Ordering::Relaxed};
use lockstep_sim::sync::cell::SharedCell;
use lockstep_sim::{Config, FailureKind, Op, check, thread, try_check};

/// `threads` threads each do `iters` rounds of `x += 100; x -= 100`, each update a load and a
/// store under the lock; the main thread checks the sum.
fn locked_counter(threads: usize, iters: usize) -> impl Fn() {
    move || {
        let x = Arc::new((AtomicI64::new(0), Mutex::new(())));
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                let x = Arc::clone(&x);
                thread::spawn(move || {
                    let (v, l) = &*x;
                    for _ in 0..iters {
                        for d in [100, -100] {
                            let _g = l.lock().unwrap();
                            v.store(v.load(Relaxed) + d, Relaxed);
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(x.0.load(Relaxed), 0);
    }
}

#[test]
fn exhaustive_search_of_the_locked_counter_is_complete_and_clean() {
    for (threads, iters) in [(2, 1), (2, 2), (3, 1)] {
        let stats = check(Config::dfs(None), locked_counter(threads, iters));
        assert!(stats.complete, "{threads}x{iters}: {stats:?}");
        // Each critical section is a lock, a load and a store: with the lock modelled as one
        // step the search is small (a futex lock built on atomics needs millions at 2x2).
        assert!(stats.schedules < 20_000, "{threads}x{iters}: {stats:?}");
    }
}

#[test]
fn critical_sections_never_overlap_under_any_scheduler() {
    let body = || {
        let inside = Arc::new((Mutex::new(()), AtomicI64::new(0)));
        let i2 = Arc::clone(&inside);
        let enter = move |s: &(Mutex<()>, AtomicI64)| {
            let _g = s.0.lock().unwrap();
            assert_eq!(s.1.fetch_add(1, Relaxed), 0, "two threads inside");
            s.1.fetch_sub(1, Relaxed);
        };
        let h = thread::spawn(move || {
            enter(&i2);
            enter(&i2);
        });
        enter(&inside);
        enter(&inside);
        h.join().unwrap();
    };
    for config in [
        Config::dfs(None),
        Config::random(7, 500),
        Config::pct(7, 3, 500),
    ] {
        check(config, body);
    }
}

/// The lost update again: the lock is taken for the load and for the store separately.
fn lock_dropped_between_load_and_store() {
    let x = Arc::new((Mutex::new(()), AtomicI64::new(0)));
    let x2 = Arc::clone(&x);
    let add = |s: &(Mutex<()>, AtomicI64)| {
        let v = {
            let _g = s.0.lock().unwrap();
            s.1.load(Relaxed)
        };
        let _g = s.0.lock().unwrap();
        s.1.store(v + 100, Relaxed);
    };
    let h = thread::spawn(move || add(&x2));
    add(&x);
    h.join().unwrap();
    assert_eq!(x.1.load(Relaxed), 200);
}

#[test]
fn a_lock_dropped_too_early_is_caught_shrunk_and_replayed() {
    for config in [Config::dfs(None), Config::pct(3, 3, 2_000)] {
        let f = try_check(config, lock_dropped_between_load_and_store).unwrap_err();
        assert!(matches!(f.kind, FailureKind::Panic { .. }), "{f}");
        // The shrunk interleaving switches threads between the two critical sections.
        let locks = f.trace.iter().filter(|e| e.op == Op::Lock).count();
        assert!(locks >= 3, "{f}");
        assert!(f.trace.iter().any(|e| e.op == Op::Unlock), "{f}");
        let again = try_check(
            Config::replay(f.schedule.clone()),
            lock_dropped_between_load_and_store,
        )
        .unwrap_err();
        assert_eq!(again.trace, f.trace);
    }
}

fn opposite_order() {
    let m = Arc::new((Mutex::new(()), Mutex::new(())));
    let m2 = Arc::clone(&m);
    let h = thread::spawn(move || {
        let _b = m2.1.lock().unwrap();
        let _a = m2.0.lock().unwrap();
    });
    {
        let _a = m.0.lock().unwrap();
        let _b = m.1.lock().unwrap();
    }
    h.join().unwrap();
}

#[test]
fn lock_order_inversion_is_a_deadlock_of_both_threads() {
    for config in [Config::dfs(None), Config::random(1, 1_000)] {
        let f = try_check(config, opposite_order).unwrap_err();
        assert!(
            matches!(&f.kind, FailureKind::Deadlock { blocked } if blocked.len() == 2),
            "{f}"
        );
    }
}

#[test]
fn relocking_a_held_mutex_is_a_deadlock() {
    let f = try_check(Config::random(1, 1), || {
        let m = Mutex::new(0);
        let _g = m.lock().unwrap();
        let _again = m.lock();
    })
    .unwrap_err();
    assert!(
        matches!(&f.kind, FailureKind::Deadlock { blocked } if blocked == &[0]),
        "{f}"
    );
}

#[test]
fn try_lock_fails_while_held_and_succeeds_after() {
    check(Config::dfs(None), || {
        let m = Arc::new(Mutex::new(0));
        let m2 = Arc::clone(&m);
        let h = thread::spawn(move || {
            let mut g = m2.lock().unwrap();
            *g += 1;
        });
        // Until the other thread unlocks, `try_lock` may fail; it never blocks.
        loop {
            match m.try_lock() {
                Ok(g) if *g == 1 => break,
                Ok(g) => drop(g),
                Err(_) => {}
            }
            lockstep_sim::sync::hint::spin_loop();
        }
        h.join().unwrap();
    });
}

#[test]
fn data_under_the_lock_is_race_free_and_without_it_is_not() {
    let run = |locked: bool| {
        move || {
            let s = Arc::new((Mutex::new(()), SharedCell::new(0i64)));
            let s2 = Arc::clone(&s);
            let bump = move |s: &(Mutex<()>, SharedCell<i64>)| {
                let _g = locked.then(|| s.0.lock().unwrap());
                s.1.set(s.1.get() + 1);
            };
            let h = thread::spawn(move || bump(&s2));
            bump(&s);
            h.join().unwrap();
        }
    };
    check(Config::dfs(None), run(true));
    let f = try_check(Config::dfs(None), run(false)).unwrap_err();
    assert!(matches!(f.kind, FailureKind::DataRace { .. }), "{f}");
}

#[test]
fn outside_a_check_it_is_a_real_lock() {
    let m = Arc::new(Mutex::new(0u64));
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..10_000 {
                    *m.lock().unwrap() += 1;
                }
            });
        }
    });
    assert_eq!(*m.lock().unwrap(), 40_000);
    assert!(!m.is_poisoned());
}

static SHARED: Mutex<u32> = Mutex::new(0);

/// A real bug under a `static` mutex: the value checked is wrong. Unwinding the failing
/// execution must not poison the mutex for the next one (shrinking and the recorded replay
/// would then report a `PoisonError` instead of the bug).
fn wrong_sum_under_a_static_mutex() {
    *SHARED.lock().unwrap() = 0;
    let h = thread::spawn(|| *SHARED.lock().unwrap() += 1);
    let mut g = SHARED.lock().unwrap();
    *g += 1;
    // Panics while holding the guard: std would poison the mutex.
    assert_eq!(*g, 2, "the other thread has not added yet");
    drop(g);
    h.join().unwrap();
}

#[test]
fn a_static_mutex_is_not_poisoned_by_a_failed_execution() {
    let f = try_check(Config::dfs(None), wrong_sum_under_a_static_mutex).unwrap_err();
    assert!(
        matches!(&f.kind, FailureKind::Panic { message, .. } if message.contains("has not added yet")),
        "{f}"
    );
    assert!(!f.trace.is_empty());
    let again = try_check(
        Config::replay(f.schedule.clone()),
        wrong_sum_under_a_static_mutex,
    )
    .unwrap_err();
    assert_eq!(again.table(), f.table());
    assert!(!SHARED.is_poisoned());
}
