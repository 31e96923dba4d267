//! What the std mirror keeps per execution: the simulated clock, thread-local values and park
//! tokens per simulated thread, thread names. The driver calls [`begin_execution`] when an
//! execution starts and [`end_execution`] once its threads are gone (with the simulation off,
//! so destructors of thread-local values act on plain types).

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Duration;

use crate::rt;
use crate::sync::atomic::AtomicU32;

/// The state of one execution that is not the runtime's own.
#[derive(Default)]
pub(crate) struct Store {
    /// Simulated time since the execution started.
    pub(crate) clock: Duration,
    /// Thread-local values: by (thread, key address).
    pub(crate) locals: HashMap<(usize, usize), Box<dyn Any>>,
    /// Park tokens, by thread: 1 when an unpark is pending (futex words, boxed for a stable
    /// address).
    pub(crate) tokens: HashMap<usize, Box<AtomicU32>>,
    /// Names given with `Builder::name`, by thread.
    pub(crate) names: HashMap<usize, String>,
    /// Addresses of the locks poisoned in this execution (a guard dropped during a panic).
    pub(crate) poisoned: std::collections::HashSet<usize>,
}

thread_local! {
    /// Counts executions on this OS thread: with the thread number, a simulated thread's id.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
    static STORE: RefCell<Option<Store>> = const { RefCell::new(None) };
}

/// A new execution starts: fresh storage.
pub(crate) fn begin_execution() {
    GENERATION.with(|g| g.set(g.get() + 1));
    let old = STORE.with(|s| s.borrow_mut().replace(Store::default()));
    drop(old);
}

/// The names the running execution's threads `0..threads` were given (`Builder::name`).
/// Called between the execution's end and [`end_execution`] (no thread runs any more).
pub(crate) fn thread_names(threads: usize) -> Vec<Option<String>> {
    STORE
        .with(|s| {
            s.borrow()
                .as_ref()
                .map(|s| (0..threads).map(|t| s.names.get(&t).cloned()).collect())
        })
        .unwrap_or_default()
}

/// The execution is over and its threads unwound: drop what it kept (outside the borrow, since
/// a destructor may use thread-locals of its own).
pub(crate) fn end_execution() {
    let old = STORE.with(|s| s.borrow_mut().take());
    drop(old);
}

/// The number of executions started on this OS thread.
pub(crate) fn generation() -> u64 {
    GENERATION.with(Cell::get)
}

/// Runs `f` on the running execution's store; `None` outside a simulation.
pub(crate) fn with<R>(f: impl FnOnce(&mut Store) -> R) -> Option<R> {
    rt::current()?;
    STORE.with(|s| s.borrow_mut().as_mut().map(f))
}

/// The simulated thread running now (0 is the checked closure), or `None` outside a simulation.
pub(crate) fn current_thread() -> Option<usize> {
    rt::current().map(|e| e.state.borrow().current)
}

/// Drops the thread-local values of simulated thread `t` (it finished), outside the borrow.
pub(crate) fn thread_exit(t: usize) {
    let values: Vec<Box<dyn Any>> = with(|s| {
        if s.locals.is_empty() {
            return Vec::new();
        }
        let keys: Vec<(usize, usize)> = s.locals.keys().filter(|k| k.0 == t).copied().collect();
        keys.iter().filter_map(|k| s.locals.remove(k)).collect()
    })
    .unwrap_or_default();
    drop(values);
}

/// Whether the lock at `addr` was poisoned in the running execution; `None` outside one.
pub(crate) fn poisoned(addr: usize) -> Option<bool> {
    with(|s| s.poisoned.contains(&addr))
}

/// Marks the lock at `addr` poisoned (`true`) or clean in the running execution; `false`
/// outside one.
pub(crate) fn set_poisoned(addr: usize, on: bool) -> bool {
    with(|s| {
        if on {
            s.poisoned.insert(addr);
        } else {
            s.poisoned.remove(&addr);
        }
    })
    .is_some()
}
