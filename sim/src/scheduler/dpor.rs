//! Optimal dynamic partial-order reduction: every Mazurkiewicz trace of the program exactly
//! once, none twice, none abandoned (Abdulla, Aronis, Jonsson, Sagonas, "Optimal Dynamic
//! Partial Order Reduction", POPL 2014, and "Source Sets: A Foundation for Optimal Dynamic
//! Partial Order Reduction", JACM 2017: source sets with wake-up trees).
//!
//! The search is stateless: each execution re-runs the program from the start, following the
//! choices on the stack and then extending it. At each step the engine records the step's
//! happens-before clock: its thread's previous step, the step that made it possible (the
//! parent's step that spawned the thread, the wake, the step a joined thread finished in, the
//! unlock a lock waited for, everything so far for a timeout), and every earlier step of
//! another thread that it does not commute with (see [`Footprint::conflicts`]). Two steps race
//! when they conflict and nothing else orders them. For each race `e ... e'` found in a new part
//! of the execution, the sequence `v` = the steps between them that do not happen after `e`,
//! then `e'`, is a way to run `e'` before `e`: it is inserted into the wake-up tree of the state
//! before `e` unless a sleeping thread or an existing branch already covers it (weak initials).
//! After a choice's subtree is explored the choice goes to sleep at its node, so a later branch
//! never repeats it.
//!
//! Everything the simulator models takes part with its true dependencies: atomics and shared
//! cells (two accesses conflict only if one writes; a store is a write even of the same value,
//! a failed compare-and-swap a read), futex waits and wakes (a sleeping wait reads the word and
//! joins its queue; a wake changes the queue only if somebody waits), the modelled mutex
//! (acquisitions conflict with each other and with failed `try_lock`s; an unlock orders the
//! next acquisition without conflicting with it), spawn and join (they order, never conflict).
//! With explored timeouts a timed wait's resumption touches the futex queue: it races with the
//! wake that ended it, so the search also runs it as a timeout before that wake (as for a lock,
//! the wake is the other side of the race, not an order). A thread resumed from a spin hint by
//! another thread's write is never run: the spin iteration changed nothing, and the order in
//! which the spinner reads after that write is explored as a race of its read. An execution in
//! which only such threads could go on ends there and is counted as abandoned.
//!
//! The wake-up trees and sleep sets keep footprints across executions, while the runtime numbers
//! objects in the order each execution first meets them (which depends on the schedule): the
//! search compares them under names of its own, given after the thread steps that touch the
//! objects (see [`Names::name`]).
//!
//! One departure from the papers' insertion: a leaf of a wake-up tree reached with steps of the
//! inserted sequence left is extended by them (see [`insert`]). The litmus tests of GenMC's
//! suite (`sim/tests/litmus.rs`) and a brute-force model (`sim/tests/dpor_model.rs`) check the
//! counts: every execution once, none missed.
//!
//! x86-TSO (weak memory): the flushes of thread `t`'s store buffer are the steps of a
//! pseudo-thread `FLUSH + t` (with its own entry in the clocks, see [`slot`]); a flush
//! depends on the store it commits, or on the flush it waited for (see `rt::Buffered::cause`),
//! and writes the location; a drain depends on the flush of its thread's newest store. A
//! membarrier (taken once every buffer is empty) writes a pseudo-location that every store going
//! into a buffer reads (see `rt::BUFFERS`), so it races with those stores in either order; it
//! depends on every flush before it (`rt::FLUSHES`), but as with a lock's unlock its races are
//! sought without them, and one with an earlier step `e` is run the other way round only if no
//! flush it waits for happens after `e` while the store it commits does not (see
//! [`Dpor::needs_flush_after`]: that flush would have to run first, and the reversal is found
//! from the execution that runs it before `e`). A step
//! may also make choices (where a buffered store goes in the commit order of its atomic, see
//! `Scheduler::choose`): every combination runs at the step's node before its thread goes to
//! sleep there, and a wake-up tree branch starts its step with the choice it was found with
//! (branches of one step that differ in it are distinct). This is sound and complete (checked
//! against a brute-force TSO machine, `sim/tests/tso_model.rs`) but not optimal: an outcome may
//! run more than once, and a few executions end with only a sleeping flush left (abandoned).

