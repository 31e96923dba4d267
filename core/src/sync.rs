//! The atomics facade: the only module of this crate that names `core::sync::atomic`,
//! `core::hint::spin_loop` and `core::cell::UnsafeCell`.
//!
//! Every primitive imports its atomics, its spin hint and its interior-mutability cell from here.
//! Without the cargo feature `sim` these are the plain `core` items (or `#[inline(always)]` shims
//! with the same cost). With `sim` the same names come from `lockstep_sim::sync`, whose
//! instrumented versions turn every access into a scheduling point of the deterministic
//! simulator, so the real code of this crate is what the simulator checks. Outside a running
//! simulation the instrumented types behave exactly like the plain ones.
//!
//! The crate-private `UnsafeCell` has a closure-based API (`with`, `with_mut`), as loom's does, so the simulator
//! can see each access to the protected data and check it for data races.

/// Atomic types and orderings: `core`'s, `portable-atomic`'s on targets without compare-and-swap
/// (or with feature `portable-atomic`), or the simulator's with feature `sim`.
///
/// Which one is chosen:
///
/// | build | atomics |
/// |---|---|
/// | feature `sim` | `lockstep_sim::sync::atomic` (instrumented) |
/// | target with compare-and-swap (`cfg(target_has_atomic = "ptr")`: x86, Armv7-M, RISC-V with the A extension, ...) | `core::sync::atomic` |
/// | target without it (Armv6-M: `thumbv6m-none-eabi`; RISC-V without A: `riscv32imc-unknown-none-elf`, ...), or feature `portable-atomic` | `portable_atomic` |
///
/// On a target without compare-and-swap, `portable-atomic` emulates the atomics, in one of two
/// ways:
///
/// - **Critical sections** (the default feature `atomics-critical-section`): every operation of
///   these types (`compare_exchange`, `fetch_add`, `swap`, and also loads and stores, so that a
///   critical-section implementation that spans several cores stays sound) runs inside a
///   [`critical-section`](https://docs.rs/critical-section). The final firmware links exactly one
///   critical-section implementation, as it must for heapless and embassy-sync on the same chips:
///   on a single-core Cortex-M, `cortex-m = { version = "0.7", features =
///   ["critical-section-single-core"] }` (interrupts masked for the few cycles of the operation);
///   on a single-hart RISC-V, `riscv = { version = "0.12", features =
///   ["critical-section-single-hart"] }`; on a multi-core chip, the HAL's (RP2040: `rp2040-hal`'s
///   hardware spinlock). Without one the link fails with an undefined
///   `_critical_section_1_0_acquire`.
/// - **Single core** (smaller and faster, single-core chips only): turn lockstep-core's default
///   features off and build with portable-atomic's `unsafe-assume-single-core`: the feature of
///   that name on a portable-atomic dependency of the firmware (`portable-atomic = { version =
///   "1.11", default-features = false, features = ["unsafe-assume-single-core"] }`), or the cfg
///   `--cfg portable_atomic_unsafe_assume_single_core` added to the target's `rustflags` in
///   `.cargo/config.toml`. Not the cfg alone in the `RUSTFLAGS` variable: it replaces the
///   config's `rustflags`, which drops cortex-m-rt's `-C link-arg=-Tlink.x`, and the firmware
///   then links without a vector table and locks up at reset (repeat `-Tlink.x` in the variable
///   if you use it). Loads and stores are then plain instructions and read-modify-write
///   operations mask interrupts; a firmware that uses heapless's
///   `portable-atomic-unsafe-assume-single-core` needs this, since portable-atomic refuses both
///   ways in one build (with lockstep-core's default features left on, its error names
///   portable-atomic's `critical-section` feature: that is what `atomics-critical-section`
///   enables). On Cortex-M0 it takes about a third off lockstep's code (the code-size table in
///   `BENCHMARKS.md`).
///
/// With neither, the build stops with portable-atomic's error naming both.
///
/// The feature `portable-atomic` forces the `portable_atomic` types on any target (where native
/// atomics exist it uses them, so nothing changes but the path), which lets the host's tests and
/// Miri run the same code as a Cortex-M0.
pub mod atomic {
    #[cfg(all(
        not(feature = "sim"),
        target_has_atomic = "ptr",
        not(feature = "portable-atomic")
    ))]
    pub use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering, fence};
    #[cfg(feature = "sim")]
    pub use lockstep_sim::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering, fence};
    #[cfg(all(
        not(feature = "sim"),
        any(not(target_has_atomic = "ptr"), feature = "portable-atomic")
    ))]
    pub use portable_atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering, fence};
}

