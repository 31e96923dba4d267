//! A small application on lockstep's types, and its tests that check it under the simulator
//! (see `tests/`). Nothing here knows about the simulator: the dev-dependency on `lockstep` with
//! feature `sim` is what makes the same types block through it inside a check.
//!
//! [`Handoff`] passes one job from a producer to a worker under a [`Mutex`] and a [`Condvar`];
//! the worker sends the result on a [`Queue`] and signals an [`Event`] when it is done.

use std::time::Duration;

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
