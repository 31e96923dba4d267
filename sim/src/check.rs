//! [`check`] and [`try_check`]: run a closure under a scheduler many times, and on failure shrink
//! the schedule and hand back a [`Failure`].

use std::fmt;
use std::mem::discriminant;
use std::panic::Location;
use std::sync::Arc;

use crate::explain::{Failure, FailureKind};
use crate::rt::exec::{Outcome, Runner};
use crate::scheduler::{Dfs, Dpor, Footprint, Pct, Random, Replay, Schedule, Scheduler};

/// A progress callback (see [`Config::progress`]).
pub type ProgressFn = Arc<dyn Fn(&Stats) + Send + Sync>;

/// Which scheduler explores the interleavings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Strategy {
    /// Each step picks a runnable thread uniformly at random (seeded).
    Random,
    /// Probabilistic concurrency testing with bug depth `depth` (seeded).
    Pct {
        /// The number of ordering constraints the bugs sought need (2 or 3 is typical).
        depth: usize,
    },
    /// Every schedule, depth first, with at most `preemption_bound` preemptions (`None`: all).
    Dfs {
        /// The most preemptions a schedule may have; `None` explores every schedule.
        preemption_bound: Option<usize>,
    },
    /// One execution following a recorded schedule.
    Replay(Schedule),
}

/// The memory model atomics follow inside a check.
///
/// # Examples
///
/// ```
/// use lockstep_sim::{Config, MemoryModel};
///
/// let c = Config::dfs(None).memory_model(MemoryModel::Rc11);
/// assert_eq!(c.memory_model, MemoryModel::Rc11);
/// assert_eq!(Config::random(1, 1).weak_memory(true).memory_model, MemoryModel::X86Tso);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MemoryModel {
    /// Every operation takes effect at once, in one global order (the default): the
    /// interleavings of the threads' steps are the only nondeterminism.
    #[default]
    SequentiallyConsistent,
    /// x86-TSO, exactly: a Relaxed or Release store waits in its thread's FIFO store buffer
    /// until a flush (a step the scheduler chooses, `fT` in the schedule) commits it to shared
    /// memory; a load reads its own thread's newest buffered store to the location, else shared
    /// memory; read-modify-writes, SeqCst stores, SeqCst fences, futex calls, the modelled mutex,
    /// spawn, join and a thread's exit wait for their own buffer to drain (never another's);
    /// several threads may hold buffered stores to one atomic at once, and every order in which
    /// they can commit is explored; a cell write neither waits in the buffer nor drains it. It
    /// allows exactly the outcomes x86 allows (store buffering, Peterson's lock with
    /// Release/Acquire failing) and no others (message passing, 2+2W, IRIW and coherence hold).
    /// Every strategy explores it, the exhaustive ones completely.
    X86Tso,
    /// RC11 (Lahav, Vafeiadis, Kang, Hur, Dreyer, PLDI 2017), the model of C++20 and Rust
    /// atomics: a load may read any store that coherence and happens-before allow, not only the
    /// latest one; release/acquire synchronization, C++20's release sequences (continued by
    /// read-modify-writes), fences, read-modify-write atomicity, no load buffering (po ∪ rf is
    /// acyclic), and SeqCst as a partial SC order that must be acyclic, as GenMC checks it (which
    /// also orders `po; hb; po` between SeqCst events at one location, and a read-modify-write's
    /// read before its write). Cells are checked for data races under RC11's happens-before.
    Rc11,
}

impl MemoryModel {
    /// The name the command line and schedule strings use: `sc`, `x86-tso`, `rc11`.
    pub fn name(self) -> &'static str {
        match self {
            MemoryModel::SequentiallyConsistent => "sc",
            MemoryModel::X86Tso => "x86-tso",
            MemoryModel::Rc11 => "rc11",
        }
    }
}

impl fmt::Display for MemoryModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for MemoryModel {
    type Err = String;

    /// Parses `sc` (or `seq-cst`), `x86-tso` (or `tso`), `rc11`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "sc" | "seq-cst" | "seqcst" | "sequentially-consistent" => {
                Ok(MemoryModel::SequentiallyConsistent)
            }
            "x86-tso" | "tso" | "x86tso" => Ok(MemoryModel::X86Tso),
            "rc11" => Ok(MemoryModel::Rc11),
            _ => Err(format!(
                "unknown memory model {s:?}: expected sc, x86-tso or rc11"
            )),
        }
    }
}

