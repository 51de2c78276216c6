//! Shards (SPEC §11): `verify --summary-out` per shard and `verify
//! --merge` over the summaries give the same report as one run over every
//! file — over random splits and orders of a real stamped archive (a
//! keyed, signed stream over many files and its successor after a restart,
//! in stream format 2 (the engine's own log) and 1 (chain-head checkpoints),
//! and a format version 2 log with its checkpoint file), clean and
//! tampered.

mod support;

use auditchain::core::keys::{self, KeySet};
use auditchain::core::tlog::Policy;
use auditchain::engine::Engine;
use auditchain::engine::config::{CheckpointConfig, EngineConfig, KeyEpochConfig, LogConfig, StateConfig};
use auditchain::verify::report::{Kind, Verdict};
use auditchain::verify::summary;
use auditchain::verify::{Options, verify};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use support::tlog::{self as tl, witness};
use support::*;

struct Archive {
    _keys: tempfile::TempDir,
    _state: tempfile::TempDir,
    chain: PathBuf,
    public: String,
    /// File name → its JSON lines.
    files: Vec<(String, Vec<Value>)>,
    log: tl::LogBuilder,
    t_end: u64,
    /// The format version 2 log's files instead of the keyed streams'.
    v2: bool,
}

/// The keyed archive (or, `v2`, the log's).
fn archive_of(v2: bool) -> Archive {
    archive_in(v2, 2)
}

/// The keyed archive written by the engine in stream format `version`
/// (2, its default: a log of its own; 1: chain-head checkpoints), or the
/// builder's log (`v2`).
fn archive_in(v2: bool, version: u8) -> Archive {
    let mut a = archive(version);
    if v2 {
        a.files.retain(|(n, _)| n.starts_with("log/"));
    } else {
        a.files.retain(|(n, _)| !n.starts_with("log/"));
    }
    a.v2 = v2;
    a
}

fn archive(version: u8) -> Archive {
    let kd = tempfile::tempdir().unwrap();
    let set = KeySet::generate("ops").unwrap();
    let chain = kd.path().join("chain.key");
    let sign = kd.path().join("sign.key");
    keys::write_new_file(&chain, &set.chain.to_file_string(), 0o600).unwrap();
    keys::write_new_file(&sign, &set.signer.private_key_string(), 0o600).unwrap();
    let state = tempfile::tempdir().unwrap();
    let cfg = || EngineConfig {
        state: StateConfig { directory: Some(state.path().to_path_buf()), new_stream: false },
        key_file: Some(chain.clone()),
        signing_key_file: Some(sign.clone()),
        key_epoch: KeyEpochConfig { records: 4, interval: 60 * SEC },
        checkpoint: CheckpointConfig { interval: 60 * SEC, records: 3, file: None },
        log: LogConfig { format_version: version, ..LogConfig::default() },
        ..EngineConfig::new("shard-host")
    };
    let mut t = T0;
    let mut files = Vec::new();
    let mut n = 0;
    for generation in 0..2 {
        let e = Engine::new(cfg(), t).unwrap();
        for day in 0..6 {
            let mut reqs = Vec::new();
            for _ in 0..3 {
                t += SEC;
                reqs.push(deliver(&e, request((0..2).map(|i| audit_record(n + i))), t));
                n += 2;
            }
            if generation == 0 && day == 5 {
                t += SEC;
                reqs.push(close_delivered(&e, t));
            }
            files.push((format!("g{generation}/day-{day:02}.jsonl"), lines(&reqs)));
        }
        t += SEC;
    }
    let log = tl::two_streams(None, true);
    for s in &log.streams {
        files.push((format!("log/{}.jsonl", s.id), s.requests.clone()));
    }
    files.push(("log/checkpoints.jsonl".into(), log.lines.clone()));
    let public = set.signer.verifier().public_key_string();
    Archive { _keys: kd, _state: state, chain, public, files, log, t_end: t.max(T0), v2: false }
}

impl Archive {
    fn options(&self) -> Options {
        let policy = tl::policy(&self.log.signer, &[&witness(1), &witness(2)], 2);
        if self.v2 {
            return Options {
                verifiers: vec![self.log.signer.verifier()],
                as_of_unix_nano: self.log.t + 5 * SEC,
                policy: Some(Policy::parse(&policy).unwrap()),
                ..Options::default()
            };
        }
        Options {
            chain_keys: vec![keys::load_chain_key(&self.chain, "--key").unwrap()],
            verifiers: vec![keys::load_verifier_key(&self.public).unwrap()],
            as_of_unix_nano: self.t_end + 5 * SEC,
            max_delay_ns: 60 * SEC,
            ..Options::default()
        }
    }