/// The spin-loop hint: `core`'s, or the simulator's with feature `sim` (where a spinning thread
/// is not scheduled again until a location it read changes).
pub mod hint {
    #[cfg(not(feature = "sim"))]
    pub use core::hint::spin_loop;
    #[cfg(feature = "sim")]
    pub use lockstep_sim::sync::hint::spin_loop;
}

#[cfg(feature = "sim")]
pub(crate) use lockstep_sim::sync::cell::UnsafeCell;

/// Returns the plain `core` atomic behind a facade [`atomic::AtomicU32`], so that an OS futex can
/// sleep on its address. Without `sim` it is the same object; with `sim` it is the word the
/// instrumented atomic wraps (reading it directly bypasses the simulator, which is right for a
/// platform `Wait` that never runs under the simulator).
///
/// # Examples
///
/// ```
/// use lockstep_core::sync::{atomic::{AtomicU32, Ordering}, raw_atomic_u32};
///
/// let word = AtomicU32::new(7);
/// let raw = raw_atomic_u32(&word);
/// assert_eq!(raw.load(Ordering::Relaxed), 7);
/// word.store(8, Ordering::Relaxed);
/// assert_eq!(raw.load(Ordering::Relaxed), 8); // the same word
/// ```
#[cfg(all(
    not(feature = "sim"),
    target_has_atomic = "ptr",
    not(feature = "portable-atomic")
))]
#[inline(always)]
pub fn raw_atomic_u32(a: &atomic::AtomicU32) -> &core::sync::atomic::AtomicU32 {
    a
}

/// Returns the plain `core` atomic behind a facade `AtomicU32` (see the non-`sim` version).
///
/// With `portable-atomic`'s types, the same word seen as a `core` atomic. Where the target has
/// compare-and-swap, portable-atomic's operations are `core`'s, so mixing them is sound. Where it
/// has not, a read-modify-write through the facade runs in a critical section and a `core` load or
/// store (the only operations such a target has) is a single instruction, which a critical
/// section excludes; no platform `Wait` that needs this function exists on such targets.
#[cfg(all(
    not(feature = "sim"),
    any(not(target_has_atomic = "ptr"), feature = "portable-atomic")
))]
#[inline(always)]
pub fn raw_atomic_u32(a: &atomic::AtomicU32) -> &core::sync::atomic::AtomicU32 {
    // SAFETY: `as_ptr` points to the `u32` inside `a`, aligned to 4 bytes (portable-atomic's
    // `AtomicU32` has `core::sync::atomic::AtomicU32`'s size and alignment) and valid for `a`'s
    // lifetime, which bounds the returned reference. Every access to the word goes through atomic
    // operations (portable-atomic's, which are `core`'s or run in a critical section), as
    // `from_ptr` requires.
    unsafe { core::sync::atomic::AtomicU32::from_ptr(a.as_ptr()) }
}

/// Returns the plain `core` atomic behind a facade `AtomicU32` (see the non-`sim` version).
#[cfg(feature = "sim")]
#[inline(always)]
pub fn raw_atomic_u32(a: &atomic::AtomicU32) -> &core::sync::atomic::AtomicU32 {
    a.as_raw()
}

/// A cell for data that the caller protects, with loom's closure-based access API.
///
/// Same layout and cost as [`core::cell::UnsafeCell`]; the closure form lets the `sim` build
/// observe every access.
#[cfg(not(feature = "sim"))]
#[derive(Debug, Default)]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T: ?Sized>(core::cell::UnsafeCell<T>);

#[cfg(not(feature = "sim"))]
#[allow(dead_code)] // not every method is used by every feature combination
impl<T> UnsafeCell<T> {
    /// Creates a cell holding `value`.
    #[inline(always)]
    pub(crate) const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    /// Consumes the cell and returns the value.
    #[inline(always)]
    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

#[cfg(not(feature = "sim"))]
#[allow(dead_code)] // not every method is used by every feature combination
impl<T: ?Sized> UnsafeCell<T> {
    /// Runs `f` with a shared pointer to the value (a read access).
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a mutable pointer to the value (a write access).
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }

    /// Returns a mutable reference; the `&mut self` proves no other access exists.
    #[inline(always)]
    pub(crate) fn get_mut(&mut self) -> &mut T {
        self.0.get_mut()
    }
}
