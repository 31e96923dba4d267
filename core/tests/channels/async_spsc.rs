//! `AsyncSpsc` driven by the minimal executor of `async_queue`: a stream in order without lost
//! wake-ups, close waking a waiting task, and cancelled sends dropping their message.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use lockstep_core::channel::AsyncSpsc;
use lockstep_core::{RecvError, SendError, TryRecvError};

use super::async_queue::block_on;
use crate::sized;

#[test]
fn a_stream_through_a_small_ring_arrives_in_order_without_lost_wakeups() {
    let n = sized(20_000);
    // Two slots: both tasks wait often, on both sides.
    let mut ring: AsyncSpsc<usize, 2> = AsyncSpsc::new();
    let (mut tx, mut rx) = ring.split();
    let lost = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let lost = &lost;
        s.spawn(move || {
            block_on(
                async {
                    for i in 0..n {
                        tx.send(i).await.unwrap();
                    }
                },
                lost,
            )
        });
        let received = s.spawn(move || {
            block_on(
                async {
                    let mut next = 0;
                    while let Ok(v) = rx.recv().await {
                        assert_eq!(v, next, "out of order, lost or duplicated");
                        next += 1;
                    }
                    next
                },
                lost,
            )
        });
        assert_eq!(received.join().unwrap(), n);
    });
    assert_eq!(
        lost.load(Ordering::Relaxed),
        0,
        "a task slept through a wake-up"
    );
}

#[test]
fn closing_wakes_the_waiting_side_and_the_consumer_drains_first() {
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    let mut ring: AsyncSpsc<u8, 1> = AsyncSpsc::new();
    {
        let (mut tx, mut rx) = ring.split();
        let mut recv = pin!(rx.recv());
        assert!(recv.as_mut().poll(&mut cx).is_pending());
        tx.try_send(7).unwrap();
        assert_eq!(recv.as_mut().poll(&mut cx), Poll::Ready(Ok(7)));
    }
    let (mut tx, mut rx) = ring.split(); // reopened
    tx.try_send(1).unwrap();
    {
        let mut send = pin!(tx.send(2));
        assert!(send.as_mut().poll(&mut cx).is_pending()); // full
    }
    drop(tx);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    let mut recv = pin!(rx.recv());
    assert_eq!(recv.as_mut().poll(&mut cx), Poll::Ready(Err(RecvError)));
}

#[test]
fn a_send_to_a_dropped_consumer_hands_the_message_back() {
    let mut ring: AsyncSpsc<String, 1> = AsyncSpsc::new();
    let (mut tx, rx) = ring.split();
    drop(rx);
    let lost = AtomicUsize::new(0);
    let r = block_on(tx.send("kept".to_owned()), &lost);
    assert_eq!(r, Err(SendError("kept".to_owned())));
}

/// Counts drops, to see that a cancelled send drops its message exactly once.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn a_cancelled_send_drops_its_message_once_and_the_queued_ones_drop_with_the_ring() {
    let drops = Arc::new(AtomicUsize::new(0));
    let mut cx = Context::from_waker(Waker::noop());
    {
        let mut ring: AsyncSpsc<Counted, 1> = AsyncSpsc::new();
        let (mut tx, _rx) = ring.split();
        assert!(tx.try_send(Counted(Arc::clone(&drops))).is_ok());
        // Boxed, so that dropping it drops the future (a `pin!` one lives to the scope's end).
        let mut send = Box::pin(tx.send(Counted(Arc::clone(&drops))));
        assert!(send.as_mut().poll(&mut cx).is_pending());
        assert_eq!(drops.load(Ordering::Relaxed), 0);
        drop(send);
        assert_eq!(drops.load(Ordering::Relaxed), 1, "the cancelled message");
    }
    assert_eq!(drops.load(Ordering::Relaxed), 2, "the queued message");
}

#[test]
#[cfg_attr(miri, ignore = "a liveness test whose statics are leaked on purpose")]
fn a_waker_that_sends_on_the_ring_when_cloned_does_not_deadlock() {
    crate::within(20, "AsyncSpsc: a waker's clone sends", || {
        let ring: &'static AsyncSpsc<u32, 4> = Box::leak(Box::new(AsyncSpsc::new()));
        let (tx, mut rx) = ring.try_split().unwrap();
        let tx: &'static std::sync::Mutex<_> = Box::leak(Box::new(std::sync::Mutex::new(tx)));
        let mut r = pin!(rx.recv());
        // The consumer waits once with a plain waker: its side is marked as waiting.
        assert!(
            r.as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_pending()
        );
        // Polled again with another waker, which sends when cloned (as an interrupt might while
        // the consumer registers): no deadlock, no lost message.
        let sends = super::async_queue::hook_waker(
            move || {
                let _ = tx.lock().unwrap().try_send(5);
            },
            || {},
        );
        assert_eq!(
            r.as_mut().poll(&mut Context::from_waker(&sends)),
            Poll::Ready(Ok(5))
        );
    });
}
