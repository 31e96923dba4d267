//! The exhaustive searches under x86-TSO against a brute-force model: for random straight-line
//! programs of loads, buffered (Release) stores, SeqCst stores, swaps, compare-and-swaps and
//! SeqCst fences and membarriers on a few atomics, the outcomes (the value each load read, the final values) of
//! the executions `Config::dfs(None)` and `Config::dfs(Some(k))` run under
//! `MemoryModel::X86Tso` are exactly those of the abstract x86-TSO machine: per-thread FIFO store
//! buffers that flush at any moment, loads that read their own thread's newest buffered store
//! first, locked operations (and `mfence`) that wait for an empty buffer, and membarriers that
//! wait until every thread's buffer is empty and then act as `mfence`. None missed, none
//! invented. The final values are read after moving the atomics out of their `Arc`, which
//! checks that a moved atomic carries the value that committed last.
//!
//! CI runs `PROPTEST_CASES` programs (128); raise it to search longer.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex as StdMutex};

use lockstep_sim::sync::atomic::{AtomicU32, Ordering::*, fence, membarrier};
use lockstep_sim::{Config, MemoryModel, check, thread};
use proptest::prelude::*;

/// An operation on location `loc` (0..LOCS); a store-like one writes its own id (from 1).
#[derive(Clone, Copy, Debug)]
enum Op {
    Load(usize),
    /// A Release store: buffered.
    Store(usize),
    /// A SeqCst store: locked (`xchg`), waits for the buffer to drain.
    SeqCstStore(usize),
    Swap(usize),
    /// Compare-and-swap expecting the value written by op `expected` (0: the initial value).
    Cas(usize, u32),
    /// A SeqCst fence (`mfence`).
    Fence,
    /// `membarrier()`: waits until every thread's buffer is empty, then acts as `mfence`.
    Membarrier,
}

const LOCS: usize = 2;

/// A program: each thread's operations, with op ids assigned in thread order from 1.
#[derive(Clone, Debug)]
struct Program(Vec<Vec<(u32, Op)>>);

impl Program {
    /// The threads' operations, numbered in thread order from 1.
    fn numbered(threads: Vec<Vec<Op>>) -> Self {
        let mut id = 0;
        Program(
            threads
                .into_iter()
                .map(|ops| {
                    ops.into_iter()
                        .map(|op| {
                            id += 1;
                            (id, op)
                        })
                        .collect()
                })
                .collect(),
        )
    }
}

fn program() -> impl Strategy<Value = Program> {
    program_with(1)
}

/// Programs in which `membarriers` of every `9 + membarriers` ops are membarriers.
fn program_with(membarriers: u8) -> impl Strategy<Value = Program> {
    // Loads and buffered stores are the interesting part: most of the ops.
    let op = (0..9 + membarriers, 0..LOCS, 0..6u32).prop_map(|(k, loc, e)| match k {
        0..=2 => Op::Load(loc),
        3..=5 => Op::Store(loc),
        6 => Op::SeqCstStore(loc),
        7 => match e % 3 {
            0 => Op::Swap(loc),
            1 => Op::Cas(loc, e),
            _ => Op::Fence,
        },
        8 => Op::Swap(loc),
        _ => Op::Membarrier,
    });
    prop::collection::vec(prop::collection::vec(op, 1..4), 2..4).prop_map(Program::numbered)
}

/// What an execution shows: the value each op read (sorted by op), and the final values.
type Outcome = (Vec<(u32, u32)>, [u32; LOCS]);

/// An execution graph of the TSO machine: the store each load read (stores write their op id),
/// and per location the order stores reached memory in.
type Graph = (Vec<(u32, u32)>, [Vec<u32>; LOCS]);

