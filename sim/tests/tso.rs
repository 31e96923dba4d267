//! x86-TSO (`MemoryModel::X86Tso`) made exact: several threads hold buffered stores to one
//! atomic at once, a cell write queues behind buffered stores instead of draining them, and the
//! exhaustive searches explore every flush. What TSO allows is found by every scheduler (random,
//! PCT, DFS with a preemption bound, the optimal search); what it forbids (message passing,
//! 2+2W, IRIW, Peterson with SeqCst stores) is never reported.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex as StdMutex};

use lockstep_sim::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering, Ordering::*};
use lockstep_sim::sync::cell::UnsafeCell;
use lockstep_sim::sync::hint::spin_loop;
use lockstep_sim::{Config, FailureKind, MemoryModel, Op, Stats, check, thread, try_check};

fn tso(config: Config) -> Config {
    config.memory_model(MemoryModel::X86Tso)
}

/// Every scheduler, under TSO.
fn all_schedulers() -> [Config; 4] {
    [
        tso(Config::random(1, 5_000)),
        tso(Config::pct(2, 3, 5_000)),
        tso(Config::dfs(Some(2))),
        tso(Config::dfs(None)),
    ]
}

/// The exhaustive searches, under TSO.
fn exhaustive_tso() -> [Config; 2] {
    [tso(Config::dfs(Some(3))), tso(Config::dfs(None))]
}

/// Runs `f` under `config` to the end and checks nothing was left unexplored (a spinning
/// thread's executions may be abandoned: see `Config::dfs`).
fn passes(config: Config, f: impl Fn()) -> Stats {
    let exhaustive = matches!(config.strategy, lockstep_sim::Strategy::Dfs { .. });
    let unbounded = matches!(
        config.strategy,
        lockstep_sim::Strategy::Dfs {
            preemption_bound: None
        }
    );
    let stats = check(config, f);
    if exhaustive {
        assert!(stats.exhausted, "{stats:?}");
    }
    if unbounded {
        assert!(stats.complete, "{stats:?}");
    }
    stats
}

/// Store buffering: each thread stores its flag, then reads the other's.
fn store_buffering() {
    let f = Arc::new((AtomicBool::new(false), AtomicBool::new(false)));
    let g = Arc::clone(&f);
    let h = thread::spawn(move || {
        g.1.store(true, Release);
        g.0.load(Acquire)
    });
    f.0.store(true, Release);
    let a = f.1.load(Acquire);
    let b = h.join().unwrap();
    assert!(a || b, "both threads read false");
}

#[test]
fn store_buffering_is_found_by_every_scheduler_and_never_under_sc() {
    for config in all_schedulers() {
        let f = try_check(config, store_buffering).unwrap_err();
        assert!(
            matches!(&f.kind, FailureKind::Panic { message, .. } if message.contains("both threads read false")),
            "{f}"
        );
        assert!(f.schedule.is_weak_memory(), "{f}");
    }
    passes(Config::dfs(None), store_buffering);
}

struct Flagged {
    flags: (AtomicBool, AtomicBool),
    cells: (UnsafeCell<u32>, UnsafeCell<u32>),
}

/// Store buffering with a plain cell write (each thread its own cell) between the store and the
/// load: on x86 the write queues behind the buffered store, which stays invisible.
fn store_buffering_with_a_cell_write() {
    let s = Arc::new(Flagged {
        flags: (AtomicBool::new(false), AtomicBool::new(false)),
        cells: (UnsafeCell::new(0), UnsafeCell::new(0)),
    });
    let t = Arc::clone(&s);
    let h = thread::spawn(move || {
        t.flags.1.store(true, Release);
        // SAFETY: only this thread touches `cells.1` until the join.
        t.cells.1.with_mut(|p| unsafe { *p = 1 });
        t.flags.0.load(Acquire)
    });
    s.flags.0.store(true, Release);
    // SAFETY: only this thread touches `cells.0`.
    s.cells.0.with_mut(|p| unsafe { *p = 1 });
    let a = s.flags.1.load(Acquire);
    let b = h.join().unwrap();
    assert!(a || b, "both threads read false");
}

// SAFETY: each cell is written by one thread only, and read by none.
unsafe impl Sync for Flagged {}

