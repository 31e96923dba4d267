//! The driver: runs one execution of the checked closure, resuming one coroutine per step as
//! the scheduler picks.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, Location, catch_unwind, resume_unwind};
use std::sync::Once;

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};

use super::trace::{Op, Trace};
use super::{
    ALL, Body, CURRENT, Control, Exec, FLUSH, Footprint, NO_CAUSE, State, Status, TEARDOWN, current,
};
use crate::explain::FailureKind;
use crate::scheduler::Scheduler;

type Co = Coroutine<(), (), (), DefaultStack>;

thread_local! {
    /// The message of the last panic inside a simulation, captured by the panic hook.
    static PANIC_MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once per process) a panic hook that keeps simulated threads' panics quiet and
/// records their message; other panics go to the previous hook.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if current().is_none() && !TEARDOWN.with(Cell::get) {
                return previous(info);
            }
            let payload = info.payload_as_str().unwrap_or("Box<dyn Any>");
            let message = match info.location() {
                Some(l) => format!("{payload} (at {}:{})", l.file(), l.line()),
                None => payload.to_owned(),
            };
            PANIC_MESSAGE.with(|m| *m.borrow_mut() = Some(message));
        }));
    });
}

/// The result of one execution.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) failure: Option<FailureKind>,
    /// The thread picked at each step.
    pub(crate) schedule: Vec<usize>,
    /// Steps where a runnable thread was switched away from.
    pub(crate) preemptions: usize,
    pub(crate) trace: Trace,
    /// Each object's type name, by object number.
    pub(crate) objects: Vec<&'static str>,
    /// How many threads ran.
    pub(crate) threads: usize,
    /// Each thread's name, if it was given one (collected for failing or recorded runs).
    pub(crate) names: Vec<Option<String>>,
    /// The scheduler abandoned the execution (it would repeat an explored one).
    pub(crate) abandoned: bool,
}

/// Runs executions, reusing coroutine stacks between them.
pub(crate) struct Runner {
    pool: Vec<DefaultStack>,
    stack_size: usize,
    max_steps: usize,
    /// Buffers of a finished execution, reused by the next one.
    spare: (Trace, Vec<usize>),
    /// The last execution's state, reused (with its allocations) by the next one.
    exec: Option<Box<Exec>>,
    /// The coroutines of the running execution, by thread.
    cos: Vec<Option<Co>>,
    /// Whether executions record their trace.
    pub(crate) record: bool,
    /// Whether non-SeqCst stores go through store buffers (weak memory).
    pub(crate) weak: bool,
    /// Whether timed waits may time out at any step (see `Exec::timeouts`).
    pub(crate) timeouts: bool,
    /// The RC11 memory model's state, when atomics follow RC11: lent to each execution.
    pub(crate) rc11: Option<Box<super::rc11::Rc11>>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("stacks", &self.pool.len())
            .finish_non_exhaustive()
    }
}

impl Runner {
    pub(crate) fn new(stack_size: usize, max_steps: usize) -> Self {
        install_panic_hook();
        Runner {
            pool: Vec::new(),
            stack_size,
            max_steps,
            spare: (Vec::new(), Vec::new()),
            exec: None,
            cos: Vec::new(),
            record: true,
            weak: false,
            timeouts: false,
            rc11: None,
        }
    }

    fn stack(&mut self) -> DefaultStack {
        match self.pool.pop() {
            Some(s) => s,
            None => match DefaultStack::new(self.stack_size) {
                Ok(s) => s,
                Err(e) => panic!("lockstep-sim: cannot allocate a coroutine stack: {e}"),
            },
        }
    }

    fn start(&mut self, tid: usize, body: Box<dyn FnOnce()>) -> Co {
        let stack = self.stack();
        Coroutine::with_stack(stack, move |y: &Yielder<(), ()>, ()| {
            thread_main(tid, y, body)
        })
    }

