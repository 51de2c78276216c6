//! `auditchain prove` and `verify-proof` (docs/SPEC.md §5.5): proofs of a
//! format version 2 log, made from the records read as `verify` reads them
//! and against checkpoints `verify` finds valid, and their offline check.
//! A proof is only written when it verifies against the checkpoint it
//! names: the roots are recomputed from the records first.

use super::read::{self, Item, files, json};
use super::rules::logs::{self, Cp, Log, Root};
use super::{Analysis, Options, analyze};
use crate::core::canonical::Scratch;
use crate::core::canonical::tree::Tree as _;
use crate::core::chain::Hash;
use crate::core::merkle::{MemoryStore, NodeStore, Tree};
use crate::core::tlog::{ConsistencyProof, Leaf, Policy, TlogProof};
use serde_json::{Value, json as j};
use std::path::PathBuf;

/// An inclusion proof of one record.
pub struct Inclusion {
    pub origin: String,
    pub index: u64,
    pub size: u64,
    /// `c2sp.org/tlog-proof@v1`.
    pub proof: String,
    /// The record as one OTLP/JSON export request.
    pub record: Value,
    /// The checkpoint meets the witness policy's quorum (None: no policy).
    pub quorum: Option<bool>,
}

/// The logs, with the records of every stream.
fn logs(paths: &[PathBuf], options: &Options) -> Result<(Analysis, Vec<Log>), String> {
    let options = &Options { keep_records: true, ..options.clone() };
    let a = analyze(paths, options);
    if let Some(e) = a.errors.first() {
        return Err(format!("{}: {}", e.file, e.message));
    }
    let logs = logs::prepare(&a.ing, &a.analyzed, &a.checkpoints, options);
    Ok((a, logs))
}

/// A tree of the log's leaves up to `size`, from the range its run starts
/// from; `None` when the records do not give the checkpoint's root.
fn tree_for(log: &Log, cp: &Cp) -> Option<Tree<MemoryStore>> {
    let Root::Matches(run) = cp.root_state else { return None };
    let start = log.runs.get(run)?.clone();
    let mut store = MemoryStore::new();
    for (id, h) in start.nodes().into_iter().zip(start.hashes()) {
        store.put(id, h).ok()?;
    }
    let mut tree = Tree::open(start, store).ok()?;
    let mut leaves = log.leaves.cursor();
    while tree.size() < cp.size {
        tree.append(&leaves.at(tree.size())?).ok()?;
    }
    (tree.root() == cp.root).then_some(tree)
}

/// The checkpoints a proof may use, best first: valid, whose root the
/// records give, witnessed before not, newest first.
fn candidates(log: &Log, covering: impl Fn(&Cp) -> bool) -> Vec<&Cp> {
    let mut c: Vec<&Cp> = log.cps.iter().filter(|c| c.valid && covering(c)).collect();
    c.sort_by_key(|c| (std::cmp::Reverse(c.quorum == Some(true) || c.from_witness()), std::cmp::Reverse(c.size)));
    c
}