    fn write(&self, dir: &Path, files: &[(String, Vec<Value>)]) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for (name, lines) in files {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            write_lines(p.parent().unwrap(), p.file_name().unwrap().to_str().unwrap(), lines);
            out.push(p);
        }
        out
    }
}

/// The `time` of the first checkpoint record among `lines`.
fn first_checkpoint_time(lines: &[Value]) -> u64 {
    let r = records(lines).into_iter().find(|r| event(r) == Some("checkpoint")).unwrap();
    let body = r["body"]["stringValue"].as_str().unwrap();
    body.lines().find_map(|l| l.strip_prefix("time ")).unwrap().parse().unwrap()
}

/// A small deterministic generator (xorshift64*), for seeded loops.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i as u64 + 1) as usize);
        }
    }
}

/// The ways the archive is tampered with in the property test.
fn tamper(files: &mut Vec<(String, Vec<Value>)>, how: u64, rng: &mut Rng) -> &'static str {
    let pick = |rng: &mut Rng, files: &[(String, Vec<Value>)]| rng.below(files.len() as u64 - 1) as usize;
    match how {
        0 => "clean",
        1 => {
            // An edited record (its link no longer matches).
            let i = pick(rng, files);
            let recs = records(&files[i].1);
            let seq = sequence_of(&recs[rng.below(recs.len() as u64) as usize]).unwrap();
            record_mut(&mut files[i].1, seq)["body"] = json!({"stringValue": "edited"});
            "edited record"
        }
        2 => {
            // A deleted file: a day, or a stream of the log.
            let i = pick(rng, files);
            files.remove(i);
            "deleted file"
        }
        3 => {
            // A garbage line and an unstamped record.
            let i = pick(rng, files);
            files[i].1.insert(0, json!({"garbage": true}));
            let mut unstamped = files[i].1[1].clone();
            let r = &mut unstamped["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
            r["attributes"] = json!([]);
            files[i].1.push(unstamped);
            "garbage line and unstamped record"
        }
        4 => {
            // A file copied under another name (at-least-once delivery).
            let i = pick(rng, files);
            let copy = (format!("{}.copy", files[i].0), files[i].1.clone());
            files.push(copy);
            "duplicated file"
        }
        _ => {
            // A deleted request in the middle of a file.
            let i = pick(rng, files);
            let len = files[i].1.len() as u64;
            if len > 1 {
                files[i].1.remove(rng.below(len) as usize);
            }
            "deleted request"
        }
    }
}

/// Summaries of `shards` (each a list of paths), in a random order, merged.
fn merged(shards: &[Vec<PathBuf>], out: &Path, options: &Options, rng: &mut Rng) -> auditchain::verify::report::Report {
    let mut summaries = Vec::new();
    for (k, shard) in shards.iter().enumerate() {
        let s = out.join(format!("shard-{k}.summary"));
        summary::write(shard, options, &s).unwrap();
        summaries.push(s);
    }
    rng.shuffle(&mut summaries);
    summary::merge(&summaries, options)
}

