//! The in-process transport: two bounded queues, one per direction.
//!
//! Each direction is the core's [`Queue`](lockstep_core::Queue) of `N` slots with the hosted
//! futex: reliable and ordered; a full queue blocks the sender (backpressure; at most its timeout
//! in [`Transport::send_within`], as inside a waiting `call`) and an empty one
//! the receiver, in the kernel, without spinning. Dropping one end closes both directions: the
//! other end receives what is still queued, then [`NetError::Closed`], and its sends fail.

use std::sync::Arc;
use std::time::Duration;

use lockstep_core::{RecvTimeoutError, SendTimeoutError, TryRecvError};

use super::Transport;
use crate::{NetError, Queue};

/// One end of an in-process connection whose directions hold `N` messages each.
#[derive(Debug)]
pub struct InProc<const N: usize> {
    tx: Arc<Queue<Vec<u8>, N>>,
    rx: Arc<Queue<Vec<u8>, N>>,
    name: &'static str,
}

/// Two connected in-process ends, each direction holding at most `N` messages.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lockstep_hosted::transport::{inproc, Transport};
///
/// let (mut a, mut b) = inproc::pair::<1>();
/// a.send(b"x").unwrap();
/// drop(b);
/// assert!(a.send(b"y").unwrap_err().is_disconnect());
/// ```
pub fn pair<const N: usize>() -> (InProc<N>, InProc<N>) {
    let (ab, ba) = (Arc::new(Queue::new()), Arc::new(Queue::new()));
    (
        InProc {
            tx: ab.clone(),
            rx: ba.clone(),
            name: "in-process peer b",
        },
        InProc {
            tx: ba,
            rx: ab,
            name: "in-process peer a",
        },
    )
}

impl<const N: usize> Drop for InProc<N> {
    fn drop(&mut self) {
        self.tx.close();
        self.rx.close();
    }
}

impl<const N: usize> Transport for InProc<N> {
    fn send(&mut self, msg: &[u8]) -> Result<(), NetError> {
        self.tx.send(msg.to_vec()).map_err(|_| NetError::Closed {
            addr: self.name.into(),
        })
    }

    /// Waits at most `timeout` for room: a full queue (the peer stopped receiving) blocks a
    /// send, so a `call` or `send_sync` with a timeout must not wait for it longer than that.
    fn send_within(&mut self, msg: &[u8], timeout: Duration) -> Result<(), NetError> {
        self.tx
            .send_timeout(msg.to_vec(), timeout)
            .map_err(|e| match e {
                SendTimeoutError::Timeout(_) => NetError::timeout(
                    self.name,
                    "room to send (the peer stopped receiving)",
                    timeout,
                ),
                SendTimeoutError::Closed(_) => NetError::Closed {
                    addr: self.name.into(),
                },
            })
    }

    fn recv_into(&mut self, buf: &mut Vec<u8>, timeout: Option<Duration>) -> Result<(), NetError> {
        let closed = || NetError::Closed {
            addr: self.name.into(),
        };
        let timed_out = || NetError::timeout(self.name, "a message", timeout.unwrap_or_default());
        *buf = match timeout {
            None => self.rx.recv().map_err(|_| closed())?,
            Some(t) if t.is_zero() => self.rx.try_recv().map_err(|e| match e {
                TryRecvError::Empty => timed_out(),
                TryRecvError::Closed => closed(),
            })?,
            Some(t) => self.rx.recv_timeout(t).map_err(|e| match e {
                RecvTimeoutError::Timeout => timed_out(),
                RecvTimeoutError::Closed => closed(),
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
        self.name
    }
}