/// Proves record `sequence` of `stream_id` against the newest checkpoint
/// covering it (a witnessed one when there is one).
pub fn inclusion(paths: &[PathBuf], options: &Options, stream_id: &str, sequence: u64) -> Result<Inclusion, String> {
    let (a, logs) = logs(paths, options)?;
    let entries = a.streams.get(stream_id).ok_or_else(|| format!("no stream {stream_id} among the inputs"))?;
    let entry = entries
        .iter()
        .find(|e| e.sequence == sequence && e.link_ok != Some(false))
        .ok_or_else(|| format!("no record {sequence} of {stream_id} whose link verifies among the inputs"))?;
    let sl = a.analyzed.get(stream_id).and_then(|x| x.log.as_ref()).ok_or_else(|| {
        format!("{stream_id} is not a format version 2 stream: its records are in no transparency log (SPEC §5.5)")
    })?;
    let base = sl.base.ok_or_else(|| format!("no trusted control record of {stream_id} gives its leaf index"))?;
    let index = base + sequence - 1;
    let leaf = Leaf { stream_id, sequence, record_hash: &entry.record_hash, link: &entry.value }.hash();
    let log = logs.iter().find(|l| l.origin == sl.origin).ok_or("the stream's log has no checkpoint")?;
    if log.leaves.get(index)?.map(|x| x.0) != Some(leaf) {
        return Err(format!("leaf {index} of {} is another record (see auditchain verify)", log.origin));
    }
    for cp in candidates(log, |c| c.size > index) {
        let Some(tree) = tree_for(log, cp) else { continue };
        let Ok(hashes) = tree.inclusion_proof(index, cp.size) else { continue };
        let proof = TlogProof { extra: None, index, hashes, checkpoint: cp.note.clone() };
        let policy = Policy::logs_only(logs::log_keys(&log.origin, options));
        // Never hand out a proof that does not verify.
        proof
            .verify(&leaf, &policy, &[])
            .map_err(|e| format!("internal error: the proof made does not verify: {e}"))?;
        let record = extract(&a, entry.loc)?;
        return Ok(Inclusion {
            origin: log.origin.clone(),
            index,
            size: cp.size,
            proof: proof.format(),
            record,
            quorum: cp.quorum,
        });
    }
    Err(format!(
        "no valid checkpoint of {} covers leaf {index} with a root the records present give (its sizes: {})",
        log.origin,
        log.cps.iter().filter(|c| c.valid).map(|c| c.size.to_string()).collect::<Vec<_>>().join(", ")
    ))
}

/// The record at `loc`, read again from its file, as one export request
/// holding only it (its resource and scope kept, so its record hash is the
/// same).
fn extract(a: &Analysis, loc: super::records::Loc) -> Result<Value, String> {
    let name = &a.ing.files[loc.file as usize];
    if name.starts_with("s3://") {
        return Err(format!("{name}: --record-out reads local files only"));
    }
    let reader = files::open(std::path::Path::new(name), files::MAX_DECOMPRESSED_BYTES)?;
    let mut values = json::Values::with_limit(reader, 1, json::MAX_VALUE_BYTES);
    let value = loop {
        match values.next_value() {
            Some((line, Ok(v))) if line == loc.line => break v.to_value(),
            Some((line, _)) if line > loc.line => return Err(format!("{name}:{}: the record is gone", loc.line)),
            Some(_) => {}
            None => return Err(format!("{name}:{}: the record is gone", loc.line)),
        }
    };
    let (outer, inner, list) = if value.get("resourceSpans").is_some() {
        ("resourceSpans", "scopeSpans", "spans")
    } else if value.get("resource_spans").is_some() {
        ("resource_spans", "scope_spans", "spans")
    } else if value.get("resource_logs").is_some() {
        ("resource_logs", "scope_logs", "log_records")
    } else {
        ("resourceLogs", "scopeLogs", "logRecords")
    };
    let mut k = 0u32;
    for rl in value[outer].as_array().into_iter().flatten() {
        for sl in rl[inner].as_array().into_iter().flatten() {
            for r in sl[list].as_array().into_iter().flatten() {
                if k == loc.record {
                    let mut scope = sl.clone();
                    scope[list] = j!([r]);
                    let mut resource = rl.clone();
                    resource[inner] = j!([scope]);
                    return Ok(j!({ outer: [resource] }));
                }
                k += 1;
            }
        }
    }
    Err(format!("{name}:{}: no record {} in the request", loc.line, loc.record))
}

