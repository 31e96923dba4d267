//! Atomics in `static`s outlive every execution, so without help each execution would start
//! from the values the last one left (a lazy initialization's flag already set, say) and the
//! search would explore a different program each time: an exhaustive search could report a
//! complete, clean check of a racy initialization, and a replay would not reproduce. So the
//! simulator gives every execution of a check the values the statics held when the check first
//! used them, and puts those values back when the check ends. This covers the program's own
//! atomics (used from outside lockstep's sources) and the std mirror's `Once` (so `OnceLock` and
//! `LazyLock`: see `rt::static_state`); the state inside a static of lockstep's other types or
//! of the std mirror's (`Mutex`, `Queue`) lives on across executions, as it would in a process,
//! and is not partly reset.
//!
//! A static is recognized by its address: in the main executable's own memory (its mappings in
//! `/proc/self/maps` and the zeroed data right after them), which no heap or stack object shares.
//! Elsewhere than Linux nothing is restored.

use std::sync::OnceLock;

/// The main executable's memory ranges (its mappings and the anonymous one that continues its
/// zeroed data), read once, with the span from the first's start to the last's end (most
/// objects, on the heap or a stack, fall outside it: one comparison).
struct Ranges {
    span: (usize, usize),
    list: Vec<(usize, usize)>,
}

fn ranges() -> &'static Ranges {
    static RANGES: OnceLock<Ranges> = OnceLock::new();
    RANGES.get_or_init(|| {
        let list = read_ranges().unwrap_or_default();
        let span = (
            list.iter().map(|r| r.0).min().unwrap_or(0),
            list.iter().map(|r| r.1).max().unwrap_or(0),
        );
        Ranges { span, list }
    })
}

fn read_ranges() -> Option<Vec<(usize, usize)>> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    let exe = exe.to_str()?;
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    Some(parse(&maps, exe))
}

/// The ranges of `exe` in a `/proc/self/maps` text, each mapping extended over an anonymous
/// mapping that starts where it ends (the zeroed data past the file).
fn parse(maps: &str, exe: &str) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let Some((start, end)) = fields.next().and_then(|r| r.split_once('-')) else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        let path = fields.nth(4);
        match path {
            Some(p) if p == exe => out.push((start, end)),
            None => {
                if let Some(last) = out.last_mut()
                    && last.1 == start
                {
                    last.1 = end;
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether `addr` is in a `static` of the main executable.
#[inline]
pub(crate) fn is_static(addr: usize) -> bool {
    let r = ranges();
    (r.span.0..r.span.1).contains(&addr) && r.list.iter().any(|&(s, e)| (s..e).contains(&addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_static_is_recognized_and_heap_and_stack_objects_are_not() {
        static S: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        static mut Z: [u64; 4096] = [0; 4096]; // in the zeroed data
        if !cfg!(target_os = "linux") {
            return;
        }
        assert!(is_static(&S as *const _ as usize));
        assert!(is_static(&raw const Z as usize));
        let heap = Box::new(0u32);
        assert!(!is_static(&*heap as *const u32 as usize));
        let local = 0u32;
        assert!(!is_static(&local as *const u32 as usize));
    }

    #[test]
    fn maps_are_parsed_with_the_zeroed_data_after_the_file() {
        let maps = "\
5000-6000 r--p 00000000 fe:00 1   /bin/app
6000-7000 rw-p 00001000 fe:00 1   /bin/app
7000-9000 rw-p 00000000 00:00 0
9000-a000 rw-p 00000000 00:00 0   [heap]
b000-c000 r--p 00000000 fe:00 2   /lib/libc.so
";
        assert_eq!(
            parse(maps, "/bin/app"),
            [(0x5000, 0x6000), (0x6000, 0x9000)]
        );
    }
}
