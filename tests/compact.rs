//! The compact stamp (docs/SPEC.md §4.1.1): streams the engine stamps with
//! `stamp: compact` verify, every tamper the full stamp detects is still
//! detected on real files, a mix of forms on one record is refused, and
//! the bytes added per record are what SPEC says.

mod support;

use auditchain::core::keys;
use auditchain::core::stamp::StampForm;
use auditchain::engine::Engine;
use auditchain::engine::config::{CheckpointConfig, EngineConfig, KeyEpochConfig, StateConfig};
use auditchain::verify::report::{Kind, Report, Severity, Verdict};
use auditchain::verify::{Options, verify};
use serde_json::{Value, json};
use std::path::Path;
use support::*;

type Keyed = KeyFiles;

fn keyed() -> Keyed {
    KeyFiles::new("compact-host")
}

fn config(k: Option<&Keyed>, state: &Path, form: StampForm) -> EngineConfig {
    let mut c = EngineConfig {
        state: StateConfig { directory: Some(state.to_path_buf()), new_stream: false },
        stamp: form,
        ..EngineConfig::new("compact-host")
    };
    if let Some(k) = k {
        c.key_file = Some(k.chain.clone());
        c.signing_key_file = Some(k.sign.clone());
        c.key_epoch = KeyEpochConfig { records: 4, interval: 60 * SEC };
        c.checkpoint = CheckpointConfig { interval: 60 * SEC, records: 5, file: None };
    }
    c
}

/// A stream of 8 batches of 3 records, a clean restart in the middle
/// (so that a successor continues the lineage), closed at the end.
fn stream(k: Option<&Keyed>, form: StampForm) -> (Vec<Value>, u64) {
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    let mut reqs = Vec::new();
    for half in 0..2u64 {
        let e = Engine::new(config(k, state.path(), form), t).unwrap();
        for b in 0..4u64 {
            t += SEC;
            let first = (half * 4 + b) * 3;
            reqs.push(deliver(&e, request((first..first + 3).map(audit_record)), t));
        }
        t += SEC;
        reqs.push(close_delivered(&e, t));
    }
    (lines(&reqs), t)
}

fn options(k: Option<&Keyed>, as_of: u64) -> Options {
    let mut o = Options { as_of_unix_nano: as_of, ..Options::default() };
    if let Some(k) = k {
        o.chain_keys.push(keys::load_chain_key(&k.chain, "--key").unwrap());
        o.verifiers.push(k.verifier());
    }
    o
}

fn check(lines: &[Value], k: Option<&Keyed>, as_of: u64) -> Report {
    let dir = tempfile::tempdir().unwrap();
    write_lines(dir.path(), "audit.jsonl", lines);
    verify(&[dir.path().to_path_buf()], &options(k, as_of))
}

fn compact_of(r: &Value) -> Option<&str> {
    attr(r, "audit.integrity.stamp").and_then(|v| v["stringValue"].as_str())
}

/// The sequence number of a record with either form of the stamp.
fn number(r: &Value) -> u64 {
    match compact_of(r) {
        Some(c) => c.split(' ').nth(2).unwrap().parse().unwrap(),
        None => sequence_of(r).unwrap(),
    }
}

fn first_stream(lines: &[Value]) -> String {
    let r = records(lines).into_iter().find(|r| compact_of(r).is_some()).unwrap();
    compact_of(&r).unwrap().split(' ').nth(1).unwrap().to_string()
}

/// The record `seq` of the first stream, mutably.
fn compact_record_mut<'a>(lines: &'a mut [Value], stream: &str, seq: u64) -> &'a mut Value {
    for line in lines.iter_mut() {
        for rl in line["resourceLogs"].as_array_mut().unwrap() {
            for sl in rl["scopeLogs"].as_array_mut().unwrap() {
                for r in sl["logRecords"].as_array_mut().unwrap() {
                    let here = compact_of(r).is_some_and(|c| c.split(' ').nth(1) == Some(stream));
                    if here && number(r) == seq {
                        return r;
                    }
                }
            }
        }
    }
    panic!("no compact record {seq} in {stream}")
}

