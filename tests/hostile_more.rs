//! More hostile peers, on loopback and Unix sockets in a temporary directory: bad length
//! prefixes (zero, just over the maximum, `u32::MAX`), garbage, a frame one byte at a time,
//! a reset in the middle of a frame, clients that connect and vanish, a client that floods
//! requests and never reads, a server stopped with slow requests queued, broker subscriptions
//! of absurd size, hostile datagrams, and hostile *servers* answering a client with malformed
//! replies. After each attack a good client is served promptly and the server stops promptly.
//! Every test is bounded in time and size.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use lockstep::lockstep_hosted::NetError;
use lockstep::lockstep_hosted::comm::{ENVELOPE_LEN, Endpoint, Incoming};
use lockstep::lockstep_hosted::server::{
    Broker, BrokerConfig, MAX_TOPIC_BYTES, Publisher, ServerConfig, ServerHandle, Subscriber,
    UdpRpcConfig, framed_echo_server, raw_echo_server, rpc_server, udp_rpc_server,
    udp_rpc_server_with, udp_server,
};
use lockstep::lockstep_hosted::transport::framing::{GOODBYE, encode};
use lockstep::lockstep_hosted::transport::tcp::StreamConfig;
use lockstep::lockstep_hosted::transport::{Transport, tcp, udp, unix};

const T: Duration = Duration::from_secs(5);

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Kinds of the envelope (see `lockstep_hosted::comm`).
const MSG: u8 = 0;
const MSG_RECEIPT: u8 = 1;
const ACK: u8 = 2;
const REQUEST: u8 = 3;
const REPLY: u8 = 4;

fn envelope(kind: u8, epoch: u32, seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![kind];
    v.extend_from_slice(&epoch.to_le_bytes());
    v.extend_from_slice(&seq.to_le_bytes());
    v.extend_from_slice(payload);
    v
}

