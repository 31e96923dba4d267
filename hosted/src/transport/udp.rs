//! UDP, and datagram sockets in general: one message per datagram, no framing needed.
//!
//! A datagram keeps its boundaries but may be lost, duplicated or reordered, so
//! [`Datagram::is_reliable`] is `false` and the communication types add sequence numbers,
//! acknowledgements, bounded retransmission and duplicate suppression on top.
//!
//! A [`Datagram`] is *connected*: it sends to and receives from one peer, and the OS filters
//! out datagrams from anyone else. A connected UDP socket also learns from ICMP that nobody
//! listens at the peer, which surfaces as [`NetError::Refused`].

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use super::{SocketMode, Transport, check_loopback};
use crate::NetError;

/// The largest UDP payload over IPv4 (65,535 - 8 - 20).
pub const MAX_DATAGRAM: usize = 65_507;

/// A datagram socket as [`Datagram`] needs it (UDP or Unix datagram).
pub trait DatagramSocket: Send + 'static {
    /// `send` on the connected socket.
    ///
    /// # Errors
    ///
    /// The OS error.
    fn send_datagram(&self, buf: &[u8]) -> io::Result<usize>;
    /// `recv` on the connected socket.
    ///
    /// # Errors
    ///
    /// The OS error.
    fn recv_datagram(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// `set_read_timeout`.
    ///
    /// # Errors
    ///
    /// The OS error.
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()>;
    /// `set_nonblocking`.
    ///
    /// # Errors
    ///
    /// The OS error.
    fn set_nonblocking(&self, on: bool) -> io::Result<()>;
    /// `set_write_timeout`: how long a send may block (a Unix datagram socket's send blocks
    /// while the peer's receive queue is full). The default sets nothing, so sends on such a
    /// socket are not limited by [`Transport::send_within`].
    ///
    /// # Errors
    ///
    /// The OS error.
    fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        let _ = t;
        Ok(())
    }
    /// The peer, as text.
    fn peer_label(&self) -> String;
}

impl DatagramSocket for UdpSocket {
    fn send_datagram(&self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)
    }
    fn recv_datagram(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf)
    }
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        UdpSocket::set_read_timeout(self, t)
    }
    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        UdpSocket::set_nonblocking(self, on)
    }
    fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        UdpSocket::set_write_timeout(self, t)
    }
    fn peer_label(&self) -> String {
        self.peer_addr()
            .map_or_else(|_| "an unconnected udp socket".into(), |a| a.to_string())
    }
}

/// A connected datagram socket as a [`Transport`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lockstep_hosted::transport::{udp, Transport};
///
/// let (mut a, mut b) = udp::pair().unwrap();
/// a.send(b"Hello World").unwrap();
/// assert_eq!(b.recv(Some(Duration::from_secs(5))).unwrap(), b"Hello World");
/// assert!(!a.is_reliable());
/// ```
#[derive(Debug)]
pub struct Datagram<S> {
    sock: S,
    peer: String,
    max: usize,
    rbuf: Box<[u8]>,
    mode: SocketMode,
    /// The write timeout last given to the socket (`None` inside: none), if any was.
    write_set: Option<Option<Duration>>,
    /// How long a plain `send` may wait for room (see [`Datagram::set_send_timeout`]).
    send_timeout: Option<Duration>,
}

/// How long a datagram transport's `send` waits at most for room by default: a Unix datagram
/// socket's send blocks while the peer's receive queue is full (a peer that stopped
/// receiving), as long as a stream's write waits for a peer that stopped reading
/// ([`StreamConfig::write_timeout`](super::tcp::StreamConfig::write_timeout)).
pub const DATAGRAM_SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// A connected UDP socket as a transport.
pub type UdpTransport = Datagram<UdpSocket>;

impl<S: DatagramSocket> Datagram<S> {
    /// Wraps a connected datagram socket carrying messages of at most `max` bytes.
    pub fn new(sock: S, max: usize) -> Self {
        let peer = sock.peer_label();
        Datagram {
            sock,
            peer,
            max,
            rbuf: vec![0; max + 1].into_boxed_slice(),
            mode: SocketMode::default(),
            write_set: None,
            send_timeout: Some(DATAGRAM_SEND_TIMEOUT),
        }
    }

