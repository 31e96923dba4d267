//! Length-prefixed frames: message boundaries over a byte stream.
//!
//! A stream socket keeps no message boundaries: the lecture's `send(170)` followed by
//! `send(230)` may arrive as one `receive(400)`, or as any other split. Each message is therefore
//! sent as a frame, a 4-byte big-endian length followed by that many bytes, and the receiver
//! reads exactly one frame per message.
//!
//! The length comes from the peer, so it is checked against a maximum (default
//! [`DEFAULT_MAX_FRAME`], 1 MiB) *before* anything is allocated for the body: a frame that
//! announces 4 GiB is rejected with [`NetError::FrameTooLarge`] after reading 4 bytes. The
//! reader never panics on any input and never holds more than the maximum plus its fixed read
//! buffer ([`READ_BUF`] bytes).

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::time::{Duration, Instant};

use super::{SocketMode, StreamSocket, Transport};
use crate::NetError;

/// The default maximum frame size: 1 MiB.
pub const DEFAULT_MAX_FRAME: usize = 1 << 20;

/// Bytes of the length prefix.
pub const HEADER_LEN: usize = 4;

/// A length prefix that announces no frame but a goodbye: the next frame holds the reason
/// (UTF-8 text) why the peer closes the connection, as a server does when it refuses a client
/// at its connection limit or closes a slow one. A reader reports it as
/// [`FrameError::Goodbye`] ([`NetError::ClosedBy`]). No frame is this long: [`write_frame`]
/// refuses messages of 4 GiB - 1 bytes and more.
///
/// # Examples
///
/// ```
/// use lockstep_hosted::transport::framing::{encode, FrameError, FrameReader, GOODBYE};
///
/// let mut wire = GOODBYE.to_be_bytes().to_vec();
/// wire.extend(encode(b"at the connection limit"));
/// let mut src = &wire[..];
/// let e = FrameReader::new(1024).read_frame(&mut src).unwrap_err();
/// assert!(matches!(e, FrameError::Goodbye(ref why) if why == "at the connection limit"));
/// ```
pub const GOODBYE: u32 = u32::MAX;

/// Size of a [`FrameReader`]'s fixed read buffer.
pub const READ_BUF: usize = 16 * 1024;

/// Bytes of the read buffer that a vectored read of a large body may spill into.
const SPILL: usize = 1024;

/// Messages up to this size are copied behind their header and written with one `write`;
/// larger ones are written with a vectored write of header and body.
const COPY_LIMIT: usize = 8 * 1024;

/// Reads frames from a byte stream; resumable when a read times out in the middle of a frame.
///
/// # Examples
///
/// ```
/// use lockstep_hosted::transport::framing::{encode, FrameReader};
///
/// // Two messages written back to back arrive as one run of bytes ...
/// let mut wire = encode(&[b'a'; 170]);
/// wire.extend(encode(&[b'b'; 230]));
/// // ... and the reader restores the boundaries.
/// let mut reader = FrameReader::new(1024);
/// let mut src = &wire[..];
/// assert_eq!(reader.read_frame(&mut src).unwrap().unwrap().len(), 170);
/// assert_eq!(reader.read_frame(&mut src).unwrap().unwrap().len(), 230);
/// assert!(reader.read_frame(&mut src).unwrap().is_none()); // clean end of stream
/// ```
#[derive(Debug)]
pub struct FrameReader {
    max: usize,
    rbuf: Box<[u8]>,
    // invariant: pos <= filled <= rbuf.len()
    pos: usize,
    filled: usize,
    header: [u8; HEADER_LEN],
    header_got: usize,
    // invariant: Some(len) only with len <= max, and then frame.len() == len
    body_len: Option<usize>,
    body_got: usize,
    frame: Vec<u8>,
    // whether the last frame was large (read ahead little before the next header)
    large: bool,
    // a goodbye header arrived: the frame being read is the peer's reason
    goodbye: bool,
}

