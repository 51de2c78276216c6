//! What each fuzz target asserts about one input. Shared by the targets
//! (fuzz/fuzz_targets) and by tests/fuzz_regressions.rs, which replays the
//! inputs kept under fuzz/regressions/<target>/ in `cargo test`. Nothing
//! here may panic for any input except by a failed assertion: that is a
//! finding.

use crate::support::request_json;
use auditchain::core::canonical::proto::{BadRecords, StampPolicy};
use auditchain::core::canonical::{self, Signal, hash_records};
use auditchain::core::content_hash::Policy;
use auditchain::core::keys::ChainKey;
use auditchain::core::note::{Checkpoint, NoteSigner, NoteVerifier, parse_note};
use auditchain::core::{chain, ranges, time};
use auditchain::verify::{Options, verify as verify_paths};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message;
use std::path::PathBuf;
use std::sync::OnceLock;

/// canonical_proto: the processor's protobuf reader, for both signals. The
/// strict walk and the walk that goes on past bad records agree: the same
/// hashes when every record is good, an error when one is not.
pub fn canonical_proto(data: &[u8]) {
    for signal in [Signal::Logs, Signal::Traces] {
        let walk = |bad| hash_records(signal, data, StampPolicy::Reject, None, Policy::Off, bad);
        match (walk(BadRecords::Fail), walk(BadRecords::Reject)) {
            (Ok(strict), Ok(each)) => {
                assert!(each.rejected.is_empty(), "the strict walk accepted every record: {:?}", each.rejected);
                assert_eq!(strict, each);
            }
            (Ok(_), Err(e)) => panic!("the strict walk accepted what the lenient walk refused: {e}"),
            // A bad resource or scope that holds no record rejects no record
            // (found by fuzzing: fuzz/regressions/canonical_proto).
            (Err(e), Ok(each)) => assert!(
                !each.rejected.is_empty() || !e.path.contains(".logRecords[") && !e.path.contains(".spans["),
                "the strict walk refused a batch of good records: {e}"
            ),
            (Err(_), Err(_)) => {}
        }
        if let Ok(records) = canonical::records_from_proto(signal, data) {
            for r in records {
                serde_json::from_slice::<serde_json::Value>(&r).expect("canonical bytes are JSON");
            }
        }
    }
}

/// canonical_json: the verifier's OTLP/JSON reader.
pub fn canonical_json(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Ok(records) = canonical::log_records_from_json(&v) {
        for r in records {
            serde_json::from_slice::<serde_json::Value>(&r).expect("canonical bytes are JSON");
        }
    }
}

/// canonical_differential: a request the protobuf reader accepts, written
/// as OTLP/JSON, gives the same canonical bytes from the JSON reader.
pub fn canonical_differential(data: &[u8]) {
    let Ok(from_proto) = canonical::log_records_from_proto(data) else { return };
    // prost decodes what the walker accepted (the walker is stricter).
    let Ok(req) = ExportLogsServiceRequest::decode(data) else { return };
    let json = request_json(&req);
    let from_json = canonical::log_records_from_json(&json)
        .unwrap_or_else(|e| panic!("the JSON reader refused what the protobuf reader accepted: {e}\n{json}"));
    assert_eq!(from_proto.len(), from_json.len());
    for (p, j) in from_proto.iter().zip(&from_json) {
        assert_eq!(String::from_utf8_lossy(p), String::from_utf8_lossy(j), "readers disagree on {json}");
    }
}

/// The keys the verify target loads: the test vectors' chain key and
/// signing key, which also stamped the seed corpus.
pub struct Keys {
    pub chain: ChainKey,
    pub signer: NoteSigner,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        // The fuzz crate's manifest is in fuzz/, the main crate's at the root.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let vectors =
            [root.join("tests/vectors"), root.join("../tests/vectors")].into_iter().find(|d| d.is_dir()).unwrap();
        let read = |f: &str| -> serde_json::Value {
            serde_json::from_str(&std::fs::read_to_string(vectors.join(f)).unwrap()).unwrap()
        };
        let chain = ChainKey::parse(read("chain.json")["keyed"]["chain_key_file"].as_str().unwrap()).unwrap();
        let signer = NoteSigner::parse(read("checkpoint.json")["signing_key"].as_str().unwrap()).unwrap();
        Keys { chain, signer }
    })
}

