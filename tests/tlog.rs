//! The tlog formats (src/core/tlog) on real and tampered bytes: the
//! exchange captured from a real litewitness, the SPEC §5.5 vector
//! (tests/vectors/tlog.json), policies, tlog-proofs (every one-byte change
//! refused), add-checkpoint requests and every kind of witness answer.
//!
//! `AUDITCHAIN_UPDATE_VECTORS=1 cargo test --test tlog` rewrites
//! tests/vectors/tlog.json; tests/witness/test_tlog_core.py checks it with
//! an independent implementation.

use auditchain::core::chain::{self, Hash, Link};
use auditchain::core::hex::{from_hex, to_hex};
use auditchain::core::merkle::{MemoryStore, Tree, leaf_hash, verify_consistency};
use auditchain::core::note::{NoteSigner, NoteVerifier, parse_signature_line};
use auditchain::core::tlog::error::{
    CosignatureError, PolicyErrorKind as K, ProofFormatError, VkeyError, WitnessError,
};
use auditchain::core::tlog::witness::{SIZE_CONTENT_TYPE, cosign};
use auditchain::core::tlog::{
    AddCheckpoint, Answer, Checkpoint, CheckpointError, CosignatureSigner, CosignatureVerifier, Leaf, Policy, Resync,
    SignedCheckpoint, TlogProof, on_conflict, parse_answer,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use std::path::PathBuf;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn read_json(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(vectors().join(path)).unwrap()).unwrap()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k}"))
}

// ---- a real witness's bytes ------------------------------------------------

/// The poc's log of docs/WITNESSING-NOTES.md: leaf i is `auditchain-poc leaf i\n`.
fn poc_tree(n: u64) -> Tree<MemoryStore> {
    let mut t = Tree::new(MemoryStore::new()).unwrap();
    for i in 0..n {
        t.append(&leaf_hash(format!("auditchain-poc leaf {i}\n").as_bytes())).unwrap();
    }
    t
}

#[test]
fn the_exchange_captured_from_litewitness() {
    let v = read_json("witness/litewitness-capture.json");
    let log = NoteVerifier::parse(s(&v, "log_vkey")).unwrap();
    let witness = CosignatureVerifier::parse(s(&v, "witness_vkey")).unwrap();
    let tree = poc_tree(13);

    // Checkpoint 5 as the poc signed it: our tree has its root.
    let cp5 = SignedCheckpoint::open(s(&v, "note5"), std::slice::from_ref(&log)).unwrap();
    assert_eq!(cp5.checkpoint().root, tree.root_at(5).unwrap());
    // litewitness's 200: its cosignature verifies over checkpoint 5.
    let a = &v["answer5"];
    let answer = parse_answer(200, s(a, "content_type"), s(a, "body").as_bytes()).unwrap();
    let Answer::Cosigned(lines) = answer else { panic!("{answer:?}") };
    let (cosigned, t) = cosign(&cp5, &lines, &witness).unwrap();
    assert_eq!(t, v["cosig5_time"].as_u64().unwrap());
    assert_eq!(cosigned, format!("{}{}", s(&v, "note5"), s(a, "body")));
    // The cosigned note opens and a policy requiring the witness accepts it.
    let policy =
        Policy::parse(&format!("log {}\nwitness w1 {}\nquorum w1\n", s(&v, "log_vkey"), s(&v, "witness_vkey")))
            .unwrap();
    let verdict = policy.verify_checkpoint(&cosigned, &[]).unwrap();
    assert!(verdict.quorum && verdict.bad.is_empty(), "{verdict:?}");
    assert!(!policy.verify_checkpoint(s(&v, "note5"), &[]).unwrap().quorum);

    // The 5 → 13 request litewitness accepted: our consistency proof and
    // body are byte-identical to the poc's (x/mod/sumdb/tlog).
    let request = s(&v, "request_5_13");
    let parsed = AddCheckpoint::parse(request).unwrap();
    assert_eq!(parsed.proof, tree.consistency_proof(5, 13).unwrap());
    let cp13 = SignedCheckpoint::open(&parsed.checkpoint, &[log]).unwrap();
    assert_eq!(cp13.checkpoint().root, tree.root());
    let ours = AddCheckpoint::new(5, tree.consistency_proof(5, 13).unwrap(), &parsed.checkpoint).unwrap();
    assert_eq!(ours.body(), request);
    verify_consistency(5, 13, &parsed.proof, &cp5.checkpoint().root, &cp13.checkpoint().root).unwrap();

    // Its 409 for a stale old size.
    let c = &v["answer_409"];
    assert_eq!(parse_answer(409, s(c, "content_type"), s(c, "body").as_bytes()), Ok(Answer::Conflict(13)));
}

