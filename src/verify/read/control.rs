//! Reading what a control record says: its `audit.stream.*` attributes,
//! time and body. What it says is trusted only once its link verified.

use super::stamp::any_int;
use crate::core::hex::from_hex;
use crate::core::ranges::parse_range;
use crate::core::vocab::control;
use crate::verify::records::Control;
use serde_json::Value;

fn any_str(v: &Value) -> Option<&str> {
    v.get("stringValue").and_then(Value::as_str)
}

fn any_strings(v: &Value) -> Vec<String> {
    v.pointer("/arrayValue/values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| any_str(item).map(str::to_string))
        .collect()
}

/// The control facts of a record, when it is a control record (it has an
/// `audit.stream.event`).
pub fn read(raw: &Value) -> Option<Box<Control>> {
    let attributes = raw.get("attributes")?.as_array()?;
    let mut c = Control::default();
    let (mut pred_id, mut pred_seq, mut pred_hash) = (None, None, None);
    let (mut outage_start, mut outage_end) = (None, None);
    let unix = |v: &Value| any_int(v).and_then(|n| u64::try_from(n).ok());
    for kv in attributes {
        let Some(key) = kv.get("key").and_then(Value::as_str) else { continue };
        if !key.starts_with(control::PREFIX) {
            continue;
        }
        let v = kv.get("value").unwrap_or(&Value::Null);
        match key {
            control::EVENT => c.event = any_str(v).unwrap_or_default().to_string(),
            control::PREDECESSOR_ID => pred_id = any_str(v).map(str::to_string),
            control::PREDECESSOR_SEQUENCE => pred_seq = any_int(v).and_then(|n| u64::try_from(n).ok()),
            control::PREDECESSOR_HASH => pred_hash = any_str(v).and_then(from_hex),
            control::UNCONFIRMED => c.announced.extend(any_strings(v).iter().filter_map(|s| parse_range(s))),
            control::PREDECESSOR_UNCONFIRMED => {
                c.predecessor_announced.extend(any_strings(v).iter().filter_map(|s| parse_range(s)))
            }
            control::CHAIN_KEY_ID => c.chain_key_id = any_str(v).map(str::to_string),
            control::KEY_LINEAGE => c.key_lineage = any_strings(v),
            control::SIGNER => c.signer = any_str(v).map(str::to_string),
            control::OUTAGE_START => outage_start = unix(v),
            control::OUTAGE_END => outage_end = unix(v),
            control::CLOCK_STEP => c.clock_step = any_int(v),
            _ => {}
        }
    }
    if c.event.is_empty() {
        return None;
    }
    if let (Some(start), Some(end)) = (outage_start, outage_end) {
        c.outage = Some([start.min(end), start.max(end)]);
    }
    if let (Some(id), Some(seq)) = (pred_id, pred_seq) {
        c.predecessor = Some((id, seq, pred_hash));
    }
    c.time_unix_nano = match raw.get("timeUnixNano") {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        _ => 0,
    };
    c.body = raw.pointer("/body/stringValue").and_then(Value::as_str).unwrap_or_default().to_string();
    Some(Box::new(c))
}
