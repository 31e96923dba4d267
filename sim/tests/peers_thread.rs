//! The scenarios of shuttle's `tests/basic/thread.rs` and loom's `thread_api.rs`,
//! `thread_local.rs` and `yield.rs`, written against `lockstep_sim::thread`: scoped threads,
//! joins, names and ids, park and unpark, thread-locals per simulated thread, yielding, sleep.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use lockstep_sim::sync::Mutex;
use lockstep_sim::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use lockstep_sim::{Config, FailureKind, check, thread, time, try_check};

fn deadlocks(config: Config, f: impl Fn()) {
    let failure = try_check(config, f).expect_err("the deadlock is found");
    assert!(
        matches!(failure.kind, FailureKind::Deadlock { .. }),
        "expected a deadlock: {failure}"
    );
}

#[test]
fn scoped_threads_borrow_and_are_all_joined() {
    let stats = check(Config::dfs(None), || {
        let counter = AtomicUsize::new(0);
        let mut local = vec![1, 2];
        thread::scope(|s| {
            s.spawn(|| counter.fetch_add(1, SeqCst));
            let h = s.spawn(|| {
                counter.fetch_add(1, SeqCst);
                local.len()
            });
            assert_eq!(h.join().unwrap(), 2);
        });
        // Every scoped thread has finished: the borrow is over.
        local.push(3);
        assert_eq!(counter.load(SeqCst), 2);
    });
    assert!(stats.schedules > 1);
}

#[test]
fn a_scoped_race_is_found() {
    let failure = try_check(Config::dfs(None), || {
        let counter = AtomicUsize::new(0);
        thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    let v = counter.load(SeqCst);
                    counter.store(v + 1, SeqCst);
                });
            }
        });
        assert_eq!(counter.load(SeqCst), 2, "lost update");
    })
    .unwrap_err();
    assert!(matches!(failure.kind, FailureKind::Panic { .. }));
}

#[test]
fn joins_return_results_and_ids_are_unique() {
    check(Config::dfs(Some(2)), || {
        let main = thread::current().id();
        let hs: Vec<_> = (0..3)
            .map(|i| thread::spawn(move || (i * 2, thread::current().id())))
            .collect();
        let mut ids = HashSet::from([main]);
        for (i, h) in hs.into_iter().enumerate() {
            let (v, id) = h.join().unwrap();
            assert_eq!(v, i * 2);
            assert!(ids.insert(id), "thread ids are unique");
        }
    });
}

#[test]
fn builder_names_and_the_main_thread() {
    check(Config::random(1, 5), || {
        assert_eq!(thread::current().name(), Some("main"));
        let h = thread::Builder::new()
            .name("worker".into())
            .spawn(|| thread::current().name().map(str::to_owned))
            .unwrap();
        assert_eq!(h.thread().name(), Some("worker"));
        assert_eq!(h.join().unwrap().as_deref(), Some("worker"));
        let unnamed = thread::spawn(|| thread::current().name().is_none());
        assert!(unnamed.join().unwrap());
    });
}

#[test]
fn park_returns_after_unpark_in_every_order() {
    let stats = check(Config::dfs(None), || {
        let flag = Arc::new(AtomicBool::new(false));
        let main = thread::current();
        let f2 = Arc::clone(&flag);
        let h = thread::spawn(move || {
            f2.store(true, SeqCst);
            main.unpark();
        });
        while !flag.load(SeqCst) {
            thread::park();
        }
        h.join().unwrap();
    });
    assert!(stats.schedules > 1);
}

#[test]
fn park_without_unpark_deadlocks() {
    deadlocks(Config::dfs(None), || {
        let h = thread::spawn(|| {});
        h.join().unwrap();
        thread::park();
    });
}

#[test]
fn unparks_are_not_cumulative() {
    // Two unparks leave one token: the second park blocks for ever.
    deadlocks(Config::dfs(None), || {
        let me = thread::current();
        me.unpark();
        me.unpark();
        thread::park();
        thread::park();
    });
}

