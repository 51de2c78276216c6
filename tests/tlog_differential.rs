//! `auditchain verify`, `prove` and the format version 2 files against an
//! independent RFC 6962 implementation, golang.org/x/mod/sumdb/tlog
//! (tests/merkle/main.go, as tests/merkle_differential.rs uses it): the
//! leaves recomputed from the exported records (SPEC §5.5) give, in Go,
//! the roots the signed checkpoints state; every inclusion proof the CLI
//! writes, and every consistency proof, is byte-identical to tlog's and
//! accepted by tlog's checkers.

mod support;

use auditchain::core::chain::Hash;
use auditchain::core::hex::from_hex;
use auditchain::core::note::{Checkpoint, parse_note};
use auditchain::core::tlog::Leaf;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sha2::Digest;
use std::io::Write;
use std::process::{Command, Stdio};
use support::tlog::*;

fn auditchain(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_auditchain")).args(args).output().unwrap()
}

fn hashes(lines: &str) -> Vec<Hash> {
    lines.lines().filter(|l| !l.is_empty()).map(|l| B64.decode(l).unwrap().try_into().unwrap()).collect()
}

fn string_attr<'a>(r: &'a Value, k: &str) -> Option<&'a str> {
    support::attr(r, k).and_then(|v| v["stringValue"].as_str())
}

#[test]
fn roots_and_proofs_agree_with_golang_sumdb_tlog() {
    let d = tempfile::tempdir().unwrap();
    let log = two_streams(None, true);
    let store = d.path().join("store");
    std::fs::create_dir(&store).unwrap();
    log.write(&store, true);
    let key = log.signer.verifier().public_key_string();

    // The leaves, recomputed from the files alone: record hash of the
    // canonical form, the stamp's stream id, number and link; the leaf
    // index from the stream's start record (audit.log.index).
    let mut leaves: Vec<(u64, Vec<u8>, String, u64)> = Vec::new();
    for id in [A, B] {
        let text = std::fs::read_to_string(store.join(format!("{id}.jsonl"))).unwrap();
        let requests: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let mut base = None;
        for req in &requests {
            let canon = auditchain::core::canonical::log_records_from_json(req).unwrap();
            let record_hash: Hash = sha2::Sha256::digest(&canon[0]).into();
            let r = &req["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
            let seq = support::sequence_of(r).unwrap();
            if seq == 1 {
                base = support::attr(r, "audit.log.index")
                    .map(|v| v["intValue"].as_str().unwrap().parse::<u64>().unwrap());
            }
            let link = from_hex(string_attr(r, "audit.integrity.value").unwrap()).unwrap();
            let stream_id = string_attr(r, "audit.sequence.stream_id").unwrap();
            let data = Leaf { stream_id, sequence: seq, record_hash: &record_hash, link: &link }.data();
            leaves.push((base.unwrap() + seq - 1, data, id.to_string(), seq));
        }
    }
    leaves.sort();
    assert!(leaves.iter().enumerate().all(|(i, l)| l.0 == i as u64), "the leaves are 0..n");
    let n = leaves.len() as u64;

    // Every record proven by the CLI, and the consistency of every
    // checkpoint with the newest.
    let mut inclusion = Vec::new();
    for (index, _, stream, seq) in &leaves {
        let spec = format!("{stream}:{seq}");
        let o = auditchain(&["prove", "--record", &spec, "--public-key", &key, store.to_str().unwrap()]);
        if !o.status.success() {
            // Only the newest records, after the newest checkpoint, have none.
            let newest = *log.checkpoints.keys().last().unwrap();
            assert!(*index >= newest, "record {spec} (leaf {index}): {}", String::from_utf8_lossy(&o.stderr));
            continue;
        }
        let text = String::from_utf8(o.stdout).unwrap();
        let (head, note) = text.split_once("\n\n").unwrap();
        let mut lines = head.lines().skip(1);
        let i: u64 = lines.next().unwrap().strip_prefix("index ").unwrap().parse().unwrap();
        assert_eq!(i, *index);
        let proof = hashes(&lines.collect::<Vec<_>>().join("\n"));
        let size = Checkpoint::parse(&parse_note(note).unwrap().text).unwrap().size;
        inclusion.push((i, size, proof));
    }
    let sizes: Vec<u64> = log.checkpoints.keys().copied().collect();
    let newest = *sizes.last().unwrap();
    let mut consistency = Vec::new();
    for &m in sizes.iter().filter(|&&m| m > 0 && m < newest) {
        let old = m.to_string();
        let o = auditchain(&["prove", "--consistency", &old, "--public-key", &key, store.to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = String::from_utf8(o.stdout).unwrap();
        let head = text.split("\n\n").next().unwrap();
        consistency.push((m, newest, hashes(&head.lines().skip(3).collect::<Vec<_>>().join("\n"))));
    }

    let b64 = |hs: &[Hash]| hs.iter().map(|h| B64.encode(h)).collect::<Vec<_>>();
    let question = json!({"trees": [{
        "leaves": leaves.iter().map(|l| B64.encode(&l.1)).collect::<Vec<_>>(),
        "inclusion": inclusion.iter().map(|(i, s, _)| [i, s]).collect::<Vec<_>>(),
        "consistency": consistency.iter().map(|(m, s, _)| [m, s]).collect::<Vec<_>>(),
        "check_inclusion": inclusion.iter().map(|(i, s, p)| json!({"index": i, "size": s, "proof": b64(p)})).collect::<Vec<_>>(),
        "check_consistency": consistency.iter().map(|(m, s, p)| json!({"old": m, "size": s, "proof": b64(p)})).collect::<Vec<_>>(),
    }]});
    let mut child = Command::new(support::tlogref::tlogref())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(question.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "tlogref: {}", String::from_utf8_lossy(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    let g = &answer["trees"][0];
    let list = |v: &Value| -> Vec<Hash> {
        v.as_array().unwrap().iter().map(|h| B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap()).collect()
    };
    let roots = list(&g["roots"]);
    assert_eq!(roots.len() as u64, n + 1);
    // tlog's roots are the roots every signed checkpoint states.
    for (size, c) in &log.checkpoints {
        let cp = Checkpoint::parse(&parse_note(&c.note).unwrap().text).unwrap();
        assert_eq!(roots[*size as usize], cp.root, "root of size {size}");
    }
    for ((i, s, p), gp) in inclusion.iter().zip(g["inclusion"].as_array().unwrap()) {
        assert_eq!(&list(gp), p, "inclusion of {i} in {s}");
    }
    for ((m, s, p), gp) in consistency.iter().zip(g["consistency"].as_array().unwrap()) {
        assert_eq!(&list(gp), p, "consistency {m} to {s}");
    }
    let all_true = |v: &Value| v.as_array().unwrap().iter().all(|b| b == true);
    assert!(all_true(&g["check_inclusion"]) && all_true(&g["check_consistency"]));
    assert!(inclusion.len() > 25 && consistency.len() >= 4, "{} {}", inclusion.len(), consistency.len());
    println!(
        "{} leaves, {} checkpoint roots, {} inclusion and {} consistency proofs identical to golang.org/x/mod/sumdb/tlog's",
        n,
        log.checkpoints.len(),
        inclusion.len(),
        consistency.len()
    );
}
