//! The socket subcommands: the lecture's UDP and TCP programs on 127.0.0.1:5242, Unix stream
//! sockets, RPC, publish-subscribe and the message-boundaries demo. The sockets, transports
//! and servers live in `lockstep_hosted`; this file parses options and prints.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use clap::{Args, Subcommand};
use lockstep_hosted::NetError;
use lockstep_hosted::comm::Endpoint;
use lockstep_hosted::server::{
    self, Broker, BrokerConfig, Publisher, ServerConfig, ServerHandle, Subscriber,
};
use lockstep_hosted::transport::framing::escape;
use lockstep_hosted::transport::tcp::{self, StreamConfig};
use lockstep_hosted::transport::{Framed, Transport, resolve, udp, unix};

const DEFAULT_ADDR: &str = "127.0.0.1:5242";

/// Where an IP server listens or a client connects.
#[derive(Debug, Clone, Args)]
pub(crate) struct AddrArgs {
    /// host:port (IPv4 or IPv6, e.g. [::1]:5242).
    #[arg(long, default_value = DEFAULT_ADDR)]
    addr: String,
}

/// Options of every server.
#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    /// Stop after handling this many messages (runs until Ctrl-C or SIGTERM otherwise).
    #[arg(long)]
    exit_after: Option<u64>,
}

/// The opt-in of IP servers to the network.
#[derive(Debug, Clone, Args)]
pub(crate) struct RemoteArgs {
    /// Allow binding a non-loopback address (listen on the network).
    #[arg(long)]
    allow_remote: bool,
}

/// Options of the servers whose handlers run on a pool.
#[derive(Debug, Clone, Args)]
pub(crate) struct WorkersArgs {
    /// Threads running requests (a slow request holds one; other clients are served on).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1024))]
    workers: u64,
}

fn default_unix_path() -> PathBuf {
    std::env::temp_dir().join("lockstep.sock")
}

