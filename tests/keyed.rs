//! The keyed, forward-secure chain and signed checkpoints against the
//! attacks they exist for, each performed on files the engine really
//! stamped: someone who can rewrite the store, who deletes the newest
//! records, who replays or forges checkpoints, who splices streams, who
//! stole the collector's current state.

mod support;

use auditchain::core::keys::{self, KeySet};
use auditchain::engine::Engine;
use auditchain::engine::config::{CheckpointConfig, EngineConfig, KeyEpochConfig, StateConfig};
use auditchain::verify::report::{Kind, Report, Status, Verdict};
use auditchain::verify::{Options, verify};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use support::*;

struct Keys {
    _dir: tempfile::TempDir,
    chain: PathBuf,
    sign: PathBuf,
    public: String,
}

fn keys(name: &str) -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let set = KeySet::generate(name).unwrap();
    let chain = dir.path().join("chain.key");
    let sign = dir.path().join("sign.key");
    keys::write_new_file(&chain, &set.chain.to_file_string(), 0o600).unwrap();
    keys::write_new_file(&sign, &set.signer.private_key_string(), 0o600).unwrap();
    Keys { public: set.signer.verifier().public_key_string(), chain, sign, _dir: dir }
}

fn config(k: &Keys, state: &Path, checkpoint_file: Option<PathBuf>) -> EngineConfig {
    EngineConfig {
        state: StateConfig { directory: Some(state.to_path_buf()), new_stream: false },
        key_file: Some(k.chain.clone()),
        signing_key_file: Some(k.sign.clone()),
        key_epoch: KeyEpochConfig { records: 4, interval: 60 * SEC },
        checkpoint: CheckpointConfig { interval: 60 * SEC, records: 3, file: checkpoint_file },
        ..EngineConfig::new("keyed-host")
    }
}

/// Runs `batches` batches of 2 records, one second apart, then closes
/// when `close`. Returns the exported requests and the time of the last.
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

fn options(k: &[&Keys], as_of: u64) -> Options {
    Options {
        chain_keys: k.iter().map(|k| keys::load_chain_key(&k.chain, "--key").unwrap()).collect(),
        verifiers: k.iter().map(|k| keys::load_verifier_key(&k.public).unwrap()).collect(),
        as_of_unix_nano: as_of,
        max_delay_ns: 10 * SEC,
        ..Options::default()
    }
}

fn seq(r: &Value) -> u64 {
    sequence_of(r).unwrap()
}

/// Writes the given records as one request (their resource and scope do
/// not matter to these tests... except that they are part of the hash, so
/// they are rebuilt from the original requests instead).
fn write_records(dir: &Path, original: &[Value], keep: impl Fn(&Value) -> Option<Value>) {
    let mut out = Vec::new();
    for line in original {
        let mut line = line.clone();
        for rl in line["resourceLogs"].as_array_mut().unwrap() {
            for sl in rl["scopeLogs"].as_array_mut().unwrap() {
                let recs: Vec<Value> = sl["logRecords"].as_array().unwrap().iter().filter_map(&keep).collect();
                sl["logRecords"] = Value::Array(recs);
            }
        }
        out.push(line);
    }
    write_lines(dir, "audit.jsonl", &out);
}

struct Scenario {
    keys: Keys,
    _state: tempfile::TempDir,
    out: tempfile::TempDir,
    lines: Vec<Value>,
    t_end: u64,
}

/// A keyed, signed stream of 10 batches, closed cleanly.
fn scenario() -> Scenario {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    let e = Engine::new(config(&k, state.path(), None), t).unwrap();
    let reqs = run(&e, &mut t, 10, true);
    Scenario { keys: k, _state: state, out: tempfile::tempdir().unwrap(), lines: lines(&reqs), t_end: t }
}

impl Scenario {
    fn verify(&self, as_of: u64) -> Report {
        verify(&[self.out.path().to_path_buf()], &options(&[&self.keys], as_of))
    }
}

