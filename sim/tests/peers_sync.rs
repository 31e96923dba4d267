//! The scenarios of shuttle's `tests/basic/` (mutex, condvar, rwlock, mpsc, barrier, once,
//! lazy_static) and loom's `tests/` (mutex, condvar, rwlock, mpsc, deadlock), written against
//! `lockstep_sim::sync`: each correct program passes every explored interleaving, each planted
//! bug is found.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use lockstep_sim::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use lockstep_sim::sync::mpsc::{self, RecvError, RecvTimeoutError, TryRecvError};
use lockstep_sim::sync::{Barrier, Condvar, LazyLock, Mutex, Once, OnceLock, RwLock, TryLockError};
use lockstep_sim::{Config, FailureKind, Stats, check, thread, try_check};

/// A bounded exhaustive search: every interleaving with at most two preemptions.
fn dfs() -> Config {
    Config::dfs(Some(2))
}

/// A seeded random search, scaled by `LOCKSTEP_TEST_SCALE`.
fn random(n: usize) -> Config {
    Config::random(7, n * lockstep_sim::test_scale())
}

fn panics_with(config: Config, f: impl Fn(), needle: &str) {
    let failure = try_check(config, f).expect_err("the planted bug is found");
    match &failure.kind {
        FailureKind::Panic { message, .. } => {
            assert!(message.contains(needle), "{needle:?} not in {message:?}")
        }
        other => panic!("expected a panic with {needle:?}, got {other:?}"),
    }
}

fn deadlocks(config: Config, f: impl Fn()) {
    let failure = try_check(config, f).expect_err("the deadlock is found");
    assert!(
        matches!(failure.kind, FailureKind::Deadlock { .. }),
        "expected a deadlock: {failure}"
    );
}

fn complete(stats: Stats) {
    assert!(stats.schedules > 1, "{stats:?}");
}

// ---- Mutex -------------------------------------------------------------------------------

#[test]
fn mutex_concurrent_increments_are_not_lost() {
    complete(check(dfs(), || {
        let m = Arc::new(Mutex::new(0));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let m = Arc::clone(&m);
                thread::spawn(move || *m.lock().unwrap() += 1)
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(*m.lock().unwrap(), 2);
    }));
}

