//! A record's stamp (docs/SPEC.md §4.1): the one place that says which
//! attributes a stamp has, in which order and of which type, in its full
//! form and in its compact form (§4.1.1). The engine writes every stamp
//! (client records and its own control records alike) through
//! [`Stamp::write`]; the verifier reads stamps by [`StampKey`] and compact
//! ones with [`Compact::parse`].

use super::canonical::CANONICALIZATION;
use super::chain::{Algorithm, Hash};
use super::hex::{from_hex, write_hex};
use super::vocab::StampKey;

/// Which form a stamp is written in (the processor's `stamp` setting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StampForm {
    /// The OTEP 0267 attributes, one per field (§4.1).
    #[default]
    Full,
    /// One attribute, `audit.integrity.stamp` (§4.1.1), on the records of
    /// the batch; control records keep the full form.
    Compact,
}

/// The value of one stamp attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StampValue<'a> {
    Str(&'a str),
    /// A hash, written as 64 lowercase hex digits.
    Hash(&'a Hash),
    /// An OTLP int (always non-negative here).
    Int(u64),
    Bool(bool),
    /// The whole stamp as the compact string (§4.1.1).
    Compact(&'a Stamp<'a>),
}

/// Everything a stamp says about its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp<'a> {
    pub stream_id: &'a str,
    pub sequence: u64,
    /// The previous record's link; `None` on record 1.
    pub previous: Option<&'a Hash>,
    /// The record's link.
    pub value: &'a Hash,
    pub algorithm: Algorithm,
    /// The key epoch of a keyed chain.
    pub key_epoch: Option<u64>,
    /// The record ends its stream.
    pub end: bool,
}

impl Stamp<'_> {
    /// Hands each attribute of the stamp to `put`, in the order they are
    /// written on a record. Absent attributes (the previous hash of record
    /// 1, `end` unless true, the epoch of a plain chain) are not handed.
    /// The compact form is one attribute.
    pub fn write(&self, form: StampForm, mut put: impl FnMut(StampKey, StampValue<'_>)) {
        if form == StampForm::Compact {
            put(StampKey::Compact, StampValue::Compact(self));
            return;
        }
        put(StampKey::StreamId, StampValue::Str(self.stream_id));
        put(StampKey::SequenceNumber, StampValue::Int(self.sequence));
        if let Some(p) = self.previous {
            put(StampKey::PreviousHash, StampValue::Hash(p));
        }
        if self.end {
            put(StampKey::SequenceEnd, StampValue::Bool(true));
        }
        put(StampKey::IntegrityValue, StampValue::Hash(self.value));
        put(StampKey::IntegrityAlgorithm, StampValue::Str(self.algorithm.name()));
        put(StampKey::IntegrityCanonicalization, StampValue::Str(CANONICALIZATION));
        if let Some(e) = self.key_epoch {
            put(StampKey::KeyEpoch, StampValue::Int(e));
        }
    }
}

/// The version tag that opens a compact stamp.
pub const COMPACT_TAG: &str = "c1";

impl Stamp<'_> {
    /// Appends the compact stamp's text (§4.1.1):
    /// `c1 <stream id> <number> <key epoch or -> <link hex>[ end]`.
    pub fn write_compact(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        // Formatted into `out` directly: no string per record.
        let _ = write!(out, "{COMPACT_TAG} {} {} ", self.stream_id, self.sequence);
        match self.key_epoch {
            Some(e) => {
                let _ = write!(out, "{e}");
            }
            None => out.push(b'-'),
        }
        out.push(b' ');
        write_hex(out, self.value);
        if self.end {
            out.extend_from_slice(b" end");
        }
    }
}

/// A compact stamp as read (§4.1.1): everything but the previous link,
/// which is record n−1's link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compact<'a> {
    pub stream_id: &'a str,
    pub sequence: u64,
    pub value: Hash,
    /// `hmac-sha256-chain-v1` when an epoch is given, else `sha256-chain-v1`.
    pub algorithm: Algorithm,
    pub key_epoch: Option<u64>,
    pub end: bool,
}

