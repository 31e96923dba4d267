//! Weak memory (x86-TSO store buffers, `Config::weak_memory`): the outcomes only store
//! buffering allows are found, shrunk and replayed; fences and SeqCst stores rule them out; what
//! TSO keeps (store order, a thread seeing its own stores) holds; and sequentially consistent
//! runs never show them. `tso.rs` has the exhaustive searches and the litmus shapes.

use std::sync::Arc;

use lockstep_sim::sync::atomic::{AtomicBool, AtomicU32, Ordering, Ordering::*, fence};
use lockstep_sim::sync::futex;
use lockstep_sim::{Config, FailureKind, Op, Schedule, check, thread, try_check};

/// Store buffering (Dekker's pattern): each thread stores its flag, then reads the other's.
/// Under TSO both can read `false`.
fn store_buffering(store: Ordering, fenced: bool) -> impl Fn() {
    move || {
        let flags = Arc::new((AtomicBool::new(false), AtomicBool::new(false)));
        let f = Arc::clone(&flags);
        let h = thread::spawn(move || {
            f.1.store(true, store);
            if fenced {
                fence(SeqCst);
            }
            f.0.load(Acquire)
        });
        flags.0.store(true, store);
        if fenced {
            fence(SeqCst);
        }
        let saw_other = flags.1.load(Acquire);
        let other_saw_me = h.join().unwrap();
        assert!(saw_other || other_saw_me, "both threads read false");
    }
}

fn configs() -> [Config; 2] {
    [
        Config::random(1, 2_000).weak_memory(true),
        Config::pct(2, 3, 2_000).weak_memory(true),
    ]
}

#[test]
fn store_buffering_is_found_only_with_weak_memory() {
    for config in configs() {
        let f = try_check(config, store_buffering(Release, false)).unwrap_err();
        assert!(matches!(f.kind, FailureKind::Panic { .. }), "{f}");
        assert!(f.schedule.is_weak_memory());
        assert!(f.to_string().contains("w:"), "{f}");
        let buffered = f
            .trace
            .iter()
            .filter(|e| matches!(e.op, Op::BufferedStore { .. }))
            .count();
        assert_eq!(buffered, 2, "{f}");
    }
    // Sequentially consistent runs, even every one of them, never show it.
    assert!(check(Config::dfs(None), store_buffering(Release, false)).complete);
    check(Config::random(1, 2_000), store_buffering(Release, false));
}

#[test]
fn a_seqcst_fence_or_seqcst_stores_rule_store_buffering_out() {
    for config in configs() {
        check(config.clone(), store_buffering(Release, true));
        check(config, store_buffering(SeqCst, false));
    }
}

#[test]
fn a_weak_memory_failure_replays_from_its_schedule_string() {
    let f = try_check(
        Config::random(3, 2_000).weak_memory(true),
        store_buffering(Relaxed, false),
    )
    .unwrap_err();
    let text = f.schedule.to_string();
    let parsed: Schedule = text.parse().unwrap();
    assert_eq!(parsed, f.schedule);
    // The replay turns store buffers on from the `w:` of the string alone.
    let again = try_check(Config::replay(parsed), store_buffering(Relaxed, false)).unwrap_err();
    assert_eq!(again.trace, f.trace);
    assert_eq!(again.table(), f.table());
}

/// Message passing: data, then a flag; TSO keeps the two stores in order, so a reader that sees
/// the flag sees the data.
fn message_passing() {
    let s = Arc::new((AtomicU32::new(0), AtomicBool::new(false)));
    let s2 = Arc::clone(&s);
    let h = thread::spawn(move || {
        s2.0.store(42, Relaxed);
        s2.1.store(true, Release);
    });
    if s.1.load(Acquire) {
        assert_eq!(s.0.load(Relaxed), 42, "flag seen before the data");
    }
    h.join().unwrap();
}

