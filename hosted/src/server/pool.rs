//! The multi-client stream server: an accept loop feeding a fixed pool of workers through a
//! bounded queue, with a connection limit, idle timeouts and a registry of open connections
//! that shutdown closes.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};
use std::thread;

use super::{Listener, ServerConfig, ServerHandle, Shared, handoff};
use crate::NetError;
use crate::transport::StreamSocket;

/// Shuts one connection down.
type Closer = Box<dyn Fn() + Send>;

/// Closers of the open connections; closed for new ones once shutdown starts.
#[derive(Default)]
pub(crate) struct Registry {
    // (shutdown started, closers by connection id)
    inner: Mutex<(bool, HashMap<u64, Closer>)>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Registry { .. }")
    }
}

impl Registry {
    /// Records how to close connection `id`; `false` (and nothing recorded) once shutdown has
    /// started, so that no connection escapes [`close_all`](Self::close_all).
    fn register(&self, id: u64, closer: Box<dyn Fn() + Send>) -> bool {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if g.0 {
            return false;
        }
        g.1.insert(id, closer);
        true
    }

    fn unregister(&self, id: u64) {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .remove(&id);
    }

    /// Refuses further registrations and closes every registered connection.
    pub(crate) fn close_all(&self) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.0 = true;
        for (_, close) in g.1.drain() {
            close();
        }
    }
}

/// What a connection handler knows about its server.
#[derive(Debug)]
pub struct Conn<'a> {
    shared: &'a Shared,
    config: &'a ServerConfig,
    peer: String,
}

impl Conn<'_> {
    /// Whether the server is shutting down (a handler waiting on something other than its
    /// socket checks this).
    pub fn stopping(&self) -> bool {
        self.shared.stopping()
    }

    /// The server's configuration.
    pub fn config(&self) -> &ServerConfig {
        self.config
    }

    /// The client's address, as text.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// Counts one handled message in the server's [`Stats`](super::Stats).
    pub fn count_message(&self) {
        self.shared.count_message();
    }
}

