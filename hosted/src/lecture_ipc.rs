//! The lecture's IPC scenarios over real sockets: the four communication types as a
//! [`Report`], and the lost message boundaries. Everything binds to an ephemeral port on
//! 127.0.0.1 or a socket file in the temp dir, so the scenarios never clash with a running
//! `lockstep tcp-server` on 5242.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use crate::NetError;
use crate::comm::{Endpoint, Incoming};
use crate::lecture::Report;
use crate::transport::tcp::{self, StreamConfig};
use crate::transport::{Framed, Transport, udp};

const WAIT: Duration = Duration::from_secs(5);

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
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
    let max = crate::transport::DEFAULT_MAX_FRAME;
    let (mut fw, mut fr) = (Framed::new(w, max), Framed::new(r, max));
    fw.send(&[b'a'; 170])?;
    fw.send(&[b'b'; 230])?;
    let mut framed = Vec::new();
    for _ in 0..2 {
        framed.push(fr.recv(Some(WAIT))?.len());
    }
    Ok((raw, framed))
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

/// The lecture's IPC models in one process, on the core's channels with futex blocking:
/// point-to-point (each message to exactly one of several receivers, through a bounded MPMC
/// queue), broadcast (every receiver sees every message, in order) and publish-subscribe
/// (subscribers get only the topics they chose).
///
/// # Examples
///
/// ```
/// let r = lockstep_hosted::lecture::models();
/// assert!(r.pass, "{r}");
/// ```
pub fn models() -> Report {
    use crate::{Broadcast, PubSub, Queue};
    use lockstep_core::channel::{BroadcastError, Topic, Topics};

    const MESSAGES: u64 = 1_000;
    let start = Instant::now();
    let mut notes = Vec::new();
    let mut ok = Vec::new();

    // Point-to-point: 2 senders, 2 receivers; each message is taken by exactly one receiver.
    let q: Queue<u64, 16> = Queue::new();
    let (a, b) = thread::scope(|s| {
        let rx = || {
            s.spawn(|| {
                let mut got = Vec::new();
                while let Ok(v) = q.recv_timeout(WAIT) {
                    got.push(v);
                }
                got
            })
        };
        let (ra, rb) = (rx(), rx());
        let senders: Vec<_> = (0..2u64)
            .map(|p| {
                let q = &q;
                s.spawn(move || {
                    for i in (p..MESSAGES).step_by(2) {
                        q.send(i).expect("the queue stays open while sending");
                    }
                })
            })
            .collect();
        for t in senders {
            t.join().expect("senders do not panic");
        }
        q.close();
        (ra.join().expect("receiver"), rb.join().expect("receiver"))
    });
    let mut all: Vec<u64> = a.iter().chain(&b).copied().collect();
    all.sort_unstable();
    let exactly_once = all == (0..MESSAGES).collect::<Vec<_>>();
    notes.push(format!(
        "point-to-point: {MESSAGES} messages, 2 senders -> 2 receivers took {} + {}, each exactly once: {exactly_once}",
        a.len(),
        b.len()
    ));
    ok.push(exactly_once);

    // Broadcast: every receiver sees every message, in order.
    let bc: Broadcast<u64, 64> = Broadcast::new();
    let mut receivers: Vec<_> = (0..3).map(|_| bc.subscribe()).collect();
    let seen: Vec<Vec<u64>> = thread::scope(|s| {
        let handles: Vec<_> = receivers
            .iter_mut()
            .map(|rx| {
                s.spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        match rx.recv_timeout(WAIT) {
                            Ok(v) => got.push(v),
                            Err(BroadcastError::Closed | BroadcastError::Timeout) => break,
                            Err(BroadcastError::Lagged(_) | BroadcastError::Empty) => {}
                        }
                    }
                    got
                })
            })
            .collect();
        for i in 0..50 {
            bc.send(i);
        }
        bc.close();
        handles
            .into_iter()
            .map(|h| h.join().expect("receiver"))
            .collect()
    });
    let all_seen = seen.iter().all(|g| *g == (0..50).collect::<Vec<_>>());
    notes.push(format!(
        "broadcast: 50 messages -> 3 receivers, every receiver saw all in order: {all_seen}"
    ));
    ok.push(all_seen);

    // Publish-subscribe: subscribers get only the topics they chose.
    const WEATHER: Topic = Topic::new(0);
    const NEWS: Topic = Topic::new(1);
    const SPORTS: Topic = Topic::new(2);
    let ps: PubSub<u32, 64> = PubSub::new();
    let mut a = ps.subscribe(Topics::EMPTY.with(WEATHER).with(NEWS));
    let mut b = ps.subscribe(Topics::EMPTY.with(SPORTS));
    for i in 0..10 {
        for t in [WEATHER, NEWS, SPORTS] {
            ps.publish(t, i);
        }
    }
    ps.close();
    let drain = |topics: &mut Vec<u8>, r: Result<(Topic, u32), BroadcastError>| match r {
        Ok((t, _)) => {
            topics.push(t.id());
            true
        }
        Err(_) => false,
    };
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    while drain(&mut ta, a.try_recv()) {}
    while drain(&mut tb, b.try_recv()) {}
    let only_chosen =
        ta.len() == 20 && ta.iter().all(|t| *t < 2) && tb.len() == 10 && tb.iter().all(|t| *t == 2);
    notes.push(format!(
        "publish-subscribe: 10 posts on each of weather, news, sports; weather+news subscriber got {}, sports subscriber got {}",
        ta.len(),
        tb.len()
    ));
    ok.push(only_chosen);

    let n = ok.iter().filter(|o| **o).count();
    Report {
        name: "models",
        expected: format!("{0}/{0} models behaved", ok.len()),
        got: format!("{n}/{} models behaved", ok.len()),
        pass: n == ok.len(),
        elapsed: start.elapsed(),
        notes,
    }
}