// ---- the SPEC §5.5 vector ----------------------------------------------------

const ORIGIN: &str = "example.com/auditchain/vectors";

fn log_signer() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, &[0x42; 32]).unwrap()
}

fn witness_signer(i: u8) -> CosignatureSigner {
    CosignatureSigner::from_seed(&format!("witness.example/w{i}"), &[0x50 + i; 32]).unwrap()
}

/// The vector's log: chain.json's plain stream (4 records) then its keyed
/// stream (5 records), as one log spanning two streams.
fn vector_leaves() -> Vec<Value> {
    let chain = read_json("chain.json");
    let mut out = Vec::new();
    for part in ["plain", "keyed"] {
        let stream_id = s(&chain[part], "stream_id");
        for r in chain[part]["records"].as_array().unwrap() {
            let record_hash = from_hex(s(r, "record_hash")).unwrap();
            let link = from_hex(s(r, "value")).unwrap();
            let leaf =
                Leaf { stream_id, sequence: r["sequence"].as_u64().unwrap(), record_hash: &record_hash, link: &link };
            out.push(json!({
                "stream_id": stream_id, "sequence": leaf.sequence,
                "record_hash": to_hex(&record_hash), "link": to_hex(&link),
                "leaf_data": hex(&leaf.data()), "leaf_hash": to_hex(&leaf.hash()),
            }));
        }
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn b64_list(hs: &[Hash]) -> Vec<String> {
    hs.iter().map(|h| B64.encode(h)).collect()
}

fn make_tlog_vector() -> Value {
    let leaves = vector_leaves();
    let mut tree = Tree::new(MemoryStore::new()).unwrap();
    let mut roots = vec![to_hex(&tree.root())];
    for l in &leaves {
        tree.append(&from_hex(s(l, "leaf_hash")).unwrap()).unwrap();
        roots.push(to_hex(&tree.root()));
    }
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size: 9,
        root: tree.root(),
        extensions: vec!["time 1796141905000000000".into()],
    };
    let note = cp.sign(&log_signer()).unwrap();
    let signed = SignedCheckpoint::open(&note, &[log_signer().verifier()]).unwrap();
    let (w1, w2) = (witness_signer(1), witness_signer(2));
    let lines = [w1.sign(signed.body(), 1_796_141_906), w2.sign(signed.body(), 1_796_141_907)];
    let (cosigned, _) = cosign(&signed, &lines, &w1.verifier()).unwrap();
    let (cosigned, _) =
        cosign(&SignedCheckpoint::open(&cosigned, &[log_signer().verifier()]).unwrap(), &lines, &w2.verifier())
            .unwrap();
    let proof =
        TlogProof { extra: None, index: 6, hashes: tree.inclusion_proof(6, 9).unwrap(), checkpoint: cosigned.clone() };
    json!({
        "log_signing_key": log_signer().private_key_string(),
        "log_vkey": log_signer().verifier().public_key_string(),
        "witness_vkeys": [w1.verifier().vkey(), w2.verifier().vkey()],
        "leaves": leaves,
        "roots": roots,
        "checkpoint_body": cp.body(),
        "checkpoint_note": note,
        "cosigned_note": cosigned,
        "consistency_4_9": b64_list(&tree.consistency_proof(4, 9).unwrap()),
        "tlog_proof_leaf_6": proof.format(),
    })
}

#[test]
fn tlog_vector() {
    let path = vectors().join("tlog.json");
    let made = make_tlog_vector();
    if std::env::var_os("AUDITCHAIN_UPDATE_VECTORS").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&made).unwrap() + "\n").unwrap();
    }
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v, made, "tests/vectors/tlog.json differs from what the code computes");
    // The leaves of the first stream bind its chain.json links.
    let first = &v["leaves"][0];
    assert!(s(first, "leaf_data").starts_with(&hex(b"auditchain.leaf.v1\0")));
    // The proof verifies with the vector's policy, and its leaf.
    let policy = Policy::parse(&format!(
        "log {}\nwitness a {}\nwitness b {}\ngroup both all a b\nquorum both\n",
        s(&v, "log_vkey"),
        v["witness_vkeys"][0].as_str().unwrap(),
        v["witness_vkeys"][1].as_str().unwrap()
    ))
    .unwrap();
    let proof = TlogProof::parse(s(&v, "tlog_proof_leaf_6")).unwrap();
    let leaf = from_hex(s(&v["leaves"][6], "leaf_hash")).unwrap();
    let verdict = proof.verify(&leaf, &policy, &[]).unwrap();
    assert_eq!(verdict.cosigned.len(), 2);
}

