//! Weak memory: which tool finds the outcomes that only weak memory allows, and which raises false
//! alarms. lockstep-sim under `MemoryModel::Rc11` (exhaustive) and `MemoryModel::X86Tso`, loom 0.7
//! (exhaustive, its own model: C11-like, SeqCst treated as AcqRel) and shuttle 0.9 (random,
//! sequentially consistent), in the same run.
//!
//! Every row is a small program written as an assertion that the outcome sequential consistency
//! allows is the only one: a failure means the tool produced the weak outcome. The litmus shapes
//! (MP, SB, IRIW, 2+2W, LB, CoRR) come in the orderings named in the row; Peterson's lock and
//! Dekker's are their entry protocols run once by each of two threads (a thread that would have to
//! wait gives up instead, so no spinning is explored; with no unlock, both threads entering is a
//! violation of mutual exclusion).
//!
//! The "allowed" column says whether RC11 (the model of Rust's atomics) and x86-TSO allow the weak
//! outcome. Cells are judged against RC11, except lockstep `X86Tso`'s, judged against x86-TSO: a
//! weak outcome found where the model forbids it is a false alarm, one not found where it allows
//! it is a miss.
//!
//! Run: `cd bench && cargo run --release -p lockstep-bench --bin weak_memory` (under a minute).
//! Budgets: lockstep's exhaustive searches stop at 1,000,000 executions, loom at 1,000,000 or 20 s,
//! random runs (shuttle, lockstep X86Tso when its exhaustive search is unavailable) run 100,000
//! executions of seed 1.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize as StdCounter, Ordering as StdOrdering};
use std::time::{Duration, Instant};

use lockstep_bench::print_machine;
use lockstep_sim::{Config, FailureKind, MemoryModel};

/// Executions run, counted by the programs (loom and shuttle report none).
static RUNS: StdCounter = StdCounter::new(0);

/// The assertion message of every row; a failure with another message is an error of the tool.
const WEAK: &str = "weak outcome";

const RANDOM_BUDGET: usize = 100_000;
const EXHAUSTIVE_CAP: usize = 1_000_000;
const LOOM_TIME: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    MpRelaxed,
    MpRelAcq,
    SbRelaxed,
    SbRelAcq,
    SbSeqCst,
    IriwAcquire,
    IriwSeqCst,
    TwoPlusTwoW,
    LbRelaxed,
    CoRR,
    PetersonRelAcq,
    PetersonSeqCst,
    DekkerFences,
}

impl Shape {
    const ALL: [Shape; 13] = [
        Shape::MpRelaxed,
        Shape::MpRelAcq,
        Shape::SbRelaxed,
        Shape::SbRelAcq,
        Shape::SbSeqCst,
        Shape::IriwAcquire,
        Shape::IriwSeqCst,
        Shape::TwoPlusTwoW,
        Shape::LbRelaxed,
        Shape::CoRR,
        Shape::PetersonRelAcq,
        Shape::PetersonSeqCst,
        Shape::DekkerFences,
    ];

    fn name(self) -> &'static str {
        match self {
            Shape::MpRelaxed => "MP, Relaxed",
            Shape::MpRelAcq => "MP, Release/Acquire flag",
            Shape::SbRelaxed => "SB, Relaxed",
            Shape::SbRelAcq => "SB, Release/Acquire",
            Shape::SbSeqCst => "SB, SeqCst",
            Shape::IriwAcquire => "IRIW, Relaxed stores, Acquire loads",
            Shape::IriwSeqCst => "IRIW, SeqCst",
            Shape::TwoPlusTwoW => "2+2W, Relaxed",
            Shape::LbRelaxed => "LB, Relaxed",
            Shape::CoRR => "CoRR, Relaxed",
            Shape::PetersonRelAcq => "Peterson, Release/Acquire",
            Shape::PetersonSeqCst => "Peterson, SeqCst",
            Shape::DekkerFences => "Dekker, Relaxed + SeqCst fences",
        }
    }

    /// Whether the weak outcome is allowed: (under RC11, under x86-TSO).
    fn allowed(self) -> (bool, bool) {
        match self {
            Shape::MpRelaxed | Shape::IriwAcquire | Shape::TwoPlusTwoW => (true, false),
            Shape::SbRelaxed | Shape::SbRelAcq | Shape::PetersonRelAcq => (true, true),
            Shape::MpRelAcq
            | Shape::SbSeqCst
            | Shape::IriwSeqCst
            | Shape::LbRelaxed
            | Shape::CoRR
            | Shape::PetersonSeqCst
            | Shape::DekkerFences => (false, false),
        }
    }
}