/// The socket subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum NetCommand {
    /// UDP server: prints `Received: ...` for every datagram (the lecture's C server).
    UdpServer {
        #[command(flatten)]
        addr: AddrArgs,
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(flatten)]
        serve: ServeArgs,
        /// Send each datagram back to its sender.
        #[arg(long)]
        echo: bool,
    },
    /// UDP client: sends one datagram (default: the 11 bytes `Hello World`).
    UdpClient {
        #[command(flatten)]
        addr: AddrArgs,
        /// The text to send, as is (no terminator).
        #[arg(default_value = "Hello World")]
        message: String,
        /// Wait this many milliseconds for a reply (for `udp-server --echo`).
        #[arg(long)]
        wait_reply: Option<u64>,
    },
    /// TCP echo server: prints `Received: ...` and sends the bytes back (raw, `nc` works).
    TcpServer {
        #[command(flatten)]
        addr: AddrArgs,
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(flatten)]
        serve: ServeArgs,
        /// Speak length-prefixed frames instead of raw bytes.
        #[arg(long)]
        framed: bool,
    },
    /// TCP client: sends the message (default `Hello World`) and prints the echo.
    TcpClient {
        #[command(flatten)]
        addr: AddrArgs,
        /// The text to send, as is (no terminator).
        #[arg(default_value = "Hello World")]
        message: String,
        /// Speak length-prefixed frames instead of raw bytes.
        #[arg(long)]
        framed: bool,
    },
    /// Unix stream echo server on a socket file (owner-only, a stale file is replaced).
    UnixServer {
        /// The socket path.
        #[arg(long, visible_alias = "addr", default_value_os_t = default_unix_path())]
        path: PathBuf,
        #[command(flatten)]
        serve: ServeArgs,
        /// Speak length-prefixed frames instead of raw bytes.
        #[arg(long)]
        framed: bool,
    },
    /// Unix stream client: sends the message and prints the echo.
    UnixClient {
        /// The socket path.
        #[arg(long, visible_alias = "addr", default_value_os_t = default_unix_path())]
        path: PathBuf,
        /// The text to send.
        #[arg(default_value = "Hello World")]
        message: String,
        /// Speak length-prefixed frames instead of raw bytes.
        #[arg(long)]
        framed: bool,
    },
    /// RPC server over TCP (`--udp`: over UDP): `upper TEXT`, `reverse TEXT`, `sum N...`, `sleep MS`, `echo TEXT`.
    RpcServer {
        #[command(flatten)]
        addr: AddrArgs,
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(flatten)]
        workers: WorkersArgs,
        #[command(flatten)]
        serve: ServeArgs,
        /// Serve over UDP (acknowledgements, retransmission, duplicate suppression).
        #[arg(long)]
        udp: bool,
    },
    /// Calls the RPC server and prints the reply (a synchronous request with a timeout).
    RpcCall {
        #[command(flatten)]
        addr: AddrArgs,
        /// Milliseconds to wait for the reply.
        #[arg(long, default_value_t = 2_000)]
        timeout: u64,
        /// Send as an asynchronous request: take a ticket, then collect the reply.
        #[arg(long = "async")]
        asynchronous: bool,
        /// Call over UDP (to `rpc-server --udp`).
        #[arg(long)]
        udp: bool,
        /// The request, e.g. `upper hello`.
        #[arg(required = true)]
        request: Vec<String>,
    },
    /// Publish-subscribe broker over TCP.
    Broker {
        #[command(flatten)]
        addr: AddrArgs,
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(flatten)]
        serve: ServeArgs,
        /// Deliver every publication to every subscriber (broadcast mode).
        #[arg(long)]
        broadcast: bool,
    },
    /// Publishes a message to a topic of the broker.
    Publish {
        #[command(flatten)]
        addr: AddrArgs,
        /// The topic.
        topic: String,
        /// The message.
        message: String,
    },
    /// Subscribes to topics of the broker and prints what arrives.
    Subscribe {
        #[command(flatten)]
        addr: AddrArgs,
        /// The topics.
        #[arg(required = true)]
        topics: Vec<String>,
        /// Exit after this many messages.
        #[arg(long)]
        count: Option<u64>,
    },
    /// The lecture's socket scenario on loopback: UDP and TCP `Hello World`, boundaries,
    /// a non-blocking receive, a busy port, a missing receipt.
    Sockets,
    /// Shows `send(170) + send(230)` arriving as one `receive(400)` on a raw stream, and as
    /// two messages with framing.
    Boundaries,
}

fn fail(e: NetError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::FAILURE
}

fn ip(addr: &AddrArgs, remote: Option<&RemoteArgs>) -> Result<SocketAddr, NetError> {
    let a = resolve(&addr.addr)?;
    lockstep_hosted::transport::check_loopback(a, remote.is_some_and(|r| r.allow_remote))?;
    Ok(a)
}

fn config(workers: Option<&WorkersArgs>) -> ServerConfig {
    let mut c = ServerConfig::default();
    if let Some(w) = workers {
        c.workers = w.workers as usize; // 1..=1024, checked by the parser
    }
    c
}

/// `n` and the noun, singular or plural: "1 message", "2 messages".
pub(crate) fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Set by SIGINT or SIGTERM.
fn interrupted() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    #[cfg(unix)]
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, flag.clone()) {
            eprintln!("warning: cannot catch signal {sig}: {e}");
        }
    }
    flag
}

