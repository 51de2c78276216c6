//! The chain link (docs/SPEC.md §3): each record's `audit.integrity.value`
//! binds the stream, its position, the previous link and its own content.

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// Domain separation for link messages; no other hash input of auditchain
/// starts with these bytes.
const LINK_DOMAIN: &[u8] = b"auditchain.link.v1\0";

/// How `audit.integrity.value` is computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Algorithm {
    /// SHA-256 over the link message: detects edits by anyone who cannot
    /// rewrite the whole stream.
    #[default]
    #[serde(rename = "sha256-chain-v1")]
    Sha256,
    /// HMAC-SHA256 over the link message under the stream's epoch key.
    #[serde(rename = "hmac-sha256-chain-v1")]
    HmacSha256,
}

impl Algorithm {
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256-chain-v1",
            Algorithm::HmacSha256 => "hmac-sha256-chain-v1",
        }
    }

    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "sha256-chain-v1" => Some(Algorithm::Sha256),
            "hmac-sha256-chain-v1" => Some(Algorithm::HmacSha256),
            _ => None,
        }
    }
}

/// Everything a link commits to.
#[derive(Clone, Copy, Debug)]
pub struct Link<'a> {
    pub stream_id: &'a str,
    pub sequence: u64,
    pub key_epoch: u64,
    /// True on the record that ends the stream (`audit.sequence.end`).
    pub end: bool,
    /// The previous record's link; `None` for the first record.
    pub previous: Option<&'a Hash>,
    pub record_hash: &'a Hash,
}

impl Link<'_> {
    /// The link message: domain ‖ u32be(len(stream id)) ‖ stream id ‖
    /// u64be(sequence) ‖ u64be(key epoch) ‖ flags (1 byte: 0x01 when the
    /// record ends the stream) ‖ previous (32 zero bytes on the first
    /// record) ‖ record hash.
    pub fn message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(LINK_DOMAIN.len() + 4 + self.stream_id.len() + 17 + 64);
        self.write(|part| m.extend_from_slice(part));
        m
    }

    /// Feeds the message to `out` part by part, so that hashing a link
    /// (once per record) builds no buffer.
    fn write(&self, mut out: impl FnMut(&[u8])) {
        out(LINK_DOMAIN);
        out(&(self.stream_id.len() as u32).to_be_bytes());
        out(self.stream_id.as_bytes());
        out(&self.sequence.to_be_bytes());
        out(&self.key_epoch.to_be_bytes());
        out(&[u8::from(self.end)]);
        out(self.previous.unwrap_or(&[0; 32]));
        out(self.record_hash);
    }

    /// The plain link: SHA-256 of the message.
    pub fn sha256(&self) -> Hash {
        let mut h = Sha256::new();
        self.write(|part| h.update(part));
        h.finalize().into()
    }

    /// The keyed link: HMAC-SHA256 of the message under the epoch key.
    pub fn hmac(&self, epoch_key: &Hash) -> Hash {
        self.hmac_with(&EpochMac::new(epoch_key))
    }

    /// [`Link::hmac`] under an epoch key made ready once for many links.
    pub fn hmac_with(&self, key: &EpochMac) -> Hash {
        let mut mac = key.mac.clone();
        self.write(|part| mac.update(part));
        mac.finalize().into_bytes().into()
    }
}

/// HMAC-SHA256 keyed with one epoch key: the key's two padded blocks are
/// hashed once, not once per link (two of a link's six or so compressions).
#[derive(Clone)]
pub struct EpochMac {
    key: Hash,
    mac: hmac::Hmac<Sha256>,
}

impl EpochMac {
    pub fn new(key: &Hash) -> Self {
        EpochMac { key: *key, mac: new_mac(key) }
    }

    /// Whether it is keyed with `key`.
    pub fn is_for(&self, key: &Hash) -> bool {
        self.key == *key
    }
}

impl Drop for EpochMac {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key);
    }
}

fn new_mac(key: &Hash) -> hmac::Hmac<Sha256> {
    <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length")
}

