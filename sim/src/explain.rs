//! A failing execution as a value ([`Failure`]) and its explanations: the step-by-step text
//! table (one column per thread) and the SVG swimlane picture.

use std::fmt::{self, Write as _};
use std::panic::Location;

use crate::rt::trace::{Event, Op, Trace};

mod svg;
use crate::scheduler::Schedule;

/// What went wrong in a failing execution.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// A simulated thread panicked (a failed assertion, an `unwrap` ...).
    Panic {
        /// The thread that panicked.
        thread: usize,
        /// The panic message and location.
        message: String,
    },
    /// Every unfinished thread is blocked or spinning with nothing left to change.
    Deadlock {
        /// The threads that could not go on.
        blocked: Vec<usize>,
    },
    /// Two accesses to a cell, at least one a write, not ordered by happens-before.
    DataRace {
        /// The cell's object number.
        object: usize,
        /// The earlier access.
        first: RaceAccess,
        /// The access that raced with it.
        second: RaceAccess,
    },
    /// The execution ran longer than the configured step limit (a livelock, or too big a test).
    StepLimit {
        /// Steps taken.
        steps: usize,
    },
    /// The program did something the chosen memory model cannot check (for example a futex
    /// wait under RC11), or did not repeat itself when rerun with the same values read.
    Unsupported {
        /// What, and what to do instead.
        message: String,
    },
}

/// One side of a data race.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RaceAccess {
    /// The thread that accessed the cell.
    pub thread: usize,
    /// Whether it wrote.
    pub write: bool,
    /// Where.
    pub location: &'static Location<'static>,
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::Panic { thread, message } => {
                write!(f, "{} panicked: {message}", thread_name(*thread))
            }
            FailureKind::Unsupported { message } => write!(f, "cannot check this: {message}"),
            FailureKind::Deadlock { blocked } => {
                let list: Vec<String> = blocked.iter().map(|t| t.to_string()).collect();
                write!(
                    f,
                    "deadlock: threads {} are all blocked or spinning",
                    list.join(", ")
                )
            }
            FailureKind::DataRace {
                object,
                first,
                second,
            } => {
                let rw = |a: &RaceAccess| if a.write { "write" } else { "read" };
                write!(
                    f,
                    "data race on #{object}: {} by thread {} at {} and {} by thread {} at {} are not ordered by happens-before",
                    rw(first),
                    first.thread,
                    first.location,
                    rw(second),
                    second.thread,
                    second.location
                )
            }
            FailureKind::StepLimit { steps } => {
                write!(f, "step limit reached after {steps} steps (a livelock?)")
            }
        }
    }
}

/// A failing execution, shrunk: what went wrong, the schedule that replays it and its trace.
///
/// `Display` prints everything a user needs: the failure, the seed, the schedule string, how to
/// replay it (the API call and the `LOCKSTEP_REPLAY` environment variable) and the step table.
///
/// # Examples
///
/// ```
/// use lockstep_sim::{Config, FailureKind, thread};
/// use lockstep_sim::sync::atomic::{AtomicI64, Ordering::Relaxed};
/// use std::sync::Arc;
///
/// let failure = lockstep_sim::try_check(Config::random(1, 1000), || {
///     let x = Arc::new(AtomicI64::new(0));
///     let x2 = Arc::clone(&x);
///     let h = thread::spawn(move || x2.store(x2.load(Relaxed) + 1, Relaxed));
///     x.store(x.load(Relaxed) + 1, Relaxed);
///     h.join().unwrap();
///     assert_eq!(x.load(Relaxed), 2, "lost update");
/// })
/// .unwrap_err();
/// assert!(matches!(failure.kind, FailureKind::Panic { .. }));
/// assert_eq!(failure.preemptions, 1); // shrunk to the one preemption the bug needs
/// let again = lockstep_sim::try_check(Config::replay(failure.schedule.clone()), || {
///     let x = Arc::new(AtomicI64::new(0));
///     let x2 = Arc::clone(&x);
///     let h = thread::spawn(move || x2.store(x2.load(Relaxed) + 1, Relaxed));
///     x.store(x.load(Relaxed) + 1, Relaxed);
///     h.join().unwrap();
///     assert_eq!(x.load(Relaxed), 2, "lost update");
/// })
/// .unwrap_err();
/// assert_eq!(again.trace.len(), failure.trace.len());
/// ```
#[derive(Clone, Debug)]
pub struct Failure {
    /// What went wrong.
    pub kind: FailureKind,
    /// The schedule that replays this execution exactly.
    pub schedule: Schedule,
    /// Every event of the execution.
    pub trace: Trace,
    /// Preemptions in the schedule.
    pub preemptions: usize,
    /// The seed of the run that found it (random and PCT searches).
    pub seed: Option<u64>,
    /// The number of the execution that first failed (0-based), before shrinking.
    pub iteration: usize,
    /// Steps and preemptions of the failing schedule as found, before shrinking.
    pub found: (usize, usize),
    /// How many threads the execution ran.
    pub threads: usize,
    /// Each thread's name, by thread number, if it was given one (`thread::Builder::name`):
    /// the table's header shows it beside the number.
    pub names: Vec<Option<String>>,
    /// The type of each object, by object number (`AtomicU32`, `UnsafeCell` ...).
    pub objects: Vec<&'static str>,
}

