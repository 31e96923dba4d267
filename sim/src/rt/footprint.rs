//! Footprints: what a thread's next step touches, for the partial-order reduction of the DFS
//! scheduler (two steps of different threads that commute need to run in one order only).

/// What a thread's next step touches, for partial-order reduction: two steps of different
/// threads commute unless they touch the same object and one changes it, one joins the other's
/// thread, or one is `Global`. Writes that leave the value as it is count as reads: either order
/// gives the same state and the same return values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Footprint {
    /// Commutes with every other thread's step (spawning a thread, resuming after a wake or a
    /// spin hint).
    Local,
    /// Reads (`write: false`) or changes object number `obj`.
    Object { obj: usize, write: bool },
    /// A futex wait that will sleep on word `obj` (it reads the word and joins its queue).
    Wait { obj: usize },
    /// A futex wake on word `obj` (it changes the queue, not the word).
    Wake { obj: usize },
    /// Waits for thread `0` to finish: conflicts with that thread's `Exit`.
    Join(usize),
    /// The thread's closure returned; this step marks it finished (it wakes joiners).
    Exit,
    /// May depend on anything (thread start).
    Global,
}

impl Footprint {
    /// Whether this step of thread `me` may not commute with step `other` of thread `them`.
    #[inline]
    pub(crate) fn conflicts(self, me: usize, other: Footprint, them: usize) -> bool {
        use Footprint::*;
        match (self, other) {
            (Local, _) | (_, Local) => false,
            (Join(c), Exit) => c == them,
            (Exit, Join(d)) => d == me,
            (Join(_) | Exit, _) | (_, Join(_) | Exit) => false,
            (Global, _) | (_, Global) => true,
            (Object { obj: a, write: wa }, Object { obj: b, write: wb }) => a == b && (wa || wb),
            (Wait { obj: a }, Object { obj: b, write })
            | (Object { obj: b, write }, Wait { obj: a }) => a == b && write,
            (Wake { .. }, Object { .. }) | (Object { .. }, Wake { .. }) => false,
            (Wait { obj: a } | Wake { obj: a }, Wait { obj: b } | Wake { obj: b }) => a == b,
        }
    }
}

/// A parked thread's pending operation on an atomic word, re-evaluated against the word's current
/// value when the DFS scheduler asks whether it will change anything.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Pending {
    /// Stores `new` (a store or swap): a write only if the value differs.
    Store { new: i128 },
    /// Compare-and-swap: a write only if it will succeed and change the value.
    Cas { expected: i128, new: i128 },
    /// A futex wait: sleeps (joins the queue) only if the word holds `expected`.
    Wait { expected: i128 },
}

/// Reads the current value of the atomic a pending operation targets.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Peek {
    pub(crate) word: *const (),
    pub(crate) read: fn(*const ()) -> i128,
    pub(crate) pending: Pending,
}

impl Peek {
    /// The footprint of the pending operation on object `obj`, given the value now.
    pub(crate) fn footprint(&self, obj: usize) -> Footprint {
        let now = (self.read)(self.word);
        match self.pending {
            Pending::Store { new } => Footprint::Object {
                obj,
                write: now != new,
            },
            Pending::Cas { expected, new } => Footprint::Object {
                obj,
                write: now == expected && now != new,
            },
            Pending::Wait { expected } if now == expected => Footprint::Wait { obj },
            Pending::Wait { .. } => Footprint::Object { obj, write: false },
        }
    }
}