/// The programs, written once against `atomic` and `thread` modules with std's API, expanded for
/// each tool.
macro_rules! programs {
    () => {
        use super::{RUNS, Shape, StdOrdering, WEAK};
        use std::sync::Arc;
        use std::sync::atomic::Ordering::{self, Acquire, Relaxed, Release, SeqCst};

        use atomic::{AtomicUsize, fence};

        type Word = Arc<AtomicUsize>;

        fn word() -> Word {
            Arc::new(AtomicUsize::new(0))
        }

        /// Message passing: data then flag; a reader that sees the flag must see the data.
        fn mp(store: Ordering, load: Ordering) {
            let (data, flag) = (word(), word());
            let (d, f) = (Arc::clone(&data), Arc::clone(&flag));
            let h = thread::spawn(move || {
                d.store(1, Relaxed);
                f.store(1, store);
            });
            let seen = flag.load(load);
            let value = data.load(Relaxed);
            h.join().unwrap();
            assert!(!(seen == 1 && value == 0), "{WEAK}");
        }

        /// Store buffering: each thread stores its flag and loads the other's.
        fn sb(store: Ordering, load: Ordering) {
            let (x, y) = (word(), word());
            let (x1, y1) = (Arc::clone(&x), Arc::clone(&y));
            let h = thread::spawn(move || {
                x1.store(1, store);
                y1.load(load)
            });
            y.store(1, store);
            let b = x.load(load);
            let a = h.join().unwrap();
            assert!(!(a == 0 && b == 0), "{WEAK}");
        }

        /// Independent reads of independent writes: the readers disagree on the writes' order.
        fn iriw(store: Ordering, load: Ordering) {
            let (x, y) = (word(), word());
            let (x1, y2) = (Arc::clone(&x), Arc::clone(&y));
            let w1 = thread::spawn(move || x1.store(1, store));
            let w2 = thread::spawn(move || y2.store(1, store));
            let (x3, y3) = (Arc::clone(&x), Arc::clone(&y));
            let r = thread::spawn(move || (x3.load(load), y3.load(load)));
            let c = y.load(load);
            let d = x.load(load);
            let (a, b) = r.join().unwrap();
            w1.join().unwrap();
            w2.join().unwrap();
            assert!(!(a == 1 && b == 0 && c == 1 && d == 0), "{WEAK}");
        }

        /// Two writes each to two locations in opposite orders; both first writes last.
        fn two_plus_two_w() {
            let (x, y) = (word(), word());
            let (x1, y1) = (Arc::clone(&x), Arc::clone(&y));
            let h = thread::spawn(move || {
                x1.store(1, Relaxed);
                y1.store(2, Relaxed);
            });
            y.store(1, Relaxed);
            x.store(2, Relaxed);
            h.join().unwrap();
            assert!(!(x.load(Relaxed) == 1 && y.load(Relaxed) == 1), "{WEAK}");
        }

        /// Load buffering: each thread reads the store the other makes after its read.
        fn lb() {
            let (x, y) = (word(), word());
            let (x1, y1) = (Arc::clone(&x), Arc::clone(&y));
            let h = thread::spawn(move || {
                let a = x1.load(Relaxed);
                y1.store(1, Relaxed);
                a
            });
            let b = y.load(Relaxed);
            x.store(1, Relaxed);
            let a = h.join().unwrap();
            assert!(!(a == 1 && b == 1), "{WEAK}");
        }

        /// Coherence of two reads of one location: new, then old.
        fn corr() {
            let x = word();
            let x1 = Arc::clone(&x);
            let h = thread::spawn(move || x1.store(1, Relaxed));
            let a = x.load(Relaxed);
            let b = x.load(Relaxed);
            h.join().unwrap();
            assert!(!(a == 1 && b == 0), "{WEAK}");
        }

        /// Peterson's entry protocol, once: whether thread `me` may enter.
        fn peterson_enter(
            flags: &[AtomicUsize; 2],
            turn: &AtomicUsize,
            me: usize,
            store: Ordering,
            load: Ordering,
        ) -> bool {
            let other = 1 - me;
            flags[me].store(1, store);
            turn.store(other, store);
            !(flags[other].load(load) == 1 && turn.load(load) == other)
        }

        fn peterson(store: Ordering, load: Ordering) {
            let s = Arc::new((
                [AtomicUsize::new(0), AtomicUsize::new(0)],
                AtomicUsize::new(0),
            ));
            let s1 = Arc::clone(&s);
            let h = thread::spawn(move || peterson_enter(&s1.0, &s1.1, 1, store, load));
            let e0 = peterson_enter(&s.0, &s.1, 0, store, load);
            let e1 = h.join().unwrap();
            assert!(!(e0 && e1), "{WEAK}");
        }

        /// Dekker's entry: raise my flag, SeqCst fence, enter if the other's is down.
        fn dekker() {
            let f = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
            let enter = |f: &[AtomicUsize; 2], me: usize| {
                f[me].store(1, Relaxed);
                fence(SeqCst);
                f[1 - me].load(Relaxed) == 0
            };
            let f1 = Arc::clone(&f);
            let h = thread::spawn(move || enter(&f1, 1));
            let e0 = enter(&f, 0);
            let e1 = h.join().unwrap();
            assert!(!(e0 && e1), "{WEAK}");
        }

        pub(crate) fn program(shape: Shape) -> impl Fn() + Send + Sync + 'static {
            move || {
                RUNS.fetch_add(1, StdOrdering::Relaxed);
                match shape {
                    Shape::MpRelaxed => mp(Relaxed, Relaxed),
                    Shape::MpRelAcq => mp(Release, Acquire),
                    Shape::SbRelaxed => sb(Relaxed, Relaxed),
                    Shape::SbRelAcq => sb(Release, Acquire),
                    Shape::SbSeqCst => sb(SeqCst, SeqCst),
                    Shape::IriwAcquire => iriw(Relaxed, Acquire),
                    Shape::IriwSeqCst => iriw(SeqCst, SeqCst),
                    Shape::TwoPlusTwoW => two_plus_two_w(),
                    Shape::LbRelaxed => lb(),
                    Shape::CoRR => corr(),
                    Shape::PetersonRelAcq => peterson(Release, Acquire),
                    Shape::PetersonSeqCst => peterson(SeqCst, SeqCst),
                    Shape::DekkerFences => dekker(),
                }
            }
        }
    };
}

