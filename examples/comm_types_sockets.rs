//! The four communication types over UDP: `cargo run --example comm_types_sockets`.
//!
//! Asynchronous message, synchronous message (with its receipt), asynchronous request (a
//! ticket collected later) and synchronous request, then a missing receipt detected by
//! timeout while the receiver does not listen.

use std::thread;
use std::time::{Duration, Instant};

use lockstep::lockstep_hosted::comm::{Endpoint, Incoming};
use lockstep::lockstep_hosted::transport::udp;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (a, b) = udp::pair()?;
    let (mut client, mut server) = (Endpoint::new(a), Endpoint::new(b));
    let t = Duration::from_secs(5);
    let receiver = thread::spawn(move || {
        for _ in 0..4 {
            match server.recv(Some(t)) {
                Ok(Incoming::Message(m)) => {
                    println!("  receiver: message {:?}", String::from_utf8_lossy(&m))
                }
                Ok(Incoming::Request(r)) => {
                    println!("  receiver: request {:?}", String::from_utf8_lossy(&r.body));
                    let reply = r.body.to_ascii_uppercase();
                    server.reply(&r, &reply).expect("reply");
                }
                Err(e) => println!("  receiver: {e}"),
            }
        }
        server // still bound, no longer receiving
    });
    client.send(b"asynchronous message")?;
    println!("asynchronous message: sent, the sender went on at once");
    let start = Instant::now();
    client.send_sync(b"synchronous message", t)?;
    println!("synchronous message: receipt after {:?}", start.elapsed());
    let ticket = client.request(b"asynchronous request")?;
    println!("asynchronous request: ticket taken, doing other work ...");
    let reply = client.call(b"synchronous request", t)?;
    println!(
        "synchronous request: reply {:?}",
        String::from_utf8_lossy(&reply)
    );
    let reply = client.collect(&ticket, t)?;
    println!(
        "asynchronous request: collected {:?}",
        String::from_utf8_lossy(&reply)
    );
    let _deaf = receiver.join().expect("receiver thread");
    match client.send_sync(b"is anyone there?", Duration::from_millis(200)) {
        Err(e) => println!("synchronous message to a receiver that does not listen: {e}"),
        Ok(()) => println!("unexpected receipt"),
    }
    Ok(())
}