#[test]
fn a_clean_keyed_stream_verifies_with_its_keys_and_fails_without() {
    let s = scenario();
    write_lines(s.out.path(), "audit.jsonl", &s.lines);
    let r = s.verify(s.t_end + 3600 * SEC);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.streams[0].findings);
    let st = &r.streams[0];
    assert_eq!(st.algorithm, "hmac-sha256-chain-v1");
    assert!(st.ended && st.checkpoints >= 5, "{} checkpoints", st.checkpoints);
    assert_eq!(st.anchored_through, st.last_sequence - 1, "the final checkpoint covers everything before it");
    let epochs: Vec<u64> = records(&s.lines)
        .iter()
        .filter_map(|r| attr(r, "audit.integrity.key_epoch").map(|v| v["intValue"].as_str().unwrap().parse().unwrap()))
        .collect();
    assert!(epochs.iter().max().unwrap() >= &5, "keys evolved: {epochs:?}");
    // Without the keys nothing can vouch for it: never a pass.
    let r = verify(&[s.out.path().to_path_buf()], &Options { as_of_unix_nano: s.t_end, ..Options::default() });
    assert_eq!(r.status(), Status::Failed);
    assert!(error_kinds(&r).contains(&Kind::KeyRequired), "{:?}", error_kinds(&r));
}

#[test]
fn truncating_the_newest_records_is_detected_by_the_heartbeat() {
    let s = scenario();
    // Drop the last 5 records: the end record (the final checkpoint) and
    // the newest regular checkpoint among them.
    let all = records(&s.lines);
    let last = all.iter().map(seq).max().unwrap();
    write_records(s.out.path(), &s.lines, |r| (seq(r) <= last - 5).then(|| r.clone()));
    let r = s.verify(s.t_end + 120 * SEC);
    assert_eq!(r.status(), Status::Failed);
    let st = &r.streams[0];
    assert!(!st.ended);
    assert!(error_kinds(&r).contains(&Kind::HeartbeatMissing), "{:?}", error_kinds(&r));
    // Checked right after the files were written, the cut is not yet
    // visible as a missed heartbeat: the newest records are just unanchored.
    let r = s.verify(st.newest_checkpoint.as_deref().map(|_| s.t_end).unwrap());
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", error_kinds(&r));
}

/// What an attacker without the key can do: recompute every link from
/// record `from` on with the public, unkeyed algorithm.
fn recompute_plain_links(lines: &mut [Value], from: u64) {
    use sha2::Digest;
    // Record hashes in file order, then the chain in sequence order.
    let mut recs: Vec<(u64, [usize; 4], [u8; 32])> = Vec::new();
    for (li, line) in lines.iter().enumerate() {
        let canon = auditchain::core::canonical::log_records_from_json(line).unwrap();
        let mut k = 0;
        for (a, rl) in line["resourceLogs"].as_array().unwrap().iter().enumerate() {
            for (b, sl) in rl["scopeLogs"].as_array().unwrap().iter().enumerate() {
                for (c, r) in sl["logRecords"].as_array().unwrap().iter().enumerate() {
                    recs.push((seq(r), [li, a, b, c], sha2::Sha256::digest(&canon[k]).into()));
                    k += 1;
                }
            }
        }
    }
    recs.sort();
    let mut prev: Option<[u8; 32]> = None;
    for (n, [li, a, b, c], rh) in recs {
        let r = &mut lines[li]["resourceLogs"][a]["scopeLogs"][b]["logRecords"][c];
        if n >= from {
            let stream_id = attr(r, "audit.sequence.stream_id").unwrap()["stringValue"].as_str().unwrap().to_string();
            let end = attr(r, "audit.sequence.end").is_some();
            *attr_mut(r, "audit.integrity.algorithm") = json!({"stringValue": "sha256-chain-v1"});
            r["attributes"].as_array_mut().unwrap().retain(|kv| kv["key"] != "audit.integrity.key_epoch");
            *attr_mut(r, "audit.sequence.previous_hash") =
                json!({"stringValue": auditchain::core::hex::to_hex(&prev.unwrap())});
            let link = auditchain::core::chain::Link {
                stream_id: &stream_id,
                sequence: n,
                key_epoch: 0,
                end,
                previous: prev.as_ref(),
                record_hash: &rh,
            };
            *attr_mut(r, "audit.integrity.value") =
                json!({"stringValue": auditchain::core::hex::to_hex(&link.sha256())});
        }
        prev =
            auditchain::core::hex::from_hex(attr(r, "audit.integrity.value").unwrap()["stringValue"].as_str().unwrap());
    }
}

