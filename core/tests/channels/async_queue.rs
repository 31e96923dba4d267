//! `AsyncQueue` driven by a minimal executor: `block_on` with a waker that unparks the thread.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

use lockstep_core::RecvError;
use lockstep_core::channel::AsyncQueue;

use crate::scale;

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
    let per_producer = 5_000 * scale();
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
