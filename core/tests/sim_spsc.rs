//! The SPSC ring and its two channels ([`Spsc`] and [`AsyncSpsc`]) under RC11, each property in
//! the smallest program that shows it, explored exhaustively (every consistent RC11 execution
//! once): what `len` promises to a `try_recv` after it, that a message sent before the close is
//! received before `Closed`, and that a send, a receive or a close wakes the other side when
//! nothing else would (no final close to rescue a lost wake-up); and the blocking channel with
//! the asymmetric fence pair of the hosted futex (a compiler fence and a `membarrier`) under
//! x86-TSO.
//!
//! A lost wake-up of the blocking channel is a deadlock (`SimWait` really blocks); one of the
//! async channel is a task left pending whose waker was never called.
#![cfg(feature = "sim")]

mod support;

use lockstep_core::channel::Spsc;
use lockstep_core::{RecvError, SendError, SimWait, TryRecvError, Wait};
use lockstep_sim::thread;
use support::every_rc11_execution;

/// A one-slot ring per execution, leaked so that its halves are `'static` for the threads.
fn ring() -> &'static Spsc<u8, 1, SimWait> {
    ring_of()
}

/// As [`ring`], blocking through `W`.
fn ring_of<W: Wait + 'static>() -> &'static Spsc<u8, 1, W> {
    Box::leak(Box::new(Spsc::new()))
}

/// The consumer sees `len() == 1` while the producer sends: the `try_recv` after it must find
/// the message. `len` reads `tail`, a different word from the slot's stamp that the pop reads,
/// so only the Release store of `tail` and the Acquire load of it carry the stamp over.
fn len_then_try_recv() {
    let (mut tx, mut rx) = ring().try_split().unwrap();
    // The producer hands its half back instead of dropping it: a close would release the
    // message to the consumer on its own.
    let producer = thread::spawn(move || {
        tx.try_send(7).unwrap();
        tx
    });
    if rx.len() == 1 {
        assert_eq!(
            rx.try_recv(),
            Ok(7),
            "len counted a message that try_recv did not find"
        );
    }
    drop(producer.join().unwrap());
}

#[test]
fn spsc_len_counts_only_what_try_recv_finds() {
    every_rc11_execution("len then try_recv", len_then_try_recv);
}

/// The consumer receives from a full ring while the producer sees `free() == 1`: the
/// `try_send` after it must succeed. `free` reads `head` with Relaxed; the push re-reads it
/// with Acquire before it writes the slot, and must not read an older value (nor race with the
/// consumer's read of the slot).
fn free_then_try_send() {
    let (mut tx, mut rx) = ring().try_split().unwrap();
    tx.try_send(1).unwrap();
    let consumer = thread::spawn(move || {
        assert_eq!(rx.try_recv(), Ok(1));
        rx
    });
    if tx.free() == 1 {
        assert_eq!(
            tx.try_send(2),
            Ok(()),
            "free counted a slot that try_send did not find"
        );
    }
    drop(consumer.join().unwrap());
}

#[test]
fn spsc_free_counts_only_what_try_send_finds() {
    every_rc11_execution("free then try_send", free_then_try_send);
}

/// The producer sends and closes; a `try_recv` may find the message, or nothing yet, but never
/// `Closed` before the message: the close releases it to the consumer's Acquire load of the flag.
/// With `hand_over`, one thread sends and hands the producer to another that closes (dropping
/// it), so that only the close's own store can carry the message over.
fn send_close_try_recv(hand_over: bool) -> impl Fn() {
    move || {
        let (mut tx, mut rx) = ring().try_split().unwrap();
        let sender = thread::spawn(move || {
            tx.try_send(7).unwrap();
            if hand_over { Some(tx) } else { None }
        });
        let closer = thread::spawn(move || drop(sender.join().unwrap()));
        match rx.try_recv() {
            Ok(v) => assert_eq!(v, 7),
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Closed) => panic!("closed before the message sent before the close"),
        }
        closer.join().unwrap();
    }
}

