//! The lecture's `models` scenario: `cargo run --release --example models`.
//!
//! Point-to-point, broadcast and publish-subscribe on the core's channels; the program is
//! `lockstep_hosted::lecture::models`, and `lockstep models` runs it too.

fn main() {
    println!("{}", lockstep::lockstep_hosted::lecture::models());
}
