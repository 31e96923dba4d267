//! The lecture's socket scenarios as functions returning a [`Report`], for `lockstep lecture`:
//! everything on loopback with ephemeral ports, so that they run anywhere and in parallel.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{ServerConfig, raw_echo_server, udp_server};
use crate::NetError;
use crate::comm::{Endpoint, Incoming};
use crate::lecture::Report;
use crate::transport::{Transport, tcp, udp};

const T: Duration = Duration::from_secs(5);

/// The lecture's socket programs: a UDP server receiving the 11 bytes `Hello World`, a TCP
/// echo server sending them back, `send(170) + send(230)` arriving as one `receive(400)` on a
/// raw stream and as two framed messages, a non-blocking receive, and a busy port reported
/// with the way to find its holder.
///
/// # Examples
///
/// ```
/// let r = lockstep_hosted::server::sockets();
/// assert!(r.pass, "{r}");
/// assert_eq!(r.got, "Hello World; 400 -> 170 + 230");
/// ```
pub fn sockets() -> Report {
    let start = Instant::now();
    let mut notes = Vec::new();
    let result = run(&mut notes);
    let (got, pass) = match result {
        Ok(got) => {
            let pass = got == "Hello World; 400 -> 170 + 230";
            (got, pass)
        }
        Err(e) => (format!("error: {e}"), false),
    };
    Report {
        name: "sockets",
        expected: "Hello World; 400 -> 170 + 230".into(),
        got,
        pass,
        elapsed: start.elapsed(),
        notes,
    }
}

fn run(notes: &mut Vec<String>) -> Result<String, NetError> {
    let any = "127.0.0.1:0".parse().expect("literal");
    // UDP: one datagram, printed by the server.
    let (tx, rx) = mpsc::channel();
    let server = udp_server(udp::bind(any)?, move |b, _| {
        let _ = tx.send(b.to_vec());
        None
    })?;
    let addr = server.local_addr().expect("an ip server");
    udp::connect(addr)?.send(b"Hello World")?;
    let got = rx
        .recv_timeout(T)
        .map_err(|_| NetError::timeout(addr, "the datagram", T))?;
    notes.push(format!(
        "udp server {addr}: Received: {}",
        String::from_utf8_lossy(&got)
    ));
    drop(server);

    // TCP: the echo.
    let server = raw_echo_server(tcp::listen(any)?, ServerConfig::default(), |_, _| {});
    let addr = server.local_addr().expect("an ip server");
    let io = |e| NetError::from_io(addr, e);
    let mut c = TcpStream::connect(addr).map_err(io)?;
    c.set_read_timeout(Some(T)).map_err(io)?;
    c.write_all(b"Hello World").map_err(io)?;
    let mut echo = [0; 11];
    c.read_exact(&mut echo).map_err(io)?;
    notes.push(format!(
        "tcp echo server {addr}: sent 11 bytes, echoed: {}",
        String::from_utf8_lossy(&echo)
    ));
    let echoed = String::from_utf8_lossy(&echo).into_owned();

    // A busy port.
    if let Err(e) = tcp::listen(addr) {
        notes.push(format!("a second server on the same port: {e}"));
    }
    drop(server);

    // Boundaries.
    let (raw_reads, framed) = crate::lecture::boundaries()?;
    let raw = raw_reads.first().copied().unwrap_or(0);
    let (first, second) = (framed[0], framed[1]);
    notes.push(format!(
        "raw stream: send(170) + send(230) -> receive = {raw} bytes"
    ));
    notes.push(format!(
        "framed: send(170) + send(230) -> {first} bytes, then {second} bytes"
    ));

    // The four communication types with a missing receipt.
    let (mut a, b) = udp::pair()?;
    assert_nonblocking(&mut a, notes)?;
    let (mut client, mut peer) = (Endpoint::new(a), Endpoint::new(b));
    let missing = client
        .send_sync(b"anyone?", Duration::from_millis(50))
        .err();
    if let Some(e) = missing {
        notes.push(format!("synchronous message, receiver not listening: {e}"));
    }
    if let Ok(Incoming::Message(m)) = peer.recv(Some(T)) {
        notes.push(format!(
            "(it arrives once the receiver listens: {:?})",
            String::from_utf8_lossy(&m)
        ));
    }
    Ok(format!("{echoed}; {raw} -> {first} + {second}"))
}

fn assert_nonblocking(t: &mut impl Transport, notes: &mut Vec<String>) -> Result<(), NetError> {
    let start = Instant::now();
    match t.recv(Some(Duration::ZERO)) {
        Err(e) if e.is_timeout() => {
            notes.push(format!(
                "non-blocking receive with nothing to read returned after {:?}",
                start.elapsed()
            ));
            Ok(())
        }
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    }
}
