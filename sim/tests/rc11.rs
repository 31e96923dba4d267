//! The RC11 memory model (`MemoryModel::Rc11`): the weak behaviours Rust's atomics allow are
//! found, explained and replayed; their Release/Acquire or SeqCst repairs pass, with no false
//! alarm on SeqCst; the exhaustive search counts each execution once.

use std::sync::Arc;

use lockstep_sim::sync::atomic::{AtomicBool, AtomicU32, Ordering, Ordering::*, fence};
use lockstep_sim::sync::cell::SharedCell;
use lockstep_sim::sync::{Mutex, futex, hint::spin_loop};
use lockstep_sim::{Config, FailureKind, MemoryModel, Stats, check, thread, try_check};

fn rc11() -> Config {
    Config::dfs(None).memory_model(MemoryModel::Rc11)
}

/// Exhaustive RC11 search of `f`: its statistics, or the failure's text.
fn explore(f: impl Fn()) -> Result<Stats, String> {
    try_check(rc11(), f).map_err(|f| f.to_string())
}

/// Message passing: data, then a flag; whoever sees the flag must see the data.
fn mp(store: Ordering, load: Ordering) -> impl Fn() {
    move || {
        let m = Arc::new((AtomicU32::new(0), AtomicBool::new(false)));
        let p = Arc::clone(&m);
        let h = thread::spawn(move || {
            p.0.store(42, Relaxed);
            p.1.store(true, store);
        });
        if m.1.load(load) {
            assert_eq!(m.0.load(Relaxed), 42, "saw the flag but not the data");
        }
        h.join().unwrap();
    }
}

#[test]
fn message_passing_with_relaxed_is_found_and_with_release_acquire_passes() {
    let failure = try_check(rc11(), mp(Relaxed, Relaxed)).unwrap_err();
    assert!(
        matches!(failure.kind, FailureKind::Panic { .. }),
        "{failure}"
    );
    let stats = explore(mp(Release, Acquire)).unwrap();
    assert!(stats.complete);
    // Flag not seen (the data load does not run), or seen with the data: 2 executions (the
    // stale data read is inconsistent).
    assert_eq!(stats.schedules, 2, "{stats:?}");
    // Sequential consistency never shows it.
    assert!(try_check(Config::dfs(None), mp(Relaxed, Relaxed)).is_ok());
}

#[test]
fn random_and_pct_sample_what_loads_read() {
    for config in [Config::random(1, 2_000), Config::pct(2, 2, 2_000)] {
        let f = try_check(config.memory_model(MemoryModel::Rc11), mp(Relaxed, Relaxed));
        assert!(f.is_err(), "not found by sampling");
        assert!(try_check(config_rc11_copy(2), mp(Release, Acquire)).is_ok());
    }
}

fn config_rc11_copy(seed: u64) -> Config {
    Config::random(seed, 500).memory_model(MemoryModel::Rc11)
}

#[test]
fn a_stale_read_is_explained_and_its_schedule_replays_it() {
    let failure = try_check(rc11(), mp(Relaxed, Relaxed)).unwrap_err();
    let text = failure.to_string();
    assert!(
        text.contains("read the initial value")
            && text.contains("not yet visible to t0 (no happens-before)"),
        "{text}"
    );
    let schedule = failure.schedule.to_string();
    assert!(schedule.starts_with("rc11:"), "{schedule}");
    let again = try_check(
        Config::replay(schedule.parse().unwrap()),
        mp(Relaxed, Relaxed),
    )
    .expect_err("the replay fails the same way");
    assert_eq!(again.kind, failure.kind);
    assert_eq!(again.trace, failure.trace);
}

/// Store buffering: each thread stores its flag, then loads the other's.
fn sb(store: Ordering, load: Ordering) -> impl Fn() {
    move || {
        let m = Arc::new((AtomicBool::new(false), AtomicBool::new(false)));
        let p = Arc::clone(&m);
        let h = thread::spawn(move || {
            p.1.store(true, store);
            p.0.load(load)
        });
        m.0.store(true, store);
        let a = m.1.load(load);
        let b = h.join().unwrap();
        assert!(a || b, "both threads read false");
    }
}

