//! Rule 1, content (docs/SPEC.md §8.1): recompute every record's link from
//! its canonical form and stamp (§2, §3). A keyed stream's epoch 0 key
//! derives from its start record's key lineage under the chain key that
//! record names (§5.2); when the start record is missing or altered, from
//! the lineage a successor records, or from the chain key and the stream id
//! (a stream without a keyed predecessor), whichever a record of the stream
//! verifies under: so that the rest of the stream is still checked. Without
//! a key: `key_required`. A mismatch is reported by the copies rule, which
//! sees all copies of a number at once.

use super::finding;
use super::keys::{KeyCache, Lineage, Underivable};
use crate::core::chain::{Algorithm, EpochMac, Hash};
use crate::core::keys::ChainKey;
use crate::core::ranges::range_string;
use crate::core::vocab::event;
use crate::verify::Options;
use crate::verify::records::Entry;
use crate::verify::report::{Finding, Kind, Severity};
use std::collections::BTreeMap;

/// Key lineages that other streams' start records record for a stream id
/// (each a prefix of theirs ending at that id).
pub type LineageHints = BTreeMap<String, Vec<Vec<String>>>;

/// The lineage prefixes the start records among `streams` record.
pub fn lineage_hints<'a>(streams: impl Iterator<Item = &'a Vec<Entry>>) -> LineageHints {
    let mut hints = LineageHints::new();
    for entries in streams {
        for e in entries.iter().filter(|e| e.sequence == 1 && e.event() == Some(event::START)) {
            let lineage = &e.control.as_deref().expect("a start record").key_lineage;
            for i in 0..lineage.len().saturating_sub(1) {
                let id = lineage[i].split_once(':').map_or(lineage[i].as_str(), |(_, id)| id);
                let known = hints.entry(id.to_string()).or_default();
                if !known.iter().any(|l| l[..] == lineage[..=i]) {
                    known.push(lineage[..=i].to_vec());
                }
            }
        }
    }
    hints
}

/// How many of a stream's first records are tried under a key derived
/// without its start record.
pub const PROBES: usize = 16;

/// The epoch of a record, unless it lies beyond what the epoch rule (§8.5)
/// allows after the last record that verified (`(1, 0)` at first): no key
/// is derived for such a record, and a later key (a thief's, §5.2) must not
/// make it trusted. An earlier epoch costs nothing new and is checked.
fn plausible(e: &Entry, base: (u64, u64)) -> Option<u64> {
    let epoch = e.key_epoch?;
    let most = base.1.saturating_add(e.sequence.saturating_sub(base.0));
    (epoch <= most).then_some(epoch)
}

/// Whether `e`'s link verifies under the lineage's keys.
fn verifies(keys: &mut KeyCache, lineage: &Lineage, stream_id: &str, e: &Entry) -> Result<bool, Underivable> {
    let epoch = e.key_epoch.unwrap_or(0);
    Ok(e.link_inputs(stream_id).hmac(&keys.key(lineage, epoch)?) == e.value)
}

/// A derivation to try: a chain key and a lineage ending at the stream.
struct Candidate<'a> {
    key: &'a ChainKey,
    lineage: Vec<String>,
    /// It is the start record's own: the start record must verify.
    from_start: bool,
}