use super::{Footprint, Scheduler};
use crate::rt::clock::VectorClock;
use crate::rt::{ALL, BUFFERS, FLUSH, FLUSHES, Kind, NO_CAUSE};

/// No event.
const NONE: u32 = u32::MAX;

/// A branch of a wake-up tree: the step `thread` takes there (its footprint as last seen), and
/// the branches after it.
#[derive(Debug)]
struct Branch {
    thread: usize,
    fp: Footprint,
    /// The way the step went on in the execution the branch comes from (see
    /// `Scheduler::choose`; [`NONE`]: none recorded): the step starts with it there.
    choice: u32,
    children: Vec<Branch>,
}

/// The state before one step of the current execution.
#[derive(Debug)]
struct Node {
    /// The thread taking the step in the current execution, and what the step touches.
    thread: usize,
    fp: Footprint,
    /// Threads whose next step here is already covered (with that step's footprint): the
    /// choices explored before the current one, and those asleep on arrival.
    sleep: Vec<(usize, Footprint)>,
    /// The branches still to explore here, in order (the wake-up tree minus the current branch).
    wut: Vec<Branch>,
    /// The rest of the current branch: the next node's wake-up tree, once it is reached.
    sub: Vec<Branch>,
    /// Choices explored here before the current one.
    done: usize,
    /// The choices made within the step here (see `Scheduler::choose`): `(taken, of, first)`.
    /// Every combination runs before the step's thread goes to sleep here, from the one the
    /// branch came with on (see [`Branch::choice`]).
    choices: Vec<(usize, usize, usize)>,
    /// The first choice the step starts with ([`NONE`]: the natural one).
    preset: u32,
}

/// The nodes of the current execution (the slice it derefs to), and beyond them nodes popped
/// off earlier, kept in place for their allocations (a node is large: pushing and popping move
/// none).
#[derive(Debug, Default)]
struct Stack {
    nodes: Vec<Node>,
    len: usize,
}

impl Stack {
    /// Pushes a node with empty lists (its other fields are left for the caller to set).
    fn push_free(&mut self) -> &mut Node {
        if self.len == self.nodes.len() {
            self.nodes.push(Node {
                thread: 0,
                fp: Footprint::Local,
                sleep: Vec::new(),
                wut: Vec::new(),
                sub: Vec::new(),
                done: 0,
                choices: Vec::new(),
                preset: NONE,
            });
        }
        self.len += 1;
        &mut self.nodes[self.len - 1]
    }

    /// Pops the last node, emptying its lists.
    fn pop_free(&mut self) {
        if let Some(n) = self.len.checked_sub(1) {
            let node = &mut self.nodes[n];
            node.sleep.clear();
            node.wut.clear();
            node.sub.clear();
            node.choices.clear();
            self.len = n;
        }
    }
}

impl std::ops::Deref for Stack {
    type Target = [Node];

    fn deref(&self) -> &[Node] {
        &self.nodes[..self.len]
    }
}

impl std::ops::DerefMut for Stack {
    fn deref_mut(&mut self) -> &mut [Node] {
        &mut self.nodes[..self.len]
    }
}

/// One step of the current execution, for happens-before.
#[derive(Debug, Default)]
struct Step {
    thread: usize,
    fp: Footprint,
    /// The step's vector clock: entry `t` counts thread `t`'s steps that happen before it (or
    /// are it).
    clock: VectorClock,
    /// For a flush: the step that made the store it commits ([`NONE`] for other steps).
    store: u32,
}

/// What earlier steps a new step of a location conflicts with.
#[derive(Debug, Default)]
struct Loc {
    /// The last step that changed it (a write, a lock or an unlock).
    last_write: Option<u32>,
    /// The last lock (for a modelled mutex).
    last_lock: Option<u32>,
    /// Reads since the last change.
    reads: Vec<u32>,
}

