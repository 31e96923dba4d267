//! Replay of a recorded [`Schedule`](super::Schedule).

use super::{Footprint, Scheduler, fallback};
use crate::rt::CHOICE;

/// Picks the recorded thread at each step; where it cannot run, or after the end, continues
/// without preemption.
#[derive(Debug)]
pub(crate) struct Replay {
    steps: Vec<usize>,
    pos: usize,
}

impl Replay {
    pub(crate) fn new(steps: Vec<usize>) -> Self {
        Replay { steps, pos: 0 }
    }
}

impl Scheduler for Replay {
    fn begin(&mut self, iteration: usize) -> bool {
        self.pos = 0;
        iteration == 0
    }

    fn pick(
        &mut self,
        runnable: &[usize],
        prev: Option<usize>,
        _next: &[Footprint],
        _causes: &[u32],
    ) -> Option<usize> {
        // A choice the step before did not make (the code changed): skipped.
        while self.steps.get(self.pos).is_some_and(|&t| t >= CHOICE) {
            self.pos += 1;
        }
        let want = self.steps.get(self.pos).copied();
        self.pos += 1;
        Some(match want {
            Some(t) if runnable.contains(&t) => t,
            _ => fallback(runnable, prev),
        })
    }

    fn choose(&mut self, n: usize) -> usize {
        match self.steps.get(self.pos) {
            Some(&t) if t >= CHOICE => {
                self.pos += 1;
                (t - CHOICE).min(n - 1)
            }
            // Not recorded here: the natural way.
            _ => 0,
        }
    }
}
