//! A step taken in a destructor (a guard's unlock, a sender's drop) is located by Rust at the
//! drop glue in its own library (`/rustc/<commit>/library/core/src/ptr/mod.rs`): the failure
//! table names the program's line that dropped the value, with the glue's line shortened beside
//! it, instead of the compiler's path alone.

use lockstep_sim::sync::{Mutex, mpsc};
use lockstep_sim::{Config, check, thread, try_check};

#[test]
fn a_step_in_a_destructor_names_the_programs_line() {
    let failure = try_check(Config::dfs(None), || {
        let (tx, rx) = mpsc::channel::<u32>();
        let m = Mutex::new(0);
        let h = thread::spawn(move || rx.recv().is_err());
        {
            let mut g = m.lock().unwrap();
            *g += 1;
        } // the guard's drop: a step
        drop(tx); // the sender's drop: a step
        assert!(
            !h.join().unwrap(),
            "planted: the receiver always sees the hang-up"
        );
    })
    .unwrap_err();
    let in_glue: Vec<_> = failure
        .trace
        .iter()
        .filter(|e| e.location.file().contains("/library/"))
        .collect();
    assert!(!in_glue.is_empty(), "{failure}");
    for e in &in_glue {
        let caller = e
            .caller
            .as_ref()
            .unwrap_or_else(|| panic!("{e:?}\n{failure}"));
        assert!(
            caller.file.ends_with("caller_drop.rs"),
            "{caller:?}\n{failure}"
        );
    }
    let text = failure.to_string();
    assert!(text.contains("(library/core/src/ptr/mod.rs:"), "{text}");
    assert!(!text.contains("/rustc/"), "{text}");
    // Passing programs are unaffected.
    check(Config::dfs(None), || {
        let m = Mutex::new(0);
        *m.lock().unwrap() += 1;
    });
}
