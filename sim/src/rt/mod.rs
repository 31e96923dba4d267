//! How a simulation runs: the per-execution state that the instrumented types report to, and
//! the operations they call. The driver that resumes threads lives in [`exec`].
//!
//! Every simulated thread is a stackful coroutine on the OS thread that called `check`. A thread
//! runs until it reaches its next shared-memory operation, then parks (suspends to the driver);
//! the scheduler picks which parked thread performs its operation next. So a step is "one
//! thread performs one visible operation and runs on to its next one", and the list of threads
//! picked, step by step, is the schedule that replays the execution exactly.
//!
//! The values live in the real atomics (one OS thread, so every operation is sequentially
//! consistent); vector clocks track happens-before from the orderings the code asked for, and
//! are used only to find data races on cells.
//!
//! With weak memory on (`MemoryModel::X86Tso`) the atomics follow x86-TSO exactly:
//!
//! - A Relaxed or Release store goes into its thread's FIFO store buffer ([`Buffered`]); the step
//!   touches nothing another thread reads. Each thread has a flush pseudo-thread, `FLUSH + t`
//!   (`f<t>` in schedule strings): a flush is a step of its own, chosen by the scheduler like a
//!   thread's, that commits the thread's oldest buffered store to shared memory.
//! - Several threads may hold buffered stores to one atomic at once. Where a store goes in the
//!   order in which they commit (the atomic's modification order) is chosen when it is made,
//!   among the places that agree with every buffer's order ([`buffered_store`], a choice
//!   `CHOICE + k` in the schedule, `c<k>`); a flush waits for the stores chosen to commit before
//!   its own ([`State::flush_ready`]).
//! - A load reads its own thread's newest buffered store to the atomic, else shared memory
//!   ([`forwarded`]). Read-modify-writes and SeqCst stores (locked instructions, `xchg`), SeqCst
//!   fences (`mfence`), futex calls, the modelled mutex, spawn, join and a thread's exit first
//!   wait for their thread's buffer to drain ([`drain`]: a step of its own once the thread has
//!   stored since it last drained, taken when flushes have emptied the buffer); a locked
//!   operation then works on shared memory, before every store still buffered by other threads
//!   ([`on_memory`]). Nothing commits another thread's stores.
//! - A cell write is not buffered and does not drain the buffer (on x86 it would queue behind
//!   the buffered stores): only a thread reading the cell could tell, and a read that does not
//!   race with the write happens after the writer's later store was seen, by which time every
//!   store before the write has committed too.
//! - Shared memory is the object's [`Visible`] state while stores to it are buffered. The real
//!   atomic holds the value that will commit last (see [`Visible::memory`]), which is the value
//!   once every store to it has committed: so an atomic moved by a plain copy of its memory
//!   (`Arc::try_unwrap`, a move out of a `Box`), `get_mut` and `into_inner` see exactly what a
//!   thread with exclusive access sees. A commit never touches the atomic (it may have moved or
//!   gone by then).
//!
//! Happens-before for the race detector is taken at the store, not at its commit, and is only
//! ever added to: that may hide a data race on a cell, never invent one.

pub(crate) mod caller;
pub(crate) mod clock;
pub(crate) mod exec;
mod footprint;
pub(crate) mod rc11;
mod statics;
pub(crate) mod trace;
pub(crate) mod watchdog;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::Location;
use std::sync::atomic::Ordering;

use corosensei::Yielder;

use crate::explain::{FailureKind, RaceAccess};
use clock::VectorClock;
pub(crate) use footprint::{BUFFERS, Footprint, Kind, Peek, Pending};
use trace::{Event, Op};

thread_local! {
    /// The execution running on this OS thread, or null outside a simulation.
    static CURRENT: Cell<*const Exec> = const { Cell::new(std::ptr::null()) };
    /// True while a failed execution's coroutines are unwound: their panics must pass through.
    static TEARDOWN: Cell<bool> = const { Cell::new(false) };
    /// Statics' atomics dropped while the simulation was off (see `statics`); cannot happen to a
    /// true static, but a value in one that is replaced is dropped.
    static TEARDOWN_DROPS: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An atomic at `addr` was dropped outside a running simulation: if a failed execution's
/// threads are being unwound, its address leaves the statics restored between executions.
pub(crate) fn dropped_outside(addr: usize) {
    if TEARDOWN.with(Cell::get) && statics::is_static(addr) {
        TEARDOWN_DROPS.with(|d| d.borrow_mut().push(addr));
    }
}

/// Puts the bytes `static_state` saved back into the std-mirror object at an address.
pub(crate) type MirrorRestore = unsafe fn(usize, &[u8]);

/// A std-mirror once-cell at `addr` (its `Once`'s state, a `LazyLock`'s initializer) is used:
/// if it is in a `static`, its first use in each execution of a check puts back the state it
/// had when the check first used it (`save` reads that state, `restore` writes it), as for the
/// program's own atomics in statics, and the check's end puts it back too. So every execution
/// initializes a static `OnceLock` or `LazyLock` anew, as the first use in a process does, and
/// the search explores the same program each time.
pub(crate) fn static_state(addr: usize, save: impl FnOnce() -> Vec<u8>, restore: MirrorRestore) {
    let Some(exec) = current() else {
        return;
    };
    if !statics::is_static(addr) {
        return;
    }
    let mut s = exec.state.borrow_mut();
    if s.mirror_used.contains(&addr) {
        return;
    }
    s.mirror_used.push(addr);
    match s.mirror_statics.get(&addr) {
        // SAFETY: `restore` was registered with these bytes for the static at `addr`.
        Some((bytes, restore)) => unsafe { restore(addr, bytes) },
        None => {
            let bytes = save();
            s.mirror_statics.insert(addr, (bytes, restore));
        }
    }
}

/// The running execution, if this OS thread is inside one.
///
/// This is the cheap check every instrumented operation makes first: one thread-local read.
#[inline(always)]
pub(crate) fn current<'a>() -> Option<&'a Exec> {
    let p = CURRENT.with(Cell::get);
    // SAFETY: `CURRENT` is non-null only while `exec::Runner::run` owns the boxed `Exec` it
    // points to; it is reset to null before that box is dropped, and callers use the reference
    // only within the operation that fetched it.
    unsafe { p.as_ref() }
}

/// Whether a finished execution's threads are being unwound (the simulation is off meanwhile).
pub(crate) fn tearing_down() -> bool {
    TEARDOWN.with(Cell::get)
}

/// Whether this OS thread is inside a running simulation.
///
/// # Examples
///
/// ```
/// assert!(!lockstep_sim::in_simulation());
/// lockstep_sim::check(lockstep_sim::Config::random(1, 1), || {
///     assert!(lockstep_sim::in_simulation());
/// });
/// ```
#[inline]
pub fn in_simulation() -> bool {
    current().is_some()
}

/// A simulated thread's scheduling state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Parked before its next operation; may be picked.
    Runnable,
    /// Hinted that it spins at step `since`; runnable again once the write counter passes
    /// `writes`.
    Spinning { writes: u64, since: usize },
    /// Sleeping in a futex wait on `addr` (object `obj`); `seq` orders waiters FIFO.
    Futex {
        addr: usize,
        obj: usize,
        seq: u64,
        timed: bool,
    },
    /// Its closure returned (or it panicked).
    Finished,
}

/// One simulated thread.
#[derive(Debug)]
pub(crate) struct Thread {
    pub(crate) status: Status,
    /// What its next step touches.
    pub(crate) next: Footprint,
    /// For a pending atomic operation whose footprint depends on the value: how to re-read it.
    pub(crate) peek: Option<Peek>,
    /// Objects it touched since it last resumed from a spin: a spin waits for one to change.
    pub(crate) watch: Vec<usize>,
    pub(crate) clock: VectorClock,
    /// Sequential consistency and x86-TSO: the thread's clock at its last release fence (empty
    /// before one). A later store of any ordering publishes it, so an Acquire load that reads
    /// the store synchronizes with the fence (fence-to-atomic synchronization).
    pub(crate) rel_fence: VectorClock,
    /// As above: what the thread's loads without Acquire have read (the clocks of the stores
    /// they read); its next acquire fence joins it (atomic-to-fence synchronization).
    pub(crate) acq_pending: VectorClock,
    pub(crate) yielder: *const Yielder<(), ()>,
    /// Set when a timed wait is resumed by its timeout rather than by a wake.
    pub(crate) timed_out: bool,
    /// The modelled mutex (object number) its next step locks: it cannot run while that mutex
    /// is held.
    pub(crate) wants: Option<usize>,
    /// Its store buffer (weak memory): stores made but not yet visible to other threads, oldest
    /// first.
    pub(crate) buffer: VecDeque<Buffered>,
    /// Its next step drains the store buffer (weak memory): it can be taken only once flushes
    /// have emptied it.
    pub(crate) draining: bool,
    /// Its next step is a [`membarrier`] (weak memory): it can be taken only once flushes have
    /// emptied every thread's buffer.
    pub(crate) barrier: bool,
    /// It made a buffered store since it last drained its buffer: its next drain is a step
    /// (whether or not flushes have emptied the buffer by then, so that the steps a thread takes
    /// do not depend on when its flushes run).
    dirty: bool,
    /// The step of the last flush of its buffer ([`NO_CAUSE`]: none).
    flushed: u32,
    /// Where the thread was spawned (or `check` was called, for thread 0).
    pub(crate) origin: &'static Location<'static>,
    /// Where its pending `join` was called (for a deadlock's report).
    pub(crate) joining_at: Option<&'static Location<'static>>,
    /// The step that made its next step possible (the parent's step that spawned it, the wake,
    /// [`ALL`] for a timeout or a spinner resumed because nothing else could run),
    /// or [`NO_CAUSE`]: happens-before for the optimal search. Cleared when it takes the step.
    pub(crate) cause: u32,
    /// The step it finished in, once finished.
    pub(crate) exit_step: u32,
    /// Its next step is a `try_lock` (a read of the mutex if it is held), not a blocking lock.
    pub(crate) trying: bool,
    /// Under RC11: the event of the futex wake that woke it, which its wake-up step follows.
    pub(crate) woken_by: Option<rc11::graph::EvId>,
}

