//! A small application on lockstep's types, and its tests that check it under the simulator
//! (see `tests/`). Nothing here knows about the simulator: the dev-dependency on `lockstep` with
//! feature `sim` is what makes the same types block through it inside a check.
//!
//! [`Handoff`] passes one job from a producer to a worker under a [`Mutex`] and a [`Condvar`];
//! the worker sends the result on a [`Queue`] and signals an [`Event`] when it is done.
//! [`Mailbox`] and [`Bag`] are hand-written on atomics from [`lockstep::sync::atomic`], which are
//! std's in the application's build and the simulator's in its tests.

use std::time::Duration;

use lockstep::cell::UnsafeCell;
use lockstep::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use lockstep::{Condvar, Event, Mutex, Queue};

/// A hand-off of one job from a producer to a worker, the worker's result on a queue.
#[derive(Debug, Default)]
pub struct Handoff {
    job: Mutex<Option<u32>>,
    job_ready: Condvar,
    /// The worker's results.
    pub results: Queue<u32, 2>,
    /// Set once the worker is done.
    pub done: Event,
}

impl Handoff {
    /// An empty hand-off.
    pub fn new() -> Self {
        Self::default()
    }

    /// The producer: puts `job` in the slot and wakes the worker.
    pub fn submit(&self, job: u32) {
        *self.job.lock() = Some(job);
        self.job_ready.notify_one();
    }

    /// The worker: waits for the job, sends its double, sets `done`.
    pub fn work(&self) {
        let mut job = self.job.lock();
        while job.is_none() {
            job = self.job_ready.wait(job);
        }
        let j = job.take().unwrap_or_default();
        drop(job);
        self.results.send(2 * j).expect("the queue is never closed");
        self.done.set();
    }

    /// The worker with a planted bug: it looks for the job, releases the lock, and then waits
    /// without looking again, so a job submitted in between wakes nobody (a lost wake-up).
    pub fn work_racy(&self) {
        let submitted = self.job.lock().is_some();
        if !submitted {
            // BUG: the job may arrive here; its notify wakes nobody, and this waits for ever.
            let job = self.job.lock();
            drop(self.job_ready.wait(job));
        }
        let j = self.job.lock().take().unwrap_or_default();
        self.results.send(2 * j).expect("the queue is never closed");
        self.done.set();
    }

    /// Waits up to `timeout` for the worker to finish.
    pub fn wait_done(&self, timeout: Duration) -> bool {
        self.done.wait_timeout(timeout)
    }
}

/// A one-shot mailbox on the application's own atomics (from [`lockstep::sync::atomic`], so the
/// simulator sees them in every test build, integration tests included): the writer stores the
/// value, then raises the flag; the reader spins on the flag, then reads the value.
#[derive(Debug)]
pub struct Mailbox {
    value: AtomicU64,
    full: AtomicBool,
    publish: Ordering,
    consume: Ordering,
}

impl Mailbox {
    /// A correct mailbox: the flag is stored with Release and loaded with Acquire, so a reader
    /// that sees it also sees the value.
    pub fn new() -> Self {
        Self::with_orderings(Ordering::Release, Ordering::Acquire)
    }

    /// A mailbox with a planted bug: the flag is stored and loaded Relaxed, so a reader may see it
    /// raised and still read the old value (allowed by Rust's memory model, though not on x86).
    pub fn relaxed() -> Self {
        Self::with_orderings(Ordering::Relaxed, Ordering::Relaxed)
    }

    fn with_orderings(publish: Ordering, consume: Ordering) -> Self {
        Self {
            value: AtomicU64::new(0),
            full: AtomicBool::new(false),
            publish,
            consume,
        }
    }

    /// The writer.
    pub fn put(&self, v: u64) {
        // Relaxed: the flag's store publishes it (with the correct orderings).
        self.value.store(v, Ordering::Relaxed);
        self.full.store(true, self.publish);
    }

    /// The reader: spins until the flag is raised, then takes the value.
    pub fn take(&self) -> u64 {
        while !self.full.load(self.consume) {
            lockstep::hint::spin_loop();
        }
        // Relaxed: ordered after the flag's load by that load's ordering.
        self.value.load(Ordering::Relaxed)
    }
}

impl Default for Mailbox {
    fn default() -> Self {
        Self::new()
    }
}

/// A one-shot slot for any value, on the application's own cell and flag: the writer puts the
/// value in a [`lockstep::cell::UnsafeCell`], then raises the flag; the reader waits for the flag,
/// then takes the value out. Under the simulator every access to the cell is checked for a data
/// race, so a flag that does not order them (Relaxed) is reported even where the value read
/// happens to be right.
#[derive(Debug)]
pub struct Slot<T> {
    value: UnsafeCell<Option<T>>,
    full: AtomicBool,
    publish: Ordering,
    consume: Ordering,
}

