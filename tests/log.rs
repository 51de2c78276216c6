//! The engine's transparency log (SPEC §5.5, format version 2), checked
//! from the records it really exported: the leaves recomputed from them
//! (independently, with `core::merkle::Tree`) give every checkpoint's root,
//! every checkpoint's compact range has that root, every consistency proof
//! verifies, and the leaf index goes on across clean restarts and crashes.

mod support;

use auditchain::core::canonical;
use auditchain::core::hex::from_hex;
use auditchain::core::keys;
use auditchain::core::merkle::{CompactRange, MemoryStore, Tree, verify_consistency};
use auditchain::core::note::{Checkpoint, NoteVerifier, parse_note};
use auditchain::core::tlog::Leaf;
use auditchain::engine::Engine;
use auditchain::engine::config::{CheckpointConfig, EngineConfig, LogConfig, StateConfig};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use support::*;

type Keys = KeyFiles;

fn keys(name: &str) -> Keys {
    KeyFiles::new(name)
}

fn config(k: &Keys, state: &Path) -> EngineConfig {
    EngineConfig {
        state: StateConfig { directory: Some(state.to_path_buf()), new_stream: false },
        signing_key_file: Some(k.sign.clone()),
        checkpoint: CheckpointConfig { interval: 60 * SEC, records: 3, file: None },
        ..EngineConfig::new("log-host")
    }
}

fn run(e: &Engine, t: &mut u64, batches: u64, close: bool) -> Vec<ExportLogsServiceRequest> {
    let mut out = Vec::new();
    for b in 0..batches {
        *t += SEC;
        out.push(deliver(e, request((0..2).map(|i| audit_record(b * 2 + i))), *t));
    }
    if close {
        *t += SEC;
        out.push(close_delivered(e, *t));
    }
    out
}

fn str_attr(r: &Value, key: &str) -> Option<String> {
    attr(r, key).and_then(|v| v["stringValue"].as_str()).map(str::to_string)
}

fn int_attr(r: &Value, key: &str) -> Option<u64> {
    attr(r, key).and_then(|v| v["intValue"].as_str()).map(|s| s.parse().unwrap())
}

fn b64_array(r: &Value, key: &str) -> Option<Vec<[u8; 32]>> {
    let arr = attr(r, key)?["arrayValue"]["values"].as_array().cloned().unwrap_or_default();
    Some(arr.iter().map(|v| B64.decode(v["stringValue"].as_str().unwrap()).unwrap().try_into().unwrap()).collect())
}

/// One exported record as the log sees it.
struct Rec {
    json: Value,
    stream_id: String,
    sequence: u64,
    leaf: [u8; 32],
}

/// Every record of the exported lines with its leaf hash, recomputed from
/// the record alone (canonical form → record hash; stamp → stream id,
/// sequence, link).
fn recs(lines: &[Value]) -> Vec<Rec> {
    let mut out = Vec::new();
    for line in lines {
        let canon = canonical::records_from_json(line).unwrap();
        for (json, bytes) in records(std::slice::from_ref(line)).into_iter().zip(canon) {
            let stream_id = str_attr(&json, "audit.sequence.stream_id").unwrap();
            let sequence = sequence_of(&json).unwrap();
            let link = from_hex(&str_attr(&json, "audit.integrity.value").unwrap()).unwrap();
            let record_hash: [u8; 32] = Sha256::digest(&bytes).into();
            let leaf = Leaf { stream_id: &stream_id, sequence, record_hash: &record_hash, link: &link }.hash();
            out.push(Rec { json, stream_id, sequence, leaf });
        }
    }
    out
}

/// The leaf index of every record: each stream's base is its first
/// control record's own index minus its sequence number plus 1.
fn by_leaf_index(recs: &[Rec]) -> BTreeMap<u64, &Rec> {
    let mut base: BTreeMap<&str, u64> = BTreeMap::new();
    for r in recs {
        if let Some(i) = int_attr(&r.json, "audit.log.index") {
            let b = i + 1 - r.sequence;
            assert_eq!(*base.entry(&r.stream_id).or_insert(b), b, "a stream's records are consecutive leaves");
        }
    }
    recs.iter().map(|r| (base[r.stream_id.as_str()] + r.sequence - 1, r)).collect()
}