/// No step caused a thread's next step beyond its own previous one.
pub(crate) const NO_CAUSE: u32 = u32::MAX;
/// Every step so far happened before it (a timeout: time passed because nothing else could run).
pub(crate) const ALL: u32 = u32::MAX - 1;
/// Every flush so far happened before it (a membarrier: it waited for every store buffer to
/// be empty). Like a lock's unlock, the flushes are not an order for its races: they are what
/// let it go once the stores it conflicts with (see [`Footprint::Membarrier`]) were flushed.
pub(crate) const FLUSHES: u32 = u32::MAX - 2;

/// A store in its thread's store buffer (weak memory): the other threads do not see it yet.
///
/// Shared memory, the value every thread without a buffered store to the atomic reads, is the
/// object's [`Visible`] state while stores to it are buffered; the atomic's own memory holds the
/// value a move of the atomic must carry (see [`Visible::memory`]). A commit changes only the
/// [`Visible`] state and never touches the atomic, so a buffered store to an atomic that has
/// since moved or gone is harmless.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Buffered {
    obj: usize,
    /// The object's [`Object::epoch`] when it was stored: a store to an object whose buffered
    /// state was dropped since (exclusive access, a move, a drop) commits nothing.
    epoch: u32,
    value: i128,
    /// The step that stored it.
    step: u32,
    /// Names it in its object's [`Object::chain`].
    id: u64,
    /// The flush of the store before it in [`Object::chain`], once that came after this store
    /// was made ([`NO_CAUSE`]: none did): its own flush waited for it.
    after: u32,
    location: &'static Location<'static>,
}

impl Buffered {
    /// What its flush touches (see [`Footprint::Flush`]).
    pub(crate) fn footprint(&self) -> Footprint {
        Footprint::Flush { obj: self.obj }
    }

    /// The step its flush depends on: the store, or the flush it waited for (which came after
    /// the store, and depends on it through their footprints).
    pub(crate) fn cause(&self) -> u32 {
        if self.after == NO_CAUSE {
            self.step
        } else {
            self.after
        }
    }
}

/// An atomic's shared-memory state while stores to it are buffered, or were and the atomic's
/// memory has not been brought up to date since (weak memory, x86-TSO).
///
/// Several threads may hold buffered stores to one atomic at once. The order in which they will
/// commit (its modification order) is chosen when each is made, among those that agree with the
/// order of every thread's buffer (see [`buffered_store`]), and kept in [`Object::chain`]. A
/// thread reads its own newest buffered store to the atomic, else `committed`.
/// Read-modify-writes and SeqCst stores (locked on x86) work on `committed`, before every
/// buffered store.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Visible {
    /// Shared memory: the last committed store, or the value before the first buffered one.
    committed: i128,
    /// What the simulator put in the atomic's memory: the value of the buffered store that will
    /// commit last (the end of [`Object::chain`]), or `committed` if none is buffered. That is
    /// the atomic's value once every store to it has committed, which is what a thread with
    /// exclusive access sees, so a move of the atomic (a plain copy of its memory) carries the
    /// right value. A commit never changes it, so memory is written only by the operations on
    /// the atomic (which hold it). If memory holds something else, the atomic has moved away
    /// (or gone without a drop) and another now lives at the address.
    memory: i128,
}

/// The schedule entry of a store-buffer flush: `FLUSH + t` makes the oldest buffered store of
/// thread `t` visible (weak memory only; schedules print it as `f<t>`).
pub(crate) const FLUSH: usize = 1000;

/// The schedule entry of a choice within a step: `CHOICE + k` took the `k`th way (weak memory:
/// where a buffered store goes in the order stores to its atomic commit; schedules print it as
/// `c<k>`).
pub(crate) const CHOICE: usize = 2000;

/// The last accesses to a cell, for data-race detection (FastTrack-style epochs).
#[derive(Debug, Default)]
struct CellState {
    write: Option<Access>,
    reads: Vec<Access>,
}

#[derive(Clone, Copy, Debug)]
struct Access {
    thread: usize,
    epoch: u32,
    write: bool,
    location: &'static Location<'static>,
}

/// A shared object (atomic or cell) seen in this execution.
#[derive(Debug)]
pub(crate) struct Object {
    pub(crate) kind: &'static str,
    /// The clock a Release store published, joined by Acquire loads (the release sequence).
    sync: VectorClock,
    cell: Option<CellState>,
    /// The write counter at its last value-changing write.
    pub(crate) written: u64,
    /// For a modelled mutex: the thread holding it.
    pub(crate) held: Option<usize>,
    /// For a modelled mutex: the step that last unlocked it ([`NO_CAUSE`]: never).
    pub(crate) released: u32,
    /// With weak memory, while stores to it are buffered: shared memory (see [`Visible`]).
    visible: Option<Visible>,
    /// Counts the times its buffered state was dropped (see [`Buffered::epoch`]).
    epoch: u32,
    /// Its buffered stores (of the current epoch, [`Buffered::id`]s) in the order they will
    /// commit: a flush commits only the first (see [`State::flush_ready`]).
    chain: Vec<u64>,
}

/// A hasher for object addresses (distinct, pointer-aligned integers).
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
}

/// How many recent object look-ups [`State`] keeps.
const RECENT: usize = 8;

/// The place of `addr` in [`State`]'s recent look-ups (neighbouring words take different ones).
#[inline(always)]
fn recent_slot(addr: usize) -> usize {
    (addr >> 3) % RECENT
}

/// The threads or objects of the current execution (the slice it derefs to), and beyond them
/// those of earlier executions, kept in place for their allocations and overwritten by the next
/// (a thread or an object is large: a new execution moves none).
pub(crate) struct Kept<T> {
    list: Vec<T>,
    len: usize,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Kept {
            list: Vec::new(),
            len: 0,
        }
    }
}

impl<T> std::ops::Deref for Kept<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        &self.list[..self.len]
    }
}

impl<T> std::ops::DerefMut for Kept<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.list[..self.len]
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Kept<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The state of one execution, shared by the driver and the threads (never borrowed across a
/// suspension).
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) threads: Kept<Thread>,
    /// The thread running now.
    pub(crate) current: usize,
    /// Steps taken so far.
    pub(crate) step: usize,
    /// Counts writes that changed a value; spinning threads wait for it to move.
    pub(crate) writes: u64,
    index: HashMap<usize, usize, BuildHasherDefault<AddrHasher>>,
    /// Atomics in statics, by address: the value each held when the check first used it, given
    /// back at the start of each execution and when the check ends (see `statics`). Kept
    /// across the executions of a check.
    statics: HashMap<usize, (i128, Raw), BuildHasherDefault<AddrHasher>>,
    /// Per static atomic the check used: whether it is the program's own (see `first_use`).
    own_static: HashMap<usize, bool, BuildHasherDefault<AddrHasher>>,
    /// The std mirror's once-cells in statics (a `Once`'s state, a `LazyLock`'s initializer),
    /// by address: their bytes when the check first used them and how to put them back, given
    /// back at their first use in each execution and when the check ends (see
    /// [`static_state`]).
    mirror_statics: HashMap<usize, (Vec<u8>, MirrorRestore), BuildHasherDefault<AddrHasher>>,
    /// The mirror statics used in this execution so far.
    mirror_used: Vec<usize>,
    /// Recently looked-up `(address, object)` pairs, one per [`recent_slot`] (address 0:
    /// none): most operations touch one of a few objects again.
    recent: [(usize, usize); RECENT],
    pub(crate) objects: Kept<Object>,
    pub(crate) trace: Vec<Event>,
    /// Whether to record the trace (searches skip it; a failure is replayed with it on).
    pub(crate) record: bool,
    pub(crate) failure: Option<FailureKind>,
    /// Threads spawned but not started yet, with their bodies.
    pub(crate) spawned: VecDeque<(usize, Body)>,
    seq: u64,
    /// Names buffered stores ([`Buffered::id`]).
    next_id: u64,
    fence: VectorClock,
}

/// One execution: its state behind a `RefCell` (threads and driver take turns).
pub(crate) struct Exec {
    pub(crate) state: RefCell<State>,
    /// The yielder of the thread running now (set by the driver before each resume).
    pub(crate) yielder: Cell<*const Yielder<(), ()>>,
    /// How the next step is chosen.
    pub(crate) control: RefCell<Control>,
    /// Whether stores other than SeqCst go through store buffers (weak memory, x86-TSO).
    pub(crate) weak: Cell<bool>,
    /// Whether a timed wait may time out at any step (a scheduling choice), not only when
    /// nothing else can run.
    pub(crate) timeouts: Cell<bool>,
    /// The RC11 memory model's state, when atomics follow RC11 (see [`rc11`]).
    pub(crate) rc11: RefCell<Option<Box<rc11::Rc11>>>,
    /// Whether `rc11` is set (checked first by every operation).
    pub(crate) rc11_on: Cell<bool>,
    /// This OS thread's step count for the watchdog (see [`watchdog::step`]), held here so a
    /// step does not look up the thread-local.
    pub(crate) steps: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Exec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exec")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// The choice of steps: the scheduler and what it has picked so far. The driver and a parking
/// thread (which may pick the next step itself, see [`park`]) take turns with it.
pub(crate) struct Control {
    /// The run's scheduler (valid for the whole run; see `exec::Runner::run`).
    pub(crate) scheduler: *mut dyn crate::scheduler::Scheduler,
    pub(crate) max_steps: usize,
    /// True while the driver starts new threads: each must park back to the driver.
    pub(crate) starting: bool,
    /// Whether the scheduler looks at footprints (asked once per run).
    pub(crate) footprints: bool,
    /// Whether it wants them exact (see [`Peek::footprint`]).
    pub(crate) exact: bool,
    pub(crate) runnable: Vec<usize>,
    pub(crate) next: Vec<Footprint>,
    /// The step each thread's next step depends on beyond its own previous one (see
    /// [`Thread::cause`]), with `next`.
    pub(crate) causes: Vec<u32>,
    /// The thread picked at each step.
    pub(crate) schedule: Vec<usize>,
    pub(crate) preemptions: usize,
    /// The thread that took the previous step.
    pub(crate) prev: Option<usize>,
    pub(crate) abandoned: bool,
    /// A choice made by a parking thread for the driver to carry out (`Some(None)`: stop).
    pub(crate) decided: Option<Option<usize>>,
}

/// A thread's closure, waiting for the driver to start it.
pub(crate) struct Body(pub(crate) Box<dyn FnOnce()>);

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Body")
    }
}

