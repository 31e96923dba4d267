//! The memory orderings of `Broadcast` and `Duplex` checked exhaustively under RC11
//! (`MemoryModel::Rc11`, the model of Rust's atomics), at the smallest sizes that reach each
//! protocol: a broadcast receiver asleep while a message comes (no close to rescue it), a
//! receiver that sees the close and must still get what was sent before it, a caller waiting for
//! the reply slot that a dropped ticket gives back, and a reply slot reused by a second call while
//! the first caller's read of its reply is unordered with everything but the slot's state; and
//! the `Mutex` paths the other checks do not take (`try_lock`, and the `Spin` wait, whose unlock
//! is a plain store and whose contended lock is a compare-and-swap loop).
//!
//! Every check here is exhaustive (`Config::dfs(None)`): each consistent RC11 execution once,
//! a few seconds in all in a debug build (so nothing to scale with `LOCKSTEP_TEST_SCALE`).
#![cfg(feature = "sim")]

mod support;

use std::mem::ManuallyDrop;
use std::sync::Arc;

use lockstep_core::channel::{Broadcast, BroadcastError, Duplex};
use lockstep_core::{Mutex, SimWait, Spin};
use lockstep_sim::sync::cell::SharedCell;
use lockstep_sim::sync::hint::spin_loop;
use support::every_rc11_execution;

/// A receiver blocks in `recv` on a ring of one slot while the sender sends one message and
/// never closes: the receiver's announcement and the sender's look for waiters must see each
/// other, or the receiver sleeps for ever (a deadlock: no close comes to wake it).
fn broadcast_wakes_a_sleeping_receiver() {
    let b: &'static Broadcast<u8, 1, SimWait> = Box::leak(Box::new(Broadcast::new()));
    let mut rx = b.subscribe();
    let receiver = lockstep_sim::thread::spawn(move || rx.recv());
    assert!(b.send(7));
    assert_eq!(receiver.join().unwrap(), Ok(7));
}

/// As above with a ring of two and two messages: the receiver sleeps again after the first, on
/// the other slot, and the second send's look for waiters must find it.
fn broadcast_wakes_a_receiver_twice() {
    let b: &'static Broadcast<u8, 2, SimWait> = Box::leak(Box::new(Broadcast::new()));
    let mut rx = b.subscribe();
    let receiver = lockstep_sim::thread::spawn(move || (rx.recv(), rx.recv()));
    assert!(b.send(7));
    assert!(b.send(8));
    assert_eq!(receiver.join().unwrap(), (Ok(7), Ok(8)));
}

#[test]
fn broadcast_send_wakes_a_waiting_receiver_under_rc11() {
    every_rc11_execution("broadcast send wakes", broadcast_wakes_a_sleeping_receiver);
    every_rc11_execution(
        "broadcast send wakes twice",
        broadcast_wakes_a_receiver_twice,
    );
}

/// The sender sends one message and then closes; the receiver polls with `try_recv` and must
/// get the message before `Closed`: seeing the close (even with a Relaxed load) must not let it
/// miss what was sent before the close.
fn broadcast_sent_before_close_is_received() {
    let b: &'static Broadcast<u8, 1, SimWait> = Box::leak(Box::new(Broadcast::new()));
    let mut rx = b.subscribe();
    let receiver = lockstep_sim::thread::spawn(move || {
        let mut got = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(v) => got.push(v),
                Err(BroadcastError::Empty) => spin_loop(),
                Err(BroadcastError::Closed) => return got,
                Err(e) => panic!("unexpected {e}"),
            }
        }
    });
    assert!(b.send(7));
    assert!(b.close());
    assert_eq!(
        receiver.join().unwrap(),
        [7],
        "a message sent before the close was lost"
    );
}

#[test]
fn broadcast_message_sent_before_close_is_never_lost_under_rc11() {
    every_rc11_execution("broadcast close", broadcast_sent_before_close_is_received);
}

