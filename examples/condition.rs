//! The lecture's `condition` scenario: `cargo run --release --example condition`.
//!
//! Producers and consumers on a condition variable with `notify_one` and `notify_all`; the
//! program is `lockstep_hosted::lecture::condition`, and `lockstep condition` runs it too.

fn main() {
    println!(
        "{}",
        lockstep::lockstep_hosted::lecture::condition(2, 3, 10_000)
    );
}
