//! Exhaustive depth-first search of the schedules, with an optional preemption bound
//! (Musuvathi and Qadeer, "Iterative Context Bounding for Systematic Testing of Multithreaded
//! Programs", PLDI 2007).
//!
//! Each execution follows the choices recorded on the stack, then extends it with first
//! choices (the non-preemptive one first); the next execution advances the deepest choice point
//! that has an alternative left. A switch away from a thread that could still run is a
//! preemption; with a bound, alternatives that would exceed it are skipped, and the search then
//! reports itself incomplete.

use super::Scheduler;

#[derive(Debug)]
struct Node {
    /// The choices, non-preemptive first; `options[idx]` is the one taken.
    options: Vec<usize>,
    idx: usize,
    /// The previous thread, if it could still run here (so other choices preempt it).
    prev: Option<usize>,
    /// Preemptions on the path before this step.
    before: usize,
}

impl Node {
    fn after(&self) -> usize {
        let t = self.options[self.idx];
        self.before + usize::from(self.prev.is_some_and(|p| p != t))
    }
}

/// Depth-first search over every schedule (within the preemption bound).
#[derive(Debug)]
pub(crate) struct Dfs {
    bound: Option<usize>,
    stack: Vec<Node>,
    depth: usize,
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
            if top.idx + 1 < top.options.len() {
                top.idx += 1;
                return true;
            }
            self.stack.pop();
        }
        self.exhausted = true;
        false
    }

    fn pick(&mut self, runnable: &[usize], prev: Option<usize>) -> usize {
        if let Some(node) = self.stack.get(self.depth) {
            self.depth += 1;
            return node.options[node.idx];
        }
        let before = self.stack.last().map_or(0, Node::after);
        let prev = prev.filter(|p| runnable.contains(p));
        let options = match prev {
            Some(p) => {
                let mut o = vec![p];
                if self.bound.is_none_or(|b| before < b) {
                    o.extend(runnable.iter().copied().filter(|&t| t != p));
                } else if runnable.len() > 1 {
                    self.pruned = true;
                }
                o
            }
            None => runnable.to_vec(),
        };
        let t = options[0];
        self.stack.push(Node {
            options,
            idx: 0,
            prev,
            before,
        });
        self.depth += 1;
        t
    }
}