#[test]
fn mutex_increment_split_over_two_critical_sections_is_found() {
    panics_with(
        dfs(),
        || {
            let m = Arc::new(Mutex::new(0));
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let m = Arc::clone(&m);
                    thread::spawn(move || {
                        let v = *m.lock().unwrap();
                        *m.lock().unwrap() = v + 1;
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            assert_eq!(*m.lock().unwrap(), 2, "racing increments");
        },
        "racing increments",
    );
}

#[test]
fn mutex_try_lock_increments_count_only_successes() {
    check(dfs(), || {
        let m = Arc::new(Mutex::new(0));
        let ok = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let (m, ok) = (Arc::clone(&m), Arc::clone(&ok));
                thread::spawn(move || match m.try_lock() {
                    Ok(mut g) => {
                        *g += 1;
                        ok.fetch_add(1, SeqCst);
                    }
                    Err(TryLockError::WouldBlock) => {}
                    Err(TryLockError::Poisoned(_)) => panic!("unexpected poison"),
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(*m.lock().unwrap(), ok.load(SeqCst));
    });
}

#[test]
fn two_mutexes_taken_in_opposite_orders_deadlock() {
    deadlocks(dfs(), || {
        let a = Arc::new(Mutex::new(()));
        let b = Arc::new(Mutex::new(()));
        let (a2, b2) = (Arc::clone(&a), Arc::clone(&b));
        let h = thread::spawn(move || {
            let _b = b2.lock().unwrap();
            let _a = a2.lock().unwrap();
        });
        {
            let _a = a.lock().unwrap();
            let _b = b.lock().unwrap();
        }
        h.join().unwrap();
    });
}

#[test]
fn locking_a_held_mutex_again_deadlocks() {
    deadlocks(random(10), || {
        let m = Mutex::new(());
        let _g = m.lock().unwrap();
        let _again = m.lock().unwrap();
    });
}

#[test]
fn mutex_into_inner_and_poison_outside_a_check() {
    let m = Arc::new(Mutex::new(1));
    let m2 = Arc::clone(&m);
    let r = std::thread::spawn(move || {
        let _g = m2.lock().unwrap();
        panic!("expected panic");
    })
    .join();
    assert!(r.is_err());
    assert!(m.is_poisoned());
    let m = Arc::try_unwrap(m).unwrap();
    assert_eq!(m.into_inner().unwrap_err().into_inner(), 1);
}

// ---- Condvar -----------------------------------------------------------------------------

#[test]
fn condvar_notify_one_wakes_the_waiter() {
    complete(check(Config::dfs(None), || {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let p = Arc::clone(&pair);
        let h = thread::spawn(move || {
            *p.0.lock().unwrap() = true;
            p.1.notify_one();
        });
        let g = pair.0.lock().unwrap();
        let g = pair.1.wait_while(g, |ready| !*ready).unwrap();
        assert!(*g);
        drop(g);
        h.join().unwrap();
    }));
}

#[test]
fn condvar_notify_all_wakes_every_waiter() {
    check(dfs(), || {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let p = Arc::clone(&pair);
                thread::spawn(move || {
                    let mut g = p.0.lock().unwrap();
                    while !*g {
                        g = p.1.wait(g).unwrap();
                    }
                })
            })
            .collect();
        *pair.0.lock().unwrap() = true;
        pair.1.notify_all();
        for h in waiters {
            h.join().unwrap();
        }
    });
}

#[test]
fn condvar_notify_before_the_wait_is_lost() {
    // Waiting without a predicate: the notify may come first and wake nobody.
    deadlocks(Config::dfs(None), || {
        let pair = Arc::new((Mutex::new(()), Condvar::new()));
        let p = Arc::clone(&pair);
        let h = thread::spawn(move || p.1.notify_one());
        let g = pair.0.lock().unwrap();
        drop(pair.1.wait(g).unwrap());
        h.join().unwrap();
    });
}

/// A one-slot buffer with two producers and two consumers; `checked` re-checks the condition in
/// a loop (correct), otherwise with `if` (a consumer woken by the other consumer's notify finds
/// the slot empty).
fn producer_consumer(checked: bool) {
    let state = Arc::new((Mutex::new(None::<u32>), Condvar::new()));
    let mut hs = Vec::new();
    for i in 0..2u32 {
        let s = Arc::clone(&state);
        hs.push(thread::spawn(move || {
            let mut g = s.0.lock().unwrap();
            while g.is_some() {
                g = s.1.wait(g).unwrap();
            }
            *g = Some(i);
            s.1.notify_all();
        }));
        let s = Arc::clone(&state);
        hs.push(thread::spawn(move || {
            let mut g = s.0.lock().unwrap();
            if checked {
                while g.is_none() {
                    g = s.1.wait(g).unwrap();
                }
            } else if g.is_none() {
                g = s.1.wait(g).unwrap();
            }
            assert!(g.take().is_some(), "nothing to get");
            s.1.notify_all();
        }));
    }
    for h in hs {
        h.join().unwrap();
    }
}

#[test]
fn condvar_producer_consumer_with_a_loop_is_correct() {
    check(random(300), || producer_consumer(true));
}

#[test]
fn condvar_producer_consumer_with_an_if_is_found() {
    panics_with(random(3000), || producer_consumer(false), "nothing to get");
}

#[test]
fn condvar_wait_timeout_without_a_notify_times_out() {
    check(Config::dfs(None), || {
        let pair = (Mutex::new(()), Condvar::new());
        let g = pair.0.lock().unwrap();
        let (_g, r) = pair.1.wait_timeout(g, Duration::from_secs(10)).unwrap();
        assert!(r.timed_out());
    });
}

#[test]
fn condvar_wait_timeout_while_sees_the_notify_or_times_out() {
    let outcomes = std::sync::Mutex::new(HashSet::new());
    check(Config::dfs(None), || {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let p = Arc::clone(&pair);
        let h = thread::spawn(move || {
            *p.0.lock().unwrap() = true;
            p.1.notify_one();
        });
        let g = pair.0.lock().unwrap();
        let (g, r) = pair
            .1
            .wait_timeout_while(g, Duration::from_secs(1), |ready| !*ready)
            .unwrap();
        assert_eq!(r.timed_out(), !*g);
        outcomes.lock().unwrap().insert(r.timed_out());
        drop(g);
        h.join().unwrap();
    });
    assert!(outcomes.lock().unwrap().contains(&false));
}

// ---- RwLock ------------------------------------------------------------------------------

#[test]
fn rwlock_readers_hold_it_together() {
    // Planted "bug": assert that two readers are never inside at once. It must be found, which
    // shows readers do overlap.
    panics_with(
        Config::dfs(None),
        || {
            let lock = Arc::new(RwLock::new(()));
            let inside = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let (lock, inside) = (Arc::clone(&lock), Arc::clone(&inside));
                    thread::spawn(move || {
                        let _r = lock.read().unwrap();
                        let n = inside.fetch_add(1, SeqCst) + 1;
                        assert!(n < 2, "two readers inside");
                        inside.fetch_sub(1, SeqCst);
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        },
        "two readers inside",
    );
}

#[test]
fn rwlock_writers_exclude_readers_and_writers() {
    complete(check(dfs(), || {
        let lock = Arc::new(RwLock::new(0));
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let lock = Arc::clone(&lock);
                thread::spawn(move || {
                    let mut w = lock.write().unwrap();
                    let v = *w;
                    *w = v + 1;
                })
            })
            .collect();
        let seen = *lock.read().unwrap();
        assert!(seen <= 2);
        for h in writers {
            h.join().unwrap();
        }
        assert_eq!(*lock.read().unwrap(), 2);
    }));
}

#[test]
fn rwlock_try_operations_fail_while_held() {
    check(random(20), || {
        let lock = RwLock::new(5);
        {
            let _w = lock.write().unwrap();
            assert!(matches!(lock.try_read(), Err(TryLockError::WouldBlock)));
            assert!(matches!(lock.try_write(), Err(TryLockError::WouldBlock)));
        }
        {
            let _r = lock.read().unwrap();
            assert!(lock.try_read().is_ok());
            assert!(matches!(lock.try_write(), Err(TryLockError::WouldBlock)));
        }
        assert_eq!(lock.into_inner().unwrap(), 5);
    });
}

#[test]
fn rwlock_read_then_write_on_two_locks_deadlocks() {
    deadlocks(Config::dfs(None), || {
        let a = Arc::new(RwLock::new(()));
        let b = Arc::new(RwLock::new(()));
        let (a2, b2) = (Arc::clone(&a), Arc::clone(&b));
        let h = thread::spawn(move || {
            let _r = b2.read().unwrap();
            let _w = a2.write().unwrap();
        });
        {
            let _r = a.read().unwrap();
            let _w = b.write().unwrap();
        }
        h.join().unwrap();
    });
}

#[test]
fn rwlock_upgrading_a_read_guard_deadlocks() {
    deadlocks(random(5), || {
        let lock = RwLock::new(());
        let _r = lock.read().unwrap();
        let _w = lock.write().unwrap();
    });
}

// ---- mpsc --------------------------------------------------------------------------------

#[test]
fn mpsc_sequential_usage() {
    check(random(10), || {
        let (tx, rx) = mpsc::channel();
        tx.send(1).unwrap();
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        drop(tx);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

#[test]
fn mpsc_parallel_senders_all_arrive() {
    complete(check(dfs(), || {
        let (tx, rx) = mpsc::channel();
        let hs: Vec<_> = (0..2)
            .map(|i| {
                let tx = tx.clone();
                thread::spawn(move || tx.send(i).unwrap())
            })
            .collect();
        drop(tx);
        let mut got: Vec<i32> = rx.iter().collect();
        got.sort_unstable();
        assert_eq!(got, [0, 1]);
        for h in hs {
            h.join().unwrap();
        }
    }));
}

#[test]
fn mpsc_senders_arrive_in_any_order() {
    panics_with(
        Config::dfs(None),
        || {
            let (tx, rx) = mpsc::channel();
            let tx2 = tx.clone();
            let h = thread::spawn(move || tx2.send(5).unwrap());
            tx.send(6).unwrap();
            assert_eq!(rx.recv().unwrap(), 6, "sends can happen in any order");
            h.join().unwrap();
        },
        "sends can happen in any order",
    );
}

#[test]
fn mpsc_dropped_halves_are_reported() {
    check(dfs(), || {
        let (tx, rx) = mpsc::sync_channel::<u32>(1);
        let h = thread::spawn(move || drop(tx));
        assert_eq!(rx.recv(), Err(RecvError));
        h.join().unwrap();
        let (tx, rx) = mpsc::channel::<u32>();
        let h = thread::spawn(move || drop(rx));
        h.join().unwrap();
        assert_eq!(tx.send(3).unwrap_err().0, 3);
    });
}

#[test]
fn mpsc_bounded_sum_and_buffering() {
    complete(check(dfs(), || {
        let (tx, rx) = mpsc::sync_channel(1);
        let h = thread::spawn(move || {
            for i in 1..=3 {
                tx.send(i).unwrap();
            }
        });
        assert_eq!(rx.iter().sum::<u32>(), 6);
        h.join().unwrap();
    }));
}

#[test]
fn mpsc_full_bounded_sender_without_a_receiver_deadlocks() {
    deadlocks(Config::dfs(None), || {
        let (tx, rx) = mpsc::sync_channel(1);
        tx.send(1).unwrap();
        tx.send(2).unwrap(); // nobody receives: blocks for ever
        drop(rx);
    });
}

#[test]
fn mpsc_rendezvous_sender_waits_for_the_receiver() {
    deadlocks(Config::dfs(None), || {
        let (tx, _rx) = mpsc::sync_channel(0);
        tx.send(1).unwrap();
    });
    complete(check(Config::dfs(None), || {
        let (tx, rx) = mpsc::sync_channel(0);
        let received = Arc::new(AtomicBool::new(false));
        let r2 = Arc::clone(&received);
        let h = thread::spawn(move || {
            assert_eq!(rx.recv(), Ok(7));
            r2.store(true, SeqCst);
        });
        tx.send(7).unwrap();
        // A rendezvous returns only once the message was taken (not necessarily processed).
        h.join().unwrap();
        assert!(received.load(SeqCst));
    }));
}

#[test]
fn mpsc_recv_timeout_times_out_on_simulated_time() {
    check(Config::dfs(None), || {
        let (tx, rx) = mpsc::channel::<u32>();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(30)),
            Err(RecvTimeoutError::Timeout)
        );
        drop(tx);
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(30)),
            Err(RecvTimeoutError::Disconnected)
        );
    });
}

// ---- Barrier -----------------------------------------------------------------------------

#[test]
fn barrier_releases_all_with_one_leader_and_is_reusable() {
    complete(check(dfs(), || {
        let b = Arc::new(Barrier::new(2));
        let leaders = Arc::new(AtomicUsize::new(0));
        let b2 = Arc::clone(&b);
        let l2 = Arc::clone(&leaders);
        let h = thread::spawn(move || {
            for _ in 0..2 {
                if b2.wait().is_leader() {
                    l2.fetch_add(1, SeqCst);
                }
            }
        });
        for _ in 0..2 {
            if b.wait().is_leader() {
                leaders.fetch_add(1, SeqCst);
            }
        }
        h.join().unwrap();
        assert_eq!(leaders.load(SeqCst), 2); // one per round
    }));
}

#[test]
fn barrier_with_too_few_threads_deadlocks() {
    deadlocks(Config::dfs(None), || {
        let b = Arc::new(Barrier::new(3));
        let b2 = Arc::clone(&b);
        let h = thread::spawn(move || {
            b2.wait();
        });
        b.wait();
        h.join().unwrap();
    });
}

#[test]
fn barrier_leader_is_any_thread() {
    let leaders = std::sync::Mutex::new(HashSet::new());
    check(Config::dfs(None), || {
        let b = Arc::new(Barrier::new(2));
        let b2 = Arc::clone(&b);
        let h = thread::spawn(move || b2.wait().is_leader());
        let main = b.wait().is_leader();
        let other = h.join().unwrap();
        assert!(main ^ other);
        leaders.lock().unwrap().insert(main);
    });
    assert_eq!(leaders.lock().unwrap().len(), 2);
}

// ---- Once, OnceLock, LazyLock ------------------------------------------------------------

#[test]
fn once_runs_the_initializer_exactly_once() {
    complete(check(dfs(), || {
        let once = Arc::new(Once::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let (once, runs) = (Arc::clone(&once), Arc::clone(&runs));
                thread::spawn(move || {
                    once.call_once(|| {
                        runs.fetch_add(1, SeqCst);
                    });
                    assert!(once.is_completed());
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(runs.load(SeqCst), 1);
    }));
}

#[test]
fn once_in_a_static_runs_once_per_execution() {
    // Every execution is a fresh run of the program: a static `Once` starts it as the check
    // found it (as the program's own static atomics do), and is given back so.
    static ONCE: Once = Once::new();
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let stats = check(random(20), || {
        ONCE.call_once(|| {
            RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        ONCE.call_once(|| unreachable!("completed"));
    });
    assert_eq!(
        RUNS.load(std::sync::atomic::Ordering::SeqCst),
        stats.schedules
    );
    assert!(!ONCE.is_completed());
}

#[test]
fn once_is_poisoned_by_a_panicking_initializer() {
    check(random(5), || {
        let once = Once::new();
        let r = catch_unwind(AssertUnwindSafe(|| {
            once.call_once(|| panic!("expected panic"))
        }));
        assert!(r.is_err());
        let r = catch_unwind(AssertUnwindSafe(|| once.call_once(|| {})));
        assert!(r.is_err(), "call_once on a poisoned Once panics");
        let mut saw_poison = false;
        once.call_once_force(|s| saw_poison = s.is_poisoned());
        assert!(saw_poison);
        assert!(once.is_completed());
    });
}

#[test]
fn oncelock_racing_initializers_agree_on_one_value() {
    let winners = std::sync::Mutex::new(HashSet::new());
    check(Config::dfs(None), || {
        let cell = Arc::new(OnceLock::new());
        let c = Arc::clone(&cell);
        let h = thread::spawn(move || *c.get_or_init(|| 1));
        let mine = *cell.get_or_init(|| 2);
        assert_eq!(mine, h.join().unwrap());
        assert_eq!(cell.set(3), Err(3));
        winners.lock().unwrap().insert(mine);
    });
    assert_eq!(winners.lock().unwrap().len(), 2, "either thread may win");
}

#[test]
fn lazylock_initializes_once_under_racing_threads() {
    complete(check(dfs(), || {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&runs);
        let lazy = Arc::new(LazyLock::new(move || {
            r.fetch_add(1, SeqCst);
            42
        }));
        let l2 = Arc::clone(&lazy);
        let h = thread::spawn(move || **l2);
        assert_eq!(**lazy, 42);
        assert_eq!(h.join().unwrap(), 42);
        assert_eq!(runs.load(SeqCst), 1);
    }));
}

#[test]
fn lazylock_with_a_racy_initializer_is_found() {
    // The initializer reads a flag that another thread sets: the value depends on who ran
    // first, and the check finds the interleaving where the assumption fails.
    panics_with(
        Config::dfs(None),
        || {
            let flag = Arc::new(AtomicBool::new(false));
            let f2 = Arc::clone(&flag);
            let lazy = Arc::new(LazyLock::new(move || f2.load(SeqCst)));
            let l2 = Arc::clone(&lazy);
            let h = thread::spawn(move || **l2);
            flag.store(true, SeqCst);
            assert!(**lazy, "initialized before the flag");
            h.join().unwrap();
        },
        "initialized before the flag",
    );
}

#[test]
fn mpsc_rendezvous_try_send_succeeds_only_into_a_waiting_receiver() {
    let outcomes = std::sync::Mutex::new(HashSet::new());
    check(Config::dfs(None), || {
        let (tx, rx) = mpsc::sync_channel(0);
        let h = thread::spawn(move || rx.recv());
        let sent = tx.try_send(9).is_ok();
        if !sent {
            drop(tx); // the receiver gets RecvError instead
        }
        let got = h.join().unwrap();
        assert_eq!(got.is_ok(), sent);
        outcomes.lock().unwrap().insert(sent);
    });
    assert_eq!(
        outcomes.lock().unwrap().len(),
        2,
        "both outcomes are reachable"
    );
}

// ---- atomic ------------------------------------------------------------------------------

#[test]
fn small_atomics_and_bitwise_updates_are_steps() {
    use lockstep_sim::sync::atomic::{AtomicI16, AtomicU8};
    complete(check(Config::dfs(None), || {
        let bits = Arc::new(AtomicU8::new(0));
        let level = Arc::new(AtomicI16::new(0));
        let (b2, l2) = (Arc::clone(&bits), Arc::clone(&level));
        let h = thread::spawn(move || {
            b2.fetch_or(0b01, SeqCst);
            l2.fetch_sub(1, SeqCst);
        });
        bits.fetch_or(0b10, SeqCst);
        level.fetch_add(1, SeqCst);
        h.join().unwrap();
        assert_eq!(bits.load(SeqCst), 0b11);
        assert_eq!(level.load(SeqCst), 0);
    }));
    // A non-atomic read-then-or loses a bit in some interleaving.
    panics_with(
        Config::dfs(None),
        || {
            let bits = Arc::new(AtomicU8::new(0));
            let b2 = Arc::clone(&bits);
            let h = thread::spawn(move || b2.store(b2.load(SeqCst) | 0b01, SeqCst));
            bits.store(bits.load(SeqCst) | 0b10, SeqCst);
            h.join().unwrap();
            assert_eq!(bits.load(SeqCst), 0b11, "a bit was lost");
        },
        "a bit was lost",
    );
}

// ---- poisoning inside a check ------------------------------------------------------------

#[test]
fn a_caught_panic_poisons_locks_for_the_rest_of_its_execution_only() {
    static SHARED: Mutex<u32> = Mutex::new(0);
    check(Config::dfs(None), || {
        // Every execution starts clean, although the static was poisoned by the previous one.
        assert!(!SHARED.is_poisoned());
        let m = Arc::new(Mutex::new(1));
        let rw = Arc::new(RwLock::new(1));
        let (m2, rw2) = (Arc::clone(&m), Arc::clone(&rw));
        let h = thread::spawn(move || {
            let r = catch_unwind(AssertUnwindSafe(|| {
                let _g = m2.lock().unwrap();
                let _w = rw2.write().unwrap();
                let _s = SHARED.lock().unwrap();
                panic!("expected panic");
            }));
            assert!(r.is_err());
        });
        h.join().unwrap();
        assert!(m.is_poisoned() && rw.is_poisoned() && SHARED.is_poisoned());
        let g = m.lock().unwrap_err().into_inner();
        assert_eq!(*g, 1);
        drop(g);
        assert!(rw.read().is_err());
        m.clear_poison();
        assert!(m.lock().is_ok());
    });
}
