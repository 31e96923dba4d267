//! The lecture's thread scenarios as functions: each runs the program from the slides on real
//! threads with the lockstep primitives and returns what it printed as a [`Report`].
//!
//! The `lockstep` command line runs them (`lockstep race`, `lockstep lecture`), the examples
//! show them one by one, and the integration tests assert their results.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::{Condvar, Event, Mutex, ReentrantMutex, Semaphore};

pub use crate::lecture_ipc::{boundaries, comm_types, models};
pub use crate::server::sockets;

/// The lecture's thread count for the counter scenarios.
pub const THREADS: usize = 100;
/// The lecture's iterations per thread for the counter scenarios.
pub const ITERATIONS: usize = 99_999;
/// At most this many runs of the racy counter before `race` reports 0.
const MAX_RACE_RUNS: usize = 30;

/// What a scenario printed: its result line and wall time, and whether that result is the one
/// the lecture expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The scenario's name (`race`, `lock`, ...).
    pub name: &'static str,
    /// What the lecture expects, in words (`0`, `nonzero`, ...).
    pub expected: String,
    /// The value after `Result:` (a number, or a short phrase for the non-counter scenarios).
    pub got: String,
    /// Whether `got` is what the lecture expects.
    pub pass: bool,
    /// Wall time of the scenario.
    pub elapsed: Duration,
    /// Extra lines that explain the run (printed before the result).
    pub notes: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for note in &self.notes {
            writeln!(f, "{note}")?;
        }
        writeln!(f, "Result: {}", self.got)?;
        write!(f, "Time: {:.3} s", self.elapsed.as_secs_f64())
    }
}

/// The number of CPUs this process may run on (1 if unknown).
pub fn cpus() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `work` on `threads` threads at once and waits for all of them.
fn run_threads(threads: usize, work: impl Fn() + Sync) {
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(&work);
        }
    });
}

/// The racy counter: `threads` threads each do `count += 100; count -= 100` `iterations` times
/// with no lock.
///
/// Each `+=` is an unsynchronized read and a separate write, as in the Python program, modelled
/// soundly with a relaxed atomic load followed by a relaxed store (a plain `i64` would be
/// undefined behaviour, and `fetch_add` would hide the race). Two threads that read the same
/// value both write their own sum, and one update is lost. On a machine with more than one CPU
/// the result is almost never 0.
///
/// # Examples
///
/// ```
/// let r = lockstep_hosted::lecture::race(4, 10_000);
/// assert_eq!(r.name, "race");
/// assert!(r.got.parse::<i64>().is_ok());
/// ```
pub fn race(threads: usize, iterations: usize) -> Report {
    let multi = cpus() > 1 && threads > 1;
    let mut notes = vec![format!(
        "{threads} threads x {iterations} iterations of count += 100; count -= 100, no lock"
    )];
    let start = Instant::now();
    let mut result = race_once(threads, iterations);
    // A lost `+= 100` is often followed by a lost `-= 100` of the same pair of threads, and
    // the two cancel; on a busy machine the threads may also rarely overlap. A run that ends at
    // exactly 0 is therefore repeated (each takes milliseconds), and the notes say how often.
    let mut zeros = 0;
    while result == 0 && multi && zeros < MAX_RACE_RUNS - 1 {
        zeros += 1;
        result = race_once(threads, iterations);
    }
    if zeros > 0 {
        notes.push(format!(
            "{zeros} earlier run(s) ended at 0: no net lost update (none lost, or a lost += and a lost -= cancelled)"
        ));
    }
    if !multi {
        notes.push(
            "only one CPU (or thread): updates are rarely lost here, so 0 is possible".into(),
        );
    }
    Report {
        name: "race",
        expected: if multi {
            "nonzero (lost updates)".into()
        } else {
            "any (one CPU)".into()
        },
        pass: !multi || result != 0,
        got: result.to_string(),
        elapsed: start.elapsed(),
        notes,
    }
}

