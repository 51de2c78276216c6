//! Reading a record's stamp attributes (docs/SPEC.md §4.1) as written:
//! typed OTLP/JSON values, by the same grammar as the canonical form
//! (`core::canonical::json::any`), into a [`StampRead`]. Whether the stamp
//! makes sense (a known algorithm, the right canonicalisation, an epoch
//! exactly on keyed chains) is a rule, `rules::stamps`.

use crate::core::canonical::CANONICALIZATION;
use crate::core::canonical::json::{Any, StampAttr, any_or_none};
use crate::core::canonical::tree::Tree;
use crate::core::chain::Hash;
use crate::core::hex::from_hex;
use crate::core::stamp::Compact;
use crate::core::vocab::StampKey;

/// A stamp as written on a record, with values of the right types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StampRead<'v> {
    pub stream_id: &'v str,
    pub sequence: i64,
    pub previous: Option<Hash>,
    pub value: Hash,
    pub algorithm: &'v str,
    pub canonicalization: &'v str,
    pub key_epoch: Option<i64>,
    pub end: bool,
    /// Read from a compact stamp (§4.1.1): `previous` is not given, it is
    /// record n−1's link.
    pub compact: bool,
}

/// A stamp that cannot be read, with what could be read of where it
/// belongs (so that the finding goes to its stream, SPEC §9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed<'v> {
    pub why: String,
    pub stream_id: Option<&'v str>,
    pub sequence: Option<i64>,
}

fn any_str<V: Tree>(key: StampKey, v: Option<&V>) -> Result<&str, String> {
    match any_or_none(v) {
        Ok(Any::String(s)) => Ok(s),
        Ok(_) => Err(format!("{} must be a string value", key.name())),
        Err(e) => Err(format!("{}: {e}", key.name())),
    }
}

/// An OTLP/JSON AnyValue holding an integer (`intValue`, either spelling).
pub fn any_int<V: Tree>(v: Option<&V>) -> Option<i64> {
    match any_or_none(v) {
        Ok(Any::Int(n)) => Some(n),
        _ => None,
    }
}

fn int<V: Tree>(key: StampKey, v: Option<&V>) -> Result<i64, String> {
    match any_or_none(v) {
        Ok(Any::Int(n)) => Ok(n),
        Ok(_) => Err(format!("{} must be an integer value", key.name())),
        Err(e) => Err(format!("{}: {e}", key.name())),
    }
}

fn hash<V: Tree>(key: StampKey, v: Option<&V>) -> Result<Hash, String> {
    let s = any_str(key, v)?;
    from_hex(s).ok_or_else(|| format!("{} must be 64 hexadecimal digits, not {s:?}", key.name()))
}

/// `audit.sequence.end`: `true`, or `false`, which means the same as
/// absent (SPEC §4.1).
fn end<V: Tree>(v: Option<&V>) -> Result<bool, String> {
    match any_or_none(v) {
        Ok(Any::Bool(b)) => Ok(b),
        _ => Err(format!("{} must be a boolean value", StampKey::SequenceEnd.name())),
    }
}

/// Reads the stamp attributes of one record (each at most once).
pub fn read<'v, V: Tree>(stamp: &[StampAttr<'v, V>]) -> Result<StampRead<'v>, Malformed<'v>> {
    // Indexed by key index; the compact stamp's is the highest.
    // The inner `None`: an attribute without a value.
    let mut by_key: [Option<Option<&'v V>>; SLOTS] = [None; SLOTS];
    let mut twice = None;
    for (name, value) in stamp {
        // Only stamp attributes are handed here (`vocab::is_stamp`).
        let Some(key) = StampKey::from_name(name) else { continue };
        if by_key[key.index() as usize].replace(*value).is_some() {
            twice = Some(format!("{name} appears twice"));
        }
    }
    let find = |k: StampKey| by_key[k.index() as usize];
    if let Some(v) = find(StampKey::Compact) {
        return compact(
            v,
            StampKey::ALL.iter().filter(|&&k| k != StampKey::Compact).find(|&&k| find(k).is_some()).copied(),
            twice,
        );
    }
    let stream_id = find(StampKey::StreamId).and_then(|v| any_str(StampKey::StreamId, v).ok());
    let sequence = find(StampKey::SequenceNumber).and_then(any_int);
    let malformed = |why: String| Malformed { why, stream_id, sequence };
    if let Some(why) = twice {
        return Err(malformed(why));
    }
    let get = |k: StampKey| find(k).ok_or_else(|| format!("stamp attribute {} is missing", k.name()));
    let read = || -> Result<StampRead<'v>, String> {
        Ok(StampRead {
            stream_id: any_str(StampKey::StreamId, get(StampKey::StreamId)?)?,
            sequence: int(StampKey::SequenceNumber, get(StampKey::SequenceNumber)?)?,
            previous: find(StampKey::PreviousHash).map(|v| hash(StampKey::PreviousHash, v)).transpose()?,
            value: hash(StampKey::IntegrityValue, get(StampKey::IntegrityValue)?)?,
            algorithm: any_str(StampKey::IntegrityAlgorithm, get(StampKey::IntegrityAlgorithm)?)?,
            canonicalization: any_str(StampKey::IntegrityCanonicalization, get(StampKey::IntegrityCanonicalization)?)?,
            key_epoch: find(StampKey::KeyEpoch).map(|v| int(StampKey::KeyEpoch, v)).transpose()?,
            end: find(StampKey::SequenceEnd).map(end).transpose()?.unwrap_or(false),
            compact: false,
        })
    };
    read().map_err(malformed)
}

/// Room for every stamp key by its index (index 8 is not a stamp key).
const SLOTS: usize = StampKey::Compact.index() as usize + 1;

/// A record carrying the compact stamp: that attribute alone (§4.1.1).
fn compact<'v, V: Tree>(
    v: Option<&'v V>,
    also: Option<StampKey>,
    twice: Option<String>,
) -> Result<StampRead<'v>, Malformed<'v>> {
    let name = StampKey::Compact.name();
    let text = any_str(StampKey::Compact, v).map_err(|why| Malformed { why, stream_id: None, sequence: None })?;
    // Where a stamp that does not parse belongs, as far as it can be told.
    let c = Compact::parse(text).map_err(|why| {
        let mut fields = text.split(' ').skip(1);
        let stream_id = fields.next().filter(|s| !s.is_empty());
        Malformed { why, stream_id, sequence: fields.next().and_then(|n| n.parse().ok()) }
    })?;
    let malformed =
        |why: String| Malformed { why, stream_id: Some(c.stream_id), sequence: i64::try_from(c.sequence).ok() };
    if let Some(why) = twice {
        return Err(malformed(why));
    }
    if let Some(k) = also {
        return Err(malformed(format!(
            "{name} and {} on one record: a record carries one form of the stamp",
            k.name()
        )));
    }
    let sequence =
        i64::try_from(c.sequence).map_err(|_| malformed(format!("{name}: the sequence number is too large")))?;
    let key_epoch = c
        .key_epoch
        .map(i64::try_from)
        .transpose()
        .map_err(|_| malformed(format!("{name}: the key epoch is too large")))?;
    Ok(StampRead {
        stream_id: c.stream_id,
        sequence,
        previous: None,
        value: c.value,
        algorithm: c.algorithm.name(),
        canonicalization: CANONICALIZATION,
        key_epoch,
        end: c.end,
        compact: true,
    })
}
