//! The RPC server over UDP: many clients on one socket, each request answered exactly once.
//!
//! Each client is an [`Endpoint`](crate::comm::Endpoint) over a UDP transport connected to the
//! server. The server keeps, per client address, the duplicate filter of the communication
//! types and its most recent replies: a retransmitted request whose reply was lost gets the
//! cached reply again, and the handler never runs twice for one request. Synchronous messages
//! are acknowledged (again, if repeated) and counted. The state is bounded: at most
//! [`UDP_PEERS`] clients are remembered, the oldest forgotten first.

use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::thread;

use super::{ServerHandle, Shared, pool::Registry};
use crate::NetError;
use crate::comm::{
    ACK, Envelope, Fresh, MSG, MSG_RECEIPT, PeerState, REPLY, REQUEST, decode_envelope,
    encode_envelope,
};
use crate::transport::udp::MAX_DATAGRAM;

/// How many client addresses a UDP RPC server remembers.
pub const UDP_PEERS: usize = 1024;

/// Replies kept per client for answering retransmitted requests.
const REPLIES_PER_PEER: usize = 64;

/// Runs an RPC server on a bound UDP socket: each request from an
/// [`Endpoint`](crate::comm::Endpoint) is answered with `handler(request body)`, exactly once
/// however often the client retransmits it.
///
/// # Errors
///
/// [`NetError::Io`] if the socket's address cannot be read.
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
    mut handler: impl FnMut(&[u8]) -> Vec<u8> + Send + 'static,
) -> Result<ServerHandle, NetError> {
    let local = sock
        .local_addr()
        .map_err(|e| NetError::from_io("a udp socket", e))?;
    let shared = Arc::new(Shared::default());
    let thread = {
        let shared = shared.clone();
        thread::Builder::new()
            .name("lockstep-udp-rpc".into())
            .spawn(move || {
                let mut peers: HashMap<SocketAddr, PeerState> = HashMap::new();
                let mut order: VecDeque<SocketAddr> = VecDeque::new();
                let mut buf = vec![0; MAX_DATAGRAM + 1];
                let mut out = Vec::new();
                let mut body;
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
                    if !peers.contains_key(&from) {
                        if peers.len() >= UDP_PEERS
                            && let Some(oldest) = order.pop_front()
                        {
                            peers.remove(&oldest);
                        }
                        order.push_back(from);
                        shared.count_accepted();
                    }
                    let peer = peers.entry(from).or_default();
                    if !matches!(kind, MSG | MSG_RECEIPT | REQUEST) {
                        shared.log_error(format!("{from}: unexpected message kind {kind}"));
                        continue;
                    }
                    let fresh = peer.check(epoch, seq);
                    if fresh == Fresh::New {
                        peer.record(seq);
                    }
                    let answer: Option<(u8, &[u8])> = match (kind, fresh) {
                        (_, Fresh::Stale) => None, // a replaced incarnation of this client
                        (MSG | MSG_RECEIPT, f) => {
                            if f == Fresh::New {
                                shared.count_message();
                            }
                            (kind == MSG_RECEIPT).then_some((ACK, &[][..]))
                        }
                        (_, Fresh::New) => {
                            body = handler(payload);
                            shared.count_message();
                            peer.keep_reply(seq, &body, REPLIES_PER_PEER);
                            Some((REPLY, &body[..]))
                        }
                        // A repeated request: the kept reply again, if it is still kept.
                        (_, Fresh::Repeat) => peer.reply_to(seq).map(|r| (REPLY, r)),
                    };
                    if let Some((kind, body)) = answer {
                        encode_envelope(&mut out, kind, epoch, seq, body);
                        if let Err(e) = sock.send_to(&out, from) {
                            shared.log_error(format!("{from}: {e}"));
                        }
                    }
                }
            })
            .expect("spawning the udp rpc server thread")
    };
    Ok(ServerHandle {
        shared,
        label: local.to_string(),
        local: Some(local),
        wake: Some(super::datagram::waker(local)),
        closers: Arc::new(Registry::default()),
        threads: vec![thread],
        cleanup: None,
    })
}
