// SPDX-License-Identifier: LGPL-2.1-or-later
//! Builds libmsgpool.a from ../../userlib/msgpool.c into OUT_DIR and links
//! it statically.  The object is compiled here rather than by
//! `make -C ../../userlib` so that cargo never writes into the source tree
//! (where userlib's own build, perhaps running at the same time, keeps its
//! objects) and the crate needs no installed libmsgpool.  $CC and $AR are
//! honoured, as make would.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn run(cmd: &mut Command) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(status.success(), "{cmd:?} failed: {status}");
}

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let top = manifest.join("../..");
    let userlib = top.join("userlib");
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let cc = env::var("CC").unwrap_or_else(|_| "cc".into());
    let ar = env::var("AR").unwrap_or_else(|_| "ar".into());
    let obj = out.join("msgpool.o");

    for f in ["userlib/msgpool.c", "userlib/msgpool.h", "uapi/linux/msgpool.h"] {
        println!("cargo:rerun-if-changed={}", top.join(f).display());
    }
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rerun-if-env-changed=AR");
    // The flags of userlib/Makefile, so the library is the one it builds.
    run(Command::new(&cc)
        .args(["-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Werror"])
        .arg("-I")
        .arg(&userlib)
        .arg("-I")
        .arg(top.join("uapi"))
        .arg("-c")
        .arg("-o")
        .arg(&obj)
        .arg(userlib.join("msgpool.c")));
    let lib = out.join("libmsgpool.a");
    let _ = std::fs::remove_file(&lib);
    run(Command::new(&ar).arg("rcs").arg(&lib).arg(&obj));
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=msgpool");
}