/// How to run a check: the strategy, its seed and budget, limits, shrinking and progress.
///
/// # Examples
///
/// ```
/// use lockstep_sim::{Config, Strategy};
///
/// let c = Config::pct(7, 3, 1000).max_steps(500);
/// assert_eq!(c.strategy, Strategy::Pct { depth: 3 });
/// assert_eq!(c.iterations, 1000);
/// ```
#[derive(Clone)]
pub struct Config {
    /// The scheduler.
    pub strategy: Strategy,
    /// The seed of the random and PCT schedulers.
    pub seed: u64,
    /// How many executions to run at most (for DFS: a cap; reaching it leaves it incomplete).
    pub iterations: usize,
    /// The most steps one execution may take before it is reported as a livelock.
    pub max_steps: usize,
    /// Whether to shrink a failing schedule (fewest preemptions, then fewest steps).
    pub shrink: bool,
    /// The most executions shrinking may run.
    pub shrink_budget: usize,
    /// The stack size of each simulated thread, in bytes.
    pub stack_size: usize,
    /// Called with the statistics so far every `progress_every` executions.
    pub progress: Option<ProgressFn>,
    /// How often `progress` is called, in executions.
    pub progress_every: usize,
    /// The memory model atomics follow (see [`memory_model`](Self::memory_model)).
    pub memory_model: MemoryModel,
    /// Whether a timed wait may time out at any step (see
    /// [`explore_timeouts`](Self::explore_timeouts)).
    pub timeouts: bool,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("strategy", &self.strategy)
            .field("seed", &self.seed)
            .field("iterations", &self.iterations)
            .field("max_steps", &self.max_steps)
            .field("shrink", &self.shrink)
            .field("memory_model", &self.memory_model)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl Config {
    fn with(strategy: Strategy, seed: u64, iterations: usize) -> Self {
        Config {
            strategy,
            seed,
            iterations,
            max_steps: 10_000,
            shrink: true,
            shrink_budget: 5_000,
            stack_size: 256 * 1024,
            progress: None,
            progress_every: 10_000,
            memory_model: MemoryModel::SequentiallyConsistent,
            timeouts: false,
        }
    }

    /// `iterations` executions under the seeded random scheduler.
    ///
    /// # Examples
    ///
    /// ```
    /// let stats = lockstep_sim::check(lockstep_sim::Config::random(1, 5), || {});
    /// assert_eq!(stats.schedules, 5);
    /// ```
    pub fn random(seed: u64, iterations: usize) -> Self {
        Self::with(Strategy::Random, seed, iterations)
    }

    /// `iterations` executions under PCT with bug depth `depth`.
    ///
    /// # Examples
    ///
    /// ```
    /// let stats = lockstep_sim::check(lockstep_sim::Config::pct(1, 2, 5), || {});
    /// assert_eq!(stats.schedules, 5);
    /// ```
    pub fn pct(seed: u64, depth: usize, iterations: usize) -> Self {
        Self::with(Strategy::Pct { depth }, seed, iterations)
    }

    /// An exhaustive search: every execution (`None`), or every schedule with at most
    /// `preemption_bound` preemptions.
    ///
    /// Without a bound the search is optimal dynamic partial-order reduction (Abdulla et al.,
    /// POPL 2014 and JACM 2017): it runs each Mazurkiewicz trace of the program exactly once,
    /// that is one execution per way the conflicting steps can be ordered (for atomics: per
    /// reads-from and modification order), and abandons none. Steps conflict when they touch
    /// the same atomic or shared cell and one writes (a store is a write even of the value
    /// already there; a failed compare-and-swap is a read), when they are futex waits and wakes
    /// of one word that change its queue, or acquisitions of one modelled mutex (an unlock
    /// orders the next acquisition, it does not conflict with it); spawn and join order
    /// threads and conflict with nothing. [`Stats::schedules`] is then the number of traces,
    /// [`Stats::complete`] says whether the search ended, and [`Stats::estimate`] estimates
    /// the total while it runs (see [`progress`](Self::progress)).
    ///
    /// Spin loops: a thread at a spin hint is resumed in this search only by nothing else being
    /// able to run (a livelock is then found at the step limit). Once another thread writes
    /// what it looked at, the search does not resume it: the spin iteration changed nothing,
    /// and the executions in which it reads after that write are explored as a race of its
    /// read. An execution in which only such spinners could go on is abandoned and counted in
    /// [`Stats::abandoned`].
    ///
    /// With a bound the search is a depth-first search with sleep sets: preemption-bounded
    /// searches find shallow bugs fast in programs too big for the full search, but may run a
    /// trace more than once.
    ///
    /// Both explore x86-TSO ([`MemoryModel::X86Tso`]) too: each flush of a store buffer is a step
    /// (it writes the location; a load reads it, whether or not its own buffer serves it; a
    /// buffered store touches nothing another thread reads), and where a store goes in the
    /// order of the stores buffered for its atomic is a choice every alternative of which runs.
    /// The search is then complete but not optimal (see [`Config::weak_memory`]).
    ///
    /// Under [`MemoryModel::Rc11`] (see [`memory_model`](Self::memory_model)) the search
    /// enumerates RC11 execution graphs instead, each consistent one exactly once, with the
    /// algorithm of TruSt (Kokologiannakis, Marmanis, Gladstein, Vafeiadis, POPL 2022), GenMC's:
    /// a load reads, in turn, from every store RC11 allows, a store takes every allowed place in
    /// modification order, and a store may revisit an earlier load of its location. Executions
    /// blocked in a spin loop or at a held modelled mutex are counted in [`Stats::blocked`]. A
    /// preemption bound does not bound what each load reads: `Config::dfs(Some(_))` under RC11
    /// panics saying so (sample a large program with [`Config::random`] or [`Config::pct`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use lockstep_sim::{Config, check, thread};
    /// use lockstep_sim::sync::atomic::{AtomicU32, Ordering::SeqCst};
    ///
    /// // Store buffering: three executions, one per outcome other than both loads reading 0.
    /// let stats = check(Config::dfs(None), || {
    ///     let (x, y) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    ///     let (x1, y1) = (Arc::clone(&x), Arc::clone(&y));
    ///     let h = thread::spawn(move || {
    ///         x1.store(1, SeqCst);
    ///         y1.load(SeqCst)
    ///     });
    ///     y.store(1, SeqCst);
    ///     let b = x.load(SeqCst);
    ///     assert!(h.join().unwrap() == 1 || b == 1);
    /// });
    /// assert!(stats.complete);
    /// assert_eq!((stats.schedules, stats.abandoned), (3, 0));
    /// ```
    pub fn dfs(preemption_bound: Option<usize>) -> Self {
        Self::with(Strategy::Dfs { preemption_bound }, 0, usize::MAX)
    }

    /// One execution following `schedule`.
    ///
    /// # Examples
    ///
    /// ```
    /// let stats = lockstep_sim::check(lockstep_sim::Config::replay("0".parse().unwrap()), || {});
    /// assert_eq!(stats.schedules, 1);
    /// ```
    pub fn replay(schedule: Schedule) -> Self {
        Self::with(Strategy::Replay(schedule), 0, 1)
    }

    /// Explores weak memory: x86's total store order (TSO), exactly (a shorthand for
    /// [`memory_model`](Self::memory_model)`(`[`MemoryModel::X86Tso`]`)`; `false` is
    /// sequential consistency). A Relaxed or Release store goes into its thread's store buffer
    /// and becomes visible to other threads when the scheduler picks a flush of that buffer (a
    /// step of its own, `fT` in the schedule string, which starts with `w:`). A thread waits for
    /// its own buffer to drain before a read-modify-write, a `SeqCst` store or fence, a futex
    /// call, the modelled mutex, spawn, join and its exit (a step of its own, "store buffer
    /// drained" in the table); a plain cell write does not drain it. A load sees its own
    /// thread's newest buffered store first. Two threads may hold buffered stores to one atomic
    /// at once; where a store goes in the order they commit is a choice (`cK` in the schedule)
    /// when others are buffered. This finds the bugs of a missing `SeqCst` between a store and a
    /// later load of another location (Dekker's pattern, Peterson's lock with Release/Acquire:
    /// both threads read the old values), which sequentially consistent runs cannot show, and
    /// reports nothing x86 forbids (message passing, 2+2W, IRIW, coherence). Weaker models (Arm's
    /// load-load and store-store reordering) are not explored.
    ///
    /// Every strategy explores it. The exhaustive searches ([`dfs`](Self::dfs)) are complete:
    /// a brute-force x86-TSO machine checks that they show exactly its outcomes
    /// (`sim/tests/tso_model.rs`). They are not optimal under TSO: some executions repeat an
    /// outcome (the order of two stores to one atomic is reached both as the order of the
    /// stores and as a choice), and a few are abandoned (counted in [`Stats::abandoned`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use lockstep_sim::{Config, try_check, thread};
    /// use lockstep_sim::sync::atomic::{AtomicBool, Ordering::{Acquire, Release}};
    ///
    /// // Dekker's pattern with Release stores and Acquire loads: under TSO both threads can
    /// // read false.
    /// let sb = || {
    ///     let flags = Arc::new((AtomicBool::new(false), AtomicBool::new(false)));
    ///     let f = Arc::clone(&flags);
    ///     let h = thread::spawn(move || {
    ///         f.1.store(true, Release);
    ///         f.0.load(Acquire)
    ///     });
    ///     flags.0.store(true, Release);
    ///     let saw_other = flags.1.load(Acquire);
    ///     assert!(saw_other || h.join().unwrap(), "both threads read false");
    /// };
    /// assert!(try_check(Config::random(1, 1000), sb).is_ok());
    /// assert!(try_check(Config::random(1, 1000).weak_memory(true), sb).is_err());
    /// ```
    pub fn weak_memory(mut self, on: bool) -> Self {
        self.memory_model = if on {
            MemoryModel::X86Tso
        } else {
            MemoryModel::SequentiallyConsistent
        };
        self
    }

    /// The memory model the atomics follow (see [`MemoryModel`]); the default is sequential
    /// consistency. [`weak_memory(true)`](Self::weak_memory) is a shorthand for
    /// [`MemoryModel::X86Tso`].
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_sim::{Config, MemoryModel};
    ///
    /// let c = Config::pct(1, 3, 100).memory_model(MemoryModel::X86Tso);
    /// assert_eq!(c.memory_model, MemoryModel::X86Tso);
    /// ```
    pub fn memory_model(mut self, model: MemoryModel) -> Self {
        self.memory_model = model;
        self
    }

    /// Explores timeouts: a timed wait (a futex wait with a deadline, and everything built on it:
    /// `Condvar::wait_timeout`, `park_timeout`, `sleep`, the timed operations of lockstep's
    /// primitives and channels through the simulator) may time out at any step, as a choice
    /// the scheduler makes, instead of only when no other thread can run. The exhaustive search
    /// then runs both ends of every timed wait that a wake could end: woken, and timed out
    /// before the wake. Schedules recorded so start with `t:` (after `w:`), and a replay of one
    /// turns this on.
    ///
    /// Off by default: real timeouts are long next to the steps of a test, and most programs
    /// treat a timeout as an error; turn it on to check that they handle it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use lockstep_sim::{Config, check, thread};
    /// use lockstep_sim::sync::atomic::{AtomicU32, Ordering::SeqCst};
    /// use lockstep_sim::sync::futex;
    ///
    /// let ends = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    /// let seen = Arc::clone(&ends);
    /// let stats = check(Config::dfs(None).explore_timeouts(true), move || {
    ///     let word = Arc::new(AtomicU32::new(0));
    ///     let w = Arc::clone(&word);
    ///     let h = thread::spawn(move || {
    ///         w.store(1, SeqCst);
    ///         futex::wake_one(&w);
    ///     });
    ///     // A timed wait for the store: woken (or never asleep), or timed out first.
    ///     let woken = futex::wait(&word, 0, true);
    ///     seen.lock().unwrap().insert(woken);
    ///     h.join().unwrap();
    /// });
    /// assert!(stats.complete);
    /// assert_eq!(*ends.lock().unwrap(), [false, true].into());
    /// ```
    pub fn explore_timeouts(mut self, on: bool) -> Self {
        self.timeouts = on;
        self
    }

    /// Sets the step limit of one execution.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(lockstep_sim::Config::dfs(None).max_steps(99).max_steps, 99);
    /// ```
    pub fn max_steps(mut self, steps: usize) -> Self {
        self.max_steps = steps;
        self
    }

    /// Turns shrinking on or off.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!lockstep_sim::Config::random(1, 1).shrink(false).shrink);
    /// ```
    pub fn shrink(mut self, on: bool) -> Self {
        self.shrink = on;
        self
    }

    /// Sets the execution budget (the number of executions; a cap for DFS).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(lockstep_sim::Config::dfs(None).iterations(10).iterations, 10);
    /// ```
    pub fn iterations(mut self, iterations: usize) -> Self {
        self.iterations = iterations;
        self
    }

    /// Calls `f` with the statistics every `every` executions.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let calls = Arc::new(AtomicUsize::new(0));
    /// let c = Arc::clone(&calls);
    /// let config = lockstep_sim::Config::random(1, 10).progress(5, move |_| {
    ///     c.fetch_add(1, Ordering::Relaxed);
    /// });
    /// lockstep_sim::check(config, || {});
    /// assert_eq!(calls.load(Ordering::Relaxed), 2);
    /// ```
    pub fn progress(mut self, every: usize, f: impl Fn(&Stats) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self.progress_every = every.max(1);
        self
    }
}

/// What a check did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Executions run to the end (not counting shrinking).
    pub schedules: usize,
    /// Exhaustive search only: executions cut short. With a preemption bound, because they
    /// would only repeat explored ones (every runnable thread was asleep); without one (the
    /// optimal search, which repeats nothing), because only a thread resumed from a spin hint
    /// could go on (see [`Config::dfs`]): 0 on programs that do not spin, under sequential
    /// consistency (under x86-TSO a few executions end with only a sleeping flush left).
    pub abandoned: usize,
    /// Steps over all executions.
    pub steps: usize,
    /// The longest execution, in steps.
    pub longest: usize,
    /// DFS only: every schedule was run, and none was skipped by the preemption bound.
    pub complete: bool,
    /// DFS only: every schedule within the preemption bound was run.
    pub exhausted: bool,
    /// DFS only: some schedules were skipped because of the preemption bound.
    pub pruned: bool,
    /// Exhaustive search without a bound: an estimate of how many executions the whole search
    /// runs (abandoned ones included), from the shape of the part explored so far; exact once
    /// it is complete.
    pub estimate: Option<usize>,
    /// Under RC11: executions that ended with a thread blocked in a spin loop (a spin-loop hint
    /// after loads that did not end the loop) or at a held modelled `Mutex`; the execution where
    /// the loop's loads read what ends it is explored instead. Not counted in `schedules`. A
    /// check in which every execution blocked fails (`FailureKind::Unsupported`): exhaustively,
    /// the program can never finish; sampled, nothing was checked.
    pub blocked: usize,
}

