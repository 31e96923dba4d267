//! An application's view of the facade: what a program written from the docs alone relies on,
//! beyond the lecture's scenarios (error conversions, the numbers errors report, iteration).
//! Every test is bounded by timeouts.

use std::io;
use std::time::Duration;

use lockstep::NetError;
use lockstep::lockstep_hosted::comm::Endpoint;
use lockstep::lockstep_hosted::transport::{Transport, tcp, udp};

const T: Duration = Duration::from_secs(5);

/// `?` on a `NetError` in a function returning `io::Result`: the kind says what happened and the
/// original error comes back out.
#[test]
fn net_errors_convert_to_io_errors() {
    fn connect_to(addr: std::net::SocketAddr) -> io::Result<()> {
        tcp::connect(addr)?;
        Ok(())
    }
    let l = tcp::listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let e = connect_to(addr).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
    assert!(e.to_string().contains("nobody listens"), "{e}");
    assert!(
        e.get_ref()
            .unwrap()
            .downcast_ref::<NetError>()
            .unwrap()
            .is_refused()
    );

    let taken = tcp::listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let e: io::Error = tcp::listen(taken.local_addr().unwrap()).unwrap_err().into();
    assert_eq!(e.kind(), io::ErrorKind::AddrInUse);

    let (a, _b) = udp::pair().unwrap();
    let mut a = Endpoint::new(a);
    let e: io::Error = a
        .call(b"nobody answers", Duration::from_millis(10))
        .unwrap_err()
        .into();
    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
}

/// A message over the largest an endpoint carries is refused with its own length and the
/// largest the caller may send, not the sizes of the envelope around it; one of exactly that
/// size goes through.
#[test]
fn oversized_messages_are_refused_with_the_callers_numbers() {
    let (a, b) = udp::pair().unwrap();
    let (mut a, mut b) = (Endpoint::new(a), Endpoint::new(b));
    let max = a.max_message();
    assert!(max < a.transport().max_message());
    let big = vec![7u8; max + 1];
    let check = |r: Result<(), NetError>| match r {
        Err(NetError::MessageTooLarge { len, max: m, .. }) => {
            assert_eq!((len, m), (max + 1, max));
        }
        other => panic!("{other:?}"),
    };
    check(a.send(&big));
    check(a.send_sync(&big, T));
    check(a.request(&big).map(drop));
    check(a.call(&big, T).map(drop));
    let text = a.send(&big).unwrap_err().to_string();
    assert!(
        text.contains(&format!("message of {} bytes", max + 1))
            && text.contains(&format!("maximum of {max} bytes")),
        "{text}"
    );
    // Exactly the maximum is carried, and the endpoint is still in step after the refusals.
    a.send(&big[..max]).unwrap();
    match b.recv(Some(T)).unwrap() {
        lockstep::lockstep_hosted::comm::Incoming::Message(m) => assert_eq!(m.len(), max),
        other => panic!("{other:?}"),
    }
}

/// A call that times out says it waited the caller's timeout, not what was left of it after the
/// request went out.
#[test]
fn a_call_timeout_names_the_callers_timeout() {
    let l = tcp::listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut a = Endpoint::new(tcp::connect(l.local_addr().unwrap()).unwrap());
    let _silent = tcp::accept(&l).unwrap();
    let timeout = Duration::from_millis(30);
    match a.call(b"anyone?", timeout) {
        Err(NetError::Timeout { after, what, .. }) => {
            assert_eq!(after, timeout);
            assert_eq!(what, "a reply");
        }
        other => panic!("{other:?}"),
    }
}

