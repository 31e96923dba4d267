//! Argument parsing and dispatch. Each area owns its subcommands in its own module; this file
//! only glues them together.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod lecture;
mod net;
mod sim;
mod threads;

/// Synchronization and IPC, from the lecture to real, fast, verified software.
#[derive(Debug, Parser)]
#[command(name = "lockstep", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every lecture scenario in order and print a summary table.
    Lecture,
    #[command(flatten)]
    Threads(threads::ThreadCommand),
    #[command(flatten)]
    Net(net::NetCommand),
    /// The deterministic simulator: find, replay, shrink and explain interleavings.
    #[command(subcommand)]
    Sim(sim::SimCommand),
}

pub(crate) fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Lecture => lecture::run(),
        Command::Threads(t) => t.run(),
        Command::Net(n) => n.run(),
        Command::Sim(s) => s.run(),
    }
}
