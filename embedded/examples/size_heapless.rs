//! The firmware of `size_lockstep` on heapless: `heapless::mpmc::Queue<u32, 8>` for the queue,
//! and, as heapless has neither a mutex nor an event, `critical_section::Mutex<Cell<u32>>` and an
//! `AtomicBool` polled by thread mode.
#![no_std]
#![no_main]

use core::cell::Cell;
use core::sync::atomic::{AtomicBool, Ordering};

use cortex_m_rt::{entry, exception};
use heapless::mpmc::Queue;

static SUM: critical_section::Mutex<Cell<u32>> = critical_section::Mutex::new(Cell::new(0));
// heapless 0.9 deprecates `Queue::new` because its MPMC queue is not lock-free under
// preemption; it still is the queue heapless offers, and the one measured here.
#[allow(deprecated)]
static Q: Queue<u32, 8> = Queue::new();
static READY: AtomicBool = AtomicBool::new(false);

#[exception]
fn SysTick() {
    let _ = Q.enqueue(core::hint::black_box(7));
    READY.store(true, Ordering::Release);
}

#[entry]
fn main() -> ! {
    let mut p = cortex_m::Peripherals::take().unwrap();
    p.SYST.set_reload(1_000);
    p.SYST.enable_interrupt();
    p.SYST.enable_counter();
    loop {
        while !READY.load(Ordering::Acquire) {
            core::hint::spin_loop();
        }
        READY.store(false, Ordering::Relaxed);
        while let Some(v) = Q.dequeue() {
            critical_section::with(|cs| {
                let sum = SUM.borrow(cs);
                sum.set(sum.get() + v);
                core::hint::black_box(sum.get());
            });
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
