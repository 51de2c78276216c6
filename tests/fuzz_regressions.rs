//! Every input a fuzz target once crashed or hung on, kept under
//! fuzz/regressions/<target>/, replayed through the target's own check
//! (fuzz/src/checks.rs) by plain `cargo test`: a regression fails CI even
//! where no nightly toolchain can run the fuzzers. The committed seed
//! corpora (fuzz/corpus/<target>/) are replayed too.

mod support;

#[path = "../fuzz/src/checks.rs"]
mod checks;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in ["regressions", "corpus"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).unwrap();
            let r = std::panic::catch_unwind(|| check(&data));
            assert!(r.is_ok(), "{target}: {} fails its check again", f.display());
            n += 1;
        }
    }
    assert!(n > 0, "no inputs for {target}");
}

#[test]
fn canonical_proto() {
    replay("canonical_proto", checks::canonical_proto);
}

#[test]
fn canonical_json() {
    replay("canonical_json", checks::canonical_json);
}

#[test]
fn canonical_differential() {
    replay("canonical_differential", checks::canonical_differential);
}

#[test]
fn verify() {
    replay("verify", checks::verify);
}

#[test]
fn parsers() {
    replay("parsers", checks::parsers);
}

#[test]
fn json_differential() {
    replay("json_differential", checks::json_differential);
}
