//! Footprints: what a thread's next step touches, for the partial-order reductions of the
//! exhaustive schedulers (two steps of different threads that commute need to run in one order
//! only).

/// What a thread's next step touches, for partial-order reduction: two steps of different
/// threads commute unless they touch the same object and one changes it (see
/// [`conflicts`](Footprint::conflicts) for the exact relation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Footprint {
    /// Commutes with every other thread's step (resuming after a wake, a timeout or a spin).
    #[default]
    Local,
    /// Reads (`write: false`) or changes object number `obj` (an atomic, a shared cell, a
    /// failed `try_lock` of a modelled mutex, a futex wait that will not sleep).
    Object { obj: usize, write: bool },
    /// A futex wait that will sleep on word `obj`: it reads the word and joins its queue.
    Wait { obj: usize },
    /// A futex wake on word `obj`: it changes the queue (`woke`: someone was waiting) or only
    /// looks at it (nobody was); never the word.
    Wake { obj: usize, woke: bool },
    /// Takes the modelled mutex `obj` (only ever picked while it is free).
    Lock { obj: usize },
    /// A thread in a timed futex wait on word `obj` goes on, with explored timeouts (see
    /// `Config::explore_timeouts`): by its timeout if it is still queued (it leaves the queue),
    /// or after the wake that took it off. Either way it touches the queue.
    Resume { obj: usize },
    /// Releases the modelled mutex `obj`.
    Unlock { obj: usize },
    /// A store to atomic `obj` that goes into the thread's store buffer (weak memory): it takes
    /// a place, chosen among those the stores buffered for `obj` leave, in the order in which
    /// they will commit.
    Buffer { obj: usize },
    /// The flush (commit) of a buffered store to atomic `obj`: it changes the value, and takes
    /// the store out of that order.
    Flush { obj: usize },
    /// A membarrier (weak memory): taken only once every thread's store buffer is empty (the
    /// flushes that emptied them happen before it, see `rt::FLUSHES`), it changes no value. A
    /// store that goes into a buffer disables it, so the two do not commute: it writes the
    /// buffers' pseudo-location [`BUFFERS`], which every [`Buffer`](Footprint::Buffer) step
    /// reads (buffered stores of different threads still commute with each other).
    Membarrier,
    /// Waits for thread `0` to finish: picked only once it has, so it commutes with everything
    /// (the finish orders it).
    Join(usize),
    /// Resuming from a spin hint after another thread wrote what the spinner looked at. The
    /// optimal search never takes it: the spin iteration changed nothing, and the order in which
    /// the spinner reads after that write is explored anyway.
    SpinResume,
    /// May depend on anything (a thread not started yet).
    Global,
}

/// How a step uses one location (an object's value, or a futex word's wait queue).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Read,
    Write,
    Lock,
    Unlock,
}

impl Kind {
    /// Whether two uses of one location by different threads do not commute.
    #[inline]
    pub(crate) fn conflicts(self, other: Kind) -> bool {
        use Kind::*;
        !matches!(
            (self, other),
            (Read, Read) | (Lock, Unlock) | (Unlock, Lock) | (Unlock, Unlock)
        )
    }
}

/// The locations a step uses: at most two (a sleeping futex wait reads the word and writes its
/// queue). Location `3 * obj` is object `obj`'s value, `3 * obj + 1` its futex queue, `3 * obj +
/// 2` the order in which the stores buffered for it will commit (weak memory), and [`BUFFERS`]
/// whether stores may go into the buffers (weak memory; a membarrier closes them).
pub(crate) type Accesses = ([(usize, Kind); 2], usize);

/// The pseudo-location that every buffered store reads and a [`Footprint::Membarrier`] writes:
/// a membarrier conflicts with every store that goes into a buffer, in either order.
pub(crate) const BUFFERS: usize = usize::MAX - 1;

impl Footprint {
    /// The locations this step uses and how.
    #[inline]
    pub(crate) fn accesses(self) -> Accesses {
        use Footprint::*;
        const NONE: (usize, Kind) = (usize::MAX, Kind::Read);
        match self {
            Object { obj, write } => {
                let k = if write { Kind::Write } else { Kind::Read };
                ([(3 * obj, k), NONE], 1)
            }
            Wait { obj } => ([(3 * obj, Kind::Read), (3 * obj + 1, Kind::Write)], 2),
            Wake { obj, woke } => {
                let k = if woke { Kind::Write } else { Kind::Read };
                ([(3 * obj + 1, k), NONE], 1)
            }
            Lock { obj } => ([(3 * obj, Kind::Lock), NONE], 1),
            Resume { obj } => ([(3 * obj + 1, Kind::Write), NONE], 1),
            Unlock { obj } => ([(3 * obj, Kind::Unlock), NONE], 1),
            // Two stores commute: the places a store may take are the same whichever comes
            // first, and every one is explored (see `rt::buffered_store`).
            // It also reads `BUFFERS`: a membarrier cannot run while the store is buffered.
            Buffer { obj } => ([(3 * obj + 2, Kind::Read), (BUFFERS, Kind::Read)], 2),
            Flush { obj } => ([(3 * obj, Kind::Write), (3 * obj + 2, Kind::Write)], 2),
            Membarrier => ([(BUFFERS, Kind::Write), NONE], 1),
            Local | Join(_) | SpinResume | Global => ([NONE, NONE], 0),
        }
    }

