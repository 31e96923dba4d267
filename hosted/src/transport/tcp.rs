//! TCP: listeners and framed connections over IPv4 and IPv6.
//!
//! Sockets are built with `socket2` so that the options are set before `bind` or `connect`:
//! `SO_REUSEADDR` on listeners (a restarted server can rebind while old connections sit in
//! `TIME_WAIT`; on Linux it does not let two servers share a listening port, so a busy port
//! is still reported), `TCP_NODELAY` on connections (small messages go out at once instead
//! of waiting for Nagle's algorithm), and an optional linger.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use super::framing::{DEFAULT_MAX_FRAME, Framed};
use super::{StreamSocket, check_loopback};
use crate::NetError;

/// A framed TCP connection.
pub type TcpTransport = Framed<TcpStream>;

/// Options for stream connections (TCP and Unix).
///
/// # Examples
///
/// ```
/// use lockstep_hosted::transport::tcp::StreamConfig;
///
/// let c = StreamConfig::default();
/// assert_eq!(c.max_frame, 1 << 20);
/// assert!(c.nodelay);
/// ```
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// The largest frame accepted or sent.
    pub max_frame: usize,
    /// How long `connect` may take.
    pub connect_timeout: Duration,
    /// `TCP_NODELAY` (ignored for Unix sockets).
    pub nodelay: bool,
    /// `SO_LINGER`: `None` keeps the OS default (close returns at once, unsent data is still
    /// delivered in the background).
    pub linger: Option<Duration>,
    /// Write timeout, so that a peer that stops reading cannot block a sender for ever.
    pub write_timeout: Option<Duration>,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            max_frame: DEFAULT_MAX_FRAME,
            connect_timeout: Duration::from_secs(5),
            nodelay: true,
            linger: None,
            write_timeout: Some(Duration::from_secs(30)),
        }
    }
}

/// Binds a TCP listener on a loopback address.
///
/// # Errors
///
/// [`NetError::NotLoopback`] for other addresses (see [`listen_any`]); [`NetError::AddrInUse`]
/// naming the port and how to find its holder.
///
/// # Examples
///
/// ```
/// use lockstep_hosted::transport::tcp;
///
/// let l = tcp::listen("127.0.0.1:0".parse().unwrap()).unwrap();
/// assert!(l.local_addr().unwrap().port() != 0);
/// assert!(tcp::listen("0.0.0.0:0".parse().unwrap()).is_err());
/// ```
pub fn listen(addr: SocketAddr) -> Result<TcpListener, NetError> {
    check_loopback(addr, false)?;
    listen_any(addr)
}

/// Binds a TCP listener on any address, including the network: the explicit opt-in.
///
/// # Errors
///
/// [`NetError::AddrInUse`] and other OS errors, naming the address.
pub fn listen_any(addr: SocketAddr) -> Result<TcpListener, NetError> {
    let io = |e| NetError::from_io(addr, e);
    let socket =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).map_err(io)?;
    socket.set_reuse_address(true).map_err(io)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(io)?;
    }
    socket.bind(&addr.into()).map_err(io)?;
    socket.listen(256).map_err(io)?;
    Ok(socket.into())
}

/// Connects a raw TCP stream (no framing) with the given options.
///
/// # Errors
///
/// [`NetError::Refused`] when nobody listens, [`NetError::Timeout`] when connecting takes
/// longer than `config.connect_timeout`, other OS errors naming the address.
pub fn connect_raw(addr: SocketAddr, config: &StreamConfig) -> Result<TcpStream, NetError> {
    let io = |e| NetError::from_io(addr, e);
    let socket =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).map_err(io)?;
    socket.set_tcp_nodelay(config.nodelay).map_err(io)?;
    socket.set_linger(config.linger).map_err(io)?;
    socket.set_write_timeout(config.write_timeout).map_err(io)?;
    match socket.connect_timeout(&addr.into(), config.connect_timeout) {
        Ok(()) => Ok(socket.into()),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            Err(NetError::timeout(
                addr,
                "connecting",
                config.connect_timeout,
            ))
        }
        Err(e) => Err(io(e)),
    }
}

/// Connects a framed TCP transport with default options.
///
/// # Errors
///
/// As [`connect_raw`].
///
/// # Examples
///
/// ```
/// use lockstep_hosted::transport::tcp;
///
/// let l = tcp::listen("127.0.0.1:0".parse().unwrap()).unwrap();
/// let addr = l.local_addr().unwrap();
/// assert!(tcp::connect(addr).is_ok());
/// drop(l);
/// assert!(tcp::connect(addr).unwrap_err().is_refused());
/// ```
pub fn connect(addr: SocketAddr) -> Result<TcpTransport, NetError> {
    connect_with(addr, &StreamConfig::default())
}

/// Connects a framed TCP transport with the given options.
///
/// # Errors
///
/// As [`connect_raw`].
pub fn connect_with(addr: SocketAddr, config: &StreamConfig) -> Result<TcpTransport, NetError> {
    Ok(Framed::new(connect_raw(addr, config)?, config.max_frame))
}

/// Accepts one connection as a framed transport with default options.
///
/// # Errors
///
/// The OS error, naming the listener's address.
pub fn accept(listener: &TcpListener) -> Result<TcpTransport, NetError> {
    let (stream, _) = listener
        .accept()
        .map_err(|e| NetError::from_io(local(listener), e))?;
    prepare(&stream, &StreamConfig::default())?;
    Ok(Framed::new(stream, DEFAULT_MAX_FRAME))
}

/// Applies `config` to an accepted stream.
pub(crate) fn prepare(stream: &TcpStream, config: &StreamConfig) -> Result<(), NetError> {
    let io = |e| NetError::from_io(stream.peer_label(), e);
    stream.set_nodelay(config.nodelay).map_err(io)?;
    stream.set_write_timeout(config.write_timeout).map_err(io)?;
    Ok(())
}

fn local(listener: &TcpListener) -> String {
    listener
        .local_addr()
        .map_or_else(|_| "a tcp listener".into(), |a| a.to_string())
}

impl StreamSocket for TcpStream {
    fn set_read_timeout(&self, t: Option<Duration>) -> std::io::Result<()> {
        TcpStream::set_read_timeout(self, t)
    }
    fn set_write_timeout(&self, t: Option<Duration>) -> std::io::Result<()> {
        TcpStream::set_write_timeout(self, t)
    }
    fn write_timeout(&self) -> std::io::Result<Option<Duration>> {
        TcpStream::write_timeout(self)
    }
    fn set_nonblocking(&self, on: bool) -> std::io::Result<()> {
        TcpStream::set_nonblocking(self, on)
    }
    fn shutdown_both(&self) -> std::io::Result<()> {
        self.shutdown(std::net::Shutdown::Both)
    }
    fn try_clone_socket(&self) -> std::io::Result<Self> {
        self.try_clone()
    }
    fn peer_label(&self) -> String {
        self.peer_addr()
            .map_or_else(|_| "a disconnected tcp peer".into(), |a| a.to_string())
    }
    fn send_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
        super::send_vectored_nosignal(socket2::SockRef::from(&*self), bufs)
    }
}