#[test]
fn merged_shards_give_the_report_of_one_run_over_random_splits_and_orders() {
    let archives = [archive_of(false), archive_of(true), archive_in(false, 1)];
    let mut rng = Rng(0x0005_eed0_fa11_d1ce);
    let mut verdicts = std::collections::BTreeSet::new();
    for round in 0..36u64 {
        let a = &archives[((round / 6) % 3) as usize];
        let mut options = a.options();
        if round % 3 == 2 {
            // A period: from the first checkpoint of the fifth day, or of
            // the log's first stream.
            options.window.since = Some(first_checkpoint_time(&a.files[if a.v2 { 0 } else { 4 }].1));
        }
        let mut files = a.files.clone();
        let how = tamper(&mut files, round % 6, &mut rng);
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("archive");
        let mut paths = a.write(&root, &files);
        let single = verify(std::slice::from_ref(&root), &options);
        // Random shards (1 to 5), random files in each, random order.
        rng.shuffle(&mut paths);
        let k = 1 + rng.below(5) as usize;
        let mut shards: Vec<Vec<PathBuf>> = vec![Vec::new(); k];
        for p in paths {
            shards[rng.below(k as u64) as usize].push(p);
        }
        shards.retain(|s| !s.is_empty());
        let out = tempfile::tempdir().unwrap();
        let merged = merged(&shards, out.path(), &options, &mut rng);
        let (x, y) = (serde_json::to_value(&single).unwrap(), serde_json::to_value(&merged).unwrap());
        assert!(
            x == y,
            "round {round} ({how}, {k} shards): merged differs from one run\nsingle: {}\nmerged: {}",
            serde_json::to_string_pretty(&x).unwrap(),
            serde_json::to_string_pretty(&y).unwrap()
        );
        verdicts.insert((a.v2, how, format!("{:?}", single.verdict)));
    }
    // The loop saw passes and failures, not one outcome.
    let seen: Vec<&String> = verdicts.iter().map(|(_, _, v)| v).collect();
    assert!(seen.iter().any(|v| *v == "Pass") && seen.iter().any(|v| *v == "Fail"), "{verdicts:?}");
}

#[test]
fn a_merge_finds_an_edit_in_one_shard_and_a_deletion_across_shards() {
    let a = archive_of(false);
    let options = a.options();
    let d = tempfile::tempdir().unwrap();
    let mut files = a.files.clone();
    // Day 3 of the first generation: one record edited.
    let recs = records(&files[3].1);
    let seq = sequence_of(&recs[1]).unwrap();
    record_mut(&mut files[3].1, seq)["body"] = json!({"stringValue": "edited"});
    let paths = a.write(&d.path().join("archive"), &files);
    let (left, right) = paths.split_at(5);
    let out = tempfile::tempdir().unwrap();
    let mut rng = Rng(7);
    let r = merged(&[left.to_vec(), right.to_vec()], out.path(), &options, &mut rng);
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(
        kinds(&r, auditchain::verify::report::Severity::Error).contains(&(Kind::ContentMismatch, Some(seq), None)),
        "{:?}",
        kinds(&r, auditchain::verify::report::Severity::Error)
    );
    // A day deleted: the shard that held it is simply not there; the gap is
    // found across the other shards.
    let files: Vec<_> = a.files.iter().enumerate().filter(|(i, _)| *i != 2).map(|(_, f)| f.clone()).collect();
    let d = tempfile::tempdir().unwrap();
    let paths = a.write(&d.path().join("archive"), &files);
    let shards: Vec<Vec<PathBuf>> = paths.chunks(3).map(<[PathBuf]>::to_vec).collect();
    let out = tempfile::tempdir().unwrap();
    let r = merged(&shards, out.path(), &options, &mut rng);
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(error_kinds(&r).contains(&Kind::MissingRecords), "{:?}", error_kinds(&r));
}

#[test]
fn a_cut_or_foreign_summary_is_an_input_error_never_a_pass() {
    let a = archive_of(false);
    let options = a.options();
    let d = tempfile::tempdir().unwrap();
    let paths = a.write(&d.path().join("archive"), &a.files);
    let out = tempfile::tempdir().unwrap();
    let (left, right) = paths.split_at(4);
    let s1 = out.path().join("1.summary");
    let s2 = out.path().join("2.summary");
    summary::write(left, &options, &s1).unwrap();
    summary::write(right, &options, &s2).unwrap();
    assert_eq!(summary::merge(&[s1.clone(), s2.clone()], &options).verdict, Verdict::Pass);
    // Cut: the last line (the end line) is gone.
    let text = std::fs::read_to_string(&s2).unwrap();
    let cut: Vec<&str> = text.lines().collect();
    std::fs::write(&s2, cut[..cut.len() - 1].join("\n") + "\n").unwrap();
    let r = summary::merge(&[s1.clone(), s2.clone()], &options);
    assert_ne!(r.verdict, Verdict::Pass);
    assert!(r.errors.iter().any(|e| e.message.contains("was cut")), "{:?}", r.errors);
    // A file that is not a summary.
    let r = summary::merge(&[s1.clone(), paths[0].clone()], &options);
    assert_ne!(r.verdict, Verdict::Pass);
    assert!(r.errors.iter().any(|e| e.message.contains("not a shard summary")), "{:?}", r.errors);
    // A changed hash in a summary is found like a changed record.
    summary::write(right, &options, &s2).unwrap();
    let text = std::fs::read_to_string(&s2).unwrap();
    let line = text.lines().find(|l| l.starts_with("{\"entry\"") && !l.contains("\"control\"")).unwrap();
    let v: Value = serde_json::from_str(line).unwrap();
    let h = v["entry"]["h"].as_str().unwrap();
    let changed = format!("{}{}", if h.starts_with('A') { "B" } else { "A" }, &h[1..]);
    std::fs::write(&s2, text.replacen(h, &changed, 1)).unwrap();
    let r = summary::merge(&[s1, s2], &options);
    assert_eq!(r.verdict, Verdict::Fail);
    // Memory per record: a summary holds hashes, not records.
    let s = summary::entries_per_stream(&out.path().join("1.summary")).unwrap();
    assert!(s.values().sum::<u64>() > 0);
}

