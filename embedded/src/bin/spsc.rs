//! The SPSC split between the SysTick interrupt and thread mode, both ways.
//!
//! 1. The interrupt owns the `Producer` (handed over through a `CriticalSectionMutex`) and
//!    sends 0, 1, 2, ... with `try_send`; thread mode's blocking `recv` gets them in order, then
//!    `Closed` when the interrupt closes the ring.
//! 2. A second ring the other way: thread mode's blocking `send`, the interrupt's `try_recv`.
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception};
use lockstep_core::CriticalSectionMutex;
use lockstep_core::TrySendError;
use lockstep_core::channel::{Consumer, Producer, Spsc};
use lockstep_core::sync::atomic::{AtomicU32, Ordering::SeqCst};
use lockstep_embedded::{busy, next_period, pass, report, start_ticks, stop_ticks};

const MESSAGES: u32 = 3_000;

static TO_THREAD: Spsc<u32, 4> = Spsc::new();
static TO_IRQ: Spsc<u32, 4> = Spsc::new();
static IRQ_TX: CriticalSectionMutex<Option<Producer<'static, u32, 4>>> =
    CriticalSectionMutex::new(None);
static IRQ_RX: CriticalSectionMutex<Option<Consumer<'static, u32, 4>>> =
    CriticalSectionMutex::new(None);
static SENT: AtomicU32 = AtomicU32::new(0);
static RECEIVED: AtomicU32 = AtomicU32::new(0);
static FULL: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    next_period();
    IRQ_TX.lock(|tx| {
        let Some(producer) = tx else { return };
        let mut next = SENT.load(SeqCst);
        while next < MESSAGES {
            match producer.try_send(next) {
                Ok(()) => next += 1,
                Err(TrySendError::Full(_)) => {
                    FULL.store(FULL.load(SeqCst) + 1, SeqCst);
                    break;
                }
                Err(TrySendError::Closed(_)) => panic!("the consumer closed the ring"),
            }
        }
        SENT.store(next, SeqCst);
        if next == MESSAGES {
            // Dropping the producer closes the ring: thread mode drains, then gets `Closed`.
            *tx = None;
        }
    });
    IRQ_RX.lock(|rx| {
        let Some(consumer) = rx else { return };
        // A few per tick, so that thread mode's `send` finds the ring full.
        for _ in 0..2 {
            let Ok(v) = consumer.try_recv() else { break };
            let expected = RECEIVED.load(SeqCst);
            assert_eq!(v, expected, "thread mode -> interrupt: out of order");
            RECEIVED.store(expected + 1, SeqCst);
        }
    });
}

#[entry]
fn main() -> ! {
    let mut p = cortex_m::Peripherals::take().unwrap();
    let (tx, mut rx) = TO_THREAD.try_split().unwrap();
    let (mut tx2, rx2) = TO_IRQ.try_split().unwrap();
    IRQ_TX.lock(|slot| *slot = Some(tx));
    IRQ_RX.lock(|slot| *slot = Some(rx2));
    start_ticks(&mut p.SYST);

    let mut expected = 0;
    // Until `Closed`, which comes once the interrupt dropped the producer.
    while let Ok(v) = rx.recv() {
        assert_eq!(v, expected, "interrupt -> thread mode: out of order");
        expected += 1;
        busy(v % 32 * 16);
    }
    assert_eq!(expected, MESSAGES, "messages lost before the close");
    report(format_args!(
        "interrupt -> thread mode: {MESSAGES} messages in order, then Closed; the ring was full {} times",
        FULL.load(SeqCst)
    ));

    for v in 0..MESSAGES {
        tx2.send(v).unwrap();
    }
    while RECEIVED.load(SeqCst) < MESSAGES {
        core::hint::spin_loop();
    }
    stop_ticks();
    report(format_args!(
        "thread mode -> interrupt: {MESSAGES} messages in order"
    ));
    pass("spsc");
}
