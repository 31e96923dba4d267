//! Async tasks as simulated threads: [`block_on`], [`spawn`] (its [`JoinHandle`] is a future)
//! and [`yield_now`].
//!
//! Inside a check, [`block_on`] polls its future on the calling simulated thread and, while the
//! future is pending, blocks in a futex wait on a word its waker sets; the waker's `wake` is a
//! store and a futex wake, visible steps of whichever thread calls it. [`spawn`] runs a future
//! with `block_on` on a new simulated thread. So every scheduler explores async code the way it
//! explores threads, wakers included: a future that returns `Pending` without arranging a wake
//! blocks its task for ever, which the check reports as a deadlock. Outside a check `block_on`
//! parks the OS thread and `spawn` starts an OS thread.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crate::rt;
use crate::sync::atomic::{AtomicU32, Ordering};
use crate::sync::futex;

/// What a `block_on` waker wakes: a futex word inside a simulation, an OS thread outside.
struct Signal {
    /// 1 when woken since the last poll.
    word: AtomicU32,
    /// The OS thread to unpark (outside a simulation).
    thread: std::thread::Thread,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    #[track_caller]
    fn wake_by_ref(self: &Arc<Self>) {
        // Release: what the waker's caller did is visible to the next poll (Acquire swap).
        self.word.store(1, Ordering::Release);
        if rt::in_simulation() {
            futex::wake_one(&self.word);
        } else {
            self.thread.unpark();
        }
    }
}

/// Runs `future` to completion on the calling thread and returns its output.
///
/// Inside a check the thread blocks (a futex wait) while the future is pending and nothing woke
/// it; outside, it parks.
///
/// # Examples
///
/// ```
/// use lockstep_sim::{Config, check, future};
///
/// check(Config::dfs(None), || {
///     let h = future::spawn(async { 6 * 7 });
///     assert_eq!(future::block_on(h), 42);
/// });
/// ```
#[track_caller]
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let signal = Arc::new(Signal {
        word: AtomicU32::new(0),
        thread: std::thread::current(),
    });
    let waker = Waker::from(Arc::clone(&signal));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        // Acquire: pairs with the waker's Release store.
        while signal.word.swap(0, Ordering::Acquire) == 0 {
            if rt::in_simulation() {
                futex::wait(&signal.word, 0, false);
            } else {
                std::thread::park();
            }
        }
    }
}

/// The shared state of a spawned task and its handle.
struct Task<T> {
    /// 1 once the output is in `output`.
    done: AtomicU32,
    output: Mutex<Option<T>>,
    /// The waker of the handle's last pending poll.
    waiter: Mutex<Option<Waker>>,
}

/// A handle to a task made by [`spawn`]: a future of the task's output. Dropping it detaches
/// the task (inside a check the execution still runs it to the end).
pub struct JoinHandle<T> {
    task: Arc<Task<T>>,
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Spawns `future` as a task: inside a check a simulated thread that runs it with
/// [`block_on`], outside an OS thread. Await the returned handle for its output.
///
/// # Examples
///
/// ```
/// use lockstep_sim::sync::atomic::{AtomicU32, Ordering::SeqCst};
/// use lockstep_sim::{Config, check, future};
/// use std::sync::Arc;
///
/// check(Config::dfs(None), || {
///     let n = Arc::new(AtomicU32::new(0));
///     let n2 = Arc::clone(&n);
///     let t = future::spawn(async move { n2.fetch_add(1, SeqCst) });
///     future::block_on(async {
///         future::yield_now().await;
///         t.await;
///     });
///     assert_eq!(n.load(SeqCst), 1);
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let task = Arc::new(Task {
        done: AtomicU32::new(0),
        output: Mutex::new(None),
        waiter: Mutex::new(None),
    });
    let t = Arc::clone(&task);
    drop(crate::thread::spawn(move || {
        let v = block_on(future);
        *lock(&t.output) = Some(v);
        // Release: the output is visible to the poll that reads `done`.
        t.done.store(1, Ordering::Release);
        let waiter = lock(&t.waiter).take();
        if let Some(w) = waiter {
            w.wake();
        }
    }));
    JoinHandle { task }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let task = &self.task;
        // Register first, then look: a task finishing in between finds the waker.
        *lock(&task.waiter) = Some(cx.waker().clone());
        // Acquire: pairs with the task's Release store.
        if task.done.load(Ordering::Acquire) == 1 {
            lock(&task.waiter).take();
            if let Some(v) = lock(&task.output).take() {
                return Poll::Ready(v);
            }
            panic!("a task's JoinHandle polled after it returned its output");
        }
        Poll::Pending
    }
}

/// Returns `Pending` once, after waking its own task: lets other tasks and threads run.
///
/// # Examples
///
/// ```
/// lockstep_sim::future::block_on(lockstep_sim::future::yield_now());
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