#[test]
fn rewriting_a_record_and_recomputing_every_later_hash_is_detected() {
    let s = scenario();
    let mut l = s.lines.clone();
    for line in &mut l {
        for rl in line["resourceLogs"].as_array_mut().unwrap() {
            for sl in rl["scopeLogs"].as_array_mut().unwrap() {
                for r in sl["logRecords"].as_array_mut().unwrap() {
                    if seq(r) == 5 {
                        r["body"] = json!({"stringValue": "{\"actor\":\"nobody\"}"});
                    }
                }
            }
        }
    }
    recompute_plain_links(&mut l, 5);
    write_lines(s.out.path(), "audit.jsonl", &l);
    let r = s.verify(s.t_end);
    assert_eq!(r.status(), Status::Failed);
    let e = error_kinds(&r);
    // The recomputed links are internally consistent, but they are not the
    // stream's algorithm, and every signed checkpoint after record 5 signs
    // the original hashes.
    assert!(e.contains(&Kind::MalformedStamp), "{e:?}");
    assert!(e.contains(&Kind::CheckpointMismatch), "{e:?}");
    assert!(!e.contains(&Kind::BrokenLink), "the attacker's links are consistent: {e:?}");

    // The same attack on an unkeyed stream with signed checkpoints: the
    // checkpoints still catch it.
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    let cfg = EngineConfig { key_file: None, ..config(&k, state.path(), None) };
    let mut l = lines(&run(&Engine::new(cfg, t).unwrap(), &mut t, 6, true));
    recompute_plain_links(&mut l, 5);
    write_lines(s.out.path(), "audit.jsonl", &l);
    let mut opts = options(&[&k], t);
    opts.chain_keys.clear();
    let r = verify(&[s.out.path().to_path_buf()], &opts);
    assert_eq!(error_kinds(&r), vec![], "recomputing unchanged records changes nothing");
    for line in &mut l {
        for rl in line["resourceLogs"].as_array_mut().unwrap() {
            for sl in rl["scopeLogs"].as_array_mut().unwrap() {
                for r in sl["logRecords"].as_array_mut().unwrap() {
                    if seq(r) == 5 {
                        r["body"] = json!({"stringValue": "rewritten"});
                    }
                }
            }
        }
    }
    recompute_plain_links(&mut l, 5);
    write_lines(s.out.path(), "audit.jsonl", &l);
    let r = verify(&[s.out.path().to_path_buf()], &opts);
    assert_eq!(error_kinds(&r), vec![Kind::CheckpointMismatch], "only the checkpoints can tell");
}

#[test]
fn a_replayed_old_checkpoint_is_detected() {
    let s = scenario();
    let all = records(&s.lines);
    let old = all.iter().find(|r| event(r) == Some("checkpoint")).unwrap().clone();
    let target = all.iter().filter(|r| event(r) == Some("checkpoint")).nth(3).map(seq).unwrap();
    write_records(s.out.path(), &s.lines, |r| {
        if seq(r) == target {
            // Put the old checkpoint in place of a newer one.
            let mut replay = old.clone();
            *attr_mut(&mut replay, "audit.sequence.number") = json!({"intValue": target.to_string()});
            Some(replay)
        } else {
            Some(r.clone())
        }
    });
    let r = s.verify(s.t_end);
    let e = error_kinds(&r);
    assert!(e.contains(&Kind::CheckpointMismatch), "{e:?}");
    assert!(e.contains(&Kind::ContentMismatch), "{e:?}");
}

