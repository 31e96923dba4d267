//! The lecture's `resources` scenario: `cargo run --release --example resources [N] [THREADS]`.
//!
//! A semaphore with N permits guards N identical resources; the program is
//! `lockstep_hosted::lecture::resources`, and `lockstep resources` runs it too.

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let n = args.next().and_then(Result::ok).unwrap_or(3).max(1);
    let threads = args.next().and_then(Result::ok).unwrap_or(10).max(1);
    println!(
        "{}",
        lockstep::lockstep_hosted::lecture::resources(n, threads, 1_000)
    );
}