mod ls {
    use lockstep_sim::sync::atomic;
    use lockstep_sim::thread;
    programs!();
}

mod lm {
    use loom::sync::atomic;
    use loom::thread;
    programs!();
}

mod sh {
    use shuttle::sync::atomic;
    use shuttle::thread;
    programs!();
}

/// One tool's answer on one row.
enum Outcome {
    /// The weak outcome was produced in the execution numbered `at` (1-based).
    Found { at: usize, secs: f64 },
    /// Not produced in `runs` executions; `complete` for a search that finished.
    NotFound {
        runs: usize,
        complete: bool,
        secs: f64,
    },
    /// The tool failed otherwise (another panic, a deadlock, ...) or refused the configuration.
    Error(String),
    /// The configuration is refused by this version of the tool.
    Unavailable(String),
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic".to_owned())
}

/// Runs lockstep-sim's `try_check`; a panic out of it (the configuration refused) is `Unavailable`.
fn lockstep(config: Config, shape: Shape) -> Outcome {
    let t = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(|| {
        lockstep_sim::try_check(config.shrink(false), ls::program(shape))
    }));
    let secs = t.elapsed().as_secs_f64();
    match r {
        Err(p) => Outcome::Unavailable(panic_message(&*p)),
        Ok(Ok(stats)) => Outcome::NotFound {
            runs: stats.schedules,
            complete: stats.complete,
            secs,
        },
        Ok(Err(f)) => match &f.kind {
            FailureKind::Panic { message, .. } if message.contains(WEAK) => Outcome::Found {
                at: f.iteration + 1,
                secs,
            },
            kind => Outcome::Error(kind.to_string()),
        },
    }
}