/// Runs `f` under `config`; panics with the explained, shrunk failure if one is found.
///
/// If the environment variable `LOCKSTEP_REPLAY` holds a schedule string, that schedule is
/// replayed once instead of `config`'s strategy (and its trace printed if it fails).
///
/// # Panics
///
/// With the [`Failure`]'s text (seed, schedule, how to replay, the table) when an execution
/// fails.
///
/// # Examples
///
/// ```
/// use lockstep_sim::{Config, check, thread};
/// use lockstep_sim::sync::atomic::{AtomicU32, Ordering::SeqCst};
/// use std::sync::Arc;
///
/// let stats = check(Config::dfs(None), || {
///     let n = Arc::new(AtomicU32::new(0));
///     let n2 = Arc::clone(&n);
///     let h = thread::spawn(move || { n2.fetch_add(1, SeqCst); });
///     n.fetch_add(1, SeqCst);
///     h.join().unwrap();
///     assert_eq!(n.load(SeqCst), 2);
/// });
/// assert!(stats.complete);
/// ```
#[track_caller]
pub fn check(config: Config, f: impl Fn()) -> Stats {
    let mut config = config;
    if let Ok(s) = std::env::var("LOCKSTEP_REPLAY") {
        match s.parse::<Schedule>() {
            Ok(schedule) => {
                config.strategy = Strategy::Replay(schedule);
                config.iterations = 1;
            }
            // A typo must not pass for a replay (the search would run instead, and pass).
            Err(e) => panic!(
                "lockstep-sim: LOCKSTEP_REPLAY={s:?} is not a schedule string ({e}); copy the \
                 `schedule:` line of a failure (like `0x3-1x2`, `w:0x2-f1-1x3`, `rc11:1x2-0x2/1.0`), \
                 or unset it to search"
            ),
        }
    }
    match run(config, &f, Location::caller()) {
        Ok(stats) => stats,
        Err(failure) => panic!("{failure}"),
    }
}