impl State {
    pub(crate) fn new(origin: &'static Location<'static>, trace: Vec<Event>, record: bool) -> Self {
        let mut s = State {
            threads: Kept::default(),
            current: 0,
            step: 0,
            writes: 0,
            index: HashMap::default(),
            statics: HashMap::default(),
            own_static: HashMap::default(),
            mirror_statics: HashMap::default(),
            mirror_used: Vec::new(),
            recent: [(0, 0); RECENT],
            objects: Kept::default(),
            trace,
            record,
            failure: None,
            spawned: VecDeque::new(),
            seq: 0,
            next_id: 0,
            fence: VectorClock::default(),
        };
        s.reset(origin, record);
        s
    }

    /// The step being run now (the current thread's last pick, or the spawn of a thread still
    /// starting), [`NO_CAUSE`] before the first.
    #[inline]
    pub(crate) fn step_now(&self) -> u32 {
        self.step.checked_sub(1).map_or(NO_CAUSE, |s| s as u32)
    }

    /// Makes this the state of a new execution whose thread 0 starts at `origin`, keeping the
    /// allocations of the last one.
    pub(crate) fn reset(&mut self, origin: &'static Location<'static>, record: bool) {
        self.threads.len = 0;
        self.objects.len = 0;
        self.current = 0;
        self.step = 0;
        self.writes = 0;
        self.index.clear();
        self.mirror_used.clear();
        self.recent = [(0, 0); RECENT];
        self.trace.clear();
        self.record = record;
        self.failure = None;
        self.spawned.clear();
        self.seq = 0;
        self.next_id = 0;
        self.fence.clear();
        let mut clock = self.new_clock();
        clock.tick(0);
        self.add_thread(clock, origin);
    }

    /// An empty clock, reusing the allocation of the free thread the next thread will take, if
    /// there is one.
    fn new_clock(&mut self) -> VectorClock {
        match self.threads.list.get_mut(self.threads.len) {
            Some(t) => {
                let mut c = std::mem::take(&mut t.clock);
                c.clear();
                c
            }
            None => VectorClock::default(),
        }
    }

    /// Adds a runnable thread with `clock`, spawned at `origin`; returns its number.
    fn add_thread(&mut self, clock: VectorClock, origin: &'static Location<'static>) -> usize {
        let fresh = Thread {
            status: Status::Runnable,
            clock,
            rel_fence: VectorClock::default(),
            acq_pending: VectorClock::default(),
            yielder: std::ptr::null(),
            next: Footprint::Global,
            peek: None,
            watch: Vec::new(),
            timed_out: false,
            wants: None,
            buffer: VecDeque::new(),
            draining: false,
            barrier: false,
            dirty: false,
            flushed: NO_CAUSE,
            origin,
            joining_at: None,
            cause: NO_CAUSE,
            exit_step: NO_CAUSE,
            trying: false,
            woken_by: None,
        };
        // A free thread of an earlier execution is overwritten in place (a thread is large),
        // keeping its lists' allocations.
        let i = self.threads.len;
        match self.threads.list.get_mut(i) {
            Some(t) => {
                let mut watch = std::mem::take(&mut t.watch);
                watch.clear();
                let mut buffer = std::mem::take(&mut t.buffer);
                buffer.clear();
                *t = Thread {
                    watch,
                    buffer,
                    ..fresh
                };
            }
            None => self.threads.list.push(fresh),
        }
        self.threads.len = i + 1;
        i
    }

    /// The first use in this execution of the atomic at `addr`: a static gets back the value it
    /// held when the check first used it (see `statics`).
    #[cold]
    fn first_use(&mut self, addr: usize, raw: Raw, location: &Location<'_>) {
        if !statics::is_static(addr) {
            return;
        }
        // The program's own atomics only: the state inside lockstep's types and the std mirror's
        // (a static `Once`, `OnceLock`, `Mutex`) lives on across executions, as in a process
        // (restoring its atomics alone could contradict the data beside them). Decided once
        // per static and check, from the stack.
        let own = *self.own_static.entry(addr).or_insert_with(|| {
            caller::library_file(location.file()).is_none() && !caller::operation_in_library()
        });
        if !own {
            return;
        }
        let now = (raw.read)(addr);
        let (start, _) = *self.statics.entry(addr).or_insert((now, raw));
        if start != now {
            (raw.write)(addr, start);
        }
    }

    /// Gives every static the check used the value it held when the check first used it, and
    /// forgets them (the check ends). Statics dropped while a failed execution was unwound
    /// (replaced values of a static `Option`, say) are left alone.
    pub(crate) fn restore_statics(&mut self) {
        let dropped: Vec<usize> = TEARDOWN_DROPS.with(|d| std::mem::take(&mut *d.borrow_mut()));
        self.own_static.clear();
        for (addr, (start, raw)) in self.statics.drain() {
            if !dropped.contains(&addr) && (raw.read)(addr) != start {
                (raw.write)(addr, start);
            }
        }
        self.mirror_used.clear();
        for (addr, (bytes, restore)) in self.mirror_statics.drain() {
            // SAFETY: registered by `static_state` for the static at `addr`, which lives on.
            unsafe { restore(addr, &bytes) };
        }
    }

    /// Forgets the statics dropped while a failed execution was unwound.
    pub(crate) fn statics_dropped_in_teardown(&mut self) {
        TEARDOWN_DROPS.with(|d| {
            for addr in d.borrow_mut().drain(..) {
                self.statics.remove(&addr);
            }
        });
    }

    /// The object number of `addr`, registering it on first use.
    #[inline]
    fn object(&mut self, addr: usize, kind: &'static str) -> usize {
        let (a, id) = self.recent[recent_slot(addr)];
        if a == addr {
            return id;
        }
        let id = self.object_slow(addr, kind);
        self.recent[recent_slot(addr)] = (addr, id);
        id
    }

    /// [`State::object`] for an atomic (`raw` accesses it): its first use in an execution
    /// restores it if it is a static (see `first_use`).
    #[inline]
    fn atomic_object(
        &mut self,
        addr: usize,
        kind: &'static str,
        raw: Raw,
        location: &Location<'_>,
    ) -> usize {
        let (a, id) = self.recent[recent_slot(addr)];
        if a == addr {
            return id;
        }
        let next = self.objects.len();
        let id = self.object_slow(addr, kind);
        self.recent[recent_slot(addr)] = (addr, id);
        if id == next {
            self.first_use(addr, raw, location);
        }
        id
    }

    fn object_slow(&mut self, addr: usize, kind: &'static str) -> usize {
        let next = self.objects.len();
        let id = *self.index.entry(addr).or_insert(next);
        if id == next {
            // An object of an earlier execution is overwritten in place, keeping its lists'
            // allocations (see [`Kept`]).
            match self.objects.list.get_mut(next) {
                Some(o) => {
                    o.kind = kind;
                    o.sync.clear();
                    if let Some(c) = &mut o.cell {
                        c.write = None;
                        c.reads.clear();
                    }
                    o.written = 0;
                    o.held = None;
                    o.released = NO_CAUSE;
                    o.visible = None;
                    o.epoch = 0;
                    o.chain.clear();
                }
                None => self.objects.list.push(Object {
                    kind,
                    sync: VectorClock::default(),
                    cell: None,
                    written: 0,
                    held: None,
                    released: NO_CAUSE,
                    visible: None,
                    epoch: 0,
                    chain: Vec::new(),
                }),
            }
            self.objects.len = next + 1;
        }
        id
    }

    /// Records an event of the current step, when the trace is recorded (searches skip it: the
    /// check stays inline, the recording does not).
    #[inline(always)]
    fn push(&mut self, object: Option<usize>, op: Op, location: &'static Location<'static>) {
        if self.record {
            self.push_recorded(object, op, location);
        }
    }

    #[cold]
    #[inline(never)]
    fn push_recorded(
        &mut self,
        object: Option<usize>,
        op: Op,
        location: &'static Location<'static>,
    ) {
        // The caller of a lockstep operation: the same for every event of one operation.
        let caller = match self.trace.last() {
            Some(last)
                if last.step == self.step
                    && last.thread == self.current
                    && std::ptr::eq(last.location, location) =>
            {
                last.caller.clone()
            }
            _ => caller::capture(location),
        };
        self.trace.push(Event {
            step: self.step,
            thread: self.current,
            object,
            op,
            location,
            caller,
        });
    }

    /// Records, for a deadlock's report, what each of the `blocked` threads waits for: a row per
    /// thread at the end of the trace, at the line it is stuck on.
    pub(crate) fn push_blocked(&mut self, blocked: &[usize]) {
        if !self.record {
            return;
        }
        for &t in blocked {
            let thread = &self.threads[t];
            let last = self.trace.iter().rev().find(|e| e.thread == t);
            let (mut location, mut caller) =
                last.map_or((thread.origin, None), |e| (e.location, e.caller.clone()));
            let (waiting, object) = match (thread.status, thread.next, thread.wants) {
                (Status::Futex { obj, .. }, ..) => ("asleep in wait on".to_owned(), Some(obj)),
                (Status::Spinning { .. }, ..) => {
                    ("spinning: nothing it read can change".to_owned(), None)
                }
                (_, Footprint::Join(child), _) => {
                    if let Some(at) = thread.joining_at {
                        (location, caller) = (at, None);
                    }
                    (format!("joining t{child}"), None)
                }
                (_, _, Some(obj)) => ("waiting for lock".to_owned(), Some(obj)),
                _ => ("waiting".to_owned(), None),
            };
            self.trace.push(Event {
                step: self.step,
                thread: t,
                object,
                op: Op::Blocked { waiting },
                location,
                caller,
            });
        }
    }

