//! Two tasks receive from one `AsyncQueue` with wakers that pend the SysTick interrupt when they
//! are cloned, as a waker that pokes an interrupt (an interrupt-driven executor's) might. The
//! queue clones a waker while it registers it, holding its waker lock, so the interrupt runs at
//! exactly that moment and sends on the same queue: its wake-up must neither wait for the lock
//! (on one core the registration cannot finish until the handler returns) nor be lost.
//!
//! Every message is received exactly once, in order (one thread pops, so the tasks together see
//! 0, 1, 2, ...), and the queue's close ends both tasks.
#![no_std]
#![no_main]

use core::pin::pin;
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use cortex_m::peripheral::SCB;
use cortex_m_rt::{entry, exception};
use lockstep_core::channel::AsyncQueue;
use lockstep_core::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use lockstep_core::{RecvError, TrySendError};
use lockstep_embedded::{next_period, pass, report, start_ticks, stop_ticks};

const MESSAGES: u32 = 1_000;

static Q: AsyncQueue<u32, 4> = AsyncQueue::new();
static SENT: AtomicU32 = AtomicU32::new(0);
/// The next number thread mode must receive.
static NEXT: AtomicU32 = AtomicU32::new(0);
/// Set by task `i`'s waker.
static WOKEN: [AtomicBool; 2] = [AtomicBool::new(true), AtomicBool::new(true)];
static CLONES: AtomicU32 = AtomicU32::new(0);

/// The data pointer is the task's number plus one (distinct wakers, so the queue keeps both).
static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, |_| {});

fn clone(p: *const ()) -> RawWaker {
    CLONES.store(CLONES.load(SeqCst) + 1, SeqCst);
    // The SysTick handler runs as soon as this returns to thread mode's instruction stream:
    // inside the queue's registration.
    SCB::set_pendst();
    cortex_m::asm::dsb();
    cortex_m::asm::isb();
    RawWaker::new(p, &VTABLE)
}

fn wake(p: *const ()) {
    WOKEN[p as usize - 1].store(true, SeqCst);
}

#[exception]
fn SysTick() {
    next_period();
    let next = SENT.load(SeqCst);
    if next < MESSAGES {
        match Q.try_send(next) {
            Ok(()) => SENT.store(next + 1, SeqCst),
            Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Closed(_)) => panic!("closed before the last message"),
        }
    } else if next == MESSAGES {
        assert!(Q.close());
        SENT.store(next + 1, SeqCst);
    }
}

async fn receive() -> u32 {
    let mut received = 0;
    loop {
        match Q.recv().await {
            Ok(v) => {
                let next = NEXT.load(SeqCst);
                assert_eq!(v, next, "lost, duplicated or out of order");
                NEXT.store(next + 1, SeqCst);
                received += 1;
            }
            Err(RecvError) => return received,
        }
    }
}

#[entry]
fn main() -> ! {
    let mut p = cortex_m::Peripherals::take().unwrap();
    start_ticks(&mut p.SYST);
    // SAFETY: the vtable ignores the pointer's target; it only tells the two tasks apart.
    let wakers =
        [1usize, 2].map(|i| unsafe { Waker::from_raw(RawWaker::new(i as *const (), &VTABLE)) });
    let mut tasks = [pin!(receive()), pin!(receive())];
    let mut done = [None, None];
    while done.iter().any(Option::is_none) {
        let mut polled = false;
        for i in 0..2 {
            if done[i].is_none() && WOKEN[i].swap(false, SeqCst) {
                polled = true;
                if let Poll::Ready(n) = tasks[i].as_mut().poll(&mut Context::from_waker(&wakers[i]))
                {
                    done[i] = Some(n);
                }
            }
        }
        if !polled {
            // Sleep until an interrupt; the periodic SysTick ends a sleep that began just after
            // a wake.
            cortex_m::asm::wfi();
        }
    }
    stop_ticks();
    let [a, b] = done.map(Option::unwrap);
    assert_eq!(a + b, MESSAGES, "messages lost");
    report(format_args!(
        "{MESSAGES} messages in order to two tasks ({a} and {b}), the interrupt pended by {} waker clones",
        CLONES.load(SeqCst)
    ));
    pass("pending_waker");
}
