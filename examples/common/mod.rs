//! What the socket examples share: their exit.

use std::process::ExitCode;

/// Exits with `run`'s outcome, printing an error as its sentence (a busy port names the
/// process to look for), not its `Debug` form, which is what returning the error from `main`
/// would print.
pub(crate) fn exit(run: Result<(), Box<dyn std::error::Error>>) -> ExitCode {
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