/// Runs a peer's check of `shape`, which panics if it finds a failure.
fn peer(run: impl FnOnce(), complete: impl FnOnce(usize, f64) -> bool) -> Outcome {
    RUNS.store(0, StdOrdering::Relaxed);
    let t = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(run));
    let secs = t.elapsed().as_secs_f64();
    let runs = RUNS.load(StdOrdering::Relaxed);
    match r {
        Ok(()) => Outcome::NotFound {
            runs,
            complete: complete(runs, secs),
            secs,
        },
        Err(p) => {
            let m = panic_message(&*p);
            if m.contains(WEAK) {
                Outcome::Found { at: runs, secs }
            } else {
                Outcome::Error(m)
            }
        }
    }
}

fn loom(shape: Shape) -> Outcome {
    peer(
        || {
            let mut b = loom::model::Builder::new();
            b.max_permutations = Some(EXHAUSTIVE_CAP);
            b.max_duration = Some(LOOM_TIME);
            b.check(lm::program(shape));
        },
        |runs, secs| runs < EXHAUSTIVE_CAP && secs < LOOM_TIME.as_secs_f64(),
    )
}

fn shuttle(shape: Shape) -> Outcome {
    let outcome = peer(
        || {
            let mut config = shuttle::Config::default();
            config.failure_persistence = shuttle::FailurePersistence::None;
            // Its warning that it runs every ordering as SeqCst: the table says so.
            config.silence_warnings = true;
            shuttle::Runner::new(
                shuttle::scheduler::RandomScheduler::new_from_seed(1, RANDOM_BUDGET),
                config,
            )
            .run(sh::program(shape));
        },
        |_, _| false,
    );
    // shuttle installs a panic hook (once) that reports every later panic, the other tools'
    // included, as a failed shuttle task: silence it again.
    quiet_panics();
    outcome
}

/// Failing executions panic; their messages would bury the table.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}

fn time(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.1} ms", secs * 1e3)
    } else {
        format!("{secs:.2} s")
    }
}

