//! [`Once`], [`OnceLock`] and [`LazyLock`] with std's API, on the modelled [`Mutex`] and
//! [`Condvar`].

use std::cell::UnsafeCell;
use std::fmt;
use std::mem::MaybeUninit;
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::PoisonError;

use super::atomic::{AtomicU32, Ordering};
use super::{Condvar, Mutex};

const INCOMPLETE: u8 = 0;
const RUNNING: u8 = 1;
const POISONED: u8 = 2;

/// A one-time initialization (`std::sync::Once`).
///
/// Inside a check the completion flag is an instrumented atomic (reading it is a step) and
/// threads that arrive while another runs the initializer wait on a modelled [`Condvar`]. An
/// initializer that panics poisons the `Once` (std's rule): `call_once` panics afterwards, and
/// `call_once_force` runs again with [`OnceState::is_poisoned`] true.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use lockstep_sim::sync::Once;
/// use lockstep_sim::sync::atomic::{AtomicU32, Ordering::SeqCst};
/// use lockstep_sim::{Config, check, thread};
///
/// check(Config::dfs(None), || {
///     let once = Arc::new((Once::new(), AtomicU32::new(0)));
///     let o = Arc::clone(&once);
///     let h = thread::spawn(move || o.0.call_once(|| { o.1.fetch_add(1, SeqCst); }));
///     once.0.call_once(|| { once.1.fetch_add(1, SeqCst); });
///     h.join().unwrap();
///     assert_eq!(once.1.load(SeqCst), 1);
/// });
/// ```
pub struct Once {
    /// 1 once an initializer returned.
    done: AtomicU32,
    state: Mutex<u8>,
    finished: Condvar,
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once").finish_non_exhaustive()
    }
}

impl Default for Once {
    fn default() -> Self {
        Self::new()
    }
}

/// The state passed to [`Once::call_once_force`]'s closure.
#[derive(Debug)]
pub struct OnceState {
    poisoned: bool,
}

impl OnceState {
    /// Whether an earlier initializer panicked.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }
}

impl Once {
    /// A `Once` that has not run (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            done: AtomicU32::new(0),
            state: Mutex::new(INCOMPLETE),
            finished: Condvar::new(),
        }
    }

    /// Whether an initializer has completed.
    #[track_caller]
    pub fn is_completed(&self) -> bool {
        // In a static: every execution starts from the state the check began with.
        crate::rt::static_state(
            self as *const Self as usize,
            || {
                let done = self.done.plain().load(std::sync::atomic::Ordering::Relaxed);
                vec![u8::from(done == 1), *self.state.plain()]
            },
            Self::restore,
        );
        // Acquire: what the initializer wrote is visible once this reads 1.
        self.done.load(Ordering::Acquire) == 1
    }

    /// Puts back the state `is_completed` saved for the static `Once` at `addr`.
    ///
    /// # Safety
    ///
    /// `addr` is a `Once` in a static, and no simulated thread is using it.
    unsafe fn restore(addr: usize, saved: &[u8]) {
        // SAFETY: the caller's contract; a static lives for ever.
        let this = unsafe { &*(addr as *const Self) };
        this.done
            .plain()
            .store(u32::from(saved[0]), std::sync::atomic::Ordering::Relaxed);
        *this.state.plain() = saved[1];
        this.state.clear_poison();
    }

    /// Runs `f` if no initializer has completed; every caller returns after one has.
    ///
    /// # Panics
    ///
    /// If the `Once` is poisoned (an initializer panicked), or if `f` panics.
    #[track_caller]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        if self.is_completed() {
            return;
        }
        self.run(false, |_| f());
    }

    /// Like [`call_once`](Self::call_once), also running when poisoned.
    #[track_caller]
    pub fn call_once_force<F: FnOnce(&OnceState)>(&self, f: F) {
        if self.is_completed() {
            return;
        }
        self.run(true, f);
    }

    #[track_caller]
    fn run(&self, force: bool, f: impl FnOnce(&OnceState)) {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if self.is_completed() {
                return;
            }
            match *s {
                RUNNING => {
                    s = self
                        .finished
                        .wait(s)
                        .unwrap_or_else(PoisonError::into_inner)
                }
                POISONED if !force => {
                    panic!("Once instance has previously been poisoned")
                }
                previous => {
                    *s = RUNNING;
                    drop(s);
                    let state = OnceState {
                        poisoned: previous == POISONED,
                    };
                    let r = catch_unwind(AssertUnwindSafe(|| f(&state)));
                    let r = match r {
                        // The execution is being discarded; another unwinding thread may
                        // hold `state`.
                        Err(payload) if crate::rt::tearing_down() => resume_unwind(payload),
                        r => r,
                    };
                    let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                    match r {
                        Ok(()) => {
                            *s = INCOMPLETE;
                            // Release: pairs with `is_completed`'s Acquire.
                            self.done.store(1, Ordering::Release);
                        }
                        Err(_) => *s = POISONED,
                    }
                    drop(s);
                    self.finished.notify_all();
                    if let Err(payload) = r {
                        resume_unwind(payload);
                    }
                    return;
                }
            }
        }
    }
}

/// A cell written once (`std::sync::OnceLock`).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use lockstep_sim::sync::OnceLock;
/// use lockstep_sim::{Config, check, thread};
///
/// check(Config::dfs(None), || {
///     let cell = Arc::new(OnceLock::new());
///     let c = Arc::clone(&cell);
///     let h = thread::spawn(move || *c.get_or_init(|| 1));
///     let mine = *cell.get_or_init(|| 2);
///     assert_eq!(mine, h.join().unwrap()); // both see the one winner
/// });
/// ```
pub struct OnceLock<T> {
    once: Once,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: as std's OnceLock: the value is written once, before `done` is released, and only read
// after `done` is acquired; `&OnceLock` hands out `&T` (needs `Sync`) and moves a `T` in from any
// thread (needs `Send`).
unsafe impl<T: Send + Sync> Sync for OnceLock<T> {}
// SAFETY: owning the lock owns the value.
unsafe impl<T: Send> Send for OnceLock<T> {}

impl<T> Default for OnceLock<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OnceLock").field(&self.get()).finish()
    }
}

