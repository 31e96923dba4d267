//! The channel family checked under the deterministic simulator (cargo feature `sim`): every
//! message exactly once and in order, no lost wake-up (a lost one shows as a deadlock, since
//! `SimWait` really blocks), replies to the right caller, broadcast counts exact.
//!
//! Sizes are small by default; `LOCKSTEP_TEST_SCALE=N` multiplies the random and PCT budgets.
#![cfg(feature = "sim")]

use std::sync::Arc;

use lockstep_core::channel::{Broadcast, BroadcastError, Duplex, Rendezvous, Spsc};
use lockstep_core::sync::hint::spin_loop;
use lockstep_core::{Queue, RecvError, SimWait, TryRecvError};
use lockstep_sim::{Config, MemoryModel, check, thread};

/// The test-size multiplier from `LOCKSTEP_TEST_SCALE` (1 by default).
fn scale() -> usize {
    lockstep_sim::test_scale()
}

/// Two producers send two numbered messages each through a queue of one slot; one consumer
/// receives until closed.
fn queue_exactly_once() {
    let q = Arc::new(Queue::<(u8, u8), 1, SimWait>::new());
    let producers: Vec<_> = (0..2u8)
        .map(|p| {
            let q = Arc::clone(&q);
            thread::spawn(move || {
                for i in 0..2 {
                    q.send((p, i)).unwrap();
                }
            })
        })
        .collect();
    let consumer = {
        let q = Arc::clone(&q);
        thread::spawn(move || {
            let mut next = [0u8; 2];
            while let Ok((p, i)) = q.recv() {
                assert_eq!(
                    i, next[p as usize],
                    "producer {p}: out of order or duplicated"
                );
                next[p as usize] += 1;
            }
            next
        })
    };
    for h in producers {
        h.join().unwrap();
    }
    q.close();
    assert_eq!(consumer.join().unwrap(), [2, 2], "a message was lost");
    assert_eq!(q.recv(), Err(RecvError));
}

#[test]
fn queue_delivers_exactly_once_in_order_without_lost_wakeups() {
    assert!(check(Config::dfs(Some(1)), queue_exactly_once).exhausted);
    check(Config::pct(1, 3, 500 * scale()), queue_exactly_once);
    check(Config::random(2, 500 * scale()), queue_exactly_once);
}

/// One producer `try_send`s three messages through a queue of one slot and closes it; two
/// consumers `try_recv` until they see `Closed`. Nothing blocks: `Full` and `Empty` are retried
/// after a spin hint, so every interleaving of the non-blocking paths (a slot claimed but not
/// yet written or released, a stale position, `close` racing a pop) is reachable.
fn queue_try_ops_drain_before_closed() {
    let q = Arc::new(Queue::<u8, 1, SimWait>::new());
    let producer = {
        let q = Arc::clone(&q);
        thread::spawn(move || {
            for i in 0..3 {
                let mut v = i;
                while let Err(e) = q.try_send(v) {
                    v = e.into_inner();
                    spin_loop();
                }
            }
            q.close();
        })
    };
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let q = Arc::clone(&q);
            thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    match q.try_recv() {
                        Ok(v) => got.push(v),
                        Err(TryRecvError::Empty) => spin_loop(),
                        Err(TryRecvError::Closed) => return got,
                    }
                }
            })
        })
        .collect();
    producer.join().unwrap();
    let mut all: Vec<u8> = consumers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, [0, 1, 2], "a message was lost or duplicated");
}

#[test]
fn queue_try_recv_reports_closed_only_when_drained() {
    assert!(check(Config::dfs(Some(1)), queue_try_ops_drain_before_closed).exhausted);
    check(
        Config::pct(1, 3, 500 * scale()),
        queue_try_ops_drain_before_closed,
    );
    check(
        Config::random(2, 500 * scale()),
        queue_try_ops_drain_before_closed,
    );
}

