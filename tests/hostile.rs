//! Hostile clients against the servers, on loopback: clients that vanish, stop reading, sit
//! idle by the thousand, trickle frames (slowloris), flood UDP, send truncated datagrams,
//! non-UTF-8 topics and the largest sequence number. Each test is bounded in time and size.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

use lockstep::lockstep_hosted::NetError;
use lockstep::lockstep_hosted::comm::Endpoint;
use lockstep::lockstep_hosted::server::{
    Broker, BrokerConfig, HANDOFF_CAPACITY, Publisher, ServerConfig, Subscriber, UdpRpcConfig,
    framed_echo_server, rpc_server, serve, udp_rpc_server, udp_rpc_server_with,
};
use lockstep::lockstep_hosted::transport::framing::encode;
use lockstep::lockstep_hosted::transport::{Transport, tcp, udp, unix};

const T: Duration = Duration::from_secs(10);

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Raises the soft limit of open files to the hard limit; returns the new soft limit.
fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the limits into `lim`, a valid rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 1024;
    }
    lim.rlim_cur = lim.rlim_max.min(1 << 20);
    // SAFETY: setrlimit reads `lim`, a valid rlimit with cur <= max.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    lim.rlim_cur
}

/// This process's resident memory, from /proc/self/statm.
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// A framed round trip, timed.
fn round_trip<Tr: Transport>(c: &mut Tr, msg: &[u8]) -> Duration {
    let start = Instant::now();
    c.send(msg).unwrap();
    assert_eq!(c.recv(Some(T)).unwrap(), msg);
    start.elapsed()
}

/// Waits until `f` holds, at most `limit`.
fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    f()
}

