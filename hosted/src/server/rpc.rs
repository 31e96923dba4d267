//! The RPC server: each request on a connection is answered by a handler, on a worker pool.

use std::sync::Arc;

use super::reactor::Service;
use super::{Listener, ServerConfig, ServerHandle, start_events};

/// Runs an RPC server: every request (an [`Endpoint::call`](crate::comm::Endpoint::call) or
/// [`Endpoint::request`](crate::comm::Endpoint::request) at the
/// client) is answered with `handler(request body)`; messages are counted and dropped (their
/// receipts are still sent).
///
/// The handler runs on a pool of `config.workers` threads, so it may block: a slow request
/// delays no other client (as long as fewer than `workers` are slow at once), and one
/// connection occupies at most half the workers (rounded up) at once, its further requests
/// waiting their turn in order, so that a client with many slow requests leaves the others
/// room. Once a connection
/// has [`MAX_IN_FLIGHT`](super::MAX_IN_FLIGHT) requests running or waiting, the server reads no
/// more from it until one is answered. A client that closes its sending half still gets the
/// answers to what it sent; one that leaves, or resets the connection, has its requests that
/// still wait for a worker skipped (nobody could receive their replies), and keeps its place
/// under `config.max_connections` until they are. A handler that panics, or a reply over
/// the maximum frame size, is answered with [`NetError::Failed`](crate::NetError::Failed).
///
/// # Panics
///
/// If the event loop or the pool cannot be created (out of file descriptors or threads).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lockstep_hosted::comm::Endpoint;
/// use lockstep_hosted::server::{rpc_server, ServerConfig};
/// use lockstep_hosted::transport::tcp;
///
/// let listener = tcp::listen("127.0.0.1:0".parse().unwrap()).unwrap();
/// let server = rpc_server(listener, ServerConfig::default(), |req| req.iter().rev().copied().collect());
/// let mut client = Endpoint::new(tcp::connect(server.local_addr().unwrap()).unwrap());
/// assert_eq!(client.call(b"abc", Duration::from_secs(5)).unwrap(), b"cba");
/// ```
pub fn rpc_server<L: Listener>(
    listener: L,
    config: ServerConfig,
    handler: impl Fn(&[u8]) -> Vec<u8> + Send + Sync + 'static,
) -> ServerHandle {
    start_events(listener, config, Service::Rpc(Arc::new(handler)))
        .expect("starting the server's event loop")
}
