//! Sockets, end to end on loopback: the lecture's programs, the load, bad-input and fault
//! tests of the transports, the communication types and the servers.
//!
//! Every test binds port 0 (an ephemeral port) or a path in a fresh temporary directory, so
//! runs in parallel never clash. The load tests run 32 clients x 200 messages by default;
//! `LOCKSTEP_TEST_SCALE=5` runs the full 32 x 1,000.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use lockstep::lockstep_hosted::NetError;
use lockstep::lockstep_hosted::comm::{Endpoint, Incoming, Retry};
use lockstep::lockstep_hosted::server::{
    Broker, BrokerConfig, Publisher, ServerConfig, Subscriber, framed_echo_server, raw_echo_server,
    rpc_server, serve, udp_rpc_server, udp_server,
};
use lockstep::lockstep_hosted::transport::framing::{FrameReader, encode};
use lockstep::lockstep_hosted::transport::{Transport, tcp, udp, unix};
use proptest::prelude::*;

/// The one knob that scales the load tests (`LOCKSTEP_TEST_SCALE=5`: 32 x 1,000).
fn scale(n: usize) -> usize {
    n * lockstep::lockstep_sim::test_scale()
}

const CLIENTS: usize = 32;
const WINDOW: usize = 16;
const T: Duration = Duration::from_secs(20);

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn load_config() -> ServerConfig {
    ServerConfig {
        workers: 8,
        ..ServerConfig::default()
    }
}

/// Each of 32 clients sends its numbered messages and checks that the echoes come back
/// exactly once, in order.
fn echo_load<Tr: Transport>(connect: impl Fn() -> Tr + Sync) {
    let n = scale(200);
    thread::scope(|s| {
        for c in 0..CLIENTS {
            let connect = &connect;
            s.spawn(move || {
                let mut t = connect();
                // Pipelined in windows: a window fits in the socket buffers both ways, so a
                // client never blocks writing while the server blocks writing its echoes.
                for start in (0..n).step_by(WINDOW) {
                    let end = (start + WINDOW).min(n);
                    for i in start..end {
                        t.send(format!("client {c} message {i}").as_bytes())
                            .unwrap();
                    }
                    for i in start..end {
                        let m = t.recv(Some(T)).unwrap();
                        assert_eq!(m, format!("client {c} message {i}").as_bytes());
                    }
                }
                assert!(
                    t.recv(Some(Duration::from_millis(20)))
                        .unwrap_err()
                        .is_timeout()
                );
            });
        }
    });
}

#[test]
fn tcp_server_load_delivers_exactly_once_in_order() {
    let server = framed_echo_server(tcp::listen(loopback()).unwrap(), load_config());
    let addr = server.local_addr().unwrap();
    echo_load(|| tcp::connect(addr).unwrap());
    let stats = server.shutdown();
    assert_eq!(stats.messages as usize, CLIENTS * scale(200));
    assert_eq!(stats.accepted as usize, CLIENTS);
    assert!(stats.errors.is_empty(), "{:?}", stats.errors);
}

#[test]
fn unix_server_load_delivers_exactly_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("load.sock");
    let server = framed_echo_server(unix::listen(&path).unwrap(), load_config());
    echo_load(|| unix::connect(&path).unwrap());
    let stats = server.shutdown();
    assert_eq!(stats.messages as usize, CLIENTS * scale(200));
    assert!(stats.errors.is_empty(), "{:?}", stats.errors);
    assert!(!path.exists(), "the socket file is removed at shutdown");
}

#[test]
fn broker_load_delivers_exactly_once_in_order_per_publisher() {
    let n = scale(200);
    let broker = Broker::start(
        tcp::listen(loopback()).unwrap(),
        BrokerConfig {
            server: load_config(),
            ..Default::default()
        },
    );
    let addr = broker.local_addr().unwrap();
    let mut sub = Subscriber::new(tcp::connect(addr).unwrap(), &["load"], T).unwrap();
    let mut other = Subscriber::new(tcp::connect(addr).unwrap(), &["other"], T).unwrap();
    thread::scope(|s| {
        for c in 0..CLIENTS {
            s.spawn(move || {
                let mut p = Publisher::new(tcp::connect(addr).unwrap());
                for i in 0..n {
                    p.publish("load", format!("{c} {i}").as_bytes()).unwrap();
                }
            });
        }
        let mut next = vec![0usize; CLIENTS];
        for _ in 0..CLIENTS * n {
            let d = sub.next(Some(T)).unwrap();
            assert_eq!(d.topic, "load");
            let text = String::from_utf8(d.body).unwrap();
            let (c, i) = text.split_once(' ').unwrap();
            let (c, i): (usize, usize) = (c.parse().unwrap(), i.parse().unwrap());
            assert_eq!(i, next[c], "publisher {c}: out of order or duplicated");
            next[c] += 1;
        }
        assert!(next.iter().all(|&k| k == n));
    });
    assert!(
        sub.next(Some(Duration::from_millis(50)))
            .unwrap_err()
            .is_timeout(),
        "no extra deliveries"
    );
    // The other topic saw none of it: its first delivery is the one published to it.
    let mut p = Publisher::new(tcp::connect(addr).unwrap());
    assert_eq!(p.publish_confirmed("other", b"only this", T).unwrap(), 1);
    assert_eq!(other.next(Some(T)).unwrap().body, b"only this");
    assert!(broker.shutdown().errors.is_empty());
}