    /// Makes the oldest buffered store of thread `t` visible to every thread (weak memory): it
    /// becomes the object's shared-memory value, after every store committed before it. It never
    /// touches the atomic (see [`Buffered`]).
    pub(crate) fn commit_oldest(&mut self, t: usize) {
        let Some(b) = self.threads[t].buffer.pop_front() else {
            return;
        };
        let step = self.step_now();
        let thread = &mut self.threads[t];
        thread.flushed = step;
        if thread.buffer.is_empty() && thread.draining {
            // Its step waited for this flush.
            thread.cause = step;
        }
        let object = &mut self.objects[b.obj];
        let mut changed = false;
        let mut next = None;
        if let Some(v) = &mut object.visible
            && object.epoch == b.epoch
        {
            debug_assert_eq!(object.chain.first(), Some(&b.id), "committed out of order");
            object.chain.remove(0);
            changed = v.committed != b.value;
            v.committed = b.value;
            next = object.chain.first().copied();
            if next.is_none() {
                // Memory holds the last store, now committed, and nothing is buffered: plain
                // again.
                debug_assert_eq!(v.memory, v.committed);
                object.visible = None;
            }
        }
        if let Some(id) = next
            && let Some(n) = self.buffered_mut(id)
        {
            // Its flush may go now: this one is what it waited for.
            n.after = step;
        }
        if changed {
            self.writes += 1;
            self.objects[b.obj].written = self.writes;
        }
        if self.record {
            self.trace.push(Event {
                step: self.step,
                thread: t,
                object: Some(b.obj),
                op: Op::Commit { value: b.value },
                location: b.location,
                caller: self
                    .trace
                    .iter()
                    .rev()
                    .find(|e| {
                        e.thread == t
                            && e.object == Some(b.obj)
                            && matches!(e.op, Op::BufferedStore { .. })
                    })
                    .and_then(|e| e.caller.clone()),
            });
        }
    }

    /// The buffered store `id`.
    fn buffered_mut(&mut self, id: u64) -> Option<&mut Buffered> {
        self.threads
            .iter_mut()
            .find_map(|t| t.buffer.iter_mut().find(|b| b.id == id))
    }

    /// The buffered store `id`.
    fn buffered(&self, id: u64) -> Option<(usize, usize)> {
        self.threads.iter().enumerate().find_map(|(t, thread)| {
            thread
                .buffer
                .iter()
                .position(|b| b.id == id)
                .map(|k| (t, k))
        })
    }

    /// Whether thread `i`'s oldest buffered store may commit now (weak memory): every store to
    /// the same atomic chosen to commit before it has (see [`Object::chain`]).
    pub(crate) fn flush_ready(&self, i: usize) -> bool {
        let Some(b) = self.threads[i].buffer.front() else {
            return false;
        };
        let object = &self.objects[b.obj];
        object.epoch != b.epoch || object.chain.first().is_none_or(|&id| id == b.id)
    }

    /// Whether, in the order in which buffered stores must commit (each thread's in the order it
    /// made them, each atomic's in its [`Object::chain`]), store `from` comes before any of
    /// `targets` (or is one).
    fn reaches(&self, from: u64, targets: &[u64]) -> bool {
        let mut seen: Vec<u64> = Vec::new();
        let mut todo = vec![from];
        while let Some(id) = todo.pop() {
            if targets.contains(&id) {
                return true;
            }
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            let Some((t, k)) = self.buffered(id) else {
                continue;
            };
            let b = &self.threads[t].buffer[k];
            if let Some(n) = self.threads[t].buffer.get(k + 1) {
                todo.push(n.id);
            }
            let object = &self.objects[b.obj];
            if object.epoch == b.epoch
                && let Some(p) = object.chain.iter().position(|&c| c == id)
                && let Some(&n) = object.chain.get(p + 1)
            {
                todo.push(n);
            }
        }
        false
    }

    /// The value a thread without buffered stores to object `obj` reads (shared memory), when
    /// the atomic's memory holds `memory` (weak memory; otherwise, memory).
    pub(crate) fn shared(&self, obj: usize, memory: i128) -> i128 {
        match self.objects[obj].visible {
            Some(v) if v.memory == memory => v.committed,
            _ => memory,
        }
    }

    /// The value the atomic's memory should hold (see [`Visible::memory`]): the buffered store
    /// to object `obj` that will commit last, else the committed value.
    fn preferred(&self, obj: usize, committed: i128) -> i128 {
        self.objects[obj]
            .chain
            .last()
            .and_then(|&id| self.buffered(id))
            .map_or(committed, |(t, k)| self.threads[t].buffer[k].value)
    }

    /// The current thread's newest buffered store to object `obj` (store forwarding).
    fn own(&self, obj: usize) -> Option<i128> {
        let epoch = self.objects[obj].epoch;
        self.threads[self.current]
            .buffer
            .iter()
            .rev()
            .find(|b| b.obj == obj && b.epoch == epoch)
            .map(|b| b.value)
    }

    /// Brings the atomic's memory (holding `memory`, written through `write`) up to date for
    /// object `obj` (see [`Visible::memory`]), and forgets the state once nothing is buffered.
    fn refresh(&mut self, obj: usize, memory: i128, write: &mut dyn FnMut(i128)) {
        let Some(v) = self.objects[obj].visible else {
            return;
        };
        let want = self.preferred(obj, v.committed);
        if want != memory {
            write(want);
        }
        let object = &mut self.objects[obj];
        if object.chain.is_empty() {
            object.visible = None;
        } else if let Some(v) = &mut object.visible {
            v.memory = want;
        }
    }

    /// The buffered state of the atomic at `addr` (holding `memory`), if it has one and has not
    /// moved: its object number. A moved atomic's state is dropped.
    fn buffered_object(&mut self, addr: usize, memory: i128) -> Option<usize> {
        let obj = *self.index.get(&addr)?;
        let v = self.objects[obj].visible?;
        if v.memory != memory {
            // The buffered stores were to an atomic that has moved away from this address.
            discard_object(self, obj);
            return None;
        }
        Some(obj)
    }
}

/// Ends the current thread's step; returns when the scheduler picks it again.
///
/// The thread picks the next step itself when the driver has nothing else to do first (no new
/// thread to start, no failure): if it picks itself, it goes on without a switch to the driver
/// and back, which is most steps of a PCT or DFS run. Otherwise it leaves the choice for the
/// driver and suspends. The picks are the same either way.
#[inline]
fn park(exec: &Exec) {
    // This thread's yielder, read before `decide` points `exec.yielder` at the thread it picks.
    let y = exec.yielder.get();
    let me = {
        let s = exec.state.borrow();
        debug_assert!(
            std::ptr::eq(y, s.threads[s.current].yielder),
            "a thread must suspend through its own yielder"
        );
        let inline = s.spawned.is_empty() && s.failure.is_none() && !exec.control.borrow().starting;
        inline.then_some(s.current)
    };
    if let Some(me) = me {
        let t = exec::decide(exec);
        if t == Some(me) {
            return;
        }
        exec.control.borrow_mut().decided = Some(t);
    }
    // SAFETY: `y` was read on entry, when `yielder` was still the running thread's own (set by
    // `decide` before this thread was picked, and by `exec::thread_main` on its first run); that
    // yielder lives on the coroutine's stack for as long as the coroutine runs, and we are
    // running on that coroutine now (only simulated threads reach instrumented operations).
    unsafe { (*y).suspend(()) }
}

/// Notes what the current thread's next step touches, then parks it.
///
/// Always inlined: passed through memory, a footprint built field by field was read back whole
/// (a stalled load per step).
#[inline(always)]
fn park_at(exec: &Exec, next: Footprint) {
    {
        let mut s = exec.state.borrow_mut();
        let t = s.current;
        s.threads[t].next = next;
        s.threads[t].peek = None;
    }
    park(exec);
}

/// The footprint of an access to the object at `addr` (registering it).
#[inline(always)]
fn touch(exec: &Exec, addr: usize, kind: &'static str, write: bool) -> Footprint {
    let obj = exec.state.borrow_mut().object(addr, kind);
    Footprint::Object { obj, write }
}

/// Records `failure` and parks the thread for good: the driver ends the execution.
fn fail(exec: &Exec, failure: FailureKind) -> ! {
    exec.state.borrow_mut().failure = Some(failure);
    loop {
        park(exec);
    }
}

fn acquires(o: Ordering) -> bool {
    matches!(o, Ordering::Acquire | Ordering::AcqRel | Ordering::SeqCst)
}

fn releases(o: Ordering) -> bool {
    matches!(o, Ordering::Release | Ordering::AcqRel | Ordering::SeqCst)
}

/// How an atomic operation touched memory, for the happens-before bookkeeping.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AtomicAccess {
    /// The ordering of the read part, if it read.
    pub(crate) load: Option<Ordering>,
    /// The ordering of the write part, if it wrote.
    pub(crate) store: Option<Ordering>,
    /// A read-modify-write (continues a release sequence instead of starting one).
    pub(crate) rmw: bool,
    /// Whether the value changed (wakes spinning threads).
    pub(crate) changed: bool,
}