/// A producer streams three messages through a one-slot SPSC ring, blocking when full.
fn spsc_stream() {
    // The halves borrow the ring and a simulated thread needs 'static: leak one small ring per
    // schedule.
    let ring: &'static Spsc<u8, 1, SimWait> = Box::leak(Box::new(Spsc::new()));
    let (mut tx, mut rx) = ring.try_split().unwrap();
    let producer = thread::spawn(move || {
        for i in 0..3 {
            tx.send(i).unwrap();
        }
    });
    for i in 0..3 {
        assert_eq!(rx.recv(), Ok(i));
    }
    producer.join().unwrap();
    assert_eq!(rx.recv(), Err(RecvError));
}

#[test]
fn spsc_blocks_and_wakes_both_sides() {
    assert!(check(Config::dfs(Some(2)), spsc_stream).exhausted);
    check(Config::pct(3, 3, 500 * scale()), spsc_stream);
}

/// Two messages handed over through a rendezvous; the sender's `send` returns only after the
/// receiver took each.
fn rendezvous_handover() {
    let r = Arc::new(Rendezvous::<u8, SimWait>::new());
    let sender = {
        let r = Arc::clone(&r);
        thread::spawn(move || {
            for i in 0..2 {
                r.send(i).unwrap();
            }
            r.close();
        })
    };
    assert_eq!(r.recv(), Ok(0));
    assert_eq!(r.recv(), Ok(1));
    assert_eq!(r.recv(), Err(RecvError));
    sender.join().unwrap();
}

#[test]
fn rendezvous_hands_over_each_message_once() {
    assert!(check(Config::dfs(Some(2)), rendezvous_handover).exhausted);
    check(Config::pct(4, 3, 500 * scale()), rendezvous_handover);
}

/// Two callers, one server: each caller gets the reply to its own request.
fn duplex_calls() {
    let d = Arc::new(Duplex::<u8, u8, 1, SimWait>::new());
    let server = {
        let d = Arc::clone(&d);
        thread::spawn(move || {
            for _ in 0..2 {
                let (to, req) = d.recv().unwrap();
                d.reply(to, req + 100).unwrap();
            }
        })
    };
    let callers: Vec<_> = (0..2u8)
        .map(|c| {
            let d = Arc::clone(&d);
            thread::spawn(move || {
                let ticket = d.call_async(c).unwrap();
                assert_eq!(ticket.wait(), c + 100, "a reply reached the wrong caller");
            })
        })
        .collect();
    for h in callers {
        h.join().unwrap();
    }
    server.join().unwrap();
}

#[test]
fn duplex_replies_reach_their_own_caller() {
    assert!(check(Config::dfs(Some(1)), duplex_calls).exhausted);
    check(Config::pct(5, 3, 500 * scale()), duplex_calls);
}