/// The optimal exhaustive search (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Dpor {
    stack: Stack,
    /// The next step's index in the current execution.
    depth: usize,
    /// The next choice within the current step.
    choice: usize,
    /// The first node of the current execution that is not a replay of the previous one: races
    /// are sought from its step on (earlier ones were, when those steps first ran).
    branch: usize,
    steps: Vec<Step>,
    /// Each thread's last step in the current execution.
    last: Vec<u32>,
    /// The locations' state: location `l` at `l + 1`, the pseudo-location [`BUFFERS`] (weak
    /// memory: store buffers and membarriers) at 0.
    locs: Vec<Loc>,
    /// Per thread (weak memory): the steps of its buffered stores so far, in order, and how many
    /// of them its flushes have committed.
    stores: Vec<(Vec<u32>, usize)>,
    /// Scratch: the steps the current one conflicts with.
    cands: Vec<u32>,
    /// Scratch: the sequence a race inserts, and the choices its steps made.
    seq: Vec<(usize, Footprint)>,
    seq_choices: Vec<u32>,
    /// Scratch: a lock's or a timed wait's clock before its cause.
    before_cause: VectorClock,
    /// The objects' names across executions (see [`Names::name`]); boxed, as they are touched
    /// once per step only (the scheduler enum stays small).
    names: Box<Names>,
    /// Why the search stopped: the program did not repeat an earlier execution's prefix.
    diverged: Option<String>,
    /// Whether every trace has been explored.
    pub(crate) exhausted: bool,
}

impl Dpor {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// An estimate of the number of executions in the whole search, from the shape of the tree
    /// seen so far (each choice taken as an equal share of its node), given `done` so far.
    pub(crate) fn estimate(&self, done: usize) -> Option<usize> {
        let mut share = 1.0f64;
        let mut covered = 0.0f64;
        for n in self.stack.iter() {
            let width = (n.done + 1 + n.wut.len()) as f64;
            covered += share * n.done as f64 / width;
            share /= width;
        }
        covered += share;
        (covered > 0.0).then(|| ((done as f64 / covered).ceil() as usize).max(done))
    }

