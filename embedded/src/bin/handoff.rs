//! A `Rendezvous` and a `Duplex` served by the SysTick interrupt.
//!
//! 1. Thread mode's blocking `Rendezvous::send` returns only once the interrupt took the message
//!    with `try_recv`: each message is taken exactly once, in order.
//! 2. The interrupt is a `Duplex` server (`try_recv`, then `reply`); thread mode calls it with
//!    the blocking `call` and with `call_async` plus `Ticket::wait`, and gets each reply.
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception};
use lockstep_core::channel::{Duplex, Rendezvous};
use lockstep_core::sync::atomic::{AtomicU32, Ordering::SeqCst};
use lockstep_embedded::{next_period, pass, report, start_ticks, stop_ticks};

const MESSAGES: u32 = 1_000;

static HANDSHAKE: Rendezvous<u32> = Rendezvous::new();
static SQUARES: Duplex<u32, u32, 2> = Duplex::new();
static TAKEN: AtomicU32 = AtomicU32::new(0);
static SERVED: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    next_period();
    if let Ok(v) = HANDSHAKE.try_recv() {
        let expected = TAKEN.load(SeqCst);
        assert_eq!(v, expected, "rendezvous: out of order or taken twice");
        TAKEN.store(expected + 1, SeqCst);
    }
    while let Ok((to, n)) = SQUARES.try_recv() {
        SQUARES.reply(to, n * n).expect("the caller is waiting");
        SERVED.store(SERVED.load(SeqCst) + 1, SeqCst);
    }
}

#[entry]
fn main() -> ! {
    let mut p = cortex_m::Peripherals::take().unwrap();
    start_ticks(&mut p.SYST);

    for v in 0..MESSAGES {
        HANDSHAKE.send(v).unwrap();
        // `send` returned: the interrupt has taken this message.
        assert_eq!(
            TAKEN.load(SeqCst),
            v + 1,
            "send returned before the handover"
        );
    }
    report(format_args!(
        "rendezvous: {MESSAGES} messages, each handed over before send returned"
    ));

    for n in 0..MESSAGES {
        let square = if n % 2 == 0 {
            SQUARES.call(n, u32::MAX).unwrap()
        } else {
            SQUARES.call_async(n).unwrap().wait()
        };
        assert_eq!(square, n * n);
    }
    assert_eq!(SERVED.load(SeqCst), MESSAGES);
    stop_ticks();
    report(format_args!(
        "duplex: {MESSAGES} calls served by the interrupt, each reply to its caller"
    ));
    pass("handoff");
}
