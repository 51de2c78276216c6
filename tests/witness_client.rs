//! The witness client's protocol half (SPEC §5.5) against a simulated
//! C2SP tlog-witness that checks what a real one checks (old size,
//! consistency proof, log signature) and cosigns: every answer kind, the
//! cosignature record and checkpoint.file line, the check at start. The
//! real witnesses (litewitness, omniwitness) are tests/witness.

mod support;

use auditchain::core::keys::{self, KeySet};
use auditchain::core::merkle::verify_consistency;
use auditchain::core::note::{Checkpoint, NoteVerifier, parse_note};
use auditchain::core::tlog::{AddCheckpoint, CosignatureSigner, CosignatureVerifier};
use auditchain::engine::Engine;
use auditchain::engine::config::{CheckpointConfig, EngineConfig, StateConfig, WitnessConfig};
use auditchain::engine::witness::{AnswerKind, Job};
use serde_json::Value;
use std::path::{Path, PathBuf};
use support::*;

/// What a witness holds for the origin, and how it answers.
struct FakeWitness {
    signer: CosignatureSigner,
    log: NoteVerifier,
    /// size, root
    held: Option<(u64, [u8; 32])>,
}

impl FakeWitness {
    fn new(name: &str, log: NoteVerifier) -> FakeWitness {
        FakeWitness { signer: CosignatureSigner::from_seed(name, &[7; 32]).unwrap(), log, held: None }
    }

    fn vkey(&self) -> String {
        self.signer.verifier().vkey()
    }