/// What [`FrameReader::read_frame`] can fail with, before an address is attached.
#[derive(Debug)]
pub enum FrameError {
    /// The announced length is over the maximum.
    TooLarge {
        /// The announced length.
        len: u64,
        /// The maximum.
        max: usize,
    },
    /// The stream ended in the middle of a frame.
    Truncated {
        /// Bytes of the frame that had arrived (header included).
        got: usize,
        /// Bytes the frame would have had (header included, or the header alone if its
        /// length had not arrived yet).
        expected: usize,
    },
    /// The peer closed the connection and said why (a [`GOODBYE`] frame).
    Goodbye(String),
    /// The underlying read failed (including a timeout; the frame so far is kept).
    Io(io::Error),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::TooLarge { len, max } => {
                write!(f, "frame of {len} bytes exceeds the maximum of {max} bytes")
            }
            FrameError::Truncated { got, expected } => {
                write!(
                    f,
                    "stream ended in the middle of a frame ({got} of {expected} bytes)"
                )
            }
            FrameError::Goodbye(why) => write!(f, "the peer closed the connection: {why}"),
            FrameError::Io(e) => write!(f, "reading a frame: {e}"),
        }
    }
}

impl std::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FrameError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl FrameError {
    /// Attaches the peer's address.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockstep_hosted::transport::framing::FrameError;
    ///
    /// let e = FrameError::TooLarge { len: 5_000_000, max: 1024 };
    /// assert_eq!(e.to_string(), "frame of 5000000 bytes exceeds the maximum of 1024 bytes");
    /// assert!(e.at("127.0.0.1:5242").to_string().contains("from 127.0.0.1:5242"));
    /// ```
    pub fn at(self, addr: &str) -> NetError {
        match self {
            FrameError::TooLarge { len, max } => NetError::FrameTooLarge {
                addr: addr.to_owned(),
                len,
                max,
            },
            FrameError::Truncated { got, expected } => NetError::Truncated {
                addr: addr.to_owned(),
                got,
                expected,
            },
            FrameError::Goodbye(reason) => NetError::ClosedBy {
                addr: addr.to_owned(),
                reason,
            },
            FrameError::Io(e) => NetError::from_io(addr, e),
        }
    }
}

