//! Model and multi-threaded tests of the core's locks, semaphore, event and condition variable.

use std::collections::VecDeque;
use std::thread;

use lockstep_core::{Condvar, Event, Mutex, RelaxStrategy, Semaphore, Spin, SpinLock};
use proptest::prelude::*;

/// A relax strategy that yields to the OS, so tests with more threads than cores make progress.
struct Yield;

impl RelaxStrategy for Yield {
    fn relax() {
        thread::yield_now();
    }
}

type W = Spin<Yield>;

/// The one knob that scales threaded tests (`LOCKSTEP_TEST_SCALE=10` runs ten times longer).
fn scale(n: usize) -> usize {
    n * lockstep_sim::test_scale()
}

#[allow(dead_code)]
fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    assert_send_sync::<SpinLock<W>>();
    assert_send_sync::<Mutex<u32, W>>();
    assert_send_sync::<Semaphore<W>>();
    assert_send_sync::<Event<W>>();
    assert_send_sync::<Condvar<W>>();
}

#[derive(Debug, Clone)]
enum SemOp {
    TryAcquire,
    Release,
    AcquireTimeout,
}

fn sem_op() -> impl Strategy<Value = SemOp> {
    prop_oneof![
        Just(SemOp::TryAcquire),
        Just(SemOp::Release),
        Just(SemOp::AcquireTimeout)
    ]
}

proptest! {
    // The default configuration reads PROPTEST_CASES (256 when unset).

    /// The count stays within 0..=max, over-release is rejected and changes nothing, and
    /// `try_acquire` succeeds exactly when a permit is free.
    #[test]
    fn semaphore_follows_its_counter_model(
        max in 1u32..6,
        start in 0u32..6,
        ops in proptest::collection::vec(sem_op(), 0..64),
    ) {
        let start = start.min(max);
        let sem: Semaphore<W> = Semaphore::with_max(start, max);
        let mut model = start;
        for op in ops {
            match op {
                SemOp::TryAcquire => {
                    let got = sem.try_acquire().is_ok();
                    prop_assert_eq!(got, model > 0);
                    if got { model -= 1; }
                }
                SemOp::AcquireTimeout => {
                    let got = sem.acquire_timeout(2);
                    prop_assert_eq!(got, model > 0);
                    if got { model -= 1; }
                }
                SemOp::Release => {
                    let ok = sem.release().is_ok();
                    prop_assert_eq!(ok, model < max);
                    if ok { model += 1; }
                }
            }
            prop_assert_eq!(sem.available(), model);
            prop_assert!(sem.available() <= max);
        }
    }

    /// An event's state follows set/clear, and a wait succeeds exactly when it is set.
    #[test]
    fn event_follows_set_and_clear(ops in proptest::collection::vec(0u8..3, 0..64)) {
        let e: Event<W> = Event::new();
        let mut model = false;
        for op in ops {
            match op {
                0 => { e.set(); model = true; }
                1 => { e.clear(); model = false; }
                _ => prop_assert_eq!(e.wait_timeout(1), model),
            }
            prop_assert_eq!(e.is_set(), model);
        }
    }

    /// try_lock on a mutex succeeds exactly when no guard is alive.
    #[test]
    fn mutex_try_lock_follows_held_guards(ops in proptest::collection::vec(any::<bool>(), 0..64)) {
        let m: Mutex<u32, W> = Mutex::new(0);
        let mut held: VecDeque<_> = VecDeque::new();
        for take in ops {
            if take {
                let g = m.try_lock();
                prop_assert_eq!(g.is_some(), held.is_empty());
                if let Some(g) = g { held.push_back(g); }
            } else {
                held.pop_front();
            }
            prop_assert_eq!(m.is_locked(), !held.is_empty());
        }
    }
}

#[test]
fn mutex_keeps_the_total_exact_under_contention() {
    let threads = 8;
    let iters = scale(5_000);
    let count: Mutex<i64, W> = Mutex::new(0);
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..iters {
                    *count.lock() += 100;
                    *count.lock() -= 99;
                }
            });
        }
    });
    assert_eq!(count.into_inner(), (threads * iters) as i64);
}