/// Runs `f` under `config`, returning the statistics or the shrunk [`Failure`].
///
/// Unlike [`check`] it ignores `LOCKSTEP_REPLAY`.
///
/// # Errors
///
/// The first failing execution, shrunk if `config.shrink`.
///
/// # Examples
///
/// ```
/// use lockstep_sim::{Config, FailureKind, try_check};
///
/// let f = try_check(Config::random(1, 10), || panic!("always")).unwrap_err();
/// assert!(matches!(f.kind, FailureKind::Panic { thread: 0, .. }));
/// ```
#[track_caller]
pub fn try_check(config: Config, f: impl Fn()) -> Result<Stats, Box<Failure>> {
    run(config, &f, Location::caller())
}

/// The schedulers behind one enum, so the driver is monomorphic.
enum Any {
    Random(Random),
    Pct(Pct),
    Dfs(Dfs),
    Dpor(Dpor),
    Replay(Replay),
}

impl Scheduler for Any {
    fn begin(&mut self, i: usize) -> bool {
        match self {
            Any::Random(s) => s.begin(i),
            Any::Pct(s) => s.begin(i),
            Any::Dfs(s) => s.begin(i),
            Any::Dpor(s) => s.begin(i),
            Any::Replay(s) => s.begin(i),
        }
    }

