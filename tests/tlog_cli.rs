//! `auditchain verify --witness-policy/--witness-checkpoint`, `prove` and
//! `verify-proof`, run as a user runs them, on format version 2 files
//! (tests/support/tlog.rs) as the fileexporter writes them.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use support::tlog::*;

fn auditchain(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auditchain")).args(args).output().unwrap()
}

fn status(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The files, the public key file, the policy file.
struct Setup {
    dir: tempfile::TempDir,
    log: LogBuilder,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let log = two_streams(None, true);
        std::fs::create_dir(dir.path().join("store")).unwrap();
        log.write(&dir.path().join("store"), true);
        std::fs::write(dir.path().join("log.pub"), log.signer.verifier().public_key_string()).unwrap();
        std::fs::write(dir.path().join("policy"), policy(&log.signer, &[&witness(1), &witness(2)], 2)).unwrap();
        Setup { dir, log }
    }
    fn p(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
    fn as_of(&self) -> String {
        auditchain::core::time::rfc3339(self.log.t + 5 * support::SEC)
    }
}

fn verify_json(s: &Setup, extra: &[&str]) -> (i32, Value) {
    let as_of = s.as_of();
    let mut args = vec!["verify", "--format", "json", "--as-of", &as_of, "--public-key"];
    let key = s.p("log.pub");
    args.push(&key);
    args.extend_from_slice(extra);
    let store = s.p("store");
    args.push(&store);
    let o = auditchain(&args);
    (status(&o), serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o))))
}

#[test]
fn verify_reports_each_log_with_its_witnesses() {
    let s = Setup::new();
    let policy = s.p("policy");
    let (code, r) = verify_json(&s, &["--witness-policy", &policy]);
    assert_eq!(code, 0, "{r:#}");
    let l = &r["logs"][0];
    assert_eq!(l["origin"], ORIGIN);
    assert_eq!(l["verdict"], "pass");
    assert_eq!(l["newest_checkpoint"]["cosigned_by"], serde_json::json!(["w0", "w1"]));
    assert_eq!(l["newest_checkpoint"]["quorum"], true);
    assert_eq!(l["witnessed_size"], l["size"]);
    // Human form.
    let as_of = s.as_of();
    let o = auditchain(&[
        "verify",
        "--as-of",
        &as_of,
        "--public-key",
        &s.p("log.pub"),
        "--witness-policy",
        &policy,
        &s.p("store"),
    ]);
    let out = text(&o);
    assert_eq!(status(&o), 0, "{out}");
    assert!(out.contains(&format!("log {ORIGIN}")) && out.contains("cosigned by w0, w1 (quorum met)"), "{out}");
    println!("{out}");
}

#[test]
fn verify_with_a_witness_checkpoint_finds_the_deleted_newest_stream() {
    let s = Setup::new();
    std::fs::remove_file(s.dir.path().join(format!("store/{B}.jsonl"))).unwrap();
    std::fs::remove_file(s.dir.path().join("store/checkpoints.jsonl")).unwrap();
    let newest = *s.log.checkpoints.keys().last().unwrap();
    std::fs::write(s.dir.path().join("witness.note"), s.log.cosigned_note(newest)).unwrap();
    let policy = s.p("policy");
    let (code, r) = verify_json(&s, &["--witness-policy", &policy]);
    assert_eq!(code, 0, "without the witness's checkpoint nothing shows it: {r:#}");
    let w = s.p("witness.note");
    let (code, r) = verify_json(&s, &["--witness-policy", &policy, "--witness-checkpoint", &w]);
    assert_eq!(code, 1);
    assert_eq!(r["logs"][0]["findings"][0]["kind"], "missing_leaves", "{r:#}");
    let a_len = s.log.stream(A).requests.len() as u64;
    assert_eq!(r["logs"][0]["missing_leaves"], serde_json::json!([[a_len, newest - 1]]));
}

