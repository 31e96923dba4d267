//! The lecture's `semaphore` scenario: `cargo run --release --example semaphore [THREADS] [ITERATIONS]`.
//!
//! The program itself is `lockstep_hosted::lecture::semaphore`; `lockstep semaphore` runs it too.

use lockstep::lockstep_hosted::lecture::{self, ITERATIONS, THREADS};

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let threads = args.next().and_then(Result::ok).unwrap_or(THREADS).max(1);
    let iters = args.next().and_then(Result::ok).unwrap_or(ITERATIONS);
    println!("{}", lecture::semaphore(threads, iters));
}
