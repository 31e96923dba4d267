//! Code size of lockstep-core: a `Mutex`, a `Queue<u32, 8>` and an `Event`. The SysTick handler
//! sends on the queue and sets the event; thread mode waits for the event, drains the queue and
//! adds each value under the mutex. `./size` builds it and the same firmware on the peers.
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception};
use lockstep_core::{Event, Mutex, Queue};

static SUM: Mutex<u32> = Mutex::new(0);
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
            let mut sum = SUM.lock();
            *sum += v;
            core::hint::black_box(*sum);
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
