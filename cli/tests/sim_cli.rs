//! `lockstep sim race` as a newcomer reads it: the replay hint names the command line first, the
//! counter is called `count`, thread 0 is the main thread, the lost update is marked, a replay
//! does not claim to have shrunk anything, `--replay` is checked against `--threads`, the budget
//! line counts abandoned executions, a closed stdout is not a panic, the SVG is self-describing.

use std::io::Read;
use std::process::{Command, Output, Stdio};

fn lockstep(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockstep"))
        .args(args)
        .output()
        .expect("the lockstep binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The schedule string of a failure report.
fn schedule(out: &str) -> String {
    out.lines()
        .find_map(|l| l.trim().strip_prefix("schedule: "))
        .expect("a schedule line")
        .to_owned()
}

#[test]
fn a_found_race_reads_as_a_newcomer_expects() {
    let o = lockstep(&["sim", "race"]);
    assert!(o.status.success());
    let out = stdout(&o);
    let replay = out
        .lines()
        .find(|l| l.trim_start().starts_with("replay:"))
        .expect("a replay hint");
    assert!(
        replay.contains("lockstep sim race -t 2 -n 2 --sync none --replay "),
        "the first hint is the command line: {replay}"
    );
    let cargo_hint = out.find("LOCKSTEP_REPLAY=").expect("the cargo test form");
    assert!(out.find("lockstep sim race -t 2").unwrap() < cargo_hint);
    assert!(out.contains("thread 0 (main)"), "{out}");
    assert!(out.contains("the main thread (thread 0)"), "{out}");
    assert!(out.contains("load count = "), "{out}");
    assert!(!out.contains(" #0"), "locations are named: {out}");
    assert!(out.contains("<- LOST UPDATE"), "{out}");
    assert!(out.contains("lost update: at step"), "{out}");
}

#[test]
fn a_replay_prints_the_same_table_without_a_shrink_line() {
    let found = stdout(&lockstep(&["sim", "race"]));
    let s = schedule(&found);
    let o = lockstep(&["sim", "race", "--replay", &s]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(!out.contains("shrunk from"), "{out}");
    let table = |t: &str| t[t.find("step |").unwrap()..].to_owned();
    assert_eq!(table(&out), table(&found));
}

#[test]
fn a_replay_for_other_threads_is_refused() {
    let o = lockstep(&["sim", "race", "--replay", "0x3-1x3-2x2-3x6-2x7-0x3"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("thread 3") && err.contains("--threads 2"),
        "{err}"
    );
}

#[test]
fn a_replay_that_does_not_fail_says_so() {
    let o = lockstep(&[
        "sim", "race", "--sync", "lock", "-n", "1", "--replay", "0-1-2",
    ]);
    assert!(!o.status.success());
    assert!(stdout(&o).contains("without a failure"));
}

#[test]
fn the_budget_line_counts_abandoned_executions() {
    let o = lockstep(&[
        "sim",
        "race",
        "--sync",
        "lock",
        "-n",
        "1",
        "--scheduler",
        "dfs",
        "--bound",
        "3",
    ]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("abandoned (blocked at a spin, or repeats of explored ones)"),
        "the bounded DFS abandons repeated executions: {out}"
    );
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lockstep"))
        .args(["sim", "race", "-t", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away, as with `| head -0`
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn the_svg_has_a_title_the_assertion_and_the_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("race.svg");
    let out = stdout(&lockstep(&["sim", "race", "--svg", path.to_str().unwrap()]));
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.contains("<title>lockstep sim race: 2 threads"), "{svg}");
    assert!(svg.contains("lost update: count is"));
    assert!(svg.contains(&format!("schedule: {}", schedule(&out))));
    assert!(svg.contains("LOST UPDATE"));
    assert!(svg.contains("thread 0 (main)"));
}

#[test]
fn the_exhaustive_search_of_the_locked_race_completes_and_says_so() {
    let o = lockstep(&[
        "sim",
        "race",
        "--scheduler",
        "dfs",
        "--sync",
        "lock",
        "-t",
        "3",
        "-n",
        "2",
    ]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("no failure in 90 executions")
            && out.contains("the search was complete: every execution was explored once"),
        "{out}"
    );
}

#[test]
fn message_passing_with_relaxed_is_a_stale_read_under_rc11_and_release_acquire_fixes_it() {
    let out = stdout(&lockstep(&["sim", "mp"]));
    assert!(out.contains("load data = 0"), "{out}");
    assert!(
        out.contains("read the initial value; newer: t1's store at step 1, not yet visible to t0"),
        "{out}"
    );
    assert!(out.contains("fix: store ready with Release"), "{out}");
    let s = schedule(&out);
    assert!(s.starts_with("rc11:"), "{s}");
    let again = stdout(&lockstep(&["sim", "mp", "--replay", &s]));
    assert!(again.contains("load data = 0"), "{again}");
    let fixed = lockstep(&["sim", "mp", "--flag", "release-acquire"]);
    assert!(fixed.status.success());
    let fixed = stdout(&fixed);
    assert!(
        fixed.contains("no failure in 2 executions") && fixed.contains("explored once"),
        "{fixed}"
    );
    // The picture draws what the load read and the newer store it did not see.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mp.svg");
    lockstep(&["sim", "mp", "--svg", path.to_str().unwrap()]);
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(
        svg.contains("<title>reads from</title>")
            && svg.contains("<title>newer store, not visible to the load</title>"),
        "{svg}"
    );
    // Sequential consistency never shows it.
    let sc = stdout(&lockstep(&["sim", "mp", "--memory-model", "sc"]));
    assert!(sc.contains("no failure"), "{sc}");
}

#[test]
fn the_race_runs_under_every_memory_model() {
    for model in ["sc", "x86-tso", "rc11"] {
        let out = stdout(&lockstep(&[
            "sim",
            "race",
            "--memory-model",
            model,
            "--sync",
            "lock",
            "-n",
            "1",
        ]));
        assert!(out.contains("no failure"), "{model}: {out}");
    }
    let out = stdout(&lockstep(&[
        "sim",
        "race",
        "--memory-model",
        "rc11",
        "--scheduler",
        "dfs",
        "--sync",
        "atomic",
        "-n",
        "1",
    ]));
    assert!(
        out.contains("no failure in 6 executions") && out.contains("every RC11 execution"),
        "{out}"
    );
    let bad = lockstep(&["sim", "race", "--memory-model", "arm"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("memory-model"));
}
