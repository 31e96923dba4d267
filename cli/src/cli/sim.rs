//! `lockstep sim race`: the lecture's race under the deterministic simulator. The program is
//! `lockstep_cli::sim_race`; the simulator is `lockstep_sim`; this file parses options and prints.

use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use lockstep_cli::sim_race::{self, Sync};
use lockstep_sim::{Config, MemoryModel, Schedule, Stats, try_check};

/// How a schedule records a store buffer flush of thread `t`: `FLUSH + t`.
const FLUSH: usize = 1000;
/// How a schedule records the `k`th way of a choice within a step: `CHOICE + k`.
const CHOICE: usize = 2000;

/// The simulator's subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum SimCommand {
    /// Threads racing on `count += 100; count -= 100`: find the lost update, shrink it, print
    /// the interleaving step by step and how to replay it; or prove the locked version clean.
    Race(RaceArgs),
    /// Message passing under a weak memory model: data, then a flag; a reader that sees the
    /// flag must see the data. Relaxed fails under RC11 (found, explained, replayable);
    /// Release/Acquire passes every execution.
    Mp(MpArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FlagArg {
    Relaxed,
    ReleaseAcquire,
    SeqCst,
}

/// Options of `lockstep sim mp`.
#[derive(Debug, Args)]
pub(crate) struct MpArgs {
    /// The orderings of the flag's store and load (the data's are Relaxed).
    #[arg(long, value_enum, default_value_t = FlagArg::Relaxed)]
    flag: FlagArg,
    /// The memory model of the atomics.
    #[arg(long, value_enum, default_value_t = ModelArg::Rc11)]
    memory_model: ModelArg,
    /// The scheduler: `dfs` explores every execution of the model once.
    #[arg(long, value_enum, default_value_t = SchedulerArg::Dfs)]
    scheduler: SchedulerArg,
    /// Seed of the random and PCT schedulers.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Executions to run (random and PCT; default 10,000).
    #[arg(long)]
    schedules: Option<usize>,
    /// Replay this schedule string (as printed after a failure) instead of searching.
    #[arg(long)]
    replay: Option<String>,
    /// Also draw the failing interleaving as an SVG swimlane picture into this file.
    #[arg(long)]
    svg: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SyncArg {
    None,
    Lock,
    FutexLock,
    Semaphore,
    Atomic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModelArg {
    /// Sequential consistency: every operation at once, in one order.
    Sc,
    /// x86-TSO: per-thread store buffers.
    X86Tso,
    /// RC11, the memory model of Rust's atomics: a load may read an older store.
    Rc11,
}

impl ModelArg {
    fn model(self) -> MemoryModel {
        match self {
            ModelArg::Sc => MemoryModel::SequentiallyConsistent,
            ModelArg::X86Tso => MemoryModel::X86Tso,
            ModelArg::Rc11 => MemoryModel::Rc11,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SchedulerArg {
    Random,
    Pct,
    Dfs,
}

/// Options of `lockstep sim race`.
#[derive(Debug, Args)]
pub(crate) struct RaceArgs {
    /// Number of threads.
    #[arg(long, short = 't', default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    threads: u32,
    /// Rounds of `count += 100; count -= 100` per thread.
    #[arg(long, short = 'n', default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=1_000))]
    iters: u32,
    /// How the counter is protected.
    #[arg(long, value_enum, default_value_t = SyncArg::None)]
    sync: SyncArg,
    /// The scheduler exploring the interleavings.
    #[arg(long, value_enum, default_value_t = SchedulerArg::Random)]
    scheduler: SchedulerArg,
    /// Seed of the random and PCT schedulers.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Executions to run (random and PCT, default 100,000; a cap for DFS, default 10,000,000).
    #[arg(long)]
    schedules: Option<usize>,
    /// PCT's bug depth.
    #[arg(long, default_value_t = 3)]
    depth: usize,
    /// DFS preemption bound (default: none, every schedule).
    #[arg(long)]
    bound: Option<usize>,
    /// Replay this schedule string (as printed after a failure) instead of searching.
    #[arg(long)]
    replay: Option<String>,
    /// Also draw the failing interleaving as an SVG swimlane picture into this file.
    #[arg(long)]
    svg: Option<std::path::PathBuf>,
    /// Give every thread an x86-TSO store buffer: stores become visible to the other threads
    /// later, as the scheduler flushes them (the same as `--memory-model x86-tso`).
    #[arg(long, conflicts_with = "memory_model")]
    weak_memory: bool,
    /// The memory model of the atomics: `sc` (default), `x86-tso`, or `rc11` (a load may read
    /// an older store; with `--scheduler dfs` every RC11 execution is explored once).
    #[arg(long, value_enum)]
    memory_model: Option<ModelArg>,
}

impl RaceArgs {
    /// The memory model asked for (`--weak-memory` is x86-TSO).
    fn model(&self) -> MemoryModel {
        match (self.memory_model, self.weak_memory) {
            (Some(m), _) => m.model(),
            (None, true) => MemoryModel::X86Tso,
            (None, false) => MemoryModel::SequentiallyConsistent,
        }
    }
}

impl SimCommand {
    pub(crate) fn run(self) -> ExitCode {
        match self {
            SimCommand::Race(args) => race(&args),
            SimCommand::Mp(args) => mp(&args),
        }
    }
}

fn mp(args: &MpArgs) -> ExitCode {
    use lockstep_cli::sim_mp::{Flag, message_passing};
    let flag = match args.flag {
        FlagArg::Relaxed => Flag::Relaxed,
        FlagArg::ReleaseAcquire => Flag::ReleaseAcquire,
        FlagArg::SeqCst => Flag::SeqCst,
    };
    let model = args.memory_model.model();
    let runs = args.schedules.unwrap_or(10_000).max(1);
    let config = match (&args.replay, args.scheduler) {
        (Some(s), _) => match s.parse::<Schedule>() {
            Ok(schedule) => Config::replay(schedule),
            Err(e) => {
                eprintln!("error: --replay: {e}");
                return ExitCode::from(2);
            }
        },
        (None, SchedulerArg::Dfs) => Config::dfs(None).memory_model(model),
        (None, SchedulerArg::Random) => Config::random(args.seed, runs).memory_model(model),
        (None, SchedulerArg::Pct) => Config::pct(args.seed, 2, runs).memory_model(model),
    };
    let title = format!(
        "lockstep sim mp: data := 42 (Relaxed), then ready := true; the reader asserts data == 42 once it sees ready; flag {flag}, memory model {model}"
    );
    println!("{title}");
    let start = Instant::now();
    match try_check(config, message_passing(flag)) {
        Ok(stats) => {
            if args.replay.is_some() {
                println!(
                    "the replayed schedule ran to the end without a failure: it is not a failing schedule of this program with these options"
                );
                return ExitCode::FAILURE;
            }
            println!(
                "no failure in {} executions ({:.3} s){}",
                stats.schedules,
                start.elapsed().as_secs_f64(),
                if stats.complete {
                    ": every execution of the memory model was explored once"
                } else {
                    ""
                }
            );
            ExitCode::SUCCESS
        }
        Err(failure) => {
            let mut explained = failure.explain().title(title).replay_command(format!(
                "lockstep sim mp --flag {flag} --memory-model {model} --replay {{schedule}}"
            ));
            for (i, kind) in failure.objects.iter().enumerate() {
                match *kind {
                    "AtomicU32" => explained = explained.name(i, "data"),
                    "AtomicBool" => explained = explained.name(i, "ready"),
                    _ => {}
                }
            }
            println!("{explained}");
            if flag == Flag::Relaxed {
                println!(
                    "fix: store ready with Release and load it with Acquire (--flag release-acquire): the reader that sees ready then sees everything the writer did before it"
                );
            }
            if let Some(path) = &args.svg {
                if let Err(e) = std::fs::write(path, explained.svg()) {
                    eprintln!("error: writing {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
                println!("swimlane picture written to {}", path.display());
            }
            ExitCode::SUCCESS
        }
    }
}

fn race(args: &RaceArgs) -> ExitCode {
    let sync = match args.sync {
        SyncArg::None => Sync::None,
        SyncArg::Lock => Sync::Lock,
        SyncArg::FutexLock => Sync::FutexLock,
        SyncArg::Semaphore => Sync::Semaphore,
        SyncArg::Atomic => Sync::Atomic,
    };
    let (threads, iters) = (args.threads as usize, args.iters as usize);
    let schedules = args.schedules.unwrap_or(match args.scheduler {
        SchedulerArg::Dfs => usize::MAX,
        _ => 100_000,
    });
    let model = args.model();
    if model == MemoryModel::Rc11
        && args.replay.is_none()
        && matches!(args.scheduler, SchedulerArg::Dfs)
        && args.bound.is_some()
    {
        eprintln!(
            "error: --memory-model rc11 with --scheduler dfs explores every execution: drop --bound"
        );
        return ExitCode::from(2);
    }
    let (config, what) = match (&args.replay, args.scheduler) {
        (Some(s), _) => match s.parse::<Schedule>() {
            Ok(schedule) => {
                // Threads are 0 (main) to `threads`; a flush of thread t is recorded as
                // FLUSH + t, a choice within a step as CHOICE + k (weak memory).
                let unknown = schedule
                    .steps()
                    .into_iter()
                    .filter(|&t| t < CHOICE)
                    .map(|t| if t >= FLUSH { t - FLUSH } else { t })
                    .find(|&t| t > threads);
                if let Some(t) = unknown {
                    eprintln!(
                        "error: --replay: the schedule runs thread {t}, but with --threads {threads} there are threads 0 (main) to {threads}; replay with the --threads, --iters and --sync the failure was found with"
                    );
                    return ExitCode::from(2);
                }
                (Config::replay(schedule), format!("replaying schedule {s}"))
            }
            Err(e) => {
                eprintln!("error: --replay: {e}");
                return ExitCode::from(2);
            }
        },
        (None, SchedulerArg::Random) => (
            Config::random(args.seed, schedules),
            format!(
                "random scheduler, seed {}, up to {} schedules",
                args.seed, schedules
            ),
        ),
        (None, SchedulerArg::Pct) => (
            Config::pct(args.seed, args.depth, schedules),
            format!(
                "PCT depth {}, seed {}, up to {} schedules",
                args.depth, args.seed, schedules
            ),
        ),
        (None, SchedulerArg::Dfs) => (
            Config::dfs(args.bound).iterations(schedules.max(1)),
            match (args.bound, model) {
                (Some(b), _) => format!("exhaustive DFS, at most {b} preemptions"),
                (None, MemoryModel::Rc11) => {
                    "exhaustive search (every RC11 execution graph once)".to_owned()
                }
                (None, _) => "exhaustive search (optimal DPOR: every trace once)".to_owned(),
            },
        ),
    };
    // A replayed schedule carries its own memory model.
    let config = if args.replay.is_some() {
        config
    } else {
        config.memory_model(model)
    };
    let title = format!(
        "lockstep sim race: {threads} threads x {iters} rounds of `count += 100; count -= 100`, sync {sync}"
    );
    println!("{title}; the main thread (thread 0) then checks that count is 0");
    match config.memory_model {
        MemoryModel::X86Tso => println!("{what}, with store buffers (x86-TSO)"),
        MemoryModel::Rc11 => println!("{what}, under RC11 (a load may read an older store)"),
        _ => println!("{what}"),
    }
    let bar = if args.replay.is_none() {
        let bar = match args.scheduler {
            SchedulerArg::Dfs => ProgressBar::no_length(),
            _ => ProgressBar::new(schedules as u64),
        };
        // The exhaustive search estimates its total as it goes (`{len}` once known).
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed} {pos}/{len} executions {per_sec} {wide_bar} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let config = match &bar {
        Some(b) => {
            let b = b.clone();
            config.progress(2_000, move |s: &Stats| {
                if let Some(total) = s.estimate {
                    b.set_length(total as u64);
                }
                b.set_position((s.schedules + s.abandoned) as u64)
            })
        }
        None => config,
    };
    let start = Instant::now();
    let result = try_check(config, sim_race::race(threads, iters, sync));
    let elapsed = start.elapsed();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    match result {
        Ok(stats) => {
            let verdict = if stats.complete && args.bound.is_none() {
                "the search was complete: every execution was explored once (up to commuting steps)"
            } else if stats.complete {
                "the search was complete: every schedule was explored (up to commuting steps)"
            } else if stats.exhausted {
                "every schedule within the preemption bound was explored; not complete"
            } else {
                "not complete: the schedule budget ran out"
            };
            if args.replay.is_some() {
                println!(
                    "the replayed schedule ran to the end without a failure ({} steps): it is not a failing schedule of this program with these options",
                    stats.steps
                );
                return ExitCode::FAILURE;
            }
            let abandoned = if stats.abandoned > 0 {
                format!(
                    ", plus {} abandoned (blocked at a spin, or repeats of explored ones)",
                    stats.abandoned
                )
            } else if stats.blocked > 0 {
                format!(
                    ", plus {} blocked (a lock or spin that found no progress; the runs where it did are explored)",
                    stats.blocked
                )
            } else {
                String::new()
            };
            println!(
                "no failure in {} executions{abandoned} ({} steps, {:.3} s, {:.0} executions/s): {verdict}",
                stats.schedules,
                stats.steps,
                elapsed.as_secs_f64(),
                (stats.schedules + stats.abandoned) as f64 / elapsed.as_secs_f64().max(1e-9)
            );
            ExitCode::SUCCESS
        }
        Err(failure) => {
            if let Some(want) = &args.replay
                && let Ok(want) = want.parse::<Schedule>()
                && !failure.schedule.steps().starts_with(&want.steps())
            {
                eprintln!(
                    "warning: the replay left the given schedule (a recorded thread could not run): it was recorded with other options; the failure below is from the schedule actually run"
                );
            }
            let mut weak = String::new();
            if failure.schedule.is_weak_memory() {
                weak.push_str(" --memory-model x86-tso");
            }
            let mut explained = failure
                .explain()
                .title(title.clone())
                .replay_command(format!(
                    "lockstep sim race -t {threads} -n {iters} --sync {sync}{weak} --replay {{schedule}}"
                ));
            // Name the shared objects by what they are in the program.
            for (i, kind) in failure.objects.iter().enumerate() {
                match *kind {
                    "AtomicI64" | "SharedCell" => explained = explained.name(i, "count"),
                    _ => {}
                }
            }
            println!("{explained}");
            if let Some(path) = &args.svg {
                if let Err(e) = std::fs::write(path, explained.svg()) {
                    eprintln!("error: writing {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
                println!("swimlane picture written to {}", path.display());
            }
            ExitCode::SUCCESS
        }
    }
}
