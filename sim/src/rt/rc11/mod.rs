//! The RC11 memory model: what each load may read, chosen by the search.
//!
//! Under [`MemoryModel::Rc11`](crate::MemoryModel::Rc11) every atomic access, fence and step of
//! an execution becomes an event of an execution [`Graph`]: a load reads from a store the
//! search chooses among those RC11 allows (not only the newest one), and a store takes a place
//! in its location's modification order. The real atomic is set to the chosen store's value for
//! the duration of the operation, so the program's own code computes what it would on a machine
//! that returned that value; afterwards it holds the newest value again.
//!
//! # The exhaustive search
//!
//! [`Mode::Explore`] enumerates the RC11-consistent execution graphs of the program, each exactly
//! once, with the algorithm of TruSt (Kokologiannakis, Marmanis, Gladstein, Vafeiadis, "Truly
//! stateless, optimal dynamic partial order reduction", POPL 2022), the algorithm of GenMC:
//!
//! - Events are added one at a time: the lowest-numbered thread that can go on adds its next
//!   event. A load reads, in turn, from every store that keeps the graph consistent (the newest
//!   in this run, each other one in a run of its own: a *forward revisit*); a store is placed,
//!   in turn, at every consistent position of its modification order.
//! - A store may also *revisit* an earlier load of its location that is not in its porf-prefix
//!   (backward revisit): the load now reads from the store, and every event added after the load
//!   that the store does not depend on is removed. To visit each graph once, a backward revisit
//!   is made only if everything it removes was added *maximally* (a load reading the newest
//!   store, a store placed last) and was not itself revisited by a removed store.
//! - A read-modify-write that reads a store another read-modify-write already read breaks
//!   atomicity: that graph is inconsistent and not run to the end, but the revisits of its write
//!   are made (this is how the other order of two read-modify-writes is reached).
//!
//! Each run of the program replays a graph of the work list (the program is deterministic
//! given what each load reads) and extends it: the events are re-executed in an order that
//! respects program order and reads-from, so the program's own non-atomic data is right.
//!
//! # What is modelled
//!
//! Atomic loads, stores, read-modify-writes and compare-and-swaps (a failed one is a read) with
//! their orderings; fences; spawn and join (they synchronize); cells (checked for data races
//! under RC11's happens-before); spin-loop hints and `yield_now` as "this iteration changes
//! nothing: block here" (the iteration that reads what ends the loop is explored instead, as
//! GenMC does with spin loops): an execution that ends with a thread blocked there is counted as
//! blocked, not run; a modelled `Mutex` found held blocks the same way (sampling waits for its
//! unlock instead: see `rt::rc11_mutex_take`). A futex wait or wake is
//! a SeqCst fence and a read-modify-write of its word that leaves it unchanged
//! ([`Rc11::futex_rmw`]). `AtomicPtr`'s values are addresses, taken from the running execution
//! in a replay ([`Desc::addresses`]). Timed waits with explored timeouts are not modelled under
//! RC11 yet: an execution that uses them fails with a clear message.

pub(crate) mod graph;

use std::collections::HashMap;

use graph::{Access, EvId, Graph, Kind, Loc, Mo};

use crate::rt::clock::VectorClock;

pub(crate) use graph::Ev;

/// How the next reads-from and modification-order choices are made.
#[derive(Debug)]
pub(crate) enum Mode {
    /// Every consistent graph once (see the module docs).
    Explore,
    /// A uniformly random consistent choice, from the seed (random and PCT schedulers).
    Sample(crate::scheduler::Rng),
    /// The choices of a recorded execution, in order.
    Replay { choices: Vec<u32>, next: usize },
    /// The choices that rebuild `Graph` when the threads run in the same order (to turn a graph
    /// the search found into replayable choices).
    Guided(Graph),
}

/// A graph to run: replayed, then extended.
#[derive(Debug)]
struct Item {
    g: Graph,
    /// A write whose backward revisits are still to be made (a read-modify-write that just got
    /// a new reads-from, or a store placed at another position).
    revisit: Option<EvId>,
    /// The graph breaks atomicity: only its write's revisits are made; it is not run.
    moot: bool,
}

/// What an atomic access does now.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Desc {
    pub(crate) access: Access,
    /// The value a store writes.
    pub(crate) value: i128,
    pub(crate) rmo: Mo,
    pub(crate) wmo: Mo,
    /// The values are addresses (an `AtomicPtr`'s), which differ from one run to the next as
    /// the allocator's state does: a replay takes them from this run (the location's initial
    /// value, a compare-and-swap's operands, a write's value) instead of requiring the
    /// recorded ones. Equal addresses within a run are the same pointer, so what a
    /// compare-and-swap decides is unchanged.
    pub(crate) addresses: bool,
}

