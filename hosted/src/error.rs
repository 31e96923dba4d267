//! [`NetError`]: what went wrong on a socket, said so that a person can act on it.
//!
//! Every variant names the address or path it concerns, keeps the underlying [`io::Error`]
//! where there is one, and separates the cases a user handles differently: a refused
//! connection (nobody listens), a reset one (the peer went away mid-conversation), a timeout
//! (the peer is there but silent), and a busy port (someone else listens).

use std::fmt;
use std::io;
use std::time::Duration;

/// An error from a socket, a transport, a communication type or a server.
///
/// `Display` is one lower-case sentence that names the address or path; a busy port also says
/// how to find its holder.
///
/// # Examples
///
/// ```
/// use std::net::TcpListener;
/// use lockstep_hosted::{transport::tcp, NetError};
///
/// let taken = TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = taken.local_addr().unwrap();
/// let err = tcp::listen(addr).unwrap_err();
/// assert!(matches!(err, NetError::AddrInUse { .. }));
/// let text = err.to_string();
/// assert!(text.contains(&format!("lsof -i tcp:{}", addr.port())), "{text}");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum NetError {
    /// The address is already bound by another socket.
    AddrInUse {
        /// The address that was asked for.
        addr: String,
        /// `"tcp"` or `"udp"`: which table to look the holder up in.
        protocol: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// Nobody listens at the address (`ECONNREFUSED`).
    Refused {
        /// The address that was connected to.
        addr: String,
        /// The OS error.
        source: io::Error,
    },
    /// The peer reset or aborted the connection, or it broke under a write (`EPIPE`).
    Reset {
        /// The peer's address.
        addr: String,
        /// The OS error.
        source: io::Error,
    },
    /// The peer closed the connection cleanly, between two messages.
    Closed {
        /// The peer's address.
        addr: String,
    },
    /// The peer closed the connection and said why: a server refusing a client at its
    /// connection limit, or closing one that was idle or too slow.
    ClosedBy {
        /// The peer's address.
        addr: String,
        /// The peer's reason (control characters escaped).
        reason: String,
    },
    /// An operation did not complete in time.
    Timeout {
        /// The peer's or the local address.
        addr: String,
        /// What was waited for: "a reply", "a receipt", "a message", "connecting".
        what: &'static str,
        /// How long was waited.
        after: Duration,
    },
    /// A frame announced a length over the maximum; the connection cannot be trusted further.
    FrameTooLarge {
        /// The peer's address.
        addr: String,
        /// The announced length.
        len: u64,
        /// The configured maximum.
        max: usize,
    },
    /// The peer closed the connection in the middle of a frame.
    Truncated {
        /// The peer's address.
        addr: String,
        /// Bytes of the frame (header included) that had arrived.
        got: usize,
        /// Bytes of the frame (header included) that were announced.
        expected: usize,
    },
    /// A message did not follow the protocol (an unknown kind, a short header).
    Protocol {
        /// The peer's address.
        addr: String,
        /// What was wrong.
        what: String,
    },
    /// The peer could not answer a request (its reply was too large to send, its handler
    /// failed); the request will not be answered.
    Failed {
        /// The peer's address.
        addr: String,
        /// The peer's reason (control characters escaped).
        reason: String,
    },
    /// A server refused the connection because it serves its maximum number of clients.
    Busy {
        /// The server's address.
        addr: String,
    },
    /// Binding to a non-loopback address was not explicitly allowed.
    NotLoopback {
        /// The address that was asked for.
        addr: String,
    },
    /// A Unix socket path is held by a live listener.
    SocketInUse {
        /// The path.
        path: String,
    },
    /// A message is larger than the transport can carry.
    MessageTooLarge {
        /// Where it was to go.
        addr: String,
        /// Its length.
        len: usize,
        /// The transport's maximum.
        max: usize,
    },
    /// The address could not be parsed or resolved.
    BadAddress {
        /// The text given.
        addr: String,
        /// Why it was not accepted.
        why: String,
    },
    /// Any other OS error.
    Io {
        /// The address or path concerned.
        addr: String,
        /// The OS error.
        source: io::Error,
    },
}

