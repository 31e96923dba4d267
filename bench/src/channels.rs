//! Blocking channel workloads, shared by `--bin blocking` and the facade bench (`facade/`), so
//! that both measure the same code: lockstep's hosted (futex) channels against crossbeam-channel
//! and std's `sync_channel`, every thread unpinned on the machine's cores, every `send` and `recv`
//! the blocking form.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lockstep_core::Wait;
use lockstep_core::channel::BroadcastError;

use crate::Args;

/// Capacity of every bounded channel here.
pub const CAP: usize = 1024;

/// A message: `u64`, or 64 bytes (one cache line) carrying a `u64`.
pub trait Msg: Copy + Send + Sync + 'static {
    /// Its type as the bench tables name it (`u64`, `[u64; 8]`).
    const NAME: &'static str;
    /// The message carrying `i`.
    fn make(i: u64) -> Self;
    /// The number it carries.
    fn value(&self) -> u64;
}

impl Msg for u64 {
    const NAME: &'static str = "u64";
    #[inline]
    fn make(i: u64) -> Self {
        i
    }
    #[inline]
    fn value(&self) -> u64 {
        *self
    }
}

/// A 64-byte message.
#[derive(Clone, Copy)]
pub struct Line(pub [u64; 8]);

impl Msg for Line {
    const NAME: &'static str = "[u64; 8]";
    #[inline]
    fn make(i: u64) -> Self {
        Line([i; 8])
    }
    #[inline]
    fn value(&self) -> u64 {
        self.0[7]
    }
}

/// A producers/consumers shape: `producers` threads send `total / producers` messages each,
/// `consumers` threads receive until the channel is closed (or disconnected) and drained.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub producers: usize,
    pub consumers: usize,
    /// Messages in all (rounded down to a multiple of `producers`).
    pub total: u64,
}

impl Shape {
    fn per_producer(&self) -> u64 {
        self.total / self.producers as u64
    }

    /// Messages a run sends in all: `total` rounded down to a multiple of `producers`.
    pub fn expected(&self) -> u64 {
        self.per_producer() * self.producers as u64
    }

    /// `"2P+2C"`.
    pub fn label(&self) -> String {
        format!("{}P+{}C", self.producers, self.consumers)
    }
}

/// Runs the producers and the consumers on scoped threads; checks that every message arrived once
/// (by count and by sum) and returns the wall time.
fn run_shape(
    shape: Shape,
    producer: impl Fn(u64) + Sync,
    consumer: impl Fn() -> (u64, u64) + Sync,
) -> Duration {
    let t = Instant::now();
    let (n, sum) = std::thread::scope(|s| {
        for _ in 0..shape.producers {
            s.spawn(|| producer(shape.per_producer()));
        }
        let hs: Vec<_> = (0..shape.consumers).map(|_| s.spawn(&consumer)).collect();
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .fold((0, 0u64), |(n, s), (m, t)| (n + m, s.wrapping_add(t)))
    });
    let elapsed = t.elapsed();
    let per = shape.per_producer();
    assert_eq!(
        n,
        shape.expected(),
        "{} lost or duplicated messages",
        shape.label()
    );
    assert_eq!(
        sum,
        (per * (per.saturating_sub(1)) / 2).wrapping_mul(shape.producers as u64)
    );
    elapsed
}

/// lockstep's hosted `Queue<T, CAP>`: the last producer to finish closes it.
pub fn queue_lockstep<T: Msg>(shape: Shape) -> Duration {
    queue_with::<T, lockstep_hosted::Futex>(shape)
}

/// lockstep's `Queue<T, CAP, W>` blocking through `W` (the hosted `Queue` with `W = Futex`).
pub fn queue_with<T: Msg, W: Wait>(shape: Shape) -> Duration {
    let q: Box<lockstep_core::Queue<T, CAP, W>> = Box::default();
    let producing = AtomicUsize::new(shape.producers);
    run_shape(
        shape,
        |n| {
            for i in 0..n {
                q.send(T::make(i)).unwrap();
            }
            // AcqRel: the last producer's close comes after every producer's sends.
            if producing.fetch_sub(1, Ordering::AcqRel) == 1 {
                q.close();
            }
        },
        || {
            let (mut n, mut sum) = (0, 0u64);
            while let Ok(v) = q.recv() {
                n += 1;
                sum = sum.wrapping_add(v.value());
            }
            (n, sum)
        },
    )
}