#[test]
fn spsc_try_recv_sees_closed_only_after_the_messages_before_the_close() {
    every_rc11_execution("send, close, try_recv", send_close_try_recv(false));
    every_rc11_execution(
        "send, hand over, close, try_recv",
        send_close_try_recv(true),
    );
}

/// The consumer blocks on an empty ring while the producer sends once and keeps its half (no
/// close follows to wake the consumer): the send's wake is all the consumer gets.
fn send_wakes_blocked_consumer<W: Wait + 'static>() {
    let (mut tx, mut rx) = ring_of::<W>().try_split().unwrap();
    let producer = thread::spawn(move || {
        tx.send(7).unwrap();
        tx
    });
    assert_eq!(rx.recv(), Ok(7));
    drop(producer.join().unwrap());
}

#[test]
fn spsc_send_wakes_a_blocked_consumer_without_a_close() {
    every_rc11_execution(
        "send wakes the consumer",
        send_wakes_blocked_consumer::<SimWait>,
    );
}

/// The producer blocks on a full ring while the consumer receives once and keeps its half: the
/// receive's wake is all the producer gets.
fn recv_wakes_blocked_producer<W: Wait + 'static>() {
    let (mut tx, mut rx) = ring_of::<W>().try_split().unwrap();
    tx.try_send(1).unwrap();
    let producer = thread::spawn(move || {
        tx.send(2).unwrap();
        tx
    });
    assert_eq!(rx.recv(), Ok(1));
    let tx = producer.join().unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
    drop(tx);
}

#[test]
fn spsc_recv_wakes_a_blocked_producer_without_a_close() {
    every_rc11_execution(
        "recv wakes the producer",
        recv_wakes_blocked_producer::<SimWait>,
    );
}

/// Closing (dropping the producer) wakes a consumer blocked on an empty ring, and closing
/// (dropping the consumer) wakes a producer blocked on a full one: the close's store of the
/// flag and the waiter's announcement are a Dekker pair.
fn close_wakes_blocked_consumer<W: Wait + 'static>() {
    let (tx, mut rx) = ring_of::<W>().try_split().unwrap();
    let closer = thread::spawn(move || drop(tx));
    assert_eq!(rx.recv(), Err(RecvError));
    closer.join().unwrap();
}

fn close_wakes_blocked_producer<W: Wait + 'static>() {
    let (mut tx, rx) = ring_of::<W>().try_split().unwrap();
    tx.try_send(1).unwrap();
    let closer = thread::spawn(move || drop(rx));
    assert_eq!(tx.send(2), Err(SendError(2)));
    closer.join().unwrap();
}

#[test]
fn spsc_close_wakes_a_blocked_side() {
    every_rc11_execution(
        "close wakes the consumer",
        close_wakes_blocked_consumer::<SimWait>,
    );
    every_rc11_execution(
        "close wakes the producer",
        close_wakes_blocked_producer::<SimWait>,
    );
}

/// The asymmetric fence pair as the hosted futex implements it on Linux: the light half (at every
/// send and receive) no fence at all, the heavy half (when a side announces itself as a waiter)
/// a `membarrier`, checked under x86-TSO (`MemoryModel::X86Tso`, store buffers modelled
/// exactly). `membarrier` is what makes it correct: with a plain SeqCst fence as the heavy half
/// the same search finds the lost wake-up (a send's store still in its buffer while it reads the
/// waiter flags, and the waiter's re-check missing it). RC11 has no event for a compiler fence,
/// so the RC11 checks above keep `SimWait`'s two SeqCst fences.
mod asymmetric_fences {
    use std::sync::atomic::{Ordering::SeqCst, compiler_fence};

    use lockstep_core::sync::atomic::AtomicU32;
    use lockstep_core::{SimWait, Wait};
    use lockstep_sim::{Config, FailureKind, MemoryModel, try_check};

