//! The lecture's TCP programs: `cargo run --example tcp_echo [ADDR]`.
//!
//! An echo server on ADDR (default 127.0.0.1:5242) prints `Received: Hello World` and sends
//! the 11 bytes back; the client prints the echo. The server speaks raw bytes, so
//! `nc 127.0.0.1 5242` works with `lockstep tcp-server` too.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use lockstep::lockstep_hosted::server::{ServerConfig, raw_echo_server};
use lockstep::lockstep_hosted::transport::framing::escape;
use lockstep::lockstep_hosted::transport::{resolve, tcp};

mod common;

fn main() -> std::process::ExitCode {
    common::exit(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let addr = resolve(
        &std::env::args()
            .nth(1)
            .unwrap_or_else(|| "127.0.0.1:5242".into()),
    )?;
    let server = raw_echo_server(tcp::listen(addr)?, ServerConfig::default(), |_, bytes| {
        // Escaped: a client's control characters never reach the terminal.
        println!("Received: {}", escape(bytes));
    });
    let mut client = TcpStream::connect(server.local_addr().expect("an ip server"))?;
    client.set_read_timeout(Some(Duration::from_secs(5)))?;
    client.write_all(b"Hello World")?;
    let mut echo = [0; 11];
    client.read_exact(&mut echo)?;
    println!("Echo: {}", escape(&echo));
    drop(client);
    let stats = server.shutdown();
    println!(
        "server: {} connection(s), {} message(s)",
        stats.accepted, stats.messages
    );
    Ok(())
}
