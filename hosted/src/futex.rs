//! [`Futex`]: the core's [`Wait`] seam on the operating system's futex, with real timeouts.
//!
//! On Linux a blocked thread sleeps in the kernel in `futex(FUTEX_WAIT_PRIVATE)` and costs no CPU
//! until a wake or its timeout; elsewhere `atomic-wait` provides the sleep (Windows'
//! `WaitOnAddress`, macOS' `__ulock_wait`) and a timed wait sleeps in short slices.
//!
//! With the cargo feature `sim`, inside a running `lockstep_sim::check` every operation goes
//! through the simulator instead: `wait` blocks the simulated thread (a futex wait of the
//! simulator, one step), wakes are steps, there is no spinning or yielding (each read would be a
//! step to explore), and deadlines are on the simulated clock (`lockstep_sim::time::now`), so a
//! timed wait costs no real time. Outside a check nothing changes.

use std::time::{Duration, Instant};

use lockstep_core::Wait;
use lockstep_core::sync::atomic::{
    AtomicU32,
    Ordering::{Relaxed, SeqCst},
};
use lockstep_core::sync::raw_atomic_u32;

/// The [`Wait`] for std threads: spins briefly, then sleeps in the kernel until woken or until
/// the deadline passes.
///
/// `Timeout` is a [`Duration`] and `Deadline` an [`Instant`], so every timed operation of the
/// core (`try_lock_for`, `acquire_timeout`, `wait_timeout`) takes real time.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use lockstep_core::{Event, Wait};
/// use lockstep_hosted::Futex;
///
/// let e: Event<Futex> = Event::new();
/// assert!(!e.wait_timeout(Duration::from_millis(5))); // nobody sets it: times out
/// e.set();
/// assert!(e.wait_timeout(Duration::from_millis(5)));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Futex;

/// How many times `wait` re-reads the word before it sleeps. A short spin catches a lock that is
/// released within a few hundred nanoseconds without two system calls; a long one wastes the
/// time slice of the thread that would release it when threads outnumber cores.
const SPIN_READS: u32 = 40;

/// Backoff rounds of a lock that spin (1, 2, 4 hints) before the yielding rounds.
const LOCK_SPIN_ROUNDS: u32 = 3;
/// Backoff rounds of a channel hand-off that spin (1, 2, 4, ... 64 hints).
const HANDOFF_SPIN_ROUNDS: u32 = 7;
/// Backoff rounds that yield the CPU before a primitive blocks.
const YIELD_ROUNDS: u32 = 7;

/// `spins` rounds of 1, 2, 4, ... spin hints, then `YIELD_ROUNDS` yields; `false` after that.
#[inline]
fn spin_then_yield(attempt: u32, spins: u32) -> bool {
    if attempt < spins {
        for _ in 0..(1u32 << attempt) {
            std::hint::spin_loop();
        }
        true
    } else if attempt < spins + YIELD_ROUNDS {
        std::thread::yield_now();
        true
    } else {
        false
    }
}

impl Wait for Futex {
    type Timeout = Duration;
    type Deadline = Instant;

    /// Spins a little (1, 2, 4 spin hints), then yields the CPU for up to seven more attempts
    /// before the primitive blocks: yielding lets the holder run when threads outnumber cores,
    /// which is what keeps 100 threads on 2 cores from convoying on a lock (parking_lot's
    /// `SpinWait` has the same shape).
    #[inline]
    fn backoff(attempt: u32) -> bool {
        if sim::active() {
            return false;
        }
        spin_then_yield(attempt, LOCK_SPIN_ROUNDS)
    }

    /// Spins longer (1, 2, 4, ... 64 spin hints: a few microseconds in all), then yields seven
    /// times: a channel's partner on the other core usually answers within that, so a
    /// ping-pong runs without a sleep and a wake per message. The channels announce a waiter
    /// between the spinning and the yielding rounds, so that a partner that sends or receives
    /// while the waiter yields (the usual case when threads outnumber cores) ends the wait
    /// without a wake call.
    #[inline]
    fn backoff_handoff(attempt: u32) -> bool {
        if sim::active() {
            return false;
        }
        spin_then_yield(attempt, HANDOFF_SPIN_ROUNDS)
    }