#[test]
fn broker_broadcast_mode_reaches_every_subscriber() {
    let broker = Broker::start(
        tcp::listen(loopback()).unwrap(),
        BrokerConfig {
            broadcast: true,
            ..Default::default()
        },
    );
    let addr = broker.local_addr().unwrap();
    let mut subs: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|t| Subscriber::new(tcp::connect(addr).unwrap(), &[t], T).unwrap())
        .collect();
    let mut p = Publisher::new(tcp::connect(addr).unwrap());
    assert_eq!(p.publish_confirmed("anything", b"to all", T).unwrap(), 3);
    for s in &mut subs {
        let d = s.next(Some(T)).unwrap();
        assert_eq!(
            (d.topic.as_str(), &d.body[..]),
            ("anything", &b"to all"[..])
        );
    }
}

/// A transport that loses and duplicates a share of what it sends (deterministically).
struct Lossy<Tr> {
    inner: Tr,
    rng: u64,
    lost: u32,
    drop_received: bool,
}

impl<Tr: Transport> Lossy<Tr> {
    fn roll(&mut self) -> u64 {
        // xorshift64
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % 100
    }
}

impl<Tr: Transport> Transport for Lossy<Tr> {
    fn send(&mut self, msg: &[u8]) -> Result<(), NetError> {
        match self.roll() {
            0..20 => {
                self.lost += 1;
                Ok(())
            }
            20..30 => {
                self.inner.send(msg)?;
                self.inner.send(msg)
            }
            _ => self.inner.send(msg),
        }
    }
    fn recv_into(&mut self, buf: &mut Vec<u8>, timeout: Option<Duration>) -> Result<(), NetError> {
        loop {
            self.inner.recv_into(buf, timeout)?;
            if self.drop_received && self.roll() < 20 {
                self.lost += 1; // lost on the way in
                continue;
            }
            return Ok(());
        }
    }
    fn is_reliable(&self) -> bool {
        false
    }
    fn max_message(&self) -> usize {
        self.inner.max_message()
    }
    fn peer(&self) -> &str {
        self.inner.peer()
    }
}

#[test]
fn udp_with_loss_and_duplicates_delivers_exactly_once() {
    let n = scale(200);
    let (a, b) = udp::pair().unwrap();
    let retry = Retry {
        interval: Duration::from_millis(5),
        max_interval: Duration::from_millis(5),
        max_sends: 200,
    };
    let mut client = Endpoint::with_retry(
        Lossy {
            inner: a,
            drop_received: false,
            rng: 0x9e37_79b9_7f4a_7c15,
            lost: 0,
        },
        retry,
    );
    let mut server = Endpoint::with_retry(
        Lossy {
            inner: b,
            drop_received: false,
            rng: 0x2545_f491_4f6c_dd1d,
            lost: 0,
        },
        retry,
    );
    let delivered = thread::scope(|s| {
        let srv = s.spawn(move || {
            let mut got = Vec::new();
            // Serve until the client has been quiet for a while (it retransmits while it waits).
            while let Ok(m) = server.recv(Some(Duration::from_millis(500))) {
                match m {
                    Incoming::Message(m) => got.push(m),
                    Incoming::Request(r) => {
                        got.push(r.body.clone());
                        let mut reply = r.body.clone();
                        reply.reverse();
                        server.reply(&r, &reply).unwrap();
                    }
                }
            }
            (got, server.into_inner().lost)
        });
        for i in 0..n {
            client.send_sync(format!("m{i}").as_bytes(), T).unwrap();
            let req = format!("r{i}");
            let reply = client.call(req.as_bytes(), T).unwrap();
            assert_eq!(reply, req.chars().rev().collect::<String>().as_bytes());
        }
        let lost = client.into_inner().lost;
        let (got, server_lost) = srv.join().unwrap();
        assert!(
            lost > 0 && server_lost > 0,
            "the test must actually lose datagrams"
        );
        got
    });
    let expected: Vec<Vec<u8>> = (0..n)
        .flat_map(|i| [format!("m{i}").into_bytes(), format!("r{i}").into_bytes()])
        .collect();
    assert_eq!(delivered, expected, "each message once, in order");
}

