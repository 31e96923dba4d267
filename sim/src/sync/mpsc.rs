//! Channels with `std::sync::mpsc`'s API and error types, on the modelled [`Mutex`] and
//! [`Condvar`]: [`channel`] (unbounded) and [`sync_channel`] (bounded; capacity 0 is a
//! rendezvous).
//!
//! Inside a check every send and receive is a few steps (lock, check, notify), a receiver
//! waiting on an empty channel or a sender on a full one blocks, and timed receives time out on
//! the simulated clock.
//!
//! # Examples
//!
//! ```
//! use lockstep_sim::sync::mpsc;
//! use lockstep_sim::{Config, check, thread};
//!
//! check(Config::dfs(None), || {
//!     let (tx, rx) = mpsc::sync_channel(1);
//!     let h = thread::spawn(move || {
//!         tx.send(1).unwrap();
//!         tx.send(2).unwrap();
//!     });
//!     assert_eq!(rx.recv(), Ok(1));
//!     assert_eq!(rx.recv(), Ok(2));
//!     assert_eq!(rx.recv(), Err(mpsc::RecvError)); // the sender is gone
//!     h.join().unwrap();
//! });
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

pub use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

use super::{Condvar, Mutex, MutexGuard};

struct State<T> {
    queue: VecDeque<T>,
    senders: usize,
    receiver: bool,
    /// Messages taken by the receiver so far (a rendezvous sender waits for its own).
    taken: u64,
    /// Messages sent so far.
    sent: u64,
    /// Receivers blocked in `recv` (a rendezvous `try_send` hands its message to one).
    waiting: usize,
}

/// A channel's shared state.
///
/// When a failed or abandoned execution is torn down, its threads are unwound one by one with
/// the simulation off: a sender or receiver dropped then must not lock, since a thread not yet
/// unwound may hold the lock; the execution is discarded, so its bookkeeping does not matter.
struct Chan<T> {
    state: Mutex<State<T>>,
    changed: Condvar,
    /// `None`: unbounded; `Some(0)`: rendezvous.
    bound: Option<usize>,
}

impl<T> Chan<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, g: MutexGuard<'a, State<T>>) -> MutexGuard<'a, State<T>> {
        self.changed.wait(g).unwrap_or_else(PoisonError::into_inner)
    }

    fn full(&self, s: &State<T>) -> bool {
        match self.bound {
            None => false,
            Some(n) => s.queue.len() >= n.max(1),
        }
    }
}

fn new<T>(bound: Option<usize>) -> Arc<Chan<T>> {
    Arc::new(Chan {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            senders: 1,
            receiver: true,
            taken: 0,
            sent: 0,
            waiting: 0,
        }),
        changed: Condvar::new(),
        bound,
    })
}

/// An unbounded channel: `send` never blocks.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let c = new(None);
    (Sender(Arc::clone(&c)), Receiver(c))
}

/// A channel holding at most `bound` messages: `send` blocks while it is full; with `bound` 0
/// every `send` waits until its message is received.
pub fn sync_channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let c = new(Some(bound));
    (SyncSender(Arc::clone(&c)), Receiver(c))
}

/// The sending half of [`channel`].
pub struct Sender<T>(Arc<Chan<T>>);

/// The sending half of [`sync_channel`].
pub struct SyncSender<T>(Arc<Chan<T>>);

/// The receiving half of a channel.
pub struct Receiver<T>(Arc<Chan<T>>);

macro_rules! sender_common {
    ($name:ident) => {
        impl<T> Clone for $name<T> {
            #[track_caller]
            fn clone(&self) -> Self {
                self.0.lock().senders += 1;
                Self(Arc::clone(&self.0))
            }
        }

        impl<T> Drop for $name<T> {
            #[track_caller]
            fn drop(&mut self) {
                if crate::rt::tearing_down() {
                    return; // see `tearing_down`
                }
                let mut s = self.0.lock();
                s.senders -= 1;
                let last = s.senders == 0;
                drop(s);
                if last {
                    self.0.changed.notify_all();
                }
            }
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    };
}

sender_common!(Sender);
sender_common!(SyncSender);

/// Sends on `c`, blocking while full (and, for a rendezvous, until received) if `block`.
#[track_caller]
fn send<T>(c: &Chan<T>, t: T, block: bool) -> Result<(), TrySendError<T>> {
    let mut s = c.lock();
    loop {
        if !s.receiver {
            return Err(TrySendError::Disconnected(t));
        }
        if !c.full(&s) {
            break;
        }
        if !block {
            return Err(TrySendError::Full(t));
        }
        s = c.wait(s);
    }
    if c.bound == Some(0) && !block && s.waiting <= s.queue.len() {
        // A rendezvous try_send succeeds only into a waiting receiver; without one it is full.
        return Err(TrySendError::Full(t));
    }
    s.queue.push_back(t);
    s.sent += 1;
    let ticket = s.sent;
    drop(s);
    c.changed.notify_all();
    if c.bound == Some(0) && block {
        let mut s = c.lock();
        while s.taken < ticket && s.receiver {
            s = c.wait(s);
        }
        if s.taken < ticket {
            // The receiver left without taking it: give it back.
            if let Some(t) = s.queue.pop_back() {
                return Err(TrySendError::Disconnected(t));
            }
        }
    }
    Ok(())
}

impl<T> Sender<T> {
    /// Sends `t`; never blocks.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message if the receiver is gone.
    #[track_caller]
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        send(&self.0, t, true).map_err(|e| match e {
            TrySendError::Full(t) | TrySendError::Disconnected(t) => SendError(t),
        })
    }
}

