//! The lecture's `comm-types` scenario: `cargo run --release --example comm_types`.
//!
//! The four elementary communication types over UDP, then a missing receipt detected by its
//! timeout; the program is `lockstep_hosted::lecture::comm_types`, and `lockstep comm-types`
//! runs it too.

fn main() {
    println!("{}", lockstep::lockstep_hosted::lecture::comm_types());
}