#[test]
fn asynchronous_request_ticket_is_collected_later() {
    let server = rpc_server(
        tcp::listen(loopback()).unwrap(),
        ServerConfig::default(),
        |b| b.to_ascii_uppercase(),
    );
    let mut c = Endpoint::new(tcp::connect(server.local_addr().unwrap()).unwrap());
    let tickets: Vec<_> = (0..10)
        .map(|i| c.request(format!("req{i}").as_bytes()).unwrap())
        .collect();
    c.send(b"a note in between").unwrap();
    for (i, t) in tickets.iter().enumerate().rev() {
        assert_eq!(c.collect(t, T).unwrap(), format!("REQ{i}").as_bytes());
    }
}

/// Opens a raw connection, sends `bytes`, optionally closes the write half, and checks that
/// the server closes the connection.
fn bad_client(addr: SocketAddr, bytes: &[u8], close_write: bool) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s.write_all(bytes).unwrap();
    if close_write {
        s.shutdown(std::net::Shutdown::Write).unwrap();
    }
    let start = Instant::now();
    // The server may say why before it closes (a goodbye frame); then the stream ends.
    let mut said = Vec::new();
    match s.read_to_end(&mut said) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected the server to close the connection, got {other:?}"),
    }
    assert!(said.len() < 1024, "only a short goodbye: {said:?}");
    assert!(start.elapsed() < T);
}

#[test]
fn bad_input_closes_that_connection_only() {
    let max = 64 * 1024;
    let mut config = ServerConfig::default();
    config.stream.max_frame = max;
    let server = framed_echo_server(tcp::listen(loopback()).unwrap(), config);
    let addr = server.local_addr().unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    thread::scope(|s| {
        // A well-behaved client keeps talking the whole time.
        let good = s.spawn(|| {
            let mut t = tcp::connect(addr).unwrap();
            let mut rounds = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || rounds < 50 {
                t.send(&[rounds as u8; 100]).unwrap();
                assert_eq!(t.recv(Some(T)).unwrap(), [rounds as u8; 100]);
                rounds += 1;
            }
            rounds
        });
        bad_client(addr, &[0xff, 0xff, 0xff, 0xff, 1, 2, 3], false); // absurd length
        bad_client(addr, &((max as u32 + 1).to_be_bytes()), false); // just over the maximum
        bad_client(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", false); // garbage
        let mut truncated = encode(&[7; 1000]);
        truncated.truncate(500);
        bad_client(addr, &truncated, true); // disconnects mid-frame
        bad_client(addr, &[0, 0], true); // disconnects mid-header
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(good.join().unwrap() >= 50);
    });
    let stats = server.shutdown();
    let errors = stats.errors.join("\n");
    assert_eq!(stats.errors.len(), 5, "{errors}");
    assert_eq!(
        errors.matches("exceeds the maximum of 65536 bytes").count(),
        3,
        "{errors}"
    );
    assert!(
        errors.contains("ended in the middle of a frame (500 of 1004 bytes)"),
        "{errors}"
    );
    assert!(
        errors.contains("ended in the middle of a frame (2 of 4 bytes)"),
        "{errors}"
    );
}

// proptest's default configuration reads PROPTEST_CASES (256 when unset).
proptest! {
    #[test]
    fn frame_decoder_never_panics_nor_overallocates(
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
        chunk in 1usize..600,
        max in 0usize..2048,
    ) {
        let mut reader = FrameReader::new(max);
        let mut src = ChunkedRead { data: &bytes, chunk };
        for _ in 0..bytes.len() + 1 {
            match reader.read_frame(&mut src) {
                Ok(Some(f)) => prop_assert!(f.len() <= max),
                Ok(None) | Err(_) => break,
            }
            prop_assert!(reader.frame_capacity() <= max);
        }
        prop_assert!(reader.frame_capacity() <= max);
    }

    #[test]
    fn framing_restores_boundaries_under_any_split(
        msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20),
        chunk in 1usize..700,
    ) {
        let wire: Vec<u8> = msgs.iter().flat_map(|m| encode(m)).collect();
        let mut reader = FrameReader::new(300);
        let mut src = ChunkedRead { data: &wire, chunk };
        for m in &msgs {
            prop_assert_eq!(reader.read_frame(&mut src).unwrap().unwrap(), &m[..]);
        }
        prop_assert!(reader.read_frame(&mut src).unwrap().is_none());
    }
}