/// One reply slot: the main thread's call is queued and taken off the queue; a second thread
/// then calls and blocks for the slot; the main thread gives up its call (drops the ticket),
/// which frees the slot and must wake the second caller. A lost wake-up leaves it asleep and the
/// main thread waiting for it in `join`: a deadlock.
fn duplex_dropped_ticket_wakes_a_caller_waiting_for_the_slot() {
    let d: &'static Duplex<u8, u8, 1, SimWait> = Box::leak(Box::new(Duplex::new()));
    let first = d.call_async(1).unwrap();
    assert_eq!(d.try_recv().unwrap().1, 1);
    let second = lockstep_sim::thread::spawn(move || d.call_async(2).is_ok());
    drop(first);
    assert!(second.join().unwrap());
}

#[test]
fn duplex_dropped_ticket_frees_its_slot_without_a_lost_wake_up_under_rc11() {
    every_rc11_execution(
        "duplex dropped ticket",
        duplex_dropped_ticket_wakes_a_caller_waiting_for_the_slot,
    );
}

/// One reply slot used twice: a caller thread takes its reply out of the slot (a read of the
/// slot's cell) and frees it; the main thread, which served that call, then calls itself, claims
/// the same slot and writes its own reply into it. Nothing but the slot's state orders the first
/// read before that write (the claim may find the slot free without waiting for it), so without
/// it the write races with the read (a data race on the slot's cell).
///
/// The tickets are kept in `ManuallyDrop`: when the simulator stops an execution at the race, a
/// ticket dropped while the reply is half written would wait for it for ever.
fn duplex_reused_slot_write_is_ordered_after_the_previous_read() {
    let d: &'static Duplex<u8, u8, 1, SimWait> = Box::leak(Box::new(Duplex::new()));
    let caller = lockstep_sim::thread::spawn(move || {
        let mut ticket = ManuallyDrop::new(d.call_async(1).unwrap());
        loop {
            if let Some(rep) = ticket.try_take() {
                drop(ManuallyDrop::into_inner(ticket));
                return rep;
            }
            spin_loop();
        }
    });
    let (to, req) = d.recv().unwrap();
    d.reply(to, req + 100).unwrap();
    let mut mine = ManuallyDrop::new(d.call_async(2).unwrap());
    let (to, req) = d.try_recv().unwrap();
    d.reply(to, req + 100).unwrap();
    assert_eq!(mine.try_take(), Some(102));
    drop(ManuallyDrop::into_inner(mine));
    assert_eq!(caller.join().unwrap(), 101);
}

#[test]
fn duplex_reused_reply_slot_is_written_after_its_previous_reply_was_read_under_rc11() {
    every_rc11_execution(
        "duplex reused slot",
        duplex_reused_slot_write_is_ordered_after_the_previous_read,
    );
}

/// Two threads each enter a critical section once with `take`, bumping the guarded counter and
/// a shadow cell: a lock that does not acquire the previous holder's writes races on the cell.
fn mutex_two_critical_sections<W: lockstep_core::Wait + 'static>(
    take: fn(&Mutex<u32, W>) -> lockstep_core::MutexGuard<'_, u32, W>,
) {
    let m = Arc::new(Mutex::<u32, W>::new(0));
    let shadow = Arc::new(SharedCell::new(0u32));
    let other = {
        let (m, shadow) = (Arc::clone(&m), Arc::clone(&shadow));
        lockstep_sim::thread::spawn(move || {
            let mut g = take(&m);
            shadow.set(shadow.get() + 1);
            *g += 1;
        })
    };
    {
        let mut g = take(&m);
        shadow.set(shadow.get() + 1);
        *g += 1;
    }
    other.join().unwrap();
    assert_eq!((*m.lock(), shadow.get()), (2, 2));
}

/// Takes the lock with `try_lock` only, spinning while it is held.
fn try_lock_spinning<W: lockstep_core::Wait>(
    m: &Mutex<u32, W>,
) -> lockstep_core::MutexGuard<'_, u32, W> {
    loop {
        if let Some(g) = m.try_lock() {
            return g;
        }
        spin_loop();
    }
}

#[test]
fn mutex_try_lock_and_spin_wait_acquire_the_previous_holder_under_rc11() {
    every_rc11_execution("mutex try_lock", || {
        mutex_two_critical_sections::<SimWait>(try_lock_spinning)
    });
    every_rc11_execution("mutex with Spin", || {
        mutex_two_critical_sections::<Spin>(Mutex::lock)
    });
}