/// Performs an atomic operation as one step: parks, then runs `f` on the real atomic when
/// scheduled, and records it.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn atomic<R>(
    exec: &Exec,
    addr: usize,
    kind: &'static str,
    write: bool,
    peek: Option<Peek>,
    raw: Raw,
    desc: rc11::Desc,
    location: &'static Location<'static>,
    f: impl FnOnce() -> (R, Op, AtomicAccess),
) -> R {
    if write {
        // A read-modify-write or a SeqCst store (locked on x86) waits for the store buffer to
        // drain first (weak memory), and then works on shared memory (see `on_memory`).
        drain(exec, location);
    }
    let obj = {
        let mut s = exec.state.borrow_mut();
        let obj = s.atomic_object(addr, kind, raw, location);
        let t = s.current;
        s.threads[t].next = Footprint::Object { obj, write };
        s.threads[t].peek = peek;
        obj
    };
    park(exec);
    if exec.rc11_on.get() {
        return atomic_rc11(exec, obj, addr, raw, desc, location, f);
    }
    let (r, op, access) = f();
    let mut s = exec.state.borrow_mut();
    let s = &mut *s;
    let t = s.current;
    let thread = &mut s.threads[t];
    let object = &mut s.objects[obj];
    if let Some(o) = access.load {
        if acquires(o) {
            thread.clock.join(&object.sync);
        } else {
            // Synchronizes at the thread's next acquire fence, if any.
            thread.acq_pending.join(&object.sync);
        }
    }
    if let Some(o) = access.store {
        // A store without Release publishes what the thread's last release fence did.
        if access.rmw {
            if releases(o) {
                object.sync.join(&thread.clock);
            } else {
                object.sync.join(&thread.rel_fence);
            }
        } else if releases(o) {
            object.sync.assign(&thread.clock);
        } else {
            object.sync.assign(&thread.rel_fence);
        }
    }
    thread.clock.tick(t);
    if !thread.watch.contains(&obj) {
        thread.watch.push(obj);
    }
    if access.changed {
        s.writes += 1;
        object.written = s.writes;
    }
    s.push(Some(obj), op, location);
    r
}

/// Direct access to an atomic's value, bypassing the simulator (widened to `i128`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Raw {
    pub(crate) read: fn(usize) -> i128,
    pub(crate) write: fn(usize, i128),
}

/// An atomic operation under RC11: the search chooses what it reads (the atomic holds that value
/// while the operation runs) and where its write goes in modification order; afterwards the
/// atomic holds the newest value again.
fn atomic_rc11<R>(
    exec: &Exec,
    obj: usize,
    addr: usize,
    raw: Raw,
    desc: rc11::Desc,
    location: &'static Location<'static>,
    f: impl FnOnce() -> (R, Op, AtomicAccess),
) -> R {
    let t = exec.state.borrow().current;
    let memory = (raw.read)(addr);
    let (e, read) = with_rc11(exec, |m| m.access(t, addr, memory, desc, true));
    if let Some(v) = read {
        (raw.write)(addr, v);
        // The operation reads the value the graph chose.
        debug_assert_eq!((raw.read)(addr), v, "the value read is the graph's");
    }
    let (r, op, access) = f();
    let written = access.store.map(|_| (raw.read)(addr));
    let (newest, moot) = with_rc11(exec, |m| (m.after_access(e, written), m.moot));
    (raw.write)(addr, newest);
    if moot {
        // The graph breaks atomicity: it was run for its revisits only, and the thread must
        // not go on (its next steps would see an impossible state).
        rc11_stop(exec);
    }
    let unsupported = {
        let mut s = exec.state.borrow_mut();
        let s = &mut *s;
        let thread = &mut s.threads[t];
        with_rc11(exec, |m| m.sync_access(t, e, &mut thread.clock));
        thread.clock.tick(t);
        if !thread.watch.contains(&obj) {
            thread.watch.push(obj);
        }
        if access.changed {
            s.writes += 1;
            s.objects[obj].written = s.writes;
        }
        s.push(Some(obj), op, location);
        if s.record {
            let step = s.step;
            let note = with_rc11(exec, |m| {
                m.note_step(e, step);
                m.explain_read(e)
            });
            if let Some(note) = note {
                s.push(Some(obj), note, location);
            }
        }
        with_rc11(exec, |m| m.unsupported.clone())
    };
    if let Some(message) = unsupported {
        fail(exec, FailureKind::Unsupported { message });
    }
    r
}

/// Parks the current thread for good: the RC11 run it is in is over (see `Rc11::moot`).
fn rc11_stop(exec: &Exec) -> ! {
    loop {
        park(exec);
    }
}

/// Runs `f` on the RC11 state (present whenever `rc11_on` is set).
fn with_rc11<T>(exec: &Exec, f: impl FnOnce(&mut rc11::Rc11) -> T) -> T {
    let mut m = exec.rc11.borrow_mut();
    f(m.as_mut().expect("the RC11 state is set while rc11_on is"))
}

/// Fails the execution: `what` is not modelled under RC11 yet.
fn rc11_unsupported(exec: &Exec, what: &str) {
    if exec.rc11_on.get() {
        fail(
            exec,
            FailureKind::Unsupported {
                message: format!(
                    "{what} is not modelled under the RC11 memory model yet; check this code \
                     with MemoryModel::SequentiallyConsistent or X86Tso, or build the waiting \
                     on atomics and spin-loop hints"
                ),
            },
        );
    }
}

/// Waits until every store in the current thread's buffer is visible (weak memory): what a
/// locked instruction, an `xchg` (a SeqCst store), `mfence` or a system call does on x86. If
/// the thread made a buffered store since it last drained, this is a step of its own, taken
/// once flushes (scheduling choices of their own) have emptied the buffer; other threads may
/// run meanwhile. It touches nothing, and depends on the flush of the thread's newest store.
#[inline]
pub(crate) fn drain(exec: &Exec, location: &'static Location<'static>) {
    if !exec.weak.get() {
        return;
    }
    {
        let mut s = exec.state.borrow_mut();
        let t = s.current;
        let thread = &mut s.threads[t];
        if !thread.dirty {
            return;
        }
        thread.dirty = false;
        thread.draining = true;
        if thread.buffer.is_empty() {
            // Flushed already: the last flush is the one it depends on.
            thread.cause = thread.flushed;
        }
        thread.next = Footprint::Local;
        thread.peek = None;
    }
    park(exec);
    let mut s = exec.state.borrow_mut();
    let t = s.current;
    s.threads[t].draining = false;
    debug_assert!(
        s.threads[t].buffer.is_empty(),
        "picked with stores buffered"
    );
    s.threads[t].clock.tick(t);
    s.push(None, Op::Drained, location);
}

/// Runs `f`, a read-modify-write or SeqCst store on the atomic at `addr`, on shared memory
/// (weak memory): the atomic's memory holds the committed value while `f` runs (the current
/// thread's buffer is empty, see [`atomic`]), and what `f` leaves there is committed at once,
/// before every store still buffered by other threads. `read` and `write` access the atomic.
pub(crate) fn on_memory<R>(
    exec: &Exec,
    addr: usize,
    read: fn(usize) -> i128,
    write: fn(usize, i128),
    f: impl FnOnce() -> R,
) -> R {
    if !exec.weak.get() {
        return f();
    }
    let obj = {
        let mut s = exec.state.borrow_mut();
        let obj = s.buffered_object(addr, read(addr));
        if let Some(obj) = obj
            && let Some(v) = s.objects[obj].visible
        {
            write(addr, v.committed);
        }
        obj
    };
    let r = f();
    if let Some(obj) = obj {
        let mut s = exec.state.borrow_mut();
        let memory = read(addr);
        if let Some(v) = &mut s.objects[obj].visible {
            v.committed = memory;
        }
        s.refresh(obj, memory, &mut |v| write(addr, v));
    }
    r
}

/// A store that goes into the current thread's store buffer (weak memory, one step): other
/// threads go on reading shared memory until a flush (a scheduling choice of its own) commits
/// it. `read` and `write` access the atomic at `addr`.
///
/// If other threads hold buffered stores to the atomic, where this one goes in the order in
/// which they commit is a choice (see [`choice`]), among the places that agree with the order of
/// every thread's buffer: first the place after all of them, then earlier ones. The step changes
/// only that order (see [`Footprint::Buffer`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn buffered_store(
    exec: &Exec,
    addr: usize,
    kind: &'static str,
    value: i128,
    read: fn(usize) -> i128,
    write: fn(usize, i128),
    order: Ordering,
    location: &'static Location<'static>,
) {
    let obj = exec.state.borrow_mut().object(addr, kind);
    park_at(exec, Footprint::Buffer { obj });
    let (places, id) = {
        let mut s = exec.state.borrow_mut();
        let s = &mut *s;
        let memory = read(addr);
        s.buffered_object(addr, memory);
        let t = s.current;
        s.next_id += 1;
        let id = s.next_id;
        if s.objects[obj].visible.is_none() {
            s.objects[obj].visible = Some(Visible {
                committed: memory,
                memory,
            });
        }
        // The places it may take in the chain: after this thread's own buffered stores to the
        // atomic, and not before a store that must commit after one of them (or after the
        // store it follows in this thread's buffer).
        let chain = &s.objects[obj].chain;
        let own = chain
            .iter()
            .rposition(|&c| s.threads[t].buffer.iter().any(|b| b.id == c))
            .map_or(0, |k| k + 1);
        let mut before: Vec<u64> = s.threads[t]
            .buffer
            .back()
            .map(|b| b.id)
            .into_iter()
            .collect();
        let mut places = vec![chain.len()];
        for p in (own..chain.len()).rev() {
            if p > 0 {
                before.push(chain[p - 1]);
            }
            if !s.reaches(chain[p], &before) {
                places.push(p);
            }
            if p > 0 {
                before.pop();
            }
        }
        (places, id)
    };
    let place = if places.len() > 1 {
        places[choice(exec, places.len())]
    } else {
        places[0]
    };
    let mut s = exec.state.borrow_mut();
    let s = &mut *s;
    let t = s.current;
    let object = &mut s.objects[obj];
    let epoch = object.epoch;
    object.chain.insert(place, id);
    let last = place + 1 == object.chain.len();
    let before = (!last)
        .then(|| object.chain[place + 1])
        .and_then(|next| s.buffered(next))
        .map(|(u, k)| (u, s.threads[u].buffer[k].value));
    let object = &mut s.objects[obj];
    if last {
        // The store that will commit last is what memory holds (see `Visible::memory`).
        write(addr, value);
        if let Some(v) = &mut object.visible {
            v.memory = value;
        }
    }
    let thread = &mut s.threads[t];
    // Happens-before at the store, not at its commit, and only ever added to: an Acquire load
    // of an older value then joins this clock too, which may hide a race but never invents one.
    if releases(order) {
        object.sync.join(&thread.clock);
    } else {
        object.sync.join(&thread.rel_fence);
    }
    thread.clock.tick(t);
    if !thread.watch.contains(&obj) {
        thread.watch.push(obj);
    }
    let step = s.step_now();
    s.threads[t].dirty = true;
    s.threads[t].buffer.push_back(Buffered {
        obj,
        epoch,
        value,
        step,
        id,
        after: NO_CAUSE,
        location,
    });
    s.push(Some(obj), Op::BufferedStore { value }, location);
    if let Some((thread, value)) = before {
        s.push(Some(obj), Op::CommitsBefore { thread, value }, location);
    }
}