/// One sender, two receivers on a ring of two: each receiver sees every message or is told
/// exactly how many it missed.
fn broadcast_counts() {
    let b: &'static Broadcast<u8, 2, SimWait> = Box::leak(Box::new(Broadcast::new()));
    let receivers: Vec<_> = (0..2).map(|_| b.subscribe()).collect();
    let handles: Vec<_> = receivers
        .into_iter()
        .map(|mut rx| {
            thread::spawn(move || {
                let (mut seen, mut expected) = (0usize, 0u8);
                loop {
                    match rx.recv() {
                        Ok(v) => {
                            assert_eq!(v, expected);
                            expected += 1;
                            seen += 1;
                        }
                        Err(BroadcastError::Lagged(n)) => {
                            seen += n as usize;
                            expected += n as u8;
                        }
                        Err(BroadcastError::Closed) => return seen,
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
            })
        })
        .collect();
    for i in 0..3 {
        b.send(i);
    }
    b.close();
    for h in handles {
        assert_eq!(h.join().unwrap(), 3);
    }
}

/// Two senders a lap apart on a ring of one slot, and a receiver: a send that finds a later
/// message already in its slot leaves it there, and must still hand on what the later sender
/// published to the next reader of the slot.
fn broadcast_two_senders() {
    let b: &'static Broadcast<u8, 1, SimWait> = Box::leak(Box::new(Broadcast::new()));
    let mut rx = b.subscribe();
    let receiver = thread::spawn(move || {
        let mut got = Vec::new();
        loop {
            match rx.recv() {
                Ok(v) => got.push(v),
                Err(BroadcastError::Lagged(_)) => {}
                Err(BroadcastError::Closed) => return got,
                Err(e) => panic!("unexpected {e}"),
            }
        }
    });
    let senders: Vec<_> = (0..2u8)
        .map(|i| thread::spawn(move || b.send(10 + i)))
        .collect();
    for h in senders {
        h.join().unwrap();
    }
    b.close();
    let got = receiver.join().unwrap();
    assert!(
        !got.is_empty() && got.len() <= 2 && got.iter().all(|v| *v == 10 || *v == 11),
        "{got:?}"
    );
}

#[test]
fn broadcast_receivers_see_all_or_count_what_they_missed() {
    assert!(check(Config::dfs(Some(2)), broadcast_counts).exhausted);
    check(Config::pct(6, 3, 500 * scale()), broadcast_counts);
}

/// A request and its reply through two one-slot SPSC rings: each side blocks for the other, so
/// a lost wake-up on either ring leaves both asleep (a deadlock), where a single stream would be
/// rescued by the final close.
fn spsc_ping_pong() {
    let there: &'static Spsc<u8, 1, SimWait> = Box::leak(Box::new(Spsc::new()));
    let back: &'static Spsc<u8, 1, SimWait> = Box::leak(Box::new(Spsc::new()));
    let (mut req_tx, mut req_rx) = there.try_split().unwrap();
    let (mut rep_tx, mut rep_rx) = back.try_split().unwrap();
    let echo = thread::spawn(move || {
        for _ in 0..2 {
            let v = req_rx.recv().unwrap();
            rep_tx.send(v + 1).unwrap();
        }
    });
    for i in 0..2 {
        req_tx.send(i * 10).unwrap();
        assert_eq!(rep_rx.recv(), Ok(i * 10 + 1));
    }
    echo.join().unwrap();
}

#[test]
fn spsc_ping_pong_never_loses_a_wake_up() {
    assert!(check(Config::dfs(Some(2)), spsc_ping_pong).exhausted);
    check(Config::pct(9, 3, 500 * scale()), spsc_ping_pong);
}

/// Every channel again with store buffers (x86-TSO, `Config::weak_memory`): each blocking
/// protocol (change the ring, then read the waiter count) must hold while a store is still
/// invisible to the other threads.
#[test]
fn channels_hold_under_weak_memory() {
    let runs = 500 * scale();
    let scenarios: [(&str, fn()); 6] = [
        ("queue", queue_exactly_once),
        ("spsc", spsc_stream),
        ("spsc ping-pong", spsc_ping_pong),
        ("rendezvous", rendezvous_handover),
        ("duplex", duplex_calls),
        ("broadcast", broadcast_counts),
    ];
    let configs = [Config::pct(21, 3, runs), Config::random(22, runs)];
    hold_under("weak memory", MemoryModel::X86Tso, &configs, &scenarios);
}

/// Runs every scenario under every config with `model`; panics with the first failure. Under
/// RC11 a sampled execution that spins on a value it already read stops there (counted in
/// `Stats::blocked`), and a config in which every sample did checked nothing: that is
/// tolerated for one config as long as another ran the scenario to the end.
fn hold_under(what: &str, model: MemoryModel, configs: &[Config], scenarios: &[(&str, fn())]) {
    for &(name, f) in scenarios {
        let mut ran = 0;
        for config in configs {
            let config = config.clone().memory_model(model);
            match lockstep_sim::try_check(config, f) {
                Ok(stats) => ran += stats.schedules,
                Err(failure)
                    if matches!(&failure.kind, lockstep_sim::FailureKind::Unsupported { message }
                        if message.contains("nothing was checked")) => {}
                Err(failure) => panic!("{name} under {what}:\n{failure}"),
            }
        }
        assert!(ran > 0, "{name} under {what}: no execution ran to the end");
    }
}

/// Every channel under RC11 (`MemoryModel::Rc11`), the memory model of Rust's atomics: each
/// load may read any store coherence and happens-before allow, so the orderings of the rings
/// and of the waiter bookkeeping are put to the test, not only the interleavings.
#[test]
fn channels_hold_under_rc11() {
    let runs = 300 * scale();
    // The try-ops scenario spins between attempts: a sampled RC11 execution stops at the first
    // spin that reads nothing new (every one of 600 did), so it is searched exhaustively (868
    // executions), where the executions in which each spin ends are explored instead.
    let stats = check(
        Config::dfs(None).memory_model(MemoryModel::Rc11),
        queue_try_ops_drain_before_closed,
    );
    assert!(stats.complete && stats.schedules > 0, "{stats:?}");
    let scenarios: [(&str, fn()); 7] = [
        ("queue", queue_exactly_once),
        ("spsc", spsc_stream),
        ("spsc ping-pong", spsc_ping_pong),
        ("rendezvous", rendezvous_handover),
        ("duplex", duplex_calls),
        ("broadcast", broadcast_counts),
        ("broadcast, two senders", broadcast_two_senders),
    ];
    let configs = [Config::pct(31, 3, runs), Config::random(32, runs)];
    hold_under("RC11", MemoryModel::Rc11, &configs, &scenarios);
}

/// The async channels under the simulator: a task's waker sets a flag that its thread spins on,
/// so a lost wake-up leaves the thread spinning with nothing to wake it, which the simulator
/// reports (a livelock at the step limit).
#[cfg(feature = "async")]
mod async_channels {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    use lockstep_core::RecvError;
    use lockstep_core::channel::{AsyncQueue, AsyncSpsc};
    use lockstep_sim::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use lockstep_sim::sync::hint::spin_loop;
    use lockstep_sim::{Config, check, thread};

    use super::scale;

    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, SeqCst);
        }
    }

    /// Polls `fut` until it is ready, waiting for its waker between polls.
    fn block_on<F: Future>(fut: F) -> F::Output {
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(Arc::clone(&flag));
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(fut);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            while !flag.0.swap(false, SeqCst) {
                spin_loop();
            }
        }
    }

    /// Three messages through a one-slot async SPSC ring: both tasks wait.
    fn spsc_stream() {
        let ring: &'static AsyncSpsc<u8, 1> = Box::leak(Box::new(AsyncSpsc::new()));
        let (mut tx, mut rx) = ring.try_split().unwrap();
        let producer = thread::spawn(move || {
            block_on(async {
                for i in 0..3 {
                    tx.send(i).await.unwrap();
                }
            })
        });
        block_on(async {
            for i in 0..3 {
                assert_eq!(rx.recv().await, Ok(i));
            }
            assert_eq!(rx.recv().await, Err(RecvError));
        });
        producer.join().unwrap();
    }

    #[test]
    fn async_spsc_wakes_both_sides() {
        let config = |c: Config| c.max_steps(2_000);
        check(config(Config::pct(5, 3, 300 * scale())), spsc_stream);
        check(config(Config::random(6, 300 * scale())), spsc_stream);
        check(
            config(Config::random(6, 300 * scale())).weak_memory(true),
            spsc_stream,
        );
        let stats = check(
            config(Config::random(6, 300 * scale())).memory_model(lockstep_sim::MemoryModel::Rc11),
            spsc_stream,
        );
        assert!(stats.schedules > 0, "{stats:?}");
    }

    /// Two senders and one receiver through a one-slot async queue.
    fn queue_exactly_once() {
        let q = Arc::new(AsyncQueue::<(u8, u8), 1, 2>::new());
        let producers: Vec<_> = (0..2u8)
            .map(|p| {
                let q = Arc::clone(&q);
                thread::spawn(move || {
                    block_on(async {
                        for i in 0..2 {
                            q.send((p, i)).await.unwrap();
                        }
                    })
                })
            })
            .collect();
        let mut next = [0u8; 2];
        block_on(async {
            for _ in 0..4 {
                let (p, i) = q.recv().await.unwrap();
                assert_eq!(i, next[p as usize], "out of order or duplicated");
                next[p as usize] += 1;
            }
        });
        for h in producers {
            h.join().unwrap();
        }
        assert_eq!(next, [2, 2]);
    }

    #[test]
    fn async_queue_delivers_exactly_once_without_lost_wakeups() {
        let config = |c: Config| c.max_steps(3_000);
        check(config(Config::pct(7, 3, 300 * scale())), queue_exactly_once);
        check(config(Config::random(8, 300 * scale())), queue_exactly_once);
        check(
            config(Config::random(8, 300 * scale())).weak_memory(true),
            queue_exactly_once,
        );
        let stats = check(
            config(Config::random(8, 300 * scale())).memory_model(lockstep_sim::MemoryModel::Rc11),
            queue_exactly_once,
        );
        assert!(stats.schedules > 0, "{stats:?}");
    }

    /// What a [`sending_waker`] points to: the queue it sends on and whether it was woken.
    struct Sending {
        q: &'static AsyncQueue<u8, 4>,
        woken: AtomicBool,
    }

    /// A waker that sends on the queue when cloned or woken, as an interrupt handler that
    /// preempts the task's registration would; a wake also sets its flag.
    fn sending_waker(s: &'static Sending) -> Waker {
        use std::task::{RawWaker, RawWakerVTable};
        static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop);
        fn sending(p: *const ()) -> &'static Sending {
            // SAFETY: every `RawWaker` of this vtable points to a leaked `Sending`.
            unsafe { &*p.cast::<Sending>() }
        }
        fn clone(p: *const ()) -> RawWaker {
            let _ = sending(p).q.try_send(100);
            RawWaker::new(p, &VTABLE)
        }
        fn wake(p: *const ()) {
            sending(p).woken.store(true, SeqCst);
            let _ = sending(p).q.try_send(200);
        }
        fn drop(_: *const ()) {}
        // SAFETY: the functions only use the `'static` `Sending`, which is `Sync`.
        unsafe { Waker::from_raw(RawWaker::new((s as *const Sending).cast(), &VTABLE)) }
    }

    /// Two tasks wait on one queue while another thread sends; the second task's waker sends on
    /// the same queue when it is cloned (during the registration) and when it is woken. Then
    /// each task is polled again only when its waker fired: in the end no message may wait while
    /// a task sleeps unwoken.
    fn reentrant_waker() {
        let q: &'static AsyncQueue<u8, 4> = Box::leak(Box::new(AsyncQueue::new()));
        let sender = thread::spawn(move || {
            let _ = q.try_send(1);
        });
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let plain = Waker::from(Arc::clone(&flag));
        let sending: &'static Sending = Box::leak(Box::new(Sending {
            q,
            woken: AtomicBool::new(false),
        }));
        let sending_waker = sending_waker(sending);
        let mut r1 = pin!(q.recv());
        let mut r2 = pin!(q.recv());
        let mut done = [
            r1.as_mut()
                .poll(&mut Context::from_waker(&plain))
                .is_ready(),
            r2.as_mut()
                .poll(&mut Context::from_waker(&sending_waker))
                .is_ready(),
        ];
        sender.join().unwrap();
        loop {
            let mut polled = false;
            if !done[0] && flag.0.swap(false, SeqCst) {
                polled = true;
                done[0] = r1
                    .as_mut()
                    .poll(&mut Context::from_waker(&plain))
                    .is_ready();
            }
            if !done[1] && sending.woken.swap(false, SeqCst) {
                polled = true;
                done[1] = r2
                    .as_mut()
                    .poll(&mut Context::from_waker(&sending_waker))
                    .is_ready();
            }
            if !polled {
                break;
            }
        }
        assert!(
            q.is_empty() || done == [true, true],
            "a message waits while a task sleeps without a wake-up: {done:?}"
        );
    }

    #[test]
    fn async_queue_waker_that_sends_from_clone_or_wake_does_not_deadlock() {
        let config = |c: Config| c.max_steps(3_000);
        check(config(Config::pct(9, 3, 300 * scale())), reentrant_waker);
        check(config(Config::random(10, 300 * scale())), reentrant_waker);
        check(
            config(Config::random(10, 300 * scale())).weak_memory(true),
            reentrant_waker,
        );
        // Every schedule with up to three preemptions.
        let stats = check(config(Config::dfs(Some(3))), reentrant_waker);
        assert!(stats.exhausted, "{stats:?}");
    }

    /// The consumer of an async SPSC ring waits once with a plain waker, then is polled again
    /// with a waker that sends on the ring when cloned (as an interrupt preempting the
    /// registration would), while another thread closes the ring.
    fn spsc_reentrant_waker() {
        use lockstep_core::channel::AsyncProducer;
        use std::sync::Mutex;
        use std::task::{RawWaker, RawWakerVTable};

        struct Hooked {
            tx: Mutex<Option<AsyncProducer<'static, u8, 4>>>,
            woken: AtomicBool,
        }
        static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, |_| {});
        fn hooked(p: *const ()) -> &'static Hooked {
            // SAFETY: every `RawWaker` of this vtable points to a leaked `Hooked`.
            unsafe { &*p.cast::<Hooked>() }
        }
        fn clone(p: *const ()) -> RawWaker {
            if let Some(tx) = hooked(p).tx.lock().unwrap().as_mut() {
                let _ = tx.try_send(100);
            }
            RawWaker::new(p, &VTABLE)
        }
        fn wake(p: *const ()) {
            hooked(p).woken.store(true, SeqCst);
        }

        let ring: &'static AsyncSpsc<u8, 4> = Box::leak(Box::new(AsyncSpsc::new()));
        let (tx, mut rx) = ring.try_split().unwrap();
        let hooks: &'static Hooked = Box::leak(Box::new(Hooked {
            tx: Mutex::new(Some(tx)),
            woken: AtomicBool::new(false),
        }));
        // The std mutex is held only for a `try_send` or a `take`, never across a scheduling
        // point that could let the other thread want it... except the ring's own atomics, so
        // the closer takes the producer out first and drops it outside the mutex.
        let second_poll: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        let closer = thread::spawn(move || {
            // Close while the consumer registers its second waker.
            while !second_poll.load(SeqCst) {
                spin_loop();
            }
            let tx = hooks.tx.try_lock().ok().and_then(|mut t| t.take());
            drop(tx); // closes the ring, if this thread got the producer
        });
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let plain = Waker::from(Arc::clone(&flag));
        // SAFETY: the vtable only uses the leaked `Hooked`, which is `Sync`.
        let sending =
            unsafe { Waker::from_raw(RawWaker::new((hooks as *const Hooked).cast(), &VTABLE)) };
        let mut r = pin!(rx.recv());
        let mut last = r.as_mut().poll(&mut Context::from_waker(&plain));
        second_poll.store(true, SeqCst);
        if last.is_pending() {
            last = r.as_mut().poll(&mut Context::from_waker(&sending));
        }
        closer.join().unwrap();
        match last {
            Poll::Ready(Ok(100)) | Poll::Ready(Err(RecvError)) => {}
            Poll::Ready(other) => panic!("unexpected {other:?}"),
            // Still waiting: then nothing was sent, and a close after the registration must
            // have woken the task.
            Poll::Pending => assert!(
                !ring.is_closed() || hooks.woken.load(SeqCst),
                "closed, yet the waiting task was not woken"
            ),
        }
    }

    #[test]
    fn async_spsc_waker_that_sends_from_clone_does_not_deadlock() {
        let config = |c: Config| c.max_steps(3_000);
        check(
            config(Config::pct(11, 3, 300 * scale())),
            spsc_reentrant_waker,
        );
        check(
            config(Config::random(12, 300 * scale())),
            spsc_reentrant_waker,
        );
    }
}