/// Serves until the server has handled `exit_after` messages, or until Ctrl-C or SIGTERM;
/// then stops it (a Unix server removes its socket file) and prints its summary: counts, and
/// the last errors (bad clients' failures, which do not fail the server).
fn run_until(server: ServerHandle, serve: &ServeArgs) -> ExitCode {
    let stop = interrupted();
    let signalled = loop {
        thread::sleep(Duration::from_millis(50));
        // Relaxed: a flag polled in a loop; nothing else is published through it.
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break true;
        }
        if serve
            .exit_after
            .is_some_and(|n| server.stats().messages >= n)
        {
            break false;
        }
    };
    let label = server.label().to_owned();
    let stats = server.shutdown();
    if signalled {
        eprintln!("interrupted: stopping the server on {label}");
    }
    let mut summary = format!(
        "served {} from {}",
        plural(stats.messages, "message"),
        plural(stats.accepted, "client"),
    );
    for (n, what) in [
        (stats.rejected, "refused at the connection limit"),
        (stats.idle_closed, "closed idle"),
        (stats.stalled, "closed as too slow"),
        (
            stats.lagged,
            "deliveries dropped for subscribers that fell behind",
        ),
    ] {
        if n > 0 {
            summary.push_str(&format!("; {n} {what}"));
        }
    }
    summary.push_str(&format!("; {}", plural(stats.errors.len() as u64, "error")));
    eprintln!("{summary}");
    for e in stats.errors.iter().rev().take(5).rev() {
        eprintln!("  {}", escape(e.as_bytes()));
    }
    ExitCode::SUCCESS
}

fn print_received(_peer: &str, bytes: &[u8]) {
    println!("Received: {}", escape(bytes));
}

impl NetCommand {
    /// Runs the subcommand.
    pub(crate) fn run(self) -> ExitCode {
        match self.execute() {
            Ok(code) => code,
            Err(e) => fail(e),
        }
    }

