//! The bounded queue between the accept loop and the worker pool.
//!
//! One small module so that the queue underneath can be exchanged: today std's `sync_channel`
//! (its receiver shared by the workers behind a mutex), polled with `try_send` so that a full
//! queue still notices a shutdown.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The accept loop's end.
#[derive(Debug)]
pub(crate) struct Tx<T>(SyncSender<T>);

/// The workers' end (cloneable).
#[derive(Debug)]
pub(crate) struct Rx<T>(Arc<Mutex<Receiver<T>>>);

impl<T> Clone for Rx<T> {
    fn clone(&self) -> Self {
        Rx(Arc::clone(&self.0))
    }
}

/// A queue holding at most `capacity` items.
pub(crate) fn bounded<T>(capacity: usize) -> (Tx<T>, Rx<T>) {
    let (tx, rx) = sync_channel(capacity);
    (Tx(tx), Rx(Arc::new(Mutex::new(rx))))
}

impl<T> Tx<T> {
    /// Sends `item`, waiting while the queue is full until `give_up()` says to stop; then the
    /// item is handed back.
    pub(crate) fn send_until(&self, mut item: T, give_up: impl Fn() -> bool) -> Result<(), T> {
        let mut pause = Duration::from_micros(50);
        loop {
            match self.0.try_send(item) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(back)) => return Err(back),
                Err(TrySendError::Full(back)) => {
                    if give_up() {
                        return Err(back);
                    }
                    item = back;
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(5));
                }
            }
        }
    }
}

impl<T> Rx<T> {
    /// Receives the next item; `None` once the sender is gone and the queue is empty.
    pub(crate) fn recv(&self) -> Option<T> {
        let rx = self.0.lock().unwrap_or_else(|p| p.into_inner());
        rx.recv().ok()
    }
}