/// Receivers iterate, as std's do: `for m in &queue` until closed and drained, `try_iter` for
/// what is there now; the same for an SPSC consumer, whose iteration ends when its producer is
/// dropped.
#[test]
fn receivers_iterate_until_closed() {
    let q: lockstep::Queue<u32, 2> = lockstep::Queue::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            for n in 0..100 {
                q.send(n).unwrap();
            }
            q.close();
        });
        let mut got = Vec::new();
        for n in &q {
            got.push(n);
        }
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    });
    let q: lockstep::Queue<u32, 4> = lockstep::Queue::new();
    q.send(1).unwrap();
    q.send(2).unwrap();
    let it: lockstep::QueueTryIter<'_, u32, 4> = q.try_iter();
    assert_eq!(it.collect::<Vec<_>>(), [1, 2]);
    assert_eq!(q.try_iter().count(), 0);

    let mut ring: lockstep::Spsc<u32, 2> = lockstep::Spsc::new();
    let (mut tx, mut rx) = ring.split();
    std::thread::scope(|s| {
        s.spawn(move || {
            for n in 0..100 {
                tx.send(n).unwrap();
            }
        });
        let mut got = Vec::new();
        for n in &mut rx {
            got.push(n);
        }
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    });
    assert_eq!(rx.try_iter().next(), None);

    let r: lockstep::Rendezvous<u32> = lockstep::Rendezvous::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            for n in 0..20 {
                r.send(n).unwrap();
            }
            r.close();
        });
        let it: lockstep::RendezvousIter<'_, u32> = (&r).into_iter();
        assert_eq!(it.collect::<Vec<_>>(), (0..20).collect::<Vec<_>>());
    });
}

/// Two named Unix datagram endpoints through the transport's own functions (owner-only files),
/// carrying the four communication types; a peer that goes away is reported, not waited on
/// past the timeout.
#[test]
fn named_unix_datagram_endpoints_carry_the_four_types() {
    use lockstep::lockstep_hosted::comm::Incoming;
    use lockstep::lockstep_hosted::transport::unix;
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (dir.path().join("a.sock"), dir.path().join("b.sock"));
    let a = unix::bind_datagram(&pa).unwrap();
    let b = unix::bind_datagram(&pb).unwrap();
    for p in [&pa, &pb] {
        assert_eq!(
            std::fs::metadata(p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let mut a = Endpoint::new(unix::connect_datagram(a, &pb).unwrap());
    let mut b = Endpoint::new(unix::connect_datagram(b, &pa).unwrap());
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut messages = Vec::new();
            for _ in 0..4 {
                match b.recv(Some(T)).unwrap() {
                    Incoming::Message(m) => messages.push(m),
                    Incoming::Request(r) => {
                        let up = r.body.to_ascii_uppercase();
                        b.reply(&r, &up).unwrap();
                    }
                }
            }
            assert_eq!(messages, [b"async".to_vec(), b"sync".to_vec()]);
        });
        a.send(b"async").unwrap();
        a.send_sync(b"sync", T).unwrap();
        assert_eq!(a.call(b"rpc", T).unwrap(), b"RPC");
        let ticket = a.request(b"ticket").unwrap();
        assert_eq!(a.collect(&ticket, T).unwrap(), b"TICKET");
    });
    drop(b);
    let e = a
        .send_sync(b"anyone?", Duration::from_millis(50))
        .unwrap_err();
    assert!(e.is_refused() || e.is_timeout(), "{e}");
    // Binding again at a path whose socket is gone replaces the file.
    assert!(unix::bind_datagram(&pb).is_ok());
    // A path that is not a socket is left alone.
    let file = dir.path().join("file");
    std::fs::write(&file, b"keep").unwrap();
    assert!(unix::bind_datagram(&file).is_err());
    assert_eq!(std::fs::read(&file).unwrap(), b"keep");
}

/// Every way to take a semaphore's permit has a guard form, the timed one included.
#[test]
fn a_timed_acquire_returns_a_permit_guard() {
    let sem = lockstep::Semaphore::bounded(1);
    let p: lockstep::SemaphorePermit<'_> = sem.acquire_permit_timeout(T).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            let start = std::time::Instant::now();
            assert!(
                sem.acquire_permit_timeout(Duration::from_millis(20))
                    .is_none()
            );
            assert!(start.elapsed() >= Duration::from_millis(20));
        });
    });
    assert_eq!(
        sem.available(),
        0,
        "a timed-out acquire gave no permit back"
    );
    drop(p);
    assert_eq!(sem.available(), 1);
    assert!(sem.release().is_err()); // the guard returned it exactly once
}

