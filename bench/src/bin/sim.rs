//! The simulator against loom 0.7 and shuttle 0.9, measured in the same run.
//!
//! The program: N threads each run K rounds of `x += 100; x -= 100`; the main thread joins them.
//! "racy" does each update as a separate atomic load and store, "atomic" uses
//! `fetch_add`/`fetch_sub`, "locked" takes a lock around each update: every tool's modelled
//! `Mutex` (`lockstep_sim::sync::Mutex`, loom's and shuttle's), where a lock is one step.
//! lockstep also runs two lock *algorithms* on its atomics against the same modelled peers:
//! "futex-locked", the three-state futex lock of `lockstep_core::Mutex` with `SimWait` (a
//! compare-and-swap, a swap to CONTENDED, futex wait and wake, each a step), and "spin-locked",
//! a test-and-set lock with a spin hint.
//!
//! Run: `cd bench && cargo run --release --bin sim [-- --dfs-only | --first-failure-only]`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize as StdCounter, Ordering::Relaxed as R};
use std::time::{Duration, Instant};

use lockstep_bench::{median, print_regime};

static RUNS: StdCounter = StdCounter::new(0);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Racy,
    Atomic,
    /// Every tool's modelled mutex.
    Locked,
    /// lockstep only: the futex lock algorithm of `lockstep_core::Mutex` on lockstep's atomics.
    FutexLocked,
    /// lockstep only: a test-and-set spin lock (`swap(true)` + spin hint) around each update.
    SpinLocked,
}

mod ls {
    use super::*;
    use lockstep_sim::sync::atomic::{AtomicI64, AtomicU32, Ordering::*};
    use lockstep_sim::sync::{Mutex, futex};
    use lockstep_sim::thread;

    /// The futex lock of `lockstep_core::SpinLock<SimWait>`: 0 free, 1 held, 2 held + waiters.
    pub(crate) struct Lock(AtomicU32);

    impl Lock {
        fn lock(&self) {
            if self.0.compare_exchange(0, 1, Acquire, Relaxed).is_err() {
                while self.0.swap(2, Acquire) != 0 {
                    futex::wait(&self.0, 2, false);
                }
            }
        }
        fn unlock(&self) {
            if self.0.swap(0, Release) == 2 {
                futex::wake_one(&self.0);
            }
        }
    }

