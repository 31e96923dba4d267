//! The lecture's `event` scenario: `cargo run --release --example event [WAITERS]`.
//!
//! `set`, `clear`, `is_set` and `wait` with a timeout; the program is
//! `lockstep_hosted::lecture::event`, and `lockstep event` runs it too.

fn main() {
    let waiters = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4)
        .max(1);
    println!("{}", lockstep::lockstep_hosted::lecture::event(waiters));
}