    /// Records step `j`: thread `t` with footprint `fp`, made possible by step `cause`; seeks
    /// its races if `detect`.
    fn record(&mut self, j: usize, t: usize, fp: Footprint, cause: u32, detect: bool) {
        if self.steps.len() <= j {
            self.steps.push(Step::default());
        }
        let k = slot(t);
        if self.last.len() <= k {
            self.last.resize(k + 1, NONE);
        }
        // The store a flush commits: its thread's oldest one not yet committed.
        let mut store = NONE;
        match fp {
            Footprint::Buffer { .. } => {
                if self.stores.len() <= t {
                    self.stores.resize_with(t + 1, Default::default);
                }
                self.stores[t].0.push(j as u32);
            }
            Footprint::Flush { .. } => {
                if let Some((list, done)) = self.stores.get_mut(t - FLUSH) {
                    store = list.get(*done).copied().unwrap_or(NONE);
                    *done += 1;
                }
            }
            _ => {}
        }
        if !detect {
            // A replayed step of the previous execution's prefix: its clock is still the one
            // stored; only the locations' state is rebuilt.
            debug_assert_eq!((self.steps[j].thread, self.steps[j].fp), (t, fp));
            self.track(j, fp, None);
            self.last[k] = j as u32;
            return;
        }
        let mut clock = std::mem::take(&mut self.steps[j].clock);
        clock.clear();
        if self.last[k] != NONE {
            clock.assign(&self.steps[self.last[k] as usize].clock);
        }
        // A lock's unlock, or a timed wait's wake, is the other side of a conflict the step
        // races with, not an order: races are sought without it. So are the flushes a
        // membarrier waited for: they follow the buffered stores it races with.
        let mut before_cause = std::mem::take(&mut self.before_cause);
        let cause_races = matches!(
            fp,
            Footprint::Lock { .. } | Footprint::Resume { .. } | Footprint::Membarrier
        );
        if cause_races {
            before_cause.assign(&clock);
        }
        match cause {
            NO_CAUSE => {}
            ALL => {
                for &l in &self.last {
                    if l != NONE {
                        clock.join(&self.steps[l as usize].clock);
                    }
                }
            }
            FLUSHES => {
                for &l in &self.last {
                    if l != NONE && self.steps[l as usize].thread >= FLUSH {
                        clock.join(&self.steps[l as usize].clock);
                    }
                }
            }
            c => clock.join(&self.steps[c as usize].clock),
        }
        // The earlier steps it conflicts with, and the locations' new state.
        let mut cands = std::mem::take(&mut self.cands);
        cands.clear();
        self.track(j, fp, Some(&mut cands));
        cands.retain(|&c| self.steps[c as usize].thread != t);
        if detect && !cands.is_empty() {
            // A race with `c`: nothing but the conflict orders them (for a lock, the unlock that
            // let it go is part of the conflict, not another order).
            let base = if cause_races { &before_cause } else { &clock };
            for (x, &c) in cands.iter().enumerate() {
                let ct = slot(self.steps[c as usize].thread);
                let ci = self.steps[c as usize].clock.get(ct);
                if base.get(ct) >= ci {
                    continue;
                }
                if fp == Footprint::Membarrier && self.needs_flush_after(j, ct, ci) {
                    // It cannot run before `c`: a flush it waits for comes after `c`.
                    continue;
                }
                let ordered = cands
                    .iter()
                    .enumerate()
                    .any(|(y, &d)| y != x && d != c && self.steps[d as usize].clock.get(ct) >= ci);
                if !ordered {
                    self.race(c as usize, j, t, fp);
                }
            }
        }
        for &c in &cands {
            clock.join(&self.steps[c as usize].clock);
        }
        clock.tick(k);
        self.cands = cands;
        self.before_cause = before_cause;
        let step = &mut self.steps[j];
        step.thread = t;
        step.fp = fp;
        step.clock = clock;
        step.store = store;
        self.last[k] = j as u32;
    }

    /// Whether a membarrier at step `j` waits for a flush (before it) that happens after the
    /// step numbered `ci` of clock entry `ct` although the store it commits does not: the flush
    /// must run before the membarrier whenever that store does, so the membarrier cannot be
    /// run before that step with only the steps that do not happen after it. (A flush of a
    /// store that happens after that step is not needed then: the store does not run either.)
    fn needs_flush_after(&self, j: usize, ct: usize, ci: u32) -> bool {
        self.steps[..j].iter().any(|f| {
            f.thread >= FLUSH
                && f.clock.get(ct) >= ci
                && (f.store == NONE || self.steps[f.store as usize].clock.get(ct) < ci)
        })
    }

    /// Updates the state of the locations step `j` uses; collects into `cands` the earlier
    /// steps it conflicts with.
    fn track(&mut self, j: usize, fp: Footprint, mut cands: Option<&mut Vec<u32>>) {
        let (acc, n) = fp.accesses();
        for &(l, kind) in &acc[..n] {
            let l = if l == BUFFERS { 0 } else { l + 1 };
            if self.locs.len() <= l {
                self.locs.resize_with(l + 1, Loc::default);
            }
            let loc = &mut self.locs[l];
            let j = j as u32;
            if let Some(c) = cands.as_deref_mut() {
                match kind {
                    Kind::Read => c.extend(loc.last_write),
                    Kind::Write => {
                        c.extend(loc.last_write);
                        c.extend_from_slice(&loc.reads);
                    }
                    Kind::Lock => {
                        c.extend(loc.last_lock);
                        c.extend_from_slice(&loc.reads);
                    }
                    Kind::Unlock => c.extend_from_slice(&loc.reads),
                }
            }
            match kind {
                Kind::Read => loc.reads.push(j),
                Kind::Write | Kind::Unlock => {
                    loc.reads.clear();
                    loc.last_write = Some(j);
                }
                Kind::Lock => {
                    loc.reads.clear();
                    loc.last_write = Some(j);
                    loc.last_lock = Some(j);
                }
            }
        }
    }

