//! Where the program under test called into lockstep: for an event whose location is inside
//! lockstep's own sources (a step of `lockstep::Mutex::lock`, of a channel's `send` ...), the
//! innermost frame of the calling thread's stack outside lockstep's crates and the standard
//! library. Only a recorded trace (a failure's final replay) pays for it: one unresolved stack
//! capture per such event, resolved then.

use std::backtrace::Backtrace;
use std::panic::Location;

use super::trace::Caller;

/// The crates whose frames are not the caller's.
const LIBRARY_CRATES: [&str; 8] = [
    "lockstep_sim::",
    "lockstep_core::",
    "lockstep_hosted::",
    "lockstep::",
    "core::",
    "std::",
    "alloc::",
    "corosensei::",
];

/// The folders of lockstep's crates in this workspace, and their names as published.
const SOURCE_DIRS: [&str; 3] = ["core/src/", "hosted/src/", "sim/src/"];
const PUBLISHED: [&str; 3] = ["lockstep-core-", "lockstep-hosted-", "lockstep-sim-"];

/// The folder that holds this crate's folder (the workspace, or the registry's source folder).
fn parent_dir() -> &'static str {
    let dir = env!("CARGO_MANIFEST_DIR");
    match dir.trim_end_matches('/').rfind('/') {
        Some(i) => &dir[..=i],
        None => "",
    }
}

/// `file` shortened to start at its crate's folder when it is one of lockstep's sources
/// (`/home/me/.cargo/registry/.../lockstep-core-0.1.0/src/mutex.rs` becomes
/// `lockstep-core-0.1.0/src/mutex.rs`, `/work/lockstep/core/src/mutex.rs` becomes
/// `core/src/mutex.rs`); `None` for any other file.
pub(crate) fn library_file(file: &str) -> Option<&str> {
    let rest = file.strip_prefix(parent_dir()).unwrap_or(file);
    if SOURCE_DIRS.iter().any(|d| rest.starts_with(d)) {
        return Some(rest);
    }
    PUBLISHED
        .iter()
        .filter_map(|p| file.rfind(&format!("/{p}")))
        .min()
        .map(|i| &file[i + 1..])
}

/// `file` from the folder `library/` on when it is one of Rust's own library sources
/// (`/rustc/<commit>/library/core/src/ptr/mod.rs` becomes `library/core/src/ptr/mod.rs`): the
/// location of an operation called from a destructor (a guard's or a sender's `drop`) is the
/// drop glue there, and its caller is the program's line that dropped the value.
pub(crate) fn rust_file(file: &str) -> Option<&str> {
    let rest = file.strip_prefix("/rustc/")?;
    let i = rest.find("/library/")?;
    Some(&rest[i + 1..])
}

/// Whether a frame's symbol belongs to lockstep or the standard library
/// (`<lockstep_core::mutex::MutexGuard<T,W> as core::ops::deref::Deref>::deref` does).
fn library_symbol(symbol: &str) -> bool {
    let s = symbol.trim_start_matches('<');
    s.starts_with("__rust") || LIBRARY_CRATES.iter().any(|c| s.starts_with(c))
}

/// Whether the atomic operation running now was called by lockstep's own code (a std-mirror
/// type's, or lockstep-core's or lockstep-hosted's), not by the program: from the current stack,
/// the first frame past the simulator's atomic and runtime frames.
pub(crate) fn operation_in_library() -> bool {
    let text = Backtrace::force_capture().to_string();
    operation_in_library_from(&text)
}

/// [`operation_in_library`] on a backtrace printed by `std`.
fn operation_in_library_from(text: &str) -> bool {
    let symbols = text.lines().filter_map(|line| {
        let (index, symbol) = line.trim_start().split_once(": ")?;
        index.chars().all(|c| c.is_ascii_digit()).then_some(symbol)
    });
    // The capture's own frames, the runtime's and the atomic's are skipped (whichever of them
    // inlining left on the stack); the first frame beyond decides.
    for symbol in symbols {
        let s = symbol.trim_start_matches('<');
        if [
            "std::",
            "core::",
            "__rust",
            "lockstep_sim::rt::",
            "lockstep_sim::sync::atomic::",
        ]
        .iter()
        .any(|p| s.starts_with(p))
        {
            continue;
        }
        return s.starts_with("lockstep_sim::")
            || s.starts_with("lockstep_core::")
            || s.starts_with("lockstep_hosted::");
    }
    false
}

/// The caller of the operation at `location`, from the current stack, when `location` is in
/// lockstep's sources.
pub(crate) fn capture(location: &'static Location<'static>) -> Option<Caller> {
    library_file(location.file()).or_else(|| rust_file(location.file()))?;
    let text = Backtrace::force_capture().to_string();
    from_backtrace(&text, location)
}

