//! Shared helpers for the bench binaries: timing, the cache-line round-trip probe, interleaved
//! rounds and their spread, and the blocking channel workloads ([`channels`]).

pub mod channels;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Median of the given samples (sorts them).
pub fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

/// Runs `f` `runs` times and returns the median wall time.
pub fn time_median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut s: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    Duration::from_secs_f64(median(&mut s))
}

/// Measures the cache-line round trip between two threads bouncing one `AtomicU64`, in ns.
///
/// The machines this runs on have two regimes (about 70 ns and about 460 ns); print this at
/// the start and end of a run and say which regime a table came from.
pub fn cache_line_round_trip_ns() -> f64 {
    const ROUNDS: u64 = 200_000;
    let word = AtomicU64::new(0);
    let t = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..ROUNDS {
                while word.load(Ordering::Acquire) != 2 * i + 1 {
                    std::hint::spin_loop();
                }
                word.store(2 * i + 2, Ordering::Release);
            }
        });
        for i in 0..ROUNDS {
            word.store(2 * i + 1, Ordering::Release);
            while word.load(Ordering::Acquire) != 2 * i + 2 {
                std::hint::spin_loop();
            }
        }
    });
    t.elapsed().as_nanos() as f64 / ROUNDS as f64
}

/// Prints the round-trip probe with the regime it indicates.
pub fn print_regime(when: &str) {
    let ns = cache_line_round_trip_ns();
    let regime = if ns < 200.0 {
        "fast (~70 ns) regime"
    } else {
        "slow (~460 ns) regime"
    };
    println!("cache-line round trip ({when}): {ns:.0} ns -> {regime}");
}

/// How many interleaved rounds a table runs: `LOCKSTEP_BENCH_ROUNDS`, 10 when unset or not a
/// positive number.
pub fn bench_rounds() -> usize {
    std::env::var("LOCKSTEP_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10)
        .max(1)
}

/// Runs every contender once per round for `rounds` rounds, the contenders alternating inside
/// each round (and the order rotating from round to round), so that a change of the machine's
/// regime or load hits them all alike. Returns `samples[contender][round]`, in seconds.
pub fn rounds(rounds: usize, contenders: &mut [&mut dyn FnMut() -> Duration]) -> Vec<Vec<f64>> {
    let k = contenders.len();
    let mut samples = vec![Vec::with_capacity(rounds); k];
    for r in 0..rounds {
        for j in 0..k {
            let c = (r + j) % k;
            samples[c].push(contenders[c]().as_secs_f64());
        }
    }
    samples
}

/// Median, minimum and maximum of per-round ratios.
#[derive(Clone, Copy, Debug)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of `ours[r] / theirs[r]` over rounds: with times in, a ratio above 1 means
    /// *theirs* took longer, so this is our speed relative to theirs.
    pub fn speedup(ours: &[f64], theirs: &[f64]) -> Spread {
        let mut r: Vec<f64> = ours.iter().zip(theirs).map(|(o, t)| t / o).collect();
        let median = median(&mut r);
        Spread {
            median,
            min: r[0],
            max: r[r.len() - 1],
        }
    }

    /// `1.23x (0.91-1.40)`.
    pub fn cell(&self) -> String {
        format!("{:.2}x ({:.2}-{:.2})", self.median, self.min, self.max)
    }
}

/// The median of `samples` (seconds) as millions per second, for `n` operations each.
pub fn mops(samples: &[f64], n: u64) -> f64 {
    let mut v = samples.to_vec();
    n as f64 / median(&mut v) / 1e6
}

/// The load average over the last minute, from `/proc/loadavg` (`None` where there is none).
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Prints the regime (see [`print_regime`]) and the load average, with the time of day (UTC).
pub fn print_machine(when: &str) {
    print_regime(when);
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    match load_average() {
        Some(l) => println!(
            "load average ({when}): {l:.2} on {cores} cores, at {:02}:{:02} UTC",
            secs / 3600 % 24,
            secs / 60 % 60
        ),
        None => println!("load average ({when}): unknown"),
    }
}
