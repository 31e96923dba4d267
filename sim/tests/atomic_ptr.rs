//! `AtomicPtr`: pointers published between threads, as lock-free code does (a node handed over
//! through a slot, a Treiber stack), are checked like the integer atomics: a Relaxed publish of
//! a node whose contents are read after the load is a data race, a push that loads and stores
//! instead of compare-and-swapping loses a node, and pointers survive the store buffers of
//! x86-TSO and the stores RC11 lets a load read (the pointer a load returns is dereferenced).

use std::collections::BTreeSet;
use std::ptr;
use std::sync::Arc;

use lockstep_sim::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use lockstep_sim::sync::cell::UnsafeCell;
use lockstep_sim::{Config, FailureKind, MemoryModel, check, thread, try_check};

/// Every exhaustive configuration the tests run under.
fn models() -> [Config; 3] {
    [
        Config::dfs(None),
        Config::dfs(None).memory_model(MemoryModel::X86Tso),
        Config::dfs(None).memory_model(MemoryModel::Rc11),
    ]
}

/// A node whose contents are plain memory, checked for data races.
struct Node {
    value: UnsafeCell<u64>,
    next: UnsafeCell<*mut Node>,
}

impl Node {
    fn boxed(value: u64) -> *mut Node {
        Box::into_raw(Box::new(Node {
            value: UnsafeCell::new(value),
            next: UnsafeCell::new(ptr::null_mut()),
        }))
    }
}

/// A writer fills a node and publishes it through a slot with `publish`; a reader that finds it
/// (loading with `consume`) reads its contents.
fn hand_over(publish: Ordering, consume: Ordering) {
    let slot = Arc::new(AtomicPtr::<Node>::new(ptr::null_mut()));
    let s = Arc::clone(&slot);
    let writer = thread::spawn(move || {
        let node = Node::boxed(0);
        // SAFETY: the node is not shared yet.
        unsafe { (*node).value.with_mut(|v| *v = 42) };
        s.store(node, publish);
    });
    let p = slot.load(consume);
    if !p.is_null() {
        // SAFETY: nodes are freed only after both threads are done; whether this read is
        // ordered after the writer's is what the check decides.
        assert_eq!(unsafe { (*p).value.with(|v| *v) }, 42);
    }
    writer.join().unwrap();
    let p = slot.swap(ptr::null_mut(), Ordering::Relaxed);
    // SAFETY: the writer is done and the node was boxed once.
    drop(unsafe { Box::from_raw(p) });
}

#[test]
fn a_node_published_with_release_and_read_after_acquire_is_clean_in_every_model() {
    for config in models() {
        let stats = check(config.clone(), || {
            hand_over(Ordering::Release, Ordering::Acquire)
        });
        assert!(stats.complete, "{config:?}: {stats:?}");
        // Under SC: the reader loads before or after the store.
        assert!(stats.schedules >= 2, "{config:?}: {stats:?}");
    }
}

#[test]
fn a_node_published_relaxed_is_a_data_race_on_its_contents() {
    for config in models() {
        let failure = try_check(config.clone(), || {
            hand_over(Ordering::Relaxed, Ordering::Relaxed)
        })
        .unwrap_err();
        assert!(
            matches!(failure.kind, FailureKind::DataRace { .. }),
            "{config:?}: {failure}"
        );
        // The report names this file's lines: the write into the node and the read after the load.
        let report = failure.to_string();
        assert!(report.contains("atomic_ptr.rs"), "{report}");
    }
}

/// A Treiber stack of nodes the scenario owns (popping does not free, so that even the broken
/// stack below reads no freed memory). `lossy` pushes with a load and a store instead of a
/// compare-and-swap.
struct Stack {
    head: AtomicPtr<Node>,
    lossy: bool,
}