/// Asks the scheduler to choose one of `n` (> 1) ways the current step can go on; recorded in
/// the schedule (as `CHOICE + k`) so that a replay makes the same choice, unless it is the
/// natural one (0, what a replay does where nothing is recorded).
fn choice(exec: &Exec, n: usize) -> usize {
    let mut c = exec.control.borrow_mut();
    // SAFETY: see `exec::Runner::run`: the scheduler outlives every step of the run.
    let scheduler = unsafe { &mut *c.scheduler };
    let k = scheduler.choose(n).min(n - 1);
    if k > 0 {
        c.schedule.push(CHOICE + k);
    }
    k
}

/// What a load of the atomic at `addr` (holding `memory`) by the current thread reads while
/// stores to it are buffered (weak memory): its own newest buffered store (store forwarding),
/// else shared memory; `None`: memory. Brings memory up to date through `write` (see
/// [`Visible::memory`]).
#[inline]
pub(crate) fn forwarded(
    exec: &Exec,
    addr: usize,
    memory: i128,
    write: &mut dyn FnMut(i128),
) -> Option<i128> {
    if !exec.weak.get() {
        return None;
    }
    let mut s = exec.state.borrow_mut();
    let obj = s.buffered_object(addr, memory)?;
    let committed = s.objects[obj].visible?.committed;
    let value = s.own(obj).unwrap_or(committed);
    s.refresh(obj, memory, write);
    Some(value)
}

/// A fence: not a step; modelled conservatively as synchronizing with every other fence of the
/// same or stronger kind (a single global fence clock), which may hide races but never invents one.
pub(crate) fn fence(exec: &Exec, order: Ordering, location: &'static Location<'static>) {
    if exec.rc11_on.get() {
        let mut s = exec.state.borrow_mut();
        let s = &mut *s;
        let t = s.current;
        let mo = rc11::graph::Mo::of(order);
        with_rc11(exec, |m| {
            m.fence(t, mo, false);
            m.sync_fence(t, mo, &mut s.threads[t].clock);
        });
        s.threads[t].clock.tick(t);
        s.push(None, Op::Fence, location);
        return;
    }
    if order == Ordering::SeqCst {
        drain(exec, location);
    }
    let mut s = exec.state.borrow_mut();
    let s = &mut *s;
    let t = s.current;
    let thread = &mut s.threads[t];
    if acquires(order) {
        // Every store a load of this thread read before synchronizes with this fence.
        let Thread {
            clock, acq_pending, ..
        } = thread;
        clock.join(acq_pending);
        thread.clock.join(&s.fence);
    }
    if releases(order) {
        s.fence.join(&thread.clock);
        thread.rel_fence.assign(&thread.clock);
    }
    thread.clock.tick(t);
    s.push(None, Op::Fence, location);
}

/// The heavy half of an asymmetric fence pair, as Linux's
/// `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` gives it: a SeqCst fence of the calling thread
/// that also makes every other thread's buffered stores visible before it returns (the system
/// call interrupts every core running a thread of the process, and each drains its store buffer).
///
/// With weak memory (x86-TSO) it is always a step of its own, taken once flushes (scheduling
/// choices of their own) have emptied every thread's buffer: it conflicts with every store that
/// goes into a buffer, before or after it (see [`Footprint::Membarrier`]), and happens after
/// every flush before it (see [`FLUSHES`]); both exhaustive searches explore it that way. Every
/// other thread's buffer drains at that one step, which is exact with one other thread
/// and a little stronger than the kernel's interrupts (one per core, each at a moment of its own)
/// with more. With sequential consistency there are no buffers and it is a SeqCst fence. Under
/// RC11 it is not modelled: the light half is no fence at all there, so no RC11 event pairs with
/// it.
pub(crate) fn membarrier(exec: &Exec, location: &'static Location<'static>) {
    if exec.rc11_on.get() {
        fail(
            exec,
            FailureKind::Unsupported {
                message: concat!(
                    "membarrier (a fence that also drains every other thread's store buffer) ",
                    "is not modelled under the RC11 memory model; check the code that pairs ",
                    "it with compiler fences with MemoryModel::X86Tso, which models it, or ",
                    "SequentiallyConsistent"
                )
                .to_owned(),
            },
        );
    }
    // The system call begins with a full barrier of the calling thread.
    drain(exec, location);
    if exec.weak.get() {
        {
            let mut s = exec.state.borrow_mut();
            let t = s.current;
            let thread = &mut s.threads[t];
            thread.barrier = true;
            thread.next = Footprint::Membarrier;
            thread.cause = FLUSHES;
            thread.peek = None;
        }
        park(exec);
        let mut s = exec.state.borrow_mut();
        let t = s.current;
        s.threads[t].barrier = false;
        debug_assert!(
            s.threads.iter().all(|x| x.buffer.is_empty()),
            "a membarrier picked with stores buffered"
        );
    }
    let mut s = exec.state.borrow_mut();
    let s = &mut *s;
    let t = s.current;
    s.fence.join(&s.threads[t].clock);
    s.threads[t].clock.join(&s.fence);
    s.threads[t].clock.tick(t);
    s.push(None, Op::Membarrier, location);
}

/// A read (`write == false`) or write of a cell: not a step, checked for data races.
pub(crate) fn cell_access(
    exec: &Exec,
    addr: usize,
    kind: &'static str,
    write: bool,
    value: Option<i128>,
    location: &'static Location<'static>,
) {
    // With weak memory a cell write is not buffered, and does not drain the buffer either: on
    // x86 it would queue behind the thread's buffered stores. Only a thread that reads the cell
    // could tell it apart, and without a data race (reported anyway) that read happens after a
    // store made after the write was seen, so every store before the write is visible by then.
    let race = {
        let mut s = exec.state.borrow_mut();
        let s = &mut *s;
        let t = s.current;
        let obj = s.object(addr, kind);
        let clock = &s.threads[t].clock;
        let me = Access {
            thread: t,
            epoch: clock.get(t),
            write,
            location,
        };
        let cell = s.objects[obj].cell.get_or_insert_with(CellState::default);
        let unordered = |a: &Access| a.thread != t && a.epoch > clock.get(a.thread);
        let mut race = cell.write.filter(unordered);
        if write && race.is_none() {
            race = cell.reads.iter().copied().find(unordered);
        }
        if race.is_none() {
            if write {
                cell.write = Some(me);
                cell.reads.clear();
            } else if let Some(r) = cell.reads.iter_mut().find(|r| r.thread == t) {
                *r = me;
            } else {
                cell.reads.push(me);
            }
        }
        if !s.threads[t].watch.contains(&obj) {
            s.threads[t].watch.push(obj);
        }
        if write {
            s.writes += 1;
            s.objects[obj].written = s.writes;
        }
        let op = if write {
            Op::Write { value }
        } else {
            Op::Read { value }
        };
        s.push(Some(obj), op, location);
        race.map(|first| (obj, first, me))
    };
    if let Some((object, first, second)) = race {
        let side = |a: Access| RaceAccess {
            thread: a.thread,
            write: a.write,
            location: a.location,
        };
        fail(
            exec,
            FailureKind::DataRace {
                object,
                first: side(first),
                second: side(second),
            },
        );
    }
}

/// Settles the atomic at `addr` for exclusive access (weak memory): every store to it happened
/// before, so its value is the one that commits last, which its memory holds (see
/// [`Visible::memory`]); its buffered state is dropped (see [`Buffered::epoch`]). `read` and
/// `write` access the atomic.
pub(crate) fn settle(exec: &Exec, addr: usize, read: fn(usize) -> i128, write: fn(usize, i128)) {
    if !exec.weak.get() {
        return;
    }
    if let Ok(mut s) = exec.state.try_borrow_mut()
        && let Some(obj) = s.buffered_object(addr, read(addr))
        && let Some(v) = s.objects[obj].visible
    {
        let value = s.preferred(obj, v.committed);
        if value != v.memory {
            write(addr, value);
        }
        discard_object(&mut s, obj);
    }
}

/// Drops the buffered state of object `obj`: its buffered stores stay in their buffers (a
/// thread's flushes do not depend on another's operations) but commit nothing.
fn discard_object(s: &mut State, obj: usize) {
    if s.objects[obj].visible.take().is_some() {
        s.objects[obj].epoch += 1;
        s.objects[obj].chain.clear();
    }
}

/// Forgets the object at `addr` (it is being dropped; the address may be reused).
pub(crate) fn forget(exec: &Exec, addr: usize) {
    if exec.rc11_on.get()
        && let Ok(mut m) = exec.rc11.try_borrow_mut()
        && let Some(m) = m.as_mut()
    {
        m.forget(addr);
    }
    if let Ok(mut s) = exec.state.try_borrow_mut() {
        if let Some(obj) = s.index.remove(&addr) {
            discard_object(&mut s, obj);
        }
        if !s.statics.is_empty() {
            s.statics.remove(&addr);
        }
        let r = &mut s.recent[recent_slot(addr)];
        if r.0 == addr {
            *r = (0, 0);
        }
    }
}

