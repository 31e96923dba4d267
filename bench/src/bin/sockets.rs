//! Sockets: lockstep's framed transports and communication types against raw std sockets of
//! the same size, in the same run, on loopback.
//!
//! - round trip, 32-byte messages, TCP (`TCP_NODELAY`) and Unix stream: framed `Transport`
//!   send/recv vs raw `write_all`/`read_exact` ping-pong;
//! - one-way throughput, 64 KiB messages: framed sends vs raw `write_all`;
//! - UDP request/reply through `Endpoint::call` (envelope, sequence number, duplicate filter,
//!   retransmission armed) vs a raw std UDP ping-pong.
//!
//! `cd bench && cargo run --release --bin sockets`

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::{Duration, Instant};

use lockstep_bench::{median, print_regime};
use lockstep_hosted::comm::{Endpoint, Incoming};
use lockstep_hosted::transport::{Framed, Transport, udp};

const SMALL: usize = 32;
const ROUNDS: usize = 20_000;
const BIG: usize = 64 * 1024;
const BIG_MSGS: usize = 8_000;
const RUNS: usize = 7;
const T: Option<Duration> = Some(Duration::from_secs(10));

fn tcp_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (b, _) = l.accept().unwrap();
    a.set_nodelay(true).unwrap();
    b.set_nodelay(true).unwrap();
    (a, b)
}

fn unix_pair() -> (UnixStream, UnixStream) {
    UnixStream::pair().unwrap()
}

/// Raw ping-pong: seconds per round trip.
fn raw_rtt<S: Read + Write + Send + 'static>((mut a, mut b): (S, S)) -> f64 {
    let echo = thread::spawn(move || {
        let mut buf = [0u8; SMALL];
        for _ in 0..ROUNDS {
            b.read_exact(&mut buf).unwrap();
            b.write_all(&buf).unwrap();
        }
    });
    let msg = [7u8; SMALL];
    let mut buf = [0u8; SMALL];
    let t = Instant::now();
    for _ in 0..ROUNDS {
        a.write_all(&msg).unwrap();
        a.read_exact(&mut buf).unwrap();
    }
    let e = t.elapsed().as_secs_f64();
    echo.join().unwrap();
    e / ROUNDS as f64
}

/// Framed ping-pong: seconds per round trip.
fn framed_rtt<T: Transport + 'static>(mut a: T, mut b: T) -> f64 {
    let echo = thread::spawn(move || {
        let mut buf = Vec::new();
        for _ in 0..ROUNDS {
            b.recv_into(&mut buf, T).unwrap();
            b.send(&buf).unwrap();
        }
    });
    let msg = [7u8; SMALL];
    let mut buf = Vec::new();
    let t = Instant::now();
    for _ in 0..ROUNDS {
        a.send(&msg).unwrap();
        a.recv_into(&mut buf, T).unwrap();
    }
    let e = t.elapsed().as_secs_f64();
    echo.join().unwrap();
    e / ROUNDS as f64
}

/// Raw one-way: bytes per second.
fn raw_tput<S: Read + Write + Send + 'static>((mut a, mut b): (S, S)) -> f64 {
    let sink = thread::spawn(move || {
        let mut buf = vec![0u8; BIG];
        for _ in 0..BIG_MSGS {
            b.read_exact(&mut buf).unwrap();
        }
    });
    let msg = vec![7u8; BIG];
    let t = Instant::now();
    for _ in 0..BIG_MSGS {
        a.write_all(&msg).unwrap();
    }
    sink.join().unwrap();
    (BIG * BIG_MSGS) as f64 / t.elapsed().as_secs_f64()
}

/// Framed one-way: bytes per second.
fn framed_tput<T: Transport + 'static>(mut a: T, mut b: T) -> f64 {
    let sink = thread::spawn(move || {
        let mut buf = Vec::new();
        for _ in 0..BIG_MSGS {
            b.recv_into(&mut buf, T).unwrap();
            assert_eq!(buf.len(), BIG);
        }
    });
    let msg = vec![7u8; BIG];
    let t = Instant::now();
    for _ in 0..BIG_MSGS {
        a.send(&msg).unwrap();
    }
    sink.join().unwrap();
    (BIG * BIG_MSGS) as f64 / t.elapsed().as_secs_f64()
}

fn raw_udp_rtt() -> f64 {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.connect(b.local_addr().unwrap()).unwrap();
    b.connect(a.local_addr().unwrap()).unwrap();
    a.set_read_timeout(T).unwrap();
    b.set_read_timeout(T).unwrap();
    let echo = thread::spawn(move || {
        let mut buf = [0u8; 2048];
        for _ in 0..ROUNDS {
            let n = b.recv(&mut buf).unwrap();
            b.send(&buf[..n]).unwrap();
        }
    });
    let msg = [7u8; SMALL];
    let mut buf = [0u8; 2048];
    let t = Instant::now();
    for _ in 0..ROUNDS {
        a.send(&msg).unwrap();
        a.recv(&mut buf).unwrap();
    }
    let e = t.elapsed().as_secs_f64();
    echo.join().unwrap();
    e / ROUNDS as f64
}

