//! Atomic types with `core::sync::atomic`'s API, where every operation is a scheduling point of
//! the simulator.
//!
//! Inside a running check, each operation parks the calling thread until the scheduler picks
//! it, then performs the operation on the real atomic and records it in the trace, with the
//! value read or written and the caller's location. Orderings feed the happens-before relation
//! used to find data races on cells (Acquire loads join the clock a Release store published),
//! and by default every operation is executed sequentially consistently. With
//! [`MemoryModel::X86Tso`](crate::MemoryModel::X86Tso) (or
//! [`Config::weak_memory`](crate::Config::weak_memory)) they follow x86-TSO: a Relaxed or
//! Release store goes into the thread's store buffer and commits later, in a flush the scheduler
//! chooses; a load reads the thread's own newest buffered store first; read-modify-writes, SeqCst
//! stores and SeqCst fences wait for the thread's buffer to drain; two threads' buffered stores
//! to one atomic commit in either order. Weaker reorderings (Arm's) are not explored.
//! `get_mut`, `into_inner` and an atomic moved by a plain copy see the value that commits last.
//! Under [`MemoryModel::Rc11`](crate::MemoryModel::Rc11) the search chooses which store each
//! load reads among those RC11 allows (the atomic holds that value while the operation runs).
//! `compare_exchange_weak` never fails spuriously here.
//!
//! Outside a running check every operation is the plain atomic's, after one thread-local read.

use std::mem::ManuallyDrop;
use std::panic::Location;

pub use core::sync::atomic::Ordering;

use crate::rt::rc11::Desc;
use crate::rt::rc11::graph::{Access, Mo};
use crate::rt::trace::Op;
use crate::rt::{self, AtomicAccess, Exec, Peek, Pending, Raw};

/// An atomic fence; outside a simulation it is `core::sync::atomic::fence`. Inside one it
/// synchronizes with atomic accesses as C++ says (a Release fence before a store, of any
/// ordering, publishes to an Acquire load that reads the store; a load, of any ordering,
/// followed by an Acquire fence acquires what the store it read published). Between two fences
/// it orders happens-before conservatively under sequential consistency and x86-TSO (every
/// fence synchronizes with every earlier one), exactly under RC11.
///
/// # Examples
///
/// ```
/// use lockstep_sim::sync::atomic::{Ordering, fence};
///
/// fence(Ordering::SeqCst);
/// ```
#[track_caller]
#[inline]
pub fn fence(order: Ordering) {
    match rt::current() {
        None => core::sync::atomic::fence(order),
        Some(e) => rt::fence(e, order, Location::caller()),
    }
}

/// A compiler fence: `core::sync::atomic::compiler_fence`. It orders the calling thread's
/// accesses against a signal handler on the same thread only; between threads it orders
/// nothing (RC11 gives it no effect across threads), so it is not a step of a simulation and
/// code that relies on it to order two threads is checked as if it were not there.
///
/// # Examples
///
/// ```
/// use lockstep_sim::sync::atomic::{Ordering, compiler_fence};
///
/// compiler_fence(Ordering::SeqCst);
/// ```
#[inline]
pub fn compiler_fence(order: Ordering) {
    core::sync::atomic::compiler_fence(order);
}

/// The heavy half of an asymmetric fence pair, as Linux's
/// `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` gives it: a SeqCst fence of the calling thread
/// that also makes every store another thread has made so far visible before it returns. Its
/// light half is a compiler fence (`core::sync::atomic::compiler_fence`), which the simulator
/// does not see; the pair orders as two SeqCst fences do.
///
/// Inside a simulation with [`MemoryModel::X86Tso`](crate::MemoryModel::X86Tso) it is a step
/// taken once every thread's store buffer has drained, which every scheduler explores (the
/// exhaustive searches run it both before and after each store another thread buffers, so
/// `Config::dfs(None)` stays complete); with sequential consistency a SeqCst fence. Under RC11 the execution fails as unsupported (RC11 has no event for the light half).
/// Outside a simulation it is only `core::sync::atomic::fence(SeqCst)`, which does not pair
/// with a compiler fence: a program uses the operating system's call there (lockstep-hosted's
/// `Futex::heavy_fence`).
///
/// # Examples
///
/// ```
/// use lockstep_sim::sync::atomic::membarrier;
///
/// membarrier(); // outside a simulation: a SeqCst fence
/// ```
#[track_caller]
#[inline]
pub fn membarrier() {
    match rt::current() {
        None => core::sync::atomic::fence(Ordering::SeqCst),
        Some(e) => rt::membarrier(e, Location::caller()),
    }
}

