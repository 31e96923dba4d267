//! The UDP datagram server: one datagram in, a handler called, an optional reply out.

use std::net::{SocketAddr, UdpSocket};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::{ServerHandle, Shared, pool::Registry};
use crate::NetError;
use crate::transport::udp::MAX_DATAGRAM;

/// Runs a UDP server on a bound socket: for each datagram `handle(bytes, sender)` runs, and
/// the bytes it returns, if any, go back to the sender.
///
/// The lecture's UDP server prints `Received: Hello World` and sends nothing back; a handler
/// returning `None` does that. A datagram over [`MAX_DATAGRAM`] bytes (possible over IPv6,
/// truncated by the kernel) is refused and logged, never handled. A handler that panics loses
/// that datagram only: the panic is logged in [`Stats::errors`](super::Stats::errors) and the
/// server goes on.
///
/// # Errors
///
/// [`NetError::Io`] if the socket's address cannot be read.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lockstep_hosted::server::udp_server;
/// use lockstep_hosted::transport::{udp, Transport};
///
/// let sock = udp::bind("127.0.0.1:0".parse().unwrap()).unwrap();
/// let server = udp_server(sock, |bytes, _from| Some(bytes.to_ascii_uppercase())).unwrap();
/// let mut c = udp::connect(server.local_addr().unwrap()).unwrap();
/// c.send(b"Hello World").unwrap();
/// assert_eq!(c.recv(Some(Duration::from_secs(5))).unwrap(), b"HELLO WORLD");
/// ```
pub fn udp_server(
    sock: UdpSocket,
    mut handle: impl FnMut(&[u8], SocketAddr) -> Option<Vec<u8>> + Send + 'static,
) -> Result<ServerHandle, NetError> {
    let local = sock
        .local_addr()
        .map_err(|e| NetError::from_io("a udp socket", e))?;
    let shared = Arc::new(Shared::default());
    let thread = {
        let shared = shared.clone();
        thread::Builder::new()
            .name("lockstep-udp".into())
            .spawn(move || {
                let mut buf = vec![0; MAX_DATAGRAM + 1];
                while !shared.stopping() {
                    match sock.recv_from(&mut buf) {
                        Ok((n, from)) => {
                            if shared.stopping() {
                                break;
                            }
                            if n > MAX_DATAGRAM {
                                // It filled the buffer of one byte more than the largest
                                // payload: the kernel cut it short.
                                shared.log_error(format!(
                                    "{from}: a datagram of more than {MAX_DATAGRAM} bytes was truncated; refused"
                                ));
                                continue;
                            }
                            shared.count_accepted();
                            shared.count_message();
                            // A handler that panics on some datagram loses that datagram
                            // only: the server logs it and serves on.
                            let reply = catch_unwind(AssertUnwindSafe(|| handle(&buf[..n], from)));
                            match reply {
                                Ok(Some(reply)) if reply.len() > MAX_DATAGRAM => {
                                    shared.log_error(format!(
                                        "{from}: the handler's reply of {} bytes exceeds the \
                                         largest datagram ({MAX_DATAGRAM} bytes); not sent",
                                        reply.len()
                                    ));
                                }
                                Ok(Some(reply)) => {
                                    if let Err(e) = sock.send_to(&reply, from) {
                                        shared.log_error(format!("{from}: {e}"));
                                    }
                                }
                                Ok(None) => {}
                                Err(_) => shared.log_error(format!(
                                    "{from}: the handler panicked on a datagram of {n} bytes"
                                )),
                            }
                        }
                        // A previous reply's ICMP "port unreachable" shows up here on some
                        // systems; it concerns that client only.
                        Err(e) => shared.log_error(format!("{local}: {e}")),
                    }
                }
            })
            .expect("spawning the udp server thread")
    };
    let wake = waker(local);
    Ok(ServerHandle {
        shared,
        stop_timeout: super::STOP_TIMEOUT,
        label: local.to_string(),
        local: Some(local),
        wake: Some(wake),
        closers: Arc::new(Registry::default()),
        threads: vec![thread],
        cleanup: None,
    })
}

/// Unblocks a thread in `recv_from` on `local` by sending it an empty datagram.
pub(crate) fn waker(local: SocketAddr) -> Box<dyn Fn() + Send + Sync> {
    Box::new(move || {
        let mut to = local;
        if to.ip().is_unspecified() {
            to.set_ip(if to.is_ipv6() {
                std::net::Ipv6Addr::LOCALHOST.into()
            } else {
                std::net::Ipv4Addr::LOCALHOST.into()
            });
        }
        let from: SocketAddr = if to.is_ipv6() {
            "[::1]:0"
        } else {
            "127.0.0.1:0"
        }
        .parse()
        .expect("literal");
        if let Ok(s) = UdpSocket::bind(from) {
            let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = s.send_to(&[], to);
        }
    })
}