struct ChunkedRead<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for ChunkedRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn server_stopped_mid_conversation_gives_a_clear_error() {
    let server = rpc_server(
        tcp::listen(loopback()).unwrap(),
        ServerConfig::default(),
        |b| b.to_vec(),
    );
    let mut c = Endpoint::new(tcp::connect(server.local_addr().unwrap()).unwrap());
    assert_eq!(c.call(b"one", T).unwrap(), b"one");
    server.shutdown();
    let start = Instant::now();
    let e = c.call(b"two", T).unwrap_err();
    assert!(e.is_disconnect(), "{e}");
    assert!(start.elapsed() < T / 2, "an error, not a hang");
}

#[test]
fn request_without_reply_times_out() {
    // A server that reads everything and never answers.
    let server = serve(
        tcp::listen(loopback()).unwrap(),
        ServerConfig::default(),
        |mut s: TcpStream, _| {
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
            Ok(())
        },
    );
    let mut c = Endpoint::new(tcp::connect(server.local_addr().unwrap()).unwrap());
    let e = c.call(b"anyone?", Duration::from_millis(100)).unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert!(e.to_string().contains("waiting for a reply"), "{e}");
    let e = c
        .send_sync(b"anyone?", Duration::from_millis(50))
        .unwrap_err();
    assert!(e.to_string().contains("waiting for a receipt"), "{e}");
}

#[test]
fn refused_busy_and_timeout_are_distinct_and_actionable() {
    let l = tcp::listen(loopback()).unwrap();
    let addr = l.local_addr().unwrap();
    let busy = tcp::listen(addr).unwrap_err();
    assert!(matches!(busy, NetError::AddrInUse { .. }));
    assert!(
        busy.to_string()
            .contains(&format!("lsof -i tcp:{}", addr.port())),
        "{busy}"
    );
    drop(l);
    let refused = tcp::connect(addr).unwrap_err();
    assert!(refused.is_refused(), "{refused}");
    assert!(refused.to_string().contains(&addr.to_string()));
    // UDP learns of the refusal from ICMP.
    let mut u = Endpoint::new(udp::connect(addr).unwrap());
    let e = u.send_sync(b"x", Duration::from_secs(2)).unwrap_err();
    assert!(e.is_refused() || e.is_timeout(), "{e}");
    // Nothing binds the network unless asked.
    assert!(matches!(
        tcp::listen("0.0.0.0:0".parse().unwrap()),
        Err(NetError::NotLoopback { .. })
    ));
    assert!(udp::bind("0.0.0.0:0".parse().unwrap()).is_err());
}

#[test]
fn ipv6_loopback_works_where_available() {
    let Ok(l) = tcp::listen("[::1]:0".parse().unwrap()) else {
        return;
    };
    let server = framed_echo_server(l, ServerConfig::default());
    let mut c = tcp::connect(server.local_addr().unwrap()).unwrap();
    c.send(b"v6").unwrap();
    assert_eq!(c.recv(Some(T)).unwrap(), b"v6");
    // UDP over ::1 with the communication types.
    let server = udp_rpc_server(udp::bind("[::1]:0".parse().unwrap()).unwrap(), |b| {
        b.to_vec()
    })
    .unwrap();
    let mut ep = Endpoint::new(udp::connect(server.local_addr().unwrap()).unwrap());
    assert_eq!(ep.call(b"v6 datagram", T).unwrap(), b"v6 datagram");
}

#[test]
fn idle_clients_and_clients_over_the_limit_are_closed() {
    let config = ServerConfig {
        workers: 1,
        max_connections: 1,
        idle_timeout: Duration::from_millis(200),
        ..Default::default()
    };
    let server = framed_echo_server(tcp::listen(loopback()).unwrap(), config);
    let addr = server.local_addr().unwrap();
    let mut first = tcp::connect(addr).unwrap();
    first.send(b"hold").unwrap();
    assert_eq!(first.recv(Some(T)).unwrap(), b"hold");
    // The limit is reached: a second client is closed at once.
    let mut second = tcp::connect(addr).unwrap();
    assert!(second.recv(Some(T)).unwrap_err().is_disconnect());
    // The first one, silent, is closed after the idle timeout.
    let e = first.recv(Some(T)).unwrap_err();
    assert!(e.is_disconnect(), "{e}");
    let stats = server.shutdown();
    assert_eq!((stats.rejected, stats.idle_closed), (1, 1));
}

#[test]
fn unix_socket_files_are_private_and_stale_ones_replaced() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sock");
    // A stale file, as a crashed server leaves it.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    assert!(unix::connect(&path).unwrap_err().is_refused());
    let server = framed_echo_server(unix::listen(&path).unwrap(), ServerConfig::default());
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(matches!(
        unix::listen(&path),
        Err(NetError::SocketInUse { .. })
    ));
    // A regular file is never removed.
    let file = dir.path().join("file");
    std::fs::write(&file, b"keep me").unwrap();
    assert!(unix::listen(&file).is_err());
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    drop(server);
    assert!(!path.exists());
}