    #[inline]
    fn deadline(timeout: Duration) -> Instant {
        // A timeout too large to represent waits for ever, in effect.
        sim::now().checked_add(timeout).unwrap_or_else(far_future)
    }

    #[track_caller]
    fn wait(atom: &AtomicU32, expected: u32, deadline: Option<&mut Instant>) -> bool {
        if sim::active() {
            return sim::wait(atom, expected, deadline.map(|d| *d));
        }
        for _ in 0..SPIN_READS {
            // Relaxed: only decides whether to sleep; callers re-read their state with the
            // ordering they need.
            if atom.load(Relaxed) != expected {
                return true;
            }
            std::hint::spin_loop();
        }
        let timeout = match deadline {
            None => None,
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return false,
            },
        };
        // The `Wait` contract: the comparison reads `atom` after a full barrier, so that a
        // waiter's announcement made before this call (the core's Dekker pairs) is visible to
        // a waker before the kernel decides to sleep. The Linux futex has its own `smp_mb()`;
        // the other OSes' wait-on-address calls do not promise one, and a fence costs little
        // next to a system call.
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        sys::wait(raw_atomic_u32(atom), expected, timeout);
        true
    }

    #[inline]
    #[track_caller]
    fn wake_one(atom: &AtomicU32) {
        if sim::active() {
            return sim::wake(atom, false);
        }
        sys::wake(raw_atomic_u32(atom), false);
    }

    #[inline]
    #[track_caller]
    fn wake_all(atom: &AtomicU32) {
        if sim::active() {
            return sim::wake(atom, true);
        }
        sys::wake(raw_atomic_u32(atom), true);
    }

    /// On Linux with `membarrier` (4.14 and later, and allowed by the sandbox, if any), a compiler
    /// fence only: the matching [`heavy_fence`](Wait::heavy_fence) makes every running thread
    /// of the process execute a full barrier. Elsewhere, and in the fence that registers the
    /// process for `membarrier` (its first light or heavy fence), a SeqCst fence. See
    /// [`Futex::asymmetric_fences`].
    #[inline]
    fn light_fence() {
        if sim::active() {
            return lockstep_core::sync::atomic::fence(SeqCst);
        }
        asymmetric::light();
    }

    /// On Linux with `membarrier`: `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, a system call
    /// that interrupts every other core running a thread of this process (under a microsecond
    /// on 2 cores; its cost grows with the cores the process runs on, and each interrupted
    /// thread pays a little, so a program with many busy cores whose SPSC sides wait often may
    /// prefer `LOCKSTEP_MEMBARRIER=0`, see [`Futex::asymmetric_fences`]). Then a SeqCst fence,
    /// which is all it is elsewhere.
    #[inline]
    fn heavy_fence() {
        if sim::active() {
            return lockstep_core::sync::atomic::fence(SeqCst);
        }
        asymmetric::heavy();
    }
}

impl Futex {
    /// Whether [`Wait::light_fence`] is a compiler fence here (Linux's `membarrier` is available
    /// and this process is registered for it), rather than a SeqCst fence. Registers the process
    /// on the first call, as the first heavy fence would.
    ///
    /// Where it is `false` (another OS, a kernel before 4.14, a sandbox that refuses the system
    /// call, or the environment variable `LOCKSTEP_MEMBARRIER=0`, for a sandbox that would kill
    /// the process instead of refusing) every fence pair is two SeqCst fences: correct, and a
    /// full barrier slower on each send and receive of an SPSC channel.
    ///
    /// The registration is cheap while the process has one thread (about a microsecond here)
    /// and costs the kernel an RCU grace period once threads run (about 15 ms here), paid by
    /// whichever call comes first: this one, or the process's first light or heavy fence (its
    /// first SPSC send or receive, or an SPSC side about to sleep). A program that wants no
    /// such pause there calls this at the start of `main`, before it spawns threads.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_hosted::Futex;
    ///
    /// // The answer depends on the machine, and never changes once known.
    /// let first = Futex::asymmetric_fences();
    /// assert_eq!(Futex::asymmetric_fences(), first);
    /// ```
    pub fn asymmetric_fences() -> bool {
        asymmetric::available()
    }
}

