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
//! A client that breaks the protocol (a frame over the maximum, an unknown message kind) is read
//! no further, and its connection closes once the replies to the requests it sent before are
//! written: a bad frame loses no answer. A connection is closed with a reason where the protocol
//! allows one: a framed client gets a
//! goodbye frame ([`GOODBYE`](crate::transport::framing::GOODBYE) then the reason as a frame,
//! which its [`Framed`](crate::transport::Framed) reports as [`NetError::ClosedBy`]); a raw
//! client gets a line of text.
//!
//! [`NetError::ClosedBy`]: crate::NetError::ClosedBy

use std::collections::HashMap;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};

use super::broker::Topics;
use super::pool::Registry;
use super::{ServerConfig, ServerHandle, Shared};

use crate::transport::framing::HEADER_LEN;

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

/// Work done for one connection per turn before the others get theirs: one unit per frame,
/// and one per subscriber a publication is queued for (so a publisher flooding a topic with
/// many subscribers is slowed in proportion to its fan-out, not let hold the loop).
const WORK_BUDGET: usize = 64 * 1024;

/// Bytes waiting to be written to one connection past which the loop stops reading from it and
/// splitting what it read (an echo or RPC client that sends without reading is slowed, not
/// buffered without end).
const OUT_HIGH: usize = 256 * 1024;

/// Requests of one RPC connection running or waiting for a worker, at most: past it the loop
/// takes no further request from that connection until a reply is written (the rest of the
/// last read waits unsplit, so one read of many tiny requests queues no more than this).
pub const MAX_IN_FLIGHT: usize = 32;

/// Bytes of request bodies of one RPC connection running or waiting for a worker past which
/// the loop takes no further request from it (so a connection holds at most this plus one
/// frame in queued requests, and one read unsplit).
const IN_FLIGHT_BYTES: usize = 1 << 20;

/// A write buffer that grew past this is released once empty (idle connections stay small).
const KEEP_CAPACITY: usize = 16 * 1024;

mod service;
mod socket;

use service::encode_goodbye;
pub(crate) use service::push_frame;
pub use socket::EventListener;
use socket::Sock;

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

/// A request for the pool.
struct Job {
    token: usize,
    // the asker's epoch and the request's sequence number
    epoch: u32,
    seq: u64,
    body: Vec<u8>,
    // set when the connection closes: nobody can receive the reply, so a job not yet started
    // is skipped
    gone: Arc<AtomicBool>,
}

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
    // Bytes read but not yet split: the rest of a read after the connection paused (its
    // requests at the in-flight limit, or its output over `OUT_HIGH`), taken up again before
    // the next read. At most one read's worth (`READ_CHUNK`).
    held: Vec<u8>,
}

impl Inbound {
    fn in_frame(&self) -> bool {
        self.header_got > 0
    }
}

