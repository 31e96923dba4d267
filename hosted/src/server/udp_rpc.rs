//! The RPC server over UDP: many clients on one socket, each request answered exactly once.
//!
//! Each client is an [`Endpoint`](crate::comm::Endpoint) over a UDP transport connected to the
//! server. The server keeps, per client address, the duplicate filter of the communication
//! types and its recent replies: a retransmitted request whose reply was lost gets the cached
//! reply again, and the handler never runs twice for one request. Synchronous messages are
//! acknowledged (again, if repeated) and counted.
//!
//! Everything it keeps is bounded: at most [`UdpRpcConfig::max_peers`] clients are remembered
//! (the oldest forgotten first, except that one heard from again since it was last considered
//! gets a second chance), and the cached replies take at most
//! [`UdpRpcConfig::cache_bytes_per_peer`] bytes per client and
//! [`UdpRpcConfig::cache_bytes`] in all (the oldest dropped first; each entry counts its
//! bytes plus [`CACHE_ENTRY_OVERHEAD`]). A reply too large to cache is sent but not kept (a
//! retransmission of that request, after the reply was lost, goes unanswered and the client
//! times out). A reply too large to send at all is answered with an error
//! ([`NetError::Failed`] at the client). A datagram larger than the largest UDP payload
//! ([`MAX_DATAGRAM`], so the kernel truncated it) is refused, never executed.
//!
//! Handlers run on a pool of [`UdpRpcConfig::workers`] threads, so one slow request delays no
//! other client; when every worker is busy and [`UdpRpcConfig::queue`] requests wait, or
//! [`UdpRpcConfig::queue_per_peer`] of them from the same client, a new request is dropped
//! unrecorded, and the client's retransmission tries again (so one client flooding requests
//! cannot take every place in the queue).

use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, UdpSocket};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;

use super::{ServerHandle, Shared, pool::Registry};
use crate::NetError;
use crate::comm::{
    ACK, ENVELOPE_LEN, Envelope, FAILED, Fresh, MSG, MSG_RECEIPT, PeerState, REPLY, REQUEST,
    decode_envelope, encode_envelope,
};
use crate::transport::udp::MAX_DATAGRAM;

/// How many client addresses a UDP RPC server remembers by default.
pub const UDP_PEERS: usize = 1024;

/// Bytes each cached reply counts besides its body (its keys and bookkeeping).
pub const CACHE_ENTRY_OVERHEAD: usize = 64;

/// How a UDP RPC server runs.
///
/// # Examples
///
/// ```
/// use lockstep_hosted::server::UdpRpcConfig;
///
/// let c = UdpRpcConfig::default();
/// assert_eq!((c.cache_bytes_per_peer, c.cache_bytes), (256 * 1024, 16 << 20));
/// ```
#[derive(Debug, Clone)]
pub struct UdpRpcConfig {
    /// Threads running the handler.
    pub workers: usize,
    /// Requests waiting for a worker, at most; beyond, new requests are dropped (and
    /// retransmitted by their clients).
    pub queue: usize,
    /// Requests of one client waiting for or running on a worker, at most; beyond, its new
    /// requests are dropped (and retransmitted), so that the others find room in the queue.
    pub queue_per_peer: usize,
    /// Clients remembered (duplicate filter and replies), at most.
    pub max_peers: usize,
    /// Bytes of cached replies per client, at most.
    pub cache_bytes_per_peer: usize,
    /// Bytes of cached replies in all, at most.
    pub cache_bytes: usize,
    /// How long stopping waits for handlers still running; past it, they are left to finish
    /// on their own (see [`ServerHandle`]).
    pub stop_timeout: std::time::Duration,
}

impl Default for UdpRpcConfig {
    fn default() -> Self {
        UdpRpcConfig {
            workers: 8,
            queue: 256,
            queue_per_peer: 32,
            max_peers: UDP_PEERS,
            cache_bytes_per_peer: 256 * 1024,
            cache_bytes: 16 << 20,
            stop_timeout: super::STOP_TIMEOUT,
        }
    }
}

/// Key of a cached reply: the client, its incarnation and the request's number.
type Key = (SocketAddr, u32, u64);

/// A request for the pool: its key, its body, and its client's count of requests on the
/// pool (decremented once it is answered or dropped).
type Job = (Key, Vec<u8>, Arc<AtomicUsize>);

/// Replies kept for retransmitted requests, bounded in bytes per client and in all.
#[derive(Debug, Default)]
struct ReplyCache {
    entries: HashMap<Key, Arc<[u8]>>,
    // insertion order, for the global bound; may hold keys already evicted per peer
    order: VecDeque<Key>,
    // per client: bytes and keys, oldest first
    per_peer: HashMap<SocketAddr, (usize, VecDeque<Key>)>,
    // invariant: the sum of cost() over `entries`
    total: usize,
}

