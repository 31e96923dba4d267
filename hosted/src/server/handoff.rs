//! The bounded queue between the accept loop and the worker pool: the core's [`Queue`] with
//! the hosted futex, the lecture's bounded buffer between one producer and many consumers.
//!
//! [`Queue`]: lockstep_core::Queue

use std::sync::Arc;

/// Accepted connections waiting for a worker in [`serve`](super::serve), at most: when every
/// worker is busy and this many wait, a new client is refused at once.
pub const HANDOFF_CAPACITY: usize = 64;

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

    /// Sends `item` if there is room; else hands it back.
    pub(crate) fn try_send(&self, item: T) -> Result<(), T> {
        self.0.try_send(item).map_err(|e| e.into_inner())
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
