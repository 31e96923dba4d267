//! Message boundaries: `cargo run --example boundaries`.
//!
//! A stream keeps no boundaries: `send(170)` and `send(230)` arrive as one `receive(400)`.
//! Length-prefixed frames restore them. `lockstep boundaries` prints the same.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use lockstep::lockstep_hosted::transport::{Framed, Transport, tcp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tcp::listen("127.0.0.1:0".parse()?)?;
    let mut writer = std::net::TcpStream::connect(listener.local_addr()?)?;
    let (mut reader, _) = listener.accept()?;
    writer.write_all(&[b'a'; 170])?;
    writer.write_all(&[b'b'; 230])?;
    let mut buf = [0; 1024];
    let deadline = Instant::now() + Duration::from_secs(5);
    while reader.peek(&mut buf)? < 400 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    println!(
        "raw stream: send(170) + send(230) -> receive = {} bytes",
        reader.read(&mut buf)?
    );
    let (mut w, mut r) = (Framed::new(writer, 1024), Framed::new(reader, 1024));
    w.send(&[b'a'; 170])?;
    w.send(&[b'b'; 230])?;
    let first = r.recv(Some(Duration::from_secs(5)))?.len();
    let second = r.recv(Some(Duration::from_secs(5)))?.len();
    println!("framed: send(170) + send(230) -> {first} bytes, then {second} bytes");
    Ok(())
}