    #[inline]
    fn pick(
        &mut self,
        runnable: &[usize],
        prev: Option<usize>,
        next: &[Footprint],
        causes: &[u32],
    ) -> Option<usize> {
        match self {
            Any::Random(s) => s.pick(runnable, prev, next, causes),
            Any::Pct(s) => s.pick(runnable, prev, next, causes),
            Any::Dfs(s) => s.pick(runnable, prev, next, causes),
            Any::Dpor(s) => s.pick(runnable, prev, next, causes),
            Any::Replay(s) => s.pick(runnable, prev, next, causes),
        }
    }

    fn choose(&mut self, n: usize) -> usize {
        match self {
            Any::Random(s) => s.choose(n),
            Any::Pct(s) => s.choose(n),
            Any::Dfs(s) => s.choose(n),
            Any::Dpor(s) => s.choose(n),
            Any::Replay(s) => s.choose(n),
        }
    }

    fn needs_footprints(&self) -> bool {
        matches!(self, Any::Dfs(_) | Any::Dpor(_))
    }

    fn diverged(&self) -> Option<String> {
        match self {
            Any::Dpor(s) => s.diverged(),
            _ => None,
        }
    }

    fn exact(&self) -> bool {
        matches!(self, Any::Dpor(_))
    }

    #[inline]
    fn planned(&self) -> Option<usize> {
        match self {
            Any::Dpor(s) => s.planned(),
            _ => None,
        }
    }

