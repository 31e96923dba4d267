//! The lecture's `try-lock` scenario: `cargo run --release --example try_lock`.
//!
//! Non-blocking acquire on a held lock returns at once; the program is
//! `lockstep_hosted::lecture::try_lock`, and `lockstep try-lock` runs it too.

fn main() {
    println!("{}", lockstep::lockstep_hosted::lecture::try_lock());
}