#[test]
fn unpark_wakes_a_parked_thread() {
    check(Config::dfs(None), || {
        let done = Arc::new(AtomicBool::new(false));
        let d2 = Arc::clone(&done);
        let h = thread::spawn(move || {
            while !d2.load(SeqCst) {
                thread::park();
            }
        });
        done.store(true, SeqCst);
        h.thread().unpark();
        h.join().unwrap();
    });
}

lockstep_sim::thread_local! {
    static COUNT: Cell<u32> = const { Cell::new(0) };
    static LOG: RefCell<Vec<u32>> = RefCell::new(Vec::new());
}

#[test]
fn thread_locals_are_per_simulated_thread_and_per_execution() {
    check(Config::dfs(None), || {
        COUNT.with(|c| c.set(c.get() + 1));
        let h = thread::spawn(|| {
            COUNT.with(|c| c.set(c.get() + 10));
            COUNT.with(Cell::get)
        });
        assert_eq!(h.join().unwrap(), 10);
        // The main thread's value, fresh in every execution.
        assert_eq!(COUNT.with(Cell::get), 1);
    });
}

#[test]
fn thread_local_access_nests() {
    check(Config::random(2, 3), || {
        LOG.with(|log| {
            COUNT.with(|c| {
                c.set(5);
                log.borrow_mut().push(c.get());
            })
        });
        assert_eq!(LOG.with(|l| l.borrow().clone()), [5]);
    });
}

struct CountDrops(Arc<AtomicUsize>);

impl Drop for CountDrops {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn thread_local_values_drop_when_their_thread_ends() {
    lockstep_sim::thread_local! {
        static GUARD: RefCell<Option<CountDrops>> = const { RefCell::new(None) };
    }
    check(Config::random(3, 5), || {
        let drops = Arc::new(AtomicUsize::new(0));
        let d = Arc::clone(&drops);
        thread::spawn(move || GUARD.with(|g| *g.borrow_mut() = Some(CountDrops(d))))
            .join()
            .unwrap();
        assert_eq!(drops.load(SeqCst), 1);
    });
}

#[test]
fn yield_now_lets_the_other_thread_finish() {
    check(Config::dfs(None), || {
        let done = Arc::new(AtomicBool::new(false));
        let d2 = Arc::clone(&done);
        let h = thread::spawn(move || d2.store(true, SeqCst));
        while !done.load(SeqCst) {
            thread::yield_now();
        }
        h.join().unwrap();
    });
}

#[test]
fn sleep_advances_the_simulated_clock_only() {
    let real = std::time::Instant::now();
    let ends = Mutex::new(Vec::new());
    check(Config::random(4, 50), || {
        let t0 = time::now();
        let h = thread::spawn(|| thread::sleep(Duration::from_secs(2)));
        thread::sleep(Duration::from_secs(3));
        h.join().unwrap();
        let elapsed = time::now() - t0;
        assert!(elapsed >= Duration::from_secs(3));
        ends.lock().unwrap().push(elapsed);
    });
    assert!(
        real.elapsed() < Duration::from_secs(3),
        "nothing slept in real time"
    );
    assert_eq!(ends.lock().unwrap().len(), 50);
}

#[test]
fn outside_a_check_these_are_std_threads() {
    let h = thread::Builder::new()
        .name("real".into())
        .spawn(|| thread::current().name().map(str::to_owned))
        .unwrap();
    assert_eq!(h.join().unwrap().as_deref(), Some("real"));
    let v = [1, 2, 3];
    let sum = thread::scope(|s| s.spawn(|| v.iter().sum::<i32>()).join().unwrap());
    assert_eq!(sum, 6);
    COUNT.with(|c| c.set(7));
    assert_eq!(thread::spawn(|| COUNT.with(Cell::get)).join().unwrap(), 0);
    let me = thread::current();
    me.unpark();
    thread::park();
}
