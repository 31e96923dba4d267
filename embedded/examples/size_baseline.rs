//! Code-size baseline: the same firmware skeleton as the other `size_*` examples (SysTick
//! started, an interrupt handler, a main loop) with no synchronization at all. `./size`
//! subtracts its `.text` from theirs.
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception};

#[exception]
fn SysTick() {
    core::hint::black_box(0u32);
}

#[entry]
fn main() -> ! {
    let mut p = cortex_m::Peripherals::take().unwrap();
    p.SYST.set_reload(1_000);
    p.SYST.enable_interrupt();
    p.SYST.enable_counter();
    loop {
        core::hint::black_box(0u32);
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
