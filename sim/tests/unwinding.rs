//! A simulated thread that panics and catches it drops its guards while unwinding, and each
//! drop is a step. The panic count `std::thread::panicking()` reads is the OS thread's, shared
//! by every simulated thread: another thread run in the middle of that unwinding poisoned the
//! locks it dropped, and its next `lock().unwrap()` panicked while the first panic was still
//! unwinding, which aborted the whole test process ("thread caused non-unwinding panic").
//! An unwinding thread now runs alone until its panic is caught.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use lockstep_sim::sync::Mutex;
use lockstep_sim::{Config, check, thread};

fn scenario() {
    let held = Arc::new((Mutex::new(0), Mutex::new(0)));
    let other = Arc::new(Mutex::new(0));
    let h = {
        let held = Arc::clone(&held);
        thread::spawn(move || {
            let r = catch_unwind(AssertUnwindSafe(|| {
                let _a = held.0.lock().unwrap();
                let _b = held.1.lock().unwrap();
                panic!("expected: poisons both");
            }));
            assert!(r.is_err());
        })
    };
    for _ in 0..3 {
        *other.lock().unwrap() += 1;
    }
    h.join().unwrap();
    assert!(held.0.is_poisoned() && held.1.is_poisoned());
    assert!(!other.is_poisoned(), "poisoned by another thread's panic");
    assert_eq!(*other.lock().unwrap(), 3);
}

#[test]
fn a_panic_in_one_thread_poisons_only_its_own_locks() {
    let stats = check(Config::random(3, 300), scenario);
    assert_eq!(stats.schedules, 300);
    let stats = check(Config::dfs(None), scenario);
    assert!(stats.complete, "{stats:?}");
}