/// HMAC-SHA256 of `parts` under `key`.
fn hmac(key: &Hash, parts: &[&[u8]]) -> Hash {
    let mut mac = new_mac(key);
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Epoch 0 key of a stream derived straight from the chain key (a stream
/// with no keyed predecessor): HMAC(chain key, "auditchain.stream-key.v1\0" ‖ stream id).
pub fn root_stream_key(chain_key: &Hash, stream_id: &str) -> Hash {
    hmac(chain_key, &[b"auditchain.stream-key.v1\0", stream_id.as_bytes()])
}

/// Epoch 0 key of a stream that succeeds a closed one, derived from the
/// predecessor's key for the epoch after its last:
/// HMAC(key, "auditchain.successor-key.v1\0" ‖ stream id). The collector
/// thus needs the chain key only for a stream's first start.
pub fn successor_stream_key(predecessor_next_key: &Hash, stream_id: &str) -> Hash {
    hmac(predecessor_next_key, &[b"auditchain.successor-key.v1\0", stream_id.as_bytes()])
}

/// The key of epoch `next_epoch` from the key of the epoch before it:
/// HMAC(key, "auditchain.evolve.v1\0" ‖ u64be(next epoch)). One-way, so the
/// current key reveals nothing about earlier ones.
pub fn evolve_key(key: &Hash, next_epoch: u64) -> Hash {
    hmac(key, &[b"auditchain.evolve.v1\0", &next_epoch.to_be_bytes()])
}

/// Derives a stream's epoch 0 key from the chain key and the stream's key
/// lineage (SPEC §5.2): the root stream's key, then for each later stream
/// `"<e>:<id>"` the previous key evolved to epoch `e` and the successor key
/// for `id`. The lineage must end at `stream_id`.
pub fn lineage_key(chain_key: &Hash, lineage: &[String], stream_id: &str) -> Result<Hash, String> {
    let (root, hops) = lineage.split_first().ok_or("the key lineage is empty")?;
    let mut key = root_stream_key(chain_key, root);
    let mut last = root.as_str();
    for hop in hops {
        let (epoch, id) = hop.split_once(':').ok_or_else(|| format!("malformed lineage step {hop:?}"))?;
        let epoch: u64 = epoch.parse().map_err(|_| format!("malformed lineage step {hop:?}"))?;
        for e in 1..=epoch {
            key = evolve_key(&key, e);
        }
        key = successor_stream_key(&key, id);
        last = id;
    }
    if last != stream_id {
        return Err(format!("the key lineage ends at {last:?}, not at this stream"));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_changes_the_link() {
        let rh = [7u8; 32];
        let prev = [9u8; 32];
        let base =
            Link { stream_id: "s", sequence: 2, key_epoch: 0, end: false, previous: Some(&prev), record_hash: &rh };
        let h = base.sha256();
        let other_rh = [8u8; 32];
        let variants = [
            Link { stream_id: "t", ..base },
            Link { sequence: 3, ..base },
            Link { key_epoch: 1, ..base },
            Link { end: true, ..base },
            Link { previous: None, ..base },
            Link { record_hash: &other_rh, ..base },
        ];
        for v in variants {
            assert_ne!(v.sha256(), h, "{v:?}");
        }
        assert_ne!(base.hmac(&[1; 32]), h);
        assert_ne!(base.hmac(&[1; 32]), base.hmac(&[2; 32]));
    }

    #[test]
    fn stream_id_length_prefix_prevents_shifting_bytes() {
        // "ab" + seq vs "a" + a sequence whose bytes start with 'b' must differ.
        let rh = [0u8; 32];
        let a = Link { stream_id: "ab", sequence: 1, key_epoch: 0, end: false, previous: None, record_hash: &rh };
        let b = Link { stream_id: "a", sequence: u64::from_be_bytes(*b"b\0\0\0\0\0\0\0"), ..a };
        assert_ne!(a.message(), b.message());
    }

    #[test]
    fn key_derivations_are_distinct_and_one_way_chained() {
        let k = [5u8; 32];
        let root = root_stream_key(&k, "s");
        assert_ne!(root, root_stream_key(&k, "t"));
        assert_ne!(root, successor_stream_key(&k, "s"));
        let e1 = evolve_key(&root, 1);
        assert_ne!(e1, evolve_key(&root, 2), "the epoch number is bound in");
        assert_ne!(evolve_key(&e1, 2), e1);
    }
}
