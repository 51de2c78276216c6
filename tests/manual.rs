//! What a user's shell and `man` get from the CLI: the version line, shell
//! completions that the shells parse, and man pages that render.

use std::path::Path;
use std::process::{Command, Stdio};

fn auditchain(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_auditchain")).args(args).output().unwrap();
    assert!(out.status.success(), "auditchain {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn installed(tool: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {tool}")).stdout(Stdio::null()).status().unwrap().success()
}

/// Runs `shell -n` (parse, do not execute) on a script.
fn parses(shell: &str, script: &Path) {
    let out = Command::new(shell).arg("-n").arg(script).output().unwrap();
    assert!(out.status.success(), "{shell} -n {}: {}", script.display(), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_version_names_the_spec_and_the_canonicalisation() {
    let out = auditchain(&["--version"]);
    let expected = format!(
        "auditchain {} (spec {}, {})\n",
        env!("CARGO_PKG_VERSION"),
        auditchain::core::SPEC_VERSION,
        auditchain::core::canonical::CANONICALIZATION
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
    assert_eq!(expected, "auditchain 0.1.0 (spec 1, otlp-jcs-v1)\n");
    // The spec the crate says it implements is the one in docs/SPEC.md.
    let spec = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/SPEC.md")).unwrap();
    assert!(spec.starts_with(&format!("# auditchain specification, version {}\n", auditchain::core::SPEC_VERSION)));
}

#[test]
fn completions_parse_in_every_installed_shell() {
    let d = tempfile::tempdir().unwrap();
    for (shell, file) in [("bash", "auditchain.bash"), ("zsh", "_auditchain"), ("fish", "auditchain.fish")] {
        let script = auditchain(&["completions", shell]).stdout;
        let text = String::from_utf8(script).unwrap();
        for sub in ["verify", "canonical", "keygen", "completions", "prove", "verify-proof"] {
            assert!(text.contains(sub), "{shell} completion knows {sub}");
        }
        assert!(text.contains("public-key"), "{shell} completion knows the verify flags");
        assert!(text.contains("witness-policy"), "{shell} completion knows the witness flags");
        for flag in ["since", "until", "stream", "summary-out", "merge"] {
            assert!(text.contains(flag), "{shell} completion knows --{flag}");
        }
        let path = d.path().join(file);
        std::fs::write(&path, &text).unwrap();
        if shell == "bash" || installed(shell) {
            parses(shell, &path);
        } else {
            eprintln!("{shell} not installed: its completion script is not parsed");
        }
    }
    // A shell that does not exist is a usage error.
    let out = Command::new(env!("CARGO_BIN_EXE_auditchain")).args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_pages_render() {
    let d = tempfile::tempdir().unwrap();
    let listed = String::from_utf8(auditchain(&["man", "--out-dir", d.path().to_str().unwrap()]).stdout).unwrap();
    let mut pages: Vec<String> =
        std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    pages.sort();
    assert_eq!(
        pages,
        [
            "auditchain-canonical.1",
            "auditchain-completions.1",
            "auditchain-keygen.1",
            "auditchain-pkcs11-pubkey.1",
            "auditchain-prove.1",
            "auditchain-verify-proof.1",
            "auditchain-verify.1",
            "auditchain.1"
        ]
    );
    assert_eq!(listed.lines().count(), pages.len());
    let verify = std::fs::read_to_string(d.path().join("auditchain-verify.1")).unwrap();
    for section in [".TH auditchain-verify 1", ".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS"] {
        assert!(verify.contains(section), "auditchain-verify.1 has {section}");
    }
    assert!(verify.contains("0.1.0 (spec 1, otlp\\-jcs\\-v1)"), "the page carries the version");
    for flag in ["\\-\\-since", "\\-\\-until", "\\-\\-stream", "\\-\\-summary\\-out", "\\-\\-merge"] {
        assert!(verify.contains(flag), "auditchain-verify.1 documents {flag}");
    }
    let top = std::fs::read_to_string(d.path().join("auditchain.1")).unwrap();
    assert!(top.contains("auditchain\\-verify(1)"), "auditchain.1 points at the subcommand pages");
    // Rendered as a reader sees it.
    let render = if installed("groff") {
        Command::new("groff").args(["-man", "-Tutf8", "-ww", "-z"]).arg(d.path().join("auditchain-verify.1")).output()
    } else if installed("man") {
        Command::new("man").arg("-l").arg(d.path().join("auditchain-verify.1")).env("MANPAGER", "cat").output()
    } else {
        eprintln!("neither groff nor man installed: the pages' structure was checked, not their rendering");
        return;
    };
    let out = render.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "rendering warns: {}", String::from_utf8_lossy(&out.stderr));
    if installed("groff") {
        let out = Command::new("groff")
            .args(["-man", "-Tascii", "-P-cbou"])
            .arg(d.path().join("auditchain-verify.1"))
            .output();
        let text = String::from_utf8(out.unwrap().stdout).unwrap();
        // Justified text: compare words, not spacing.
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text.contains("auditchain verify") && text.contains("--public-key"), "{text}");
    }
}
