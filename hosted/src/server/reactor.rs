//! The event loop under the stream servers: one thread waits on every socket at once
//! (`mio`: epoll on Linux, kqueue on the BSDs and macOS), so an idle or slow connection costs a
//! file descriptor and a few hundred bytes, never a thread.
//!
//! What the loop does itself, because it never blocks: accepting (and refusing past the
//! connection limit, with a reason), reading and splitting frames, writing what is queued,
//! echoing, fanning a publication out to the broker's subscribers, and the deadlines: an
//! idle connection, a partial frame that does not complete (slowloris), a peer that stops
//! reading what is sent to it. What may block, an RPC handler, runs on a bounded pool of
//! worker threads; its reply comes back through a queue and a [`mio::Waker`].
//!
//! A connection is closed with a reason where the protocol allows one: a framed client gets a
//! goodbye frame ([`GOODBYE`](crate::transport::framing::GOODBYE) then the reason as a frame,
//! which its [`Framed`](crate::transport::Framed) reports as [`NetError::ClosedBy`]); a raw
//! client gets a line of text.
//!
//! [`NetError::ClosedBy`]: crate::NetError::ClosedBy

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token, Waker};

use super::broker::Topics;
use super::pool::Registry;
use super::{ServerConfig, ServerHandle, Shared};
use crate::comm::{ACK, Envelope, FAILED, MSG, MSG_RECEIPT, REPLY, REQUEST, decode_envelope};
use crate::transport::framing::{GOODBYE, HEADER_LEN};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// Connection tokens count up from here and are never reused.
const FIRST_CONN: usize = 2;

/// How often the loop looks at the deadlines (and retries a failed accept).
const TICK: Duration = Duration::from_millis(50);

/// Bytes read from one connection per readiness event before the others get a turn.
const READ_BUDGET: usize = 256 * 1024;

/// The loop's read buffer.
const READ_CHUNK: usize = 64 * 1024;

/// Bytes waiting to be written to one connection past which the loop stops reading from it
/// (an echo or RPC client that sends without reading is slowed, not buffered without end).
const OUT_HIGH: usize = 256 * 1024;

/// Requests of one RPC connection running or waiting for a worker past which the loop stops
/// reading from that connection until a reply is written (requests already read, at most one
/// read of 64 KiB, still queue: the bound on a connection's queued work is that read).
pub const MAX_IN_FLIGHT: usize = 32;

/// A write buffer that grew past this is released once empty (idle connections stay small).
const KEEP_CAPACITY: usize = 16 * 1024;

/// A listening socket the event loop can wait on: TCP or Unix.
///
/// Made from a std listener with `From`; [`Listener`](super::Listener) implementations hand
/// one over in [`into_event_listener`](super::Listener::into_event_listener).
#[derive(Debug)]
pub struct EventListener(ListenerKind);

#[derive(Debug)]
enum ListenerKind {
    Tcp(mio::net::TcpListener),
    #[cfg(unix)]
    Unix(mio::net::UnixListener, String),
}

impl EventListener {
    /// An event listener on a bound TCP listener (made non-blocking here).
    ///
    /// # Errors
    ///
    /// The OS error of `set_nonblocking`.
    pub fn tcp(l: std::net::TcpListener) -> io::Result<Self> {
        l.set_nonblocking(true)?;
        Ok(EventListener(ListenerKind::Tcp(
            mio::net::TcpListener::from_std(l),
        )))
    }

    /// An event listener on a bound Unix listener (made non-blocking here).
    ///
    /// # Errors
    ///
    /// The OS error of `set_nonblocking`.
    #[cfg(unix)]
    pub fn unix(l: std::os::unix::net::UnixListener) -> io::Result<Self> {
        l.set_nonblocking(true)?;
        let label = l
            .local_addr()
            .ok()
            .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
            .unwrap_or_else(|| "an unnamed unix listener".into());
        Ok(EventListener(ListenerKind::Unix(
            mio::net::UnixListener::from_std(l),
            label,
        )))
    }

