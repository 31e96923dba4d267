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

/// Options of the servers.
#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    /// Allow binding a non-loopback address (listen on the network).
    #[arg(long)]
    allow_remote: bool,
    /// Stop after handling this many messages (runs until interrupted otherwise).
    #[arg(long)]
    exit_after: Option<u64>,
    /// Worker threads of stream servers.
    #[arg(long, default_value_t = 8)]
    workers: usize,
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

fn ip(addr: &AddrArgs, serve: Option<&ServeArgs>) -> Result<SocketAddr, NetError> {
    let a = resolve(&addr.addr)?;
    lockstep_hosted::transport::check_loopback(a, serve.is_some_and(|s| s.allow_remote))?;
    Ok(a)
}

fn config(serve: &ServeArgs) -> ServerConfig {
    ServerConfig {
        workers: serve.workers.max(1),
        ..ServerConfig::default()
    }
}

/// Waits until the server has handled `exit_after` messages, or for ever.
fn run_until(server: ServerHandle, serve: &ServeArgs) -> ExitCode {
    loop {
        thread::sleep(Duration::from_millis(50));
        if serve
            .exit_after
            .is_some_and(|n| server.stats().messages >= n)
        {
            let stats = server.shutdown();
            eprintln!(
                "served {} messages on {} connections; {} errors",
                stats.messages,
                stats.accepted,
                stats.errors.len()
            );
            return ExitCode::SUCCESS;
        }
    }
}

fn print_received(_peer: &str, bytes: &[u8]) {
    println!("Received: {}", String::from_utf8_lossy(bytes));
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
            NetCommand::UdpServer { addr, serve, echo } => {
                let a = ip(&addr, Some(&serve))?;
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
                    println!("Reply: {}", String::from_utf8_lossy(&r));
                }
                ExitCode::SUCCESS
            }
            NetCommand::TcpServer {
                addr,
                serve,
                framed,
            } => {
                let a = ip(&addr, Some(&serve))?;
                let l = tcp::listen_any(a)?;
                let server = if framed {
                    server::framed_echo_server(l, config(&serve))
                } else {
                    server::raw_echo_server(l, config(&serve), print_received)
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
                    server::framed_echo_server(l, config(&serve))
                } else {
                    server::raw_echo_server(l, config(&serve), print_received)
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
                serve,
                udp: over_udp,
            } => {
                let a = ip(&addr, Some(&serve))?;
                let server = if over_udp {
                    server::udp_rpc_server(udp::bind_any(a)?, rpc_method)?
                } else {
                    server::rpc_server(tcp::listen_any(a)?, config(&serve), rpc_method)
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
                println!("{}", String::from_utf8_lossy(&reply));
                ExitCode::SUCCESS
            }
            NetCommand::Broker {
                addr,
                serve,
                broadcast,
            } => {
                let a = ip(&addr, Some(&serve))?;
                let server = Broker::start(
                    tcp::listen_any(a)?,
                    BrokerConfig {
                        broadcast,
                        server: config(&serve),
                    },
                );
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
                println!("published to {topic}: {n} subscriber(s) reached");
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
                    println!("{}: {}", d.topic, String::from_utf8_lossy(&d.body));
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
        println!("Echo: {}", String::from_utf8_lossy(&echo));
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
    println!("Echo: {}", String::from_utf8_lossy(&echo));
    Ok(ExitCode::SUCCESS)
}

/// The RPC server's methods.
fn rpc_method(req: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(req);
    let (method, arg) = text.split_once(' ').unwrap_or((&text, ""));
    match method {
        "echo" => arg.into(),
        "upper" => arg.to_uppercase().into(),
        "reverse" => arg.chars().rev().collect::<String>().into(),
        "sum" => {
            let nums: Result<Vec<i64>, _> = arg.split_whitespace().map(str::parse).collect();
            match nums {
                Ok(n) => n
                    .iter()
                    .fold(0i64, |a, b| a.saturating_add(*b))
                    .to_string()
                    .into(),
                Err(e) => format!("error: {e}").into(),
            }
        }
        "sleep" => match arg.trim().parse::<u64>() {
            Ok(ms) => {
                thread::sleep(Duration::from_millis(ms.min(60_000)));
                format!("slept {ms} ms").into()
            }
            Err(e) => format!("error: {e}").into(),
        },
        other => {
            format!("error: unknown method {other:?} (echo, upper, reverse, sum, sleep)").into()
        }
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
