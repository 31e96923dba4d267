//! Programs written with std's names, checked by lockstep-sim's std mirror and by shuttle's,
//! measured in the same run: random schedules per second. Also the facade's `Queue` against
//! lockstep-hosted's (the facade must add nothing).
//!
//! `cd bench && cargo run --release --bin mirror` (about 20 s).

use std::hint::black_box;
use std::time::Instant;

use lockstep_bench::{median, print_regime};

/// The same program text for both tools: `$m` is the module providing `sync` and `thread`.
macro_rules! programs {
    ($name:ident, $m:ident) => {
        mod $name {
            use $m::sync::{Arc, Barrier, Condvar, Mutex, RwLock, mpsc};
            use $m::thread;

            /// Two senders, two messages each, on a channel of capacity 1; the receiver sums.
            pub(crate) fn mpsc() {
                let (tx, rx) = mpsc::sync_channel::<u32>(1);
                let hs: Vec<_> = (0..2)
                    .map(|i| {
                        let tx = tx.clone();
                        thread::spawn(move || {
                            tx.send(i).unwrap();
                            tx.send(10).unwrap();
                        })
                    })
                    .collect();
                drop(tx);
                assert_eq!(rx.iter().sum::<u32>(), 21);
                for h in hs {
                    h.join().unwrap();
                }
            }

            /// A producer hands three values one at a time to a consumer under a mutex and a
            /// condition variable.
            pub(crate) fn condvar() {
                let pair = Arc::new((Mutex::new(None::<u32>), Condvar::new()));
                let p = Arc::clone(&pair);
                let consumer = thread::spawn(move || {
                    let mut sum = 0;
                    for _ in 0..3 {
                        let mut g = p.0.lock().unwrap();
                        while g.is_none() {
                            g = p.1.wait(g).unwrap();
                        }
                        sum += g.take().unwrap();
                        p.1.notify_all();
                    }
                    sum
                });
                for i in 1..=3 {
                    let mut g = pair.0.lock().unwrap();
                    while g.is_some() {
                        g = pair.1.wait(g).unwrap();
                    }
                    *g = Some(i);
                    pair.1.notify_all();
                }
                assert_eq!(consumer.join().unwrap(), 6);
            }

            /// Two readers and a writer on a readers-writer lock.
            pub(crate) fn rwlock() {
                let lock = Arc::new(RwLock::new(0u32));
                let readers: Vec<_> = (0..2)
                    .map(|_| {
                        let l = Arc::clone(&lock);
                        thread::spawn(move || {
                            let v = *l.read().unwrap();
                            assert!(v <= 1);
                        })
                    })
                    .collect();
                *lock.write().unwrap() += 1;
                for h in readers {
                    h.join().unwrap();
                }
                assert_eq!(*lock.read().unwrap(), 1);
            }

            /// Three threads meet at a barrier twice.
            pub(crate) fn barrier() {
                let b = Arc::new(Barrier::new(3));
                let hs: Vec<_> = (0..2)
                    .map(|_| {
                        let b = Arc::clone(&b);
                        thread::spawn(move || {
                            b.wait();
                            b.wait();
                        })
                    })
                    .collect();
                b.wait();
                b.wait();
                for h in hs {
                    h.join().unwrap();
                }
            }
        }
    };
}

programs!(ls, lockstep_sim);
programs!(sh, shuttle);

fn shuttle_config() -> shuttle::Config {
    let mut c = shuttle::Config::default();
    c.failure_persistence = shuttle::FailurePersistence::None;
    c
}

/// Schedules per second of `run(n)`, median of 3, with `n` chosen so a run takes ~0.3 s.
fn rate(run: impl Fn(usize)) -> f64 {
    let probe = 200;
    let t = Instant::now();
    run(probe);
    let per = t.elapsed().as_secs_f64() / probe as f64;
    let n = ((0.3 / per.max(1e-9)) as usize).clamp(200, 2_000_000);
    let mut s: Vec<f64> = (0..3)
        .map(|_| {
            let t = Instant::now();
            run(n);
            n as f64 / t.elapsed().as_secs_f64()
        })
        .collect();
    median(&mut s)
}

fn queue_ns<Q>(q: &Q, send: impl Fn(&Q, u64), recv: impl Fn(&Q) -> u64) -> f64 {
    const N: u64 = 20_000_000;
    let mut s: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for i in 0..N {
                send(q, black_box(i));
                black_box(recv(q));
            }
            t.elapsed().as_nanos() as f64 / N as f64
        })
        .collect();
    median(&mut s)
}

fn main() {
    print_regime("start");
    println!();
    println!("| program | lockstep random | shuttle random | lockstep / shuttle |");
    println!("|---|---:|---:|---:|");
    type Prog = (&'static str, fn(), fn());
    let programs: [Prog; 4] = [
        ("mpsc: 2 senders x 2, capacity 1", ls::mpsc, sh::mpsc),
        ("condvar hand-off x 3", ls::condvar, sh::condvar),
        ("rwlock: 2 readers, 1 writer", ls::rwlock, sh::rwlock),
        ("barrier: 3 threads x 2", ls::barrier, sh::barrier),
    ];
    for (name, l, s) in programs {
        let lr = rate(|n| {
            lockstep_sim::check(lockstep_sim::Config::random(2, n), l);
        });
        let sr = rate(|n| {
            shuttle::Runner::new(
                shuttle::scheduler::RandomScheduler::new_from_seed(2, n),
                shuttle_config(),
            )
            .run(s);
        });
        println!(
            "| {name} | {:.0}k | {:.0}k | {:.1}x |",
            lr / 1e3,
            sr / 1e3,
            lr / sr
        );
    }
    println!();
    println!(
        "| single-threaded try_send + try_recv, capacity 1024 | ns per pair (median of 5 x 20M) |"
    );
    println!("|---|---:|");
    let facade: lockstep::Queue<u64, 1024> = lockstep::Queue::new();
    let hosted: lockstep_hosted::Queue<u64, 1024> = lockstep_hosted::Queue::new();
    let f = queue_ns(
        &facade,
        |q, v| q.try_send(v).unwrap(),
        |q| q.try_recv().unwrap(),
    );
    let h = queue_ns(
        &hosted,
        |q, v| q.try_send(v).unwrap(),
        |q| q.try_recv().unwrap(),
    );
    let f2 = queue_ns(
        &facade,
        |q, v| q.try_send(v).unwrap(),
        |q| q.try_recv().unwrap(),
    );
    println!("| `lockstep::Queue` (the facade) | {:.2} |", f.min(f2));
    println!("| `lockstep_hosted::Queue` | {h:.2} |");
    println!();
    print_regime("end");
}
