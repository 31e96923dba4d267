//! `Queue`, `Semaphore` and `Event` between the SysTick interrupt and thread mode.
//!
//! 1. The interrupt sends 0, 1, 2, ... with `try_send` (retrying the same number on the next
//!    tick while the queue is full) and releases a bounded `Semaphore` per message; thread mode
//!    acquires a permit, then `try_recv` must find the message, in order.
//! 2. Thread mode sends with the blocking `send` (waiting for the interrupt to make room); the
//!    interrupt drains with `try_recv` and checks the order; it sets an `Event` when it has seen
//!    them all, which thread mode waits for.
//! 3. The interrupt sends a last batch and closes the queue; thread mode's blocking `recv` gets
//!    every message, then `Closed`.
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception};
use lockstep_core::sync::atomic::{AtomicU32, Ordering::SeqCst};
use lockstep_core::{Event, Queue, Semaphore, TrySendError};
use lockstep_embedded::{busy, next_period, pass, report, start_ticks, stop_ticks};

const MESSAGES: u32 = 3_000;

static Q: Queue<u32, 8> = Queue::new();
/// Counts the messages the interrupt sent in phase 1 and thread mode has not taken.
static READY: Semaphore = Semaphore::with_max(0, 8);
static ALL_SEEN: Event = Event::new();
/// 1, 2 or 3: what the interrupt does (0: nothing).
static PHASE: AtomicU32 = AtomicU32::new(1);
/// The next number the interrupt sends (phases 1 and 3) or expects (phase 2).
static NEXT: AtomicU32 = AtomicU32::new(0);
static FULL: AtomicU32 = AtomicU32::new(0);
static EMPTY: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    next_period();
    let next = NEXT.load(SeqCst);
    match PHASE.load(SeqCst) {
        1 => {
            // Bursts of up to 3, so the queue fills while thread mode is busy.
            for next in next..MESSAGES.min(next + 3) {
                match Q.try_send(next) {
                    Ok(()) => {
                        NEXT.store(next + 1, SeqCst);
                        READY.release().expect("more permits than queued messages");
                    }
                    Err(TrySendError::Full(_)) => {
                        FULL.store(FULL.load(SeqCst) + 1, SeqCst);
                        break;
                    }
                    Err(TrySendError::Closed(_)) => panic!("closed in phase 1"),
                }
            }
        }
        2 => {
            // Drain a few per tick, so thread mode's `send` finds the queue full sometimes.
            for _ in 0..3 {
                match Q.try_recv() {
                    Ok(v) => {
                        let next = NEXT.load(SeqCst);
                        assert_eq!(v, next, "phase 2: out of order");
                        NEXT.store(next + 1, SeqCst);
                        if next + 1 == MESSAGES {
                            ALL_SEEN.set();
                        }
                    }
                    Err(_) => {
                        EMPTY.store(EMPTY.load(SeqCst) + 1, SeqCst);
                        break;
                    }
                }
            }
        }
        3 if next < MESSAGES => match Q.try_send(next) {
            Ok(()) => NEXT.store(next + 1, SeqCst),
            Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Closed(_)) => panic!("closed before the last message"),
        },
        3 if next == MESSAGES => {
            assert!(Q.close());
            NEXT.store(next + 1, SeqCst);
        }
        _ => {}
    }
}

#[entry]
fn main() -> ! {
    let mut p = cortex_m::Peripherals::take().unwrap();
    start_ticks(&mut p.SYST);

    // Phase 1: interrupt -> thread mode, counted by the semaphore.
    for expected in 0..MESSAGES {
        READY.acquire();
        assert_eq!(
            Q.try_recv(),
            Ok(expected),
            "phase 1: a permit without its message"
        );
        busy(expected % 64 * 8);
    }
    assert!(Q.is_empty());
    report(format_args!(
        "phase 1: {MESSAGES} messages in order, the interrupt found the queue full {} times",
        FULL.load(SeqCst)
    ));

    // Phase 2: thread mode -> interrupt with the blocking `send`.
    // Idle the interrupt while its counter is reset: in phase 1 it would send again from 0.
    PHASE.store(0, SeqCst);
    NEXT.store(0, SeqCst);
    PHASE.store(2, SeqCst);
    for v in 0..MESSAGES {
        Q.send(v).unwrap();
    }
    ALL_SEEN.wait();
    assert_eq!(NEXT.load(SeqCst), MESSAGES);
    report(format_args!(
        "phase 2: {MESSAGES} messages in order, the interrupt found the queue empty {} times",
        EMPTY.load(SeqCst)
    ));

    // Phase 3: the interrupt sends and closes; thread mode's blocking `recv` drains.
    PHASE.store(0, SeqCst);
    NEXT.store(0, SeqCst);
    PHASE.store(3, SeqCst);
    let mut expected = 0;
    // Until `Closed`, which `recv` returns once the queue is closed and drained.
    while let Ok(v) = Q.recv() {
        assert_eq!(v, expected, "phase 3: out of order");
        expected += 1;
    }
    assert_eq!(
        expected, MESSAGES,
        "phase 3: messages lost before the close"
    );
    stop_ticks();
    report(format_args!("phase 3: {MESSAGES} messages, then Closed"));
    pass("queue");
}