    /// Sets how long a plain [`send`](Transport::send) waits at most while the socket cannot
    /// take the message (a Unix datagram peer whose receive queue is full; a UDP send does not
    /// wait), after which it fails with [`NetError::Timeout`]; `None`: as long as it takes.
    /// The default is [`DATAGRAM_SEND_TIMEOUT`]. A timed call's sends wait at most the call's
    /// own timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lockstep_hosted::transport::{unix, Transport};
    /// use lockstep_hosted::NetError;
    ///
    /// let (mut a, _b) = unix::datagram_pair().unwrap();
    /// a.set_send_timeout(Some(Duration::from_millis(20)));
    /// // Nobody receives: once the peer's queue is full, a send gives up after 20 ms.
    /// let err = (0..1_000_000).find_map(|_| a.send(&[0; 1024]).err()).unwrap();
    /// assert!(matches!(err, NetError::Timeout { .. }), "{err}");
    /// ```
    pub fn set_send_timeout(&mut self, timeout: Option<Duration>) {
        self.send_timeout = timeout;
    }

    /// How long a plain `send` waits at most for room (see
    /// [`set_send_timeout`](Self::set_send_timeout)).
    pub fn send_timeout(&self) -> Option<Duration> {
        self.send_timeout
    }

    /// The socket.
    pub fn get_ref(&self) -> &S {
        &self.sock
    }
}

impl<S: DatagramSocket> Datagram<S> {
    /// Sends `msg`, blocking at most `limit` (`None`: as long as the socket does) while the
    /// socket cannot take it (a Unix datagram peer whose receive queue is full).
    fn send_limited(&mut self, msg: &[u8], limit: Option<Duration>) -> Result<(), NetError> {
        if msg.len() > self.max {
            return Err(NetError::MessageTooLarge {
                addr: self.peer.clone(),
                len: msg.len(),
                max: self.max,
            });
        }
        let sock = &self.sock;
        self.mode
            .for_send(|on| sock.set_nonblocking(on))
            .map_err(|e| NetError::from_io(&self.peer, e))?;
        let want = limit.map(super::write_limit);
        // A socket never given a limit needs none set for an unlimited send.
        if self.write_set.unwrap_or(None) != want {
            sock.set_write_timeout(want)
                .map_err(|e| NetError::from_io(&self.peer, e))?;
            self.write_set = Some(want);
        }
        match self.sock.send_datagram(msg) {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(NetError::timeout(
                    &self.peer,
                    "room to send (the peer stopped receiving)",
                    want.unwrap_or_default(),
                ))
            }
            Err(e) => Err(NetError::from_io(&self.peer, e)),
        }
    }
}

impl<S: DatagramSocket> Transport for Datagram<S> {
    fn send(&mut self, msg: &[u8]) -> Result<(), NetError> {
        self.send_limited(msg, self.send_timeout)
    }

    /// Waits at most `timeout` for room (rounded down to 10 ms, at least 1 ms): a Unix datagram
    /// socket's send blocks while the peer's receive queue is full, and a `call` or `send_sync`
    /// must not wait for it past its own timeout.
    fn send_within(&mut self, msg: &[u8], timeout: Duration) -> Result<(), NetError> {
        self.send_limited(msg, Some(timeout))
    }

    fn recv_into(&mut self, buf: &mut Vec<u8>, timeout: Option<Duration>) -> Result<(), NetError> {
        let sock = &self.sock;
        self.mode
            .for_recv(
                timeout,
                |on| sock.set_nonblocking(on),
                |t| sock.set_read_timeout(t),
            )
            .map_err(|e| NetError::from_io(&self.peer, e))?;
        let addr = &self.peer;
        loop {
            match self.sock.recv_datagram(&mut self.rbuf) {
                Ok(n) if n > self.max => {
                    return Err(NetError::FrameTooLarge {
                        addr: addr.clone(),
                        len: n as u64,
                        max: self.max,
                    });
                }
                Ok(n) => {
                    buf.clear();
                    buf.extend_from_slice(&self.rbuf[..n]);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(NetError::timeout(
                        addr,
                        "a datagram",
                        timeout.unwrap_or_default(),
                    ));
                }
                Err(e) => return Err(NetError::from_io(addr, e)),
            }
        }
    }