impl NetError {
    /// Classifies an [`io::Error`] that happened on `addr`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io;
    /// use lockstep_hosted::NetError;
    ///
    /// let e = NetError::from_io("127.0.0.1:9", io::ErrorKind::ConnectionRefused.into());
    /// assert!(e.is_refused());
    /// assert_eq!(e.to_string(), "connection to 127.0.0.1:9 refused: nobody listens there");
    /// ```
    pub fn from_io(addr: impl fmt::Display, source: io::Error) -> Self {
        let addr = addr.to_string();
        match source.kind() {
            io::ErrorKind::AddrInUse => NetError::AddrInUse {
                addr,
                protocol: "tcp",
                source,
            },
            io::ErrorKind::ConnectionRefused => NetError::Refused { addr, source },
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::NotConnected => NetError::Reset { addr, source },
            io::ErrorKind::UnexpectedEof => NetError::Closed { addr },
            _ => NetError::Io { addr, source },
        }
    }

    /// The same error, said of a UDP socket (a busy port's hint names the UDP table).
    pub(crate) fn udp(self) -> Self {
        match self {
            NetError::AddrInUse { addr, source, .. } => NetError::AddrInUse {
                addr,
                protocol: "udp",
                source,
            },
            other => other,
        }
    }

    /// A timeout on `addr` while waiting for `what`.
    pub(crate) fn timeout(addr: impl fmt::Display, what: &'static str, after: Duration) -> Self {
        NetError::Timeout {
            addr: addr.to_string(),
            what,
            after,
        }
    }

    /// Whether this is [`NetError::Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lockstep_hosted::NetError;
    ///
    /// let e = NetError::Timeout { addr: "x".into(), what: "a reply", after: Duration::from_millis(5) };
    /// assert!(e.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, NetError::Timeout { .. })
    }

    /// Whether this is [`NetError::Refused`].
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_hosted::NetError;
    ///
    /// assert!(!NetError::Closed { addr: "x".into() }.is_refused());
    /// ```
    pub fn is_refused(&self) -> bool {
        matches!(self, NetError::Refused { .. })
    }

    /// The [`io::ErrorKind`] that says the same, for code that handles errors as
    /// [`io::Error`]s (the conversion `From<NetError> for io::Error` uses it): `TimedOut`,
    /// `ConnectionRefused`, `AddrInUse`, the OS error's own kind where there is one,
    /// `UnexpectedEof` for a peer that closed, `InvalidData` for a peer that broke the protocol,
    /// `InvalidInput` for a message or address the caller should not have given.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io;
    /// use std::time::Duration;
    /// use lockstep_hosted::NetError;
    ///
    /// let e = NetError::Timeout { addr: "x".into(), what: "a reply", after: Duration::from_millis(5) };
    /// assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    /// ```
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            NetError::AddrInUse { .. } | NetError::SocketInUse { .. } => io::ErrorKind::AddrInUse,
            NetError::Refused { .. } => io::ErrorKind::ConnectionRefused,
            NetError::Reset { source, .. } | NetError::Io { source, .. } => source.kind(),
            NetError::Closed { .. } | NetError::Truncated { .. } => io::ErrorKind::UnexpectedEof,
            NetError::ClosedBy { .. } => io::ErrorKind::ConnectionAborted,
            NetError::Timeout { .. } => io::ErrorKind::TimedOut,
            NetError::FrameTooLarge { .. } | NetError::Protocol { .. } => {
                io::ErrorKind::InvalidData
            }
            NetError::Failed { .. } => io::ErrorKind::Other,
            NetError::Busy { .. } => io::ErrorKind::ResourceBusy,
            NetError::NotLoopback { .. } => io::ErrorKind::PermissionDenied,
            NetError::MessageTooLarge { .. } | NetError::BadAddress { .. } => {
                io::ErrorKind::InvalidInput
            }
        }
    }

    /// Whether the connection is gone: closed, reset or truncated.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_hosted::NetError;
    ///
    /// assert!(NetError::Closed { addr: "x".into() }.is_disconnect());
    /// ```
    pub fn is_disconnect(&self) -> bool {
        matches!(
            self,
            NetError::Closed { .. }
                | NetError::ClosedBy { .. }
                | NetError::Reset { .. }
                | NetError::Truncated { .. }
        )
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::AddrInUse { addr, protocol, .. } => {
                let port = addr.rsplit(':').next().unwrap_or(addr);
                let ss = if *protocol == "udp" {
                    "ss -lunp"
                } else {
                    "ss -ltnp"
                };
                write!(
                    f,
                    "{protocol} address {addr} is already in use; find the process holding it \
                     with `lsof -i {protocol}:{port}` or `{ss}`"
                )
            }
            NetError::Refused { addr, .. } => {
                write!(f, "connection to {addr} refused: nobody listens there")
            }
            NetError::Reset { addr, source } => {
                write!(f, "connection with {addr} was reset by the peer ({source})")
            }
            NetError::Closed { addr } => write!(f, "connection with {addr} was closed by the peer"),
            NetError::ClosedBy { addr, reason } => {
                write!(f, "{addr} closed the connection: {reason}")
            }
            NetError::Timeout { addr, what, after } => {
                write!(
                    f,
                    "timed out after {} ms waiting for {what} from {addr}",
                    after.as_millis()
                )
            }
            NetError::FrameTooLarge { addr, len, max } => write!(
                f,
                "frame of {len} bytes from {addr} exceeds the maximum of {max} bytes; \
                 connection closed"
            ),
            NetError::Truncated {
                addr,
                got,
                expected,
            } => write!(
                f,
                "connection with {addr} ended in the middle of a frame ({got} of {expected} bytes)"
            ),
            NetError::Protocol { addr, what } => write!(f, "protocol error from {addr}: {what}"),
            NetError::Failed { addr, reason } => {
                write!(f, "{addr} could not answer the request: {reason}")
            }
            NetError::Busy { addr } => {
                write!(
                    f,
                    "server at {addr} is busy: its connection limit is reached"
                )
            }
            NetError::NotLoopback { addr } => write!(
                f,
                "refusing to bind {addr}: not a loopback address (allow it explicitly, \
                 `--allow-remote` on the command line, to listen on the network)"
            ),
            NetError::SocketInUse { path } => {
                write!(f, "unix socket {path} is in use by a live listener")
            }
            NetError::MessageTooLarge { addr, len, max } => write!(
                f,
                "message of {len} bytes for {addr} exceeds the transport's maximum of {max} bytes"
            ),
            NetError::BadAddress { addr, why } => write!(f, "bad address {addr:?}: {why}"),
            NetError::Io { addr, source } => write!(f, "i/o error on {addr}: {source}"),
        }
    }
}