#[test]
fn store_buffering_is_allowed_below_seqcst_and_seqcst_has_no_false_alarm() {
    assert!(explore(sb(Release, Acquire)).is_err());
    assert!(explore(sb(Relaxed, Relaxed)).is_err());
    let stats = explore(sb(SeqCst, SeqCst)).unwrap();
    assert_eq!(stats.schedules, 3, "{stats:?}");
}

/// Independent reads of independent writes: the two readers disagree on the order of the
/// writes.
fn iriw(store: Ordering, load: Ordering) -> impl Fn() {
    move || {
        let m = Arc::new((AtomicBool::new(false), AtomicBool::new(false)));
        let w1 = {
            let m = Arc::clone(&m);
            thread::spawn(move || m.0.store(true, store))
        };
        let w2 = {
            let m = Arc::clone(&m);
            thread::spawn(move || m.1.store(true, store))
        };
        let r1 = {
            let m = Arc::clone(&m);
            thread::spawn(move || (m.0.load(load), m.1.load(load)))
        };
        let r2 = {
            let m = Arc::clone(&m);
            thread::spawn(move || (m.1.load(load), m.0.load(load)))
        };
        w1.join().unwrap();
        w2.join().unwrap();
        let (x1, y1) = r1.join().unwrap();
        let (y2, x2) = r2.join().unwrap();
        let opposite = x1 && !y1 && y2 && !x2;
        assert!(!opposite, "the readers saw the writes in opposite orders");
    }
}

#[test]
fn iriw_is_found_with_acquire_and_not_with_seqcst() {
    assert!(explore(iriw(Release, Acquire)).is_err());
    assert!(explore(iriw(Relaxed, Relaxed)).is_err());
    assert!(explore(iriw(SeqCst, SeqCst)).is_ok());
}

/// 2+2W: two threads write two locations in opposite orders; both first writes last.
fn two_plus_two_w(order: Ordering) -> impl Fn() {
    move || {
        let m = Arc::new((AtomicU32::new(0), AtomicU32::new(0)));
        let p = Arc::clone(&m);
        let h = thread::spawn(move || {
            p.0.store(1, order);
            p.1.store(2, order);
        });
        m.1.store(1, order);
        m.0.store(2, order);
        h.join().unwrap();
        let (x, y) = (m.0.load(SeqCst), m.1.load(SeqCst));
        assert!(!(x == 1 && y == 1), "both first writes came last");
    }
}

#[test]
fn two_plus_two_w_is_found_below_seqcst() {
    assert!(explore(two_plus_two_w(Relaxed)).is_err());
    assert!(explore(two_plus_two_w(Release)).is_err());
    assert!(explore(two_plus_two_w(SeqCst)).is_ok());
}

/// Peterson's lock for two threads, with the given orderings, guarding a shared cell.
fn peterson(store: Ordering, load: Ordering) -> impl Fn() {
    move || {
        let flags = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
        let turn = Arc::new(AtomicU32::new(0));
        let data = Arc::new(SharedCell::new(0u32));
        let body = move |me: usize,
                         flags: Arc<[AtomicBool; 2]>,
                         turn: Arc<AtomicU32>,
                         data: Arc<SharedCell<u32>>| {
            let other = 1 - me;
            flags[me].store(true, store);
            turn.store(other as u32, store);
            while flags[other].load(load) && turn.load(load) == other as u32 {
                spin_loop();
            }
            data.set(data.get() + 1);
            flags[me].store(false, Release);
        };
        let h = {
            let (f, t, d) = (Arc::clone(&flags), Arc::clone(&turn), Arc::clone(&data));
            thread::spawn(move || body(1, f, t, d))
        };
        body(0, Arc::clone(&flags), Arc::clone(&turn), Arc::clone(&data));
        h.join().unwrap();
        assert_eq!(data.get(), 2);
    }
}

#[test]
fn peterson_with_release_acquire_is_found_and_with_seqcst_passes() {
    let failure = try_check(rc11(), peterson(Release, Acquire)).unwrap_err();
    assert!(
        matches!(failure.kind, FailureKind::DataRace { .. }),
        "{failure}"
    );
    let stats = explore(peterson(SeqCst, SeqCst)).unwrap();
    assert!(stats.complete && stats.schedules > 0, "{stats:?}");
    // The iterations of the spin loop that changed nothing end blocked, counted apart.
    assert!(stats.blocked > 0, "{stats:?}");
}

