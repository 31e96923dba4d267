//! Blocking: the blocking channels against crossbeam-channel and std's `sync_channel` in several
//! producer/consumer shapes on the machine's cores, a blocking ping-pong through two capacity-1
//! queues, and what a blocked thread costs (process CPU time while one thread waits 1 s on an
//! Event, a Semaphore, a Condvar, an empty Queue and a timed wait, beside std's Condvar and a
//! spinning wait).
//!
//! Run: `cd bench && cargo run --release --bin blocking -- [channels|ping|cpu] [--rounds N]
//! [--only TEXT]` (one section, or all; see [`lockstep_bench::Args`]). Each row of the channel and
//! ping-pong tables comes from `--rounds` (default 10) interleaved rounds: every contender runs
//! once per round, and the ratio of each round is reported as its median, minimum and maximum.
//!
//! The `Broadcast` rows: lockstep's sender never waits, so a receiver that falls a ring behind
//! is told how many it missed, and a message counts as done once every receiver received it or
//! was told it missed it; crossbeam-channel's fan-out (one `bounded(1024)` per receiver) makes
//! the sender wait for the slowest receiver instead. Both start the clock once every receiver
//! thread runs. A note under the table gives, per row, the share of the messages lockstep's
//! receivers received, the rate of what they received (comparable with the peer's rate, whose
//! receivers receive everything) and their lags per 1,000 messages, so that a fast round bought
//! by lagging shows as such.

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
    let args = lockstep_bench::Args::from_env(
        "blocking [channels|ping|cpu] [--rounds N] [--only TEXT]",
        &["channels", "ping", "cpu"],
        &[],
    );
    let rounds = args.rounds;
    lockstep_bench::print_machine("start");
    if args.runs("channels") {
        println!(
            "\n### Blocking channels, blocking `send`/`recv`, threads unpinned ({rounds} interleaved rounds; M/s: median of the rounds; ratio: lockstep's speed over the peer's, median of the per-round ratios (worst-best))\n"
        );
        lockstep_bench::channels::channel_table(&args);
    }
    if args.runs("ping") {
        println!(
            "\n### Blocking ping-pong through two channels of capacity 1 (M round trips/s; {rounds} interleaved rounds)\n"
        );
        lockstep_bench::channels::ping_pong_table(&args);
    }
    if args.runs("cpu") {
        cpu_table();
    }
    println!();
    lockstep_bench::print_machine("end");
}

fn cpu_table() {
    println!();
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

        std::thread::scope(|s| {
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
        })
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
    let q: lockstep_hosted::Queue<u64, 4> = lockstep_hosted::Queue::new();
    row(
        "lockstep Queue::recv on an empty queue",
        measure(hold, || assert_eq!(q.recv(), Ok(1)), || q.send(1).unwrap()),
    );
    let spin_e: lockstep_core::Event<Spin> = lockstep_core::Event::new();
    row(
        "contrast: lockstep Event<Spin> (pure spin)",
        measure(hold, || spin_e.wait(), || spin_e.set()),
    );
}