/// crossbeam-channel `bounded(cap)`: disconnected when every producer has dropped its `Sender`.
pub fn queue_crossbeam<T: Msg>(shape: Shape, cap: usize) -> Duration {
    let (tx, rx) = crossbeam_channel::bounded::<T>(cap);
    let txs = std::sync::Mutex::new(vec![tx; shape.producers]);
    run_shape(
        shape,
        |n| {
            let tx = txs.lock().unwrap().pop().unwrap();
            for i in 0..n {
                tx.send(T::make(i)).unwrap();
            }
        },
        || {
            let rx = rx.clone();
            let (mut n, mut sum) = (0, 0u64);
            while let Ok(v) = rx.recv() {
                n += 1;
                sum = sum.wrapping_add(v.value());
            }
            (n, sum)
        },
    )
}

/// std's `sync_channel(cap)`. Its receiver is single-consumer, so only shapes with one consumer.
pub fn queue_std<T: Msg>(shape: Shape, cap: usize) -> Duration {
    assert_eq!(shape.consumers, 1, "std's Receiver has one consumer");
    let (tx, rx) = std::sync::mpsc::sync_channel::<T>(cap);
    let txs = std::sync::Mutex::new(vec![tx; shape.producers]);
    let rx = std::sync::Mutex::new(Some(rx));
    run_shape(
        shape,
        |n| {
            let tx = txs.lock().unwrap().pop().unwrap();
            for i in 0..n {
                tx.send(T::make(i)).unwrap();
            }
        },
        || {
            let rx = rx.lock().unwrap().take().unwrap();
            let (mut n, mut sum) = (0, 0u64);
            while let Ok(v) = rx.recv() {
                n += 1;
                sum = sum.wrapping_add(v.value());
            }
            (n, sum)
        },
    )
}

/// lockstep's hosted `Spsc<T, CAP>` (one producer, one consumer; the producer closes it).
pub fn spsc_lockstep<T: Msg>(total: u64) -> Duration {
    spsc_with::<T, lockstep_hosted::Futex>(total)
}

/// lockstep's `Spsc<T, CAP, W>` blocking through `W`.
pub fn spsc_with<T: Msg, W: Wait>(total: u64) -> Duration {
    let mut ring: Box<lockstep_core::channel::Spsc<T, CAP, W>> = Box::default();
    let (tx, rx) = ring.split();
    let (tx, rx) = (
        std::sync::Mutex::new(Some(tx)),
        std::sync::Mutex::new(Some(rx)),
    );
    run_shape(
        Shape {
            producers: 1,
            consumers: 1,
            total,
        },
        |n| {
            let mut tx = tx.lock().unwrap().take().unwrap();
            for i in 0..n {
                tx.send(T::make(i)).unwrap();
            }
            tx.close();
        },
        || {
            let mut rx = rx.lock().unwrap().take().unwrap();
            let (mut n, mut sum) = (0, 0u64);
            while let Ok(v) = rx.recv() {
                n += 1;
                sum = sum.wrapping_add(v.value());
            }
            (n, sum)
        },
    )
}

/// lockstep's hosted `Rendezvous<T>` (zero capacity): the last producer closes it.
pub fn rendezvous_lockstep<T: Msg>(shape: Shape) -> Duration {
    let r: lockstep_hosted::Rendezvous<T> = lockstep_hosted::Rendezvous::new();
    let producing = AtomicUsize::new(shape.producers);
    run_shape(
        shape,
        |n| {
            for i in 0..n {
                r.send(T::make(i)).unwrap();
            }
            // AcqRel: as in `queue_lockstep`.
            if producing.fetch_sub(1, Ordering::AcqRel) == 1 {
                r.close();
            }
        },
        || {
            let (mut n, mut sum) = (0, 0u64);
            while let Ok(v) = r.recv() {
                n += 1;
                sum = sum.wrapping_add(v.value());
            }
            (n, sum)
        },
    )
}

/// What the receivers of one lockstep broadcast run did, summed over the receivers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Received {
    /// Messages received.
    pub got: u64,
    /// `Lagged` errors.
    pub lags: u64,
    /// Messages sent times receivers: `got` plus the messages reported missed.
    pub of: u64,
}