    fn end(&mut self, steps: usize) {
        match self {
            Any::Random(s) => s.end(steps),
            Any::Pct(s) => s.end(steps),
            Any::Dfs(s) => s.end(steps),
            Any::Dpor(s) => s.end(steps),
            Any::Replay(s) => s.end(steps),
        }
    }
}

fn run(
    config: Config,
    f: &dyn Fn(),
    origin: &'static Location<'static>,
) -> Result<Stats, Box<Failure>> {
    let mut runner = Runner::new(config.stack_size, config.max_steps);
    // Warns on stderr if the check stops taking steps (code the simulator cannot see).
    let _watch = crate::rt::watchdog::watch(origin);
    let rc11 = match &config.strategy {
        Strategy::Replay(s) => s.rc11_choices().is_some(),
        _ => config.memory_model == MemoryModel::Rc11,
    };
    if rc11 {
        return run_rc11(config, f, origin, runner);
    }
    let weak = match &config.strategy {
        Strategy::Replay(s) => config.memory_model == MemoryModel::X86Tso || s.is_weak_memory(),
        _ => config.memory_model == MemoryModel::X86Tso,
    };
    runner.weak = weak;
    let timeouts = match &config.strategy {
        Strategy::Replay(s) => config.timeouts || s.explores_timeouts(),
        _ => config.timeouts,
    };
    runner.timeouts = timeouts;
    let (mut sched, seed) = match &config.strategy {
        Strategy::Random => (Any::Random(Random::new(config.seed)), Some(config.seed)),
        Strategy::Pct { depth } => (Any::Pct(Pct::new(config.seed, *depth)), Some(config.seed)),
        Strategy::Dfs {
            preemption_bound: None,
        } => (Any::Dpor(Dpor::new()), None),
        Strategy::Dfs { preemption_bound } => (Any::Dfs(Dfs::new(*preemption_bound)), None),
        Strategy::Replay(s) => (Any::Replay(Replay::new(s.steps())), None),
    };
    let mut stats = Stats::default();
    runner.record = false;
    for i in 0..config.iterations {
        if !sched.begin(i) {
            break;
        }
        let outcome = runner.run(f, origin, &mut sched);
        let steps = outcome.schedule.len();
        sched.end(steps);
        if outcome.abandoned {
            stats.abandoned += 1;
            runner.recycle(outcome);
            continue;
        }
        stats.schedules += 1;
        stats.steps += steps;
        stats.longest = stats.longest.max(steps);
        if outcome.failure.is_none() {
            runner.recycle(outcome);
        } else {
            let found = (steps, outcome.preemptions);
            let best = if config.shrink && !matches!(config.strategy, Strategy::Replay(_)) {
                shrink(&mut runner, f, origin, outcome, config.shrink_budget)
            } else {
                outcome
            };
            // Run the chosen schedule once more, recording its trace (executions are
            // deterministic, so it fails the same way).
            runner.record = true;
            let mut replay = Replay::new(best.schedule.clone());
            replay.begin(0);
            let recorded = runner.run(f, origin, &mut replay);
            let best = if recorded.failure == best.failure {
                recorded
            } else {
                best
            };
            return Err(Box::new(failure(best, seed, i, found, weak, timeouts)));
        }
        if let Some(p) = &config.progress
            && stats.schedules % config.progress_every == 0
        {
            if let Any::Dpor(d) = &sched {
                stats.estimate = d.estimate(stats.schedules + stats.abandoned);
            }
            p(&stats);
        }
    }
    if let Any::Dfs(d) = &sched {
        // Exhausted means `begin` found nothing left (not merely the iteration cap).
        let exhausted = d.exhausted || (stats.schedules + stats.abandoned < config.iterations);
        stats.exhausted = exhausted;
        stats.pruned = d.pruned;
        stats.complete = exhausted && !d.pruned;
    }
    if let Any::Dpor(d) = &sched {
        let exhausted = d.exhausted || (stats.schedules + stats.abandoned < config.iterations);
        stats.exhausted = exhausted;
        stats.complete = exhausted;
        if exhausted {
            stats.estimate = Some(stats.schedules + stats.abandoned);
        }
    }
    Ok(stats)
}

