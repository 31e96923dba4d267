//! The lecture's thread scenarios: each runs through the library and through the `lockstep`
//! binary, and gives the result the lecture expects. Also the Python-semantics table of the
//! README, one test per row.

use std::process::Command;
use std::time::{Duration, Instant};

use lockstep::lockstep_hosted::lecture;
use lockstep::lockstep_hosted::{Condvar, Event, Mutex, ReentrantMutex, Semaphore};

/// The one knob that scales threaded tests (`LOCKSTEP_TEST_SCALE=10` runs ten times longer).
fn scale(n: usize) -> usize {
    n * lockstep::lockstep_sim::test_scale()
}

fn lockstep(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lockstep"))
        .args(args)
        .output()
        .expect("the lockstep binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn result_line(stdout: &str) -> &str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("Result: "))
        .unwrap_or_else(|| panic!("no Result line in {stdout:?}"))
}

#[test]
fn race_loses_updates_on_a_multicore_machine() {
    // Whether threads overlap depends on how busy the machine is; `race` itself repeats a run
    // that ends at 0 up to 30 times, and longer loops make an overlap certain, so the test
    // lengthens the loop before it concludes that no update is ever lost.
    let mut last = None;
    for iterations in [50_000, 400_000, 2_000_000] {
        let r = lecture::race(16, scale(iterations));
        assert!(r.got.parse::<i64>().is_ok(), "{r}");
        assert_eq!(r.pass, r.got != "0" || lecture::cpus() < 2, "{r}");
        if r.got != "0" || lecture::cpus() < 2 {
            return;
        }
        last = Some(r);
    }
    panic!(
        "no update lost even with 16 x 2,000,000 iterations: {}",
        last.unwrap()
    );
}

#[test]
fn lock_and_semaphore_keep_the_count_at_zero() {
    for per_iteration in [true, false] {
        let r = lecture::lock(16, scale(5_000), per_iteration);
        assert_eq!(r.got, "0", "{r}");
    }
    let r = lecture::semaphore(16, scale(5_000));
    assert_eq!(r.got, "0", "{r}");
    assert!(r.pass, "{r}");
}

#[test]
fn the_other_thread_scenarios_pass() {
    for r in [
        lecture::try_lock(),
        lecture::rlock(5),
        lecture::resources(3, 8, scale(200)),
        lecture::condition(2, 3, scale(2_000)),
        lecture::event(5),
        lecture::comm_types(),
        lecture::models(),
        lecture::sockets(),
    ] {
        assert!(r.pass, "{}: {r}", r.name);
    }
}

#[test]
fn the_binary_prints_result_lines_like_the_slides() {
    let (ok, out) = lockstep(&["lock", "--threads", "8", "--iters", "2000"]);
    assert!(ok, "{out}");
    assert_eq!(result_line(&out), "0");
    let (ok, out) = lockstep(&["semaphore", "-t", "8", "-n", "2000"]);
    assert!(ok, "{out}");
    assert_eq!(result_line(&out), "0");
    // The race succeeds either way; a run whose threads never overlapped (a busy machine) says
    // so and how to make the race show.
    let (ok, out) = lockstep(&["race", "-t", "8", "-n", "20000"]);
    assert!(ok, "{out}");
    assert!(result_line(&out).parse::<i64>().is_ok(), "{out}");
    if result_line(&out) == "0" && lecture::cpus() > 1 {
        assert!(
            out.contains("no update was lost") && out.contains("raise --iters"),
            "{out}"
        );
    } else {
        assert!(!out.contains("no update was lost"), "{out}");
    }
    for cmd in [
        "try-lock",
        "rlock",
        "resources",
        "condition",
        "event",
        "comm-types",
        "sockets",
    ] {
        let (ok, out) = lockstep(&[cmd]);
        assert!(ok, "{cmd}: {out}");
        result_line(&out);
    }
}

#[test]
fn bad_options_are_refused_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_lockstep"))
        .args(["race", "--threads", "0"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--threads"));
}

// The README's Python table, one test per row.

#[test]
fn python_non_blocking_acquire_returns_false_at_once() {
    let m = Mutex::new(());
    let _held = m.lock();
    std::thread::scope(|s| {
        s.spawn(|| {
            let t = Instant::now();
            assert!(m.try_lock().is_none());
            // "At once": no waiting for the holder (generous bound for a loaded machine).
            assert!(t.elapsed() < Duration::from_millis(500));
        });
    });
}

#[test]
fn python_acquire_with_timeout_gives_up() {
    let m = Mutex::new(());
    let sem = Semaphore::new(0);
    let _held = m.lock();
    std::thread::scope(|s| {
        s.spawn(|| {
            let t = Instant::now();
            assert!(m.try_lock_for(Duration::from_millis(30)).is_none());
            assert!(!sem.acquire_timeout(Duration::from_millis(30)));
            assert!(t.elapsed() >= Duration::from_millis(60));
        });
    });
}

#[test]
fn python_release_of_an_unlocked_lock_is_impossible_by_construction() {
    // There is no `release()` to call on a `Mutex`: dropping the guard is the release, and a
    // guard exists only while the lock is held; dropping twice does not compile.
    let m = Mutex::new(1);
    let g = m.lock();
    assert!(m.is_locked());
    drop(g);
    assert!(!m.is_locked());
}

#[test]
fn python_over_release_of_a_bounded_semaphore_is_an_error() {
    let sem = Semaphore::bounded(2);
    sem.acquire();
    assert!(sem.release().is_ok());
    let err = sem.release().unwrap_err();
    assert_eq!(
        err.to_string(),
        "releasing a bounded semaphore above its bound of 2"
    );
    assert_eq!(sem.available(), 2, "a rejected release changes nothing");
    // Python's plain Semaphore may grow without bound.
    let plain = Semaphore::new(1);
    assert!(plain.release().is_ok());
    assert_eq!(plain.available(), 2);
}

#[test]
fn python_event_wait_with_timeout_returns_whether_it_was_set() {
    let e = Event::new();
    assert!(!e.wait_timeout(Duration::from_millis(20)));
    e.set();
    assert!(e.wait_timeout(Duration::from_millis(20)));
    e.clear();
    assert!(!e.is_set());
}

#[test]
fn python_condition_wait_for_maps_to_wait_while() {
    let ready = Mutex::new(0u32);
    let cv = Condvar::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..3 {
                *ready.lock() += 1;
                cv.notify_all();
            }
        });
        // Python: cv.wait_for(lambda: n >= 3); lockstep waits *while* the negation holds.
        let g = cv.wait_while(ready.lock(), |n| *n < 3);
        assert_eq!(*g, 3);
    });
    let (g, ok) = cv.wait_timeout_while(ready.lock(), Duration::from_millis(20), |n| *n < 10);
    assert!(!ok, "timed out while the condition still held");
    assert_eq!(*g, 3);
}

