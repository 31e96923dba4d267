//! The blocking channel tables of `--bin blocking`, with lockstep's channels as the `lockstep`
//! facade builds them (lockstep-core and lockstep-hosted with plain atomics, as an application
//! that depends on the facade gets them).
//!
//! Run: `cd bench && cargo run --release -p lockstep-bench-facade -- [channels|ping] [--rounds N]
//! [--only TEXT]`, as for `--bin blocking`.

fn main() {
    // The tables use `lockstep_hosted`'s paths; in this package they are the facade's types.
    let _same: fn(lockstep::Queue<u64, 4>) -> lockstep_hosted::Queue<u64, 4> = |q| q;
    let args = lockstep_bench::Args::from_env(
        "lockstep-bench-facade [channels|ping] [--rounds N] [--only TEXT]",
        &["channels", "ping"],
        &[],
    );
    let rounds = args.rounds;
    lockstep_bench::print_machine("start");
    if args.runs("channels") {
        println!(
            "\n### Through the `lockstep` facade: blocking channels, blocking `send`/`recv`, threads unpinned ({rounds} interleaved rounds; M/s: median of the rounds; ratio: lockstep's speed over the peer's, median of the per-round ratios (worst-best))\n"
        );
        lockstep_bench::channels::channel_table(&args);
    }
    if args.runs("ping") {
        println!(
            "\n### Through the `lockstep` facade: blocking ping-pong through two channels of capacity 1 (M round trips/s; {rounds} interleaved rounds)\n"
        );
        lockstep_bench::channels::ping_pong_table(&args);
    }
    println!();
    lockstep_bench::print_machine("end");
}