impl<T> SyncSender<T> {
    /// Sends `t`, blocking while the channel is full (and, with capacity 0, until received).
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message if the receiver is gone.
    #[track_caller]
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        send(&self.0, t, true).map_err(|e| match e {
            TrySendError::Full(t) | TrySendError::Disconnected(t) => SendError(t),
        })
    }

    /// Sends `t` if there is room now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] if full (for capacity 0: unless a receiver is waiting in `recv`),
    /// [`TrySendError::Disconnected`] if the receiver is gone.
    #[track_caller]
    pub fn try_send(&self, t: T) -> Result<(), TrySendError<T>> {
        send(&self.0, t, false)
    }
}

impl<T> Receiver<T> {
    /// Takes the oldest message, blocking while the channel is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is empty and every sender is gone.
    #[track_caller]
    pub fn recv(&self) -> Result<T, RecvError> {
        let mut s = self.0.lock();
        loop {
            if let Some(t) = self.take(&mut s) {
                return Ok(t);
            }
            if s.senders == 0 {
                return Err(RecvError);
            }
            s.waiting += 1;
            s = self.0.wait(s);
            s.waiting -= 1;
        }
    }

    fn take(&self, s: &mut MutexGuard<'_, State<T>>) -> Option<T> {
        let t = s.queue.pop_front()?;
        s.taken += 1;
        self.0.changed.notify_all();
        Some(t)
    }

    /// Takes the oldest message if there is one.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] or, once every sender is gone, [`TryRecvError::Disconnected`].
    #[track_caller]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut s = self.0.lock();
        match self.take(&mut s) {
            Some(t) => Ok(t),
            None if s.senders == 0 => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Like [`recv`](Self::recv), giving up after `timeout` (simulated time inside a check).
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] or [`RecvTimeoutError::Disconnected`].
    #[track_caller]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let start = crate::time::now();
        let mut s = self.0.lock();
        loop {
            if let Some(t) = self.take(&mut s) {
                return Ok(t);
            }
            if s.senders == 0 {
                return Err(RecvTimeoutError::Disconnected);
            }
            let Some(left) = timeout.checked_sub(crate::time::now() - start) else {
                return Err(RecvTimeoutError::Timeout);
            };
            s.waiting += 1;
            let (g, r) = self
                .0
                .changed
                .wait_timeout(s, left)
                .unwrap_or_else(PoisonError::into_inner);
            s = g;
            s.waiting -= 1;
            if r.timed_out() && s.queue.is_empty() {
                return Err(if s.senders == 0 {
                    RecvTimeoutError::Disconnected
                } else {
                    RecvTimeoutError::Timeout
                });
            }
        }
    }

    /// An iterator of messages, ending when every sender is gone.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter(self)
    }

    /// An iterator of the messages there now.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter(self)
    }
}

impl<T> Drop for Receiver<T> {
    #[track_caller]
    fn drop(&mut self) {
        if crate::rt::tearing_down() {
            return; // see `Chan`
        }
        self.0.lock().receiver = false;
        self.0.changed.notify_all();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// Blocking iterator of a [`Receiver`].
#[derive(Debug)]
pub struct Iter<'a, T>(&'a Receiver<T>);

/// Non-blocking iterator of a [`Receiver`].
#[derive(Debug)]
pub struct TryIter<'a, T>(&'a Receiver<T>);

/// Owning blocking iterator of a [`Receiver`].
#[derive(Debug)]
pub struct IntoIter<T>(Receiver<T>);

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.0.recv().ok()
    }
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.0.try_recv().ok()
    }
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.0.recv().ok()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter(self)
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}
