//! [`Barrier`]: `std::sync::Barrier` on the modelled [`Mutex`] and [`Condvar`].

use std::fmt;
use std::sync::PoisonError;

use super::{Condvar, Mutex};

/// Lets `n` threads wait until all of them have arrived (`std::sync::Barrier`); reusable.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use lockstep_sim::sync::Barrier;
/// use lockstep_sim::{Config, check, thread};
///
/// check(Config::dfs(None), || {
///     let b = Arc::new(Barrier::new(2));
///     let b2 = Arc::clone(&b);
///     let h = thread::spawn(move || b2.wait().is_leader());
///     let me = b.wait().is_leader();
///     assert!(me ^ h.join().unwrap()); // exactly one leader
/// });
/// ```
pub struct Barrier {
    /// (threads arrived in this round, round number)
    state: Mutex<(usize, u64)>,
    all_here: Condvar,
    n: usize,
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier").field("n", &self.n).finish()
    }
}

/// What [`Barrier::wait`] returns: whether this thread is the round's leader.
#[derive(Clone, Copy, Debug)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// True for exactly one thread of each round (the last to arrive).
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` threads (0 and 1 never block).
    pub const fn new(n: usize) -> Self {
        Self {
            state: Mutex::new((0, 0)),
            all_here: Condvar::new(),
            n,
        }
    }

    /// Blocks until `n` threads have called `wait` in this round.
    #[track_caller]
    pub fn wait(&self) -> BarrierWaitResult {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let round = s.1;
        s.0 += 1;
        if s.0 >= self.n {
            s.0 = 0;
            s.1 += 1;
            drop(s);
            self.all_here.notify_all();
            return BarrierWaitResult(true);
        }
        while s.1 == round {
            s = self
                .all_here
                .wait(s)
                .unwrap_or_else(PoisonError::into_inner);
        }
        BarrierWaitResult(false)
    }
}
