//! The lecture's `rlock` scenario: `cargo run --release --example rlock [DEPTH]`.
//!
//! One thread takes a reentrant lock recursively while another waits; the program is
//! `lockstep_hosted::lecture::rlock`, and `lockstep rlock` runs it too.

fn main() {
    let depth = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    println!("{}", lockstep::lockstep_hosted::lecture::rlock(depth));
}
