//! What an execution did, one [`Event`] per operation: the data behind the text table and the
//! SVG swimlane of [`crate::explain`].

use std::panic::Location;

/// One operation of one simulated thread.
///
/// # Examples
///
/// ```
/// use lockstep_sim::{Config, Op};
/// use lockstep_sim::sync::atomic::{AtomicU32, Ordering};
///
/// let failure = lockstep_sim::try_check(Config::random(1, 1), || {
///     let a = AtomicU32::new(0);
///     a.store(5, Ordering::Relaxed);
///     panic!("stop");
/// })
/// .unwrap_err();
/// assert!(failure.trace.iter().any(|e| e.op == Op::Store { value: 5 }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The scheduling step this event belongs to (1-based; 0: before the first step).
    pub step: usize,
    /// The simulated thread (0 is the closure passed to `check`).
    pub thread: usize,
    /// The shared object touched, numbered in order of first use (`None` for thread events).
    pub object: Option<usize>,
    /// What happened, with the values read or written.
    pub op: Op,
    /// The source line that did it.
    pub location: &'static Location<'static>,
    /// When `location` is inside lockstep's own sources (a step of `lockstep::Mutex::lock`, of a
    /// channel's `send` ...), the line of the program under test that called into lockstep: the
    /// innermost frame of the thread's stack outside lockstep and the standard library. Found
    /// from a stack capture when a failure's trace is recorded; `None` otherwise.
    pub caller: Option<Caller>,
}

/// A source line of the program under test (see [`Event::caller`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Caller {
    /// The file, as the compiler names it (`src/bank.rs`).
    pub file: String,
    /// The line.
    pub line: u32,
}

impl std::fmt::Display for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The operation of an [`Event`], with the values read and written.
///
/// Values are widened to `i128` so every atomic width fits; a `bool` is 0 or 1.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// An atomic load that read `value`.
    Load {
        /// The value read.
        value: i128,
    },
    /// An atomic store of `value`.
    Store {
        /// The value written.
        value: i128,
    },
    /// A read-modify-write (`swap`, `fetch_add`, ...) that read `old` and wrote `new`.
    Rmw {
        /// The method's name.
        name: &'static str,
        /// The value read.
        old: i128,
        /// The value written.
        new: i128,
    },
    /// A compare-and-swap that expected `expected`, found `actual`, and wrote `new` if they matched.
    CompareExchange {
        /// The value the caller expected.
        expected: i128,
        /// The value found.
        actual: i128,
        /// The value written on success.
        new: i128,
        /// Whether it succeeded.
        ok: bool,
    },
    /// A read of a cell (`UnsafeCell::with` or `SharedCell::get`), with the value when known.
    Read {
        /// The value read, for cells that know how to print it.
        value: Option<i128>,
    },
    /// A write of a cell (`UnsafeCell::with_mut` or `SharedCell::set`), with the value when known.
    Write {
        /// The value written, for cells that know how to print it.
        value: Option<i128>,
    },
    /// A memory fence.
    Fence,
    /// A spin-loop hint or `yield_now`: the thread waits for another thread to write.
    Spin,
    /// The thread created thread `child`.
    Spawn {
        /// The new thread.
        child: usize,
    },
    /// The thread waited for thread `child` to finish.
    Join {
        /// The joined thread.
        child: usize,
    },
    /// The thread's closure returned.
    Finish,
    /// The thread panicked.
    Panic,
    /// The execution ended in a deadlock with this thread unable to go on (a row per blocked
    /// thread at the end of the trace, at the line it is stuck on; the event's object is the
    /// word or lock it waits on, if any).
    Blocked {
        /// What it waits for, as the table prints it before the object's name (`asleep in wait
        /// on`, `waiting for lock`, `joining t1`, `spinning: nothing it read can change`).
        waiting: String,
    },
    /// A futex-shaped wait: sleeps if the word still holds `expected` (`actual` is what it held).
    Wait {
        /// The value the caller expected.
        expected: i128,
        /// The value found.
        actual: i128,
    },
    /// A waiting thread resumed, woken (`timed_out: false`) or because its timeout passed.
    Woken {
        /// Whether the timeout passed instead of a wake.
        timed_out: bool,
    },
    /// An atomic store that went into the thread's store buffer (weak memory): other threads
    /// do not see it until its [`Commit`](Op::Commit).
    BufferedStore {
        /// The value stored.
        value: i128,
    },
    /// A membarrier (the heavy half of an asymmetric fence pair): every thread's store buffer
    /// had drained, and it orders as a SeqCst fence.
    Membarrier,
    /// A buffered store became visible to every thread (in the column of the thread that
    /// stored it).
    Commit {
        /// The value written.
        value: i128,
    },
    /// The buffered store just made will commit before another thread's buffered store to the
    /// same atomic, made earlier (weak memory: the place it took in their order was a choice).
    CommitsBefore {
        /// The thread whose store it goes before.
        thread: usize,
        /// That store's value.
        value: i128,
    },
    /// The thread waited until every store in its buffer was visible (weak memory): before a
    /// read-modify-write, a SeqCst store or fence, a futex call, the modelled mutex, a spawn, a
    /// join or its exit.
    Drained,
    /// A modelled mutex was locked (the thread waited, unscheduled, while another held it).
    Lock,
    /// A modelled mutex's `try_lock`: `ok` if it took the lock.
    TryLock {
        /// Whether it took the lock.
        ok: bool,
    },
    /// A modelled mutex was unlocked.
    Unlock,
    /// A wake of one or all waiters of a word, naming the threads woken.
    Wake {
        /// The threads woken.
        woken: Vec<usize>,
    },
    /// Under RC11, the load just before did not read the newest store to its atomic: it read
    /// `from` (`(thread, step)` of the store, `None` for the initial value) while the `newer`
    /// stores had been made, none of which happens before the load, so none had to be visible.
    StaleRead {
        /// The store read: its thread and step, or `None` for the initial value.
        from: Option<(usize, usize)>,
        /// The newer stores (thread, step) the load did not see.
        newer: Vec<(usize, usize)>,
    },
}

/// Every event of one execution, in order.
pub type Trace = Vec<Event>;
