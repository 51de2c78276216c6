//! Reading a record's stamp attributes (docs/SPEC.md §4.1) as written:
//! typed OTLP/JSON values into a [`StampRead`]. Whether the stamp makes
//! sense (a known algorithm, the right canonicalisation, an epoch exactly
//! on keyed chains) is a rule, `rules::stamps`.

use crate::core::canonical::json::StampAttr;
use crate::core::chain::Hash;
use crate::core::hex::from_hex;
use crate::core::vocab::StampKey;
use serde_json::Value;

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
}

fn any_str(key: StampKey, v: &Value) -> Result<&str, String> {
    v.get("stringValue").and_then(Value::as_str).ok_or_else(|| format!("{} must be a string value", key.name()))
}

/// An OTLP/JSON `intValue`: a decimal string or a JSON integer.
pub fn any_int(v: &Value) -> Option<i64> {
    match v.get("intValue") {
        Some(Value::String(s)) => s.parse().ok(),
        Some(Value::Number(n)) => n.as_i64(),
        _ => None,
    }
}

fn int(key: StampKey, v: &Value) -> Result<i64, String> {
    any_int(v).ok_or_else(|| format!("{} must be an integer value", key.name()))
}

fn hash(key: StampKey, v: &Value) -> Result<Hash, String> {
    let s = any_str(key, v)?;
    from_hex(s).ok_or_else(|| format!("{} must be 64 hexadecimal digits, not {s:?}", key.name()))
}

/// Reads the stamp attributes of one record (each at most once).
pub fn read<'v>(stamp: &[StampAttr<'v>]) -> Result<StampRead<'v>, String> {
    let mut by_key: [Option<&'v Value>; StampKey::ALL.len()] = [None; StampKey::ALL.len()];
    for (name, value) in stamp {
        let key = StampKey::from_name(name).ok_or_else(|| format!("{name} is not a stamp attribute"))?;
        if by_key[key.index() as usize].replace(value).is_some() {
            return Err(format!("{name} appears twice"));
        }
    }
    let find = |k: StampKey| by_key[k.index() as usize];
    let get = |k: StampKey| find(k).ok_or_else(|| format!("stamp attribute {} is missing", k.name()));
    Ok(StampRead {
        stream_id: any_str(StampKey::StreamId, get(StampKey::StreamId)?)?,
        sequence: int(StampKey::SequenceNumber, get(StampKey::SequenceNumber)?)?,
        previous: find(StampKey::PreviousHash).map(|v| hash(StampKey::PreviousHash, v)).transpose()?,
        value: hash(StampKey::IntegrityValue, get(StampKey::IntegrityValue)?)?,
        algorithm: any_str(StampKey::IntegrityAlgorithm, get(StampKey::IntegrityAlgorithm)?)?,
        canonicalization: any_str(StampKey::IntegrityCanonicalization, get(StampKey::IntegrityCanonicalization)?)?,
        key_epoch: find(StampKey::KeyEpoch).map(|v| int(StampKey::KeyEpoch, v)).transpose()?,
        end: match find(StampKey::SequenceEnd) {
            Some(v) => v
                .get("boolValue")
                .and_then(Value::as_bool)
                .ok_or_else(|| format!("{} must be a boolean value", StampKey::SequenceEnd.name()))?,
            None => false,
        },
    })
}
