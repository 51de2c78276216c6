//! The import rules of docs/ARCHITECTURE.md, checked on the source tree:
//! each layer may use only the layers below it, and the C ABI lives in
//! src/ffi alone. A violation names the file and line.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Lines of the layer's files (outside comments) that contain `needle`.
fn offending(layer: &str, allowed: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in rust_files(&src().join(layer)) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (at, _) in code.match_indices("crate::") {
                let path = &code[at + "crate::".len()..];
                if !allowed.iter().any(|a| path.starts_with(a)) {
                    found.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
                }
            }
            // A module climbing out of its layer with super::super, or a
            // layer's root module naming another layer through super.
            let other_layer = ["core", "engine", "ffi", "verify", "gate", "cli"]
                .iter()
                .filter(|l| !allowed.iter().any(|a| a.trim_end_matches("::") == **l))
                .any(|l| code.contains(&format!("super::{l}")));
            if code.contains("super::super") || other_layer {
                found.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn core_imports_no_other_layer() {
    assert_eq!(offending("core", &["core::"]), Vec::<String>::new());
}

#[test]
fn engine_imports_only_core() {
    assert_eq!(offending("engine", &["core::", "engine::"]), Vec::<String>::new());
}

#[test]
fn verify_imports_core_never_engine_or_ffi() {
    assert_eq!(offending("verify", &["core::", "verify::"]), Vec::<String>::new());
}

#[test]
fn ffi_imports_engine_gate_and_core_never_verify() {
    assert_eq!(offending("ffi", &["core::", "engine::", "gate::", "ffi::"]), Vec::<String>::new());
}

#[test]
fn gate_imports_only_core() {
    assert_eq!(offending("gate", &["core::", "gate::"]), Vec::<String>::new());
}

#[test]
fn the_c_abi_lives_in_ffi_alone() {
    let mut found = Vec::new();
    for file in rust_files(&src()) {
        if file.starts_with(src().join("ffi")) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if ["extern \"C\"", "no_mangle", "repr(C)", "repr(u32)", "repr(u8)"].iter().any(|m| code.contains(m)) {
                found.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert_eq!(found, Vec::<String>::new());
}

#[test]
fn the_checks_see_the_tree() {
    // Guard against the checks passing vacuously on a moved tree.
    for layer in ["core", "engine", "ffi", "verify", "gate", "cli"] {
        assert!(rust_files(&src().join(layer)).len() >= 2, "src/{layer} has its modules");
    }
    assert!(!offending("verify", &["core::"]).is_empty(), "verify does import itself through crate::verify");
}
