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

fn json_report(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn nothing_verified_is_incomplete_in_json_too() {
    let d = tempfile::tempdir().unwrap();
    // A mistyped path: before, the human output said INCOMPLETE (exit 2)
    // and --format json "verdict": "pass".
    let out = auditchain().args(["verify", "--format", "json"]).arg(d.path().join("typo")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let r = json_report(&out);
    assert_eq!((&r["verdict"], &r["version"]), (&serde_json::json!("incomplete"), &serde_json::json!(2)));
    // An empty directory, and only unstamped records allowed as such.
    let out = auditchain().args(["verify", "--format", "json"]).arg(d.path()).output().unwrap();
    assert_eq!((out.status.code(), json_report(&out)["verdict"].as_str()), (Some(2), Some("incomplete")));
    std::fs::write(d.path().join("a.jsonl"), json_lines(&[request([audit_record(1)])])).unwrap();
    let out = auditchain().args(["verify", "--format", "json", "--allow-unstamped"]).arg(d.path()).output().unwrap();
    assert_eq!((out.status.code(), json_report(&out)["verdict"].as_str()), (Some(2), Some("incomplete")));
}

#[test]
fn an_as_of_before_the_evidence_is_incomplete_not_a_pass() {
    let d = tempfile::tempdir().unwrap();
    stream(d.path(), 100);
    let out = verify(d.path(), &["--as-of", "1970-01-01T00:00:00Z", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let r = json_report(&out);
    assert_eq!(r["verdict"], "incomplete");
    assert_eq!(r["errors"][0]["file"], "--as-of");
    let out = verify(d.path(), &["--as-of", "1970-01-01T00:00:00Z"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--as-of: 1970-01-01T00:00:00Z is before the newest") && text.contains("INCOMPLETE"),
        "{text}"
    );
}

#[test]
fn expected_stream_names_and_retired_ones_on_the_command_line() {
    let d = tempfile::tempdir().unwrap();
    stream(d.path(), 100);
    let out = verify(d.path(), &["--expect-stream-name", "cli-host", "--expect-stream-name", "other"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("no stream named other"), "{text}");
    // cli-host's stream ended: expected, it must be retired.
    assert!(text.contains("the newest stream of cli-host ended cleanly"), "{text}");
    let out = verify(d.path(), &["--expect-stream-name", "cli-host", "--retired", "cli-host"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let out = verify(d.path(), &["--retired", "cli-host"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not among the --expect-stream-name names"));
}

#[test]
fn a_fifo_argument_is_refused_at_once() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let mut child = auditchain().arg("verify").arg(&fifo).stdout(Stdio::piped()).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("auditchain verify hangs on a FIFO");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(2));
    let mut text = String::new();
    child.stdout.take().unwrap().read_to_string(&mut text).unwrap();
    assert!(text.contains("a FIFO: only regular files and directories are read"), "{text}");
}
