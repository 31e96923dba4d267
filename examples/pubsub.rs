//! Publish-subscribe over TCP: `cargo run --example pubsub`.
//!
//! A broker with topics: a subscriber to `news` receives what is published to `news` and not
//! what goes to `weather`. `lockstep broker`, `lockstep subscribe` and `lockstep publish` are
//! the same as separate programs (add `--broadcast` to the broker for broadcast mode).

use std::time::Duration;

use lockstep::lockstep_hosted::server::{Broker, BrokerConfig, Publisher, Subscriber};
use lockstep::lockstep_hosted::transport::tcp;

mod common;

fn main() -> std::process::ExitCode {
    common::exit(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let broker = Broker::start(
        tcp::listen("127.0.0.1:0".parse()?)?,
        BrokerConfig::default(),
    );
    let addr = broker.local_addr().expect("an ip server");
    let t = Duration::from_secs(5);
    let mut news = Subscriber::new(tcp::connect(addr)?, &["news"], t)?;
    let mut publisher = Publisher::new(tcp::connect(addr)?);
    for (topic, text) in [("news", "first"), ("weather", "rain"), ("news", "second")] {
        let n = publisher.publish_confirmed(topic, text.as_bytes(), t)?;
        println!("published {text:?} to {topic}: {n} subscriber(s)");
    }
    for _ in 0..2 {
        let d = news.next(Some(t))?;
        println!(
            "news subscriber got {:?} on {}",
            String::from_utf8_lossy(&d.body),
            d.topic
        );
    }
    Ok(())
}