impl Stack {
    fn push(&self, node: *mut Node) {
        if self.lossy {
            let head = self.head.load(Ordering::Acquire);
            // SAFETY: the node is not shared yet.
            unsafe { (*node).next.with_mut(|n| *n = head) };
            self.head.store(node, Ordering::Release);
            return;
        }
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // SAFETY: as above.
            unsafe { (*node).next.with_mut(|n| *n = head) };
            // Release: publishes the node's contents to the popper's Acquire load.
            match self
                .head
                .compare_exchange_weak(head, node, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(h) => head = h,
            }
        }
    }

    fn pop(&self) -> Option<u64> {
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            if head.is_null() {
                return None;
            }
            // SAFETY: nodes live until the scenario ends, and their contents were published by
            // the push's Release to our Acquire.
            let next = unsafe { (*head).next.with(|n| *n) };
            match self
                .head
                .compare_exchange_weak(head, next, Ordering::Acquire, Ordering::Acquire)
            {
                // SAFETY: as above.
                Ok(_) => return Some(unsafe { (*head).value.with(|v| *v) }),
                Err(h) => head = h,
            }
        }
    }
}

/// Two threads push 1 and 2 while a third pops once; afterwards every value comes out once.
fn stack_scenario(lossy: bool) {
    let stack = Arc::new(Stack {
        head: AtomicPtr::new(ptr::null_mut()),
        lossy,
    });
    let nodes = [Node::boxed(1), Node::boxed(2)];
    let pushers: Vec<_> = nodes
        .iter()
        .map(|&node| {
            let s = Arc::clone(&stack);
            // As an address: a raw pointer is not `Send`.
            let node = node as usize;
            thread::spawn(move || s.push(node as *mut Node))
        })
        .collect();
    let s = Arc::clone(&stack);
    let popper = thread::spawn(move || s.pop());
    let mut seen = BTreeSet::new();
    for h in pushers {
        h.join().unwrap();
    }
    seen.extend(popper.join().unwrap());
    let mut left = 2;
    while let Some(v) = stack.pop() {
        assert!(seen.insert(v), "{v} popped twice");
        left -= 1;
        assert!(left >= 0, "more values popped than pushed");
    }
    assert_eq!(seen, BTreeSet::from([1, 2]), "a pushed value was lost");
    for node in nodes {
        // SAFETY: every thread is done; each node was boxed once.
        drop(unsafe { Box::from_raw(node) });
    }
}

/// [`stack_scenario`]'s correct stack with nodes named by their index plus one (0: none) in an
/// `AtomicUsize`, the same operations with the same orderings.
fn index_stack_scenario() {
    struct IndexNode {
        value: u64,
        next: UnsafeCell<usize>,
    }
    // SAFETY: `next` is written only by the node's pusher before it publishes the node, and
    // read after an Acquire of that publication (the check verifies it).
    unsafe impl Sync for IndexNode {}
    let nodes: Arc<[IndexNode; 2]> = Arc::new([1, 2].map(|value| IndexNode {
        value,
        next: UnsafeCell::new(0),
    }));
    let head = Arc::new(lockstep_sim::sync::atomic::AtomicUsize::new(0));
    let pushers: Vec<_> = [1usize, 2]
        .into_iter()
        .map(|node| {
            let (head, nodes) = (Arc::clone(&head), Arc::clone(&nodes));
            thread::spawn(move || {
                let mut h = head.load(Ordering::Relaxed);
                loop {
                    // SAFETY: the node is not shared until the exchange below.
                    nodes[node - 1].next.with_mut(|n| unsafe { *n = h });
                    match head.compare_exchange_weak(h, node, Ordering::Release, Ordering::Relaxed)
                    {
                        Ok(_) => return,
                        Err(x) => h = x,
                    }
                }
            })
        })
        .collect();
    let pop = {
        let (head, nodes) = (Arc::clone(&head), Arc::clone(&nodes));
        move || {
            let mut h = head.load(Ordering::Acquire);
            loop {
                if h == 0 {
                    return None;
                }
                // SAFETY: published by the push's Release to our Acquire.
                let next = nodes[h - 1].next.with(|n| unsafe { *n });
                match head.compare_exchange_weak(h, next, Ordering::Acquire, Ordering::Acquire) {
                    Ok(_) => return Some(nodes[h - 1].value),
                    Err(x) => h = x,
                }
            }
        }
    };
    let popper = thread::spawn(pop.clone());
    for h in pushers {
        h.join().unwrap();
    }
    let mut seen: BTreeSet<u64> = popper.join().unwrap().into_iter().collect();
    while let Some(v) = pop() {
        assert!(seen.insert(v));
    }
    assert_eq!(seen, BTreeSet::from([1, 2]));
}