#[test]
fn unix_datagrams_carry_the_four_types() {
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (dir.path().join("a"), dir.path().join("b"));
    // Bind b first so that a can connect to it, then connect b to a.
    let b_sock = std::os::unix::net::UnixDatagram::bind(&pb).unwrap();
    let a = unix::datagram(&pa, &pb).unwrap();
    b_sock.connect(&pa).unwrap();
    let b =
        lockstep::lockstep_hosted::transport::udp::Datagram::new(b_sock, unix::MAX_UNIX_DATAGRAM);
    let (mut a, mut b) = (Endpoint::new(a), Endpoint::new(b));
    thread::scope(|s| {
        s.spawn(move || {
            for _ in 0..3 {
                if let Incoming::Request(r) = b.recv(Some(T)).unwrap() {
                    b.reply(&r, b"pong").unwrap();
                }
            }
        });
        a.send(b"async").unwrap();
        a.send_sync(b"sync", T).unwrap();
        assert_eq!(a.call(b"ping", T).unwrap(), b"pong");
    });
}

#[test]
fn lecture_programs_speak_raw_bytes() {
    // TCP: the client sends the 11 bytes `Hello World`, no terminator; the server sees exactly
    // those and echoes them back.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let server = raw_echo_server(
        tcp::listen(loopback()).unwrap(),
        ServerConfig::default(),
        move |_, b| log.lock().unwrap().extend_from_slice(b),
    );
    let mut c = TcpStream::connect(server.local_addr().unwrap()).unwrap();
    c.set_read_timeout(Some(T)).unwrap();
    c.write_all(b"Hello World").unwrap();
    let mut back = [0; 11];
    c.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"Hello World");
    assert_eq!(*seen.lock().unwrap(), b"Hello World");
    // UDP: one datagram of 11 bytes.
    let (tx, rx) = std::sync::mpsc::channel();
    let server = udp_server(udp::bind(loopback()).unwrap(), move |b, _| {
        let _ = tx.send(b.to_vec());
        None
    })
    .unwrap();
    let c = std::net::UdpSocket::bind(loopback()).unwrap();
    c.send_to(b"Hello World", server.local_addr().unwrap())
        .unwrap();
    assert_eq!(rx.recv_timeout(T).unwrap(), b"Hello World");
}

#[test]
fn raw_stream_loses_boundaries_framing_restores_them() {
    let l = tcp::listen(loopback()).unwrap();
    let mut w = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (r, _) = l.accept().unwrap();
    w.write_all(&[1; 170]).unwrap();
    w.write_all(&[2; 230]).unwrap();
    // Wait until both sends have arrived, then one receive takes all 400 bytes.
    let deadline = Instant::now() + T;
    let mut peek = [0; 1024];
    while r.peek(&mut peek).unwrap() < 400 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
    let mut r = r;
    assert_eq!(r.read(&mut peek).unwrap(), 400, "two sends, one receive");
    // The same two sends, framed, are two messages.
    let mut fw = lockstep::lockstep_hosted::transport::Framed::new(w, 1024);
    let mut fr = lockstep::lockstep_hosted::transport::Framed::new(r, 1024);
    fw.send(&[1; 170]).unwrap();
    fw.send(&[2; 230]).unwrap();
    assert_eq!(fr.recv(Some(T)).unwrap().len(), 170);
    assert_eq!(fr.recv(Some(T)).unwrap().len(), 230);
}

#[test]
fn non_blocking_receive_returns_at_once() {
    let l = tcp::listen(loopback()).unwrap();
    let mut c = tcp::connect(l.local_addr().unwrap()).unwrap();
    let mut s = tcp::accept(&l).unwrap();
    let start = Instant::now();
    let e = s.recv(Some(Duration::ZERO)).unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert!(start.elapsed() < Duration::from_secs(1));
    // Half a frame: a poll keeps it, and a later receive completes it.
    let wire = encode(b"split in two");
    let raw = c.get_ref();
    (&*raw).write_all(&wire[..6]).unwrap();
    for _ in 0..3 {
        let e = s.recv(Some(Duration::ZERO)).unwrap_err();
        assert!(e.is_timeout(), "half a frame is not a message: {e}");
    }
    (&*raw).write_all(&wire[6..]).unwrap();
    assert_eq!(s.recv(Some(T)).unwrap(), b"split in two");
    // Sending after a poll blocks normally again.
    s.send(&[0; 100_000]).unwrap();
    assert_eq!(c.recv(Some(T)).unwrap().len(), 100_000);
}

/// Polls `f` until it returns `Some`, sleeping between tries, at most 200 times (2 s).
fn poll_until<R>(mut f: impl FnMut() -> Option<R>) -> Option<R> {
    for _ in 0..200 {
        if let Some(r) = f() {
            return Some(r);
        }
        thread::sleep(Duration::from_millis(10));
    }
    None
}

