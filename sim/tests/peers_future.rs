//! The scenarios of shuttle's `tests/future/` (basic, waker, channel) and loom's `futures.rs`,
//! written against `lockstep_sim::future`, plus lockstep's own `AsyncQueue` and `AsyncSpsc`
//! (their embassy wakers) driven by simulated tasks.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use lockstep_core::channel::{AsyncQueue, AsyncSpsc};
use lockstep_sim::sync::Mutex;
use lockstep_sim::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use lockstep_sim::{Config, FailureKind, check, future, thread, try_check};

async fn add(a: u32, b: u32) -> u32 {
    a + b
}

#[test]
fn block_on_runs_an_async_fn() {
    check(Config::random(1, 3), || {
        assert_eq!(future::block_on(add(20, 22)), 42);
    });
}

#[test]
fn spawned_tasks_chain_and_their_handles_are_futures() {
    let stats = check(Config::dfs(None), || {
        let first = future::spawn(add(1, 2));
        let second = future::spawn(async move { first.await + 10 });
        assert_eq!(future::block_on(second), 13);
    });
    assert!(stats.schedules > 1);
}

#[test]
fn tasks_and_threads_together() {
    check(Config::dfs(Some(2)), || {
        let n = Arc::new(AtomicUsize::new(0));
        let n1 = Arc::clone(&n);
        let t = thread::spawn(move || {
            future::block_on(async move {
                n1.fetch_add(1, SeqCst);
            })
        });
        let n2 = Arc::clone(&n);
        let task = future::spawn(async move {
            n2.fetch_add(1, SeqCst);
        });
        future::block_on(task);
        t.join().unwrap();
        assert_eq!(n.load(SeqCst), 2);
    });
}

#[test]
fn an_unsynchronized_read_in_a_task_race_is_found() {
    // shuttle's async_atomic: some schedule runs the task before the read.
    let failure = try_check(Config::dfs(None), || {
        let x = Arc::new(AtomicUsize::new(0));
        let x2 = Arc::clone(&x);
        let t = future::spawn(async move { x2.store(1, SeqCst) });
        let r = x.load(SeqCst);
        future::block_on(t);
        assert_eq!(r, 0, "the task ran first");
    })
    .unwrap_err();
    assert!(matches!(failure.kind, FailureKind::Panic { .. }));
}

#[test]
fn async_counter_with_many_tasks_on_a_lock() {
    check(Config::random(5, 200), || {
        let count = Arc::new(Mutex::new(0));
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let c = Arc::clone(&count);
                future::spawn(async move {
                    future::yield_now().await;
                    *c.lock().unwrap() += 1;
                })
            })
            .collect();
        future::block_on(async {
            for t in tasks {
                t.await;
            }
        });
        assert_eq!(*count.lock().unwrap(), 3);
    });
}

#[test]
fn yield_now_is_a_scheduling_point() {
    // Between the two reads another task may run: both orders are explored.
    let seen = std::sync::Mutex::new(HashSet::new());
    check(Config::dfs(None), || {
        let x = Arc::new(AtomicUsize::new(0));
        let x2 = Arc::clone(&x);
        let t = future::spawn(async move { x2.store(1, SeqCst) });
        let r = future::block_on(async {
            let a = x.load(SeqCst);
            future::yield_now().await;
            a
        });
        future::block_on(t);
        seen.lock().unwrap().insert(r);
    });
    assert_eq!(seen.lock().unwrap().len(), 2);
}

/// A future that is woken from another thread once a flag is set (the waker stored under a
/// lock): `forget_waker` plants the bug of returning `Pending` without registering.
struct Flag {
    state: Arc<Mutex<(bool, Option<Waker>)>>,
    forget_waker: bool,
}

impl Future for Flag {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.state.lock().unwrap();
        if s.0 {
            return Poll::Ready(());
        }
        if !self.forget_waker {
            s.1 = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

fn flag_program(forget_waker: bool) {
    let state = Arc::new(Mutex::new((false, None::<Waker>)));
    let s2 = Arc::clone(&state);
    let setter = thread::spawn(move || {
        let waker = {
            let mut s = s2.lock().unwrap();
            s.0 = true;
            s.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    });
    future::block_on(Flag {
        state,
        forget_waker,
    });
    setter.join().unwrap();
}

#[test]
fn a_waker_called_from_another_thread_wakes_the_task() {
    check(Config::dfs(None), || flag_program(false));
}

#[test]
fn a_future_that_forgets_its_waker_is_found_as_a_deadlock() {
    let failure = try_check(Config::dfs(None), || flag_program(true)).unwrap_err();
    assert!(
        matches!(failure.kind, FailureKind::Deadlock { .. }),
        "{failure}"
    );
}

#[test]
fn wake_after_the_task_finished_is_harmless() {
    check(Config::dfs(None), || {
        let saved = Arc::new(Mutex::new(None::<Waker>));
        let s2 = Arc::clone(&saved);
        let t = future::spawn(async move {
            std::future::poll_fn(|cx| {
                *s2.lock().unwrap() = Some(cx.waker().clone());
                Poll::Ready(())
            })
            .await
        });
        future::block_on(t);
        if let Some(w) = saved.lock().unwrap().take() {
            w.wake();
        }
    });
}

#[test]
fn async_queue_tasks_deliver_every_message() {
    let stats = check(Config::dfs(Some(2)), || {
        let q: Arc<AsyncQueue<u32, 1>> = Arc::new(AsyncQueue::new());
        let producers: Vec<_> = (0..2)
            .map(|i| {
                let q = Arc::clone(&q);
                future::spawn(async move { q.send(i).await.unwrap() })
            })
            .collect();
        let got = future::block_on(async {
            let a = q.recv().await.unwrap();
            let b = q.recv().await.unwrap();
            for p in producers {
                p.await;
            }
            [a.min(b), a.max(b)]
        });
        assert_eq!(got, [0, 1]);
    });
    assert!(stats.schedules > 1);
}

#[test]
fn async_queue_close_ends_the_receiver() {
    check(Config::dfs(Some(2)), || {
        let q: Arc<AsyncQueue<u32, 2>> = Arc::new(AsyncQueue::new());
        let q2 = Arc::clone(&q);
        let p = future::spawn(async move {
            q2.send(5).await.unwrap();
            q2.close();
        });
        future::block_on(async {
            assert_eq!(q.recv().await, Ok(5));
            assert!(q.recv().await.is_err(), "closed and drained");
            p.await;
        });
    });
}

#[test]
fn async_spsc_halves_in_two_simulated_threads() {
    // Random schedules, not the exhaustive search: an execution the search abandons is torn
    // down by unwinding its threads one by one with the simulation off, and a half dropped then
    // locks the channel's waker registration, which a thread not yet unwound may hold (it would
    // spin for ever). Random schedules run every execution to its end.
    let stats = check(Config::random(11, 300 * lockstep_sim::test_scale()), || {
        let mut ch: AsyncSpsc<u32, 1> = AsyncSpsc::new();
        let (mut tx, mut rx) = ch.split();
        thread::scope(|s| {
            s.spawn(move || {
                future::block_on(async move {
                    for i in 0..3 {
                        tx.send(i).await.unwrap();
                    }
                })
            });
            let got = future::block_on(async move {
                let mut got = Vec::new();
                while let Ok(v) = rx.recv().await {
                    got.push(v);
                }
                got
            });
            assert_eq!(got, [0, 1, 2]);
        });
    });
    assert!(stats.schedules > 1);
}
