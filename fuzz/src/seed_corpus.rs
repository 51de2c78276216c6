//! Writes the seed corpora, corpus/<target>/, from tests/vectors and from
//! streams the engine stamps with the vectors' keys (the keys the verify
//! target loads). Run by `make fuzz-seeds`; the result is committed. Seeds
//! are named by content, so running it again adds nothing new.

use auditchain::core::keys::write_new_file;
use auditchain::engine::Engine;
use auditchain::engine::config::{CheckpointConfig, EngineConfig, KeyEpochConfig, StateConfig};
use auditchain_fuzz::checks::keys;
use auditchain_fuzz::support::{SEC, T0, audit_record, close_delivered, deliver, json_lines, request, request_json};
use prost::Message;
use std::path::Path;

fn put(target: &str, bytes: &[u8]) {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("seed-{:016x}", h.finish())), bytes).unwrap();
}

fn vectors() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/");
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(format!("{root}{f}")).unwrap()).unwrap()
    };
    for v in read("canonical.json").as_array().unwrap() {
        let hex = v["otlp_protobuf_hex"].as_str().unwrap();
        let bytes: Vec<u8> =
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
        put("canonical_proto", &bytes);
        put("canonical_differential", &bytes);
        put("canonical_json", v["otlp_json"].to_string().as_bytes());
    }
    let cp = read("checkpoint.json");
    let chain = read("chain.json");
    let mut parsers = vec![
        (0u8, cp["note"].as_str().unwrap().to_string()),
        (1, cp["text"].as_str().unwrap().to_string()),
        (2, chain["keyed"]["chain_key_file"].as_str().unwrap().to_string()),
        (2, cp["signing_key"].as_str().unwrap().to_string()),
        (2, cp["public_key"].as_str().unwrap().to_string()),
        (3, "2026-11-22T04:11:00.123456789Z".to_string()),
        (3, "1h30m".to_string()),
        (4, "3-7".to_string()),
        (4, "9".to_string()),
    ];
    let lineage: Vec<String> =
        chain["keyed"]["key_lineage"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().into()).collect();
    let sid = chain["keyed"]["stream_id"].as_str().unwrap();
    parsers.push((5, format!("{}\n{sid}", lineage.join("\n"))));
    parsers.push((5, format!("{sid}\n2:{sid}-next\n{sid}-next")));
    for (which, text) in parsers {
        let mut b = vec![which];
        b.extend_from_slice(text.as_bytes());
        put("parsers", &b);
    }
}

/// A keyed, signed stream: batches, a crash and a resume, a refused batch
/// (a gap), a clean end and a successor; written as the file exporter does.
fn engine_streams() {
    let dir = tempfile_dir();
    let k = keys();
    let (chain, sign) = (dir.join("chain.key"), dir.join("sign.key"));
    write_new_file(&chain, &k.chain.to_file_string(), 0o600).unwrap();
    write_new_file(&sign, &k.signer.private_key_string(), 0o600).unwrap();
    let cp_file = dir.join("checkpoints.jsonl");
    let config = || EngineConfig {
        state: StateConfig { directory: Some(dir.join("state")), new_stream: false },
        key_file: Some(chain.clone()),
        signing_key_file: Some(sign.clone()),
        key_epoch: KeyEpochConfig { records: 3, interval: 60 * SEC },
        checkpoint: CheckpointConfig { interval: 60 * SEC, records: 4, file: Some(cp_file.clone()) },
        ..EngineConfig::new("fuzz-seed")
    };
    let mut t = T0;
    let mut out = Vec::new();
    let e = Engine::new(config(), t).unwrap();
    for b in 0..3 {
        t += SEC;
        let req = request((0..2).map(|i| audit_record(b * 2 + i)));
        put("canonical_proto", &req.encode_to_vec());
        out.push(deliver(&e, req, t));
    }
    // A refused batch: its numbers become an announced gap.
    t += SEC;
    let stamps = e.stamp_logs(&request([audit_record(90)]).encode_to_vec(), t).unwrap();
    e.settle(stamps.batch_id, false).unwrap();
    drop(e); // a crash
    let e = Engine::new(config(), t).unwrap();
    t += SEC;
    out.push(deliver(&e, request([audit_record(7)]), t));
    t += SEC;
    out.push(close_delivered(&e, t));
    drop(e);
    let e = Engine::new(config(), t).unwrap();
    t += SEC;
    out.push(deliver(&e, request([audit_record(8), audit_record(9)]), t));
    t += SEC;
    out.push(close_delivered(&e, t));
    for r in &out {
        put("canonical_json", request_json(r).to_string().as_bytes());
        put("canonical_proto", &r.encode_to_vec());
        put("canonical_differential", &r.encode_to_vec());
    }
    let all = json_lines(&out);
    put("verify", all.as_bytes());
    let mut with_lines = all.clone();
    with_lines.push_str(&std::fs::read_to_string(&cp_file).unwrap());
    put("verify", with_lines.as_bytes());
    // The first stream alone, and its first half (a cut tail).
    let first: String = all.lines().take(4).map(|l| format!("{l}\n")).collect();
    put("verify", first.as_bytes());
    put("verify", all.lines().take(2).map(|l| format!("{l}\n")).collect::<String>().as_bytes());
    // The same requests as the fileexporter's format proto (each message
    // preceded by its length, 4 bytes big-endian), with its compression
    // zstd (each message a zstd frame), as one zstd stream, and cut inside
    // a frame.
    let zstd = |b: &[u8]| ruzstd::encoding::compress_to_vec(b, ruzstd::encoding::CompressionLevel::Fastest);
    let (mut framed, mut framed_zstd) = (Vec::new(), Vec::new());
    for r in &out {
        let m = r.encode_to_vec();
        let z = zstd(&m);
        framed.extend_from_slice(&(m.len() as u32).to_be_bytes());
        framed.extend_from_slice(&m);
        framed_zstd.extend_from_slice(&(z.len() as u32).to_be_bytes());
        framed_zstd.extend_from_slice(&z);
    }
    put("verify", &framed);
    put("verify", &framed_zstd);
    put("verify", &zstd(&framed));
    put("verify", &framed[..framed.len() * 2 / 3]);
    // One request, the whole file (the awss3exporter's otlp_proto).
    put("verify", &out[0].encode_to_vec());
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("auditchain-fuzz-seed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn main() {
    vectors();
    engine_streams();
    for t in ["canonical_proto", "canonical_json", "canonical_differential", "verify", "parsers"] {
        let n = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(t)).unwrap().count();
        println!("corpus/{t}: {n} files");
    }
}