    /// Step `i` races with step `j` (thread `t`, footprint `fp`, being recorded): schedules
    /// `j` before `i` at node `i` unless that is covered already.
    fn race(&mut self, i: usize, j: usize, t: usize, fp: Footprint) {
        let it = slot(self.steps[i].thread);
        let ic = self.steps[i].clock.get(it);
        let mut v = std::mem::take(&mut self.seq);
        let mut c = std::mem::take(&mut self.seq_choices);
        v.clear();
        c.clear();
        for k in i + 1..j {
            let s = &self.steps[k];
            if s.clock.get(it) < ic {
                v.push((s.thread, s.fp));
                c.push(self.stack[k].choices.first().map_or(NONE, |x| x.0 as u32));
            }
        }
        v.push((t, fp));
        c.push(NONE);
        let node = &mut self.stack[i];
        if !node.sleep.iter().any(|&(q, fq)| weak_initial(&v, q, fq)) {
            insert(&mut node.wut, &mut v, &mut c);
        }
        self.seq = v;
        self.seq_choices = c;
    }
}

/// The objects' names across executions (see [`Names::name`]).
#[derive(Debug, Default)]
struct Names {
    /// Per thread (clock entry).
    slots: Vec<Slot>,
    /// Per object number, the name the first object with that number had.
    by_number: Vec<u32>,
    /// Per object number of the current execution, its name ([`NONE`]: not met yet).
    ids: Vec<u32>,
    /// Per name, whether an object of the current execution has it.
    used: Vec<bool>,
    /// The next new name.
    next_name: u32,
}

/// A thread's part of [`Names`].
#[derive(Debug, Default)]
struct Slot {
    /// Its steps so far in the current execution.
    count: u32,
    /// Per step number: the name of the object the step touched when it first ran, and whether
    /// it touched an object of that name every time since.
    by_step: Vec<(u32, bool)>,
}

impl Names {
    /// Forgets the current execution's objects (the tables stay).
    fn begin(&mut self) {
        self.ids.clear();
        self.used.clear();
        for slot in &mut self.slots {
            slot.count = 0;
        }
    }

    /// Footprint `fp` of thread `t`'s next step with its object under its name across
    /// executions.
    ///
    /// The runtime numbers objects in the order an execution first meets them, which depends on
    /// the schedule: two mutexes first taken in one order in one execution and in the other
    /// order in the next swap numbers. The wake-up trees and sleep sets keep footprints from
    /// earlier executions, so the search names objects itself. An object first met in a
    /// thread's `n`th step is named after that step if the step touched the same object (by
    /// name) every time it ran before (a thread's code is deterministic: its `n`th step touches
    /// another object only after other reads); otherwise it gets the name the first object of
    /// its number had, or a new name if another object of this execution has that one. Names
    /// are one to one within an execution.
    ///
    /// `replayed`: the footprint the step had in the previous execution, for a step of its
    /// prefix: the object keeps the name it had there (the tables may have changed since, and
    /// the names of the prefix must not).
    #[inline(always)]
    fn name(&mut self, t: usize, fp: Footprint, replayed: Option<Footprint>) -> Footprint {
        let k = slot(t);
        if self.slots.len() <= k {
            self.slots.resize_with(k + 1, Slot::default);
        }
        let slot = &mut self.slots[k];
        let n = slot.count as usize;
        slot.count += 1;
        let Some(obj) = fp.object() else {
            return fp;
        };
        if let Some(name) = replayed.and_then(|r| r.object()) {
            self.set(obj, name as u32);
            return fp.renamed(name);
        }
        // Most often the object is named already and the step has run before.
        let name = self.ids.get(obj).copied().unwrap_or(NONE);
        if name != NONE
            && let Some((first, same)) = self.slots[k].by_step.get_mut(n)
            && *first != NONE
        {
            *same &= *first == name;
            return fp.renamed(name as usize);
        }
        self.name_new(k, n, obj, fp)
    }

