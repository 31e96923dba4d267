//! Servers under load, on loopback:
//!
//! - idle connections: a framed echo server in a child process (so that its memory is its
//!   own and each process has room for 10,000 descriptors) with 0, 1,000 and 10,000 idle TCP
//!   connections open; the median round trip of one more, busy, client (32-byte frames) and
//!   the server's resident memory per idle connection (from /proc/PID/statm);
//! - RPC throughput: 64 clients, each making synchronous calls over its own TCP connection to
//!   `rpc_server` with its default 8 workers; requests per second and the 99th-percentile call
//!   latency.
//!
//! `cd bench && cargo run --release --bin servers` (`--quick`: 1,000 idle connections only,
//! fewer calls). The same RPC measurement against another checkout of lockstep:
//! `--rpc-only` prints just that line.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use lockstep_bench::{median, print_regime};
use lockstep_hosted::comm::Endpoint;
use lockstep_hosted::server::{ServerConfig, framed_echo_server, rpc_server};
use lockstep_hosted::transport::{Transport, tcp};

const T: Duration = Duration::from_secs(30);
const ROUND_TRIPS: usize = 2_000;
const CLIENTS: usize = 64;

fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the limits into `lim`, a valid rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 1024;
    }
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: setrlimit reads `lim`, a valid rlimit with cur <= max.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    lim.rlim_cur
}

fn rss_of(pid: u32) -> u64 {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// The child: a framed echo server that prints its port and runs until stdin closes.
fn serve_child() {
    raise_fd_limit();
    let config = ServerConfig {
        max_connections: 20_000,
        idle_timeout: Duration::from_secs(3600),
        ..ServerConfig::default()
    };
    let server = framed_echo_server(tcp::listen("127.0.0.1:0".parse().unwrap()).unwrap(), config);
    println!("{}", server.local_addr().unwrap());
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(server);
}

/// Median framed round trip of a fresh busy client, in microseconds.
fn busy_rtt_us(addr: SocketAddr) -> f64 {
    let mut c = tcp::connect(addr).unwrap();
    let msg = [7u8; 32];
    let mut buf = Vec::new();
    let mut samples = Vec::with_capacity(ROUND_TRIPS);
    for _ in 0..ROUND_TRIPS {
        let t = Instant::now();
        c.send(&msg).unwrap();
        c.recv_into(&mut buf, Some(T)).unwrap();
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    median(&mut samples)
}

fn idle_connections(levels: &[usize]) {
    let fds = raise_fd_limit();
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .arg("--serve-child")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr: SocketAddr = line.trim().parse().unwrap();
    thread::sleep(Duration::from_millis(200));
    busy_rtt_us(addr); // warm-up
    let base_rtt = busy_rtt_us(addr);
    let base_rss = rss_of(pid);
    println!(
        "| idle connections | median round trip (µs) | added (µs) | server RSS (MiB) | RSS per idle connection |"
    );
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| 0 | {base_rtt:.1} | - | {:.1} | - |",
        base_rss as f64 / (1 << 20) as f64
    );
    let mut idle: Vec<TcpStream> = Vec::new();
    for &n in levels {
        if n as u64 + 64 > fds {
            println!("| {n} | skipped: the open-files limit is {fds} |  |  |  |");
            continue;
        }
        while idle.len() < n {
            idle.push(TcpStream::connect(addr).unwrap());
        }
        // A round trip on a connection made after them: every idle one has been accepted.
        let rtt = busy_rtt_us(addr);
        thread::sleep(Duration::from_millis(300));
        let rss = rss_of(pid);
        let per = rss.saturating_sub(base_rss) as f64 / n as f64;
        println!(
            "| {n} | {rtt:.1} | {:.1} | {:.1} | {:.0} bytes |",
            rtt - base_rtt,
            rss as f64 / (1 << 20) as f64,
            per
        );
    }
    drop(idle);
    let _ = child.stdin.take().map(|mut s| s.write_all(b"\n"));
    let _ = child.wait();
}

/// 64 clients x `calls` synchronous calls: requests per second, p99 and worst latency (ms;
/// the worst includes a client's wait for the server to take its connection).
fn rpc_throughput(calls: usize) -> (f64, f64, f64) {
    let server = rpc_server(
        tcp::listen("127.0.0.1:0".parse().unwrap()).unwrap(),
        ServerConfig::default(),
        |req| req.to_ascii_uppercase(),
    );
    let addr = server.local_addr().unwrap();
    let start = Instant::now();
    let mut lat: Vec<f64> = thread::scope(|s| {
        let hs: Vec<_> = (0..CLIENTS)
            .map(|_| {
                s.spawn(move || {
                    let mut ep = Endpoint::new(tcp::connect(addr).unwrap());
                    let mut lat = Vec::with_capacity(calls);
                    for i in 0..calls {
                        let t = Instant::now();
                        let body = format!("request {i}");
                        let r = ep.call(body.as_bytes(), T).unwrap();
                        assert_eq!(r.len(), body.len());
                        lat.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                    lat
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let secs = start.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.total_cmp(b));
    let p99 = lat[(lat.len() * 99 / 100).min(lat.len() - 1)];
    let worst = lat[lat.len() - 1];
    ((CLIENTS * calls) as f64 / secs, p99, worst)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--serve-child") {
        serve_child();
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let calls = if quick { 200 } else { 1_000 };
    if args.iter().any(|a| a == "--rpc-only") {
        let (rps, p99, worst) = rpc_throughput(calls);
        println!(
            "rpc, {CLIENTS} clients x {calls} calls: {rps:.0} requests/s, p99 {p99:.2} ms, worst {worst:.1} ms"
        );
        return;
    }
    print_regime("servers");
    println!("## Idle connections beside a busy client (framed echo, TCP, 32-byte frames)\n");
    if quick {
        idle_connections(&[1_000]);
    } else {
        idle_connections(&[1_000, 10_000]);
    }
    println!("\n## RPC server, {CLIENTS} concurrent clients x {calls} synchronous calls (TCP)\n");
    let (mut rps, mut p99s, mut worsts) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        let (r, p, w) = rpc_throughput(calls);
        rps.push(r);
        p99s.push(p);
        worsts.push(w);
    }
    println!(
        "median of 3: {:.0} requests/s, p99 latency {:.2} ms, worst {:.1} ms",
        median(&mut rps),
        median(&mut p99s),
        median(&mut worsts)
    );
}