#[test]
fn vanished_subscribers_are_noticed_at_once_and_hold_nothing() {
    let broker = Broker::start(tcp::listen(loopback()).unwrap(), BrokerConfig::default());
    let addr = broker.local_addr().unwrap();
    // Twice as many as the old server had workers: each used to hold one for ever.
    for _ in 0..16 {
        let s = Subscriber::new(tcp::connect(addr).unwrap(), &["quiet"], T).unwrap();
        drop(s);
    }
    let mut p = Publisher::new(tcp::connect(addr).unwrap());
    // Every one of them is gone from the topic within a moment.
    assert!(
        eventually(Duration::from_secs(2), || p
            .publish_confirmed("quiet", b"anyone?", T)
            .unwrap()
            == 0),
        "vanished subscribers still counted"
    );
    // And new subscribers and publishers are served at once.
    let start = Instant::now();
    let mut s = Subscriber::new(tcp::connect(addr).unwrap(), &["quiet"], T).unwrap();
    assert_eq!(p.publish_confirmed("quiet", b"hello", T).unwrap(), 1);
    assert_eq!(s.next(Some(T)).unwrap().body, b"hello");
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_stopped_subscriber_lags_and_blocks_nobody() {
    let broker = Broker::start(tcp::listen(loopback()).unwrap(), BrokerConfig::default());
    let addr = broker.local_addr().unwrap();
    let mut stopped = Subscriber::new(tcp::connect(addr).unwrap(), &["t"], T).unwrap();
    let mut healthy = Subscriber::new(tcp::connect(addr).unwrap(), &["t"], T).unwrap();
    let n = 3000u32;
    let body = vec![7u8; 4096];
    thread::scope(|sc| {
        let reader = sc.spawn(|| {
            for i in 0..n {
                let d = healthy.next(Some(T)).unwrap();
                assert_eq!((d.missed, &d.body[..4]), (0, &i.to_be_bytes()[..]));
            }
        });
        let start = Instant::now();
        let mut p = Publisher::new(tcp::connect(addr).unwrap());
        for i in 0..n {
            let mut b = body.clone();
            b[..4].copy_from_slice(&i.to_be_bytes());
            p.publish("t", &b).unwrap();
        }
        // Confirmed: the broker has fanned everything out; the stopped one did not hold it.
        p.publish_confirmed("other", b"", T).unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
        reader.join().unwrap();
    });
    // 12 MB went out; the stopped subscriber's share did not fit: it lagged.
    let lagged = broker.stats().lagged;
    assert!(lagged > 0, "{:?}", broker.stats());
    // It reads now: every message is either received or counted as missed (the count rides
    // on the next delivery, so one more is published once it has drained).
    let mut p = Publisher::new(tcp::connect(addr).unwrap());
    let (mut got, mut missed, mut sent_last) = (0u64, 0u64, false);
    loop {
        let d = match stopped.next(Some(Duration::from_millis(500))) {
            Ok(d) => d,
            Err(e) if e.is_timeout() && !sent_last => {
                p.publish("t", b"last").unwrap();
                sent_last = true;
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        missed += d.missed;
        if d.body == b"last" {
            break;
        }
        got += 1;
    }
    assert_eq!(got + missed, u64::from(n), "got {got}, missed {missed}");
    assert_eq!(missed, lagged, "what it missed is what the broker dropped");
}

#[test]
fn a_subscriber_that_never_reads_is_closed_with_a_reason() {
    let mut config = BrokerConfig::default();
    config.server.stream.write_timeout = Some(Duration::from_millis(300));
    let broker = Broker::start(tcp::listen(loopback()).unwrap(), config);
    let addr = broker.local_addr().unwrap();
    let _stopped = Subscriber::new(tcp::connect(addr).unwrap(), &["t"], T).unwrap();
    let mut p = Publisher::new(tcp::connect(addr).unwrap());
    let body = vec![1u8; 64 * 1024];
    // Until its socket buffers are full and the deadline passes.
    assert!(eventually(Duration::from_secs(5), || {
        for _ in 0..20 {
            p.publish("t", &body).unwrap();
        }
        broker.stats().stalled == 1
    }));
    let stats = broker.stats();
    let errors = stats.errors.join("\n");
    assert!(errors.contains("for the client to read them"), "{errors}");
    // Publishing goes on, to nobody.
    assert_eq!(p.publish_confirmed("t", b"x", T).unwrap(), 0);
}

#[test]
fn topics_are_checked_utf8_never_mixed_up() {
    let broker = Broker::start(tcp::listen(loopback()).unwrap(), BrokerConfig::default());
    let addr = broker.local_addr().unwrap();
    // The client refuses what it cannot send faithfully.
    let e = Subscriber::new(tcp::connect(addr).unwrap(), &["a\nb"], T).unwrap_err();
    assert!(e.to_string().contains("newline"), "{e}");
    // A replacement character is a topic of its own.
    let mut fffd = Subscriber::new(tcp::connect(addr).unwrap(), &["\u{fffd}"], T).unwrap();
    // Raw bytes that are not UTF-8: the broker closes the connection and says why.
    let mut raw = Endpoint::new(tcp::connect(addr).unwrap());
    let e = raw.call(b"S\xff", T).unwrap_err();
    assert!(
        matches!(&e, NetError::ClosedBy { reason, .. } if reason.contains("not valid UTF-8")),
        "{e}"
    );
    let mut raw = Endpoint::new(tcp::connect(addr).unwrap());
    let e = raw.call(b"P\x00\x01\xfebody", T).unwrap_err();
    assert!(e.to_string().contains("not valid UTF-8"), "{e}");
    // A subscription's topics are bounded.
    let many: Vec<String> = (0..1025).map(|i| format!("t{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let e = Subscriber::new(tcp::connect(addr).unwrap(), &many, T).unwrap_err();
    assert!(e.to_string().contains("at most 1024 topics"), "{e}");
    // Nothing reached the replacement-character topic.
    let mut p = Publisher::new(tcp::connect(addr).unwrap());
    assert_eq!(p.publish_confirmed("\u{fffd}", b"mine", T).unwrap(), 1);
    assert_eq!(fffd.next(Some(T)).unwrap().body, b"mine");
}

/// Opens `n` idle connections and `slow` slowloris ones to `addr`, then checks that a good
/// client is served in milliseconds.
fn crowd_and_good_client(addr: SocketAddr, n: usize, slow: usize) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(n + slow);
    for _ in 0..n {
        held.push(TcpStream::connect(addr).unwrap());
    }
    let half = encode(&[9; 1000]);
    for i in 0..slow {
        let mut s = TcpStream::connect(addr).unwrap();
        // Part of a header or part of a body, then nothing.
        s.write_all(&half[..if i % 2 == 0 { 2 } else { 500 }])
            .unwrap();
        held.push(s);
    }
    let mut good = tcp::connect(addr).unwrap();
    let mut worst = Duration::ZERO;
    for i in 0..50u8 {
        worst = worst.max(round_trip(&mut good, &[i; 100]));
    }
    // Milliseconds on loopback; a generous bound for a loaded machine.
    assert!(
        worst < Duration::from_millis(500),
        "worst round trip {worst:?}"
    );
    held
}

#[test]
fn a_thousand_idle_clients_and_slowloris_delay_no_one() {
    let fds = raise_fd_limit();
    // Each connection takes two descriptors here (client and server side).
    let n = if fds >= 2600 {
        1000
    } else {
        (fds as usize / 2).saturating_sub(200)
    };
    let config = ServerConfig {
        workers: 1,
        max_connections: n + 100,
        frame_timeout: Duration::from_millis(400),
        ..ServerConfig::default()
    };
    let server = framed_echo_server(tcp::listen(loopback()).unwrap(), config);
    let addr = server.local_addr().unwrap();
    let rss_before = rss_bytes();
    let mut held = crowd_and_good_client(addr, n, 20);
    let rss_after = rss_bytes();
    if let (Some(a), Some(b)) = (rss_before, rss_after) {
        // Both sides of each connection live in this process: still a few KiB each.
        let per = b.saturating_sub(a) / (n as u64 + 20);
        assert!(per < 64 * 1024, "{per} bytes per idle connection");
    }
    // The slowloris clients are closed after the frame deadline, told why.
    assert!(eventually(Duration::from_secs(5), || server
        .stats()
        .stalled
        == 20));
    let mut said = Vec::new();
    let last = held.last_mut().unwrap();
    last.set_read_timeout(Some(T)).unwrap();
    let _ = last.read_to_end(&mut said);
    let said = String::from_utf8_lossy(&said);
    assert!(said.contains("not finished within 400 ms"), "{said:?}");
    // The idle ones are still open (their idle timeout is a minute).
    assert_eq!(server.stats().idle_closed, 0);
    drop(held);
}

#[test]
fn the_connection_limit_refuses_at_once_with_a_reason() {
    let config = ServerConfig {
        max_connections: 4,
        ..ServerConfig::default()
    };
    let server = framed_echo_server(tcp::listen(loopback()).unwrap(), config.clone());
    let addr = server.local_addr().unwrap();
    let mut open: Vec<_> = (0..4).map(|_| tcp::connect(addr).unwrap()).collect();
    for c in &mut open {
        round_trip(c, b"in");
    }
    let start = Instant::now();
    let mut fifth = tcp::connect(addr).unwrap();
    let e = fifth.recv(Some(T)).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(&e, NetError::ClosedBy { reason, .. } if reason.contains("limit of 4 connections")),
        "{e}"
    );
    assert!(e.is_disconnect());
    let stats = server.stats();
    assert_eq!(stats.rejected, 1);
    assert!(
        stats.errors.iter().any(|l| l.starts_with("refused")),
        "{stats:?}"
    );
    // One leaves: the next is served.
    drop(open.pop());
    assert!(eventually(Duration::from_secs(2), || {
        let mut c = tcp::connect(addr).unwrap();
        c.send(b"x").is_ok() && c.recv(Some(T)).is_ok()
    }));

    // The same over a Unix socket.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("limit.sock");
    let config = ServerConfig {
        max_connections: 1,
        ..ServerConfig::default()
    };
    let server = framed_echo_server(unix::listen(&path).unwrap(), config);
    let mut first = unix::connect(&path).unwrap();
    round_trip(&mut first, b"in");
    let e = unix::connect(&path).unwrap().recv(Some(T)).unwrap_err();
    assert!(e.to_string().contains("limit of 1 connections"), "{e}");
    assert_eq!(server.shutdown().rejected, 1);
}

#[test]
fn a_slow_request_delays_no_other_client() {
    for udp_too in [false, true] {
        let handler = |req: &[u8]| {
            if req == b"slow" {
                thread::sleep(Duration::from_secs(2));
            }
            req.to_vec()
        };
        let (server, addr) = if udp_too {
            let s = udp_rpc_server(udp::bind(loopback()).unwrap(), handler).unwrap();
            let a = s.local_addr().unwrap();
            (s, a)
        } else {
            let config = ServerConfig {
                workers: 2,
                ..ServerConfig::default()
            };
            let s = rpc_server(tcp::listen(loopback()).unwrap(), config, handler);
            let a = s.local_addr().unwrap();
            (s, a)
        };
        let connect = || -> Box<dyn Transport> {
            if udp_too {
                Box::new(udp::connect(addr).unwrap())
            } else {
                Box::new(tcp::connect(addr).unwrap())
            }
        };
        thread::scope(|sc| {
            let mut slow = Endpoint::new(connect());
            let t = sc.spawn(move || slow.call(b"slow", T).unwrap());
            thread::sleep(Duration::from_millis(100));
            let mut quick = Endpoint::new(connect());
            let start = Instant::now();
            assert_eq!(quick.call(b"quick", T).unwrap(), b"quick");
            assert!(
                start.elapsed() < Duration::from_millis(1500),
                "udp {udp_too}: {:?}",
                start.elapsed()
            );
            assert_eq!(t.join().unwrap(), b"slow");
        });
        drop(server);
    }
}

#[test]
fn udp_flood_keeps_the_reply_cache_bounded() {
    let config = UdpRpcConfig {
        cache_bytes_per_peer: 128 * 1024,
        cache_bytes: 1 << 20,
        ..UdpRpcConfig::default()
    };
    // Each reply is 60,000 bytes: 200 clients x 10 requests would be 120 MB cached unbounded.
    let server = udp_rpc_server_with(udp::bind(loopback()).unwrap(), config, |_req| {
        vec![0xab; 60_000]
    })
    .unwrap();
    let addr = server.local_addr().unwrap();
    let rss_before = rss_bytes();
    let mut peak = 0;
    for _ in 0..200 {
        let mut c = Endpoint::new(udp::connect(addr).unwrap());
        for _ in 0..10 {
            assert_eq!(c.call(b"x", T).unwrap().len(), 60_000);
        }
        peak = peak.max(server.stats().cache_bytes);
    }
    assert!(peak <= 1 << 20, "{peak} bytes cached");
    assert!(peak > 0, "replies are cached");
    if let (Some(a), Some(b)) = (rss_before, rss_bytes()) {
        let grew = b.saturating_sub(a);
        assert!(grew < 48 << 20, "the process grew by {grew} bytes");
    }
}

#[test]
fn a_reply_too_large_to_send_is_an_error_and_not_cached() {
    let server = udp_rpc_server(udp::bind(loopback()).unwrap(), |_| vec![1; 70_000]).unwrap();
    let mut c = Endpoint::new(udp::connect(server.local_addr().unwrap()).unwrap());
    let start = Instant::now();
    let e = c.call(b"big", T).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(&e, NetError::Failed { reason, .. } if reason.contains("70000 bytes")),
        "{e}"
    );
    assert_eq!(server.stats().cache_bytes, 0);
}

/// `[kind][epoch u32 le][seq u64 le][payload]`: the envelope of the communication types.
fn envelope(kind: u8, epoch: u32, seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![kind];
    v.extend_from_slice(&epoch.to_le_bytes());
    v.extend_from_slice(&seq.to_le_bytes());
    v.extend_from_slice(payload);
    v
}

#[test]
fn the_largest_sequence_number_runs_once() {
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let server = udp_rpc_server(udp::bind(loopback()).unwrap(), move |req| {
        r.fetch_add(1, Relaxed);
        req.to_vec()
    })
    .unwrap();
    let sock = UdpSocket::bind(loopback()).unwrap();
    sock.connect(server.local_addr().unwrap()).unwrap();
    sock.set_read_timeout(Some(T)).unwrap();
    const REQUEST: u8 = 3;
    const REPLY: u8 = 4;
    for seq in [u64::MAX - 1, u64::MAX] {
        for _ in 0..3 {
            sock.send(&envelope(REQUEST, 7, seq, b"wrap")).unwrap();
            let mut buf = [0; 64];
            let n = sock.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], &envelope(REPLY, 7, seq, b"wrap")[..]);
        }
    }
    assert_eq!(runs.load(Relaxed), 2, "each request ran once");
}

