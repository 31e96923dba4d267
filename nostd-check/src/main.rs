//! Uses lockstep-core's primitives from a program with no std, no libc and no start files.
//!
//! Build: `cargo rustc --release -- -C link-arg=-nostartfiles -C link-arg=-nostdlib -C link-arg=-static`.
//! Running it exits with status 0 when every check below held, and 1 otherwise.
#![no_std]
#![no_main]

use core::panic::PanicInfo;

use lockstep_core::channel::Spsc;
use lockstep_core::{Condvar, Event, Mutex, Queue, Semaphore, Spin};

static COUNT: Mutex<i64, Spin> = Mutex::new(0);
static SLOTS: Semaphore<Spin> = Semaphore::bounded(2);
static READY: Event<Spin> = Event::new();
static CV: Condvar<Spin> = Condvar::new();
static JOBS: Queue<u32, 3, Spin> = Queue::new();
static RING: Spsc<u32, 4, Spin> = Spsc::new();

/// The channels: FIFO, full and empty reported, the value handed back.
fn channel_checks() -> bool {
    let (mut tx, mut rx) = match RING.try_split() {
        Some(halves) => halves,
        None => return false,
    };
    let mut ok = true;
    for i in 0..10 {
        ok &= JOBS.try_send(i).is_ok() && tx.try_send(i).is_ok();
        ok &= JOBS.try_recv() == Ok(i) && rx.try_recv() == Ok(i);
    }
    ok &= (0..3).all(|i| JOBS.try_send(i).is_ok());
    ok &= JOBS.try_send(9).is_err_and(|e| e.into_inner() == 9);
    JOBS.close();
    ok && JOBS.recv() == Ok(0)
}

fn checks() -> bool {
    for _ in 0..1000 {
        let mut c = COUNT.lock();
        *c += 100;
        *c -= 100;
    }
    let permit = SLOTS.acquire_permit();
    let over = SLOTS.release().is_ok() && SLOTS.release().is_err();
    permit.forget();
    READY.set();
    READY.wait();
    CV.notify_all();
    *COUNT.lock() == 0 && over && READY.is_set() && COUNT.try_lock().is_some()
}

/// The entry point the linker looks for when there are no start files.
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    exit(if checks() && channel_checks() { 0 } else { 1 })
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn exit(code: i32) -> ! {
    // SAFETY: the `exit_group` system call (231) takes one integer and never returns.
    unsafe {
        core::arch::asm!("syscall", in("rax") 231, in("rdi") code, options(noreturn));
    }
}

#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
fn exit(code: i32) -> ! {
    // SAFETY: the `exit_group` system call (94) takes one integer and never returns.
    unsafe {
        core::arch::asm!("svc 0", in("x8") 94, in("x0") code, options(noreturn));
    }
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    exit(101)
}