/// One run of the racy counter; returns the final count.
fn race_once(threads: usize, iterations: usize) -> i64 {
    let count = AtomicI64::new(0);
    // All threads start their loops together, so their read-modify-writes overlap as much as
    // the machine allows (a thread that finished before the next one started could not race).
    // A yielding gate rather than a barrier: a barrier wakes its threads one by one.
    let go = std::sync::atomic::AtomicBool::new(false);
    let ready = AtomicUsize::new(0);
    run_threads(threads + 1, || {
        if ready.fetch_add(1, Ordering::AcqRel) == threads {
            // The last thread to arrive opens the gate and does not count.
            go.store(true, Ordering::Release);
            return;
        }
        while !go.load(Ordering::Acquire) {
            thread::yield_now();
        }
        for _ in 0..iterations {
            // Relaxed: the point of the scenario is that nothing synchronizes these accesses.
            let v = count.load(Ordering::Relaxed);
            count.store(v + 100, Ordering::Relaxed);
            let v = count.load(Ordering::Relaxed);
            count.store(v - 100, Ordering::Relaxed);
        }
    });
    count.into_inner()
}

/// The counter under a [`Mutex`]: the lock is taken around each `+= 100; -= 100` pair
/// (`per_iteration`) or once around a thread's whole loop. The result is always 0.
///
/// # Examples
///
/// ```
/// let r = lockstep_hosted::lecture::lock(4, 1000, true);
/// assert_eq!(r.got, "0");
/// assert!(r.pass);
/// ```
pub fn lock(threads: usize, iterations: usize, per_iteration: bool) -> Report {
    let count = Mutex::new(0i64);
    let start = Instant::now();
    run_threads(threads, || {
        if per_iteration {
            for _ in 0..iterations {
                let mut c = count.lock();
                *c += 100;
                *c -= 100;
            }
        } else {
            let mut c = count.lock();
            for _ in 0..iterations {
                *c += 100;
                *c -= 100;
            }
        }
    });
    counter_report(
        "lock",
        count.into_inner(),
        start.elapsed(),
        threads,
        iterations,
        per_iteration,
        "Lock",
    )
}

/// The counter under a `BoundedSemaphore(1)`: the result is always 0.
///
/// # Examples
///
/// ```
/// let r = lockstep_hosted::lecture::semaphore(4, 1000);
/// assert_eq!(r.got, "0");
/// ```
pub fn semaphore(threads: usize, iterations: usize) -> Report {
    let sem = Semaphore::bounded(1);
    // The semaphore, not this mutex, provides the exclusion; the mutex only lets safe Rust
    // touch the shared counter, and it is never contended.
    let count = Mutex::new(0i64);
    let start = Instant::now();
    run_threads(threads, || {
        for _ in 0..iterations {
            let _permit = sem.acquire_permit();
            let mut c = count
                .try_lock()
                .expect("the semaphore admits one thread at a time");
            *c += 100;
            *c -= 100;
        }
    });
    let mut r = counter_report(
        "semaphore",
        count.into_inner(),
        start.elapsed(),
        threads,
        iterations,
        true,
        "BoundedSemaphore(1)",
    );
    if sem.release().is_err() {
        r.notes
            .push("releasing once more than acquired: rejected (BoundedSemaphore)".into());
    } else {
        r.pass = false;
        r.notes.push("over-release was NOT rejected".into());
    }
    r
}

fn counter_report(
    name: &'static str,
    result: i64,
    elapsed: Duration,
    threads: usize,
    iterations: usize,
    per_iteration: bool,
    what: &str,
) -> Report {
    let held = if per_iteration {
        "taken every iteration"
    } else {
        "held around each thread's loop"
    };
    Report {
        name,
        expected: "0".into(),
        got: result.to_string(),
        pass: result == 0,
        elapsed,
        notes: vec![format!(
            "{threads} threads x {iterations} iterations of count += 100; count -= 100, {what} {held}"
        )],
    }
}