/// A decimal number as the compact stamp writes it: digits, no sign, no
/// leading zero (but `0` itself), within u64.
fn decimal(s: &str) -> Option<u64> {
    let canonical = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

impl<'a> Compact<'a> {
    /// Reads a compact stamp. Exactly one space between fields, nothing
    /// before or after; every field in its one spelling.
    pub fn parse(text: &'a str) -> Result<Compact<'a>, String> {
        let name = StampKey::Compact.name();
        // At most 6 fields (tag, 4, end) and a seventh to tell one too many:
        // no allocation per record.
        let mut fields = [""; 7];
        let mut n = 0;
        for f in text.split(' ') {
            if n == fields.len() {
                break;
            }
            fields[n] = f;
            n += 1;
        }
        let (tag, rest) = (fields[0], &fields[1..n.max(1)]);
        if tag != COMPACT_TAG {
            return Err(format!("{name} must start with {COMPACT_TAG:?}, not {tag:?}"));
        }
        let end = match rest {
            [_, _, _, _] => false,
            [_, _, _, _, "end"] => true,
            _ => {
                return Err(format!(
                    "{name} must be \"c1 <stream id> <number> <key epoch or -> <link>[ end]\", not {text:?}"
                ));
            }
        };
        let stream_id = rest[0];
        if stream_id.is_empty() {
            return Err(format!("{name}: the stream id is empty"));
        }
        let sequence = decimal(rest[1]).ok_or_else(|| format!("{name}: {:?} is not a sequence number", rest[1]))?;
        let key_epoch = match rest[2] {
            "-" => None,
            e => Some(
                decimal(e).ok_or_else(|| format!("{name}: {e:?} is not a key epoch (a number, or - when unkeyed)"))?,
            ),
        };
        let lowercase = !rest[3].bytes().any(|b| b.is_ascii_uppercase());
        let value = from_hex(rest[3])
            .filter(|_| lowercase)
            .ok_or_else(|| format!("{name}: the link must be 64 lowercase hexadecimal digits, not {:?}", rest[3]))?;
        let algorithm = if key_epoch.is_some() { Algorithm::HmacSha256 } else { Algorithm::Sha256 };
        Ok(Compact { stream_id, sequence, value, algorithm, key_epoch, end })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_writes_only_what_it_has() {
        let (prev, value) = ([1; 32], [2; 32]);
        let mut keys = Vec::new();
        let genesis = Stamp {
            stream_id: "s",
            sequence: 1,
            previous: None,
            value: &value,
            algorithm: Algorithm::Sha256,
            key_epoch: None,
            end: false,
        };
        genesis.write(StampForm::Full, |k, _| keys.push(k));
        assert!(!keys.contains(&StampKey::PreviousHash) && !keys.contains(&StampKey::KeyEpoch));
        assert!(!keys.contains(&StampKey::SequenceEnd));
        keys.clear();
        let last =
            Stamp { previous: Some(&prev), key_epoch: Some(3), end: true, algorithm: Algorithm::HmacSha256, ..genesis };
        last.write(StampForm::Full, |k, _| keys.push(k));
        assert_eq!(keys.len(), StampKey::ALL.len() - 1, "every full attribute once: {keys:?}");
        keys.clear();
        last.write(StampForm::Compact, |k, _| keys.push(k));
        assert_eq!(keys, [StampKey::Compact]);
    }

    #[test]
    fn a_compact_stamp_reads_back_what_was_written() {
        let value = [0xab; 32];
        for (epoch, end) in [(None, false), (Some(0), false), (Some(12), true), (None, true)] {
            let stamp = Stamp {
                stream_id: "host-1-20261122T041100Z-7f3a",
                sequence: 42,
                previous: Some(&[1; 32]),
                value: &value,
                algorithm: if epoch.is_some() { Algorithm::HmacSha256 } else { Algorithm::Sha256 },
                key_epoch: epoch,
                end,
            };
            let mut text = Vec::new();
            stamp.write_compact(&mut text);
            let text = String::from_utf8(text).unwrap();
            let c = Compact::parse(&text).unwrap();
            assert_eq!(
                (c.stream_id, c.sequence, c.value, c.algorithm, c.key_epoch, c.end),
                (stamp.stream_id, 42, value, stamp.algorithm, epoch, end),
                "{text}"
            );
        }
    }

    #[test]
    fn a_compact_stamp_has_one_spelling() {
        let link = "ab".repeat(32);
        assert!(Compact::parse(&format!("c1 s 1 - {link}")).is_ok());
        for bad in [
            String::new(),
            format!("c2 s 1 - {link}"),
            format!("c1 s 01 - {link}"),
            format!("c1 s +1 - {link}"),
            format!("c1 s 1 -1 {link}"),
            format!("c1 s 1 - {link} "),
            format!(" c1 s 1 - {link}"),
            format!("c1  s 1 - {link}"),
            format!("c1 s 1 - {}", link.to_uppercase()),
            format!("c1 s 1 - {}", &link[..62]),
            format!("c1 s 1 - {link} END"),
            format!("c1 s 1 - {link} end end"),
            format!("c1 s 18446744073709551616 - {link}"),
            format!("c1  1 - {link}"),
        ] {
            assert!(Compact::parse(&bad).is_err(), "{bad:?} must be refused");
        }
    }
}