/// Spawns `receivers` threads running `receive` in `s`, waits until every one of them runs, and
/// returns their handles and the start time: the clock of a broadcast run starts only then, so
/// that a receiver the OS starts late neither counts as lagging nor holds up a sender.
fn spawn_receivers<'scope, R: Send + 'scope>(
    s: &'scope std::thread::Scope<'scope, '_>,
    receive: impl IntoIterator<Item = impl FnOnce() -> R + Send + 'scope>,
) -> (Vec<std::thread::ScopedJoinHandle<'scope, R>>, Instant) {
    let running = std::sync::Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = receive
        .into_iter()
        .map(|f| {
            let running = running.clone();
            s.spawn(move || {
                running.fetch_add(1, Ordering::SeqCst);
                drop(running);
                f()
            })
        })
        .collect();
    while running.load(Ordering::SeqCst) < hs.len() {
        // Yield, not spin: on a busy machine the receivers may wait for this core.
        std::thread::yield_now();
    }
    (hs, Instant::now())
}

/// lockstep's hosted `Broadcast<T, CAP>`, one sender and `receivers` subscribers: the sender
/// sends `total` messages and closes; each receiver counts what it got plus what it was told it
/// missed (the channel never makes the sender wait), which must add up to `total`.
pub fn broadcast_lockstep<T: Msg>(receivers: usize, total: u64) -> Duration {
    broadcast_lockstep_counted::<T>(receivers, total).0
}

/// [`broadcast_lockstep`], also returning what the receivers received and how often they lagged.
pub fn broadcast_lockstep_counted<T: Msg>(receivers: usize, total: u64) -> (Duration, Received) {
    let b: Box<lockstep_hosted::Broadcast<T, CAP>> = Box::default();
    let rxs: Vec<_> = (0..receivers).map(|_| b.subscribe()).collect();
    std::thread::scope(|s| {
        let (hs, t) = spawn_receivers(
            s,
            rxs.into_iter().map(|mut rx| {
                move || {
                    let (mut got, mut missed, mut lags) = (0u64, 0u64, 0u64);
                    loop {
                        match rx.recv() {
                            Ok(_) => got += 1,
                            Err(BroadcastError::Lagged(k)) => {
                                missed += k;
                                lags += 1;
                            }
                            Err(_) => return (got, missed, lags),
                        }
                    }
                }
            }),
        );
        for i in 0..total {
            b.send(T::make(i));
        }
        b.close();
        let mut sum = Received::default();
        for h in hs {
            let (got, missed, lags) = h.join().unwrap();
            assert_eq!(got + missed, total);
            sum.got += got;
            sum.lags += lags;
            sum.of += total;
        }
        (t.elapsed(), sum)
    })
}

/// The crossbeam-channel peer of a broadcast: one `bounded(CAP)` channel per receiver, the sender
/// sending a copy to each (so, unlike `Broadcast`, a slow receiver holds the sender up). The
/// clock starts, as for lockstep, once every receiver runs.
pub fn broadcast_crossbeam<T: Msg>(receivers: usize, total: u64) -> Duration {
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..receivers)
        .map(|_| crossbeam_channel::bounded::<T>(CAP))
        .unzip();
    std::thread::scope(|s| {
        let (hs, t) = spawn_receivers(
            s,
            rxs.into_iter().map(|rx| move || rx.iter().count() as u64),
        );
        for i in 0..total {
            for tx in &txs {
                tx.send(T::make(i)).unwrap();
            }
        }
        drop(txs);
        for h in hs {
            assert_eq!(h.join().unwrap(), total);
        }
        t.elapsed()
    })
}

/// Round trips per second of a blocking ping-pong through two lockstep hosted `Queue<u64, 1>`.
pub fn ping_pong_lockstep(rounds: u64) -> Duration {
    ping_pong_with::<lockstep_hosted::Futex>(rounds)
}

/// The same through two `Queue<u64, 1, W>` blocking through `W`.
pub fn ping_pong_with<W: Wait>(rounds: u64) -> Duration {
    let (a, b): (
        lockstep_core::Queue<u64, 1, W>,
        lockstep_core::Queue<u64, 1, W>,
    ) = Default::default();
    ping_pong(
        rounds,
        |v| a.send(v).unwrap(),
        || a.recv().unwrap(),
        |v| b.send(v).unwrap(),
        || b.recv().unwrap(),
    )
}