    fn is_reliable(&self) -> bool {
        false
    }

    fn max_message(&self) -> usize {
        self.max
    }

    fn peer(&self) -> &str {
        &self.peer
    }
}

/// Binds a UDP socket on a loopback address (port 0: any free port).
///
/// # Errors
///
/// [`NetError::NotLoopback`] for other addresses (see [`bind_any`]); [`NetError::AddrInUse`]
/// naming the port and how to find its holder.
///
/// # Examples
///
/// ```
/// use lockstep_hosted::transport::udp;
///
/// let s = udp::bind("127.0.0.1:0".parse().unwrap()).unwrap();
/// let taken = s.local_addr().unwrap();
/// assert!(udp::bind(taken).unwrap_err().to_string().contains("already in use"));
/// ```
pub fn bind(addr: SocketAddr) -> Result<UdpSocket, NetError> {
    check_loopback(addr, false)?;
    bind_any(addr)
}

/// Binds a UDP socket on any address, including the network: the explicit opt-in.
///
/// # Errors
///
/// [`NetError::AddrInUse`] and other OS errors, naming the address.
pub fn bind_any(addr: SocketAddr) -> Result<UdpSocket, NetError> {
    let io = |e| NetError::from_io(addr, e).udp();
    let socket =
        Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP)).map_err(io)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(io)?;
    }
    socket.bind(&addr.into()).map_err(io)?;
    Ok(socket.into())
}

/// A UDP transport from an ephemeral loopback port (of the peer's family) to `peer`.
///
/// # Errors
///
/// OS errors naming the address.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lockstep_hosted::transport::{udp, Transport};
///
/// let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
/// let mut c = udp::connect(server.local_addr().unwrap()).unwrap();
/// c.send(b"Hello World").unwrap();
/// let mut buf = [0; 64];
/// let (n, from) = server.recv_from(&mut buf).unwrap();
/// assert_eq!(&buf[..n], b"Hello World");
/// server.send_to(b"ok", from).unwrap();
/// assert_eq!(c.recv(Some(Duration::from_secs(5))).unwrap(), b"ok");
/// ```
pub fn connect(peer: SocketAddr) -> Result<UdpTransport, NetError> {
    let local: SocketAddr = if peer.is_ipv6() {
        "[::1]:0"
    } else {
        "127.0.0.1:0"
    }
    .parse()
    .expect("literal");
    let local = if peer.ip().is_loopback() {
        local
    } else {
        SocketAddr::new(unspecified(peer), 0)
    };
    let sock = bind_any(local)?;
    connect_socket(sock, peer)
}

fn unspecified(peer: SocketAddr) -> std::net::IpAddr {
    if peer.is_ipv6() {
        std::net::Ipv6Addr::UNSPECIFIED.into()
    } else {
        std::net::Ipv4Addr::UNSPECIFIED.into()
    }
}

/// Connects a bound UDP socket to `peer` and wraps it as a transport.
///
/// # Errors
///
/// OS errors naming the address.
pub fn connect_socket(sock: UdpSocket, peer: SocketAddr) -> Result<UdpTransport, NetError> {
    sock.connect(peer).map_err(|e| NetError::from_io(peer, e))?;
    Ok(Datagram::new(sock, MAX_DATAGRAM))
}

/// Two UDP transports on loopback, connected to each other.
///
/// # Errors
///
/// OS errors.
pub fn pair() -> Result<(UdpTransport, UdpTransport), NetError> {
    let any: SocketAddr = "127.0.0.1:0".parse().expect("literal");
    let a = bind(any)?;
    let b = bind(any)?;
    let a_addr = a.local_addr().map_err(|e| NetError::from_io(any, e))?;
    let b_addr = b.local_addr().map_err(|e| NetError::from_io(any, e))?;
    Ok((connect_socket(a, b_addr)?, connect_socket(b, a_addr)?))
}