/// Non-blocking acquire: while one thread holds the lock, `try_lock` in another returns at
/// once with nothing (Python's `acquire(blocking=False)` returning `False`); once released it
/// succeeds. A timed attempt gives up after its timeout.
///
/// # Examples
///
/// ```
/// let r = lockstep_hosted::lecture::try_lock();
/// assert!(r.pass, "{r}");
/// ```
pub fn try_lock() -> Report {
    let lock = Mutex::new(());
    let start = Instant::now();
    let held = lock.lock();
    let (busy, busy_took, timed) = thread::scope(|s| {
        s.spawn(|| {
            let t = Instant::now();
            let busy = lock.try_lock().is_none();
            let took = t.elapsed();
            let timed = lock.try_lock_for(Duration::from_millis(20)).is_none();
            (busy, took, timed)
        })
        .join()
        .expect("the trying thread does not panic")
    });
    drop(held);
    let free = thread::scope(|s| {
        s.spawn(|| lock.try_lock().is_some())
            .join()
            .expect("no panic")
    });
    let got = format!(
        "{} while held, {} when free",
        if busy { "False" } else { "True" },
        if free { "True" } else { "False" }
    );
    Report {
        name: "try-lock",
        expected: "False while held, True when free".into(),
        pass: busy && free && timed,
        got,
        elapsed: start.elapsed(),
        notes: vec![
            format!(
                "acquire(blocking=False) on a held lock returned after {:.1} us",
                busy_took.as_secs_f64() * 1e6
            ),
            format!(
                "acquire(timeout=0.02) on a held lock: {}",
                if timed {
                    "gave up after 20 ms"
                } else {
                    "acquired?!"
                }
            ),
        ],
    }
}

/// The reentrant lock: one thread locks `depth` times (a recursive function), another thread
/// blocks until the first has released as often as it locked.
///
/// # Examples
///
/// ```
/// let r = lockstep_hosted::lecture::rlock(3);
/// assert!(r.pass, "{r}");
/// ```
pub fn rlock(depth: u32) -> Report {
    let m = ReentrantMutex::new(Cell::new(0u32));
    let start = Instant::now();
    let deepest = AtomicU32::new(0);
    let other_saw = AtomicU32::new(u32::MAX);
    let inner_done = Event::new();
    fn recurse(m: &ReentrantMutex<Cell<u32>>, left: u32, deepest: &AtomicU32) {
        let g = m.lock();
        g.set(g.get() + 1);
        deepest.fetch_max(m.lock_count(), Ordering::Relaxed);
        if left > 1 {
            recurse(m, left - 1, deepest);
        }
    }
    thread::scope(|s| {
        let g = m.lock();
        s.spawn(|| {
            // Blocks until the main thread's last guard drops.
            let g = m.lock();
            other_saw.store(g.get(), Ordering::Relaxed);
            inner_done.set();
        });
        recurse(&m, depth, &deepest);
        // The other thread cannot have entered: we still hold the outer guard.
        let blocked = !inner_done.wait_timeout(Duration::from_millis(10));
        if !blocked {
            other_saw.store(u32::MAX - 1, Ordering::Relaxed);
        }
        drop(g);
    });
    let deepest = deepest.into_inner();
    let other = other_saw.into_inner();
    let pass = deepest == depth + 1 && other == depth;
    Report {
        name: "rlock",
        expected: format!("depth {}, other thread after full release", depth + 1),
        got: if other == u32::MAX - 1 {
            "other thread entered while locked".into()
        } else {
            format!("depth {deepest}, other thread after full release")
        },
        pass,
        elapsed: start.elapsed(),
        notes: vec![format!(
            "one thread locks the RLock {} times (outer + {depth} recursive), another waits",
            depth + 1
        )],
    }
}

/// A semaphore with `n` permits guarding `n` identical resources shared by `threads` threads:
/// never more than `n` are in use, and every thread gets a free one.
///
/// # Examples
///
/// ```
/// let r = lockstep_hosted::lecture::resources(3, 8, 100);
/// assert!(r.pass, "{r}");
/// ```
pub fn resources(n: usize, threads: usize, rounds: usize) -> Report {
    let sem = Semaphore::bounded(n as u32);
    // Which resources are free: the semaphore guarantees one exists when a permit is held.
    let pool = Mutex::new((0..n).collect::<Vec<usize>>());
    let in_use = AtomicUsize::new(0);
    let peak = AtomicUsize::new(0);
    let uses = AtomicUsize::new(0);
    let start = Instant::now();
    run_threads(threads, || {
        for _ in 0..rounds {
            let _permit = sem.acquire_permit();
            let id = pool
                .lock()
                .pop()
                .expect("a permit guarantees a free resource");
            let now = in_use.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            thread::yield_now(); // use the resource
            in_use.fetch_sub(1, Ordering::SeqCst);
            uses.fetch_add(1, Ordering::Relaxed);
            pool.lock().push(id);
        }
    });
    let peak = peak.into_inner();
    let all = uses.into_inner() == threads * rounds && pool.lock().len() == n;
    Report {
        name: "resources",
        expected: format!("at most {n} in use"),
        got: format!("at most {peak} in use"),
        pass: peak <= n && all,
        elapsed: start.elapsed(),
        notes: vec![format!(
            "{threads} threads share {n} resources guarded by Semaphore({n}), {rounds} uses each"
        )],
    }
}