/// [`run`] under RC11: the exhaustive search over execution graphs, or sampling, or a replay.
fn run_rc11(
    config: Config,
    f: &dyn Fn(),
    origin: &'static Location<'static>,
    mut runner: Runner,
) -> Result<Stats, Box<Failure>> {
    use crate::rt::rc11::{Mode, Rc11};
    let (mode, mut sched, seed) = match &config.strategy {
        Strategy::Dfs {
            preemption_bound: None,
        } => (Mode::Explore, Any::Random(Random::new(0)), None),
        Strategy::Dfs {
            preemption_bound: Some(_),
        } => panic!(
            "lockstep-sim: under RC11 the exhaustive search is Config::dfs(None); a preemption \
             bound does not bound the choices of what each load reads"
        ),
        Strategy::Random => (
            Mode::Sample(crate::scheduler::Rng::new(config.seed, 0)),
            Any::Random(Random::new(config.seed)),
            Some(config.seed),
        ),
        Strategy::Pct { depth } => (
            Mode::Sample(crate::scheduler::Rng::new(config.seed, 0)),
            Any::Pct(Pct::new(config.seed, *depth)),
            Some(config.seed),
        ),
        Strategy::Replay(s) => (
            Mode::Replay {
                choices: s.rc11_choices().unwrap_or_default().to_vec(),
                next: 0,
            },
            Any::Replay(Replay::new(s.steps())),
            None,
        ),
    };
    let exploring = matches!(mode, Mode::Explore);
    runner.weak = false;
    runner.timeouts = config.timeouts;
    runner.rc11 = Some(Box::new(Rc11::new(mode)));
    runner.record = matches!(config.strategy, Strategy::Replay(_));
    let mut stats = Stats::default();
    let mut ended = false;
    // The first execution that blocked, while none has run to the end.
    let mut first_blocked = None;
    for i in 0..config.iterations {
        let m = runner.rc11.as_mut().expect("set above");
        if let Some(seed) = seed {
            m.reseed(seed, i as u64);
        }
        if !m.begin() || !sched.begin(i) {
            ended = true;
            break;
        }
        let outcome = runner.run(f, origin, &mut sched);
        let steps = outcome.schedule.len();
        sched.end(steps);
        let m = runner.rc11.as_ref().expect("given back by the run");
        if outcome.failure.is_none() {
            if m.moot {
                runner.recycle(outcome);
                continue;
            }
            if m.blocked {
                stats.blocked += 1;
                if stats.schedules == 0 && first_blocked.is_none() {
                    first_blocked = Some((outcome, i));
                } else {
                    runner.recycle(outcome);
                }
                continue;
            }
            if outcome.abandoned {
                stats.abandoned += 1;
                runner.recycle(outcome);
                continue;
            }
        }
        stats.schedules += 1;
        stats.steps += steps;
        stats.longest = stats.longest.max(steps);
        if outcome.failure.is_some() {
            // Run the failing graph once more with the same thread order, recording the trace
            // and the choices that replay it.
            let graph = m.graph().clone();
            runner.rc11 = Some(Box::new(Rc11::new(Mode::Guided(graph))));
            runner.record = true;
            let mut replay = Replay::new(outcome.schedule.clone());
            replay.begin(0);
            runner.rc11.as_mut().expect("set above").begin();
            let recorded = runner.run(f, origin, &mut replay);
            let choices = runner
                .rc11
                .as_ref()
                .map(|m| m.choices.clone())
                .unwrap_or_default();
            let found = (steps, outcome.preemptions);
            let best = if recorded.failure == outcome.failure {
                recorded
            } else {
                outcome
            };
            let mut failure = failure(best, seed, i, found, false, config.timeouts);
            failure.schedule = failure.schedule.rc11(choices);
            return Err(Box::new(failure));
        }
        runner.recycle(outcome);
        if let Some(p) = &config.progress
            && stats.schedules % config.progress_every == 0
        {
            p(&stats);
        }
    }
    if exploring {
        stats.exhausted = ended;
        stats.complete = ended;
        if ended {
            stats.estimate = Some(stats.schedules + stats.blocked);
        }
    }
    if stats.schedules == 0
        && let Some((mut o, i)) = first_blocked
    {
        // Not one execution ran to the end: passing would claim a check that looked at
        // nothing (or, exhaustively, a program that can never finish).
        let message = if exploring && ended {
            format!(
                "no execution RC11 allows runs to the end: in each of the {} explored, a thread \
                 spins for ever (no store it can read ends its loop) or waits for a Mutex nobody \
                 unlocks: a livelock or deadlock of the program",
                stats.blocked
            )
        } else {
            format!(
                "none of the {} executions run under RC11 ran to the end, so nothing was \
                 checked: each blocked in a spin loop or at a held Mutex (under RC11 such an \
                 execution stops there; the exhaustive search, Config::dfs(None), explores the \
                 ones where the loop ends or the lock is free instead; sampling rarely reaches \
                 them in a program that contends for a lock: check it under \
                 MemoryModel::X86Tso or SequentiallyConsistent, or exhaustively)",
                stats.blocked
            )
        };
        o.failure = Some(FailureKind::Unsupported { message });
        let found = (o.schedule.len(), o.preemptions);
        return Err(Box::new(failure(o, seed, i, found, false, config.timeouts)));
    }
    Ok(stats)
}

