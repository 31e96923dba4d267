//! Simulated threads with `std::thread`'s names and signatures: [`spawn`], [`scope`],
//! [`Builder`], [`current`], [`park`] / [`Thread::unpark`], [`sleep`], [`yield_now`] and
//! [`thread_local!`](crate::thread_local) values per simulated thread.
//!
//! Inside a running check a spawned thread is a coroutine that the scheduler runs one step at a
//! time; outside a check these are `std::thread`'s functions, so code written against them also
//! runs for real.

use std::num::NonZeroU64;
use std::panic::Location;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::sync::atomic::{AtomicU32, Ordering};
use crate::sync::futex;
use crate::{context, rt};

mod local;
mod scope;

pub use local::{AccessError, LocalKey};
pub use scope::{Scope, ScopedJoinHandle, scope};
// std's, for code written against `std::thread`: the join result, the machine's parallelism, and
// whether the running thread unwinds (inside a check, the simulated one: a thread unwinding from
// a panic runs alone until it is caught).
pub use std::thread::{Result, available_parallelism, panicking};

enum Inner<T> {
    Sim {
        id: usize,
        result: Arc<Mutex<Option<T>>>,
        thread: Thread,
    },
    Std(std::thread::JoinHandle<T>, Thread),
}

/// An owned permission to join a thread (wait for it to finish and take its result).
///
/// Dropping it detaches the thread; inside a simulation the execution still runs it to the end.
///
/// # Examples
///
/// ```
/// let h = lockstep_sim::thread::spawn(|| 6 * 7);
/// assert_eq!(h.join().unwrap(), 42);
/// ```
pub struct JoinHandle<T>(Inner<T>);

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Inner::Sim { id, .. } => f.debug_struct("JoinHandle").field("thread", id).finish(),
            Inner::Std(h, _) => f.debug_tuple("JoinHandle").field(h).finish(),
        }
    }
}

/// Spawns a thread running `f` and returns a handle to join it.
///
/// Inside a running check this is one scheduling step and the new thread is a simulated one;
/// outside it is `std::thread::spawn`.
///
/// # Examples
///
/// ```
/// use lockstep_sim::{Config, check, thread};
///
/// check(Config::random(7, 10), || {
///     let h = thread::spawn(|| 1);
///     assert_eq!(h.join().unwrap(), 1);
/// });
/// ```
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match spawn_named(f, None, Location::caller()) {
        Ok(h) => h,
        Err(e) => panic!("failed to spawn thread: {e}"),
    }
}

/// Spawns `f`, named `name`; a simulated thread inside a check, a std thread outside.
fn spawn_named<F, T>(
    f: F,
    name: Option<String>,
    location: &'static Location<'static>,
) -> std::io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match rt::current() {
        None => {
            let mut b = std::thread::Builder::new();
            if let Some(name) = name {
                b = b.name(name);
            }
            b.spawn(f).map(|h| {
                let t = Thread(ThreadInner::Std(h.thread().clone()));
                JoinHandle(Inner::Std(h, t))
            })
        }
        Some(e) => {
            let result = Arc::new(Mutex::new(None));
            let slot = Arc::clone(&result);
            let body = Box::new(move || {
                let v = f();
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(v);
                // std drops a thread's thread-locals when it exits.
                if let Some(t) = context::current_thread() {
                    context::thread_exit(t);
                }
            });
            let id = rt::spawn(e, body, location);
            if let Some(name) = &name {
                context::with(|s| s.names.insert(id, name.clone()));
            }
            let thread = Thread(ThreadInner::Sim {
                id: sim_id(id),
                index: id,
                name,
            });
            Ok(JoinHandle(Inner::Sim { id, result, thread }))
        }
    }
}