/// Producer/consumer on a condition variable: producers put items into a bounded buffer and
/// `notify` a consumer; at the end `notify_all` wakes every consumer to stop. Every item is
/// consumed exactly once.
///
/// # Examples
///
/// ```
/// let r = lockstep_hosted::lecture::condition(2, 3, 1000);
/// assert!(r.pass, "{r}");
/// ```
pub fn condition(producers: usize, consumers: usize, items_each: usize) -> Report {
    struct Buffer {
        items: std::collections::VecDeque<u64>,
        done: bool,
    }
    const CAPACITY: usize = 8;
    let buf = Mutex::new(Buffer {
        items: Default::default(),
        done: false,
    });
    let not_empty = Condvar::new();
    let not_full = Condvar::new();
    let consumed = AtomicUsize::new(0);
    let sum = AtomicI64::new(0);
    let start = Instant::now();
    thread::scope(|s| {
        let mut producing = Vec::new();
        for p in 0..producers {
            let (buf, not_empty, not_full) = (&buf, &not_empty, &not_full);
            producing.push(s.spawn(move || {
                for i in 0..items_each {
                    let mut b = not_full.wait_while(buf.lock(), |b| b.items.len() >= CAPACITY);
                    b.items.push_back((p * items_each + i) as u64);
                    drop(b);
                    not_empty.notify_one();
                }
            }));
        }
        for _ in 0..consumers {
            s.spawn(|| {
                loop {
                    let mut b = not_empty.wait_while(buf.lock(), |b| b.items.is_empty() && !b.done);
                    let Some(v) = b.items.pop_front() else { break };
                    drop(b);
                    not_full.notify_one();
                    consumed.fetch_add(1, Ordering::Relaxed);
                    sum.fetch_add(v as i64, Ordering::Relaxed);
                }
            });
        }
        for p in producing {
            p.join().expect("producers do not panic");
        }
        buf.lock().done = true;
        not_empty.notify_all();
    });
    let total = producers * items_each;
    let want_sum = (total as i64) * (total as i64 - 1) / 2;
    let consumed = consumed.into_inner();
    Report {
        name: "condition",
        expected: format!("{total} consumed"),
        got: format!("{consumed} consumed"),
        pass: consumed == total && sum.into_inner() == want_sum,
        elapsed: start.elapsed(),
        notes: vec![format!(
            "{producers} producers x {items_each} items -> {consumers} consumers through a buffer of {CAPACITY}; notify per item, notify_all at the end"
        )],
    }
}

/// The Event: `waiters` threads block in `wait()` until the main thread calls `set()`; after
/// `clear()`, `wait(timeout)` returns `False` when the timeout passes.
///
/// # Examples
///
/// ```
/// let r = lockstep_hosted::lecture::event(4);
/// assert!(r.pass, "{r}");
/// ```
pub fn event(waiters: usize) -> Report {
    let e = Event::new();
    let woken = AtomicUsize::new(0);
    let start = Instant::now();
    let before = thread::scope(|s| {
        for _ in 0..waiters {
            s.spawn(|| {
                e.wait();
                woken.fetch_add(1, Ordering::Relaxed);
            });
        }
        let before = woken.load(Ordering::Relaxed);
        e.set();
        before
    });
    let is_set = e.is_set();
    e.clear();
    let t = Instant::now();
    let timed = e.wait_timeout(Duration::from_millis(50));
    let waited = t.elapsed();
    let woken = woken.into_inner();
    Report {
        name: "event",
        expected: format!("{waiters} woken, wait(0.05) after clear -> False"),
        got: format!(
            "{woken} woken, wait(0.05) after clear -> {}",
            if timed { "True" } else { "False" }
        ),
        pass: before == 0
            && woken == waiters
            && is_set
            && !timed
            && waited >= Duration::from_millis(50),
        elapsed: start.elapsed(),
        notes: vec![
            format!("{waiters} threads wait(); main calls set(): is_set() = {is_set}"),
            format!(
                "clear(); wait(timeout=0.05) returned after {:.1} ms",
                waited.as_secs_f64() * 1e3
            ),
        ],
    }
}