fn cost(reply: &[u8]) -> usize {
    reply.len() + CACHE_ENTRY_OVERHEAD
}

impl ReplyCache {
    fn get(&self, key: &Key) -> Option<Arc<[u8]>> {
        self.entries.get(key).cloned()
    }

    fn insert(&mut self, key: Key, reply: Arc<[u8]>, config: &UdpRpcConfig) {
        let c = cost(&reply);
        if c > config.cache_bytes_per_peer || c > config.cache_bytes {
            return;
        }
        self.total += c;
        self.entries.insert(key, reply);
        self.order.push_back(key);
        let peer = self.per_peer.entry(key.0).or_default();
        peer.0 += c;
        peer.1.push_back(key);
        while let Some(peer) = self.per_peer.get_mut(&key.0)
            && peer.0 > config.cache_bytes_per_peer
        {
            let Some(old) = peer.1.pop_front() else { break };
            self.remove(&old);
        }
        while self.total > config.cache_bytes {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            self.remove(&old);
        }
        // Keys evicted per peer linger in `order`: drop them from its front, and compact
        // when they are the majority, so `order` stays proportional to `entries`.
        while self
            .order
            .front()
            .is_some_and(|k| !self.entries.contains_key(k))
        {
            self.order.pop_front();
        }
        if self.order.len() > 2 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.order.retain(|k| entries.contains_key(k));
        }
    }

    fn remove(&mut self, key: &Key) {
        let Some(r) = self.entries.remove(key) else {
            return;
        };
        let c = cost(&r);
        self.total -= c;
        if let Some(peer) = self.per_peer.get_mut(&key.0) {
            peer.0 -= c;
            peer.1.retain(|k| k != key);
            if peer.1.is_empty() {
                self.per_peer.remove(&key.0);
            }
        }
    }

    /// Forgets every reply to `peer`.
    fn forget(&mut self, peer: SocketAddr) {
        if let Some((_, keys)) = self.per_peer.remove(&peer) {
            for k in keys {
                if let Some(r) = self.entries.remove(&k) {
                    self.total -= cost(&r);
                }
            }
        }
    }
}

/// What the receiving thread and the workers share.
struct State {
    config: UdpRpcConfig,
    cache: Mutex<ReplyCache>,
}

/// Runs an RPC server on a bound UDP socket with the default [`UdpRpcConfig`].
///
/// # Errors
///
/// [`NetError::Io`] if the socket's address cannot be read or a thread cannot be started.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lockstep_hosted::comm::Endpoint;
/// use lockstep_hosted::server::udp_rpc_server;
/// use lockstep_hosted::transport::udp;
///
/// let sock = udp::bind("127.0.0.1:0".parse().unwrap()).unwrap();
/// let server = udp_rpc_server(sock, |req| req.to_ascii_uppercase()).unwrap();
/// let mut client = Endpoint::new(udp::connect(server.local_addr().unwrap()).unwrap());
/// assert_eq!(client.call(b"over udp", Duration::from_secs(5)).unwrap(), b"OVER UDP");
/// client.send_sync(b"a note", Duration::from_secs(5)).unwrap(); // acknowledged
/// ```
pub fn udp_rpc_server(
    sock: UdpSocket,
    handler: impl Fn(&[u8]) -> Vec<u8> + Send + Sync + 'static,
) -> Result<ServerHandle, NetError> {
    udp_rpc_server_with(sock, UdpRpcConfig::default(), handler)
}