/// The same through two crossbeam-channel `bounded(1)`.
pub fn ping_pong_crossbeam(rounds: u64) -> Duration {
    let a = crossbeam_channel::bounded::<u64>(1);
    let b = crossbeam_channel::bounded::<u64>(1);
    ping_pong(
        rounds,
        |v| a.0.send(v).unwrap(),
        || a.1.recv().unwrap(),
        |v| b.0.send(v).unwrap(),
        || b.1.recv().unwrap(),
    )
}

/// The same through two std `sync_channel(1)`.
pub fn ping_pong_std(rounds: u64) -> Duration {
    let (atx, arx) = std::sync::mpsc::sync_channel::<u64>(1);
    let (btx, brx) = std::sync::mpsc::sync_channel::<u64>(1);
    let (arx, brx) = (std::sync::Mutex::new(arx), std::sync::Mutex::new(brx));
    ping_pong(
        rounds,
        |v| atx.send(v).unwrap(),
        || arx.lock().unwrap().recv().unwrap(),
        |v| btx.send(v).unwrap(),
        || brx.lock().unwrap().recv().unwrap(),
    )
}

/// One thread sends `i` on `ping` and waits for it on `pong`; the other echoes.
fn ping_pong(
    rounds: u64,
    send_ping: impl Fn(u64) + Sync,
    recv_ping: impl Fn() -> u64 + Sync,
    send_pong: impl Fn(u64) + Sync,
    recv_pong: impl Fn() -> u64 + Sync,
) -> Duration {
    let t = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..rounds {
                send_pong(recv_ping());
            }
        });
        for i in 0..rounds {
            send_ping(i);
            assert_eq!(recv_pong(), i);
        }
    });
    t.elapsed()
}

/// One timed run of a contender.
type Run<'a> = Box<dyn FnMut() -> Duration + 'a>;

/// One row of a table: a name, the lockstep contender and its peers (name, run), all timed
/// over the same interleaved rounds, for `n` messages (or round trips) a run.
struct Row<'a> {
    channel: String,
    shape: String,
    n: u64,
    ours: Run<'a>,
    peers: Vec<(&'static str, Run<'a>)>,
    /// A line to print under the table once the row's rounds are done (from what its runs
    /// recorded), if any.
    note: Option<Box<dyn Fn() -> String + 'a>>,
}

/// Prints the rows, each from `args.rounds` interleaved rounds: the median rates, the median
/// sleeps per 1,000 messages of each side (the process's voluntary context switches during a run:
/// futex waits and parks; near 0 when the waits end while spinning or yielding), and lockstep's
/// speed over the peer's per round as median (min-max).
fn print_rows(args: &Args, rows: Vec<Row<'_>>) {
    let rounds = args.rounds;
    println!(
        "| channel | shape | lockstep M/s | peer | peer M/s | lockstep vs peer: median (min-max) | sleeps per 1k: lockstep, peer |"
    );
    println!("|---|---|---:|---|---:|---|---|");
    let mut notes = Vec::new();
    for mut row in rows {
        // `--only 2P+2C`: only the rows whose channel or shape contains it.
        if !args.keeps(&format!("{} {}", row.channel, row.shape)) {
            continue;
        }
        let n = row.n;
        let k = 1 + row.peers.len();
        let mut sleeps: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); k];
        let runs = std::iter::once(&mut row.ours).chain(row.peers.iter_mut().map(|(_, p)| p));
        let mut counted: Vec<Box<dyn FnMut() -> Duration + '_>> = runs
            .zip(sleeps.iter_mut())
            .map(|(run, s)| {
                Box::new(move || {
                    let before = crate::voluntary_switches();
                    let d = run();
                    let after = crate::voluntary_switches();
                    s.push(after.saturating_sub(before) as f64 * 1000.0 / n as f64);
                    d
                }) as Box<dyn FnMut() -> Duration + '_>
            })
            .collect();
        let mut contenders: Vec<&mut dyn FnMut() -> Duration> =
            counted.iter_mut().map(|c| &mut **c as _).collect();
        let samples = crate::rounds(rounds, &mut contenders);
        drop(contenders);
        drop(counted);
        let ours = crate::mops(&samples[0], n);
        let slept = |v: &[f64]| crate::median(&mut v.to_vec());
        for (k, (name, _)) in row.peers.iter().enumerate() {
            let spread = crate::Spread::speedup(&samples[0], &samples[k + 1]);
            println!(
                "| {} | {} | {ours:.2} | {name} | {:.2} | {} | {:.2}, {:.2} |",
                row.channel,
                row.shape,
                crate::mops(&samples[k + 1], n),
                spread.cell(),
                slept(&sleeps[0]),
                slept(&sleeps[k + 1])
            );
        }
        notes.extend(row.note.as_ref().map(|note| note()));
    }
    if !notes.is_empty() {
        println!();
        for note in notes {
            println!("{note}");
        }
    }
}