    /// The object this step touches, if any.
    #[inline]
    pub(crate) fn object(self) -> Option<usize> {
        let mut fp = self;
        fp.object_mut().map(|o| *o)
    }

    /// The object field of a step that touches one (every such variant has it in the same
    /// place, so this is a test of the variant, not a jump table).
    #[inline]
    fn object_mut(&mut self) -> Option<&mut usize> {
        use Footprint::*;
        match self {
            Object { obj, .. }
            | Wait { obj }
            | Wake { obj, .. }
            | Lock { obj }
            | Resume { obj }
            | Unlock { obj }
            | Buffer { obj }
            | Flush { obj } => Some(obj),
            Local | Membarrier | Join(_) | SpinResume | Global => None,
        }
    }

    /// The same step on object `to` instead (unchanged if it touches no object).
    #[inline]
    pub(crate) fn renamed(self, to: usize) -> Footprint {
        let mut fp = self;
        if let Some(obj) = fp.object_mut() {
            *obj = to;
        }
        fp
    }

    /// Whether this step of thread `me` may not commute with step `other` of thread `them`.
    #[inline]
    pub(crate) fn conflicts(self, me: usize, other: Footprint, them: usize) -> bool {
        if me == them {
            return true;
        }
        if matches!(self, Footprint::Global) || matches!(other, Footprint::Global) {
            return true;
        }
        // A flush may be what lets a membarrier go (never both at once): it cannot run first.
        if matches!(
            (self, other),
            (Footprint::Membarrier, Footprint::Flush { .. })
                | (Footprint::Flush { .. }, Footprint::Membarrier)
        ) {
            return true;
        }
        let (a, na) = self.accesses();
        let (b, nb) = other.accesses();
        a[..na]
            .iter()
            .any(|&(la, ka)| b[..nb].iter().any(|&(lb, kb)| la == lb && ka.conflicts(kb)))
    }
}

/// A parked thread's pending operation on an atomic word, re-evaluated against the word's current
/// value when an exhaustive scheduler asks what it will do.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Pending {
    /// Stores `new` (a store or swap).
    Store { new: i128 },
    /// Compare-and-swap: a write only if it will succeed.
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
    ///
    /// `exact`: a store is a write even if it leaves the value as it is, and a successful
    /// compare-and-swap even if it stores the value it found (the optimal search counts
    /// modification orders, as GenMC does). Otherwise such a write counts as a read: either order
    /// gives the same state and the same return values, which the sleep-set search exploits.
    ///
    /// `shared` gives the value the operation works on from the atomic's memory (with weak
    /// memory, shared memory: the pending operation drained its thread's buffer).
    ///
    /// Always inlined: returned through memory, the footprint was written field by field and
    /// read back whole (a stalled load per step).
    #[inline(always)]
    pub(crate) fn footprint(
        &self,
        obj: usize,
        exact: bool,
        shared: impl FnOnce(i128) -> i128,
    ) -> Footprint {
        let now = shared((self.read)(self.word));
        match self.pending {
            Pending::Store { new } => Footprint::Object {
                obj,
                write: exact || now != new,
            },
            Pending::Cas { expected, new } => Footprint::Object {
                obj,
                write: now == expected && (exact || now != new),
            },
            Pending::Wait { expected } if now == expected => Footprint::Wait { obj },
            Pending::Wait { .. } => Footprint::Object { obj, write: false },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Footprint::*;

    #[test]
    fn reads_commute_and_writes_do_not() {
        let r = Object {
            obj: 1,
            write: false,
        };
        let w = Object {
            obj: 1,
            write: true,
        };
        assert!(!r.conflicts(0, r, 1));
        assert!(r.conflicts(0, w, 1));
        assert!(w.conflicts(0, w, 1));
        assert!(!w.conflicts(
            0,
            Object {
                obj: 2,
                write: true
            },
            1
        ));
    }

    #[test]
    fn lock_acquisitions_conflict_with_each_other_and_failed_try_locks_only() {
        let (l, u, failed) = (
            Lock { obj: 3 },
            Unlock { obj: 3 },
            Object {
                obj: 3,
                write: false,
            },
        );
        assert!(l.conflicts(0, l, 1));
        assert!(!l.conflicts(0, u, 1));
        assert!(l.conflicts(0, failed, 1));
        assert!(u.conflicts(0, failed, 1));
    }

    #[test]
    fn futex_waits_conflict_with_writes_of_the_word_and_wakes_of_its_queue() {
        let wait = Wait { obj: 4 };
        assert!(wait.conflicts(
            0,
            Object {
                obj: 4,
                write: true
            },
            1
        ));
        assert!(!wait.conflicts(
            0,
            Object {
                obj: 4,
                write: false
            },
            1
        ));
        assert!(wait.conflicts(
            0,
            Wake {
                obj: 4,
                woke: false
            },
            1
        ));
        assert!(
            !Wake {
                obj: 4,
                woke: false
            }
            .conflicts(
                0,
                Wake {
                    obj: 4,
                    woke: false
                },
                1
            )
        );
        assert!(Wake { obj: 4, woke: true }.conflicts(
            0,
            Wake {
                obj: 4,
                woke: false
            },
            1
        ));
        assert!(!Join(1).conflicts(
            0,
            Object {
                obj: 1,
                write: true
            },
            2
        ));
    }
}
