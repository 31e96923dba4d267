//! Servers: a UDP datagram server, stream echo servers, an RPC server and a publish-subscribe
//! broker, each stoppable through its [`ServerHandle`].
//!
//! The stream servers (raw and framed echo, RPC, broker; over TCP or Unix) run on one event
//! loop each (`mio`): a single thread waits on every connection at once, so an idle or slow
//! client costs a file descriptor and a few hundred bytes, never a thread. Handlers that may
//! block (the RPC server's) run on a bounded pool of [`ServerConfig::workers`] threads, so one
//! slow request delays no other client. Every connection has deadlines: silent for
//! [`ServerConfig::idle_timeout`], it is closed; a frame started and not finished within
//! [`ServerConfig::frame_timeout`] (a slowloris client) closes it; output the client does not
//! read within the stream's write timeout closes it. Past [`ServerConfig::max_connections`]
//! open connections, a new client is refused at once with the reason (a framed client's
//! [`Framed`](crate::transport::Framed) reports [`NetError::ClosedBy`](crate::NetError::ClosedBy)),
//! counted in [`Stats::rejected`] and logged in [`Stats::errors`].
//!
//! A bad client (an absurd frame length, garbage, a disconnect mid-frame) gets its connection
//! closed and an entry in [`Stats::errors`]; every other client is served on.
//!
//! [`serve`] is the other shape, for handlers that want the raw stream and block on it: an
//! accept loop hands each connection to a fixed pool of worker threads through a bounded queue
//! (the core's [`Queue`](lockstep_core::Queue) of [`HANDOFF_CAPACITY`] slots); there each
//! connection holds a worker while it lasts, and clients beyond the workers and the queue are
//! refused at once.
//!
//! [`ServerHandle::shutdown`] stops accepting, closes every open connection (its client then
//! gets a clear [`NetError`](crate::NetError) instead of hanging) and joins the threads.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::transport::StreamSocket;
use crate::transport::tcp::StreamConfig;

mod broker;
mod datagram;
mod echo;
mod handoff;
mod pool;
mod reactor;
mod rpc;
mod scenario;
mod udp_rpc;

pub use broker::{
    Broker, BrokerConfig, Delivery, MAX_TOPIC_BYTES, MAX_TOPICS, Publisher, SUBSCRIBER_QUEUE,
    SUBSCRIBER_QUEUE_BYTES, Subscriber,
};
pub use datagram::udp_server;
pub use echo::{framed_echo_server, raw_echo_server};
pub use handoff::HANDOFF_CAPACITY;
pub use reactor::{EventListener, MAX_IN_FLIGHT};
pub use rpc::rpc_server;
pub use scenario::sockets;
pub use udp_rpc::{
    CACHE_ENTRY_OVERHEAD, UDP_PEERS, UdpRpcConfig, udp_rpc_server, udp_rpc_server_with,
};

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
    /// Worker threads running handlers that may block (the RPC server's requests, at most
    /// half of them for one connection at once; [`serve`]'s connections). The echo servers
    /// and the broker never block and do not use them.
    pub workers: usize,
    /// Open connections, at most; a further client is refused at once, with the reason. A
    /// connection closed while its RPC requests still wait for a worker counts until they
    /// are skipped.
    pub max_connections: usize,
    /// A connection silent for this long (with no request running) is closed.
    pub idle_timeout: Duration,
    /// A frame started and not finished within this long closes its connection (a client
    /// trickling a frame cannot hold the server's memory for ever).
    pub frame_timeout: Duration,
    /// Options for the accepted streams (maximum frame size; the write timeout: output a
    /// client does not read for this long closes its connection).
    pub stream: StreamConfig,
    /// How long stopping waits for handlers still running (see [`ServerHandle::shutdown`]);
    /// past it, the ones still running are left to finish on their own.
    pub stop_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            workers: 8,
            max_connections: 1024,
            idle_timeout: Duration::from_secs(60),
            frame_timeout: Duration::from_secs(10),
            stream: StreamConfig::default(),
            stop_timeout: STOP_TIMEOUT,
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
    /// Connections closed for being too slow: a frame not finished within
    /// [`ServerConfig::frame_timeout`], or output not read within the write timeout.
    pub stalled: u64,
    /// Bytes of replies the UDP RPC server keeps for retransmitted requests (bounded by
    /// [`UdpRpcConfig::cache_bytes`]).
    pub cache_bytes: u64,
    /// Broker deliveries dropped for subscribers that fell behind (each told how many it
    /// missed).
    pub lagged: u64,
    /// What went wrong with bad clients, most recent last (at most [`ERROR_LOG`] entries).
    pub errors: Vec<String>,
}

