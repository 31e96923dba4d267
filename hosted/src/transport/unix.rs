//! Unix domain sockets (`AF_UNIX`): framed streams and datagrams named by a filesystem path.
//!
//! A listening socket leaves a file behind when its process dies. [`listen`] handles such a
//! stale file: it connects to it first, without waiting (a live listener whose backlog is full
//! counts as live), and only if nobody answers (connection refused) does it remove the file and
//! bind anew; a live listener is reported as
//! [`NetError::SocketInUse`], and a path that is not a socket is never removed. New socket
//! files get owner-only permissions (`0600`), so other users cannot connect. The mode is set
//! right after `bind` (changing the process-wide umask instead would race with other
//! threads); for a socket that must never be reachable by others, not even during that
//! moment, put it in a directory only its owner can enter, as `$XDG_RUNTIME_DIR` is.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::path::Path;
use std::time::Duration;

use super::StreamSocket;
use super::framing::{DEFAULT_MAX_FRAME, Framed};
use super::tcp::StreamConfig;
use super::udp::{Datagram, DatagramSocket};
use crate::NetError;

/// A framed Unix stream connection.
pub type UnixTransport = Framed<UnixStream>;

/// A connected Unix datagram socket as a transport.
pub type UnixDatagramTransport = Datagram<UnixDatagram>;

/// The largest message carried by [`UnixDatagramTransport`] (the default socket buffer
/// allows about 200 KiB; 64 KiB keeps the receive buffer small).
pub const MAX_UNIX_DATAGRAM: usize = 64 * 1024;

fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// Binds a listening Unix stream socket at `path` with owner-only permissions, replacing a
/// stale socket file.
///
/// # Errors
///
/// [`NetError::SocketInUse`] if a live listener holds the path; [`NetError::Io`] naming the
/// path for other failures (including a path that exists and is not a socket).
///
/// # Examples
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
/// use lockstep_hosted::transport::unix;
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("s.sock");
/// let l = unix::listen(&path).unwrap();
/// let mode = std::fs::metadata(&path).unwrap().permissions().mode();
/// assert_eq!(mode & 0o777, 0o600);
/// // A second listener is refused while the first lives ...
/// assert!(unix::listen(&path).is_err());
/// // ... and replaces the file once it is stale.
/// drop(l);
/// assert!(unix::listen(&path).is_ok());
/// ```
pub fn listen(path: impl AsRef<Path>) -> Result<UnixListener, NetError> {
    let path = path.as_ref();
    remove_if_stale(path)?;
    let listener = UnixListener::bind(path).map_err(|e| NetError::from_io(shown(path), e))?;
    restrict(path)?;
    Ok(listener)
}

/// Removes `path` if it is a socket file nobody listens on; leaves anything else alone.
fn remove_if_stale(path: &Path) -> Result<(), NetError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(NetError::from_io(shown(path), e)),
    };
    if !meta.file_type().is_socket() {
        let e = io::Error::new(
            io::ErrorKind::AlreadyExists,
            "the path exists and is not a socket",
        );
        return Err(NetError::Io {
            addr: shown(path),
            source: e,
        });
    }
    match probe(path) {
        Ok(()) => Err(NetError::SocketInUse { path: shown(path) }),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            fs::remove_file(path).map_err(|e| NetError::from_io(shown(path), e))
        }
        Err(e) => Err(NetError::from_io(shown(path), e)),
    }
}