/// Picks the caller out of a backtrace printed by `std`: the first frame, outward from the one
/// at `location`, whose symbol is not lockstep's or std's and which has a source line. `None`
/// when `location` is not on the stack (the event was recorded for another thread).
pub(crate) fn from_backtrace(text: &str, location: &Location<'_>) -> Option<Caller> {
    // (symbol, file, line) per frame, innermost first.
    let mut frames: Vec<(&str, Option<(&str, u32)>)> = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(at) = t.strip_prefix("at ") {
            let mut parts = at.rsplitn(3, ':');
            let (_col, line_no, file) = (parts.next(), parts.next(), parts.next());
            if let (Some(file), Some(Ok(n)), Some(last)) =
                (file, line_no.map(str::parse::<u32>), frames.last_mut())
            {
                last.1 = Some((file, n));
            }
        } else if let Some((index, symbol)) = t.split_once(": ")
            && index.chars().all(|c| c.is_ascii_digit())
        {
            frames.push((symbol, None));
        }
    }
    let here = frames.iter().position(|(_, at)| {
        at.is_some_and(|(file, line)| same_file(file, location.file()) && line == location.line())
    })?;
    frames[here + 1..].iter().find_map(|&(symbol, at)| {
        let (file, line) = at?;
        (!library_symbol(symbol) && library_file(file).is_none()).then(|| Caller {
            file: relative(file),
            line,
        })
    })
}

/// Whether a backtrace's file (absolute when the debug information says so) and a
/// `Location`'s file (relative to the workspace for its own members) are the same.
fn same_file(traced: &str, located: &str) -> bool {
    let traced = traced.strip_prefix("./").unwrap_or(traced);
    traced == located
        || (traced.len() > located.len()
            && traced.ends_with(located)
            && traced[..traced.len() - located.len()].ends_with('/'))
}

/// A backtrace's file (std prints those under the current folder as `./...`) as the compiler's
/// `Location`s name it: relative to lockstep's workspace when it is in it, else to the current
/// folder (the package `cargo test` runs in).
fn relative(file: &str) -> String {
    let cwd = std::env::current_dir().ok();
    let cwd = cwd.as_ref().and_then(|d| d.to_str());
    let absolute = match (file.strip_prefix("./"), cwd) {
        (Some(rest), Some(dir)) => format!("{dir}/{rest}"),
        (Some(rest), None) => return rest.to_owned(),
        (None, _) => file.to_owned(),
    };
    let file = absolute.as_str();
    if let Some(rest) = file.strip_prefix(parent_dir())
        && !parent_dir().is_empty()
    {
        return rest.to_owned();
    }
    if let Some(dir) = cwd
        && let Some(rest) = file.strip_prefix(dir)
        && let Some(rest) = rest.strip_prefix('/')
    {
        return rest.to_owned();
    }
    file.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_files_are_recognized_and_shortened() {
        assert_eq!(library_file("core/src/mutex.rs"), Some("core/src/mutex.rs"));
        let parent = parent_dir();
        let abs = format!("{parent}hosted/src/futex.rs");
        assert_eq!(library_file(&abs), Some("hosted/src/futex.rs"));
        assert_eq!(
            library_file("/root/.cargo/registry/src/x/lockstep-core-0.1.0/src/mutex.rs"),
            Some("lockstep-core-0.1.0/src/mutex.rs")
        );
        assert_eq!(library_file("src/bank.rs"), None);
        assert_eq!(library_file("tests/app.rs"), None);
        assert_eq!(library_file("/tmp/app/src/lockstep_core_user.rs"), None);
    }

    #[test]
    fn the_caller_is_the_first_frame_outside_the_library_beyond_the_operation() {
        let text = "   0: lockstep_sim::rt::State::push
             at /w/sim/src/rt/mod.rs:558:92
   1: lockstep_sim::sync::atomic::AtomicU32::compare_exchange
             at /w/sim/src/sync/atomic.rs:367:37
   2: lockstep_core::mutex::SpinLock<W>::lock
             at core/src/mutex.rs:104:14
   3: <lockstep_core::mutex::MutexGuard<T,W> as core::ops::deref::Deref>::deref
             at core/src/mutex.rs:513:25
   4: core::ptr::drop_in_place<lockstep_core::mutex::MutexGuard<i64>>
   5: bank::Bank::deposit
             at ./src/bank.rs:20:40
   6: app::deposits::{{closure}}
             at ./tests/app.rs:52:21
";
        let at_lock = Location::caller();
        // A location not on the stack: no caller.
        assert_eq!(from_backtrace(text, at_lock), None);
        let caller = parse_at(text, "core/src/mutex.rs", 104).unwrap();
        assert_eq!(
            caller,
            Caller {
                file: relative("./src/bank.rs"),
                line: 20
            }
        );
    }

    /// `from_backtrace` for a location given by file and line (a `Location` cannot be built).
    fn parse_at(text: &str, file: &str, line: u32) -> Option<Caller> {
        let replaced = text.replace(
            &format!("{file}:{line}:"),
            &format!("{}:{}:", HERE.file(), HERE.line()),
        );
        from_backtrace(&replaced, HERE)
    }

    static HERE: &Location<'static> = Location::caller();

    #[test]
    fn an_operation_is_the_librarys_when_lockstep_called_the_atomic() {
        let mirror = "   0: std::backtrace::Backtrace::create
   1: lockstep_sim::rt::atomic
   2: lockstep_sim::sync::atomic::AtomicU32::load
   3: lockstep_sim::sync::once::Once::call_once
   4: app::init
";
        assert!(operation_in_library_from(mirror));
        let own = "   0: std::backtrace::Backtrace::create
   1: lockstep_sim::rt::atomic
   2: lockstep_sim::sync::atomic::AtomicBool::load
   3: app::init::{{closure}}
";
        assert!(!operation_in_library_from(own));
        let core = "   2: lockstep_sim::sync::atomic::AtomicU32::compare_exchange
   3: <lockstep_core::mutex::SpinLock<W> as lockstep_core::RawLock>::lock
";
        assert!(operation_in_library_from(core));
    }
}
