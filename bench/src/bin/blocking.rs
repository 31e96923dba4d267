//! A blocked thread must cost no CPU: process CPU time while one thread waits 1 s on an Event,
//! a Semaphore, a Condvar and a timed wait, beside std's Condvar and a spinning wait.
//!
//! Run: `cd bench && cargo run --release --bin blocking`.

use std::time::{Duration, Instant};

use lockstep_core::Spin;
use lockstep_hosted::{Condvar, Event, Mutex, Semaphore};

fn process_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Starts `wait` on a thread, lets it block for `hold`, calls `release`, and returns the
/// process CPU time spent meanwhile and the wall time the waiter took.
fn measure(
    hold: Duration,
    wait: impl FnOnce() + Send,
    release: impl FnOnce(),
) -> (Duration, Duration) {
    std::thread::scope(|s| {
        let cpu0 = process_cpu();
        let t0 = Instant::now();
        let h = s.spawn(wait);
        std::thread::sleep(hold);
        release();
        h.join().unwrap();
        (process_cpu() - cpu0, t0.elapsed())
    })
}

fn main() {
    let hold = Duration::from_secs(1);
    println!(
        "### CPU time of the process while one thread is blocked for {} s\n",
        hold.as_secs()
    );
    println!("| waiter | CPU ms | wall ms |");
    println!("|---|---:|---:|");
    let row = |name: &str, (cpu, wall): (Duration, Duration)| {
        println!(
            "| {name} | {:.2} | {:.0} |",
            cpu.as_secs_f64() * 1e3,
            wall.as_secs_f64() * 1e3
        );
    };
    let e = Event::new();
    row(
        "lockstep Event::wait",
        measure(hold, || e.wait(), || e.set()),
    );
    let sem = Semaphore::new(0);
    row(
        "lockstep Semaphore::acquire",
        measure(hold, || sem.acquire(), || sem.release().unwrap()),
    );
    let m = Mutex::new(false);
    let cv = Condvar::new();
    row(
        "lockstep Condvar::wait_while",
        measure(
            hold,
            || drop(cv.wait_while(m.lock(), |done| !*done)),
            || {
                *m.lock() = true;
                cv.notify_all();
            },
        ),
    );
    let e2 = Event::new();
    row(
        "lockstep Event::wait_timeout(1 s), times out",
        measure(hold, || assert!(!e2.wait_timeout(hold)), || {}),
    );
    let held = Mutex::new(());
    let g = held.lock();
    row("lockstep Mutex::lock on a held lock", {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let r = std::thread::scope(|s| {
            let cpu0 = process_cpu();
            let t0 = Instant::now();
            let h = s.spawn(|| {
                drop(held.lock());
                tx.send(()).unwrap();
            });
            std::thread::sleep(hold);
            drop(g);
            rx.recv().unwrap();
            h.join().unwrap();
            (process_cpu() - cpu0, t0.elapsed())
        });
        r
    });
    let sm = std::sync::Mutex::new(false);
    let scv = std::sync::Condvar::new();
    row(
        "std Condvar::wait_while",
        measure(
            hold,
            || drop(scv.wait_while(sm.lock().unwrap(), |d| !*d).unwrap()),
            || {
                *sm.lock().unwrap() = true;
                scv.notify_all();
            },
        ),
    );
    let spin_e: lockstep_core::Event<Spin> = lockstep_core::Event::new();
    row(
        "contrast: lockstep Event<Spin> (pure spin)",
        measure(hold, || spin_e.wait(), || spin_e.set()),
    );
}
