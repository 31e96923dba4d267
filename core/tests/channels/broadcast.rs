//! `Broadcast` and `PubSub`: every receiver sees all or learns exactly how many it lost.

use lockstep_core::channel::{Broadcast, BroadcastError, PubSub, Topic, Topics};
use proptest::prelude::*;

use crate::{W, sized};

/// Bursts of sends and receives by one receiver, checked against the lag policy: every message
/// received is the next one; `Empty` only when none was sent since; `Lagged(n)` only when the
/// next message was overwritten, resuming at the oldest kept (a first lag, or one a lap or more
/// after the last resume) or at most `N / 2` past it (a lag again soon after); the counts add
/// up to what was sent.
fn check_lag_policy<const N: usize>(ops: &[(bool, u8)]) -> Result<(), TestCaseError> {
    let b: Broadcast<u64, N> = Broadcast::new();
    let mut rx = b.subscribe();
    let (mut sent, mut next, mut got, mut missed) = (0u64, 0u64, 0u64, 0u64);
    let mut resumed: Option<u64> = None;
    let n = N as u64;
    for &(is_send, k) in ops {
        for _ in 0..k {
            if is_send {
                prop_assert!(b.send(sent));
                sent += 1;
                continue;
            }
            let oldest = sent.saturating_sub(n);
            match rx.try_recv() {
                Ok(v) => {
                    prop_assert_eq!(v, next, "not the next message");
                    prop_assert!(v >= oldest, "message {} was overwritten", v);
                    next += 1;
                    got += 1;
                }
                Err(BroadcastError::Empty) => prop_assert_eq!(next, sent, "Empty with messages"),
                Err(BroadcastError::Lagged(m)) => {
                    prop_assert!(
                        next < oldest,
                        "Lagged at {} with {}..{} kept",
                        next,
                        oldest,
                        sent
                    );
                    let to = next + m;
                    if resumed.is_none_or(|r| next - r >= n) {
                        prop_assert_eq!(to, oldest, "a first lag resumes at the oldest kept");
                    } else {
                        prop_assert!((oldest..=oldest + n / 2).contains(&to), "resumed at {}", to);
                    }
                    prop_assert!(to < sent, "skipped past the newest message");
                    resumed = Some(to);
                    next = to;
                    missed += m;
                }
                Err(e) => return Err(TestCaseError::fail(format!("unexpected {e}"))),
            }
        }
    }
    b.close();
    loop {
        match rx.try_recv() {
            Ok(v) => {
                prop_assert_eq!(v, next);
                next += 1;
                got += 1;
            }
            Err(BroadcastError::Lagged(m)) => {
                next += m;
                missed += m;
            }
            Err(BroadcastError::Closed) => break,
            Err(e) => return Err(TestCaseError::fail(format!("unexpected {e}"))),
        }
    }
    prop_assert_eq!(got + missed, sent);
    Ok(())
}

proptest! {
    #![proptest_config(crate::model_config())]

    #[test]
    fn lagged_receivers_follow_the_lag_policy(ops in prop::collection::vec((any::<bool>(), 0u8..20), 0..crate::MODEL_OPS)) {
        check_lag_policy::<1>(&ops)?;
        check_lag_policy::<2>(&ops)?;
        check_lag_policy::<3>(&ops)?;
        check_lag_policy::<8>(&ops)?;
    }
}

#[test]
fn each_receiver_sees_every_message_or_learns_how_many_it_missed() {
    let total = sized(20_000);
    let b: Broadcast<usize, 8, W> = Broadcast::new();
    let receivers: Vec<_> = (0..3).map(|_| b.subscribe()).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = receivers
            .into_iter()
            .enumerate()
            .map(|(k, mut rx)| {
                s.spawn(move || {
                    let (mut got, mut missed, mut expected) = (0usize, 0usize, 0usize);
                    loop {
                        match rx.recv() {
                            Ok(v) => {
                                assert_eq!(v, expected, "out of order or an unreported gap");
                                expected += 1;
                                got += 1;
                                if k == 2 && got % 64 == 0 {
                                    std::thread::yield_now(); // a slow receiver
                                }
                            }
                            Err(BroadcastError::Lagged(n)) => {
                                missed += n as usize;
                                expected += n as usize;
                            }
                            Err(BroadcastError::Closed) => break,
                            Err(e) => panic!("unexpected {e}"),
                        }
                    }
                    (got, missed)
                })
            })
            .collect();
        for i in 0..total {
            assert!(b.send(i));
        }
        b.close();
        for h in handles {
            let (got, missed) = h.join().unwrap();
            assert_eq!(got + missed, total);
        }
    });
}