    /// (status, content type, body), as tlog-witness answers.
    fn add_checkpoint(&mut self, body: &str) -> (u16, &'static str, Vec<u8>) {
        let Ok(req) = AddCheckpoint::parse(body) else { return (400, "text/plain", b"bad request".to_vec()) };
        let note = parse_note(&req.checkpoint).unwrap();
        let Some(sig) = note.signatures.iter().find(|s| s.id == self.log.id) else {
            return (404, "text/plain", vec![]);
        };
        if !self.log.verify(&note.text, &sig.signature) {
            return (403, "text/plain", vec![]);
        }
        let cp = Checkpoint::parse(&note.text).unwrap();
        let (held_size, held_root) = self.held.unwrap_or((0, auditchain::core::merkle::EMPTY_ROOT));
        if req.old != held_size {
            return (409, "text/x.tlog.size", format!("{held_size}\n").into_bytes());
        }
        if req.old == cp.size {
            if cp.root != held_root {
                return (409, "text/x.tlog.size", format!("{held_size}\n").into_bytes());
            }
        } else if req.old > 0 && verify_consistency(req.old, cp.size, &req.proof, &held_root, &cp.root).is_err() {
            return (422, "text/plain", vec![]);
        }
        self.held = Some((cp.size, cp.root));
        (200, "text/plain", self.signer.sign(&note.text, 1_800_000_000).line().into_bytes())
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    sign: PathBuf,
    verifier: NoteVerifier,
    file: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let set = KeySet::generate("example.com/audit/w").unwrap();
    let sign = dir.path().join("sign.key");
    keys::write_new_file(&sign, &set.signer.private_key_string(), 0o600).unwrap();
    Setup { verifier: set.signer.verifier(), sign, file: dir.path().join("checkpoints.jsonl"), _dir: dir }
}

fn config(s: &Setup, state: &Path, witnesses: &[&FakeWitness]) -> EngineConfig {
    EngineConfig {
        state: StateConfig { directory: Some(state.to_path_buf()), new_stream: false },
        signing_key_file: Some(s.sign.clone()),
        checkpoint: CheckpointConfig { interval: 60 * SEC, records: 3, file: Some(s.file.clone()) },
        witnesses: witnesses
            .iter()
            .enumerate()
            .map(|(i, w)| WitnessConfig { url: format!("http://w{i}.example"), key: w.vkey(), timeout: SEC })
            .collect(),
        ..EngineConfig::new("witnessed")
    }
}

fn batch(e: &Engine, t: &mut u64) -> Vec<Value> {
    *t += SEC;
    lines(&[deliver(e, request((0..3).map(audit_record)), *t)])
}

/// Sends every ready job to its witness and hands the answer back.
fn serve(e: &Engine, ws: &mut [&mut FakeWitness], t: u64) -> Vec<(Job, Result<AnswerKind, String>)> {
    e.witness_jobs()
        .into_iter()
        .map(|j| {
            let (status, ct, body) = ws[j.witness].add_checkpoint(&j.body);
            let r = e.witness_answer(j.id, status, ct, &body, t).map_err(|e| e.to_string());
            (j, r)
        })
        .collect()
}

fn cosignature_records(lines: &[Value]) -> Vec<Value> {
    records(lines).into_iter().filter(|r| event(r) == Some("cosignature")).collect()
}

#[test]
fn checkpoints_are_cosigned_recorded_in_band_and_in_the_checkpoint_file() {
    let s = setup();
    let state = tempfile::tempdir().unwrap();
    let (mut a, mut b) = (FakeWitness::new("w-a", s.verifier.clone()), FakeWitness::new("w-b", s.verifier.clone()));
    let mut t = T0;
    let e = Engine::new(config(&s, state.path(), &[&a, &b]), t).unwrap();
    assert!(e.witness_jobs().is_empty(), "nothing to check at a first start");
    let mut out = batch(&e, &mut t); // start + 3 records, then a checkpoint at size 4
    let answers = serve(&e, &mut [&mut a, &mut b], t);
    assert_eq!(answers.len(), 2);
    assert!(answers.iter().all(|(j, r)| j.size == 4 && !j.start && *r == Ok(AnswerKind::Cosigned)), "{answers:?}");
    t += 1;
    let tick = e.tick(t).unwrap();
    out.extend(lines(&[extra_only(&tick)]));
    let cos = cosignature_records(&out);
    assert_eq!(cos.len(), 1, "one record after both answers (owed until the next call)");
    let note = cos[0]["body"]["stringValue"].as_str().unwrap();
    let parsed = parse_note(note).unwrap();
    assert_eq!(parsed.signatures.len(), 3, "the log's signature and both cosignatures: {note}");
    for w in [&a, &b] {
        let v = CosignatureVerifier::parse(&w.vkey()).unwrap();
        let sig = parsed.signatures.iter().find(|x| x.id == v.id).unwrap();
        assert_eq!(v.verify(&parsed.text, sig), Ok(1_800_000_000));
    }
    assert_eq!(attr(&cos[0], "audit.log.checkpoint_index").unwrap()["intValue"], "4");
    assert_eq!(attr(&cos[0], "audit.log.origin").unwrap()["stringValue"], "example.com/audit/w");
    // The checkpoint file: the checkpoint's line, then the cosigned one
    // (under the checkpoint record's sequence number).
    let file = std::fs::read_to_string(&s.file).unwrap();
    let file: Vec<Value> = file.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(file.len(), 3, "the checkpoint, then its note after each answer: {file:?}");
    assert!(file.iter().all(|l| l["sequence"] == file[0]["sequence"]));
    assert_eq!(file[2]["note"].as_str().unwrap(), note);
    assert_eq!(e.witness_status(0), Some((4, 0)));
    // Next checkpoint: proven from size 4 and cosigned again.
    batch(&e, &mut t);
    let answers = serve(&e, &mut [&mut a, &mut b], t);
    assert!(
        answers.iter().all(|(j, r)| j.body.starts_with("old 4\n") && *r == Ok(AnswerKind::Cosigned)),
        "{answers:?}"
    );
    let c = e.counters().witness;
    assert_eq!((c.sent, c.answers[AnswerKind::Cosigned as usize], c.witnessed), (4, 4, 2));
}

#[test]
fn a_witness_down_lags_and_is_caught_up_later() {
    let s = setup();
    let state = tempfile::tempdir().unwrap();
    let mut w = FakeWitness::new("w-a", s.verifier.clone());
    let mut t = T0;
    let e = Engine::new(config(&s, state.path(), &[&w]), t).unwrap();
    batch(&e, &mut t);
    serve(&e, &mut [&mut w], t);
    // Down for three checkpoints: stamping goes on, each counted.
    for _ in 0..3 {
        batch(&e, &mut t);
        for j in e.witness_jobs() {
            assert_eq!(e.witness_answer(j.id, 0, "", b"connection refused", t), Ok(AnswerKind::Unreachable));
        }
    }
    let (acked, lag) = e.witness_status(0).unwrap();
    assert_eq!(acked, 4);
    assert!(lag >= 12, "{lag}");
    let warn = e.tick(t + 1).unwrap().warning.unwrap();
    assert!(warn.contains("did not answer") && warn.contains("connection refused"), "{warn}");
    // Back: the next checkpoint is proven from the size it acknowledged.
    batch(&e, &mut t);
    let answers = serve(&e, &mut [&mut w], t);
    assert_eq!(answers.len(), 1);
    assert!(answers[0].0.body.starts_with("old 4\n"), "{}", answers[0].0.body);
    assert_eq!(answers[0].1, Ok(AnswerKind::Cosigned));
    assert_eq!(e.witness_status(0).unwrap().1, 0);
    assert_eq!(e.counters().witness.answers[AnswerKind::Unreachable as usize], 3);
}

#[test]
fn a_timeout_that_reached_the_witness_is_resynced_from_its_size() {
    let s = setup();
    let state = tempfile::tempdir().unwrap();
    let mut w = FakeWitness::new("w-a", s.verifier.clone());
    let mut t = T0;
    let e = Engine::new(config(&s, state.path(), &[&w]), t).unwrap();
    batch(&e, &mut t);
    serve(&e, &mut [&mut w], t);
    // The witness stores the next checkpoint but its answer is lost (a
    // timeout).
    batch(&e, &mut t);
    let mut stored = 0;
    for j in e.witness_jobs() {
        w.add_checkpoint(&j.body);
        stored = j.size;
        e.witness_answer(j.id, 0, "", b"timeout", t).unwrap();
    }
    // The next request proves from 4: the witness says 409, it holds 8.
    batch(&e, &mut t);
    let answers = serve(&e, &mut [&mut w], t);
    assert_eq!(answers[0].1, Ok(AnswerKind::Conflict));
    assert_eq!(e.witness_status(0).unwrap().0, stored, "a pending size it holds: proven from there next");
    batch(&e, &mut t);
    let answers = serve(&e, &mut [&mut w], t);
    assert!(answers[0].0.body.starts_with(&format!("old {stored}\n")));
    assert_eq!(answers[0].1, Ok(AnswerKind::Cosigned));
}

#[test]
fn a_rolled_back_state_is_refused_at_start_naming_the_witness_and_both_sizes() {
    let s = setup();
    let state = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    let mut w = FakeWitness::new("w-a", s.verifier.clone());
    let mut t = T0;
    let e = Engine::new(config(&s, state.path(), &[&w]), t).unwrap();
    batch(&e, &mut t);
    serve(&e, &mut [&mut w], t);
    drop(e);
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to.join("witnessed")).unwrap();
        std::fs::copy(from.join("witnessed/state.json"), to.join("witnessed/state.json")).unwrap();
    };
    copy(state.path(), backup.path());
    // A restart with the right state: the witness agrees, start goes on.
    let e = Engine::new(config(&s, state.path(), &[&w]), t).unwrap();
    let answers = serve(&e, &mut [&mut w], t);
    assert!(answers.iter().all(|(j, r)| j.start && r.is_ok()), "{answers:?}");
    for _ in 0..2 {
        batch(&e, &mut t);
        serve(&e, &mut [&mut w], t);
    }
    let held = w.held.unwrap().0;
    drop(e);
    // The old state put back: the witness holds a larger size.
    copy(backup.path(), state.path());
    std::fs::write(&s.file, "").unwrap(); // and the checkpoint file emptied, so only the witness knows
    let e = Engine::new(config(&s, state.path(), &[&w]), t).unwrap();
    let answers = serve(&e, &mut [&mut w], t);
    let err = answers[0].1.clone().unwrap_err();
    assert!(
        err.contains("http://w0.example") && err.contains(&format!("size {held}")) && err.contains("size 4"),
        "{err}"
    );
    assert!(err.contains("rolled back"), "{err}");
}

