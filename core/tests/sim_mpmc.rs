//! The MPMC ring (`Queue`, `AsyncQueue`) checked under RC11 (`MemoryModel::Rc11`), the memory
//! model of Rust's atomics, on programs small enough to explore every execution: each one puts a
//! single ordering of the ring, of `close` or of the async wakers to the test, so that weakening
//! it fails a check (a wrong length, a deadlock from a lost wake-up).
//!
//! Every check here is exhaustive; none depends on `LOCKSTEP_TEST_SCALE`.
#![cfg(feature = "sim")]

mod support;

use std::sync::Arc;

use lockstep_core::{Queue, SendError, SimWait, TryRecvError};
use lockstep_sim::thread;
use support::every_rc11_execution;

/// One thread sends a message and receives it back, twice, through a queue of two slots, so the
/// queue never holds more than one message; another thread asks for the length meanwhile.
///
/// `len` reads `tail`, `head` and `tail` again. If the read of `head` does not acquire, it can
/// see both receives (head = position 2) with both reads of `tail` still at 0; if the first read
/// of `tail` does not acquire, it can see both sends (tail = position 2) with `head` still at 0.
/// Either pair looks like a full queue: a length of 2.
fn len_of_a_queue_that_never_holds_two() {
    let q = Arc::new(Queue::<u8, 2, SimWait>::new());
    let worker = {
        let q = Arc::clone(&q);
        thread::spawn(move || {
            for i in 0..2 {
                q.try_send(i).unwrap();
                assert_eq!(q.try_recv(), Ok(i));
            }
        })
    };
    let len = q.len();
    assert!(
        len <= 1,
        "len() = {len}, but the queue never held more than one message"
    );
    worker.join().unwrap();
}

#[test]
fn len_is_a_length_the_queue_had() {
    every_rc11_execution("len", len_of_a_queue_that_never_holds_two);
}

/// A sender blocks on a full queue of one slot; another thread closes the queue. The send must
/// fail with its message: the blocked sender announces itself and then re-reads `tail`, and
/// `close` sets `CLOSED` in `tail` and then reads the senders' waiter flags, so one of them sees
/// the other only if setting `CLOSED` is SeqCst (a Dekker pair; with AcqRel both can miss, and
/// the sender sleeps for ever).
fn close_wakes_a_blocked_sender() {
    let q = Arc::new(Queue::<u8, 1, SimWait>::new());
    q.try_send(0).unwrap();
    let sender = {
        let q = Arc::clone(&q);
        thread::spawn(move || q.send(1))
    };
    assert!(q.close());
    assert_eq!(sender.join().unwrap(), Err(SendError(1)));
    assert_eq!(q.try_recv(), Ok(0), "close lost a queued message");
    assert_eq!(q.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn close_wakes_a_sender_blocked_on_a_full_queue() {
    every_rc11_execution("close with a blocked sender", close_wakes_a_blocked_sender);
}

/// A receiver blocks on an empty queue; another thread closes it. The receive must end with
/// `Closed`: the closed flag beside `head` and the receivers' waiter flags are the Dekker pair.
fn close_wakes_a_blocked_receiver() {
    let q = Arc::new(Queue::<u8, 1, SimWait>::new());
    let receiver = {
        let q = Arc::clone(&q);
        thread::spawn(move || q.recv())
    };
    assert!(q.close());
    assert_eq!(receiver.join().unwrap(), Err(lockstep_core::RecvError));
}

#[test]
fn close_wakes_a_receiver_blocked_on_an_empty_queue() {
    every_rc11_execution(
        "close with a blocked receiver",
        close_wakes_a_blocked_receiver,
    );
}

/// The async queue's wakers. A task's waker sets a word and wakes its thread, which sleeps on
/// the word in a simulated futex between polls: a lost wake-up leaves it asleep with nothing to
/// wake it, which the simulator reports as a deadlock. (A spin loop would not do: under RC11 the
/// exhaustive search sets aside executions that end in a spin loop, as blocked, not failed.)
#[cfg(feature = "async")]
mod async_queue {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    use lockstep_core::channel::AsyncQueue;
    use lockstep_sim::sync::atomic::{AtomicU32, Ordering::SeqCst};
    use lockstep_sim::sync::futex;
    use lockstep_sim::sync::hint::spin_loop;
    use lockstep_sim::thread;

    use super::every_rc11_execution;

    /// 1 once woken, until the thread consumes the wake.
    struct Parked(AtomicU32);

    impl Wake for Parked {
        fn wake(self: Arc<Self>) {
            self.0.store(1, SeqCst);
            futex::wake_all(&self.0);
        }
    }

    /// Polls `fut` until it is ready, sleeping until its waker is called between polls.
    fn block_on<F: Future>(fut: F) -> F::Output {
        let parked = Arc::new(Parked(AtomicU32::new(0)));
        let waker = Waker::from(Arc::clone(&parked));
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(fut);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            while parked.0.swap(0, SeqCst) == 0 {
                futex::wait(&parked.0, 0, false);
            }
        }
    }

    /// A task waits to receive; another thread `try_send`s one message. The task registers its
    /// waker, sets `waiting` and retries the queue; the sender claims a slot and reads
    /// `waiting`. Only the SeqCst fences between the write and the read on each side (the one
    /// `drain` begins with, the one in `wake`) keep both reads from missing the other write.
    fn recv_woken_by_try_send() {
        let q = Arc::new(AsyncQueue::<u8, 1>::new());
        let sender = {
            let q = Arc::clone(&q);
            thread::spawn(move || q.try_send(7).unwrap())
        };
        assert_eq!(block_on(q.recv()), Ok(7));
        sender.join().unwrap();
    }

    #[test]
    fn a_waiting_recv_is_woken_by_try_send() {
        every_rc11_execution("async recv and try_send", recv_woken_by_try_send);
    }

    /// A task waits to send on a full queue; another thread `try_recv`s: the same Dekker pair
    /// on the senders' wakers.
    fn send_woken_by_try_recv() {
        let q = Arc::new(AsyncQueue::<u8, 1>::new());
        q.try_send(1).unwrap();
        let receiver = {
            let q = Arc::clone(&q);
            thread::spawn(move || {
                while q.try_recv().is_err() {
                    spin_loop();
                }
            })
        };
        assert_eq!(block_on(q.send(2)), Ok(()));
        receiver.join().unwrap();
        assert_eq!(q.try_recv(), Ok(2));
    }

    #[test]
    fn a_waiting_send_is_woken_by_try_recv() {
        every_rc11_execution("async send and try_recv", send_woken_by_try_recv);
    }
}
