//! `lockstep lecture`: every scenario of the lecture in order, with progress and a summary.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use lockstep_hosted::lecture::{self, ITERATIONS, Report, THREADS};

/// One runnable scenario of the lecture.
struct Scenario {
    name: &'static str,
    run: Box<dyn Fn() -> Report>,
}

/// The scenarios that run, in lecture order.
fn scenarios() -> Vec<Scenario> {
    fn s(name: &'static str, run: impl Fn() -> Report + 'static) -> Scenario {
        Scenario {
            name,
            run: Box::new(run),
        }
    }
    vec![
        s("race", || lecture::race(THREADS, ITERATIONS)),
        s("lock", || lecture::lock(THREADS, ITERATIONS, true)),
        s("semaphore", || lecture::semaphore(THREADS, ITERATIONS)),
        s("try-lock", lecture::try_lock),
        s("rlock", || lecture::rlock(3)),
        s("resources", || lecture::resources(3, 10, 1_000)),
        s("condition", || lecture::condition(2, 3, 10_000)),
        s("event", || lecture::event(4)),
        s("models", lecture::models),
        s("comm-types", lecture::comm_types),
        s("sockets", lecture::sockets),
        s("sim race", sim_race),
        s("sim mp", sim_mp),
    ]
}

/// Scenarios of the lecture map that are not runnable yet.
const TO_COME: &[&str] = &[];

/// The lost update found by the simulator, replayed to the identical trace, and the locked
/// version searched exhaustively and found clean.
fn sim_race() -> Report {
    use lockstep_cli::sim_race::{Sync, race};
    use lockstep_sim::{Config, try_check};

    let start = std::time::Instant::now();
    let mut notes = Vec::new();
    let found = try_check(Config::pct(1, 3, 10_000), race(2, 1, Sync::None));
    let (found_ok, replay_ok) = match &found {
        Err(f) => {
            notes.push(format!(
                "racy counter, 2 threads x 1 round, PCT depth 3: {} after shrinking, schedule {}",
                f.kind, f.schedule
            ));
            let again = try_check(Config::replay(f.schedule.clone()), race(2, 1, Sync::None));
            let same = matches!(&again, Err(g) if g.table() == f.table() && g.kind == f.kind);
            notes.push(format!("replaying {}: identical trace: {same}", f.schedule));
            (true, same)
        }
        Ok(stats) => {
            notes.push(format!(
                "racy counter: no failure in {} schedules",
                stats.schedules
            ));
            (false, false)
        }
    };
    let clean = try_check(Config::dfs(None), race(2, 1, Sync::Lock));
    let clean_ok = matches!(&clean, Ok(s) if s.complete);
    if let Ok(s) = &clean {
        notes.push(format!(
            "locked counter, 2 threads x 1 round, exhaustive DFS: {} schedules, complete: {}",
            s.schedules, s.complete
        ));
    }
    let got = format!(
        "{}, {}, {}",
        if found_ok {
            "lost update found"
        } else {
            "not found"
        },
        if replay_ok {
            "replayed"
        } else {
            "replay differs"
        },
        if clean_ok {
            "lock clean"
        } else {
            "lock not proven"
        }
    );
    Report {
        name: "sim race",
        expected: "lost update found, replayed, lock clean".into(),
        pass: found_ok && replay_ok && clean_ok,
        got,
        elapsed: start.elapsed(),
        notes,
    }
}

/// Message passing with Relaxed orderings under RC11: the stale read found by the exhaustive
/// search, explained and replayed; Release/Acquire then clean in every execution.
fn sim_mp() -> Report {
    use lockstep_cli::sim_mp::{Flag, message_passing};
    use lockstep_sim::{Config, MemoryModel, Op, try_check};

    let start = std::time::Instant::now();
    let rc11 = || Config::dfs(None).memory_model(MemoryModel::Rc11);
    let mut notes = Vec::new();
    let found = try_check(rc11(), message_passing(Flag::Relaxed));
    let (found_ok, explained, replay_ok) = match &found {
        Err(f) => {
            let stale = f
                .trace
                .iter()
                .find(|e| matches!(e.op, Op::StaleRead { .. }));
            notes.push(format!(
                "Relaxed flag under RC11, exhaustive: {}, schedule {}",
                f.kind, f.schedule
            ));
            if let Some(e) = stale {
                notes.push(format!(
                    "explained at step {}: {}",
                    e.step,
                    f.explain().describe(e)
                ));
            }
            let again = try_check(
                Config::replay(f.schedule.clone()),
                message_passing(Flag::Relaxed),
            );
            let same = matches!(&again, Err(g) if g.table() == f.table());
            notes.push(format!("replaying {}: identical trace: {same}", f.schedule));
            (true, stale.is_some(), same)
        }
        Ok(stats) => {
            notes.push(format!(
                "Relaxed flag: no failure in {} executions",
                stats.schedules
            ));
            (false, false, false)
        }
    };
    let fixed = try_check(rc11(), message_passing(Flag::ReleaseAcquire));
    let fixed_ok = matches!(&fixed, Ok(s) if s.complete);
    if let Ok(s) = &fixed {
        notes.push(format!(
            "Release/Acquire flag under RC11, exhaustive: {} executions, complete: {}",
            s.schedules, s.complete
        ));
    }
    let got = format!(
        "{}, {}, {}, {}",
        if found_ok {
            "stale read found"
        } else {
            "not found"
        },
        if explained {
            "explained"
        } else {
            "not explained"
        },
        if replay_ok {
            "replayed"
        } else {
            "replay differs"
        },
        if fixed_ok {
            "release/acquire clean"
        } else {
            "release/acquire not proven"
        }
    );
    Report {
        name: "sim mp",
        expected: "stale read found, explained, replayed, release/acquire clean".into(),
        pass: found_ok && explained && replay_ok && fixed_ok,
        got,
        elapsed: start.elapsed(),
        notes,
    }
}

pub(crate) fn run() -> ExitCode {
    let all = scenarios();
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(all.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} ({elapsed})")
            .expect("the template is valid"),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    let mut reports = Vec::new();
    for sc in &all {
        bar.set_message(sc.name);
        let r = (sc.run)();
        bar.suspend(|| {
            println!("== {}", sc.name);
            println!("{r}\n");
        });
        reports.push(r);
        bar.inc(1);
    }
    bar.finish_and_clear();
    print_summary(&reports);
    if !TO_COME.is_empty() {
        println!("\nstill to come: {}", TO_COME.join(", "));
    }
    if lecture::cpus() < 2 {
        println!(
            "note: this machine has one CPU; the race rarely loses updates here, so any result passes"
        );
    }
    if reports.iter().all(|r| r.pass) {
        ExitCode::SUCCESS
    } else {
        println!("\nsome scenarios did not give the expected result");
        ExitCode::FAILURE
    }
}

fn print_summary(reports: &[Report]) {
    let w_name = reports
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let w_exp = reports
        .iter()
        .map(|r| r.expected.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let w_got = reports
        .iter()
        .map(|r| r.got.len())
        .max()
        .unwrap_or(3)
        .max(3);
    println!(
        "{:<w_name$}  {:<w_exp$}  {:<w_got$}  {:>9}  result",
        "scenario", "expected", "got", "time"
    );
    println!("{}", "-".repeat(w_name + w_exp + w_got + 9 + 14));
    for r in reports {
        println!(
            "{:<w_name$}  {:<w_exp$}  {:<w_got$}  {:>8.3}s  {}",
            r.name,
            r.expected,
            r.got,
            r.elapsed.as_secs_f64(),
            if r.pass { "pass" } else { "FAIL" }
        );
    }
}
