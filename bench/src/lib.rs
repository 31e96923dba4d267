//! Shared helpers for the bench binaries: timing, the cache-line round-trip probe, tables.

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