/// A raw connection to a stream server, TCP or Unix.
enum Raw {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Raw {
    fn stream(&mut self) -> &mut dyn ReadWrite {
        match self {
            Raw::Tcp(s) => s,
            Raw::Unix(s) => s,
        }
    }
    fn set_read_timeout(&self, t: Duration) {
        match self {
            Raw::Tcp(s) => s.set_read_timeout(Some(t)).unwrap(),
            Raw::Unix(s) => s.set_read_timeout(Some(t)).unwrap(),
        }
    }
}

trait ReadWrite: Read + Write {}
impl<S: Read + Write> ReadWrite for S {}

/// Where a stream server listens.
#[derive(Clone)]
enum At {
    Tcp(SocketAddr),
    Unix(std::path::PathBuf),
}

impl At {
    fn raw(&self) -> Raw {
        match self {
            At::Tcp(a) => Raw::Tcp(TcpStream::connect(a).unwrap()),
            At::Unix(p) => Raw::Unix(UnixStream::connect(p).unwrap()),
        }
    }
    fn framed(&self) -> Box<dyn Transport> {
        match self {
            At::Tcp(a) => Box::new(tcp::connect(*a).unwrap()),
            At::Unix(p) => Box::new(unix::connect(p).unwrap()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Echo,
    Rpc,
    Broker,
}

fn start(kind: Kind, unix_dir: Option<&Path>, config: ServerConfig) -> (ServerHandle, At) {
    let handler = |req: &[u8]| req.to_ascii_uppercase();
    match unix_dir {
        None => {
            let l = tcp::listen(loopback()).unwrap();
            let s = match kind {
                Kind::Echo => framed_echo_server(l, config),
                Kind::Rpc => rpc_server(l, config, handler),
                Kind::Broker => Broker::start(
                    l,
                    BrokerConfig {
                        server: config,
                        ..BrokerConfig::default()
                    },
                ),
            };
            let at = At::Tcp(s.local_addr().unwrap());
            (s, at)
        }
        Some(dir) => {
            let path = dir.join(format!("{kind:?}.sock"));
            let l = unix::listen(&path).unwrap();
            let s = match kind {
                Kind::Echo => framed_echo_server(l, config),
                Kind::Rpc => rpc_server(l, config, handler),
                Kind::Broker => Broker::start(
                    l,
                    BrokerConfig {
                        server: config,
                        ..BrokerConfig::default()
                    },
                ),
            };
            (s, At::Unix(path))
        }
    }
}

/// A well-behaved client of `kind` is served, within a second.
fn served(kind: Kind, at: &At) {
    let start = Instant::now();
    let t = at.framed();
    match kind {
        Kind::Echo => {
            let mut t = t;
            t.send(b"good").unwrap();
            assert_eq!(t.recv(Some(T)).unwrap(), b"good");
        }
        Kind::Rpc => {
            let mut ep = Endpoint::new(t);
            assert_eq!(ep.call(b"good", T).unwrap(), b"GOOD");
        }
        Kind::Broker => {
            let mut s = Subscriber::new(at.framed(), &["t"], T).unwrap();
            let mut p = Publisher::new(t);
            assert_eq!(p.publish_confirmed("t", b"good", T).unwrap(), 1);
            assert_eq!(s.next(Some(T)).unwrap().body, b"good");
        }
    }
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "a good client of the {kind:?} server waited {:?}",
        start.elapsed()
    );
}

/// Reads what the server sends until it closes (at most `limit`); `None` if it does not close.
fn read_to_close(raw: &mut Raw, limit: Duration) -> Option<Vec<u8>> {
    raw.set_read_timeout(Duration::from_millis(100));
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    while start.elapsed() < limit {
        match raw.stream().read(&mut buf) {
            Ok(0) => return Some(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(got),
            Err(_) => {}
        }
    }
    None
}

/// The reason in a goodbye (`GOODBYE`, then the reason as a frame) somewhere in `bytes`.
fn goodbye_reason(bytes: &[u8]) -> Option<String> {
    let g = GOODBYE.to_be_bytes();
    let at = bytes.windows(4).position(|w| w == g)?;
    let rest = &bytes[at + 4..];
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    Some(String::from_utf8_lossy(rest.get(4..4 + len)?).into_owned())
}

fn stops_promptly(server: ServerHandle) {
    let start = Instant::now();
    let stats = server.shutdown();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}: {stats:?}",
        start.elapsed()
    );
}

fn each_server(mut f: impl FnMut(Kind, &At, &ServerHandle), config: ServerConfig) {
    let dir = tempfile::tempdir().unwrap();
    for kind in [Kind::Echo, Kind::Rpc, Kind::Broker] {
        for unix in [false, true] {
            let (server, at) = start(kind, unix.then(|| dir.path()), config.clone());
            f(kind, &at, &server);
            served(kind, &at);
            stops_promptly(server);
        }
    }
}

#[test]
fn bad_length_prefixes_close_that_connection_with_a_reason() {
    let max = 64 * 1024;
    let config = ServerConfig {
        stream: StreamConfig {
            max_frame: max,
            ..StreamConfig::default()
        },
        ..ServerConfig::default()
    };
    each_server(
        |kind, at, _| {
            for len in [u32::MAX, u32::MAX - 1, max as u32 + 1, 1 << 31] {
                let mut raw = at.raw();
                raw.stream().write_all(&len.to_be_bytes()).unwrap();
                let got = read_to_close(&mut raw, T).expect("closed");
                let why = goodbye_reason(&got).unwrap_or_default();
                assert!(
                    why.contains(&format!(
                        "frame of {len} bytes exceeds the maximum of {max}"
                    )),
                    "{kind:?}, length {len}: {why:?}"
                );
            }
            // A frame of exactly the maximum is accepted (the echo sends it back).
            if kind == Kind::Echo {
                let mut t = at.framed();
                let big = vec![7; max];
                t.send(&big).unwrap();
                assert_eq!(t.recv(Some(T)).unwrap(), big);
            }
            // An empty frame: echoed by the echo server, a malformed envelope elsewhere.
            let mut raw = at.raw();
            raw.stream().write_all(&0u32.to_be_bytes()).unwrap();
            if kind == Kind::Echo {
                raw.set_read_timeout(T);
                let mut back = [9; 4];
                raw.stream().read_exact(&mut back).unwrap();
                assert_eq!(back, [0; 4]);
            } else {
                let got = read_to_close(&mut raw, T).expect("closed");
                let why = goodbye_reason(&got).unwrap_or_default();
                assert!(why.contains("shorter than its header"), "{kind:?}: {why:?}");
            }
        },
        config,
    );
}

#[test]
fn garbage_and_unknown_kinds_close_that_connection_only() {
    each_server(
        |kind, at, _| {
            // A stranger speaking another protocol.
            let mut raw = at.raw();
            raw.stream()
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let got = read_to_close(&mut raw, T).expect("closed");
            if kind != Kind::Echo {
                assert!(goodbye_reason(&got).is_some(), "{kind:?}: {got:?}");
            }
            // Pseudo-random bytes.
            let mut x = 0x1234_5678_u32;
            let junk: Vec<u8> = (0..64 * 1024)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            let mut raw = at.raw();
            let _ = raw.stream().write_all(&junk);
            assert!(read_to_close(&mut raw, T).is_some(), "{kind:?}");
            // Well-framed envelopes of unknown kinds.
            if kind != Kind::Echo {
                for k in [6u8, 99, 255] {
                    let mut raw = at.raw();
                    raw.stream()
                        .write_all(&encode(&envelope(k, 1, 0, b"x")))
                        .unwrap();
                    let got = read_to_close(&mut raw, T).expect("closed");
                    let why = goodbye_reason(&got).unwrap_or_default();
                    assert!(why.contains("unknown"), "{kind:?}, kind {k}: {why:?}");
                }
            }
        },
        ServerConfig::default(),
    );
}

#[test]
fn a_frame_one_byte_at_a_time_is_served() {
    each_server(
        |kind, at, _| {
            let frame = match kind {
                Kind::Echo => encode(b"slowly"),
                _ => encode(&envelope(
                    REQUEST,
                    7,
                    0,
                    if kind == Kind::Rpc {
                        b"slowly"
                    } else {
                        b"P\x00\x01tslowly"
                    },
                )),
            };
            let mut raw = at.raw();
            for b in &frame {
                raw.stream().write_all(&[*b]).unwrap();
                raw.stream().flush().unwrap();
                thread::sleep(Duration::from_millis(2));
            }
            raw.set_read_timeout(T);
            let mut len = [0; 4];
            raw.stream().read_exact(&mut len).unwrap();
            let mut body = vec![0; u32::from_be_bytes(len) as usize];
            raw.stream().read_exact(&mut body).unwrap();
            match kind {
                Kind::Echo => assert_eq!(body, b"slowly"),
                Kind::Rpc => assert_eq!(body, envelope(REPLY, 7, 0, b"SLOWLY")),
                Kind::Broker => assert_eq!(body, envelope(REPLY, 7, 0, &0u32.to_be_bytes())),
            }
        },
        ServerConfig::default(),
    );
}

/// Closes `s` with a reset (`SO_LINGER` 0) instead of a clean end of stream.
fn reset(s: TcpStream) {
    socket2::SockRef::from(&s)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(s);
}

#[test]
fn resets_mid_frame_and_vanishing_clients_leave_the_server_serving() {
    let config = ServerConfig {
        max_connections: 64,
        ..ServerConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    for kind in [Kind::Echo, Kind::Rpc, Kind::Broker] {
        for unix in [false, true] {
            let (server, at) = start(kind, unix.then(|| dir.path()), config.clone());
            for i in 0..100 {
                let mut raw = at.raw();
                match i % 4 {
                    // Connect and leave at once.
                    0 => drop(raw),
                    // Half a header.
                    1 => {
                        raw.stream().write_all(&[0, 0]).unwrap();
                        drop(raw);
                    }
                    // Half a body, then a reset (TCP) or a close.
                    2 => {
                        let f = encode(&envelope(REQUEST, 1, 0, &[b'x'; 100]));
                        raw.stream().write_all(&f[..50]).unwrap();
                        match raw {
                            Raw::Tcp(s) => reset(s),
                            Raw::Unix(s) => drop(s),
                        }
                    }
                    // A whole request, then a reset before the reply is read.
                    _ => {
                        let f = encode(&envelope(REQUEST, 1, 0, b"P\x00\x01tbody"));
                        raw.stream().write_all(&f).unwrap();
                        match raw {
                            Raw::Tcp(s) => reset(s),
                            Raw::Unix(s) => drop(s),
                        }
                    }
                }
            }
            // None of the 100 counts against the limit of 64 for long.
            let start = Instant::now();
            loop {
                let ok = std::panic::catch_unwind(|| served(kind, &at)).is_ok();
                if ok {
                    break;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(3),
                    "{kind:?}: {:?}",
                    server.stats()
                );
                thread::sleep(Duration::from_millis(50));
            }
            stops_promptly(server);
        }
    }
}

#[test]
fn a_request_flood_that_never_reads_is_slowed_then_closed_and_delays_no_one() {
    let config = ServerConfig {
        stream: StreamConfig {
            write_timeout: Some(Duration::from_millis(200)),
            ..StreamConfig::default()
        },
        ..ServerConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    for kind in [Kind::Echo, Kind::Rpc, Kind::Broker] {
        for unix in [false, true] {
            let (server, at) = start(kind, unix.then(|| dir.path()), config.clone());
            let mut raw = at.raw();
            match &raw {
                Raw::Tcp(s) => s.set_write_timeout(Some(Duration::from_millis(200))),
                Raw::Unix(s) => s.set_write_timeout(Some(Duration::from_millis(200))),
            }
            .unwrap();
            // Small requests, each asking for a reply, as fast as the server takes them.
            let one = match kind {
                Kind::Echo => encode(&[b'e'; 100]),
                Kind::Rpc => encode(&envelope(REQUEST, 1, 0, &[b'r'; 100])),
                Kind::Broker => encode(&envelope(REQUEST, 1, 0, b"P\x00\x01nobody")),
            };
            let batch: Vec<u8> = one.iter().copied().cycle().take(one.len() * 600).collect();
            let start = Instant::now();
            let mut sent = 0usize;
            let mut blocked = false;
            let mut closed = false;
            while start.elapsed() < Duration::from_secs(4) {
                match raw.stream().write(&batch) {
                    Ok(n) => sent += n,
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        blocked = true;
                        // Meanwhile a good client is served promptly.
                        served(kind, &at);
                        break;
                    }
                    Err(_) => {
                        closed = true; // by the server, for not reading
                        break;
                    }
                }
            }
            assert!(
                blocked || closed,
                "{kind:?}: the server read {sent} bytes without end"
            );
            assert!(
                sent < 64 << 20,
                "{kind:?}: the server took {sent} bytes from a client that reads nothing"
            );
            // The flooder is closed for not reading.
            assert!(
                closed || eventually(|| server.stats().stalled >= 1),
                "{kind:?}: {:?}",
                server.stats()
            );
            served(kind, &at);
            stops_promptly(server);
        }
    }
}

#[test]
fn shutdown_drops_queued_requests_instead_of_running_them() {
    // TCP: one worker, each request 300 ms, 32 requests queued by one client.
    let config = ServerConfig {
        workers: 1,
        ..ServerConfig::default()
    };
    let server = rpc_server(
        tcp::listen(loopback()).unwrap(),
        config,
        echo_sleeping(None, 300),
    );
    let mut c = Endpoint::new(tcp::connect(server.local_addr().unwrap()).unwrap());
    let tickets: Vec<_> = (0..32).map(|_| c.request(b"slow").unwrap()).collect();
    thread::sleep(Duration::from_millis(100)); // the first one runs
    let start = Instant::now();
    drop(server);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "stopping ran the queued requests: {:?}",
        start.elapsed()
    );
    // The client learns that the server is gone.
    let e = c.collect(&tickets[5], T).unwrap_err();
    assert!(e.is_disconnect(), "{e}");
    drop(tickets);

    // UDP: the same with the datagram server's queue.
    let config = UdpRpcConfig {
        workers: 1,
        ..UdpRpcConfig::default()
    };
    let server = udp_rpc_server_with(
        udp::bind(loopback()).unwrap(),
        config,
        echo_sleeping(None, 300),
    )
    .unwrap();
    let mut c = Endpoint::new(udp::connect(server.local_addr().unwrap()).unwrap());
    let tickets: Vec<_> = (0..32).map(|_| c.request(b"slow").unwrap()).collect();
    thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    drop(server);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "stopping ran the queued datagram requests: {:?}",
        start.elapsed()
    );
    drop(tickets);
}

#[test]
fn broker_subscriptions_are_bounded_in_bytes() {
    let (server, at) = start(Kind::Broker, None, ServerConfig::default());
    let subscribe = |topics: &[u8]| {
        let mut req = vec![b'S'];
        req.extend_from_slice(topics);
        encode(&envelope(REQUEST, 1, 0, &req))
    };
    // One topic longer than any publication can name (topics are at most 65,535 bytes).
    let mut raw = at.raw();
    raw.stream()
        .write_all(&subscribe(&vec![b'a'; 100_000]))
        .unwrap();
    let got = read_to_close(&mut raw, T).expect("closed");
    let why = goodbye_reason(&got).unwrap_or_default();
    assert!(why.contains("65535"), "{why:?}");
    // Many subscriptions of long topics: refused past the byte limit, before holding much.
    let mut raw = at.raw();
    raw.set_read_timeout(T);
    let mut held = 0usize;
    let mut refused = None;
    for i in 0..1024u32 {
        let topic = format!("{i:05}{}", "x".repeat(60_000));
        if raw
            .stream()
            .write_all(&subscribe(topic.as_bytes()))
            .is_err()
        {
            break;
        }
        let mut len = [0; 4];
        if raw.stream().read_exact(&mut len).is_err() {
            break;
        }
        if u32::from_be_bytes(len) == GOODBYE {
            let mut l = [0; 4];
            raw.stream().read_exact(&mut l).unwrap();
            let mut why = vec![0; u32::from_be_bytes(l) as usize];
            raw.stream().read_exact(&mut why).unwrap();
            refused = Some(String::from_utf8_lossy(&why).into_owned());
            break;
        }
        let mut body = vec![0; u32::from_be_bytes(len) as usize];
        raw.stream().read_exact(&mut body).unwrap();
        held += topic.len();
    }
    let why = refused.expect("never refused");
    assert!(why.contains("bytes of topics"), "{why}");
    assert!(held <= MAX_TOPIC_BYTES, "{held}");
    served(Kind::Broker, &at);
    stops_promptly(server);
}

#[test]
fn datagram_servers_survive_hostile_datagrams() {
    // The plain datagram server: empty, garbage and the largest datagrams.
    let server = udp_server(udp::bind(loopback()).unwrap(), |b, _| Some(b.to_vec())).unwrap();
    let addr = server.local_addr().unwrap();
    let s = UdpSocket::bind(loopback()).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    let mut buf = vec![0; 70_000];
    for d in [&[][..], b"\xff\xfe\x00junk", &vec![3; 65_507]] {
        s.send_to(d, addr).unwrap();
        let (n, _) = s.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], d);
    }
    stops_promptly(server);

    // The RPC server: garbage, short envelopes, answers it never asked for, unknown kinds,
    // a new epoch per datagram; then a good client.
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = ran.clone();
    let server = udp_rpc_server(udp::bind(loopback()).unwrap(), move |req| {
        seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        req.to_ascii_uppercase()
    })
    .unwrap();
    let addr = server.local_addr().unwrap();
    let mut junk: Vec<Vec<u8>> = vec![vec![], vec![REQUEST], vec![REQUEST; ENVELOPE_LEN - 1]];
    for k in [ACK, REPLY, 5, 6, 200, 255] {
        junk.push(envelope(k, 1, 0, b"x"));
    }
    for d in &junk {
        s.send_to(d, addr).unwrap();
    }
    for epoch in 0..2000u32 {
        s.send_to(&envelope(MSG, epoch, 0, b"m"), addr).unwrap();
    }
    let mut c = Endpoint::new(udp::connect(addr).unwrap());
    let start = Instant::now();
    assert_eq!(c.call(b"good", T).unwrap(), b"GOOD");
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(ran.load(std::sync::atomic::Ordering::Relaxed), 1);
    stops_promptly(server);

    // IPv6 carries datagrams larger than any UDP payload over IPv4: truncated, refused.
    if let Ok(sock) = udp::bind("[::1]:0".parse().unwrap()) {
        let server = udp_rpc_server(sock, |r| r.to_vec()).unwrap();
        let addr = server.local_addr().unwrap();
        let s6 = UdpSocket::bind("[::1]:0").unwrap();
        if s6.send_to(&vec![REQUEST; 65_527], addr).is_ok() {
            let mut c = Endpoint::new(udp::connect(addr).unwrap());
            assert_eq!(c.call(b"v6", T).unwrap(), b"v6");
            assert!(eventually(|| server
                .stats()
                .errors
                .iter()
                .any(|l| l.contains("truncated"))));
        }
        stops_promptly(server);
    }
}

