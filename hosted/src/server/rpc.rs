//! The RPC server: each request on a connection is answered by a handler.

use super::{Conn, Listener, ServerConfig, ServerHandle, serve};
use crate::comm::{Endpoint, Incoming};
use crate::transport::framing::Framed;

/// Runs an RPC server: every request (an [`Endpoint::call`] or [`Endpoint::request`] at the
/// client) is answered with `handler(request body)`; messages are counted and dropped (their
/// receipts are still sent).
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
    serve(listener, config, move |s: L::Stream, conn: &Conn<'_>| {
        let idle = conn.config().idle_timeout;
        let mut ep = Endpoint::new(Framed::new(s, conn.config().stream.max_frame));
        loop {
            match ep.recv(Some(idle))? {
                Incoming::Request(req) => {
                    let reply = handler(&req.body);
                    conn.count_message();
                    ep.reply(&req, &reply)?;
                }
                Incoming::Message(_) => conn.count_message(),
            }
        }
    })
}
