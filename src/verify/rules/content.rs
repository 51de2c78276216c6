//! Rule 1, content (docs/SPEC.md §8.1): recompute every record's link from
//! its canonical form and stamp (§2, §3). Keyed streams need the chain key
//! named by their start record (`key_required` without it); a mismatch is
//! reported by the copies rule, which sees all copies of a number at once.

use super::finding;
use crate::core::chain::{self, Algorithm, Hash, lineage_key};
use crate::core::vocab::event;
use crate::verify::Options;
use crate::verify::records::Entry;
use crate::verify::report::{Finding, Kind, Severity};
use std::collections::BTreeMap;

/// Epoch keys of a keyed stream, derived on demand and cached.
struct EpochKeys {
    keys: BTreeMap<u64, Hash>,
}

impl EpochKeys {
    fn get(&mut self, epoch: u64) -> Hash {
        let (&from, &key) = self.keys.range(..=epoch).next_back().expect("epoch 0 is always present");
        let mut k = key;
        for e in from + 1..=epoch {
            k = chain::evolve_key(&k, e);
        }
        self.keys.insert(epoch, k);
        k
    }
}

/// Finds the stream's epoch 0 key from its start record and the chain keys
/// given, or says why it cannot.
fn stream_keys(stream_id: &str, entries: &[Entry], options: &Options) -> Result<EpochKeys, String> {
    let starts: Vec<&Entry> = entries.iter().filter(|e| e.sequence == 1 && e.event() == Some(event::START)).collect();
    if starts.is_empty() {
        return Err("its start record (record 1), which says how its key derives, is missing".into());
    }
    let mut why = String::new();
    for e in starts {
        let c = e.control.as_deref().expect("start records are control records");
        let Some(id) = &c.chain_key_id else {
            why = "its start record names no chain key".into();
            continue;
        };
        let Some(key) = options.chain_keys.iter().find(|k| k.id() == *id) else {
            why = if options.chain_keys.is_empty() {
                format!("it is keyed with chain key {id}: pass --key with that key to verify its records")
            } else {
                format!("it is keyed with chain key {id}, which is not among the --key files given")
            };
            continue;
        };
        let k0 = match lineage_key(key.secret(), &c.key_lineage, stream_id) {
            Ok(k) => k,
            Err(e) => {
                why = format!("its start record's key lineage is invalid: {e}");
                continue;
            }
        };
        let mut keys = EpochKeys { keys: BTreeMap::from([(0, k0)]) };
        if e.link_inputs(stream_id).hmac(&keys.get(e.key_epoch.unwrap_or(0))) == e.value {
            return Ok(keys);
        }
        why =
            format!("its start record does not verify under chain key {id}: the record or its key lineage was altered");
    }
    Err(why)
}

/// Sets every entry's `link_ok`: whether its recomputed link matches its
/// `audit.integrity.value` (`None` when a keyed stream's key is unknown).
pub fn check(
    stream_id: &str,
    entries: &mut [Entry],
    algorithm: Algorithm,
    options: &Options,
    findings: &mut Vec<Finding>,
) {
    let mut keys = None;
    if algorithm == Algorithm::HmacSha256 {
        match stream_keys(stream_id, entries, options) {
            Ok(k) => keys = Some(k),
            Err(why) => findings.push(finding(
                Severity::Error,
                Kind::KeyRequired,
                format!("the contents of this keyed stream cannot be verified: {why}"),
            )),
        }
    }
    for e in entries.iter_mut() {
        e.link_ok = match (e.algorithm, &mut keys) {
            (Algorithm::Sha256, _) => Some(e.link_inputs(stream_id).sha256() == e.value),
            (Algorithm::HmacSha256, Some(k)) => {
                Some(e.link_inputs(stream_id).hmac(&k.get(e.key_epoch.unwrap_or(0))) == e.value)
            }
            (Algorithm::HmacSha256, None) => None,
        };
    }
}

/// The chain key a keyed stream's start record names.
pub fn chain_key_id(entries: &[Entry]) -> Option<String> {
    entries.iter().filter(|e| e.sequence == 1).find_map(|e| e.control.as_deref()?.chain_key_id.clone())
}
