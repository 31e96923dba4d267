//! `lockstep sim race`'s program under the simulator: the lost update is found, shrunk and
//! replayed identically; the locked, semaphore and atomic versions are clean.

use lockstep_cli::sim_race::{Sync, race};
use lockstep_sim::{Config, FailureKind, MemoryModel, try_check};

#[test]
fn lost_update_is_found_by_every_scheduler_and_replays_identically() {
    for config in [
        Config::random(1, 10_000),
        Config::pct(1, 3, 10_000),
        Config::dfs(None),
        Config::random(1, 10_000).weak_memory(true),
        Config::pct(1, 3, 10_000).weak_memory(true),
        Config::dfs(None).weak_memory(true),
    ] {
        let weak = config.memory_model == MemoryModel::X86Tso;
        let failure = try_check(config, race(2, 1, Sync::None)).unwrap_err();
        assert!(
            matches!(&failure.kind, FailureKind::Panic { message, .. } if message.contains("lost update"))
        );
        assert!(failure.preemptions <= 2, "{failure}");
        let again = try_check(
            Config::replay(failure.schedule.clone()),
            race(2, 1, Sync::None),
        )
        .unwrap_err();
        assert_eq!(again.kind, failure.kind);
        assert_eq!(again.schedule, failure.schedule);
        assert_eq!(again.table(), failure.table());
        assert_eq!(failure.schedule.is_weak_memory(), weak);
    }
}

#[test]
fn synchronized_counters_stay_clean_with_store_buffers() {
    for sync in [Sync::Lock, Sync::FutexLock, Sync::Semaphore, Sync::Atomic] {
        for config in [
            Config::random(5, 2_000).weak_memory(true),
            Config::pct(5, 3, 2_000).weak_memory(true),
        ] {
            if let Err(f) = try_check(config, race(2, 2, sync)) {
                panic!("{sync}:\n{f}");
            }
        }
    }
}

#[test]
fn synchronized_counters_are_clean_in_every_schedule() {
    for sync in [Sync::Lock, Sync::FutexLock, Sync::Semaphore, Sync::Atomic] {
        let stats = try_check(Config::dfs(None), race(2, 1, sync)).unwrap();
        assert!(stats.complete, "{sync}: {stats:?}");
        assert_eq!(stats.abandoned, 0, "{sync}: {stats:?}");
    }
    // The lecture's program with a lock, every execution at 3 threads x 2 rounds: the minimum,
    // 6!/(2!)^3 = 90 orders of the six critical sections.
    let stats = try_check(Config::dfs(None), race(3, 2, Sync::Lock)).unwrap();
    assert!(stats.complete);
    assert_eq!((stats.schedules, stats.abandoned), (90, 0));
    let stats = try_check(Config::dfs(Some(2)), race(3, 1, Sync::FutexLock)).unwrap();
    assert!(stats.exhausted);
}

#[test]
fn svg_shows_every_thread_and_step() {
    let failure = try_check(Config::random(2, 10_000), race(2, 1, Sync::None)).unwrap_err();
    let svg = failure.svg();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("thread 2"));
    assert_eq!(svg.matches("<rect").count(), failure.trace.len() + 1);
}