#[test]
fn a_cell_write_does_not_drain_the_store_buffer() {
    for config in all_schedulers() {
        let f = try_check(config, store_buffering_with_a_cell_write).unwrap_err();
        assert!(matches!(f.kind, FailureKind::Panic { .. }), "{f}");
        // The failing execution has no drain before the loads.
        let drained = f.trace.iter().filter(|e| e.op == Op::Drained).count();
        let loads = f
            .trace
            .iter()
            .position(|e| matches!(e.op, Op::Load { .. }))
            .unwrap();
        assert!(
            f.trace[..loads].iter().all(|e| e.op != Op::Drained),
            "drained {drained} times: {f}"
        );
    }
    passes(Config::dfs(None), store_buffering_with_a_cell_write);
}

struct Peterson {
    flag: [AtomicBool; 2],
    turn: AtomicUsize,
    inside: AtomicU32,
}

/// Peterson's lock for two threads, with `store` on the flag and turn stores and `load` on the
/// loads of the wait loop; each thread enters the critical section once.
fn peterson(store: Ordering, load: Ordering) -> impl Fn() {
    peterson_checked(store, load, true)
}

/// Peterson's lock; `checked`: panics if both threads are in the critical section at once.
fn peterson_checked(store: Ordering, load: Ordering, checked: bool) -> impl Fn() {
    move || {
        let s = Arc::new(Peterson {
            flag: [AtomicBool::new(false), AtomicBool::new(false)],
            turn: AtomicUsize::new(0),
            inside: AtomicU32::new(0),
        });
        let enter = move |me: usize, s: &Peterson| {
            let other = 1 - me;
            s.flag[me].store(true, store);
            s.turn.store(other, store);
            while s.flag[other].load(load) && s.turn.load(load) == other {
                spin_loop();
            }
            let before = s.inside.fetch_add(1, SeqCst);
            assert!(
                !checked || before == 0,
                "two threads in the critical section"
            );
            s.inside.fetch_sub(1, SeqCst);
            s.flag[me].store(false, store);
        };
        let t = Arc::clone(&s);
        let h = thread::spawn(move || enter(1, &t));
        enter(0, &s);
        h.join().unwrap();
    }
}

#[test]
fn peterson_with_release_acquire_fails_under_tso_and_passes_under_sc() {
    for config in all_schedulers() {
        let f = try_check(config.clone(), peterson(Release, Acquire)).unwrap_err();
        assert!(
            matches!(&f.kind, FailureKind::Panic { message, .. } if message.contains("two threads in the critical section")),
            "{config:?}: {f}"
        );
    }
    passes(Config::dfs(None), peterson(Release, Acquire));
    passes(Config::dfs(Some(3)), peterson(Release, Acquire));
}

#[test]
fn peterson_with_seqcst_stores_passes_under_tso() {
    for config in exhaustive_tso() {
        passes(config, peterson(SeqCst, Acquire));
    }
    passes(tso(Config::random(3, 2_000)), peterson(SeqCst, Acquire));
    passes(tso(Config::pct(4, 3, 2_000)), peterson(SeqCst, Acquire));
}

/// The R shape: thread 1 stores x then y; thread 2 stores y, then loads x. "y ends 2 and
/// thread 2 read x = 0" needs thread 2's store to y to commit after thread 1's although it was
/// made while thread 1's stores were still buffered: both threads hold a buffered store to y at
/// once. Sequential consistency forbids it; x86 allows it.
fn r_shape() {
    let v = Arc::new((AtomicU32::new(0), AtomicU32::new(0)));
    let (a, b) = (Arc::clone(&v), Arc::clone(&v));
    let h1 = thread::spawn(move || {
        a.0.store(1, Release);
        a.1.store(1, Release);
    });
    let h2 = thread::spawn(move || {
        b.1.store(2, Release);
        b.0.load(Acquire)
    });
    h1.join().unwrap();
    let r = h2.join().unwrap();
    let y = v.1.load(Acquire);
    assert!(!(y == 2 && r == 0), "y ended 2 and x read 0");
}