    use super::{
        close_wakes_blocked_consumer, close_wakes_blocked_producer, recv_wakes_blocked_producer,
        send_wakes_blocked_consumer,
    };

    /// `SimWait` with the hosted futex's fence pair on Linux: a compiler fence and a membarrier.
    struct Membarrier;

    /// `SimWait` with a heavy half that is only a SeqCst fence: wrong against a light half that is
    /// no fence.
    struct FenceOnly;

    macro_rules! sim_wait_with_fences {
        ($name:ident, $heavy:expr) => {
            impl Wait for $name {
                type Timeout = u32;
                type Deadline = u32;

                fn deadline(timeout: u32) -> u32 {
                    SimWait::deadline(timeout)
                }

                #[track_caller]
                fn wait(atom: &AtomicU32, expected: u32, deadline: Option<&mut u32>) -> bool {
                    SimWait::wait(atom, expected, deadline)
                }

                #[track_caller]
                fn wake_one(atom: &AtomicU32) {
                    SimWait::wake_one(atom)
                }

                #[track_caller]
                fn wake_all(atom: &AtomicU32) {
                    SimWait::wake_all(atom)
                }

                fn light_fence() {
                    compiler_fence(SeqCst);
                }

                #[track_caller]
                fn heavy_fence() {
                    $heavy
                }
            }
        };
    }

    sim_wait_with_fences!(Membarrier, lockstep_sim::sync::atomic::membarrier());
    sim_wait_with_fences!(
        FenceOnly,
        lockstep_sim::sync::atomic::fence(lockstep_sim::sync::atomic::Ordering::SeqCst)
    );

    #[test]
    fn spsc_wakes_with_a_light_fence_and_a_membarrier_under_x86_tso() {
        for (name, program) in [
            (
                "send wakes the consumer",
                send_wakes_blocked_consumer::<Membarrier> as fn(),
            ),
            (
                "recv wakes the producer",
                recv_wakes_blocked_producer::<Membarrier>,
            ),
            (
                "close wakes the consumer",
                close_wakes_blocked_consumer::<Membarrier>,
            ),
            (
                "close wakes the producer",
                close_wakes_blocked_producer::<Membarrier>,
            ),
        ] {
            // Every x86-TSO execution: by the optimal search, and by the sleep-set search within
            // 8 preemptions (more than these programs make).
            for config in [Config::dfs(None), Config::dfs(Some(8))] {
                match try_check(config.memory_model(MemoryModel::X86Tso), program) {
                    Ok(stats) => assert!(
                        stats.complete && stats.exhausted && stats.schedules > 0,
                        "{name}: {stats:?}"
                    ),
                    Err(failure) => panic!("{name} under x86-TSO:\n{failure}"),
                }
            }
            // Random and PCT schedules too (store-buffer flushes included).
            let n = 2_000 * lockstep_sim::test_scale();
            for config in [Config::random(1, n), Config::pct(2, 3, n)] {
                if let Err(failure) = try_check(config.memory_model(MemoryModel::X86Tso), program) {
                    panic!("{name} under x86-TSO:\n{failure}");
                }
            }
        }
    }

    #[test]
    fn a_seqcst_fence_is_not_a_heavy_fence_the_search_finds_the_lost_wake_up() {
        for (name, program) in [
            (
                "send wakes the consumer",
                send_wakes_blocked_consumer::<FenceOnly> as fn(),
            ),
            (
                "recv wakes the producer",
                recv_wakes_blocked_producer::<FenceOnly>,
            ),
        ] {
            for config in [Config::dfs(None), Config::dfs(Some(8))] {
                let failure = try_check(config.memory_model(MemoryModel::X86Tso), program)
                    .err()
                    .unwrap_or_else(|| panic!("{name}: no execution lost the wake-up"));
                assert!(
                    matches!(failure.kind, FailureKind::Deadlock { .. }),
                    "{name}: expected the lost wake-up (a deadlock), got:\n{failure}"
                );
            }
        }
    }
}