impl Failure {
    fn value(&self, object: Option<usize>, v: i128) -> String {
        match object.and_then(|o| self.objects.get(o)).copied() {
            Some("AtomicBool") if v == 0 => "false".to_owned(),
            Some("AtomicBool") => "true".to_owned(),
            // An address: its value differs from one run to the next; only equality matters.
            Some("AtomicPtr") if v == 0 => "null".to_owned(),
            Some("AtomicPtr") => format!("{v:#x}"),
            _ => v.to_string(),
        }
    }

    /// One event's operation as table text, e.g. `load #0 = 100`.
    pub fn describe(&self, e: &Event) -> String {
        self.explain().describe(e)
    }

    /// The failure with names for its objects, a title and the command that replays it, for
    /// printing (see [`Explanation`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_sim::{Config, try_check};
    /// use lockstep_sim::sync::atomic::{AtomicU32, Ordering::Relaxed};
    ///
    /// let f = try_check(Config::random(1, 1), || {
    ///     let hits = AtomicU32::new(0);
    ///     hits.store(1, Relaxed);
    ///     panic!("boom");
    /// })
    /// .unwrap_err();
    /// let text = f.explain().name(0, "hits").replay_command("my-tool --replay {schedule}").to_string();
    /// assert!(text.contains("store hits := 1"));
    /// assert!(text.contains("my-tool --replay"));
    /// ```
    pub fn explain(&self) -> Explanation<'_> {
        Explanation {
            failure: self,
            names: Vec::new(),
            title: None,
            replay_command: None,
        }
    }

    /// The interleaving as a text table (see [`Explanation::table`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_sim::{Config, try_check};
    ///
    /// let f = try_check(Config::random(1, 1), || panic!("boom")).unwrap_err();
    /// assert!(f.table().contains("PANIC"));
    /// ```
    pub fn table(&self) -> String {
        self.explain().table()
    }

    /// The interleaving as an SVG swimlane picture (see [`Explanation::svg`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_sim::{Config, try_check};
    ///
    /// let f = try_check(Config::random(1, 1), || panic!("boom")).unwrap_err();
    /// assert!(f.svg().starts_with("<svg"));
    /// ```
    pub fn svg(&self) -> String {
        self.explain().svg()
    }

    /// The stores that overwrote another thread's update: for each, the index in the trace of
    /// the store, and of the other thread's store it overwrote. A store by thread `t` to an
    /// object overwrites an update when another thread stored to the object after `t`'s last
    /// read of it (the value `t` stores was computed from a stale read): the lost update.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use lockstep_sim::{Config, thread, try_check};
    /// use lockstep_sim::sync::atomic::{AtomicI64, Ordering::Relaxed};
    ///
    /// let f = try_check(Config::dfs(None), || {
    ///     let x = Arc::new(AtomicI64::new(0));
    ///     let x2 = Arc::clone(&x);
    ///     let h = thread::spawn(move || x2.store(x2.load(Relaxed) + 1, Relaxed));
    ///     x.store(x.load(Relaxed) + 1, Relaxed);
    ///     h.join().unwrap();
    ///     assert_eq!(x.load(Relaxed), 2);
    /// })
    /// .unwrap_err();
    /// assert_eq!(f.lost_updates().len(), 1);
    /// ```
    pub fn lost_updates(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (i, e) in self.trace.iter().enumerate() {
            if !is_plain_store(&e.op) {
                continue;
            }
            let Some(o) = e.object else { continue };
            // The thread's last read of the object before this store.
            let read = self.trace[..i]
                .iter()
                .rposition(|r| r.thread == e.thread && r.object == Some(o) && is_read(&r.op));
            let Some(read) = read else { continue };
            let overwritten = self.trace[read + 1..i]
                .iter()
                .rposition(|w| w.thread != e.thread && w.object == Some(o) && writes(&w.op));
            if let Some(w) = overwritten {
                out.push((i, read + 1 + w));
            }
        }
        out
    }
}