/// Whether a listener answers at `path`, without waiting: a non-blocking connect. `Ok` if it
/// accepted or is busy (its backlog full: a blocking connect would hang there), the connect's
/// error otherwise (`ConnectionRefused` for a stale file).
fn probe(path: &Path) -> io::Result<()> {
    let sock = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
    sock.set_nonblocking(true)?;
    match sock.connect(&socket2::SockAddr::unix(path)?) {
        Ok(()) => Ok(()),
        // EAGAIN (backlog full) or EINPROGRESS: somebody listens.
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
        Err(e) if e.raw_os_error() == Some(EINPROGRESS) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(target_os = "linux")]
const EINPROGRESS: i32 = libc::EINPROGRESS;
#[cfg(not(target_os = "linux"))]
const EINPROGRESS: i32 = 36; // macOS and the BSDs

fn restrict(path: &Path) -> Result<(), NetError> {
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .map_err(|e| NetError::from_io(shown(path), e))
}

/// Connects a framed Unix stream transport with default options.
///
/// # Errors
///
/// [`NetError::Refused`] for a stale socket file, [`NetError::Io`] (not found) when there is
/// no file, each naming the path.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lockstep_hosted::transport::{unix, Transport};
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("s.sock");
/// assert!(unix::connect(&path).unwrap_err().to_string().contains("s.sock"));
/// let l = unix::listen(&path).unwrap();
/// let mut c = unix::connect(&path).unwrap();
/// let mut s = unix::accept(&l).unwrap();
/// c.send(b"over a file").unwrap();
/// assert_eq!(s.recv(Some(Duration::from_secs(1))).unwrap(), b"over a file");
/// ```
pub fn connect(path: impl AsRef<Path>) -> Result<UnixTransport, NetError> {
    connect_with(path, &StreamConfig::default())
}

/// Connects a framed Unix stream transport with the given options (`nodelay` is ignored).
///
/// # Errors
///
/// As [`connect`].
pub fn connect_with(
    path: impl AsRef<Path>,
    config: &StreamConfig,
) -> Result<UnixTransport, NetError> {
    let stream = connect_raw(path.as_ref(), config)?;
    Ok(Framed::new(stream, config.max_frame))
}

/// Connects a raw Unix stream (no framing).
///
/// # Errors
///
/// As [`connect`].
pub fn connect_raw(path: &Path, config: &StreamConfig) -> Result<UnixStream, NetError> {
    let stream = UnixStream::connect(path).map_err(|e| NetError::from_io(shown(path), e))?;
    stream
        .set_write_timeout(config.write_timeout)
        .map_err(|e| NetError::from_io(shown(path), e))?;
    Ok(stream)
}

/// Accepts one connection as a framed transport with default options.
///
/// # Errors
///
/// The OS error.
pub fn accept(listener: &UnixListener) -> Result<UnixTransport, NetError> {
    let (stream, _) = listener
        .accept()
        .map_err(|e| NetError::from_io("a unix listener", e))?;
    Ok(Framed::new(stream, DEFAULT_MAX_FRAME))
}

/// Binds a Unix datagram socket at `path` (owner-only, stale file replaced) and connects it
/// to `peer`, which must be bound already: for two named endpoints, bind one with
/// [`bind_datagram`] first, then connect it with [`connect_datagram`] once the other exists.
///
/// # Errors
///
/// [`NetError::Io`] naming the path (the peer's, if it is not bound).
pub fn datagram(
    path: impl AsRef<Path>,
    peer: impl AsRef<Path>,
) -> Result<UnixDatagramTransport, NetError> {
    connect_datagram(bind_datagram(path)?, peer)
}

/// Binds a Unix datagram socket at `path` with owner-only permissions, replacing a socket file
/// left there (a datagram socket cannot be probed for a live owner, so a socket file at our
/// own path is taken to be ours); connect it with [`connect_datagram`].
///
/// # Errors
///
/// [`NetError::Io`] naming the path (also when it exists and is not a socket: it is never
/// removed).
///
/// # Examples
///
/// Two named endpoints, each bound before either connects:
///
/// ```
/// use std::time::Duration;
/// use lockstep_hosted::comm::{Endpoint, Incoming};
/// use lockstep_hosted::transport::unix;
///
/// let dir = tempfile::tempdir().unwrap();
/// let (pa, pb) = (dir.path().join("a.sock"), dir.path().join("b.sock"));
/// let (a, b) = (unix::bind_datagram(&pa).unwrap(), unix::bind_datagram(&pb).unwrap());
/// let mut a = Endpoint::new(unix::connect_datagram(a, &pb).unwrap());
/// let mut b = Endpoint::new(unix::connect_datagram(b, &pa).unwrap());
/// a.send(b"over a path").unwrap();
/// let t = Some(Duration::from_secs(5));
/// assert_eq!(b.recv(t).unwrap(), Incoming::Message(b"over a path".to_vec()));
/// ```
pub fn bind_datagram(path: impl AsRef<Path>) -> Result<UnixDatagram, NetError> {
    let path = path.as_ref();
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        // A datagram socket cannot be probed by connecting a stream; a leftover file at our own
        // path is ours to replace.
        fs::remove_file(path).map_err(|e| NetError::from_io(shown(path), e))?;
    }
    let sock = UnixDatagram::bind(path).map_err(|e| NetError::from_io(shown(path), e))?;
    restrict(path)?;
    Ok(sock)
}

