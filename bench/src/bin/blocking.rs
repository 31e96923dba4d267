//! Blocking: a blocked thread must cost no CPU (process CPU time while one thread waits 1 s on
//! an Event, a Semaphore, a Condvar, an empty Queue and a timed wait, beside std's Condvar and a
//! spinning wait), and a blocking ping-pong through two queues against crossbeam-channel and
//! std's `sync_channel`.
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
    lockstep_bench::print_regime("start");
    ping_pong_table();
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

/// Round trips per second of a blocking ping-pong: one thread sends `i` on `ping` and waits for
/// it on `pong`; the other echoes. `send`/`recv` are the blocking forms.
fn ping_pong<P: Sync, Q: Sync>(
    rounds: u64,
    ping: &P,
    pong: &Q,
    send_ping: impl Fn(&P, u64) + Sync,
    recv_ping: impl Fn(&P) -> u64 + Sync,
    send_pong: impl Fn(&Q, u64) + Sync,
    recv_pong: impl Fn(&Q) -> u64 + Sync,
) -> f64 {
    let t = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..rounds {
                let v = recv_ping(ping);
                send_pong(pong, v);
            }
        });
        for i in 0..rounds {
            send_ping(ping, i);
            assert_eq!(recv_pong(pong), i);
        }
    });
    rounds as f64 / t.elapsed().as_secs_f64()
}

fn median3(mut f: impl FnMut() -> f64) -> f64 {
    let mut v = [f(), f(), f()];
    v.sort_by(|a, b| a.total_cmp(b));
    v[1]
}

/// The blocking ping-pong table.
fn ping_pong_table() {
    const ROUNDS: u64 = 200_000;
    println!(
        "\n### Blocking ping-pong through two queues of capacity 1 ({ROUNDS} round trips, median of 3)\n"
    );
    println!("| channel | M round trips/s | ns per round trip | vs crossbeam-channel |");
    println!("|---|---:|---:|---:|");
    let ls = median3(|| {
        let (a, b): (
            lockstep_hosted::Queue<u64, 1>,
            lockstep_hosted::Queue<u64, 1>,
        ) = Default::default();
        ping_pong(
            ROUNDS,
            &a,
            &b,
            |q, v| q.send(v).unwrap(),
            |q| q.recv().unwrap(),
            |q, v| q.send(v).unwrap(),
            |q| q.recv().unwrap(),
        )
    });
    let cb = median3(|| {
        let a = crossbeam_channel::bounded::<u64>(1);
        let b = crossbeam_channel::bounded::<u64>(1);
        ping_pong(
            ROUNDS,
            &a,
            &b,
            |q, v| q.0.send(v).unwrap(),
            |q| q.1.recv().unwrap(),
            |q, v| q.0.send(v).unwrap(),
            |q| q.1.recv().unwrap(),
        )
    });
    let sd = median3(|| {
        let (atx, arx) = std::sync::mpsc::sync_channel::<u64>(1);
        let (btx, brx) = std::sync::mpsc::sync_channel::<u64>(1);
        let a = (atx, std::sync::Mutex::new(arx));
        let b = (btx, std::sync::Mutex::new(brx));
        ping_pong(
            ROUNDS / 10,
            &a,
            &b,
            |q, v| q.0.send(v).unwrap(),
            |q| q.1.lock().unwrap().recv().unwrap(),
            |q, v| q.0.send(v).unwrap(),
            |q| q.1.lock().unwrap().recv().unwrap(),
        )
    });
    for (name, r) in [
        ("lockstep Queue<u64, 1> (hosted, futex)", ls),
        ("crossbeam-channel bounded(1)", cb),
        ("std sync_channel(1)", sd),
    ] {
        println!(
            "| {name} | {:.3} | {:.0} | {:.2}x |",
            r / 1e6,
            1e9 / r,
            r / cb
        );
    }
}
