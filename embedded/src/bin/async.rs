//! The async channels driven by a minimal executor in thread mode, with the SysTick interrupt as
//! the waker's source.
//!
//! The executor polls one task and sleeps (`wfi`) until its waker runs. The waker only sets a
//! flag; the interrupt wakes the task through the channels it sends on or drains:
//!
//! 1. `AsyncQueue`: the interrupt sends 0, 1, 2, ... with `try_send`, then `close`s; the task's
//!    `recv().await` gets them in order, then `Closed`.
//! 2. `AsyncSpsc`, at the same time in the same task (a join): the interrupt owns the
//!    `AsyncProducer` and drops it at the end (a close); the task's `recv().await` gets every
//!    message in order.
//! 3. The other way: the task's `send().await` on an `AsyncQueue`, the interrupt's `try_recv`
//!    (which wakes the waiting sender).
#![no_std]
#![no_main]

use core::pin::pin;
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use cortex_m_rt::{entry, exception};
use lockstep_core::channel::{AsyncProducer, AsyncQueue, AsyncSpsc};
use lockstep_core::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use lockstep_core::{CriticalSectionMutex, RecvError, TrySendError};
use lockstep_embedded::{next_period_within, pass, report, start_ticks, stop_ticks};

const MESSAGES: u32 = 2_000;

static FROM_IRQ: AsyncQueue<u32, 4> = AsyncQueue::new();
static RING: AsyncSpsc<u32, 4> = AsyncSpsc::new();
static TO_IRQ: AsyncQueue<u32, 4> = AsyncQueue::new();
static IRQ_TX: CriticalSectionMutex<Option<AsyncProducer<'static, u32, 4>>> =
    CriticalSectionMutex::new(None);
static QUEUE_SENT: AtomicU32 = AtomicU32::new(0);
static RING_SENT: AtomicU32 = AtomicU32::new(0);
static IRQ_RECEIVED: AtomicU32 = AtomicU32::new(0);

/// Set by the task's waker; the executor polls again when it is set.
static WOKEN: AtomicBool = AtomicBool::new(false);
static WAKES: AtomicU32 = AtomicU32::new(0);

static VTABLE: RawWakerVTable =
    RawWakerVTable::new(|p| RawWaker::new(p, &VTABLE), wake, wake, |_| {});

fn wake(_: *const ()) {
    WOKEN.store(true, SeqCst);
    WAKES.store(WAKES.load(SeqCst) + 1, SeqCst);
}

/// Runs `fut` to completion, sleeping until an interrupt wakes it.
fn block_on<F: Future>(fut: F) -> (F::Output, u32) {
    // SAFETY: the vtable's functions ignore the data pointer and only touch statics.
    let waker = unsafe { Waker::from_raw(RawWaker::new(core::ptr::null(), &VTABLE)) };
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    let mut polls = 0;
    loop {
        polls += 1;
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return (v, polls);
        }
        // Sleep until the waker ran. The check and `wfi` run with interrupts masked, so a wake
        // between them is not missed: a pending interrupt ends `wfi` even while masked.
        cortex_m::interrupt::disable();
        while !WOKEN.swap(false, SeqCst) {
            cortex_m::asm::wfi();
            // SAFETY: interrupts were enabled before this loop; let the pending one run.
            unsafe { cortex_m::interrupt::enable() };
            cortex_m::interrupt::disable();
        }
        // SAFETY: as above: restores the enabled state this function started in.
        unsafe { cortex_m::interrupt::enable() };
    }
}