/// Messages a `Queue` or `Spsc` row sends in all per run.
const QUEUE_MSGS: u64 = 1_000_000;
/// Messages through a `Rendezvous` per run: every message is a hand-off, 50-100x slower.
const RENDEZVOUS_MSGS: u64 = 50_000;
/// Messages a `Broadcast` sender sends per run.
const BROADCAST_MSGS: u64 = 500_000;

/// The producer/consumer shapes of the MPMC rows: as many threads as cores, more producers, more
/// consumers, and twice as many threads as cores on each side.
const SHAPES: [(usize, usize); 4] = [(2, 2), (1, 4), (4, 1), (4, 4)];

/// A `Queue<T, 1024>` row: crossbeam-channel's `bounded(1024)`, and std's `sync_channel(1024)`
/// where there is one consumer.
fn queue_row<'a, T: Msg>(s: Shape) -> Row<'a> {
    let mut peers: Vec<(&'static str, Run<'a>)> = vec![(
        "crossbeam-channel bounded(1024)",
        Box::new(move || queue_crossbeam::<T>(s, CAP)),
    )];
    if s.consumers == 1 {
        peers.push((
            "std sync_channel(1024)",
            Box::new(move || queue_std::<T>(s, CAP)),
        ));
    }
    Row {
        channel: format!("`Queue<{}, 1024>`", T::NAME),
        shape: s.label(),
        n: s.expected(),
        ours: Box::new(move || queue_lockstep::<T>(s)),
        peers,
        note: None,
    }
}

/// An `Spsc<T, 1024>` row (1P+1C) against crossbeam-channel's and std's bounded channels.
fn spsc_row<'a, T: Msg>() -> Row<'a> {
    let s = Shape {
        producers: 1,
        consumers: 1,
        total: QUEUE_MSGS,
    };
    Row {
        channel: format!("`Spsc<{}, 1024>`", T::NAME),
        shape: s.label(),
        n: s.expected(),
        ours: Box::new(move || spsc_lockstep::<T>(s.total)),
        peers: vec![
            (
                "crossbeam-channel bounded(1024)",
                Box::new(move || queue_crossbeam::<T>(s, CAP)),
            ),
            (
                "std sync_channel(1024)",
                Box::new(move || queue_std::<T>(s, CAP)),
            ),
        ],
        note: None,
    }
}

/// A `Rendezvous<T>` row against the zero-capacity channels of crossbeam-channel and std.
fn rendezvous_row<'a, T: Msg>(s: Shape) -> Row<'a> {
    let mut peers: Vec<(&'static str, Run<'a>)> = vec![(
        "crossbeam-channel bounded(0)",
        Box::new(move || queue_crossbeam::<T>(s, 0)),
    )];
    if s.consumers == 1 {
        peers.push((
            "std sync_channel(0)",
            Box::new(move || queue_std::<T>(s, 0)),
        ));
    }
    Row {
        channel: format!("`Rendezvous<{}>`", T::NAME),
        shape: s.label(),
        n: s.expected(),
        ours: Box::new(move || rendezvous_lockstep::<T>(s)),
        peers,
        note: None,
    }
}

/// A `Broadcast<T, 1024>` row: one sender, `receivers` subscribers, against one crossbeam-channel
/// `bounded(1024)` per receiver. The rate counts a message as done once every receiver has
/// received it or been told it missed it; the row's note says how much lockstep's receivers
/// received (crossbeam-channel's receive every message, its sender waiting for them).
fn broadcast_row<'a, T: Msg>(receivers: usize) -> Row<'a> {
    let runs: std::rc::Rc<std::cell::RefCell<Vec<(Duration, Received)>>> = Default::default();
    let log = runs.clone();
    let channel = format!("`Broadcast<{}, 1024>`", T::NAME);
    let shape = format!("1P+{receivers}C");
    let label = format!("{channel} {shape}");
    Row {
        channel,
        shape,
        n: BROADCAST_MSGS,
        ours: Box::new(move || {
            let (d, r) = broadcast_lockstep_counted::<T>(receivers, BROADCAST_MSGS);
            log.borrow_mut().push((d, r));
            d
        }),
        peers: vec![(
            "crossbeam-channel bounded(1024), one per receiver",
            Box::new(move || broadcast_crossbeam::<T>(receivers, BROADCAST_MSGS)),
        )],
        note: Some(Box::new(move || broadcast_note(&label, &runs.borrow()))),
    }
}