#[test]
fn two_threads_hold_buffered_stores_to_one_atomic_at_once() {
    for config in all_schedulers() {
        let f = try_check(config, r_shape).unwrap_err();
        assert!(
            matches!(&f.kind, FailureKind::Panic { message, .. } if message.contains("y ended 2")),
            "{f}"
        );
        // Thread 2's store to y was buffered while thread 1's was: both were made before
        // either committed.
        let y = f
            .trace
            .iter()
            .find(|e| matches!(e.op, Op::BufferedStore { value: 2 }))
            .and_then(|e| e.object)
            .unwrap();
        let mut buffered = 0;
        let mut most = 0;
        for e in f.trace.iter().filter(|e| e.object == Some(y)) {
            match e.op {
                Op::BufferedStore { .. } => buffered += 1,
                Op::Commit { .. } => buffered -= 1,
                _ => {}
            }
            most = most.max(buffered);
        }
        assert_eq!(most, 2, "{f}");
    }
    passes(Config::dfs(None), r_shape);
}

/// 2+2W: x86 keeps each thread's stores in order, so x and y cannot both end with the value
/// stored first.
fn two_plus_two_w() {
    let v = Arc::new((AtomicU32::new(0), AtomicU32::new(0)));
    let (a, b) = (Arc::clone(&v), Arc::clone(&v));
    let h1 = thread::spawn(move || {
        a.0.store(1, Relaxed);
        a.1.store(2, Relaxed);
    });
    let h2 = thread::spawn(move || {
        b.1.store(1, Relaxed);
        b.0.store(2, Relaxed);
    });
    h1.join().unwrap();
    h2.join().unwrap();
    let (x, y) = (v.0.load(Relaxed), v.1.load(Relaxed));
    assert!(!(x == 1 && y == 1), "2+2W: both ended with the first store");
}

/// Message passing: data, then a flag; TSO keeps the stores in order and the loads in order.
fn message_passing() {
    let s = Arc::new((AtomicU32::new(0), AtomicBool::new(false)));
    let s2 = Arc::clone(&s);
    let h = thread::spawn(move || {
        s2.0.store(42, Relaxed);
        s2.1.store(true, Relaxed);
    });
    if s.1.load(Relaxed) {
        assert_eq!(s.0.load(Relaxed), 42, "flag seen before the data");
    }
    h.join().unwrap();
}

/// IRIW: two writers, two readers reading in opposite orders. TSO is multi-copy atomic: the
/// readers cannot disagree on the order of the writes.
fn iriw() {
    let v = Arc::new((AtomicU32::new(0), AtomicU32::new(0)));
    let (a, b, c, d) = (
        Arc::clone(&v),
        Arc::clone(&v),
        Arc::clone(&v),
        Arc::clone(&v),
    );
    let w1 = thread::spawn(move || a.0.store(1, Release));
    let w2 = thread::spawn(move || b.1.store(1, Release));
    let r1 = thread::spawn(move || (c.0.load(Acquire), c.1.load(Acquire)));
    let r2 = thread::spawn(move || (d.1.load(Acquire), d.0.load(Acquire)));
    w1.join().unwrap();
    w2.join().unwrap();
    let (x1, y1) = r1.join().unwrap();
    let (y2, x2) = r2.join().unwrap();
    assert!(
        !(x1 == 1 && y1 == 0 && y2 == 1 && x2 == 0),
        "the readers saw the writes in opposite orders"
    );
}

/// Coherence: main stores x=1; the other thread stores x=2, then y=1. If main then reads y==1
/// and x==1, main's store came after the other's in x's order, so x ends 1.
fn coherence() {
    let v = Arc::new((AtomicU32::new(0), AtomicU32::new(0)));
    let w = Arc::clone(&v);
    let h = thread::spawn(move || {
        w.0.store(2, Relaxed);
        w.1.store(1, Relaxed);
    });
    v.0.store(1, Relaxed);
    let r1 = v.1.load(Relaxed);
    let r2 = v.0.load(Relaxed);
    h.join().unwrap();
    let last = v.0.load(Relaxed);
    assert!(
        !(r1 == 1 && r2 == 1 && last == 2),
        "r1=1 r2=1 but x ended 2"
    );
}

#[test]
fn what_tso_forbids_is_never_reported() {
    for config in all_schedulers() {
        passes(config.clone(), message_passing);
        passes(config.clone(), two_plus_two_w);
        passes(config.clone(), coherence);
        passes(config, iriw);
    }
}

