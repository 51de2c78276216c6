//! Criterion benchmarks of the core's per-record costs: canonicalising and
//! hashing a batch from OTLP protobuf (the processor's path), the same from
//! OTLP/JSON (the verifier's path), and a whole stamping call (hash, link,
//! stamps) with the state kept in memory; `stages/*` splits the
//! processor's path into its stages (canonical form alone, SHA-256 alone,
//! both, the stamping call), each in records/s. `make bench` runs them.

#[path = "../tests/support/mod.rs"]
mod support;

use auditchain::core::canonical::{CanonicalError, Envelope, RecordHasher, Scratch, json, log_records_from_json};
use auditchain::engine::config::EngineConfig;
use auditchain::engine::{Engine, hash_log_records};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use std::hint::black_box;
use support::*;

fn batch(n: u64) -> (Vec<u8>, serde_json::Value) {
    let req = request((0..n).map(audit_record));
    (req.encode_to_vec(), request_json(&req))
}

fn canonical(c: &mut Criterion) {
    let mut g = c.benchmark_group("hash_records");
    for n in [100u64, 1000] {
        let (pb, js) = batch(n);
        g.throughput(Throughput::Elements(n));
        g.bench_with_input(BenchmarkId::new("protobuf", n), &pb, |b, pb| {
            b.iter(|| hash_log_records(black_box(pb)).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("json", n), &js, |b, js| {
            struct Sink(RecordHasher, usize);
            impl<'v> json::RecordSink<'v> for Sink {
                fn envelope(&mut self, e: &Envelope) {
                    self.0.set_envelope(e);
                }
                fn record(
                    &mut self,
                    _: &'v serde_json::Value,
                    r: Result<(&[u8], &[json::StampAttr<'v>]), CanonicalError>,
                ) {
                    black_box(self.0.hash(r.unwrap().0));
                    self.1 += 1;
                }
            }
            let mut scratch = Scratch::new();
            b.iter(|| {
                let mut s = Sink(RecordHasher::default(), 0);
                json::walk_logs(black_box(js), &mut scratch, &mut s).unwrap();
                s.1
            })
        });
    }
    g.finish();
    // The same JSON path, allocating a fresh buffer per record, for scale.
    let (_, js) = batch(100);
    c.bench_function("canonical_bytes_json/100", |b| b.iter(|| log_records_from_json(black_box(&js)).unwrap()));
}

fn stamping(c: &mut Criterion) {
    let mut g = c.benchmark_group("stamp_logs");
    for n in [100u64, 1000] {
        let (pb, _) = batch(n);
        let engine = Engine::new(EngineConfig::new("bench"), 1).unwrap();
        g.throughput(Throughput::Elements(n));
        g.bench_with_input(BenchmarkId::new("in_memory_state", n), &pb, |b, pb| {
            b.iter(|| {
                let s = engine.stamp_logs(black_box(pb), 2).unwrap();
                engine.settle(s.batch_id, true).unwrap();
                s
            })
        });
    }
    // With a signing key: every record also a leaf of the log (one leaf
    // hash and, amortised, two node hashes: the log's range and the last
    // checkpoint's extension); checkpoints rare, as at 10 000 records.
    let dir = tempfile::tempdir().unwrap();
    let sign = dir.path().join("sign.key");
    let ks = auditchain::core::keys::KeySet::generate("bench").unwrap();
    auditchain::core::keys::write_new_file(&sign, &ks.signer.private_key_string(), 0o600).unwrap();
    for n in [100u64, 1000] {
        let (pb, _) = batch(n);
        let mut config = EngineConfig::new("bench");
        config.signing_key_file = Some(sign.clone());
        config.checkpoint.records = 1_000_000;
        config.checkpoint.interval = 3600 * 1_000_000_000;
        let engine = Engine::new(config, 1).unwrap();
        g.throughput(Throughput::Elements(n));
        g.bench_with_input(BenchmarkId::new("in_memory_state_log", n), &pb, |b, pb| {
            b.iter(|| {
                let s = engine.stamp_logs(black_box(pb), 2).unwrap();
                engine.settle(s.batch_id, true).unwrap();
                s
            })
        });
    }
    g.finish();
}

/// The processor's path stage by stage on one 1000-record batch, each in
/// records/s (criterion's `thrpt`): the canonical form alone (walked from
/// protobuf, not hashed), SHA-256 alone (over the finished canonical
/// forms), both (`hash_records`), and the whole stamping call.
fn stages(c: &mut Criterion) {
    use auditchain::core::canonical::proto::{self, RecordSink, StampAttr, StampPolicy};
    use auditchain::core::content_hash::Outcome;
    use sha2::{Digest, Sha256};
    struct Count(usize);
    impl<'a> RecordSink<'a> for Count {
        fn envelope(&mut self, e: &Envelope) {
            self.0 += black_box(e.prefix.len());
        }
        fn record(&mut self, canonical: &[u8], _: &[StampAttr<'a>], _: Option<&Outcome>) {
            self.0 += black_box(canonical).len();
        }
    }
    let n = 1000u64;
    let (pb, _) = batch(n);
    let forms = auditchain::core::canonical::log_records_from_proto(&pb).unwrap();
    let engine = Engine::new(EngineConfig::new("bench"), 1).unwrap();
    let mut g = c.benchmark_group("stages");
    g.throughput(Throughput::Elements(n));
    let mut scratch = Scratch::new();
    g.bench_function("canonical_form/1000", |b| {
        b.iter(|| {
            let mut sink = Count(0);
            proto::walk_logs(black_box(&pb), StampPolicy::Extract, &mut scratch, &mut sink).unwrap();
            sink.0
        })
    });
    g.bench_function("sha256/1000", |b| {
        b.iter(|| forms.iter().map(|f| Sha256::digest(black_box(f))[0]).fold(0u8, |a, x| a ^ x))
    });
    g.bench_function("canonical_form_and_sha256/1000", |b| b.iter(|| hash_log_records(black_box(&pb)).unwrap()));
    g.bench_function("stamping_call/1000", |b| {
        b.iter(|| {
            let s = engine.stamp_logs(black_box(&pb), 2).unwrap();
            engine.settle(s.batch_id, true).unwrap();
            s
        })
    });
    g.finish();
}

/// One leaf appended to the engine's log (leaf hash + amortised node hash).
fn log_append(c: &mut Criterion) {
    let mut log = auditchain::engine::tlog::LogState::new("bench".into());
    let mut seq = 0u64;
    c.bench_function("log_append", |b| {
        b.iter(|| {
            seq += 1;
            log.append(black_box("bench-20261201T200000Z-ab12"), seq, &[1; 32], &[2; 32]);
        })
    });
}

/// `auditchain verify` on a file of 10,000 stamped records (JSON lines).
fn verifying(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(EngineConfig::new("bench"), 1).unwrap();
    let mut reqs = Vec::new();
    for b in 0..20u64 {
        let mut req = request((0..500).map(|i| audit_record(b * 500 + i)));
        let stamps = engine.stamp_logs(&req.encode_to_vec(), 2).unwrap();
        apply(&mut req, &stamps);
        reqs.push(req);
    }
    std::fs::write(dir.path().join("audit.jsonl"), json_lines(&reqs)).unwrap();
    let opts = auditchain::verify::Options::default();
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(10_001));
    g.sample_size(10);
    g.bench_function("json_lines/10000", |b| {
        b.iter(|| {
            let r = auditchain::verify::verify(&[dir.path().to_path_buf()], &opts);
            assert_eq!(r.inputs.records, 10_001);
            r
        })
    });
    g.finish();
}

criterion_group!(benches, canonical, stages, stamping, log_append, verifying);
criterion_main!(benches);
