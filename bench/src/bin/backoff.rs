//! The blocking channels' back-off before a sleep, side by side: lockstep's `Queue` and `Spsc`
//! blocking through the hosted `Futex` and through variants of it that differ only in
//! `Wait::backoff_handoff` (how many rounds spin, how many yield), against crossbeam-channel, in
//! the same interleaved rounds. This is how the hosted futex's hand-off back-off was chosen.
//!
//! Run: `cd bench && cargo run --release --bin backoff -- [mpmc|spsc|ping] [--rounds N]
//! [--only TEXT]` (`--only` keeps the workloads whose name contains it).
//!
//! A variant `S/Y` spins `S` rounds (1, 2, 4, ... hints; the channels announce themselves after at
//! most 7) and then yields `Y` times before it sleeps in the futex. `Futex` is the hosted one.

use std::time::{Duration, Instant};

use lockstep_bench::channels::{
    CAP, Shape, ping_pong_crossbeam, ping_pong_with, queue_crossbeam, queue_with, spsc_with,
};
use lockstep_bench::{Args, Spread, median, print_machine, rounds, voluntary_switches};
use lockstep_core::Wait;
use lockstep_core::sync::atomic::AtomicU32;
use lockstep_hosted::Futex;

/// The hosted futex with another hand-off back-off: `SPINS` rounds of 1, 2, 4, ... spin hints,
/// then `YIELDS` yields (and the hosted futex's fences).
struct Handoff<const SPINS: u32, const YIELDS: u32>;

impl<const SPINS: u32, const YIELDS: u32> Wait for Handoff<SPINS, YIELDS> {
    type Timeout = Duration;
    type Deadline = Instant;

    #[inline]
    fn backoff(attempt: u32) -> bool {
        Futex::backoff(attempt)
    }

    #[inline]
    fn backoff_handoff(attempt: u32) -> bool {
        if attempt < SPINS {
            for _ in 0..(1u32 << attempt) {
                std::hint::spin_loop();
            }
            true
        } else if attempt < SPINS + YIELDS {
            std::thread::yield_now();
            true
        } else {
            false
        }
    }

    fn deadline(timeout: Duration) -> Instant {
        Futex::deadline(timeout)
    }

    fn wait(atom: &AtomicU32, expected: u32, deadline: Option<&mut Instant>) -> bool {
        Futex::wait(atom, expected, deadline)
    }

    fn wake_one(atom: &AtomicU32) {
        Futex::wake_one(atom)
    }

    fn wake_all(atom: &AtomicU32) {
        Futex::wake_all(atom)
    }

    #[inline]
    fn light_fence() {
        Futex::light_fence()
    }

    #[inline]
    fn heavy_fence() {
        Futex::heavy_fence()
    }
}