#[test]
fn a_treiber_stack_keeps_every_value_in_every_execution() {
    for config in models() {
        let stats = check(config.clone(), || stack_scenario(false));
        assert!(stats.complete, "{config:?}: {stats:?}");
        // The same stack with nodes named by index in an `AtomicUsize` has the same executions:
        // addresses, which differ between executions, change nothing in the search.
        let by_index = check(config.clone(), index_stack_scenario);
        assert_eq!(
            (stats.schedules, stats.abandoned, stats.blocked),
            (by_index.schedules, by_index.abandoned, by_index.blocked),
            "{config:?}"
        );
    }
}

#[test]
fn a_push_that_loads_then_stores_loses_a_node_and_the_replay_shows_it() {
    for config in models() {
        let failure = try_check(config.clone(), || stack_scenario(true)).unwrap_err();
        assert!(
            matches!(&failure.kind, FailureKind::Panic { message, .. }
                if message.contains("lost") || message.contains("twice")),
            "{config:?}: {failure}"
        );
        // The replay fails the same way, step for step (the nodes' addresses may differ).
        let replayed = try_check(Config::replay(failure.schedule.clone()), || {
            stack_scenario(true)
        })
        .unwrap_err();
        assert_eq!(replayed.schedule, failure.schedule, "{config:?}");
        assert_eq!(replayed.trace.len(), failure.trace.len(), "{config:?}");
        assert_eq!(
            replayed.kind.to_string(),
            failure.kind.to_string(),
            "{config:?}"
        );
    }
}

#[test]
fn store_buffering_on_pointers_reads_both_old_values_under_weak_memory_only() {
    // Which of the four outcomes each model reaches: (thread a read y's pointer, b read x's).
    let outcomes = |config: Config| {
        let seen = Arc::new(std::sync::Mutex::new(BTreeSet::new()));
        let s = Arc::clone(&seen);
        check(config, move || {
            let mut targets = [7u64, 8u64];
            let (pa, pb) = targets.split_at_mut(1);
            let (pa, pb) = (
                &mut pa[0] as *mut u64 as usize,
                &mut pb[0] as *mut u64 as usize,
            );
            let x = Arc::new(AtomicPtr::<u64>::new(ptr::null_mut()));
            let y = Arc::new(AtomicPtr::<u64>::new(ptr::null_mut()));
            let (x2, y2) = (Arc::clone(&x), Arc::clone(&y));
            let a = thread::spawn(move || {
                x2.store(pa as *mut u64, Ordering::Relaxed);
                let p = y2.load(Ordering::Relaxed);
                // SAFETY: `targets` outlives both threads (joined below).
                (!p.is_null()).then(|| unsafe { *p })
            });
            y.store(pb as *mut u64, Ordering::Relaxed);
            let p = x.load(Ordering::Relaxed);
            // SAFETY: as above.
            let b = (!p.is_null()).then(|| unsafe { *p });
            let a = a.join().unwrap();
            s.lock().unwrap().insert((a, b));
        });
        seen.lock().unwrap().clone()
    };
    let sc = outcomes(Config::dfs(None));
    assert_eq!(
        sc,
        BTreeSet::from([(None, Some(7)), (Some(8), None), (Some(8), Some(7))]),
        "sequential consistency"
    );
    for model in [MemoryModel::X86Tso, MemoryModel::Rc11] {
        let weak = outcomes(Config::dfs(None).memory_model(model));
        assert!(weak.contains(&(None, None)), "{model:?}: {weak:?}");
        assert_eq!(weak.len(), 4, "{model:?}: {weak:?}");
    }
}