/// Finds the stream's keys, or says why they cannot be found.
fn stream_keys<'a>(
    stream_id: &str,
    entries: &[Entry],
    hints: &LineageHints,
    keys: &mut KeyCache,
    options: &'a Options,
    findings: &mut Vec<Finding>,
) -> Result<(Lineage, &'a ChainKey), String> {
    let starts: Vec<&Entry> = entries.iter().filter(|e| e.sequence == 1 && e.event() == Some(event::START)).collect();
    let mut candidates = Vec::new();
    let mut why = String::new();
    for e in &starts {
        let c = e.control.as_deref().expect("start records are control records");
        let Some(id) = &c.chain_key_id else {
            why = "its start record names no chain key".into();
            continue;
        };
        match options.chain_keys.iter().find(|k| k.id() == *id) {
            Some(key) => candidates.push(Candidate { key, lineage: c.key_lineage.clone(), from_start: true }),
            None if options.chain_keys.is_empty() => {
                return Err(format!("it is keyed with chain key {id}: pass --key with that key to verify its records"));
            }
            None => why = format!("it is keyed with chain key {id}, which is not among the --key files given"),
        }
    }
    if options.chain_keys.is_empty() {
        return Err("it is keyed: pass --key with its chain key to verify its records".into());
    }
    // Without a start record that verifies: what successors record, then
    // a root derivation (SPEC §5.2).
    for key in &options.chain_keys {
        for lineage in hints.get(stream_id).into_iter().flatten() {
            candidates.push(Candidate { key, lineage: lineage.clone(), from_start: false });
        }
        candidates.push(Candidate { key, lineage: vec![stream_id.to_string()], from_start: false });
    }
    for c in candidates {
        let lineage = match keys.stream(c.key, &c.lineage, stream_id) {
            Ok(l) => l,
            Err(e) => {
                if c.from_start {
                    let step = c.lineage.last().cloned().unwrap_or_default();
                    let f = finding(
                        Severity::Error,
                        Kind::KeyEpochOutOfOrder,
                        format!("record 1: its key lineage (ending {step:?}) gives no key: {e}"),
                    );
                    findings.push(f.at(1));
                    why = format!("its start record's key lineage gives no key: {e}");
                }
                continue;
            }
        };
        let probes: Vec<&Entry> = if c.from_start {
            starts.iter().copied().filter(|e| e.key_epoch == Some(0)).collect()
        } else {
            entries.iter().filter(|e| plausible(e, (1, 0)).is_some()).take(PROBES).collect()
        };
        for e in probes {
            if verifies(keys, &lineage, stream_id, e).unwrap_or(false) {
                if !c.from_start {
                    findings.push(finding(
                        Severity::Info,
                        Kind::Lineage,
                        format!(
                            "its start record is missing or altered: its keys were derived from {}",
                            if c.lineage.len() > 1 {
                                "the key lineage its successor records"
                            } else {
                                "the chain key and its stream id"
                            }
                        ),
                    ));
                }
                return Ok((lineage, c.key));
            }
        }
        if c.from_start {
            why = format!(
                "its start record does not verify under chain key {}: the record or its key lineage was altered",
                c.key.id()
            );
        }
    }
    if why.is_empty() {
        why = if starts.is_empty() {
            "its start record (record 1), which says how its key derives, is missing, and no record verifies under a key derived from the chain keys given".into()
        } else {
            "no record verifies under a key derived from the chain keys given".into()
        };
    }
    Err(why)
}

/// Sets each entry's `link_ok`, in number order: whether its recomputed
/// link matches its `audit.integrity.value`; `None` when it cannot be
/// checked (a keyed stream's key unknown, an epoch the stream cannot
/// reach, a record of another algorithm than its stream's).
pub struct Checker {
    algorithm: Algorithm,
    /// A keyed stream's keys; `None` when they cannot be found (reported).
    key: Option<(Lineage, String)>,
    /// The number and epoch of the newest record that verified.
    base: (u64, u64),
    /// Records whose epoch lies beyond what the key cache justifies: the
    /// first, the last, how many, and why.
    beyond: Option<(u64, u64, u64, Underivable)>,
    /// The epoch key used last, ready (records come in number order, so
    /// mostly under one epoch's key at a time).
    mac: Option<EpochMac>,
}

impl Checker {
    /// `head`: the stream's first records in number order, holding its
    /// record 1 when present and at least [`PROBES`] records (or all of
    /// them), which a keyed stream's keys are found from.
    pub fn new(
        stream_id: &str,
        head: &[Entry],
        algorithm: Algorithm,
        hints: &LineageHints,
        keys: &mut KeyCache,
        options: &Options,
        findings: &mut Vec<Finding>,
    ) -> Checker {
        let mut checker = Checker { algorithm, key: None, base: (1, 0), beyond: None, mac: None };
        if algorithm == Algorithm::Sha256 {
            return checker;
        }
        match stream_keys(stream_id, head, hints, keys, options, findings) {
            Ok((lineage, key)) => checker.key = Some((lineage, key.id())),
            Err(why) => findings.push(finding(
                Severity::Error,
                Kind::KeyRequired,
                format!("the contents of this keyed stream cannot be verified: {why}"),
            )),
        }
        checker
    }

