//! The lecture's scenarios as subcommands: `race`, `lock`, `semaphore`, `try-lock`, `rlock`,
//! `resources`, `condition`, `event`, `models`, `comm-types` (`sockets` is in `net.rs`). The scenarios themselves live in
//! `lockstep_hosted::lecture`; this file parses options and prints.

use std::process::ExitCode;

use clap::builder::TypedValueParser as _;
use clap::{Args, Subcommand};
use lockstep_hosted::lecture::{self, ITERATIONS, Report, THREADS};

/// Thread count and iterations of the counter scenarios (the lecture's defaults).
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct CounterArgs {
    /// Number of threads.
    #[arg(long, short = 't', default_value_t = THREADS, value_parser = clap::value_parser!(u32).range(1..=10_000).map(|v| v as usize))]
    threads: usize,
    /// Iterations of `count += 100; count -= 100` per thread.
    #[arg(long, short = 'n', default_value_t = ITERATIONS, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000).map(|v| v as usize))]
    iters: usize,
}

/// The thread scenarios.
#[derive(Debug, Subcommand)]
pub(crate) enum ThreadCommand {
    /// 100 threads x 99,999 iterations of `count += 100; count -= 100` without a lock: the
    /// result is not 0.
    Race(CounterArgs),
    /// The same under a Lock: the result is 0.
    Lock {
        #[command(flatten)]
        counter: CounterArgs,
        /// Hold the lock around each thread's whole loop instead of taking it every iteration.
        #[arg(long)]
        whole_loop: bool,
    },
    /// The same under a BoundedSemaphore(1): the result is 0.
    Semaphore(CounterArgs),
    /// Non-blocking acquire returns at once while another thread holds the lock.
    TryLock,
    /// A reentrant lock (RLock) taken recursively by one thread while another waits.
    Rlock {
        /// Recursive acquisitions on top of the first.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1_000))]
        depth: u32,
    },
    /// A semaphore with N > 1 permits guarding N identical resources.
    Resources {
        /// Number of resources (and permits).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1_000).map(|v| v as usize))]
        resources: usize,
        /// Number of threads competing for them.
        #[arg(long, short = 't', default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000).map(|v| v as usize))]
        threads: usize,
        /// Uses per thread.
        #[arg(long, default_value_t = 1_000)]
        rounds: usize,
    },
    /// Producer/consumer on a Condition, with notify and notify_all.
    Condition {
        /// Number of producer threads.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1_000).map(|v| v as usize))]
        producers: usize,
        /// Number of consumer threads.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1_000).map(|v| v as usize))]
        consumers: usize,
        /// Items each producer makes.
        #[arg(long, default_value_t = 10_000)]
        items: usize,
    },
    /// The four communication types over UDP, and a missing receipt detected by timeout.
    CommTypes,
    /// IPC models on the core's channels: point-to-point, broadcast, publish-subscribe.
    Models,
    /// An Event: set, clear, is_set, wait with a timeout.
    Event {
        /// Number of waiting threads.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=10_000).map(|v| v as usize))]
        waiters: usize,
    },
}

impl ThreadCommand {
    /// Runs the scenario and returns its report.
    pub(crate) fn report(&self) -> Report {
        match *self {
            ThreadCommand::Race(a) => lecture::race(a.threads, a.iters),
            ThreadCommand::Lock {
                counter: a,
                whole_loop,
            } => lecture::lock(a.threads, a.iters, !whole_loop),
            ThreadCommand::Semaphore(a) => lecture::semaphore(a.threads, a.iters),
            ThreadCommand::TryLock => lecture::try_lock(),
            ThreadCommand::Rlock { depth } => lecture::rlock(depth),
            ThreadCommand::Resources {
                resources,
                threads,
                rounds,
            } => lecture::resources(resources, threads, rounds),
            ThreadCommand::Condition {
                producers,
                consumers,
                items,
            } => lecture::condition(producers, consumers, items),
            ThreadCommand::Event { waiters } => lecture::event(waiters),
            ThreadCommand::CommTypes => lecture::comm_types(),
            ThreadCommand::Models => lecture::models(),
        }
    }

    /// Runs the scenario, prints its lines, and fails if the result is not the expected one.
    pub(crate) fn run(&self) -> ExitCode {
        let r = self.report();
        println!("{r}");
        if r.pass {
            ExitCode::SUCCESS
        } else if let ThreadCommand::Race(a) = self {
            // Nothing lost: the threads hardly overlapped. That is no failure of the program,
            // but the race was too small to show.
            println!(
                "no update was lost: {} x {} finish before they overlap; \
                 raise --iters (the lecture uses {ITERATIONS}) to see the race",
                super::net::plural(a.threads as u64, "thread"),
                super::net::plural(a.iters as u64, "iteration"),
            );
            ExitCode::SUCCESS
        } else {
            eprintln!("unexpected result: expected {}", r.expected);
            ExitCode::FAILURE
        }
    }
}
