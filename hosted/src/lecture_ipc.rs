//! The lecture's IPC scenarios over real sockets, as functions returning a [`Report`]: the
//! `sockets` tour and the four communication types. Everything binds to an ephemeral port on
//! 127.0.0.1 or a socket file in the temp dir, so the scenarios never clash with a running
//! `lockstep tcp-server` on 5242.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::NetError;
use crate::comm::{Endpoint, Incoming};
use crate::lecture::Report;
use crate::server::{ServerConfig, raw_echo_server, udp_server};
use crate::transport::tcp::{self, StreamConfig};
use crate::transport::{Framed, Transport, udp, unix};

const HELLO: &[u8] = b"Hello World";
const WAIT: Duration = Duration::from_secs(5);

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// What `sockets` found, step by step.
fn socket_steps(notes: &mut Vec<String>) -> Result<Vec<bool>, NetError> {
    let mut ok = Vec::new();

    // UDP: the lecture's datagram server prints what the client sent.
    let (tx, rx) = mpsc::channel();
    let server = udp_server(udp::bind(loopback())?, move |bytes, _| {
        let _ = tx.send(bytes.to_vec());
        None
    })?;
    let addr = server.local_addr().expect("a UDP server has an address");
    udp::connect(addr)?.send(HELLO)?;
    let got = rx.recv_timeout(WAIT).unwrap_or_default();
    notes.push(format!(
        "udp  {addr}: server Received: {}",
        String::from_utf8_lossy(&got)
    ));
    ok.push(got == HELLO);
    server.shutdown();

    // TCP: the echo server sends the 11 bytes back.
    let server = raw_echo_server(tcp::listen(loopback())?, ServerConfig::default(), |_, _| {});
    let addr = server.local_addr().expect("a TCP server has an address");
    let mut c = tcp::connect_raw(addr, &StreamConfig::default())?;
    let io = |e| NetError::from_io(addr, e);
    c.write_all(HELLO).map_err(io)?;
    let mut back = [0; 11];
    c.read_exact(&mut back).map_err(io)?;
    notes.push(format!(
        "tcp  {addr}: echo {}",
        String::from_utf8_lossy(&back)
    ));
    ok.push(back == HELLO);

    // A busy port is reported with the port and how to find its holder.
    match tcp::listen(addr) {
        Err(e) => {
            let msg = e.to_string();
            notes.push(format!("tcp  {addr} again: {msg}"));
            ok.push(msg.contains(&addr.port().to_string()));
        }
        Ok(_) => {
            notes.push(format!("tcp  {addr} again: bound twice?!"));
            ok.push(false);
        }
    }
    drop(c);
    server.shutdown();

    // Unix stream: the same echo on a socket file.
    let path = std::env::temp_dir().join(format!("lockstep-lecture-{}.sock", std::process::id()));
    let server = raw_echo_server(unix::listen(&path)?, ServerConfig::default(), |_, _| {});
    let mut c = unix::connect_raw(&path, &StreamConfig::default())?;
    let io = |e| NetError::from_io(path.display().to_string(), e);
    c.write_all(HELLO).map_err(io)?;
    let mut back = [0; 11];
    c.read_exact(&mut back).map_err(io)?;
    notes.push(format!(
        "unix {}: echo {}",
        path.display(),
        String::from_utf8_lossy(&back)
    ));
    ok.push(back == HELLO);
    drop(c);
    server.shutdown();
    let _ = std::fs::remove_file(&path);

    // Message boundaries: lost on a raw stream, restored by framing.
    let (raw, framed) = boundaries()?;
    notes.push(format!(
        "send(170) + send(230) on a raw stream -> receive: {raw:?}"
    ));
    notes.push(format!(
        "the same through length-prefixed framing -> {framed:?}"
    ));
    ok.push(framed == [170, 230]);
    Ok(ok)
}

/// The lecture's lost message boundaries on a loopback TCP stream: returns the sizes the
/// receiver read from a raw stream after `send(170)` and `send(230)` (usually one read of 400),
/// and the message sizes it received through framing (always 170 and 230).
///
/// # Errors
///
/// Any socket error, with the address.
///
/// # Examples
///
/// ```
/// let (raw, framed) = lockstep_hosted::lecture::boundaries().unwrap();
/// assert_eq!(raw.iter().sum::<usize>(), 400);
/// assert_eq!(framed, [170, 230]);
/// ```
pub fn boundaries() -> Result<(Vec<usize>, Vec<usize>), NetError> {
    let l = tcp::listen(loopback())?;
    let a = l
        .local_addr()
        .map_err(|e| NetError::from_io("listener", e))?;
    let io = |e| NetError::from_io(a, e);
    let mut w = tcp::connect_raw(a, &StreamConfig::default())?;
    let (mut r, _) = l.accept().map_err(io)?;
    w.write_all(&[b'a'; 170]).map_err(io)?;
    w.write_all(&[b'b'; 230]).map_err(io)?;
    // Read as a busy receiver would: once both sends have arrived.
    let mut buf = vec![0; 1024];
    let deadline = Instant::now() + WAIT;
    while r.peek(&mut buf).map_err(io)? < 400 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
    let mut raw = Vec::new();
    while raw.iter().sum::<usize>() < 400 {
        match r.read(&mut buf).map_err(io)? {
            0 => break,
            n => raw.push(n),
        }
    }
    let (mut fw, mut fr) = (Framed::new(w, 1024), Framed::new(r, 1024));
    fw.send(&[b'a'; 170])?;
    fw.send(&[b'b'; 230])?;
    let mut framed = Vec::new();
    for _ in 0..2 {
        framed.push(fr.recv(Some(WAIT))?.len());
    }
    Ok((raw, framed))
}

