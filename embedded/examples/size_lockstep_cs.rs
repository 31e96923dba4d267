//! `size_lockstep` with a `CriticalSectionMutex` instead of the spin `Mutex`: the lock that
//! heapless's and embassy-sync's firmwares use too, so that the difference to them is the queue
//! and the event.
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception};
use lockstep_core::{CriticalSectionMutex, Event, Queue};

static SUM: CriticalSectionMutex<u32> = CriticalSectionMutex::new(0);
static Q: Queue<u32, 8> = Queue::new();
static READY: Event = Event::new();

#[exception]
fn SysTick() {
    let _ = Q.try_send(core::hint::black_box(7));
    READY.set();
}

#[entry]
fn main() -> ! {
    let mut p = cortex_m::Peripherals::take().unwrap();
    p.SYST.set_reload(1_000);
    p.SYST.enable_interrupt();
    p.SYST.enable_counter();
    loop {
        READY.wait();
        READY.clear();
        while let Ok(v) = Q.try_recv() {
            SUM.lock(|sum| {
                *sum += v;
                core::hint::black_box(*sum);
            });
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
