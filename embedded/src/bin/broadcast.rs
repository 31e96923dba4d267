//! `Broadcast` and `PubSub` published from the SysTick interrupt.
//!
//! A send overwrites a slot and waits for a receiver that is cloning that very slot, so a
//! receiver the interrupt can preempt must read inside a critical section (a `u32` clone: a few
//! cycles with interrupts masked). The interrupt sends 0, 1, 2, ... and closes; thread mode's
//! receivers (one slow, one fast) get every message in order or are told exactly how many they
//! missed: received + missed = sent.
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception};
use lockstep_core::channel::{Broadcast, BroadcastError, PubSub, Topic, Topics};
use lockstep_core::sync::atomic::{AtomicU32, Ordering::SeqCst};
use lockstep_embedded::{busy, next_period, pass, report, start_ticks, stop_ticks};

const MESSAGES: u32 = 2_000;
const EVEN: Topic = Topic::new(0);
const ODD: Topic = Topic::new(1);

static NEWS: Broadcast<u32, 4> = Broadcast::new();
static BUS: PubSub<u32, 4> = PubSub::new();
static SENT: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    next_period();
    let next = SENT.load(SeqCst);
    if next < MESSAGES {
        for v in next..MESSAGES.min(next + 3) {
            assert!(NEWS.send(v));
            assert!(BUS.publish(if v % 2 == 0 { EVEN } else { ODD }, v));
        }
        SENT.store(MESSAGES.min(next + 3), SeqCst);
    } else if next == MESSAGES {
        assert!(NEWS.close());
        assert!(BUS.close());
        SENT.store(next + 1, SeqCst);
    }
}

/// Counts what a receiver got and missed until `Closed`, checking the order.
#[derive(Default)]
struct Tally {
    received: u32,
    missed: u32,
    next: u32,
}

impl Tally {
    fn got(&mut self, v: u32) {
        assert!(v >= self.next, "out of order: {v} after {}", self.next);
        self.received += 1;
        self.next = v + 1;
    }
}

#[entry]
fn main() -> ! {
    let mut p = cortex_m::Peripherals::take().unwrap();
    let mut fast = NEWS.subscribe();
    let mut slow = NEWS.subscribe();
    let mut odd = BUS.subscribe(Topics::EMPTY.with(ODD));
    start_ticks(&mut p.SYST);

    let (mut f, mut s, mut o) = (Tally::default(), Tally::default(), Tally::default());
    let (mut f_done, mut s_done, mut o_done) = (false, false, false);
    let mut round = 0u32;
    while !(f_done && s_done && o_done) {
        round += 1;
        // Each read inside a critical section: the interrupt never preempts a clone.
        if !f_done {
            match cortex_m::interrupt::free(|_| fast.try_recv()) {
                Ok(v) => f.got(v),
                Err(BroadcastError::Lagged(n)) => f.missed += n as u32,
                Err(BroadcastError::Closed) => f_done = true,
                Err(_) => {}
            }
        }
        if !s_done && round.is_multiple_of(5) {
            match cortex_m::interrupt::free(|_| slow.try_recv()) {
                Ok(v) => s.got(v),
                Err(BroadcastError::Lagged(n)) => s.missed += n as u32,
                Err(BroadcastError::Closed) => s_done = true,
                Err(_) => {}
            }
        }
        if !o_done {
            match cortex_m::interrupt::free(|_| odd.try_recv()) {
                Ok((topic, v)) => {
                    assert!(topic == ODD && v % 2 == 1, "a message of another topic");
                    o.got(v);
                }
                Err(BroadcastError::Lagged(n)) => o.missed += n as u32,
                Err(BroadcastError::Closed) => o_done = true,
                Err(_) => {}
            }
        }
        busy(round % 16);
    }
    stop_ticks();
    assert_eq!(
        f.received + f.missed,
        MESSAGES,
        "fast receiver: received + missed != sent"
    );
    assert_eq!(
        s.received + s.missed,
        MESSAGES,
        "slow receiver: received + missed != sent"
    );
    assert!(
        s.missed > 0,
        "the slow receiver never lagged: the test proves nothing"
    );
    // PubSub's lag count includes other topics' messages: at most that many were odd.
    assert!(o.received <= MESSAGES / 2 && o.received + o.missed >= MESSAGES / 2);
    report(format_args!(
        "broadcast: fast receiver got {} and missed {}, slow receiver got {} and missed {} of {MESSAGES}",
        f.received, f.missed, s.received, s.missed
    ));
    report(format_args!(
        "pubsub: the odd subscriber got {} odd messages, in order (lagged past {})",
        o.received, o.missed
    ));
    pass("broadcast");
}