/// The data in a cell, published by a flag.
fn mp_cell(store: Ordering, load: Ordering, fences: bool) -> impl Fn() {
    move || {
        let data = Arc::new(SharedCell::new(0u32));
        let flag = Arc::new(AtomicBool::new(false));
        let (d, f) = (Arc::clone(&data), Arc::clone(&flag));
        let h = thread::spawn(move || {
            d.set(42);
            if fences {
                fence(Release);
            }
            f.store(true, store);
        });
        if flag.load(load) {
            if fences {
                fence(Acquire);
            }
            assert_eq!(data.get(), 42);
        }
        h.join().unwrap();
    }
}

#[test]
fn cells_race_unless_published_by_release_and_acquire_or_fences() {
    let failure = try_check(rc11(), mp_cell(Relaxed, Relaxed, false)).unwrap_err();
    assert!(
        matches!(failure.kind, FailureKind::DataRace { .. }),
        "{failure}"
    );
    assert!(explore(mp_cell(Release, Acquire, false)).is_ok());
    assert!(explore(mp_cell(Relaxed, Relaxed, true)).is_ok());
}

#[test]
fn a_spin_wait_sees_the_data_it_waited_for() {
    let waiter = |load: Ordering| {
        move || {
            let m = Arc::new((AtomicU32::new(0), AtomicBool::new(false)));
            let p = Arc::clone(&m);
            let h = thread::spawn(move || {
                p.0.store(42, Relaxed);
                p.1.store(true, Release);
            });
            while !m.1.load(load) {
                spin_loop();
            }
            assert_eq!(m.0.load(Relaxed), 42);
            h.join().unwrap();
        }
    };
    let stats = explore(waiter(Acquire)).unwrap();
    assert_eq!(stats.schedules, 1, "{stats:?}");
    assert!(explore(waiter(Relaxed)).is_err());
}

#[test]
fn futex_waits_and_wakes_are_ordered_like_the_kernels_queue() {
    let handoff = |wake_first: bool| {
        move || {
            let word = Arc::new(AtomicU32::new(0));
            let w = Arc::clone(&word);
            let h = thread::spawn(move || {
                if wake_first {
                    futex::wake_one(&w);
                    w.store(1, Relaxed);
                } else {
                    w.store(1, Relaxed);
                    futex::wake_one(&w);
                }
            });
            while word.load(Relaxed) == 0 {
                futex::wait(&word, 0, false);
            }
            h.join().unwrap();
        }
    };
    let stats = explore(handoff(false)).unwrap();
    assert!(stats.complete && stats.schedules > 0, "{stats:?}");
    let failure = try_check(rc11(), handoff(true)).unwrap_err();
    assert!(
        matches!(failure.kind, FailureKind::Deadlock { .. }),
        "a wake before the store is a lost wake-up: {failure}"
    );
}

#[test]
fn the_modelled_mutex_orders_critical_sections() {
    let counter = || {
        let m = Arc::new(Mutex::new(()));
        let data = Arc::new(SharedCell::new(0u32));
        let (m2, d2) = (Arc::clone(&m), Arc::clone(&data));
        let h = thread::spawn(move || {
            let _g = m2.lock().unwrap();
            d2.set(d2.get() + 1);
        });
        {
            let _g = m.lock().unwrap();
            data.set(data.get() + 1);
        }
        h.join().unwrap();
        assert_eq!(data.get(), 2);
    };
    let stats = explore(counter).unwrap();
    // One execution per order of the two critical sections; the runs where a lock found the
    // mutex held end blocked, counted apart.
    assert_eq!(stats.schedules, 2, "{stats:?}");
    assert!(stats.blocked > 0, "{stats:?}");
    // `try_lock` fails while the other thread holds it, and then orders nothing.
    let failure = try_check(rc11(), || {
        let m = Arc::new(Mutex::new(()));
        let data = Arc::new(SharedCell::new(0u32));
        let (m2, d2) = (Arc::clone(&m), Arc::clone(&data));
        let h = thread::spawn(move || {
            let _g = m2.lock().unwrap();
            d2.set(1);
        });
        if m.try_lock().is_err() {
            data.set(2);
        }
        h.join().unwrap();
    })
    .unwrap_err();
    assert!(
        matches!(failure.kind, FailureKind::DataRace { .. }),
        "{failure}"
    );
}

