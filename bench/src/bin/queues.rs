//! Queues and channels against their peers, in the same run.
//!
//! `cd bench && cargo run --release --bin queues`
//!
//! - SPSC: 10M `u64` through a ring of capacity 1024, two pinned threads spinning on full/empty.
//! - Ping-pong: round trip of one `u64` through two SPSC rings (spinning), beside the floor of
//!   one shared atomic bounced between the same two cores.
//! - MPMC: 2 producers + 2 consumers, 2M `u64` per producer, unpinned on the 2 cores; beside the
//!   non-blocking rows, the blocking `send`/`recv` of lockstep's hosted (futex) `Queue` and of
//!   crossbeam-channel.
//!
//! An argument `spsc`, `ping` or `mpmc` runs one section only.

use std::hint::spin_loop;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use lockstep_bench::{median, print_regime};
use lockstep_core::Queue;
use lockstep_core::channel::Spsc;

const SPSC_MSGS: u64 = 10_000_000;
const CAP: usize = 1024;
const PING_ROUNDS: u64 = 300_000;
const MPMC_PER_PRODUCER: u64 = 2_000_000;
const RUNS: usize = 5;

fn pin(core: usize) {
    if let Some(ids) = core_affinity::get_core_ids()
        && !ids.is_empty() {
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

/// Runs every contender `RUNS` times, round-robin (so a change of the machine's regime during
/// the section hits them all alike), and returns the median seconds of each.
fn interleaved(contenders: &mut [&mut dyn FnMut() -> Duration]) -> Vec<f64> {
    let mut samples = vec![Vec::new(); contenders.len()];
    for _ in 0..RUNS {
        for (k, f) in contenders.iter_mut().enumerate() {
            samples[k].push(f().as_secs_f64());
        }
    }
    samples.iter_mut().map(|v| median(v)).collect()
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
        Duration::from_secs(1_000_000)
    } else {
        t.elapsed()
    }
}

/// 2 producers + 2 consumers through blocking `send`/`recv`: each producer sends
/// `MPMC_PER_PRODUCER` values and then gives up its side (the last one closes the channel); each
/// consumer receives until the channel is closed and drained, and returns how many it got.
fn mpmc_blocking(
    producers: [Box<dyn FnOnce() + Send + '_>; 2],
    consumers: [Box<dyn FnOnce() -> usize + Send + '_>; 2],
) -> Duration {
    let t = Instant::now();
    let received: usize = std::thread::scope(|s| {
        for p in producers {
            s.spawn(p);
        }
        let c: Vec<_> = consumers.into_iter().map(|c| s.spawn(c)).collect();
        c.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(received, 2 * MPMC_PER_PRODUCER as usize);
    t.elapsed()
}

/// The blocking rows: lockstep's hosted `Queue` (the last producer calls `close`).
fn mpmc_blocking_lockstep() -> Duration {
    let q: Box<lockstep_hosted::Queue<u64, CAP>> = Box::new(lockstep_hosted::Queue::new());
    let producing = AtomicUsize::new(2);
    let (q, producing) = (&*q, &producing);
    let producer = move || {
        for i in 0..MPMC_PER_PRODUCER {
            q.send(i).unwrap();
        }
        if producing.fetch_sub(1, Ordering::AcqRel) == 1 {
            q.close();
        }
    };
    let consumer = move || {
        let mut n = 0;
        while q.recv().is_ok() {
            n += 1;
        }
        n
    };
    mpmc_blocking(
        [Box::new(producer), Box::new(producer)],
        [Box::new(consumer), Box::new(consumer)],
    )
}

/// crossbeam-channel `bounded(CAP)`: each producer owns a `Sender`; the channel disconnects
/// when both are dropped.
fn mpmc_blocking_crossbeam() -> Duration {
    let (tx, rx) = crossbeam_channel::bounded::<u64>(CAP);
    let producer = |tx: crossbeam_channel::Sender<u64>| {
        move || {
            for i in 0..MPMC_PER_PRODUCER {
                tx.send(i).unwrap();
            }
        }
    };
    let consumer = |rx: crossbeam_channel::Receiver<u64>| move || rx.iter().count();
    mpmc_blocking(
        [Box::new(producer(tx.clone())), Box::new(producer(tx))],
        [Box::new(consumer(rx.clone())), Box::new(consumer(rx))],
    )
}

fn main() {
    print_regime("start");
    let mmsg = |secs: f64, n: u64| n as f64 / secs / 1e6;
    let only = std::env::args().nth(1);
    let run = |section: &str| only.as_deref().is_none_or(|o| o == section);

    if run("spsc") {
        spsc_table(mmsg);
    }
    if run("ping") {
        ping_table();
    }
    if run("mpmc") {
        mpmc_table(mmsg);
    }
    println!();
    print_regime("end");
}

fn spsc_table(mmsg: impl Fn(f64, u64) -> f64) {
    println!(
        "\n### SPSC, 10M u64, capacity 1024, two pinned threads spinning (median of {RUNS}, runs interleaved)\n"
    );
    println!("| queue | throughput | lockstep Spsc / peer |");
    println!("|---|---|---|");
    let t = interleaved(&mut [
        &mut spsc_lockstep,
        &mut spsc_rtrb,
        &mut spsc_heapless,
        &mut spsc_array_queue,
        &mut spsc_lockstep_queue,
    ]);
    let [ls, rt, hl, aq, lq] = [0, 1, 2, 3, 4].map(|k| mmsg(t[k], SPSC_MSGS));
    println!("| lockstep `Spsc` | {ls:.1} Mmsg/s | 1.00x |");
    for (name, v) in [
        ("rtrb", rt),
        ("heapless spsc", hl),
        ("crossbeam ArrayQueue", aq),
        ("lockstep `Queue` (MPMC)", lq),
    ] {
        println!("| {name} | {v:.1} Mmsg/s | {:.2}x |", ls / v);
    }
}

fn ping_table() {
    println!(
        "\n### Ping-pong round trip through two SPSC rings, spinning (median of {RUNS}, runs interleaved)\n"
    );
    println!("| queue | round trip | / floor | / two-line floor |");
    println!("|---|---|---|---|");
    let ns = |secs: f64| secs * 1e9 / PING_ROUNDS as f64;
    let t = interleaved(&mut [
        &mut ping_floor,
        &mut ping_floor_two_lines,
        &mut ping_lockstep,
        &mut ping_rtrb,
        &mut ping_heapless,
    ]);
    let [floor, floor2, pl, pr, ph] = [0, 1, 2, 3, 4].map(|k| ns(t[k]));
    for (name, v) in [
        ("floor: one AtomicU64 bounced (pinned)", floor),
        ("floor of two queues: two words on two lines", floor2),
        ("lockstep `Spsc`", pl),
        ("rtrb", pr),
        ("heapless spsc", ph),
    ] {
        println!(
            "| {name} | {v:.1} ns | {:.2}x | {:.2}x |",
            v / floor,
            v / floor2
        );
    }
}

fn mpmc_table(mmsg: impl Fn(f64, u64) -> f64) {
    println!(
        "\n### MPMC, 2 producers + 2 consumers, 2M u64 each producer, unpinned on 2 cores (median of {RUNS}, runs interleaved)\n"
    );
    println!("| queue | throughput | lockstep `Queue` / peer |");
    println!("|---|---|---|");
    let n = 2 * MPMC_PER_PRODUCER;
    let lq: Box<Queue<u64, CAP>> = Box::new(Queue::new());
    let aq = ArrayQueue::<u64>::new(CAP);
    // With its `mpmc_large` feature (see Cargo.toml) heapless's MPMC positions are usize, so it
    // takes the same capacity as the others.
    #[allow(deprecated)] // deprecated as not lock-free under preemption; measured as a peer
    let hq: Box<heapless::mpmc::Queue<u64, CAP>> = Box::new(heapless::mpmc::Queue::new());
    let ec: Box<embassy_sync::channel::Channel<CriticalSectionRawMutex, u64, CAP>> =
        Box::new(embassy_sync::channel::Channel::new());
    let t = interleaved(&mut [
        &mut || mpmc(&*lq, |q, v| q.try_send(v).is_ok(), |q| q.try_recv().ok()),
        &mut || mpmc(&aq, |q, v| q.push(v).is_ok(), |q| q.pop()),
        &mut || mpmc(&*hq, |q, v| q.enqueue(v).is_ok(), |q| q.dequeue()),
        &mut || mpmc(&*ec, |q, v| q.try_send(v).is_ok(), |q| q.try_receive().ok()),
        &mut mpmc_blocking_lockstep,
        &mut mpmc_blocking_crossbeam,
    ]);
    let [m_ls, m_aq, m_hl, m_em, b_ls, b_cb] = [0, 1, 2, 3, 4, 5].map(|k| mmsg(t[k], n));
    println!("| lockstep `Queue` | {m_ls:.1} Mmsg/s | 1.00x |");
    for (name, v) in [
        ("crossbeam ArrayQueue", m_aq),
        ("heapless mpmc", m_hl),
        ("embassy-sync Channel", m_em),
    ] {
        if v < 0.01 {
            println!(
                "| {name} | stalled: a run took over {} s | - |",
                MPMC_BUDGET.as_secs()
            );
        } else {
            println!("| {name} | {v:.1} Mmsg/s | {:.2}x |", m_ls / v);
        }
    }
    println!("\nBlocking `send`/`recv`, same workload (the last producer closes the channel):\n");
    println!("| channel | throughput | lockstep hosted `Queue` / peer |");
    println!("|---|---|---|");
    println!("| lockstep hosted `Queue` (futex) | {b_ls:.1} Mmsg/s | 1.00x |");
    println!(
        "| crossbeam-channel bounded(1024) | {b_cb:.1} Mmsg/s | {:.2}x |",
        b_ls / b_cb
    );
}
