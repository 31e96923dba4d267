//! Locks side by side: uncontended lock+unlock, and the lecture workload (100 threads x 99,999
//! iterations of `count += 100; count -= 100`) with the lock per iteration and around the loop.
//!
//! Run: `cd bench && cargo run --release --bin locks [-- --quick]`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use lockstep_bench::{print_regime, time_median};
use lockstep_core::{RelaxStrategy, Spin};

/// A relax strategy that yields to the OS scheduler.
struct Yield;
impl RelaxStrategy for Yield {
    fn relax() {
        std::thread::yield_now();
    }
}

/// A lock as the workload sees it: run `f` with exclusive access to the counter.
trait Lock: Sync {
    fn new() -> Self;
    fn with(&self, f: impl FnOnce(&mut i64));
}

macro_rules! guard_lock {
    ($name:ident, $ty:ty, $m:ident => $lock:expr) => {
        struct $name($ty);
        impl Lock for $name {
            fn new() -> Self {
                Self(<$ty>::new(0))
            }
            #[inline]
            fn with(&self, f: impl FnOnce(&mut i64)) {
                let $m = &self.0;
                let mut g = $lock;
                f(&mut g)
            }
        }
    };
}

guard_lock!(LsFutex, lockstep_hosted::Mutex<i64>, m => m.lock());
guard_lock!(LsSpin, lockstep_core::Mutex<i64, Spin>, m => m.lock());
guard_lock!(LsSpinYield, lockstep_core::Mutex<i64, Spin<Yield>>, m => m.lock());
guard_lock!(Std, std::sync::Mutex<i64>, m => m.lock().unwrap());
guard_lock!(ParkingLot, parking_lot::Mutex<i64>, m => m.lock());
guard_lock!(SpinCrate, spin::Mutex<i64>, m => m.lock());
guard_lock!(SpinCrateYield, spin::mutex::SpinMutex<i64, spin::relax::Yield>, m => m.lock());

struct Cs(critical_section::Mutex<std::cell::Cell<i64>>);
impl Lock for Cs {
    fn new() -> Self {
        Self(critical_section::Mutex::new(std::cell::Cell::new(0)))
    }
    fn with(&self, f: impl FnOnce(&mut i64)) {
        critical_section::with(|cs| {
            let c = self.0.borrow(cs);
            let mut v = c.get();
            f(&mut v);
            c.set(v);
        })
    }
}

struct LsCs(lockstep_core::CriticalSectionMutex<i64>);
impl Lock for LsCs {
    fn new() -> Self {
        Self(lockstep_core::CriticalSectionMutex::new(0))
    }
    fn with(&self, f: impl FnOnce(&mut i64)) {
        self.0.lock(f)
    }
}

fn uncontended<L: Lock>() -> f64 {
    const N: u64 = 20_000_000;
    let l = L::new();
    let d = time_median(5, || {
        for _ in 0..N {
            l.with(|c| *c = black_box(*c + 1));
        }
    });
    d.as_secs_f64() * 1e9 / N as f64
}

fn lecture<L: Lock>(threads: usize, iters: usize, per_iteration: bool, runs: usize) -> Duration {
    time_median(runs, || {
        let l = L::new();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    if per_iteration {
                        for _ in 0..iters {
                            l.with(|c| {
                                *c += 100;
                                *c = black_box(*c) - 100;
                            });
                        }
                    } else {
                        l.with(|c| {
                            for _ in 0..iters {
                                *c += 100;
                                *c = black_box(*c) - 100;
                            }
                        });
                    }
                });
            }
        });
        l.with(|c| assert_eq!(*c, 0));
    })
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let skip_slow = !std::env::args().any(|a| a == "--with-slow");
    print_regime("start");
    println!("\n### Uncontended lock + unlock (ns per pair, median of 5 x 20M)\n");
    println!("| lock | ns | vs spin::Mutex |");
    println!("|---|---:|---:|");
    let base = uncontended::<SpinCrate>();
    let rows: Vec<(&str, f64)> = vec![
        ("lockstep Mutex<Spin>", uncontended::<LsSpin>()),
        ("lockstep Mutex<Futex> (hosted)", uncontended::<LsFutex>()),
        ("lockstep CriticalSectionMutex", uncontended::<LsCs>()),
        ("spin::Mutex", base),
        ("std::sync::Mutex", uncontended::<Std>()),
        ("parking_lot::Mutex", uncontended::<ParkingLot>()),
        ("critical_section::with (std impl)", uncontended::<Cs>()),
    ];
    for (name, ns) in rows {
        println!("| {name} | {ns:.2} | {:.2}x |", ns / base);
    }

    let (threads, iters, runs) = if quick {
        (100, 20_000, 3)
    } else {
        (100, 99_999, 5)
    };
    for per_iteration in [true, false] {
        println!(
            "\n### Lecture: {threads} threads x {iters} iterations, lock {} (seconds, median of {runs})\n",
            if per_iteration {
                "taken every iteration"
            } else {
                "held around the whole loop"
            }
        );
        println!("| lock | s | vs parking_lot |");
        println!("|---|---:|---:|");
        let pl = lecture::<ParkingLot>(threads, iters, per_iteration, runs).as_secs_f64();
        let mut rows: Vec<(&str, f64)> = vec![
            (
                "lockstep Mutex<Futex> (hosted)",
                lecture::<LsFutex>(threads, iters, per_iteration, runs).as_secs_f64(),
            ),
            (
                "lockstep Mutex<Spin<Yield>>",
                lecture::<LsSpinYield>(threads, iters, per_iteration, runs).as_secs_f64(),
            ),
            ("parking_lot::Mutex", pl),
            (
                "std::sync::Mutex",
                lecture::<Std>(threads, iters, per_iteration, runs).as_secs_f64(),
            ),
            (
                "spin::Mutex<Yield>",
                lecture::<SpinCrateYield>(threads, iters, per_iteration, runs).as_secs_f64(),
            ),
            (
                "critical_section::with (std impl)",
                lecture::<Cs>(threads, iters, per_iteration, runs).as_secs_f64(),
            ),
        ];
        if !skip_slow || !per_iteration {
            rows.push((
                "lockstep Mutex<Spin> (pure spin)",
                lecture::<LsSpin>(threads, iters, per_iteration, 1).as_secs_f64(),
            ));
            rows.push((
                "spin::Mutex (pure spin)",
                lecture::<SpinCrate>(threads, iters, per_iteration, 1).as_secs_f64(),
            ));
        }
        for (name, s) in rows {
            println!("| {name} | {s:.3} | {:.2}x |", s / pl);
        }
    }
    let _ = Instant::now();
    print_regime("end");
}
