//! `AsyncQueue` driven by a minimal executor: `block_on` with a waker that unparks the thread.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

use lockstep_core::RecvError;
use lockstep_core::channel::AsyncQueue;

use crate::sized;

/// Wakes a thread parked in [`block_on`].
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `fut` to completion on this thread, parking while it is pending. The park has a
/// timeout, so a lost wake-up shows as slowness, never as a hang; `lost` counts such timeouts.
pub(crate) fn block_on<F: Future>(fut: F, lost: &std::sync::atomic::AtomicUsize) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        let t = std::time::Instant::now();
        std::thread::park_timeout(Duration::from_secs(1));
        if t.elapsed() >= Duration::from_secs(1) {
            lost.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[test]
fn async_senders_and_receivers_move_every_message_exactly_once() {
    let per_producer = sized(5_000);
    let q: AsyncQueue<(usize, usize), 2, 2> = AsyncQueue::new(); // 2 wakers per side: overflow too
    let seen: Vec<AtomicU8> = (0..2 * per_producer).map(|_| AtomicU8::new(0)).collect();
    let lost = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let producers: Vec<_> = (0..2)
            .map(|p| {
                let (q, lost) = (&q, &lost);
                s.spawn(move || {
                    block_on(
                        async {
                            for i in 0..per_producer {
                                q.send((p, i)).await.unwrap();
                            }
                        },
                        lost,
                    )
                })
            })
            .collect();
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let (q, seen, lost) = (&q, &seen, &lost);
                s.spawn(move || {
                    block_on(
                        async {
                            let mut last = [None::<usize>; 2];
                            while let Ok((p, i)) = q.recv().await {
                                assert!(last[p].is_none_or(|l| l < i));
                                last[p] = Some(i);
                                seen[p * per_producer + i].fetch_add(1, Ordering::Relaxed);
                            }
                            assert_eq!(q.recv().await, Err(RecvError));
                        },
                        lost,
                    )
                })
            })
            .collect();
        for t in producers {
            t.join().unwrap();
        }
        q.close();
        for t in consumers {
            t.join().unwrap();
        }
    });
    assert!(seen.iter().all(|c| c.load(Ordering::Relaxed) == 1));
    assert_eq!(
        lost.load(Ordering::Relaxed),
        0,
        "a task slept through a wake-up"
    );
}

/// A waker that runs `on_clone` each time it is cloned and `on_wake` each time it is woken, as
/// a waker that hands work to an interrupt handler (or that is one) might.
pub(crate) fn hook_waker(
    on_clone: impl Fn() + Send + Sync + 'static,
    on_wake: impl Fn() + Send + Sync + 'static,
) -> Waker {
    use std::task::{RawWaker, RawWakerVTable};
    struct Hooks {
        on_clone: Box<dyn Fn() + Send + Sync>,
        on_wake: Box<dyn Fn() + Send + Sync>,
    }
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop);
    fn hooks(p: *const ()) -> &'static Hooks {
        // SAFETY: every `RawWaker` of this vtable points to a leaked `Hooks`.
        unsafe { &*p.cast::<Hooks>() }
    }
    fn clone(p: *const ()) -> RawWaker {
        (hooks(p).on_clone)();
        RawWaker::new(p, &VTABLE)
    }
    fn wake(p: *const ()) {
        (hooks(p).on_wake)();
    }
    fn drop(_: *const ()) {}
    let hooks: &'static Hooks = Box::leak(Box::new(Hooks {
        on_clone: Box::new(on_clone),
        on_wake: Box::new(on_wake),
    }));
    // SAFETY: the vtable's functions only read the leaked `Hooks`, which lives for ever and is
    // `Send + Sync`.
    unsafe { Waker::from_raw(RawWaker::new((hooks as *const Hooks).cast(), &VTABLE)) }
}

#[test]
#[cfg_attr(miri, ignore = "a liveness test whose statics are leaked on purpose")]
fn a_waker_that_sends_on_the_queue_when_cloned_does_not_deadlock() {
    crate::within(20, "AsyncQueue: a waker's clone sends", || {
        let q: &'static AsyncQueue<u32, 4> = Box::leak(Box::new(AsyncQueue::new()));
        let first_woken: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
        // A first task waits: the receivers' wakers are now marked as waiting.
        let first = hook_waker(
            || {},
            || {
                first_woken.fetch_add(1, Ordering::SeqCst);
            },
        );
        let mut r1 = pin!(q.recv());
        assert!(
            r1.as_mut()
                .poll(&mut Context::from_waker(&first))
                .is_pending()
        );
        // A second task's waker sends when cloned, while the queue registers it: the send's
        // wake-up must neither wait for the registration (a deadlock on one core) nor be lost.
        let second = hook_waker(
            move || {
                let _ = q.try_send(7);
            },
            || {},
        );
        let mut r2 = pin!(q.recv());
        let got = r2.as_mut().poll(&mut Context::from_waker(&second));
        assert_eq!(got, Poll::Ready(Ok(7)));
        assert_eq!(
            first_woken.load(Ordering::SeqCst),
            1,
            "the first task was woken"
        );
        // The queue still works.
        q.try_send(8).unwrap();
        assert_eq!(
            r1.as_mut().poll(&mut Context::from_waker(&first)),
            Poll::Ready(Ok(8))
        );
    });
}

#[test]
#[cfg_attr(miri, ignore = "a liveness test whose statics are leaked on purpose")]
fn a_waker_that_sends_or_closes_when_woken_does_not_deadlock() {
    crate::within(20, "AsyncQueue: a waker's wake sends", || {
        let q: &'static AsyncQueue<u32, 4> = Box::leak(Box::new(AsyncQueue::new()));
        // Each wake refills the queue (as an interrupt that answers a request would), and the
        // second closes it.
        let wakes: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
        let refill = hook_waker(
            || {},
            move || match wakes.fetch_add(1, Ordering::SeqCst) {
                0 => q.try_send(100).unwrap(),
                _ => {
                    q.close();
                }
            },
        );
        let mut cx = Context::from_waker(&refill);
        let mut r = pin!(q.recv());
        assert!(r.as_mut().poll(&mut cx).is_pending());
        q.try_send(1).unwrap(); // wakes the task, whose waker sends 100
        assert_eq!(r.as_mut().poll(&mut cx), Poll::Ready(Ok(1)));
        let mut r = pin!(q.recv());
        assert_eq!(r.as_mut().poll(&mut cx), Poll::Ready(Ok(100)));
        let mut r = pin!(q.recv());
        assert!(r.as_mut().poll(&mut cx).is_pending());
        q.try_send(2).unwrap(); // the second wake closes the queue
        assert!(q.is_closed());
        assert_eq!(r.as_mut().poll(&mut cx), Poll::Ready(Ok(2)));
        let mut r = pin!(q.recv());
        assert_eq!(r.as_mut().poll(&mut cx), Poll::Ready(Err(RecvError)));
    });
}