impl<T> JoinHandle<T> {
    /// Waits for the thread to finish and returns its result.
    ///
    /// Inside a simulation a panicking thread ends the whole execution as a failure, so this
    /// returns `Ok` there; outside it is `std::thread::JoinHandle::join`.
    ///
    /// # Errors
    ///
    /// The thread's panic payload, if it panicked (outside a simulation).
    ///
    /// # Examples
    ///
    /// ```
    /// let h = lockstep_sim::thread::spawn(|| "done");
    /// assert_eq!(h.join().unwrap(), "done");
    /// ```
    #[track_caller]
    pub fn join(self) -> std::thread::Result<T> {
        match self.0 {
            Inner::Std(h, _) => h.join(),
            Inner::Sim { id, result, .. } => {
                if let Some(e) = rt::current() {
                    rt::join(e, id, Location::caller());
                }
                let v = result.lock().unwrap_or_else(|p| p.into_inner()).take();
                v.ok_or_else(|| {
                    Box::new("the thread did not finish") as Box<dyn std::any::Any + Send>
                })
            }
        }
    }

    /// The simulated thread's number (0 is the checked closure), or `None` for a real thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = lockstep_sim::thread::spawn(|| ());
    /// assert_eq!(h.id(), None); // outside a check: a real thread
    /// h.join().unwrap();
    /// ```
    pub fn id(&self) -> Option<usize> {
        match &self.0 {
            Inner::Sim { id, .. } => Some(*id),
            Inner::Std(..) => None,
        }
    }

    /// The thread's handle (to unpark it, or read its id and name).
    ///
    /// # Examples
    ///
    /// ```
    /// let h = lockstep_sim::thread::spawn(|| ());
    /// let t = h.thread().clone();
    /// h.join().unwrap();
    /// assert_ne!(t.id(), lockstep_sim::thread::current().id());
    /// ```
    pub fn thread(&self) -> &Thread {
        match &self.0 {
            Inner::Sim { thread, .. } => thread,
            Inner::Std(_, thread) => thread,
        }
    }

    /// Whether the thread has finished (without waiting). Inside a simulation this is not a
    /// step of its own: it reads whether the result is there.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = lockstep_sim::thread::spawn(|| ());
    /// while !h.is_finished() {
    ///     lockstep_sim::thread::yield_now();
    /// }
    /// h.join().unwrap();
    /// ```
    pub fn is_finished(&self) -> bool {
        match &self.0 {
            Inner::Sim { result, .. } => result.lock().unwrap_or_else(|p| p.into_inner()).is_some(),
            Inner::Std(h, _) => h.is_finished(),
        }
    }
}

/// Yields: inside a simulation the thread is not scheduled again until another thread writes a
/// shared value (as [`spin_loop`](crate::sync::hint::spin_loop)); outside it is
/// `std::thread::yield_now`.
///
/// # Examples
///
/// ```
/// lockstep_sim::thread::yield_now();
/// ```
#[track_caller]
pub fn yield_now() {
    match rt::current() {
        None => std::thread::yield_now(),
        Some(e) => rt::spin(e, Location::caller()),
    }
}

/// A thread's identifier: `std::thread::ThreadId`'s role, unique among the threads of a process
/// (real ones) and of an execution (simulated ones).
///
/// # Examples
///
/// ```
/// use lockstep_sim::thread;
///
/// let me = thread::current().id();
/// assert_eq!(me, thread::current().id());
/// assert_ne!(me, thread::spawn(|| thread::current().id()).join().unwrap());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThreadId(NonZeroU64);

impl ThreadId {
    /// The id as a number, never 0; distinct threads alive at the same time have distinct
    /// numbers, and a simulated thread's number is never a real thread's.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_ne!(lockstep_sim::thread::current().id().as_u64().get(), 0);
    /// ```
    pub fn as_u64(self) -> NonZeroU64 {
        self.0
    }
}

/// The id of simulated thread `index` of the running execution: the high bit set (real threads
/// count up from 1), the execution's number, the thread's.
fn sim_id(index: usize) -> ThreadId {
    let v =
        (1 << 63) | ((context::generation() & 0x7fff_ffff_ffff) << 16) | (index as u64 & 0xffff);
    ThreadId(NonZeroU64::new(v).unwrap_or(NonZeroU64::MIN))
}

/// The id of the calling real thread.
fn std_id() -> ThreadId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    std::thread_local! {
        // Relaxed: only uniqueness matters, which the read-modify-write guarantees.
        static ID: u64 = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    ThreadId(NonZeroU64::new(ID.with(|id| *id)).unwrap_or(NonZeroU64::MIN))
}

#[derive(Clone, Debug)]
enum ThreadInner {
    Sim {
        id: ThreadId,
        index: usize,
        name: Option<String>,
    },
    Std(std::thread::Thread),
}

