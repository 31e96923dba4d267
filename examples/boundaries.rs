//! Message boundaries: `cargo run --example boundaries`.
//!
//! A stream keeps no boundaries: `send(170)` and `send(230)` arrive as one `receive(400)`.
//! Length-prefixed frames restore them. The program is `lockstep_hosted::lecture::boundaries`;
//! `lockstep boundaries` prints the same.

fn main() -> std::process::ExitCode {
    // The error's sentence (a busy port names the process to look for), not its `Debug` form,
    // which is what returning the error from `main` would print.
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let (raw, framed) = lockstep::lockstep_hosted::lecture::boundaries()?;
    println!("raw stream: send(170) + send(230) -> receive sizes {raw:?}");
    println!("framed:     send(170) + send(230) -> message sizes {framed:?}");
    Ok(())
}