/// Connects a Unix datagram socket (from [`bind_datagram`], or unnamed from
/// `UnixDatagram::unbound`) to the bound socket at `peer`, and wraps it as a transport.
///
/// # Errors
///
/// [`NetError::Io`] naming `peer` (not found if nothing is bound there); a socket file whose
/// owner is gone is [`NetError::Refused`].
pub fn connect_datagram(
    sock: UnixDatagram,
    peer: impl AsRef<Path>,
) -> Result<UnixDatagramTransport, NetError> {
    let peer = peer.as_ref();
    sock.connect(peer)
        .map_err(|e| NetError::from_io(shown(peer), e))?;
    Ok(Datagram::new(sock, MAX_UNIX_DATAGRAM))
}

/// Two connected, unnamed Unix datagram transports (`socketpair`).
///
/// # Errors
///
/// The OS error.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lockstep_hosted::transport::{unix, Transport};
///
/// let (mut a, mut b) = unix::datagram_pair().unwrap();
/// a.send(&[1; 170]).unwrap();
/// a.send(&[2; 230]).unwrap();
/// // Datagrams keep their boundaries.
/// assert_eq!(b.recv(Some(Duration::from_secs(1))).unwrap().len(), 170);
/// assert_eq!(b.recv(Some(Duration::from_secs(1))).unwrap().len(), 230);
/// ```
pub fn datagram_pair() -> Result<(UnixDatagramTransport, UnixDatagramTransport), NetError> {
    let (a, b) = UnixDatagram::pair().map_err(|e| NetError::from_io("a unix socketpair", e))?;
    Ok((
        Datagram::new(a, MAX_UNIX_DATAGRAM),
        Datagram::new(b, MAX_UNIX_DATAGRAM),
    ))
}

impl StreamSocket for UnixStream {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, t)
    }
    fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        UnixStream::set_write_timeout(self, t)
    }
    fn write_timeout(&self) -> io::Result<Option<Duration>> {
        UnixStream::write_timeout(self)
    }
    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        UnixStream::set_nonblocking(self, on)
    }
    fn shutdown_both(&self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Both)
    }
    fn try_clone_socket(&self) -> io::Result<Self> {
        self.try_clone()
    }
    fn peer_label(&self) -> String {
        match self
            .peer_addr()
            .ok()
            .and_then(|a| a.as_pathname().map(shown))
        {
            Some(p) => p,
            None => match self
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(shown))
            {
                Some(p) => format!("a client of {p}"),
                None => "an unnamed unix socket".into(),
            },
        }
    }
    fn send_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        super::send_vectored_nosignal(socket2::SockRef::from(&*self), bufs)
    }
}

impl DatagramSocket for UnixDatagram {
    fn send_datagram(&self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)
    }
    fn recv_datagram(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf)
    }
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        UnixDatagram::set_read_timeout(self, t)
    }
    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        UnixDatagram::set_nonblocking(self, on)
    }
    fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        UnixDatagram::set_write_timeout(self, t)
    }
    fn peer_label(&self) -> String {
        match self
            .peer_addr()
            .ok()
            .and_then(|a| a.as_pathname().map(shown))
        {
            Some(p) => p,
            None => "an unnamed unix datagram socket".into(),
        }
    }
}
