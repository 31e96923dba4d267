//! Cells for data that threads share: [`UnsafeCell`] with loom's closure-based access API, for
//! data the caller protects, and [`SharedCell`], a plain shared variable for modelling
//! unsynchronized code such as `x += 1`.
//!
//! Inside a running check every access is checked for data races with vector clocks: two
//! accesses to one cell by different threads, at least one a write, that are not ordered by
//! happens-before (spawn, join, or an Acquire read of a Release write) end the execution with
//! [`FailureKind::DataRace`](crate::FailureKind::DataRace).

use std::fmt;
use std::mem::ManuallyDrop;
use std::panic::Location;

use crate::rt;

/// A cell for data the caller protects; each access goes through a closure.
///
/// Inside a running check, [`with`](Self::with) is a read and [`with_mut`](Self::with_mut) a
/// write of the whole value, checked for data races (they are not scheduling points: what the
/// closure does happens within the current step). Outside a check it is
/// `core::cell::UnsafeCell`.
///
/// # Examples
///
/// ```
/// use lockstep_sim::sync::cell::UnsafeCell;
///
/// let c = UnsafeCell::new(1);
/// // SAFETY: no other reference to the value exists.
/// c.with_mut(|p| unsafe { *p += 1 });
/// assert_eq!(c.with(|p| unsafe { *p }), 2);
/// assert_eq!(c.into_inner(), 2);
/// ```
#[derive(Default)]
#[repr(transparent)]
pub struct UnsafeCell<T: ?Sized>(core::cell::UnsafeCell<T>);

impl<T> UnsafeCell<T> {
    /// Creates a cell holding `value` (usable in a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// let c = lockstep_sim::sync::cell::UnsafeCell::new(3);
    /// assert_eq!(c.into_inner(), 3);
    /// ```
    #[inline(always)]
    pub const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    /// Consumes the cell and returns the value.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = lockstep_sim::sync::cell::UnsafeCell::new("x");
    /// assert_eq!(c.into_inner(), "x");
    /// ```
    #[inline]
    pub fn into_inner(self) -> T {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so reading the value out moves it.
        unsafe { std::ptr::read(&this.0) }.into_inner()
    }
}

impl<T: ?Sized> UnsafeCell<T> {
    #[inline]
    fn addr(&self) -> usize {
        self as *const Self as *const u8 as usize
    }

    /// Runs `f` with a shared pointer to the value (a read access).
    ///
    /// # Examples
    ///
    /// ```
    /// let c = lockstep_sim::sync::cell::UnsafeCell::new(5);
    /// // SAFETY: nothing writes the value meanwhile.
    /// assert_eq!(c.with(|p| unsafe { *p }), 5);
    /// ```
    #[track_caller]
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        if let Some(e) = rt::current() {
            rt::cell_access(
                e,
                self.addr(),
                "UnsafeCell",
                false,
                None,
                Location::caller(),
            );
        }
        f(self.0.get())
    }

    /// Runs `f` with a mutable pointer to the value (a write access).
    ///
    /// # Examples
    ///
    /// ```
    /// let c = lockstep_sim::sync::cell::UnsafeCell::new(5);
    /// // SAFETY: no other reference to the value exists.
    /// c.with_mut(|p| unsafe { *p = 6 });
    /// assert_eq!(c.into_inner(), 6);
    /// ```
    #[track_caller]
    #[inline]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        if let Some(e) = rt::current() {
            rt::cell_access(e, self.addr(), "UnsafeCell", true, None, Location::caller());
        }
        f(self.0.get())
    }

    /// Returns a mutable reference; `&mut self` proves no other access exists.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut c = lockstep_sim::sync::cell::UnsafeCell::new(5);
    /// *c.get_mut() += 1;
    /// assert_eq!(c.into_inner(), 6);
    /// ```
    #[inline(always)]
    pub fn get_mut(&mut self) -> &mut T {
        self.0.get_mut()
    }
}

impl<T: ?Sized> Drop for UnsafeCell<T> {
    fn drop(&mut self) {
        if let Some(e) = rt::current() {
            rt::forget(e, self.addr());
        }
    }
}

impl<T: ?Sized> fmt::Debug for UnsafeCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnsafeCell { .. }")
    }
}

/// A plain shared variable: [`get`](Self::get) and [`set`](Self::set) are each one scheduling
/// step, so `c.set(c.get() + 1)` is the lecture's racy `x += 1` (a load and a store).
///
/// Inside a running check every access is checked for data races, and reading and writing it
/// from two threads without synchronization is reported as one. Outside a check it is a value
/// behind a `std::sync::Mutex`, so it stays sound when shared between real threads.
///
/// # Examples
///
/// ```
/// use lockstep_sim::sync::cell::SharedCell;
///
/// let c = SharedCell::new(1);
/// c.set(c.get() + 1);
/// assert_eq!(c.get(), 2);
/// ```
pub struct SharedCell<T>(std::sync::Mutex<T>);

impl<T: Copy + TryInto<i128>> SharedCell<T> {
    /// Creates a cell holding `value` (usable in a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// static C: lockstep_sim::sync::cell::SharedCell<i64> = lockstep_sim::sync::cell::SharedCell::new(0);
    /// assert_eq!(C.get(), 0);
    /// ```
    pub const fn new(value: T) -> Self {
        Self(std::sync::Mutex::new(value))
    }

    fn value(&self) -> T {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the value (one step inside a simulation, checked for data races).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(lockstep_sim::sync::cell::SharedCell::new(4u8).get(), 4);
    /// ```
    #[track_caller]
    pub fn get(&self) -> T {
        if let Some(e) = rt::current() {
            let loc = Location::caller();
            rt::step(e, self.addr(), "SharedCell", false);
            let v = self.value();
            rt::cell_access(e, self.addr(), "SharedCell", false, v.try_into().ok(), loc);
            v
        } else {
            self.value()
        }
    }

    /// Writes the value (one step inside a simulation, checked for data races).
    ///
    /// # Examples
    ///
    /// ```
    /// let c = lockstep_sim::sync::cell::SharedCell::new(4u8);
    /// c.set(5);
    /// assert_eq!(c.get(), 5);
    /// ```
    #[track_caller]
    pub fn set(&self, value: T) {
        if let Some(e) = rt::current() {
            let loc = Location::caller();
            rt::step(e, self.addr(), "SharedCell", true);
            rt::cell_access(
                e,
                self.addr(),
                "SharedCell",
                true,
                value.try_into().ok(),
                loc,
            );
        }
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = value;
    }

    /// Consumes the cell and returns the value.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(lockstep_sim::sync::cell::SharedCell::new(4u8).into_inner(), 4);
    /// ```
    pub fn into_inner(self) -> T {
        self.value()
    }
}

impl<T> SharedCell<T> {
    fn addr(&self) -> usize {
        self as *const Self as usize
    }
}

impl<T> Drop for SharedCell<T> {
    fn drop(&mut self) {
        if let Some(e) = rt::current() {
            rt::forget(e, self.addr());
        }
    }
}

impl<T: Copy + fmt::Debug> fmt::Debug for SharedCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = *self.0.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_tuple("SharedCell").field(&v).finish()
    }
}
