//! Generates the C header from the C ABI in src/ffi with cbindgen. Every
//! `#[repr(C)]` type and `extern "C"` function lives in src/ffi (a test in
//! tests/layers.rs holds that), so src/ffi is all this build script watches.
//!
//! The header is always generated into OUT_DIR; tests/header.rs compares it
//! with the committed include/auditchain.h and fails on drift. Writing the
//! committed copy is explicit: `make header` (AUDITCHAIN_WRITE_HEADER=1).

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=AUDITCHAIN_WRITE_HEADER");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    // The C ABI is exactly the files of src/ffi: cbindgen reads those and
    // nothing else of the crate.
    let mut ffi_files: Vec<PathBuf> = std::fs::read_dir(crate_dir.join("src/ffi"))
        .expect("src/ffi exists")
        .map(|e| e.expect("src/ffi is readable").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    ffi_files.sort();
    let mut builder = cbindgen::Builder::new().with_config(config);
    for f in &ffi_files {
        builder = builder.with_src(f);
    }
    let header = builder.generate().expect("cbindgen can read src/ffi");
    let mut bytes = Vec::new();
    header.write(&mut bytes);
    std::fs::write(out_dir.join("auditchain.h"), &bytes).expect("OUT_DIR is writable");
    if std::env::var_os("AUDITCHAIN_WRITE_HEADER").is_some() {
        let committed = crate_dir.join("include").join("auditchain.h");
        // Write only on change, so that an unchanged header keeps its mtime
        // and does not trigger rebuilds of the C and Go code including it.
        if std::fs::read(&committed).ok().as_deref() != Some(&bytes[..]) {
            std::fs::write(&committed, &bytes).expect("include/ is writable");
        }
    }
}
