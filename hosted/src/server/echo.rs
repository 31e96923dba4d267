//! Echo servers over streams: raw bytes (the lecture's C server, which `nc` and `socat` can
//! talk to) and framed messages (the multi-client server of the load tests).

use super::reactor::Service;
use super::{Listener, ServerConfig, ServerHandle, start_events};

/// Runs a raw echo server: every chunk of bytes read is passed to `observe` (with the
/// client's address) and written back unchanged. No framing, no terminator: the lecture's
/// 11 bytes `Hello World` come back as they went. `observe` runs on the event loop: it should
/// be quick (printing is). If it panics, that client's connection is closed and the panic
/// logged in [`Stats::errors`](super::Stats::errors); the others are served on.
///
/// # Panics
///
/// If the event loop cannot be created (out of file descriptors or threads).
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use lockstep_hosted::server::{raw_echo_server, ServerConfig};
/// use lockstep_hosted::transport::tcp;
///
/// let listener = tcp::listen("127.0.0.1:0".parse().unwrap()).unwrap();
/// let server = raw_echo_server(listener, ServerConfig::default(), |_, _| {});
/// let mut c = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
/// c.write_all(b"Hello World").unwrap();
/// let mut back = [0; 11];
/// c.read_exact(&mut back).unwrap();
/// assert_eq!(&back, b"Hello World");
/// ```
pub fn raw_echo_server<L: Listener>(
    listener: L,
    config: ServerConfig,
    observe: impl Fn(&str, &[u8]) + Send + Sync + 'static,
) -> ServerHandle {
    start_events(listener, config, Service::RawEcho(Box::new(observe)))
        .expect("starting the server's event loop")
}

/// Runs a framed echo server: every frame received is sent back as one frame. A frame over
/// `config.stream.max_frame`, a truncated frame or an idle client closes that connection only.
///
/// # Panics
///
/// If the event loop cannot be created (out of file descriptors or threads).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lockstep_hosted::server::{framed_echo_server, ServerConfig};
/// use lockstep_hosted::transport::{tcp, Transport};
///
/// let listener = tcp::listen("127.0.0.1:0".parse().unwrap()).unwrap();
/// let server = framed_echo_server(listener, ServerConfig::default());
/// let mut c = tcp::connect(server.local_addr().unwrap()).unwrap();
/// c.send(&[1; 170]).unwrap();
/// c.send(&[2; 230]).unwrap();
/// assert_eq!(c.recv(Some(Duration::from_secs(5))).unwrap().len(), 170);
/// assert_eq!(c.recv(Some(Duration::from_secs(5))).unwrap().len(), 230);
/// ```
pub fn framed_echo_server<L: Listener>(listener: L, config: ServerConfig) -> ServerHandle {
    start_events(listener, config, Service::FramedEcho).expect("starting the server's event loop")
}
