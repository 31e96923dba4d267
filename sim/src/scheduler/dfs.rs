//! Exhaustive depth-first search of the schedules, with sleep sets (Godefroid, "Partial-Order
//! Methods for the Verification of Concurrent Systems", 1996) and an optional preemption bound
//! (Musuvathi and Qadeer, "Iterative Context Bounding for Systematic Testing of Multithreaded
//! Programs", PLDI 2007).
//!
//! Each execution follows the choices recorded on the stack, then extends it with first
//! choices (the non-preemptive one first); the next execution advances the deepest choice point
//! that has an alternative left.
//!
//! Sleep sets: after the subtree of choice `a` at a node is explored, a later sibling `b` runs
//! with `a` asleep: `a` is not picked again until some step that does not commute with it runs,
//! since every order of `a` before commuting steps was covered under `a`. An execution whose
//! runnable threads are all asleep is abandoned. Two steps commute when they touch different
//! objects or only read the same one (the data accessed between operations is assumed race-free,
//! which the race detector checks). With no bound, every Mazurkiewicz trace is run once.
//!
//! A step that makes choices (`Scheduler::choose`, weak memory) runs once per combination of
//! them before the next option at its node.
//!
//! A switch away from a thread that could still run is a preemption; with a bound,
//! alternatives that would exceed it are skipped, and the search then reports itself
//! incomplete. (Sleep sets combined with a bound may skip some schedules within the bound.)

use super::{Footprint, Scheduler};

#[derive(Debug)]
struct Node {
    /// The choices, non-preemptive first; `options[idx]` is the one taken.
    options: Vec<usize>,
    /// The footprint of the step here of each choice and each thread asleep.
    next: Vec<(usize, Footprint)>,
    idx: usize,
    /// The previous thread, if it could still run here (so other choices preempt it).
    prev: Option<usize>,
    /// Preemptions on the path before this step.
    before: usize,
    /// Threads asleep on arrival at this node.
    sleep: Vec<usize>,
    /// The choices made within this node's step (see `Scheduler::choose`): `(taken, of)`.
    choices: Vec<(usize, usize)>,
}

/// Advances `choices` to the next combination (the last choice first); `false` when every
/// combination has been taken.
fn next_choices(choices: &mut Vec<(usize, usize)>) -> bool {
    while let Some(last) = choices.last_mut() {
        if last.0 + 1 < last.1 {
            last.0 += 1;
            return true;
        }
        choices.pop();
    }
    false
}

impl Node {
    /// The footprint of thread `u`'s step here (one that may depend on anything if unknown).
    fn fp(&self, u: usize) -> Footprint {
        self.next
            .iter()
            .find(|e| e.0 == u)
            .map_or(Footprint::Global, |e| e.1)
    }

    fn after(&self) -> usize {
        let t = self.options[self.idx];
        self.before + usize::from(self.prev.is_some_and(|p| p != t))
    }

    /// The threads asleep in the child reached by the current choice.
    fn child_sleep(&self) -> Vec<usize> {
        let t = self.options[self.idx];
        let fp = self.fp(t);
        self.sleep
            .iter()
            .copied()
            .chain(self.options[..self.idx].iter().copied())
            .filter(|&u| u != t && !self.fp(u).conflicts(u, fp, t))
            .collect()
    }
}

/// Depth-first search over every schedule (within the preemption bound).
#[derive(Debug)]
pub(crate) struct Dfs {
    bound: Option<usize>,
    stack: Vec<Node>,
    depth: usize,
    /// The next choice within the current step (see `Scheduler::choose`).
    choice: usize,
    /// Whether some choice was skipped because of the bound.
    pub(crate) pruned: bool,
    /// Whether every schedule (within the bound) has been run.
    pub(crate) exhausted: bool,
}

impl Dfs {
    pub(crate) fn new(bound: Option<usize>) -> Self {
        Dfs {
            bound,
            stack: Vec::new(),
            depth: 0,
            choice: 0,
            pruned: false,
            exhausted: false,
        }
    }
}

impl Scheduler for Dfs {
    fn begin(&mut self, iteration: usize) -> bool {
        self.depth = 0;
        if iteration == 0 {
            return true;
        }
        while let Some(top) = self.stack.last_mut() {
            // Every way the step can go on, then the next option.
            if next_choices(&mut top.choices) {
                return true;
            }
            if top.idx + 1 < top.options.len() {
                top.idx += 1;
                return true;
            }
            self.stack.pop();
        }
        self.exhausted = true;
        false
    }

    fn needs_footprints(&self) -> bool {
        true
    }

    fn pick(
        &mut self,
        runnable: &[usize],
        prev: Option<usize>,
        next: &[Footprint],
        _causes: &[u32],
    ) -> Option<usize> {
        self.choice = 0;
        if let Some(node) = self.stack.get(self.depth) {
            self.depth += 1;
            return Some(node.options[node.idx]);
        }
        let (before, sleep) = match self.stack.last() {
            Some(parent) => (parent.after(), parent.child_sleep()),
            None => (0, Vec::new()),
        };
        let awake = |t: &usize| !sleep.contains(t);
        let prev = prev.filter(|p| runnable.contains(p));
        let options: Vec<usize> = match prev {
            Some(p) => {
                let mut o: Vec<usize> = Some(p).into_iter().filter(awake).collect();
                if self.bound.is_none_or(|b| before < b) {
                    o.extend(runnable.iter().copied().filter(|&t| t != p).filter(awake));
                } else if runnable.iter().any(|&t| t != p && awake(&t)) {
                    self.pruned = true;
                }
                o
            }
            None => runnable.iter().copied().filter(awake).collect(),
        };
        let &t = options.first()?;
        let known = |u: usize| (u, next.get(u).copied().unwrap_or(Footprint::Global));
        let next = options.iter().chain(&sleep).map(|&u| known(u)).collect();
        self.stack.push(Node {
            options,
            next,
            idx: 0,
            prev,
            before,
            sleep,
            choices: Vec::new(),
        });
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
            Some(&(taken, _)) => taken,
            None => {
                node.choices.push((0, n));
                0
            }
        }
    }
}