/// verify: the whole verifier, keys loaded, on a file holding the input.
pub fn verify(data: &[u8]) {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("auditchain-fuzz-verify-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    });
    std::fs::write(dir.join("audit.jsonl"), data).unwrap();
    let k = keys();
    let options = Options {
        chain_keys: vec![k.chain.clone()],
        verifiers: vec![k.signer.verifier()],
        as_of_unix_nano: 1_795_320_660_000_000_000 + 3_600_000_000_000,
        ..Options::default()
    };
    let report = verify_paths(std::slice::from_ref(dir), &options);
    serde_json::to_string(&report).expect("the report serialises");
}

/// Lineage hops above this many epochs are skipped by the parsers target:
/// deriving them is linear in the epoch, which is issue 13 item 3 (the
/// verifier bounds it by what the stream can justify).
pub const MAX_FUZZ_EPOCH: u64 = 100_000;

/// parsers: the first byte picks a parser, the rest is its input.
pub fn parsers(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    match which % 6 {
        0 => {
            if let Ok(note) = parse_note(&text) {
                let _ = Checkpoint::parse(&note.text);
                let v = keys().signer.verifier();
                for s in &note.signatures {
                    let _ = v.verify(&note.text, &s.signature);
                }
            }
        }
        1 => {
            if let Ok(cp) = Checkpoint::parse(&text) {
                assert_eq!(Checkpoint::parse(&cp.text()).as_ref(), Ok(&cp), "a checkpoint's text parses back to it");
            }
        }
        2 => {
            let _ = ChainKey::parse(&text);
            let _ = NoteSigner::parse(&text);
            let _ = NoteVerifier::parse(&text);
        }
        3 => {
            let _ = time::parse_rfc3339(&text);
            let _ = time::parse_duration(&text);
        }
        4 => {
            if let Some(r) = ranges::parse_range(&text) {
                assert_eq!(
                    ranges::parse_range(&ranges::range_string(r)),
                    Some(r),
                    "a range's string parses back to it"
                );
            }
        }
        _ => {
            let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
            let stream_id = lines.pop().unwrap_or_default();
            let too_long = lines.iter().any(|l| {
                l.split_once(':').and_then(|(e, _)| e.parse::<u64>().ok()).is_some_and(|e| e > MAX_FUZZ_EPOCH)
            });
            if !too_long {
                let _ = chain::lineage_key(keys().chain.secret(), &lines, &stream_id);
            }
        }
    }
}

/// json_differential: the verifier's borrowed JSON reader
/// (`verify::read::node`) against the `serde_json::Value` reader it
/// replaced (`verify::read::json::parse_strict`), kept as its oracle: the
/// same accept or refuse and error for the whole input and each line, the
/// same values, and the same records read from them (canonical bytes,
/// record hashes, stamps, control facts, content-hash checks, errors).
pub fn json_differential(data: &[u8]) {
    json_differential_value(data);
    for line in data.split(|&b| b == b'\n') {
        json_differential_value(line);
    }
    for max in [auditchain::verify::read::json::MAX_VALUE_BYTES, 64] {
        // The reader that scans every value for its end before reading it
        // is the reference; values read in place (handed over whole, or
        // from a stream) must read the same, and so must a stream read a
        // block at a time, small blocks cutting lines, either way.
        let scanned = stream_of_values(data, max, Reading::Stream { block: 1 << 22, in_place: false });
        assert_eq!(stream_of_values(data, max, Reading::Whole), scanned, "whole, {max}");
        for block in [1 << 22, 61, 7] {
            for in_place in [true, false] {
                let got = stream_of_values(data, max, Reading::Stream { block, in_place });
                assert_eq!(got, scanned, "a stream read {block} bytes at a time (in place: {in_place}), {max}");
            }
        }
    }
}

/// How [`stream_of_values`] reads.
#[derive(Clone, Copy)]
enum Reading {
    /// Handed over whole (arrays and objects read in place).
    Whole,
    /// From a stream, `block` bytes at a time at least.
    Stream { block: usize, in_place: bool },
}

/// The values of `data` as `json::Values` finds them.
fn stream_of_values(data: &[u8], max: usize, reading: Reading) -> Vec<(u64, Result<serde_json::Value, String>)> {
    use auditchain::core::canonical::tree::Tree;
    use auditchain::verify::read::json::Values;
    let mut out = Vec::new();
    let mut keep = |(line, v): (u64, Result<auditchain::verify::read::node::Node<'_>, String>)| {
        out.push((line, v.map(|n| n.to_value())));
    };
    match reading {
        Reading::Whole => {
            let mut values = Values::over(data, 1, max);
            while let Some(found) = values.next_value() {
                keep(found);
            }
        }
        Reading::Stream { block, in_place } => {
            let mut values = Values::with_limit(data, 1, max).reading(block, in_place);
            while let Some(found) = values.next_value() {
                keep(found);
            }
        }
    }
    out
}

/// One text, read both ways.
pub fn json_differential_value(text: &[u8]) {
    use auditchain::core::canonical::tree::Tree;
    use auditchain::verify::read::{json, node};
    let arena = node::Arena::new();
    let new = node::parse(text, &arena);
    if nesting(text) > json::MAX_JSON_DEPTH {
        // Refused before serde_json is asked (its recursion is unbounded).
        assert!(new.is_err(), "nested too deep, read anyway");
        return;
    }
    let old = json::parse_strict(text);
    match (&old, &new) {
        (Ok(v), Ok(n)) => {
            assert_eq!(&n.to_value(), v, "{}", String::from_utf8_lossy(text));
            assert_eq!(read_items(v), read_items(n), "{}", String::from_utf8_lossy(text));
            let (a, b) = (canonical::records_from_json(v), canonical::records_from_json(n));
            assert_eq!(a, b, "{}", String::from_utf8_lossy(text));
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{}", String::from_utf8_lossy(text)),
        _ => panic!(
            "accepted by one reader only (serde_json: {:?}, borrowed: {:?}): {:?}",
            old.as_ref().err().map(ToString::to_string),
            new.as_ref().err().map(ToString::to_string),
            String::from_utf8_lossy(text)
        ),
    }
}

/// The deepest nesting of arrays and objects in `text`, strings skipped.
fn nesting(text: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in text {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// What the verifier's reader makes of one value, written out.
fn read_items<V: auditchain::core::canonical::tree::Tree>(v: &V) -> Vec<String> {
    use auditchain::verify::read::{self, Item};
    let mut out = Vec::new();
    let mut scratch = canonical::Scratch::new();
    let r = read::read_value(v, &mut scratch, &mut |item| {
        out.push(match item {
            Item::CheckpointLine { stream_id, sequence, note, end } => {
                format!("checkpoint {stream_id} {sequence} {note:?} {end}")
            }
            Item::Request => "request".to_string(),
            Item::Record { index, record: Ok(r) } => {
                format!("{index} {:?} {:?} {:?} {:?} {:?}", r.signal, r.record_hash, r.content_hash, r.stamp, r.control)
            }
            Item::Record { index, record: Err(u) } => format!("{index} {} {:?} {:?}", u.error, u.stream_id, u.sequence),
        })
    });
    out.push(format!("{r:?}"));
    out
}