    fn execute(self) -> Result<ExitCode, NetError> {
        let t = |ms: u64| Duration::from_millis(ms);
        Ok(match self {
            NetCommand::UdpServer {
                addr,
                remote,
                serve,
                echo,
            } => {
                let a = ip(&addr, Some(&remote))?;
                let sock = udp::bind_any(a)?;
                let server = server::udp_server(sock, move |b, _| {
                    print_received("", b);
                    echo.then(|| b.to_vec())
                })?;
                eprintln!("udp server listening on {}", server.label());
                run_until(server, &serve)
            }
            NetCommand::UdpClient {
                addr,
                message,
                wait_reply,
            } => {
                let mut c = udp::connect(ip(&addr, None)?)?;
                c.send(message.as_bytes())?;
                println!("Sent {} bytes to {}", message.len(), c.peer());
                if let Some(ms) = wait_reply {
                    let r = c.recv(Some(t(ms)))?;
                    println!("Reply: {}", escape(&r));
                }
                ExitCode::SUCCESS
            }
            NetCommand::TcpServer {
                addr,
                remote,
                serve,
                framed,
            } => {
                let a = ip(&addr, Some(&remote))?;
                let l = tcp::listen_any(a)?;
                let server = if framed {
                    server::framed_echo_server(l, config(None))
                } else {
                    server::raw_echo_server(l, config(None), print_received)
                };
                eprintln!(
                    "tcp {} echo server listening on {}",
                    kind(framed),
                    server.label()
                );
                run_until(server, &serve)
            }
            NetCommand::TcpClient {
                addr,
                message,
                framed,
            } => {
                let a = ip(&addr, None)?;
                let stream = tcp::connect_raw(a, &StreamConfig::default())?;
                client(stream, &a.to_string(), &message, framed)?
            }
            NetCommand::UnixServer {
                path,
                serve,
                framed,
            } => {
                let l = unix::listen(&path)?;
                eprintln!(
                    "unix {} echo server listening on {}",
                    kind(framed),
                    path.display()
                );
                let server = if framed {
                    server::framed_echo_server(l, config(None))
                } else {
                    server::raw_echo_server(l, config(None), print_received)
                };
                run_until(server, &serve)
            }
            NetCommand::UnixClient {
                path,
                message,
                framed,
            } => {
                let stream = unix::connect_raw(&path, &StreamConfig::default())?;
                client(stream, &path.display().to_string(), &message, framed)?
            }
            NetCommand::RpcServer {
                addr,
                remote,
                workers,
                serve,
                udp: over_udp,
            } => {
                let a = ip(&addr, Some(&remote))?;
                let server = if over_udp {
                    let config = server::UdpRpcConfig {
                        workers: workers.workers as usize,
                        ..server::UdpRpcConfig::default()
                    };
                    server::udp_rpc_server_with(udp::bind_any(a)?, config, rpc_method)?
                } else {
                    server::rpc_server(tcp::listen_any(a)?, config(Some(&workers)), rpc_method)
                };
                let proto = if over_udp { "udp" } else { "tcp" };
                eprintln!("rpc server listening on {} ({proto})", server.label());
                run_until(server, &serve)
            }
            NetCommand::RpcCall {
                addr,
                timeout,
                asynchronous,
                udp: over_udp,
                request,
            } => {
                let a = ip(&addr, None)?;
                let transport: Box<dyn Transport> = if over_udp {
                    Box::new(udp::connect(a)?)
                } else {
                    Box::new(tcp::connect(a)?)
                };
                let mut ep = Endpoint::new(transport);
                let body = request.join(" ");
                let reply = if asynchronous {
                    let ticket = ep.request(body.as_bytes())?;
                    println!("request sent, ticket taken; collecting the reply ...");
                    ep.collect(&ticket, t(timeout))?
                } else {
                    ep.call(body.as_bytes(), t(timeout))?
                };
                // The methods answer a bad request with "error: ...": a failure of the call.
                match reply.strip_prefix(b"error: ") {
                    Some(why) => {
                        eprintln!("error: the server refused the request: {}", escape(why));
                        ExitCode::FAILURE
                    }
                    None => {
                        println!("{}", escape(&reply));
                        ExitCode::SUCCESS
                    }
                }
            }
            NetCommand::Broker {
                addr,
                remote,
                serve,
                broadcast,
            } => {
                let a = ip(&addr, Some(&remote))?;
                let server = Broker::try_start(
                    tcp::listen_any(a)?,
                    BrokerConfig {
                        broadcast,
                        server: config(None),
                    },
                )?;
                let mode = if broadcast { "broadcast" } else { "topic" };
                eprintln!("broker ({mode} mode) listening on {}", server.label());
                run_until(server, &serve)
            }
            NetCommand::Publish {
                addr,
                topic,
                message,
            } => {
                let mut p = Publisher::new(tcp::connect(ip(&addr, None)?)?);
                let n = p.publish_confirmed(&topic, message.as_bytes(), t(5_000))?;
                println!(
                    "published to {}: {} reached",
                    escape(topic.as_bytes()),
                    plural(n.into(), "subscriber")
                );
                ExitCode::SUCCESS
            }
            NetCommand::Subscribe {
                addr,
                topics,
                count,
            } => {
                let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
                let mut s = Subscriber::new(tcp::connect(ip(&addr, None)?)?, &topics, t(5_000))?;
                eprintln!("subscribed to {}", topics.join(", "));
                let mut n = 0;
                while count.is_none_or(|c| n < c) {
                    let d = s.next(None)?;
                    if d.missed > 0 {
                        eprintln!(
                            "(fell behind: the broker dropped {} before this one)",
                            plural(d.missed, "message")
                        );
                    }
                    println!("{}: {}", escape(d.topic.as_bytes()), escape(&d.body));
                    n += 1;
                }
                ExitCode::SUCCESS
            }
            NetCommand::Boundaries => boundaries()?,
            NetCommand::Sockets => {
                let r = server::sockets();
                println!("{r}");
                if r.pass {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
        })
    }
}

fn kind(framed: bool) -> &'static str {
    if framed { "framed" } else { "raw" }
}

/// Sends `message` on a connected stream and prints the echo.
fn client<S: lockstep_hosted::transport::StreamSocket>(
    mut stream: S,
    peer: &str,
    message: &str,
    framed: bool,
) -> Result<ExitCode, NetError> {
    let timeout = Some(Duration::from_secs(5));
    if framed {
        let mut f = Framed::new(stream, lockstep_hosted::transport::DEFAULT_MAX_FRAME);
        f.send(message.as_bytes())?;
        let echo = f.recv(timeout)?;
        println!("Echo: {}", escape(&echo));
        return Ok(ExitCode::SUCCESS);
    }
    let io = |e| NetError::from_io(peer, e);
    stream.write_all(message.as_bytes()).map_err(io)?;
    println!("Sent {} bytes to {peer}", message.len());
    stream.set_read_timeout(timeout).map_err(io)?;
    let mut echo = vec![0; message.len()];
    let mut got = 0;
    while got < echo.len() {
        match stream.read(&mut echo[got..]) {
            Ok(0) => {
                return Err(NetError::Closed {
                    addr: peer.to_owned(),
                });
            }
            Ok(n) => got += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(NetError::Timeout {
                    addr: peer.to_owned(),
                    what: "the echo",
                    after: Duration::from_secs(5),
                });
            }
            Err(e) => return Err(io(e)),
        }
    }
    println!("Echo: {}", escape(&echo));
    Ok(ExitCode::SUCCESS)
}