#[test]
fn what_rc11_does_not_model_yet_fails_with_a_clear_message() {
    let failure = try_check(rc11().explore_timeouts(true), || {
        let word = AtomicU32::new(0);
        futex::wait(&word, 0, true);
    })
    .unwrap_err();
    match &failure.kind {
        FailureKind::Unsupported { message } => {
            assert!(message.contains("timed wait"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_lecture_counter_has_one_execution_per_modification_order() {
    // 2 threads x 1 round of fetch_add then fetch_sub: (2*2)!/(2!)^2 = 6 orders of the four
    // read-modify-writes, as under sequential consistency.
    let stats = check(rc11(), || {
        let n = Arc::new(AtomicU32::new(0));
        let m = Arc::clone(&n);
        let h = thread::spawn(move || {
            m.fetch_add(100, Relaxed);
            m.fetch_sub(100, Relaxed);
        });
        n.fetch_add(100, Relaxed);
        n.fetch_sub(100, Relaxed);
        h.join().unwrap();
        assert_eq!(n.load(Relaxed), 0);
    });
    assert_eq!(stats.schedules, 6, "{stats:?}");
}

#[test]
fn the_std_mirror_runs_under_rc11() {
    use lockstep_sim::sync::{Barrier, Condvar, OnceLock, RwLock, mpsc};
    let stats = explore(|| {
        let (tx, rx) = mpsc::channel();
        let state = Arc::new((Mutex::new(0), Condvar::new()));
        let s = Arc::clone(&state);
        let h = thread::spawn(move || {
            *s.0.lock().unwrap() += 1;
            s.1.notify_one();
            tx.send("done").unwrap();
        });
        let g = state
            .1
            .wait_while(state.0.lock().unwrap(), |n| *n == 0)
            .unwrap();
        assert_eq!(*g, 1);
        drop(g);
        assert_eq!(rx.recv(), Ok("done"));
        h.join().unwrap();
    })
    .unwrap();
    assert!(stats.complete && stats.schedules > 0, "{stats:?}");
    let stats = explore(|| {
        let lock = Arc::new(RwLock::new(0));
        let once = Arc::new(OnceLock::new());
        let barrier = Arc::new(Barrier::new(2));
        let (l, o, b) = (Arc::clone(&lock), Arc::clone(&once), Arc::clone(&barrier));
        let h = thread::spawn(move || {
            *l.write().unwrap() += 1;
            o.get_or_init(|| 1);
            b.wait();
        });
        *lock.write().unwrap() += 1;
        once.get_or_init(|| 2);
        barrier.wait();
        assert_eq!(*lock.read().unwrap(), 2);
        h.join().unwrap();
    })
    .unwrap();
    assert!(stats.complete && stats.schedules > 0, "{stats:?}");
}

/// The Dekker pair of a wait/wake protocol: the waiter announces itself (SeqCst) and then
/// waits on the word; the waker changes the word (SeqCst) and then looks for waiters. A futex
/// call is a full barrier but not a write of the word, so the waker's look must be SeqCst too.
#[test]
fn a_dekker_pair_around_a_futex_wait_needs_seqcst_on_both_sides() {
    let protocol = |look: Ordering| {
        move || {
            let word = Arc::new(AtomicU32::new(0));
            let waiters = Arc::new(AtomicU32::new(0));
            let (w2, n2) = (Arc::clone(&word), Arc::clone(&waiters));
            let h = thread::spawn(move || {
                w2.fetch_add(1, SeqCst);
                if n2.load(look) > 0 {
                    futex::wake_one(&w2);
                }
            });
            waiters.fetch_add(1, SeqCst);
            futex::wait(&word, 0, false);
            h.join().unwrap();
        }
    };
    let failure = try_check(rc11(), protocol(Acquire)).unwrap_err();
    assert!(
        matches!(failure.kind, FailureKind::Deadlock { .. }),
        "{failure}"
    );
    assert!(explore(protocol(SeqCst)).is_ok());
}

/// The kernel takes futex waits and wakes on one word in one order, the order they run in: a
/// wait that runs after a wake found nobody cannot go before it, so it sees the store made
/// before the wake. Every scheduler must keep that (a sampled run once placed the wait first
/// and reported a deadlock that cannot happen).
#[test]
fn futex_waits_after_a_wake_see_the_store_before_it_in_every_scheduler() {
    fn park() {
        let w = Arc::new(AtomicU32::new(0));
        let x = Arc::new(AtomicU32::new(0));
        let (w1, x1) = (Arc::clone(&w), Arc::clone(&x));
        let t = thread::spawn(move || {
            x1.store(1, SeqCst);
            w1.store(1, SeqCst);
            futex::wake_all(&w1);
        });
        let _ = x.load(SeqCst);
        while w.swap(0, SeqCst) == 0 {
            futex::wait(&w, 0, false);
        }
        t.join().unwrap();
    }
    for config in [
        Config::dfs(None),
        Config::random(1, 2000),
        Config::pct(2, 3, 2000),
    ] {
        if let Err(failure) = try_check(config.memory_model(MemoryModel::Rc11), park) {
            panic!("{failure}");
        }
    }
}

/// A wake that runs before a wait, and the wait's comparison placed before the store that the
/// wake published: the graph says the wait came first in the kernel's order, so the replay runs
/// it first and the wake finds it queued. (Replayed in the order the search added them, the
/// wake found nobody and the wait slept for ever: a deadlock that cannot happen.)
#[test]
fn a_wait_before_a_wake_in_the_kernels_order_is_woken_by_it() {
    let stats = check(rc11(), || {
        let w = Arc::new(AtomicU32::new(0));
        let w1 = Arc::clone(&w);
        let h = thread::spawn(move || {
            while w1.load(SeqCst) == 0 {
                futex::wait(&w1, 0, false);
            }
        });
        w.store(1, SeqCst);
        futex::wake_all(&w);
        h.join().unwrap();
    });
    assert!(stats.complete, "{stats:?}");
}

/// A futex lock written with SeqCst only: RC11 allows exactly the outcomes sequential
/// consistency does, so the two exhaustive searches must find the same set (what each thread
/// read, in order), none missing under RC11 and none extra.
#[test]
fn a_seqcst_futex_lock_has_the_same_outcomes_under_rc11_and_sc() {
    use std::collections::BTreeSet;
    use std::sync::Mutex as StdMutex;

    fn lock(w: &AtomicU32, log: &mut Vec<u32>) {
        loop {
            let v = w.swap(2, SeqCst);
            log.push(v);
            if v == 0 {
                return;
            }
            futex::wait(w, 2, false);
            log.push(99);
        }
    }
    fn unlock(w: &AtomicU32, log: &mut Vec<u32>) {
        let v = w.swap(0, SeqCst);
        log.push(v + 10);
        if v == 2 {
            futex::wake_one(w);
        }
    }
    fn rounds(w: &AtomicU32, n: &AtomicU32, k: usize) -> Vec<u32> {
        let mut log = Vec::new();
        for _ in 0..k {
            lock(w, &mut log);
            log.push(100 + n.load(SeqCst));
            n.fetch_add(1, SeqCst);
            unlock(w, &mut log);
        }
        log
    }
    fn outcomes(model: MemoryModel, k: usize) -> BTreeSet<[Vec<u32>; 2]> {
        let all = Arc::new(StdMutex::new(BTreeSet::new()));
        let a = Arc::clone(&all);
        let stats = check(Config::dfs(None).memory_model(model), move || {
            let w = Arc::new(AtomicU32::new(0));
            let n = Arc::new(AtomicU32::new(0));
            let (w1, n1) = (Arc::clone(&w), Arc::clone(&n));
            let h = thread::spawn(move || rounds(&w1, &n1, k));
            let mine = rounds(&w, &n, k);
            let theirs = h.join().unwrap();
            a.lock().unwrap().insert([mine, theirs]);
        });
        assert!(stats.complete, "{stats:?}");
        all.lock().unwrap().clone()
    }
    for k in [1, 2] {
        let sc = outcomes(MemoryModel::SequentiallyConsistent, k);
        let rc = outcomes(MemoryModel::Rc11, k);
        assert!(sc.len() > 1);
        assert_eq!(sc, rc, "{k} rounds");
    }
}