// SAFETY: the value is written only before `full` is raised and read only after it is seen
// raised (with the Release/Acquire pair of `Slot::new`, which orders the two accesses; the
// `relaxed` slot is the planted bug the simulator finds), so it is never accessed by two
// threads at once; it moves between threads, hence `T: Send`.
unsafe impl<T: Send> Sync for Slot<T> {}

impl<T> Slot<T> {
    /// A correct slot: Release to raise the flag, Acquire to see it.
    pub fn new() -> Self {
        Self::with_orderings(Ordering::Release, Ordering::Acquire)
    }

    /// A slot with a planted bug: the flag is Relaxed, so the write of the value and its read
    /// are not ordered (a data race, undefined behavior).
    pub fn relaxed() -> Self {
        Self::with_orderings(Ordering::Relaxed, Ordering::Relaxed)
    }

    fn with_orderings(publish: Ordering, consume: Ordering) -> Self {
        Self {
            value: UnsafeCell::new(None),
            full: AtomicBool::new(false),
            publish,
            consume,
        }
    }

    /// The writer (call once).
    pub fn put(&self, v: T) {
        // SAFETY: the reader touches the value only after seeing `full`, raised below.
        self.value.with_mut(|p| unsafe { *p = Some(v) });
        self.full.store(true, self.publish);
    }

    /// The reader (call once): waits for the value and takes it.
    pub fn take(&self) -> Option<T> {
        while !self.full.load(self.consume) {
            lockstep::hint::spin_loop();
        }
        // SAFETY: the writer is done with the value once `full` is raised.
        self.value.with_mut(|p| unsafe { (*p).take() })
    }
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A lock-free bag: any thread pushes, and a consumer takes everything at once. A Treiber stack
/// on the application's own [`AtomicPtr`] whose only pop is [`take_all`](Self::take_all):
/// swapping the head for null hands the whole list to one thread, so it frees the nodes without
/// a reclamation scheme.
#[derive(Debug)]
pub struct Bag<T> {
    head: AtomicPtr<Node<T>>,
    lossy: bool,
}

#[derive(Debug)]
struct Node<T> {
    value: T,
    next: *mut Node<T>,
}

// SAFETY: values move between threads inside nodes (hence `T: Send`); a node is written only
// before the exchange that publishes it (Release) and read only after the swap that takes it
// (Acquire), by the one thread that took it.
unsafe impl<T: Send> Send for Bag<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Bag<T> {}

impl<T> Bag<T> {
    /// An empty bag.
    pub fn new() -> Self {
        Self {
            head: AtomicPtr::new(std::ptr::null_mut()),
            lossy: false,
        }
    }

    /// A bag with a planted bug: a push loads the head and then stores its node, so two pushes
    /// at once may both link to the same head and one node is lost.
    pub fn lossy() -> Self {
        Self {
            head: AtomicPtr::new(std::ptr::null_mut()),
            lossy: true,
        }
    }

    /// Adds `value`.
    pub fn push(&self, value: T) {
        let node = Box::into_raw(Box::new(Node {
            value,
            next: std::ptr::null_mut(),
        }));
        if self.lossy {
            // BUG: another push may replace the head between this load and the store below.
            let head = self.head.load(Ordering::Acquire);
            // SAFETY: the node is not shared yet.
            unsafe { (*node).next = head };
            self.head.store(node, Ordering::Release);
            return;
        }
        // Relaxed: only compared; the exchange below decides.
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // SAFETY: the node is not shared until the exchange succeeds.
            unsafe { (*node).next = head };
            // Release: publishes the node's contents to `take_all`'s Acquire swap. Relaxed on
            // failure: only the new head is learned.
            match self
                .head
                .compare_exchange_weak(head, node, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(h) => head = h,
            }
        }
    }

    /// Takes every value pushed so far, newest first.
    pub fn take_all(&self) -> Vec<T> {
        // Acquire: pairs with the pushes' Release, so the nodes' contents are visible.
        let list = self.head.swap(std::ptr::null_mut(), Ordering::Acquire);
        // SAFETY: the swap made this thread the list's only owner.
        unsafe { Self::free(list) }
    }

    /// Frees the list from `p` on, returning its values.
    ///
    /// # Safety
    ///
    /// The caller owns the list: no other thread can reach it.
    unsafe fn free(mut p: *mut Node<T>) -> Vec<T> {
        let mut values = Vec::new();
        while !p.is_null() {
            // SAFETY: every node was boxed by `push` and is owned by the caller.
            let node = unsafe { Box::from_raw(p) };
            p = node.next;
            values.push(node.value);
        }
        values
    }
}

impl<T> Default for Bag<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Drop for Bag<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no other thread can reach the list.
        drop(unsafe { Self::free(*self.head.get_mut()) });
    }
}
