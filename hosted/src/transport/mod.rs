//! Transports: whole-message send and receive over in-process queues and OS sockets.
//!
//! The four communication types of [`comm`](crate::comm) are written once against
//! [`Transport`] and run over each of these:
//!
//! | transport | module | boundaries | reliable |
//! |---|---|---|---|
//! | in-process queue pair | [`inproc`] | per message | yes |
//! | UDP (IPv4, IPv6) | [`udp`] | per datagram | no: loss, duplicates, reordering |
//! | Unix datagram | [`unix`] | per datagram | yes on Linux, treated as no |
//! | TCP (IPv4, IPv6) | [`tcp`] | none: [`framing`] restores them | yes |
//! | Unix stream | [`unix`] | none: [`framing`] restores them | yes |
//!
//! Nothing here binds a non-loopback address unless asked: the `listen` functions check the
//! address, and the `_any` forms are the explicit opt-in.

use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use crate::NetError;

pub mod framing;
pub mod inproc;
pub mod tcp;
pub mod udp;
#[cfg(unix)]
pub mod unix;

pub use framing::{DEFAULT_MAX_FRAME, Framed};

/// A connection that sends and receives whole messages.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lockstep_hosted::transport::{inproc, Transport};
///
/// let (mut a, mut b) = inproc::pair::<4>();
/// a.send(b"hello").unwrap();
/// assert_eq!(b.recv(Some(Duration::from_secs(1))).unwrap(), b"hello");
/// // Nothing more: a zero timeout polls without blocking.
/// assert!(b.recv(Some(Duration::ZERO)).unwrap_err().is_timeout());
/// ```
pub trait Transport: Send {
    /// Sends one whole message.
    ///
    /// # Errors
    ///
    /// [`NetError::MessageTooLarge`] over [`max_message`](Self::max_message); a disconnect or
    /// other socket error.
    fn send(&mut self, msg: &[u8]) -> Result<(), NetError>;

    /// Sends one whole message, waiting at most `timeout` for room to send it (a stream whose
    /// peer stops reading fills up) when that is shorter than the transport's own write
    /// timeout. The default ignores `timeout`, for sends that cannot block; the in-process
    /// queues (full while the peer does not receive) and the datagram sockets (a Unix datagram
    /// peer's full receive queue blocks a send) wait at most `timeout` for room.
    ///
    /// A stream send that runs out of time after writing part of its frame keeps the rest and
    /// writes it first at the next send, so the stream stays in step: the peer may still
    /// receive that message.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send); [`NetError::Timeout`] when there was no room in time.
    fn send_within(&mut self, msg: &[u8], timeout: Duration) -> Result<(), NetError> {
        let _ = timeout;
        self.send(msg)
    }

    /// Receives one whole message into `buf` (replacing its contents), waiting at most
    /// `timeout`: `None` waits for ever, `Some(Duration::ZERO)` polls without blocking.
    ///
    /// # Errors
    ///
    /// [`NetError::Timeout`] when nothing arrived in time; [`NetError::Closed`] when the peer
    /// is gone; a framing or socket error.
    fn recv_into(&mut self, buf: &mut Vec<u8>, timeout: Option<Duration>) -> Result<(), NetError>;

    /// Receives one whole message, as [`recv_into`](Self::recv_into).
    ///
    /// # Errors
    ///
    /// As [`recv_into`](Self::recv_into).
    fn recv(&mut self, timeout: Option<Duration>) -> Result<Vec<u8>, NetError> {
        let mut buf = Vec::new();
        self.recv_into(&mut buf, timeout)?;
        Ok(buf)
    }

    /// Whether every message sent arrives once, in order, or the connection fails (streams,
    /// in-process); `false` for datagrams, which the communication types then protect with
    /// acknowledgements, retransmission and duplicate suppression.
    fn is_reliable(&self) -> bool;

    /// The largest message this transport carries.
    fn max_message(&self) -> usize;

    /// The peer, for error messages.
    fn peer(&self) -> &str;
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn send(&mut self, msg: &[u8]) -> Result<(), NetError> {
        (**self).send(msg)
    }
    fn send_within(&mut self, msg: &[u8], timeout: Duration) -> Result<(), NetError> {
        (**self).send_within(msg, timeout)
    }
    fn recv_into(&mut self, buf: &mut Vec<u8>, timeout: Option<Duration>) -> Result<(), NetError> {
        (**self).recv_into(buf, timeout)
    }
    fn is_reliable(&self) -> bool {
        (**self).is_reliable()
    }
    fn max_message(&self) -> usize {
        (**self).max_message()
    }
    fn peer(&self) -> &str {
        (**self).peer()
    }
}