/// Whether `op` is a store that does not read (its value came from an earlier read).
fn is_plain_store(op: &Op) -> bool {
    matches!(
        op,
        Op::Store { .. } | Op::Write { .. } | Op::BufferedStore { .. }
    )
}

/// Whether `op` reads its object.
fn is_read(op: &Op) -> bool {
    matches!(op, Op::Load { .. } | Op::Read { .. })
}

/// Whether `op` changes its object's value (as seen by other threads).
fn writes(op: &Op) -> bool {
    matches!(
        op,
        Op::Store { .. }
            | Op::Write { .. }
            | Op::Rmw { .. }
            | Op::CompareExchange { ok: true, .. }
            | Op::Commit { .. }
    )
}

/// An event's source line for the tables: the line of the program under test that called into
/// lockstep, with lockstep's own line in parentheses (`src/bank.rs:20 (core/src/mutex.rs:104)`),
/// or the event's location; lockstep's sources are named from their crate's folder.
fn where_(e: &Event) -> String {
    let file = e.location.file();
    let short = crate::rt::caller::library_file(file)
        .or_else(|| crate::rt::caller::rust_file(file))
        .unwrap_or(file);
    match &e.caller {
        Some(c) => format!("{c} ({short}:{})", e.location.line()),
        None => format!("{short}:{}", e.location.line()),
    }
}

/// How the tables name thread `t`: thread 0 runs the closure passed to `check`.
fn thread_name(t: usize) -> String {
    if t == 0 {
        "thread 0 (main)".to_owned()
    } else {
        format!("thread {t}")
    }
}

/// A [`Failure`] prepared for printing: names for its objects (`count` instead of `#0`), a
/// title for the picture, and the command that replays it, shown first.
///
/// `Display` prints the failure, the schedule, the replay commands, the lost updates (stores
/// that overwrote another thread's update) and the table.
#[derive(Debug, Clone)]
pub struct Explanation<'a> {
    failure: &'a Failure,
    names: Vec<Option<String>>,
    title: Option<String>,
    replay_command: Option<String>,
}

impl<'a> Explanation<'a> {
    /// Names object number `object` (as `#N` in the plain table).
    pub fn name(mut self, object: usize, name: impl Into<String>) -> Self {
        if self.names.len() <= object {
            self.names.resize(object + 1, None);
        }
        self.names[object] = Some(name.into());
        self
    }

    /// A title for the SVG picture (the program that failed).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The command that replays the failure, printed as the first replay hint; `{schedule}` in
    /// it is replaced by the schedule string.
    pub fn replay_command(mut self, command: impl Into<String>) -> Self {
        self.replay_command = Some(command.into());
        self
    }

    fn object(&self, o: usize) -> String {
        match self.names.get(o) {
            Some(Some(n)) => n.clone(),
            _ => format!("#{o}"),
        }
    }

