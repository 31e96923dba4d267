//! Thread-local values per simulated thread: [`thread_local!`](crate::thread_local) and
//! [`LocalKey`].

use std::any::Any;
use std::fmt;

use crate::context;

/// A key to a thread-local value, declared with [`thread_local!`](crate::thread_local):
/// `std::thread::LocalKey`'s [`with`](LocalKey::with), for simulated threads too.
///
/// Inside a check each simulated thread has its own value, made by the initializer on the
/// thread's first access and dropped when the thread finishes (the checked closure's when the
/// execution ends); every execution starts afresh. Outside a check it is a std thread-local.
pub struct LocalKey<T: 'static> {
    std: &'static std::thread::LocalKey<T>,
    init: fn() -> T,
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalKey { .. }")
    }
}

/// The error of [`LocalKey::try_with`] (kept for std's signature: a simulated thread's value
/// is never destroyed while the thread runs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessError;

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("already destroyed")
    }
}

impl std::error::Error for AccessError {}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn __new(std: &'static std::thread::LocalKey<T>, init: fn() -> T) -> Self {
        Self { std, init }
    }

    /// Runs `f` with a reference to this thread's value, initializing it on first use.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use lockstep_sim::{Config, check, thread};
    ///
    /// lockstep_sim::thread_local!(static HITS: Cell<u32> = Cell::new(0));
    ///
    /// check(Config::dfs(None), || {
    ///     HITS.with(|h| h.set(h.get() + 1));
    ///     let other = thread::spawn(|| HITS.with(Cell::get)).join().unwrap();
    ///     assert_eq!(other, 0); // the spawned thread has its own value
    ///     assert_eq!(HITS.with(Cell::get), 1); // and every execution starts afresh
    /// });
    /// ```
    pub fn with<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        match self.try_with(f) {
            Ok(r) => r,
            Err(e) => panic!("cannot access a thread-local value: {e}"),
        }
    }

    /// Like [`with`](LocalKey::with), returning an error where std's would.
    ///
    /// # Errors
    ///
    /// [`AccessError`] if a real thread's value was already destroyed (during its exit).
    pub fn try_with<F, R>(&'static self, f: F) -> Result<R, AccessError>
    where
        F: FnOnce(&T) -> R,
    {
        let Some(t) = context::current_thread() else {
            return self.std.try_with(f).map_err(|_| AccessError);
        };
        let key = (t, self as *const Self as usize);
        let existing = context::with(|s| s.locals.get(&key).map(value_ptr::<T>)).flatten();
        let ptr = match existing {
            Some(p) => p,
            None => {
                // Initialized outside the store's borrow: the initializer may use other keys.
                let boxed: Box<dyn Any> = Box::new((self.init)());
                let p = value_ptr::<T>(&boxed);
                context::with(|s| s.locals.insert(key, boxed));
                p
            }
        };
        // SAFETY: the value is boxed (a stable address) and removed from the store only when
        // this simulated thread finishes or the execution ends, neither of which can happen
        // while this thread runs `f`.
        Ok(f(unsafe { &*ptr }))
    }
}

fn value_ptr<T: 'static>(b: &Box<dyn Any>) -> *const T {
    match b.downcast_ref::<T>() {
        Some(v) => v as *const T,
        None => unreachable!("a thread-local key always stores its own type"),
    }
}

/// Declares thread-local values with `std::thread_local!`'s syntax, one per simulated thread
/// inside a check (see [`LocalKey`]).
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
///
/// lockstep_sim::thread_local! {
///     static LOG: RefCell<Vec<u32>> = RefCell::new(Vec::new());
///     pub static DEPTH: std::cell::Cell<u32> = std::cell::Cell::new(0);
/// }
///
/// LOG.with(|l| l.borrow_mut().push(1));
/// assert_eq!(LOG.with(|l| l.borrow().len()), 1);
/// ```
#[macro_export]
macro_rules! thread_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr; $($rest:tt)*) => {
        $crate::thread_local!($(#[$attr])* $vis static $name: $t = $init);
        $crate::thread_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr) => {
        $(#[$attr])* $vis static $name: $crate::thread::LocalKey<$t> = {
            fn __init() -> $t {
                $init
            }
            ::std::thread_local!(static __STD: $t = __init());
            $crate::thread::LocalKey::__new(&__STD, __init)
        };
    };
}
