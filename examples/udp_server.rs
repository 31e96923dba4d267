//! The lecture's UDP programs: `cargo run --example udp_server [ADDR]`.
//!
//! A server bound to ADDR (default 127.0.0.1:5242, as the C program) prints
//! `Received: Hello World` when a client sends the 11 bytes `Hello World` (no terminator).
//! Here the client runs in the same process; `lockstep udp-server` and `lockstep udp-client`
//! are the two halves as separate programs, and `nc -u 127.0.0.1 5242` talks to the server too.

use std::sync::mpsc;
use std::time::Duration;

use lockstep::lockstep_hosted::server::udp_server;
use lockstep::lockstep_hosted::transport::framing::escape;
use lockstep::lockstep_hosted::transport::{Transport, resolve, udp};

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
    let (tx, rx) = mpsc::channel();
    let server = udp_server(udp::bind(addr)?, move |bytes, from| {
        println!(
            "Received: {} ({} bytes from {from})",
            escape(bytes), // a sender's control characters never reach the terminal
            bytes.len()
        );
        let _ = tx.send(());
        None
    })?;
    let mut client = udp::connect(server.local_addr().expect("an ip server"))?;
    client.send(b"Hello World")?;
    rx.recv_timeout(Duration::from_secs(5))?;
    server.shutdown();
    Ok(())
}