/// An echo handler that first sleeps `ms` on request `on`, or on every request if `on` is `None`:
/// the slow or blocking request the scheduling tests need.
fn echo_sleeping(on: Option<&'static [u8]>, ms: u64) -> impl Fn(&[u8]) -> Vec<u8> + Send + Sync {
    move |req| {
        if on.is_none_or(|m| req == m) {
            thread::sleep(Duration::from_millis(ms));
        }
        req.to_vec()
    }
}

fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < T {
        if f() {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    false
}

/// A hostile TCP server: reads one request frame and answers with `answer(epoch, seq)`,
/// then keeps the connection open for `hold`.
fn hostile_server(
    answer: impl Fn(u32, u64) -> Vec<u8> + Send + 'static,
    hold: Duration,
) -> (SocketAddr, thread::JoinHandle<()>) {
    let l = TcpListener::bind(loopback()).unwrap();
    let addr = l.local_addr().unwrap();
    let h = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(T)).unwrap();
        let mut len = [0; 4];
        if s.read_exact(&mut len).is_err() {
            return;
        }
        let mut env = vec![0; u32::from_be_bytes(len) as usize];
        if s.read_exact(&mut env).is_err() {
            return;
        }
        let epoch = u32::from_le_bytes(env[1..5].try_into().unwrap());
        let seq = u64::from_le_bytes(env[5..13].try_into().unwrap());
        let _ = s.write_all(&answer(epoch, seq));
        thread::sleep(hold);
    });
    (addr, h)
}