#[test]
fn python_rlock_is_released_as_often_as_it_was_acquired() {
    let m = ReentrantMutex::new(());
    let a = m.lock();
    let b = m.lock();
    assert_eq!(m.lock_count(), 2);
    drop(b);
    std::thread::scope(|s| {
        s.spawn(|| assert!(m.try_lock().is_none(), "still held once"));
    });
    drop(a);
    std::thread::scope(|s| {
        s.spawn(|| assert!(m.try_lock().is_some(), "released as often as acquired"));
    });
}

#[test]
fn blocked_threads_sleep_in_the_kernel_and_wake_on_time() {
    // A waiter blocked on an Event is woken by `set` well before its long timeout.
    let e = Event::new();
    std::thread::scope(|s| {
        let h = s.spawn(|| {
            let t = Instant::now();
            let set = e.wait_timeout(Duration::from_secs(30));
            (set, t.elapsed())
        });
        std::thread::sleep(Duration::from_millis(20));
        e.set();
        let (set, took) = h.join().unwrap();
        assert!(set);
        assert!(took < Duration::from_secs(10));
    });
}

#[test]
fn lecture_runs_every_scenario_and_ends_with_the_summary_table() {
    let (ok, out) = lockstep(&["lecture"]);
    assert!(ok, "{out}");
    let table = out.split("scenario").last().expect("a summary table");
    for name in [
        "race",
        "lock",
        "semaphore",
        "try-lock",
        "rlock",
        "resources",
        "condition",
        "event",
        "models",
        "comm-types",
        "sockets",
        "sim race",
        "sim mp",
    ] {
        let row = table
            .lines()
            .find(|l| l.starts_with(name) && l.ends_with("pass"))
            .unwrap_or_else(|| panic!("no passing row for {name} in {table}"));
        assert!(row.contains('s'), "{row}");
    }
}

#[test]
fn an_event_waiter_sees_a_set_even_if_it_is_cleared_at_once() {
    // The waiter is asleep in the kernel when `set(); clear();` happens; it must still return
    // `true`. A few attempts, in case a loaded machine has not put the waiter to sleep yet (the
    // bug this guards against failed every attempt).
    let saw = (0..3).any(|_| {
        let e = Event::new();
        let started = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            let h = s.spawn(|| {
                started.store(true, std::sync::atomic::Ordering::SeqCst);
                e.wait_timeout(Duration::from_secs(5))
            });
            while !started.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::yield_now();
            }
            std::thread::sleep(Duration::from_millis(100));
            e.set();
            e.clear();
            h.join().unwrap()
        })
    });
    assert!(saw, "the waiter missed a set that was cleared at once");
}