/// Every outcome of the abstract x86-TSO machine, and every graph.
fn brute_force(p: &Program) -> (BTreeSet<Outcome>, BTreeSet<Graph>) {
    struct Machine<'a> {
        p: &'a Program,
        pcs: Vec<usize>,
        buffers: Vec<Vec<(usize, u32)>>,
        mem: [u32; LOCS],
        reads: Vec<(u32, u32)>,
        mo: [Vec<u32>; LOCS],
        out: BTreeSet<Outcome>,
        graphs: BTreeSet<Graph>,
    }
    fn go(m: &mut Machine) {
        let mut done = true;
        for t in 0..m.p.0.len() {
            // A flush of thread t's oldest store.
            if !m.buffers[t].is_empty() {
                done = false;
                let (l, v) = m.buffers[t].remove(0);
                let old = m.mem[l];
                m.mem[l] = v;
                m.mo[l].push(v);
                go(m);
                m.mo[l].pop();
                m.mem[l] = old;
                m.buffers[t].insert(0, (l, v));
            }
            let Some(&(id, op)) = m.p.0[t].get(m.pcs[t]) else {
                continue;
            };
            done = false;
            let locked = !matches!(op, Op::Load(_) | Op::Store(_));
            if locked && !m.buffers[t].is_empty() {
                continue;
            }
            if matches!(op, Op::Membarrier) && m.buffers.iter().any(|b| !b.is_empty()) {
                continue;
            }
            let mem = m.mem;
            let mo = m.mo.clone();
            let reads = m.reads.len();
            let buffered = m.buffers[t].len();
            match op {
                Op::Load(l) => {
                    let own = m.buffers[t].iter().rev().find(|b| b.0 == l);
                    let v = own.map_or(m.mem[l], |b| b.1);
                    m.reads.push((id, v));
                }
                Op::Store(l) => m.buffers[t].push((l, id)),
                Op::SeqCstStore(l) => {
                    m.mem[l] = id;
                    m.mo[l].push(id);
                }
                Op::Swap(l) => {
                    m.reads.push((id, m.mem[l]));
                    m.mem[l] = id;
                    m.mo[l].push(id);
                }
                Op::Cas(l, e) => {
                    m.reads.push((id, m.mem[l]));
                    if m.mem[l] == e {
                        m.mem[l] = id;
                        m.mo[l].push(id);
                    }
                }
                Op::Fence | Op::Membarrier => {}
            }
            m.pcs[t] += 1;
            go(m);
            m.pcs[t] -= 1;
            m.mem = mem;
            m.mo = mo;
            m.reads.truncate(reads);
            m.buffers[t].truncate(buffered);
        }
        if done {
            let mut reads = m.reads.clone();
            reads.sort_unstable();
            m.out.insert((reads.clone(), m.mem));
            m.graphs.insert((reads, m.mo.clone()));
        }
    }
    let mut m = Machine {
        p,
        pcs: vec![0; p.0.len()],
        buffers: vec![Vec::new(); p.0.len()],
        mem: [0; LOCS],
        reads: Vec::new(),
        mo: Default::default(),
        out: BTreeSet::new(),
        graphs: BTreeSet::new(),
    };
    go(&mut m);
    (m.out, m.graphs)
}

/// The outcomes of the executions `config` runs under x86-TSO, in order, and the abandoned
/// count.
fn searched(p: &Program, config: Config) -> (Vec<Outcome>, usize) {
    let seen: Arc<StdMutex<Vec<Outcome>>> = Arc::default();
    let record = Arc::clone(&seen);
    let p2 = p.clone();
    let config = config.memory_model(MemoryModel::X86Tso);
    let stats = check(config, move || {
        let mem: Arc<[AtomicU32; LOCS]> = Arc::new(std::array::from_fn(|_| AtomicU32::new(0)));
        let reads: Arc<StdMutex<Vec<(u32, u32)>>> = Arc::default();
        let hs: Vec<_> =
            p2.0.iter()
                .cloned()
                .map(|ops| {
                    let (mem, reads) = (Arc::clone(&mem), Arc::clone(&reads));
                    thread::spawn(move || {
                        for (id, op) in ops {
                            // The std mutex only records, between two steps.
                            let read = match op {
                                Op::Load(l) => Some(mem[l].load(Acquire)),
                                Op::Store(l) => {
                                    mem[l].store(id, Release);
                                    None
                                }
                                Op::SeqCstStore(l) => {
                                    mem[l].store(id, SeqCst);
                                    None
                                }
                                Op::Swap(l) => Some(mem[l].swap(id, AcqRel)),
                                Op::Cas(l, e) => Some(
                                    mem[l]
                                        .compare_exchange(e, id, AcqRel, Acquire)
                                        .unwrap_or_else(|v| v),
                                ),
                                Op::Fence => {
                                    fence(SeqCst);
                                    None
                                }
                                Op::Membarrier => {
                                    membarrier();
                                    None
                                }
                            };
                            if let Some(v) = read {
                                reads.lock().unwrap().push((id, v));
                            }
                        }
                    })
                })
                .collect();
        for h in hs {
            h.join().unwrap();
        }
        let mut r = std::mem::take(&mut *reads.lock().unwrap());
        r.sort_unstable();
        // The final values through a move of the atomics (a plain copy of their memory), which
        // must carry the value that committed last.
        let [a, b] = Arc::try_unwrap(mem).unwrap();
        let last = [a.into_inner(), b.into_inner()];
        record.lock().unwrap().push((r, last));
    });
    assert!(stats.exhausted, "{stats:?}");
    let outcomes = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(outcomes.len(), stats.schedules);
    (outcomes, stats.abandoned)
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_searches_show_exactly_the_outcomes_of_the_tso_machine(p in program()) {
        let (expected, _) = brute_force(&p);
        // The optimal search and the sleep-set search; both may abandon executions under TSO
        // (see `optimality_report`).
        for config in [Config::dfs(None), Config::dfs(Some(usize::MAX))] {
            let (outcomes, _) = searched(&p, config);
            let distinct: BTreeSet<Outcome> = outcomes.iter().cloned().collect();
            prop_assert_eq!(&distinct, &expected, "missed or invented outcomes: {:?}", p);
        }
    }

    /// The same with a membarrier every few ops: each waits for the buffers of every thread.
    #[test]
    fn membarriers_show_exactly_the_outcomes_of_the_tso_machine(p in program_with(4)) {
        let (expected, _) = brute_force(&p);
        for config in [Config::dfs(None), Config::dfs(Some(usize::MAX))] {
            let (outcomes, _) = searched(&p, config);
            let distinct: BTreeSet<Outcome> = outcomes.iter().cloned().collect();
            prop_assert_eq!(&distinct, &expected, "missed or invented outcomes: {:?}", p);
        }
    }
}