#[test]
fn stores_become_visible_in_program_order_and_a_thread_sees_its_own() {
    for config in configs() {
        check(config.clone(), message_passing);
        check(config, || {
            let a = AtomicU32::new(0);
            a.store(7, Relaxed);
            assert_eq!(a.load(Relaxed), 7, "its own buffered store");
            assert_eq!(
                a.fetch_add(1, Relaxed),
                7,
                "a read-modify-write drains first"
            );
        });
    }
}

#[test]
fn a_spinner_waiting_for_a_buffered_store_gets_it() {
    for config in configs() {
        check(config.max_steps(500), || {
            let flag = Arc::new(AtomicBool::new(false));
            let f = Arc::clone(&flag);
            let h = thread::spawn(move || {
                while !f.load(Acquire) {
                    lockstep_sim::sync::hint::spin_loop();
                }
            });
            flag.store(true, Release);
            h.join().unwrap();
        });
    }
}

/// The lost wake-up of a waiter count read after a Release store: the notifier's store waits in
/// its buffer while it reads "no waiters", the waiter registers and reads the old value, and
/// sleeps for good. A SeqCst fence after the store (or a SeqCst read-modify-write) fixes it.
fn notify_after_release_store(fenced: bool) -> impl Fn() {
    move || {
        let s = Arc::new((AtomicU32::new(0), AtomicU32::new(0)));
        let s2 = Arc::clone(&s);
        let waiter = thread::spawn(move || {
            let (ready, waiters) = &*s2;
            waiters.fetch_add(1, SeqCst);
            while ready.load(Acquire) == 0 {
                futex::wait(ready, 0, false);
            }
        });
        let (ready, waiters) = &*s;
        ready.store(1, Release);
        if fenced {
            fence(SeqCst);
        }
        if waiters.load(SeqCst) > 0 {
            futex::wake_one(ready);
        }
        waiter.join().unwrap();
    }
}

#[test]
fn a_lost_wakeup_through_store_buffering_is_a_deadlock() {
    for config in configs() {
        let f = try_check(config.clone(), notify_after_release_store(false)).unwrap_err();
        assert!(matches!(f.kind, FailureKind::Deadlock { .. }), "{f}");
        check(config, notify_after_release_store(true));
    }
    check(Config::dfs(None), notify_after_release_store(false));
}

#[test]
fn schedule_strings_carry_flushes_and_the_weak_mark() {
    let s: Schedule = "w:0x2-f1-1x3-f0x2".parse().unwrap();
    assert!(s.is_weak_memory());
    assert_eq!(s.to_string(), "w:0x2-f1-1x3-f0x2");
    assert_eq!(s.len(), 8);
    // A choice within a step (where a buffered store goes in its atomic's commit order).
    let s: Schedule = "w:0-c1-1-f0".parse().unwrap();
    assert_eq!(s.to_string(), "w:0-c1-1-f0");
    assert!("0-c".parse::<Schedule>().is_err());
    assert!("0-fx".parse::<Schedule>().is_err());
    assert!("f".parse::<Schedule>().is_err());
    assert!(!"0-1".parse::<Schedule>().unwrap().is_weak_memory());
}

#[test]
fn exclusive_access_sees_every_store_buffered_or_not() {
    check(Config::random(4, 200).weak_memory(true), || {
        let mut a = AtomicU32::new(0);
        a.store(3, Relaxed);
        assert_eq!(*a.get_mut(), 3, "get_mut after a buffered store");
        a.store(4, Release);
        assert_eq!(a.into_inner(), 4, "into_inner after a buffered store");
        let b = Arc::new(AtomicU32::new(0));
        let b2 = Arc::clone(&b);
        thread::spawn(move || b2.store(9, Relaxed)).join().unwrap();
        assert_eq!(Arc::try_unwrap(b).unwrap().into_inner(), 9, "after join");
    });
}

