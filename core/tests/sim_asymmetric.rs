//! The SPSC channel's asymmetric fence pair checked as the hosted futex implements it on Linux:
//! the light half (at every send and receive) no fence at all, the heavy half (when a side
//! announces itself as a waiter) a `membarrier`, under x86-TSO (`MemoryModel::X86Tso`, store
//! buffers modelled exactly), exhaustively. `membarrier` is what makes it correct: with a plain
//! SeqCst fence as the heavy half the same search finds the lost wake-up (a send's store still
//! in its buffer while it reads the waiter flags, and the waiter's re-check missing it).
//!
//! The core's other checks keep `SimWait`'s defaults, two SeqCst fences, under RC11; RC11 has no
//! event for a compiler fence, so it cannot check this pairing.
#![cfg(feature = "sim")]

use std::sync::atomic::{Ordering::SeqCst, compiler_fence};

use lockstep_core::channel::Spsc;
use lockstep_core::sync::atomic::AtomicU32;
use lockstep_core::{SimWait, Wait};
use lockstep_sim::{Config, FailureKind, MemoryModel, Stats, thread, try_check};

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

/// The consumer blocks on an empty one-slot ring while the producer sends once and keeps its
/// half: only the send's wake can end the consumer's wait.
fn send_wakes_blocked_consumer<W: Wait + 'static>() {
    let ring: &'static Spsc<u8, 1, W> = Box::leak(Box::new(Spsc::new()));
    let (mut tx, mut rx) = ring.try_split().unwrap();
    let producer = thread::spawn(move || {
        tx.send(7).unwrap();
        tx
    });
    assert_eq!(rx.recv(), Ok(7));
    drop(producer.join().unwrap());
}

/// The producer blocks on a full ring while the consumer receives once and keeps its half: only
/// the receive's wake can end the producer's wait.
fn recv_wakes_blocked_producer<W: Wait + 'static>() {
    let ring: &'static Spsc<u8, 1, W> = Box::leak(Box::new(Spsc::new()));
    let (mut tx, mut rx) = ring.try_split().unwrap();
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

/// Every x86-TSO execution of `f`, exhaustively.
fn every_tso_execution(f: impl Fn()) -> Result<Stats, Box<lockstep_sim::Failure>> {
    try_check(Config::dfs(None).memory_model(MemoryModel::X86Tso), f)
}

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
    ] {
        match every_tso_execution(program) {
            Ok(stats) => assert!(stats.complete && stats.schedules > 0, "{name}: {stats:?}"),
            Err(failure) => panic!("{name} under x86-TSO:\n{failure}"),
        }
        // The same with the other two searches, which do not rely on the optimal search's
        // reduction around the membarrier step: the sleep-set search (bounded by 8 preemptions,
        // more than these programs can make) and random schedules (store-buffer flushes
        // included).
        for config in [
            Config::dfs(Some(8)),
            Config::random(1, 2_000 * lockstep_sim::test_scale()),
        ] {
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