/// One contender: a name and one timed run.
type Run = (&'static str, Box<dyn FnMut() -> Duration>);

/// The lockstep variants of one workload, `run::<W>()` each.
macro_rules! variants {
    ($run:ident) => {
        vec![
            (
                "Futex (hosted)",
                Box::new(|| $run::<Futex>()) as Box<dyn FnMut() -> Duration>,
            ),
            ("7/7", Box::new(|| $run::<Handoff<7, 7>>())),
            ("7/4", Box::new(|| $run::<Handoff<7, 4>>())),
            ("7/2", Box::new(|| $run::<Handoff<7, 2>>())),
            ("7/1", Box::new(|| $run::<Handoff<7, 1>>())),
            ("7/0", Box::new(|| $run::<Handoff<7, 0>>())),
            ("5/2", Box::new(|| $run::<Handoff<5, 2>>())),
        ]
    };
}

/// Runs the contenders (the peer first) over `args.rounds` interleaved rounds and prints each
/// one's rate, the sleeps of its threads per 1,000 messages (voluntary context switches: futex
/// waits, parks), and each lockstep variant's speed over the peer's and over the hosted
/// `Futex`'s per round.
fn table(args: &Args, title: &str, n: u64, peer: Run, ours: Vec<Run>) {
    if !args.keeps(title) {
        return;
    }
    println!("\n### {title} ({} interleaved rounds)\n", args.rounds);
    println!(
        "| wait | M/s | sleeps per 1k | vs {}: median (min-max) | vs `Futex`: median (min-max) |",
        peer.0
    );
    println!("|---|---:|---:|---|---|");
    let mut all: Vec<Run> = vec![peer];
    all.extend(ours);
    let names: Vec<&str> = all.iter().map(|(name, _)| *name).collect();
    let mut sleeps: Vec<Vec<f64>> = vec![Vec::new(); all.len()];
    let mut counted: Vec<Box<dyn FnMut() -> Duration + '_>> = all
        .iter_mut()
        .zip(sleeps.iter_mut())
        .map(|((_, run), s)| {
            Box::new(move || {
                let before = voluntary_switches();
                let d = run();
                s.push((voluntary_switches() - before) as f64 * 1000.0 / n as f64);
                d
            }) as Box<dyn FnMut() -> Duration + '_>
        })
        .collect();
    let mut refs: Vec<&mut dyn FnMut() -> Duration> =
        counted.iter_mut().map(|r| &mut **r as _).collect();
    let t = rounds(args.rounds, &mut refs);
    drop(refs);
    drop(counted);
    let med = |v: &[f64]| median(&mut v.to_vec());
    let rate = |v: &[f64]| n as f64 / med(v) / 1e6;
    println!(
        "| {} | {:.2} | {:.1} | - | - |",
        names[0],
        rate(&t[0]),
        med(&sleeps[0])
    );
    for k in 1..names.len() {
        println!(
            "| {} | {:.2} | {:.1} | {} | {} |",
            names[k],
            rate(&t[k]),
            med(&sleeps[k]),
            Spread::speedup(&t[k], &t[0]).cell(),
            Spread::speedup(&t[k], &t[1]).cell()
        );
    }
}

fn main() {
    let args = Args::from_env(
        "backoff [mpmc|spsc|ping] [--rounds N] [--only TEXT]",
        &["mpmc", "spsc", "ping"],
        &[],
    );
    print_machine("start");
    const MSGS: u64 = 1_000_000;
    if args.runs("mpmc") {
        for (p, c) in [(2, 2), (1, 4), (4, 4)] {
            let s = Shape {
                producers: p,
                consumers: c,
                total: MSGS,
            };
            fn run<W: Wait>(s: Shape) -> Duration {
                queue_with::<u64, W>(s)
            }
            let ours: Vec<Run> = vec![
                ("Futex (hosted)", Box::new(move || run::<Futex>(s))),
                ("7/7", Box::new(move || run::<Handoff<7, 7>>(s))),
                ("7/4", Box::new(move || run::<Handoff<7, 4>>(s))),
                ("7/2", Box::new(move || run::<Handoff<7, 2>>(s))),
                ("7/1", Box::new(move || run::<Handoff<7, 1>>(s))),
                ("7/0", Box::new(move || run::<Handoff<7, 0>>(s))),
                ("5/2", Box::new(move || run::<Handoff<5, 2>>(s))),
            ];
            table(
                &args,
                &format!("`Queue<u64, 1024>` {} blocking", s.label()),
                s.expected(),
                (
                    "crossbeam-channel bounded(1024)",
                    Box::new(move || queue_crossbeam::<u64>(s, CAP)),
                ),
                ours,
            );
        }
    }
    if args.runs("spsc") {
        let s = Shape {
            producers: 1,
            consumers: 1,
            total: MSGS,
        };
        fn spsc<W: Wait>() -> Duration {
            spsc_with::<u64, W>(MSGS)
        }
        table(
            &args,
            "`Spsc<u64, 1024>` 1P+1C blocking",
            s.expected(),
            (
                "crossbeam-channel bounded(1024)",
                Box::new(move || queue_crossbeam::<u64>(s, CAP)),
            ),
            variants!(spsc),
        );
    }
    if args.runs("ping") {
        const ROUND_TRIPS: u64 = 100_000;
        fn ping<W: Wait>() -> Duration {
            ping_pong_with::<W>(ROUND_TRIPS)
        }
        table(
            &args,
            "ping-pong through two `Queue<u64, 1>`",
            ROUND_TRIPS,
            (
                "crossbeam-channel bounded(1) x2",
                Box::new(|| ping_pong_crossbeam(ROUND_TRIPS)),
            ),
            variants!(ping),
        );
    }
    println!();
    print_machine("end");
}
