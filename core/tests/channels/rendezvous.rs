//! `Rendezvous`: exactly once across threads; `send` waits for a receiver.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

use lockstep_core::channel::Rendezvous;
use lockstep_core::{RecvError, SendTimeoutError};

use crate::{W, sized};

#[test]
fn send_returns_only_after_a_receiver_took_the_message() {
    let r: Rendezvous<u32, W> = Rendezvous::new();
    let sent = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            r.send(7).unwrap();
            sent.store(true, Ordering::SeqCst);
        });
        std::thread::sleep(Duration::from_millis(30));
        assert!(
            !sent.load(Ordering::SeqCst),
            "send returned with no receiver"
        );
        assert_eq!(r.recv(), Ok(7));
    });
    assert!(sent.load(Ordering::SeqCst));
}

#[test]
fn a_timed_out_send_takes_its_message_back() {
    let r: Rendezvous<String, W> = Rendezvous::new();
    assert_eq!(
        r.send_timeout("late".into(), 3),
        Err(SendTimeoutError::Timeout("late".into()))
    );
    assert!(r.try_recv().is_err(), "the message must not stay behind");
}

#[test]
fn every_message_is_received_exactly_once() {
    let per_sender = sized(2_000);
    let r: Rendezvous<(usize, usize), W> = Rendezvous::new();
    let seen: Vec<AtomicU8> = (0..2 * per_sender).map(|_| AtomicU8::new(0)).collect();
    std::thread::scope(|s| {
        let senders: Vec<_> = (0..2)
            .map(|p| {
                let r = &r;
                s.spawn(move || {
                    for i in 0..per_sender {
                        r.send((p, i)).unwrap();
                    }
                })
            })
            .collect();
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let (r, seen) = (&r, &seen);
                s.spawn(move || {
                    let mut last = [None::<usize>; 2];
                    while let Ok((p, i)) = r.recv() {
                        assert!(last[p].is_none_or(|l| l < i));
                        last[p] = Some(i);
                        seen[p * per_sender + i].fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for t in senders {
            t.join().unwrap();
        }
        r.close();
        for t in receivers {
            t.join().unwrap();
        }
    });
    assert!(seen.iter().all(|c| c.load(Ordering::Relaxed) == 1));
    assert_eq!(r.recv(), Err(RecvError));
}