/// A request finished on the pool.
struct Done {
    token: usize,
    // the request body's length
    len: usize,
    epoch: u32,
    seq: u64,
    // `None`: skipped, its connection gone; `Some(Err(()))`: the handler panicked
    reply: Option<Result<Vec<u8>, ()>>,
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
    // requests read and not yet answered
    in_flight: usize,
    // of those, the ones handed to the pool (at most `Loop::share`); the others wait here
    on_pool: usize,
    waiting: std::collections::VecDeque<Job>,
    // bytes of those requests' bodies
    in_flight_bytes: usize,
    // the socket may hold unread input (reading was paused or the budget ran out)
    unread: bool,
    // the client closed its sending half: close once its replies are written
    read_closed: bool,
    // the client broke the protocol (the reason, and when): nothing more is read from it, and
    // it closes with the reason once the replies to what it sent before are written
    closing: Option<(String, Instant)>,
    sub: Option<super::broker::Subscription>,
    // listed in `Loop::dirty`
    dirty: bool,
    // set when the connection closes, for its requests still queued (see `Job::gone`)
    gone: Arc<AtomicBool>,
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
            let (rx, handler, done, waker, shared) = (
                rx.clone(),
                handler.clone(),
                done.clone(),
                waker.clone(),
                shared.clone(),
            );
            threads.push(
                thread::Builder::new()
                    .name(format!("lockstep-worker-{i}"))
                    .spawn(move || {
                        loop {
                            let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                            let Ok(Job {
                                token,
                                epoch,
                                seq,
                                body,
                                gone,
                            }) = job
                            else {
                                return;
                            };
                            if shared.stopping() {
                                // Stopping: what still waits in the queue is dropped, not
                                // run (its client's connection is closed anyway), so that
                                // shutdown waits only for the requests already running.
                                continue;
                            }
                            // Relaxed: a hint; a stale `false` only runs a request whose reply
                            // is then dropped, and nothing else is read through the flag.
                            let reply = (!gone.load(Relaxed)).then(|| {
                                catch_unwind(AssertUnwindSafe(|| handler(&body))).map_err(|_| ())
                            });
                            let mut list = done.lock().unwrap_or_else(|p| p.into_inner());
                            list.push(Done {
                                token,
                                len: body.len(),
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
    let stop_timeout = config.stop_timeout;
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
        work: 0,
        dirty: Vec::new(),
        zombies: HashMap::new(),
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
        stop_timeout,
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
    // work done in the current connection's turn (see WORK_BUDGET)
    work: usize,
    // connections with deliveries queued during this turn, to write once it ends
    dirty: Vec<usize>,
    // closed connections with requests still on the pool (token -> how many): each holds a
    // place under the connection limit until they are done or skipped, so that clients that
    // send requests and vanish cannot queue work without bound
    zombies: HashMap<usize, usize>,
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
                    Token(t) => {
                        if ev.is_error() {
                            self.broken(t);
                        }
                        self.service_conn(
                            t,
                            ev.is_readable() || ev.is_read_closed() || ev.is_error(),
                            ev.is_writable(),
                        );
                    }
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
            if self.conns.len() + self.zombies.len() >= self.config.max_connections {
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
                    on_pool: 0,
                    waiting: std::collections::VecDeque::new(),
                    in_flight_bytes: 0,
                    unread: true,
                    read_closed: false,
                    closing: None,
                    sub: None,
                    dirty: false,
                    gone: Arc::default(),
                },
            );
            // Data may have arrived with the connection.
            self.service_conn(token, true, false);
        }
    }

    /// Workers one connection may occupy at once: half of them (at least one), so that a
    /// client with many slow requests leaves the others room; its further requests wait in
    /// its own queue, in order.
    fn share(&self) -> usize {
        self.config.workers.max(1).div_ceil(2)
    }

    /// Hands `job` to the pool, or to its connection's queue when the connection has its
    /// share of the workers.
    fn submit(&mut self, token: usize, job: Job) {
        let share = self.share();
        let Some(c) = self.conns.get_mut(&token) else {
            return;
        };
        if c.on_pool >= share {
            c.waiting.push_back(job);
        } else if let Some(jobs) = &self.jobs {
            c.on_pool += 1;
            let _ = jobs.send(job);
        }
    }

    fn paused(&self, c: &Connection) -> bool {
        c.read_closed
            || c.pending_out() > OUT_HIGH
            || c.in_flight >= MAX_IN_FLIGHT
            || c.in_flight_bytes >= IN_FLIGHT_BYTES
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
        if (c.unread || !c.inb.held.is_empty()) && !self.paused_token(token) {
            self.read(token);
        }
        let _ = self.flush(token);
    }

    /// Closes `token` if its socket has failed (a reset): even while the loop reads nothing
    /// from it (paused at its in-flight limit), so that its queued requests are dropped at
    /// once instead of run for nobody.
    fn broken(&mut self, token: usize) {
        let Some(c) = self.conns.get(&token) else {
            return;
        };
        if let Some(e) = c.sock.take_error() {
            let line = format!("{}: {e}", c.peer);
            self.close(token, Close::Log(line));
        }
    }

    fn paused_token(&self, token: usize) -> bool {
        self.conns.get(&token).is_none_or(|c| self.paused(c))
    }

    fn read(&mut self, token: usize) {
        let mut budget = READ_BUDGET;
        self.work = 0;
        let mut buf = std::mem::take(&mut self.rbuf);
        let result = loop {
            if budget == 0 || self.work >= WORK_BUDGET {
                self.again.push(token);
                break Ok(());
            }
            if self.paused_token(token) {
                break Ok(());
            }
            let Some(c) = self.conns.get_mut(&token) else {
                break Ok(());
            };
            if !c.inb.held.is_empty() {
                // What an earlier read left when the connection paused comes first.
                let held = std::mem::take(&mut c.inb.held);
                let r = self.input(token, &held);
                if let Some(c) = self.conns.get_mut(&token)
                    && c.inb.held.is_empty()
                {
                    c.inb.held = held; // keeps the allocation for the next time
                    c.inb.held.clear();
                }
                if let Err(e) = r {
                    break Err(e);
                }
                continue;
            }
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
            self.close_after_replies(token, why);
        }
        // Deliveries queued for other connections during this turn: written once each.
        for t in std::mem::take(&mut self.dirty) {
            if let Some(c) = self.conns.get_mut(&t) {
                c.dirty = false;
            }
            if t != token {
                let _ = self.flush(t);
            }
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
                let why = c
                    .closing
                    .take()
                    .map_or(Close::Quiet, |(r, _)| Close::Reason(r));
                self.close(token, why);
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
            if let Some((reason, since)) = &c.closing
                && now.duration_since(*since) >= idle
            {
                // Its replies take too long (a stuck handler): it goes without them.
                expired.push((t, Expired::Slow, reason.clone()));
            } else if let Some(start) = c.frame_start
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

    /// Closes `token` for `why`; when the client broke the protocol (`Close::Reason`) with
    /// requests of its own still unanswered or replies still unwritten, first answers them:
    /// nothing more is read from it, and it closes with the reason once its replies are out
    /// (or after the idle timeout, if they take that long). A bad frame loses none of the
    /// answers to what came before it.
    fn close_after_replies(&mut self, token: usize, why: Close) {
        let reason = match why {
            Close::Reason(reason) => reason,
            why => return self.close(token, why),
        };
        let Some(c) = self.conns.get_mut(&token) else {
            return;
        };
        if c.in_flight == 0 && c.pending_out() == 0 {
            return self.close(token, Close::Reason(reason));
        }
        c.closing = Some((reason, Instant::now()));
        c.read_closed = true;
        c.inb = Inbound::default();
        c.frame_start = None;
        // A subscriber gets nothing more: what is queued for it now is written.
        if let Some(sub) = c.sub.take()
            && let Service::Broker(topics) = &mut self.service
        {
            topics.remove(&sub.topics, token);
        }
        let _ = self.flush(token);
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
        if c.on_pool > 0 {
            // Relaxed: see `Job::gone`.
            c.gone.store(true, Relaxed);
            self.zombies.insert(token, c.on_pool);
        }
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