fn failure(
    o: Outcome,
    seed: Option<u64>,
    iteration: usize,
    found: (usize, usize),
    weak: bool,
    timeouts: bool,
) -> Failure {
    Failure {
        kind: o.failure.unwrap_or(FailureKind::StepLimit { steps: 0 }),
        schedule: Schedule::from_steps(&o.schedule)
            .weak_memory(weak)
            .explore_timeouts(timeouts),
        trace: o.trace,
        preemptions: o.preemptions,
        seed,
        iteration,
        found,
        threads: o.threads,
        names: o.names,
        objects: o.objects,
    }
}

/// Shrinks a failing execution: tries shorter and less preemptive schedules (cut at a switch
/// and continue without preemption, drop a run, shorten a run) and keeps any that fails the
/// same way with fewer preemptions, or as many and fewer steps, until none does or the budget
/// is spent.
fn shrink(
    runner: &mut Runner,
    f: &dyn Fn(),
    origin: &'static Location<'static>,
    mut best: Outcome,
    mut budget: usize,
) -> Outcome {
    let kind = discriminant(best.failure.as_ref().expect("a failing outcome"));
    'improve: while budget > 0 {
        let runs = Schedule::from_steps(&best.schedule).runs().to_vec();
        let mut candidates: Vec<Vec<(usize, usize)>> = Vec::new();
        for k in 1..runs.len() {
            candidates.push(runs[..k].to_vec());
        }
        for k in 0..runs.len() {
            let mut c = runs.clone();
            c.remove(k);
            candidates.push(c);
        }
        for k in 0..runs.len() {
            if runs[k].1 > 1 {
                let mut c = runs.clone();
                c[k].1 -= 1;
                candidates.push(c);
            }
        }
        // Longer runs and swapped runs can remove a preemption (a thread that runs one more
        // step may block, making the next switch free).
        for k in 0..runs.len() {
            let mut c = runs.clone();
            c[k].1 += 1;
            candidates.push(c);
            if k + 1 < runs.len() {
                let mut c = runs.clone();
                c.swap(k, k + 1);
                candidates.push(c);
            }
        }
        for c in candidates {
            if budget == 0 {
                break 'improve;
            }
            budget -= 1;
            let mut replay = Replay::new(Schedule::from_runs(&c).steps());
            replay.begin(0);
            let o = runner.run(f, origin, &mut replay);
            let better =
                (o.preemptions, o.schedule.len()) < (best.preemptions, best.schedule.len());
            if better && o.failure.as_ref().is_some_and(|k| discriminant(k) == kind) {
                best = o;
                continue 'improve;
            }
        }
        break;
    }
    best
}
