//! Fences and atomic accesses synchronize as C++ (and Rust) says, under every memory model, so
//! the race detector neither misses a race nor reports one on correct fence code: a Release
//! fence before a Relaxed store publishes to an Acquire load that reads the store; a Relaxed
//! load followed by an Acquire fence acquires what the store it read published; one half of
//! either pair alone publishes nothing. The reference-count pattern of `Arc`'s drop (a Release
//! decrement, then an Acquire fence in the thread that reaches zero) is race free.

use std::sync::Arc;

use lockstep_sim::sync::atomic::{AtomicUsize, Ordering, fence};
use lockstep_sim::sync::cell::SharedCell;
use lockstep_sim::{Config, FailureKind, MemoryModel, thread, try_check};

fn models() -> [Config; 3] {
    [
        Config::dfs(None),
        Config::dfs(None).memory_model(MemoryModel::X86Tso),
        Config::dfs(None).memory_model(MemoryModel::Rc11),
    ]
    .map(|c| c.shrink(false))
}

/// Whether `f` has a data race in `config` (any other failure fails the test).
fn races(config: Config, f: impl Fn() + Send + Sync + 'static) -> bool {
    match try_check(config, f) {
        Ok(_) => false,
        Err(failure) if matches!(failure.kind, FailureKind::DataRace { .. }) => true,
        Err(failure) => panic!("{failure}"),
    }
}

/// Message passing: the writer sets the data then the flag, with a Release fence before a
/// Relaxed store if `release_fence`; the reader that sees the flag (Relaxed load) reads the data
/// after an Acquire fence if `acquire_fence`.
fn message_passing(release_fence: bool, acquire_fence: bool) -> impl Fn() + Send + Sync + 'static {
    move || {
        let data = Arc::new(SharedCell::new(0u32));
        let flag = Arc::new(AtomicUsize::new(0));
        let (d, f) = (Arc::clone(&data), Arc::clone(&flag));
        let writer = thread::spawn(move || {
            d.set(1);
            if release_fence {
                fence(Ordering::Release);
            }
            f.store(1, Ordering::Relaxed);
        });
        if flag.load(Ordering::Relaxed) == 1 {
            if acquire_fence {
                fence(Ordering::Acquire);
            }
            assert_eq!(data.get(), 1);
        }
        writer.join().unwrap();
    }
}

#[test]
fn a_fence_pair_publishes_and_either_fence_alone_does_not() {
    for config in models() {
        let model = config.memory_model;
        assert!(
            !races(config.clone(), message_passing(true, true)),
            "{model:?}"
        );
        assert!(
            races(config.clone(), message_passing(true, false)),
            "{model:?}"
        );
        assert!(
            races(config.clone(), message_passing(false, true)),
            "{model:?}"
        );
        assert!(races(config, message_passing(false, false)), "{model:?}");
    }
}

/// `Arc`'s drop: each owner reads the shared data, then decrements the count with Release; the
/// one that reaches zero fences with Acquire and then writes the data (frees it). Without the
/// fence (or with a Relaxed decrement) the last owner's write races with the other's read.
fn refcount(decrement: Ordering, acquire_fence: bool) -> impl Fn() + Send + Sync + 'static {
    move || {
        let data = Arc::new(SharedCell::new(7u32));
        let count = Arc::new(AtomicUsize::new(2));
        let release = {
            let (data, count) = (Arc::clone(&data), Arc::clone(&count));
            move || {
                assert_eq!(data.get(), 7);
                if count.fetch_sub(1, decrement) == 1 {
                    if acquire_fence {
                        fence(Ordering::Acquire);
                    }
                    data.set(0);
                }
            }
        };
        let other = thread::spawn(release.clone());
        release();
        other.join().unwrap();
    }
}

#[test]
fn arcs_drop_pattern_is_race_free_and_its_weakenings_race() {
    for config in models() {
        let model = config.memory_model;
        assert!(
            !races(config.clone(), refcount(Ordering::Release, true)),
            "{model:?}"
        );
        assert!(
            races(config.clone(), refcount(Ordering::Release, false)),
            "{model:?}"
        );
        assert!(
            races(config, refcount(Ordering::Relaxed, true)),
            "{model:?}"
        );
    }
}