/// A spin-loop hint or `yield_now`: the thread is picked again only after some thread changes an
/// object it looked at since its last spin, or when no other thread can run (it may hold a value read before its last spin, so it
/// must get to look again); spinning with nothing else to run ends as a step-limit livelock.
pub(crate) fn spin(exec: &Exec, location: &'static Location<'static>) {
    if exec.rc11_on.get() {
        // Under RC11 a spin iteration that changed nothing blocks for good: the search explores
        // the execution where the loads of the loop read what ends it instead.
        {
            let mut s = exec.state.borrow_mut();
            let t = s.current;
            let since = s.step;
            s.threads[t].status = Status::Spinning {
                writes: u64::MAX,
                since,
            };
            s.threads[t].next = Footprint::Local;
            s.threads[t].peek = None;
            s.push(None, Op::Spin, location);
        }
        loop {
            park(exec);
        }
    }
    {
        let mut s = exec.state.borrow_mut();
        let t = s.current;
        if s.threads[t].watch.is_empty() {
            // Spinning again without looking at anything (a backoff loop of hints): the
            // previous hint already waited for a write; this one changes nothing.
            return;
        }
        let now = s.writes;
        let since = s.step;
        s.threads[t].status = Status::Spinning { writes: now, since };
        // Resuming from the hint does nothing visible; what enables it (a write) never disables it.
        s.threads[t].next = Footprint::Local;
        s.threads[t].peek = None;
    }
    park(exec);
    let mut s = exec.state.borrow_mut();
    let t = s.current;
    s.threads[t].watch.clear();
    s.push(None, Op::Spin, location);
}

/// Spawns a thread running `body`; returns its id. Not a step of its own: a spawn commutes
/// with everything, and the child's steps depend on the parent's step that spawned it.
pub(crate) fn spawn(
    exec: &Exec,
    body: Box<dyn FnOnce()>,
    location: &'static Location<'static>,
) -> usize {
    drain(exec, location);
    let mut s = exec.state.borrow_mut();
    let s = &mut *s;
    let t = s.current;
    let child = s.threads.len();
    assert!(
        child < FLUSH,
        "lockstep-sim: at most {FLUSH} threads in one execution"
    );
    let mut clock = s.new_clock();
    clock.assign(&s.threads[t].clock);
    clock.tick(child);
    s.add_thread(clock, location);
    // The spawn is the step the child's first step depends on.
    s.threads[child].cause = s.step_now();
    if exec.rc11_on.get() {
        with_rc11(exec, |m| m.spawned(t, child));
    }
    s.threads[t].clock.tick(t);
    s.spawned.push_back((child, Body(body)));
    s.push(None, Op::Spawn { child }, location);
    child
}

/// Waits for thread `child` to finish: one step, which can be taken only once it has.
pub(crate) fn join(exec: &Exec, child: usize, location: &'static Location<'static>) {
    drain(exec, location);
    {
        let mut s = exec.state.borrow_mut();
        let t = s.current;
        s.threads[t].joining_at = Some(location);
    }
    park_at(exec, Footprint::Join(child));
    if exec.rc11_on.get() {
        let t = exec.state.borrow().current;
        with_rc11(exec, |m| {
            let last = m.last_event(child);
            m.other(t, last)
        });
    }
    let mut s = exec.state.borrow_mut();
    let s = &mut *s;
    let t = s.current;
    s.threads[t].joining_at = None;
    debug_assert_eq!(s.threads[child].status, Status::Finished);
    // Borrowed out and back (a clone would allocate on every join).
    let done = std::mem::take(&mut s.threads[child].clock);
    s.threads[t].clock.join(&done);
    s.threads[child].clock = done;
    s.threads[t].clock.tick(t);
    s.push(None, Op::Join { child }, location);
}

/// How a futex wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitEnd {
    /// The word no longer held the expected value: it did not sleep.
    Changed,
    /// A wake (or the end of its sleep) let it go.
    Woken,
    /// Its timeout passed: every other thread was blocked.
    TimedOut,
}

/// A futex wait on the word at `addr` (one step; then blocked until woken).
pub(crate) fn futex_wait(
    exec: &Exec,
    word: &std::sync::atomic::AtomicU32,
    expected: u32,
    timed: bool,
    location: &'static Location<'static>,
) -> WaitEnd {
    if timed && exec.timeouts.get() {
        rc11_unsupported(exec, "a timed wait with explored timeouts");
    }
    let addr = word as *const _ as usize;
    drain(exec, location);
    {
        let mut s = exec.state.borrow_mut();
        let obj = s.object(addr, "AtomicU32");
        let t = s.current;
        s.threads[t].next = Footprint::Wait { obj };
        s.threads[t].peek = Some(Peek {
            word: word as *const std::sync::atomic::AtomicU32 as *const (),
            read: read_u32,
            pending: Pending::Wait {
                expected: expected.into(),
            },
        });
    }
    park(exec);
    // The kernel reads what is committed: another thread's buffered store to the word is not
    // seen yet (weak memory).
    let memory = word.load(Ordering::SeqCst);
    let actual = if exec.rc11_on.get() {
        // Under RC11: a SeqCst fence and a read-modify-write of the word that leaves it as it is
        // (see `rc11::Rc11::futex_rmw`).
        let t = exec.state.borrow().current;
        let value = with_rc11(exec, |m| {
            let sc = rc11::graph::Mo::of(Ordering::SeqCst);
            let mut s = exec.state.borrow_mut();
            m.sync_fence(t, sc, &mut s.threads[t].clock);
            let (e, v) = m.futex_rmw(t, addr, memory.into());
            m.sync_access(t, e, &mut s.threads[t].clock);
            (v, m.moot)
        });
        let (value, moot) = value;
        if moot {
            rc11_stop(exec);
        }
        // The value was widened from this `u32`.
        value as u32
    } else {
        // The value was widened from this `u32`.
        let mut refresh = |v: i128| word.store(v as u32, Ordering::SeqCst);
        match forwarded(exec, addr, memory.into(), &mut refresh) {
            // The value was widened from this `u32`.
            Some(v) => v as u32,
            None => memory,
        }
    };
    {
        let mut s = exec.state.borrow_mut();
        let s = &mut *s;
        let obj = s.object(addr, "AtomicU32");
        let t = s.current;
        s.threads[t].clock.tick(t);
        if !s.threads[t].watch.contains(&obj) {
            s.threads[t].watch.push(obj);
        }
        let op = Op::Wait {
            expected: expected.into(),
            actual: actual.into(),
        };
        s.push(Some(obj), op, location);
        if actual != expected {
            return WaitEnd::Changed;
        }
        s.seq += 1;
        s.threads[t].status = Status::Futex {
            addr,
            obj,
            seq: s.seq,
            timed,
        };
        // Resuming after the wake (or the timeout) touches nothing: the wake orders it. With
        // explored timeouts a timed wait's resumption is a choice against the wake instead.
        s.threads[t].next = if timed && exec.timeouts.get() {
            Footprint::Resume { obj }
        } else {
            Footprint::Local
        };
        s.threads[t].peek = None;
    }
    park(exec);
    let mut s = exec.state.borrow_mut();
    let t = s.current;
    if exec.rc11_on.get() {
        // The wake-up is a step after the wake that made it.
        let waker = s.threads[t].woken_by.take();
        with_rc11(exec, |m| m.other(t, waker));
    }
    let timed_out = std::mem::take(&mut s.threads[t].timed_out);
    let obj = s.index.get(&addr).copied();
    s.push(obj, Op::Woken { timed_out }, location);
    if timed_out {
        WaitEnd::TimedOut
    } else {
        WaitEnd::Woken
    }
}

/// Reads a plain `AtomicU32` for [`Peek`].
fn read_u32(p: *const ()) -> i128 {
    // SAFETY: `p` points to the word a parked thread is waiting on; that thread's `futex_wait`
    // borrows it until it resumes, and peeks happen only while it is parked.
    let word = unsafe { &*(p as *const std::sync::atomic::AtomicU32) };
    // Relaxed: all simulated threads run on this OS thread.
    word.load(Ordering::Relaxed).into()
}

/// Wakes one (the longest waiting) or every thread waiting on the word at `addr` (one step).
pub(crate) fn futex_wake(
    exec: &Exec,
    addr: usize,
    all: bool,
    location: &'static Location<'static>,
) -> usize {
    drain(exec, location);
    let obj = exec.state.borrow_mut().object(addr, "AtomicU32");
    park_at(exec, Footprint::Wake { obj, woke: true });
    let waker = exec.rc11_on.get().then(|| {
        let t = exec.state.borrow().current;
        with_rc11(exec, |m| {
            let mut s = exec.state.borrow_mut();
            let memory = i128::from(
                // SAFETY: the word a futex wake names is an `AtomicU32` the caller borrows for
                // the call (see `sync::futex::wake_one`).
                unsafe { &*(addr as *const std::sync::atomic::AtomicU32) }.load(Ordering::Relaxed),
            );
            let sc = rc11::graph::Mo::of(Ordering::SeqCst);
            m.sync_fence(t, sc, &mut s.threads[t].clock);
            let (q, _) = m.futex_rmw(t, addr, memory);
            m.sync_access(t, q, &mut s.threads[t].clock);
            (q, m.moot)
        })
    });
    if waker.is_some_and(|(_, moot)| moot) {
        rc11_stop(exec);
    }
    let waker = waker.map(|(q, _)| q);
    let mut s = exec.state.borrow_mut();
    let mut waiters: Vec<(u64, usize)> = s
        .threads
        .iter()
        .enumerate()
        .filter_map(|(i, t)| match t.status {
            Status::Futex { addr: a, seq, .. } if a == addr => Some((seq, i)),
            _ => None,
        })
        .collect();
    waiters.sort_unstable();
    if !all {
        waiters.truncate(1);
    }
    let woken: Vec<usize> = waiters.iter().map(|&(_, i)| i).collect();
    let step = s.step_now();
    for &i in &woken {
        s.threads[i].status = Status::Runnable;
        s.threads[i].cause = step;
        s.threads[i].woken_by = waker;
    }
    let n = woken.len();
    let obj = s.object(addr, "AtomicU32");
    let t = s.current;
    s.threads[t].clock.tick(t);
    s.push(Some(obj), Op::Wake { woken }, location);
    n
}