impl std::error::Error for NetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NetError::AddrInUse { source, .. }
            | NetError::Refused { source, .. }
            | NetError::Reset { source, .. }
            | NetError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// An [`io::Error`] of [`NetError::kind`] whose message is the `NetError`'s and which keeps it
/// (`get_ref`, `into_inner` and `downcast` give it back), so `?` works in a function that
/// returns [`io::Result`].
///
/// # Examples
///
/// ```
/// use std::io;
/// use lockstep_hosted::NetError;
///
/// fn connect() -> io::Result<()> {
///     Err(NetError::Closed { addr: "127.0.0.1:5242".into() })?
/// }
/// let e = connect().unwrap_err();
/// assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
/// assert_eq!(e.to_string(), "connection with 127.0.0.1:5242 was closed by the peer");
/// assert!(matches!(e.downcast::<NetError>(), Ok(NetError::Closed { .. })));
/// ```
impl From<NetError> for io::Error {
    fn from(e: NetError) -> Self {
        io::Error::new(e.kind(), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_port_names_port_and_tools() {
        let e = NetError::from_io("127.0.0.1:5242", io::ErrorKind::AddrInUse.into());
        let s = e.to_string();
        assert!(
            s.contains("lsof -i tcp:5242") && s.contains("ss -ltnp"),
            "{s}"
        );
        let udp = NetError::from_io("127.0.0.1:5242", io::ErrorKind::AddrInUse.into()).udp();
        let s = udp.to_string();
        assert!(
            s.contains("lsof -i udp:5242") && s.contains("ss -lunp"),
            "{s}"
        );
    }

    #[test]
    fn refused_reset_timeout_are_distinct() {
        let a = NetError::from_io("a", io::ErrorKind::ConnectionRefused.into());
        let b = NetError::from_io("a", io::ErrorKind::ConnectionReset.into());
        let c = NetError::timeout("a", "a reply", Duration::from_millis(1));
        assert!(a.is_refused() && !a.is_disconnect() && !a.is_timeout());
        assert!(b.is_disconnect() && !b.is_refused() && !b.is_timeout());
        assert!(c.is_timeout() && !c.is_refused() && !c.is_disconnect());
    }
}