/// A one-byte change anywhere in a tlog-proof fails it (there is no
/// `extra`, and every signature line is the log's or a quorum witness's).
#[test]
fn every_one_byte_change_of_a_proof_fails() {
    let v = make_tlog_vector();
    let policy = Policy::parse(&format!(
        "log {}\nwitness a {}\nwitness b {}\ngroup both all a b\nquorum both\n",
        s(&v, "log_vkey"),
        v["witness_vkeys"][0].as_str().unwrap(),
        v["witness_vkeys"][1].as_str().unwrap()
    ))
    .unwrap();
    let leaf = from_hex(s(&v["leaves"][6], "leaf_hash")).unwrap();
    let text = s(&v, "tlog_proof_leaf_6").as_bytes().to_vec();
    assert!(TlogProof::parse(std::str::from_utf8(&text).unwrap()).unwrap().verify(&leaf, &policy, &[]).is_ok());
    let mut tried = 0;
    for at in 0..text.len() {
        for x in [0x01u8, 0x20, 0x80] {
            let mut bad = text.clone();
            bad[at] ^= x;
            tried += 1;
            let Ok(bad) = std::str::from_utf8(&bad) else { continue };
            let r = TlogProof::parse(bad).and_then(|p| p.verify(&leaf, &policy, &[]));
            assert!(r.is_err(), "byte {at} ^ {x:#x} accepted: {bad}");
        }
    }
    // And another leaf, or the same leaf at another index.
    let other = from_hex(s(&v["leaves"][5], "leaf_hash")).unwrap();
    let p = TlogProof::parse(s(&v, "tlog_proof_leaf_6")).unwrap();
    assert!(matches!(p.verify(&other, &policy, &[]), Err(ProofFormatError::Inclusion(_))));
    let moved = TlogProof { index: 5, ..p.clone() };
    assert!(matches!(moved.verify(&leaf, &policy, &[]), Err(ProofFormatError::Inclusion(_))));
    assert!(tried > 2000, "{tried}");
}

#[test]
fn proof_format_round_trip_and_refusals() {
    let v = make_tlog_vector();
    let p = TlogProof::parse(s(&v, "tlog_proof_leaf_6")).unwrap();
    let with_extra = TlogProof { extra: Some(b"opaque".to_vec()), ..p.clone() };
    let text = with_extra.format();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra b3BhcXVl\nindex 6\n"), "{text}");
    assert_eq!(TlogProof::parse(&text).unwrap(), with_extra);
    let cases = [
        ("c2sp.org/tlog-proof@v2\nindex 0\n\nx", ProofFormatError::BadHeader),
        ("c2sp.org/tlog-proof@v1\nextra !!\nindex 0\n\nx", ProofFormatError::BadExtra),
        ("c2sp.org/tlog-proof@v1\nindex 01\n\nx", ProofFormatError::BadIndex),
        ("c2sp.org/tlog-proof@v1\n\nx", ProofFormatError::BadIndex),
        ("c2sp.org/tlog-proof@v1\nindex 0\nAAAA\n\nx", ProofFormatError::BadHash(3)),
        ("c2sp.org/tlog-proof@v1\nindex 0\n", ProofFormatError::NoCheckpoint),
        ("c2sp.org/tlog-proof@v1\nindex 0\n\n", ProofFormatError::NoCheckpoint),
    ];
    for (text, e) in cases {
        assert_eq!(TlogProof::parse(text), Err(e), "{text:?}");
    }
    let many = format!("c2sp.org/tlog-proof@v1\nindex 0\n{}\nx", format!("{}\n", B64.encode([0; 32])).repeat(65));
    assert_eq!(TlogProof::parse(&many), Err(ProofFormatError::TooManyHashes));
    // Without the witnesses' cosignatures the quorum is not met.
    let policy = Policy::parse(&format!(
        "log {}\nwitness a {}\nquorum a\n",
        s(&v, "log_vkey"),
        v["witness_vkeys"][0].as_str().unwrap()
    ))
    .unwrap();
    let bare = TlogProof { checkpoint: s(&v, "checkpoint_note").into(), ..p.clone() };
    let leaf = from_hex(s(&v["leaves"][6], "leaf_hash")).unwrap();
    assert_eq!(bare.verify(&leaf, &policy, &[]).unwrap_err(), ProofFormatError::NoQuorum);
    // A log key not in the policy, unless the caller vouches for it.
    let none = Policy::parse("quorum none\n").unwrap();
    assert!(matches!(
        bare.verify(&leaf, &none, &[]),
        Err(ProofFormatError::Checkpoint(CheckpointError::NoLogSignature))
    ));
    assert!(bare.verify(&leaf, &none, &[log_signer().verifier()]).is_ok());
}