/// Checks every checkpoint against the tree rebuilt from the records;
/// returns the checkpoints' sizes and the tree.
fn check_log(recs: &[Rec], verifier: &NoteVerifier, origin: &str) -> (Vec<u64>, Tree<MemoryStore>) {
    let leaves = by_leaf_index(recs);
    let mut tree = Tree::new(MemoryStore::default()).unwrap();
    for (i, (index, r)) in leaves.iter().enumerate() {
        assert_eq!(*index, i as u64, "no leaf is missing");
        tree.append(&r.leaf).unwrap();
    }
    let mut sizes = Vec::new();
    let mut previous: Option<u64> = None;
    for (&index, r) in &leaves {
        assert_eq!(str_attr(&r.json, "audit.log.origin").is_some(), event(&r.json).is_some(), "control records only");
        if event(&r.json).is_none() {
            continue;
        }
        assert_eq!(str_attr(&r.json, "audit.log.origin").unwrap(), origin);
        assert_eq!(int_attr(&r.json, "audit.log.index"), Some(index), "a control record names its own leaf index");
        if event(&r.json) != Some("checkpoint") {
            continue;
        }
        let note = parse_note(r.json["body"]["stringValue"].as_str().unwrap()).unwrap();
        let sig = note.signatures.iter().find(|s| s.id == verifier.id).unwrap();
        assert!(verifier.verify(&note.text, &sig.signature), "the log's key signs the checkpoint");
        let cp = Checkpoint::parse(&note.text).unwrap();
        assert_eq!((cp.origin.as_str(), cp.size), (origin, index), "the checkpoint of leaf n is of size n");
        assert_eq!(cp.root, tree.root_at(cp.size).unwrap(), "the records give the checkpoint's root");
        let range = b64_array(&r.json, "audit.log.range").unwrap();
        assert_eq!(CompactRange::from_parts(0, cp.size, range).unwrap().root().unwrap(), cp.root);
        match previous {
            None => {
                assert!(
                    attr(&r.json, "audit.log.previous_size").is_none()
                        && attr(&r.json, "audit.log.consistency").is_none()
                )
            }
            Some(m) => {
                assert_eq!(int_attr(&r.json, "audit.log.previous_size"), Some(m));
                let proof = b64_array(&r.json, "audit.log.consistency").unwrap();
                assert_eq!(proof, tree.consistency_proof(m, cp.size).unwrap());
                verify_consistency(m, cp.size, &proof, &tree.root_at(m).unwrap(), &cp.root).unwrap();
            }
        }
        previous = Some(cp.size);
        sizes.push(cp.size);
    }
    (sizes, tree)
}

#[test]
fn the_records_give_every_checkpoints_root_range_and_consistency() {
    let k = keys("example.com/audit/gw-1");
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    let e = Engine::new(config(&k, state.path()), t).unwrap();
    assert_eq!(e.log().unwrap().0, "example.com/audit/gw-1", "the origin defaults to the key's name");
    let reqs = run(&e, &mut t, 10, true);
    let recs = recs(&lines(&reqs));
    let (sizes, tree) = check_log(&recs, &k.verifier(), "example.com/audit/gw-1");
    assert!(sizes.len() >= 6, "{sizes:?}");
    assert_eq!(tree.size(), recs.len() as u64);
    assert_eq!(*sizes.last().unwrap(), tree.size() - 1, "the final checkpoint covers everything before it");
}

