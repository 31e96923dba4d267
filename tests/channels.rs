//! The channel family blocking through the OS futex: every wake path (waiter counts, event
//! words, wake-one and wake-all) is exercised here, since `Spin` in the core tests never wakes.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use lockstep_core::RecvTimeoutError;
use lockstep_core::channel::{BroadcastError, CallError};
use lockstep_hosted::{Broadcast, Duplex, Queue, Rendezvous, Spsc};

/// Multiplies the size of the threaded tests: `LOCKSTEP_TEST_SCALE`, 1 by default.
fn scale() -> usize {
    lockstep_sim::test_scale()
}

#[test]
fn queue_blocks_and_wakes_producers_and_consumers_exactly_once() {
    let per_producer = 20_000 * scale();
    let q: Queue<(usize, usize), 2> = Queue::new(); // tiny: both sides block often
    let seen: Vec<AtomicU8> = (0..3 * per_producer).map(|_| AtomicU8::new(0)).collect();
    std::thread::scope(|s| {
        let producers: Vec<_> = (0..3)
            .map(|p| {
                let q = &q;
                s.spawn(move || {
                    for i in 0..per_producer {
                        q.send((p, i)).unwrap();
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let (q, seen) = (&q, &seen);
                s.spawn(move || {
                    let mut last = [None::<usize>; 3];
                    while let Ok((p, i)) = q.recv() {
                        assert!(last[p].is_none_or(|l| l < i));
                        last[p] = Some(i);
                        seen[p * per_producer + i].fetch_add(1, Ordering::Relaxed);
                    }
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
}

#[test]
fn timeouts_are_measured_in_time() {
    let q: Queue<u8, 1> = Queue::new();
    let t = Instant::now();
    assert_eq!(
        q.recv_timeout(Duration::from_millis(30)),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(t.elapsed() >= Duration::from_millis(30));
    q.send(1).unwrap();
    assert!(
        q.send_timeout(2, Duration::from_millis(10))
            .unwrap_err()
            .is_timeout()
    );
}

#[test]
fn close_wakes_a_sleeping_receiver() {
    let q: Queue<u8, 1> = Queue::new();
    std::thread::scope(|s| {
        let r = s.spawn(|| q.recv_timeout(Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(20));
        q.close();
        assert_eq!(r.join().unwrap(), Err(RecvTimeoutError::Closed));
    });
}

#[test]
fn spsc_stream_with_sleeping_sides() {
    let n = 100_000 * scale();
    let mut ring: Spsc<usize, 4> = Spsc::new();
    let (mut tx, mut rx) = ring.split();
    std::thread::scope(|s| {
        s.spawn(move || {
            for i in 0..n {
                tx.send(i).unwrap();
            }
        });
        for i in 0..n {
            assert_eq!(rx.recv(), Ok(i));
        }
        assert!(rx.recv().is_err());
    });
}

#[test]
fn rendezvous_hands_over_every_message() {
    let n = 5_000 * scale();
    let r: Rendezvous<usize> = Rendezvous::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..n {
                r.send(i).unwrap();
            }
            r.close();
        });
        for i in 0..n {
            assert_eq!(r.recv(), Ok(i));
        }
        assert!(r.recv().is_err());
    });
}

#[test]
fn duplex_callers_get_their_own_replies_and_a_missing_reply_times_out() {
    let calls = 3_000 * scale();
    let d: Duplex<(usize, usize), (usize, usize), 4> = Duplex::new();
    assert_eq!(
        d.call((9, 9), Duration::from_millis(20)),
        Err(CallError::Timeout)
    );
    assert!(d.try_recv().is_ok()); // the abandoned request is still delivered
    std::thread::scope(|s| {
        s.spawn(|| {
            while let Ok((to, req)) = d.recv() {
                let _ = d.reply(to, req);
            }
        });
        let callers: Vec<_> = (0..3)
            .map(|c| {
                let d = &d;
                s.spawn(move || {
                    for i in 0..calls {
                        assert_eq!(d.call((c, i), Duration::from_secs(10)), Ok((c, i)));
                    }
                })
            })
            .collect();
        for t in callers {
            t.join().unwrap();
        }
        d.close();
    });
}

#[test]
fn broadcast_wakes_every_receiver() {
    let n = 10_000 * scale();
    let b: Broadcast<usize, 16> = Broadcast::new();
    let receivers: Vec<_> = (0..3).map(|_| b.subscribe()).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = receivers
            .into_iter()
            .map(|mut rx| {
                s.spawn(move || {
                    let mut total = 0;
                    loop {
                        match rx.recv() {
                            Ok(_) => total += 1,
                            Err(BroadcastError::Lagged(k)) => total += k as usize,
                            Err(BroadcastError::Closed) => return total,
                            Err(e) => panic!("unexpected {e}"),
                        }
                    }
                })
            })
            .collect();
        for i in 0..n {
            b.send(i);
            if i % 100 == 0 {
                std::thread::yield_now();
            }
        }
        b.close();
        for h in handles {
            assert_eq!(h.join().unwrap(), n);
        }
    });
}

#[test]
fn pubsub_timeout_is_one_deadline_while_other_topics_stay_busy() {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

    use lockstep_core::channel::{Topic, Topics};
    use lockstep_hosted::PubSub;

    let bus: PubSub<u32, 8> = PubSub::new();
    let mut sub = bus.subscribe(Topics::EMPTY.with(Topic::new(0)));
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            // Another topic, every 5 ms, for at most 3 s.
            for i in 0..600 {
                if stop.load(Relaxed) {
                    break;
                }
                bus.publish(Topic::new(1), i);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let t = Instant::now();
        let budget = Duration::from_millis(50);
        // A loaded machine may let the publisher lap this receiver (`Lagged`, returned as it
        // should be); go on with what is left of the one budget.
        let r = loop {
            match sub.recv_timeout(budget.saturating_sub(t.elapsed())) {
                Err(BroadcastError::Lagged(_)) => continue,
                other => break other,
            }
        };
        let took = t.elapsed();
        stop.store(true, Relaxed);
        assert_eq!(r, Err(BroadcastError::Timeout));
        assert!(took < Duration::from_millis(1500), "took {took:?}");
    });
}

#[test]
fn broadcast_survives_a_panicking_drop_and_clone_without_double_drop() {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::atomic::AtomicUsize;

    static DROPS: AtomicUsize = AtomicUsize::new(0);
    /// Panics when dropped or cloned if its flag says so.
    struct Touchy {
        panic_on_drop: bool,
        panic_on_clone: bool,
    }
    impl Clone for Touchy {
        fn clone(&self) -> Self {
            assert!(!self.panic_on_clone, "clone panics");
            Touchy {
                panic_on_drop: false,
                panic_on_clone: false,
            }
        }
    }
    impl Drop for Touchy {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
            if self.panic_on_drop && !std::thread::panicking() {
                panic!("drop panics");
            }
        }
    }
    let t = |d, c| Touchy {
        panic_on_drop: d,
        panic_on_clone: c,
    };
    {
        let b: Broadcast<Touchy, 1> = Broadcast::new();
        let mut rx = b.subscribe();
        b.send(t(true, false));
        // Overwriting the one slot drops the old message, which panics.
        assert!(catch_unwind(AssertUnwindSafe(|| b.send(t(false, true)))).is_err());
        assert_eq!(DROPS.load(Ordering::SeqCst), 1);
        // The receiver missed the first message (one slot), then cloning the second panics;
        // the slot must not stay read-locked.
        assert!(matches!(rx.try_recv(), Err(BroadcastError::Lagged(1))));
        assert!(catch_unwind(AssertUnwindSafe(|| rx.try_recv().map(drop))).is_err());
        // Both would hang or corrupt before: a send still goes through.
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                b.send(t(false, false));
                done.store(true, Ordering::SeqCst);
            });
            let start = Instant::now();
            while !done.load(Ordering::SeqCst) {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "send hangs on a locked slot"
                );
                std::thread::yield_now();
            }
        });
        assert_eq!(DROPS.load(Ordering::SeqCst), 2);
    }
    // Dropping the channel dropped the last message once: three messages, three drops.
    assert_eq!(DROPS.load(Ordering::SeqCst), 3);
}
