//! The `auditchain` binary as a user runs it: exit statuses, times and
//! durations on the command line, and output into a pipe that closes early.

mod support;

use auditchain::engine::Engine;
use auditchain::engine::config::EngineConfig;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use support::*;

fn auditchain() -> Command {
    Command::new(env!("CARGO_BIN_EXE_auditchain"))
}

/// A clean, ended stream of `records` records in `dir/audit.jsonl`.
fn stream(dir: &Path, records: u64) {
    let e = Engine::new(EngineConfig::new("cli-host"), T0).unwrap();
    let mut reqs: Vec<_> =
        (0..records / 100).map(|b| deliver(&e, request((0..100).map(|i| audit_record(b * 100 + i))), T0)).collect();
    reqs.push(close_delivered(&e, T0));
    std::fs::write(dir.join("audit.jsonl"), json_lines(&reqs)).unwrap();
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    let d = tempfile::tempdir().unwrap();
    stream(d.path(), 20_000);
    // `auditchain canonical … | head -1`: far more output than a pipe holds.
    let mut child = auditchain()
        .arg("canonical")
        .arg(d.path().join("audit.jsonl"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "nothing to say to nobody: {}", String::from_utf8_lossy(&out.stderr));
}

fn verify(dir: &Path, extra: &[&str]) -> std::process::Output {
    auditchain().arg("verify").arg(dir).args(extra).output().unwrap()
}

#[test]
fn times_take_offsets_and_durations_take_the_collectors_units() {
    let d = tempfile::tempdir().unwrap();
    stream(d.path(), 100);
    for ok in [
        vec!["--as-of", "2026-12-01T15:00:00+01:00"],
        vec!["--as-of", "2026-12-01T14:00:00Z", "--max-delay", "500ms"],
        vec!["--max-delay", "1h30m"],
    ] {
        let out = verify(d.path(), &ok);
        assert_eq!(out.status.code(), Some(0), "{ok:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    for (bad, says) in [
        (vec!["--as-of", "2026-02-31T00:00:00Z"], "--as-of"),
        (vec!["--as-of", "2026-11-22T04:00:00"], "offset"),
        (vec!["--max-delay", "5"], "--max-delay"),
        (vec!["--max-delay=-1s"], "negative"),
    ] {
        let out = verify(d.path(), &bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{bad:?}: {err}");
    }
}

#[test]
fn exit_statuses_say_pass_fail_and_input_error() {
    let d = tempfile::tempdir().unwrap();
    stream(d.path(), 100);
    assert_eq!(verify(d.path(), &[]).status.code(), Some(0));
    let missing = d.path().join("nothing-here");
    assert_eq!(auditchain().arg("verify").arg(&missing).output().unwrap().status.code(), Some(2));
    let text = std::fs::read_to_string(d.path().join("audit.jsonl")).unwrap();
    std::fs::write(d.path().join("audit.jsonl"), text.replacen("user-7", "user-8", 1)).unwrap();
    assert_eq!(verify(d.path(), &[]).status.code(), Some(1));
    assert_eq!(auditchain().arg("--bogus").output().unwrap().status.code(), Some(2));
    assert_eq!(auditchain().arg("--help").output().unwrap().status.code(), Some(0));
}