#[test]
fn every_other_answer_is_counted_and_reported() {
    let s = setup();
    let state = tempfile::tempdir().unwrap();
    let w = FakeWitness::new("w-a", s.verifier.clone());
    let mut t = T0;
    let e = Engine::new(config(&s, state.path(), &[&w]), t).unwrap();
    let cases: [(u16, &str, &[u8], AnswerKind, &str); 7] = [
        (404, "text/plain", b"", AnswerKind::NotAccepted, "does not accept log"),
        (403, "text/plain", b"", AnswerKind::NotAccepted, "register the origin"),
        (400, "text/plain", b"", AnswerKind::Rejected, "could not parse"),
        (503, "text/plain", b"", AnswerKind::RetryLater, "HTTP 503"),
        (422, "text/plain", b"", AnswerKind::Inconsistent, "inconsistent"),
        (200, "text/plain", b"\xe2\x80\x94 w-a AAAA\n", AnswerKind::BadAnswer, "bad answer"),
        (409, "text/plain", b"3\n", AnswerKind::BadAnswer, "bad answer"),
    ];
    for (status, ct, body, kind, says) in cases {
        batch(&e, &mut t);
        let jobs = e.witness_jobs();
        assert_eq!(jobs.len(), 1);
        assert_eq!(e.witness_answer(jobs[0].id, status, ct, body, t), Ok(kind), "{status}");
        let warn = e.tick(t).unwrap().warning.unwrap_or_default();
        assert!(warn.contains(says), "{status}: {warn}");
    }
    // A cosignature by another key than the witness's.
    batch(&e, &mut t);
    let j = e.witness_jobs().remove(0);
    let mut other = FakeWitness::new("w-a", s.verifier.clone());
    other.signer = CosignatureSigner::from_seed("w-a", &[8; 32]).unwrap();
    let (st, ct, body) = other.add_checkpoint(&j.body.replace(&format!("old {}\n", 0), "old 0\n"));
    let k = e.witness_answer(j.id, st, ct, &body, t).unwrap();
    assert!(matches!(k, AnswerKind::BadAnswer | AnswerKind::BadCosignature), "{k:?}");
    assert!(e.witness_answer(j.id, 200, "", b"", t).is_err(), "an answer is taken once");
    assert_eq!(e.witness_status(0).unwrap().0, 0, "nothing was acknowledged");
    assert!(e.witness_status(1).is_none());
}