/// Polls both futures until both are ready.
async fn join<A: Future, B: Future>(
    mut a: core::pin::Pin<&mut A>,
    mut b: core::pin::Pin<&mut B>,
) -> (A::Output, B::Output) {
    let (mut ra, mut rb) = (None, None);
    core::future::poll_fn(move |cx| {
        if ra.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            ra = Some(v);
        }
        if rb.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            rb = Some(v);
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}

static TICK: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    // Short periods: the interrupt lands often inside the task's registrations.
    next_period_within(100, 0x1ff);
    let tick = TICK.load(SeqCst);
    TICK.store(tick.wrapping_add(1), SeqCst);
    // 1. AsyncQueue, interrupt -> task.
    let mut next = QUEUE_SENT.load(SeqCst);
    while next < MESSAGES {
        match FROM_IRQ.try_send(next) {
            Ok(()) => next += 1,
            Err(TrySendError::Full(_)) => break,
            Err(TrySendError::Closed(_)) => panic!("closed before the last message"),
        }
    }
    if next == MESSAGES && QUEUE_SENT.load(SeqCst) < MESSAGES {
        assert!(FROM_IRQ.close());
    }
    QUEUE_SENT.store(next, SeqCst);
    // 2. AsyncSpsc, interrupt -> task.
    // Every third tick only, so that the task is often polled for the queue while its ring
    // side is still registered and marked as waiting.
    IRQ_TX.lock(|tx| {
        let Some(producer) = tx else { return };
        if !tick.is_multiple_of(3) {
            return;
        }
        let mut next = RING_SENT.load(SeqCst);
        while next < MESSAGES {
            match producer.try_send(next) {
                Ok(()) => next += 1,
                Err(TrySendError::Full(_)) => break,
                Err(TrySendError::Closed(_)) => panic!("the consumer closed the ring"),
            }
        }
        RING_SENT.store(next, SeqCst);
        if next == MESSAGES {
            *tx = None; // closes the ring
        }
    });
    // 3. AsyncQueue, task -> interrupt: one per tick, so the task's `send` waits.
    if let Ok(v) = TO_IRQ.try_recv() {
        let expected = IRQ_RECEIVED.load(SeqCst);
        assert_eq!(v, expected, "task -> interrupt: out of order");
        IRQ_RECEIVED.store(expected + 1, SeqCst);
    }
}

#[entry]
fn main() -> ! {
    let mut p = cortex_m::Peripherals::take().unwrap();
    let (tx, mut rx) = RING.try_split().unwrap();
    IRQ_TX.lock(|slot| *slot = Some(tx));
    start_ticks(&mut p.SYST);

    // Both loops in one task, polled together (a join): a wake for one polls the other too,
    // which then registers again while its side is still marked as waiting, so the interrupt's
    // `try_send` often lands while thread mode holds that side's waker lock.
    let queue_loop = pin!(async {
        let mut expected = 0;
        loop {
            match FROM_IRQ.recv().await {
                Ok(v) => {
                    assert_eq!(v, expected, "AsyncQueue: out of order");
                    expected += 1;
                }
                Err(RecvError) => return expected,
            }
        }
    });
    let ring_loop = pin!(async {
        let mut expected = 0;
        while let Ok(v) = rx.recv().await {
            assert_eq!(v, expected, "AsyncSpsc: out of order");
            expected += 1;
        }
        expected
    });
    let ((from_queue, from_ring), polls) = block_on(join(queue_loop, ring_loop));
    assert_eq!(
        from_queue, MESSAGES,
        "AsyncQueue: messages lost before the close"
    );
    assert_eq!(
        from_ring, MESSAGES,
        "AsyncSpsc: messages lost before the close"
    );
    report(format_args!(
        "AsyncQueue and AsyncSpsc, interrupt -> one task: {MESSAGES} messages each in order, then Closed ({polls} polls)"
    ));

    let ((), polls) = block_on(async {
        for v in 0..MESSAGES {
            TO_IRQ.send(v).await.unwrap();
        }
    });
    while IRQ_RECEIVED.load(SeqCst) < MESSAGES {
        core::hint::spin_loop();
    }
    stop_ticks();
    report(format_args!(
        "AsyncQueue, task -> interrupt: {MESSAGES} messages in order ({polls} polls, {} wakes in all)",
        WAKES.load(SeqCst)
    ));
    pass("async");
}