/// Runs an RPC server on a bound UDP socket: each request from an
/// [`Endpoint`](crate::comm::Endpoint) is answered with `handler(request body)`, exactly once
/// however often the client retransmits it, on a pool of `config.workers` threads.
///
/// # Errors
///
/// [`NetError::Io`] if the socket's address cannot be read or a thread cannot be started.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lockstep_hosted::comm::Endpoint;
/// use lockstep_hosted::server::{udp_rpc_server_with, UdpRpcConfig};
/// use lockstep_hosted::transport::udp;
///
/// let sock = udp::bind("127.0.0.1:0".parse().unwrap()).unwrap();
/// let config = UdpRpcConfig { workers: 2, ..UdpRpcConfig::default() };
/// let server = udp_rpc_server_with(sock, config, |req| vec![0; req.len() * 1000]).unwrap();
/// let mut client = Endpoint::new(udp::connect(server.local_addr().unwrap()).unwrap());
/// let t = Duration::from_secs(5);
/// assert_eq!(client.call(b"x", t).unwrap().len(), 1000);
/// // 100,000 bytes do not fit in a datagram: the client is told so.
/// let e = client.call(&[0; 100], t).unwrap_err();
/// assert!(e.to_string().contains("exceeds"), "{e}");
/// ```
pub fn udp_rpc_server_with(
    sock: UdpSocket,
    config: UdpRpcConfig,
    handler: impl Fn(&[u8]) -> Vec<u8> + Send + Sync + 'static,
) -> Result<ServerHandle, NetError> {
    let local = sock
        .local_addr()
        .map_err(|e| NetError::from_io("a udp socket", e))?;
    let io = |e| NetError::from_io(local, e);
    let sock = Arc::new(sock);
    let shared = Arc::new(Shared::default());
    let state = Arc::new(State {
        config: config.clone(),
        cache: Mutex::default(),
    });
    let handler: Arc<super::reactor::RpcHandler> = Arc::new(handler);
    let (tx, rx) = mpsc::sync_channel::<Job>(config.queue.max(1));
    let rx = Arc::new(Mutex::new(rx));
    let mut threads = Vec::new();
    for i in 0..config.workers.max(1) {
        let (rx, sock, shared, state, handler) = (
            rx.clone(),
            sock.clone(),
            shared.clone(),
            state.clone(),
            handler.clone(),
        );
        threads.push(
            thread::Builder::new()
                .name(format!("lockstep-udp-worker-{i}"))
                .spawn(move || {
                    loop {
                        let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok((key, body, queued)) = job else { return };
                        if !shared.stopping() {
                            // (Stopping: dropped, not run; shutdown waits only for running
                            // requests.)
                            let reply = catch_unwind(AssertUnwindSafe(|| handler(&body)));
                            shared.count_message();
                            answer(&sock, &shared, &state, key, reply.ok());
                        }
                        // Relaxed: a count bounding the queue; nothing is published through it.
                        queued.fetch_sub(1, Relaxed);
                    }
                })
                .map_err(io)?,
        );
    }
    {
        let (sock, shared) = (sock.clone(), shared.clone());
        threads.insert(
            0,
            thread::Builder::new()
                .name("lockstep-udp-rpc".into())
                .spawn(move || receive_loop(&sock, local, &shared, &state, tx))
                .map_err(io)?,
        );
    }
    Ok(ServerHandle {
        shared,
        stop_timeout: config.stop_timeout,
        label: local.to_string(),
        local: Some(local),
        wake: Some(super::datagram::waker(local)),
        closers: Arc::new(Registry::default()),
        threads,
        cleanup: None,
    })
}

/// Sends (and caches) the reply to `key`; `None`: the handler panicked.
fn answer(sock: &UdpSocket, shared: &Shared, state: &State, key: Key, reply: Option<Vec<u8>>) {
    let (peer, epoch, seq) = key;
    let mut out = Vec::new();
    let failed = |out: &mut Vec<u8>, why: &str| {
        shared.log_error(format!("{peer}: {why}"));
        encode_envelope(out, FAILED, epoch, seq, why.as_bytes());
    };
    match reply {
        None => failed(&mut out, "the request handler panicked"),
        Some(r) if r.len() + ENVELOPE_LEN > MAX_DATAGRAM => failed(
            &mut out,
            &format!(
                "its reply of {} bytes exceeds the largest datagram payload of {} bytes",
                r.len(),
                MAX_DATAGRAM - ENVELOPE_LEN
            ),
        ),
        Some(r) => {
            encode_envelope(&mut out, REPLY, epoch, seq, &r);
            // Cached before it is sent: a retransmission that crosses the reply finds it.
            let r: Arc<[u8]> = Arc::from(r);
            let len = r.len();
            let cache = |f: &dyn Fn(&mut ReplyCache)| {
                let mut cache = state.cache.lock().unwrap_or_else(|p| p.into_inner());
                f(&mut cache);
                shared.set_cache_bytes(cache.total);
            };
            cache(&|c| c.insert(key, r.clone(), &state.config));
            match sock.send_to(&out, peer) {
                Ok(_) => return,
                Err(e) if e.raw_os_error() == Some(libc_emsgsize()) => {
                    cache(&|c| c.remove(&key));
                    failed(
                        &mut out,
                        &format!("its reply of {len} bytes is too large to send"),
                    );
                }
                Err(e) => {
                    shared.log_error(format!("{peer}: {e}"));
                    return;
                }
            }
        }
    }
    if let Err(e) = sock.send_to(&out, peer) {
        shared.log_error(format!("{peer}: {e}"));
    }
}

