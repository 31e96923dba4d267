//! Locks shared with the SysTick interrupt.
//!
//! 1. A `CriticalSectionMutex` counter: thread mode and the interrupt both increment it with a
//!    deliberately slow read-modify-write inside the lock; no increment is lost.
//! 2. A spin `Mutex`: thread mode uses the blocking `lock`; the interrupt only `try_lock`s and
//!    counts the times it found the lock held (it must not wait: thread mode cannot run until the
//!    handler returns). Every successful increment is kept.
//! 3. `Semaphore::try_acquire` in the interrupt against thread mode's blocking `acquire` and
//!    `release` of a one-permit semaphore: never more than one holder.
//! 4. The interrupt releases a full bounded semaphore and an unbounded one at `u32::MAX` permits:
//!    each release is the documented `OverRelease` error (not an overflow panic: `./run` builds
//!    with overflow checks), and neither count moves.
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception};
use lockstep_core::sync::atomic::{AtomicU32, Ordering::SeqCst};
use lockstep_core::{CriticalSectionMutex, Mutex, OverRelease, Semaphore};
use lockstep_embedded::{busy, next_period, pass, report, start_ticks, stop_ticks};

const ROUNDS: u32 = 5_000;
const TICKS: u32 = 500;

static CS_COUNT: CriticalSectionMutex<u32> = CriticalSectionMutex::new(0);
static SPIN_COUNT: Mutex<u32> = Mutex::new(0);
static ONE: Semaphore = Semaphore::bounded(1);
/// Set while someone holds the permit of `ONE`.
static HELD: AtomicU32 = AtomicU32::new(0);
static IRQ_CS: AtomicU32 = AtomicU32::new(0);
static IRQ_SPIN_OK: AtomicU32 = AtomicU32::new(0);
static IRQ_SPIN_BUSY: AtomicU32 = AtomicU32::new(0);
static IRQ_PERMITS: AtomicU32 = AtomicU32::new(0);
static IRQ_NO_PERMIT: AtomicU32 = AtomicU32::new(0);
static FULL: Semaphore = Semaphore::bounded(2);
static TOP: Semaphore = Semaphore::new(u32::MAX);
static IRQ_OVER: AtomicU32 = AtomicU32::new(0);

/// Reads, waits a little, writes back: a lost update if anything else ran in between.
#[inline(never)]
fn slow_increment(v: &mut u32) {
    let old = *v;
    busy(3);
    *v = old + 1;
}

#[exception]
fn SysTick() {
    next_period();
    CS_COUNT.lock(slow_increment);
    IRQ_CS.store(IRQ_CS.load(SeqCst) + 1, SeqCst);
    match SPIN_COUNT.try_lock() {
        Some(mut count) => {
            slow_increment(&mut count);
            IRQ_SPIN_OK.store(IRQ_SPIN_OK.load(SeqCst) + 1, SeqCst);
        }
        None => IRQ_SPIN_BUSY.store(IRQ_SPIN_BUSY.load(SeqCst) + 1, SeqCst),
    }
    if ONE.try_acquire().is_ok() {
        assert_eq!(
            HELD.load(SeqCst),
            0,
            "two holders of a one-permit semaphore"
        );
        IRQ_PERMITS.store(IRQ_PERMITS.load(SeqCst) + 1, SeqCst);
        ONE.release().unwrap();
    } else {
        IRQ_NO_PERMIT.store(IRQ_NO_PERMIT.load(SeqCst) + 1, SeqCst);
    }
    if FULL.release() == Err(OverRelease { max: 2 })
        && TOP.release() == Err(OverRelease { max: u32::MAX })
    {
        IRQ_OVER.store(IRQ_OVER.load(SeqCst) + 1, SeqCst);
    }
}

#[entry]
fn main() -> ! {
    let mut p = cortex_m::Peripherals::take().unwrap();
    start_ticks(&mut p.SYST);
    // At least ROUNDS rounds, and on until the interrupt ran TICKS times.
    let mut rounds = 0;
    while rounds < ROUNDS || IRQ_CS.load(SeqCst) < TICKS {
        rounds += 1;
        CS_COUNT.lock(slow_increment);
        slow_increment(&mut SPIN_COUNT.lock());
        ONE.acquire();
        HELD.store(1, SeqCst);
        busy(5);
        HELD.store(0, SeqCst);
        ONE.release().unwrap();
    }
    stop_ticks();
    let irq_cs = IRQ_CS.load(SeqCst);
    assert_eq!(
        CS_COUNT.lock(|c| *c),
        rounds + irq_cs,
        "critical-section mutex lost an update"
    );
    let (ok, busy_count) = (IRQ_SPIN_OK.load(SeqCst), IRQ_SPIN_BUSY.load(SeqCst));
    assert_eq!(*SPIN_COUNT.lock(), rounds + ok, "spin mutex lost an update");
    assert!(
        busy_count > 0,
        "the interrupt never met the spin lock held: the test proves nothing"
    );
    let (permits, none) = (IRQ_PERMITS.load(SeqCst), IRQ_NO_PERMIT.load(SeqCst));
    assert!(
        none > 0,
        "the interrupt never met the permit held: the test proves nothing"
    );
    assert_eq!(
        IRQ_OVER.load(SeqCst),
        irq_cs,
        "a release above the bound was not the OverRelease error"
    );
    assert_eq!((FULL.available(), TOP.available()), (2, u32::MAX));
    report(format_args!(
        "critical-section mutex: {} increments ({irq_cs} by the interrupt), none lost",
        rounds + irq_cs
    ));
    report(format_args!(
        "spin mutex: {} increments, the interrupt's try_lock found it held {busy_count} times",
        rounds + ok
    ));
    report(format_args!(
        "one-permit semaphore: the interrupt took it {permits} times, found it held {none} times"
    ));
    report(format_args!(
        "over-release: {irq_cs} releases above the bound from the interrupt, each an OverRelease"
    ));
    pass("locks");
}
