//! The optimal exhaustive search: the number of executions it runs is the number of
//! Mazurkiewicz traces, and it abandons none.

use std::sync::Arc;

use lockstep_sim::sync::Mutex;
use lockstep_sim::sync::atomic::{AtomicI64, AtomicU32, Ordering::SeqCst};
use lockstep_sim::{Config, Stats, check, thread};

fn exhaustive(f: impl Fn()) -> Stats {
    let stats = check(Config::dfs(None), f);
    assert!(stats.complete, "{stats:?}");
    stats
}

/// (2KN)! / ((2K)!)^N: every order of N threads' 2K mutually conflicting steps.
fn minimum(n: u64, k: u64) -> usize {
    let fact = |x: u64| (1..=x).map(u128::from).product::<u128>();
    (fact(2 * k * n) / fact(2 * k).pow(n as u32)) as usize
}

fn atomic_counter(n: usize, k: usize) -> impl Fn() {
    move || {
        let count = Arc::new(AtomicI64::new(0));
        let hs: Vec<_> = (0..n)
            .map(|_| {
                let c = Arc::clone(&count);
                thread::spawn(move || {
                    for _ in 0..k {
                        c.fetch_add(100, SeqCst);
                        c.fetch_sub(100, SeqCst);
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(count.load(SeqCst), 0);
    }
}

fn locked_counter(n: usize, k: usize) -> impl Fn() {
    move || {
        let count = Arc::new(Mutex::new(0i64));
        let hs: Vec<_> = (0..n)
            .map(|_| {
                let c = Arc::clone(&count);
                thread::spawn(move || {
                    for _ in 0..k {
                        *c.lock().unwrap() += 100;
                        *c.lock().unwrap() -= 100;
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(*count.lock().unwrap(), 0);
    }
}

#[test]
fn counters_run_every_trace_once() {
    for (n, k) in [(2, 2), (3, 1), (2, 3)] {
        let min = minimum(n as u64, k as u64);
        let a = exhaustive(atomic_counter(n, k));
        let l = exhaustive(locked_counter(n, k));
        assert_eq!((a.schedules, a.abandoned), (min, 0), "atomic {n}x{k}");
        assert_eq!((l.schedules, l.abandoned), (min, 0), "locked {n}x{k}");
    }
}

#[test]
fn store_buffering_has_three_executions() {
    let stats = exhaustive(|| {
        let x = Arc::new(AtomicU32::new(0));
        let y = Arc::new(AtomicU32::new(0));
        let (x1, y1) = (Arc::clone(&x), Arc::clone(&y));
        let h = thread::spawn(move || {
            x1.store(1, SeqCst);
            y1.load(SeqCst)
        });
        let (x2, y2) = (Arc::clone(&x), Arc::clone(&y));
        let g = thread::spawn(move || {
            y2.store(1, SeqCst);
            x2.load(SeqCst)
        });
        let (a, b) = (h.join().unwrap(), g.join().unwrap());
        assert!(a == 1 || b == 1);
    });
    assert_eq!((stats.schedules, stats.abandoned), (3, 0));
}

/// Prints the exhaustive-search table of BENCHMARKS.md (run with `--release --ignored`).
#[test]
#[ignore = "a timing table, run by hand"]
fn exhaustive_search_table() {
    let row = |name: &str, min: usize, f: &dyn Fn()| {
        let start = std::time::Instant::now();
        let s = exhaustive(f);
        let t = start.elapsed();
        println!(
            "| {name} | {min} | {} | {} | {:.3} s |",
            s.schedules,
            s.abandoned,
            t.as_secs_f64()
        );
    };
    println!("| program | minimum | executions | abandoned | time |");
    println!("|---|---|---|---|---|");
    for (n, k) in [(2, 2), (3, 1), (2, 3), (3, 2), (3, 3)] {
        let min = minimum(n as u64, k as u64);
        row(
            &format!("atomic counter {n}x{k}"),
            min,
            &atomic_counter(n, k),
        );
        if (n, k) != (3, 3) {
            row(
                &format!("locked counter {n}x{k}"),
                min,
                &locked_counter(n, k),
            );
        }
    }
}

/// A fixed workload for instruction counts (`valgrind --tool=callgrind`).
#[test]
#[ignore = "a profiling workload, run by hand"]
fn profile_workload() {
    let s = exhaustive(atomic_counter(3, 2));
    assert_eq!(s.schedules, 34_650);
}

#[test]
fn a_failure_the_search_finds_replays_identically() {
    // The lost update of the racy counter (a load and a store per update).
    let racy = || {
        let count = Arc::new(AtomicI64::new(0));
        let c = Arc::clone(&count);
        let h = thread::spawn(move || c.store(c.load(SeqCst) + 100, SeqCst));
        count.store(count.load(SeqCst) + 100, SeqCst);
        h.join().unwrap();
        assert_eq!(count.load(SeqCst), 200, "lost update");
    };
    let failure = lockstep_sim::try_check(Config::dfs(None), racy).unwrap_err();
    assert!(failure.to_string().contains("lost update"));
    let again =
        lockstep_sim::try_check(Config::replay(failure.schedule.clone()), racy).unwrap_err();
    assert_eq!(again.schedule, failure.schedule);
    assert_eq!(again.trace, failure.trace);
}

#[test]
fn a_deadlock_needs_every_order_of_two_locks() {
    // Two threads take two modelled locks in opposite orders: the search reports the deadlock.
    let f = lockstep_sim::try_check(Config::dfs(None), || {
        let a = Arc::new((Mutex::new(()), Mutex::new(())));
        let b = Arc::clone(&a);
        let h = thread::spawn(move || {
            let _x = b.1.lock().unwrap();
            let _y = b.0.lock().unwrap();
        });
        {
            let _x = a.0.lock().unwrap();
            let _y = a.1.lock().unwrap();
        }
        h.join().unwrap();
    })
    .unwrap_err();
    assert!(
        matches!(f.kind, lockstep_sim::FailureKind::Deadlock { .. }),
        "{f}"
    );
}

#[test]
fn futex_hand_off_has_no_lost_wake_up_in_any_execution() {
    use lockstep_sim::sync::futex;
    // A flag set and woken by one thread, awaited by another: every trace is complete.
    let stats = exhaustive(|| {
        let flag = Arc::new(AtomicU32::new(0));
        let f = Arc::clone(&flag);
        let h = thread::spawn(move || {
            f.store(1, SeqCst);
            futex::wake_one(&f);
        });
        while flag.load(SeqCst) == 0 {
            futex::wait(&flag, 0, false);
        }
        h.join().unwrap();
    });
    // The main thread reads 1 at once; or reads 0 and its wait sees the 1; or reads 0 and
    // sleeps until the wake.
    assert_eq!((stats.schedules, stats.abandoned), (3, 0));
}

/// A timed wait for a flag another thread sets and wakes: `true` if woken or never asleep.
fn timed_hand_off() -> bool {
    use lockstep_sim::sync::futex;
    let flag = Arc::new(AtomicU32::new(0));
    let f = Arc::clone(&flag);
    let h = thread::spawn(move || {
        f.store(1, SeqCst);
        futex::wake_one(&f);
    });
    let woken = futex::wait(&flag, 0, true);
    h.join().unwrap();
    woken
}

#[test]
fn explored_timeouts_run_both_ends_of_a_timed_wait() {
    // Without: the wait times out only when nothing else can run, so never here: it reads 1
    // at once, or sleeps until the wake.
    let stats = exhaustive(|| assert!(timed_hand_off()));
    assert_eq!((stats.schedules, stats.abandoned), (2, 0));
    // With: the wait reads 1 at once; or sleeps and is woken; or sleeps and times out first.
    let stats = check(Config::dfs(None).explore_timeouts(true), || {
        timed_hand_off();
    });
    assert!(stats.complete);
    assert_eq!((stats.schedules, stats.abandoned), (3, 0));
    let f = lockstep_sim::try_check(Config::dfs(None).explore_timeouts(true), || {
        assert!(timed_hand_off(), "timed out");
    })
    .unwrap_err();
    assert!(f.schedule.explores_timeouts());
    assert!(f.schedule.to_string().starts_with("t:"));
    // The replay turns explored timeouts on from the schedule alone.
    let again = lockstep_sim::try_check(Config::replay(f.schedule.clone()), || {
        assert!(timed_hand_off())
    })
    .unwrap_err();
    assert_eq!(again.trace, f.trace);
    // Random schedules find it too.
    assert!(
        lockstep_sim::try_check(Config::random(3, 200).explore_timeouts(true), || {
            assert!(timed_hand_off())
        })
        .is_err()
    );
}
