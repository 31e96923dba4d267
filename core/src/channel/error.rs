//! The errors of the channel family, shaped as std's and crossbeam's (with `Closed` for their
//! `Disconnected`: a static channel is closed explicitly, not by dropping its halves).
//!
//! `Debug` on an error that holds the message does not require `T: Debug` (it prints `Full(..)`),
//! so `unwrap()` works on any message.

use core::fmt;

macro_rules! message_error_fmt {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl<T> fmt::Debug for $ty<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(Self::$variant(_) => f.write_str(concat!(stringify!($variant), "(..)")),)+
                }
            }
        }

        impl<T> fmt::Display for $ty<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(Self::$variant(_) => f.write_str($text),)+
                }
            }
        }

        impl<T> core::error::Error for $ty<T> {}

        impl<T> $ty<T> {
            /// Returns the message that could not be sent.
            pub fn into_inner(self) -> T {
                match self {
                    $(Self::$variant(v) => v,)+
                }
            }
        }
    };
}

/// Why [`try_send`](crate::Queue::try_send) failed; the message comes back.
///
/// # Examples
///
/// ```
/// use lockstep_core::{Queue, TrySendError};
///
/// let q: Queue<u8, 1> = Queue::new();
/// q.try_send(1).unwrap();
/// let err = q.try_send(2).unwrap_err();
/// assert!(err.is_full());
/// assert_eq!(err.to_string(), "sending on a full channel");
/// assert_eq!(format!("{err:?}"), "Full(..)");
/// assert_eq!(err.into_inner(), 2);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is full; the message is handed back.
    Full(T),
    /// The channel is closed; the message is handed back.
    Closed(T),
}

message_error_fmt!(TrySendError { Full => "sending on a full channel", Closed => "sending on a closed channel" });

impl<T> TrySendError<T> {
    /// Whether the channel was full.
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// Whether the channel was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }
}

/// Why [`send_timeout`](crate::Queue::send_timeout) failed; the message comes back.
///
/// # Examples
///
/// ```
/// use lockstep_core::{Queue, SendTimeoutError};
///
/// let q: Queue<u8, 1> = Queue::new();
/// q.send(1).unwrap();
/// let err = q.send_timeout(2, 3).unwrap_err(); // `Spin` counts the timeout in backoff cycles
/// assert!(err.is_timeout());
/// assert_eq!(err.into_inner(), 2);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SendTimeoutError<T> {
    /// The channel stayed full until the timeout; the message is handed back.
    Timeout(T),
    /// The channel is closed; the message is handed back.
    Closed(T),
}

message_error_fmt!(SendTimeoutError {
    Timeout => "timed out sending on a full channel",
    Closed => "sending on a closed channel",
});

impl<T> SendTimeoutError<T> {
    /// Whether the timeout passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }

    /// Whether the channel was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }
}

/// The channel is closed: [`send`](crate::Queue::send) hands the message back.
///
/// # Examples
///
/// ```
/// use lockstep_core::{Queue, SendError};
///
/// let q: Queue<u8, 1> = Queue::new();
/// q.close();
/// let err: SendError<u8> = q.send(7).unwrap_err();
/// assert_eq!(err.to_string(), "sending on a closed channel");
/// assert_eq!(err.into_inner(), 7);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a closed channel")
    }
}

impl<T> core::error::Error for SendError<T> {}

impl<T> SendError<T> {
    /// Returns the message that could not be sent.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Why [`try_recv`](crate::Queue::try_recv) returned no message.
///
/// # Examples
///
/// ```
/// use lockstep_core::{Queue, TryRecvError};
///
/// let q: Queue<u8, 1> = Queue::new();
/// assert_eq!(q.try_recv(), Err(TryRecvError::Empty));
/// q.close();
/// assert_eq!(q.try_recv(), Err(TryRecvError::Closed));
/// assert_eq!(TryRecvError::Closed.to_string(), "receiving on an empty and closed channel");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No message now; the channel is open.
    Empty,
    /// No message, and the channel is closed: none will come.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "receiving on an empty channel",
            Self::Closed => "receiving on an empty and closed channel",
        })
    }
}

impl core::error::Error for TryRecvError {}

impl TryRecvError {
    /// Whether the channel was empty but open.
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    /// Whether the channel was closed (and drained).
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }
}

/// The channel is closed and drained: [`recv`](crate::Queue::recv) has nothing more to return.
///
/// # Examples
///
/// ```
/// use lockstep_core::{Queue, RecvError};
///
/// let q: Queue<u8, 1> = Queue::new();
/// q.close();
/// assert_eq!(q.recv(), Err(RecvError));
/// assert_eq!(RecvError.to_string(), "receiving on an empty and closed channel");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on an empty and closed channel")
    }
}

impl core::error::Error for RecvError {}

/// Why [`recv_timeout`](crate::Queue::recv_timeout) returned no message.
///
/// # Examples
///
/// ```
/// use lockstep_core::{Queue, RecvTimeoutError};
///
/// let q: Queue<u8, 1> = Queue::new();
/// assert_eq!(q.recv_timeout(3), Err(RecvTimeoutError::Timeout));
/// assert_eq!(RecvTimeoutError::Timeout.to_string(), "timed out receiving on an empty channel");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvTimeoutError {
    /// No message came before the timeout.
    Timeout,
    /// The channel is closed and drained.
    Closed,
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Timeout => "timed out receiving on an empty channel",
            Self::Closed => "receiving on an empty and closed channel",
        })
    }
}

impl core::error::Error for RecvTimeoutError {}

impl RecvTimeoutError {
    /// Whether the timeout passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout)
    }

    /// Whether the channel was closed (and drained).
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }
}
