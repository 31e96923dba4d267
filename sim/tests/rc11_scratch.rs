use lockstep_sim::sync::atomic::{AtomicI32, Ordering::*};
use lockstep_sim::{Config, MemoryModel, check, thread};
use std::sync::Arc;

#[test]
fn z6u() {
    let s = check(Config::dfs(None).memory_model(MemoryModel::Rc11), || {
        let m = Arc::new((AtomicI32::new(0), AtomicI32::new(0)));
        let (a, b, c) = (m.clone(), m.clone(), m.clone());
        let h1 = thread::spawn(move || {
            a.0.store(1, SeqCst);
            a.1.store(1, Release);
        });
        let h2 = thread::spawn(move || {
            b.1.fetch_add(1, SeqCst);
            b.1.load(Relaxed);
        });
        let h3 = thread::spawn(move || {
            c.1.store(3, SeqCst);
            c.0.load(SeqCst);
        });
        h1.join().unwrap();
        h2.join().unwrap();
        h3.join().unwrap();
    });
    eprintln!("{s:?}");
}

#[test]
fn wwmerge1() {
    let s = check(Config::dfs(None).memory_model(MemoryModel::Rc11), || {
        let m = Arc::new((AtomicI32::new(0), AtomicI32::new(0)));
        let (a, b, c) = (m.clone(), m.clone(), m.clone());
        let h1 = thread::spawn(move || {
            a.0.load(Acquire);
            a.1.load(SeqCst);
        });
        let h2 = thread::spawn(move || {
            b.0.store(1, SeqCst);
            b.0.store(2, SeqCst);
        });
        let h3 = thread::spawn(move || {
            c.1.store(1, SeqCst);
            c.0.load(SeqCst);
        });
        h1.join().unwrap();
        h2.join().unwrap();
        h3.join().unwrap();
    });
    eprintln!("{s:?}");
}