#[test]
fn a_failure_the_search_finds_under_tso_replays_from_its_string() {
    for f in [
        try_check(tso(Config::dfs(None)), peterson(Release, Acquire)).unwrap_err(),
        try_check(tso(Config::dfs(None)), r_shape).unwrap_err(),
        try_check(
            tso(Config::random(5, 5_000)),
            store_buffering_with_a_cell_write,
        )
        .unwrap_err(),
    ] {
        let text = f.schedule.to_string();
        assert!(text.starts_with("w:") && text.contains('f'), "{text}");
        let again = match f.kind {
            FailureKind::Panic { ref message, .. } if message.contains("critical") => try_check(
                Config::replay(text.parse().unwrap()),
                peterson(Release, Acquire),
            ),
            FailureKind::Panic { ref message, .. } if message.contains("y ended 2") => {
                try_check(Config::replay(text.parse().unwrap()), r_shape)
            }
            _ => try_check(
                Config::replay(text.parse().unwrap()),
                store_buffering_with_a_cell_write,
            ),
        }
        .unwrap_err();
        assert_eq!(again.trace, f.trace);
        assert_eq!(again.table(), f.table());
    }
}

/// The number of executions the optimal search runs for `f` under `model`, and whether it
/// passed.
fn count(model: MemoryModel, f: impl Fn()) -> (usize, usize, bool) {
    let config = Config::dfs(None).memory_model(model).shrink(false);
    match try_check(config.clone(), f) {
        Ok(s) => {
            assert!(s.complete, "{s:?}");
            (s.schedules, s.abandoned, true)
        }
        Err(_) => (0, 0, false),
    }
}