/// The asymmetric fence pair on Linux: `membarrier`, registered once per process.
///
/// The state moves once, from unknown to ready or to unavailable, and never back: a light fence
/// is a compiler fence only after it reads "ready", which is stored only after a registration
/// succeeded, and from then on every heavy fence reads "ready" (or "unknown", registers, and finds
/// "ready"), so it is a `membarrier` call. A heavy fence that read "unavailable" is a SeqCst fence,
/// and then no light fence ever reads "ready".
#[cfg(all(target_os = "linux", not(miri)))]
mod asymmetric {
    use std::sync::atomic::{
        AtomicU8,
        Ordering::{Relaxed, SeqCst},
        compiler_fence, fence,
    };

    // `linux/membarrier.h`.
    const CMD_QUERY: libc::c_int = 0;
    const CMD_GLOBAL: libc::c_int = 1 << 0;
    const CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
    const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

    const UNKNOWN: u8 = 0;
    const READY: u8 = 1;
    const UNAVAILABLE: u8 = 2;

    static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);

    /// `membarrier(cmd, 0, 0)`: 0 or the query's bit mask on success, -1 on failure.
    fn membarrier(cmd: libc::c_int) -> libc::c_long {
        // SAFETY: membarrier takes no pointers; with flags 0 and cpu_id 0 it only orders memory
        // or (for the register and query commands) changes or reads the process's state.
        unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                cmd,
                0 as libc::c_uint,
                0 as libc::c_int,
            )
        }
    }

    #[inline]
    pub(super) fn light() {
        // Relaxed: the state only picks which fence; see the module's note for why reading
        // "ready" late or early is sound.
        match STATE.load(Relaxed) {
            READY => compiler_fence(SeqCst),
            state => {
                if state == UNKNOWN {
                    // The first fence of the process: register now, so that sends and receives
                    // stop paying a full barrier even if no side ever waits (this one still
                    // does).
                    register();
                }
                fence(SeqCst);
            }
        }
    }

    #[inline]
    pub(super) fn heavy() {
        if available() {
            expedited();
        }
        // A SeqCst fence of this thread either way: the system call orders memory in the
        // kernel, and this makes the heavy half a SeqCst fence to the compiler too (the
        // signal's "Sleeping" argument uses it as one).
        fence(SeqCst);
    }

    /// Whether the process is registered, registering it on the first call.
    #[inline]
    pub(super) fn available() -> bool {
        // Relaxed: as in `light`.
        match STATE.load(Relaxed) {
            READY => true,
            UNAVAILABLE => false,
            _ => register(),
        }
    }

    #[cold]
    fn register() -> bool {
        let wanted = (CMD_PRIVATE_EXPEDITED | CMD_REGISTER_PRIVATE_EXPEDITED) as libc::c_long;
        // `LOCKSTEP_MEMBARRIER=0`: never call it (for a sandbox that kills a process on a
        // system call it does not allow, instead of refusing it).
        let allowed = std::env::var_os("LOCKSTEP_MEMBARRIER").is_none_or(|v| v != "0");
        let supported = if allowed { membarrier(CMD_QUERY) } else { -1 };
        let ok = supported >= 0
            && supported & wanted == wanted
            && membarrier(CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
        let outcome = if ok { READY } else { UNAVAILABLE };
        // Relaxed: the state moves once; a thread that lost the race takes the winner's answer
        // (registering again is harmless, and a failed registration after a successful one
        // leaves the process registered).
        match STATE.compare_exchange(UNKNOWN, outcome, Relaxed, Relaxed) {
            Ok(_) => ok,
            Err(now) => now == READY,
        }
    }

    /// The expedited barrier of a registered process.
    fn expedited() {
        if membarrier(CMD_PRIVATE_EXPEDITED) == 0 {
            return;
        }
        // Refused though registered: a child of `fork` may not inherit the registration.
        // Register again, or fall back to the global command (slower: it waits for every CPU
        // to pass a quiescent state), which promises the same ordering.
        if membarrier(CMD_REGISTER_PRIVATE_EXPEDITED) == 0 && membarrier(CMD_PRIVATE_EXPEDITED) == 0
        {
            return;
        }
        if membarrier(CMD_GLOBAL) == 0 {
            return;
        }
        // Light fences are compiler fences from here on, and nothing else can order them.
        panic!(
            "membarrier failed after the process registered for it ({}): light fences cannot be ordered",
            std::io::Error::last_os_error()
        );
    }
}