/// An asynchronous request over UDP whose first datagram is lost (nobody listens yet) is
/// retransmitted while the client polls `try_collect`, as it is during a `collect`.
#[test]
fn polling_try_collect_over_udp_retransmits_a_lost_request() {
    use lockstep::lockstep_hosted::comm::Incoming;
    use std::sync::atomic::{AtomicBool, Ordering};

    let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let mut client = Endpoint::new(udp::connect(addr).unwrap());
    let client_addr = client.transport().get_ref().local_addr().unwrap();
    let ticket = client.request(b"hello").unwrap(); // lost: nobody listens yet
    let mut server =
        Endpoint::new(udp::connect_socket(udp::bind(addr).unwrap(), client_addr).unwrap());
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(Incoming::Request(r)) = server.recv(Some(Duration::from_millis(10))) {
                    server.reply(&r, b"world").unwrap();
                }
            }
        });
        let start = std::time::Instant::now();
        let mut reply = None;
        while reply.is_none() && start.elapsed() < T {
            match client.try_collect(&ticket) {
                Ok(r) => reply = r,
                Err(e) => assert!(e.is_refused(), "{e}"), // the lost first datagram's ICMP
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        stop.store(true, Ordering::Relaxed);
        assert_eq!(
            reply.as_deref(),
            Some(&b"world"[..]),
            "no reply after {:?}",
            start.elapsed()
        );
    });
}

/// Runs `f` on a thread of its own and returns its result if it comes within 3 s: a call that
/// blocks past its timeout fails the test instead of hanging it (`release` then unblocks it).
fn within_3s<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
    release: impl FnOnce(),
) -> Option<R> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    let r = rx.recv_timeout(Duration::from_secs(3)).ok();
    release();
    r
}

/// A call's timeout covers its send when the peer stops receiving: over an in-process pair
/// (its queue full) and over Unix datagrams (the peer's receive queue full), as over streams.
#[test]
fn a_call_never_outlasts_its_timeout_when_the_peer_stops_receiving() {
    use lockstep::lockstep_hosted::transport::{inproc, unix};

    let (a, b) = inproc::pair::<1>();
    let r = within_3s(
        move || {
            let mut a = Endpoint::new(a);
            a.send(b"fills the queue").unwrap();
            a.call(b"x", Duration::from_millis(50))
        },
        move || drop(b),
    );
    let e = r
        .expect("an in-process call blocked past its timeout")
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (dir.path().join("a.sock"), dir.path().join("b.sock"));
    let b = unix::bind_datagram(&pb).unwrap();
    let a = unix::connect_datagram(unix::bind_datagram(&pa).unwrap(), &pb).unwrap();
    // Another socket fills the peer's receive queue.
    let filler = std::os::unix::net::UnixDatagram::unbound().unwrap();
    filler.connect(&pb).unwrap();
    filler.set_nonblocking(true).unwrap();
    let mut filled = 0;
    while filler.send(&[0; 64]).is_ok() && filled < 100_000 {
        filled += 1;
    }
    let r = within_3s(
        move || {
            let mut a = Endpoint::new(a);
            let start = std::time::Instant::now();
            (a.call(b"x", Duration::from_millis(50)), start.elapsed())
        },
        move || drop(b),
    );
    let (r, took) = r.expect("a Unix datagram call blocked past its timeout");
    let e = r.unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert!(took < Duration::from_secs(1), "{took:?}");
}

/// A UDP call to a port nobody listens on lasts its timeout (the server may be restarting) and
/// then says that the port refused, not merely that no reply came.
#[test]
fn a_udp_call_nobody_listens_to_reports_the_refusal() {
    let holder = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap();
    drop(holder);
    let mut c = Endpoint::new(udp::connect(addr).unwrap());
    let start = std::time::Instant::now();
    let e = c.call(b"anyone?", Duration::from_millis(200)).unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert!(e.is_refused(), "{e}");
    let e = c
        .send_sync(b"anyone?", Duration::from_millis(100))
        .unwrap_err();
    assert!(e.is_refused(), "{e}");
}

/// A datagram server whose handler answers with more than a datagram carries logs why, in the
/// server's words, and serves on.
#[test]
fn a_datagram_reply_too_large_is_logged_with_its_size() {
    use lockstep::server::udp_server;
    let server = udp_server(
        udp::bind("127.0.0.1:0".parse().unwrap()).unwrap(),
        |b, _| {
            Some(if b == b"big" {
                vec![0; 70_000]
            } else {
                b.to_vec()
            })
        },
    )
    .unwrap();
    let mut c = udp::connect(server.local_addr().unwrap()).unwrap();
    c.send(b"big").unwrap();
    c.send(b"small").unwrap();
    assert_eq!(c.recv(Some(T)).unwrap(), b"small");
    let errors = server.shutdown().errors;
    assert!(
        errors
            .iter()
            .any(|e| e.contains("reply of 70000 bytes")
                && e.contains("largest datagram (65507 bytes)")),
        "{errors:?}"
    );
}