#[test]
fn a_record_is_proven_offline_and_a_one_byte_change_fails() {
    let s = Setup::new();
    let (proof, record) = (s.p("record.proof"), s.p("record.json"));
    let spec = format!("{B}:4");
    let o = auditchain(&[
        "prove",
        "--record",
        &spec,
        "--record-out",
        &record,
        "--out",
        &proof,
        "--public-key",
        &s.p("log.pub"),
        "--witness-policy",
        &s.p("policy"),
        &s.p("store"),
    ]);
    assert_eq!(status(&o), 0, "{}", text(&o));
    let text_proof = std::fs::read_to_string(&proof).unwrap();
    assert!(text_proof.starts_with("c2sp.org/tlog-proof@v1\nindex "), "{text_proof}");
    // Against the newest witnessed checkpoint, with its cosignatures.
    let newest = *s.log.checkpoints.keys().last().unwrap();
    assert!(text_proof.ends_with(&s.log.cosigned_note(newest)), "{text_proof}");
    // The leaf index and the path are the independent tree's.
    let index = leaf_of(&s.log, B, 4);
    assert!(text_proof.contains(&format!("index {index}\n")));
    let check = |args: &[&str]| {
        let mut a = vec!["verify-proof", proof.as_str(), "--public-key"];
        let key = s.p("log.pub");
        a.push(&key);
        a.extend_from_slice(args);
        auditchain(&a)
    };
    let ok = check(&["--record", &record, "--witness-policy", &s.p("policy")]);
    assert_eq!(status(&ok), 0, "{}", text(&ok));
    assert!(text(&ok).contains(&format!("leaf {index} of log {ORIGIN}")), "{}", text(&ok));
    // One byte of the record changed (inside its body).
    let r = std::fs::read_to_string(&record).unwrap();
    let changed = r.replacen("user-", "usEr-", 1);
    assert_eq!(changed.len(), r.len());
    let bad_record = s.p("bad-record.json");
    std::fs::write(&bad_record, changed).unwrap();
    let o = check(&["--record", &bad_record]);
    assert_eq!(status(&o), 1, "{}", text(&o));
    // One byte of the proof changed: each inclusion hash, the index, the
    // checkpoint's root.
    let lines: Vec<&str> = text_proof.split('\n').collect();
    for (i, line) in lines.iter().enumerate().skip(1).take_while(|(_, l)| !l.is_empty()) {
        let mut b = line.as_bytes().to_vec();
        let k = if line.starts_with("index ") { b.len() - 1 } else { 3 };
        b[k] = if b[k] == b'A' { b'B' } else { b'A' };
        let mut l2 = lines.clone();
        let s2 = String::from_utf8(b).unwrap();
        l2[i] = &s2;
        let bad = s.p("bad.proof");
        std::fs::write(&bad, l2.join("\n")).unwrap();
        let o = auditchain(&["verify-proof", &bad, "--public-key", &s.p("log.pub"), "--record", &record]);
        assert_eq!(status(&o), 1, "line {i} changed: {}", text(&o));
    }
    // Without the quorum (a policy needing a witness that never cosigned).
    let third = s.p("policy3");
    std::fs::write(&third, policy(&s.log.signer, &[&witness(1), &witness(2), &witness(3)], 3)).unwrap();
    let o = check(&["--record", &record, "--witness-policy", &third]);
    assert_eq!(status(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("quorum"), "{}", text(&o));
}

#[test]
fn consistency_proofs_between_two_checkpoints() {
    let s = Setup::new();
    let sizes: Vec<u64> = s.log.checkpoints.keys().copied().collect();
    let proof = s.p("c.proof");
    let old = sizes[1].to_string();
    let o =
        auditchain(&["prove", "--consistency", &old, "--out", &proof, "--public-key", &s.p("log.pub"), &s.p("store")]);
    assert_eq!(status(&o), 0, "{}", text(&o));
    let t = std::fs::read_to_string(&proof).unwrap();
    assert!(
        t.starts_with(&format!("auditchain.tlog-consistency@v1\nold {old}\nnew {}\n", sizes.last().unwrap())),
        "{t}"
    );
    let hashes: Vec<auditchain::core::chain::Hash> = t
        .split("\n\n")
        .next()
        .unwrap()
        .lines()
        .skip(3)
        .map(|l| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(l).unwrap().try_into().unwrap()
        })
        .collect();
    assert_eq!(hashes, s.log.tree_consistency(sizes[1], *sizes.last().unwrap()));
    let o = auditchain(&[
        "verify-proof",
        "--consistency",
        &proof,
        "--public-key",
        &s.p("log.pub"),
        "--witness-policy",
        &s.p("policy"),
    ]);
    assert_eq!(status(&o), 0, "{}", text(&o));
    // A middle size with --to.
    let to = sizes[3].to_string();
    let o = auditchain(&[
        "prove",
        "--consistency",
        &old,
        "--to",
        &to,
        "--out",
        &proof,
        "--public-key",
        &s.p("log.pub"),
        &s.p("store"),
    ]);
    assert_eq!(status(&o), 0, "{}", text(&o));
    let o = auditchain(&["verify-proof", "--consistency", &proof, "--public-key", &s.p("log.pub")]);
    assert_eq!(status(&o), 0, "{}", text(&o));
    // One byte of a proof hash changed.
    let t = std::fs::read_to_string(&proof).unwrap();
    let mut lines: Vec<String> = t.split('\n').map(str::to_string).collect();
    let b = lines[3].as_bytes()[0];
    lines[3].replace_range(0..1, if b == b'A' { "B" } else { "A" });
    std::fs::write(&proof, lines.join("\n")).unwrap();
    let o = auditchain(&["verify-proof", "--consistency", &proof, "--public-key", &s.p("log.pub")]);
    assert_eq!(status(&o), 1, "{}", text(&o));
    // A size with no checkpoint.
    let o = auditchain(&["prove", "--consistency", "2", "--public-key", &s.p("log.pub"), &s.p("store")]);
    assert_eq!(status(&o), 2);
    assert!(text(&o).contains("no valid checkpoint of size 2"), "{}", text(&o));
}