#[test]
fn a_truncated_datagram_is_refused() {
    let Ok(bound) = udp::bind("[::1]:0".parse().unwrap()) else {
        return; // no IPv6 loopback here
    };
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let server = udp_rpc_server(bound, move |req| {
        r.fetch_add(1, Relaxed);
        req[..1].to_vec()
    })
    .unwrap();
    let sock = UdpSocket::bind("[::1]:0").unwrap();
    // 65,520 bytes fit in an IPv6 datagram but not in the server's largest payload.
    if sock
        .send_to(
            &envelope(3, 1, 0, &[0; 65_520 - 13]),
            server.local_addr().unwrap(),
        )
        .is_err()
    {
        return; // this system does not send datagrams that large
    }
    assert!(eventually(Duration::from_secs(2), || server
        .stats()
        .errors
        .iter()
        .any(|e| e.contains("truncated"))));
    assert_eq!(runs.load(Relaxed), 0, "a truncated request never runs");
}

#[test]
fn a_udp_client_retries_through_refusals_until_its_timeout() {
    // Nobody listens on the port yet: ICMP "port unreachable" comes back at once.
    let port_holder = UdpSocket::bind(loopback()).unwrap();
    let addr = port_holder.local_addr().unwrap();
    drop(port_holder);
    let mut c = Endpoint::new(udp::connect(addr).unwrap());
    thread::scope(|sc| {
        sc.spawn(|| {
            thread::sleep(Duration::from_millis(700));
            let server = udp_rpc_server(udp::bind(addr).unwrap(), |r| r.to_vec()).unwrap();
            thread::sleep(Duration::from_secs(3));
            drop(server);
        });
        let start = Instant::now();
        assert_eq!(
            c.call(b"anyone?", Duration::from_secs(3)).unwrap(),
            b"anyone?"
        );
        assert!(start.elapsed() >= Duration::from_millis(600));
    });
    // With nobody ever there, the call lasts its whole timeout and says who refused.
    let holder = UdpSocket::bind(loopback()).unwrap();
    let addr = holder.local_addr().unwrap();
    drop(holder);
    let mut c = Endpoint::new(udp::connect(addr).unwrap());
    let start = Instant::now();
    let e = c.call(b"x", Duration::from_millis(1500)).unwrap_err();
    assert!(
        start.elapsed() >= Duration::from_millis(1400),
        "{:?}",
        start.elapsed()
    );
    assert!(e.is_refused() || e.is_timeout(), "{e}");
}