/// The RC11 state of a check: the graph of the running execution and the search's work list.
#[derive(Debug)]
pub(crate) struct Rc11 {
    pub(crate) mode: Mode,
    g: Graph,
    work: Vec<Item>,
    started: bool,
    /// Per thread, how many of its graph events this run has executed.
    consumed: Vec<u32>,
    /// The location of each atomic's address in this run.
    addr_loc: HashMap<usize, u32>,
    /// The choices this run made among more than one candidate (for a replay string).
    pub(crate) choices: Vec<u32>,
    /// The run reached a graph that breaks atomicity: it stops, uncounted.
    pub(crate) moot: bool,
    /// The run ended with a thread blocked in a spin loop (counted apart).
    pub(crate) blocked: bool,
    /// What this run does that RC11 cannot model here, if anything.
    pub(crate) unsupported: Option<String>,
    /// Per event, the clock its write publishes (race detection on cells).
    msgs: HashMap<EvId, VectorClock>,
    /// Per thread: its clock at its last release fence, and what its relaxed reads read.
    rel_fence: Vec<Option<VectorClock>>,
    acq_pending: Vec<VectorClock>,
    /// Graphs found inconsistent and not run (statistics).
    pub(crate) moot_runs: usize,
    /// A write of the graph being replayed whose backward revisits are made once it has run
    /// again (its value is known then), and whether the run stops there (moot).
    pending: Option<(EvId, bool)>,
    /// The write this run just added, whose revisits `after_access` makes.
    fresh: Option<EvId>,
    /// The step at which this run executed each access (for the explanation).
    steps: HashMap<EvId, usize>,
}

impl Rc11 {
    pub(crate) fn new(mode: Mode) -> Self {
        Rc11 {
            mode,
            g: Graph::default(),
            work: Vec::new(),
            started: false,
            consumed: Vec::new(),
            addr_loc: HashMap::new(),
            choices: Vec::new(),
            moot: false,
            blocked: false,
            unsupported: None,
            msgs: HashMap::new(),
            rel_fence: Vec::new(),
            acq_pending: Vec::new(),
            moot_runs: 0,
            pending: None,
            fresh: None,
            steps: HashMap::new(),
        }
    }

    /// Starts sampling execution `iteration` of a random or PCT run seeded with `seed`.
    pub(crate) fn reseed(&mut self, seed: u64, iteration: u64) {
        if let Mode::Sample(rng) = &mut self.mode {
            *rng = crate::scheduler::Rng::new(seed ^ 0x5243_3131, iteration);
        }
    }

    /// Whether the search enumerates graphs (and so picks the threads itself).
    pub(crate) fn exploring(&self) -> bool {
        matches!(self.mode, Mode::Explore)
    }

    /// Prepares the next run; `false` when the exhaustive search has nothing left.
    pub(crate) fn begin(&mut self) -> bool {
        self.consumed.clear();
        self.addr_loc.clear();
        self.choices.clear();
        self.moot = false;
        self.blocked = false;
        self.unsupported = None;
        self.msgs.clear();
        self.rel_fence.clear();
        self.acq_pending.clear();
        self.pending = None;
        self.fresh = None;
        self.steps.clear();
        match &mut self.mode {
            Mode::Explore => {
                if !self.started {
                    self.started = true;
                    self.g = Graph::default();
                    return true;
                }
                match self.work.pop() {
                    Some(item) => {
                        self.g = item.g;
                        self.pending = item.revisit.map(|w| (w, item.moot));
                        if item.moot {
                            self.moot_runs += 1;
                        }
                        true
                    }
                    None => false,
                }
            }
            Mode::Replay { next, .. } => {
                *next = 0;
                self.g = Graph::default();
                true
            }
            Mode::Guided(_) => {
                self.g = Graph::default();
                true
            }
            Mode::Sample(_) => {
                self.g = Graph::default();
                true
            }
        }
    }

    /// The graph of the run so far.
    pub(crate) fn graph(&self) -> &Graph {
        &self.g
    }

    fn consumed(&self, t: usize) -> usize {
        self.consumed.get(t).copied().unwrap_or(0) as usize
    }

    fn consume(&mut self, t: usize) {
        if self.consumed.len() <= t {
            self.consumed.resize(t + 1, 0);
        }
        self.consumed[t] += 1;
    }

