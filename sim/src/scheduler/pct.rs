//! PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
//! "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010).
//!
//! Each thread gets a random priority; the highest-priority runnable thread always runs. At
//! `depth - 1` random steps the running thread's priority drops below every initial one (steps
//! are counted only where more than one thread can run, so no change point is wasted). A bug
//! that needs `d` ordering constraints is found by one execution with probability at least
//! `1 / (n * k^(d-1))` for `n` threads and `k` steps, when `depth >= d`. Spinning threads are not
//! runnable until another thread writes, so a high-priority spinner cannot starve the others.

use super::{Footprint, Rng, Scheduler};

/// PCT with a depth parameter.
#[derive(Debug)]
pub(crate) struct Pct {
    seed: u64,
    depth: usize,
    rng: Rng,
    /// Priority per thread, higher runs first; initial ones are `>= depth`.
    priorities: Vec<u64>,
    /// Choice points (1-based: steps with more than one runnable thread) at which the running
    /// thread's priority drops; sorted.
    change_points: Vec<usize>,
    step: usize,
    /// The most choice points an execution had so far, the `k` that change points are drawn from.
    longest: usize,
}

impl Pct {
    pub(crate) fn new(seed: u64, depth: usize) -> Self {
        Pct {
            seed,
            depth: depth.max(1),
            rng: Rng::new(seed, 0),
            priorities: Vec::new(),
            change_points: Vec::new(),
            step: 0,
            longest: 0,
        }
    }
}

impl Scheduler for Pct {
    fn choose(&mut self, n: usize) -> usize {
        self.rng.below(n)
    }

    fn begin(&mut self, iteration: usize) -> bool {
        self.rng = Rng::new(self.seed, iteration as u64);
        self.priorities.clear();
        self.change_points.clear();
        self.step = 0;
        // Before any execution, assume 16 choice points; then the most seen so far.
        let k = if self.longest == 0 { 16 } else { self.longest };
        for _ in 1..self.depth {
            self.change_points.push(1 + self.rng.below(k));
        }
        self.change_points.sort_unstable();
        true
    }

    fn pick(
        &mut self,
        runnable: &[usize],
        _prev: Option<usize>,
        _next: &[Footprint],
        _causes: &[u32],
    ) -> Option<usize> {
        if runnable.len() == 1 {
            // Not a choice: change points are spent only where they can change the schedule.
            return Some(runnable[0]);
        }
        self.step += 1;
        let top = *runnable.iter().max().unwrap_or(&0);
        while self.priorities.len() <= top {
            // invariant: initial priorities are >= depth, above every changed one.
            let p = self.depth as u64 + (self.rng.next() >> 1);
            self.priorities.push(p);
        }
        let best = |p: &[u64]| {
            runnable
                .iter()
                .copied()
                .max_by_key(|&t| p[t])
                .unwrap_or(runnable[0])
        };
        let mut t = best(&self.priorities);
        for (i, &c) in self.change_points.iter().enumerate() {
            if c == self.step {
                // The i-th change point lowers to depth - 1 - i: later changes rank lower.
                self.priorities[t] = (self.depth - 1 - i) as u64;
                t = best(&self.priorities);
            }
        }
        Some(t)
    }

    fn end(&mut self, _steps: usize) {
        self.longest = self.longest.max(self.step);
    }
}
