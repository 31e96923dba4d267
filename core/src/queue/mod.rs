//! Slot algorithms for fixed-capacity queues; they never block (the blocking API lives in
//! `channel`).
//!
//! - [`mpmc`]: Dmitry Vyukov's bounded MPMC queue, one sequence stamp per slot.
//! - [`spsc`]: Leslie Lamport's single-producer single-consumer ring; the producer caches the
//!   consumer's index and the consumer polls a stamp in each slot.

pub(crate) mod mpmc;
pub(crate) mod spsc;

use core::ops::Deref;

use crate::sync::hint::spin_loop;

/// Aligns a value to the length of a cache line (or the pair of lines a prefetcher moves
/// together), so two values written by different cores never share a line (false sharing).
///
/// The sizes, per target:
/// - x86_64: 64-byte lines, but since Sandy Bridge the spatial prefetcher pulls lines in
///   128-byte-aligned pairs (Intel 64 and IA-32 Architectures Optimization Reference Manual,
///   section 3.7.3, "spatial prefetcher"), so 128.
/// - aarch64: 64-byte lines on Cortex-A cores, 128-byte lines on Apple M1 and later
///   (`sysctl hw.cachelinesize` reports 128), so 128.
/// - powerpc64: 128-byte lines (POWER ISA, and the POWER7/8/9 user manuals).
/// - arm (32-bit), riscv32, mips: 32-byte lines on the usual cores (Cortex-M7 data cache:
///   32-byte lines, ARM DDI 0489), so 32.
/// - everything else: 64, the common line size.
#[cfg_attr(
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "powerpc64"
    ),
    repr(align(128))
)]
#[cfg_attr(
    any(target_arch = "arm", target_arch = "riscv32", target_arch = "mips"),
    repr(align(32))
)]
#[cfg_attr(
    not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "powerpc64",
        target_arch = "arm",
        target_arch = "riscv32",
        target_arch = "mips"
    )),
    repr(align(64))
)]
#[derive(Debug, Default)]
pub(crate) struct CachePadded<T>(T);

impl<T> CachePadded<T> {
    /// Wraps `value`.
    pub(crate) const fn new(value: T) -> Self {
        Self(value)
    }
}

impl<T> Deref for CachePadded<T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Exponential backoff for the retries inside the queue algorithms after another thread on the
/// same side got ahead: 1, 2, 4, ... up to 64 spin hints.
#[derive(Debug, Default)]
pub(crate) struct Backoff(u32);

impl Backoff {
    /// Backs off after another thread on the same side got ahead (it won a compare-and-swap,
    /// or moved a position on since this thread read it), which eases contention on real
    /// hardware: the retry would meet the same cache line still moving. Spins a little longer
    /// each call.
    ///
    /// Under the simulator it does nothing: the other thread made progress, so there is no write
    /// to wait for, and a spin hint would be read as waiting for one.
    ///
    /// On bare metal (`target_os = "none"`) it does nothing either: microcontrollers have one
    /// core, or a few without caches to contend for (RP2040), so the retry has nothing to wait
    /// out, and the loop would only cost code size.
    #[inline]
    pub(crate) fn contended(&mut self) {
        if cfg!(any(feature = "sim", target_os = "none")) {
            return;
        }
        for _ in 0..1u32 << self.0.min(Self::LIMIT) {
            spin_loop();
        }
        if self.0 <= Self::LIMIT {
            self.0 += 1;
        }
    }

    /// The last step: 64 spin hints.
    const LIMIT: u32 = 6;
}