/// An RC11 description of a load with ordering `o`.
fn load_desc(o: Ordering) -> Desc {
    Desc {
        access: Access::Load,
        value: 0,
        rmo: Mo::of(o),
        wmo: Mo::default(),
        addresses: false,
    }
}

/// An RC11 description of a read-modify-write with ordering `o`.
fn rmw_desc(o: Ordering) -> Desc {
    Desc {
        access: Access::Rmw,
        value: 0,
        rmo: Mo::of(load_part(o)),
        wmo: Mo::of(store_part(o)),
        addresses: false,
    }
}

fn access(load: Option<Ordering>, store: Option<Ordering>, changed: bool) -> AtomicAccess {
    AtomicAccess {
        load,
        store,
        rmw: load.is_some() && store.is_some(),
        changed,
    }
}

/// The ordering of the load part of a read-modify-write with ordering `o`.
fn load_part(o: Ordering) -> Ordering {
    match o {
        Ordering::Release => Ordering::Relaxed,
        Ordering::AcqRel => Ordering::Acquire,
        o => o,
    }
}

/// The ordering of the store part of a read-modify-write with ordering `o`.
fn store_part(o: Ordering) -> Ordering {
    match o {
        Ordering::Acquire => Ordering::Relaxed,
        Ordering::AcqRel => Ordering::Release,
        o => o,
    }
}

/// A value an atomic holds, widened to `i128` as the trace and the store buffers keep it, and
/// converted back.
trait Bits: Copy {
    /// Whether the values are addresses, which differ from one execution to the next (the
    /// allocator's state does): RC11's replays then take them from the running execution
    /// instead of comparing them with the recorded ones.
    const ADDRESS: bool = false;
    fn to_bits(self) -> i128;
    fn from_bits(v: i128) -> Self;
}

impl Bits for bool {
    fn to_bits(self) -> i128 {
        self as i128
    }
    fn from_bits(v: i128) -> bool {
        v != 0
    }
}

macro_rules! bits {
    ($($t:ty),*) => {$(
        impl Bits for $t {
            fn to_bits(self) -> i128 {
                self as i128
            }
            fn from_bits(v: i128) -> $t {
                // The value was widened from this type: the cast gives it back exactly.
                v as $t
            }
        }
    )*};
}

bits!(u8, u16, u32, usize, u64, i8, i16, i32, i64, isize);

impl<T> Bits for *mut T {
    const ADDRESS: bool = true;
    fn to_bits(self) -> i128 {
        // Exposed, so that the pointer rebuilt from the address (a store committed from a store
        // buffer, the store an RC11 load chose) may access what this one could.
        self.expose_provenance() as i128
    }
    fn from_bits(v: i128) -> *mut T {
        core::ptr::with_exposed_provenance_mut(v as usize)
    }
}

