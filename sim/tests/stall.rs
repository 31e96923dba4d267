//! A check whose simulated thread spins on a `std` atomic (invisible to the simulator, which
//! cannot preempt it) used to hang without a word; now a watchdog names the check and the likely
//! causes on stderr. The stalled check runs in a child process (this test binary, re-run with
//! `LOCKSTEP_STALL_CHILD`), and a real thread ends its spin after a few seconds.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lockstep_sim::{Config, check, thread};

#[test]
fn a_check_stalled_in_code_the_simulator_cannot_see_is_reported() {
    if std::env::var_os("LOCKSTEP_STALL_CHILD").is_some() {
        return stalled_check();
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_check_stalled_in_code_the_simulator_cannot_see_is_reported",
            "--nocapture",
        ])
        .env("LOCKSTEP_STALL_CHILD", "1")
        .env("LOCKSTEP_STALL_SECS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("has taken no step for")
            && stderr.contains("sim/tests/stall.rs:")
            && stderr.contains("std::sync::atomic"),
        "{stderr}"
    );
}

/// A simulated thread waits, outside the simulator, for a flag a real thread sets 3 s later.
fn stalled_check() {
    let flag = Arc::new(AtomicBool::new(false));
    let setter = {
        let flag = Arc::clone(&flag);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(3));
            flag.store(true, Ordering::Release);
        })
    };
    check(Config::random(1, 1), || {
        let h = thread::spawn(|| ());
        while !flag.load(Ordering::Acquire) {
            std::hint::spin_loop();
        }
        h.join().unwrap();
    });
    setter.join().unwrap();
}