fn call_udp_rtt() -> f64 {
    let (a, b) = udp::pair().unwrap();
    let (mut client, mut server) = (Endpoint::new(a), Endpoint::new(b));
    let echo = thread::spawn(move || {
        for _ in 0..ROUNDS {
            let Incoming::Request(r) = server.recv(T).unwrap() else {
                panic!("a request")
            };
            server.reply(&r, &r.body).unwrap();
        }
    });
    let msg = [7u8; SMALL];
    let t = Instant::now();
    for _ in 0..ROUNDS {
        let r = client.call(&msg, Duration::from_secs(10)).unwrap();
        debug_assert_eq!(r.len(), SMALL);
    }
    let e = t.elapsed().as_secs_f64();
    echo.join().unwrap();
    e / ROUNDS as f64
}

/// CPU time (user + system) of the whole process so far, in seconds.
fn cpu_now() -> f64 {
    // SAFETY: `getrusage` writes a `rusage` into the pointed-to, properly aligned local; an
    // all-zero `rusage` is a valid value to start from.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 * 1e-6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

fn framed<S: lockstep_hosted::transport::StreamSocket>((a, b): (S, S)) -> (Framed<S>, Framed<S>) {
    (Framed::new(a, 1 << 20), Framed::new(b, 1 << 20))
}

/// One side's medians: the measured value and the CPU seconds the run took.
struct Side {
    value: f64,
    cpu: f64,
}

/// Medians of `RUNS` alternating runs of `ours` and `raw`, with the CPU time of each run.
fn pair(mut ours: impl FnMut() -> f64, mut raw: impl FnMut() -> f64) -> (Side, Side) {
    let (mut o, mut r, mut oc, mut rc) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let run = |f: &mut dyn FnMut() -> f64, v: &mut Vec<f64>, c: &mut Vec<f64>| {
        let start = cpu_now();
        v.push(f());
        c.push(cpu_now() - start);
    };
    for i in 0..RUNS {
        // Alternate which goes first, so that neither always runs on a warmer machine.
        if i % 2 == 0 {
            run(&mut ours, &mut o, &mut oc);
            run(&mut raw, &mut r, &mut rc);
        } else {
            run(&mut raw, &mut r, &mut rc);
            run(&mut ours, &mut o, &mut oc);
        }
    }
    (
        Side {
            value: median(&mut o),
            cpu: median(&mut oc),
        },
        Side {
            value: median(&mut r),
            cpu: median(&mut rc),
        },
    )
}

/// Prints one table row; `time` says whether the value is a time (lower is better) or a rate.
fn row(name: &str, goal: &str, (o, r): (Side, Side), time: bool) {
    let show = |v: f64| {
        if time {
            format!("{:.2} us", v * 1e6)
        } else {
            format!("{:.2} GB/s", v / 1e9)
        }
    };
    let ratio = if time {
        r.value / o.value
    } else {
        o.value / r.value
    };
    // The same work on both sides: less CPU is better.
    let cpu_ratio = r.cpu / o.cpu;
    println!(
        "| {name} | {} | {} | {ratio:.2}x | {cpu_ratio:.2}x | {goal} |",
        show(o.value),
        show(r.value)
    );
}

fn main() {
    print_regime("start");
    println!();
    println!("| measure | lockstep | raw std | speed ratio | CPU-time ratio | goal |");
    println!("|---|---|---|---|---|---|");
    row(
        &format!("TCP round trip, {SMALL} B, nodelay"),
        "0.9x",
        pair(
            || {
                let (a, b) = framed(tcp_pair());
                framed_rtt(a, b)
            },
            || raw_rtt(tcp_pair()),
        ),
        true,
    );
    row(
        &format!("Unix stream round trip, {SMALL} B"),
        "0.9x",
        pair(
            || {
                let (a, b) = framed(unix_pair());
                framed_rtt(a, b)
            },
            || raw_rtt(unix_pair()),
        ),
        true,
    );
    row(
        "TCP one-way, 64 KiB messages",
        "0.9x",
        pair(
            || {
                let (a, b) = framed(tcp_pair());
                framed_tput(a, b)
            },
            || raw_tput(tcp_pair()),
        ),
        false,
    );
    row(
        "Unix stream one-way, 64 KiB messages",
        "0.9x",
        pair(
            || {
                let (a, b) = framed(unix_pair());
                framed_tput(a, b)
            },
            || raw_tput(unix_pair()),
        ),
        false,
    );
    row(
        &format!("UDP request/reply ({SMALL} B), `Endpoint::call` vs raw ping-pong"),
        "0.8x",
        pair(call_udp_rtt, raw_udp_rtt),
        true,
    );
    println!();
    println!(
        "{ROUNDS} round trips or {BIG_MSGS} x 64 KiB per run; medians of {RUNS} alternating runs."
    );
    println!("Ratios >= 1: lockstep as fast (speed) or as frugal (CPU time) as raw std.");
    print_regime("end");
}
