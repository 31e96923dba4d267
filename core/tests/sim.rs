//! The core's primitives checked under the deterministic simulator (cargo feature `sim`):
//! mutual exclusion, semaphore bounds, no missed event, no lost wake-up, and a deliberately
//! broken lock that the checker must catch with a shrunk, replayable trace.
//!
//! Sizes are small by default; `LOCKSTEP_TEST_SCALE=N` multiplies the random and PCT budgets.
#![cfg(feature = "sim")]

use std::sync::Arc;

use lockstep_core::{Condvar, Event, Mutex, Semaphore, SimWait};
use lockstep_sim::sync::atomic::{AtomicBool, AtomicU32, Ordering::*};
use lockstep_sim::sync::cell::SharedCell;
use lockstep_sim::sync::hint::spin_loop;
use lockstep_sim::{Config, FailureKind, MemoryModel, check, thread, try_check};

/// The test-size multiplier from `LOCKSTEP_TEST_SCALE` (1 by default).
fn scale() -> usize {
    lockstep_sim::test_scale()
}

/// `threads` threads each run `iters` critical sections of a read and a write (two steps, so
/// an interleaving inside would lose an update and race).
fn mutex_counter(threads: usize, iters: usize) -> impl Fn() {
    move || {
        let m = Arc::new(Mutex::<u32, SimWait>::new(0));
        let shadow = Arc::new(SharedCell::new(0u32));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (m, shadow) = (Arc::clone(&m), Arc::clone(&shadow));
                thread::spawn(move || {
                    for _ in 0..iters {
                        let mut g = m.lock();
                        shadow.set(shadow.get() + 1);
                        *g += 1;
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(*m.lock(), (threads * iters) as u32);
        assert_eq!(shadow.get(), (threads * iters) as u32);
    }
}

#[test]
fn mutex_is_exclusive_in_every_execution_2x2_and_3x1() {
    // The optimal search runs each trace of the futex lock algorithm once: 750 and 3,594.
    for (threads, iters) in [(2, 2), (3, 1)] {
        let stats = check(Config::dfs(None), mutex_counter(threads, iters));
        assert!(stats.complete, "{stats:?}");
        assert_eq!(stats.abandoned, 0, "{stats:?}");
    }
}

#[test]
fn mutex_is_exclusive_in_every_execution_2x3() {
    // 107,624 traces, each run once.
    let stats = check(Config::dfs(None), mutex_counter(2, 3));
    assert!(stats.complete, "{stats:?}");
    assert_eq!((stats.schedules, stats.abandoned), (107_624, 0));
}

#[test]
fn mutex_is_exclusive_3x2_within_two_preemptions() {
    let stats = check(Config::dfs(Some(2)), mutex_counter(3, 2));
    assert!(stats.exhausted, "{stats:?}");
}

#[test]
fn mutex_is_exclusive_under_pct_and_random() {
    check(Config::pct(1, 3, 2_000 * scale()), mutex_counter(3, 3));
    check(Config::random(2, 2_000 * scale()), mutex_counter(3, 3));
}

/// `threads` threads each take a permit of a semaphore bounded at `max`, count themselves
/// inside, and give it back.
fn semaphore_bound(threads: usize, max: u32) -> impl Fn() {
    move || {
        let s = Arc::new(Semaphore::<SimWait>::bounded(max));
        let inside = Arc::new(AtomicU32::new(0));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (s, inside) = (Arc::clone(&s), Arc::clone(&inside));
                thread::spawn(move || {
                    let _permit = s.acquire_permit();
                    let before = inside.fetch_add(1, SeqCst);
                    assert!(
                        before < max,
                        "{} threads inside a semaphore bounded at {max}",
                        before + 1
                    );
                    inside.fetch_sub(1, SeqCst);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(s.available(), max, "a permit was lost");
        assert!(
            s.release().is_err(),
            "a bounded semaphore accepted an extra permit"
        );
    }
}

#[test]
fn bounded_semaphore_never_exceeds_its_bound_nor_loses_a_permit() {
    assert!(check(Config::dfs(None), semaphore_bound(2, 1)).complete);
    assert!(check(Config::dfs(Some(2)), semaphore_bound(3, 2)).exhausted);
    check(Config::pct(3, 3, 1_000 * scale()), semaphore_bound(3, 1));
}

/// A bounded semaphore of one permit as a lock around a plain cell: the permit's release and
/// acquisition must order the critical sections.
fn semaphore_as_lock() {
    let s = Arc::new(Semaphore::<SimWait>::bounded(1));
    let count = Arc::new(SharedCell::new(0i64));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (s, count) = (Arc::clone(&s), Arc::clone(&count));
            thread::spawn(move || {
                let _p = s.acquire_permit();
                count.set(count.get() + 100);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(count.get(), 200);
}

#[test]
fn lecture_bounded_semaphore_one_is_a_lock() {
    let stats = check(Config::dfs(None), || {
        let s = Arc::new(Semaphore::<SimWait>::bounded(1));
        let count = Arc::new(SharedCell::new(0i64));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (s, count) = (Arc::clone(&s), Arc::clone(&count));
                thread::spawn(move || {
                    let _p = s.acquire_permit();
                    count.set(count.get() + 100);
                    count.set(count.get() - 100);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(count.get(), 0);
    });
    assert!(stats.complete);
}

/// Two waiters and a set: each waiter wakes and sees the data published before the set.
fn event_two_waiters() {
    let ev = Arc::new(Event::<SimWait>::new());
    let data = Arc::new(SharedCell::new(0u32));
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let (ev, data) = (Arc::clone(&ev), Arc::clone(&data));
            thread::spawn(move || {
                ev.wait();
                // set() publishes with Release, wait() reads with Acquire: no data race (read
                // before anything else that could synchronize).
                assert_eq!(data.get(), 42);
                assert!(ev.is_set());
            })
        })
        .collect();
    data.set(42);
    ev.set();
    for h in waiters {
        h.join().unwrap();
    }
}

#[test]
fn event_waiter_never_misses_a_set() {
    let stats = check(Config::dfs(None), event_two_waiters);
    assert!(stats.complete, "{stats:?}");
}

/// A consumer waits on a condition variable for a flag its producer sets under the mutex.
fn condvar_handoff() {
    let pair = Arc::new((
        Mutex::<bool, SimWait>::new(false),
        Condvar::<SimWait>::new(),
    ));
    let p2 = Arc::clone(&pair);
    let consumer = thread::spawn(move || {
        let (m, cv) = &*p2;
        let g = cv.wait_while(m.lock(), |ready| !*ready);
        assert!(*g);
    });
    let (m, cv) = &*pair;
    *m.lock() = true;
    cv.notify_one();
    consumer.join().unwrap();
}

#[test]
fn condvar_has_no_lost_wake_up() {
    let stats = check(Config::dfs(None), condvar_handoff);
    assert!(stats.complete, "{stats:?}");
}

/// Two waiters, one `notify_all`: both wake.
fn condvar_broadcast() {
    let pair = Arc::new((Mutex::<u32, SimWait>::new(0), Condvar::<SimWait>::new()));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let p = Arc::clone(&pair);
            thread::spawn(move || {
                let (m, cv) = &*p;
                let mut g = cv.wait_while(m.lock(), |go| *go == 0);
                *g += 1;
            })
        })
        .collect();
    let (m, cv) = &*pair;
    *m.lock() = 1;
    cv.notify_all();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*m.lock(), 3);
}

#[test]
fn condvar_notify_all_wakes_every_waiter() {
    let stats = check(Config::dfs(Some(3)), condvar_broadcast);
    assert!(stats.exhausted, "{stats:?}");
}

/// The primitives again with store buffers (x86-TSO, `Config::weak_memory`): their wake-up
/// protocols (a state change, then a read of the waiter count) must hold when a store is still
/// invisible to other threads, which sequentially consistent runs cannot show.
#[test]
fn primitives_hold_under_weak_memory() {
    let runs = 1_000 * scale();
    let scenarios: [(&str, &dyn Fn()); 6] = [
        ("mutex", &mutex_counter(3, 2)),
        ("semaphore", &semaphore_bound(3, 1)),
        ("event", &event_two_waiters),
        ("condvar", &condvar_handoff),
        ("condvar all", &condvar_broadcast),
        ("mpmc 2p2c", &mpmc_2p2c),
    ];
    let configs = [Config::pct(11, 3, runs), Config::random(12, runs)];
    hold_under("weak memory", MemoryModel::X86Tso, &configs, &scenarios);
}

/// Runs every scenario under every config with `model`; panics with the first failure.
fn hold_under(what: &str, model: MemoryModel, configs: &[Config], scenarios: &[(&str, &dyn Fn())]) {
    for &(name, f) in scenarios {
        for config in configs {
            let config = config.clone().memory_model(model);
            if let Err(failure) = lockstep_sim::try_check(config, f) {
                panic!("{name} under {what}:\n{failure}");
            }
        }
    }
}

/// The primitives under RC11 (`MemoryModel::Rc11`), the memory model of Rust's atomics: a
/// load may read any store coherence and happens-before allow, so every ordering weaker than
/// SeqCst in the algorithms is put to the test. Exhaustive at the smallest sizes, sampled
/// beyond.
#[test]
fn primitives_hold_under_rc11_exhaustively() {
    let scenarios: [(&str, &dyn Fn()); 6] = [
        ("mutex 2x1", &mutex_counter(2, 1)),
        ("mutex 2x2", &mutex_counter(2, 2)),
        ("semaphore", &semaphore_bound(2, 1)),
        ("semaphore as a lock", &semaphore_as_lock),
        ("event", &event_two_waiters),
        ("condvar", &condvar_handoff),
    ];
    for (name, f) in scenarios {
        match lockstep_sim::try_check(Config::dfs(None).memory_model(MemoryModel::Rc11), f) {
            Ok(stats) => assert!(stats.complete, "{name}: {stats:?}"),
            Err(failure) => panic!("{name} under RC11:\n{failure}"),
        }
    }
}

#[test]
fn primitives_hold_under_rc11_sampled() {
    let runs = 500 * scale();
    let scenarios: [(&str, &dyn Fn()); 5] = [
        ("mutex", &mutex_counter(3, 2)),
        ("semaphore", &semaphore_bound(3, 1)),
        ("condvar all", &condvar_broadcast),
        ("mpmc 2p2c", &mpmc_2p2c),
        ("event", &event_two_waiters),
    ];
    let configs = [Config::pct(21, 3, runs), Config::random(22, runs)];
    hold_under("RC11", MemoryModel::Rc11, &configs, &scenarios);
}

/// A lock that checks, then sets, without a compare-and-swap: two threads can both see it
/// free. Kept here so the checker is shown to catch it.
struct BrokenLock(AtomicBool);

impl BrokenLock {
    fn lock(&self) {
        while self.0.load(Acquire) {
            spin_loop();
        }
        self.0.store(true, Relaxed);
    }

    fn unlock(&self) {
        self.0.store(false, Release);
    }
}

fn broken_lock_counter() {
    let lock = Arc::new(BrokenLock(AtomicBool::new(false)));
    let count = Arc::new(SharedCell::new(0i64));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (lock, count) = (Arc::clone(&lock), Arc::clone(&count));
            thread::spawn(move || {
                for _ in 0..2 {
                    lock.lock();
                    count.set(count.get() + 100);
                    count.set(count.get() - 100);
                    lock.unlock();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(count.get(), 0);
}

#[test]
fn broken_check_then_set_lock_is_caught_shrunk_and_replayed() {
    for config in [
        Config::random(5, 10_000),
        Config::pct(5, 2, 10_000),
        Config::dfs(None),
    ] {
        let failure = try_check(config, broken_lock_counter).unwrap_err();
        assert!(
            matches!(
                failure.kind,
                FailureKind::DataRace { .. } | FailureKind::Panic { .. }
            ),
            "{failure}"
        );
        // Both threads must pass the check before either sets: leaving the main thread (one
        // preemption) and switching between the checks (another) is all the bug needs.
        assert!(failure.preemptions <= 2, "{failure}");
        assert!(failure.preemptions <= failure.found.1);
        let text = failure.to_string();
        assert!(text.contains("LOCKSTEP_REPLAY="), "{text}");
        assert!(text.contains("core/tests/sim.rs"), "{text}");

        let again = try_check(
            Config::replay(failure.schedule.clone()),
            broken_lock_counter,
        )
        .unwrap_err();
        assert_eq!(again.kind, failure.kind);
        assert_eq!(again.trace, failure.trace);
        assert_eq!(again.table(), failure.table());
    }
}

#[test]
fn same_seed_gives_byte_identical_output() {
    let run = |seed| {
        try_check(Config::random(seed, 10_000), broken_lock_counter)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(run(11), run(11));
    let run_pct = |seed| {
        try_check(Config::pct(seed, 3, 10_000), broken_lock_counter)
            .unwrap_err()
            .svg()
    };
    assert_eq!(run_pct(12), run_pct(12));
}

#[test]
fn mutex_and_semaphore_work_outside_a_simulation() {
    let m = Mutex::<u32, SimWait>::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..1000 {
                    *m.lock() += 1;
                }
            });
        }
    });
    assert_eq!(m.into_inner(), 2000);
    let sem = Semaphore::<SimWait>::bounded(1);
    sem.acquire();
    assert!(!sem.acquire_timeout(3));
    sem.release().unwrap();
}

/// Two producers send `(producer, seq)` pairs through a 2-slot MPMC queue; two consumers take
/// two each. Every message arrives exactly once, and each consumer sees each producer's messages
/// in the order they were sent (FIFO).
fn mpmc_2p2c() {
    let q = Arc::new(lockstep_core::Queue::<(u32, u32), 2, SimWait>::new());
    let producers: Vec<_> = (0..2u32)
        .map(|p| {
            let q = Arc::clone(&q);
            thread::spawn(move || {
                for seq in 0..2u32 {
                    q.send((p, seq)).unwrap();
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let q = Arc::clone(&q);
            thread::spawn(move || {
                let got = [q.recv().unwrap(), q.recv().unwrap()];
                if got[0].0 == got[1].0 {
                    assert!(got[0].1 < got[1].1, "out of order: {got:?}");
                }
                got
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    let mut all: Vec<(u32, u32)> = consumers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(
        all,
        vec![(0, 0), (0, 1), (1, 0), (1, 1)],
        "lost or duplicated messages"
    );
    assert!(q.try_recv().is_err());
}

#[test]
fn mpmc_queue_delivers_exactly_once_in_fifo_order_2p2c() {
    // Two preemptions take seconds in a test build; LOCKSTEP_TEST_SCALE > 1 runs them.
    let bound = if scale() > 1 { 2 } else { 1 };
    assert!(check(Config::dfs(Some(bound)), mpmc_2p2c).exhausted);
    check(Config::pct(4, 3, 2_000 * scale()), mpmc_2p2c);
    check(Config::random(4, 2_000 * scale()), mpmc_2p2c);
}

#[test]
fn spsc_queue_delivers_in_order() {
    let program = |n: u32| {
        move || {
            // Leaked so both halves are 'static; one small queue per execution.
            let q: &'static lockstep_core::channel::Spsc<u32, 2, SimWait> =
                Box::leak(Box::new(lockstep_core::channel::Spsc::new()));
            let (mut tx, mut rx) = q.try_split().unwrap();
            let producer = thread::spawn(move || {
                for i in 0..n {
                    tx.send(i).unwrap();
                }
            });
            for i in 0..n {
                assert_eq!(rx.recv().unwrap(), i);
            }
            producer.join().unwrap();
        }
    };
    let stats = check(
        Config::dfs(Some(3)).iterations(20_000 * scale()),
        program(3),
    );
    assert!(stats.schedules > 0);
    // Under RC11, every execution of the ring's orderings with two messages.
    let stats = check(
        Config::dfs(None).memory_model(MemoryModel::Rc11),
        program(2),
    );
    assert!(stats.complete && stats.schedules > 0, "{stats:?}");
}

#[test]
fn the_broken_lock_is_caught_under_rc11_too() {
    let failure = try_check(
        Config::dfs(None).memory_model(MemoryModel::Rc11),
        broken_lock_counter,
    )
    .unwrap_err();
    assert!(
        matches!(
            failure.kind,
            FailureKind::Panic { .. } | FailureKind::DataRace { .. }
        ),
        "{failure}"
    );
    let again = try_check(
        Config::replay(failure.schedule.clone()),
        broken_lock_counter,
    )
    .unwrap_err();
    assert_eq!(again.kind, failure.kind);
}

#[test]
fn timed_acquire_gives_up_only_when_nothing_else_can_run() {
    let stats = check(Config::dfs(None), || {
        let s = Arc::new(Semaphore::<SimWait>::bounded(1));
        s.acquire();
        let s2 = Arc::clone(&s);
        let waiter = thread::spawn(move || s2.acquire_timeout(3));
        // The holder waits for the waiter, so the waiter's time runs out: it must say so.
        assert!(!waiter.join().unwrap());
        s.release().unwrap();
        assert_eq!(s.available(), 1);
    });
    assert!(stats.complete);
}