macro_rules! atomic {
    ($name:ident $(<$g:ident>)?, $t:ty, $zero:expr, $ex_ty:literal, $ex:literal, $($int:tt)*) => {
        #[doc = concat!("An instrumented `core::sync::atomic::", stringify!($name), "`.")]
        ///
        /// Same API; inside a running check every operation is one scheduling step, recorded
        /// with its value and caller location. Outside a check it is the plain atomic.
        ///
        /// # Examples
        ///
        /// ```
        #[doc = concat!("use lockstep_sim::sync::atomic::{", stringify!($name), ", Ordering};")]
        ///
        #[doc = concat!("static A: ", $ex_ty, " = ", stringify!($name), "::new(", $ex, ");")]
        #[doc = concat!("assert_eq!(A.load(Ordering::Relaxed), ", $ex, ");")]
        /// ```
        #[repr(transparent)]
        pub struct $name $(<$g>)? (core::sync::atomic::$name $(<$g>)?);

        // Every operation below runs on the plain atomic with the caller's ordering. Inside a
        // simulation all threads share one OS thread, so the extra Relaxed reads of the value
        // written (for the trace) see it exactly; outside one they are never made.
        impl $(<$g>)? $name $(<$g>)? {
            /// Creates a new atomic holding `v` (usable in a `static`).
            #[inline]
            pub const fn new(v: $t) -> Self {
                Self(core::sync::atomic::$name::new(v))
            }

            /// The plain atomic this one wraps. Operations on it bypass the simulator (an OS
            /// futex sleeps on its address).
            #[inline(always)]
            pub fn as_raw(&self) -> &core::sync::atomic::$name $(<$g>)? {
                &self.0
            }

            /// A raw pointer to the value; accesses through it bypass the simulator.
            #[inline]
            pub const fn as_ptr(&self) -> *mut $t {
                self.0.as_ptr()
            }

            /// Returns a mutable reference (exclusive access: not a scheduling point).
            #[inline]
            pub fn get_mut(&mut self) -> &mut $t {
                if let Some(e) = rt::current() {
                    // Exclusive access: every store to it happened before, buffered ones too.
                    rt::settle(e, self.addr(), Self::read_raw, Self::write_raw);
                }
                self.0.get_mut()
            }

            /// Consumes the atomic and returns the value.
            #[inline]
            pub fn into_inner(self) -> $t {
                let this = ManuallyDrop::new(self);
                if let Some(e) = rt::current() {
                    // As in `get_mut`; and the atomic's memory is about to go.
                    rt::settle(e, this.addr(), Self::read_raw, Self::write_raw);
                    rt::forget(e, this.addr());
                } else {
                    rt::dropped_outside(this.addr());
                }
                this.0.load(Ordering::Relaxed)
            }

            #[inline]
            fn addr(&self) -> usize {
                self as *const Self as usize
            }

            /// The plain atomic, for the simulator's own bookkeeping (no step).
            #[allow(dead_code)]
            pub(crate) fn plain(&self) -> &core::sync::atomic::$name $(<$g>)? {
                &self.0
            }

            fn sim<R>(
                &self,
                e: &Exec,
                loc: &'static Location<'static>,
                write: bool,
                pending: Option<Pending>,
                mut desc: Desc,
                f: impl FnOnce(&core::sync::atomic::$name $(<$g>)?) -> (R, Op, AtomicAccess),
            ) -> R {
                desc.addresses = <$t as Bits>::ADDRESS;
                let peek = pending.map(|pending| Peek {
                    word: &self.0 as *const core::sync::atomic::$name $(<$g>)? as *const (),
                    read: Self::peek_raw,
                    pending,
                });
                let addr = self.addr();
                let raw = Raw { read: Self::read_raw, write: Self::write_raw };
                rt::atomic(e, addr, stringify!($name), write, peek, raw, desc, loc, || {
                    if write {
                        // A read-modify-write or a SeqCst store: on shared memory (weak memory).
                        rt::on_memory(e, addr, Self::read_raw, Self::write_raw, || f(&self.0))
                    } else {
                        f(&self.0)
                    }
                })
            }

            /// Reads the value behind a [`Peek`] pointer.
            fn peek_raw(p: *const ()) -> i128 {
                // SAFETY: `p` points to the atomic a parked thread's operation borrows; the
                // scheduler peeks only while that thread is parked, inside that borrow.
                let a = unsafe { &*(p as *const core::sync::atomic::$name $(<$g>)?) };
                // Relaxed: all simulated threads run on this OS thread.
                Bits::to_bits(a.load(Ordering::Relaxed))
            }

            /// Writes `v` into the atomic at `addr` (weak memory: see `rt::Visible::memory`).
            fn write_raw(addr: usize, v: i128) {
                // SAFETY: called by `rt` (`buffered_store`, `on_memory`, `settle`) or by `read`
                // with the address of `self`, borrowed for that call (the type is
                // `repr(transparent)` over the plain atomic).
                let a = unsafe { &*(addr as *const core::sync::atomic::$name $(<$g>)?) };
                // Relaxed: all simulated threads run on this OS thread.
                a.store(<$t as Bits>::from_bits(v), Ordering::Relaxed);
            }

            /// Reads the atomic at `addr` (weak memory).
            fn read_raw(addr: usize) -> i128 {
                // SAFETY: as in `write_raw`.
                let a = unsafe { &*(addr as *const core::sync::atomic::$name $(<$g>)?) };
                // Relaxed: all simulated threads run on this OS thread.
                Bits::to_bits(a.load(Ordering::Relaxed))
            }

            /// Reads the value a load by the current thread sees: its own newest buffered store
            /// to this atomic if there is one (weak memory), else the atomic's.
            fn read(&self, e: &Exec, a: &core::sync::atomic::$name $(<$g>)?, order: Ordering) -> $t {
                // The load itself first: it panics on an ordering a load cannot have.
                let memory = a.load(order);
                let addr = self.addr();
                match rt::forwarded(e, addr, Bits::to_bits(memory), &mut |v| Self::write_raw(addr, v)) {
                    Some(v) => <$t as Bits>::from_bits(v),
                    None => memory,
                }
            }

            fn rmw_sim(
                &self,
                e: &Exec,
                name: &'static str,
                order: Ordering,
                loc: &'static Location<'static>,
                pending: Option<Pending>,
                f: impl FnOnce(&core::sync::atomic::$name $(<$g>)?) -> $t,
            ) -> $t {
                self.sim(e, loc, true, pending, rmw_desc(order), |a| {
                    let old = f(a);
                    let new = a.load(Ordering::Relaxed);
                    let op = Op::Rmw { name, old: Bits::to_bits(old), new: Bits::to_bits(new) };
                    (old, op, access(Some(load_part(order)), Some(store_part(order)), old != new))
                })
            }

            /// Loads the value (one step inside a simulation).
            #[track_caller]
            #[inline]
            pub fn load(&self, order: Ordering) -> $t {
                match rt::current() {
                    None => self.0.load(order),
                    Some(e) => self.sim(e, Location::caller(), false, None, load_desc(order), |a| {
                        let v = self.read(e, a, order);
                        (v, Op::Load { value: Bits::to_bits(v) }, access(Some(order), None, false))
                    }),
                }
            }

            /// Stores `v` (one step inside a simulation).
            #[track_caller]
            #[inline]
            pub fn store(&self, v: $t, order: Ordering) {
                match rt::current() {
                    None => self.0.store(v, order),
                    // Acquire and AcqRel stores go on to the plain store, which panics.
                    Some(e) if matches!(order, Ordering::Relaxed | Ordering::Release)
                        && e.weak.get() => rt::buffered_store(
                        e,
                        self.addr(),
                        stringify!($name),
                        Bits::to_bits(v),
                        Self::read_raw,
                        Self::write_raw,
                        order,
                        Location::caller(),
                    ),
                    Some(e) => self.sim(e, Location::caller(), true, Some(Pending::Store { new: Bits::to_bits(v) }), Desc { access: Access::Store, value: Bits::to_bits(v), rmo: Mo::default(), wmo: Mo::of(order), addresses: false }, |a| {
                        let old = a.load(Ordering::Relaxed);
                        a.store(v, order);
                        ((), Op::Store { value: Bits::to_bits(v) }, access(None, Some(order), old != v))
                    }),
                }
            }

            /// Stores `v` and returns the previous value.
            #[track_caller]
            #[inline]
            pub fn swap(&self, v: $t, order: Ordering) -> $t {
                match rt::current() {
                    None => self.0.swap(v, order),
                    Some(e) => {
                        let pending = Some(Pending::Store { new: Bits::to_bits(v) });
                        self.rmw_sim(e, "swap", order, Location::caller(), pending, |a| a.swap(v, order))
                    }
                }
            }

            /// Stores `new` if the value is `current`; returns the previous value, `Ok` if it
            /// was `current`.
            #[track_caller]
            #[inline]
            pub fn compare_exchange(
                &self,
                current: $t,
                new: $t,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$t, $t> {
                match rt::current() {
                    None => self.0.compare_exchange(current, new, success, failure),
                    Some(e) => self.cas_sim(e, current, new, success, failure, Location::caller()),
                }
            }

            /// As [`compare_exchange`](Self::compare_exchange); never fails spuriously inside a
            /// simulation.
            #[track_caller]
            #[inline]
            pub fn compare_exchange_weak(
                &self,
                current: $t,
                new: $t,
                success: Ordering,
                failure: Ordering,
            ) -> Result<$t, $t> {
                match rt::current() {
                    None => self.0.compare_exchange_weak(current, new, success, failure),
                    Some(e) => self.cas_sim(e, current, new, success, failure, Location::caller()),
                }
            }

            fn cas_sim(
                &self,
                e: &Exec,
                current: $t,
                new: $t,
                success: Ordering,
                failure: Ordering,
                loc: &'static Location<'static>,
            ) -> Result<$t, $t> {
                let pending = Pending::Cas { expected: Bits::to_bits(current), new: Bits::to_bits(new) };
                let desc = Desc {
                    access: Access::Cas {
                        expected: Bits::to_bits(current),
                        new: Bits::to_bits(new),
                        success: (Mo::of(load_part(success)), Mo::of(store_part(success))),
                        failure: Mo::of(failure),
                    },
                    value: Bits::to_bits(new),
                    rmo: Mo::default(),
                    wmo: Mo::default(),
                    addresses: false,
                };
                self.sim(e, loc, true, Some(pending), desc, |a| {
                    let r = a.compare_exchange(current, new, success, failure);
                    let actual = match r { Ok(v) | Err(v) => v };
                    let op = Op::CompareExchange {
                        expected: Bits::to_bits(current),
                        actual: Bits::to_bits(actual),
                        new: Bits::to_bits(new),
                        ok: r.is_ok(),
                    };
                    let acc = match r {
                        Ok(_) => access(Some(load_part(success)), Some(store_part(success)), actual != new),
                        Err(_) => access(Some(failure), None, false),
                    };
                    (r, op, acc)
                })
            }

            /// Applies `f` until it returns `None` or a compare-and-swap succeeds (each attempt
            /// is a load and a compare-and-swap step inside a simulation).
            #[track_caller]
            pub fn fetch_update<F>(
                &self,
                set_order: Ordering,
                fetch_order: Ordering,
                mut f: F,
            ) -> Result<$t, $t>
            where
                F: FnMut($t) -> Option<$t>,
            {
                let Some(e) = rt::current() else {
                    return self.0.fetch_update(set_order, fetch_order, f);
                };
                let loc = Location::caller();
                let mut prev = self.sim(e, loc, false, None, load_desc(fetch_order), |a| {
                    let v = self.read(e, a, fetch_order);
                    (v, Op::Load { value: Bits::to_bits(v) }, access(Some(fetch_order), None, false))
                });
                while let Some(next) = f(prev) {
                    match self.cas_sim(e, prev, next, set_order, fetch_order, loc) {
                        Ok(v) => return Ok(v),
                        Err(v) => prev = v,
                    }
                }
                Err(prev)
            }

            $($int)*
        }

        impl $(<$g>)? Default for $name $(<$g>)? {
            fn default() -> Self {
                Self::new($zero)
            }
        }

        impl $(<$g>)? From<$t> for $name $(<$g>)? {
            fn from(v: $t) -> Self {
                Self::new(v)
            }
        }

        impl $(<$g>)? core::fmt::Debug for $name $(<$g>)? {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                // Not a step: printing must not change the schedule.
                core::fmt::Debug::fmt(&self.0, f)
            }
        }

        impl $(<$g>)? Drop for $name $(<$g>)? {
            fn drop(&mut self) {
                match rt::current() {
                    Some(e) => rt::forget(e, self.addr()),
                    None => rt::dropped_outside(self.addr()),
                }
            }
        }
    };
}

