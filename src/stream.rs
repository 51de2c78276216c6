//! A stream: its identity and the head of its chain. Everything here is
//! what must survive a restart (docs/SPEC.md §6).

use crate::chain::{Algorithm, Hash, Link};
use crate::stamps::Issued;
use serde::{Deserialize, Serialize};

/// A closed range of sequence numbers, `[first, last]`.
pub type SeqRange = [u64; 2];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamState {
    pub stream_name: String,
    pub stream_id: String,
    pub algorithm: Algorithm,
    pub canonicalization: String,
    pub created_unix_nano: u64,
    /// The number the next record gets (1 on a new stream).
    pub next_sequence: u64,
    /// `audit.integrity.value` of the last issued record.
    #[serde(with = "hex_opt")]
    pub head: Option<Hash>,
    /// Ranges issued but not yet known to be accepted downstream. After a
    /// crash they are announced as possibly missing.
    pub in_flight: Vec<SeqRange>,
    /// Set once the final record (with `audit.sequence.end`) was issued.
    pub ended: bool,
}

impl StreamState {
    /// A new stream: `<name>-<UTC start time>-<4 random hex digits>`, so that
    /// a stream id is never reused even if the state is lost.
    pub fn genesis(stream_name: &str, algorithm: Algorithm, now_unix_nano: u64) -> StreamState {
        let mut rnd = [0u8; 2];
        // The suffix only separates streams started in the same second; if
        // the OS has no randomness the time alone still names the stream.
        let _ = getrandom::fill(&mut rnd);
        StreamState {
            stream_name: stream_name.to_string(),
            stream_id: format!(
                "{stream_name}-{}-{:02x}{:02x}",
                crate::timefmt::compact(now_unix_nano),
                rnd[0],
                rnd[1]
            ),
            algorithm,
            canonicalization: crate::canonical::CANONICALIZATION.to_string(),
            created_unix_nano: now_unix_nano,
            next_sequence: 1,
            head: None,
            in_flight: Vec::new(),
            ended: false,
        }
    }

    /// Issues the next link for a record with the given content hash;
    /// `end` marks the record that ends the stream.
    pub fn issue(&mut self, record_hash: &Hash, end: bool) -> Issued {
        let sequence = self.next_sequence;
        let link = Link {
            stream_id: &self.stream_id,
            sequence,
            key_epoch: 0,
            end,
            previous: self.head.as_ref(),
            record_hash,
        };
        let value = match self.algorithm {
            Algorithm::Sha256 => link.sha256(),
            Algorithm::HmacSha256 => unreachable!("keyed chains are issued by the keyed stream"),
        };
        let issued = Issued { sequence, previous: self.head, value };
        self.head = Some(value);
        self.next_sequence += 1;
        issued
    }
}

/// Adds `[first, last]` to a list of ranges.
pub fn add_range(ranges: &mut Vec<SeqRange>, r: SeqRange) {
    ranges.push(r);
    ranges.sort_unstable();
}

/// Removes exactly `[first, last]` from a list of ranges.
pub fn remove_range(ranges: &mut Vec<SeqRange>, r: SeqRange) {
    if let Some(i) = ranges.iter().position(|x| *x == r) {
        ranges.remove(i);
    }
}

/// Formats ranges as `"3-7"` / `"9"` strings for control records.
pub fn range_strings(ranges: &[SeqRange]) -> Vec<String> {
    ranges
        .iter()
        .map(|[a, b]| if a == b { a.to_string() } else { format!("{a}-{b}") })
        .collect()
}

/// Parses what [`range_strings`] wrote.
pub fn parse_range(s: &str) -> Option<SeqRange> {
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let a = s.parse().ok()?;
            (a, a)
        }
    };
    (a >= 1 && a <= b).then_some([a, b])
}

mod hex_opt {
    use crate::chain::{from_hex, to_hex, Hash};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(h: &Option<Hash>, s: S) -> Result<S::Ok, S::Error> {
        match h {
            Some(h) => s.serialize_str(&to_hex(h)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Hash>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => from_hex(&s).map(Some).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_then_links() {
        let mut s = StreamState::genesis("host-1", Algorithm::Sha256, 1_795_320_660_000_000_000);
        assert!(s.stream_id.starts_with("host-1-20261122T041100Z-"), "{}", s.stream_id);
        let a = s.issue(&[1; 32], false);
        let b = s.issue(&[2; 32], false);
        assert_eq!((a.sequence, a.previous), (1, None));
        assert_eq!((b.sequence, b.previous), (2, Some(a.value)));
        assert_eq!(s.head, Some(b.value));
        assert_eq!(s.next_sequence, 3);
    }

    #[test]
    fn ranges() {
        assert_eq!(range_strings(&[[3, 7], [9, 9]]), vec!["3-7", "9"]);
        assert_eq!(parse_range("3-7"), Some([3, 7]));
        assert_eq!(parse_range("9"), Some([9, 9]));
        assert_eq!(parse_range("7-3"), None);
        assert_eq!(parse_range("0"), None);
        assert_eq!(parse_range("x"), None);
    }
}