/// A zero-timeout receive takes a message that has arrived, and `try_collect` a reply that
/// has arrived, on a pair of connected transports.
fn zero_timeout_takes_what_arrived<A: Transport, B: Transport>(mut a: A, mut b: B, what: &str) {
    a.send(b"waiting").unwrap();
    // The message is on its way over loopback: some poll must see it.
    let got = poll_until(|| match b.recv(Some(Duration::ZERO)) {
        Ok(m) => Some(m),
        Err(e) if e.is_timeout() => None,
        Err(e) => panic!("{what}: {e}"),
    });
    assert_eq!(got.as_deref(), Some(&b"waiting"[..]), "{what}: recv(ZERO)");
    // Nothing more: a poll says so at once.
    let start = Instant::now();
    assert!(b.recv(Some(Duration::ZERO)).unwrap_err().is_timeout());
    assert!(start.elapsed() < Duration::from_millis(500));

    let (mut client, mut server) = (Endpoint::new(a), Endpoint::new(b));
    let ticket = client.request(b"question").unwrap();
    let Incoming::Request(req) = server.recv(Some(T)).unwrap() else {
        panic!("{what}: expected a request");
    };
    server.reply(&req, b"answer").unwrap();
    let reply = poll_until(|| client.try_collect(&ticket).unwrap());
    assert_eq!(
        reply.as_deref(),
        Some(&b"answer"[..]),
        "{what}: try_collect"
    );
    // Collected: the ticket is spent.
    assert!(client.try_collect(&ticket).is_err());
}

#[test]
fn zero_timeout_receive_takes_what_has_arrived() {
    let l = tcp::listen(loopback()).unwrap();
    let c = tcp::connect(l.local_addr().unwrap()).unwrap();
    let s = tcp::accept(&l).unwrap();
    zero_timeout_takes_what_arrived(c, s, "tcp");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zero.sock");
    let l = unix::listen(&path).unwrap();
    let c = unix::connect(&path).unwrap();
    let s = unix::accept(&l).unwrap();
    zero_timeout_takes_what_arrived(c, s, "unix stream");

    let (a, b) = udp::pair().unwrap();
    zero_timeout_takes_what_arrived(a, b, "udp");
}

#[test]
fn zero_timeout_receive_takes_a_whole_large_frame() {
    // A frame that needs several reads is still taken by one poll once it has arrived.
    let l = tcp::listen(loopback()).unwrap();
    let mut c = tcp::connect(l.local_addr().unwrap()).unwrap();
    let mut s = tcp::accept(&l).unwrap();
    c.send(&[7; 100_000]).unwrap();
    let got = poll_until(|| s.recv(Some(Duration::ZERO)).ok());
    assert_eq!(got.map(|m| m.len()), Some(100_000));
}

#[test]
fn udp_rpc_server_answers_32_lossy_clients_exactly_once() {
    let n = scale(200) / 4; // each call and receipt may wait for retransmissions
    let seen: Arc<Mutex<Vec<Vec<usize>>>> = Arc::new(Mutex::new(vec![Vec::new(); CLIENTS]));
    let log = seen.clone();
    let server = udp_rpc_server(udp::bind(loopback()).unwrap(), move |req| {
        let text = String::from_utf8_lossy(req).into_owned();
        let (c, i) = text.split_once(' ').unwrap();
        log.lock().unwrap()[c.parse::<usize>().unwrap()].push(i.parse().unwrap());
        text.into_bytes()
    })
    .unwrap();
    let addr = server.local_addr().unwrap();
    let retry = Retry {
        interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(10),
        max_sends: 500,
    };
    thread::scope(|s| {
        for c in 0..CLIENTS {
            s.spawn(move || {
                let lossy = Lossy {
                    inner: udp::connect(addr).unwrap(),
                    rng: 0x9e37_79b9 + c as u64 * 7919,
                    lost: 0,
                    drop_received: true,
                };
                let mut ep = Endpoint::with_retry(lossy, retry);
                for i in 0..n {
                    let req = format!("{c} {i}");
                    assert_eq!(ep.call(req.as_bytes(), T).unwrap(), req.as_bytes());
                    ep.send_sync(b"receipt please", T).unwrap();
                }
                assert!(ep.into_inner().lost > 0 || n < 10);
            });
        }
    });
    let stats = server.shutdown();
    for (c, got) in seen.lock().unwrap().iter().enumerate() {
        assert_eq!(
            *got,
            (0..n).collect::<Vec<_>>(),
            "client {c}: each request handled once, in order"
        );
    }
    assert_eq!(stats.messages as usize, 2 * CLIENTS * n);
    assert_eq!(stats.accepted as usize, CLIENTS);
}