#[test]
fn a_client_answered_by_a_hostile_server_gets_a_clear_error() {
    let timeout = Duration::from_millis(500);
    let hold = Duration::from_millis(900);
    type Case = (&'static str, Box<dyn Fn(u32, u64) -> Vec<u8> + Send>);
    let cases: Vec<Case> = vec![
        ("protocol", Box::new(|_, _| encode(b"short"))),
        (
            "protocol",
            Box::new(|e, s| encode(&envelope(77, e, s, b"?"))),
        ),
        (
            "too large",
            Box::new(|_, _| ((1u32 << 20) + 1).to_be_bytes().to_vec()),
        ),
        (
            "too large",
            Box::new(|_, _| [GOODBYE.to_be_bytes(), GOODBYE.to_be_bytes()].concat()),
        ),
        (
            "closed by",
            Box::new(|_, _| {
                let mut v = GOODBYE.to_be_bytes().to_vec();
                v.extend(encode(b"\x1b[2J\xff go away"));
                v
            }),
        ),
        // Half a reply, then silence: the call's own timeout.
        (
            "timeout",
            Box::new(|e, s| encode(&envelope(REPLY, e, s, b"half"))[..10].to_vec()),
        ),
        // Answers to somebody else's questions are ignored.
        (
            "timeout",
            Box::new(|e, s| {
                let mut v = encode(&envelope(REPLY, e.wrapping_add(1), s, b"not yours"));
                v.extend(encode(&envelope(REPLY, e, s + 1, b"not asked")));
                v.extend(encode(&envelope(ACK, e, s, b"")));
                v
            }),
        ),
    ];
    thread::scope(|scope| {
        for (expect, answer) in cases {
            scope.spawn(move || {
                let (addr, h) = hostile_server(answer, hold);
                let mut c = Endpoint::new(tcp::connect(addr).unwrap());
                let start = Instant::now();
                let e = c.call(b"question", timeout).unwrap_err();
                let took = start.elapsed();
                let text = e.to_string();
                let ok = match expect {
                    "protocol" => matches!(e, NetError::Protocol { .. }),
                    "too large" => matches!(e, NetError::FrameTooLarge { .. }),
                    "closed by" => {
                        matches!(&e, NetError::ClosedBy { reason, .. } if reason.contains("\\x1b[2J\\xff go away"))
                    }
                    _ => e.is_timeout(),
                };
                assert!(ok, "expected {expect}, got {e:?}: {text}");
                assert!(took < timeout + Duration::from_millis(500), "{took:?}");
                h.join().unwrap();
            });
        }
    });

    // A server that trickles a reply a byte at a time without end cannot stretch the call.
    let (addr, h) = hostile_server(|_, _| Vec::new(), Duration::ZERO);
    let trickler = thread::spawn(move || h.join());
    let l = TcpListener::bind(loopback()).unwrap();
    let addr2 = l.local_addr().unwrap();
    let t2 = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.write_all(&100u32.to_be_bytes()).unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(1) {
            if s.write_all(b"x").is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
    });
    let mut c = Endpoint::new(tcp::connect(addr2).unwrap());
    let start = Instant::now();
    let e = c.call(b"q", timeout).unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert!(start.elapsed() < timeout + Duration::from_millis(500));
    drop(c);
    t2.join().unwrap();
    drop(tcp::connect(addr));
    trickler.join().unwrap().unwrap();
}

#[test]
fn a_flooding_peer_cannot_make_a_client_buffer_without_bound() {
    // While the client waits for its reply, the server sends it messages of 1 MiB - 13 bytes
    // without end; the client must give up with a clear error before it holds gigabytes.
    let l = TcpListener::bind(loopback()).unwrap();
    let addr = l.local_addr().unwrap();
    let h = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
        // The request first, so that closing is clean.
        let mut req = vec![0; 4 + ENVELOPE_LEN + 1];
        s.read_exact(&mut req).unwrap();
        let m = encode(&envelope(MSG, 1, 0, &vec![0; (1 << 20) - ENVELOPE_LEN]));
        let mut sent = 0usize;
        while sent < 256 << 20 {
            if s.write_all(&m).is_err() {
                break;
            }
            sent += m.len();
        }
        sent
    });
    let mut c = Endpoint::new(tcp::connect(addr).unwrap());
    let e = c.call(b"q", Duration::from_secs(20)).unwrap_err();
    assert!(
        matches!(&e, NetError::Protocol { what, .. } if what.contains("full")),
        "{e}"
    );
    drop(c);
    let sent = h.join().unwrap();
    assert!(sent < 64 << 20, "the client took {sent} bytes");
}