/// Two threads each incrementing a SeqCst counter twice (fetch_add then fetch_sub).
fn counter_2x2() {
    let c = Arc::new(AtomicU32::new(0));
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let c = Arc::clone(&c);
            thread::spawn(move || {
                for _ in 0..2 {
                    c.fetch_add(100, SeqCst);
                    c.fetch_sub(100, SeqCst);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(c.load(SeqCst), 0);
}

/// Store buffering that records what the two loads read in `seen` instead of checking it.
fn store_buffering_outcomes(seen: &StdMutex<BTreeSet<(bool, bool)>>) -> impl Fn() + '_ {
    move || {
        let f = Arc::new((AtomicBool::new(false), AtomicBool::new(false)));
        let g = Arc::clone(&f);
        let h = thread::spawn(move || {
            g.1.store(true, Release);
            g.0.load(Acquire)
        });
        f.0.store(true, Release);
        let a = f.1.load(Acquire);
        let b = h.join().unwrap();
        seen.lock().unwrap().insert((a, b));
    }
}

#[test]
fn exhaustive_counts_under_tso_and_sc() {
    let sc = MemoryModel::SequentiallyConsistent;
    let x86 = MemoryModel::X86Tso;
    // Store buffering: TSO adds the outcome where both read false, and only that one.
    for (model, runs, outcomes) in [(sc, 3, 3), (x86, 4, 4)] {
        let seen = StdMutex::new(BTreeSet::new());
        let (n, abandoned, ok) = count(model, store_buffering_outcomes(&seen));
        let seen = seen.into_inner().unwrap();
        println!("SB: {model} {n} ({abandoned} abandoned), outcomes {seen:?}");
        assert!(ok);
        assert_eq!((n, abandoned, seen.len()), (runs, 0, outcomes), "{model}");
    }
    // Peterson (each thread in the critical section once, not checked): TSO runs more.
    for (name, store) in [("Release", Release), ("SeqCst", SeqCst)] {
        let (a, a_abandoned, _) = count(sc, peterson_checked(store, Acquire, false));
        let (b, b_abandoned, _) = count(x86, peterson_checked(store, Acquire, false));
        println!(
            "Peterson {name} stores: sc {a} ({a_abandoned} abandoned), x86-tso {b} ({b_abandoned} abandoned)"
        );
        assert!(b > a || store == SeqCst, "{name}: {b} <= {a}");
    }
    // Passing programs: every execution runs; TSO has more (the flushes' places), none
    // abandoned.
    for (name, f) in [
        ("MP", &message_passing as &dyn Fn()),
        ("2+2W", &two_plus_two_w),
        ("IRIW", &iriw),
        ("counter 2x2", &counter_2x2),
    ] {
        let (a, a_abandoned, a_ok) = count(sc, f);
        let (b, b_abandoned, b_ok) = count(x86, f);
        println!("{name}: sc {a} ({a_abandoned} abandoned), x86-tso {b} ({b_abandoned} abandoned)");
        assert!(a_ok && b_ok, "{name}");
        assert_eq!((a_abandoned, b_abandoned), (0, 0), "{name}");
        assert!(b >= a, "{name}: {b} < {a}");
    }
    // Read-modify-writes alone: no store is buffered, so TSO adds nothing.
    assert_eq!(count(sc, counter_2x2).0, count(x86, counter_2x2).0);
}

/// Two threads store to one atomic, both stores possibly buffered at once; after joining them
/// the main thread takes the atomic out of its `Arc`.
fn exclusive_after_two_buffered_stores(seen: &StdMutex<BTreeSet<u32>>) -> impl Fn() + '_ {
    move || {
        let x = Arc::new(AtomicU32::new(0));
        let (a, b) = (Arc::clone(&x), Arc::clone(&x));
        let h1 = thread::spawn(move || a.store(1, Relaxed));
        let h2 = thread::spawn(move || b.store(2, Relaxed));
        h1.join().unwrap();
        h2.join().unwrap();
        let mut x = Arc::try_unwrap(x).unwrap();
        let v = *x.get_mut();
        assert_eq!(x.into_inner(), v);
        seen.lock().unwrap().insert(v);
    }
}

#[test]
fn exclusive_access_sees_the_store_that_committed_last() {
    let seen = StdMutex::new(BTreeSet::new());
    passes(
        tso(Config::dfs(None)),
        exclusive_after_two_buffered_stores(&seen),
    );
    // Both orders of the two stores, each read back exactly as committed.
    assert_eq!(seen.into_inner().unwrap(), BTreeSet::from([1, 2]));
    for config in all_schedulers() {
        passes(config, || {
            let x = Arc::new(AtomicU32::new(0));
            let (a, b) = (Arc::clone(&x), Arc::clone(&x));
            let h1 = thread::spawn(move || a.store(1, Relaxed));
            let h2 = thread::spawn(move || b.store(2, Relaxed));
            h1.join().unwrap();
            h2.join().unwrap();
            let last = x.load(Relaxed);
            assert_eq!(Arc::try_unwrap(x).unwrap().into_inner(), last);
        });
    }
}

/// Thread 1 stores y = 1, then reads x; thread 2 stores x = 3 (SeqCst), then y = 4. "Thread 1
/// read x = 0 and y ended 1": thread 1's load came before thread 2's SeqCst store, so its store
/// to y was made before thread 2's, yet commits after it. Only a store order chosen against the
/// order the stores were made in shows it; sequential consistency forbids it.
fn later_store_commits_first() {
    let v = Arc::new((AtomicU32::new(0), AtomicU32::new(0)));
    let (a, b) = (Arc::clone(&v), Arc::clone(&v));
    let h1 = thread::spawn(move || {
        a.1.store(1, Release);
        a.0.load(Acquire)
    });
    let h2 = thread::spawn(move || {
        b.0.store(3, SeqCst);
        b.1.store(4, Release);
    });
    let r = h1.join().unwrap();
    h2.join().unwrap();
    // Through a move: the atomic carries the value that committed last.
    let y = Arc::try_unwrap(v).unwrap().1.into_inner();
    assert!(!(r == 0 && y == 1), "x read 0 and y ended 1");
}

#[test]
fn a_store_made_later_may_commit_first_and_the_table_says_so() {
    for config in all_schedulers() {
        let f = try_check(config.clone(), later_store_commits_first).unwrap_err();
        assert!(
            matches!(&f.kind, FailureKind::Panic { message, .. } if message.contains("y ended 1")),
            "{config:?}: {f}"
        );
        assert!(
            f.trace.iter().any(|e| e.op
                == Op::CommitsBefore {
                    thread: 1,
                    value: 1
                }),
            "{f}"
        );
        assert!(f.table().contains("(commits before t1's"), "{f}");
        let again = try_check(
            Config::replay(f.schedule.clone()),
            later_store_commits_first,
        )
        .unwrap_err();
        assert_eq!(again.trace, f.trace);
    }
    passes(Config::dfs(None), later_store_commits_first);
}

/// Store buffering with an asymmetric fence pair: the spawned thread has only a compiler fence
/// between its store and its load, the main thread a `membarrier` (or, with `heavy: false`, a
/// SeqCst fence).
fn store_buffering_asymmetric(heavy: bool) -> impl Fn() {
    move || {
        let f = Arc::new((AtomicBool::new(false), AtomicBool::new(false)));
        let g = Arc::clone(&f);
        let h = thread::spawn(move || {
            g.1.store(true, Relaxed);
            std::sync::atomic::compiler_fence(SeqCst);
            g.0.load(Relaxed)
        });
        f.0.store(true, Relaxed);
        if heavy {
            lockstep_sim::sync::atomic::membarrier();
        } else {
            lockstep_sim::sync::atomic::fence(SeqCst);
        }
        let a = f.1.load(Relaxed);
        let b = h.join().unwrap();
        assert!(a || b, "both threads read false");
    }
}

/// The schedulers, each of which models a membarrier under TSO.
fn membarrier_schedulers() -> [Config; 5] {
    [
        tso(Config::dfs(None)),
        tso(Config::random(1, 5_000)),
        tso(Config::pct(2, 3, 5_000)),
        tso(Config::dfs(Some(2))),
        tso(Config::dfs(Some(8))),
    ]
}

#[test]
fn a_membarrier_orders_against_a_compiler_fence_and_a_seqcst_fence_does_not() {
    for config in membarrier_schedulers() {
        passes(config.clone(), store_buffering_asymmetric(true));
        let f = try_check(config, store_buffering_asymmetric(false)).unwrap_err();
        assert!(
            matches!(&f.kind, FailureKind::Panic { message, .. } if message.contains("both threads read false")),
            "{f}"
        );
    }
    // It is a step of its own under TSO, shown in the trace.
    let f = try_check(tso(Config::dfs(Some(2))), || {
        lockstep_sim::sync::atomic::membarrier();
        panic!("after the membarrier");
    })
    .unwrap_err();
    assert!(f.trace.iter().any(|e| e.op == Op::Membarrier), "{f}");
    assert!(
        f.to_string()
            .contains("membarrier: every store buffer drained"),
        "{f}"
    );
    // Sequential consistency: a SeqCst fence.
    passes(Config::dfs(None), store_buffering_asymmetric(true));
}

/// A membarrier orders nothing against a store that comes after it: a thread that runs one and
/// then loads may still read the old value. Every scheduler that models it finds that execution.
#[test]
fn a_membarrier_may_run_before_another_threads_store() {
    let program = || {
        let x = Arc::new(AtomicBool::new(false));
        let y = Arc::clone(&x);
        let h = thread::spawn(move || {
            lockstep_sim::sync::atomic::membarrier();
            y.load(Relaxed)
        });
        x.store(true, Relaxed);
        assert!(h.join().unwrap(), "the load ran before the store");
    };
    for config in membarrier_schedulers() {
        let f = try_check(config, program).unwrap_err();
        assert!(
            matches!(&f.kind, FailureKind::Panic { message, .. } if message.contains("the load ran before the store")),
            "{f}"
        );
    }
}

/// The exhaustive searches are complete with membarriers: the optimal search runs store
/// buffering with a membarrier on one side to the end and reports it complete, and finds the
/// execution in which a compiler fence and a SeqCst fence let both loads read false.
#[test]
fn the_optimal_search_runs_a_membarrier_to_completion() {
    let stats = check(tso(Config::dfs(None)), store_buffering_asymmetric(true));
    assert!(stats.complete && stats.exhausted, "{stats:?}");
    let f = try_check(tso(Config::dfs(None)), store_buffering_asymmetric(false)).unwrap_err();
    assert!(
        matches!(&f.kind, FailureKind::Panic { message, .. } if message.contains("both threads read false")),
        "{f}"
    );
}

#[test]
fn a_membarrier_under_rc11_is_reported_as_unsupported() {
    let f = try_check(
        Config::dfs(None).memory_model(MemoryModel::Rc11),
        store_buffering_asymmetric(true),
    )
    .unwrap_err();
    assert!(
        matches!(&f.kind, FailureKind::Unsupported { message } if message.contains("membarrier")),
        "{f}"
    );
}