#[test]
fn a_forged_checkpoint_is_detected() {
    let s = scenario();
    let target = records(&s.lines).iter().filter(|r| event(r) == Some("checkpoint")).nth(2).map(seq).unwrap();
    write_records(s.out.path(), &s.lines, |r| {
        let mut r = r.clone();
        if seq(&r) == target {
            let note = r["body"]["stringValue"].as_str().unwrap().to_string();
            let mut lines: Vec<&str> = note.split('\n').collect();
            let bumped = (lines[1].parse::<u64>().unwrap() + 1).to_string();
            lines[1] = &bumped;
            r["body"] = json!({"stringValue": lines.join("\n")});
        }
        Some(r)
    });
    let r = s.verify(s.t_end);
    let e = error_kinds(&r);
    assert!(e.contains(&Kind::BadCheckpoint), "{e:?}");
}

#[test]
fn two_spliced_streams_are_detected() {
    let s = scenario();
    // A second collector with the same keys writes its own stream.
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    let cfg = EngineConfig { stream_name: "other-host".into(), ..config(&s.keys, state.path(), None) };
    let other = lines(&run(&Engine::new(cfg, t).unwrap(), &mut t, 4, true));
    let our_id = attr(&records(&s.lines)[0], "audit.sequence.stream_id").unwrap().clone();
    // Splice: the other stream's records 3..6 replace ours, relabelled.
    let theirs: Vec<Value> = records(&other).into_iter().filter(|r| (3..=6).contains(&seq(r))).collect();
    write_records(s.out.path(), &s.lines, |r| {
        if (3..=6).contains(&seq(r)) {
            let mut x = theirs.iter().find(|t| seq(t) == seq(r)).unwrap().clone();
            *attr_mut(&mut x, "audit.sequence.stream_id") = our_id.clone();
            Some(x)
        } else {
            Some(r.clone())
        }
    });
    let r = s.verify(s.t_end);
    assert_eq!(r.status(), Status::Failed);
    let e = error_kinds(&r);
    assert!(e.contains(&Kind::ContentMismatch), "{e:?}");
}