#[test]
fn a_unix_datagram_endpoint_drops_hostile_datagrams() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let hostile = UnixDatagram::bind(&b).unwrap();
    let mut server = Endpoint::new(unix::datagram(&a, &b).unwrap());
    hostile.connect(&a).unwrap();
    for d in [&[][..], &[MSG][..], &[9; 40][..]] {
        hostile.send(d).unwrap();
    }
    hostile.send(&envelope(MSG, 1, 0, b"real")).unwrap();
    match server.recv(Some(T)).unwrap() {
        Incoming::Message(m) => assert_eq!(m, b"real"),
        other => panic!("{other:?}"),
    }
    // A datagram over the largest message is dropped like the other malformed ones.
    hostile.send(&vec![MSG; 100_000]).unwrap();
    hostile.send(&envelope(MSG, 1, 1, b"after")).unwrap();
    match server.recv(Some(T)).unwrap() {
        Incoming::Message(m) => assert_eq!(m, b"after"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_raw_echo_client_that_never_reads_is_closed() {
    let config = ServerConfig {
        stream: StreamConfig {
            write_timeout: Some(Duration::from_millis(300)),
            ..StreamConfig::default()
        },
        ..ServerConfig::default()
    };
    let server = raw_echo_server(tcp::listen(loopback()).unwrap(), config, |_, _| {});
    let addr = server.local_addr().unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let chunk = vec![b'z'; 64 * 1024];
    let start = Instant::now();
    let mut sent = 0usize;
    while start.elapsed() < Duration::from_secs(3) {
        match s.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
    assert!(sent < 64 << 20, "{sent}");
    assert!(eventually(|| server.stats().stalled >= 1));
    let mut good = TcpStream::connect(addr).unwrap();
    good.write_all(b"Hello World").unwrap();
    good.set_read_timeout(Some(T)).unwrap();
    let mut back = [0; 11];
    good.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"Hello World");
    stops_promptly(server);
}

#[test]
fn a_server_stopped_mid_call_is_reported_at_once() {
    // A server stopped mid-wait: every waiting call learns it at once, none hangs.
    let server = rpc_server(
        tcp::listen(loopback()).unwrap(),
        ServerConfig::default(),
        |r| {
            thread::sleep(Duration::from_millis(2000));
            r.to_vec()
        },
    );
    let addr = server.local_addr().unwrap();
    let waiter = thread::spawn(move || {
        let mut c = Endpoint::new(tcp::connect(addr).unwrap());
        let start = Instant::now();
        let e = c.call(b"slow", Duration::from_secs(10)).unwrap_err();
        (e, start.elapsed())
    });
    thread::sleep(Duration::from_millis(200));
    drop(server);
    let (e, took) = waiter.join().unwrap();
    assert!(e.is_disconnect(), "{e}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn a_message_kind_meant_for_clients_sent_to_a_server_is_ignored() {
    // ACK and REPLY from a client are answers to nothing: ignored, the connection goes on.
    let (server, at) = start(Kind::Rpc, None, ServerConfig::default());
    let mut raw = at.raw();
    let mut wire = encode(&envelope(ACK, 1, 0, b""));
    wire.extend(encode(&envelope(REPLY, 1, 0, b"unasked")));
    wire.extend(encode(&envelope(MSG_RECEIPT, 1, 1, b"note")));
    raw.stream().write_all(&wire).unwrap();
    raw.set_read_timeout(T);
    let mut back = vec![0; 4 + ENVELOPE_LEN];
    raw.stream().read_exact(&mut back).unwrap();
    assert_eq!(back, encode(&envelope(ACK, 1, 1, b"")));
    stops_promptly(server);
}

#[test]
fn requests_of_a_client_that_never_reads_are_bounded_by_the_in_flight_limit() {
    // Each tiny request asks for a 64 KiB reply; the client never reads. The server must stop
    // taking requests from it after about MAX_IN_FLIGHT plus what its output buffer and the
    // socket hold, not run every request one read brought in (about 3,800 of 17 bytes).
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let ran = Arc::new(AtomicUsize::new(0));
    let seen = ran.clone();
    let server = rpc_server(
        tcp::listen(loopback()).unwrap(),
        ServerConfig::default(),
        move |_| {
            seen.fetch_add(1, Relaxed);
            vec![b'r'; 64 * 1024]
        },
    );
    let addr = server.local_addr().unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    socket2::SockRef::from(&s)
        .set_recv_buffer_size(4096)
        .unwrap();
    let flood: Vec<u8> = (0..20_000u64)
        .flat_map(|seq| encode(&envelope(REQUEST, 1, seq, b"")))
        .collect();
    s.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    let _ = s.write_all(&flood);
    thread::sleep(Duration::from_millis(500));
    let n = ran.load(Relaxed);
    assert!(
        n < 1000,
        "ran {n} requests for a client that reads nothing (their replies are held)"
    );
    // Another client is served meanwhile.
    let mut c = Endpoint::new(tcp::connect(addr).unwrap());
    assert_eq!(c.call(b"x", T).unwrap().len(), 64 * 1024);
    stops_promptly(server);
}

#[test]
fn a_publication_flood_to_many_subscribers_delays_no_one() {
    // 200 subscribers of one topic (a few reading), a publisher flooding tiny publications:
    // the loop must still answer another client promptly. (It wrote to every subscriber after
    // each publication, 200 system calls per 19 bytes read, and answered nobody for seconds.)
    let (server, at) = start(Kind::Broker, None, ServerConfig::default());
    let At::Tcp(addr) = at.clone() else {
        unreachable!()
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..200 {
        let mut s = Subscriber::new(tcp::connect(addr).unwrap(), &["flood"], T).unwrap();
        let stop = stop.clone();
        let reads = readers.len() % 10 == 0; // a few read, the others let their queues fill
        readers.push(thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if !reads {
                    thread::sleep(Duration::from_millis(20));
                } else if s
                    .next(Some(Duration::from_millis(100)))
                    .is_err_and(|e| !e.is_timeout())
                {
                    break;
                }
            }
        }));
    }
    let flooder = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut raw = TcpStream::connect(addr).unwrap();
            let one = encode(&envelope(MSG, 1, 0, b"P\x00\x05flood."));
            let batch: Vec<u8> = one.iter().copied().cycle().take(one.len() * 1000).collect();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if raw.write_all(&batch).is_err() {
                    break;
                }
            }
        })
    };
    thread::sleep(Duration::from_millis(300));
    let mut worst = Duration::ZERO;
    for _ in 0..5 {
        let mut p = Publisher::new(tcp::connect(addr).unwrap());
        let start = Instant::now();
        p.publish_confirmed("other", b"x", T).unwrap();
        worst = worst.max(start.elapsed());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flooder.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
    assert!(worst < Duration::from_secs(2), "{worst:?}");
    stops_promptly(server);
}

#[test]
fn a_handler_that_panics_on_a_datagram_leaves_the_server_serving() {
    let server = udp_server(udp::bind(loopback()).unwrap(), |b, _| {
        assert!(b != b"boom", "the handler trips on this input");
        Some(b.to_vec())
    })
    .unwrap();
    let addr = server.local_addr().unwrap();
    let s = UdpSocket::bind(loopback()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s.send_to(b"boom", addr).unwrap();
    s.send_to(b"after", addr).unwrap();
    let mut buf = [0; 64];
    let (n, _) = s.recv_from(&mut buf).expect("the server still answers");
    assert_eq!(&buf[..n], b"after");
    assert!(eventually(|| server
        .stats()
        .errors
        .iter()
        .any(|l| l.contains("panicked"))));
    stops_promptly(server);

    // The raw echo server's observer, likewise.
    let server = raw_echo_server(
        tcp::listen(loopback()).unwrap(),
        ServerConfig::default(),
        |_, b| assert!(b != b"boom", "the observer trips on this input"),
    );
    let addr = server.local_addr().unwrap();
    let mut bad = TcpStream::connect(addr).unwrap();
    bad.write_all(b"boom").unwrap();
    assert!(read_to_close(&mut Raw::Tcp(bad), T).is_some());
    let mut good = TcpStream::connect(addr).unwrap();
    good.set_read_timeout(Some(T)).unwrap();
    good.write_all(b"Hello World").unwrap();
    let mut back = [0; 11];
    good.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"Hello World");
    stops_promptly(server);
}

