//! Queues and channels against their peers, in the same run.
//!
//! `cd bench && cargo run --release --bin queues -- [spsc|ping|mpmc] [--rounds N]`
//!
//! - SPSC: 5M `u64` through a ring of capacity 1024, two pinned threads spinning on full/empty.
//! - Ping-pong: round trip of one `u64` through two SPSC rings (spinning), beside the floor of
//!   one shared atomic bounced between the same two cores.
//! - MPMC: 2 producers + 2 consumers, 1M `u64` per producer, unpinned on the 2 cores, spinning on
//!   `try_send`/`try_recv` (the blocking channels are `--bin blocking`'s).
//!
//! Every table comes from `--rounds` (default 10) interleaved rounds: each contender runs once
//! per round, and the speed ratio of each round is reported as its median, minimum and maximum.
//! An argument `spsc`, `ping` or `mpmc` runs one section only (see [`lockstep_bench::Args`]).

use std::hint::spin_loop;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use lockstep_bench::{Spread, median, mops, print_machine, rounds};
use lockstep_core::Queue;
use lockstep_core::channel::Spsc;

const SPSC_MSGS: u64 = 5_000_000;
const CAP: usize = 1024;
const PING_ROUNDS: u64 = 300_000;
const MPMC_PER_PRODUCER: u64 = 1_000_000;

fn pin(core: usize) {
    if let Some(ids) = core_affinity::get_core_ids()
        && !ids.is_empty()
    {
        core_affinity::set_for_current(ids[core % ids.len()]);
    }
}

/// Runs `producer` and `consumer` on two pinned threads; returns the wall time of the pair.
fn pair(producer: impl FnOnce() + Send, consumer: impl FnOnce() + Send) -> Duration {
    let t = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            pin(0);
            producer();
        });
        s.spawn(|| {
            pin(1);
            consumer();
        });
    });
    t.elapsed()
}

fn spsc_lockstep() -> Duration {
    let mut ring: Box<Spsc<u64, CAP>> = Box::new(Spsc::new());
    let (mut tx, mut rx) = ring.split();
    pair(
        move || {
            for i in 0..SPSC_MSGS {
                let mut v = i;
                while let Err(e) = tx.try_send(v) {
                    v = e.into_inner();
                    spin_loop();
                }
            }
        },
        move || {
            let mut sum = 0u64;
            for _ in 0..SPSC_MSGS {
                loop {
                    if let Ok(v) = rx.try_recv() {
                        sum = sum.wrapping_add(v);
                        break;
                    }
                    spin_loop();
                }
            }
            assert_eq!(sum, SPSC_MSGS * (SPSC_MSGS - 1) / 2);
        },
    )
}

fn spsc_rtrb() -> Duration {
    let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(CAP);
    pair(
        move || {
            for i in 0..SPSC_MSGS {
                while tx.push(i).is_err() {
                    spin_loop();
                }
            }
        },
        move || {
            let mut sum = 0u64;
            for _ in 0..SPSC_MSGS {
                loop {
                    if let Ok(v) = rx.pop() {
                        sum = sum.wrapping_add(v);
                        break;
                    }
                    spin_loop();
                }
            }
            assert_eq!(sum, SPSC_MSGS * (SPSC_MSGS - 1) / 2);
        },
    )
}

fn spsc_heapless() -> Duration {
    // heapless's `Queue<T, N>` holds N - 1.
    let mut q: Box<heapless::spsc::Queue<u64, { CAP + 1 }>> =
        Box::new(heapless::spsc::Queue::new());
    let (mut tx, mut rx) = q.split();
    pair(
        move || {
            for i in 0..SPSC_MSGS {
                while tx.enqueue(i).is_err() {
                    spin_loop();
                }
            }
        },
        move || {
            let mut sum = 0u64;
            for _ in 0..SPSC_MSGS {
                loop {
                    if let Some(v) = rx.dequeue() {
                        sum = sum.wrapping_add(v);
                        break;
                    }
                    spin_loop();
                }
            }
            assert_eq!(sum, SPSC_MSGS * (SPSC_MSGS - 1) / 2);
        },
    )
}

fn spsc_array_queue() -> Duration {
    let q = ArrayQueue::<u64>::new(CAP);
    pair(
        || {
            for i in 0..SPSC_MSGS {
                while q.push(i).is_err() {
                    spin_loop();
                }
            }
        },
        || {
            let mut sum = 0u64;
            for _ in 0..SPSC_MSGS {
                loop {
                    if let Some(v) = q.pop() {
                        sum = sum.wrapping_add(v);
                        break;
                    }
                    spin_loop();
                }
            }
            assert_eq!(sum, SPSC_MSGS * (SPSC_MSGS - 1) / 2);
        },
    )
}

