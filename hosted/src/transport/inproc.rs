//! The in-process transport: two bounded queues, one per direction.
//!
//! Reliable and ordered; a full queue blocks the sender (backpressure); dropping one end
//! closes the connection for the other.
//!
//! The queue is std's `sync_channel`; the bounded MPMC queue of `lockstep-core` takes its place
//! once it offers a hosted, heap-shared form.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::time::Duration;

use super::Transport;
use crate::NetError;

/// One end of an in-process connection.
#[derive(Debug)]
pub struct InProc {
    tx: SyncSender<Vec<u8>>,
    rx: Receiver<Vec<u8>>,
    name: String,
}

/// Two connected in-process ends, each direction holding at most `capacity` messages.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lockstep_hosted::transport::{inproc, Transport};
///
/// let (mut a, b) = inproc::pair(1);
/// a.send(b"x").unwrap();
/// drop(b);
/// assert!(a.send(b"y").unwrap_err().is_disconnect());
/// ```
pub fn pair(capacity: usize) -> (InProc, InProc) {
    let (tx_a, rx_b) = sync_channel(capacity);
    let (tx_b, rx_a) = sync_channel(capacity);
    (
        InProc {
            tx: tx_a,
            rx: rx_a,
            name: "in-process peer b".into(),
        },
        InProc {
            tx: tx_b,
            rx: rx_b,
            name: "in-process peer a".into(),
        },
    )
}

impl Transport for InProc {
    fn send(&mut self, msg: &[u8]) -> Result<(), NetError> {
        self.tx.send(msg.to_vec()).map_err(|_| NetError::Closed {
            addr: self.name.clone(),
        })
    }

    fn recv_into(&mut self, buf: &mut Vec<u8>, timeout: Option<Duration>) -> Result<(), NetError> {
        let closed = || NetError::Closed {
            addr: self.name.clone(),
        };
        let timed_out = || NetError::timeout(&self.name, "a message", timeout.unwrap_or_default());
        *buf = match timeout {
            None => self.rx.recv().map_err(|_| closed())?,
            Some(t) if t.is_zero() => self.rx.try_recv().map_err(|e| match e {
                TryRecvError::Empty => timed_out(),
                TryRecvError::Disconnected => closed(),
            })?,
            Some(t) => self.rx.recv_timeout(t).map_err(|e| match e {
                RecvTimeoutError::Timeout => timed_out(),
                RecvTimeoutError::Disconnected => closed(),
            })?,
        };
        Ok(())
    }

    fn is_reliable(&self) -> bool {
        true
    }

    fn max_message(&self) -> usize {
        usize::MAX
    }

    fn peer(&self) -> &str {
        &self.name
    }
}
