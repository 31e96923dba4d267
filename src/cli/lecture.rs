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
        s("comm-types", lecture::comm_types),
        s("sockets", lecture::sockets),
    ]
}

/// Scenarios of the lecture map that are not runnable yet.
const TO_COME: &[&str] = &["models", "sim race"];

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