    /// [`Names::name`] for a step run anew: its object `obj` is named (if this execution has not
    /// yet) and the step's entry updated.
    #[inline(never)]
    fn name_new(&mut self, k: usize, n: usize, obj: usize, fp: Footprint) -> Footprint {
        let by_step = &mut self.slots[k].by_step;
        if by_step.len() <= n {
            by_step.resize(n + 1, (NONE, true));
        }
        let mut name = self.ids.get(obj).copied().unwrap_or(NONE);
        if name == NONE {
            let used = &self.used;
            let free = |n: u32| n != NONE && !used.get(n as usize).copied().unwrap_or(false);
            name = match by_step[n] {
                (n, true) => n,
                _ => NONE,
            };
            if !free(name) {
                name = self.by_number.get(obj).copied().unwrap_or(NONE);
            }
            if !free(name) {
                name = self.next_name;
                self.next_name += 1;
            }
            if self.by_number.len() <= obj {
                self.by_number.resize(obj + 1, NONE);
            }
            if self.by_number[obj] == NONE {
                self.by_number[obj] = name;
            }
            self.set(obj, name);
        }
        let (first, same) = &mut self.slots[k].by_step[n];
        if *first == NONE {
            *first = name;
        } else {
            *same &= *first == name;
        }
        fp.renamed(name as usize)
    }

    /// Object `obj` of the current execution has `name`.
    #[inline(always)]
    fn set(&mut self, obj: usize, name: u32) {
        if self.ids.len() <= obj {
            self.ids.resize(obj + 1, NONE);
        }
        self.ids[obj] = name;
        let i = name as usize;
        if self.used.len() <= i {
            self.used.resize(i + 1, false);
        }
        self.used[i] = true;
    }
}

/// The index of thread (or flush pseudo-thread, see [`FLUSH`]) `t` in the clocks, dense for
/// the first 64 of each: thread `t` at `t`, the flushes of thread `i` at `64 + i` (so the clocks
/// of a run without weak memory are as short as they can be); beyond those, threads at even
/// entries from 128 and flushes at odd ones.
#[inline]
fn slot(t: usize) -> usize {
    match t.checked_sub(FLUSH) {
        None if t < 64 => t,
        None => 2 * t,
        Some(i) if i < 64 => 64 + i,
        Some(i) => 2 * i + 1,
    }
}

/// Advances `choices` to the next combination (the last choice first, each from its first way
/// round to the one before it); `false` when every combination has been taken.
fn next_choices(choices: &mut Vec<(usize, usize, usize)>) -> bool {
    while let Some(last) = choices.last_mut() {
        let next = (last.0 + 1) % last.1;
        if next != last.2 {
            last.0 = next;
            return true;
        }
        choices.pop();
    }
    false
}

/// Whether thread `q`, whose next step has footprint `fq`, can start a sequence equivalent to
/// `v` extended somehow: its first step in `v` depends on no earlier step of `v`, or it has none
/// in `v` and its step commutes with all of `v`.
fn weak_initial(v: &[(usize, Footprint)], q: usize, fq: Footprint) -> bool {
    match v.iter().position(|e| e.0 == q) {
        Some(k) => v[..k].iter().all(|e| !e.1.conflicts(e.0, v[k].1, q)),
        None => v.iter().all(|e| !e.1.conflicts(e.0, fq, q)),
    }
}

