//! The application's own code checked under the simulator: the hand-off over lockstep's
//! `Mutex`, `Condvar`, `Queue` and `Event` explored exhaustively, a planted lost wake-up found as
//! a deadlock, simulated timeouts, and async tasks on an `AsyncQueue`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lockstep::lockstep_sim::{Config, FailureKind, check, future, thread, try_check};
use lockstep::{AsyncQueue, Event};
use lockstep_checked_app::Handoff;

#[test]
fn the_handoff_is_correct_in_every_interleaving() {
    let stats = check(Config::dfs(None), || {
        let h = Arc::new(Handoff::new());
        let worker = {
            let h = Arc::clone(&h);
            thread::spawn(move || h.work())
        };
        h.submit(21);
        assert_eq!(h.results.recv(), Ok(42));
        assert!(h.wait_done(Duration::from_secs(5)));
        worker.join().unwrap();
    });
    assert!(stats.complete, "every interleaving explored: {stats:?}");
    assert!(stats.schedules > 1);
}

#[test]
fn a_lost_wakeup_is_found_as_a_deadlock() {
    let failure = try_check(Config::dfs(None), || {
        let h = Arc::new(Handoff::new());
        let worker = {
            let h = Arc::clone(&h);
            thread::spawn(move || h.work_racy())
        };
        h.submit(21);
        assert_eq!(h.results.recv(), Ok(42));
        worker.join().unwrap();
    })
    .unwrap_err();
    assert!(
        matches!(failure.kind, FailureKind::Deadlock { .. }),
        "{failure}"
    );
    // The report names the schedule that replays it.
    let replayed = try_check(Config::replay(failure.schedule.clone()), || {
        let h = Arc::new(Handoff::new());
        let worker = {
            let h = Arc::clone(&h);
            thread::spawn(move || h.work_racy())
        };
        h.submit(21);
        assert_eq!(h.results.recv(), Ok(42));
        worker.join().unwrap();
    })
    .unwrap_err();
    assert_eq!(replayed.kind, failure.kind);
}

#[test]
fn two_hundred_five_second_timeouts_take_no_real_time() {
    let start = Instant::now();
    let stats = check(Config::random(1, 200), || {
        let e = Event::new();
        let t0 = lockstep::lockstep_sim::time::now();
        assert!(!e.wait_timeout(Duration::from_secs(5))); // nobody sets it
        assert!(lockstep::lockstep_sim::time::now() - t0 >= Duration::from_secs(5));
    });
    assert_eq!(stats.schedules, 200);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "200 simulated 5 s timeouts took {:?}",
        start.elapsed()
    );
}

#[test]
fn a_timeout_races_the_set() {
    // Either outcome is possible; both must be handled.
    check(Config::dfs(None), || {
        let e = Arc::new(Event::new());
        let e2 = Arc::clone(&e);
        let setter = thread::spawn(move || e2.set());
        let _ = e.wait_timeout(Duration::from_millis(10));
        setter.join().unwrap();
        assert!(e.is_set());
    });
}

#[test]
fn async_tasks_on_an_async_queue() {
    let stats = check(Config::dfs(Some(2)), || {
        let q: Arc<AsyncQueue<u32, 1>> = Arc::new(AsyncQueue::new());
        let tx = Arc::clone(&q);
        let producer = future::spawn(async move {
            for i in 1..=2 {
                tx.send(i).await.unwrap();
            }
        });
        let sum = future::block_on(async {
            let a = q.recv().await.unwrap();
            let b = q.recv().await.unwrap();
            producer.await;
            a + b
        });
        assert_eq!(sum, 3);
    });
    assert!(stats.schedules > 1);
}
