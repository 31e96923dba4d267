//! An RPC server and a client with a timeout: `cargo run --example rpc`.

use std::time::Duration;

use lockstep::lockstep_hosted::comm::Endpoint;
use lockstep::lockstep_hosted::server::{ServerConfig, rpc_server};
use lockstep::lockstep_hosted::transport::unix;

mod common;

fn main() -> std::process::ExitCode {
    common::exit(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("lockstep-rpc-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("rpc.sock");
    let server = rpc_server(unix::listen(&path)?, ServerConfig::default(), |req| {
        if req == b"slow" {
            std::thread::sleep(Duration::from_millis(300));
        }
        req.iter().rev().copied().collect()
    });
    let mut client = Endpoint::new(unix::connect(&path)?);
    let reply = client.call(b"stressed", Duration::from_secs(5))?;
    println!(
        "call(\"stressed\") -> {:?}",
        String::from_utf8_lossy(&reply)
    );
    match client.call(b"slow", Duration::from_millis(50)) {
        Err(e) => println!("call(\"slow\") with a 50 ms timeout -> {e}"),
        Ok(r) => println!("call(\"slow\") -> {r:?}"),
    }
    drop(server);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
