//! Message boundaries: `cargo run --example boundaries`.
//!
//! A stream keeps no boundaries: `send(170)` and `send(230)` arrive as one `receive(400)`.
//! Length-prefixed frames restore them. The program is `lockstep_hosted::lecture::boundaries`;
//! `lockstep boundaries` prints the same.

mod common;

fn main() -> std::process::ExitCode {
    common::exit(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let (raw, framed) = lockstep::lockstep_hosted::lecture::boundaries()?;
    println!("raw stream: send(170) + send(230) -> receive sizes {raw:?}");
    println!("framed:     send(170) + send(230) -> message sizes {framed:?}");
    Ok(())
}