    /// One event's operation as table text, e.g. `load count = 100`.
    pub fn describe(&self, e: &Event) -> String {
        let this = self.failure;
        let o = e.object.map(|o| self.object(o)).unwrap_or_default();
        let v = |x: i128| this.value(e.object, x);
        match &e.op {
            Op::Load { value } => format!("load {o} = {}", v(*value)),
            Op::Store { value } => format!("store {o} := {}", v(*value)),
            Op::Rmw { name, old, new } => format!("{name} {o}: {} -> {}", v(*old), v(*new)),
            Op::CompareExchange {
                expected,
                new,
                ok: true,
                ..
            } => {
                format!("cas {o}: {} -> {} ok", v(*expected), v(*new))
            }
            Op::CompareExchange {
                expected, actual, ..
            } => {
                format!("cas {o}: want {} saw {} FAIL", v(*expected), v(*actual))
            }
            Op::Read { value: Some(x) } => format!("read {o} = {x}"),
            Op::Read { value: None } => format!("read {o}"),
            Op::Write { value: Some(x) } => format!("write {o} := {x}"),
            Op::Write { value: None } => format!("write {o}"),
            Op::Fence => "fence".to_owned(),
            Op::Spin => "spin".to_owned(),
            Op::Spawn { child } => format!("spawn t{child}"),
            Op::Join { child } => format!("join t{child}"),
            Op::Finish => "finish".to_owned(),
            Op::Panic => "PANIC".to_owned(),
            Op::Blocked { waiting } if e.object.is_some() => format!("BLOCKED: {waiting} {o}"),
            Op::Blocked { waiting } => format!("BLOCKED: {waiting}"),
            Op::Wait { expected, actual } if expected == actual => {
                format!("wait {o} (= {expected}): sleep")
            }
            Op::Wait { expected, actual } => {
                format!("wait {o} (want {expected} saw {actual}): return")
            }
            Op::Woken { timed_out: false } => "woken".to_owned(),
            Op::Woken { timed_out: true } => "timed out".to_owned(),
            Op::BufferedStore { value } => format!("store {o} := {} (buffered)", v(*value)),
            Op::Commit { value } => format!("commit {o} := {}", v(*value)),
            Op::Drained => "store buffer drained".to_owned(),
            Op::Membarrier => "membarrier: every store buffer drained".to_owned(),
            Op::CommitsBefore { thread, value } => {
                format!("(commits before t{thread}'s {o} := {})", v(*value))
            }
            Op::Lock => format!("lock {o}"),
            Op::TryLock { ok: true } => format!("try_lock {o}: ok"),
            Op::TryLock { ok: false } => format!("try_lock {o}: held, FAIL"),
            Op::Unlock => format!("unlock {o}"),
            Op::Wake { woken } if woken.is_empty() => format!("wake {o}: nobody"),
            Op::Wake { woken } => {
                let w: Vec<String> = woken.iter().map(|t| format!("t{t}")).collect();
                format!("wake {o}: {}", w.join(","))
            }
            Op::StaleRead { from, newer } => {
                let source = match from {
                    None => "the initial value".to_owned(),
                    Some((t, step)) => format!("t{t}'s store at step {step}"),
                };
                let newer: Vec<String> = newer
                    .iter()
                    .map(|(t, step)| format!("t{t}'s store at step {step}"))
                    .collect();
                format!(
                    "^ read {source}; newer: {}, not yet visible to t{} (no happens-before)",
                    newer.join(", "),
                    e.thread
                )
            }
        }
    }