impl FrameReader {
    /// A reader that accepts frames of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        FrameReader {
            max,
            rbuf: vec![0; READ_BUF].into_boxed_slice(),
            pos: 0,
            filled: 0,
            header: [0; HEADER_LEN],
            header_got: 0,
            body_len: None,
            body_got: 0,
            frame: Vec::new(),
            large: false,
            goodbye: false,
        }
    }

    /// The maximum frame size.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Whether part of a frame has been read.
    pub fn in_frame(&self) -> bool {
        self.header_got > 0
    }

    /// Capacity of the frame buffer this reader holds (for memory checks): at most the
    /// largest accepted frame.
    pub fn frame_capacity(&self) -> usize {
        self.frame.capacity()
    }

    /// Reads the next frame; `Ok(None)` at a clean end of stream (between frames).
    ///
    /// A timeout or `WouldBlock` from `src` is returned as [`FrameError::Io`]; the bytes read so
    /// far are kept, and the next call continues the same frame.
    ///
    /// # Errors
    ///
    /// [`FrameError::TooLarge`] when the length is over the maximum (the stream cannot be
    /// resynchronised: close it), [`FrameError::Truncated`] when the stream ends mid-frame.
    pub fn read_frame(&mut self, src: &mut impl Read) -> Result<Option<&[u8]>, FrameError> {
        if self.poll(src)? {
            Ok(Some(&self.frame))
        } else {
            Ok(None)
        }
    }

    /// Like [`read_frame`](Self::read_frame), but swaps the frame into `out` instead of
    /// lending it (no copy; `out`'s old buffer is reused for the next frame).
    ///
    /// # Errors
    ///
    /// As [`read_frame`](Self::read_frame); `Ok(false)` at a clean end of stream.
    pub fn read_frame_into(
        &mut self,
        src: &mut impl Read,
        out: &mut Vec<u8>,
    ) -> Result<bool, FrameError> {
        if self.poll(src)? {
            std::mem::swap(out, &mut self.frame);
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Drives the state machine until a whole frame sits in `self.frame`.
    fn poll(&mut self, src: &mut impl Read) -> Result<bool, FrameError> {
        // A frame completed by the previous call has been handed out: start the next one.
        if self.body_len.is_some_and(|len| self.body_got == len) {
            self.header_got = 0;
            self.body_len = None;
            self.body_got = 0;
        }
        loop {
            match self.body_len {
                None => {
                    let avail = &self.rbuf[self.pos..self.filled];
                    let take = avail.len().min(HEADER_LEN - self.header_got);
                    self.header[self.header_got..self.header_got + take]
                        .copy_from_slice(&avail[..take]);
                    self.header_got += take;
                    self.pos += take;
                    if self.header_got == HEADER_LEN {
                        self.start_body()?;
                        continue;
                    }
                    // After a large frame, expect another: read little ahead, so that its
                    // body goes straight into the frame instead of through the read buffer.
                    let ahead = if self.large { SPILL } else { READ_BUF };
                    if !self.fill(src, ahead)? {
                        return self.eof();
                    }
                }
                Some(len) if self.body_got == len => {
                    if self.goodbye {
                        // Escaped byte by byte: text bytes as they are, others as `\xNN`.
                        return Err(FrameError::Goodbye(escape(&self.frame[..len])));
                    }
                    return Ok(true);
                }
                Some(len) => {
                    let want = len - self.body_got;
                    let avail = self.filled - self.pos;
                    if avail > 0 {
                        let take = avail.min(want);
                        self.frame[self.body_got..self.body_got + take]
                            .copy_from_slice(&self.rbuf[self.pos..self.pos + take]);
                        self.pos += take;
                        self.body_got += take;
                    } else if want >= READ_BUF / 2 {
                        // Large remainder: read straight into the frame, skipping the copy;
                        // what comes after it (the next frame's start) spills into the front
                        // of the empty read buffer, in the same system call.
                        let body = &mut self.frame[self.body_got..len];
                        let spill = &mut self.rbuf[..SPILL];
                        let n = loop {
                            let mut bufs = [IoSliceMut::new(body), IoSliceMut::new(spill)];
                            match src.read_vectored(&mut bufs) {
                                Ok(n) => break n,
                                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                                Err(e) => return Err(FrameError::Io(e)),
                            }
                        };
                        if n == 0 {
                            return self.eof();
                        }
                        let into_body = n.min(want);
                        self.body_got += into_body;
                        self.pos = 0;
                        self.filled = n - into_body;
                    } else if !self.fill(src, READ_BUF)? {
                        return self.eof();
                    }
                }
            }
        }
    }

    fn start_body(&mut self) -> Result<(), FrameError> {
        let len = u32::from_be_bytes(self.header);
        if len == GOODBYE && !self.goodbye {
            // The reason follows as a frame of its own.
            self.goodbye = true;
            self.header_got = 0;
            return Ok(());
        }
        let len = len as u64;
        if len > self.max as u64 {
            return Err(FrameError::TooLarge { len, max: self.max });
        }
        let len = len as usize; // fits: len <= max, a usize
        if self.frame.len() < len {
            // reserve_exact: never hold more than the largest accepted frame.
            self.frame.reserve_exact(len - self.frame.len());
            self.frame.resize(len, 0);
        } else {
            self.frame.truncate(len);
        }
        self.body_len = Some(len);
        self.body_got = 0;
        self.large = len >= READ_BUF / 2;
        Ok(())
    }

    /// Refills the read buffer (only called when it is empty); `false` at end of stream.
    fn fill(&mut self, src: &mut impl Read, ahead: usize) -> Result<bool, FrameError> {
        debug_assert_eq!(self.pos, self.filled);
        self.pos = 0;
        self.filled = 0;
        let n = read_some(src, &mut self.rbuf[..ahead])?;
        self.filled = n;
        Ok(n > 0)
    }

    fn eof(&mut self) -> Result<bool, FrameError> {
        if self.header_got == 0 {
            return Ok(false);
        }
        let (got, expected) = match self.body_len {
            Some(len) => (HEADER_LEN + self.body_got, HEADER_LEN + len),
            None => (self.header_got, HEADER_LEN),
        };
        Err(FrameError::Truncated { got, expected })
    }
}

/// `bytes` as text safe to print: UTF-8 text as it is, except control characters (`\n`,
/// `\x1b` and the other C0 and C1 controls, which a terminal would obey) and backslashes, which
/// are escaped; bytes that are not UTF-8 appear as `\xNN`.
///
/// # Examples
///
/// ```
/// use lockstep_hosted::transport::framing::escape;
///
/// assert_eq!(escape(b"Hello \"World\""), "Hello \"World\"");
/// assert_eq!(escape("déjà vu".as_bytes()), "déjà vu");
/// assert_eq!(escape(b"\x1b[2J\n\xff\\"), "\\x1b[2J\\n\\xff\\\\");
/// ```
pub fn escape(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// One `read`, retried on `Interrupted`.
fn read_some(src: &mut impl Read, buf: &mut [u8]) -> Result<usize, FrameError> {
    loop {
        match src.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
}

/// Encodes one message as a frame (header and body), for tests and examples.
///
/// # Examples
///
/// ```
/// use lockstep_hosted::transport::framing::encode;
///
/// assert_eq!(encode(b"hi"), [0, 0, 0, 2, b'h', b'i']);
/// ```
pub fn encode(msg: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(HEADER_LEN + msg.len());
    v.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    v.extend_from_slice(msg);
    v
}

/// Writes `msg` as one frame to `dst`, using `scratch` for small messages.
///
/// Large messages go out with `write_vectored`: on a socket whose peer has closed, that raises
/// `SIGPIPE` in a program that restored the signal's default action (Rust programs ignore it
/// unless they do). [`Framed`] sends with `MSG_NOSIGNAL` instead.
///
/// # Errors
///
/// The write's error; `InvalidInput` if `msg` is longer than `u32::MAX`.
///
/// # Examples
///
/// ```
/// use lockstep_hosted::transport::framing::{encode, write_frame};
///
/// let (mut wire, mut scratch) = (Vec::new(), Vec::new());
/// write_frame(&mut wire, b"small", &mut scratch).unwrap();
/// write_frame(&mut wire, &[9; 100_000], &mut scratch).unwrap(); // header and body, vectored
/// let mut expected = encode(b"small");
/// expected.extend(encode(&[9; 100_000]));
/// assert_eq!(wire, expected);
/// ```
pub fn write_frame(dst: &mut impl Write, msg: &[u8], scratch: &mut Vec<u8>) -> io::Result<()> {
    let len = u32::try_from(msg.len())
        .ok()
        .filter(|&l| l != GOODBYE)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "message of 4 GiB or more"))?;
    let header = len.to_be_bytes();
    if msg.len() <= COPY_LIMIT {
        scratch.clear();
        scratch.extend_from_slice(&header);
        scratch.extend_from_slice(msg);
        return dst.write_all(scratch);
    }
    let mut bufs = [IoSlice::new(&header), IoSlice::new(msg)];
    let mut bufs = &mut bufs[..];
    while !bufs.is_empty() {
        match dst.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A stream socket carrying whole messages as frames: the [`Transport`] for TCP and Unix
/// streams.
///
/// Sends write one frame; receives read one. A receive that times out keeps the part of the
/// frame already read; a send that times out after writing part of its frame (the peer stopped
/// reading) keeps the rest and writes it first at the next send, so the stream stays in step.
/// A frame over the maximum, or a stream ending mid-frame, is an error after which the
/// connection should be dropped. Sends never raise `SIGPIPE` (see
/// [`StreamSocket::send_vectored`]).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lockstep_hosted::transport::{tcp, Transport};
///
/// let listener = tcp::listen("127.0.0.1:0".parse().unwrap()).unwrap();
/// let addr = listener.local_addr().unwrap();
/// let mut client = tcp::connect(addr).unwrap();
/// let mut server = tcp::accept(&listener).unwrap();
/// client.send(b"ping").unwrap();
/// assert_eq!(server.recv(Some(Duration::from_secs(5))).unwrap(), b"ping");
/// ```
#[derive(Debug)]
pub struct Framed<S> {
    sock: S,
    reader: FrameReader,
    scratch: Vec<u8>,
    peer: String,
    mode: SocketMode,
    // the rest of a frame whose send ran out of time midway, written first by the next send
    unsent: Vec<u8>,
    // the socket's own write timeout, read at the first send
    base_write: Option<Option<Duration>>,
    // the write timeout this transport last set, if it set one
    write_set: Option<Option<Duration>>,
}

impl<S: StreamSocket> Framed<S> {
    /// Wraps a connected stream socket; `max` bounds the frames in both directions.
    pub fn new(sock: S, max: usize) -> Self {
        let peer = sock.peer_label();
        Framed {
            sock,
            reader: FrameReader::new(max),
            scratch: Vec::new(),
            peer,
            mode: SocketMode::default(),
            unsent: Vec::new(),
            base_write: None,
            write_set: None,
        }
    }

    /// The socket.
    pub fn get_ref(&self) -> &S {
        &self.sock
    }

    /// The frame reader (for memory checks).
    pub fn reader(&self) -> &FrameReader {
        &self.reader
    }

    fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<(), NetError> {
        let sock = &self.sock;
        self.mode
            .for_recv(
                timeout,
                |on| sock.set_nonblocking(on),
                |t| sock.set_read_timeout(t),
            )
            .map_err(|e| NetError::from_io(&self.peer, e))
    }
}

impl<S: StreamSocket> Framed<S> {
    /// Sends one frame, waiting for room at most `limit` or the socket's write timeout,
    /// whichever is shorter.
    fn send_limited(&mut self, msg: &[u8], limit: Option<Duration>) -> Result<(), NetError> {
        let fits = u32::try_from(msg.len()).is_ok_and(|l| l != GOODBYE);
        if msg.len() > self.reader.max() || !fits {
            return Err(NetError::MessageTooLarge {
                addr: self.peer.clone(),
                len: msg.len(),
                max: self.reader.max(),
            });
        }
        let io_err = |peer: &str, e| NetError::from_io(peer, e);
        let sock = &self.sock;
        self.mode
            .for_send(|on| sock.set_nonblocking(on))
            .map_err(|e| io_err(&self.peer, e))?;
        let base = match self.base_write {
            Some(b) => b,
            None => {
                let b = self
                    .sock
                    .write_timeout()
                    .map_err(|e| io_err(&self.peer, e))?;
                self.write_set = Some(b);
                *self.base_write.insert(b)
            }
        };
        let limit = limit.map(super::write_limit);
        let want = match (limit, base) {
            (Some(l), Some(b)) => Some(l.min(b)),
            (l, b) => l.or(b),
        };
        if self.write_set != Some(want) {
            self.sock
                .set_write_timeout(want)
                .map_err(|e| io_err(&self.peer, e))?;
            self.write_set = Some(want);
        }
        let timed_out = |peer: &str, e: io::Error| {
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) {
                NetError::timeout(
                    peer,
                    "room to send (the peer stopped reading)",
                    want.unwrap_or_default(),
                )
            } else {
                io_err(peer, e)
            }
        };
        // The rest of a frame cut short by an earlier timeout goes first.
        if !self.unsent.is_empty() {
            let (done, r) = write_parts(&mut self.sock, &self.unsent, &[]);
            self.unsent.drain(..done);
            r.map_err(|e| timed_out(&self.peer, e))?;
        }
        let header = (msg.len() as u32).to_be_bytes(); // checked: fits
        let (a, b): (&[u8], &[u8]) = if msg.len() <= COPY_LIMIT {
            self.scratch.clear();
            self.scratch.extend_from_slice(&header);
            self.scratch.extend_from_slice(msg);
            (&self.scratch, &[])
        } else {
            (&header, msg)
        };
        let (done, r) = write_parts(&mut self.sock, a, b);
        if r.is_err() && done > 0 {
            // Part of the frame is out: the rest must follow, or the stream is out of step.
            let (a_rest, b_rest) = if done < a.len() {
                (&a[done..], b)
            } else {
                (&[][..], &b[done - a.len()..])
            };
            self.unsent.extend_from_slice(a_rest);
            self.unsent.extend_from_slice(b_rest);
        }
        r.map_err(|e| timed_out(&self.peer, e))
    }
}

/// Writes `a` then `b` (one system call while both remain); how many bytes were written,
/// and the error that stopped it, if any.
fn write_parts(dst: &mut impl StreamSocket, a: &[u8], b: &[u8]) -> (usize, io::Result<()>) {
    let total = a.len() + b.len();
    let mut done = 0;
    while done < total {
        let r = if done < a.len() && !b.is_empty() {
            // Not `write_vectored`: it would raise SIGPIPE on a closed peer.
            dst.send_vectored(&[IoSlice::new(&a[done..]), IoSlice::new(b)])
        } else if done < a.len() {
            dst.write(&a[done..])
        } else {
            dst.write(&b[done - a.len()..])
        };
        match r {
            Ok(0) => return (done, Err(io::ErrorKind::WriteZero.into())),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (done, Err(e)),
        }
    }
    (done, Ok(()))
}

impl<S: StreamSocket> Transport for Framed<S> {
    fn send(&mut self, msg: &[u8]) -> Result<(), NetError> {
        self.send_limited(msg, None)
    }

    fn send_within(&mut self, msg: &[u8], timeout: Duration) -> Result<(), NetError> {
        self.send_limited(msg, Some(timeout))
    }

    fn recv_into(&mut self, buf: &mut Vec<u8>, timeout: Option<Duration>) -> Result<(), NetError> {
        self.set_timeout(timeout)?;
        // The socket's read timeout bounds each read; the deadline bounds the whole frame, so a
        // peer that trickles a byte at a time cannot stretch one receive without end (it ends
        // within twice the timeout; the partial frame is kept for the next call). A zero
        // timeout has no deadline: the socket is non-blocking, so the reads take what the
        // kernel holds and stop at the first `WouldBlock`.
        let deadline = timeout
            .filter(|t| !t.is_zero())
            .and_then(|t| Instant::now().checked_add(t));
        let mut src = UntilDeadline {
            inner: &mut self.sock,
            deadline,
            first: true,
        };
        match self.reader.read_frame_into(&mut src, buf) {
            Ok(true) => Ok(()),
            Ok(false) => Err(NetError::Closed {
                addr: self.peer.clone(),
            }),
            Err(FrameError::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(NetError::timeout(
                    &self.peer,
                    "a message",
                    timeout.unwrap_or_default(),
                ))
            }
            Err(e) => Err(e.at(&self.peer)),
        }
    }

    fn is_reliable(&self) -> bool {
        true
    }

    fn max_message(&self) -> usize {
        self.reader.max()
    }

    fn peer(&self) -> &str {
        &self.peer
    }
}

/// A reader that refuses to start a read once its deadline has passed; the first read of a
/// receive always runs, so what has already arrived is taken however short the timeout.
struct UntilDeadline<'a, R> {
    inner: &'a mut R,
    deadline: Option<Instant>,
    first: bool,
}

impl<R: Read> UntilDeadline<'_, R> {
    fn check(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.first) {
            return Ok(());
        }
        match self.deadline {
            Some(d) if Instant::now() >= d => Err(io::ErrorKind::TimedOut.into()),
            _ => Ok(()),
        }
    }
}

impl<R: Read> Read for UntilDeadline<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.check()?;
        self.inner.read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.check()?;
        self.inner.read_vectored(bufs)
    }
}

#[cfg(test)]
mod tests;