    /// Runs `f` once under `scheduler`.
    pub(crate) fn run(
        &mut self,
        f: &dyn Fn(),
        origin: &'static Location<'static>,
        scheduler: &mut dyn Scheduler,
    ) -> Outcome {
        assert!(
            current().is_none(),
            "lockstep-sim: `check` cannot run inside a simulation"
        );
        // SAFETY: the scheduler is used through this pointer only while `run` runs (by the
        // driver below and by simulated threads, which run only inside `resume` calls made
        // here), and `run` holds the `&mut` borrow for all that time.
        let scheduler: *mut (dyn Scheduler + 'static) = unsafe {
            std::mem::transmute::<*mut dyn Scheduler, *mut (dyn Scheduler + 'static)>(scheduler)
        };
        let mut exec = match self.exec.take() {
            Some(exec) => exec,
            None => Box::new(Exec {
                yielder: Cell::new(std::ptr::null()),
                weak: Cell::new(false),
                timeouts: Cell::new(false),
                rc11: RefCell::new(None),
                rc11_on: Cell::new(false),
                steps: super::watchdog::counter(),
                state: RefCell::new(State::new(origin, Vec::new(), self.record)),
                control: RefCell::new(Control {
                    scheduler,
                    max_steps: self.max_steps,
                    starting: true,
                    footprints: false,
                    exact: false,
                    runnable: Vec::new(),
                    next: Vec::new(),
                    causes: Vec::new(),
                    schedule: Vec::new(),
                    preemptions: 0,
                    prev: None,
                    abandoned: false,
                    decided: None,
                }),
            }),
        };
        {
            let s = exec.state.get_mut();
            s.trace = std::mem::take(&mut self.spare.0);
            s.reset(origin, self.record);
            let c = exec.control.get_mut();
            c.scheduler = scheduler;
            c.max_steps = self.max_steps;
            c.starting = true;
            // SAFETY: as for `scheduler` above: valid for the whole run.
            c.footprints = unsafe { (*scheduler).needs_footprints() };
            // SAFETY: as above.
            c.exact = unsafe { (*scheduler).exact() };
            c.schedule = std::mem::take(&mut self.spare.1);
            c.schedule.clear();
            c.preemptions = 0;
            c.prev = None;
            c.abandoned = false;
            c.decided = None;
            exec.yielder.set(std::ptr::null());
            exec.weak.set(self.weak);
            exec.timeouts.set(self.timeouts);
            exec.rc11_on.set(self.rc11.is_some());
            *exec.rc11.get_mut() = self.rc11.take();
        }
        CURRENT.with(|c| c.set(&*exec));
        crate::context::begin_execution();
        // SAFETY: every coroutine holding this reference finishes or is unwound below, before
        // `run` returns, so the erased lifetime never outlives `f`.
        let f: &'static dyn Fn() =
            unsafe { std::mem::transmute::<&dyn Fn(), &'static dyn Fn()>(f) };
        let mut cos = std::mem::take(&mut self.cos);
        cos.clear();
        exec.state
            .borrow_mut()
            .spawned
            .push_back((0, Body(Box::new(f))));
        loop {
            // Start new threads: each runs to its first operation outside any step.
            exec.control.borrow_mut().starting = true;
            loop {
                let next = exec.state.borrow_mut().spawned.pop_front();
                let Some((tid, body)) = next else { break };
                let co = self.start(tid, body.0);
                cos.push(Some(co));
                exec.state.borrow_mut().current = tid;
                self.resume(&mut cos, tid);
                if exec.state.borrow().failure.is_some() {
                    break;
                }
            }
            if exec.state.borrow().failure.is_some() {
                break;
            }
            exec.control.borrow_mut().starting = false;
            // The thread that parked last may already have picked the next step (see `park`).
            let decided = exec.control.borrow_mut().decided.take();
            let Some(t) = decided.unwrap_or_else(|| decide(&exec)) else {
                break;
            };
            self.resume(&mut cos, t);
            if exec.state.borrow().failure.is_some() {
                break;
            }
        }
        CURRENT.with(|c| c.set(std::ptr::null()));
        TEARDOWN.with(|c| c.set(true));
        for co in cos.iter_mut() {
            if let Some(mut co) = co.take() {
                if !co.done() {
                    // Unwind the parked thread: its destructors run with the simulation
                    // switched off, so instrumented types act as plain ones.
                    co.force_unwind();
                }
                self.pool.push(co.into_stack());
            }
        }
        TEARDOWN.with(|c| c.set(false));
        exec.state.get_mut().statics_dropped_in_teardown();
        // The threads' names head a failure's table: collected only when needed.
        let names = {
            let s = exec.state.get_mut();
            if s.failure.is_some() || s.record {
                crate::context::thread_names(s.threads.len())
            } else {
                Vec::new()
            }
        };
        crate::context::end_execution();
        self.cos = cos;
        self.rc11 = exec.rc11.get_mut().take();
        exec.rc11_on.set(false);
        let outcome = {
            let c = exec.control.get_mut();
            let s = exec.state.get_mut();
            let failure = s.failure.take();
            // Bodies of threads that never started: dropped now, with the simulation off.
            s.spawned.clear();
            // The object types name values in a failure's table: collected only when needed.
            let objects = if failure.is_some() || s.record {
                s.objects.iter().map(|o| o.kind).collect()
            } else {
                Vec::new()
            };
            Outcome {
                failure,
                schedule: std::mem::take(&mut c.schedule),
                preemptions: c.preemptions,
                trace: std::mem::take(&mut s.trace),
                objects,
                threads: s.threads.len(),
                names,
                abandoned: c.abandoned,
            }
        };
        self.exec = Some(exec);
        outcome
    }

    /// Hands a finished execution's buffers back for reuse.
    pub(crate) fn recycle(&mut self, outcome: Outcome) {
        let (mut trace, mut schedule) = (outcome.trace, outcome.schedule);
        trace.clear();
        schedule.clear();
        self.spare = (trace, schedule);
    }

    fn resume(&mut self, cos: &mut [Option<Co>], t: usize) {
        let Some(co) = cos[t].as_mut() else { return };
        if let CoroutineResult::Return(()) = co.resume(())
            && let Some(co) = cos[t].take()
        {
            self.pool.push(co.into_stack());
        }
    }
}

impl Drop for Runner {
    /// The check is over: the statics it used get back the values they held when it began.
    fn drop(&mut self) {
        if let Some(exec) = &mut self.exec {
            exec.state.get_mut().restore_statics();
        }
    }
}

/// Picks the thread that takes the next step, and makes it current: the step's bookkeeping
/// (schedule, preemptions, step count). `None` ends the execution: a deadlock or the step limit
/// (recorded as the failure), or the scheduler abandoned it.
///
/// Called by the driver, or by the parking thread itself (see `park`), with no borrow of the
/// state or the control held.
pub(crate) fn decide(exec: &Exec) -> Option<usize> {
    super::watchdog::step(&exec.steps);
    loop {
        let picked = choose(exec)?;
        if picked < FLUSH {
            return Some(picked);
        }
        // A store buffer flush: not a thread's step, so choose again after it.
        exec.state.borrow_mut().commit_oldest(picked - FLUSH);
    }
}

/// Whether thread `i`, parked, can take its step now (not counting a spinner, which is runnable
/// only through the rules of [`choose`]).
#[inline(always)]
fn can_step(s: &State, i: usize) -> bool {
    let t = &s.threads[i];
    // A thread about to lock a held mutex, or to join an unfinished thread, or waiting for its
    // store buffer (or, for a membarrier, every buffer) to drain, cannot take its step.
    t.status == Status::Runnable
        && t.wants.is_none_or(|m| s.objects[m].held.is_none())
        && (!t.draining || t.buffer.is_empty())
        && (!t.barrier || s.threads.iter().all(|x| x.buffer.is_empty()))
        && match t.next {
            Footprint::Join(child) => s.threads[child].status == Status::Finished,
            _ => true,
        }
}

/// Thread `i`'s next step as the exhaustive schedulers see it, written to `next`, and the step
/// it depends on beyond the thread's own previous one (see [`super::Thread::cause`]).
///
/// Each case writes `next` itself, inlined: a footprint built in a temporary field by field and
/// then copied whole was a stalled load on every step.
#[inline(always)]
fn footprint(s: &State, i: usize, exact: bool, spin_resumed: bool, next: &mut Footprint) -> u32 {
    let t = &s.threads[i];
    match (&t.peek, t.next) {
        (Some(p), Footprint::Object { obj, .. } | Footprint::Wait { obj }) => {
            *next = p.footprint(obj, exact, |memory| s.shared(obj, memory));
        }
        (_, Footprint::Wake { obj, .. }) => {
            *next = Footprint::Wake {
                obj,
                woke: s
                    .threads
                    .iter()
                    .any(|w| matches!(w.status, Status::Futex { obj: o, .. } if o == obj)),
            };
        }
        // A `try_lock` of a held mutex only looks at it.
        (_, Footprint::Lock { obj }) if t.trying && s.objects[obj].held.is_some() => {
            *next = Footprint::Object { obj, write: false };
        }
        (_, Footprint::Local) if spin_resumed => *next = Footprint::SpinResume,
        (_, n) => *next = n,
    }
    match *next {
        Footprint::Lock { obj } => s.objects[obj].released,
        Footprint::Join(child) => s.threads[child].exit_step,
        // Still queued: its step is the timeout, which nothing caused.
        Footprint::Resume { .. } if matches!(t.status, Status::Futex { .. }) => NO_CAUSE,
        _ => t.cause,
    }
}

/// The next step of the flush pseudo-thread of thread `i` (whose buffer is not empty): it
/// commits the oldest buffered store (see `Buffered::cause` for the step it depends on).
#[inline]
fn flush_footprint(s: &State, i: usize) -> (Footprint, u32) {
    match s.threads[i].buffer.front() {
        Some(b) => (b.footprint(), b.cause()),
        None => (Footprint::Local, NO_CAUSE),
    }
}

/// How long the footprint and cause lists are: one entry per thread, and with weak memory one per
/// flush pseudo-thread from `FLUSH` on.
#[inline]
fn slots(exec: &Exec, threads: usize) -> usize {
    if exec.weak.get() {
        FLUSH + threads
    } else {
        threads
    }
}

/// One choice of [`decide`]: a thread (made current, with the step's bookkeeping) or, with weak
/// memory, `FLUSH + t` for a flush of thread `t`'s oldest buffered store (counted as a step).
fn choose(exec: &Exec) -> Option<usize> {
    let mut c = exec.control.borrow_mut();
    let c = &mut *c;
    let mut s = exec.state.borrow_mut();
    let s = &mut *s;
    // SAFETY: see `Runner::run`: the scheduler outlives every call of `decide` of the run.
    let scheduler = unsafe { &mut *c.scheduler };
    // A thread unwinding from a panic (until `catch_unwind` or its end) runs alone while it can:
    // the panic count is the OS thread's, so another simulated thread run meanwhile would see
    // `std::thread::panicking()` (and poison the locks it drops), and a panic of its own would
    // be a panic while panicking, which aborts the process.
    let unwinding = std::thread::panicking()
        && !super::tearing_down()
        && s.current < s.threads.len()
        && can_step(s, s.current);
    // The step the optimal search replays, if it is one (asked once).
    let planned = if c.exact && s.step < c.max_steps {
        scheduler.planned()
    } else {
        None
    };
    if let Some(t) = planned
        && t >= FLUSH
        && t - FLUSH < s.threads.len()
        && s.flush_ready(t - FLUSH)
    {
        // As below, for a flush.
        let n = slots(exec, s.threads.len());
        c.next.resize(n, Footprint::Local);
        c.causes.resize(n, NO_CAUSE);
        (c.next[t], c.causes[t]) = flush_footprint(s, t - FLUSH);
        let Some(picked) = scheduler.pick(&[t], c.prev, &c.next, &c.causes) else {
            gave_up(scheduler, c, s);
            return None;
        };
        debug_assert_eq!(picked, t);
        c.schedule.push(t);
        s.step += 1;
        return Some(t);
    }
    if let Some(t) = planned
        && t < s.threads.len()
        && can_step(s, t)
        && (!unwinding || t == s.current)
    {
        // The optimal search replays a step it already chose: only that thread's step is
        // looked at (the picks are the same as through the full list below).
        let n = slots(exec, s.threads.len());
        c.next.resize(n, Footprint::Local);
        c.causes.resize(n, NO_CAUSE);
        c.causes[t] = footprint(s, t, true, false, &mut c.next[t]);
        let prev_could_run = c.prev.is_some_and(|p| p != t && can_step(s, p));
        let Some(picked) = scheduler.pick(&[t], c.prev, &c.next, &c.causes) else {
            gave_up(scheduler, c, s);
            return None;
        };
        debug_assert_eq!(picked, t);
        return Some(took(exec, c, s, t, prev_could_run));
    }
    if exec.rc11_on.get() {
        let m = exec.rc11.borrow();
        let m = m.as_ref().expect("the RC11 state is set while rc11_on is");
        if m.moot {
            // The graph breaks atomicity: it was run only for its revisits.
            c.abandoned = true;
            return None;
        }
        if let Some(message) = m.unsupported.clone() {
            s.failure = Some(FailureKind::Unsupported { message });
            return None;
        }
    }
    c.runnable.clear();
    // Whether the spinners in the list look again because nothing else can run, rather than
    // because another thread wrote what they looked at.
    let mut fallback = false;
    for (i, t) in s.threads.iter().enumerate() {
        match t.status {
            Status::Runnable if can_step(s, i) => c.runnable.push(i),
            // With explored timeouts a timed wait may end at any step.
            Status::Futex { timed: true, .. } if exec.timeouts.get() => c.runnable.push(i),
            Status::Spinning { writes, .. }
                if t.watch.iter().any(|&o| s.objects[o].written > writes) =>
            {
                c.runnable.push(i)
            }
            _ => {}
        }
    }
    if exec.rc11_on.get() {
        let m = exec.rc11.borrow();
        let m = m.as_ref().expect("the RC11 state is set while rc11_on is");
        if m.exploring() {
            // The exhaustive RC11 search replays a graph in an order of its own: a timed wait
            // that timed out in the graph (its wake-up has no wake) times out again, though
            // other threads may be able to run at this point of the replay.
            let mut due = false;
            for (i, t) in s.threads.iter_mut().enumerate() {
                if matches!(t.status, Status::Futex { timed: true, .. }) && m.times_out_next(i) {
                    t.status = Status::Runnable;
                    t.timed_out = true;
                    t.cause = ALL;
                    c.runnable.push(i);
                    due = true;
                }
            }
            if due {
                c.runnable.sort_unstable();
            }
        }
    }
    if exec.weak.get() {
        // A store buffer may flush its oldest store now unless stores to the same atomic must
        // commit before it (after every thread, so the list stays ascending).
        for i in 0..s.threads.len() {
            if s.flush_ready(i) {
                c.runnable.push(FLUSH + i);
            }
        }
    }
    if unwinding {
        let current = s.current;
        c.runnable.retain(|&i| i == current || i >= FLUSH);
    }
    if c.runnable.is_empty() && exec.rc11_on.get() {
        let mut m = exec.rc11.borrow_mut();
        let m = m.as_mut().expect("the RC11 state is set while rc11_on is");
        if s.threads
            .iter()
            .any(|t| matches!(t.status, Status::Spinning { .. }))
        {
            // Under RC11 a spinning thread is blocked for good (see `rt::spin`): the execution
            // is a blocked one, counted apart.
            m.blocked = true;
            c.abandoned = true;
            return None;
        }
    }
    if c.runnable.is_empty() {
        // Nothing else can run: the spinning threads that have waited longest look again (in
        // turn, so that a scheduler that favours one spinner cannot starve the others).
        let oldest = s
            .threads
            .iter()
            .filter_map(|t| match t.status {
                Status::Spinning { since, .. } => Some(since),
                _ => None,
            })
            .min();
        fallback = oldest.is_some();
        for (i, t) in s.threads.iter_mut().enumerate() {
            if let Status::Spinning { since, .. } = t.status
                && Some(since) == oldest
            {
                // It looks again because nothing else could run: after everything so far.
                t.cause = ALL;
                c.runnable.push(i);
            }
        }
    }
    if c.runnable.is_empty() {
        // Time passes only when nothing else can happen: timed waits expire, after everything
        // that happened so far.
        for (i, t) in s.threads.iter_mut().enumerate() {
            if let Status::Futex { timed: true, .. } = t.status {
                t.status = Status::Runnable;
                t.timed_out = true;
                t.cause = ALL;
                c.runnable.push(i);
            }
        }
    }
    if c.runnable.is_empty() {
        let blocked: Vec<usize> = (0..s.threads.len())
            .filter(|&i| s.threads[i].status != Status::Finished)
            .collect();
        if !blocked.is_empty() {
            s.push_blocked(&blocked);
            s.failure = Some(FailureKind::Deadlock { blocked });
        }
        return None;
    }
    if s.step >= c.max_steps {
        s.failure = Some(FailureKind::StepLimit { steps: s.step });
        return None;
    }
    if exec.rc11_on.get() {
        let mut m = exec.rc11.borrow_mut();
        let m = m.as_mut().expect("the RC11 state is set while rc11_on is");
        if m.exploring() {
            // The RC11 search picks the threads itself (see `rc11::Rc11::pick`).
            let Some(t) = m.pick(&c.runnable) else {
                if let Some(message) = m.unsupported.clone() {
                    s.failure = Some(FailureKind::Unsupported { message });
                } else {
                    c.abandoned = true;
                }
                return None;
            };
            let prev_could_run = c.prev.is_some_and(|p| p != t && c.runnable.contains(&p));
            return Some(took(exec, c, s, t, prev_could_run));
        }
    }
    if c.footprints {
        // The optimal search reads only runnable threads' entries (it keeps the footprints of
        // the threads asleep itself): the others keep stale values. The sleep-set search looks
        // at every thread.
        let n = s.threads.len();
        let len = slots(exec, n);
        c.next.resize(len, Footprint::Local);
        c.causes.resize(len, super::NO_CAUSE);
        let exact = c.exact;
        let all = 0..if exact { 0 } else { n };
        for i in c
            .runnable
            .iter()
            .copied()
            .filter(|&i| exact && i < n)
            .chain(all)
        {
            let resumed = !fallback && matches!(s.threads[i].status, Status::Spinning { .. });
            c.causes[i] = footprint(s, i, exact, resumed, &mut c.next[i]);
        }
        // Flushes: those that can run (every one, for the sleep-set search).
        for i in 0..if len > n { n } else { 0 } {
            if !s.threads[i].buffer.is_empty() {
                (c.next[FLUSH + i], c.causes[FLUSH + i]) = flush_footprint(s, i);
            }
        }
    }
    let Some(t) = scheduler.pick(&c.runnable, c.prev, &c.next, &c.causes) else {
        gave_up(scheduler, c, s);
        return None;
    };
    debug_assert!(c.runnable.contains(&t));
    if t >= FLUSH {
        // A flush is not a thread's step: it neither preempts nor becomes the previous thread.
        c.schedule.push(t);
        s.step += 1;
        return Some(t);
    }
    let prev_could_run = c.prev.is_some_and(|p| p != t && c.runnable.contains(&p));
    Some(took(exec, c, s, t, prev_could_run))
}

/// The scheduler picked no thread: the execution is abandoned, or fails if the program did
/// not repeat an earlier execution (the search cannot go on).
#[cold]
fn gave_up(scheduler: &dyn Scheduler, c: &mut Control, s: &mut State) {
    match scheduler.diverged() {
        Some(message) => s.failure = Some(FailureKind::Unsupported { message }),
        None => c.abandoned = true,
    }
}

/// The bookkeeping of thread `t` taking the step just chosen; `prev_could_run`: the thread that
/// took the previous step could have taken this one (so this is a preemption).
#[inline]
fn took(exec: &Exec, c: &mut Control, s: &mut State, t: usize, prev_could_run: bool) -> usize {
    c.schedule.push(t);
    s.step += 1;
    if prev_could_run {
        c.preemptions += 1;
    }
    c.prev = Some(t);
    s.current = t;
    exec.yielder.set(s.threads[t].yielder);
    match s.threads[t].status {
        Status::Spinning { .. } => s.threads[t].status = Status::Runnable,
        Status::Futex { .. } => {
            // Picked while still waiting (explored timeouts): its timeout.
            s.threads[t].status = Status::Runnable;
            s.threads[t].timed_out = true;
        }
        _ => {}
    }
    s.threads[t].cause = NO_CAUSE;
    t
}

/// The body of every simulated thread's coroutine.
fn thread_main(tid: usize, yielder: &Yielder<(), ()>, body: Box<dyn FnOnce()>) {
    if let Some(exec) = current() {
        exec.state.borrow_mut().threads[tid].yielder = yielder;
        exec.yielder.set(yielder);
    }
    let result = catch_unwind(AssertUnwindSafe(body));
    if TEARDOWN.with(Cell::get) {
        if let Err(payload) = result {
            resume_unwind(payload);
        }
        return;
    }
    let Some(exec) = current() else { return };
    if result.is_ok() {
        let origin = exec.state.borrow().threads[tid].origin;
        super::exit(exec, origin);
    }
    let mut s = exec.state.borrow_mut();
    let s = &mut *s;
    s.current = tid;
    let origin = s.threads[tid].origin;
    match result {
        Ok(()) => {
            s.threads[tid].status = Status::Finished;
            // The step it finished in: joiners depend on it.
            s.threads[tid].exit_step = s.step_now();
            s.push(None, Op::Finish, origin);
        }
        Err(payload) => {
            let message = PANIC_MESSAGE
                .with(|m| m.borrow_mut().take())
                .unwrap_or_else(|| {
                    payload
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "Box<dyn Any>".to_owned())
                });
            s.threads[tid].status = Status::Finished;
            // The panic's own location is in the message; the row names the thread's last
            // operation, which is where the failing check read its value.
            let (last, caller) = s
                .trace
                .iter()
                .rev()
                .find(|e| e.thread == tid)
                .map_or((origin, None), |e| (e.location, e.caller.clone()));
            s.push(None, Op::Panic, last);
            if let Some(e) = s.trace.last_mut()
                && e.op == Op::Panic
            {
                e.caller = caller;
            }
            s.failure = Some(FailureKind::Panic {
                thread: tid,
                message,
            });
        }
    }
}