    /// Whether a keyed stream's head must hold more records to find its
    /// keys: fewer than [`PROBES`] plausible ones.
    pub fn wants_more<'e>(head: impl Iterator<Item = &'e Entry>) -> bool {
        head.filter(|e| plausible(e, (1, 0)).is_some()).take(PROBES).count() < PROBES
    }

    /// How `check` would recompute `e`'s link, when that needs no key
    /// derived anew: for computing it ahead, on another thread
    /// ([`link_ahead`]). Which records `check` then trusts is still its
    /// own decision, in number order.
    pub fn ahead(&self, keys: &KeyCache, e: &Entry) -> Option<Ahead> {
        if !self.checkable(e) {
            return None;
        }
        match &self.key {
            None if self.algorithm == Algorithm::Sha256 => Some(Ahead::Sha256),
            None => None,
            Some((lineage, _)) => keys.derived(lineage, e.key_epoch.unwrap_or(0)).map(Ahead::Key),
        }
    }

    /// Sets `e.link_ok`; `ahead`: its link as [`link_ahead`] computed it
    /// for [`Checker::ahead`]'s answer, when it was.
    pub fn check(&mut self, stream_id: &str, keys: &mut KeyCache, e: &mut Entry, ahead: Option<Hash>) {
        e.link_ok = None;
        if !self.checkable(e) {
            return;
        }
        let mac = &mut self.mac;
        let Some((lineage, _)) = &self.key else {
            if self.algorithm == Algorithm::Sha256 {
                let link = ahead.unwrap_or_else(|| link_ahead(stream_id, e, Ahead::Sha256, mac));
                e.link_ok = Some(link == e.value);
            }
            return;
        };
        let Some(epoch) = plausible(e, self.base) else { return };
        // The key of the same lineage and epoch as `ahead`'s, when given:
        // a derived key never changes.
        let verified = keys
            .key(lineage, e.key_epoch.unwrap_or(0))
            .map(|key| ahead.unwrap_or_else(|| link_ahead(stream_id, e, Ahead::Key(key), mac)) == e.value);
        match verified {
            Ok(ok) => {
                e.link_ok = Some(ok);
                if ok && e.sequence > self.base.0 {
                    self.base = (e.sequence, epoch);
                }
            }
            Err(why) => {
                let (first, count) = self.beyond.as_ref().map_or((e.sequence, 0), |b| (b.0, b.2));
                self.beyond = Some((first, e.sequence, count + 1, why));
            }
        }
    }

    /// Whether `e`'s link can be recomputed at all: of the stream's
    /// algorithm, and not a compact stamp whose predecessor is missing.
    fn checkable(&self, e: &Entry) -> bool {
        e.algorithm == self.algorithm && !e.unlinked()
    }

    /// The chain key id used, with the finding about records whose epochs
    /// could not be reached.
    pub fn finish(self, findings: &mut Vec<Finding>) -> Option<String> {
        if let Some((first, last, count, why)) = self.beyond {
            findings.push(
                finding(
                    Severity::Error,
                    Kind::KeyEpochOutOfOrder,
                    format!(
                        "records {} ({count} records): not checked, their key epochs lie beyond what the stream justifies: {why}",
                        range_string([first, last]),
                    ),
                )
                .range(first, last),
            );
        }
        self.key.map(|(_, id)| id)
    }
}

/// How a record's link is recomputed ahead of [`Checker::check`].
#[derive(Clone, Copy)]
pub enum Ahead {
    /// An unkeyed stream's: SHA-256 of the link message.
    Sha256,
    /// Under this epoch key, derived already.
    Key(Hash),
}

/// `e`'s link recomputed as `how` says (by [`Checker::check`] itself, or
/// ahead of it); `mac`: the epoch key used last, kept ready by the caller.
pub fn link_ahead(stream_id: &str, e: &Entry, how: Ahead, mac: &mut Option<EpochMac>) -> Hash {
    match how {
        Ahead::Sha256 => e.link_inputs(stream_id).sha256(),
        Ahead::Key(key) => {
            let mac = match mac {
                Some(m) if m.is_for(&key) => m,
                _ => mac.insert(EpochMac::new(&key)),
            };
            e.link_inputs(stream_id).hmac_with(mac)
        }
    }
}

/// The chain key a keyed stream's start record names.
pub fn chain_key_id(entries: &[Entry]) -> Option<String> {
    entries.iter().filter(|e| e.sequence == 1).find_map(|e| e.control.as_deref()?.chain_key_id.clone())
}
