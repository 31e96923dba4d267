//! Servers: a UDP datagram server, stream echo servers, an RPC server and a publish-subscribe
//! broker, each stoppable through its [`ServerHandle`].
//!
//! The stream servers share one shape, the lecture's producer/consumer: an accept loop
//! (the producer) hands each connection through a bounded queue (the core's
//! [`Queue`](lockstep_core::Queue) of [`HANDOFF_CAPACITY`] slots, blocking in the kernel
//! through the futex) to a fixed pool of worker threads (the consumers). When every worker is
//! busy and the queue is full, the accept loop
//! stops accepting and new clients wait in the kernel's backlog (backpressure). A connection
//! limit turns clients away beyond [`ServerConfig::max_connections`], and a connection that
//! stays silent for [`ServerConfig::idle_timeout`] is closed.
//!
//! A bad client (an absurd frame length, garbage, a disconnect mid-frame) gets its connection
//! closed and an entry in [`Stats::errors`]; every other client is served on.
//!
//! [`ServerHandle::shutdown`] stops the accept loop, shuts every open connection down (its
//! client then gets a clear [`NetError`](crate::NetError) instead of hanging) and joins the
//! threads.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::transport::StreamSocket;
use crate::transport::tcp::StreamConfig;

mod broker;
mod datagram;
mod echo;
mod handoff;
mod pool;
mod rpc;
mod scenario;
mod udp_rpc;

pub use broker::{Broker, BrokerConfig, Delivery, Publisher, SUBSCRIBER_QUEUE, Subscriber};
pub use datagram::udp_server;
pub use echo::{framed_echo_server, raw_echo_server};
pub use handoff::HANDOFF_CAPACITY;
pub use rpc::rpc_server;
pub use scenario::sockets;
pub use udp_rpc::{UDP_PEERS, udp_rpc_server};

pub use pool::{Conn, Handler, serve};

/// The lecture's port: the C programs' servers listen on 127.0.0.1:5242.
pub const LECTURE_PORT: u16 = 5242;

/// How a stream server runs.
///
/// # Examples
///
/// ```
/// use lockstep_hosted::server::ServerConfig;
///
/// let c = ServerConfig { workers: 2, ..ServerConfig::default() };
/// assert!(c.max_connections >= c.workers);
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Worker threads serving connections (the pool's fixed size).
    pub workers: usize,
    /// Connections served or waiting, at most; further clients are closed at once.
    pub max_connections: usize,
    /// A connection silent for this long is closed.
    pub idle_timeout: Duration,
    /// Options for the accepted streams (maximum frame size, write timeout).
    pub stream: StreamConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            workers: 8,
            max_connections: 256,
            idle_timeout: Duration::from_secs(60),
            stream: StreamConfig::default(),
        }
    }
}

/// Counters of a running server.
///
/// # Examples
///
/// ```
/// use lockstep_hosted::server::Stats;
///
/// assert_eq!(Stats::default().accepted, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections accepted (or datagrams received, for the datagram server).
    pub accepted: u64,
    /// Connections turned away at the connection limit.
    pub rejected: u64,
    /// Messages handled.
    pub messages: u64,
    /// Connections closed for being idle.
    pub idle_closed: u64,
    /// What went wrong with bad clients, most recent last (at most [`ERROR_LOG`] entries).
    pub errors: Vec<String>,
}

/// How many error lines [`Stats::errors`] keeps.
pub const ERROR_LOG: usize = 64;

/// State shared by a server's threads.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    // SeqCst on `stop`: it is read by the accept loop and the workers and written once by
    // shutdown; the registry lock orders it against connection registration (see pool.rs).
    stop: AtomicBool,
    // Relaxed counters: statistics only, read after the threads are joined or as a snapshot.
    accepted: AtomicU64,
    rejected: AtomicU64,
    messages: AtomicU64,
    idle_closed: AtomicU64,
    errors: Mutex<Vec<String>>,
}