/// A release at the top of the counter's range is the documented error, never an arithmetic
/// overflow (which panics in a debug build, the default `cargo build` of a firmware).
#[test]
fn release_at_the_top_of_the_range_is_an_error_not_an_overflow() {
    use lockstep_core::OverRelease;
    let unbounded: Semaphore<W> = Semaphore::new(u32::MAX);
    assert_eq!(unbounded.release(), Err(OverRelease { max: u32::MAX }));
    assert_eq!(unbounded.available(), u32::MAX);
    let full: Semaphore<W> = Semaphore::bounded(u32::MAX - 1);
    assert_eq!(full.release(), Err(OverRelease { max: u32::MAX - 1 }));
    let almost: Semaphore<W> = Semaphore::with_max(u32::MAX - 1, u32::MAX);
    assert_eq!(almost.release(), Ok(()));
    assert_eq!(almost.release(), Err(OverRelease { max: u32::MAX }));
    assert_eq!(almost.available(), u32::MAX);
}

#[test]
fn bounded_semaphore_never_admits_more_than_its_bound() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let sem: Semaphore<W> = Semaphore::bounded(3);
    let inside = AtomicUsize::new(0);
    let peak = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..scale(2_000) {
                    let _p = sem.acquire_permit();
                    let now = inside.fetch_add(1, SeqCst) + 1;
                    peak.fetch_max(now, SeqCst);
                    inside.fetch_sub(1, SeqCst);
                }
            });
        }
    });
    assert!(peak.load(SeqCst) <= 3, "peak {}", peak.load(SeqCst));
    assert_eq!(sem.available(), 3, "a permit was lost or duplicated");
}

#[test]
fn condvar_producer_consumer_hands_over_every_item() {
    let items = scale(5_000) as u64;
    let queue: Mutex<VecDeque<u64>, W> = Mutex::new(VecDeque::new());
    let not_empty: Condvar<W> = Condvar::new();
    let not_full: Condvar<W> = Condvar::new();
    let consumers = 3;
    let sum = Mutex::<u64, W>::new(0);
    let got = Mutex::<u64, W>::new(0);
    thread::scope(|s| {
        for _ in 0..consumers {
            s.spawn(|| {
                loop {
                    let mut q = not_empty.wait_while(queue.lock(), |q| q.is_empty());
                    let v = q.pop_front().unwrap();
                    drop(q);
                    not_full.notify_one();
                    if v == u64::MAX {
                        break;
                    }
                    *sum.lock() += v;
                    *got.lock() += 1;
                }
            });
        }
        for v in 1..=items {
            let mut q = not_full.wait_while(queue.lock(), |q| q.len() >= 4);
            q.push_back(v);
            drop(q);
            not_empty.notify_one();
        }
        for _ in 0..consumers {
            queue.lock().push_back(u64::MAX);
            not_empty.notify_all();
        }
    });
    assert_eq!(got.into_inner(), items);
    assert_eq!(sum.into_inner(), items * (items + 1) / 2);
}

#[test]
fn event_wakes_every_waiter() {
    for _ in 0..scale(20) {
        let e: Event<W> = Event::new();
        let woken = Mutex::<u32, W>::new(0);
        thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| {
                    e.wait();
                    *woken.lock() += 1;
                });
            }
            e.set();
        });
        assert_eq!(woken.into_inner(), 6);
    }
}

#[test]
fn condvar_timed_wait_reports_timeout_and_wakeup() {
    let m: Mutex<bool, W> = Mutex::new(false);
    let cv: Condvar<W> = Condvar::new();
    let (g, woken) = cv.wait_timeout(m.lock(), 3);
    assert!(!woken);
    drop(g);
    thread::scope(|s| {
        s.spawn(|| {
            *m.lock() = true;
            cv.notify_all();
        });
        let (g, ok) = cv.wait_timeout_while(m.lock(), u32::MAX, |done| !*done);
        assert!(ok);
        assert!(*g);
    });
}
