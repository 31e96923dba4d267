//! The std mirror's once-cells in `static`s (`static CONFIG: OnceLock<_>`, `static TABLE:
//! LazyLock<_>`, `static INIT: Once`): every execution of a check starts from the state they had
//! when the check began, so the first use is explored in every execution and the exhaustive
//! search sees the same program each time. Before, the first execution initialized them for
//! all the others and the search, replaying an earlier execution's prefix that now did
//! something else, stopped on an internal assertion. A program that does not repeat itself
//! for another reason (std's own atomics steering it) now gets a clear failure.

use std::sync::atomic::AtomicU32 as StdAtomicU32;
use std::sync::atomic::Ordering::SeqCst;

use lockstep_sim::sync::atomic::{AtomicU32, Ordering};
use lockstep_sim::sync::{LazyLock, Once, OnceLock};
use lockstep_sim::{Config, FailureKind, MemoryModel, check, thread, try_check};

/// The statics of this file are shared by its tests, which cargo runs in parallel.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

static CONFIG: OnceLock<String> = OnceLock::new();
/// The program's own counter (restored per execution like every own static atomic).
static INITS: AtomicU32 = AtomicU32::new(0);
/// Which thread won the initialization, over all executions (std's: outside the model).
static WINNERS: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());

fn config(me: usize) -> &'static str {
    CONFIG.get_or_init(|| {
        INITS.fetch_add(1, Ordering::Relaxed);
        WINNERS.lock().unwrap().push(me);
        format!("from {me}")
    })
}

#[test]
fn a_static_once_lock_is_initialized_anew_in_every_execution() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    WINNERS.lock().unwrap().clear();
    for model in [
        MemoryModel::SequentiallyConsistent,
        MemoryModel::X86Tso,
        MemoryModel::Rc11,
    ] {
        let stats = check(Config::dfs(None).memory_model(model), || {
            let h = thread::spawn(|| config(1));
            let mine = config(0);
            assert_eq!(mine, h.join().unwrap());
            assert_eq!(INITS.load(Ordering::Relaxed), 1, "initialized once");
        });
        assert!(stats.complete, "{model:?}: {stats:?}");
        assert!(stats.schedules > 1, "{model:?}: {stats:?}");
    }
    // Either thread won in some execution: the first use was explored every time.
    let winners = WINNERS.lock().unwrap().clone();
    assert!(winners.contains(&0) && winners.contains(&1), "{winners:?}");
    // The check gives the static back as it found it.
    assert!(CONFIG.get().is_none());
}

static TABLE: LazyLock<Vec<u32>> = LazyLock::new(|| {
    RUNS.fetch_add(1, SeqCst);
    (0..4).map(|i| i * i).collect()
});
static RUNS: StdAtomicU32 = StdAtomicU32::new(0);

#[test]
fn a_static_lazy_lock_runs_its_initializer_in_every_execution() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    RUNS.store(0, SeqCst);
    let stats = check(Config::dfs(None), || {
        let h = thread::spawn(|| TABLE[2]);
        assert_eq!(TABLE[3], 9);
        assert_eq!(h.join().unwrap(), 4);
    });
    assert!(stats.complete && stats.schedules > 1, "{stats:?}");
    assert_eq!(RUNS.load(SeqCst) as usize, stats.schedules);
    // Outside a check it is a plain lazy value.
    assert_eq!(TABLE[1], 1);
}

static INIT: Once = Once::new();
static INIT_RUNS: AtomicU32 = AtomicU32::new(0);

#[test]
fn a_racy_use_of_a_static_once_is_found() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Planted: a thread reads the counter without `call_once` first, so it may see 0.
    let failure = try_check(Config::dfs(None), || {
        let h = thread::spawn(|| INIT_RUNS.load(Ordering::Acquire));
        INIT.call_once(|| {
            INIT_RUNS.fetch_add(1, Ordering::Release);
        });
        assert_eq!(h.join().unwrap(), 1, "read before the initialization");
    })
    .unwrap_err();
    assert!(
        matches!(failure.kind, FailureKind::Panic { .. }),
        "{failure}"
    );
    assert!(!INIT.is_completed());
}

#[test]
fn a_program_that_does_not_repeat_itself_is_reported_clearly() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // std's atomic is invisible to the simulator and keeps its value across executions: the
    // first execution stores, the later ones load, where the search replays a store.
    static STEER: StdAtomicU32 = StdAtomicU32::new(0);
    STEER.store(0, SeqCst);
    let failure = try_check(Config::dfs(None), || {
        let x = std::sync::Arc::new(AtomicU32::new(0));
        let x1 = std::sync::Arc::clone(&x);
        let h = thread::spawn(move || x1.store(2, Ordering::Relaxed));
        if STEER.fetch_add(1, SeqCst) == 0 {
            x.store(1, Ordering::Relaxed);
        } else {
            x.load(Ordering::Relaxed);
        }
        x.load(Ordering::Relaxed);
        h.join().unwrap();
    })
    .unwrap_err();
    match &failure.kind {
        FailureKind::Unsupported { message } => {
            assert!(message.contains("did not repeat itself"), "{message}");
            assert!(message.contains("inside the closure"), "{message}");
            // A replay of one schedule would not show it: none is offered.
            let text = failure.to_string();
            assert!(!text.contains("LOCKSTEP_REPLAY"), "{text}");
        }
        other => panic!("{other:?}\n{failure}"),
    }
}
