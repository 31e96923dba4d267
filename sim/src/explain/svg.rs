//! The SVG swimlane picture of an [`Explanation`].

use std::fmt::Write as _;

use super::{Explanation, thread_name};
use crate::rt::trace::Op;

impl Explanation<'_> {
    /// The interleaving as an SVG swimlane picture: a title, the failure (the failed assertion)
    /// and the schedule at the top, then one lane per thread, an event per row, the value read
    /// or written beside it and the source location at the right. A store that overwrote
    /// another thread's update is drawn red and labelled. Under RC11 a load that read an older
    /// store than the newest gets a blue arrow from the store it read (from the top of its
    /// lane for the initial value) and a dashed red line from each newer store it did not see.
    pub fn svg(&self) -> String {
        const LANE: usize = 230;
        const ROW: usize = 22;
        const LEFT: usize = 50;
        let f = self.failure;
        let lost: Vec<usize> = f.lost_updates().into_iter().map(|(i, _)| i).collect();
        let mut header: Vec<String> = vec![
            self.title
                .clone()
                .unwrap_or_else(|| "lockstep-sim: a failing interleaving".to_owned()),
        ];
        header.extend(f.kind.to_string().lines().map(str::to_owned));
        header.push(format!("schedule: {}", f.schedule));
        let lanes_top = 20 + header.len() * 18 + 10;
        let top = lanes_top + 20;
        let threads = f.threads.max(1);
        let value_x = LEFT + threads * LANE + 10;
        let loc_x = value_x + 130;
        let width =
            (loc_x + 330).max(header.iter().map(|l| l.chars().count()).max().unwrap_or(0) * 8 + 20);
        let height = top + f.trace.len() * ROW + 20;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="12">"#
        );
        let _ = writeln!(s, "<title>{}</title>", xml_escape(&header[0]));
        let _ = writeln!(
            s,
            r#"<rect width="{width}" height="{height}" fill="white"/>"#
        );
        for (i, line) in header.iter().enumerate() {
            let (weight, size) = if i == 0 { ("bold", 14) } else { ("normal", 12) };
            let _ = writeln!(
                s,
                r#"<text x="8" y="{}" font-weight="{weight}" font-size="{size}">{}</text>"#,
                20 + i * 18,
                xml_escape(line)
            );
        }
        for t in 0..threads {
            let x = LEFT + t * LANE;
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{lanes_top}" font-weight="bold">{}</text>"#,
                x + 8,
                thread_name(t)
            );
            let _ = writeln!(
                s,
                r##"<line x1="{c}" y1="{}" x2="{c}" y2="{}" stroke="#bbb" stroke-dasharray="4 3"/>"##,
                lanes_top + 8,
                height - 10,
                c = x + LANE / 2
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{value_x}" y="{lanes_top}" font-weight="bold">value</text>"#
        );
        let _ = writeln!(
            s,
            r#"<text x="{loc_x}" y="{lanes_top}" font-weight="bold">location</text>"#
        );
        let mut prev_thread = None;
        for (i, e) in f.trace.iter().enumerate() {
            let y = top + i * ROW;
            let x = LEFT + e.thread * LANE;
            let is_lost = lost.contains(&i);
            let fill = match e.op {
                _ if is_lost => "#f26d6d",
                Op::Panic => "#f8b4b4",
                Op::Store { .. } | Op::Rmw { .. } | Op::Write { .. } => "#fde2b8",
                Op::CompareExchange { ok: true, .. } | Op::Lock | Op::Unlock => "#fde2b8",
                Op::TryLock { ok: true } | Op::Commit { .. } => "#fde2b8",
                Op::BufferedStore { .. } => "#fff3d6",
                Op::Load { .. } | Op::Read { .. } | Op::CompareExchange { .. } => "#cfe3fb",
                _ => "#e6e6e6",
            };
            if prev_thread.is_some_and(|p| p != e.thread) {
                let _ = writeln!(
                    s,
                    r##"<line x1="{LEFT}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#d33" stroke-width="1"/>"##,
                    y0 = y - 2,
                    x1 = LEFT + threads * LANE
                );
            }
            prev_thread = Some(e.thread);
            let stroke = if is_lost { "#a00" } else { "#888" };
            let _ = writeln!(
                s,
                r##"<rect x="{}" y="{y}" width="{}" height="{}" rx="4" fill="{fill}" stroke="{stroke}"/>"##,
                x + 4,
                LANE - 8,
                ROW - 4
            );
            let text = xml_escape(&self.describe(e));
            let _ = writeln!(s, r#"<text x="{}" y="{}">{text}</text>"#, x + 10, y + 13);
            let _ = writeln!(
                s,
                r##"<text x="8" y="{}" fill="#666">{}</text>"##,
                y + 13,
                e.step
            );
            if let Some(v) = f.written_or_read(e) {
                let o = e
                    .object
                    .map(|o| format!("{} = ", self.object(o)))
                    .unwrap_or_default();
                let mark = if is_lost { "  LOST UPDATE" } else { "" };
                let _ = writeln!(
                    s,
                    r#"<text x="{value_x}" y="{}">{o}{}{mark}</text>"#,
                    y + 13,
                    xml_escape(&v)
                );
            }
            let loc = xml_escape(&format!("{}:{}", e.location.file(), e.location.line()));
            let _ = writeln!(
                s,
                r##"<text x="{loc_x}" y="{}" fill="#555">{loc}</text>"##,
                y + 13
            );
        }
        // Reads-from of stale reads: the row of the store (thread, step) each one names.
        let row_of = |t: usize, step: usize| {
            f.trace.iter().position(|e| {
                e.thread == t
                    && e.step == step
                    && matches!(
                        e.op,
                        Op::Store { .. }
                            | Op::Rmw { .. }
                            | Op::CompareExchange { ok: true, .. }
                            | Op::Lock
                            | Op::Unlock
                    )
            })
        };
        let centre = |t: usize| LEFT + t * LANE + LANE / 2;
        let mut defined = false;
        for (i, e) in f.trace.iter().enumerate() {
            let Op::StaleRead { from, newer } = &e.op else {
                continue;
            };
            if !defined {
                defined = true;
                let _ = writeln!(
                    s,
                    r##"<defs><marker id="rf" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#1f5fbf"/></marker></defs>"##
                );
            }
            // The load is the row just before its explanation.
            let load_y = top + i.saturating_sub(1) * ROW + ROW / 2 - 2;
            let load_x = centre(e.thread);
            let (x0, y0) = match from.and_then(|(t, step)| row_of(t, step).map(|r| (t, r))) {
                Some((t, r)) => (centre(t), top + r * ROW + ROW / 2 - 2),
                None => (load_x - LANE / 3, lanes_top + 8),
            };
            let _ = writeln!(
                s,
                r##"<line x1="{x0}" y1="{y0}" x2="{load_x}" y2="{load_y}" stroke="#1f5fbf" stroke-width="2" marker-end="url(#rf)"><title>reads from</title></line>"##
            );
            for &(t, step) in newer {
                if let Some(r) = row_of(t, step) {
                    let y = top + r * ROW + ROW / 2 - 2;
                    let _ = writeln!(
                        s,
                        r##"<line x1="{}" y1="{y}" x2="{load_x}" y2="{load_y}" stroke="#d33" stroke-width="1.5" stroke-dasharray="5 4"><title>newer store, not visible to the load</title></line>"##,
                        centre(t)
                    );
                }
            }
        }
        s.push_str("</svg>\n");
        s
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
