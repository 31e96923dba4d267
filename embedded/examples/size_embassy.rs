//! The firmware of `size_lockstep` on embassy-sync: its `Mutex`, `Channel<_, u32, 8>` and
//! `Signal`, all on `CriticalSectionRawMutex`. Their waits are `async`, so thread mode polls
//! (`signaled`, `try_receive`, `try_lock`) where lockstep blocks.
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_sync::mutex::Mutex;
use embassy_sync::signal::Signal;

static SUM: Mutex<CriticalSectionRawMutex, u32> = Mutex::new(0);
static Q: Channel<CriticalSectionRawMutex, u32, 8> = Channel::new();
static READY: Signal<CriticalSectionRawMutex, ()> = Signal::new();

#[exception]
fn SysTick() {
    let _ = Q.try_send(core::hint::black_box(7));
    READY.signal(());
}

#[entry]
fn main() -> ! {
    let mut p = cortex_m::Peripherals::take().unwrap();
    p.SYST.set_reload(1_000);
    p.SYST.enable_interrupt();
    p.SYST.enable_counter();
    loop {
        while !READY.signaled() {
            core::hint::spin_loop();
        }
        READY.reset();
        while let Ok(v) = Q.try_receive() {
            if let Ok(mut sum) = SUM.try_lock() {
                *sum += v;
                core::hint::black_box(*sum);
            }
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