/// Inserts sequence `v` into the wake-up tree `forest`, unless a branch already covers it.
///
/// The walk follows, at each level, the first branch whose thread is a weak initial of what is
/// left of `v` (removing that thread's step from `v`), and adds the rest as a new branch where
/// none is. A leaf reached with steps of `v` left is extended by them: the exploration below
/// a leaf starts with the sleep set of its node, which may hold a thread that is a weak initial
/// of the rest's first race reversal but not of the rest itself (a read asleep there, and a
/// write in the rest that it must follow), so the rest is spelt out rather than left to races.
///
/// `choices` holds the way each step of `v` went on (see [`Branch::choice`]).
fn insert(mut forest: &mut Vec<Branch>, v: &mut Vec<(usize, Footprint)>, choices: &mut Vec<u32>) {
    loop {
        // A branch of the same thread's step going on another way is another branch.
        let same_way = |b: &Branch| {
            let way = |c: u32| if c == NONE { 0 } else { c };
            v.iter()
                .position(|e| e.0 == b.thread)
                .is_none_or(|k| way(choices[k]) == way(b.choice))
        };
        let Some(x) = forest
            .iter()
            .position(|b| weak_initial(v, b.thread, b.fp) && same_way(b))
        else {
            let mut chain = Vec::new();
            for (&(thread, fp), &choice) in v.iter().zip(choices.iter()).rev() {
                chain = vec![Branch {
                    thread,
                    fp,
                    choice,
                    children: chain,
                }];
            }
            forest.extend(chain);
            return;
        };
        let b = &mut forest[x];
        if let Some(k) = v.iter().position(|e| e.0 == b.thread) {
            v.remove(k);
            choices.remove(k);
        }
        if v.is_empty() {
            return;
        }
        forest = &mut b.children;
    }
}

impl Dpor {
    /// Step `j` of the previous execution's prefix, by thread `t`, went otherwise in this one
    /// (`(before, now)`: its footprints; `None`: `t` could not take it).
    #[cold]
    fn diverged(&mut self, j: usize, t: usize, footprints: Option<(Footprint, Footprint)>) {
        let what = match footprints {
            Some((before, now)) => format!("did {now:?} where it did {before:?}"),
            None => "could not run where it ran".to_owned(),
        };
        self.diverged.get_or_insert(format!(
            "the program did not repeat itself: at step {j} thread {t} {what} in an earlier \
             execution with the same schedule. The exhaustive search needs every execution to \
             start from the same state: state that outlives an execution (a static `OnceLock`, \
             `LazyLock`, `Once` or `Mutex` of the std mirror or of lockstep's types, std's own \
             atomics, a `HashMap`'s random order, real time) must be made inside the closure \
             or reset at its start"
        ));
    }
}

impl Scheduler for Dpor {
    fn diverged(&self) -> Option<String> {
        self.diverged.clone()
    }

    fn begin(&mut self, iteration: usize) -> bool {
        self.depth = 0;
        self.last.clear();
        self.names.begin();
        for l in &mut self.locs {
            l.last_write = None;
            l.last_lock = None;
            l.reads.clear();
        }
        for (list, done) in &mut self.stores {
            list.clear();
            *done = 0;
        }
        if iteration == 0 {
            self.branch = 0;
            return true;
        }
        while let Some(top) = self.stack.last_mut() {
            if next_choices(&mut top.choices) {
                // The same step again, going on another way: what follows is explored anew.
                top.sub.clear();
                self.branch = self.stack.len() - 1;
                return true;
            }
            top.sleep.push((top.thread, top.fp));
            top.done += 1;
            if !top.wut.is_empty() {
                let b = top.wut.remove(0);
                top.thread = b.thread;
                top.fp = b.fp;
                top.preset = b.choice;
                top.sub = b.children;
                self.branch = self.stack.len() - 1;
                return true;
            }
            self.stack.pop_free();
        }
        self.exhausted = true;
        false
    }

    fn needs_footprints(&self) -> bool {
        true
    }

    fn exact(&self) -> bool {
        true
    }

    #[inline]
    fn planned(&self) -> Option<usize> {
        // Asked at every park: straight from the nodes, without the slice.
        let s = &self.stack;
        (self.depth < s.len).then(|| s.nodes[self.depth].thread)
    }