    /// A litmus test of GenMC's suite, every access SeqCst.
    pub(crate) fn litmus(name: &'static str) -> impl Fn() + Send + Sync + 'static {
        move || {
            let a = Arc::new((AtomicI64::new(0), AtomicI64::new(0)));
            let body = move |t: usize, a: Arc<(AtomicI64, AtomicI64)>| {
                let (x, y) = (&a.0, &a.1);
                match (name, t) {
                    ("SB", 0) => {
                        x.store(1, SeqCst);
                        y.load(SeqCst);
                    }
                    ("SB", _) => {
                        y.store(1, SeqCst);
                        x.load(SeqCst);
                    }
                    ("2+2W", 0) => {
                        x.store(1, SeqCst);
                        y.store(2, SeqCst);
                    }
                    ("2+2W", _) => {
                        y.store(1, SeqCst);
                        x.store(2, SeqCst);
                    }
                    ("CoRR2", 0) => x.store(1, SeqCst),
                    ("CoRR2", 1) => x.store(2, SeqCst),
                    _ => {
                        x.load(SeqCst);
                        x.load(SeqCst);
                    }
                }
            };
            let threads = if name == "CoRR2" { 4 } else { 2 };
            let hs: Vec<_> = (0..threads)
                .map(|t| {
                    let a = Arc::clone(&a);
                    thread::spawn(move || body(t, a))
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        }
    }

    pub(crate) fn program(
        kind: Kind,
        n: usize,
        k: usize,
        assert: bool,
    ) -> impl Fn() + Send + Sync + 'static {
        move || {
            RUNS.fetch_add(1, R);
            let x = Arc::new((AtomicI64::new(0), Lock(AtomicU32::new(0)), Mutex::new(())));
            let hs: Vec<_> = (0..n)
                .map(|_| {
                    let x = Arc::clone(&x);
                    thread::spawn(move || {
                        let (v, l, m) = &*x;
                        for _ in 0..k {
                            for d in [100, -100] {
                                match kind {
                                    Kind::Racy => v.store(v.load(Relaxed) + d, Relaxed),
                                    Kind::Atomic => {
                                        v.fetch_add(d, Relaxed);
                                    }
                                    Kind::Locked => {
                                        let _g = m.lock().unwrap();
                                        v.store(v.load(Relaxed) + d, Relaxed);
                                    }
                                    Kind::FutexLocked => {
                                        l.lock();
                                        v.store(v.load(Relaxed) + d, Relaxed);
                                        l.unlock();
                                    }
                                    Kind::SpinLocked => {
                                        while l.0.swap(1, Acquire) != 0 {
                                            lockstep_sim::sync::hint::spin_loop();
                                        }
                                        v.store(v.load(Relaxed) + d, Relaxed);
                                        l.0.store(0, Release);
                                    }
                                }
                            }
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            if assert {
                assert_eq!(x.0.load(Relaxed), 0);
            }
        }
    }
}

mod sh {
    use super::*;
    use shuttle::sync::Mutex;
    use shuttle::sync::atomic::{AtomicI64, Ordering::Relaxed, Ordering::SeqCst};
    use shuttle::thread;

    /// A litmus test of GenMC's suite, every access SeqCst.
    pub(crate) fn litmus(name: &'static str) -> impl Fn() + Send + Sync + 'static {
        move || {
            RUNS.fetch_add(1, R);
            let a = Arc::new((AtomicI64::new(0), AtomicI64::new(0)));
            let body = move |t: usize, a: Arc<(AtomicI64, AtomicI64)>| {
                let (x, y) = (&a.0, &a.1);
                match (name, t) {
                    ("SB", 0) => {
                        x.store(1, SeqCst);
                        y.load(SeqCst);
                    }
                    ("SB", _) => {
                        y.store(1, SeqCst);
                        x.load(SeqCst);
                    }
                    ("2+2W", 0) => {
                        x.store(1, SeqCst);
                        y.store(2, SeqCst);
                    }
                    ("2+2W", _) => {
                        y.store(1, SeqCst);
                        x.store(2, SeqCst);
                    }
                    ("CoRR2", 0) => x.store(1, SeqCst),
                    ("CoRR2", 1) => x.store(2, SeqCst),
                    _ => {
                        x.load(SeqCst);
                        x.load(SeqCst);
                    }
                }
            };
            let threads = if name == "CoRR2" { 4 } else { 2 };
            let hs: Vec<_> = (0..threads)
                .map(|t| {
                    let a = Arc::clone(&a);
                    thread::spawn(move || body(t, a))
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        }
    }

    pub(crate) fn program(
        kind: Kind,
        n: usize,
        k: usize,
        assert: bool,
    ) -> impl Fn() + Send + Sync + 'static {
        move || {
            RUNS.fetch_add(1, R);
            let x = Arc::new((AtomicI64::new(0), Mutex::new(())));
            let hs: Vec<_> = (0..n)
                .map(|_| {
                    let x = Arc::clone(&x);
                    thread::spawn(move || {
                        let (v, l) = &*x;
                        for _ in 0..k {
                            for d in [100, -100] {
                                match kind {
                                    Kind::Racy => v.store(v.load(Relaxed) + d, Relaxed),
                                    Kind::Atomic => {
                                        v.fetch_add(d, Relaxed);
                                    }
                                    Kind::Locked | Kind::FutexLocked | Kind::SpinLocked => {
                                        let _g = l.lock().unwrap();
                                        v.store(v.load(Relaxed) + d, Relaxed);
                                    }
                                }
                            }
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            if assert {
                assert_eq!(x.0.load(Relaxed), 0);
            }
        }
    }

    pub(crate) fn config() -> shuttle::Config {
        let mut c = shuttle::Config::default();
        c.failure_persistence = shuttle::FailurePersistence::None;
        c
    }
}

mod lm {
    use super::*;
    use loom::sync::Mutex;
    use loom::sync::atomic::{AtomicI64, Ordering::Relaxed, Ordering::SeqCst};
    use loom::thread;

    /// A litmus test of GenMC's suite, every access SeqCst.
    pub(crate) fn litmus(name: &'static str) -> impl Fn() + Send + Sync + 'static {
        move || {
            RUNS.fetch_add(1, R);
            let a = Arc::new((AtomicI64::new(0), AtomicI64::new(0)));
            let body = move |t: usize, a: Arc<(AtomicI64, AtomicI64)>| {
                let (x, y) = (&a.0, &a.1);
                match (name, t) {
                    ("SB", 0) => {
                        x.store(1, SeqCst);
                        y.load(SeqCst);
                    }
                    ("SB", _) => {
                        y.store(1, SeqCst);
                        x.load(SeqCst);
                    }
                    ("2+2W", 0) => {
                        x.store(1, SeqCst);
                        y.store(2, SeqCst);
                    }
                    ("2+2W", _) => {
                        y.store(1, SeqCst);
                        x.store(2, SeqCst);
                    }
                    ("CoRR2", 0) => x.store(1, SeqCst),
                    ("CoRR2", 1) => x.store(2, SeqCst),
                    _ => {
                        x.load(SeqCst);
                        x.load(SeqCst);
                    }
                }
            };
            let threads = if name == "CoRR2" { 4 } else { 2 };
            let hs: Vec<_> = (0..threads)
                .map(|t| {
                    let a = Arc::clone(&a);
                    thread::spawn(move || body(t, a))
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        }
    }

    pub(crate) fn program(kind: Kind, n: usize, k: usize) -> impl Fn() + Send + Sync + 'static {
        move || {
            RUNS.fetch_add(1, R);
            let x = Arc::new((AtomicI64::new(0), Mutex::new(())));
            let hs: Vec<_> = (0..n)
                .map(|_| {
                    let x = Arc::clone(&x);
                    thread::spawn(move || {
                        let (v, l) = &*x;
                        for _ in 0..k {
                            for d in [100, -100] {
                                match kind {
                                    Kind::Racy => v.store(v.load(Relaxed) + d, Relaxed),
                                    Kind::Atomic => {
                                        v.fetch_add(d, Relaxed);
                                    }
                                    Kind::Locked | Kind::FutexLocked | Kind::SpinLocked => {
                                        let _g = l.lock().unwrap();
                                        v.store(v.load(Relaxed) + d, Relaxed);
                                    }
                                }
                            }
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        }
    }
}

/// Runs `f`, returning executions (counted by the programs) and seconds.
fn timed(f: impl FnOnce()) -> (usize, f64) {
    RUNS.store(0, R);
    let t = Instant::now();
    f();
    (RUNS.load(R), t.elapsed().as_secs_f64())
}

fn rate((runs, secs): (usize, f64)) -> f64 {
    runs as f64 / secs
}

fn main() {
    // Peers' failing executions print through the panic hook; keep the tables readable.
    std::panic::set_hook(Box::new(|_| {}));
    print_regime("start");
    let budget = 0.4; // seconds per measurement, roughly
    let dfs_only = std::env::args().any(|a| a == "--dfs-only");
    let first_only = std::env::args().any(|a| a == "--first-failure-only");

    println!(
        "\n### Schedules per second (random schedulers; loom: its exhaustive search, capped)\n"
    );
    println!(
        "| program | N | K | lockstep random | shuttle random | shuttle PCT(3) | loom | lockstep / best peer |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut grid = Vec::new();
    for kind in [Kind::Racy, Kind::Locked] {
        for n in [2, 3] {
            for k in 1..=3 {
                grid.push((kind, n, k));
            }
        }
    }
    grid.push((Kind::Atomic, 2, 1));
    grid.push((Kind::Atomic, 3, 3));
    grid.push((Kind::FutexLocked, 2, 3));
    grid.push((Kind::FutexLocked, 3, 3));
    grid.push((Kind::SpinLocked, 2, 3));
    grid.push((Kind::SpinLocked, 3, 3));
    if dfs_only || first_only {
        grid.clear();
    }
    let mut worst = f64::INFINITY;
    for (kind, n, k) in grid {
        // Calibrate each tool's count to the budget from a short probe.
        let count = |probe: (usize, f64)| ((rate(probe) * budget) as usize).clamp(200, 2_000_000);
        let ls_probe = timed(|| {
            lockstep_sim::check(
                lockstep_sim::Config::random(1, 2_000),
                ls::program(kind, n, k, false),
            );
        });
        let ls = timed(|| {
            lockstep_sim::check(
                lockstep_sim::Config::random(2, count(ls_probe)),
                ls::program(kind, n, k, false),
            );
        });
        let sh_run = |iters: usize, pct: bool| {
            timed(|| {
                let f = sh::program(kind, n, k, false);
                if pct {
                    shuttle::Runner::new(
                        shuttle::scheduler::PctScheduler::new_from_seed(2, 3, iters),
                        sh::config(),
                    )
                    .run(f);
                } else {
                    shuttle::Runner::new(
                        shuttle::scheduler::RandomScheduler::new_from_seed(2, iters),
                        sh::config(),
                    )
                    .run(f);
                }
            })
        };
        let shr = sh_run(count(sh_run(500, false)), false);
        let shp = sh_run(count(sh_run(500, true)), true);
        let loom_run = |perms: usize| {
            timed(|| {
                let mut b = loom::model::Builder::new();
                b.max_permutations = Some(perms);
                b.max_branches = 10_000;
                b.check(lm::program(kind, n, k));
            })
        };
        let lo = loom_run(count(loom_run(200)));
        let best = rate(shr).max(rate(shp)).max(rate(lo));
        let ratio = rate(ls) / best;
        if matches!(kind, Kind::Racy | Kind::Locked) {
            worst = worst.min(ratio);
        }
        println!(
            "| {kind:?} | {n} | {k} | {:.0}k | {:.0}k | {:.0}k | {:.0}k | {ratio:.1}x |",
            rate(ls) / 1e3,
            rate(shr) / 1e3,
            rate(shp) / 1e3,
            rate(lo) / 1e3
        );
    }
    println!("\nlowest ratio over the racy and locked rows: {worst:.1}x");

    println!(
        "\n### Schedules to the first failure (racy, with the assertion; median of 20 seeds)\n"
    );
    println!("| N | K | lockstep PCT(3) | shuttle PCT(3) | lockstep random | shuttle random |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let sizes: &[(usize, usize)] = if dfs_only {
        &[]
    } else {
        &[(2, 1), (2, 2), (3, 1)]
    };
    for &(n, k) in sizes {
        let mut cols = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
        for seed in 0..20u64 {
            for (i, pct) in [(0, true), (2, false)] {
                let config = if pct {
                    lockstep_sim::Config::pct(seed, 3, 100_000)
                } else {
                    lockstep_sim::Config::random(seed, 100_000)
                };
                let found = match lockstep_sim::try_check(
                    config.shrink(false),
                    ls::program(Kind::Racy, n, k, true),
                ) {
                    Err(f) => (f.iteration + 1) as f64,
                    Ok(_) => f64::INFINITY,
                };
                cols[i].push(found);
                RUNS.store(0, R);
                let f = sh::program(Kind::Racy, n, k, true);
                let r = catch_unwind(AssertUnwindSafe(|| {
                    if pct {
                        shuttle::Runner::new(
                            shuttle::scheduler::PctScheduler::new_from_seed(seed, 3, 100_000),
                            sh::config(),
                        )
                        .run(f);
                    } else {
                        shuttle::Runner::new(
                            shuttle::scheduler::RandomScheduler::new_from_seed(seed, 100_000),
                            sh::config(),
                        )
                        .run(f);
                    }
                }));
                cols[i + 1].push(if r.is_err() {
                    RUNS.load(R) as f64
                } else {
                    f64::INFINITY
                });
            }
        }
        let m: Vec<f64> = cols.iter_mut().map(|c| median(c)).collect();
        println!("| {n} | {k} | {} | {} | {} | {} |", m[0], m[1], m[2], m[3]);
    }

    println!("\n### Exhaustive search (every execution)\n");
    println!(
        "| program | N x K | minimum | lockstep (optimal DPOR) | shuttle DFS | loom | lockstep time / loom time |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    let exhaustive = [
        (Kind::Locked, 2, 2),
        (Kind::Locked, 3, 1),
        (Kind::Locked, 2, 3),
        (Kind::Locked, 3, 2),
        (Kind::FutexLocked, 2, 1),
        (Kind::FutexLocked, 2, 2),
        (Kind::Atomic, 2, 2),
        (Kind::Atomic, 3, 1),
        (Kind::Atomic, 2, 3),
        (Kind::Atomic, 3, 2),
        (Kind::SpinLocked, 2, 2),
        (Kind::SpinLocked, 2, 1),
    ];
    for (kind, n, k) in if first_only {
        &exhaustive[..0]
    } else {
        &exhaustive[..]
    }
    .iter()
    .copied()
    {
        let mut stats = None;
        let ls = timed(|| {
            stats = Some(lockstep_sim::check(
                lockstep_sim::Config::dfs(None).iterations(1_000_000),
                ls::program(kind, n, k, false),
            ));
        });
        let stats = stats.expect("the search ran");
        let sh = timed(|| {
            shuttle::Runner::new(
                shuttle::scheduler::DfsScheduler::new(Some(1_000_000), false),
                sh::config(),
            )
            .run(sh::program(kind, n, k, false));
        });
        let lo = timed(|| {
            let mut b = loom::model::Builder::new();
            b.max_duration = Some(Duration::from_secs(30));
            b.check(lm::program(kind, n, k));
        });
        let fact = |x: usize| (1..=x as u128).product::<u128>();
        let minimum = match kind {
            Kind::Atomic | Kind::Locked => {
                (fact(2 * k * n) / fact(2 * k).pow(n as u32)).to_string()
            }
            _ => "-".to_owned(),
        };
        println!(
            "| {kind:?} | {n} x {k} | {minimum} | {} (+{} abandoned) in {:.3} s (complete: {}) | {} in {:.3} s | {} in {:.3} s | {:.2}x |",
            stats.schedules,
            stats.abandoned,
            ls.1,
            stats.complete,
            sh.0,
            sh.1,
            lo.0,
            lo.1,
            ls.1 / lo.1
        );
    }
    println!("\n### Exhaustive search of litmus tests (SeqCst; GenMC's expected SC counts)\n");
    println!("| test | GenMC | lockstep | shuttle DFS | loom |");
    println!("|---|---:|---:|---:|---:|");
    for (name, expected) in [("SB", 3), ("2+2W", 3), ("CoRR2", 72)] {
        if first_only {
            break;
        }
        let mut stats = None;
        let ls = timed(|| {
            stats = Some(lockstep_sim::check(
                lockstep_sim::Config::dfs(None),
                ls::litmus(name),
            ));
        });
        let stats = stats.expect("the search ran");
        let sh = timed(|| {
            shuttle::Runner::new(
                shuttle::scheduler::DfsScheduler::new(Some(1_000_000), false),
                sh::config(),
            )
            .run(sh::litmus(name));
        });
        let lo = timed(|| {
            let mut b = loom::model::Builder::new();
            b.max_duration = Some(Duration::from_secs(30));
            b.check(lm::litmus(name));
        });
        println!(
            "| {name} | {expected} | {} (+{} abandoned) in {:.4} s | {} in {:.4} s | {} in {:.4} s |",
            stats.schedules, stats.abandoned, ls.1, sh.0, sh.1, lo.0, lo.1
        );
    }
    println!();
    print_regime("end");
}
