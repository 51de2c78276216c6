//! Format version 2 streams (docs/SPEC.md §5.5), built record by record
//! exactly as the contract says the engine writes them, for the verifier's
//! tests while the engine does not emit them: control records with
//! `audit.log.origin` / `audit.log.index`, checkpoint records with the log
//! note, `audit.log.range`, `audit.log.previous_size` and
//! `audit.log.consistency`, cosignature records and checkpoint-file lines;
//! plain (sha256-chain-v1) links, notes signed with a real Ed25519 key,
//! cosignatures by real cosignature/v1 keys. Written as the fileexporter
//! writes OTLP/JSON: one export request per line.
#![allow(dead_code)]

use super::{T0, audit_record, record_json};
use auditchain::core::chain::{Hash, Link};
use auditchain::core::hex::to_hex;
use auditchain::core::merkle::{MemoryStore, Tree};
use auditchain::core::note::{Checkpoint, NoteSigner, parse_note};
use auditchain::core::tlog::{CosignatureSigner, Leaf};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use serde_json::{Value, json};
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::Path;

pub const INTERVAL: u64 = 60;
/// Records are 1 s apart.
pub const STEP: u64 = 1_000_000_000;

struct Open {
    id: String,
    seq: u64,
    previous: Option<Hash>,
    requests: Vec<Value>,
}

/// A finished stream: its id and its export requests (one record each).
#[derive(Clone, Debug)]
pub struct Stream {
    pub id: String,
    pub requests: Vec<Value>,
}

/// Where a checkpoint was recorded.
#[derive(Clone, Debug)]
pub struct Carried {
    pub stream: String,
    pub sequence: u64,
    /// The note with every cosignature so far.
    pub note: String,
}

pub struct LogBuilder {
    pub origin: String,
    pub signer: NoteSigner,
    tree: Tree<MemoryStore>,
    pub t: u64,
    open: Option<Open>,
    /// The previous checkpoint's size.
    previous: Option<u64>,
    /// Checkpoints by size.
    pub checkpoints: BTreeMap<u64, Carried>,
    /// The checkpoint file's lines, in order.
    pub lines: Vec<Value>,
    pub streams: Vec<Stream>,
    /// Audit records issued so far (their content number).
    pub issued: u64,
    /// Replaces the content of audit record k (a rewrite).
    pub rewrite: Option<(u64, LogRecord)>,
    /// Spans instead of log records (control spans, SPEC §5.4).
    pub traces: bool,
}

/// The Ed25519 log key of the tests (name = origin, C2SP tlog-policy).
pub fn log_signer(origin: &str) -> NoteSigner {
    NoteSigner::from_seed(origin, &[0x42; 32]).unwrap()
}

pub fn witness(n: u8) -> CosignatureSigner {
    CosignatureSigner::from_seed(&format!("witness{n}.example"), &[0x50 + n; 32]).unwrap()
}

/// A C2SP tlog-policy: the log, the witnesses, quorum `k` of them.
pub fn policy(log: &NoteSigner, witnesses: &[&CosignatureSigner], k: usize) -> String {
    let mut p = format!("log {}\n", log.verifier().public_key_string());
    let mut names = Vec::new();
    for (i, w) in witnesses.iter().enumerate() {
        p.push_str(&format!("witness w{i} {}\n", w.verifier().vkey()));
        names.push(format!("w{i}"));
    }
    p.push_str(&format!("group g {k} {}\nquorum g\n", names.join(" ")));
    p
}

fn attr_s(k: &str, v: &str) -> Value {
    json!({"key": k, "value": {"stringValue": v}})
}
fn attr_i(k: &str, v: u64) -> Value {
    json!({"key": k, "value": {"intValue": v.to_string()}})
}
fn attr_hashes(k: &str, hs: &[Hash]) -> Value {
    let values: Vec<Value> = hs.iter().map(|h| json!({"stringValue": B64.encode(h)})).collect();
    json!({"key": k, "value": {"arrayValue": {"values": values}}})
}

fn audit_request(r: &LogRecord) -> Value {
    json!({"resourceLogs": [{
        "resource": {"attributes": [attr_s("service.name", "audit.service")]},
        "scopeLogs": [{"scope": {"name": "audit.service"}, "logRecords": [record_json(r)]}]
    }]})
}

fn control_request(t: u64, body: &str, attributes: Vec<Value>) -> Value {
    json!({"resourceLogs": [{
        "resource": {"attributes": [attr_s("service.name", "auditchain")]},
        "scopeLogs": [{"scope": {"name": "auditchain", "version": "test"}, "logRecords": [{
            "timeUnixNano": t.to_string(),
            "observedTimeUnixNano": t.to_string(),
            "severityNumber": 9,
            "severityText": "INFO",
            "body": {"stringValue": body},
            "attributes": attributes
        }]}]
    }]})
}