    fn accept(&self) -> io::Result<(Sock, String)> {
        match &self.0 {
            ListenerKind::Tcp(l) => {
                let (s, a) = l.accept()?;
                Ok((Sock::Tcp(s), a.to_string()))
            }
            #[cfg(unix)]
            ListenerKind::Unix(l, label) => {
                let (s, _) = l.accept()?;
                Ok((Sock::Unix(s), format!("a client of {label}")))
            }
        }
    }

    fn register(&mut self, poll: &Poll) -> io::Result<()> {
        let r = poll.registry();
        match &mut self.0 {
            ListenerKind::Tcp(l) => r.register(l, LISTENER, Interest::READABLE),
            #[cfg(unix)]
            ListenerKind::Unix(l, _) => r.register(l, LISTENER, Interest::READABLE),
        }
    }
}

/// An accepted connection.
#[derive(Debug)]
enum Sock {
    Tcp(mio::net::TcpStream),
    #[cfg(unix)]
    Unix(mio::net::UnixStream),
}

impl Sock {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Sock::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Sock::Unix(s) => s.read(buf),
        }
    }
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sock::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Sock::Unix(s) => s.write(buf),
        }
    }
    fn shutdown(&self) {
        let _ = match self {
            Sock::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            #[cfg(unix)]
            Sock::Unix(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }
    fn register(&mut self, poll: &Poll, t: Token) -> io::Result<()> {
        let i = Interest::READABLE | Interest::WRITABLE;
        match self {
            Sock::Tcp(s) => poll.registry().register(s, t, i),
            #[cfg(unix)]
            Sock::Unix(s) => poll.registry().register(s, t, i),
        }
    }
    fn deregister(&mut self, poll: &Poll) {
        let _ = match self {
            Sock::Tcp(s) => poll.registry().deregister(s),
            #[cfg(unix)]
            Sock::Unix(s) => poll.registry().deregister(s),
        };
    }
    fn prepare(&self, config: &ServerConfig) {
        if let Sock::Tcp(s) = self {
            let _ = s.set_nodelay(config.stream.nodelay);
            if config.stream.linger.is_some() {
                let _ = socket2::SockRef::from(s).set_linger(config.stream.linger);
            }
        }
    }
}

/// What a server does with its connections' input.
pub(crate) enum Service {
    /// Raw bytes: each chunk is observed and written back.
    RawEcho(Box<Observer>),
    /// Each frame is written back as a frame.
    FramedEcho,
    /// Each request envelope is answered by the handler, on the pool.
    Rpc(Arc<RpcHandler>),
    /// Publish-subscribe.
    Broker(Topics),
}

/// What the raw echo server calls with each chunk it reads (the client, the bytes).
pub(crate) type Observer = dyn Fn(&str, &[u8]) + Send;

/// A request for the pool: (connection token, the asker's epoch, sequence number, body).
type Job = (usize, u32, u64, Vec<u8>);

/// An RPC handler.
pub(crate) type RpcHandler = dyn Fn(&[u8]) -> Vec<u8> + Send + Sync;

impl Service {
    fn framed(&self) -> bool {
        !matches!(self, Service::RawEcho(_))
    }
}

/// Splits frames out of the bytes read, across reads.
#[derive(Debug, Default)]
struct Inbound {
    header: [u8; HEADER_LEN],
    header_got: usize,
    // Some(len) once the header is complete: the body so far is in `body`
    want: Option<usize>,
    body: Vec<u8>,
}

impl Inbound {
    fn in_frame(&self) -> bool {
        self.header_got > 0
    }
}

/// A request finished on the pool.
struct Done {
    token: usize,
    epoch: u32,
    seq: u64,
    reply: Result<Vec<u8>, ()>,
}

/// One open connection.
struct Connection {
    sock: Sock,
    peer: String,
    inb: Inbound,
    out: Vec<u8>,
    // invariant: out_pos <= out.len()
    out_pos: usize,
    last_input: Instant,
    // when the current partial frame started, if one has
    frame_start: Option<Instant>,
    // when the output last made progress, while output waits
    write_wait: Option<Instant>,
    // requests on the pool
    in_flight: usize,
    // the socket may hold unread input (reading was paused or the budget ran out)
    unread: bool,
    // the client closed its sending half: close once its replies are written
    read_closed: bool,
    sub: Option<super::broker::Subscription>,
}

impl Connection {
    fn pending_out(&self) -> usize {
        self.out.len() - self.out_pos
    }
}

/// Starts the event loop of a stream server.
pub(crate) fn start(
    mut listener: EventListener,
    config: ServerConfig,
    service: Service,
    label: String,
    local: Option<std::net::SocketAddr>,
    cleanup: Option<std::path::PathBuf>,
) -> io::Result<ServerHandle> {
    let shared = Arc::new(Shared::default());
    let poll = Poll::new()?;
    listener.register(&poll)?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    let done: Arc<Mutex<Vec<Done>>> = Arc::default();
    let mut threads = Vec::new();
    // The pool, for services whose handlers may block.
    let jobs = if let Service::Rpc(handler) = &service {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..config.workers.max(1) {
            let (rx, handler, done, waker) =
                (rx.clone(), handler.clone(), done.clone(), waker.clone());
            threads.push(
                thread::Builder::new()
                    .name(format!("lockstep-worker-{i}"))
                    .spawn(move || {
                        loop {
                            let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                            let Ok((token, epoch, seq, body)) = job else {
                                return;
                            };
                            let reply =
                                catch_unwind(AssertUnwindSafe(|| handler(&body))).map_err(|_| ());
                            let mut list = done.lock().unwrap_or_else(|p| p.into_inner());
                            list.push(Done {
                                token,
                                epoch,
                                seq,
                                reply,
                            });
                            // One wake per batch: the loop takes the whole list under this
                            // lock, so a non-empty list already has a wake on its way.
                            let first = list.len() == 1;
                            drop(list);
                            if first {
                                let _ = waker.wake();
                            }
                        }
                    })?,
            );
        }
        Some(tx)
    } else {
        None
    };
    let mut el = Loop {
        poll,
        listener,
        config,
        service,
        shared: shared.clone(),
        conns: HashMap::new(),
        next_token: FIRST_CONN,
        rbuf: vec![0; READ_CHUNK],
        jobs,
        done,
        accept_again: false,
        again: Vec::new(),
    };
    threads.insert(
        0,
        thread::Builder::new()
            .name("lockstep-event-loop".into())
            .spawn(move || el.run())?,
    );
    let wake = {
        let waker = waker.clone();
        Box::new(move || drop(waker.wake())) as Box<dyn Fn() + Send + Sync>
    };
    Ok(ServerHandle {
        shared,
        label,
        local,
        wake: Some(wake),
        closers: Arc::new(Registry::default()),
        threads,
        cleanup,
    })
}

struct Loop {
    poll: Poll,
    listener: EventListener,
    config: ServerConfig,
    service: Service,
    shared: Arc<Shared>,
    conns: HashMap<usize, Connection>,
    next_token: usize,
    rbuf: Vec<u8>,
    jobs: Option<mpsc::Sender<Job>>,
    done: Arc<Mutex<Vec<Done>>>,
    // an accept failed for want of resources: retry at the next tick
    accept_again: bool,
    // connections whose read budget ran out with input left: read again next round
    again: Vec<usize>,
}

impl Loop {
    fn run(&mut self) {
        let mut events = Events::with_capacity(1024);
        let mut last_tick = Instant::now();
        let mut again: Vec<usize> = Vec::new();
        while !self.shared.stopping() {
            let wait = if again.is_empty() {
                TICK
            } else {
                Duration::ZERO
            };
            if let Err(e) = self.poll.poll(&mut events, Some(wait))
                && e.kind() != io::ErrorKind::Interrupted
            {
                self.shared.log_error(format!("waiting for events: {e}"));
                thread::sleep(TICK);
            }
            for t in std::mem::take(&mut again) {
                self.service_conn(t, true, false);
            }
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept(),
                    WAKER => self.finish_jobs(),
                    Token(t) => self.service_conn(
                        t,
                        ev.is_readable() || ev.is_read_closed() || ev.is_error(),
                        ev.is_writable(),
                    ),
                }
            }
            again.append(&mut self.again);
            let now = Instant::now();
            if now.duration_since(last_tick) >= TICK {
                last_tick = now;
                if self.accept_again {
                    self.accept();
                }
                self.deadlines(now);
            }
        }
        // Shutting down: every connection closes; its client sees the end of the stream.
        for (_, c) in self.conns.drain() {
            c.sock.shutdown();
        }
        self.jobs = None; // the workers finish what they run, then exit
    }

    fn accept(&mut self) {
        self.accept_again = false;
        loop {
            let (mut sock, peer) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    // Out of file descriptors and the like: the client waits in the backlog
                    // until a connection closes.
                    self.shared.log_error(format!("accepting: {e}"));
                    self.accept_again = true;
                    return;
                }
            };
            self.shared.count_accepted();
            if self.conns.len() >= self.config.max_connections {
                self.shared.count_rejected();
                let reason = format!(
                    "the server is at its limit of {} connections; try again later",
                    self.config.max_connections
                );
                self.shared.log_error(format!("refused {peer}: {reason}"));
                let mut out = Vec::new();
                encode_goodbye(&mut out, self.service.framed(), &reason);
                let _ = sock.write(&out);
                sock.shutdown();
                continue;
            }
            sock.prepare(&self.config);
            let token = self.next_token;
            self.next_token += 1;
            if let Err(e) = sock.register(&self.poll, Token(token)) {
                self.shared.log_error(format!("{peer}: {e}"));
                continue;
            }
            self.conns.insert(
                token,
                Connection {
                    sock,
                    peer,
                    inb: Inbound::default(),
                    out: Vec::new(),
                    out_pos: 0,
                    last_input: Instant::now(),
                    frame_start: None,
                    write_wait: None,
                    in_flight: 0,
                    unread: true,
                    read_closed: false,
                    sub: None,
                },
            );
            // Data may have arrived with the connection.
            self.service_conn(token, true, false);
        }
    }

    fn paused(&self, c: &Connection) -> bool {
        c.read_closed || c.pending_out() > OUT_HIGH || c.in_flight >= MAX_IN_FLIGHT
    }

    /// Reads what `token` sent (while not paused) and writes what waits for it.
    fn service_conn(&mut self, token: usize, readable: bool, writable: bool) {
        if writable && self.flush(token).is_err() {
            return;
        }
        let Some(c) = self.conns.get_mut(&token) else {
            return;
        };
        if readable {
            c.unread = true;
        }
        if c.unread && !self.paused_token(token) {
            self.read(token);
        }
        let _ = self.flush(token);
    }

    fn paused_token(&self, token: usize) -> bool {
        self.conns.get(&token).is_none_or(|c| self.paused(c))
    }

    fn read(&mut self, token: usize) {
        let mut budget = READ_BUDGET;
        let mut buf = std::mem::take(&mut self.rbuf);
        let result = loop {
            if budget == 0 {
                self.again.push(token);
                break Ok(());
            }
            if self.paused_token(token) {
                break Ok(());
            }
            let Some(c) = self.conns.get_mut(&token) else {
                break Ok(());
            };
            match c.sock.read(&mut buf) {
                Ok(0) => {
                    let inb = &c.inb;
                    c.unread = false;
                    break if !inb.in_frame() {
                        if c.sub.is_none() && (c.pending_out() > 0 || c.in_flight > 0) {
                            // `printf ... | nc -N`: the client is done sending, not
                            // listening. Its answers go out first (see `flush`).
                            c.read_closed = true;
                            Ok(())
                        } else {
                            Err(Close::Quiet)
                        }
                    } else {
                        let (got, expected) = match inb.want {
                            Some(len) => (HEADER_LEN + inb.body.len(), HEADER_LEN + len),
                            None => (inb.header_got, HEADER_LEN),
                        };
                        Err(Close::Log(format!(
                            "{}: the stream ended in the middle of a frame ({got} of {expected} bytes)",
                            c.peer
                        )))
                    };
                }
                Ok(n) => {
                    budget = budget.saturating_sub(n);
                    c.last_input = Instant::now();
                    if let Err(e) = self.input(token, &buf[..n]) {
                        break Err(e);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    c.unread = false;
                    break Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(Close::Log(format!("{}: {e}", c.peer))),
            }
        };
        self.rbuf = buf;
        if let Err(why) = result {
            self.close(token, why);
        }
    }

    /// Handles bytes read from `token`.
    fn input(&mut self, token: usize, mut data: &[u8]) -> Result<(), Close> {
        if !self.service.framed() {
            let c = self.conns.get_mut(&token).ok_or(Close::Quiet)?;
            if let Service::RawEcho(observe) = &self.service {
                observe(&c.peer, data);
            }
            self.shared.count_message();
            c.out.extend_from_slice(data);
            return Ok(());
        }
        let max = self.config.stream.max_frame;
        while !data.is_empty() {
            let c = self.conns.get_mut(&token).ok_or(Close::Quiet)?;
            let inb = &mut c.inb;
            let Some(len) = inb.want else {
                let take = data.len().min(HEADER_LEN - inb.header_got);
                inb.header[inb.header_got..inb.header_got + take].copy_from_slice(&data[..take]);
                inb.header_got += take;
                data = &data[take..];
                if c.frame_start.is_none() {
                    c.frame_start = Some(Instant::now());
                }
                if inb.header_got == HEADER_LEN {
                    // A client never says goodbye: that length is as absurd as any other.
                    let len = u32::from_be_bytes(inb.header);
                    if len as u64 > max as u64 {
                        return Err(Close::Reason(format!(
                            "a frame of {len} bytes exceeds the maximum of {max} bytes"
                        )));
                    }
                    let len = len as usize;
                    // Whole frame already here: no copy.
                    if data.len() >= len && inb.body.is_empty() {
                        let (frame, rest) = data.split_at(len);
                        data = rest;
                        self.frame(token, frame)?;
                        continue;
                    }
                    // No reservation of the announced length: the body grows with what
                    // arrives, so a client that announces a large frame and stops holds
                    // little memory until its frame deadline.
                    inb.want = Some(len);
                }
                continue;
            };
            let take = data.len().min(len - inb.body.len());
            inb.body.extend_from_slice(&data[..take]);
            data = &data[take..];
            if inb.body.len() == len {
                let mut body = std::mem::take(&mut inb.body);
                let r = self.frame(token, &body);
                body.clear();
                if body.capacity() <= KEEP_CAPACITY
                    && let Some(c) = self.conns.get_mut(&token)
                {
                    c.inb.body = body;
                }
                r?;
            }
        }
        Ok(())
    }

    /// Handles one whole frame from `token`.
    fn frame(&mut self, token: usize, frame: &[u8]) -> Result<(), Close> {
        let c = self.conns.get_mut(&token).ok_or(Close::Quiet)?;
        c.inb.header_got = 0;
        c.inb.want = None;
        c.frame_start = None;
        match &self.service {
            Service::RawEcho(_) => unreachable!("raw connections carry no frames"),
            Service::FramedEcho => {
                self.shared.count_message();
                push_frame(&mut c.out, &[frame]);
                Ok(())
            }
            Service::Rpc(_) => {
                let env = envelope(frame, &c.peer)?;
                match env.kind {
                    MSG => self.shared.count_message(),
                    MSG_RECEIPT => {
                        self.shared.count_message();
                        push_envelope(&mut c.out, ACK, env.epoch, env.seq, &[]);
                    }
                    REQUEST => {
                        c.in_flight += 1;
                        if let Some(jobs) = &self.jobs {
                            let _ = jobs.send((token, env.epoch, env.seq, env.payload.to_vec()));
                        }
                    }
                    ACK | REPLY | FAILED => {}
                    k => {
                        return Err(Close::Reason(format!("unknown message kind {k}")));
                    }
                }
                Ok(())
            }
            Service::Broker(_) => self.broker_frame(token, frame),
        }
    }

    fn broker_frame(&mut self, token: usize, frame: &[u8]) -> Result<(), Close> {
        let Service::Broker(topics) = &mut self.service else {
            return Ok(());
        };
        let c = self.conns.get_mut(&token).ok_or(Close::Quiet)?;
        let env = envelope(frame, &c.peer)?;
        match (env.kind, env.payload.first()) {
            (MSG | REQUEST, Some(&super::broker::OP_PUBLISH)) => {
                let (topic, delivery) =
                    super::broker::parse_publish(env.payload).map_err(Close::Reason)?;
                self.shared.count_message();
                let targets = topics.matching(topic);
                let mut reached = 0u32;
                for &t in &targets {
                    let Some(sub) = self.conns.get_mut(&t).and_then(|s| s.sub.as_mut()) else {
                        continue;
                    };
                    if sub.offer(&delivery) {
                        reached += 1;
                    } else {
                        self.shared.count_lagged();
                    }
                }
                if env.kind == REQUEST
                    && let Some(c) = self.conns.get_mut(&token)
                {
                    push_envelope(
                        &mut c.out,
                        REPLY,
                        env.epoch,
                        env.seq,
                        &reached.to_be_bytes(),
                    );
                }
                // Deliveries were queued on other connections: write them now.
                for t in targets {
                    if t != token {
                        let _ = self.flush(t);
                    }
                }
                Ok(())
            }
            (REQUEST, Some(&super::broker::OP_SUBSCRIBE)) => {
                let wanted =
                    super::broker::parse_subscribe(&env.payload[1..]).map_err(Close::Reason)?;
                let sub = c.sub.get_or_insert_with(Default::default);
                if sub.topics.len() + wanted.len() > super::broker::MAX_TOPICS {
                    return Err(Close::Reason(format!(
                        "a subscriber may have at most {} topics",
                        super::broker::MAX_TOPICS
                    )));
                }
                for t in wanted {
                    topics.add(&t, token);
                    sub.topics.push(t);
                }
                topics.add_subscriber(token);
                push_envelope(&mut c.out, REPLY, env.epoch, env.seq, b"OK");
                Ok(())
            }
            (ACK | REPLY, _) => Ok(()),
            _ => Err(Close::Reason("unknown broker request".into())),
        }
    }

    /// Writes replies of finished requests.
    fn finish_jobs(&mut self) {
        let done = std::mem::take(&mut *self.done.lock().unwrap_or_else(|p| p.into_inner()));
        let max = self.config.stream.max_frame;
        for d in done {
            let Some(c) = self.conns.get_mut(&d.token) else {
                continue; // the client left
            };
            c.in_flight -= 1;
            self.shared.count_message();
            match d.reply {
                Ok(r) if r.len() + crate::comm::ENVELOPE_LEN <= max => {
                    push_envelope(&mut c.out, REPLY, d.epoch, d.seq, &r);
                }
                Ok(r) => {
                    let why = format!(
                        "its reply of {} bytes exceeds the maximum frame of {max} bytes",
                        r.len()
                    );
                    self.shared.log_error(format!("{}: {why}", c.peer));
                    push_envelope(&mut c.out, FAILED, d.epoch, d.seq, why.as_bytes());
                }
                Err(()) => {
                    let why = "the request handler panicked";
                    self.shared.log_error(format!("{}: {why}", c.peer));
                    push_envelope(&mut c.out, FAILED, d.epoch, d.seq, why.as_bytes());
                }
            }
            // Reading may resume now that a request finished.
            self.service_conn(d.token, false, true);
        }
    }

    /// Writes what waits for `token`; closes it on a write error.
    fn flush(&mut self, token: usize) -> Result<(), ()> {
        let Some(c) = self.conns.get_mut(&token) else {
            return Err(());
        };
        if let Some(sub) = &mut c.sub {
            sub.refill(&mut c.out, c.out_pos);
        }
        let mut progressed = false;
        while c.out_pos < c.out.len() {
            match c.sock.write(&c.out[c.out_pos..]) {
                Ok(0) => break,
                Ok(n) => {
                    c.out_pos += n;
                    progressed = true;
                    if c.out_pos == c.out.len()
                        && let Some(sub) = &mut c.sub
                    {
                        c.out.clear();
                        c.out_pos = 0;
                        sub.refill(&mut c.out, 0);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let why = Close::Log(format!("{}: {e}", c.peer));
                    self.close(token, why);
                    return Err(());
                }
            }
        }
        if c.out_pos == c.out.len() {
            c.out.clear();
            c.out_pos = 0;
            if c.out.capacity() > KEEP_CAPACITY {
                c.out = Vec::new();
            }
            c.write_wait = None;
            if c.read_closed && c.in_flight == 0 {
                self.close(token, Close::Quiet);
                return Err(());
            }
        } else if progressed || c.write_wait.is_none() {
            c.write_wait = Some(Instant::now());
        }
        if c.out_pos > OUT_HIGH {
            c.out.drain(..c.out_pos);
            c.out_pos = 0;
        }
        Ok(())
    }

    /// Closes connections past their deadlines.
    fn deadlines(&mut self, now: Instant) {
        let idle = self.config.idle_timeout;
        let partial = self.config.frame_timeout;
        let write = self.config.stream.write_timeout;
        let mut expired = Vec::new();
        for (&t, c) in &self.conns {
            if let Some(start) = c.frame_start
                && now.duration_since(start) >= partial
            {
                expired.push((
                    t,
                    Expired::Slow,
                    format!(
                        "a frame was started and not finished within {} ms",
                        partial.as_millis()
                    ),
                ));
            } else if let (Some(since), Some(limit)) = (c.write_wait, write)
                && now.duration_since(since) >= limit
            {
                expired.push((
                    t,
                    Expired::Slow,
                    format!(
                        "{} bytes waited {} ms for the client to read them",
                        c.pending_out(),
                        limit.as_millis()
                    ),
                ));
            } else if c.sub.is_none()
                && c.in_flight == 0
                && c.pending_out() == 0
                && now.duration_since(c.last_input) >= idle
            {
                expired.push((
                    t,
                    Expired::Idle,
                    format!("idle for {} ms", idle.as_millis()),
                ));
            }
        }
        for (t, kind, why) in expired {
            match kind {
                Expired::Idle => self.shared.count_idle_closed(),
                Expired::Slow => self.shared.count_stalled(),
            }
            self.close(t, Close::Reason(why));
        }
    }

    /// Closes `token`, telling the client why when there is a reason.
    fn close(&mut self, token: usize, why: Close) {
        let Some(mut c) = self.conns.remove(&token) else {
            return;
        };
        if let Some(sub) = &c.sub
            && let Service::Broker(topics) = &mut self.service
        {
            topics.remove(&sub.topics, token);
        }
        c.sock.deregister(&self.poll);
        match why {
            Close::Quiet => {}
            Close::Log(line) => self.shared.log_error(line),
            Close::Reason(reason) => {
                self.shared
                    .log_error(format!("closed {}: {reason}", c.peer));
                // Best effort: whatever fits in the socket buffer now.
                let mut out = Vec::new();
                encode_goodbye(&mut out, self.service.framed(), &reason);
                let _ = c.sock.write(&out);
            }
        }
        c.sock.shutdown();
    }
}

/// Why a connection closes.
enum Close {
    /// The client left cleanly.
    Quiet,
    /// Something broke: logged, nothing can be told to the client.
    Log(String),
    /// The server closes it: logged and told to the client.
    Reason(String),
}

enum Expired {
    Idle,
    Slow,
}

fn envelope<'a>(frame: &'a [u8], _peer: &str) -> Result<Envelope<'a>, Close> {
    decode_envelope(frame).ok_or_else(|| {
        Close::Reason(format!(
            "an envelope of {} bytes is shorter than its header",
            frame.len()
        ))
    })
}

/// Appends one frame made of `parts` to `out`.
pub(crate) fn push_frame(out: &mut Vec<u8>, parts: &[&[u8]]) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    out.extend_from_slice(&(len as u32).to_be_bytes());
    for p in parts {
        out.extend_from_slice(p);
    }
}

/// Appends one frame holding the envelope `[kind][epoch][seq][payload]` to `out`.
pub(crate) fn push_envelope(out: &mut Vec<u8>, kind: u8, epoch: u32, seq: u64, payload: &[u8]) {
    let mut head = [0; crate::comm::ENVELOPE_LEN];
    head[0] = kind;
    head[1..5].copy_from_slice(&epoch.to_le_bytes());
    head[5..].copy_from_slice(&seq.to_le_bytes());
    push_frame(out, &[&head, payload]);
}

/// The goodbye a closing server sends: a goodbye frame and the reason (framed), or a line.
fn encode_goodbye(out: &mut Vec<u8>, framed: bool, reason: &str) {
    if framed {
        out.extend_from_slice(&GOODBYE.to_be_bytes());
        push_frame(out, &[reason.as_bytes()]);
    } else {
        out.extend_from_slice(format!("lockstep server: {reason}\n").as_bytes());
    }
}