#[test]
fn a_live_unix_socket_with_a_full_backlog_is_reported_at_once() {
    use socket2::{Domain, SockAddr, Socket, Type};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.sock");
    let listener = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    listener.bind(&SockAddr::unix(&path).unwrap()).unwrap();
    listener.listen(1).unwrap();
    // Fill the backlog: connect until the kernel says "try again".
    let mut clients = Vec::new();
    for _ in 0..64 {
        let c = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        c.set_nonblocking(true).unwrap();
        let full = c.connect(&SockAddr::unix(&path).unwrap()).is_err();
        clients.push(c);
        if full {
            break;
        }
    }
    let start = Instant::now();
    let e = unix::listen(&path).unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert!(e.to_string().contains("in use by a live listener"), "{e}");
    assert!(path.exists(), "a live listener's file is never removed");
}

#[test]
fn serve_refuses_past_its_workers_and_queue_instead_of_leaving_clients_hanging() {
    // One worker that holds its connection until the client leaves.
    let config = ServerConfig {
        workers: 1,
        ..ServerConfig::default()
    };
    let serving = Arc::new(AtomicUsize::new(0));
    let s2 = serving.clone();
    let server = serve(
        tcp::listen(loopback()).unwrap(),
        config,
        move |mut s: TcpStream, _| {
            s2.fetch_add(1, Relaxed);
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
            Ok(())
        },
    );
    let addr = server.local_addr().unwrap();
    // One served ...
    let mut held = vec![TcpStream::connect(addr).unwrap()];
    assert!(eventually(Duration::from_secs(5), || serving.load(Relaxed) == 1));
    // ... and HANDOFF_CAPACITY waiting for the worker: all accepted and held.
    held.extend((0..HANDOFF_CAPACITY).map(|_| TcpStream::connect(addr).unwrap()));
    assert!(eventually(Duration::from_secs(5), || server
        .stats()
        .accepted
        == held.len() as u64));
    // The next one is refused at once, and told why.
    let start = Instant::now();
    let e = tcp::connect(addr).unwrap().recv(Some(T)).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(
        e.to_string().contains("connections; try again later"),
        "{e}"
    );
    assert_eq!(server.stats().rejected, 1);
    drop(held);
}
