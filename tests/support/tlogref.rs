//! The independent RFC 6962 implementation the differential tests use:
//! golang.org/x/mod/sumdb/tlog, driven by tests/merkle/main.go (its own
//! module, pinned), built with the Go toolchain on first use
//! (`AUDITCHAIN_TLOGREF=<binary>` to use a built one).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The tlogref binary.
pub fn tlogref() -> PathBuf {
    if let Some(p) = std::env::var_os("AUDITCHAIN_TLOGREF") {
        return p.into();
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/merkle");
    // option_env: examples include tests/support too, and have no such directory.
    let out = Path::new(option_env!("CARGO_TARGET_TMPDIR").unwrap_or("target/tmp")).join("tlogref");
    let go = std::env::var("GO").unwrap_or_else(|_| "go".into());
    let run = |args: &[&str]| {
        Command::new(&go)
            .args(args)
            .current_dir(&src)
            .env("GOWORK", "off")
            .env("GOFLAGS", "-mod=readonly")
            .output()
            .expect("the differential test needs the Go toolchain (go on PATH, or AUDITCHAIN_TLOGREF)")
    };
    let vet = run(&["vet", "."]);
    assert!(vet.status.success(), "go vet tests/merkle: {}", String::from_utf8_lossy(&vet.stderr));
    let fmt = Command::new("gofmt").args(["-l", "."]).current_dir(&src).output().expect("gofmt");
    assert!(fmt.status.success() && fmt.stdout.is_empty(), "gofmt: {}", String::from_utf8_lossy(&fmt.stdout));
    let build = run(&["build", "-o", out.to_str().unwrap(), "."]);
    assert!(build.status.success(), "go build tests/merkle: {}", String::from_utf8_lossy(&build.stderr));
    out
}