#[test]
fn the_leaf_index_goes_on_across_a_clean_restart_and_a_crash() {
    let k = keys("example.com/audit/gw-2");
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    let mut reqs = run(&Engine::new(config(&k, state.path()), t).unwrap(), &mut t, 4, true);
    // Clean restart: a successor stream, the next leaves of the same log.
    let e = Engine::new(config(&k, state.path()), t).unwrap();
    reqs.extend(run(&e, &mut t, 3, false));
    // A batch issued but never exported (lost in the crash): still leaves.
    t += SEC;
    let lost = e.stamp_logs(&request((0..2).map(audit_record)).encode_to_vec(), t).unwrap();
    let size_before_crash = e.log().unwrap().1;
    drop(e);
    let e = Engine::new(config(&k, state.path()), t).unwrap();
    assert_eq!(e.log().unwrap().1, size_before_crash, "the log's size is durable with the stream");
    reqs.extend(run(&e, &mut t, 3, true));
    let lines = lines(&reqs);
    let recs_exported = recs(&lines);
    let streams: Vec<String> = {
        let mut v: Vec<String> = recs_exported.iter().map(|r| r.stream_id.clone()).collect();
        v.dedup();
        v
    };
    assert_eq!(streams.len(), 2, "{streams:?}");
    let resume = recs_exported.iter().find(|r| event(&r.json) == Some("resume")).unwrap();
    let start2 = recs_exported.iter().find(|r| event(&r.json) == Some("start") && r.stream_id == streams[1]).unwrap();
    let end1 = recs_exported.iter().rfind(|r| r.stream_id == streams[0]).unwrap();
    assert_eq!(
        int_attr(&start2.json, "audit.log.index").unwrap(),
        int_attr(&end1.json, "audit.log.index").unwrap() + 1,
        "the successor's first record is the leaf after the predecessor's last"
    );
    assert_eq!(
        int_attr(&resume.json, "audit.log.index").unwrap(),
        int_attr(&start2.json, "audit.log.index").unwrap() + resume.sequence - 1,
        "leaf index = base + sequence - 1, records lost in the crash included"
    );
    // With the lost batch the records give every root; without it, the
    // roots after it are not what the records give.
    let mut lost_req = request((0..2).map(audit_record));
    apply(&mut lost_req, &lost);
    let mut all = lines.clone();
    all.push(request_json(&lost_req));
    let (sizes, _) = check_log(&recs(&all), &k.verifier(), "example.com/audit/gw-2");
    assert!(sizes.len() >= 6, "{sizes:?}");
    let missing = std::panic::catch_unwind(|| check_log(&recs(&lines), &k.verifier(), "example.com/audit/gw-2"));
    assert!(missing.is_err(), "two leaves are missing");
}

fn state_file(state: &Path) -> PathBuf {
    state.join("log-host").join("state.json")
}