/// A handle to a thread: `std::thread::Thread`'s [`id`](Thread::id), [`name`](Thread::name)
/// and [`unpark`](Thread::unpark), for simulated threads too.
///
/// # Examples
///
/// ```
/// use lockstep_sim::thread;
///
/// let t = thread::Builder::new().name("worker".into()).spawn(|| thread::current()).unwrap();
/// assert_eq!(t.join().unwrap().name(), Some("worker"));
/// ```
#[derive(Clone, Debug)]
pub struct Thread(ThreadInner);

impl Thread {
    /// The thread's identifier.
    ///
    /// # Examples
    ///
    /// ```
    /// let t = lockstep_sim::thread::current();
    /// assert_eq!(t.id(), lockstep_sim::thread::current().id());
    /// ```
    pub fn id(&self) -> ThreadId {
        match &self.0 {
            ThreadInner::Sim { id, .. } => *id,
            ThreadInner::Std(t) => {
                if t.id() == std::thread::current().id() {
                    std_id()
                } else {
                    // Another real thread: its number is known only to it; derive a stable
                    // one from std's id (distinct from every simulated id: high bit clear).
                    use std::hash::{Hash, Hasher};
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    t.id().hash(&mut h);
                    ThreadId(
                        NonZeroU64::new((h.finish() >> 1) | 1 << 62).unwrap_or(NonZeroU64::MIN),
                    )
                }
            }
        }
    }

    /// The thread's name, if it was given one (the checked closure is named `"main"`).
    ///
    /// # Examples
    ///
    /// ```
    /// lockstep_sim::check(lockstep_sim::Config::random(1, 1), || {
    ///     assert_eq!(lockstep_sim::thread::current().name(), Some("main"));
    /// });
    /// ```
    pub fn name(&self) -> Option<&str> {
        match &self.0 {
            ThreadInner::Sim { name, .. } => name.as_deref(),
            ThreadInner::Std(t) => t.name(),
        }
    }

    /// Makes the thread's park token available: its next (or current) [`park`] returns.
    ///
    /// Inside a simulation this is a store and a futex wake (steps of the caller).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_sim::{Config, check, thread};
    ///
    /// check(Config::dfs(None), || {
    ///     let main = thread::current();
    ///     let h = thread::spawn(move || main.unpark());
    ///     thread::park();
    ///     h.join().unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn unpark(&self) {
        match &self.0 {
            ThreadInner::Std(t) => t.unpark(),
            ThreadInner::Sim { id, index, .. } => {
                if sim_id(*index) != *id {
                    return; // a thread of an earlier execution
                }
                with_token(*index, |token| {
                    // Release: what the unparker did before is visible after `park` returns.
                    token.store(1, Ordering::Release);
                    futex::wake_one(token);
                });
            }
        }
    }
}

/// Runs `f` with simulated thread `t`'s park token (made on first use).
fn with_token<R>(t: usize, f: impl FnOnce(&AtomicU32) -> R) -> R {
    let token: *const AtomicU32 = context::with(|s| {
        &**s.tokens
            .entry(t)
            .or_insert_with(|| Box::new(AtomicU32::new(0))) as *const AtomicU32
    })
    .expect("inside a simulation");
    // SAFETY: the token is boxed (a stable address) and dropped only when the execution ends,
    // after every simulated thread, so it outlives this call.
    f(unsafe { &*token })
}

/// The calling thread's handle.
///
/// # Examples
///
/// ```
/// let t = lockstep_sim::thread::current();
/// println!("{:?} {:?}", t.id(), t.name());
/// ```
pub fn current() -> Thread {
    match context::current_thread() {
        None => Thread(ThreadInner::Std(std::thread::current())),
        Some(index) => {
            let name = if index == 0 {
                Some("main".to_owned())
            } else {
                context::with(|s| s.names.get(&index).cloned()).flatten()
            };
            Thread(ThreadInner::Sim {
                id: sim_id(index),
                index,
                name,
            })
        }
    }
}