/// A table cell, judged against `allowed` (whether the cell's reference model allows the weak
/// outcome); unavailable configurations are `n/a` with a footnote number.
fn cell(o: &Outcome, allowed: bool, notes: &mut Vec<String>) -> String {
    match o {
        Outcome::Found { at, secs } => {
            let verdict = if allowed { "" } else { " **false alarm**" };
            format!("found at {at} ({}){verdict}", time(*secs))
        }
        Outcome::NotFound {
            runs,
            complete,
            secs,
        } => {
            let verdict = if allowed { " **miss**" } else { "" };
            let how = if *complete { ", complete" } else { "" };
            format!("no: {runs}{how} ({}){verdict}", time(*secs))
        }
        Outcome::Error(m) | Outcome::Unavailable(m) => {
            let first = m.lines().next().unwrap_or("").to_owned();
            let n = match notes.iter().position(|x| *x == first) {
                Some(i) => i + 1,
                None => {
                    notes.push(first);
                    notes.len()
                }
            };
            let word = if matches!(o, Outcome::Error(_)) {
                "error"
            } else {
                "n/a"
            };
            format!("{word} [{n}]")
        }
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn main() {
    quiet_panics();
    print_machine("start");
    let started = Instant::now();

    // lockstep's X86Tso: the exhaustive search if this version has it, else the random scheduler.
    let tso_dfs = || Config::dfs(None).iterations(EXHAUSTIVE_CAP);
    let tso_exhaustive = !matches!(
        lockstep(tso_dfs().memory_model(MemoryModel::X86Tso), Shape::CoRR),
        Outcome::Unavailable(_)
    );
    let tso_config = || {
        if tso_exhaustive {
            tso_dfs().memory_model(MemoryModel::X86Tso)
        } else {
            Config::random(1, RANDOM_BUDGET).memory_model(MemoryModel::X86Tso)
        }
    };
    let tso_how = if tso_exhaustive {
        "exhaustive".to_owned()
    } else {
        format!("random, {RANDOM_BUDGET}")
    };

    println!(
        "\n### Weak memory: the weak outcome found or not (executions, time)\n\n\
         Cells: \"found at N\": the weak outcome in execution N; \"no: N\": not in N executions \
         (\"complete\": the search finished). Judged against RC11, except lockstep X86Tso's, judged \
         against x86-TSO.\n"
    );
    println!(
        "| program | allowed: RC11 / x86-TSO | lockstep Rc11 (exhaustive) | lockstep X86Tso ({tso_how}) | loom (exhaustive) | shuttle (random, {RANDOM_BUDGET}, SC) |"
    );
    println!("|---|---|---|---|---|---|");
    let mut notes = Vec::new();
    let (mut misses, mut alarms, mut judged) = ([0; 4], [0; 4], [0; 4]);
    for shape in Shape::ALL {
        let (rc11, tso) = shape.allowed();
        let outcomes = [
            lockstep(
                Config::dfs(None)
                    .iterations(EXHAUSTIVE_CAP)
                    .memory_model(MemoryModel::Rc11),
                shape,
            ),
            lockstep(tso_config(), shape),
            loom(shape),
            shuttle(shape),
        ];
        let reference = [rc11, tso, rc11, rc11];
        let cells: Vec<String> = outcomes
            .iter()
            .zip(reference)
            .enumerate()
            .map(|(i, (o, allowed))| {
                match (o, allowed) {
                    (Outcome::Found { .. }, false) => alarms[i] += 1,
                    (Outcome::NotFound { .. }, true) => misses[i] += 1,
                    _ => {}
                }
                if matches!(o, Outcome::Found { .. } | Outcome::NotFound { .. }) {
                    judged[i] += 1;
                }
                cell(o, allowed, &mut notes)
            })
            .collect();
        println!(
            "| {} | {} / {} | {} |",
            shape.name(),
            yes(rc11),
            yes(tso),
            cells.join(" | ")
        );
    }
    // Per column: misses / false alarms over the rows the tool answered.
    let totals: Vec<String> = (0..4)
        .map(|i| match judged[i] {
            0 => "n/a".to_owned(),
            n if n == Shape::ALL.len() => format!("{} / {}", misses[i], alarms[i]),
            n => format!("{} / {} (of {n} rows)", misses[i], alarms[i]),
        })
        .collect();
    println!("| **misses / false alarms** | | {} |", totals.join(" | "));
    if !notes.is_empty() {
        println!();
        for (i, n) in notes.iter().enumerate() {
            println!("[{}] {n}", i + 1);
        }
    }
    println!("\ntotal time: {:.1} s", started.elapsed().as_secs_f64());
    print_machine("end");
}
