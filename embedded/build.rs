//! Puts the board's memory map (`memory.x`, read by cortex-m-rt's `link.x`) on the linker's
//! search path: the lm3s6965 for Cortex-M3 builds, the nRF51 of the micro:bit for Cortex-M0.
use std::{env, fs, path::PathBuf};

fn main() {
    let target = env::var("TARGET").unwrap();
    let memory = if target.starts_with("thumbv6m") {
        // nRF51822 (micro:bit): 256 KiB flash, 16 KiB RAM.
        "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM : ORIGIN = 0x20000000, LENGTH = 16K\n}\n"
    } else {
        // LM3S6965: 256 KiB flash, 64 KiB RAM.
        "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM : ORIGIN = 0x20000000, LENGTH = 64K\n}\n"
    };
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    fs::write(out.join("memory.x"), memory).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=build.rs");
}