// ---- policies ---------------------------------------------------------------

fn w(i: u8) -> String {
    witness_signer(i).verifier().vkey()
}

#[test]
fn policy_quorums() {
    let text = format!(
        "# two organisations\nlog {log}\n\nwitness X1 {} https://x1.example/\nwitness X2 {}\n\twitness X3 {}  \ngroup X 2 X1 X2 X3\n\
         witness Y1 {}\nwitness Y2 {}\ngroup Y any Y1 Y2\ngroup X-and-Y all X Y\nquorum X-and-Y\n",
        w(1),
        w(2),
        w(3),
        w(4),
        w(5),
        log = log_signer().verifier().public_key_string()
    );
    let p = Policy::parse(&text).unwrap();
    assert_eq!(p.witnesses.len(), 5);
    assert_eq!(p.witnesses[0].url.as_deref(), Some("https://x1.example/"));
    let met = |set: &[usize]| p.quorum_met(&(0..5).map(|i| set.contains(&i)).collect::<Vec<_>>());
    assert!(met(&[0, 1, 3]) && met(&[1, 2, 4]) && met(&[0, 1, 2, 3, 4]));
    assert!(!met(&[0, 3]) && !met(&[0, 1, 2]) && !met(&[3, 4]) && !met(&[]));
    assert!(Policy::parse("quorum none").unwrap().quorum_met(&[]));
    assert!(Policy::parse(&format!("witness a {}\nquorum a\n", w(1))).unwrap().quorum_met(&[true]));
}

#[test]
fn policy_refusals_name_their_line() {
    let log = log_signer().verifier().public_key_string();
    let cases: Vec<(String, usize, K)> = vec![
        ("quorum none\nquorum none\n".into(), 2, K::SecondQuorum),
        (format!("witness a {}\n", w(1)), 2, K::NoQuorum),
        ("quorum a\n".into(), 1, K::UnknownName("a".into())),
        (format!("witness none {}\nquorum none\n", w(1)), 1, K::DuplicateName("none".into())),
        (format!("witness a {}\nwitness a {}\nquorum a\n", w(1), w(2)), 2, K::DuplicateName("a".into())),
        (
            format!(
                "witness a {}\nwitness b {}\nquorum a\n",
                w(1),
                CosignatureSigner::from_seed("renamed.example", &[0x51; 32]).unwrap().verifier().vkey()
            ),
            2,
            K::DuplicateKey,
        ),
        (format!("witness a {}\ngroup g 2 a\nquorum g\n", w(1)), 2, K::BadThreshold("2".into())),
        (format!("witness a {}\ngroup g 0 a\nquorum g\n", w(1)), 2, K::BadThreshold("0".into())),
        (format!("witness a {}\ngroup g some a\nquorum g\n", w(1)), 2, K::BadThreshold("some".into())),
        (format!("witness a {}\ngroup g any a a\nquorum g\n", w(1)), 2, K::BadMember("a".into())),
        (format!("witness a {}\ngroup g any none\nquorum g\n", w(1)), 2, K::BadMember("none".into())),
        (format!("witness a {}\ngroup g any\nquorum g\n", w(1)), 2, K::Arity),
        (format!("group g any a\nwitness a {}\nquorum g\n", w(1)), 1, K::UnknownName("a".into())),
        (format!("log {log}\nlog {log}\nquorum none\n"), 2, K::DuplicateKey),
        (format!("log {}\nquorum none\n", w(1)), 1, K::UnsupportedKeyType(4)),
        (format!("witness a {log}\nquorum a\n"), 1, K::UnsupportedKeyType(1)),
        ("witness a x+12345678+BgAA\nquorum a\n".into(), 1, K::Vkey(VkeyError::KeyIdMismatch)),
        ("logs x\nquorum none\n".into(), 1, K::UnknownKeyword("logs".into())),
        ("quorum none\r\n".into(), 1, K::BadCharacter(b'\r')),
        ("quorum\n".into(), 1, K::Arity),
    ];
    for (text, line, kind) in cases {
        let e = Policy::parse(&text).unwrap_err();
        assert_eq!((e.line, &e.kind), (line, &kind), "{text:?}: {e}");
    }
    // ML-DSA-44 witness keys (0x06) are refused, clearly, not ignored.
    let mldsa = auditchain::core::tlog::VerifierKey::new("w", 0x06, &[1; 1312]).unwrap().to_string();
    assert_eq!(Policy::parse(&format!("witness a {mldsa}\nquorum a\n")).unwrap_err().kind, K::UnsupportedKeyType(6));
}