/// How many error lines [`Stats::errors`] keeps.
pub const ERROR_LOG: usize = 64;

/// How long stopping a server waits, by default, for handlers still running
/// ([`ServerConfig::stop_timeout`], [`UdpRpcConfig::stop_timeout`]; the plain
/// [`udp_server`]'s handler too).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(5);

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
    stalled: AtomicU64,
    lagged: AtomicU64,
    cache_bytes: AtomicU64,
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

    pub(crate) fn count_stalled(&self) {
        self.stalled.fetch_add(1, Relaxed);
    }

    pub(crate) fn count_lagged(&self) {
        self.lagged.fetch_add(1, Relaxed);
    }

    pub(crate) fn set_cache_bytes(&self, n: usize) {
        self.cache_bytes.store(n as u64, Relaxed);
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
            stalled: self.stalled.load(Relaxed),
            lagged: self.lagged.load(Relaxed),
            cache_bytes: self.cache_bytes.load(Relaxed),
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
/// or the server's stop flag delays it, and so does an RPC request already running, up to the
/// server's stop timeout ([`ServerConfig::stop_timeout`], 5 s by default): the threads still
/// busy then are left to finish on their own (their answers dropped), and a line in
/// [`Stats::errors`] says how many. Requests still waiting for a worker are dropped, never run.
pub struct ServerHandle {
    shared: Arc<Shared>,
    stop_timeout: Duration,
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
        // Joined as they finish, up to the stop timeout (std has no join with a timeout).
        let deadline = Instant::now().checked_add(self.stop_timeout);
        let mut busy = std::mem::take(&mut self.threads);
        loop {
            let (done, running): (Vec<_>, Vec<_>) =
                busy.into_iter().partition(JoinHandle::is_finished);
            for t in done {
                let _ = t.join();
            }
            busy = running;
            if busy.is_empty() {
                break;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                self.shared.log_error(format!(
                    "{} thread(s) still running a handler {} ms after the server stopped: \
                     left to finish on their own",
                    busy.len(),
                    self.stop_timeout.as_millis()
                ));
                break; // dropping a JoinHandle detaches its thread
            }
            std::thread::sleep(Duration::from_millis(2));
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
    /// The listener as the event loop waits on it (made non-blocking).
    ///
    /// # Errors
    ///
    /// The OS error.
    fn into_event_listener(self) -> io::Result<EventListener>;
}

/// Starts an event-driven stream server on `listener`.
pub(crate) fn start_events<L: Listener>(
    listener: L,
    config: ServerConfig,
    service: reactor::Service,
) -> Result<ServerHandle, crate::NetError> {
    let label = listener.label();
    let local = listener.socket_addr();
    let cleanup = listener.cleanup_path();
    let err = |e| crate::NetError::from_io(&label, e);
    let events = listener.into_event_listener().map_err(err)?;
    reactor::start(events, config, service, label.clone(), local, cleanup).map_err(err)
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
    fn into_event_listener(self) -> io::Result<EventListener> {
        EventListener::tcp(self)
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
    fn into_event_listener(self) -> io::Result<EventListener> {
        EventListener::unix(self)
    }
}
