//! `Rendezvous` and the channels' `Signal` under RC11 (`MemoryModel::Rc11`): small programs
//! whose every consistent execution (or, with three threads, many sampled ones) puts each memory
//! ordering of the blocking protocols to the test.
//!
//! What the programs look for: a lost wake-up (a thread asleep that nobody will wake, which the
//! simulator reports as a deadlock, since `SimWait` really blocks), a message read before it was
//! written (a data race on the slot's cell, or a wrong value), and a slot written while its
//! previous owner still reads it (a data race).
//!
//! The two-thread programs are searched in full (a few seconds each in a debug build); those with
//! three threads are sampled, `LOCKSTEP_TEST_SCALE=N` times 300 runs of each scheduler.
#![cfg(feature = "sim")]

mod support;

use std::sync::Arc;

use lockstep_core::channel::{Rendezvous, Spsc};
use lockstep_core::{Queue, SendTimeoutError, SimWait};
use lockstep_sim::{Config, MemoryModel, thread, try_check};
use support::every_rc11_execution;

/// Runs `f` under `runs` sampled RC11 executions of the random and of the PCT scheduler (each
/// load reading a store the model allows, chosen from the seed); panics with the first failure.
/// For programs with three threads, whose full search takes minutes.
fn sampled(name: &str, seed: u64, f: fn()) {
    let runs = 300 * lockstep_sim::test_scale();
    for config in [Config::random(seed, runs), Config::pct(seed, 3, runs)] {
        if let Err(failure) = try_check(config.memory_model(MemoryModel::Rc11), f) {
            panic!("{name} under RC11:\n{failure}");
        }
    }
}

/// One message, one sender, one receiver. The receiver may go to sleep before the message is on
/// offer (only the sender's change to `FULL` wakes it), and the sender may go to sleep before
/// the receiver took it (only the receiver's change to `TAKEN` wakes it); a lost wake-up on either
/// side leaves both asleep. The receiver's claim of the message must also acquire the sender's
/// write of the slot.
fn rendezvous_one_message() {
    let r = Arc::new(Rendezvous::<u32, SimWait>::new());
    let sender = {
        let r = Arc::clone(&r);
        thread::spawn(move || r.send(7))
    };
    assert_eq!(r.recv(), Ok(7));
    assert_eq!(sender.join().unwrap(), Ok(()));
}

#[test]
fn rendezvous_wakes_both_sides_of_one_handover() {
    every_rc11_execution("rendezvous, one message", rendezvous_one_message);
}

/// Two senders, one message each, and a receiver that takes both. The second sender may go to
/// sleep while the first one's message is on offer or taken; only the first sender's reset to
/// `EMPTY` is sure to wake it (a lost wake-up leaves it and the receiver asleep). Its claim of the
/// slot must also acquire the receiver's read of the first message, or its write races it.
fn rendezvous_two_senders() {
    let r = Arc::new(Rendezvous::<u32, SimWait>::new());
    let senders: Vec<_> = (1..=2)
        .map(|v| {
            let r = Arc::clone(&r);
            thread::spawn(move || r.send(v))
        })
        .collect();
    let a = r.recv().unwrap();
    let b = r.recv().unwrap();
    assert_eq!(a + b, 3, "got {a} and {b}");
    assert_ne!(a, b, "a message was received twice");
    for h in senders {
        assert_eq!(h.join().unwrap(), Ok(()));
    }
}

#[test]
fn rendezvous_wakes_the_next_sender_after_a_handover() {
    sampled("rendezvous, two senders", 41, rendezvous_two_senders);
}

/// A sender that offers its message only once (a timeout of no wait at all) takes it back while
/// a second sender waits for the slot; the receiver comes only after the first sender gave up.
/// The first sender's reset to `EMPTY` (after it read its message back) is all that wakes the
/// second, and the second's write of the slot must come after that read.
///
/// (A zero timeout gives up at the first wait without calling the futex: a timed futex wait is
/// not modelled by the exhaustive RC11 search.)
fn rendezvous_take_back() {
    let r = Arc::new(Rendezvous::<u32, SimWait>::new());
    let impatient = {
        let r = Arc::clone(&r);
        thread::spawn(move || r.send_timeout(1, 0))
    };
    let patient = {
        let r = Arc::clone(&r);
        thread::spawn(move || r.send(2))
    };
    assert_eq!(impatient.join().unwrap(), Err(SendTimeoutError::Timeout(1)));
    assert_eq!(r.recv(), Ok(2));
    assert_eq!(patient.join().unwrap(), Ok(()));
}

#[test]
fn rendezvous_wakes_the_next_sender_after_a_take_back() {
    sampled("rendezvous, take back", 42, rendezvous_take_back);
}

/// One message through a one-slot `Queue` to a receiver that may already sleep. The queue's
/// state change is a SeqCst read-modify-write with nothing after it, so the notifier's read of
/// the signal's flags must itself be SeqCst, and the receiver's fence between its announcement
/// and its re-check must be SeqCst: with either weaker, the sender can miss the announcement
/// while the receiver misses the message, and the receiver sleeps forever.
fn queue_one_message() {
    let q = Arc::new(Queue::<u32, 1, SimWait>::new());
    let receiver = {
        let q = Arc::clone(&q);
        thread::spawn(move || q.recv())
    };
    q.send(5).unwrap();
    assert_eq!(receiver.join().unwrap(), Ok(5));
}

#[test]
fn signal_wakes_a_queue_receiver() {
    every_rc11_execution("queue, one message", queue_one_message);
}

/// One message through a one-slot `Spsc` ring to a consumer that may already sleep: the ring's
/// state change is a Release store followed by a SeqCst fence, the other shape of the notifier's
/// half of the signal's Dekker pair.
fn spsc_one_message() {
    let ring: &'static Spsc<u32, 1, SimWait> = Box::leak(Box::new(Spsc::new()));
    let (mut tx, mut rx) = ring.try_split().unwrap();
    let consumer = thread::spawn(move || rx.recv());
    tx.send(3).unwrap();
    assert_eq!(consumer.join().unwrap(), Ok(3));
}

#[test]
fn signal_wakes_a_ring_consumer() {
    every_rc11_execution("spsc, one message", spsc_one_message);
}

/// A sender with a real timeout while a second sender waits: in the executions where its
/// timed wait expires (when nobody else can run), the RC11 search must replay that timeout in
/// the later graphs it derives, whose replay order differs (it once reported the program as
/// not deterministic). The first 20,000 executions, not all: three threads take minutes.
#[test]
fn rendezvous_timed_send_is_replayed_under_rc11() {
    let config = Config::dfs(None)
        .iterations(20_000)
        .memory_model(MemoryModel::Rc11);
    let result = try_check(config, || {
        let r = Arc::new(Rendezvous::<u32, SimWait>::new());
        let impatient = {
            let r = Arc::clone(&r);
            thread::spawn(move || r.send_timeout(1, 1))
        };
        let patient = {
            let r = Arc::clone(&r);
            thread::spawn(move || r.send(2))
        };
        let first = impatient.join().unwrap();
        let mut got = vec![r.recv().unwrap()];
        if first.is_ok() {
            got.push(r.recv().unwrap());
        }
        assert_eq!(patient.join().unwrap(), Ok(()));
        got.sort_unstable();
        assert_eq!(got, if first.is_ok() { vec![1, 2] } else { vec![2] });
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
