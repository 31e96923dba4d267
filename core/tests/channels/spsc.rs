//! `Spsc`: model test against `VecDeque` and a threaded stream.

use std::collections::VecDeque;

use lockstep_core::channel::Spsc;
use lockstep_core::{RecvError, TryRecvError, TrySendError};
use proptest::prelude::*;

use crate::{W, sized};

#[derive(Debug, Clone)]
enum Op {
    Send(u16),
    Recv,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![any::<u16>().prop_map(Op::Send), Just(Op::Recv)]
}

fn check_against_model<const N: usize>(ops: &[Op], close_at: usize) -> Result<(), TestCaseError> {
    let mut ring: Spsc<u16, N> = Spsc::new();
    let (mut tx, mut rx) = ring.split();
    let mut model = VecDeque::new();
    let mut closed = false;
    for (k, op) in ops.iter().enumerate() {
        if k == close_at {
            tx.close();
            closed = true;
        }
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
                prop_assert_eq!(tx.try_send(v), expected);
            }
            Op::Recv => {
                let expected = match model.pop_front() {
                    Some(v) => Ok(v),
                    None if closed => Err(TryRecvError::Closed),
                    None => Err(TryRecvError::Empty),
                };
                prop_assert_eq!(rx.try_recv(), expected);
            }
        }
        prop_assert_eq!(rx.len(), model.len());
        prop_assert_eq!(tx.len(), model.len());
    }
    Ok(())
}

proptest! {
    #![proptest_config(crate::model_config())]

    #[test]
    fn spsc_matches_a_fifo_model(ops in prop::collection::vec(op(), 0..crate::MODEL_OPS), close_at in 0usize..crate::MODEL_OPS + 100) {
        check_against_model::<1>(&ops, close_at)?;
        check_against_model::<3>(&ops, close_at)?;
        check_against_model::<4>(&ops, close_at)?;
    }
}

#[test]
fn stream_arrives_in_order_and_complete() {
    let n = sized(200_000);
    let mut ring: Spsc<usize, 64, W> = Spsc::new();
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
        assert_eq!(rx.recv(), Err(RecvError));
    });
}

#[test]
fn dropping_the_consumer_closes_the_producer() {
    static RING: Spsc<u8, 2, W> = Spsc::new();
    let (mut tx, rx) = RING.try_split().unwrap();
    std::thread::scope(|s| {
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let blocked = s.spawn(move || tx.send(3));
        std::thread::sleep(std::time::Duration::from_millis(20));
        drop(rx);
        assert_eq!(blocked.join().unwrap().unwrap_err().into_inner(), 3);
    });
}