/// How close the optimal search comes to one execution per TSO graph (run with `--ignored
/// --nocapture`). Under TSO it is sound and complete but not optimal: a load served from its own
/// thread's buffer counts as a read of the location (it conflicts with every flush to it), the
/// order of two threads' stores to one atomic is explored both as the order of the store steps
/// and as a choice of the later store, so some graphs run more than once, and a few executions
/// end with only a sleeping flush left (abandoned).
#[test]
#[ignore = "a measurement, run by hand"]
fn optimality_report() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut runs, mut graphs, mut exact, mut programs, mut abandoned) = (0, 0, 0, 0, 0);
    for _ in 0..500 {
        let p = program().new_tree(&mut runner).unwrap().current();
        let (_, g) = brute_force(&p);
        let (outcomes, a) = searched(&p, Config::dfs(None));
        abandoned += a;
        runs += outcomes.len();
        graphs += g.len();
        programs += 1;
        exact += usize::from(outcomes.len() == g.len());
    }
    println!(
        "{programs} programs: {runs} executions ({abandoned} abandoned) for {graphs} TSO graphs \
         ({:.2}x); one per graph in {exact} programs",
        runs as f64 / graphs as f64
    );
}

/// Programs with membarriers found by the property test, or written to pin the cases the
/// optimal search must reorder: a membarrier before or after another thread's buffered store,
/// with or without a fence on the other side, with three threads.
#[test]
fn membarrier_programs_show_exactly_the_outcomes_of_the_tso_machine() {
    use Op::*;
    let programs: Vec<Vec<Vec<Op>>> = vec![
        vec![vec![Store(1), Store(0), Load(1)], vec![Membarrier, Load(0)]],
        // A membarrier may run before another thread's store, in either role.
        vec![vec![Store(0)], vec![Membarrier, Load(0)]],
        vec![vec![Membarrier, Load(0)], vec![Store(0)]],
        // Store buffering with a membarrier on one side and nothing on the other.
        vec![vec![Store(0), Membarrier, Load(1)], vec![Store(1), Load(0)]],
        vec![vec![Store(1), Load(0)], vec![Store(0), Membarrier, Load(1)]],
        // Three threads: two membarriers, and one between two stores.
        vec![
            vec![Store(0), Membarrier, Load(1)],
            vec![Store(1), Load(0)],
            vec![Membarrier, Load(0), Load(1)],
        ],
        vec![
            vec![Store(0), Store(1)],
            vec![Load(1), Membarrier, Load(0)],
            vec![Store(0), Load(0)],
        ],
    ];
    for threads in programs {
        let p = Program::numbered(threads);
        let (expected, _) = brute_force(&p);
        for config in [Config::dfs(None), Config::dfs(Some(20))] {
            let name = format!("{config:?}");
            let (outcomes, _) = searched(&p, config);
            let distinct: BTreeSet<Outcome> = outcomes.iter().cloned().collect();
            assert_eq!(distinct, expected, "{name}: {p:?}");
        }
    }
}
