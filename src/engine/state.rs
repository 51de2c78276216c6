//! The stream state: a stream's identity, the head of its chain, its key,
//! and the delivery and checkpoint bookkeeping. Everything here is what
//! must survive a restart (docs/SPEC.md §6); `store` writes it to disk.

use super::stamps::Issued;
use super::tlog::LogState;
use crate::core::chain::{self, Algorithm, Hash, Link};
use crate::core::keys::ChainKey;
use crate::core::ranges::SeqRange;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

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
    /// The keyed chain's state; `None` for a plain SHA-256 chain.
    pub key: Option<KeyState>,
    /// When the last checkpoint was made and how many records followed it.
    pub last_checkpoint_unix_nano: u64,
    pub records_since_checkpoint: u64,
    /// Checkpoint lines not yet appended to `checkpoint.file`: kept here so
    /// that neither a full disk nor a crash loses them.
    #[serde(default)]
    pub checkpoint_backlog: Vec<String>,
    /// This stream's ranges that may be missing (in flight at a crash,
    /// refused downstream, not saved) and that no delivered record has
    /// announced yet. Every start, resume and gap record announces all of
    /// them, until one of those records is confirmed delivered.
    #[serde(default)]
    pub unannounced: Vec<SeqRange>,
    /// The same for the predecessor stream (its last records after a clean
    /// end that was not confirmed delivered).
    #[serde(default)]
    pub predecessor_unannounced: Vec<SeqRange>,
    /// When the records of `unannounced` were issued (earliest, latest
    /// wall time), as far as this run knows: the outage a `gap` record
    /// announces (SPEC §5, `audit.stream.outage.*`). Cleared with
    /// `unannounced`.
    #[serde(default)]
    pub outage: Option<[u64; 2]>,
    /// The stream this one succeeds (after a clean end), so that a start
    /// can tell the predecessor's checkpoints from a newer stream's
    /// (rollback detection, SPEC §6.2).
    #[serde(default)]
    pub predecessor_id: Option<String>,
    /// The transparency log this stream's records join (format version 2,
    /// SPEC §5.5); `None` for a version 1 stream. Carried to the successor.
    #[serde(default)]
    pub log: Option<LogState>,
}

/// The highest sequence number (and key epoch) a stream may reach: they
/// are written as int64 attributes.
pub const MAX_SEQUENCE: u64 = i64::MAX as u64;

/// The evolving key of a keyed stream. Only the current epoch's key is
/// ever held; evolving overwrites it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct KeyState {
    /// Id of the chain key at the root of the lineage.
    pub chain_key_id: String,
    /// How this stream's epoch 0 key derives from the chain key: the root
    /// stream id, then `<epoch>:<stream id>` for each successor.
    pub lineage: Vec<String>,
    pub epoch: u64,
    #[serde(with = "hex_key")]
    pub key: Hash,
    pub epoch_started_unix_nano: u64,
    pub epoch_records: u64,
}

/// When the epoch key evolves: after `records` records or `interval_ns`,
/// whichever comes first (and only once the epoch has been used).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochPolicy {
    pub records: u64,
    pub interval_ns: u64,
}

impl KeyState {
    fn evolve(&mut self, now_unix_nano: u64) {
        self.epoch += 1;
        self.key = chain::evolve_key(&self.key, self.epoch);
        self.epoch_started_unix_nano = now_unix_nano;
        self.epoch_records = 0;
    }