/// Runs `lockstep` with `args`, returning its output; killed after `T` if it hangs.
fn lockstep(args: &[&str]) -> std::process::Output {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_lockstep"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    finish(child)
}

fn finish(mut child: std::process::Child) -> std::process::Output {
    let deadline = Instant::now() + T;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("lockstep did not finish in time");
        }
        thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// Starts a `lockstep` server on an ephemeral port and returns it with the address it
/// announces on its first line of stderr.
fn lockstep_server(args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lockstep"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    err.read_line(&mut line).unwrap();
    // Keep draining stderr, so that the server's last words do not hit a closed pipe.
    thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("127.0.0.1:"))
        .unwrap()
        .to_owned();
    (child, addr)
}

#[test]
fn cli_servers_and_clients_talk() {
    let (server, addr) =
        lockstep_server(&["tcp-server", "--addr", "127.0.0.1:0", "--exit-after", "1"]);
    let out = lockstep(&["tcp-client", "--addr", &addr]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Echo: Hello World"),
        "{out:?}"
    );
    let out = finish(server);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Received: Hello World\n"
    );

    let (server, addr) =
        lockstep_server(&["udp-server", "--addr", "127.0.0.1:0", "--exit-after", "1"]);
    let out = lockstep(&["udp-client", "--addr", &addr]);
    assert!(out.status.success(), "{out:?}");
    let out = finish(server);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Received: Hello World\n"
    );

    let out = lockstep(&["boundaries"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("-> 400 bytes") && text.contains("one message of 170 bytes"),
        "{text}"
    );

    // A busy port is reported with the way to find its holder.
    let held = tcp::listen(loopback()).unwrap();
    let port = held.local_addr().unwrap().port().to_string();
    let out = lockstep(&["tcp-server", "--addr", &format!("127.0.0.1:{port}")]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("lsof -i tcp:{port}")),
        "{out:?}"
    );
}

#[test]
fn public_types_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<NetError>();
    send_sync::<lockstep::lockstep_hosted::server::ServerHandle>();
    send_sync::<lockstep::lockstep_hosted::transport::tcp::TcpTransport>();
    send_sync::<lockstep::lockstep_hosted::transport::unix::UnixTransport>();
    send_sync::<lockstep::lockstep_hosted::transport::udp::UdpTransport>();
    send::<lockstep::lockstep_hosted::transport::inproc::InProc<4>>();
    send_sync::<Endpoint<lockstep::lockstep_hosted::transport::tcp::TcpTransport>>();
    send::<Box<dyn Transport>>();
}

#[test]
fn lecture_sockets_scenario_passes() {
    let r = lockstep::lockstep_hosted::server::sockets();
    assert!(r.pass, "{r}");
    let out = lockstep(&["sockets"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Result: Hello World; 400 -> 170 + 230"));
}

#[test]
fn a_restarted_udp_client_on_the_same_port_is_not_taken_for_a_repeat() {
    let calls = Arc::new(Mutex::new(0));
    let count = calls.clone();
    let server = udp_rpc_server(udp::bind(loopback()).unwrap(), move |b| {
        *count.lock().unwrap() += 1;
        b.to_ascii_uppercase()
    })
    .unwrap();
    let to = server.local_addr().unwrap();
    let sock = udp::bind(loopback()).unwrap();
    let port = sock.local_addr().unwrap();
    let mut first = Endpoint::new(udp::connect_socket(sock, to).unwrap());
    assert_eq!(first.call(b"first life", T).unwrap(), b"FIRST LIFE");
    drop(first);
    // The same address, sequence numbers from 0 again: a new incarnation, a new epoch.
    let mut second = Endpoint::new(udp::connect_socket(udp::bind(port).unwrap(), to).unwrap());
    assert_eq!(second.call(b"second life", T).unwrap(), b"SECOND LIFE");
    assert_eq!(*calls.lock().unwrap(), 2);
}

#[test]
fn a_peer_trickling_a_frame_cannot_stretch_a_timed_receive() {
    use std::io::Write;

    use lockstep::lockstep_hosted::transport::{Transport, tcp};

    let listener = tcp::listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut raw = tcp::connect_raw(
        addr,
        &lockstep::lockstep_hosted::transport::tcp::StreamConfig::default(),
    )
    .unwrap();
    let mut framed = tcp::accept(&listener).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            // A header announcing 1,000 bytes, then one byte every 20 ms, for at most 4 s.
            raw.write_all(&1000u32.to_be_bytes()).unwrap();
            for _ in 0..200 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) || raw.write_all(b"x").is_err() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
        let t = std::time::Instant::now();
        let r = framed.recv(Some(std::time::Duration::from_millis(300)));
        let took = t.elapsed();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(r.unwrap_err().is_timeout());
        // At most twice the timeout, with room for a loaded machine; without the deadline the
        // receive lasted until the trickle stopped (4 s).
        assert!(
            took < std::time::Duration::from_millis(2000),
            "took {took:?}"
        );
    });
}

