//! The lecture's `sockets` scenario: `cargo run --release --example sockets`.
//!
//! UDP and TCP `Hello World` on loopback, a Unix stream echo, a busy port reported clearly, and
//! message boundaries lost on a raw stream and restored by framing; the program is
//! `lockstep_hosted::lecture::sockets`, and `lockstep sockets` runs it too.

fn main() {
    println!("{}", lockstep::lockstep_hosted::lecture::sockets());
}