    /// The interleaving as a text table: a row per event, one column per thread (thread 0, the
    /// checked closure, is the main thread), then the source location. A store that overwrote
    /// another thread's update is marked `<- LOST UPDATE`.
    pub fn table(&self) -> String {
        let f = self.failure;
        let lost: Vec<usize> = f.lost_updates().into_iter().map(|(i, _)| i).collect();
        let cells: Vec<String> = f
            .trace
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let d = self.describe(e);
                if lost.contains(&i) {
                    format!("{d} <- LOST UPDATE")
                } else {
                    d
                }
            })
            .collect();
        let threads = f.threads.max(1);
        let mut width = vec![0usize; threads];
        let header = |t: usize| match f.names.get(t).and_then(Option::as_deref) {
            Some(name) => format!("thread {t} ({name})"),
            None => thread_name(t),
        };
        for (t, w) in width.iter_mut().enumerate() {
            *w = header(t).chars().count();
        }
        for (e, c) in f.trace.iter().zip(&cells) {
            width[e.thread] = width[e.thread].max(c.chars().count());
        }
        let mut out = String::new();
        let _ = write!(out, "{:>4} ", "step");
        for (t, w) in width.iter().enumerate() {
            let _ = write!(out, "| {:<w$} ", header(t));
        }
        out.push_str("| location\n");
        let _ = write!(out, "{:->5}", "");
        for w in &width {
            let _ = write!(out, "+{:-<1$}", "", w + 2);
        }
        out.push_str("+---------\n");
        for (e, c) in f.trace.iter().zip(&cells) {
            let _ = write!(out, "{:>4} ", e.step);
            for (t, w) in width.iter().enumerate() {
                let text = if t == e.thread { c.as_str() } else { "" };
                let _ = write!(out, "| {text:<w$} ");
            }
            let _ = writeln!(out, "| {}", where_(e));
        }
        out
    }
}

impl Failure {
    /// The shared value after an event, when the event read or wrote one.
    fn written_or_read(&self, e: &Event) -> Option<String> {
        let v = match &e.op {
            Op::Load { value } | Op::Store { value } => *value,
            Op::Rmw { new, .. } => *new,
            Op::CompareExchange {
                actual, new, ok, ..
            } => {
                if *ok {
                    *new
                } else {
                    *actual
                }
            }
            Op::Read { value: Some(x) } | Op::Write { value: Some(x) } => *x,
            Op::Commit { value } => *value,
            Op::Wait { actual, .. } => *actual,
            _ => return None,
        };
        Some(self.value(e.object, v))
    }
}

impl fmt::Display for Explanation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.failure;
        writeln!(f, "lockstep-sim found a failure: {}", x.kind)?;
        if let Some(seed) = x.seed {
            writeln!(f, "  seed {seed}, execution {}", x.iteration)?;
        }
        if x.found != (x.schedule.len(), x.preemptions) {
            writeln!(
                f,
                "  shrunk from {} steps / {} preemptions to {} steps / {} preemptions",
                x.found.0,
                x.found.1,
                x.schedule.len(),
                x.preemptions
            )?;
        }
        writeln!(f, "  schedule: {}", x.schedule)?;
        if matches!(x.kind, FailureKind::Unsupported { .. }) && x.trace.is_empty() {
            // About the whole search (a program that did not repeat itself, every execution
            // blocked): replaying one schedule would not show it, and there is no table.
            return writeln!(
                f,
                "  (a finding about the whole search: no replay, no table)"
            );
        }
        let schedule = x.schedule.to_string();
        let mut lead = "  replay:  ";
        if let Some(cmd) = &self.replay_command {
            writeln!(f, "{lead} {}", cmd.replace("{schedule}", &schedule))?;
            lead = "       or  ";
        }
        writeln!(
            f,
            "{lead} LOCKSTEP_REPLAY={schedule} cargo test <this test>"
        )?;
        writeln!(
            f,
            "       or   lockstep_sim::check(Config::replay(\"{schedule}\".parse()?), ...)"
        )?;
        for (store, over) in x.lost_updates() {
            let (s, o) = (&x.trace[store], &x.trace[over]);
            let name = s.object.map(|n| self.object(n)).unwrap_or_default();
            writeln!(
                f,
                "  lost update: at step {} {} stores {name} from a stale read, overwriting the update {} made at step {}",
                s.step,
                thread_name(s.thread),
                thread_name(o.thread),
                o.step
            )?;
        }
        writeln!(f)?;
        f.write_str(&self.table())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.explain(), f)
    }
}