/// Rewrites the saved state with `edit` and a valid checksum, as someone
/// who knows the format could.
fn edit_state(state: &Path, edit: impl FnOnce(&mut Value)) {
    let path = state_file(state);
    let env: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut inner = env["state"].clone();
    edit(&mut inner);
    let text = serde_json::to_string(&inner).unwrap();
    let sum = auditchain::core::hex::to_hex(&Sha256::digest(text.as_bytes()).into());
    let out = format!(r#"{{"format":"auditchain-state-v1","state":{text},"sha256":"{sum}"}}"#);
    std::fs::write(&path, out).unwrap();
}

fn open_err(cfg: EngineConfig, t: u64) -> String {
    match Engine::new(cfg, t) {
        Ok(_) => panic!("the engine started"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_tampered_log_state_is_refused() {
    let k = keys("example.com/audit/gw-3");
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    run(&Engine::new(config(&k, state.path()), t).unwrap(), &mut t, 3, false);
    let good = std::fs::read(state_file(state.path())).unwrap();
    // A byte changed: the checksum catches it, as for any state.
    let mut bad = good.clone();
    let at = String::from_utf8_lossy(&bad).find("\"base\"").unwrap();
    bad[at + 8] ^= 1;
    std::fs::write(state_file(state.path()), &bad).unwrap();
    assert!(open_err(config(&k, state.path()), t).contains("corrupted"));
    // A consistent checksum over numbers that contradict each other.
    for edit in [
        (|s: &mut Value| s["log"]["base"] = 5.into()) as fn(&mut Value),
        |s| {
            let h = s["log"]["range"]["hashes"].as_array_mut().unwrap();
            h.pop();
        },
        |s| s["log"]["range"]["end"] = 3.into(),
        |s| s["log"]["last_checkpoint"]["size"] = 1_000.into(),
        |s| s["log"]["extensions"] = Value::Array(vec![]),
    ] {
        std::fs::write(state_file(state.path()), &good).unwrap();
        edit_state(state.path(), edit);
        let e = open_err(config(&k, state.path()), t);
        assert!(e.contains("corrupted") || e.contains("inconsistent"), "{e}");
    }
    std::fs::write(state_file(state.path()), &good).unwrap();
    Engine::new(config(&k, state.path()), t).unwrap();
}

#[test]
fn origins_partitions_warnings_and_version_1() {
    let k = keys("example.com/audit/gw-4");
    let state = tempfile::tempdir().unwrap();
    let cfg = EngineConfig {
        log: LogConfig { partition: "svc-a".into(), ..LogConfig::default() },
        ..config(&k, state.path())
    };
    let e = Engine::new(cfg, T0).unwrap();
    assert_eq!(e.log().unwrap().0, "example.com/audit/gw-4/svc-a");
    drop(e);
    // A configured origin other than the key's name: accepted, warned.
    let state = tempfile::tempdir().unwrap();
    let cfg = EngineConfig {
        log: LogConfig { origin: "example.com/other".into(), ..LogConfig::default() },
        ..config(&k, state.path())
    };
    let e = Engine::new(cfg.clone(), T0).unwrap();
    let s = e.tick(T0 + 1).unwrap();
    assert!(s.warning.as_deref().unwrap_or("").contains("differs from the signing key's name"), "{:?}", s.warning);
    assert_eq!(e.log().unwrap().0, "example.com/other");
    drop(e);
    // The origin cannot change under a running log: the stream keeps it.
    let cfg2 = EngineConfig { log: LogConfig::default(), ..cfg };
    let e = Engine::new(cfg2, T0 + 2).unwrap();
    assert_eq!(e.log().unwrap().0, "example.com/other");
    let s = e.tick(T0 + 3).unwrap();
    assert!(s.warning.as_deref().unwrap_or("").contains("a log's origin never changes"), "{:?}", s.warning);
    // Version 1, and streams without a signing key: no log.
    let state = tempfile::tempdir().unwrap();
    let v1 = EngineConfig { log: LogConfig { format_version: 1, ..LogConfig::default() }, ..config(&k, state.path()) };
    let mut t = T0;
    let e = Engine::new(v1, t).unwrap();
    assert!(e.log().is_none());
    let recs = recs(&lines(&run(&e, &mut t, 2, true)));
    assert!(recs.iter().all(|r| r.json["attributes"].to_string().find("audit.log.").is_none()));
    let unsigned = EngineConfig { signing_key_file: None, ..EngineConfig::new("plain") };
    assert!(Engine::new(unsigned, T0).unwrap().log().is_none());
    // Bad configurations name their key.
    for (json, key) in [
        (r#"{"stream_name":"a","log":{"origin":"x"}}"#, "log.origin"),
        (r#"{"stream_name":"a","signing_key_file":"/k","log":{"origin":"a\nb"}}"#, "log.origin"),
        (r#"{"stream_name":"a","signing_key_file":"/k","log":{"format_version":3}}"#, "log.format_version"),
        (r#"{"stream_name":"a","witnesses":[{"url":"http://w","key":"k"}]}"#, "witnesses"),
        (r#"{"stream_name":"a","signing_key_file":"/k","witnesses":[{"url":"http://w","key":"k"}]}"#, "witnesses"),
        (r#"{"stream_name":"a","signing_key_file":"/k","witness_quorum":1}"#, "witness_quorum"),
    ] {
        let e = EngineConfig::from_json(json.as_bytes()).unwrap_err();
        assert_eq!(e.key, key, "{json}: {e}");
    }
}

#[test]
fn records_arriving_with_audit_log_attributes_are_refused() {
    let k = keys("example.com/audit/gw-5");
    let state = tempfile::tempdir().unwrap();
    let e = Engine::new(config(&k, state.path()), T0).unwrap();
    let mut rec = audit_record(1);
    rec.attributes.push(kv("audit.log.index", s("7")));
    let err = e.stamp_logs(&request([rec]).encode_to_vec(), T0 + SEC).unwrap_err();
    assert!(err.to_string().contains("audit.log.index"), "{err}");
}

#[test]
fn a_rolled_back_state_is_refused_by_the_logs_checkpoint_lines() {
    let k = keys("example.com/audit/gw-6");
    let state = tempfile::tempdir().unwrap();
    let cpdir = tempfile::tempdir().unwrap();
    let cfg = EngineConfig {
        checkpoint: CheckpointConfig { interval: 60 * SEC, records: 3, file: Some(cpdir.path().join("cp.jsonl")) },
        ..config(&k, state.path())
    };
    let mut t = T0;
    let e = Engine::new(cfg.clone(), t).unwrap();
    run(&e, &mut t, 2, false);
    let old = std::fs::read(state_file(state.path())).unwrap();
    run(&e, &mut t, 3, false);
    drop(e);
    std::fs::write(state_file(state.path()), old).unwrap();
    let err = open_err(cfg, t);
    assert!(err.contains("rollback refused") && err.contains("checkpoint.file"), "{err}");
}

/// tests/vectors/log.json (SPEC §5.5): a format version 2 log as the engine
/// exported it, two streams (a clean restart between them) with a witness
/// cosignature record, and what a verifier must recompute from it: every
/// record's leaf index and leaf hash, the root at every checkpoint.
/// Regenerated with AUDITCHAIN_UPDATE_VECTORS=1 (stream ids are random:
/// the vector changes), checked as stored otherwise.
#[test]
fn log_vector() {
    use auditchain::core::note::NoteSigner;
    use auditchain::core::tlog::CosignatureSigner;
    use auditchain::engine::config::WitnessConfig;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/log.json");
    if std::env::var_os("AUDITCHAIN_UPDATE_VECTORS").is_some() {
        let dir = tempfile::tempdir().unwrap();
        let signer = NoteSigner::from_seed("example.com/audit/vectors", &[0x07; 32]).unwrap();
        let sign = dir.path().join("sign.key");
        keys::write_new_file(&sign, &signer.private_key_string(), 0o600).unwrap();
        let witness = CosignatureSigner::from_seed("witness.example/vectors", &[0x09; 32]).unwrap();
        let cfg = EngineConfig {
            state: StateConfig { directory: Some(dir.path().join("state")), new_stream: false },
            signing_key_file: Some(sign),
            checkpoint: CheckpointConfig { interval: 60 * SEC, records: 4, file: None },
            witnesses: vec![WitnessConfig {
                url: "http://witness.example".into(),
                key: witness.verifier().vkey(),
                timeout: 0,
            }],
            ..EngineConfig::new("vectors")
        };
        let mut t = T0;
        let e = Engine::new(cfg.clone(), t).unwrap();
        let mut reqs = run(&e, &mut t, 2, false);
        // The witness cosigns the first checkpoint (its answer, as
        // litewitness sends it), recorded with the next call.
        for j in e.witness_jobs() {
            let req = auditchain::core::tlog::AddCheckpoint::parse(&j.body).unwrap();
            let text = parse_note(&req.checkpoint).unwrap().text;
            let line = witness.sign(&text, 1_800_000_000).line();
            e.witness_answer(j.id, 200, "text/plain", line.as_bytes(), t).unwrap();
        }
        reqs.extend(run(&e, &mut t, 1, true));
        drop(e);
        let e = Engine::new(cfg, t).unwrap();
        reqs.extend(run(&e, &mut t, 2, true));
        let lines = lines(&reqs);
        let recs = recs(&lines);
        let (sizes, tree) = check_log(&recs, &signer.verifier(), "example.com/audit/vectors");
        let leaves: Vec<Value> = by_leaf_index(&recs)
            .iter()
            .map(|(i, r)| {
                serde_json::json!({"leaf_index": i, "stream_id": r.stream_id, "sequence": r.sequence,
                    "leaf_hash": auditchain::core::hex::to_hex(&r.leaf)})
            })
            .collect();
        let roots: Vec<Value> = sizes
            .iter()
            .map(|&n| serde_json::json!({"size": n, "root": B64.encode(tree.root_at(n).unwrap())}))
            .collect();
        let v = serde_json::json!({
            "description": "A format version 2 log (SPEC §5.5) as the engine exported it: stream 1 (start, records, checkpoints, a cosignature record, the final checkpoint), then its successor after a clean restart. Recompute every leaf from the records (canonical form -> record hash; stamp -> stream id, sequence, link), order them by leaf index (base + sequence - 1, base = the first control record's audit.log.index - its sequence + 1), and check every checkpoint's root, range and consistency proof.",
            "origin": "example.com/audit/vectors",
            "public_key": signer.verifier().public_key_string(),
            "witness_vkey": witness.verifier().vkey(),
            "files": {"audit.jsonl": lines.iter().map(|l| format!("{l}\n")).collect::<String>()},
            "leaves": leaves,
            "checkpoints": roots,
        });
        std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
    }
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let lines: Vec<Value> =
        v["files"]["audit.jsonl"].as_str().unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let verifier = NoteVerifier::parse(v["public_key"].as_str().unwrap()).unwrap();
    let recs = recs(&lines);
    let (sizes, tree) = check_log(&recs, &verifier, v["origin"].as_str().unwrap());
    let leaves = by_leaf_index(&recs);
    assert_eq!(leaves.len(), v["leaves"].as_array().unwrap().len());
    for (want, (i, r)) in v["leaves"].as_array().unwrap().iter().zip(&leaves) {
        assert_eq!(want["leaf_index"], *i);
        assert_eq!(want["leaf_hash"], auditchain::core::hex::to_hex(&r.leaf));
    }
    let cps: Vec<(u64, String)> = v["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["size"].as_u64().unwrap(), c["root"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(cps.iter().map(|c| c.0).collect::<Vec<_>>(), sizes);
    for (n, root) in cps {
        assert_eq!(B64.encode(tree.root_at(n).unwrap()), root);
    }
    // The cosignature record: the first checkpoint's note, cosigned.
    let w = auditchain::core::tlog::CosignatureVerifier::parse(v["witness_vkey"].as_str().unwrap()).unwrap();
    let cos: Vec<&Rec> = recs.iter().filter(|r| event(&r.json) == Some("cosignature")).collect();
    assert_eq!(cos.len(), 1);
    let note = parse_note(cos[0].json["body"]["stringValue"].as_str().unwrap()).unwrap();
    let sig = note.signatures.iter().find(|s| s.id == w.id).unwrap();
    assert_eq!(w.verify(&note.text, sig), Ok(1_800_000_000));
    assert_eq!(int_attr(&cos[0].json, "audit.log.checkpoint_index"), Some(sizes[0]));
}

#[test]
fn a_version_1_stream_resumed_with_witnesses_stays_version_1_and_says_so() {
    use auditchain::core::tlog::CosignatureSigner;
    use auditchain::engine::config::WitnessConfig;
    let k = keys("example.com/audit/gw-7");
    let state = tempfile::tempdir().unwrap();
    let v1 = EngineConfig { log: LogConfig { format_version: 1, ..LogConfig::default() }, ..config(&k, state.path()) };
    let mut t = T0;
    run(&Engine::new(v1.clone(), t).unwrap(), &mut t, 1, false); // a crash: no close
    let w = CosignatureSigner::from_seed("w", &[1; 32]).unwrap();
    let v2 = EngineConfig {
        log: LogConfig::default(),
        witnesses: vec![WitnessConfig { url: "http://w".into(), key: w.verifier().vkey(), timeout: 0 }],
        ..v1
    };
    let e = Engine::new(v2.clone(), t).unwrap();
    assert!(e.log().is_none(), "a stream keeps its format");
    let warn = e.tick(t + 1).unwrap().warning.unwrap_or_default();
    assert!(warn.contains("continues in format version 1"), "{warn}");
    run(&e, &mut t, 1, true);
    drop(e);
    let e = Engine::new(v2, t).unwrap();
    assert!(e.log().is_some(), "its successor starts the log");
}