/// The record of a one-record request, to change in place.
pub fn the_record(request: &mut Value) -> &mut Value {
    if request.get("resourceSpans").is_some() {
        return &mut request["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    }
    &mut request["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
}

/// An audit record as a span.
fn audit_span_request(r: &LogRecord, i: u64) -> Value {
    let attrs: Vec<Value> = super::kvs_json(&r.attributes);
    json!({"resourceSpans": [{
        "resource": {"attributes": [attr_s("service.name", "audit.service")]},
        "scopeSpans": [{"scope": {"name": "audit.service"}, "spans": [{
            "traceId": format!("{:032x}", 0xabc0_0000u64 + i),
            "spanId": format!("{:016x}", 0x5000 + i),
            "name": "audit.delete",
            "kind": 2,
            "startTimeUnixNano": r.time_unix_nano.to_string(),
            "endTimeUnixNano": (r.time_unix_nano + 1000).to_string(),
            "attributes": attrs,
            "status": {}
        }]}]
    }]})
}

/// A control span (SPEC §5.4): derived trace and span ids, the body in
/// `audit.stream.body`.
fn control_span_request(
    stream_id: &str,
    seq: u64,
    event: &str,
    t: u64,
    body: &str,
    mut attributes: Vec<Value>,
) -> Value {
    let mut h = sha2::Sha256::new();
    Digest::update(&mut h, b"auditchain.control-trace.v1\0");
    Digest::update(&mut h, stream_id.as_bytes());
    let trace: [u8; 32] = h.finalize().into();
    attributes.push(attr_s("audit.stream.body", body));
    let mut span = json!({
        "traceId": trace[..16].iter().map(|b| format!("{b:02x}")).collect::<String>(),
        "spanId": format!("{seq:016x}"),
        "name": format!("auditchain.{event}"),
        "kind": 1,
        "startTimeUnixNano": t.to_string(),
        "endTimeUnixNano": t.to_string(),
        "attributes": attributes,
        "status": {}
    });
    if seq > 1 {
        span["parentSpanId"] = json!("0000000000000001");
    }
    json!({"resourceSpans": [{
        "resource": {"attributes": [attr_s("service.name", "auditchain")]},
        "scopeSpans": [{"scope": {"name": "auditchain", "version": "test"}, "spans": [span]}]
    }]})
}

/// Recomputes the plain links of a stream from record `from` on (what
/// anyone can do to an unkeyed chain).
pub fn relink(s: &mut Stream, from: u64) {
    let mut previous: Option<Hash> = None;
    for request in s.requests.iter_mut() {
        let canon = auditchain::core::canonical::log_records_from_json(request).unwrap();
        let record_hash: Hash = sha2::Sha256::digest(&canon[0]).into();
        let r = the_record(request);
        let seq = super::sequence_of(r).unwrap();
        if seq >= from {
            let end = super::attr(r, "audit.sequence.end").is_some();
            let link = Link {
                stream_id: &s.id,
                sequence: seq,
                key_epoch: 0,
                end,
                previous: previous.as_ref(),
                record_hash: &record_hash,
            }
            .sha256();
            let attrs = r["attributes"].as_array_mut().unwrap();
            attrs.retain(|kv| kv["key"] != "audit.sequence.previous_hash" && kv["key"] != "audit.integrity.value");
            if let Some(p) = &previous {
                attrs.push(attr_s("audit.sequence.previous_hash", &to_hex(p)));
            }
            attrs.push(attr_s("audit.integrity.value", &to_hex(&link)));
        }
        let v = super::attr(the_record(request), "audit.integrity.value").unwrap()["stringValue"].as_str().unwrap();
        previous = auditchain::core::hex::from_hex(v);
    }
}

impl LogBuilder {
    pub fn new(origin: &str) -> LogBuilder {
        LogBuilder {
            origin: origin.to_string(),
            signer: log_signer(origin),
            tree: Tree::new(MemoryStore::new()).unwrap(),
            t: T0,
            open: None,
            previous: None,
            checkpoints: BTreeMap::new(),
            lines: Vec::new(),
            streams: Vec::new(),
            issued: 0,
            rewrite: None,
            traces: false,
        }
    }

    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    pub fn root_at(&self, size: u64) -> Hash {
        self.tree.root_at(size).unwrap()
    }

    pub fn tree_consistency(&self, old: u64, new: u64) -> Vec<Hash> {
        self.tree.consistency_proof(old, new).unwrap()
    }

    pub fn inclusion_proof(&self, index: u64, size: u64) -> Vec<Hash> {
        self.tree.inclusion_proof(index, size).unwrap()
    }

    /// Stamps one request holding one record, as the engine would: record
    /// hash of the canonical form, plain link, the leaf appended.
    fn issue(&mut self, mut request: Value, end: bool) -> u64 {
        let o = self.open.as_mut().expect("a stream is open");
        o.seq += 1;
        let canon = auditchain::core::canonical::log_records_from_json(&request).unwrap();
        let record_hash: Hash = sha2::Sha256::digest(&canon[0]).into();
        let link = Link {
            stream_id: &o.id,
            sequence: o.seq,
            key_epoch: 0,
            end,
            previous: o.previous.as_ref(),
            record_hash: &record_hash,
        }
        .sha256();
        let leaf = Leaf { stream_id: &o.id, sequence: o.seq, record_hash: &record_hash, link: &link }.hash();
        let attrs = the_record(&mut request)["attributes"].as_array_mut().unwrap();
        attrs.push(attr_s("audit.sequence.stream_id", &o.id));
        attrs.push(attr_i("audit.sequence.number", o.seq));
        if let Some(p) = &o.previous {
            attrs.push(attr_s("audit.sequence.previous_hash", &to_hex(p)));
        }
        if end {
            attrs.push(json!({"key": "audit.sequence.end", "value": {"boolValue": true}}));
        }
        attrs.push(attr_s("audit.integrity.value", &to_hex(&link)));
        attrs.push(attr_s("audit.integrity.algorithm", "sha256-chain-v1"));
        attrs.push(attr_s("audit.integrity.canonicalization", "otlp-jcs-v1"));
        o.previous = Some(link);
        o.requests.push(request);
        self.tree.append(&leaf).unwrap();
        o.seq
    }

    fn control(&mut self, event: &str, body: &str, mut extra: Vec<Value>, end: bool) -> u64 {
        self.t += STEP;
        let index = self.tree.size();
        let mut attrs = vec![attr_s("audit.stream.event", event)];
        attrs.append(&mut extra);
        attrs.push(attr_s("audit.log.origin", &self.origin));
        attrs.push(attr_i("audit.log.index", index));
        let req = if self.traces {
            let o = self.open.as_ref().unwrap();
            control_span_request(&o.id, o.seq + 1, event, self.t, body, attrs)
        } else {
            control_request(self.t, body, attrs)
        };
        self.issue(req, end)
    }

    /// Starts a stream (its `start` record).
    pub fn start(&mut self, id: &str) {
        assert!(self.open.is_none());
        self.open = Some(Open { id: id.to_string(), seq: 0, previous: None, requests: Vec::new() });
        let extra = vec![
            attr_s("audit.stream.name", "gw"),
            attr_s("audit.stream.reason", "first_start"),
            attr_s("audit.stream.signer", &self.signer.id.to_string()),
            attr_i("audit.stream.checkpoint_interval", INTERVAL),
        ];
        self.control("start", "stream started", extra, false);
    }

    /// `n` audit records.
    pub fn records(&mut self, n: u64) {
        for _ in 0..n {
            self.t += STEP;
            let mut r = audit_record(self.issued);
            if let Some((k, rw)) = &self.rewrite
                && *k == self.issued
            {
                r = rw.clone();
            }
            r.time_unix_nano = self.t;
            r.observed_time_unix_nano = self.t;
            self.issued += 1;
            let req = if self.traces { audit_span_request(&r, self.issued) } else { audit_request(&r) };
            self.issue(req, false);
        }
    }

    fn note(&self, size: u64) -> String {
        let cp = Checkpoint {
            origin: self.origin.clone(),
            size,
            root: self.tree.root_at(size).unwrap(),
            time_unix_nano: self.t + STEP,
            interval_seconds: INTERVAL,
        };
        self.signer.sign(&cp.text())
    }

    /// A checkpoint of the log at its current size: the checkpoint record
    /// (leaf n) and its checkpoint-file line. Returns the size.
    pub fn checkpoint(&mut self) -> u64 {
        self.checkpoint_record(false)
    }

    fn checkpoint_record(&mut self, end: bool) -> u64 {
        let n = self.tree.size();
        let note = self.note(n);
        let mut extra = vec![attr_hashes("audit.log.range", self.tree.range_at(n).unwrap().hashes())];
        if let Some(p) = self.previous {
            extra.push(attr_i("audit.log.previous_size", p));
            extra.push(attr_hashes("audit.log.consistency", &self.tree.consistency_proof(p, n).unwrap()));
        }
        let seq = self.control("checkpoint", &note, extra, end);
        let stream = self.open.as_ref().unwrap().id.clone();
        let mut line = json!({"stream_id": stream, "sequence": seq, "note": note});
        if end {
            line["end"] = json!(true);
        }
        self.lines.push(line);
        self.checkpoints.insert(n, Carried { stream, sequence: seq, note });
        self.previous = Some(n);
        n
    }

    /// Witnesses cosign checkpoint `size`: the cosigned note is appended
    /// to the checkpoint file and, when a stream is open, recorded in a
    /// `cosignature` record.
    pub fn cosign(&mut self, size: u64, witnesses: &[&CosignatureSigner]) {
        let c = self.checkpoints.get_mut(&size).expect("a checkpoint of that size");
        let body = parse_note(&c.note).unwrap().text;
        for w in witnesses {
            c.note.push_str(&w.sign(&body, self.t / 1_000_000_000).line());
        }
        let c = c.clone();
        self.lines.push(json!({"stream_id": c.stream, "sequence": c.sequence, "note": c.note}));
        if self.open.is_some() {
            let extra = vec![attr_i("audit.log.checkpoint_index", size)];
            self.control("cosignature", &c.note, extra, false);
        }
    }

    /// Ends the open stream cleanly: its final checkpoint, with the end flag.
    pub fn end(&mut self) -> u64 {
        let n = self.checkpoint_record(true);
        let o = self.open.take().unwrap();
        self.streams.push(Stream { id: o.id, requests: o.requests });
        n
    }

    /// Stops the open stream without a clean end (its files as they are).
    pub fn stop(&mut self) {
        let o = self.open.take().unwrap();
        self.streams.push(Stream { id: o.id, requests: o.requests });
    }

    /// The newest cosigned note (a witness's view of the log).
    pub fn cosigned_note(&self, size: u64) -> String {
        self.checkpoints[&size].note.clone()
    }

    pub fn stream(&self, id: &str) -> &Stream {
        self.streams.iter().find(|s| s.id == id).unwrap()
    }

    pub fn stream_mut(&mut self, id: &str) -> &mut Stream {
        self.streams.iter_mut().find(|s| s.id == id).unwrap()
    }

    /// Writes every stream to `<dir>/<id>.jsonl` and the checkpoint file
    /// to `<dir>/checkpoints.jsonl` (when `with_lines`).
    pub fn write(&self, dir: &Path, with_lines: bool) {
        for s in &self.streams {
            super::write_lines(dir, &format!("{}.jsonl", s.id), &s.requests);
        }
        if with_lines {
            super::write_lines(dir, "checkpoints.jsonl", &self.lines);
        }
    }
}

/// The record with `audit.sequence.number` = `seq` of a stream.
pub fn record_of(s: &mut Stream, seq: u64) -> &mut Value {
    s.requests.iter_mut().map(the_record).find(|r| super::sequence_of(r) == Some(seq)).unwrap()
}

/// A record's leaf index in the log built.
pub fn leaf_of(log: &LogBuilder, stream: &str, seq: u64) -> u64 {
    let first = log.streams.iter().take_while(|s| s.id != stream).map(|s| s.requests.len() as u64).sum::<u64>();
    first + seq - 1
}

pub const ORIGIN: &str = "example.com/audit/gw-1";
pub const A: &str = "gw-20261122T041100Z-aaaa";
pub const B: &str = "gw-20261122T051100Z-bbbb";

/// Two streams of one log: A (ended cleanly), then B (still running),
/// checkpoints every few records, each cosigned by two witnesses (or, not
/// `cosign`, recorded as a cosignature record without witnesses' lines: a
/// key holder's rewrite keeps the log's shape but cannot cosign).
pub fn two_streams(
    rewrite: Option<(u64, opentelemetry_proto::tonic::logs::v1::LogRecord)>,
    cosign: bool,
) -> LogBuilder {
    two_streams_of(LogBuilder::new(ORIGIN), rewrite, cosign)
}

/// [`two_streams`] with a builder set up (e.g. for spans).
pub fn two_streams_of(
    mut log: LogBuilder,
    rewrite: Option<(u64, opentelemetry_proto::tonic::logs::v1::LogRecord)>,
    cosign: bool,
) -> LogBuilder {
    let (w1, w2) = (witness(1), witness(2));
    let ws: Vec<&auditchain::core::tlog::CosignatureSigner> = if cosign { vec![&w1, &w2] } else { vec![] };
    log.rewrite = rewrite;
    log.start(A);
    for _ in 0..3 {
        log.records(4);
        let n = log.checkpoint();
        log.cosign(n, &ws);
    }
    log.records(2);
    let n = log.end();
    log.cosign(n, &ws); // into the checkpoint file only
    log.start(B);
    for _ in 0..2 {
        log.records(3);
        let n = log.checkpoint();
        log.cosign(n, &ws);
    }
    log.stop();
    log
}
