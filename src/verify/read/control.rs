//! Reading what a control record says: its `audit.stream.*` attributes,
//! time and body, by the same grammar as the canonical form
//! (`core::canonical::json::any`). What it says is trusted only once its
//! link verified (`rules::facts`).

use crate::core::canonical::Signal;
use crate::core::canonical::json::{Any, any_or_none, text, unsigned};
use crate::core::canonical::tree::Tree;
use crate::core::hex::from_hex;
use crate::core::ranges::parse_range;
use crate::core::vocab::{control, log};
use crate::verify::records::{Control, LogControl};

fn any_str<V: Tree>(v: Option<&V>) -> Option<&str> {
    match any_or_none(v) {
        Ok(Any::String(s)) => Some(s),
        _ => None,
    }
}

fn any_strings<V: Tree>(v: Option<&V>) -> Vec<String> {
    match any_or_none(v) {
        Ok(Any::Array(items)) => items.iter().filter_map(|x| any_str(Some(x))).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// A non-negative int attribute of the log (SPEC §5.5).
fn log_int<V: Tree>(v: Option<&V>, key: &str) -> Result<u64, String> {
    super::stamp::any_int(v)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| format!("{key} is not a non-negative int"))
}

/// An array of base64 (standard, padded) 32-byte hashes (SPEC §5.5).
fn log_hashes<V: Tree>(v: Option<&V>, key: &str) -> Result<Vec<crate::core::chain::Hash>, String> {
    use base64::Engine as _;
    let Ok(Any::Array(items)) = any_or_none(v) else { return Err(format!("{key} is not an array of strings")) };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            any_str(Some(item))
                .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| format!("{key}[{i}] is not the base64 of a 32-byte hash"))
        })
        .collect()
}

/// A member by either of its names (the record has a canonical form, so
/// at most one of them is present).
fn member<'v, V: Tree>(raw: &'v V, camel: &str, snake: &str) -> Option<&'v V> {
    raw.get(camel).or_else(|| raw.get(snake))
}

/// The control facts of a record, when it is a control record (it has an
/// `audit.stream.event`). A control span (SPEC §5.4) has its time in
/// `startTimeUnixNano` and its body in `audit.stream.body`.
pub fn read<V: Tree>(raw: &V, signal: Signal) -> Option<Box<Control>> {
    let attributes = raw.get("attributes")?.as_array()?;
    let mut c = Control::default();
    let (mut pred_id, mut pred_seq, mut pred_hash) = (None, None, None);
    let (mut outage_start, mut outage_end) = (None, None);
    let any_int = super::stamp::any_int;
    let unix = |v: Option<&V>| any_int(v).and_then(|n| u64::try_from(n).ok());
    let mut lg = LogControl::default();
    let mut has_origin = false;
    for kv in attributes {
        let Some(key) = kv.get("key").and_then(|k| text(k).ok()) else { continue };
        if key.starts_with(log::PREFIX) {
            let v = kv.get("value");
            match key {
                log::ORIGIN => {
                    has_origin = true;
                    lg.origin = any_str(v).unwrap_or_default().to_string();
                }
                log::INDEX => lg.index = Some(log_int(v, key)),
                log::RANGE => lg.range = Some(log_hashes(v, key)),
                log::PREVIOUS_SIZE => lg.previous_size = Some(log_int(v, key)),
                log::CONSISTENCY => lg.consistency = Some(log_hashes(v, key)),
                log::CHECKPOINT_INDEX => lg.checkpoint_index = Some(log_int(v, key)),
                _ => {}
            }
            continue;
        }
        if !key.starts_with(control::PREFIX) {
            continue;
        }
        let v = kv.get("value");
        match key {
            control::EVENT => c.event = any_str(v).unwrap_or_default().to_string(),
            control::NAME => c.name = any_str(v).map(str::to_string),
            control::PREDECESSOR_ID => pred_id = any_str(v).map(str::to_string),
            control::PREDECESSOR_SEQUENCE => pred_seq = unix(v),
            control::PREDECESSOR_HASH => pred_hash = any_str(v).and_then(from_hex),
            control::UNCONFIRMED => c.announced.extend(any_strings(v).iter().filter_map(|s| parse_range(s))),
            control::PREDECESSOR_UNCONFIRMED => {
                c.predecessor_announced.extend(any_strings(v).iter().filter_map(|s| parse_range(s)))
            }
            control::CHAIN_KEY_ID => c.chain_key_id = any_str(v).map(str::to_string),
            control::KEY_LINEAGE => c.key_lineage = any_strings(v),
            control::SIGNER => c.signer = any_str(v).map(str::to_string),
            control::BODY if signal == Signal::Traces => c.body = any_str(v).unwrap_or_default().to_string(),
            control::OUTAGE_START => outage_start = unix(v),
            control::OUTAGE_END => outage_end = unix(v),
            control::CLOCK_STEP => c.clock_step = any_int(v),
            _ => {}
        }
    }
    if c.event.is_empty() {
        return None;
    }
    if has_origin {
        c.log = Some(Box::new(lg));
    }
    if let (Some(start), Some(end)) = (outage_start, outage_end) {
        c.outage = Some([start.min(end), start.max(end)]);
    }
    if let (Some(id), Some(seq)) = (pred_id, pred_seq) {
        c.predecessor = Some((id, seq, pred_hash));
    }
    c.time_unix_nano = match signal {
        Signal::Logs => member(raw, "timeUnixNano", "time_unix_nano"),
        Signal::Traces => member(raw, "startTimeUnixNano", "start_time_unix_nano"),
    }
    .and_then(|v| unsigned(v).ok())
    .unwrap_or_default();
    if signal == Signal::Logs {
        c.body = any_str(raw.get("body")).unwrap_or_default().to_string();
    }
    Some(Box::new(c))
}