fn drop_record(lines: &mut [Value], stream: &str, seq: u64) {
    for line in lines {
        for rl in line["resourceLogs"].as_array_mut().unwrap() {
            for sl in rl["scopeLogs"].as_array_mut().unwrap() {
                sl["logRecords"].as_array_mut().unwrap().retain(|r| {
                    !(compact_of(r).is_some_and(|c| c.split(' ').nth(1) == Some(stream)) && number(r) == seq)
                });
            }
        }
    }
}

fn errors(r: &Report) -> Vec<(Kind, Option<u64>)> {
    let mut out: Vec<(Kind, Option<u64>)> = r
        .streams
        .iter()
        .flat_map(|s| &s.findings)
        .chain(&r.findings)
        .filter(|f| f.severity == Severity::Error)
        .map(|f| (f.kind, f.sequence.or(f.first)))
        .collect();
    out.sort_by_key(|(k, s)| (format!("{k:?}"), *s));
    out
}

#[test]
fn batch_records_carry_one_compact_attribute_and_control_records_the_full_stamp() {
    let (l, _) = stream(None, StampForm::Compact);
    let all = records(&l);
    let (compact, full): (Vec<&Value>, Vec<&Value>) = all.iter().partition(|r| compact_of(r).is_some());
    assert_eq!(compact.len(), 24, "every client record");
    assert!(full.iter().all(|r| event(r).is_some()), "only control records keep the full stamp");
    for r in &compact {
        assert!(sequence_of(r).is_none() && attr(r, "audit.sequence.previous_hash").is_none());
        assert!(compact_of(r).unwrap().starts_with("c1 compact-host-"));
        assert!(compact_of(r).unwrap().split(' ').nth(3) == Some("-"), "a plain chain has no epoch");
    }
}

#[test]
fn compact_streams_verify_plain_and_keyed() {
    for k in [None, Some(keyed())] {
        let (l, t) = stream(k.as_ref(), StampForm::Compact);
        let r = check(&l, k.as_ref(), t + SEC);
        assert_eq!(r.verdict, Verdict::Pass, "{:#?}", errors(&r));
        assert_eq!(r.streams.len(), 2);
        assert!(r.inputs.records >= 24);
    }
}

#[test]
fn an_edited_compact_record_is_a_content_mismatch() {
    let k = keyed();
    let (mut l, t) = stream(Some(&k), StampForm::Compact);
    let s = first_stream(&l);
    compact_record_mut(&mut l, &s, 4)["body"] = json!({"stringValue": "edited"});
    let r = check(&l, Some(&k), t + SEC);
    assert_eq!(r.verdict, Verdict::Fail);
    assert_eq!(errors(&r), [(Kind::ContentMismatch, Some(4))], "only the edited record");
}

#[test]
fn a_changed_link_breaks_the_record_and_its_successor() {
    let (mut l, t) = stream(None, StampForm::Compact);
    let s = first_stream(&l);
    let r = compact_record_mut(&mut l, &s, 4);
    let text = compact_of(r).unwrap().to_string();
    let mut parts: Vec<String> = text.split(' ').map(String::from).collect();
    parts[4] = format!("{}{}", if parts[4].starts_with('0') { "1" } else { "0" }, &parts[4][1..]);
    *attr_mut(r, "audit.integrity.stamp") = json!({"stringValue": parts.join(" ")});
    let r = check(&l, None, t + SEC);
    let e = errors(&r);
    assert!(e.contains(&(Kind::ContentMismatch, Some(4))) && e.contains(&(Kind::ContentMismatch, Some(5))), "{e:?}");
}

#[test]
fn a_deleted_compact_record_is_missing_and_its_successor_unchecked() {
    let k = keyed();
    let (mut l, t) = stream(Some(&k), StampForm::Compact);
    let s = first_stream(&l);
    drop_record(&mut l, &s, 4);
    let r = check(&l, Some(&k), t + SEC);
    assert_eq!(r.verdict, Verdict::Fail);
    let e = errors(&r);
    assert!(e.contains(&(Kind::MissingRecords, Some(4))), "{e:?}");
    assert!(e.contains(&(Kind::UncheckedRecord, Some(5))), "{e:?}");
    assert!(!e.iter().any(|(k, _)| *k == Kind::ContentMismatch), "no false mismatch: {e:?}");
}

