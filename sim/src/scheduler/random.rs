//! Seeded random scheduling: each step picks a runnable thread uniformly.

use super::{Footprint, Rng, Scheduler};

/// Picks uniformly among runnable threads; execution `i` uses a generator seeded from
/// `(seed, i)`, so any execution can be rerun from its seed and number.
#[derive(Debug)]
pub(crate) struct Random {
    seed: u64,
    rng: Rng,
}

impl Random {
    pub(crate) fn new(seed: u64) -> Self {
        Random {
            seed,
            rng: Rng::new(seed, 0),
        }
    }
}

impl Scheduler for Random {
    fn choose(&mut self, n: usize) -> usize {
        self.rng.below(n)
    }

    fn begin(&mut self, iteration: usize) -> bool {
        self.rng = Rng::new(self.seed, iteration as u64);
        true
    }

    #[inline]
    fn pick(
        &mut self,
        runnable: &[usize],
        _prev: Option<usize>,
        _next: &[Footprint],
        _causes: &[u32],
    ) -> Option<usize> {
        if runnable.len() == 1 {
            return Some(runnable[0]);
        }
        Some(runnable[self.rng.below(runnable.len())])
    }
}
