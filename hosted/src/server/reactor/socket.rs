//! The sockets the event loop waits on: listeners and accepted connections, TCP or Unix.

use std::io::{self, Read, Write};

use mio::{Interest, Poll, Token};

use super::LISTENER;
use crate::server::ServerConfig;

/// A listening socket the event loop can wait on: TCP or Unix.
///
/// Made from a std listener with [`tcp`](Self::tcp) or [`unix`](Self::unix);
/// [`Listener`](crate::server::Listener) implementations hand one over in
/// [`into_event_listener`](crate::server::Listener::into_event_listener).
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

    pub(super) fn accept(&self) -> io::Result<(Sock, String)> {
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

    pub(super) fn register(&mut self, poll: &Poll) -> io::Result<()> {
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
pub(super) enum Sock {
    Tcp(mio::net::TcpStream),
    #[cfg(unix)]
    Unix(mio::net::UnixStream),
}

impl Sock {
    pub(super) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Sock::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Sock::Unix(s) => s.read(buf),
        }
    }
    pub(super) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sock::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Sock::Unix(s) => s.write(buf),
        }
    }
    /// The socket's pending error (`SO_ERROR`), if any: a reset, for one.
    pub(super) fn take_error(&self) -> Option<io::Error> {
        let r = match self {
            Sock::Tcp(s) => s.take_error(),
            #[cfg(unix)]
            Sock::Unix(s) => s.take_error(),
        };
        r.unwrap_or_else(Some)
    }
    pub(super) fn shutdown(&self) {
        let _ = match self {
            Sock::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            #[cfg(unix)]
            Sock::Unix(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }
    pub(super) fn register(&mut self, poll: &Poll, t: Token) -> io::Result<()> {
        let i = Interest::READABLE | Interest::WRITABLE;
        match self {
            Sock::Tcp(s) => poll.registry().register(s, t, i),
            #[cfg(unix)]
            Sock::Unix(s) => poll.registry().register(s, t, i),
        }
    }
    pub(super) fn deregister(&mut self, poll: &Poll) {
        let _ = match self {
            Sock::Tcp(s) => poll.registry().deregister(s),
            #[cfg(unix)]
            Sock::Unix(s) => poll.registry().deregister(s),
        };
    }
    pub(super) fn prepare(&self, config: &ServerConfig) {
        if let Sock::Tcp(s) = self {
            let _ = s.set_nodelay(config.stream.nodelay);
            if config.stream.linger.is_some() {
                let _ = socket2::SockRef::from(s).set_linger(config.stream.linger);
            }
        }
    }
}