/// A connected stream socket (TCP or Unix) as the framing and the servers need it.
pub trait StreamSocket: Read + Write + Send + Sized + 'static {
    /// `set_read_timeout` of the socket.
    ///
    /// # Errors
    ///
    /// The OS error.
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()>;
    /// `set_write_timeout` of the socket.
    ///
    /// # Errors
    ///
    /// The OS error.
    fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()>;
    /// `write_timeout` of the socket.
    ///
    /// # Errors
    ///
    /// The OS error.
    fn write_timeout(&self) -> io::Result<Option<Duration>>;
    /// `set_nonblocking` of the socket.
    ///
    /// # Errors
    ///
    /// The OS error.
    fn set_nonblocking(&self, on: bool) -> io::Result<()>;
    /// Shuts both directions down, waking any thread blocked on the socket.
    ///
    /// # Errors
    ///
    /// The OS error.
    fn shutdown_both(&self) -> io::Result<()>;
    /// Another handle to the same socket.
    ///
    /// # Errors
    ///
    /// The OS error.
    fn try_clone_socket(&self) -> io::Result<Self>;
    /// The peer's address as text, for error messages.
    fn peer_label(&self) -> String;
    /// Writes `bufs` with one vectored send. A peer that has closed makes it fail with
    /// `EPIPE`, never raise `SIGPIPE`, even in a program that restored that signal's default
    /// action (which kills it): std's `write` sends with `MSG_NOSIGNAL`, but its
    /// `write_vectored` does not. The default is `write_vectored`.
    ///
    /// # Errors
    ///
    /// The OS error.
    fn send_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.write_vectored(bufs)
    }
}

/// A vectored send that never raises `SIGPIPE` (see [`StreamSocket::send_vectored`]).
pub(crate) fn send_vectored_nosignal(
    sock: socket2::SockRef<'_>,
    bufs: &[IoSlice<'_>],
) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    let flags = libc::MSG_NOSIGNAL;
    // Elsewhere: macOS and some BSDs mark std's sockets SO_NOSIGPIPE; on the others a
    // program that restores SIGPIPE's default should keep its peers from closing early.
    #[cfg(not(target_os = "linux"))]
    let flags = 0;
    sock.send_vectored_with_flags(bufs, flags)
}

/// Checks that binding `addr` keeps the socket on this machine, unless `allow_remote`.
///
/// # Errors
///
/// [`NetError::NotLoopback`] for a non-loopback (or unspecified) address.
///
/// # Examples
///
/// ```
/// use lockstep_hosted::transport::check_loopback;
///
/// assert!(check_loopback("127.0.0.1:5242".parse().unwrap(), false).is_ok());
/// assert!(check_loopback("[::1]:5242".parse().unwrap(), false).is_ok());
/// assert!(check_loopback("0.0.0.0:5242".parse().unwrap(), false).is_err());
/// assert!(check_loopback("0.0.0.0:5242".parse().unwrap(), true).is_ok());
/// ```
pub fn check_loopback(addr: SocketAddr, allow_remote: bool) -> Result<(), NetError> {
    if allow_remote || addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(NetError::NotLoopback {
            addr: addr.to_string(),
        })
    }
}

/// Resolves `host:port` text (names allowed) to its first socket address.
///
/// # Errors
///
/// [`NetError::BadAddress`] when it does not parse or resolve.
///
/// # Examples
///
/// ```
/// use lockstep_hosted::transport::resolve;
///
/// assert_eq!(resolve("127.0.0.1:5242").unwrap().port(), 5242);
/// assert!(resolve("no port").is_err());
/// ```
pub fn resolve(addr: &str) -> Result<SocketAddr, NetError> {
    use std::net::ToSocketAddrs;
    let bad = |why: String| NetError::BadAddress {
        addr: addr.to_owned(),
        why,
    };
    addr.to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("resolves to no address".into()))
}

/// A send's time limit as a socket write timeout: rounded down to 10 ms, so that calls with the
/// same timeout find the socket's timeout already set (no system call), and at least a
/// millisecond, since a zero socket timeout would mean "for ever".
pub(crate) fn write_limit(limit: Duration) -> Duration {
    let ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(if ms > 10 { ms / 10 * 10 } else { ms.max(1) })
}

/// The blocking mode a socket was last given, so that a transport sets it only when a call
/// needs another one (each change is a system call; the steady state makes none).
#[derive(Debug, Default)]
pub(crate) struct SocketMode {
    read_timeout: Option<Duration>,
    nonblocking: bool,
}

impl SocketMode {
    /// Prepares a receive with `timeout`: `Some(ZERO)` polls (non-blocking), else the read
    /// timeout is `timeout` (`None`: wait for ever).
    pub(crate) fn for_recv(
        &mut self,
        timeout: Option<Duration>,
        set_nonblocking: impl FnOnce(bool) -> io::Result<()>,
        set_read_timeout: impl FnOnce(Option<Duration>) -> io::Result<()>,
    ) -> io::Result<()> {
        let want_nonblocking = timeout.is_some_and(|t| t.is_zero());
        if want_nonblocking != self.nonblocking {
            set_nonblocking(want_nonblocking)?;
            self.nonblocking = want_nonblocking;
        }
        if !want_nonblocking && timeout != self.read_timeout {
            set_read_timeout(timeout)?;
            self.read_timeout = timeout;
        }
        Ok(())
    }

    /// Prepares a send: a poll may have left the socket non-blocking, and a send waits (up to
    /// the write timeout).
    pub(crate) fn for_send(
        &mut self,
        set_nonblocking: impl FnOnce(bool) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.nonblocking {
            set_nonblocking(false)?;
            self.nonblocking = false;
        }
        Ok(())
    }
}