/// UDP and TCP servers and clients on loopback (the lecture's `Hello World`), a Unix stream
/// echo, a busy port reported clearly, and message boundaries lost on a raw stream and restored
/// by framing.
///
/// # Examples
///
/// ```
/// let r = lockstep_hosted::lecture::sockets();
/// assert!(r.pass, "{r}");
/// ```
pub fn sockets() -> Report {
    let start = Instant::now();
    let mut notes = Vec::new();
    let steps = socket_steps(&mut notes);
    let (expected, got, pass) = match steps {
        Ok(ok) => {
            let n = ok.iter().filter(|o| **o).count();
            (
                format!("{0}/{0} checks", ok.len()),
                format!("{n}/{} checks", ok.len()),
                n == ok.len(),
            )
        }
        Err(e) => ("no error".into(), format!("error: {e}"), false),
    };
    Report {
        name: "sockets",
        expected,
        got,
        pass,
        elapsed: start.elapsed(),
        notes,
    }
}

/// The four elementary communication types over UDP with receipts, sequence numbers and
/// retransmission: asynchronous message, synchronous message, asynchronous request (a ticket
/// collected later), synchronous request; then a missing receipt detected by its timeout.
///
/// # Examples
///
/// ```
/// let r = lockstep_hosted::lecture::comm_types();
/// assert!(r.pass, "{r}");
/// ```
pub fn comm_types() -> Report {
    let start = Instant::now();
    let mut notes = Vec::new();
    let result = comm_steps(&mut notes);
    let (expected, got, pass) = match result {
        Ok(ok) => {
            let n = ok.iter().filter(|o| **o).count();
            (
                format!("{0}/{0} behaved", ok.len()),
                format!("{n}/{} behaved", ok.len()),
                n == ok.len(),
            )
        }
        Err(e) => ("no error".into(), format!("error: {e}"), false),
    };
    Report {
        name: "comm-types",
        expected,
        got,
        pass,
        elapsed: start.elapsed(),
        notes,
    }
}

fn comm_steps(notes: &mut Vec<String>) -> Result<Vec<bool>, NetError> {
    let (a, b) = udp::pair()?;
    let (mut client, mut server) = (Endpoint::new(a), Endpoint::new(b));
    let receiver = thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..4 {
            match server.recv(Some(WAIT)) {
                Ok(Incoming::Message(m)) => seen.push(m),
                Ok(Incoming::Request(r)) => {
                    let reply = r.body.to_ascii_uppercase();
                    if server.reply(&r, &reply).is_err() {
                        break;
                    }
                    seen.push(r.body.clone());
                }
                Err(_) => break,
            }
        }
        (server, seen)
    });
    let mut ok = Vec::new();
    let t = Instant::now();
    client.send(b"asynchronous message")?;
    notes.push(format!(
        "asynchronous message: sent; the sender went on after {:?}",
        t.elapsed()
    ));
    ok.push(true);
    let t = Instant::now();
    let receipt = client.send_sync(b"synchronous message", WAIT);
    notes.push(format!(
        "synchronous message: receipt {:?} after {:?}",
        receipt.is_ok(),
        t.elapsed()
    ));
    ok.push(receipt.is_ok());
    let ticket = client.request(b"asynchronous request")?;
    notes.push("asynchronous request: ticket taken, the caller works on".into());
    let reply = client.call(b"synchronous request", WAIT)?;
    notes.push(format!(
        "synchronous request: reply {:?}",
        String::from_utf8_lossy(&reply)
    ));
    ok.push(reply == b"SYNCHRONOUS REQUEST");
    let reply = client.collect(&ticket, WAIT)?;
    notes.push(format!(
        "asynchronous request: collected {:?}",
        String::from_utf8_lossy(&reply)
    ));
    ok.push(reply == b"ASYNCHRONOUS REQUEST");
    let (_deaf, seen) = receiver.join().expect("the receiver thread does not panic");
    let t = Instant::now();
    let missing = client.send_sync(b"is anyone there?", Duration::from_millis(200));
    notes.push(format!(
        "synchronous message to a receiver that no longer listens: {} after {:?}",
        match &missing {
            Err(e) => e.to_string(),
            Ok(()) => "a receipt?!".into(),
        },
        t.elapsed()
    ));
    ok.push(missing.is_err() && seen.len() == 4);
    Ok(ok)
}
