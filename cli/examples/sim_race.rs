//! The lecture's race under the deterministic simulator:
//! `cargo run --release --example sim_race [THREADS] [ROUNDS]`.
//!
//! Finds the lost update with PCT, prints the shrunk interleaving, replays it from its schedule
//! string, then proves the locked version clean with an exhaustive search.

use lockstep_cli::sim_race::{Sync, race};
use lockstep_sim::{Config, try_check};

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let threads = args.next().and_then(Result::ok).unwrap_or(2).clamp(1, 16);
    let rounds = args.next().and_then(Result::ok).unwrap_or(1).min(100);

    match try_check(
        Config::pct(1, 3, 100_000),
        race(threads, rounds, Sync::None),
    ) {
        Err(failure) => {
            println!("{failure}");
            let again = try_check(
                Config::replay(failure.schedule.clone()),
                race(threads, rounds, Sync::None),
            );
            let same = again
                .as_ref()
                .err()
                .is_some_and(|f| f.table() == failure.table());
            println!("replayed {}: identical table: {same}", failure.schedule);
        }
        Ok(stats) => println!("no lost update in {} schedules", stats.schedules),
    }

    let bound = if threads > 2 { Some(2) } else { None };
    match try_check(Config::dfs(bound), race(threads, rounds, Sync::Lock)) {
        Ok(stats) => println!(
            "with a lock: no failure in {} schedules; complete: {}, every schedule within the bound: {}",
            stats.schedules, stats.complete, stats.exhausted
        ),
        Err(failure) => println!("with a lock: {failure}"),
    }
}