#[test]
fn a_connection_flood_at_the_limit_delays_no_one() {
    let config = ServerConfig {
        max_connections: 1, // the good client's: every other is refused
        ..ServerConfig::default()
    };
    let server = framed_echo_server(tcp::listen(loopback()).unwrap(), config);
    let addr = server.local_addr().unwrap();
    let mut good = tcp::connect(addr).unwrap();
    good.send(b"in").unwrap();
    assert_eq!(good.recv(Some(T)).unwrap(), b"in");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flooders: Vec<_> = (0..3)
        .map(|_| {
            let stop = stop.clone();
            thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Ok(s) = TcpStream::connect(addr) {
                        reset(s);
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(200));
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let start = Instant::now();
        good.send(b"still here").unwrap();
        assert_eq!(good.recv(Some(T)).unwrap(), b"still here");
        worst = worst.max(start.elapsed());
        thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let n: u64 = flooders.into_iter().map(|f| f.join().unwrap()).sum();
    assert!(
        worst < Duration::from_millis(500),
        "{worst:?} ({n} connections)"
    );
    assert!(server.stats().rejected > 0);
    stops_promptly(server);
}

#[test]
fn a_udp_client_answered_by_a_hostile_server_drops_the_junk() {
    const FAILED: u8 = 5;
    // The server answers every request with junk first; the real reply only if `honest`.
    let fake = |honest: bool, failed: bool| {
        let s = UdpSocket::bind(loopback()).unwrap();
        let addr = s.local_addr().unwrap();
        s.set_read_timeout(Some(Duration::from_millis(400)))
            .unwrap();
        let h = thread::spawn(move || {
            let mut buf = vec![0; 70_000];
            while let Ok((n, from)) = s.recv_from(&mut buf) {
                if n < ENVELOPE_LEN {
                    continue;
                }
                let epoch = u32::from_le_bytes(buf[1..5].try_into().unwrap());
                let seq = u64::from_le_bytes(buf[5..13].try_into().unwrap());
                for junk in [
                    vec![],
                    vec![REPLY; 5],
                    envelope(REPLY, epoch ^ 1, seq, b"another incarnation's"),
                    envelope(REPLY, epoch, seq + 1000, b"never asked"),
                    envelope(77, epoch, seq, b"unknown kind"),
                    envelope(ACK, epoch, seq, b""),
                ] {
                    let _ = s.send_to(&junk, from);
                }
                if failed {
                    let _ = s.send_to(&envelope(FAILED, epoch, seq, b"\xff\x1b[2J no"), from);
                } else if honest {
                    let _ = s.send_to(&envelope(REPLY, epoch, seq, b"real"), from);
                }
            }
        });
        (addr, h)
    };
    let (addr, h) = fake(true, false);
    let mut c = Endpoint::new(udp::connect(addr).unwrap());
    assert_eq!(c.call(b"q", T).unwrap(), b"real");
    drop(c);
    h.join().unwrap();

    let (addr, h) = fake(false, false);
    let mut c = Endpoint::new(udp::connect(addr).unwrap());
    let start = Instant::now();
    let e = c.call(b"q", Duration::from_millis(300)).unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert!(start.elapsed() < Duration::from_millis(800));
    drop(c);
    h.join().unwrap();

    let (addr, h) = fake(false, true);
    let mut c = Endpoint::new(udp::connect(addr).unwrap());
    let e = c.call(b"q", T).unwrap_err();
    assert!(
        matches!(&e, NetError::Failed { reason, .. } if reason == "\\xff\\x1b[2J no"),
        "{e:?}"
    );
    drop(c);
    h.join().unwrap();
}

#[test]
fn requests_of_clients_that_reset_are_dropped_not_run() {
    // Clients send MAX_IN_FLIGHT slow requests each and reset at once, again and again. Nobody
    // can receive those answers: the server must not queue them without bound nor run them
    // while a good client waits.
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let ran = Arc::new(AtomicUsize::new(0));
    let seen = ran.clone();
    let config = ServerConfig {
        workers: 2,
        ..ServerConfig::default()
    };
    let server = rpc_server(tcp::listen(loopback()).unwrap(), config, move |req| {
        seen.fetch_add(1, Relaxed);
        if req == b"slow" {
            thread::sleep(Duration::from_millis(200));
        }
        req.to_vec()
    });
    let addr = server.local_addr().unwrap();
    for _ in 0..20 {
        let mut s = TcpStream::connect(addr).unwrap();
        let burst: Vec<u8> = (0..32u64)
            .flat_map(|seq| encode(&envelope(REQUEST, 1, seq, b"slow")))
            .collect();
        s.write_all(&burst).unwrap();
        thread::sleep(Duration::from_millis(5)); // read by the server
        reset(s);
    }
    thread::sleep(Duration::from_millis(100));
    let mut c = Endpoint::new(tcp::connect(addr).unwrap());
    let start = Instant::now();
    assert_eq!(c.call(b"quick", T).unwrap(), b"quick");
    let waited = start.elapsed();
    let n = ran.load(Relaxed);
    assert!(
        waited < Duration::from_millis(1000),
        "a good client waited {waited:?} behind the requests of clients gone ({n} run)"
    );
    assert!(n < 100, "ran {n} requests of clients gone");
    stops_promptly(server);
}

#[test]
fn clients_gone_with_requests_still_queued_count_against_the_connection_limit() {
    // The only worker is stuck; clients keep sending requests and resetting. Their requests
    // cannot be skipped until a worker is free, so each gone client keeps its place under the
    // connection limit meanwhile: the queue stays bounded, and further clients are refused.
    let config = ServerConfig {
        workers: 1,
        max_connections: 4,
        ..ServerConfig::default()
    };
    let server = rpc_server(
        tcp::listen(loopback()).unwrap(),
        config,
        echo_sleeping(Some(b"block"), 1500),
    );
    let addr = server.local_addr().unwrap();
    let mut blocker = TcpStream::connect(addr).unwrap();
    blocker
        .write_all(&encode(&envelope(REQUEST, 1, 0, b"block")))
        .unwrap();
    thread::sleep(Duration::from_millis(100));
    let burst: Vec<u8> = (0..32u64)
        .flat_map(|seq| encode(&envelope(REQUEST, 1, seq, b"queued")))
        .collect();
    for _ in 0..50 {
        let mut s = TcpStream::connect(addr).unwrap();
        let _ = s.write_all(&burst);
        thread::sleep(Duration::from_millis(5));
        reset(s);
    }
    let stats = server.stats();
    assert!(stats.rejected >= 40, "{stats:?}");
    // Once the worker is free the gone clients' requests are skipped and the places free.
    drop(blocker);
    assert!(eventually(|| {
        let mut c = Endpoint::new(tcp::connect(addr).unwrap());
        c.call(b"later", Duration::from_millis(500)).is_ok()
    }));
    stops_promptly(server);
}

#[test]
fn a_client_refused_at_the_limit_learns_why_even_if_it_spoke_first() {
    // The client sends its request at once, before the server has refused it: closing a
    // socket with unread input sends a reset, which could destroy the reason in flight.
    let dir = tempfile::tempdir().unwrap();
    for kind in [Kind::Echo, Kind::Rpc, Kind::Broker] {
        for unix in [false, true] {
            let config = ServerConfig {
                max_connections: 1,
                ..ServerConfig::default()
            };
            let (server, at) = start(kind, unix.then(|| dir.path()), config);
            let mut first = Endpoint::new(at.framed());
            if kind != Kind::Echo {
                first.call(&[b'P', 0, 1, b't', b'x'], T).unwrap();
            } else {
                first.send(b"in").unwrap();
                thread::sleep(Duration::from_millis(50));
            }
            let mut other = Vec::new();
            for _ in 0..20 {
                let mut c = Endpoint::new(at.framed());
                match c.call(&[b'P', 0, 1, b't', b'x'], T) {
                    Err(NetError::ClosedBy { reason, .. }) if reason.contains("limit of 1") => {}
                    r => other.push(format!("{r:?}")),
                }
            }
            assert!(other.is_empty(), "{kind:?} (unix: {unix}): {other:?}");
            drop(first);
            stops_promptly(server);
        }
    }
}

#[test]
fn ipv6_loopback_servers_survive_the_same_attacks() {
    let Ok(l) = tcp::listen("[::1]:0".parse().unwrap()) else {
        return; // no IPv6 here
    };
    let server = rpc_server(l, ServerConfig::default(), |r| r.to_ascii_uppercase());
    let at = At::Tcp(server.local_addr().unwrap());
    for attack in [
        u32::MAX.to_be_bytes().to_vec(),
        encode(&envelope(99, 1, 0, b"")),
        encode(b"short"),
        b"\x00\x00".to_vec(),
    ] {
        let mut raw = at.raw();
        raw.stream().write_all(&attack).unwrap();
        if attack.len() > 2 {
            let got = read_to_close(&mut raw, T).expect("closed");
            assert!(goodbye_reason(&got).is_some(), "{attack:?}");
        } else {
            drop(raw); // half a header, then gone
        }
        served(Kind::Rpc, &at);
    }
    stops_promptly(server);
}

#[test]
fn a_udp_request_flood_from_one_client_starves_no_other() {
    let config = UdpRpcConfig {
        workers: 2,
        ..UdpRpcConfig::default()
    };
    let server = udp_rpc_server_with(
        udp::bind(loopback()).unwrap(),
        config,
        echo_sleeping(Some(b"slow"), 20),
    )
    .unwrap();
    let addr = server.local_addr().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flooder = {
        let stop = stop.clone();
        thread::spawn(move || {
            let s = UdpSocket::bind(loopback()).unwrap();
            let mut seq = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for _ in 0..64 {
                    let _ = s.send_to(&envelope(REQUEST, 7, seq, b"slow"), addr);
                    seq += 1;
                }
                thread::sleep(Duration::from_millis(1));
            }
        })
    };
    thread::sleep(Duration::from_millis(200));
    let mut c = Endpoint::new(udp::connect(addr).unwrap());
    let start = Instant::now();
    let r = c.call(b"quick", Duration::from_secs(3));
    let took = start.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flooder.join().unwrap();
    assert_eq!(r.unwrap(), b"quick");
    assert!(took < Duration::from_secs(2), "{took:?}");
    stops_promptly(server);
}

#[test]
fn a_server_that_never_reads_cannot_hold_a_call_past_its_timeout() {
    let l = TcpListener::bind(loopback()).unwrap();
    let addr = l.local_addr().unwrap();
    let (go, read_now) = std::sync::mpsc::channel::<()>();
    let h = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let _ = read_now.recv_timeout(T); // reads nothing until then
        // Then every frame must be whole: a send cut short by its timeout is finished by the
        // next one, never left half-written.
        s.set_read_timeout(Some(T)).unwrap();
        let mut kinds = Vec::new();
        loop {
            let mut len = [0; 4];
            if s.read_exact(&mut len).is_err() {
                break;
            }
            let mut env = vec![0; u32::from_be_bytes(len) as usize];
            s.read_exact(&mut env).unwrap();
            assert!(env.len() >= ENVELOPE_LEN && (env[0] == REQUEST || env[0] == MSG));
            kinds.push(env[0]);
        }
        kinds
    });
    let mut c = Endpoint::new(tcp::connect(addr).unwrap());
    let big = vec![0; (1 << 20) - 64];
    let timeout = Duration::from_millis(200);
    let mut worst = Duration::ZERO;
    let mut last = None;
    for _ in 0..40 {
        let start = Instant::now();
        let r = c.call(&big, timeout);
        worst = worst.max(start.elapsed());
        let e = r.unwrap_err();
        let blocked = !e.to_string().contains("waiting for a reply");
        last = Some(e);
        if blocked {
            break;
        }
    }
    assert!(last.as_ref().is_some_and(NetError::is_timeout), "{last:?}");
    assert!(
        worst < timeout + Duration::from_millis(500),
        "a call with a timeout of {timeout:?} took {worst:?}: {last:?}"
    );
    go.send(()).unwrap();
    c.send(b"last").unwrap();
    drop(c);
    let kinds = h.join().unwrap();
    assert_eq!(kinds.last(), Some(&MSG), "{kinds:?}");
}