    /// Evolves the key when the current epoch is used up or expired.
    pub fn maybe_evolve(&mut self, now_unix_nano: u64, policy: EpochPolicy) -> bool {
        let due = self.epoch_records > 0
            && (self.epoch_records >= policy.records
                || now_unix_nano.saturating_sub(self.epoch_started_unix_nano) >= policy.interval_ns);
        if due {
            self.evolve(now_unix_nano);
        }
        due
    }
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
                crate::core::time::compact(now_unix_nano),
                rnd[0],
                rnd[1]
            ),
            algorithm,
            canonicalization: crate::core::canonical::CANONICALIZATION.to_string(),
            created_unix_nano: now_unix_nano,
            next_sequence: 1,
            head: None,
            in_flight: Vec::new(),
            ended: false,
            key: None,
            last_checkpoint_unix_nano: now_unix_nano,
            records_since_checkpoint: 0,
            checkpoint_backlog: Vec::new(),
            unannounced: Vec::new(),
            predecessor_unannounced: Vec::new(),
            outage: None,
            predecessor_id: None,
            log: None,
        }
    }

    /// Checks that the numbers of a loaded state are possible: a state
    /// edited (its checksum is only a checksum) to numbers near the end of
    /// the range would overflow, and one whose counters contradict each
    /// other was not written by an engine.
    pub fn check_numbers(&self) -> Result<(), String> {
        let next = self.next_sequence;
        if next == 0 || next > MAX_SEQUENCE {
            return Err(format!("next_sequence {next} is outside 1..={MAX_SEQUENCE}"));
        }
        if self.head.is_none() != (next == 1) {
            return Err(format!("next_sequence {next} does not agree with the chain head"));
        }
        if self.records_since_checkpoint >= next {
            return Err(format!(
                "records_since_checkpoint {} exceeds the records issued",
                self.records_since_checkpoint
            ));
        }
        if let Some(k) = &self.key {
            // An epoch evolves only once it was used, and once more at the
            // end: never more epochs than records, plus one.
            if k.epoch > next || k.epoch_records >= next {
                return Err(format!(
                    "key epoch {} (records {}) does not fit {} records",
                    k.epoch,
                    k.epoch_records,
                    next - 1
                ));
            }
        }
        if let Some(log) = &self.log {
            log.check(next)?;
        }
        let ranges = self.in_flight.iter().chain(&self.unannounced);
        if let Some([a, b]) = ranges.copied().find(|&[a, b]| a == 0 || a > b || b >= next) {
            return Err(format!("range {a}-{b} lies outside the records issued (1-{})", next - 1));
        }
        Ok(())
    }

    /// Makes a new stream keyed, with epoch 0 derived from the chain key.
    pub fn key_from_chain_key(&mut self, chain_key: &ChainKey, now_unix_nano: u64) {
        self.set_key(
            chain_key.id(),
            vec![self.stream_id.clone()],
            chain::root_stream_key(chain_key.secret(), &self.stream_id),
            now_unix_nano,
        );
    }

    /// Makes a new stream keyed, with epoch 0 derived from its closed
    /// predecessor's next key (which the predecessor's state holds).
    pub fn key_from_predecessor(&mut self, pred: &KeyState, now_unix_nano: u64) {
        let mut lineage = pred.lineage.clone();
        lineage.push(format!("{}:{}", pred.epoch, self.stream_id));
        self.set_key(
            pred.chain_key_id.clone(),
            lineage,
            chain::successor_stream_key(&pred.key, &self.stream_id),
            now_unix_nano,
        );
    }

    fn set_key(&mut self, chain_key_id: String, lineage: Vec<String>, key: Hash, now_unix_nano: u64) {
        self.algorithm = Algorithm::HmacSha256;
        self.key = Some(KeyState {
            chain_key_id,
            lineage,
            epoch: 0,
            key,
            epoch_started_unix_nano: now_unix_nano,
            epoch_records: 0,
        });
    }

    /// Issues the next link for a record with the given content hash;
    /// `end` marks the record that ends the stream.
    pub fn issue(&mut self, record_hash: &Hash, end: bool, now_unix_nano: u64, policy: EpochPolicy) -> Issued {
        let sequence = self.next_sequence;
        if let Some(k) = &mut self.key {
            k.maybe_evolve(now_unix_nano, policy);
        }
        let key_epoch = self.key.as_ref().map(|k| k.epoch);
        let link = Link {
            stream_id: &self.stream_id,
            sequence,
            key_epoch: key_epoch.unwrap_or(0),
            end,
            previous: self.head.as_ref(),
            record_hash,
        };
        let value = match &self.key {
            Some(k) => link.hmac(&k.key),
            None => link.sha256(),
        };
        if let Some(k) = &mut self.key {
            k.epoch_records += 1;
        }
        if let Some(log) = &mut self.log {
            log.append(&self.stream_id, sequence, record_hash, &value);
        }
        let issued = Issued { sequence, previous: self.head, value, key_epoch, end };
        self.head = Some(value);
        self.next_sequence += 1;
        self.records_since_checkpoint += 1;
        issued
    }

    /// The leaf index the next record gets, for a version 2 stream.
    pub fn next_leaf(&self) -> Option<u64> {
        self.log.as_ref().map(|l| l.size())
    }

    /// After the last record: move the key one epoch on, so that the saved
    /// state no longer holds any key that signed this stream's records.
    pub fn retire_key(&mut self, now_unix_nano: u64) {
        if let Some(k) = &mut self.key {
            k.evolve(now_unix_nano);
        }
    }
}

mod hex_key {
    use crate::core::chain::Hash;
    use crate::core::hex::{from_hex, to_hex};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_hex(h))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let s = String::deserialize(d)?;
        from_hex(&s).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

mod hex_opt {
    use crate::core::chain::Hash;
    use crate::core::hex::{from_hex, to_hex};
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
    use crate::core::chain::lineage_key;

    const P: EpochPolicy = EpochPolicy { records: 2, interval_ns: 1000 };

    #[test]
    fn keyed_streams_evolve_by_count_and_time_and_derive_successors() {
        let ck = ChainKey::from_secret("k", [9; 32]).unwrap();
        let mut s = StreamState::genesis("n", Algorithm::Sha256, 0);
        s.key_from_chain_key(&ck, 0);
        let epochs: Vec<_> =
            [0, 1, 2, 3, 2000].iter().map(|&t| s.issue(&[1; 32], false, t, P).key_epoch.unwrap()).collect();
        // Two records per epoch, and a long pause ends an epoch too.
        assert_eq!(epochs, vec![0, 0, 1, 1, 2]);
        let k0 = lineage_key(ck.secret(), &s.key.as_ref().unwrap().lineage, &s.stream_id).unwrap();
        assert_eq!(k0, chain::root_stream_key(ck.secret(), &s.stream_id));
        s.retire_key(3000);
        let pred = s.key.clone().unwrap();
        assert_eq!(pred.epoch, 3);
        let mut next = StreamState::genesis("n", Algorithm::Sha256, 1);
        next.stream_id.push('x');
        next.key_from_predecessor(&pred, 1);
        let nk = next.key.as_ref().unwrap();
        assert_eq!(nk.lineage.len(), 2);
        // The verifier derives the successor's key from the chain key alone.
        assert_eq!(lineage_key(ck.secret(), &nk.lineage, &next.stream_id).unwrap(), nk.key);
        assert!(lineage_key(ck.secret(), &nk.lineage, "other").is_err());
    }

    #[test]
    fn genesis_then_links() {
        let mut s = StreamState::genesis("host-1", Algorithm::Sha256, 1_795_320_660_000_000_000);
        assert!(s.stream_id.starts_with("host-1-20261122T041100Z-"), "{}", s.stream_id);
        let a = s.issue(&[1; 32], false, 0, P);
        let b = s.issue(&[2; 32], false, 0, P);
        assert_eq!((a.sequence, a.previous), (1, None));
        assert_eq!((b.sequence, b.previous), (2, Some(a.value)));
        assert_eq!(s.head, Some(b.value));
        assert_eq!(s.next_sequence, 3);
    }
}