#[test]
fn swapping_two_compact_records_is_detected() {
    let (mut l, t) = stream(None, StampForm::Compact);
    let s = first_stream(&l);
    let a = compact_record_mut(&mut l, &s, 3).clone();
    let b = compact_record_mut(&mut l, &s, 4).clone();
    // Swap the contents (bodies and times) under the stamps.
    let swap = |r: &mut Value, from: &Value| {
        r["body"] = from["body"].clone();
        r["timeUnixNano"] = from["timeUnixNano"].clone();
    };
    swap(compact_record_mut(&mut l, &s, 3), &b);
    swap(compact_record_mut(&mut l, &s, 4), &a);
    let r = check(&l, None, t + SEC);
    let e = errors(&r);
    assert!(e.contains(&(Kind::ContentMismatch, Some(3))) && e.contains(&(Kind::ContentMismatch, Some(4))), "{e:?}");
}

#[test]
fn both_forms_on_one_record_and_bad_compact_text_are_malformed() {
    let (l, t) = stream(None, StampForm::Compact);
    let s = first_stream(&l);
    let bad = |f: &dyn Fn(&mut Value)| {
        let mut l = l.clone();
        f(compact_record_mut(&mut l, &s, 4));
        let r = check(&l, None, t + SEC);
        assert_eq!(r.verdict, Verdict::Fail);
        errors(&r)
    };
    let e = bad(&|r| {
        r["attributes"]
            .as_array_mut()
            .unwrap()
            .push(json!({"key": "audit.sequence.number", "value": {"intValue": "4"}}))
    });
    assert!(e.contains(&(Kind::MalformedStamp, Some(4))), "{e:?}");
    let e = bad(&|r| {
        let text = compact_of(r).unwrap().replace(" - ", " 00 ");
        *attr_mut(r, "audit.integrity.stamp") = json!({"stringValue": text});
    });
    assert!(e.contains(&(Kind::MalformedStamp, Some(4))), "{e:?}");
    let e = bad(&|r| *attr_mut(r, "audit.integrity.stamp") = json!({"intValue": "4"}));
    assert!(e.iter().any(|(k, _)| *k == Kind::MalformedStamp), "{e:?}");
}

#[test]
fn a_keyed_compact_record_relinked_without_the_key_is_a_downgrade() {
    let k = keyed();
    let (mut l, t) = stream(Some(&k), StampForm::Compact);
    let s = first_stream(&l);
    let r = compact_record_mut(&mut l, &s, 4);
    let text = compact_of(r).unwrap().to_string();
    let mut parts: Vec<&str> = text.split(' ').collect();
    parts[3] = "-";
    *attr_mut(r, "audit.integrity.stamp") = json!({"stringValue": parts.join(" ")});
    let r = check(&l, Some(&k), t + SEC);
    assert!(errors(&r).contains(&(Kind::Downgrade, Some(4))), "{:?}", errors(&r));
}

#[test]
fn the_compact_stamp_adds_at_most_250_bytes_per_record_and_the_full_one_over_600() {
    let unstamped = lines(&[request((0..24).map(audit_record))]);
    let size = |l: &[Value]| -> usize {
        records(l).iter().filter(|r| event(r).is_none()).map(|r| r.to_string().len()).sum::<usize>()
    };
    let base = size(&unstamped) / 24;
    let k = keyed();
    let (full, _) = stream(Some(&k), StampForm::Full);
    let (compact, _) = stream(Some(&k), StampForm::Compact);
    let (full, compact) = (size(&full) / 24 - base, size(&compact) / 24 - base);
    println!("bytes added per record in OTLP/JSON: full {full}, compact {compact}");
    // A 34-byte stream id here: 165 and 631 bytes.
    assert!(compact <= 250 && full >= 600, "full {full}, compact {compact}");
}
