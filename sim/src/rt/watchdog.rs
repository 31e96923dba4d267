//! A warning for a check that stopped taking steps: a simulated thread is running code the
//! simulator cannot see (a spin loop on `std::sync::atomic`, a real lock or sleep), which it
//! cannot preempt, so the check would hang without a word. One background thread per process
//! looks, once a second, at every running check's step count and prints a warning to stderr
//! once a check has taken no step for `LOCKSTEP_STALL_SECS` seconds (10 when unset).

use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

thread_local! {
    /// This OS thread's step count, read by the watchdog while a check runs here.
    static STEPS: Arc<AtomicU64> = Arc::new(AtomicU64::new(0));
}

struct Watched {
    steps: Arc<AtomicU64>,
    origin: &'static Location<'static>,
    last: u64,
    since: Instant,
    warned: bool,
}

static WATCHED: Mutex<Vec<Watched>> = Mutex::new(Vec::new());

/// This OS thread's step count (the one [`watch`] registers for a check running here).
pub(crate) fn counter() -> Arc<AtomicU64> {
    STEPS.with(Arc::clone)
}

/// Counts one step of the check running on this thread; `steps` is its [`counter`].
#[inline]
pub(crate) fn step(steps: &AtomicU64) {
    // Only this thread writes it: a load and a store, not a locked read-modify-write.
    // Relaxed: the watchdog only compares counts; nothing is published through it.
    steps.store(steps.load(Relaxed).wrapping_add(1), Relaxed);
}

/// Watches the check running on this thread (called from `check` at `origin`) until the guard
/// is dropped.
pub(crate) fn watch(origin: &'static Location<'static>) -> Guard {
    let stall = stall();
    if stall.is_none() {
        return Guard { registered: false };
    }
    static START: Once = Once::new();
    START.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("lockstep-sim watchdog".into())
            .spawn(move || watchdog(stall.unwrap_or(Duration::MAX)));
    });
    let steps = STEPS.with(Arc::clone);
    let mut w = WATCHED.lock().unwrap_or_else(|e| e.into_inner());
    w.push(Watched {
        last: steps.load(Relaxed),
        steps,
        origin,
        since: Instant::now(),
        warned: false,
    });
    Guard { registered: true }
}

/// `LOCKSTEP_STALL_SECS`: seconds without a step before the warning (0 turns it off).
fn stall() -> Option<Duration> {
    let secs = match std::env::var("LOCKSTEP_STALL_SECS") {
        Ok(s) => s.trim().parse::<u64>().unwrap_or(10),
        Err(_) => 10,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// Unregisters the check when it ends.
#[derive(Debug)]
pub(crate) struct Guard {
    registered: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.registered {
            return;
        }
        let steps = STEPS.with(Arc::clone);
        let mut w = WATCHED.lock().unwrap_or_else(|e| e.into_inner());
        w.retain(|x| !Arc::ptr_eq(&x.steps, &steps));
    }
}

fn watchdog(stall: Duration) {
    loop {
        std::thread::sleep(Duration::from_millis(250).min(stall));
        let mut w = WATCHED.lock().unwrap_or_else(|e| e.into_inner());
        for x in w.iter_mut() {
            let now = x.steps.load(Relaxed);
            if now != x.last {
                x.last = now;
                x.since = Instant::now();
            } else if !x.warned && x.since.elapsed() >= stall {
                x.warned = true;
                eprintln!("{}", message(x.origin, x.since.elapsed()));
            }
        }
    }
}

/// The warning for the check at `origin`, stalled for `for_`.
pub(crate) fn message(origin: &Location<'_>, for_: Duration) -> String {
    format!(
        "lockstep-sim: the check at {origin} has taken no step for {} s. A simulated thread is \
         running code the simulator cannot see, and cannot be preempted: most often a loop on \
         std::sync::atomic (use lockstep::sync::atomic or lockstep_sim::sync::atomic, and \
         lockstep::hint::spin_loop), a thread from std::thread::spawn that it waits for (use \
         lockstep::thread::spawn), or a real std::sync::Mutex, std::thread::sleep or I/O blocking \
         the OS thread. (LOCKSTEP_STALL_SECS sets this delay; 0 turns the warning off.)",
        for_.as_secs()
    )
}