#[test]
fn the_cli_writes_summaries_and_merges_them() {
    let a = archive_of(false);
    let d = tempfile::tempdir().unwrap();
    let paths = a.write(&d.path().join("archive"), &a.files);
    let kd = tempfile::tempdir().unwrap();
    let as_of = auditchain::core::time::rfc3339(a.options().as_of_unix_nano);
    let bin = env!("CARGO_BIN_EXE_auditchain");
    let keys = |c: &mut std::process::Command| {
        c.arg("--key").arg(&a.chain).args(["--public-key", &a.public, "--as-of", &as_of]);
    };
    let mut summaries = Vec::new();
    for (k, shard) in paths.chunks(5).enumerate() {
        let s = kd.path().join(format!("{k}.summary"));
        let out =
            std::process::Command::new(bin).arg("verify").arg("--summary-out").arg(&s).args(shard).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no verdict"));
        summaries.push(s);
    }
    let mut c = std::process::Command::new(bin);
    c.args(["verify", "--merge", "--format", "json"]);
    keys(&mut c);
    let out = c.args(&summaries).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let merged: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut c = std::process::Command::new(bin);
    c.args(["verify", "--format", "json"]);
    keys(&mut c);
    let out = c.arg(d.path().join("archive")).output().unwrap();
    let single: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(merged, single);
}

/// Bounded memory (issue 11): records spilled to sorted runs on disk after
/// a few held in memory (`--spill-after`) give the report of records all
/// held in memory — over the same archives, tampers and periods, for one
/// run and for shards whose summaries are written from the runs.
#[test]
fn records_spilled_to_disk_give_the_report_of_records_held_in_memory() {
    let archives = [archive_of(false), archive_of(true), archive_in(false, 1)];
    let mut rng = Rng(0x5b11_1ed0_0d15_c0de);
    for round in 0..24u64 {
        let a = &archives[(round % 3) as usize];
        let mut memory = a.options();
        memory.limits.spill_after = None;
        if round % 4 == 3 {
            memory.window.since = Some(first_checkpoint_time(&a.files[if a.v2 { 0 } else { 4 }].1));
        }
        let mut files = a.files.clone();
        let how = tamper(&mut files, (round / 3) % 6, &mut rng);
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("archive");
        let paths = a.write(&root, &files);
        let held = verify(std::slice::from_ref(&root), &memory);
        // Fewer than half the records in memory: several runs per stream.
        let after = rng.below(held.inputs.records / 2) as usize;
        let spilling = Options {
            limits: auditchain::verify::Limits { spill_after: Some(after), ..memory.limits },
            ..memory.clone()
        };
        let spilled = verify(std::slice::from_ref(&root), &spilling);
        let (x, y) = (serde_json::to_value(&held).unwrap(), serde_json::to_value(&spilled).unwrap());
        assert!(
            x == y,
            "round {round} ({how}, spill after {after}): differs\nmemory: {}\nspilled: {}",
            serde_json::to_string_pretty(&x).unwrap(),
            serde_json::to_string_pretty(&y).unwrap()
        );
        if round % 6 == 0 {
            let out = tempfile::tempdir().unwrap();
            let halves = [paths[..paths.len() / 2].to_vec(), paths[paths.len() / 2..].to_vec()];
            let merged = serde_json::to_value(merged(&halves, out.path(), &spilling, &mut rng)).unwrap();
            assert!(x == merged, "round {round} ({how}): shards written from sorted runs differ");
        }
    }
}