/// `EMSGSIZE`: the datagram is larger than the socket can send.
fn libc_emsgsize() -> i32 {
    #[cfg(target_os = "linux")]
    {
        libc::EMSGSIZE
    }
    #[cfg(not(target_os = "linux"))]
    {
        40
    }
}

fn receive_loop(
    sock: &UdpSocket,
    local: SocketAddr,
    shared: &Shared,
    state: &State,
    jobs: mpsc::SyncSender<Job>,
) {
    // each client's state, its count of requests on the pool, and whether it was heard from
    // again since it last came to the front of `order` (see below)
    let mut peers: HashMap<SocketAddr, (PeerState, Arc<AtomicUsize>, bool)> = HashMap::new();
    let mut order: VecDeque<SocketAddr> = VecDeque::new();
    // One byte more than the largest payload: a datagram that fills it was truncated.
    let mut buf = vec![0; MAX_DATAGRAM + 1];
    let mut out = Vec::new();
    while !shared.stopping() {
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(r) => r,
            Err(e) => {
                shared.log_error(format!("{local}: {e}"));
                continue;
            }
        };
        if shared.stopping() {
            break;
        }
        if n > MAX_DATAGRAM {
            shared.log_error(format!(
                "{from}: a datagram of more than {MAX_DATAGRAM} bytes was truncated; refused"
            ));
            continue;
        }
        let Some(Envelope {
            kind,
            epoch,
            seq,
            payload,
        }) = decode_envelope(&buf[..n])
        else {
            shared.log_error(format!("{from}: a datagram of {n} bytes is no envelope"));
            continue;
        };
        if !matches!(kind, MSG | MSG_RECEIPT | REQUEST) {
            shared.log_error(format!("{from}: unexpected message kind {kind}"));
            continue;
        }
        if let Some((_, _, again)) = peers.get_mut(&from) {
            *again = true;
        } else {
            if peers.len() >= state.config.max_peers.max(1) {
                // The oldest client goes, with a second chance for one heard from again since
                // it last came to the front: a crowd of addresses that send once each cannot
                // push out a client that keeps talking (and make its retransmissions run
                // twice).
                let mut chances = order.len();
                while let Some(oldest) = order.pop_front() {
                    if let Some((_, _, again)) = peers.get_mut(&oldest)
                        && *again
                        && chances > 0
                    {
                        *again = false;
                        chances -= 1;
                        order.push_back(oldest);
                        continue;
                    }
                    peers.remove(&oldest);
                    let mut cache = state.cache.lock().unwrap_or_else(|p| p.into_inner());
                    cache.forget(oldest);
                    shared.set_cache_bytes(cache.total);
                    break;
                }
            }
            order.push_back(from);
            shared.count_accepted();
        }
        let (peer, queued, _) = peers.entry(from).or_default();
        let fresh = peer.check(epoch, seq);
        let answer: Option<(u8, Arc<[u8]>)> = match (kind, fresh) {
            (_, Fresh::Stale) => None, // a replaced incarnation of this client
            (MSG | MSG_RECEIPT, f) => {
                if f == Fresh::New {
                    peer.record(seq);
                    shared.count_message();
                }
                (kind == MSG_RECEIPT).then(|| (ACK, Arc::from(&[][..])))
            }
            // Relaxed: a count bounding the queue, incremented only on this thread.
            (_, Fresh::New) if queued.load(Relaxed) >= state.config.queue_per_peer.max(1) => {
                None // this client has its share of the queue: the retransmission comes back
            }
            (_, Fresh::New) => {
                // Counted before a worker can see it (and uncount it).
                queued.fetch_add(1, Relaxed);
                let job = ((from, epoch, seq), payload.to_vec(), queued.clone());
                match jobs.try_send(job) {
                    // Recorded once a worker has it: a repeat is then never run again.
                    Ok(()) => peer.record(seq),
                    Err(e) => {
                        queued.fetch_sub(1, Relaxed);
                        match e {
                            // the retransmission comes back
                            mpsc::TrySendError::Full(_) => {}
                            mpsc::TrySendError::Disconnected(_) => break,
                        }
                    }
                }
                None
            }
            // A repeated request: the kept reply again, if it is kept (else it still runs,
            // or its reply was too large to keep).
            (_, Fresh::Repeat) => state
                .cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&(from, epoch, seq))
                .map(|r| (REPLY, r)),
        };
        if let Some((kind, body)) = answer {
            encode_envelope(&mut out, kind, epoch, seq, &body);
            if let Err(e) = sock.send_to(&out, from) {
                shared.log_error(format!("{from}: {e}"));
            }
        }
    }
}