#[test]
fn cli_names_failures_and_escapes_what_it_prints() {
    let (server, addr) = lockstep_server(&["rpc-server", "--addr", "127.0.0.1:0"]);
    // A bad argument: non-zero exit, the argument named.
    let out = lockstep(&["rpc-call", "--addr", &addr, "sum", "1", "x"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{out:?}");
    assert!(err.contains("\"x\" is not a whole number"), "{err}");
    let out = lockstep(&["rpc-call", "--addr", &addr, "sum", "1", "2"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3");
    // Control bytes from the other side are escaped, never sent to the terminal.
    let out = lockstep(&["rpc-call", "--addr", &addr, "echo", "\x1b[2Jhi\x07"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains('\x1b') && text.contains("\\x1b[2Jhi\\x07"),
        "{text:?}"
    );
    stop(server);

    // The counter scenarios refuse zero iterations as they refuse zero threads, and a race too
    // small to lose anything says what to do rather than fail.
    assert!(!lockstep(&["race", "--iters", "0"]).status.success());
    assert!(!lockstep(&["race", "--threads", "0"]).status.success());
    let out = lockstep(&["race", "--threads", "1", "--iters", "1"]);
    assert!(out.status.success(), "{out:?}");

    // Each server's help lists only what it uses.
    let help = |cmd: &str| String::from_utf8_lossy(&lockstep(&[cmd, "--help"]).stdout).into_owned();
    assert!(!help("udp-server").contains("--workers"));
    assert!(!help("tcp-server").contains("--workers"));
    assert!(help("rpc-server").contains("--workers"));
    assert!(!help("unix-server").contains("--allow-remote"));
    assert!(help("udp-server").contains("--allow-remote"));
    // A network address is refused with the way to allow it.
    let out = lockstep(&["udp-server", "--addr", "0.0.0.0:0"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--allow-remote"),
        "{out:?}"
    );
    // A busy UDP port names the UDP tools.
    let held = UdpSocket::bind(loopback()).unwrap();
    let port = held.local_addr().unwrap().port();
    let out = lockstep(&["udp-server", "--addr", &format!("127.0.0.1:{port}")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ss -lunp") && err.contains(&format!("udp:{port}")),
        "{err}"
    );
}

/// Sends SIGTERM to a server started by [`lockstep_server`] and returns its output.
#[cfg(unix)]
fn stop(child: std::process::Child) -> std::process::Output {
    // SAFETY: kill(2) with a live child's pid and a valid signal number.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    finish(child)
}

#[cfg(unix)]
#[test]
fn cli_unix_server_on_sigterm_removes_its_socket_and_reports() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cli.sock");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lockstep"))
        .args(["unix-server", "--path", path.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("listening"), "{line}");
    assert!(path.exists());
    let out = lockstep(&["unix-client", "--path", path.to_str().unwrap(), "one"]);
    assert!(out.status.success(), "{out:?}");
    // SAFETY: kill(2) with a live child's pid and a valid signal number.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let status = finish(child).status;
    assert!(status.success(), "{status:?} {rest}");
    assert!(!path.exists(), "the socket file is removed");
    assert!(rest.contains("served 1 message from 1 client"), "{rest}");
}

#[test]
fn a_client_that_stops_sending_still_gets_its_answers() {
    // `printf 'Hello World' | nc -N 127.0.0.1 5242`: write, close the sending half, read.
    let server = raw_echo_server(
        tcp::listen(loopback()).unwrap(),
        ServerConfig::default(),
        |_, _| {},
    );
    let mut s = TcpStream::connect(server.local_addr().unwrap()).unwrap();
    s.write_all(b"Hello World").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    let mut back = Vec::new();
    s.read_to_end(&mut back).unwrap();
    assert_eq!(back, b"Hello World");

    // The same for requests still running when the client stops sending.
    let server = rpc_server(
        tcp::listen(loopback()).unwrap(),
        ServerConfig::default(),
        |req| {
            thread::sleep(Duration::from_millis(100));
            req.to_vec()
        },
    );
    let mut ep = Endpoint::new(tcp::connect(server.local_addr().unwrap()).unwrap());
    let tickets: Vec<_> = (0..3u8).map(|i| ep.request(&[i]).unwrap()).collect();
    ep.transport()
        .get_ref()
        .shutdown(std::net::Shutdown::Write)
        .unwrap();
    for (i, t) in tickets.iter().enumerate() {
        assert_eq!(ep.collect(t, T).unwrap(), [i as u8]);
    }
    assert!(ep.recv(Some(T)).unwrap_err().is_disconnect());
}
