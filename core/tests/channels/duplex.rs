//! `Duplex`: concurrent callers each get their own reply; late replies go nowhere.

use lockstep_core::channel::{CallError, Duplex, StaleReply};

use crate::{W, sized, within};

#[test]
fn concurrent_callers_each_get_their_own_reply() {
    let calls = sized(2_000);
    let d: Duplex<(usize, usize), (usize, usize), 4, W> = Duplex::new();
    std::thread::scope(|s| {
        let server = s.spawn(|| {
            let mut served = 0;
            while let Ok((to, (caller, i))) = d.recv() {
                d.reply(to, (caller, i * 2)).unwrap();
                served += 1;
            }
            served
        });
        let callers: Vec<_> = (0..3)
            .map(|c| {
                let d = &d;
                s.spawn(move || {
                    for i in 0..calls {
                        if i % 2 == 0 {
                            assert_eq!(d.call((c, i), u32::MAX), Ok((c, i * 2)));
                        } else {
                            let ticket = d.call_async((c, i)).unwrap();
                            assert_eq!(ticket.wait(), (c, i * 2));
                        }
                    }
                })
            })
            .collect();
        for t in callers {
            t.join().unwrap();
        }
        d.close();
        assert_eq!(server.join().unwrap(), 3 * calls);
    });
}

#[test]
fn a_late_reply_is_refused_and_never_reaches_the_next_caller() {
    let d: Duplex<u32, u32, 1, W> = Duplex::new();
    // The first caller gives up before the server answers.
    assert_eq!(d.call(1, 2), Err(CallError::Timeout));
    let (late, req) = d.try_recv().unwrap();
    assert_eq!(req, 1);
    // The slot is reused by the next call.
    let mut ticket = d.call_async(2).unwrap();
    assert_eq!(d.reply(late, 100), Err(StaleReply(100)));
    assert_eq!(ticket.try_take(), None);
    let (to, req) = d.try_recv().unwrap();
    d.reply(to, req * 10).unwrap();
    assert_eq!(ticket.try_take(), Some(20));
}

#[test]
fn callers_that_time_out_under_load_never_see_a_wrong_reply() {
    let calls = sized(1_000);
    let d: Duplex<(usize, usize), (usize, usize), 2, W> = Duplex::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            while let Ok((to, req)) = d.recv() {
                std::thread::yield_now(); // slow server: some callers give up
                let _ = d.reply(to, req);
            }
        });
        let callers: Vec<_> = (0..3)
            .map(|c| {
                let d = &d;
                s.spawn(move || {
                    let mut answered = 0;
                    for i in 0..calls {
                        match d.call((c, i), 3) {
                            Ok(rep) => {
                                assert_eq!(rep, (c, i), "a reply reached the wrong caller");
                                answered += 1;
                            }
                            Err(CallError::Timeout | CallError::NotSent(_)) => {}
                        }
                    }
                    answered
                })
            })
            .collect();
        let answered: usize = callers.into_iter().map(|t| t.join().unwrap()).sum();
        d.close();
        assert!(answered <= 3 * calls);
    });
}

#[test]
#[cfg_attr(miri, ignore = "a liveness test whose statics are leaked on purpose")]
fn close_fails_the_calls_blocked_for_a_reply_slot() {
    within(20, "a call blocked for a reply slot across close", || {
        let d: &'static Duplex<u32, u32, 1, W> = Box::leak(Box::new(Duplex::new()));
        // The only reply slot is taken by a call nobody answers.
        let held = d.call_async(1).unwrap();
        std::thread::scope(|s| {
            let blocked_async = s.spawn(|| d.call_async(2).map(drop));
            let blocked_sync = s.spawn(|| d.call(3, u32::MAX));
            // Give both callers time to block (if they have not, they see the close at once).
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert!(d.close());
            assert_eq!(
                blocked_async.join().unwrap(),
                Err(lockstep_core::SendError(2))
            );
            assert_eq!(blocked_sync.join().unwrap(), Err(CallError::NotSent(3)));
        });
        // The call already in flight is still delivered and can be answered.
        let (to, req) = d.try_recv().unwrap();
        assert_eq!(req, 1);
        d.reply(to, 10).unwrap();
        assert_eq!(held.wait(), 10);
    });
}