#[test]
fn a_thief_of_the_current_state_cannot_forge_earlier_records() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    let e = Engine::new(config(&k, state.path(), None), t).unwrap();
    let reqs = run(&e, &mut t, 10, false);
    // The thief reads the live state: the current epoch and its key.
    let file = std::fs::read_to_string(state.path().join("keyed-host/state.json")).unwrap();
    let doc: Value = serde_json::from_str(&file).unwrap();
    let epoch = doc["state"]["key"]["epoch"].as_u64().unwrap();
    let stolen = auditchain::core::hex::from_hex(doc["state"]["key"]["key"].as_str().unwrap()).unwrap();
    assert!(epoch >= 4, "epoch {epoch}");
    drop(e);
    let out = tempfile::tempdir().unwrap();
    let l = lines(&reqs);
    let stream_id =
        attr(&records(&l)[0], "audit.sequence.stream_id").unwrap()["stringValue"].as_str().unwrap().to_string();
    // Forge record 3 (an early epoch): new content, link computed with the
    // stolen key, labelled either with its true epoch or the stolen one.
    for relabel in [false, true] {
        write_records(out.path(), &l, |r| {
            let mut r = r.clone();
            if seq(&r) == 3 {
                r["body"] = json!({"stringValue": "forged"});
                let rec_hash = {
                    let mut stripped = r.clone();
                    stripped["attributes"].as_array_mut().unwrap().retain(|kv| {
                        !kv["key"].as_str().unwrap().starts_with("audit.sequence.")
                            && !kv["key"].as_str().unwrap().starts_with("audit.integrity.")
                    });
                    let req = json!({"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"audit.service"}}]},"scopeLogs":[{"scope":{"name":"audit.service"},"logRecords":[stripped]}]}]});
                    let c = auditchain::core::canonical::log_records_from_json(&req).unwrap();
                    <sha2::Sha256 as sha2::Digest>::digest(&c[0])
                };
                let prev = auditchain::core::hex::from_hex(
                    attr(&r, "audit.sequence.previous_hash").unwrap()["stringValue"].as_str().unwrap(),
                )
                .unwrap();
                let true_epoch: u64 =
                    attr(&r, "audit.integrity.key_epoch").unwrap()["intValue"].as_str().unwrap().parse().unwrap();
                let label = if relabel { epoch } else { true_epoch };
                let link = auditchain::core::chain::Link {
                    stream_id: &stream_id,
                    sequence: 3,
                    key_epoch: label,
                    end: false,
                    previous: Some(&prev),
                    record_hash: &rec_hash.into(),
                };
                *attr_mut(&mut r, "audit.integrity.value") =
                    json!({"stringValue": auditchain::core::hex::to_hex(&link.hmac(&stolen))});
                *attr_mut(&mut r, "audit.integrity.key_epoch") = json!({"intValue": label.to_string()});
            }
            Some(r)
        });
        let r = verify(&[out.path().to_path_buf()], &options(&[&k], t));
        let e = error_kinds(&r);
        let expected = if relabel { Kind::KeyEpochOutOfOrder } else { Kind::ContentMismatch };
        assert!(e.contains(&expected), "relabel={relabel}: {e:?}");
    }
}

#[test]
fn a_rotated_signing_key_verifies_by_key_id_in_one_run() {
    let k1 = keys("ops-2026a");
    let k2 = keys("ops-2026b");
    let state = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut t = T0;
    let first = run(&Engine::new(config(&k1, state.path(), None), t).unwrap(), &mut t, 3, true);
    // Restart with a new signing key (the chain key stays).
    let cfg = EngineConfig { signing_key_file: Some(k2.sign.clone()), ..config(&k1, state.path(), None) };
    let second = run(&Engine::new(cfg, t).unwrap(), &mut t, 3, true);
    std::fs::write(out.path().join("a.jsonl"), json_lines(&first)).unwrap();
    std::fs::write(out.path().join("b.jsonl"), json_lines(&second)).unwrap();
    let mut opts = options(&[&k1], t);
    opts.verifiers.push(keys::load_verifier_key(&k2.public).unwrap());
    let r = verify(&[out.path().to_path_buf()], &opts);
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", error_kinds(&r));
    assert_eq!(r.streams.len(), 2);
    // With only the old key, the new stream's checkpoints are unknown.
    let r = verify(&[out.path().to_path_buf()], &options(&[&k1], t));
    assert!(error_kinds(&r).contains(&Kind::UnknownSigner), "{:?}", error_kinds(&r));
}

#[test]
fn the_checkpoint_file_reveals_a_truncated_tail() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let cp_file = store.path().join("checkpoints.jsonl");
    let mut t = T0;
    let e = Engine::new(config(&k, state.path(), Some(cp_file.clone())), t).unwrap();
    let reqs = run(&e, &mut t, 6, false);
    let text = std::fs::read_to_string(&cp_file).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    let out = tempfile::tempdir().unwrap();
    let l = lines(&reqs);
    // The bucket loses its newest 4 records, checkpoint included; the
    // separate checkpoint store still has that checkpoint.
    let last = records(&l).iter().map(seq).max().unwrap();
    write_records(out.path(), &l, |r| (seq(r) + 4 <= last).then(|| r.clone()));
    std::fs::copy(&cp_file, out.path().join("checkpoints.jsonl")).unwrap();
    let r = verify(&[out.path().to_path_buf()], &options(&[&k], t));
    assert_eq!(r.status(), Status::Failed);
    let st = &r.streams[0];
    // Records 13.. are gone; the checkpoint at 14 (covering 13) survives in
    // the separate store, so records 13 and 14 are known to be missing.
    assert_eq!(st.missing, vec![[last - 3, last - 2]], "{:?}", st.missing);
    assert!(error_kinds(&r).contains(&Kind::MissingRecords), "{:?}", error_kinds(&r));
}

