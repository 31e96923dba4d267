//! What the event loop does with input: splitting frames, echoing, handing requests to the
//! pool and writing their replies, the broker's publications and subscriptions.

use std::time::Instant;

use super::{Close, KEEP_CAPACITY, Loop, Service};
use crate::comm::{ACK, Envelope, FAILED, MSG, MSG_RECEIPT, REPLY, REQUEST, decode_envelope};
use crate::transport::framing::{GOODBYE, HEADER_LEN};

impl Loop {
    /// Handles bytes read from `token`.
    pub(super) fn input(&mut self, token: usize, mut data: &[u8]) -> Result<(), Close> {
        if !self.service.framed() {
            let c = self.conns.get_mut(&token).ok_or(Close::Quiet)?;
            if let Service::RawEcho(observe) = &self.service {
                // An observer that panics on some input closes that connection only.
                let seen = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    observe(&c.peer, data);
                }));
                if seen.is_err() {
                    return Err(Close::Log(format!(
                        "{}: the observer panicked on {} bytes",
                        c.peer,
                        data.len()
                    )));
                }
            }
            self.shared.count_message();
            c.out.extend_from_slice(data);
            return Ok(());
        }
        let max = self.config.stream.max_frame;
        while !data.is_empty() {
            if self.paused_token(token) || self.work >= super::WORK_BUDGET {
                // The last frame filled the connection's allowance (requests in flight,
                // output waiting): the rest waits, unsplit, until it drains, so that one read
                // of tiny requests cannot queue thousands of them. Or the connection's turn
                // is over: the rest waits for its next turn.
                let c = self.conns.get_mut(&token).ok_or(Close::Quiet)?;
                c.inb.held.extend_from_slice(data);
                return Ok(());
            }
            let c = self.conns.get_mut(&token).ok_or(Close::Quiet)?;
            let inb = &mut c.inb;
            let Some(len) = inb.want else {
                let take = data.len().min(HEADER_LEN - inb.header_got);
                inb.header[inb.header_got..inb.header_got + take].copy_from_slice(&data[..take]);
                inb.header_got += take;
                data = &data[take..];
                if c.frame_start.is_none() {
                    c.frame_start = Some(Instant::now());
                }
                if inb.header_got == HEADER_LEN {
                    // A client never says goodbye: that length is as absurd as any other.
                    let len = u32::from_be_bytes(inb.header);
                    if len as u64 > max as u64 {
                        return Err(Close::Reason(format!(
                            "a frame of {len} bytes exceeds the maximum of {max} bytes"
                        )));
                    }
                    let len = len as usize;
                    // Whole frame already here: no copy.
                    if data.len() >= len && inb.body.is_empty() {
                        let (frame, rest) = data.split_at(len);
                        data = rest;
                        self.frame(token, frame)?;
                        continue;
                    }
                    // No reservation of the announced length: the body grows with what
                    // arrives, so a client that announces a large frame and stops holds
                    // little memory until its frame deadline.
                    inb.want = Some(len);
                }
                continue;
            };
            let take = data.len().min(len - inb.body.len());
            inb.body.extend_from_slice(&data[..take]);
            data = &data[take..];
            if inb.body.len() == len {
                let mut body = std::mem::take(&mut inb.body);
                let r = self.frame(token, &body);
                body.clear();
                if body.capacity() <= KEEP_CAPACITY
                    && let Some(c) = self.conns.get_mut(&token)
                {
                    c.inb.body = body;
                }
                r?;
            }
        }
        Ok(())
    }

    /// Handles one whole frame from `token`.
    fn frame(&mut self, token: usize, frame: &[u8]) -> Result<(), Close> {
        self.work += 1;
        let c = self.conns.get_mut(&token).ok_or(Close::Quiet)?;
        c.inb.header_got = 0;
        c.inb.want = None;
        c.frame_start = None;
        match &self.service {
            Service::RawEcho(_) => unreachable!("raw connections carry no frames"),
            Service::FramedEcho => {
                self.shared.count_message();
                push_frame(&mut c.out, &[frame]);
                Ok(())
            }
            Service::Rpc(_) => {
                let env = envelope(frame, &c.peer)?;
                match env.kind {
                    MSG => self.shared.count_message(),
                    MSG_RECEIPT => {
                        self.shared.count_message();
                        push_envelope(&mut c.out, ACK, env.epoch, env.seq, &[]);
                    }
                    REQUEST => {
                        c.in_flight += 1;
                        c.in_flight_bytes += env.payload.len();
                        let job = super::Job {
                            token,
                            epoch: env.epoch,
                            seq: env.seq,
                            body: env.payload.to_vec(),
                            gone: c.gone.clone(),
                        };
                        self.submit(token, job);
                    }
                    ACK | REPLY | FAILED => {}
                    k => {
                        return Err(Close::Reason(format!("unknown message kind {k}")));
                    }
                }
                Ok(())
            }
            Service::Broker(_) => self.broker_frame(token, frame),
        }
    }

    fn broker_frame(&mut self, token: usize, frame: &[u8]) -> Result<(), Close> {
        let Service::Broker(topics) = &mut self.service else {
            return Ok(());
        };
        let c = self.conns.get_mut(&token).ok_or(Close::Quiet)?;
        let env = envelope(frame, &c.peer)?;
        match (env.kind, env.payload.first()) {
            (MSG | REQUEST, Some(&crate::server::broker::OP_PUBLISH)) => {
                let (topic, delivery) =
                    crate::server::broker::parse_publish(env.payload).map_err(Close::Reason)?;
                self.shared.count_message();
                let targets = topics.matching(topic);
                self.work += targets.len();
                let mut reached = 0u32;
                for &t in &targets {
                    let Some(s) = self.conns.get_mut(&t) else {
                        continue;
                    };
                    let Some(sub) = s.sub.as_mut() else {
                        continue;
                    };
                    if sub.offer(&delivery) {
                        reached += 1;
                        if !std::mem::replace(&mut s.dirty, true) {
                            self.dirty.push(t);
                        }
                    } else {
                        self.shared.count_lagged();
                    }
                }
                if env.kind == REQUEST
                    && let Some(c) = self.conns.get_mut(&token)
                {
                    push_envelope(
                        &mut c.out,
                        REPLY,
                        env.epoch,
                        env.seq,
                        &reached.to_be_bytes(),
                    );
                }
                // Deliveries were queued on other connections: they are written when this
                // connection's turn ends (once each, however many publications it brought).
                Ok(())
            }
            (REQUEST, Some(&crate::server::broker::OP_SUBSCRIBE)) => {
                let wanted = crate::server::broker::parse_subscribe(&env.payload[1..])
                    .map_err(Close::Reason)?;
                use crate::server::broker::{MAX_TOPIC_BYTES, MAX_TOPIC_LEN, MAX_TOPICS};
                if let Some(long) = wanted.iter().find(|t| t.len() > MAX_TOPIC_LEN) {
                    return Err(Close::Reason(format!(
                        "a topic of {} bytes is longer than {MAX_TOPIC_LEN} bytes, the most a \
                         publication can name",
                        long.len()
                    )));
                }
                let sub = c.sub.get_or_insert_with(Default::default);
                if sub.topics.len() + wanted.len() > MAX_TOPICS {
                    return Err(Close::Reason(format!(
                        "a subscriber may have at most {MAX_TOPICS} topics"
                    )));
                }
                let bytes = |ts: &[String]| ts.iter().map(String::len).sum::<usize>();
                if bytes(&sub.topics) + bytes(&wanted) > MAX_TOPIC_BYTES {
                    return Err(Close::Reason(format!(
                        "a subscriber may have at most {MAX_TOPIC_BYTES} bytes of topics"
                    )));
                }
                for t in wanted {
                    topics.add(&t, token);
                    sub.topics.push(t);
                }
                topics.add_subscriber(token);
                push_envelope(&mut c.out, REPLY, env.epoch, env.seq, b"OK");
                Ok(())
            }
            (ACK | REPLY, _) => Ok(()),
            _ => Err(Close::Reason("unknown broker request".into())),
        }
    }

    /// Writes replies of finished requests.
    pub(super) fn finish_jobs(&mut self) {
        let done = std::mem::take(&mut *self.done.lock().unwrap_or_else(|p| p.into_inner()));
        let max = self.config.stream.max_frame;
        for d in done {
            let Some(c) = self.conns.get_mut(&d.token) else {
                // The client left: its place under the limit is free once its last request
                // is done or skipped.
                if let Some(left) = self.zombies.get_mut(&d.token) {
                    *left -= 1;
                    if *left == 0 {
                        self.zombies.remove(&d.token);
                    }
                }
                continue;
            };
            c.in_flight -= 1;
            c.in_flight_bytes -= d.len;
            c.on_pool -= 1;
            if let Some(next) = c.waiting.pop_front() {
                self.submit(d.token, next);
            }
            let Some(c) = self.conns.get_mut(&d.token) else {
                continue;
            };
            self.shared.count_message();
            let Some(reply) = d.reply else {
                continue; // skipped: cannot happen while the connection is open
            };
            match reply {
                Ok(r) if r.len() + crate::comm::ENVELOPE_LEN <= max => {
                    push_envelope(&mut c.out, REPLY, d.epoch, d.seq, &r);
                }
                Ok(r) => {
                    let why = format!(
                        "its reply of {} bytes exceeds the maximum frame of {max} bytes",
                        r.len()
                    );
                    self.shared.log_error(format!("{}: {why}", c.peer));
                    push_envelope(&mut c.out, FAILED, d.epoch, d.seq, why.as_bytes());
                }
                Err(()) => {
                    let why = "the request handler panicked";
                    self.shared.log_error(format!("{}: {why}", c.peer));
                    push_envelope(&mut c.out, FAILED, d.epoch, d.seq, why.as_bytes());
                }
            }
            // Reading may resume now that a request finished.
            self.service_conn(d.token, false, true);
        }
    }
}

