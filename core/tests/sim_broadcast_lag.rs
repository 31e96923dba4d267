//! The lag paths of `Broadcast` checked exhaustively under RC11 (`MemoryModel::Rc11`, the model
//! of Rust's atomics): a receiver that finds its message overwritten settles the lag from a
//! plain load of the slot's `seq`, without the read lock, and then reads the next message under
//! the lock, so what it reads must still be ordered after the write of the sender that put it
//! there, also when another sender's lock and unlock of that slot came in between.
//!
//! Every check here is exhaustive (`Config::dfs(None)`), a few seconds in a debug build.
#![cfg(feature = "sim")]

mod support;

use lockstep_core::SimWait;
use lockstep_core::channel::{Broadcast, BroadcastError};
use lockstep_sim::sync::hint::spin_loop;
use support::every_rc11_execution;

/// Two senders a lap apart on a ring of one slot, and the main thread receiving with
/// `try_recv` until it has accounted for both messages. When the later message is written
/// first, the earlier send finds it in the slot, leaves it there and unlocks: the receiver that
/// takes the read lock after that unlock must see the later sender's value (the earlier send's
/// unlock is a Release store after its Acquire lock, which carries the later sender's write on).
/// A receiver that reads the slot before either send is told `Empty`; one that finds the first
/// message overwritten is told `Lagged(1)`; either way what it gets and misses adds up to 2.
fn broadcast_two_senders_hand_on_the_later_message() {
    let b: &'static Broadcast<u8, 1, SimWait> = Box::leak(Box::new(Broadcast::new()));
    let mut rx = b.subscribe();
    let senders: Vec<_> = (0..2u8)
        .map(|i| lockstep_sim::thread::spawn(move || b.send(10 + i)))
        .collect();
    let (mut got, mut missed) = (Vec::new(), 0);
    while got.len() as u64 + missed < 2 {
        match rx.try_recv() {
            Ok(v) => got.push(v),
            Err(BroadcastError::Lagged(n)) => missed += n,
            Err(BroadcastError::Empty) => spin_loop(),
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(
        got.len() as u64 + missed == 2 && got.iter().all(|v| *v == 10 || *v == 11),
        "got {got:?}, missed {missed}"
    );
    for h in senders {
        assert!(h.join().unwrap());
    }
}

/// One sender sends 0, 1, 2 on a ring of one slot while the main thread polls with `try_recv`:
/// a lag is settled from a Relaxed load of `seq` and of `tail` (which may be stale: it then
/// skips only the message seen overwritten), so every message received must still be the next
/// in order, and every `Lagged(n)` exactly the gap before it.
fn broadcast_lags_count_exactly() {
    let b: &'static Broadcast<u8, 1, SimWait> = Box::leak(Box::new(Broadcast::new()));
    let mut rx = b.subscribe();
    let sender = lockstep_sim::thread::spawn(move || (0..3).all(|i| b.send(i)));
    let (mut next, mut received) = (0u64, 0);
    while next < 3 {
        match rx.try_recv() {
            Ok(v) => {
                assert_eq!(u64::from(v), next, "out of order or an unreported gap");
                next += 1;
                received += 1;
            }
            Err(BroadcastError::Lagged(n)) => {
                assert!(n >= 1 && next + n <= 3, "Lagged({n}) at {next}");
                next += n;
            }
            Err(BroadcastError::Empty) => spin_loop(),
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(received >= 1, "the last message is never overwritten");
    assert!(sender.join().unwrap());
}

#[test]
fn broadcast_lagged_receiver_reads_what_the_later_sender_wrote_under_rc11() {
    every_rc11_execution(
        "broadcast two senders",
        broadcast_two_senders_hand_on_the_later_message,
    );
}

#[test]
fn broadcast_lags_count_exactly_under_rc11() {
    every_rc11_execution("broadcast lags", broadcast_lags_count_exactly);
}
