//! The `lockstep` command-line tool: every lecture scenario as a subcommand.

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    restore_sigpipe();
    let args = cli::Cli::parse();
    cli::run(args)
}

/// Lets a closed stdout end the process quietly, as for other command-line tools
/// (`lockstep sim race | head`): Rust ignores SIGPIPE, which turns the write into an error that
/// `println!` panics on.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first in `main`, before any other thread exists; setting a signal's
    // disposition to the default has no other effect on the process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