    fn pick(
        &mut self,
        runnable: &[usize],
        prev: Option<usize>,
        next: &[Footprint],
        causes: &[u32],
    ) -> Option<usize> {
        let j = self.depth;
        self.choice = 0;
        // The step's footprint stays a local until it is recorded (no reload from the node).
        let (t, fp) = if let Some(node) = self.stack.get_mut(j) {
            let t = node.thread;
            let replay = j < self.branch;
            if !runnable.contains(&t) || next[t] == Footprint::SpinResume {
                if replay {
                    self.diverged(j, t, None);
                }
                // The branch's step is not possible here after all.
                return None;
            }
            let before = node.fp;
            let fp = self.names.name(t, next[t], replay.then_some(before));
            if replay && fp != before {
                self.diverged(j, t, Some((before, fp)));
                return None;
            }
            node.fp = fp;
            (t, fp)
        } else {
            // The new node is built in place on the stack (a node is large: no moves).
            self.stack.push_free();
            let Some((node, before)) = self.stack.split_last_mut() else {
                unreachable!("a node was just pushed");
            };
            // A free node's lists are empty.
            if let Some(p) = before.last_mut() {
                let (pt, pf) = (p.thread, p.fp);
                node.sleep.extend(
                    p.sleep
                        .iter()
                        .copied()
                        .filter(|&(q, fq)| !fq.conflicts(q, pf, pt)),
                );
                std::mem::swap(&mut node.wut, &mut p.sub);
            }
            let (t, preset) = if node.wut.is_empty() {
                let sleep = &node.sleep;
                let free = |q: &usize| {
                    runnable.contains(q)
                        && next[*q] != Footprint::SpinResume
                        && !sleep.iter().any(|s| s.0 == *q)
                };
                // Go on with the thread that ran last if possible: fewer preemptions.
                let t = prev
                    .filter(free)
                    .or_else(|| runnable.iter().copied().find(free));
                let Some(t) = t else {
                    self.stack.pop_free();
                    return None;
                };
                (t, NONE)
            } else {
                let b = node.wut.remove(0);
                if !runnable.contains(&b.thread) || next[b.thread] == Footprint::SpinResume {
                    self.stack.pop_free();
                    return None;
                }
                node.sub = b.children;
                (b.thread, b.choice)
            };
            node.thread = t;
            let fp = self.names.name(t, next[t], None);
            node.fp = fp;
            node.done = 0;
            node.choices.clear();
            node.preset = preset;
            (t, fp)
        };
        self.record(j, t, fp, causes[t], j >= self.branch);
        self.depth += 1;
        Some(t)
    }

    fn choose(&mut self, n: usize) -> usize {
        let k = self.choice;
        self.choice += 1;
        let Some(node) = self
            .depth
            .checked_sub(1)
            .and_then(|d| self.stack.get_mut(d))
        else {
            return 0;
        };
        match node.choices.get(k) {
            Some(&(taken, ..)) => taken,
            None => {
                let first = match node.preset {
                    NONE => 0,
                    c if k == 0 => (c as usize).min(n - 1),
                    _ => 0,
                };
                node.choices.push((first, n, first));
                first
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Footprint::Object;

    const W: Footprint = Object {
        obj: 0,
        write: true,
    };
    const R: Footprint = Object {
        obj: 0,
        write: false,
    };

    #[test]
    fn a_thread_is_a_weak_initial_when_nothing_before_it_conflicts() {
        let v = [(1, R), (2, R)];
        assert!(weak_initial(&v, 2, R));
        assert!(weak_initial(&v, 3, R));
        assert!(!weak_initial(&v, 3, W));
        let v = [(1, W), (2, R)];
        assert!(!weak_initial(&v, 2, R));
    }

    #[test]
    fn insertion_skips_covered_sequences_and_adds_new_ones_last() {
        let mut forest = Vec::new();
        let none = |n| vec![NONE; n];
        insert(&mut forest, &mut vec![(1, W), (2, W)], &mut none(2));
        assert_eq!(forest.len(), 1);
        // Covered: the same sequence again.
        insert(&mut forest, &mut vec![(1, W), (2, W)], &mut none(2));
        assert_eq!(forest.len(), 1);
        assert_eq!(forest[0].children.len(), 1);
        // A leaf with steps left over is extended by them.
        insert(&mut forest, &mut vec![(1, W), (2, W), (3, W)], &mut none(3));
        assert_eq!(forest[0].children[0].children.len(), 1);
        insert(&mut forest, &mut vec![(2, W)], &mut none(1));
        assert_eq!(forest.len(), 2);
        assert_eq!(forest[1].thread, 2);
    }
}