/// Without `membarrier` (another OS, or Miri, which does not model it), both halves are SeqCst
/// fences.
#[cfg(not(all(target_os = "linux", not(miri))))]
mod asymmetric {
    use std::sync::atomic::{Ordering::SeqCst, fence};

    #[inline]
    pub(super) fn light() {
        fence(SeqCst);
    }

    #[inline]
    pub(super) fn heavy() {
        fence(SeqCst);
    }

    pub(super) fn available() -> bool {
        false
    }
}

fn far_future() -> Instant {
    // About 30 years: later than any timeout a program will see pass.
    sim::now() + Duration::from_secs(60 * 60 * 24 * 365 * 30)
}

/// Blocking through the simulator inside a running check (feature `sim`).
#[cfg(feature = "sim")]
mod sim {
    use std::time::Instant;

    use lockstep_core::sync::atomic::AtomicU32;
    use lockstep_sim::sync::futex;

    /// Whether this thread is inside a running check.
    #[inline]
    pub(super) fn active() -> bool {
        lockstep_sim::in_simulation()
    }

    /// The simulated clock inside a check, the real one outside.
    #[inline]
    pub(super) fn now() -> Instant {
        lockstep_sim::time::now()
    }

    /// A futex wait of the simulator; `false` if `deadline` passed (on the simulated clock).
    #[track_caller]
    pub(super) fn wait(atom: &AtomicU32, expected: u32, deadline: Option<Instant>) -> bool {
        // With feature `sim` the core's atomics are the simulator's (the feature turns on the
        // core's `sim`), so the word is the simulator's own type.
        match deadline {
            None => futex::wait(atom, expected, false),
            Some(d) => futex::wait_until(atom, expected, d),
        }
    }

    /// A futex wake of the simulator.
    #[track_caller]
    pub(super) fn wake(atom: &AtomicU32, all: bool) {
        if all {
            futex::wake_all(atom);
        } else {
            futex::wake_one(atom);
        }
    }
}

/// Without feature `sim` there is no simulator: never active.
#[cfg(not(feature = "sim"))]
mod sim {
    use std::time::Instant;

    use lockstep_core::sync::atomic::AtomicU32;

    #[inline(always)]
    pub(super) fn active() -> bool {
        false
    }

    #[inline(always)]
    pub(super) fn now() -> Instant {
        Instant::now()
    }

    pub(super) fn wait(_: &AtomicU32, _: u32, _: Option<Instant>) -> bool {
        unreachable!("never active without feature `sim`")
    }

