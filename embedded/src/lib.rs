//! What every firmware test shares: the SysTick interrupt as the source of preemption (with a
//! pseudo-random period, so it lands at every point of thread mode's loops), the panic handler
//! that reports through semihosting and exits with a failure, and `pass`.
//!
//! Each firmware in `src/bin/` exercises one documented interrupt pattern of lockstep-core: the
//! SysTick handler plays the interrupt, thread mode plays the application, and every message is
//! counted and checked for order. QEMU runs it (`./run` in this folder) and exits with the
//! firmware's status.
#![no_std]

use core::fmt::Write as _;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_semihosting::{debug, hio};
use lockstep_core::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// State of the pseudo-random generator of SysTick periods (xorshift32).
static SEED: AtomicU32 = AtomicU32::new(0x2545_f491);

/// Starts SysTick, interrupting every few hundred to few thousand cycles.
pub fn start_ticks(syst: &mut SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(2_000);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Stops the SysTick interrupt.
pub fn stop_ticks() {
    // SAFETY: clears TICKINT and ENABLE of the SysTick control register, which only this
    // firmware's thread mode and its SysTick handler use; a read-modify-write raced by the
    // handler only loses the handler's reload change, which `next_period` redoes.
    unsafe { (*SYST::PTR).csr.modify(|v| v & !0b11) };
}

/// Called at the start of each SysTick handler: picks the next period at random between 200 and
/// 4,295 cycles, so that the interrupt does not land at the same phase of thread mode's loops.
pub fn next_period() {
    next_period_within(200, 0xfff);
}

/// Like [`next_period`], between `min` and `min + mask` cycles (`mask` is a power of two minus 1).
pub fn next_period_within(min: u32, mask: u32) {
    // Relaxed: only SysTick uses the seed (load and store, as Armv6-M has no read-modify-write).
    let mut x = SEED.load(Relaxed);
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    SEED.store(x, Relaxed);
    // SAFETY: the reload register takes effect at the next wrap; only this handler writes it
    // while the interrupt runs.
    unsafe { (*SYST::PTR).rvr.write(min + (x & mask)) };
}

/// A little busy work inside a critical region, so that the interrupt often lands inside it.
#[inline(never)]
pub fn busy(n: u32) {
    for _ in 0..n {
        cortex_m::asm::nop();
    }
}

/// Prints `line` on the host's standard output through semihosting.
pub fn report(args: core::fmt::Arguments<'_>) {
    if let Ok(mut out) = hio::hstdout() {
        let _ = out.write_fmt(args);
        let _ = out.write_str("\n");
    }
}

/// Reports success and ends the emulation with status 0.
pub fn pass(name: &str) -> ! {
    report(format_args!("PASS {name}"));
    debug::exit(debug::EXIT_SUCCESS);
    #[allow(clippy::empty_loop)]
    loop {}
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    cortex_m::interrupt::disable();
    report(format_args!("FAIL {info}"));
    debug::exit(debug::EXIT_FAILURE);
    #[allow(clippy::empty_loop)]
    loop {}
}