/// The same properties for the async channel. A task is polled once; if it is pending when the
/// other thread is done, its waker must have been called, and the next poll must finish.
#[cfg(feature = "async")]
mod async_spsc {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    use lockstep_core::channel::AsyncSpsc;
    use lockstep_core::{RecvError, SendError, TryRecvError};
    use lockstep_sim::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use lockstep_sim::thread;

    use super::every_rc11_execution;

    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, SeqCst);
        }
    }

    fn ring() -> &'static AsyncSpsc<u8, 1> {
        Box::leak(Box::new(AsyncSpsc::new()))
    }

    /// Polls `fut` once, runs `other` to its end (joins it), and if `fut` was pending checks
    /// that its waker was called and that it is ready now; returns its output.
    fn poll_around<F: Future>(fut: F, other: thread::JoinHandle<impl Sized>) -> F::Output {
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(Arc::clone(&flag));
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(fut);
        let first = fut.as_mut().poll(&mut cx);
        let other = other.join().unwrap();
        let out = match first {
            Poll::Ready(v) => v,
            Poll::Pending => {
                assert!(
                    flag.0.load(SeqCst),
                    "the task waits and the other side is done, yet its waker was not called"
                );
                match fut.as_mut().poll(&mut cx) {
                    Poll::Ready(v) => v,
                    Poll::Pending => panic!("woken, yet still pending"),
                }
            }
        };
        drop(other);
        out
    }

    /// As `send_close_try_recv` above, on the async channel.
    fn send_close_try_recv(hand_over: bool) -> impl Fn() {
        move || {
            let (mut tx, mut rx) = ring().try_split().unwrap();
            let sender = thread::spawn(move || {
                tx.try_send(7).unwrap();
                if hand_over { Some(tx) } else { None }
            });
            let closer = thread::spawn(move || drop(sender.join().unwrap()));
            match rx.try_recv() {
                Ok(v) => assert_eq!(v, 7),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Closed) => {
                    panic!("closed before the message sent before the close")
                }
            }
            closer.join().unwrap();
        }
    }

    #[test]
    fn async_spsc_try_recv_sees_closed_only_after_the_messages_before_the_close() {
        every_rc11_execution("async send, close, try_recv", send_close_try_recv(false));
        every_rc11_execution(
            "async send, hand over, close, try_recv",
            send_close_try_recv(true),
        );
    }

    fn send_wakes_waiting_consumer() {
        let (mut tx, mut rx) = ring().try_split().unwrap();
        let producer = thread::spawn(move || {
            tx.try_send(7).unwrap();
            tx
        });
        assert_eq!(poll_around(rx.recv(), producer), Ok(7));
    }

    fn recv_wakes_waiting_producer() {
        let (mut tx, mut rx) = ring().try_split().unwrap();
        tx.try_send(1).unwrap();
        let consumer = thread::spawn(move || {
            assert_eq!(rx.try_recv(), Ok(1));
            rx
        });
        assert_eq!(poll_around(tx.send(2), consumer), Ok(()));
    }

    fn close_wakes_waiting_consumer() {
        let (tx, mut rx) = ring().try_split().unwrap();
        let closer = thread::spawn(move || drop(tx));
        assert_eq!(poll_around(rx.recv(), closer), Err(RecvError));
    }

    fn close_wakes_waiting_producer() {
        let (mut tx, rx) = ring().try_split().unwrap();
        tx.try_send(1).unwrap();
        let closer = thread::spawn(move || drop(rx));
        assert_eq!(poll_around(tx.send(2), closer), Err(SendError(2)));
    }

    #[test]
    fn async_spsc_send_recv_and_close_wake_the_waiting_task() {
        every_rc11_execution("async send wakes", send_wakes_waiting_consumer);
        every_rc11_execution("async recv wakes", recv_wakes_waiting_producer);
        every_rc11_execution("async close wakes consumer", close_wakes_waiting_consumer);
        every_rc11_execution("async close wakes producer", close_wakes_waiting_producer);
    }
}