fn spsc_lockstep_queue() -> Duration {
    let q: Box<Queue<u64, CAP>> = Box::new(Queue::new());
    pair(
        || {
            for i in 0..SPSC_MSGS {
                let mut v = i;
                while let Err(e) = q.try_send(v) {
                    v = e.into_inner();
                    spin_loop();
                }
            }
        },
        || {
            let mut sum = 0u64;
            for _ in 0..SPSC_MSGS {
                loop {
                    if let Ok(v) = q.try_recv() {
                        sum = sum.wrapping_add(v);
                        break;
                    }
                    spin_loop();
                }
            }
            assert_eq!(sum, SPSC_MSGS * (SPSC_MSGS - 1) / 2);
        },
    )
}

/// A round trip through two queues: `send_a`/`recv_a` on the pinger's side of queue A, etc.
macro_rules! ping_pong {
    ($a_tx:expr, $a_rx:expr, $b_tx:expr, $b_rx:expr, $send:ident, $recv:ident) => {{
        let (mut a_tx, mut a_rx, mut b_tx, mut b_rx) = ($a_tx, $a_rx, $b_tx, $b_rx);
        pair(
            move || {
                for i in 0..PING_ROUNDS {
                    while a_tx.$send(i).is_err() {
                        spin_loop();
                    }
                    loop {
                        if let Some(v) = b_rx.$recv() {
                            assert_eq!(v, i);
                            break;
                        }
                        spin_loop();
                    }
                }
            },
            move || {
                for _ in 0..PING_ROUNDS {
                    let v = loop {
                        if let Some(v) = a_rx.$recv() {
                            break v;
                        }
                        spin_loop();
                    };
                    while b_tx.$send(v).is_err() {
                        spin_loop();
                    }
                }
            },
        )
    }};
}

trait TryOpt<T> {
    fn get(&mut self) -> Option<T>;
}

struct LsRx<'a>(lockstep_core::channel::Consumer<'a, u64, CAP>);
impl TryOpt<u64> for LsRx<'_> {
    fn get(&mut self) -> Option<u64> {
        self.0.try_recv().ok()
    }
}
struct LsTx<'a>(lockstep_core::channel::Producer<'a, u64, CAP>);
impl LsTx<'_> {
    fn put(&mut self, v: u64) -> Result<(), ()> {
        self.0.try_send(v).map_err(|_| ())
    }
}
struct RtRx(rtrb::Consumer<u64>);
impl TryOpt<u64> for RtRx {
    fn get(&mut self) -> Option<u64> {
        self.0.pop().ok()
    }
}
struct RtTx(rtrb::Producer<u64>);
impl RtTx {
    fn put(&mut self, v: u64) -> Result<(), ()> {
        self.0.push(v).map_err(|_| ())
    }
}
struct HlRx<'a>(heapless::spsc::Consumer<'a, u64>);
impl TryOpt<u64> for HlRx<'_> {
    fn get(&mut self) -> Option<u64> {
        self.0.dequeue()
    }
}
struct HlTx<'a>(heapless::spsc::Producer<'a, u64>);
impl HlTx<'_> {
    fn put(&mut self, v: u64) -> Result<(), ()> {
        self.0.enqueue(v).map_err(|_| ())
    }
}

/// The floor: one `AtomicU64` bounced between the same two pinned threads, `PING_ROUNDS` times.
fn ping_floor() -> Duration {
    let word = std::sync::atomic::AtomicU64::new(0);
    pair(
        || {
            for i in 0..PING_ROUNDS {
                word.store(2 * i + 1, Ordering::Release);
                while word.load(Ordering::Acquire) != 2 * i + 2 {
                    spin_loop();
                }
            }
        },
        || {
            for i in 0..PING_ROUNDS {
                while word.load(Ordering::Acquire) != 2 * i + 1 {
                    spin_loop();
                }
                word.store(2 * i + 2, Ordering::Release);
            }
        },
    )
}

/// The floor of any pair of queues: a request word and a reply word on two cache lines (each
/// aligned to a line pair), bounced between the same two pinned threads. Two queues cannot do
/// with fewer lines than this.
fn ping_floor_two_lines() -> Duration {
    #[repr(align(128))]
    struct Line(std::sync::atomic::AtomicU64);
    let (request, reply) = (Line(0.into()), Line(0.into()));
    pair(
        || {
            for i in 1..=PING_ROUNDS {
                request.0.store(i, Ordering::Release);
                while reply.0.load(Ordering::Acquire) != i {
                    spin_loop();
                }
            }
        },
        || {
            for i in 1..=PING_ROUNDS {
                while request.0.load(Ordering::Acquire) != i {
                    spin_loop();
                }
                reply.0.store(i, Ordering::Release);
            }
        },
    )
}