#[test]
fn a_checkpoint_needs_a_log_key_named_by_its_origin() {
    let other = NoteSigner::from_seed("not-the-origin", &[0x42; 32]).unwrap();
    let cp =
        Checkpoint { origin: ORIGIN.into(), size: 0, root: auditchain::core::merkle::EMPTY_ROOT, extensions: vec![] };
    let note = cp.sign(&other).unwrap();
    let p = Policy::parse(&format!("log {}\nquorum none\n", other.verifier().public_key_string())).unwrap();
    assert!(matches!(p.verify_checkpoint(&note, &[]), Err(CheckpointError::NoLogSignature)));
    assert!(p.verify_checkpoint(&note, &[other.verifier()]).is_ok());
}

#[test]
fn bad_cosignatures_are_reported_not_counted() {
    let cp = Checkpoint { origin: ORIGIN.into(), size: 3, root: [3; 32], extensions: vec![] };
    let signed = SignedCheckpoint::open(&cp.sign(&log_signer()).unwrap(), &[log_signer().verifier()]).unwrap();
    let mut sig = witness_signer(1).sign(signed.body(), 7);
    sig.signature[20] ^= 4;
    let note = format!("{}{}", signed.to_note(), sig.line());
    let p =
        Policy::parse(&format!("log {}\nwitness a {}\nquorum a\n", log_signer().verifier().public_key_string(), w(1)))
            .unwrap();
    let v = p.verify_checkpoint(&note, &[]).unwrap();
    assert!(!v.quorum);
    assert_eq!(v.bad, vec![("a".to_string(), CosignatureError::BadSignature)]);
    assert_eq!(cosign(&signed, &[sig], &witness_signer(1).verifier()), Err(CosignatureError::BadSignature));
}

// ---- add-checkpoint ------------------------------------------------------------

#[test]
fn add_checkpoint_requests_are_checked_before_sending() {
    let tree = poc_tree(20);
    let cp = Checkpoint { origin: ORIGIN.into(), size: 20, root: tree.root(), extensions: vec![] };
    let note = cp.sign(&log_signer()).unwrap();
    let proof = tree.consistency_proof(7, 20).unwrap();
    let r = AddCheckpoint::new(7, proof.clone(), &note).unwrap();
    assert_eq!(AddCheckpoint::parse(&r.body()).unwrap(), r);
    assert!(r.body().starts_with("old 7\n") && r.body().contains("\n\nexample.com/auditchain/vectors\n20\n"));
    assert_eq!(AddCheckpoint::new(0, vec![], &note).unwrap().body(), format!("old 0\n\n{note}"));
    assert_eq!(AddCheckpoint::new(21, vec![], &note), Err(WitnessError::OldBeyondSize { old: 21, size: 20 }));
    assert_eq!(AddCheckpoint::new(0, proof.clone(), &note), Err(WitnessError::UnexpectedProof));
    assert_eq!(AddCheckpoint::new(20, proof.clone(), &note), Err(WitnessError::UnexpectedProof));
    assert_eq!(AddCheckpoint::new(7, vec![], &note), Err(WitnessError::MissingProof));
    assert_eq!(AddCheckpoint::new(7, vec![[0; 32]; 64], &note), Err(WitnessError::TooManyProofLines(64)));
    assert!(matches!(AddCheckpoint::new(0, vec![], "not a note\n"), Err(WitnessError::Checkpoint(_))));
    assert!(matches!(AddCheckpoint::parse("old 7\nAAAA\n\nx"), Err(WitnessError::BadRequest(_))));
}

