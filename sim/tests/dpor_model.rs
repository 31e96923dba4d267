//! The optimal search against a brute-force model: for random straight-line programs of loads,
//! stores, swaps and compare-and-swaps on a few atomics, the executions `Config::dfs(None)` runs
//! are exactly the distinct (modification order, reads-from) graphs that some interleaving
//! produces, each once, and none is abandoned.
//!
//! CI runs `PROPTEST_CASES` programs (128); raise it to search longer.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex as StdMutex};

use lockstep_sim::sync::atomic::{AtomicU32, Ordering::SeqCst};
use lockstep_sim::{Config, check, thread};
use proptest::prelude::*;

/// An operation on location `loc` (0..LOCS); a store-like one writes its own id (from 1).
#[derive(Clone, Copy, Debug)]
enum Op {
    Load(usize),
    Store(usize),
    Swap(usize),
    /// Compare-and-swap expecting the value written by op `expected` (0: the initial value).
    Cas(usize, u32),
}

const LOCS: usize = 2;

/// A program: each thread's operations, with op ids assigned in thread order from 1.
#[derive(Clone, Debug)]
struct Program(Vec<Vec<(u32, Op)>>);

fn program() -> impl Strategy<Value = Program> {
    let op = (0..4u8, 0..LOCS, 0..6u32).prop_map(|(k, loc, e)| match k {
        0 => Op::Load(loc),
        1 => Op::Store(loc),
        2 => Op::Swap(loc),
        _ => Op::Cas(loc, e),
    });
    prop::collection::vec(prop::collection::vec(op, 1..4), 2..4).prop_map(|threads| {
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
    })
}

/// What identifies an execution's graph: per location the writes in modification order, and
/// per op the value it read (each write's value is its op id, so the value names the write).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Graph {
    mo: [Vec<u32>; LOCS],
    reads: Vec<(u32, u32)>,
}

impl Graph {
    fn finish(mut self) -> Self {
        self.reads.sort_unstable();
        self
    }
}

/// Applies `op` (id `id`) to `mem`, recording it; sequential semantics.
fn apply(mem: &mut [u32; LOCS], g: &mut Graph, id: u32, op: Op) {
    match op {
        Op::Load(l) => g.reads.push((id, mem[l])),
        Op::Store(l) => {
            mem[l] = id;
            g.mo[l].push(id);
        }
        Op::Swap(l) => {
            g.reads.push((id, mem[l]));
            mem[l] = id;
            g.mo[l].push(id);
        }
        Op::Cas(l, e) => {
            g.reads.push((id, mem[l]));
            if mem[l] == e {
                mem[l] = id;
                g.mo[l].push(id);
            }
        }
    }
}

/// Every graph some interleaving produces.
fn brute_force(p: &Program) -> BTreeSet<Graph> {
    fn go(
        p: &Program,
        pcs: &mut Vec<usize>,
        mem: [u32; LOCS],
        g: Graph,
        out: &mut BTreeSet<Graph>,
    ) {
        let mut done = true;
        for t in 0..p.0.len() {
            if let Some(&(id, op)) = p.0[t].get(pcs[t]) {
                done = false;
                let (mut m, mut g2) = (mem, g.clone());
                apply(&mut m, &mut g2, id, op);
                pcs[t] += 1;
                go(p, pcs, m, g2, out);
                pcs[t] -= 1;
            }
        }
        if done {
            out.insert(g.finish());
        }
    }
    let mut out = BTreeSet::new();
    go(
        p,
        &mut vec![0; p.0.len()],
        [0; LOCS],
        Graph::default(),
        &mut out,
    );
    out
}

/// The graphs of the executions the optimal search runs, in order.
fn searched(p: &Program) -> (Vec<Graph>, usize) {
    let seen: Arc<StdMutex<Vec<Graph>>> = Arc::default();
    let record = Arc::clone(&seen);
    let p2 = p.clone();
    let stats = check(Config::dfs(None), move || {
        let mem: Arc<[AtomicU32; LOCS]> = Arc::new(std::array::from_fn(|_| AtomicU32::new(0)));
        let graph: Arc<StdMutex<Graph>> = Arc::default();
        let hs: Vec<_> =
            p2.0.iter()
                .cloned()
                .map(|ops| {
                    let (mem, graph) = (Arc::clone(&mem), Arc::clone(&graph));
                    thread::spawn(move || {
                        for (id, op) in ops {
                            // The std mutex is taken and released between two steps: it only
                            // records, in the order the steps run.
                            match op {
                                Op::Load(l) => {
                                    let v = mem[l].load(SeqCst);
                                    graph.lock().unwrap().reads.push((id, v));
                                }
                                Op::Store(l) => {
                                    mem[l].store(id, SeqCst);
                                    graph.lock().unwrap().mo[l].push(id);
                                }
                                Op::Swap(l) => {
                                    let v = mem[l].swap(id, SeqCst);
                                    let mut g = graph.lock().unwrap();
                                    g.reads.push((id, v));
                                    g.mo[l].push(id);
                                }
                                Op::Cas(l, e) => {
                                    let r = mem[l].compare_exchange(e, id, SeqCst, SeqCst);
                                    let mut g = graph.lock().unwrap();
                                    g.reads.push((id, r.unwrap_or_else(|v| v)));
                                    if r.is_ok() {
                                        g.mo[l].push(id);
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
        let g = std::mem::take(&mut *graph.lock().unwrap());
        record.lock().unwrap().push(g.finish());
    });
    assert!(stats.complete, "{stats:?}");
    let graphs = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(graphs.len(), stats.schedules);
    (graphs, stats.abandoned)
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_search_runs_every_graph_exactly_once(p in program()) {
        let expected = brute_force(&p);
        let (graphs, abandoned) = searched(&p);
        let distinct: BTreeSet<Graph> = graphs.iter().cloned().collect();
        prop_assert_eq!(abandoned, 0);
        prop_assert_eq!(distinct.len(), graphs.len(), "an execution ran twice: {:?}", p);
        prop_assert_eq!(distinct, expected, "missed or invented executions: {:?}", p);
    }
}
