//! Thread mode sleeps between its checks with `Spin<Wfe>`: a `RelaxStrategy` that runs the `wfe`
//! instruction, so a blocking call waits in a low-power state until an interrupt instead of
//! spinning.
//!
//! It cannot lose a wake-up: `Spin::wait` re-reads the word just before it relaxes, and an
//! interrupt that changes the word after that read ends with an exception return, which sets the
//! event register, so the `wfe` that follows returns at once (Armv6-M and Armv7-M: "any WFE
//! wakeup event, or the execution of an exception return instruction, sets the Event Register").
//!
//! The SysTick interrupt sends 0, 1, 2, ... on a `Queue` and releases a `Semaphore` per message,
//! and sets an `Event` at the end; thread mode blocks in `recv`, `acquire` and `wait`, all through
//! `Spin<Wfe>`. Every message arrives in order, and `DONE` ends the run. QEMU runs `wfe` as a
//! no-op (it models no event register), so under QEMU this checks that the strategy composes with
//! every blocking call, not that the core sleeps or wakes in time (on a chip, the exception-return
//! rule above is what keeps a change from waiting for the next interrupt to be seen).
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception};
use lockstep_core::sync::atomic::{AtomicU32, Ordering::SeqCst};
use lockstep_core::{Event, Queue, RelaxStrategy, Semaphore, Spin};
use lockstep_embedded::{next_period_within, pass, report, start_ticks, stop_ticks};

const MESSAGES: u32 = 500;

/// Sleeps until an event: an interrupt, or the exception return of one that came since the last
/// `wfe` (see the module docs).
struct Wfe;

impl RelaxStrategy for Wfe {
    #[inline]
    fn relax() {
        SLEEPS.store(SLEEPS.load(SeqCst) + 1, SeqCst);
        cortex_m::asm::wfe();
    }
}

/// The `Wait` of this firmware: the spin backoff, then `wfe`.
type Sleepy = Spin<Wfe>;

static Q: Queue<u32, 4, Sleepy> = Queue::new();
static SENT: Semaphore<Sleepy> = Semaphore::new(0);
static DONE: Event<Sleepy> = Event::new();
static NEXT: AtomicU32 = AtomicU32::new(0);
static TICKS: AtomicU32 = AtomicU32::new(0);
/// Times thread mode ran `wfe`.
static SLEEPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    // Long periods (thousands of cycles): thread mode has nothing to do in between.
    next_period_within(2_000, 0xfff);
    TICKS.store(TICKS.load(SeqCst) + 1, SeqCst);
    let next = NEXT.load(SeqCst);
    if next < MESSAGES {
        if Q.try_send(next).is_ok() {
            NEXT.store(next + 1, SeqCst);
            SENT.release().unwrap();
        }
    } else {
        DONE.set();
    }
}

#[entry]
fn main() -> ! {
    let mut p = cortex_m::Peripherals::take().unwrap();
    start_ticks(&mut p.SYST);
    for expected in 0..MESSAGES {
        assert_eq!(Q.recv(), Ok(expected), "out of order");
        SENT.acquire();
    }
    DONE.wait();
    stop_ticks();
    let (ticks, sleeps) = (TICKS.load(SeqCst), SLEEPS.load(SeqCst));
    report(format_args!(
        "{MESSAGES} messages in order; thread mode ran wfe {sleeps} times in {ticks} interrupts"
    ));
    assert!(sleeps > 0, "thread mode never waited");
    pass("sleep");
}
