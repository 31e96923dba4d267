//! Echo servers over streams: raw bytes (the lecture's C server, which `nc` and `socat` can
//! talk to) and framed messages (the multi-client server of the load tests).

use std::io::{self, Read, Write};

use super::{Conn, Listener, ServerConfig, ServerHandle, serve};
use crate::NetError;
use crate::transport::Transport;
use crate::transport::framing::Framed;

/// Runs a raw echo server: every chunk of bytes read is passed to `observe` (with the
/// client's address) and written back unchanged. No framing, no terminator: the lecture's
/// 11 bytes `Hello World` come back as they went.
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
    serve(
        listener,
        config,
        move |mut s: L::Stream, conn: &Conn<'_>| {
            let mut buf = vec![0; 16 * 1024];
            loop {
                let n = match s.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        return Err(NetError::timeout(
                            conn.peer(),
                            "data",
                            conn.config().idle_timeout,
                        ));
                    }
                    Err(e) => return Err(NetError::from_io(conn.peer(), e)),
                };
                observe(conn.peer(), &buf[..n]);
                conn.count_message();
                s.write_all(&buf[..n])
                    .map_err(|e| NetError::from_io(conn.peer(), e))?;
            }
        },
    )
}

/// Runs a framed echo server: every frame received is sent back as one frame. A frame over
/// `config.stream.max_frame`, a truncated frame or an idle client closes that connection only.
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
    serve(listener, config, |s: L::Stream, conn: &Conn<'_>| {
        let idle = conn.config().idle_timeout;
        let mut t = Framed::new(s, conn.config().stream.max_frame);
        let mut buf = Vec::new();
        loop {
            t.recv_into(&mut buf, Some(idle))?;
            conn.count_message();
            t.send(&buf)?;
        }
    })
}