macro_rules! rmw_methods {
    ($t:ty; $($m:ident),*) => {$(
        #[doc = concat!("`", stringify!($m), "` (one step inside a simulation): returns the previous value.")]
        #[track_caller]
        #[inline]
        pub fn $m(&self, v: $t, order: Ordering) -> $t {
            match rt::current() {
                None => self.0.$m(v, order),
                Some(e) => self.rmw_sim(e, stringify!($m), order, Location::caller(), None, |a| a.$m(v, order)),
            }
        }
    )*};
}

macro_rules! int_methods {
    ($t:ty) => {
        rmw_methods!($t; fetch_and, fetch_nand, fetch_or, fetch_xor, fetch_add, fetch_sub, fetch_max, fetch_min);
    };
}

atomic!(
    AtomicBool,
    bool,
    false,
    "AtomicBool",
    "true",
    rmw_methods!(bool; fetch_and, fetch_nand, fetch_or, fetch_xor);
    /// Logical "not" (one step inside a simulation): returns the previous value.
    #[track_caller]
    #[inline]
    pub fn fetch_not(&self, order: Ordering) -> bool {
        match rt::current() {
            None => self.0.fetch_not(order),
            Some(e) => self.rmw_sim(e, "fetch_not", order, Location::caller(), None, |a| {
                a.fetch_not(order)
            }),
        }
    }
);
atomic!(AtomicU8, u8, 0, "AtomicU8", "7", int_methods!(u8););
atomic!(AtomicU16, u16, 0, "AtomicU16", "7", int_methods!(u16););
atomic!(AtomicU32, u32, 0, "AtomicU32", "7", int_methods!(u32););
atomic!(AtomicUsize, usize, 0, "AtomicUsize", "7", int_methods!(usize););
atomic!(AtomicU64, u64, 0, "AtomicU64", "7", int_methods!(u64););
atomic!(AtomicI8, i8, 0, "AtomicI8", "-7", int_methods!(i8););
atomic!(AtomicI16, i16, 0, "AtomicI16", "-7", int_methods!(i16););
atomic!(AtomicI32, i32, 0, "AtomicI32", "-7", int_methods!(i32););
atomic!(AtomicI64, i64, 0, "AtomicI64", "-7", int_methods!(i64););
atomic!(AtomicIsize, isize, 0, "AtomicIsize", "-7", int_methods!(isize););
macro_rules! ptr_methods {
    ($($m:ident),*) => {$(
        #[doc = concat!("`", stringify!($m), "` (one step inside a simulation): returns the previous pointer.")]
        #[track_caller]
        #[inline]
        pub fn $m(&self, v: usize, order: Ordering) -> *mut T {
            match rt::current() {
                None => self.0.$m(v, order),
                Some(e) => self.rmw_sim(e, stringify!($m), order, Location::caller(), None, |a| a.$m(v, order)),
            }
        }
    )*};
}

atomic!(
    AtomicPtr<T>,
    *mut T,
    core::ptr::null_mut(),
    "AtomicPtr<u8>",
    "core::ptr::null_mut()",
    ptr_methods!(
        fetch_ptr_add,
        fetch_ptr_sub,
        fetch_byte_add,
        fetch_byte_sub,
        fetch_or,
        fetch_and,
        fetch_xor
    );
);
