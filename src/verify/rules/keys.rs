//! Epoch keys of keyed streams (docs/SPEC.md §5.2, §8.1, §8.5), derived on
//! demand for a whole run: memoised per key lineage, so that a successor
//! continues from its predecessor's keys instead of starting again at the
//! root, and bounded, so that a key epoch or a lineage step of 10^12 costs
//! nothing but a finding. The bound is [`KeyCache::budget`]: every HMAC
//! computed counts, and a derivation that would need more than what is
//! left is not started.

use crate::core::chain::{self, Hash};
use crate::core::keys::ChainKey;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// Derivations allowed beyond twice the stamped records read (SPEC §8.5).
pub const DERIVATION_SLACK: u64 = 1 << 20;

/// Names one lineage prefix under one chain key: the epoch keys of the
/// stream that prefix ends at.
pub type Lineage = [u8; 32];

/// Why a key could not be derived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Underivable {
    /// The lineage does not parse or does not end at the stream.
    Malformed(String),
    /// It would take `needed` more derivations than the bound leaves.
    Bound { needed: u64, bound: u64 },
}

impl std::fmt::Display for Underivable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Underivable::Malformed(why) => f.write_str(why),
            Underivable::Bound { needed, bound } => write!(
                f,
                "it would take {needed} key derivations, beyond the bound of {bound} for this run (SPEC §8.5: twice the stamped records read plus {DERIVATION_SLACK})"
            ),
        }
    }
}

pub struct KeyCache {
    /// The bound for the whole run.
    pub budget: u64,
    /// HMACs computed so far.
    pub spent: u64,
    /// A derivation was refused for want of what is left of the bound.
    pub refused: bool,
    epochs: HashMap<Lineage, BTreeMap<u64, Hash>>,
    /// The key looked up last: records come in number order, mostly under
    /// one epoch's key at a time, and two map lookups per record were 1%
    /// of a one-thread run.
    last: std::cell::Cell<Option<(Lineage, u64, Hash)>>,
}

impl KeyCache {
    /// A cache for a run that read `records` stamped records.
    pub fn new(records: u64, slack: u64) -> KeyCache {
        KeyCache::with_budget(records.saturating_mul(2).saturating_add(slack))
    }

    /// A cache bounded by `budget` derivations.
    pub fn with_budget(budget: u64) -> KeyCache {
        KeyCache { budget, spent: 0, refused: false, epochs: HashMap::new(), last: std::cell::Cell::new(None) }
    }

    fn charge(&mut self, needed: u64) -> Result<(), Underivable> {
        if needed > self.budget - self.spent {
            self.refused = true;
            return Err(Underivable::Bound { needed, bound: self.budget });
        }
        self.spent += needed;
        Ok(())
    }

    /// The epoch 0 key of the stream a lineage ends at (SPEC §5.2): the
    /// root stream's key from the chain key, then for each `"<e>:<id>"` the
    /// previous stream's key evolved to epoch `e` and the successor key.
    pub fn stream(
        &mut self,
        chain_key: &ChainKey,
        lineage: &[String],
        stream_id: &str,
    ) -> Result<Lineage, Underivable> {
        let (root, hops) = lineage.split_first().ok_or(Underivable::Malformed("the key lineage is empty".into()))?;
        let mut name = Sha256::new();
        name.update(chain_key.id().as_bytes());
        name.update([0]);
        name.update(root.as_bytes());
        let mut at: Lineage = name.clone().finalize().into();
        if !self.epochs.contains_key(&at) {
            self.charge(1)?;
            self.epochs.insert(at, BTreeMap::from([(0, chain::root_stream_key(chain_key.secret(), root))]));
        }
        let mut last = root.as_str();
        for hop in hops {
            let malformed = || Underivable::Malformed(format!("malformed key lineage step {hop:?}"));
            let (epoch, id) = hop.split_once(':').ok_or_else(malformed)?;
            let epoch: u64 = epoch.parse().map_err(|_| malformed())?;
            name.update([0]);
            name.update(hop.as_bytes());
            let next: Lineage = name.clone().finalize().into();
            if !self.epochs.contains_key(&next) {
                let k = self.key(&at, epoch)?;
                self.charge(1)?;
                self.epochs.insert(next, BTreeMap::from([(0, chain::successor_stream_key(&k, id))]));
            }
            at = next;
            last = id;
        }
        if last != stream_id {
            return Err(Underivable::Malformed(format!("the key lineage ends at {last:?}, not at this stream")));
        }
        Ok(at)
    }

    /// The key of `epoch` of a lineage's stream when it is derived already
    /// (nothing derived, nothing charged).
    pub fn derived(&self, lineage: &Lineage, epoch: u64) -> Option<Hash> {
        if let Some(key) = self.last_for(lineage, epoch) {
            return Some(key);
        }
        let key = self.epochs.get(lineage)?.get(&epoch).copied()?;
        self.last.set(Some((*lineage, epoch, key)));
        Some(key)
    }

    fn last_for(&self, lineage: &Lineage, epoch: u64) -> Option<Hash> {
        self.last.get().filter(|(l, e, _)| l == lineage && *e == epoch).map(|(_, _, key)| key)
    }

    /// The key of `epoch` of a lineage's stream, evolved from the nearest
    /// earlier epoch derived so far.
    pub fn key(&mut self, lineage: &Lineage, epoch: u64) -> Result<Hash, Underivable> {
        if let Some(key) = self.last_for(lineage, epoch) {
            return Ok(key);
        }
        let keys = self.epochs.get(lineage).expect("a lineage from KeyCache::stream");
        let (&from, &key) = keys.range(..=epoch).next_back().expect("epoch 0 is always present");
        if from == epoch {
            self.last.set(Some((*lineage, epoch, key)));
            return Ok(key);
        }
        self.charge(epoch - from)?;
        let mut k = key;
        for e in from + 1..=epoch {
            k = chain::evolve_key(&k, e);
        }
        self.epochs.get_mut(lineage).expect("present").insert(epoch, k);
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lineages_match_the_core_derivation_and_share_work() {
        let ck = ChainKey::from_secret("k", [9; 32]).unwrap();
        let lineage = vec!["a".to_string(), "3:b".to_string(), "2:c".to_string()];
        let mut cache = KeyCache::new(0, 1000);
        let c = cache.stream(&ck, &lineage, "c").unwrap();
        let want = chain::lineage_key(ck.secret(), &lineage, "c").unwrap();
        assert_eq!(cache.key(&c, 0).unwrap(), want);
        // root, 3 evolutions, successor, 2 evolutions, successor.
        assert_eq!(cache.spent, 8);
        // b's epoch 2 is known now: its epoch 4 costs two more.
        let b = cache.stream(&ck, &lineage[..2], "b").unwrap();
        assert_eq!(cache.spent, 8);
        cache.key(&b, 4).unwrap();
        assert_eq!(cache.spent, 10);
    }

    #[test]
    fn a_derivation_beyond_the_bound_is_refused_without_work() {
        let ck = ChainKey::from_secret("k", [9; 32]).unwrap();
        let mut cache = KeyCache::new(10, 100);
        let lineage = vec!["a".to_string(), "1000000000000:b".to_string()];
        let e = cache.stream(&ck, &lineage, "b").unwrap_err();
        assert!(matches!(e, Underivable::Bound { needed: 1_000_000_000_000, bound: 120 }), "{e:?}");
        let a = cache.stream(&ck, &lineage[..1], "a").unwrap();
        assert!(cache.key(&a, 1_000_000_000_000).is_err());
        assert_eq!(cache.spent, 1, "only the root key");
    }
}