#[test]
fn keys_are_refused_when_missing_or_readable_by_others() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&k.sign, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = Engine::new(config(&k, state.path(), None), T0).err().unwrap();
    assert_eq!(e.kind, auditchain::engine::error::ErrorKind::Key);
    assert!(e.message.starts_with("signing_key_file:") && e.message.contains("chmod 600"), "{}", e.message);
    std::fs::set_permissions(&k.sign, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = EngineConfig { key_file: Some(k.chain.with_extension("missing")), ..config(&k, state.path(), None) };
    let e = Engine::new(cfg, T0).err().unwrap();
    assert!(e.message.starts_with("key_file: cannot read"), "{}", e.message);
    // Once the keyed stream exists, the chain key can leave the host: a
    // restart resumes from the evolved key in the state.
    let mut t = T0;
    let e = Engine::new(config(&k, state.path(), None), t).unwrap();
    run(&e, &mut t, 1, false);
    drop(e);
    std::fs::remove_file(&k.chain).unwrap();
    assert!(Engine::new(config(&k, state.path(), None), t).is_ok());
}

#[test]
fn a_plain_stream_fails_when_signed_checkpoints_are_expected() {
    let k = keys("ops");
    let out = tempfile::tempdir().unwrap();
    let e = Engine::new(EngineConfig::new("plain-host"), T0).unwrap();
    let mut t = T0;
    std::fs::write(out.path().join("a.jsonl"), json_lines(&run(&e, &mut t, 2, true))).unwrap();
    let r = verify(&[out.path().to_path_buf()], &options(&[&k], t));
    let e = error_kinds(&r);
    assert!(e.contains(&Kind::NoCheckpoint) && e.contains(&Kind::UnkeyedStream), "{e:?}");
}

#[test]
fn checkpoint_lines_survive_an_unwritable_file_and_a_restart() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let cp_file = store.path().join("checkpoints.jsonl");
    let mut t = T0;
    let e = Engine::new(config(&k, state.path(), Some(cp_file.clone())), t).unwrap();
    // The file becomes unwritable while the collector runs (a directory in
    // its place; a missing directory is refused at start).
    std::fs::remove_file(&cp_file).unwrap();
    std::fs::create_dir(&cp_file).unwrap();
    t += SEC;
    let req = request([audit_record(1), audit_record(2), audit_record(3)]);
    let stamps = e.stamp_logs(&req.encode_to_vec(), t).unwrap();
    let w = stamps.warning.clone().expect("the failed append is reported");
    assert!(w.starts_with("checkpoint.file: cannot append") && w.contains("kept in the stream state"), "{w}");
    // Closing fails to append too; the lines wait in the saved state.
    t += SEC;
    assert!(e.close(t).unwrap().warning.is_some());
    drop(e);
    std::fs::remove_dir(&cp_file).unwrap();
    let e = Engine::new(config(&k, state.path(), Some(cp_file.clone())), t).unwrap();
    let stamps = e.tick(t).unwrap();
    assert!(stamps.warning.is_none(), "{:?}", stamps.warning);
    let lines: Vec<Value> =
        std::fs::read_to_string(&cp_file).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // The checkpoint after the batch, and the final one at close.
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l["note"].as_str().unwrap().contains("\ninterval 60\n")));
}

#[test]
fn checkpoint_intervals_are_announced_in_whole_seconds_rounded_up() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let mut cfg = config(&k, state.path(), None);
    cfg.checkpoint.interval = 1_500_000_000;
    let e = Engine::new(cfg, T0).unwrap();
    let stamps = e.close(T0 + SEC).unwrap();
    let req = extra_only(&stamps);
    let l = request_json(&req);
    let rec = records(&[l]).pop().unwrap();
    assert!(rec["body"]["stringValue"].as_str().unwrap().contains("\ninterval 2\n"));
}

#[test]
fn a_different_chain_key_on_a_continuing_lineage_is_reported_not_silently_ignored() {
    let k = keys("ops");
    let other = keys("rotated");
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    run(&Engine::new(config(&k, state.path(), None), t).unwrap(), &mut t, 1, true);
    let cfg = EngineConfig { key_file: Some(other.chain.clone()), ..config(&k, state.path(), None) };
    let e = Engine::new(cfg, t).unwrap();
    let w = e.tick(t).unwrap().warning.expect("a warning");
    assert!(
        w.starts_with("key_file:") && w.contains("takes effect only when a stream starts without a keyed predecessor"),
        "{w}"
    );
}