/// Blocks until the thread's park token is available, then consumes it (`std::thread::park`);
/// may return spuriously, so callers re-check their condition in a loop.
///
/// Inside a simulation the wait is a futex wait on the thread's token: a thread that parks with
/// no unpark coming is reported as a deadlock.
///
/// # Examples
///
/// ```
/// let me = lockstep_sim::thread::current();
/// me.unpark();
/// lockstep_sim::thread::park(); // the token is there: returns at once
/// ```
#[track_caller]
pub fn park() {
    match context::current_thread() {
        None => std::thread::park(),
        Some(t) => with_token(t, |token| {
            // Acquire: pairs with `unpark`'s Release.
            if token.swap(0, Ordering::Acquire) == 1 {
                return;
            }
            futex::wait(token, 0, false);
            token.swap(0, Ordering::Acquire);
        }),
    }
}

/// Like [`park`], giving up after `dur` (on the simulated clock inside a check).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// lockstep_sim::check(lockstep_sim::Config::random(1, 2), || {
///     lockstep_sim::thread::park_timeout(Duration::from_secs(3)); // nobody unparks: times out
/// });
/// ```
#[track_caller]
pub fn park_timeout(dur: Duration) {
    match context::current_thread() {
        None => std::thread::park_timeout(dur),
        Some(t) => {
            let deadline = crate::time::now() + dur;
            with_token(t, |token| {
                if token.swap(0, Ordering::Acquire) == 1 {
                    return;
                }
                futex::wait_until(token, 0, deadline);
                token.swap(0, Ordering::Acquire);
            })
        }
    }
}

/// Sleeps for `dur`: inside a simulation a timed wait that nobody wakes, after which the
/// simulated clock has moved by `dur` (no real time passes); outside, `std::thread::sleep`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lockstep_sim::{Config, check, thread, time};
///
/// check(Config::random(3, 5), || {
///     let t0 = time::now();
///     thread::sleep(Duration::from_secs(3600));
///     assert!(time::now() - t0 >= Duration::from_secs(3600));
/// });
/// ```
#[track_caller]
pub fn sleep(dur: Duration) {
    if !rt::in_simulation() {
        return std::thread::sleep(dur);
    }
    let deadline = crate::time::now() + dur;
    // A word nobody else can name: only the timeout ends the wait.
    let word = AtomicU32::new(0);
    while futex::wait_until(&word, 0, deadline) {}
}

/// A thread factory with `std::thread::Builder`'s shape: a name (seen by [`Thread::name`]) and
/// a stack size (used outside a simulation; simulated threads use the check's stack size).
///
/// # Examples
///
/// ```
/// let h = lockstep_sim::thread::Builder::new()
///     .name("io".into())
///     .stack_size(64 * 1024)
///     .spawn(|| lockstep_sim::thread::current().name().map(str::to_owned))
///     .unwrap();
/// assert_eq!(h.join().unwrap().as_deref(), Some("io"));
/// ```
#[derive(Debug, Default)]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
}

impl Builder {
    /// A builder with no name and the default stack size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the thread.
    pub fn name(mut self, name: String) -> Self {
        self.name = Some(name);
        self
    }

    /// Sets the stack size of a real thread (ignored for a simulated one).
    pub fn stack_size(mut self, size: usize) -> Self {
        self.stack_size = Some(size);
        self
    }

    /// Spawns the thread.
    ///
    /// # Errors
    ///
    /// The OS error if a real thread cannot be created (never inside a simulation).
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> std::io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let location = Location::caller();
        if !rt::in_simulation()
            && let Some(size) = self.stack_size
        {
            let mut b = std::thread::Builder::new().stack_size(size);
            if let Some(name) = self.name {
                b = b.name(name);
            }
            return b.spawn(f).map(|h| {
                let t = Thread(ThreadInner::Std(h.thread().clone()));
                JoinHandle(Inner::Std(h, t))
            });
        }
        spawn_named(f, self.name, location)
    }

    /// Spawns a scoped thread (see [`scope`]).
    ///
    /// # Errors
    ///
    /// The OS error if a real thread cannot be created (never inside a simulation).
    #[track_caller]
    pub fn spawn_scoped<'scope, 'env, F, T>(
        self,
        scope: &'scope Scope<'scope, 'env>,
        f: F,
    ) -> std::io::Result<ScopedJoinHandle<'scope, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        scope.spawn_named(f, self.name, Location::caller())
    }
}