#[test]
fn moving_an_atomic_with_a_buffered_store_keeps_the_value() {
    check(Config::random(6, 200).weak_memory(true), || {
        let a = AtomicU32::new(1);
        a.store(2, Relaxed);
        // The move copies the atomic's memory; the buffered store is its newest value.
        let shared = Arc::new(a);
        let s2 = Arc::clone(&shared);
        let seen = thread::spawn(move || s2.load(Acquire)).join().unwrap();
        assert_eq!(seen, 2);
        assert_eq!(shared.load(Relaxed), 2);
    });
}

/// Coherence: main stores x=1; the other thread stores x=2, then y=1. If main then reads y==1
/// and x==1, main's store came after the other's in x's order, so x ends 1 on x86.
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
        "x86-TSO forbids r1=1 r2=1 final 2"
    );
}

#[test]
fn stores_to_one_atomic_commit_in_one_order_that_every_thread_sees() {
    for config in configs() {
        check(config.clone(), coherence);
        check(config.iterations(5_000), coherence);
    }
}

struct Published {
    data: lockstep_sim::sync::cell::UnsafeCell<u32>,
    flag: AtomicU32,
}

// SAFETY: `data` is written before the Release store of `flag` and read only after an Acquire
// load that saw it, which is what the test checks.
unsafe impl Sync for Published {}

/// A Release store that another thread's buffered Relaxed store to the same atomic follows: an
/// Acquire load that reads the Release store's value synchronizes with it (no data race).
fn release_then_someone_elses_relaxed_store() {
    let s = Arc::new(Published {
        data: lockstep_sim::sync::cell::UnsafeCell::new(0),
        flag: AtomicU32::new(0),
    });
    let (s1, s2) = (Arc::clone(&s), Arc::clone(&s));
    let h1 = thread::spawn(move || {
        // SAFETY: published by the Release store below; nobody reads it before.
        s1.data.with_mut(|p| unsafe { *p = 42 });
        s1.flag.store(1, Release);
    });
    let h2 = thread::spawn(move || s2.flag.store(2, Relaxed));
    if s.flag.load(Acquire) == 1 {
        // SAFETY: the Acquire load read the Release store that published it.
        assert_eq!(s.data.with(|p| unsafe { *p }), 42);
    }
    h1.join().unwrap();
    h2.join().unwrap();
}

#[test]
fn a_buffered_relaxed_store_does_not_invent_a_data_race() {
    for config in configs() {
        check(config, release_then_someone_elses_relaxed_store);
    }
    check(Config::dfs(None), release_then_someone_elses_relaxed_store);
}

#[test]
fn an_atomic_at_the_address_of_a_moved_one_reads_its_own_value() {
    check(Config::random(7, 50).weak_memory(true), || {
        let b = Box::new(AtomicU32::new(0));
        b.store(5, Relaxed); // buffered, at the box's address
        let moved: AtomicU32 = *b; // moved out; the box is freed without a drop at its address
        let fresh = Box::new(AtomicU32::new(7)); // often at the same address
        assert_eq!(fresh.load(Relaxed), 7);
        assert_eq!(moved.load(Relaxed), 5);
    });
}

#[test]
fn a_flush_is_not_a_preemption() {
    let f = try_check(
        Config::replay("w:0x2-f0-0".parse().unwrap()).shrink(false),
        || {
            let x = AtomicU32::new(0);
            let y = AtomicU32::new(0);
            x.store(1, Relaxed);
            y.store(1, Relaxed);
            x.load(Relaxed);
            panic!("end");
        },
    )
    .unwrap_err();
    assert_eq!(f.preemptions, 0, "{f}");
}

#[test]
fn an_acquire_store_is_refused_with_weak_memory_too() {
    for weak in [false, true] {
        let f = try_check(Config::random(1, 1).weak_memory(weak), || {
            AtomicU32::new(0).store(1, Acquire);
        })
        .unwrap_err();
        assert!(
            matches!(&f.kind, FailureKind::Panic { message, .. } if message.contains("acquire store")),
            "{f}"
        );
    }
}