#[test]
fn every_witness_answer_is_classified() {
    // Bodies as the pinned witnesses send them (docs/WITNESSING-NOTES.md §3).
    let lw = |m: &str| format!("{m}\n").into_bytes();
    let plain = "text/plain; charset=utf-8";
    assert_eq!(parse_answer(409, SIZE_CONTENT_TYPE, b"0\n"), Ok(Answer::Conflict(0)));
    assert_eq!(parse_answer(409, "Text/X.Tlog.Size; q=1", b"13\n"), Ok(Answer::Conflict(13)));
    assert_eq!(parse_answer(403, plain, &lw("unknown log")), Ok(Answer::NotAccepted(403)));
    assert_eq!(parse_answer(404, "", b""), Ok(Answer::NotAccepted(404)));
    assert_eq!(parse_answer(422, plain, &lw("bad consistency proof")), Ok(Answer::Inconsistent));
    assert_eq!(parse_answer(422, "", b""), Ok(Answer::Inconsistent));
    assert_eq!(parse_answer(400, plain, &lw("invalid input")), Ok(Answer::Rejected));
    assert_eq!(parse_answer(500, "", b""), Ok(Answer::RetryLater(500)));
    assert_eq!(parse_answer(429, plain, &lw("Too Many Requests")), Ok(Answer::RetryLater(429)));
    assert_eq!(parse_answer(302, "", b""), Ok(Answer::Unexpected(302)));
    // A 409 must say the size, as text/x.tlog.size.
    for (ct, body) in [
        (plain, &b"13\n"[..]),
        (SIZE_CONTENT_TYPE, b"13"),
        (SIZE_CONTENT_TYPE, b"013\n"),
        (SIZE_CONTENT_TYPE, b"-1\n"),
        (SIZE_CONTENT_TYPE, b""),
    ] {
        assert_eq!(parse_answer(409, ct, body), Err(WitnessError::BadConflict), "{ct} {body:?}");
    }
    // A 200 must be signature lines.
    for body in [&b""[..], b"\n", b"- w AAAAAAAA\n", b"\xe2\x80\x94 w AAAAAAAAAA==", b"\xff\n"] {
        assert!(matches!(parse_answer(200, plain, body), Err(WitnessError::BadCosignatures(_))), "{body:?}");
    }
    assert_eq!(parse_answer(200, plain, &vec![b'a'; 70_000]), Err(WitnessError::TooLarge(70_000)));
    // Two keys (omniwitness with an Ed25519 and an ML-DSA key): both parse,
    // the one we do not know is dropped by cosign.
    let cp = Checkpoint { origin: ORIGIN.into(), size: 1, root: [1; 32], extensions: vec![] };
    let signed = SignedCheckpoint::open(&cp.sign(&log_signer()).unwrap(), &[log_signer().verifier()]).unwrap();
    let ours = witness_signer(1).sign(signed.body(), 99);
    let unknown = parse_signature_line(&format!("\u{2014} witness.example/w1 {}", B64.encode([7u8; 40]))).unwrap();
    let body = format!("{}{}", ours.line(), unknown.line());
    let Ok(Answer::Cosigned(lines)) = parse_answer(200, plain, body.as_bytes()) else { panic!() };
    let (note, t) = cosign(&signed, &lines, &witness_signer(1).verifier()).unwrap();
    assert_eq!((note, t), (format!("{}{}", signed.to_note(), ours.line()), 99));
    assert_eq!(cosign(&signed, &[unknown], &witness_signer(2).verifier()), Err(CosignatureError::OtherKey));
}

#[test]
fn conflicts_resync_or_refuse() {
    assert_eq!(on_conflict(0, 13), Resync::Resend { old: 0 });
    assert_eq!(on_conflict(13, 13), Resync::Resend { old: 13 });
    assert_eq!(on_conflict(14, 13), Resync::WitnessAhead { witness: 14 });
}

#[test]
fn leaves_are_what_spec_5_4_says() {
    let rh = chain::Hash::from([1; 32]);
    let stream_id = "s-1";
    let link = Link { stream_id, sequence: 1, key_epoch: 0, end: false, previous: None, record_hash: &rh }.sha256();
    let leaf = Leaf { stream_id, sequence: 1, record_hash: &rh, link: &link };
    let mut want = b"auditchain.leaf.v1\0".to_vec();
    want.extend_from_slice(&3u32.to_be_bytes());
    want.extend_from_slice(b"s-1");
    want.extend_from_slice(&1u64.to_be_bytes());
    want.extend_from_slice(&rh);
    want.extend_from_slice(&link);
    assert_eq!(leaf.data(), want);
    let mut h = vec![0u8];
    h.extend_from_slice(&want);
    assert_eq!(
        leaf.hash(),
        <[u8; 32]>::from(sha2::Digest::finalize(sha2::Digest::chain_update(sha2::Sha256::default(), &h)))
    );
}