#[test]
fn prove_refuses_a_version_1_stream() {
    let d = tempfile::tempdir().unwrap();
    let e =
        auditchain::engine::Engine::new(auditchain::engine::config::EngineConfig::new("v1-host"), support::T0).unwrap();
    let reqs = vec![support::deliver(&e, support::request((0..3).map(support::audit_record)), support::T0)];
    std::fs::write(d.path().join("a.jsonl"), support::json_lines(&reqs)).unwrap();
    let lines = support::lines(&reqs);
    let id = support::attr(&support::records(&lines)[0], "audit.sequence.stream_id").unwrap()["stringValue"]
        .as_str()
        .unwrap()
        .to_string();
    let log = two_streams(None, false);
    let key = log.signer.verifier().public_key_string();
    let spec = format!("{id}:2");
    let o = auditchain(&["prove", "--record", &spec, "--public-key", &key, d.path().to_str().unwrap()]);
    assert_eq!(status(&o), 2);
    assert!(text(&o).contains("not a format version 2 stream"), "{}", text(&o));
    let _ = Path::new("");
}

#[test]
fn a_resigned_rewrite_fails_verify_against_the_policy_and_the_witness() {
    let s = Setup::new();
    let newest = *s.log.checkpoints.keys().last().unwrap();
    std::fs::write(s.dir.path().join("witness.note"), s.log.cosigned_note(newest)).unwrap();
    // The key holder's rewrite of record 5, every checkpoint re-signed.
    let mut edited = support::audit_record(5);
    edited.body = Some(support::s(r#"{"actor":"user-5","action":"read","resource":"doc-5"}"#));
    let forged = two_streams(Some((5, edited)), false);
    let store = s.dir.path().join("store");
    std::fs::remove_dir_all(&store).unwrap();
    std::fs::create_dir(&store).unwrap();
    forged.write(&store, true);
    let as_of = s.as_of();
    let (key, policy, w) = (s.p("log.pub"), s.p("policy"), s.p("witness.note"));
    let store = s.p("store");
    // The log key alone vouches for it.
    let o = auditchain(&["verify", "--as-of", &as_of, "--public-key", &key, &store]);
    assert_eq!(status(&o), 0, "{}", text(&o));
    let o = auditchain(&[
        "verify",
        "--as-of",
        &as_of,
        "--max-delay",
        "2s",
        "--public-key",
        &key,
        "--witness-policy",
        &policy,
        "--witness-checkpoint",
        &w,
        &store,
    ]);
    let out = text(&o);
    assert_eq!(status(&o), 1, "{out}");
    for kind in ["fork", "checkpoint_mismatch", "unwitnessed"] {
        let (code, r) =
            verify_json(&s, &["--max-delay", "2s", "--witness-policy", &policy, "--witness-checkpoint", &w]);
        assert_eq!(code, 1);
        assert!(r["logs"][0]["findings"].as_array().unwrap().iter().any(|f| f["kind"] == kind), "{kind}: {r:#}");
    }
    println!("{out}");
}

#[test]
fn a_span_is_proven_offline_too() {
    let d = tempfile::tempdir().unwrap();
    let mut b = LogBuilder::new(ORIGIN);
    b.traces = true;
    let log = two_streams_of(b, None, true);
    log.write(d.path(), true);
    let key = log.signer.verifier().public_key_string();
    let (proof, record) = (d.path().join("p"), d.path().join("r.json"));
    let spec = format!("{A}:3");
    let o = auditchain(&[
        "prove",
        "--record",
        &spec,
        "--record-out",
        record.to_str().unwrap(),
        "--out",
        proof.to_str().unwrap(),
        "--public-key",
        &key,
        d.path().to_str().unwrap(),
    ]);
    assert_eq!(status(&o), 0, "{}", text(&o));
    let r = std::fs::read_to_string(&record).unwrap();
    assert!(r.starts_with("{\"resourceSpans\""), "{r}");
    let check = || {
        auditchain(&[
            "verify-proof",
            proof.to_str().unwrap(),
            "--record",
            record.to_str().unwrap(),
            "--public-key",
            &key,
        ])
    };
    assert_eq!(status(&check()), 0, "{}", text(&check()));
    std::fs::write(&record, r.replacen("audit.delete", "audit.deletE", 1)).unwrap();
    assert_eq!(status(&check()), 1, "{}", text(&check()));
}

/// For tests/witness/test_tlog_verify.py (real witnesses): writes a v2
/// log's files into $AUDITCHAIN_V2_OUT, before any witness saw it: `store/`
/// (two streams and the checkpoint file, no cosignature yet), `forged/`
/// (the key holder's rewrite of record 5, every checkpoint re-signed),
/// `origin`, `log.vkey`, `as_of`.
#[test]
#[ignore = "a generator for tests/witness (make test-witness runs it)"]
fn write_v2_files_for_witness_tests() {
    let out = std::path::PathBuf::from(std::env::var("AUDITCHAIN_V2_OUT").expect("AUDITCHAIN_V2_OUT"));
    let build = |rewrite: Option<opentelemetry_proto::tonic::logs::v1::LogRecord>| {
        let mut log = LogBuilder::new(ORIGIN);
        log.rewrite = rewrite.map(|r| (5, r));
        log.start(A);
        for _ in 0..3 {
            log.records(4);
            log.checkpoint();
        }
        log.records(2);
        log.end();
        log.start(B);
        for _ in 0..2 {
            log.records(3);
            log.checkpoint();
        }
        log.stop();
        log
    };
    let log = build(None);
    let mut edited = support::audit_record(5);
    edited.body = Some(support::s(r#"{"actor":"user-5","action":"read","resource":"doc-5"}"#));
    let forged = build(Some(edited));
    for (dir, l) in [("store", &log), ("forged", &forged)] {
        std::fs::create_dir_all(out.join(dir)).unwrap();
        l.write(&out.join(dir), true);
    }
    std::fs::write(out.join("origin"), ORIGIN).unwrap();
    std::fs::write(out.join("log.vkey"), log.signer.verifier().public_key_string()).unwrap();
    std::fs::write(out.join("as_of"), auditchain::core::time::rfc3339(log.t + 5 * support::SEC)).unwrap();
}