/// A thread's closure returned: its stores become visible. Finishing is not a step of its own:
/// a join waiting for it depends on the thread's last step.
pub(crate) fn exit(exec: &Exec, location: &'static Location<'static>) {
    drain(exec, location);
}

/// Parks the current thread until the scheduler picks it: makes the access to the object at
/// `addr` that follows a step of its own.
pub(crate) fn step(exec: &Exec, addr: usize, kind: &'static str, write: bool) {
    park_at(exec, touch(exec, addr, kind, write));
    if exec.rc11_on.get() {
        let t = exec.state.borrow().current;
        with_rc11(exec, |m| m.other(t, None));
    }
}

/// Locks the modelled mutex at `addr` (one step): the thread is not picked while another holds
/// it, and the step that takes it joins the clock the last unlock published.
pub(crate) fn mutex_lock(exec: &Exec, addr: usize, location: &'static Location<'static>) {
    if exec.rc11_on.get() {
        if !rc11_mutex_take(exec, addr, location, true) {
            unreachable!("a blocking lock under RC11 returns only once it holds the mutex");
        }
        return;
    }
    drain(exec, location);
    {
        let mut s = exec.state.borrow_mut();
        let obj = s.object(addr, "Mutex");
        let t = s.current;
        let thread = &mut s.threads[t];
        thread.next = Footprint::Lock { obj };
        thread.peek = None;
        thread.wants = Some(obj);
    }
    park(exec);
    let mut s = exec.state.borrow_mut();
    let obj = s.object(addr, "Mutex");
    acquire_mutex(&mut s, obj, location, Op::Lock);
}

/// How many times a sampled lock under RC11 tries again after reading an older value before it
/// blocks for good (see [`rc11_mutex_take`]); each try reads the newest value with a chance.
const RC11_LOCK_TRIES: u32 = 64;

/// Under RC11 the modelled mutex is a word of its own (at the complement of its address, where
/// no atomic lives): 0 free, 1 held. Taking it is one step, a compare-and-swap 0 -> 1 with
/// Acquire; if it reads 1, a blocking lock blocks for good in this run, as a spinning thread
/// does (the search explores the run where it reads the unlock instead), and `try_lock` fails.
/// Returns whether it took the mutex.
fn rc11_mutex_attempt(
    exec: &Exec,
    addr: usize,
    location: &'static Location<'static>,
    block: bool,
    wait: bool,
) -> bool {
    let word = !addr;
    let obj = {
        let mut s = exec.state.borrow_mut();
        let obj = s.object(addr, "Mutex");
        let t = s.current;
        s.threads[t].next = Footprint::Object { obj, write: true };
        s.threads[t].peek = None;
        if wait {
            // Not picked while another thread holds it (see `exec::can_step`).
            s.threads[t].wants = Some(obj);
        }
        obj
    };
    park(exec);
    let t = exec.state.borrow().current;
    exec.state.borrow_mut().threads[t].wants = None;
    let acq = rc11::graph::Mo::of(Ordering::Acquire);
    let rlx = rc11::graph::Mo::default();
    let d = rc11::Desc {
        access: rc11::graph::Access::Cas {
            expected: 0,
            new: 1,
            success: (acq, rlx),
            failure: rlx,
        },
        value: 1,
        rmo: rlx,
        wmo: rlx,
        addresses: false,
    };
    let (took, moot) = with_rc11(exec, |m| {
        let (e, read) = m.access(t, word, 0, d, true);
        let took = read == Some(0);
        m.after_access(e, took.then_some(1));
        let mut s = exec.state.borrow_mut();
        m.sync_access(t, e, &mut s.threads[t].clock);
        (took, m.moot)
    });
    if moot {
        rc11_stop(exec);
    }
    {
        let mut s = exec.state.borrow_mut();
        let s = &mut *s;
        s.threads[t].clock.tick(t);
        if !s.threads[t].watch.contains(&obj) {
            s.threads[t].watch.push(obj);
        }
        if took {
            s.objects[obj].held = Some(t);
            s.writes += 1;
            s.objects[obj].written = s.writes;
        }
        let op = if block {
            Op::Lock
        } else {
            Op::TryLock { ok: took }
        };
        s.push(Some(obj), op, location);
    }
    took
}

fn rc11_mutex_take(
    exec: &Exec,
    addr: usize,
    location: &'static Location<'static>,
    block: bool,
) -> bool {
    // Sampling (random, PCT) waits for the holder's unlock, as under the other memory models,
    // and tries again if its compare-and-swap reads an older value (a failed one is a plain
    // read, which RC11 lets read a stale store): a lock that read the held value would block for
    // good and end the sampled execution uncounted, and with a lock taken by several threads
    // nearly every sample did. The exhaustive search takes one step and explores the execution
    // where it reads the unlock instead.
    let wait = block && !with_rc11(exec, |m| m.exploring());
    let mut took = rc11_mutex_attempt(exec, addr, location, block, wait);
    let mut tries = 1;
    while !took && wait && tries < RC11_LOCK_TRIES {
        took = rc11_mutex_attempt(exec, addr, location, block, wait);
        tries += 1;
    }
    if !took && block {
        // Held: this run blocks here for good (see above).
        let mut s = exec.state.borrow_mut();
        let since = s.step;
        let t = s.current;
        s.threads[t].status = Status::Spinning {
            writes: u64::MAX,
            since,
        };
        s.threads[t].next = Footprint::Local;
        drop(s);
        rc11_stop(exec);
    }
    took
}

/// Releases the modelled mutex at `addr` under RC11 (one step): a Release store of 0 to its
/// word (see [`rc11_mutex_take`]).
fn rc11_mutex_release(exec: &Exec, addr: usize, location: &'static Location<'static>) {
    let obj = {
        let mut s = exec.state.borrow_mut();
        let obj = s.object(addr, "Mutex");
        let t = s.current;
        if s.objects[obj].held != Some(t) {
            // A guard taken outside this execution (before `check`): nothing to hand on.
            return;
        }
        s.threads[t].next = Footprint::Object { obj, write: true };
        s.threads[t].peek = None;
        obj
    };
    park(exec);
    let t = exec.state.borrow().current;
    let d = rc11::Desc {
        access: rc11::graph::Access::Store,
        value: 0,
        rmo: rc11::graph::Mo::default(),
        wmo: rc11::graph::Mo::of(Ordering::Release),
        addresses: false,
    };
    with_rc11(exec, |m| {
        let (e, _) = m.access(t, !addr, 0, d, true);
        m.after_access(e, Some(0));
        let mut s = exec.state.borrow_mut();
        m.sync_access(t, e, &mut s.threads[t].clock);
    });
    let mut s = exec.state.borrow_mut();
    let s = &mut *s;
    s.objects[obj].held = None;
    s.threads[t].clock.tick(t);
    s.writes += 1;
    s.objects[obj].written = s.writes;
    s.push(Some(obj), Op::Unlock, location);
}

/// Takes the modelled mutex `obj`, which is free: the current thread's step.
fn acquire_mutex(s: &mut State, obj: usize, location: &'static Location<'static>, op: Op) {
    let t = s.current;
    debug_assert!(
        s.objects[obj].held.is_none(),
        "picked while the mutex is held"
    );
    s.objects[obj].held = Some(t);
    let thread = &mut s.threads[t];
    thread.wants = None;
    thread.clock.join(&s.objects[obj].sync);
    thread.clock.tick(t);
    if !thread.watch.contains(&obj) {
        thread.watch.push(obj);
    }
    s.writes += 1;
    s.objects[obj].written = s.writes;
    s.push(Some(obj), op, location);
}

/// Tries to lock the modelled mutex at `addr` (one step); `false` if another thread holds it.
pub(crate) fn mutex_try_lock(
    exec: &Exec,
    addr: usize,
    location: &'static Location<'static>,
) -> bool {
    if exec.rc11_on.get() {
        return rc11_mutex_take(exec, addr, location, false);
    }
    drain(exec, location);
    {
        let mut s = exec.state.borrow_mut();
        let obj = s.object(addr, "Mutex");
        let t = s.current;
        let thread = &mut s.threads[t];
        thread.next = Footprint::Lock { obj };
        thread.peek = None;
        thread.trying = true;
    }
    park(exec);
    let mut s = exec.state.borrow_mut();
    let t = s.current;
    s.threads[t].trying = false;
    let obj = s.object(addr, "Mutex");
    if s.objects[obj].held.is_none() {
        acquire_mutex(&mut s, obj, location, Op::TryLock { ok: true });
        return true;
    }
    let t = s.current;
    let thread = &mut s.threads[t];
    thread.clock.tick(t);
    if !thread.watch.contains(&obj) {
        thread.watch.push(obj);
    }
    s.push(Some(obj), Op::TryLock { ok: false }, location);
    false
}

/// Unlocks the modelled mutex at `addr` (one step): publishes the thread's clock to the next
/// locker, and lets threads waiting for it be picked.
pub(crate) fn mutex_unlock(exec: &Exec, addr: usize, location: &'static Location<'static>) {
    if exec.rc11_on.get() {
        rc11_mutex_release(exec, addr, location);
        return;
    }
    {
        let mut s = exec.state.borrow_mut();
        let obj = s.object(addr, "Mutex");
        let t = s.current;
        if s.objects[obj].held != Some(t) {
            // A guard taken outside this execution (before `check`): nothing to hand on.
            return;
        }
    }
    drain(exec, location);
    {
        let mut s = exec.state.borrow_mut();
        let obj = s.object(addr, "Mutex");
        let t = s.current;
        s.threads[t].next = Footprint::Unlock { obj };
        s.threads[t].peek = None;
    }
    park(exec);
    let mut s = exec.state.borrow_mut();
    let s = &mut *s;
    let obj = s.object(addr, "Mutex");
    let t = s.current;
    s.objects[obj].held = None;
    s.objects[obj].released = s.step_now();
    s.objects[obj].sync.assign(&s.threads[t].clock);
    s.threads[t].clock.tick(t);
    s.writes += 1;
    s.objects[obj].written = s.writes;
    s.push(Some(obj), Op::Unlock, location);
}