#[test]
fn one_client_with_many_slow_requests_cannot_take_every_worker() {
    let config = ServerConfig {
        workers: 4,
        ..ServerConfig::default()
    };
    let server = rpc_server(
        tcp::listen(loopback()).unwrap(),
        config,
        echo_sleeping(Some(b"slow"), 1500),
    );
    let addr = server.local_addr().unwrap();
    let mut hog = Endpoint::new(tcp::connect(addr).unwrap());
    let tickets: Vec<_> = (0..16).map(|_| hog.request(b"slow").unwrap()).collect();
    thread::sleep(Duration::from_millis(100));
    let mut c = Endpoint::new(tcp::connect(addr).unwrap());
    let start = Instant::now();
    assert_eq!(c.call(b"quick", T).unwrap(), b"quick");
    let waited = start.elapsed();
    assert!(
        waited < Duration::from_millis(500),
        "a quick request waited {waited:?} behind one client's slow ones"
    );
    drop(tickets);
    stops_promptly(server);
}

#[test]
fn the_reason_for_closing_survives_input_still_in_flight() {
    // The client goes on sending after its bad frame: closing a socket with unread input
    // resets the connection, which must not destroy the reason on its way.
    let dir = tempfile::tempdir().unwrap();
    for unix in [false, true] {
        let (server, at) = start(Kind::Rpc, unix.then(|| dir.path()), ServerConfig::default());
        let mut lost = Vec::new();
        for _ in 0..10 {
            let mut raw = at.raw();
            let mut wire = u32::MAX.to_be_bytes().to_vec();
            wire.extend(vec![b'z'; 200_000]);
            let _ = raw.stream().write_all(&wire);
            let got = read_to_close(&mut raw, T).unwrap_or_default();
            if goodbye_reason(&got).is_none_or(|why| !why.contains("exceeds")) {
                lost.push(got.len());
            }
        }
        assert!(lost.is_empty(), "unix: {unix}: reasons lost {lost:?}");
        stops_promptly(server);
    }
}

#[test]
fn an_active_udp_client_is_not_forgotten_for_a_crowd_of_one_shot_addresses() {
    // Over 1,024 addresses each sending once would push an active client out of the server's
    // memory (its duplicate filter and replies), and its retransmitted request would run twice.
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let first = Arc::new(AtomicUsize::new(0));
    let seen = first.clone();
    let server = udp_rpc_server(udp::bind(loopback()).unwrap(), move |req| {
        if req == b"once" {
            seen.fetch_add(1, Relaxed);
        }
        req.to_vec()
    })
    .unwrap();
    let addr = server.local_addr().unwrap();
    let good = UdpSocket::bind(loopback()).unwrap();
    good.set_read_timeout(Some(T)).unwrap();
    let mut buf = [0; 256];
    let ask = |seq: u64, body: &[u8], buf: &mut [u8]| {
        good.send_to(&envelope(REQUEST, 42, seq, body), addr)
            .unwrap();
        loop {
            let (n, _) = good.recv_from(buf).unwrap();
            if u64::from_le_bytes(buf[5..13].try_into().unwrap()) == seq {
                return buf[ENVELOPE_LEN..n].to_vec();
            }
        }
    };
    assert_eq!(ask(0, b"once", &mut buf), b"once");
    // 1,500 one-shot addresses; the good client keeps talking meanwhile.
    for i in 0..1500u64 {
        let s = UdpSocket::bind(loopback()).unwrap();
        s.send_to(&envelope(MSG, 1, 0, b"hi"), addr).unwrap();
        if i % 100 == 0 {
            assert_eq!(ask(1 + i, b"still here", &mut buf), b"still here");
        }
    }
    // Its first request again (as if the reply had been lost): answered from memory, not run.
    assert_eq!(ask(0, b"once", &mut buf), b"once");
    assert_eq!(first.load(Relaxed), 1, "the request ran twice");
    stops_promptly(server);
}