fn ping_lockstep() -> Duration {
    let mut a: Box<Spsc<u64, CAP>> = Box::new(Spsc::new());
    let mut b: Box<Spsc<u64, CAP>> = Box::new(Spsc::new());
    let (at, ar) = a.split();
    let (bt, br) = b.split();
    ping_pong!(LsTx(at), LsRx(ar), LsTx(bt), LsRx(br), put, get)
}

fn ping_rtrb() -> Duration {
    let (at, ar) = rtrb::RingBuffer::new(CAP);
    let (bt, br) = rtrb::RingBuffer::new(CAP);
    ping_pong!(RtTx(at), RtRx(ar), RtTx(bt), RtRx(br), put, get)
}

fn ping_heapless() -> Duration {
    let mut a: Box<heapless::spsc::Queue<u64, { CAP + 1 }>> =
        Box::new(heapless::spsc::Queue::new());
    let mut b: Box<heapless::spsc::Queue<u64, { CAP + 1 }>> =
        Box::new(heapless::spsc::Queue::new());
    let (at, ar) = a.split();
    let (bt, br) = b.split();
    ping_pong!(HlTx(at), HlRx(ar), HlTx(bt), HlRx(br), put, get)
}

/// Longest an MPMC run may take before it is abandoned (reported as 0): with four spinning
/// threads on two shared cores a preempted thread can stall the others for long.
const MPMC_BUDGET: Duration = Duration::from_secs(5);

/// The time recorded for an abandoned run, in seconds.
const STALLED: f64 = 1e6;

/// 2 producers + 2 consumers; `push` and `pop` retry with a spin hint, then yield.
fn mpmc<Q: Sync>(
    q: &Q,
    push: impl Fn(&Q, u64) -> bool + Sync,
    pop: impl Fn(&Q) -> Option<u64> + Sync,
) -> Duration {
    let received = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let total = 2 * MPMC_PER_PRODUCER as usize;
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            let (push, stop) = (&push, &stop);
            s.spawn(move || {
                for i in 0..MPMC_PER_PRODUCER {
                    let mut tries = 0u32;
                    while !push(q, i) {
                        tries += 1;
                        if tries.is_multiple_of(64) {
                            if stop.load(Ordering::Relaxed) {
                                return;
                            }
                            std::thread::yield_now();
                        } else {
                            spin_loop();
                        }
                    }
                }
            });
        }
        for _ in 0..2 {
            let (pop, received, stop) = (&pop, &received, &stop);
            s.spawn(move || {
                let mut tries = 0u32;
                let mut mine = 0;
                while received.load(Ordering::Relaxed) < total && !stop.load(Ordering::Relaxed) {
                    if pop(q).is_some() {
                        mine += 1;
                        if mine == 1024 {
                            received.fetch_add(mine, Ordering::Relaxed);
                            mine = 0;
                        }
                    } else {
                        received.fetch_add(mine, Ordering::Relaxed);
                        mine = 0;
                        tries += 1;
                        if tries.is_multiple_of(64) {
                            std::thread::yield_now();
                        } else {
                            spin_loop();
                        }
                    }
                }
            });
        }
        while received.load(Ordering::Relaxed) < total && t.elapsed() < MPMC_BUDGET {
            std::thread::sleep(Duration::from_millis(5));
        }
        stop.store(true, Ordering::Relaxed);
    });
    // Drain what an abandoned run left behind.
    while pop(q).is_some() {}
    if received.load(Ordering::Relaxed) < total {
        Duration::from_secs_f64(STALLED)
    } else {
        t.elapsed()
    }
}

fn main() {
    let args = lockstep_bench::Args::from_env(
        "queues [spsc|ping|mpmc] [--rounds N]",
        &["spsc", "ping", "mpmc"],
        &[],
    );
    let rounds = args.rounds;
    print_machine("start");
    if args.runs("spsc") {
        spsc_table(rounds);
    }
    if args.runs("ping") {
        ping_table(rounds);
    }
    if args.runs("mpmc") {
        mpmc_table(rounds);
    }
    println!();
    print_machine("end");
}

/// Prints one row per peer: our median, theirs, and the spread of the per-round speed ratios.
fn ratio_rows(unit: &str, ours_name: &str, ours: &[f64], peers: &[(&str, &[f64])], n: u64) {
    let rate = |v: &[f64]| mops(v, n);
    println!("| queue | {unit} | {ours_name} vs this: median (min-max) |");
    println!("|---|---:|---|");
    println!("| {ours_name} | {:.1} | - |", rate(ours));
    for (name, theirs) in peers {
        if theirs.iter().any(|&t| t >= STALLED) {
            println!(
                "| {name} | stalled: a run took over {} s | - |",
                MPMC_BUDGET.as_secs()
            );
            continue;
        }
        println!(
            "| {name} | {:.1} | {} |",
            rate(theirs),
            Spread::speedup(ours, theirs).cell()
        );
    }
}

