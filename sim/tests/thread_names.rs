//! A failure's table heads each thread's column with the name it was given
//! (`thread::Builder::name`), as std's panic messages name threads: a pool's `worker-0` and
//! `worker-1` are told apart without counting spawns.

use lockstep_sim::sync::{Condvar, Mutex};
use lockstep_sim::{Config, FailureKind, thread, try_check};
use std::sync::Arc;

#[test]
fn a_named_thread_is_named_in_the_table() {
    let failure = try_check(Config::dfs(None), || {
        let state = Arc::new((Mutex::new(false), Condvar::new()));
        let s = Arc::clone(&state);
        let worker = thread::Builder::new()
            .name("worker-0".into())
            .spawn(move || {
                // Planted: waits for a flag nobody sets.
                let g = s.0.lock().unwrap();
                drop(s.1.wait_while(g, |set| !*set).unwrap());
            })
            .unwrap();
        worker.join().unwrap();
    })
    .unwrap_err();
    assert!(
        matches!(failure.kind, FailureKind::Deadlock { .. }),
        "{failure}"
    );
    assert_eq!(failure.names.get(1), Some(&Some("worker-0".to_owned())));
    let text = failure.to_string();
    let header = text
        .lines()
        .find(|l| l.starts_with("step |"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        header.contains("thread 0 (main)") && header.contains("thread 1 (worker-0)"),
        "{header}"
    );
}
