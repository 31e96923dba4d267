//! The lecture's `sockets` scenario: `cargo run --example sockets`.
//!
//! UDP and TCP `Hello World` on loopback, lost message boundaries on a raw stream and the
//! framed fix, a non-blocking receive, a busy port and a missing receipt; the program is
//! `lockstep_hosted::server::sockets`. The separate programs are `lockstep udp-server`,
//! `lockstep tcp-server` and their clients.

fn main() {
    println!("{}", lockstep::lockstep_hosted::server::sockets());
}