fn envelope<'a>(frame: &'a [u8], _peer: &str) -> Result<Envelope<'a>, Close> {
    decode_envelope(frame).ok_or_else(|| {
        Close::Reason(format!(
            "an envelope of {} bytes is shorter than its header",
            frame.len()
        ))
    })
}

/// Appends one frame made of `parts` to `out`.
pub(crate) fn push_frame(out: &mut Vec<u8>, parts: &[&[u8]]) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    out.extend_from_slice(&(len as u32).to_be_bytes());
    for p in parts {
        out.extend_from_slice(p);
    }
}

/// Appends one frame holding the envelope `[kind][epoch][seq][payload]` to `out`.
pub(crate) fn push_envelope(out: &mut Vec<u8>, kind: u8, epoch: u32, seq: u64, payload: &[u8]) {
    let mut head = [0; crate::comm::ENVELOPE_LEN];
    head[0] = kind;
    head[1..5].copy_from_slice(&epoch.to_le_bytes());
    head[5..].copy_from_slice(&seq.to_le_bytes());
    push_frame(out, &[&head, payload]);
}

/// The goodbye a closing server sends: a goodbye frame and the reason (framed), or a line.
pub(super) fn encode_goodbye(out: &mut Vec<u8>, framed: bool, reason: &str) {
    if framed {
        out.extend_from_slice(&GOODBYE.to_be_bytes());
        push_frame(out, &[reason.as_bytes()]);
    } else {
        out.extend_from_slice(format!("lockstep server: {reason}\n").as_bytes());
    }
}
