//! Locks side by side: uncontended lock+unlock, and the lecture workload (100 threads x 99,999
//! iterations of `count += 100; count -= 100`) with the lock per iteration and around the loop.
//!
//! Run: `cd bench && cargo run --release --bin locks -- [--rounds N] [--quick] [--with-slow]`.
//! The lecture tables come from `--rounds` (default 10) interleaved rounds, every lock once per
//! round (the order rotating), and give each lock's time over `parking_lot`'s in the same round
//! as the median of the rounds with the best and worst; `--quick` runs 20,000 iterations instead
//! of 99,999; `--with-slow` adds the pure-spin locks to the per-iteration table (a run each, over
//! ten seconds).

use std::hint::black_box;
use std::time::{Duration, Instant};

use lockstep_bench::{Args, Spread, median, print_machine, rounds, time_median};
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

/// One run of the lecture workload: `threads` threads, `iters` iterations each.
fn lecture<L: Lock>(threads: usize, iters: usize, per_iteration: bool) -> Duration {
    let t = Instant::now();
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
    let elapsed = t.elapsed();
    l.with(|c| assert_eq!(*c, 0));
    elapsed
}

/// A lecture contender: its name and one timed run.
type Contender = (&'static str, fn(usize, usize, bool) -> Duration);

fn main() {
    let args = Args::from_env(
        "locks [--rounds N] [--quick] [--with-slow]",
        &[],
        &["--quick", "--with-slow"],
    );
    let quick = args.flag("--quick");
    let skip_slow = !args.flag("--with-slow");
    print_machine("start");
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

    let (threads, iters) = if quick { (100, 20_000) } else { (100, 99_999) };
    let contenders: [Contender; 6] = [
        ("parking_lot::Mutex", lecture::<ParkingLot>),
        ("lockstep Mutex<Futex> (hosted)", lecture::<LsFutex>),
        ("lockstep Mutex<Spin<Yield>>", lecture::<LsSpinYield>),
        ("std::sync::Mutex", lecture::<Std>),
        ("spin::Mutex<Yield>", lecture::<SpinCrateYield>),
        ("critical_section::with (std impl)", lecture::<Cs>),
    ];
    let slow: [Contender; 2] = [
        ("lockstep Mutex<Spin> (pure spin)", lecture::<LsSpin>),
        ("spin::Mutex (pure spin)", lecture::<SpinCrate>),
    ];
    for per_iteration in [true, false] {
        println!(
            "\n### Lecture: {threads} threads x {iters} iterations, lock {} ({} interleaved rounds; s: median of the rounds; time over parking_lot's in the same round: median (min-max))\n",
            if per_iteration {
                "taken every iteration"
            } else {
                "held around the whole loop"
            },
            args.rounds
        );
        println!("| lock | s | time vs parking_lot: median (min-max) |");
        println!("|---|---:|---|");
        let mut runs: Vec<Box<dyn FnMut() -> Duration>> = contenders
            .iter()
            .map(|&(_, f)| {
                Box::new(move || f(threads, iters, per_iteration)) as Box<dyn FnMut() -> Duration>
            })
            .collect();
        let mut refs: Vec<&mut dyn FnMut() -> Duration> =
            runs.iter_mut().map(|r| &mut **r as _).collect();
        let t = rounds(args.rounds, &mut refs);
        let med = |v: &[f64]| median(&mut v.to_vec());
        let pl = med(&t[0]);
        for (k, (name, _)) in contenders.iter().enumerate() {
            let ratio = if k == 0 {
                "1.00x".to_string()
            } else {
                Spread::time_ratio(&t[k], &t[0]).cell()
            };
            println!("| {name} | {:.3} | {ratio} |", med(&t[k]));
        }
        if !skip_slow || !per_iteration {
            for (name, f) in slow {
                let s = f(threads, iters, per_iteration).as_secs_f64();
                println!(
                    "| {name} | {s:.3} | {:.2}x (one run, against the median) |",
                    s / pl
                );
            }
        }
    }
    println!();
    print_machine("end");
}
