//! `Queue`: model test against `VecDeque`, P producers x C consumers exactly once and in order.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, Ordering};

use lockstep_core::{Queue, RecvError, TryRecvError, TrySendError};
use proptest::prelude::*;

use crate::{W, sized};

#[derive(Debug, Clone)]
enum Op {
    Send(u16),
    Recv,
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![6 => any::<u16>().prop_map(Op::Send), 6 => Just(Op::Recv), 1 => Just(Op::Close)]
}

/// Runs `ops` against a queue of capacity `N` and a `VecDeque` model.
fn check_against_model<const N: usize>(ops: &[Op]) -> Result<(), TestCaseError> {
    let q: Queue<u16, N> = Queue::new();
    let mut model = VecDeque::new();
    let mut closed = false;
    for op in ops {
        match *op {
            Op::Send(v) => {
                let expected = if closed {
                    Err(TrySendError::Closed(v))
                } else if model.len() == N {
                    Err(TrySendError::Full(v))
                } else {
                    model.push_back(v);
                    Ok(())
                };
                prop_assert_eq!(q.try_send(v), expected);
            }
            Op::Recv => {
                let expected = match model.pop_front() {
                    Some(v) => Ok(v),
                    None if closed => Err(TryRecvError::Closed),
                    None => Err(TryRecvError::Empty),
                };
                prop_assert_eq!(q.try_recv(), expected);
            }
            Op::Close => {
                prop_assert_eq!(q.close(), !closed);
                closed = true;
            }
        }
        prop_assert_eq!(q.len(), model.len());
        prop_assert_eq!(q.is_full(), model.len() == N);
        prop_assert_eq!(q.is_closed(), closed);
    }
    Ok(())
}

proptest! {
    #![proptest_config(crate::model_config())]

    #[test]
    fn queue_matches_a_fifo_model(ops in prop::collection::vec(op(), 0..crate::MODEL_OPS)) {
        check_against_model::<1>(&ops)?;
        check_against_model::<3>(&ops)?; // not a power of two
        check_against_model::<4>(&ops)?;
    }
}

#[test]
fn positions_survive_many_laps() {
    let q: Queue<usize, 3> = Queue::new();
    // Under Miri, 300 (a hundred laps of the 3 slots) keeps it to seconds.
    let n = if cfg!(miri) { 300 } else { 10_000 };
    for i in 0..n {
        q.try_send(i).unwrap();
        if i % 2 == 1 {
            assert_eq!(q.try_recv(), Ok(i - 1));
            assert_eq!(q.try_recv(), Ok(i));
        }
    }
    assert!(q.is_empty());
}

#[test]
fn full_queue_hands_the_message_back() {
    let q: Queue<String, 1> = Queue::new();
    q.try_send("a".into()).unwrap();
    assert_eq!(q.try_send("b".into()).unwrap_err().into_inner(), "b");
    assert_eq!(q.send_timeout("c".into(), 5).unwrap_err().into_inner(), "c");
}

#[test]
fn dropping_the_queue_drops_queued_messages() {
    static DROPS: AtomicU8 = AtomicU8::new(0);
    struct Counted;
    impl Drop for Counted {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::Relaxed);
        }
    }
    let q: Queue<Counted, 4> = Queue::new();
    for _ in 0..3 {
        q.try_send(Counted)
            .unwrap_or_else(|_| panic!("room for three"));
    }
    drop(q.try_recv());
    assert_eq!(DROPS.load(Ordering::Relaxed), 1);
    drop(q);
    assert_eq!(DROPS.load(Ordering::Relaxed), 3);
}

/// P producers each send K messages `(producer, seq)`; C consumers receive until closed.
/// Every message arrives exactly once and each producer's messages arrive in order per consumer.
fn producers_consumers<const N: usize>(producers: usize, consumers: usize, per_producer: usize) {
    let q: Queue<(usize, usize), N, W> = Queue::new();
    let seen: Vec<AtomicU8> = (0..producers * per_producer)
        .map(|_| AtomicU8::new(0))
        .collect();
    std::thread::scope(|s| {
        let senders: Vec<_> = (0..producers)
            .map(|p| {
                let q = &q;
                s.spawn(move || {
                    for i in 0..per_producer {
                        q.send((p, i)).unwrap();
                    }
                })
            })
            .collect();
        let receivers: Vec<_> = (0..consumers)
            .map(|_| {
                let (q, seen) = (&q, &seen);
                s.spawn(move || {
                    let mut last = vec![None::<usize>; producers];
                    let mut n = 0;
                    while let Ok((p, i)) = q.recv() {
                        assert!(
                            last[p].is_none_or(|l| l < i),
                            "producer {p}: {i} after {:?}",
                            last[p]
                        );
                        last[p] = Some(i);
                        seen[p * per_producer + i].fetch_add(1, Ordering::Relaxed);
                        n += 1;
                    }
                    assert_eq!(q.recv(), Err(RecvError));
                    n
                })
            })
            .collect();
        for t in senders {
            t.join().unwrap();
        }
        q.close();
        let total: usize = receivers.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(total, producers * per_producer);
    });
    assert!(
        seen.iter().all(|c| c.load(Ordering::Relaxed) == 1),
        "a message was lost or duplicated"
    );
}

#[test]
fn every_message_arrives_exactly_once_in_producer_order() {
    producers_consumers::<4>(3, 3, sized(20_000));
    producers_consumers::<1>(2, 2, sized(5_000));
    producers_consumers::<7>(1, 4, sized(10_000));
}

#[test]
fn close_wakes_blocked_receivers_and_senders() {
    let empty: Queue<u8, 1, W> = Queue::new();
    let full: Queue<u8, 1, W> = Queue::new();
    full.send(0).unwrap();
    std::thread::scope(|s| {
        let r = s.spawn(|| empty.recv());
        let w = s.spawn(|| full.send(1));
        std::thread::sleep(std::time::Duration::from_millis(20));
        empty.close();
        full.close();
        assert_eq!(r.join().unwrap(), Err(RecvError));
        assert_eq!(w.join().unwrap().unwrap_err().into_inner(), 1);
    });
    assert_eq!(full.recv(), Ok(0)); // drains after close
}
