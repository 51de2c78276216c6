//! `auditchain verify` on standard input (`-`) and its progress line
//! (`--progress auto|always|never`), run as a user runs the binary.

mod support;

use auditchain::engine::Engine;
use auditchain::engine::config::EngineConfig;
use prost::Message;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use support::*;

/// A clean, ended stream, as length-prefixed protobuf (fileexporter
/// `format: proto`) and as JSON lines.
fn stream() -> (Vec<u8>, String) {
    let e = Engine::new(EngineConfig::new("cli-inputs"), T0).unwrap();
    let mut reqs: Vec<_> =
        (0..5).map(|b| deliver(&e, request((0..100).map(|i| audit_record(b * 100 + i))), T0)).collect();
    reqs.push(close_delivered(&e, T0));
    let mut pb = Vec::new();
    for r in &reqs {
        let m = r.encode_to_vec();
        pb.extend_from_slice(&(m.len() as u32).to_be_bytes());
        pb.extend(m);
    }
    (pb, json_lines(&reqs))
}

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_auditchain"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let bytes = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn report(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn standard_input_is_read_in_any_format() {
    let (pb, json) = stream();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&pb).unwrap();
    let gz = gz.finish().unwrap();
    for (what, bytes) in [("proto", pb.clone()), ("json", json.into_bytes()), ("proto.gz", gz)] {
        let out = run(&["verify", "--format", "json", "-"], &bytes);
        let r = report(&out);
        assert_eq!(out.status.code(), Some(0), "{what}: {r:#}");
        assert_eq!(r["verdict"], "pass", "{what}");
        assert_eq!(r["inputs"]["files"], 1, "{what}");
        assert_eq!(r["streams"][0]["records"], 502, "{what}");
    }
    // Garbage on standard input is an input error named `-`.
    let out = run(&["verify", "--format", "json", "-"], b"definitely not audit data\n");
    let r = report(&out);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(r["errors"][0]["file"], "-");
    assert!(r["errors"][0]["message"].as_str().unwrap().starts_with("not a file the exporters write"));
}

#[test]
fn a_tampered_record_on_standard_input_fails() {
    let (pb, _) = stream();
    let mut bad = pb.clone();
    let at = bad.windows(8).position(|w| w == b"user-250").unwrap() + 5;
    bad[at] = b'9';
    let out = run(&["verify", "--format", "json", "-"], &bad);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report(&out)["verdict"], "fail");
}

#[test]
fn progress_always_draws_on_stderr_and_auto_stays_quiet_off_a_terminal() {
    let (pb, _) = stream();
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("audit.pb");
    std::fs::write(&file, &pb).unwrap();
    let path = file.to_str().unwrap();

    let out = run(&["verify", "--format", "json", "--progress", "always", path], b"");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report(&out)["verdict"], "pass", "the report on stdout is untouched");
    let err = String::from_utf8(out.stderr).unwrap();
    let last = err.lines().last().unwrap_or_default();
    let size = pb.len() as f64 / f64::from(1 << 20);
    assert!(last.starts_with(&format!("verify: {size:.1} MiB of {size:.1} MiB (100%), 502 records, ")), "{err:?}");
    assert!(last.contains("MiB/s") && last.contains("records/s") && last.contains("done in"), "{err:?}");
    assert!(!err.contains('\r'), "no redrawing off a terminal: {err:?}");

    // Standard error is a pipe here, not a terminal: auto is quiet, as is never.
    for when in ["auto", "never"] {
        let out = run(&["verify", "--format", "json", "--progress", when, path], b"");
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "--progress {when}");
    }
    let out = run(&["verify", "--format", "json", path], b"");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "auto is the default");
}

#[test]
fn the_report_is_the_version_spec_section_9_documents() {
    let (pb, _) = stream();
    let out = run(&["verify", "--format", "json", "-"], &pb);
    let r = report(&out);
    let spec = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/SPEC.md")).unwrap();
    let section = &spec[spec.find("## 9. Verification report").unwrap()..spec.find("## 10.").unwrap()];
    let version = r["version"].as_u64().unwrap();
    assert_eq!(version, u64::from(auditchain::verify::report::REPORT_VERSION));
    assert!(section.contains(&format!("prints one JSON object (version {version})")), "SPEC §9 names another version");
    assert!(section.contains(&format!("\"version\": {version},")));
    // Every member the report has is documented there.
    let mut members: Vec<String> = r.as_object().unwrap().keys().cloned().collect();
    members.extend(r["inputs"].as_object().unwrap().keys().cloned());
    members.extend(r["streams"][0].as_object().unwrap().keys().cloned());
    for m in members {
        assert!(section.contains(&format!("\"{m}\"")), "report member {m:?} is not in SPEC §9");
    }
}

#[test]
fn progress_auto_draws_in_place_on_a_terminal() {
    // util-linux `script` runs the command on a pseudo-terminal and copies
    // what it writes there; the report goes to a file.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux script is not installed");
        return;
    }
    let (pb, _) = stream();
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("audit.pb"), &pb).unwrap();
    let cmd = format!(
        "'{}' verify --format json '{}' > '{}'",
        env!("CARGO_BIN_EXE_auditchain"),
        d.path().join("audit.pb").display(),
        d.path().join("report.json").display()
    );
    let out = Command::new("script").args(["-q", "-e", "-c", &cmd, "/dev/null"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(tty.contains("\rverify: ") && tty.contains("502 records") && tty.contains("done in"), "{tty:?}");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(d.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(r["verdict"], "pass", "the report is untouched");
}

#[test]
fn canonical_prints_the_same_forms_from_protobuf_and_from_json() {
    let (pb, json) = stream();
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.json"), &json).unwrap();
    let from_json = run(&["canonical", d.path().join("a.json").to_str().unwrap()], b"");
    let from_proto = run(&["canonical", "-"], &pb);
    assert_eq!(from_json.status.code(), Some(0));
    assert_eq!(from_proto.status.code(), Some(0), "{}", String::from_utf8_lossy(&from_proto.stderr));
    assert_eq!(String::from_utf8_lossy(&from_json.stdout).lines().count(), 502);
    assert_eq!(from_json.stdout, from_proto.stdout);
}
