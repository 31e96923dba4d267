//! The bounded queue between the accept loop and the worker pool: the core's [`Queue`] with
//! the hosted futex, the lecture's bounded buffer between one producer and many consumers.
//!
//! [`Queue`]: lockstep_core::Queue

use std::sync::Arc;
use std::time::Duration;

use lockstep_core::SendTimeoutError;

/// Accepted connections waiting for a worker, at most: when every worker is busy and this many
/// wait, the accept loop stops accepting and new clients wait in the kernel's backlog.
pub const HANDOFF_CAPACITY: usize = 64;

/// How often a blocked accept loop looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);

type Q<T> = crate::Queue<T, HANDOFF_CAPACITY>;

/// Both ends of the handoff: the accept loop sends, the workers receive.
#[derive(Debug)]
pub(crate) struct Handoff<T>(Arc<Q<T>>);

impl<T> Clone for Handoff<T> {
    fn clone(&self) -> Self {
        Handoff(Arc::clone(&self.0))
    }
}

impl<T> Handoff<T> {
    pub(crate) fn new() -> Self {
        Handoff(Arc::new(Q::new()))
    }

    /// Sends `item`, waiting while the queue is full until `give_up()` says to stop; then the
    /// item is handed back.
    pub(crate) fn send_until(&self, mut item: T, give_up: impl Fn() -> bool) -> Result<(), T> {
        loop {
            match self.0.send_timeout(item, STOP_POLL) {
                Ok(()) => return Ok(()),
                Err(SendTimeoutError::Closed(back)) => return Err(back),
                Err(SendTimeoutError::Timeout(back)) => {
                    if give_up() {
                        return Err(back);
                    }
                    item = back;
                }
            }
        }
    }

    /// Receives the next item; `None` once the queue is closed and drained.
    pub(crate) fn recv(&self) -> Option<T> {
        self.0.recv().ok()
    }

    /// Closes the queue: workers drain what is queued, then stop.
    pub(crate) fn close(&self) {
        self.0.close();
    }
}