/// The RPC server's methods.
fn rpc_method(req: &[u8]) -> Vec<u8> {
    let (method, arg) = match req.iter().position(|&b| b == b' ') {
        Some(i) => (&req[..i], &req[i + 1..]),
        None => (req, &[][..]),
    };
    // `echo` gives the bytes back as they came; the other methods read text.
    if method == b"echo" {
        return arg.to_vec();
    }
    let (Ok(method), Ok(arg)) = (std::str::from_utf8(method), std::str::from_utf8(arg)) else {
        return format!("error: {}: the request is not UTF-8 text", escape(method)).into();
    };
    match method {
        "upper" => arg.to_uppercase().into(),
        "reverse" => arg.chars().rev().collect::<String>().into(),
        "sum" => {
            let mut total = 0i64;
            for word in arg.split_whitespace() {
                match word.parse::<i64>() {
                    Ok(n) => total = total.saturating_add(n),
                    Err(e) => {
                        return format!("error: sum: {:?} is not a whole number ({e})", word)
                            .into();
                    }
                }
            }
            total.to_string().into()
        }
        "sleep" => match arg.trim().parse::<u64>() {
            Ok(ms) if ms <= 60_000 => {
                thread::sleep(Duration::from_millis(ms));
                format!("slept {ms} ms").into()
            }
            Ok(ms) => format!("error: sleep: {ms} ms is over the limit of 60000 ms").into(),
            Err(e) => format!(
                "error: sleep: {:?} is not a number of milliseconds ({e})",
                arg.trim()
            )
            .into(),
        },
        other => format!(
            "error: unknown method {:?} (echo, upper, reverse, sum, sleep)",
            escape(other.as_bytes())
        )
        .into(),
    }
}

/// The lecture's lost boundaries, on an ephemeral loopback port.
fn boundaries() -> Result<ExitCode, NetError> {
    let (raw, framed) = lockstep_hosted::lecture::boundaries()?;
    println!("raw TCP stream:");
    println!("  send(170)");
    println!("  send(230)");
    for n in &raw {
        if *n == 400 {
            println!("  receive(1024) -> {n} bytes: the boundary between the two sends is gone");
        } else {
            println!("  receive(1024) -> {n} bytes");
        }
    }
    println!(
        "framed (4-byte length prefix, max {} bytes):",
        lockstep_hosted::transport::DEFAULT_MAX_FRAME
    );
    println!("  send(170), send(230)");
    for n in framed {
        println!("  recv -> one message of {n} bytes");
    }
    Ok(ExitCode::SUCCESS)
}