fn spsc_table(rounds: usize) {
    println!(
        "\n### SPSC, {}M u64, capacity 1024, two pinned threads spinning ({rounds} interleaved rounds; Mmsg/s: median; ratio: lockstep `Spsc`'s speed over the peer's, median of the per-round ratios (worst-best))\n",
        SPSC_MSGS / 1_000_000
    );
    let t = rounds_of(
        rounds,
        &mut [
            &mut spsc_lockstep,
            &mut spsc_rtrb,
            &mut spsc_heapless,
            &mut spsc_array_queue,
            &mut spsc_lockstep_queue,
        ],
    );
    ratio_rows(
        "Mmsg/s",
        "lockstep `Spsc`",
        &t[0],
        &[
            ("rtrb", &t[1]),
            ("heapless spsc", &t[2]),
            ("crossbeam ArrayQueue", &t[3]),
            ("lockstep `Queue` (MPMC)", &t[4]),
        ],
        SPSC_MSGS,
    );
}

fn ping_table(rounds: usize) {
    println!(
        "\n### Ping-pong round trip through two SPSC rings, spinning ({rounds} interleaved rounds, medians)\n"
    );
    println!(
        "| queue | round trip | / floor | / two-line floor | lockstep `Spsc` vs this: median (min-max) |"
    );
    println!("|---|---|---|---|---|");
    let ns = |v: &[f64]| {
        let mut v = v.to_vec();
        median(&mut v) * 1e9 / PING_ROUNDS as f64
    };
    let t = rounds_of(
        rounds,
        &mut [
            &mut ping_floor,
            &mut ping_floor_two_lines,
            &mut ping_lockstep,
            &mut ping_rtrb,
            &mut ping_heapless,
        ],
    );
    let (floor, floor2) = (ns(&t[0]), ns(&t[1]));
    for (k, name) in [
        "floor: one AtomicU64 bounced (pinned)",
        "floor of two queues: two words on two lines",
        "lockstep `Spsc`",
        "rtrb",
        "heapless spsc",
    ]
    .iter()
    .enumerate()
    {
        let v = ns(&t[k]);
        let vs = if k >= 3 {
            Spread::speedup(&t[2], &t[k]).cell()
        } else {
            "-".into()
        };
        println!(
            "| {name} | {v:.1} ns | {:.2}x | {:.2}x | {vs} |",
            v / floor,
            v / floor2
        );
    }
}

fn mpmc_table(rounds: usize) {
    println!(
        "\n### MPMC, 2 producers + 2 consumers, {}M u64 each producer, unpinned on 2 cores, spinning `try_send`/`try_recv` ({rounds} interleaved rounds)\n",
        MPMC_PER_PRODUCER / 1_000_000
    );
    let n = 2 * MPMC_PER_PRODUCER;
    let lq: Box<Queue<u64, CAP>> = Box::new(Queue::new());
    let aq = ArrayQueue::<u64>::new(CAP);
    // With its `mpmc_large` feature (see Cargo.toml) heapless's MPMC positions are usize, so it
    // takes the same capacity as the others.
    #[allow(deprecated)] // deprecated as not lock-free under preemption; measured as a peer
    let hq: Box<heapless::mpmc::Queue<u64, CAP>> = Box::new(heapless::mpmc::Queue::new());
    let ec: Box<embassy_sync::channel::Channel<CriticalSectionRawMutex, u64, CAP>> =
        Box::new(embassy_sync::channel::Channel::new());
    let t = rounds_of(
        rounds,
        &mut [
            &mut || mpmc(&*lq, |q, v| q.try_send(v).is_ok(), |q| q.try_recv().ok()),
            &mut || mpmc(&aq, |q, v| q.push(v).is_ok(), |q| q.pop()),
            &mut || mpmc(&*hq, |q, v| q.enqueue(v).is_ok(), |q| q.dequeue()),
            &mut || mpmc(&*ec, |q, v| q.try_send(v).is_ok(), |q| q.try_receive().ok()),
        ],
    );
    ratio_rows(
        "Mmsg/s",
        "lockstep `Queue`",
        &t[0],
        &[
            ("crossbeam ArrayQueue", &t[1]),
            ("heapless mpmc", &t[2]),
            ("embassy-sync Channel", &t[3]),
        ],
        n,
    );
    println!(
        "\nThe blocking `send`/`recv` of the hosted `Queue` against crossbeam-channel and std, in this and more shapes: `--bin blocking channels`."
    );
}

/// [`rounds`] over contenders returning a `Duration`.
fn rounds_of(n: usize, contenders: &mut [&mut dyn FnMut() -> Duration]) -> Vec<Vec<f64>> {
    rounds(n, contenders)
}