impl Shared {
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(SeqCst)
    }

    // Memory ordering of the counters below: Relaxed. They are statistics: nothing is
    // published through them, and a snapshot may be a moment old. Final values are read after
    // `ServerHandle::stop` has joined the threads, and the join orders them.

    pub(crate) fn count_message(&self) {
        self.messages.fetch_add(1, Relaxed);
    }

    pub(crate) fn count_accepted(&self) {
        self.accepted.fetch_add(1, Relaxed);
    }

    pub(crate) fn count_rejected(&self) {
        self.rejected.fetch_add(1, Relaxed);
    }

    pub(crate) fn count_idle_closed(&self) {
        self.idle_closed.fetch_add(1, Relaxed);
    }

    pub(crate) fn log_error(&self, line: String) {
        let mut e = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        if e.len() >= ERROR_LOG {
            e.remove(0);
        }
        e.push(line);
    }

    fn snapshot(&self) -> Stats {
        Stats {
            accepted: self.accepted.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            messages: self.messages.load(Relaxed),
            idle_closed: self.idle_closed.load(Relaxed),
            errors: self
                .errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}

/// A running server: its address, its counters, and the way to stop it.
///
/// Dropping the handle stops the server too. Stopping joins the server's threads: a
/// connection handler that blocks on something other than its socket (which shutdown closes)
/// or the server's stop flag delays it.
pub struct ServerHandle {
    shared: Arc<Shared>,
    label: String,
    local: Option<SocketAddr>,
    wake: Option<Box<dyn Fn() + Send + Sync>>,
    closers: Arc<pool::Registry>,
    threads: Vec<JoinHandle<()>>,
    cleanup: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("label", &self.label)
            .field("stats", &self.shared.snapshot())
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// The address (`host:port`) or path the server listens on.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The socket address, for IP servers.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local
    }

    /// A snapshot of the counters.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_hosted::server::udp_server;
    /// use lockstep_hosted::transport::{udp, Transport};
    ///
    /// let server = udp_server(udp::bind("127.0.0.1:0".parse().unwrap()).unwrap(), |b, _| Some(b.to_vec())).unwrap();
    /// let mut c = udp::connect(server.local_addr().unwrap()).unwrap();
    /// c.send(b"x").unwrap();
    /// c.recv(Some(std::time::Duration::from_secs(5))).unwrap();
    /// assert_eq!(server.stats().messages, 1);
    /// assert!(server.label().starts_with("127.0.0.1:"));
    /// ```
    pub fn stats(&self) -> Stats {
        self.shared.snapshot()
    }

    /// Stops accepting, closes every open connection, joins the threads, and returns the
    /// final counters.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lockstep_hosted::server::{framed_echo_server, ServerConfig};
    /// use lockstep_hosted::transport::{tcp, Transport};
    ///
    /// let server = framed_echo_server(tcp::listen("127.0.0.1:0".parse().unwrap()).unwrap(), ServerConfig::default());
    /// let mut c = tcp::connect(server.local_addr().unwrap()).unwrap();
    /// c.send(b"one").unwrap();
    /// c.recv(Some(Duration::from_secs(5))).unwrap();
    /// let stats = server.shutdown();
    /// assert_eq!((stats.accepted, stats.messages), (1, 1));
    /// // The client learns that the server is gone.
    /// assert!(c.recv(Some(Duration::from_secs(5))).unwrap_err().is_disconnect());
    /// ```
    pub fn shutdown(mut self) -> Stats {
        self.stop();
        self.shared.snapshot()
    }

    fn stop(&mut self) {
        if self.shared.stop.swap(true, SeqCst) {
            return;
        }
        self.closers.close_all();
        if let Some(wake) = &self.wake {
            wake();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if let Some(path) = self.cleanup.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A listening stream socket: TCP or Unix.
pub trait Listener: Send + 'static {
    /// The connections it accepts.
    type Stream: StreamSocket;
    /// Accepts one connection.
    ///
    /// # Errors
    ///
    /// The OS error.
    fn accept_stream(&self) -> io::Result<Self::Stream>;
    /// The address or path, as text.
    fn label(&self) -> String;
    /// The socket address, for IP listeners.
    fn socket_addr(&self) -> Option<SocketAddr>;
    /// A function that unblocks a thread sitting in [`accept_stream`](Self::accept_stream)
    /// (by connecting once).
    fn waker(&self) -> Box<dyn Fn() + Send + Sync>;
    /// A file to remove when the server stops (a Unix socket path).
    fn cleanup_path(&self) -> Option<std::path::PathBuf> {
        None
    }
    /// Prepares an accepted stream (`TCP_NODELAY`, write timeout).
    ///
    /// # Errors
    ///
    /// The OS error.
    fn prepare(&self, _stream: &Self::Stream, _config: &StreamConfig) -> io::Result<()> {
        Ok(())
    }
}

impl Listener for TcpListener {
    type Stream = TcpStream;
    fn accept_stream(&self) -> io::Result<TcpStream> {
        self.accept().map(|(s, _)| s)
    }
    fn label(&self) -> String {
        self.local_addr()
            .map_or_else(|_| "a tcp listener".into(), |a| a.to_string())
    }
    fn socket_addr(&self) -> Option<SocketAddr> {
        self.local_addr().ok()
    }
    fn waker(&self) -> Box<dyn Fn() + Send + Sync> {
        let addr = self.local_addr().ok().map(|mut a| {
            if a.ip().is_unspecified() {
                a.set_ip(if a.is_ipv6() {
                    std::net::Ipv6Addr::LOCALHOST.into()
                } else {
                    std::net::Ipv4Addr::LOCALHOST.into()
                });
            }
            a
        });
        Box::new(move || {
            if let Some(a) = addr {
                let _ = TcpStream::connect_timeout(&a, Duration::from_secs(1));
            }
        })
    }
    fn prepare(&self, stream: &TcpStream, config: &StreamConfig) -> io::Result<()> {
        stream.set_nodelay(config.nodelay)?;
        if config.linger.is_some() {
            socket2::SockRef::from(stream).set_linger(config.linger)?;
        }
        stream.set_write_timeout(config.write_timeout)
    }
}

#[cfg(unix)]
impl Listener for std::os::unix::net::UnixListener {
    type Stream = std::os::unix::net::UnixStream;
    fn accept_stream(&self) -> io::Result<Self::Stream> {
        self.accept().map(|(s, _)| s)
    }
    fn label(&self) -> String {
        self.cleanup_path().map_or_else(
            || "an unnamed unix listener".into(),
            |p| p.display().to_string(),
        )
    }
    fn socket_addr(&self) -> Option<SocketAddr> {
        None
    }
    fn waker(&self) -> Box<dyn Fn() + Send + Sync> {
        let path = self.cleanup_path();
        Box::new(move || {
            if let Some(p) = &path {
                let _ = std::os::unix::net::UnixStream::connect(p);
            }
        })
    }
    fn cleanup_path(&self) -> Option<std::path::PathBuf> {
        self.local_addr()
            .ok()
            .and_then(|a| a.as_pathname().map(|p| p.to_path_buf()))
    }
    fn prepare(&self, stream: &Self::Stream, config: &StreamConfig) -> io::Result<()> {
        stream.set_write_timeout(config.write_timeout)
    }
}