    pub(super) fn wake(_: &AtomicU32, _: bool) {
        unreachable!("never active without feature `sim`")
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use std::sync::atomic::AtomicU32;
    use std::time::Duration;

    /// Sleeps while `atom` holds `expected`, for at most `timeout`.
    pub(super) fn wait(atom: &AtomicU32, expected: u32, timeout: Option<Duration>) {
        let ts = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
            tv_nsec: t.subsec_nanos() as _,
        });
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: FUTEX_WAIT reads the aligned 32-bit word at `atom` (valid for the call, since we
        // hold a reference) and an optional relative timespec that lives on this stack frame.
        // Its errors (EAGAIN: the value changed, EINTR, ETIMEDOUT) all mean "re-check", which
        // every caller does.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                atom.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                expected,
                ts_ptr,
            );
        }
    }

    /// Wakes one or every thread sleeping on `atom`.
    pub(super) fn wake(atom: &AtomicU32, all: bool) {
        let n = if all { i32::MAX } else { 1 };
        // SAFETY: FUTEX_WAKE only uses the address as a key; it never dereferences freed memory
        // because `atom` is a live reference.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                atom.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                n,
            );
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
    use std::time::{Duration, Instant};

    /// Sleeps while `atom` holds `expected`, for at most `timeout` (in 1 ms slices when timed,
    /// since `atomic-wait` has no timeout).
    pub(super) fn wait(atom: &AtomicU32, expected: u32, timeout: Option<Duration>) {
        match timeout {
            None => atomic_wait::wait(atom, expected),
            Some(t) => {
                let end = Instant::now() + t;
                // Relaxed: only decides whether to keep sleeping; the caller re-checks.
                while atom.load(Relaxed) == expected && Instant::now() < end {
                    std::thread::sleep(Duration::from_millis(1).min(t));
                }
            }
        }
    }

    /// Wakes one or every thread sleeping on `atom`.
    pub(super) fn wake(atom: &AtomicU32, all: bool) {
        if all {
            atomic_wait::wake_all(atom)
        } else {
            atomic_wait::wake_one(atom)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Relaxed};

    use lockstep_core::Wait;

    use super::Futex;

    /// Iterations of the store-buffering test (`LOCKSTEP_TEST_SCALE=10` runs ten times more).
    fn iterations() -> usize {
        let scale = std::env::var("LOCKSTEP_TEST_SCALE")
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        20_000 * scale
    }

    /// Waits until `other` reached `round` (spinning a little, then yielding, so that the test
    /// also ends on a busy machine).
    fn meet(other: &AtomicUsize, round: usize) {
        let mut spins = 0u32;
        // Relaxed: a rendezvous only; the test's words are separate per round.
        while other.load(Relaxed) < round {
            spins += 1;
            if spins < 200 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// Store buffering (Dekker): each thread stores its flag, fences, and loads the other's.
    /// Both loads reading 0 is what a pair of SeqCst fences forbids, and so must a light fence
    /// against a heavy one. With two compiler fences this outcome shows up on x86 within a few
    /// thousand rounds.
    #[test]
    fn a_light_and_a_heavy_fence_forbid_store_buffering() {
        let n = iterations();
        let x: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
        let y: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
        let (at_a, at_b) = (AtomicUsize::new(0), AtomicUsize::new(0));
        // One side: at each round, meet the other side, store its own word, fence, load the
        // other's word.
        let side = |mine: &[AtomicU32],
                    my_round: &AtomicUsize,
                    theirs: &[AtomicU32],
                    their_round: &AtomicUsize,
                    fence: fn()| {
            let mut seen = vec![0u32; n];
            for i in 0..n {
                // Relaxed: see `meet`.
                my_round.store(i + 1, Relaxed);
                meet(their_round, i + 1);
                // Relaxed: the fences under test order these.
                mine[i].store(1, Relaxed);
                fence();
                seen[i] = theirs[i].load(Relaxed);
            }
            seen
        };
        let (seen_by_a, seen_by_b) = std::thread::scope(|s| {
            let a = s.spawn(|| side(&x, &at_a, &y, &at_b, Futex::light_fence));
            let b = s.spawn(|| side(&y, &at_b, &x, &at_a, Futex::heavy_fence));
            (a.join().unwrap(), b.join().unwrap())
        });
        let both_zero = (0..n)
            .filter(|&i| seen_by_a[i] == 0 && seen_by_b[i] == 0)
            .count();
        assert_eq!(
            both_zero,
            0,
            "{both_zero} of {n} rounds saw neither store (asymmetric fences: {})",
            Futex::asymmetric_fences()
        );
    }

    #[test]
    fn the_fence_mode_is_decided_once() {
        let first = Futex::asymmetric_fences();
        Futex::heavy_fence();
        assert_eq!(Futex::asymmetric_fences(), first);
        // On Linux the light fence is a compiler fence exactly when registered; either way both
        // halves still run.
        Futex::light_fence();
        if cfg!(any(not(target_os = "linux"), miri)) {
            assert!(!first, "only Linux has membarrier");
        }
    }
}
