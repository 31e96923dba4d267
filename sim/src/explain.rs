//! A failing execution as a value ([`Failure`]) and its explanations: the step-by-step text
//! table (one column per thread) and the SVG swimlane picture.

use std::fmt::{self, Write as _};
use std::panic::Location;

use crate::rt::trace::{Event, Op, Trace};
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
                write!(f, "thread {thread} panicked: {message}")
            }
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
    /// The type of each object, by object number (`AtomicU32`, `UnsafeCell` ...).
    pub objects: Vec<&'static str>,
}

impl Failure {
    fn value(&self, object: Option<usize>, v: i128) -> String {
        let is_bool = object
            .and_then(|o| self.objects.get(o))
            .is_some_and(|k| *k == "AtomicBool");
        match (is_bool, v) {
            (true, 0) => "false".to_owned(),
            (true, _) => "true".to_owned(),
            _ => v.to_string(),
        }
    }

    /// One event's operation as table text, e.g. `load #0 = 100`.
    pub fn describe(&self, e: &Event) -> String {
        let o = e.object.map(|o| format!("#{o}")).unwrap_or_default();
        let v = |x: i128| self.value(e.object, x);
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
            Op::JoinWait { child } => format!("join t{child}: blocks"),
            Op::Finish => "finish".to_owned(),
            Op::Panic => "PANIC".to_owned(),
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
            Op::Lock => format!("lock {o}"),
            Op::TryLock { ok: true } => format!("try_lock {o}: ok"),
            Op::TryLock { ok: false } => format!("try_lock {o}: held, FAIL"),
            Op::Unlock => format!("unlock {o}"),
            Op::Wake { woken } if woken.is_empty() => format!("wake {o}: nobody"),
            Op::Wake { woken } => {
                let w: Vec<String> = woken.iter().map(|t| format!("t{t}")).collect();
                format!("wake {o}: {}", w.join(","))
            }
        }
    }

    /// The interleaving as a text table: a row per event, one column per thread, then the
    /// source location.
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
        let cells: Vec<String> = self.trace.iter().map(|e| self.describe(e)).collect();
        let threads = self.threads.max(1);
        let mut width = vec![0usize; threads];
        for (t, w) in width.iter_mut().enumerate() {
            *w = format!("thread {t}").len();
        }
        for (e, c) in self.trace.iter().zip(&cells) {
            width[e.thread] = width[e.thread].max(c.chars().count());
        }
        let mut out = String::new();
        let _ = write!(out, "{:>4} ", "step");
        for (t, w) in width.iter().enumerate() {
            let _ = write!(out, "| {:<w$} ", format!("thread {t}"));
        }
        out.push_str("| location\n");
        let _ = write!(out, "{:->5}", "");
        for w in &width {
            let _ = write!(out, "+{:-<1$}", "", w + 2);
        }
        out.push_str("+---------\n");
        for (e, c) in self.trace.iter().zip(&cells) {
            let _ = write!(out, "{:>4} ", e.step);
            for (t, w) in width.iter().enumerate() {
                let text = if t == e.thread { c.as_str() } else { "" };
                let _ = write!(out, "| {text:<w$} ");
            }
            let _ = writeln!(out, "| {}:{}", e.location.file(), e.location.line());
        }
        out
    }

    /// The interleaving as an SVG swimlane picture: one lane per thread, an event per row, the
    /// value read or written beside it and the source location at the right.
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
        const LANE: usize = 230;
        const ROW: usize = 22;
        const TOP: usize = 40;
        const LEFT: usize = 50;
        let threads = self.threads.max(1);
        let value_x = LEFT + threads * LANE + 10;
        let loc_x = value_x + 110;
        let width = loc_x + 330;
        let height = TOP + self.trace.len() * ROW + 20;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="12">"#
        );
        let _ = writeln!(
            s,
            r#"<rect width="{width}" height="{height}" fill="white"/>"#
        );
        for t in 0..threads {
            let x = LEFT + t * LANE;
            let _ = writeln!(
                s,
                r#"<text x="{}" y="20" font-weight="bold">thread {t}</text>"#,
                x + 8
            );
            let _ = writeln!(
                s,
                r##"<line x1="{c}" y1="28" x2="{c}" y2="{}" stroke="#bbb" stroke-dasharray="4 3"/>"##,
                height - 10,
                c = x + LANE / 2
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{value_x}" y="20" font-weight="bold">value</text>"#
        );
        let _ = writeln!(
            s,
            r#"<text x="{loc_x}" y="20" font-weight="bold">location</text>"#
        );
        let mut prev_thread = None;
        for (i, e) in self.trace.iter().enumerate() {
            let y = TOP + i * ROW;
            let x = LEFT + e.thread * LANE;
            let fill = match e.op {
                Op::Panic => "#f8b4b4",
                Op::Store { .. } | Op::Rmw { .. } | Op::Write { .. } => "#fde2b8",
                Op::CompareExchange { ok: true, .. } | Op::Lock | Op::Unlock => "#fde2b8",
                Op::TryLock { ok: true } | Op::Commit { .. } => "#fde2b8",
                Op::BufferedStore { .. } => "#fff3d6",
                Op::Load { .. } | Op::Read { .. } | Op::CompareExchange { .. } => "#cfe3fb",
                _ => "#e6e6e6",
            };
            if prev_thread.is_some_and(|p| p != e.thread) {
                let _ = writeln!(
                    s,
                    r##"<line x1="{LEFT}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#d33" stroke-width="1"/>"##,
                    y0 = y - 2,
                    x1 = LEFT + threads * LANE
                );
            }
            prev_thread = Some(e.thread);
            let _ = writeln!(
                s,
                r##"<rect x="{}" y="{y}" width="{}" height="{}" rx="4" fill="{fill}" stroke="#888"/>"##,
                x + 4,
                LANE - 8,
                ROW - 4
            );
            let text = xml_escape(&self.describe(e));
            let _ = writeln!(s, r#"<text x="{}" y="{}">{text}</text>"#, x + 10, y + 13);
            let _ = writeln!(
                s,
                r##"<text x="8" y="{}" fill="#666">{}</text>"##,
                y + 13,
                e.step
            );
            if let Some(v) = self.written_or_read(e) {
                let o = e.object.map(|o| format!("#{o} = ")).unwrap_or_default();
                let _ = writeln!(
                    s,
                    r#"<text x="{value_x}" y="{}">{o}{}</text>"#,
                    y + 13,
                    xml_escape(&v)
                );
            }
            let loc = xml_escape(&format!("{}:{}", e.location.file(), e.location.line()));
            let _ = writeln!(
                s,
                r##"<text x="{loc_x}" y="{}" fill="#555">{loc}</text>"##,
                y + 13
            );
        }
        s.push_str("</svg>\n");
        s
    }

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

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "lockstep-sim found a failure: {}", self.kind)?;
        if let Some(seed) = self.seed {
            writeln!(f, "  seed {seed}, execution {}", self.iteration)?;
        }
        writeln!(
            f,
            "  shrunk from {} steps / {} preemptions to {} steps / {} preemptions",
            self.found.0,
            self.found.1,
            self.schedule.len(),
            self.preemptions
        )?;
        writeln!(f, "  schedule: {}", self.schedule)?;
        writeln!(
            f,
            "  replay:   LOCKSTEP_REPLAY={} cargo test <this test>",
            self.schedule
        )?;
        writeln!(
            f,
            "       or   lockstep_sim::check(Config::replay(\"{}\".parse()?), ...)",
            self.schedule
        )?;
        writeln!(f)?;
        f.write_str(&self.table())
    }
}