#[test]
fn atomic_ptr_outside_a_check_is_the_plain_atomic() {
    let mut v = 5u32;
    let mut a = AtomicPtr::<u32>::new(ptr::null_mut());
    assert!(a.load(Ordering::Relaxed).is_null());
    assert!(
        a.compare_exchange(ptr::null_mut(), &mut v, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    );
    assert_eq!(
        a.fetch_update(Ordering::AcqRel, Ordering::Acquire, |_| None),
        Err(&mut v as *mut u32)
    );
    // SAFETY: `v` is live.
    assert_eq!(unsafe { **a.get_mut() }, 5);
    assert_eq!(a.into_inner(), &mut v as *mut u32);
    let counter = AtomicU32::default();
    assert_eq!(counter.fetch_add(1, Ordering::Relaxed), 0);
}

/// A tagged pointer: the low bit of an aligned node's address marks it (as lock-free lists mark a
/// node deleted), set with `fetch_or` by one thread while another reads it.
#[test]
fn a_tag_set_with_fetch_or_is_seen_after_acquire() {
    for config in models() {
        let stats = check(config.clone(), || {
            let node = Box::into_raw(Box::new(5u64));
            let link = Arc::new(AtomicPtr::new(node));
            let l = Arc::clone(&link);
            let marker = thread::spawn(move || {
                let old = l.fetch_or(1, Ordering::AcqRel);
                assert_eq!(old.addr() & 1, 0, "marked twice");
            });
            let seen = link.load(Ordering::Acquire);
            // Either unmarked or marked; the address part is the node's.
            assert_eq!(seen.map_addr(|a| a & !1), node);
            marker.join().unwrap();
            let marked = link.fetch_and(!1, Ordering::Relaxed);
            assert_eq!(marked.addr() & 1, 1);
            let unmarked = link.fetch_byte_add(8, Ordering::Relaxed);
            assert_eq!(unmarked, node);
            assert_eq!(
                link.fetch_ptr_sub(1, Ordering::Relaxed),
                node.wrapping_add(1)
            );
            assert_eq!(link.load(Ordering::Relaxed), node);
            // SAFETY: boxed once above; no thread uses it any more.
            drop(unsafe { Box::from_raw(node) });
        });
        assert!(
            stats.complete && stats.schedules >= 2,
            "{config:?}: {stats:?}"
        );
    }
}

/// A static pointer a lazy initialization fills.
static LAZY: AtomicPtr<u64> = AtomicPtr::new(ptr::null_mut());

#[test]
fn a_static_atomic_ptr_starts_every_execution_from_its_initial_value() {
    let wins = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let w = Arc::clone(&wins);
    let stats = check(Config::dfs(None), move || {
        // A second thread, so that there is more than one execution.
        let reader = thread::spawn(|| LAZY.load(Ordering::Acquire).is_null());
        let fresh = Box::into_raw(Box::new(1u64));
        if LAZY
            .compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            // The node stays in the static; the check's reset leaks it (a few bytes).
            w.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        } else {
            // SAFETY: `fresh` was never shared.
            drop(unsafe { Box::from_raw(fresh) });
        }
        reader.join().unwrap();
    });
    assert!(stats.complete && stats.schedules >= 2, "{stats:?}");
    // Every execution started from null, so every one's exchange won.
    assert_eq!(
        wins.load(std::sync::atomic::Ordering::Relaxed),
        stats.schedules
    );
    // And the check gave the initial value back.
    assert!(LAZY.load(Ordering::SeqCst).is_null());
}