#[test]
fn another_tree_at_start_is_refused_and_an_unreachable_witness_only_warns() {
    let s = setup();
    let state = tempfile::tempdir().unwrap();
    let mut w = FakeWitness::new("w-a", s.verifier.clone());
    let mut t = T0;
    let e = Engine::new(config(&s, state.path(), &[&w]), t).unwrap();
    batch(&e, &mut t);
    serve(&e, &mut [&mut w], t);
    drop(e);
    // Unreachable: a warning, the engine runs.
    let e = Engine::new(config(&s, state.path(), &[&w]), t).unwrap();
    let jobs = e.witness_jobs();
    assert!(jobs.len() == 1 && jobs[0].start);
    assert_eq!(e.witness_answer(jobs[0].id, 0, "", b"connection refused", t), Ok(AnswerKind::Unreachable));
    let warn = e.tick(t + 1).unwrap().warning.unwrap_or_default();
    assert!(warn.contains("its check at start is skipped"), "{warn}");
    drop(e);
    // 422: the witness holds a tree this state does not extend.
    let e = Engine::new(config(&s, state.path(), &[&w]), t).unwrap();
    let jobs = e.witness_jobs();
    let err = e.witness_answer(jobs[0].id, 422, "text/plain", b"", t).unwrap_err().to_string();
    assert!(err.contains("http://w0.example") && err.contains("inconsistent") && err.contains("checkpoint 4"), "{err}");
}