impl<T> OnceLock<T> {
    /// An empty cell (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            once: Once::new(),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// The value, if set.
    #[track_caller]
    pub fn get(&self) -> Option<&T> {
        if self.once.is_completed() {
            // SAFETY: completed: the value was written before `done` was released.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// Sets the value if the cell is empty.
    ///
    /// # Errors
    ///
    /// `Err(value)` if the cell was already set.
    #[track_caller]
    pub fn set(&self, value: T) -> Result<(), T> {
        let mut value = Some(value);
        self.get_or_init(|| value.take().unwrap_or_else(|| unreachable!()));
        match value {
            None => Ok(()),
            Some(v) => Err(v),
        }
    }

    /// The value, initializing it with `f` if the cell is empty; concurrent callers wait for
    /// the one that runs `f`.
    #[track_caller]
    pub fn get_or_init<F: FnOnce() -> T>(&self, f: F) -> &T {
        if let Some(v) = self.get() {
            return v;
        }
        self.once.call_once_force(|_| {
            // SAFETY: only the one initializer writes, before `done` is released.
            unsafe { (*self.value.get()).write(f()) };
        });
        self.get()
            .unwrap_or_else(|| unreachable!("call_once_force returned"))
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        let this = std::mem::take(self);
        this.into_inner()
    }

    /// The value, if set.
    pub fn into_inner(self) -> Option<T> {
        let this = std::mem::ManuallyDrop::new(self);
        let set = this.once.done.load(Ordering::Acquire) == 1;
        // SAFETY: `this` is never dropped; the `Once` is moved out to drop it (it forgets its
        // simulated objects) and the value is read once, only if it was written.
        unsafe {
            drop(std::ptr::read(&this.once));
            set.then(|| (*this.value.get()).assume_init_read())
        }
    }

    /// The value through a unique borrow, if set.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if self.once.done.load(Ordering::Acquire) == 1 {
            // SAFETY: set, and `&mut self` proves no other access.
            Some(unsafe { self.value.get_mut().assume_init_mut() })
        } else {
            None
        }
    }
}

impl<T> Drop for OnceLock<T> {
    fn drop(&mut self) {
        if *self.once.done.get_mut() == 1 {
            // SAFETY: set, and dropped once, here.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

/// A value initialized on first access (`std::sync::LazyLock`).
///
/// # Examples
///
/// ```
/// use lockstep_sim::sync::LazyLock;
///
/// static TABLE: LazyLock<Vec<u32>> = LazyLock::new(|| (0..4).collect());
/// assert_eq!(TABLE.len(), 4);
/// ```
pub struct LazyLock<T, F = fn() -> T> {
    cell: OnceLock<T>,
    init: UnsafeCell<Option<F>>,
}

// SAFETY: `init` is taken by the one thread that runs the initializer (inside `Once`), the
// value is shared as in `OnceLock`.
unsafe impl<T: Send + Sync, F: Send> Sync for LazyLock<T, F> {}

impl<T: fmt::Debug, F> fmt::Debug for LazyLock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LazyLock").field(&self.cell.get()).finish()
    }
}

impl<T, F: FnOnce() -> T> LazyLock<T, F> {
    /// A lazy value computed by `f` on first access (usable in a `static`).
    pub const fn new(f: F) -> Self {
        Self {
            cell: OnceLock::new(),
            init: UnsafeCell::new(Some(f)),
        }
    }

    /// Computes the value if needed and returns it.
    ///
    /// # Panics
    ///
    /// If the initializer panicked, now or before.
    #[track_caller]
    pub fn force(this: &LazyLock<T, F>) -> &T {
        // In a static: every execution starts with the initializer the check began with (its
        // bytes: a static's initializer is a constant, which owns no allocation, so a copy of
        // it is as good as the original).
        crate::rt::static_state(
            this.init.get() as usize,
            || {
                let p = this.init.get() as *const u8;
                // SAFETY: `init` is a live, initialized `Option<F>` of this many bytes.
                unsafe { std::slice::from_raw_parts(p, std::mem::size_of::<Option<F>>()) }.to_vec()
            },
            Self::restore_init,
        );
        this.cell.get_or_init(|| {
            // SAFETY: only the one initializer (inside the `Once`) takes `init`.
            match unsafe { (*this.init.get()).take() } {
                Some(f) => f(),
                None => panic!("LazyLock instance has previously been poisoned"),
            }
        })
    }
}

impl<T, F> LazyLock<T, F> {
    /// Puts back the initializer `force` saved for the static `LazyLock` whose `init` is at
    /// `addr` (the one it held is not dropped: it is a constant's copy, or `None`).
    ///
    /// # Safety
    ///
    /// `addr` is the `init` of a `LazyLock<T, F>` in a static, no simulated thread is using
    /// it, and `saved` holds the bytes of an `Option<F>` it held.
    unsafe fn restore_init(addr: usize, saved: &[u8]) {
        // SAFETY: the caller's contract: `saved` is an `Option<F>`'s bytes, `addr` its place.
        unsafe {
            std::ptr::copy_nonoverlapping(saved.as_ptr(), addr as *mut u8, saved.len());
        }
    }
}

impl<T, F: FnOnce() -> T> Deref for LazyLock<T, F> {
    type Target = T;

    #[track_caller]
    fn deref(&self) -> &T {
        LazyLock::force(self)
    }
}