#[test]
fn subscribers_get_only_their_topics_in_order() {
    const A: Topic = Topic::new(0);
    const B: Topic = Topic::new(63);
    let bus: PubSub<(Topic, usize), 64, W> = PubSub::new();
    let mut only_a = bus.subscribe(Topics::EMPTY.with(A));
    let mut only_b = bus.subscribe(Topics::EMPTY.with(B));
    let mut both = bus.subscribe(Topics::EMPTY.with(A).with(B));
    for i in 0..40 {
        let t = if i % 3 == 0 { B } else { A };
        assert!(bus.publish(t, (t, i)));
    }
    bus.close();
    let drain = |sub: &mut lockstep_core::channel::Subscriber<'_, (Topic, usize), 64, W>| {
        let mut v = Vec::new();
        loop {
            match sub.try_recv() {
                Ok((t, (t2, i))) => {
                    assert_eq!(t, t2);
                    v.push((t, i));
                }
                Err(BroadcastError::Closed) => return v,
                Err(e) => panic!("unexpected {e}"),
            }
        }
    };
    let a = drain(&mut only_a);
    let b = drain(&mut only_b);
    let all = drain(&mut both);
    assert!(a.iter().all(|&(t, _)| t == A) && a.len() == 26);
    assert!(b.iter().all(|&(t, _)| t == B) && b.len() == 14);
    assert_eq!(all.len(), 40);
    assert!(all.windows(2).all(|w| w[0].1 < w[1].1));
}

/// A message whose drop panics when `bomb` is set.
#[derive(Clone, Debug, PartialEq)]
struct Bomb {
    n: u32,
    bomb: bool,
}

impl Drop for Bomb {
    fn drop(&mut self) {
        if self.bomb && !std::thread::panicking() {
            self.bomb = false; // the clone a receiver holds must not explode too
            panic!("Bomb {} dropped", self.n);
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "a liveness test whose statics are leaked on purpose")]
fn a_send_whose_replaced_message_panics_in_drop_still_wakes_the_receivers() {
    // `Parked` needs its wakes (a `Spin` waiter would poll and hide a missing one).
    let b: &'static Broadcast<Bomb, 1, crate::Parked> = Box::leak(Box::new(Broadcast::new()));
    b.send(Bomb { n: 1, bomb: true }); // kept in the only slot, replaced by the next send
    let mut rx = b.subscribe();
    let receiver = std::thread::spawn(move || {
        let start = std::time::Instant::now();
        let got = rx.recv_timeout(std::time::Duration::from_secs(10));
        (got.map(|m| m.n), start.elapsed())
    });
    // Let the receiver go to sleep first (if it has not, it finds the message at once).
    std::thread::sleep(std::time::Duration::from_millis(100));
    let send = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        b.send(Bomb { n: 2, bomb: false })
    }));
    assert!(send.is_err(), "the replaced message's drop panics");
    let (got, waited) = receiver.join().unwrap();
    assert_eq!(got, Ok(2));
    assert!(
        waited < std::time::Duration::from_secs(5),
        "the receiver slept until its deadline: {waited:?}"
    );
    // The channel still works after the panic.
    let mut rx = b.subscribe();
    assert!(b.send(Bomb { n: 3, bomb: false }));
    assert_eq!(rx.try_recv().map(|m| m.n), Ok(3));
}

/// A subscriber clones only the messages of its topics: the others are passed over under the
/// slot's read lock without a clone (a subscriber to one topic of many pays for its own).
#[test]
fn a_subscriber_clones_only_its_topics_messages() {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    static CLONES: AtomicUsize = AtomicUsize::new(0);
    #[derive(Debug, PartialEq)]
    struct Counted(u32);
    impl Clone for Counted {
        fn clone(&self) -> Self {
            CLONES.fetch_add(1, Relaxed);
            Counted(self.0)
        }
    }
    let (mine, other) = (Topic::new(1), Topic::new(2));
    let bus: PubSub<Counted, 64, W> = PubSub::new();
    let mut sub = bus.subscribe(Topics::EMPTY.with(mine));
    for i in 0..30 {
        assert!(bus.publish(if i % 3 == 0 { mine } else { other }, Counted(i)));
    }
    let mut got = Vec::new();
    while let Ok((t, m)) = sub.try_recv() {
        assert_eq!(t, mine);
        got.push(m.0);
    }
    assert_eq!(got, (0..30).step_by(3).collect::<Vec<_>>());
    assert_eq!(
        CLONES.load(Relaxed),
        10,
        "clones of messages the subscriber does not follow"
    );
    // The blocking receive and the timed one pass others over the same way.
    for i in 0..6 {
        bus.publish(if i % 3 == 2 { mine } else { other }, Counted(100 + i));
    }
    assert_eq!(sub.recv(), Ok((mine, Counted(102))));
    assert_eq!(sub.recv_timeout(5), Ok((mine, Counted(105))));
    assert_eq!(CLONES.load(Relaxed), 12);
}