/// The note under the table for a broadcast row: the share of the messages lockstep's receivers
/// received (the rest they were told they missed), the rate of the messages received (per
/// receiver, to compare with the peer's rate, whose receivers receive everything) and the lags
/// per 1,000 messages: medians of the rounds, with the lowest and highest.
fn broadcast_note(label: &str, runs: &[(Duration, Received)]) -> String {
    let per = |f: &dyn Fn(&(Duration, Received)) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        let (lo, hi) = (v.first().copied(), v.last().copied());
        (crate::median(&mut v), lo.unwrap_or(0.0), hi.unwrap_or(0.0))
    };
    let share = |r: &Received| r.got as f64 / r.of.max(1) as f64;
    let got = per(&|(_, r)| 100.0 * share(r));
    let rate = per(&|(d, r)| share(r) * BROADCAST_MSGS as f64 / d.as_secs_f64() / 1e6);
    let lags = per(&|(_, r)| 1000.0 * r.lags as f64 / r.of.max(1) as f64);
    format!(
        "- lockstep {label}: the receivers received {:.1}% of the messages ({:.1}-{:.1}%) and \
         were told they missed the rest, {:.2} M received/s ({:.2}-{:.2}); {:.2} lags per 1k \
         messages ({:.2}-{:.2})",
        got.0, got.1, got.2, rate.0, rate.1, rate.2, lags.0, lags.1, lags.2
    )
}

/// Prints the blocking channel table: every row from `args.rounds` interleaved rounds.
///
/// Rows: `Queue` in every shape of [`SHAPES`] with `u64` and 64-byte messages; `Spsc` 1P+1C with
/// both; `Rendezvous` 1P+1C and every shape of [`SHAPES`] with `u64`, and 2P+2C with 64 bytes;
/// `Broadcast` to 1 and 4 receivers with both.
pub fn channel_table(args: &Args) {
    let shape = |(producers, consumers), total| Shape {
        producers,
        consumers,
        total,
    };
    let mut rows: Vec<Row<'_>> = Vec::new();
    for pc in SHAPES {
        rows.push(queue_row::<u64>(shape(pc, QUEUE_MSGS)));
    }
    for pc in SHAPES {
        rows.push(queue_row::<Line>(shape(pc, QUEUE_MSGS)));
    }
    rows.push(spsc_row::<u64>());
    rows.push(spsc_row::<Line>());
    for pc in [(1, 1)].into_iter().chain(SHAPES) {
        rows.push(rendezvous_row::<u64>(shape(pc, RENDEZVOUS_MSGS)));
    }
    rows.push(rendezvous_row::<Line>(shape((2, 2), RENDEZVOUS_MSGS)));
    for receivers in [1, 4] {
        rows.push(broadcast_row::<u64>(receivers));
    }
    for receivers in [1, 4] {
        rows.push(broadcast_row::<Line>(receivers));
    }
    print_rows(args, rows);
}

/// Prints the blocking ping-pong table (two capacity-1 channels), from `args.rounds` rounds.
pub fn ping_pong_table(args: &Args) {
    const ROUNDS: u64 = 100_000;
    print_rows(
        args,
        vec![Row {
            channel: "`Queue<u64, 1>` x2".into(),
            shape: "ping-pong".into(),
            n: ROUNDS,
            ours: Box::new(|| ping_pong_lockstep(ROUNDS)),
            peers: vec![
                (
                    "crossbeam-channel bounded(1) x2",
                    Box::new(|| ping_pong_crossbeam(ROUNDS)),
                ),
                (
                    "std sync_channel(1) x2",
                    // The same round trips as the others (about a second a run, std being
                    // ten times slower here), so that its sleeps per 1k compare.
                    Box::new(|| ping_pong_std(ROUNDS)),
                ),
            ],
            note: None,
        }],
    );
}