    /// Whether thread `t` has graph events this run has not executed yet.
    fn replaying(&self, t: usize) -> bool {
        self.g
            .threads
            .get(t)
            .is_some_and(|e| e.len() > self.consumed(t))
    }

    /// Whether thread `t`'s next event in the graph being replayed is a wake-up that no wake
    /// made: the end of a timed wait that timed out.
    pub(crate) fn times_out_next(&self, t: usize) -> bool {
        self.replaying(t) && {
            let ev = &self.g.threads[t][self.consumed(t)];
            ev.kind == Kind::Other && ev.sync.is_none()
        }
    }

    /// The futex calls on `ev`'s word that come before it in modification order. The kernel
    /// takes the calls on a word one at a time, so a replay runs them in that order: a wait
    /// placed before a wake in the graph is queued when the wake looks.
    fn futex_before(&self, e: EvId) -> impl Iterator<Item = EvId> + '_ {
        let mo = &self.g.locs[self.g.ev(e).loc as usize].mo;
        // `pos` counts the initial value as 0: the writes before `e` are the first `pos - 1`.
        mo[..self.g.pos(Some(e)) - 1]
            .iter()
            .copied()
            .filter(|&w| self.g.ev(w).access == Access::Futex)
    }

    /// The exhaustive search's choice of the thread that takes the next step, among `runnable`:
    /// while the graph is replayed, the thread whose next event was added first among those
    /// whose reads-from has run; then the lowest-numbered one. `None` stops the run (moot, or
    /// the program did not do what the graph says).
    pub(crate) fn pick(&mut self, runnable: &[usize]) -> Option<usize> {
        if self.moot || self.unsupported.is_some() {
            return None;
        }
        let pending = (0..self.g.threads.len()).any(|t| self.replaying(t));
        if !pending {
            return runnable.first().copied();
        }
        let mut best: Option<(u32, usize)> = None;
        for &t in runnable {
            if !self.replaying(t) {
                continue;
            }
            let evs = &self.g.threads[t];
            let first = self.consumed(t);
            // Every event of the step must find what it depends on done.
            let ready = evs[first..]
                .iter()
                .enumerate()
                .take_while(|(k, ev)| *k == 0 || !ev.starts_step)
                .all(|(k, ev)| {
                    let done =
                        |d: EvId| d.t as usize == t || self.consumed(d.t as usize) > d.i as usize;
                    [if ev.reads() { ev.rf } else { None }, ev.sync]
                        .into_iter()
                        .flatten()
                        .all(done)
                        && (ev.access != Access::Futex
                            || self.futex_before(EvId::new(t, first + k)).all(done))
                });
            let stamp = evs[first].stamp;
            if ready && best.is_none_or(|(s, _)| stamp < s) {
                best = Some((stamp, t));
            }
        }
        match best {
            Some((_, t)) => Some(t),
            None => {
                self.unsupported = Some(
                    "the program did not repeat what it did in an earlier run with the same \
                     values read (is it deterministic? does a spawned thread spawn threads?)"
                        .into(),
                );
                None
            }
        }
    }

    /// Thread `child` was spawned by `parent`: its events come after `parent`'s so far.
    pub(crate) fn spawned(&mut self, parent: usize, child: usize) {
        self.g.ensure_thread(child);
        let n = self.consumed(parent);
        self.g.parent[child] = n.checked_sub(1).map(|i| EvId::new(parent, i));
    }

    /// Records that the graph and the program disagree.
    fn diverged(&mut self, t: usize, what: &str) {
        if self.unsupported.is_none() {
            self.unsupported = Some(format!(
                "thread {t} {what} where an earlier run with the same values read did something \
                 else: the program is not deterministic given the values its loads return"
            ));
        }
    }

    /// A fence by thread `t` (`starts_step`: the first event of a step, see [`Ev::starts_step`]).
    pub(crate) fn fence(&mut self, t: usize, mo: Mo, starts_step: bool) {
        let i = self.consumed(t);
        if self.replaying(t) {
            if self.g.threads[t][i].kind != Kind::Fence {
                self.diverged(t, "fenced");
            }
        } else {
            self.g.ensure_thread(t);
            let mut ev = other(Kind::Fence, mo, None);
            ev.starts_step = starts_step;
            self.g.push(t, ev);
        }
        self.consume(t);
    }

    /// Another step of thread `t` (a cell access, a join, a wake-up), after `sync` if given.
    pub(crate) fn other(&mut self, t: usize, sync: Option<EvId>) {
        let i = self.consumed(t);
        if self.replaying(t) {
            if self.g.threads[t][i].kind != Kind::Other {
                self.diverged(t, "took a step that is not an atomic access");
            }
        } else {
            self.g.ensure_thread(t);
            let mut ev = other(Kind::Other, Mo::default(), sync);
            ev.starts_step = true;
            self.g.push(t, ev);
        }
        self.consume(t);
    }

    /// Thread `t`'s last event in this run, if any.
    pub(crate) fn last_event(&self, t: usize) -> Option<EvId> {
        self.consumed(t).checked_sub(1).map(|i| EvId::new(t, i))
    }

    /// An atomic access by thread `t` to the atomic at `addr` (holding `memory` now), about to
    /// run: returns its event and, for a read, the value it reads. `starts_step`: see
    /// [`Ev::starts_step`].
    pub(crate) fn access(
        &mut self,
        t: usize,
        addr: usize,
        memory: i128,
        d: Desc,
        starts_step: bool,
    ) -> (EvId, Option<i128>) {
        let i = self.consumed(t);
        if self.replaying(t) {
            let e = EvId::new(t, i);
            let ev = self.g.ev(e).clone();
            let first = !self.addr_loc.contains_key(&addr);
            let loc = *self.addr_loc.entry(addr).or_insert(ev.loc);
            let same = if d.addresses {
                core::mem::discriminant(&ev.access) == core::mem::discriminant(&d.access)
            } else {
                ev.access == d.access
            };
            if loc != ev.loc || !ev.is_access() || !same || ev.starts_step != starts_step {
                self.diverged(t, "made a different atomic access");
            }
            if d.addresses && same {
                // This run's addresses (see `Desc::addresses`): the operands, and the initial
                // value if this is the run's first access (nothing has written the atomic yet).
                // A write's value is taken in `after_access`.
                self.g.ev_mut(e).access = d.access;
                if first {
                    self.g.locs[loc as usize].init = memory;
                }
            }
            self.consume(t);
            let read = ev.reads().then(|| self.g.value(ev.loc, ev.rf));
            return (e, read);
        }
        let loc = match self.addr_loc.get(&addr) {
            Some(&l) => l,
            None => {
                let l = self.g.locs.len() as u32;
                self.g.locs.push(Loc {
                    init: memory,
                    mo: Vec::new(),
                });
                self.addr_loc.insert(addr, l);
                l
            }
        };
        let proto = Ev {
            kind: Kind::Other,
            access: d.access,
            loc,
            rmo: d.rmo,
            wmo: d.wmo,
            rf: None,
            value: 0,
            sync: None,
            stamp: 0,
            added_max: true,
            revisitable: true,
            starts_step,
        };
        self.g.ensure_thread(t);
        let e = EvId::new(t, i);
        self.consume(t);
        if let Access::Store = d.access {
            let mut ev = proto;
            ev.kind = Kind::Write;
            ev.value = d.value;
            self.place_write(e, ev);
            self.fresh = Some(e);
            return (e, None);
        }
        self.add_read(e, proto);
        if self.g.ev(e).writes() {
            self.fresh = Some(e);
        }
        let ev = self.g.ev(e);
        (e, Some(self.g.value(loc, ev.rf)))
    }

    /// A futex wait or wake on the word at `addr` (holding `memory`) by thread `t`, one step:
    /// a SeqCst fence (the kernel's full barrier, Linux's smp_mb() in both calls), then a
    /// relaxed read-modify-write of the word that leaves it as it is and publishes nothing
    /// ([`Access::Futex`]: the kernel does not write the word, so nobody synchronizes with it). The kernel compares the
    /// word and queues the waiter, or looks for waiters, under its lock on the queue: as a
    /// read-modify-write, a wait reads the newest value at its place in the word's modification
    /// order, and a wake after it in that order finds it queued; a store to the word before a
    /// wake in program order comes before the wake in that order, so a wait after the wake sees
    /// it. Returns the read-modify-write's event and the value read.
    pub(crate) fn futex_rmw(&mut self, t: usize, addr: usize, memory: i128) -> (EvId, i128) {
        self.fence(t, Mo::of(std::sync::atomic::Ordering::SeqCst), true);
        let d = Desc {
            access: Access::Futex,
            value: 0,
            rmo: Mo::default(),
            wmo: Mo::default(),
            addresses: false,
        };
        let (e, read) = self.access(t, addr, memory, d, false);
        let v = read.unwrap_or(memory);
        self.after_access(e, Some(v));
        (e, v)
    }

    /// A new store `ev` (event `e`): placed in modification order.
    fn place_write(&mut self, e: EvId, ev: Ev) {
        let t = e.t as usize;
        let loc = ev.loc as usize;
        let mut positions: Vec<Option<EvId>> = vec![None];
        positions.extend(self.g.locs[loc].mo.iter().copied().map(Some));
        let mut ok = Vec::new();
        // Happens-before without the new event, shared by every candidate's check.
        let base = self.g.hb();
        for &after in &positions {
            self.g.push(t, ev.clone());
            self.g.insert_mo(e, after);
            let consistent = match &base {
                Some(base) => self.g.consistent_new(base, e),
                None => self.g.consistent(),
            };
            if consistent {
                ok.push(after);
            }
            self.g.remove_mo(e);
            self.g.threads[t].pop();
            self.g.stamp -= 1;
        }
        let last = *positions.last().expect("the initial value at least");
        let chosen = match &mut self.mode {
            Mode::Explore => {
                let chosen = if ok.contains(&last) {
                    last
                } else {
                    *ok.last().unwrap_or(&last)
                };
                for &after in ok.iter().filter(|&&a| a != chosen) {
                    let mut g = self.g.clone();
                    let mut alt = ev.clone();
                    alt.added_max = false;
                    g.push(t, alt);
                    g.insert_mo(e, after);
                    self.work.push(Item {
                        g,
                        revisit: Some(e),
                        moot: false,
                    });
                }
                chosen
            }
            Mode::Sample(_) | Mode::Replay { .. } => {
                let k = sampled(&mut self.mode, 0, ok.len(), &mut self.choices);
                ok.get(k).copied().unwrap_or(last)
            }
            Mode::Guided(target) => {
                // After the write that comes last before `e` in the target's order, among those
                // made so far.
                let order = target
                    .threads
                    .get(t)
                    .and_then(|evs| evs.get(e.i as usize))
                    .and_then(|ev| target.locs.get(ev.loc as usize))
                    .map(|l| l.mo.clone())
                    .unwrap_or_default();
                let rank = |w: EvId| order.iter().position(|&x| x == w);
                let me = rank(e);
                let want = self.g.locs[loc]
                    .mo
                    .iter()
                    .copied()
                    .filter(|&w| matches!((rank(w), me), (Some(a), Some(b)) if a < b))
                    .max_by_key(|&w| rank(w));
                let k = ok
                    .iter()
                    .position(|&a| a == want)
                    .unwrap_or(ok.len().saturating_sub(1));
                if ok.len() > 1 {
                    self.choices.push(k as u32);
                }
                ok.get(k).copied().unwrap_or(last)
            }
        };
        let mut ev = ev;
        ev.added_max = chosen == last;
        self.g.push(t, ev);
        self.g.insert_mo(e, chosen);
    }

    /// Makes `proto` read from `w` (`None`: the initial value): a read or, if it writes with
    /// that value, a read-modify-write.
    fn instantiate(&self, proto: &Ev, w: Option<EvId>) -> Ev {
        let mut ev = proto.clone();
        ev.rf = w;
        match proto.access {
            Access::Load => ev.kind = Kind::Read,
            Access::Rmw | Access::Futex => ev.kind = Kind::Rmw,
            Access::Cas {
                expected,
                new,
                success,
                failure,
            } => {
                if self.g.value(proto.loc, w) == expected {
                    ev.kind = Kind::Rmw;
                    (ev.rmo, ev.wmo) = success;
                    ev.value = new;
                } else {
                    ev.kind = Kind::Read;
                    ev.rmo = failure;
                    ev.wmo = Mo::default();
                }
            }
            Access::Store => ev.kind = Kind::Write,
        }
        ev
    }

    /// Whether a read-modify-write reading `w` conflicts with another one that reads `w`
    /// and that a later write may still revisit (then reading `w` is explored, moot, for its
    /// revisits); `Err` if it conflicts with one that is settled.
    fn rmw_conflict(&self, e: EvId, w: Option<EvId>, loc: u32) -> Result<bool, ()> {
        let pre = self.g.prefix(e);
        let mut conflict = false;
        for x in self.g.events() {
            let ev = self.g.ev(x);
            if x != e && ev.kind == Kind::Rmw && ev.loc == loc && ev.rf == w {
                let settled = !ev.revisitable || pre.get(x.t as usize).is_some_and(|&n| n > x.i);
                if settled {
                    return Err(());
                }
                conflict = true;
            }
        }
        Ok(conflict)
    }

    /// A new read (or read-modify-write) `proto` as event `e`: reads from a store chosen among
    /// the consistent ones.
    fn add_read(&mut self, e: EvId, proto: Ev) {
        let t = e.t as usize;
        let loc = proto.loc;
        let mut sources: Vec<Option<EvId>> = vec![None];
        sources.extend(self.g.locs[loc as usize].mo.iter().copied().map(Some));
        // (source, moot)
        let mut ok: Vec<(Option<EvId>, bool)> = Vec::new();
        // Happens-before without the new event, shared by every candidate's check.
        let base = self.g.hb();
        for &w in &sources {
            let ev = self.instantiate(&proto, w);
            let rmw = ev.kind == Kind::Rmw;
            self.g.push(t, ev);
            let mut moot = false;
            let mut allowed = true;
            if rmw {
                match self.rmw_conflict(e, w, loc) {
                    Err(()) => allowed = false,
                    Ok(c) => moot = c,
                }
                self.g.insert_mo(e, w);
            }
            if allowed {
                let consistent = match (&base, moot) {
                    (_, true) => self.g.consistent_lax(Some((w, loc, e))),
                    (Some(base), false) => self.g.consistent_new(base, e),
                    (None, false) => self.g.consistent(),
                };
                if consistent {
                    ok.push((w, moot));
                }
            }
            if rmw {
                self.g.remove_mo(e);
            }
            self.g.threads[t].pop();
            self.g.stamp -= 1;
        }
        let newest = *sources.last().expect("the initial value at least");
        let fallback = (newest, false);
        let chosen = match &mut self.mode {
            Mode::Explore => {
                let chosen = ok
                    .iter()
                    .rev()
                    .find(|c| !c.1)
                    .copied()
                    .or_else(|| ok.last().copied())
                    .unwrap_or(fallback);
                for &(w, moot) in ok.iter().filter(|&&c| c != chosen) {
                    let mut g = self.g.clone();
                    let mut ev = self.instantiate(&proto, w);
                    ev.added_max = w == newest;
                    let rmw = ev.kind == Kind::Rmw;
                    g.push(t, ev);
                    if rmw {
                        g.insert_mo(e, w);
                    }
                    self.work.push(Item {
                        g,
                        revisit: rmw.then_some(e),
                        moot,
                    });
                }
                chosen
            }
            Mode::Sample(_) | Mode::Replay { .. } => {
                // Sampling and replays never take a graph that breaks atomicity.
                let plain: Vec<_> = ok.iter().copied().filter(|c| !c.1).collect();
                // The kernel takes the futex calls on a word one at a time, in the order they
                // run: a sampled one reads at or after the newest earlier one in modification
                // order (a wait after a wake that found nobody cannot slip in before it and
                // miss what it published). The exhaustive search reaches those graphs by its
                // revisits, and its replays may still choose the others.
                let mut first = 0;
                if proto.access == Access::Futex {
                    let mo = &self.g.locs[loc as usize].mo;
                    if let Some(k) = mo
                        .iter()
                        .rposition(|&w| self.g.ev(w).access == Access::Futex)
                    {
                        first = plain
                            .iter()
                            .position(|c| self.g.pos(c.0) > k)
                            .unwrap_or(plain.len().saturating_sub(1));
                    }
                }
                let k = sampled(&mut self.mode, first, plain.len(), &mut self.choices);
                plain.get(k).copied().unwrap_or(fallback)
            }
            Mode::Guided(target) => {
                let plain: Vec<_> = ok.iter().copied().filter(|c| !c.1).collect();
                let want = target
                    .threads
                    .get(t)
                    .and_then(|evs| evs.get(e.i as usize))
                    .map(|ev| ev.rf);
                let k = plain
                    .iter()
                    .position(|c| Some(c.0) == want)
                    .unwrap_or(plain.len().saturating_sub(1));
                if plain.len() > 1 {
                    self.choices.push(k as u32);
                }
                plain.get(k).copied().unwrap_or(fallback)
            }
        };
        let mut ev = self.instantiate(&proto, chosen.0);
        ev.added_max = chosen.0 == newest;
        let rmw = ev.kind == Kind::Rmw;
        self.g.push(t, ev);
        if rmw {
            self.g.insert_mo(e, chosen.0);
        }
    }

    /// The access `e` ran; `written` is the value its write part left in the atomic. Makes the
    /// backward revisits of a new write; returns the value the atomic should hold now (the
    /// newest in modification order).
    pub(crate) fn after_access(&mut self, e: EvId, written: Option<i128>) -> i128 {
        if let Some(v) = written
            && self.g.ev(e).writes()
        {
            self.g.ev_mut(e).value = v;
        }
        if self.exploring() {
            if self.fresh.take() == Some(e) {
                self.revisits(e);
            }
            if let Some((w, moot)) = self.pending
                && w == e
            {
                self.pending = None;
                self.revisits(e);
                if moot {
                    // The graph breaks atomicity: its revisits were all it was run for.
                    self.moot = true;
                }
            }
        }
        let loc = self.g.ev(e).loc;
        self.g.value(loc, self.g.co_max(loc))
    }

    /// Pushes the backward revisits of write `w`: each earlier read of its location that `w`
    /// does not depend on, made to read from `w`, if the revisit is maximal.
    fn revisits(&mut self, w: EvId) {
        let loc = self.g.ev(w).loc;
        let pw = self.g.prefix(w);
        let in_pw = |e: EvId| pw.get(e.t as usize).is_some_and(|&n| n > e.i);
        // A read-modify-write that breaks atomicity revisits only reads added up to the one it
        // conflicts with.
        let limit = if self.g.ev(w).kind == Kind::Rmw {
            let rf = self.g.ev(w).rf;
            self.g
                .events()
                .filter(|&x| {
                    x != w && {
                        let ev = self.g.ev(x);
                        ev.kind == Kind::Rmw && ev.loc == loc && ev.rf == rf
                    }
                })
                .map(|x| self.g.ev(x).stamp)
                .min()
        } else {
            None
        };
        let reads: Vec<EvId> = self
            .g
            .events()
            .filter(|&r| {
                let ev = self.g.ev(r);
                r != w
                    && ev.reads()
                    && ev.loc == loc
                    && ev.revisitable
                    && !in_pw(r)
                    && limit.is_none_or(|s| ev.stamp <= s)
            })
            .collect();
        for r in reads {
            let rs = self.g.ev(r).stamp;
            let keep: Vec<u32> = self
                .g
                .threads
                .iter()
                .enumerate()
                .map(|(t, evs)| {
                    let before = evs.iter().take_while(|ev| ev.stamp <= rs).count() as u32;
                    before.max(pw.get(t).copied().unwrap_or(0))
                })
                .collect();
            if !self.maximal(r, w, &keep) {
                continue;
            }
            let mut g = self.g.clone();
            g.restrict(&keep);
            let old = g.ev(r).clone();
            if old.kind == Kind::Rmw {
                g.remove_mo(r);
            }
            let mut ev = {
                // `instantiate` reads values from `self.g`, which has `w`'s.
                self.instantiate(&old, Some(w))
            };
            ev.stamp = old.stamp;
            ev.revisitable = old.revisitable;
            let rmw = ev.kind == Kind::Rmw;
            *g.ev_mut(r) = ev;
            if rmw {
                g.insert_mo(r, Some(w));
            }
            let newest = g.locs[loc as usize]
                .mo
                .iter()
                .rev()
                .find(|&&x| x != r)
                .copied();
            g.ev_mut(r).added_max = newest == Some(w);
            for (t, &n) in pw.iter().enumerate() {
                for i in 0..n as usize {
                    if let Some(ev) = g.threads.get_mut(t).and_then(|evs| evs.get_mut(i)) {
                        ev.revisitable = false;
                    }
                }
            }
            if g.consistent() {
                self.work.push(Item {
                    g,
                    revisit: rmw.then_some(r),
                    moot: false,
                });
            }
        }
    }

    /// Whether revisiting read `r` from write `w`, keeping `keep` of each thread, removes only
    /// events that were added maximally (TruSt's condition that makes every graph reached once).
    fn maximal(&self, r: EvId, w: EvId, keep: &[u32]) -> bool {
        let g = &self.g;
        let in_v = |e: EvId| keep.get(e.t as usize).is_some_and(|&n| n > e.i);
        let loc = g.ev(w).loc as usize;
        if g.ev(w).kind != Kind::Rmw {
            // The write's successor in modification order must stay.
            let p = g.pos(Some(w));
            if let Some(&s) = g.locs[loc].mo.get(p)
                && !in_v(s)
            {
                return false;
            }
        }
        for e in g.events() {
            if in_v(e) && e != r {
                continue;
            }
            let ev = g.ev(e);
            if !ev.added_max {
                return false;
            }
            if ev.is_access() {
                // What it read, and what it wrote, must be newest among what stays (but `w`).
                let mut sources = [None, None];
                if ev.reads() {
                    sources[0] = Some(ev.rf);
                }
                if ev.writes() {
                    sources[1] = Some(Some(e));
                }
                for x in sources.into_iter().flatten() {
                    let p = g.pos(x);
                    let later = &g.locs[ev.loc as usize].mo[p..];
                    if later.iter().any(|&s| s != w && s != e && in_v(s)) {
                        return false;
                    }
                }
            }
            if ev.reads()
                && let Some(src) = ev.rf
                && !in_v(src)
                && g.ev(src).stamp > ev.stamp
            {
                return false;
            }
        }
        true
    }

    /// Forgets the atomic at `addr` (dropped; the address may be reused by another).
    pub(crate) fn forget(&mut self, addr: usize) {
        self.addr_loc.remove(&addr);
    }

    // --- Happens-before for the race detector on cells (the runtime's vector clocks).

    fn thread_state(&mut self, t: usize) {
        while self.rel_fence.len() <= t {
            self.rel_fence.push(None);
            self.acq_pending.push(VectorClock::default());
        }
    }

    /// Synchronization of access `e` by thread `t` whose clock is `clock` (before its tick):
    /// an acquire read joins what its store published; a write publishes.
    pub(crate) fn sync_access(&mut self, t: usize, e: EvId, clock: &mut VectorClock) {
        self.thread_state(t);
        let ev = self.g.ev(e).clone();
        if ev.reads()
            && let Some(w) = ev.rf
            && let Some(m) = self.msgs.get(&w)
        {
            if ev.rmo.acq {
                clock.join(m);
            } else {
                self.acq_pending[t].join(m);
            }
        }
        if ev.writes() {
            let mut m = if ev.access == Access::Futex {
                None
            } else if ev.wmo.rel {
                Some(clock.clone())
            } else {
                self.rel_fence[t].clone()
            };
            if ev.kind == Kind::Rmw
                && let Some(w) = ev.rf
                && let Some(prev) = self.msgs.get(&w)
            {
                match &mut m {
                    Some(m) => m.join(prev),
                    None => m = Some(prev.clone()),
                }
            }
            match m {
                Some(m) => {
                    self.msgs.insert(e, m);
                }
                None => {
                    self.msgs.remove(&e);
                }
            }
        }
    }

    /// Synchronization of a fence by thread `t`.
    pub(crate) fn sync_fence(&mut self, t: usize, mo: Mo, clock: &mut VectorClock) {
        self.thread_state(t);
        if mo.acq {
            let p = self.acq_pending[t].clone();
            clock.join(&p);
        }
        if mo.rel {
            self.rel_fence[t] = Some(clock.clone());
        }
    }

    /// Notes that access `e` ran at step `step` (for explanations).
    pub(crate) fn note_step(&mut self, e: EvId, step: usize) {
        self.steps.insert(e, step);
    }

    /// If access `e` read a store older than the newest one run so far, the explanation of
    /// that stale read.
    pub(crate) fn explain_read(&self, e: EvId) -> Option<crate::rt::trace::Op> {
        let ev = self.g.ev(e);
        if !ev.reads() {
            return None;
        }
        let p = self.g.pos(ev.rf);
        let step = |w: &EvId| self.steps.get(w).map(|&s| (w.t as usize, s));
        let newer: Vec<(usize, usize)> = self.g.locs[ev.loc as usize].mo[p..]
            .iter()
            .filter(|&&w| w != e)
            .filter_map(step)
            .collect();
        if newer.is_empty() {
            return None;
        }
        Some(crate::rt::trace::Op::StaleRead {
            from: ev.rf.as_ref().and_then(step),
            newer,
        })
    }
}

/// The index a sampling or replaying run takes among `n` allowed candidates: random from
/// `first` on, or the next recorded choice. A choice among more than one is recorded in
/// `choices`.
fn sampled(mode: &mut Mode, first: usize, n: usize, choices: &mut Vec<u32>) -> usize {
    if n <= 1 {
        return 0;
    }
    let k = match mode {
        Mode::Sample(rng) => {
            let first = first.min(n - 1);
            first + rng.below(n - first)
        }
        Mode::Replay { choices, next } => {
            let k = choices.get(*next).copied().unwrap_or(0) as usize;
            *next += 1;
            k.min(n - 1)
        }
        Mode::Explore | Mode::Guided(_) => unreachable!("only sampling and replays draw choices"),
    };
    choices.push(k as u32);
    k
}

fn other(kind: Kind, mo: Mo, sync: Option<EvId>) -> Ev {
    Ev {
        kind,
        access: Access::Store,
        loc: u32::MAX,
        rmo: mo,
        wmo: Mo::default(),
        rf: None,
        value: 0,
        sync,
        stamp: 0,
        added_max: true,
        revisitable: false,
        starts_step: false,
    }
}