#[test]
fn a_handler_stuck_for_good_cannot_hold_shutdown_past_its_stop_timeout() {
    let config = ServerConfig {
        stop_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    };
    let server = rpc_server(tcp::listen(loopback()).unwrap(), config, |req| {
        if req == b"stuck" {
            thread::sleep(Duration::from_secs(30));
        }
        req.to_vec()
    });
    let mut c = Endpoint::new(tcp::connect(server.local_addr().unwrap()).unwrap());
    let ticket = c.request(b"stuck").unwrap();
    thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    let stats = server.shutdown();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    assert!(
        stats.errors.iter().any(|l| l.contains("still running")),
        "{stats:?}"
    );
    // The client learns that the server is gone.
    assert!(c.collect(&ticket, T).unwrap_err().is_disconnect());

    // The UDP servers, likewise.
    let config = UdpRpcConfig {
        stop_timeout: Duration::from_millis(300),
        ..UdpRpcConfig::default()
    };
    let server = udp_rpc_server_with(udp::bind(loopback()).unwrap(), config, |req| {
        thread::sleep(Duration::from_secs(30));
        req.to_vec()
    })
    .unwrap();
    let mut c = Endpoint::new(udp::connect(server.local_addr().unwrap()).unwrap());
    let _ticket = c.request(b"stuck").unwrap();
    let _ = c.collect(&_ticket, Duration::from_millis(100)); // sends it again, at least
    let start = Instant::now();
    drop(server);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_send_to_a_closed_peer_is_an_error_not_a_sigpipe() {
    // Programs that restore SIGPIPE's default action (as command-line tools do, the `lockstep`
    // CLI among them) die of a write to a closed socket unless it is sent with MSG_NOSIGNAL:
    // checked in a child process, which restores it.
    const CHILD: &str = "LOCKSTEP_SIGPIPE_CHILD";
    if std::env::var_os(CHILD).is_some() {
        // SAFETY: setting a signal's disposition to the default; nothing else in this child
        // process relies on SIGPIPE being ignored.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        let (a, b) = UnixStream::pair().unwrap();
        drop(b);
        let mut t = lockstep::lockstep_hosted::transport::Framed::new(a, 1 << 20);
        for len in [10, 100_000] {
            let e = t.send(&vec![1; len]).unwrap_err();
            assert!(e.is_disconnect(), "{e}");
        }
        let l = TcpListener::bind(loopback()).unwrap();
        let mut t = tcp::connect(l.local_addr().unwrap()).unwrap();
        drop(l.accept().unwrap());
        thread::sleep(Duration::from_millis(50));
        for _ in 0..3 {
            let _ = t.send(&vec![1; 100_000]); // the first may go out before the reset
            thread::sleep(Duration::from_millis(20));
        }
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "a_send_to_a_closed_peer_is_an_error_not_a_sigpipe",
            "--exact",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The frames in `bytes` up to a goodbye, as (kind, seq, payload) of their envelopes (the echo
/// server's frames are not envelopes: kind and seq are then whatever their first bytes say).
fn frames_before_goodbye(mut bytes: &[u8]) -> Vec<(u8, u64, Vec<u8>)> {
    let mut out = Vec::new();
    while bytes.len() >= 4 {
        let len = u32::from_be_bytes(bytes[..4].try_into().unwrap());
        if len == GOODBYE {
            break;
        }
        let Some(frame) = bytes.get(4..4 + len as usize) else {
            break;
        };
        let seq = frame
            .get(5..ENVELOPE_LEN)
            .map_or(0, |s| u64::from_le_bytes(s.try_into().unwrap()));
        let payload = frame.get(ENVELOPE_LEN..).unwrap_or(frame).to_vec();
        out.push((frame.first().copied().unwrap_or(0), seq, payload));
        bytes = &bytes[4 + len as usize..];
    }
    out
}

#[test]
fn a_bad_frame_closes_the_connection_only_after_the_replies_to_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    for unix in [false, true] {
        // RPC: a slow and a quick request, then an envelope of an unknown kind, in one write.
        let server = if unix {
            rpc_server(
                unix::listen(dir.path().join("rpc.sock")).unwrap(),
                ServerConfig::default(),
                echo_sleeping(Some(b"slow"), 300),
            )
        } else {
            rpc_server(
                tcp::listen(loopback()).unwrap(),
                ServerConfig::default(),
                echo_sleeping(Some(b"slow"), 300),
            )
        };
        let at = match server.local_addr() {
            Some(a) => At::Tcp(a),
            None => At::Unix(dir.path().join("rpc.sock")),
        };
        let mut raw = at.raw();
        let mut wire = encode(&envelope(REQUEST, 1, 1, b"slow"));
        wire.extend(encode(&envelope(REQUEST, 1, 2, b"quick")));
        wire.extend(encode(&envelope(99, 1, 3, b"x")));
        raw.stream().write_all(&wire).unwrap();
        let got = read_to_close(&mut raw, T).expect("closed");
        let mut replies = frames_before_goodbye(&got);
        replies.sort_by_key(|r| r.1);
        assert_eq!(
            replies,
            [(REPLY, 1, b"slow".to_vec()), (REPLY, 2, b"quick".to_vec())],
            "unix: {unix}"
        );
        let why = goodbye_reason(&got).unwrap_or_default();
        assert!(why.contains("unknown"), "unix: {unix}: {why:?}");
        // And the server serves the next client.
        let mut ep = Endpoint::new(at.framed());
        assert_eq!(ep.call(b"good", T).unwrap(), b"good");
        stops_promptly(server);
    }
    // Echo: two frames, then a length over the maximum, in one write.
    let (server, at) = start(Kind::Echo, None, ServerConfig::default());
    let mut raw = at.raw();
    let mut wire = encode(b"one");
    wire.extend(encode(b"two"));
    wire.extend(u32::MAX.to_be_bytes());
    raw.stream().write_all(&wire).unwrap();
    let got = read_to_close(&mut raw, T).expect("closed");
    let echoed: Vec<Vec<u8>> = frames_before_goodbye(&got)
        .into_iter()
        .map(|f| f.2)
        .collect();
    assert_eq!(echoed, [b"one".to_vec(), b"two".to_vec()]);
    let why = goodbye_reason(&got).unwrap_or_default();
    assert!(why.contains("exceeds"), "{why:?}");
    stops_promptly(server);
}

#[test]
fn a_bad_frame_behind_a_stuck_request_closes_within_the_idle_timeout() {
    let config = ServerConfig {
        idle_timeout: Duration::from_millis(300),
        stop_timeout: Duration::from_millis(200),
        ..ServerConfig::default()
    };
    let server = rpc_server(
        tcp::listen(loopback()).unwrap(),
        config,
        echo_sleeping(Some(b"stuck"), 3000),
    );
    let at = At::Tcp(server.local_addr().unwrap());
    let mut raw = at.raw();
    let mut wire = encode(&envelope(REQUEST, 1, 1, b"stuck"));
    wire.extend(encode(&envelope(99, 1, 2, b"x")));
    raw.stream().write_all(&wire).unwrap();
    let start = Instant::now();
    let got = read_to_close(&mut raw, T).expect("closed");
    assert!(
        start.elapsed() < Duration::from_millis(2000),
        "{:?}",
        start.elapsed()
    );
    assert!(frames_before_goodbye(&got).is_empty());
    let why = goodbye_reason(&got).unwrap_or_default();
    assert!(why.contains("unknown"), "{why:?}");
    drop(server);
}