/// A connection handler: serves one client until it leaves. An error other than a clean
/// close is logged in [`Stats::errors`](super::Stats::errors); a timeout counts as idle.
pub type Handler<S> = dyn Fn(S, &Conn<'_>) -> Result<(), NetError> + Send + Sync;

/// Runs a multi-client stream server on `listener`: an accept loop and `config.workers`
/// workers, each serving one connection at a time with `handler`.
///
/// Each accepted stream has its read timeout set to `config.idle_timeout` before the handler
/// sees it.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use lockstep_hosted::server::{serve, ServerConfig};
/// use lockstep_hosted::transport::tcp;
///
/// let listener = tcp::listen("127.0.0.1:0".parse().unwrap()).unwrap();
/// let server = serve(listener, ServerConfig::default(), |mut s: std::net::TcpStream, _conn| {
///     s.write_all(b"hi").map_err(|e| lockstep_hosted::NetError::from_io("client", e))
/// });
/// let mut c = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
/// let mut got = Vec::new();
/// c.read_to_end(&mut got).unwrap();
/// assert_eq!(got, b"hi");
/// assert_eq!(server.shutdown().accepted, 1);
/// ```
pub fn serve<L, F>(listener: L, config: ServerConfig, handler: F) -> ServerHandle
where
    L: Listener,
    F: Fn(L::Stream, &Conn<'_>) -> Result<(), NetError> + Send + Sync + 'static,
{
    serve_boxed(listener, config, Arc::new(handler))
}

fn serve_boxed<L: Listener>(
    listener: L,
    config: ServerConfig,
    handler: Arc<Handler<L::Stream>>,
) -> ServerHandle {
    let shared = Arc::new(Shared::default());
    let registry = Arc::new(Registry::default());
    // Connections accepted and not yet finished (queued or served).
    let active = Arc::new(AtomicUsize::new(0));
    let config = Arc::new(config);
    let handoff = handoff::Handoff::<(u64, L::Stream)>::new();
    let mut threads = Vec::with_capacity(config.workers + 1);
    for i in 0..config.workers.max(1) {
        let (rx, shared, registry, active, config, handler) = (
            handoff.clone(),
            shared.clone(),
            registry.clone(),
            active.clone(),
            config.clone(),
            handler.clone(),
        );
        let t = thread::Builder::new()
            .name(format!("lockstep-worker-{i}"))
            .spawn(move || worker(&rx, &shared, &registry, &active, &config, &*handler))
            .expect("spawning a server worker thread");
        threads.push(t);
    }
    let label = listener.label();
    let local = listener.socket_addr();
    let wake = listener.waker();
    let cleanup = listener.cleanup_path();
    {
        let (shared, active, config) = (shared.clone(), active.clone(), config.clone());
        let t = thread::Builder::new()
            .name("lockstep-accept".into())
            .spawn(move || {
                accept_loop(&listener, &handoff, &shared, &active, &config);
                // Workers serve what is queued (or drop it when stopping), then exit.
                handoff.close();
            })
            .expect("spawning a server accept thread");
        threads.push(t);
    }
    ServerHandle {
        shared,
        stop_timeout: config.stop_timeout,
        label,
        local,
        wake: Some(wake),
        closers: registry,
        threads,
        cleanup,
    }
}

fn accept_loop<L: Listener>(
    listener: &L,
    tx: &handoff::Handoff<(u64, L::Stream)>,
    shared: &Shared,
    active: &AtomicUsize,
    config: &ServerConfig,
) {
    let mut next_id = 0u64;
    loop {
        let stream = match listener.accept_stream() {
            Ok(s) => s,
            Err(e) => {
                if shared.stopping() {
                    return;
                }
                shared.log_error(format!("accepting on {}: {e}", listener.label()));
                // Out of file descriptors and the like: give the workers time to close some.
                thread::sleep(std::time::Duration::from_millis(10));
                continue;
            }
        };
        if shared.stopping() {
            return;
        }
        shared.count_accepted();
        // SeqCst: the limit check and the workers' decrements form one counter; no other
        // memory is published through it.
        if active.load(SeqCst) >= config.max_connections {
            refuse(shared, &stream, config.max_connections);
            continue;
        }
        if let Err(e) = listener.prepare(&stream, &config.stream) {
            shared.log_error(format!("{}: {e}", stream.peer_label()));
            continue;
        }
        active.fetch_add(1, SeqCst);
        next_id += 1;
        // Every worker busy and the queue full: refused at once rather than left waiting.
        if let Err((_, stream)) = tx.try_send((next_id, stream)) {
            active.fetch_sub(1, SeqCst);
            refuse(shared, &stream, active.load(SeqCst));
        }
    }
}

/// Refuses a client at the limit of `limit` connections: counted, logged, and told why.
fn refuse<S: StreamSocket>(shared: &Shared, stream: &S, limit: usize) {
    shared.count_rejected();
    let reason = format!("the server is at its limit of {limit} connections; try again later");
    shared.log_error(format!("refused {}: {reason}", stream.peer_label()));
    let _ = stream.set_nonblocking(true);
    let mut out = crate::transport::framing::GOODBYE.to_be_bytes().to_vec();
    out.extend(crate::transport::framing::encode(reason.as_bytes()));
    if let Ok(mut s) = stream.try_clone_socket() {
        let _ = std::io::Write::write(&mut s, &out);
    }
    let _ = stream.shutdown_both();
}

fn worker<S: StreamSocket>(
    rx: &handoff::Handoff<(u64, S)>,
    shared: &Shared,
    registry: &Registry,
    active: &AtomicUsize,
    config: &ServerConfig,
    handler: &Handler<S>,
) {
    while let Some((id, stream)) = rx.recv() {
        serve_one(id, stream, shared, registry, config, handler);
        active.fetch_sub(1, SeqCst);
    }
}

fn serve_one<S: StreamSocket>(
    id: u64,
    stream: S,
    shared: &Shared,
    registry: &Registry,
    config: &ServerConfig,
    handler: &Handler<S>,
) {
    let peer = stream.peer_label();
    let Ok(closer) = stream.try_clone_socket() else {
        shared.log_error(format!("{peer}: could not duplicate the socket"));
        return;
    };
    if !registry.register(id, Box::new(move || drop(closer.shutdown_both()))) {
        return; // shutting down
    }
    if let Err(e) = stream.set_read_timeout(Some(config.idle_timeout)) {
        shared.log_error(format!("{peer}: {e}"));
    }
    let conn = Conn {
        shared,
        config,
        peer,
    };
    match catch_unwind(AssertUnwindSafe(|| handler(stream, &conn))) {
        Ok(Ok(())) => {}
        Ok(Err(e)) if shared.stopping() => drop(e),
        Ok(Err(NetError::Closed { .. })) => {}
        Ok(Err(e)) if e.is_timeout() => {
            shared.count_idle_closed();
        }
        Ok(Err(e)) => shared.log_error(format!("{}: {e}", conn.peer)),
        Err(_) => shared.log_error(format!("{}: the connection handler panicked", conn.peer)),
    }
    registry.unregister(id);
}