/// A consistency proof between the log's checkpoints of `old` and `new`
/// (default: the newest, a witnessed one when there is one).
pub fn consistency(
    paths: &[PathBuf],
    options: &Options,
    origin: Option<&str>,
    old: u64,
    new: Option<u64>,
) -> Result<ConsistencyProof, String> {
    let (_, logs) = logs(paths, options)?;
    let log = match origin {
        Some(o) => logs.iter().find(|l| l.origin == o).ok_or_else(|| format!("no log {o} among the inputs"))?,
        None if logs.len() == 1 => &logs[0],
        None if logs.is_empty() => return Err("no transparency log (format version 2 stream) among the inputs".into()),
        None => {
            let names: Vec<&str> = logs.iter().map(|l| l.origin.as_str()).collect();
            return Err(format!("several logs among the inputs, name one with --origin: {}", names.join(", ")));
        }
    };
    let sizes = || log.cps.iter().filter(|c| c.valid).map(|c| c.size.to_string()).collect::<Vec<_>>().join(", ");
    let olds = candidates(log, |c| c.size == old);
    let news = candidates(log, |c| new.is_none_or(|n| c.size == n) && c.size >= old);
    let (Some(a), Some(b)) = (olds.first(), news.first()) else {
        return Err(format!(
            "log {} has no valid checkpoint of size {old}{}; its sizes: {}",
            log.origin,
            new.map(|n| format!(" or {n}")).unwrap_or_default(),
            sizes()
        ));
    };
    let hashes: Vec<Hash> = if a.size == 0 || a.size == b.size {
        Vec::new()
    } else {
        let tree = tree_for(log, b).ok_or_else(|| {
            format!(
                "the records present do not give the root of the checkpoint of size {}: no proof can be made from them",
                b.size
            )
        })?;
        if tree_for(log, a).is_none()
            && !matches!((a.root_state, b.root_state), (Root::Matches(x), Root::Matches(y)) if x == y)
        {
            return Err(format!("the records present do not give the root of the checkpoint of size {}", a.size));
        }
        tree.consistency_proof(a.size, b.size).map_err(|e| format!("cannot prove {}→{}: {e}", a.size, b.size))?
    };
    let proof = ConsistencyProof {
        old_size: a.size,
        new_size: b.size,
        hashes,
        old_checkpoint: a.note.clone(),
        new_checkpoint: b.note.clone(),
    };
    let policy = Policy::logs_only(logs::log_keys(&log.origin, options));
    proof.verify(&policy, &[]).map_err(|e| format!("internal error: the proof made does not verify: {e}"))?;
    Ok(proof)
}

/// A record given to `verify-proof`: one export request holding one
/// stamped record; its leaf, from its stamp and canonical form.
pub fn record_leaf(text: &str) -> Result<Hash, String> {
    let mut values = json::Values::over(text.as_bytes(), 1, json::MAX_VALUE_BYTES);
    values.next_value().ok_or("the record file is empty")?.1?;
    if values.next_value().is_some() {
        return Err("the record file holds more than one JSON value (give one export request)".into());
    }
    let mut values = json::Values::over(text.as_bytes(), 1, json::MAX_VALUE_BYTES);
    let value = values.next_value().ok_or("the record file is empty")?.1?;
    let mut scratch = Scratch::new();
    let mut leaves: Vec<Result<Hash, String>> = Vec::new();
    read::read_value(&value, &mut scratch, &mut |item| {
        if let Item::Record { record, .. } = item {
            leaves.push(match record {
                Err(u) => Err(format!("the record has no canonical form: {}", u.error)),
                Ok(r) => match r.stamp {
                    None => Err("the record carries no stamp".into()),
                    Some(Err(m)) => Err(format!("the record's stamp is malformed: {}", m.why)),
                    Some(Ok(s)) => u64::try_from(s.sequence)
                        .map_err(|_| "the record's sequence number is negative".to_string())
                        .map(|seq| {
                            Leaf { stream_id: s.stream_id, sequence: seq, record_hash: &r.record_hash, link: &s.value }
                                .hash()
                        }),
                },
            })
        }
    })?;
    match leaves.len() {
        1 => leaves.pop().unwrap(),
        0 => Err("the record file holds no record".into()),
        n => Err(format!("the record file holds {n} records; give one (auditchain prove --record-out writes it)")),
    }
}
