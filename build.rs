//! Generates include/auditchain.h from the C ABI in src/ffi with cbindgen.
//! The header is committed; tests/header.rs fails when it drifts from what
//! this script generates.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=src/error.rs");
    println!("cargo:rerun-if-changed=src/stamps.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    let header = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen can read the crate");
    let out = crate_dir.join("include").join("auditchain.h");
    // Write only on change so that an unchanged header keeps its mtime and
    // does not trigger rebuilds of C and Go code that include it.
    let mut bytes = Vec::new();
    header.write(&mut bytes);
    if std::fs::read(&out).ok().as_deref() != Some(&bytes[..]) {
        std::fs::write(&out, &bytes).expect("include/ is writable");
    }
}
