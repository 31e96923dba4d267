//! Shared helpers for the bench binaries: timing, the cache-line round-trip probe, interleaved
//! rounds and their spread, and the blocking channel workloads ([`channels`]).

pub mod channels;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Median of the given samples (sorts them): the middle one, or the mean of the two middle ones
/// of an even count.
pub fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    let n = samples.len();
    if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2.0
    }
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
    } else if ns < 2_000.0 {
        "slow (~460 ns) regime"
    } else {
        "disturbed: a probe thread was preempted, the cores are busy"
    };
    println!("cache-line round trip ({when}): {ns:.0} ns -> {regime}");
}

/// The command line every bench binary shares: `[SECTION] [--rounds N] [--only TEXT] [FLAGS]`.
///
/// - `SECTION` (one word without `--`) runs that section of the binary only.
/// - `--rounds N` (or `--rounds=N`): interleaved rounds per table; default
///   `LOCKSTEP_BENCH_ROUNDS`, else 10. `--rounds 3` makes a quick run whose spread means little.
/// - `--only TEXT` (or `--only=TEXT`): only the table rows whose name or shape contains `TEXT`
///   (`--only 2P+2C`); default `LOCKSTEP_BENCH_ONLY`.
/// - Other `--flag`s are the binary's own (`locks` has `--quick` and `--with-slow`).
#[derive(Clone, Debug)]
pub struct Args {
    /// Interleaved rounds per table (at least 1).
    pub rounds: usize,
    /// Keep only the rows containing this.
    pub only: Option<String>,
    /// The section to run, if one was named.
    pub section: Option<String>,
    /// The remaining `--flag`s, for the binary to read.
    pub flags: Vec<String>,
}

impl Args {
    /// Parses `std::env::args()` for a binary with these `sections` and own `flags`; on a bad
    /// or unknown option prints the error and the usage and exits with status 2.
    pub fn from_env(usage: &str, sections: &[&str], flags: &[&str]) -> Args {
        let parsed = Args::parse(std::env::args().skip(1)).and_then(|a| {
            if let Some(s) = a.section.as_deref().filter(|s| !sections.contains(s)) {
                return Err(format!(
                    "no section {s:?} (sections: {})",
                    sections.join(", ")
                ));
            }
            if let Some(f) = a.flags.iter().find(|f| !flags.contains(&f.as_str())) {
                return Err(format!("unknown option {f}"));
            }
            Ok(a)
        });
        match parsed {
            Ok(a) => a,
            Err(e) => {
                eprintln!("error: {e}\nusage: {usage}");
                std::process::exit(2);
            }
        }
    }

    /// Parses the arguments after the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let rounds_env = std::env::var("LOCKSTEP_BENCH_ROUNDS").ok();
        let mut a = Args {
            rounds: 10,
            only: std::env::var("LOCKSTEP_BENCH_ONLY").ok(),
            section: None,
            flags: Vec::new(),
        };
        if let Some(r) = rounds_env {
            a.rounds = parse_rounds(&r).map_err(|e| format!("LOCKSTEP_BENCH_ROUNDS: {e}"))?;
        }
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| {
                inline
                    .clone()
                    .or_else(|| it.next())
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match name.as_str() {
                "--rounds" => a.rounds = parse_rounds(&value("--rounds")?)?,
                "--only" => a.only = Some(value("--only")?),
                f if f.starts_with("--") => a.flags.push(arg),
                s if a.section.is_none() => a.section = Some(s.to_string()),
                s => return Err(format!("more than one section named: {s}")),
            }
        }
        Ok(a)
    }

    /// Whether `section` runs: no section was named, or this one.
    pub fn runs(&self, section: &str) -> bool {
        self.section.as_deref().is_none_or(|s| s == section)
    }

    /// Whether the binary's own `flag` (`"--quick"`) was given.
    pub fn flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// Whether a row named `name` (channel or shape, joined) passes `--only`.
    pub fn keeps(&self, name: &str) -> bool {
        self.only.as_deref().is_none_or(|o| name.contains(o))
    }
}

fn parse_rounds(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("rounds must be a positive number, not {s:?}")),
    }
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

    /// The spread of `ours[r] / theirs[r]` over rounds, for a table of times whose goal is an
    /// upper bound ("at most 1.0x parking_lot's time"): below 1 means ours took less.
    pub fn time_ratio(ours: &[f64], theirs: &[f64]) -> Spread {
        let mut r: Vec<f64> = ours.iter().zip(theirs).map(|(o, t)| o / t).collect();
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

/// Voluntary context switches of this process so far (its threads, live and ended), from
/// `getrusage`: on Linux each is a thread going to sleep (a futex wait, a `park`), so the
/// difference over a run counts the sleeps of its blocking operations, a number that the
/// machine's load changes less than the run's time. `0` where `getrusage` fails.
pub fn voluntary_switches() -> u64 {
    // SAFETY: `getrusage` writes one `rusage`, which `zeroed` makes valid (all integers) and
    // which lives for the call.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable `rusage` for the duration of the call.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0;
    }
    ru.ru_nvcsw as u64
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
    if when == "start" {
        // Registers the process for membarrier before anything is timed, as the first heavy
        // fence would.
        println!(
            "SPSC fences (start): {}",
            if lockstep_hosted::Futex::asymmetric_fences() {
                "asymmetric (a compiler fence per send and receive, membarrier before a sleep)"
            } else {
                "two SeqCst fences (membarrier unavailable)"
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        Args::parse(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn rounds_only_section_and_flags_are_read_in_both_spellings() {
        let a = parse(&["channels", "--rounds", "3", "--only=2P+2C", "--quick"]).unwrap();
        assert_eq!(a.rounds, 3);
        assert_eq!(a.only.as_deref(), Some("2P+2C"));
        assert_eq!(a.section.as_deref(), Some("channels"));
        assert!(a.flag("--quick") && !a.flag("--with-slow"));
        assert!(a.runs("channels") && !a.runs("ping"));
        assert!(a.keeps("`Queue<u64, 1024>` 2P+2C") && !a.keeps("`Queue<u64, 1024>` 4P+1C"));
        assert_eq!(parse(&["--rounds=12"]).unwrap().rounds, 12);
    }

    #[test]
    fn bad_rounds_and_a_second_section_are_errors() {
        assert!(parse(&["--rounds", "0"]).is_err());
        assert!(parse(&["--rounds", "ten"]).is_err());
        assert!(parse(&["--rounds"]).is_err());
        assert!(parse(&["--only"]).is_err());
        assert!(parse(&["spsc", "ping"]).is_err());
    }

    #[test]
    fn spread_is_the_median_and_range_of_per_round_ratios() {
        // Times: ours 1, 2, 4; theirs 2, 2, 2: speed ratios 2, 1, 0.5.
        let s = Spread::speedup(&[1.0, 2.0, 4.0], &[2.0, 2.0, 2.0]);
        assert_eq!((s.median, s.min, s.max), (1.0, 0.5, 2.0));
        let t = Spread::time_ratio(&[1.0, 2.0, 4.0], &[2.0, 2.0, 2.0]);
        assert_eq!((t.median, t.min, t.max), (1.0, 0.5, 2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(s.cell(), "1.00x (0.50-2.00)");
    }
}
