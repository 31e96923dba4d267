//! The application's own code checked under the simulator: the hand-off over lockstep's
//! `Mutex`, `Condvar`, `Queue` and `Event` explored exhaustively, a planted lost wake-up found as
//! a deadlock, simulated timeouts, and async tasks on an `AsyncQueue`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lockstep::lockstep_sim::{
    Config, FailureKind, MemoryModel, Op, check, future, thread, try_check,
};
use lockstep::{AsyncQueue, Event};
use lockstep_checked_app::{Bag, Handoff, Mailbox, Slot};

#[test]
fn the_handoff_is_correct_in_every_interleaving() {
    let stats = check(Config::dfs(None), || {
        let h = Arc::new(Handoff::new());
        let worker = {
            let h = Arc::clone(&h);
            thread::spawn(move || h.work())
        };
        h.submit(21);
        assert_eq!(h.results.recv(), Ok(42));
        assert!(h.wait_done(Duration::from_secs(5)));
        worker.join().unwrap();
    });
    assert!(stats.complete, "every interleaving explored: {stats:?}");
    assert!(stats.schedules > 1);
}

#[test]
fn a_lost_wakeup_is_found_as_a_deadlock() {
    let failure = try_check(Config::dfs(None), || {
        let h = Arc::new(Handoff::new());
        let worker = {
            let h = Arc::clone(&h);
            thread::spawn(move || h.work_racy())
        };
        h.submit(21);
        assert_eq!(h.results.recv(), Ok(42));
        worker.join().unwrap();
    })
    .unwrap_err();
    assert!(
        matches!(failure.kind, FailureKind::Deadlock { .. }),
        "{failure}"
    );
    // The table names the application's own lines, not only lockstep's: each step inside
    // `Condvar::wait` or `Mutex::lock` shows the line of `work_racy` that called it.
    let text = failure.to_string();
    assert!(
        text.contains("examples/checked-app/src/lib.rs:") && text.contains("(core/src/condvar.rs:"),
        "{text}"
    );
    // It ends with what each thread is stuck on: the worker asleep on the condition variable,
    // the main thread receiving.
    let stuck: Vec<_> = failure
        .trace
        .iter()
        .filter_map(|e| match &e.op {
            Op::Blocked { waiting } => Some((e.thread, waiting.clone(), e.caller.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(stuck.len(), 2, "{text}");
    assert!(
        stuck.iter().all(|(_, w, c)| w == "asleep in wait on"
            && c.as_ref().is_some_and(
                |c| c.file.ends_with("src/lib.rs") || c.file.ends_with("tests/check.rs")
            )),
        "{stuck:?}"
    );
    // The report names the schedule that replays it.
    let replayed = try_check(Config::replay(failure.schedule.clone()), || {
        let h = Arc::new(Handoff::new());
        let worker = {
            let h = Arc::clone(&h);
            thread::spawn(move || h.work_racy())
        };
        h.submit(21);
        assert_eq!(h.results.recv(), Ok(42));
        worker.join().unwrap();
    })
    .unwrap_err();
    assert_eq!(replayed.kind, failure.kind);
}

#[test]
fn two_hundred_five_second_timeouts_take_no_real_time() {
    let start = Instant::now();
    let stats = check(Config::random(1, 200), || {
        let e = Event::new();
        let t0 = lockstep::lockstep_sim::time::now();
        assert!(!e.wait_timeout(Duration::from_secs(5))); // nobody sets it
        assert!(lockstep::lockstep_sim::time::now() - t0 >= Duration::from_secs(5));
    });
    assert_eq!(stats.schedules, 200);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "200 simulated 5 s timeouts took {:?}",
        start.elapsed()
    );
}

#[test]
fn a_timeout_races_the_set() {
    // Either outcome is possible; both must be handled.
    check(Config::dfs(None), || {
        let e = Arc::new(Event::new());
        let e2 = Arc::clone(&e);
        let setter = thread::spawn(move || e2.set());
        let _ = e.wait_timeout(Duration::from_millis(10));
        setter.join().unwrap();
        assert!(e.is_set());
    });
}

#[test]
fn async_tasks_on_an_async_queue() {
    let stats = check(Config::dfs(Some(2)), || {
        let q: Arc<AsyncQueue<u32, 1>> = Arc::new(AsyncQueue::new());
        let tx = Arc::clone(&q);
        let producer = future::spawn(async move {
            for i in 1..=2 {
                tx.send(i).await.unwrap();
            }
        });
        let sum = future::block_on(async {
            let a = q.recv().await.unwrap();
            let b = q.recv().await.unwrap();
            producer.await;
            a + b
        });
        assert_eq!(sum, 3);
    });
    assert!(stats.schedules > 1);
}

#[test]
fn reentrant_mutex_owner_is_the_simulated_thread() {
    use std::cell::Cell;
    let stats = check(Config::dfs(None), || {
        let m = Arc::new(lockstep::ReentrantMutex::new(Cell::new(0)));
        let m2 = Arc::clone(&m);
        let h = thread::spawn(move || {
            let outer = m2.lock();
            let inner = m2.lock(); // the same simulated thread: no deadlock
            inner.set(inner.get() + 1);
            drop(inner);
            drop(outer);
        });
        {
            let g = m.lock();
            // Another simulated thread must not pass as the owner.
            g.set(g.get() + 1);
        }
        h.join().unwrap();
        assert_eq!(m.lock().get(), 2);
    });
    assert!(stats.complete, "{stats:?}");
}

#[test]
fn semaphore_permits_bound_the_critical_section() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    check(Config::dfs(Some(2)), || {
        let sem = Arc::new(lockstep::Semaphore::bounded(1));
        let inside = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let (sem, inside) = (Arc::clone(&sem), Arc::clone(&inside));
                thread::spawn(move || {
                    let _p = sem.acquire_permit();
                    assert_eq!(inside.fetch_add(1, SeqCst), 0, "two inside");
                    inside.fetch_sub(1, SeqCst);
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert!(matches!(sem.release(), Err(lockstep::OverRelease { .. })));
    });
}

#[test]
fn semaphore_acquire_timeout_times_out_on_simulated_time() {
    let start = Instant::now();
    check(Config::random(3, 50), || {
        let sem = lockstep::Semaphore::new(0);
        assert!(!sem.acquire_timeout(Duration::from_secs(60)));
    });
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn rendezvous_and_spsc_hand_offs_block_through_the_simulator() {
    let stats = check(Config::dfs(Some(2)), || {
        let r = Arc::new(lockstep::Rendezvous::<u32>::new());
        let r2 = Arc::clone(&r);
        let h = thread::spawn(move || r2.recv().unwrap());
        r.send(5).unwrap(); // returns once the receiver took it
        assert_eq!(h.join().unwrap(), 5);

        let mut ch: lockstep::Spsc<u32, 1> = lockstep::Spsc::new();
        let (mut tx, mut rx) = ch.split();
        thread::scope(|s| {
            s.spawn(move || {
                for i in 0..3 {
                    tx.send(i).unwrap();
                }
            });
            let got: Vec<u32> = (0..3).map(|_| rx.recv().unwrap()).collect();
            assert_eq!(got, [0, 1, 2]);
        });
    });
    assert!(stats.schedules > 1);
}

#[test]
fn a_rendezvous_nobody_receives_is_a_deadlock_and_a_timeout_is_simulated() {
    let failure = try_check(Config::dfs(None), || {
        let r = lockstep::Rendezvous::<u32>::new();
        r.send(1).unwrap();
    })
    .unwrap_err();
    assert!(matches!(failure.kind, FailureKind::Deadlock { .. }));
    check(Config::dfs(None), || {
        let r = lockstep::Rendezvous::<u32>::new();
        assert!(r.send_timeout(1, Duration::from_secs(30)).is_err());
    });
}

/// The mailbox's reader and writer, on the application's own atomics.
fn mailbox(make: fn() -> Mailbox) -> impl Fn() {
    move || {
        let m = Arc::new(make());
        let writer = {
            let m = Arc::clone(&m);
            thread::spawn(move || m.put(42))
        };
        assert_eq!(m.take(), 42, "the reader saw the flag but not the value");
        writer.join().unwrap();
    }
}

#[test]
fn own_atomics_relaxed_publish_is_found_under_rc11_and_replays() {
    let rc11 = || Config::dfs(None).memory_model(MemoryModel::Rc11);
    let failure = try_check(rc11(), mailbox(Mailbox::relaxed)).unwrap_err();
    assert!(
        matches!(failure.kind, FailureKind::Panic { thread: 0, .. }),
        "{failure}"
    );
    // The table explains the stale read, at the application's own line.
    let text = failure.to_string();
    assert!(text.contains("not yet visible to t0"), "{text}");
    assert!(text.contains("src/lib.rs"), "{text}");
    // The schedule string alone replays it (it names the memory model).
    let replayed = try_check(
        Config::replay(failure.schedule.to_string().parse().unwrap()),
        mailbox(Mailbox::relaxed),
    )
    .unwrap_err();
    assert_eq!(replayed.kind, failure.kind);
    assert_eq!(replayed.trace, failure.trace);
    // Sequential consistency and x86-TSO hide it.
    check(Config::dfs(None), mailbox(Mailbox::relaxed));
    check(
        Config::dfs(None).memory_model(MemoryModel::X86Tso),
        mailbox(Mailbox::relaxed),
    );
}

#[test]
fn own_atomics_release_acquire_mailbox_is_correct_in_every_execution() {
    for model in [
        MemoryModel::SequentiallyConsistent,
        MemoryModel::X86Tso,
        MemoryModel::Rc11,
    ] {
        let stats = check(Config::dfs(None).memory_model(model), mailbox(Mailbox::new));
        assert!(stats.complete, "{model:?}: {stats:?}");
    }
}

/// The hand-off with the worker `work` (correct or racy), for proptest's schedules.
fn handoff_scenario(work: fn(&Handoff)) -> impl Fn() {
    move || {
        let h = Arc::new(Handoff::new());
        let worker = {
            let h = Arc::clone(&h);
            thread::spawn(move || work(&h))
        };
        h.submit(21);
        assert_eq!(h.results.recv(), Ok(42));
        worker.join().unwrap();
    }
}

/// Runs proptest over schedules of the hand-off (the facade's feature `proptest`).
fn proptest_schedules(work: fn(&Handoff)) -> Result<(), String> {
    use lockstep::lockstep_sim::proptest::{run, schedules};
    use proptest::test_runner::{Config as Cases, TestCaseError, TestRunner};
    let mut runner = TestRunner::new(Cases {
        cases: 256,
        failure_persistence: None,
        ..Cases::default()
    });
    let f = handoff_scenario(work);
    runner
        .run(&schedules(2, 12), |s| {
            run(&s, &f)
                .map(drop)
                .map_err(|failure| TestCaseError::fail(failure.to_string()))
        })
        .map_err(|e| e.to_string())
}

#[test]
fn proptest_finds_and_shrinks_the_lost_wakeup_and_passes_the_correct_handoff() {
    let err = proptest_schedules(Handoff::work_racy).unwrap_err();
    assert!(err.contains("deadlock"), "{err}");
    proptest_schedules(Handoff::work).unwrap();
}

/// The slot's reader and writer, on the application's own cell.
fn slot(make: fn() -> Slot<String>) -> impl Fn() {
    move || {
        let s = Arc::new(make());
        let writer = {
            let s = Arc::clone(&s);
            thread::spawn(move || s.put("job".to_owned()))
        };
        assert_eq!(s.take().as_deref(), Some("job"));
        writer.join().unwrap();
    }
}

#[test]
fn own_cell_behind_a_relaxed_flag_is_a_data_race_in_every_memory_model() {
    for model in [
        MemoryModel::SequentiallyConsistent,
        MemoryModel::X86Tso,
        MemoryModel::Rc11,
    ] {
        let failure =
            try_check(Config::dfs(None).memory_model(model), slot(Slot::relaxed)).unwrap_err();
        assert!(
            matches!(failure.kind, FailureKind::DataRace { .. }),
            "{model:?}: {failure}"
        );
        let replayed = try_check(
            Config::replay(failure.schedule.clone()),
            slot(Slot::relaxed),
        )
        .unwrap_err();
        assert_eq!(replayed.kind, failure.kind);
        let stats = check(Config::dfs(None).memory_model(model), slot(Slot::new));
        assert!(stats.complete, "{model:?}: {stats:?}");
    }
}

/// Two threads push 1 and 2 while the main thread pushes 3 and takes what is there; afterwards
/// the rest is taken, and every value came out exactly once. With `concurrent_take: false` the
/// main thread takes only after joining (the lossy bag would free a node a lost push links to).
fn bag(make: fn() -> Bag<u32>, concurrent_take: bool) -> impl Fn() {
    move || {
        let bag = Arc::new(make());
        let pushers: Vec<_> = [1, 2]
            .into_iter()
            .map(|v| {
                let bag = Arc::clone(&bag);
                thread::spawn(move || bag.push(v))
            })
            .collect();
        bag.push(3);
        let mut got = if concurrent_take {
            bag.take_all()
        } else {
            Vec::new()
        };
        for p in pushers {
            p.join().unwrap();
        }
        got.extend(bag.take_all());
        got.sort_unstable();
        assert_eq!(got, [1, 2, 3], "a pushed value was lost or taken twice");
    }
}

#[test]
fn own_atomic_ptr_bag_is_correct_in_every_execution_and_model() {
    for model in [
        MemoryModel::SequentiallyConsistent,
        MemoryModel::X86Tso,
        MemoryModel::Rc11,
    ] {
        let stats = check(Config::dfs(None).memory_model(model), bag(Bag::new, true));
        assert!(
            stats.complete && stats.schedules > 1,
            "{model:?}: {stats:?}"
        );
    }
}

#[test]
fn own_atomic_ptr_lost_push_is_found_and_replays() {
    for model in [MemoryModel::SequentiallyConsistent, MemoryModel::Rc11] {
        let failure = try_check(
            Config::dfs(None).memory_model(model),
            bag(Bag::lossy, false),
        )
        .unwrap_err();
        assert!(
            matches!(&failure.kind, FailureKind::Panic { message, .. } if message.contains("lost")),
            "{failure}"
        );
        // The table points at the application's own push, and shows pointers as addresses.
        let text = failure.to_string();
        assert!(text.contains("src/lib.rs"), "{text}");
        assert!(
            text.contains("load #0 = null") && text.contains(":= 0x"),
            "{text}"
        );
        let replayed = try_check(
            Config::replay(failure.schedule.to_string().parse().unwrap()),
            bag(Bag::lossy, false),
        )
        .unwrap_err();
        assert_eq!(replayed.kind, failure.kind);
        assert_eq!(replayed.schedule, failure.schedule);
    }
}

/// A check-then-act on std's names through the facade (`lockstep::sync`): the balance is read
/// under the lock, the lock released, and the withdrawal made under it again, so two withdrawals
/// can both pass the check. The simulator finds the overdraft; the version that holds the lock
/// across check and act is correct in every interleaving.
fn withdrawals(hold_lock: bool) -> impl Fn() {
    use lockstep::sync::{Arc, Mutex};
    move || {
        let balance = Arc::new(Mutex::new(100u32));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let balance = Arc::clone(&balance);
                thread::spawn(move || {
                    if hold_lock {
                        let mut b = balance.lock().unwrap();
                        let ok = *b >= 80;
                        if ok {
                            *b -= 80;
                        }
                        ok
                    } else {
                        let enough = *balance.lock().unwrap() >= 80;
                        if enough {
                            let mut b = balance.lock().unwrap();
                            *b = b.checked_sub(80).expect("overdrawn");
                        }
                        enough
                    }
                })
            })
            .collect();
        let paid = workers
            .into_iter()
            .filter_map(|w| w.join().unwrap().then_some(()))
            .count();
        assert_eq!(paid, 1);
    }
}

#[test]
fn std_names_through_the_facade_are_checked() {
    let stats = check(Config::dfs(None), withdrawals(true));
    assert!(stats.complete && stats.schedules > 1, "{stats:?}");
    let failure = try_check(Config::dfs(None), withdrawals(false)).unwrap_err();
    assert!(
        matches!(&failure.kind, FailureKind::Panic { message, .. } if message.contains("overdrawn")),
        "{failure}"
    );
}

/// The rest of `std::thread`'s names through the facade: the join result type, the machine's
/// parallelism, and `panicking` (true only in the thread that unwinds: a thread unwinding from
/// a caught panic runs alone, so another simulated thread's guards are not poisoned by it).
#[test]
fn std_thread_names_through_the_facade() {
    use lockstep::sync::Mutex;
    let stats = check(Config::dfs(None), || {
        let lock = Arc::new(Mutex::new(0));
        let l = Arc::clone(&lock);
        let h = lockstep::thread::spawn(move || {
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _g = l.lock().unwrap();
                panic!("expected: poisons the lock");
            }));
            caught.is_err() && !lockstep::thread::panicking()
        });
        let mine = Mutex::new(0);
        *mine.lock().unwrap() += 1;
        assert!(!lockstep::thread::panicking());
        let joined: lockstep::thread::Result<bool> = h.join();
        assert!(joined.unwrap());
        assert!(lock.is_poisoned() && !mine.is_poisoned());
    });
    assert!(stats.complete, "{stats:?}");
    assert!(lockstep::thread::available_parallelism().is_ok());
}
