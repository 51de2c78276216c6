//! A format version 2 stream's leaf hashes (SPEC §5.5), one per present
//! number in number order: in memory up to a bound (the records'
//! `--spill-after`), then in an anonymous temporary file, so that a log of
//! ten million leaves costs the verifier a file, not 320 MB. The log rules
//! (`rules::logs`) read them back in leaf order, a block at a time.

use crate::core::chain::Hash;
use crate::core::ranges::SeqRange;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

#[derive(Debug)]
enum Data {
    Memory(Vec<Hash>),
    Disk(Arc<File>),
}

/// One stream's leaves.
#[derive(Debug)]
pub struct StreamLeaves {
    /// The present numbers as ranges, each with the position of its first
    /// leaf among all.
    runs: Vec<(SeqRange, u64)>,
    data: Data,
}

/// Writes a stream's leaves as the pass over its records finds them.
pub struct Writer {
    spill_after: Option<usize>,
    runs: Vec<(SeqRange, u64)>,
    count: u64,
    memory: Vec<Hash>,
    disk: Option<(Arc<File>, std::io::BufWriter<File>)>,
}

impl Writer {
    pub fn new(spill_after: Option<usize>) -> Writer {
        Writer { spill_after, runs: Vec::new(), count: 0, memory: Vec::new(), disk: None }
    }

    /// The leaf of number `seq` (numbers ascending).
    pub fn push(&mut self, seq: u64, leaf: Hash) -> Result<(), String> {
        match self.runs.last_mut() {
            Some((r, _)) if r[1] + 1 == seq => r[1] = seq,
            _ => self.runs.push(([seq, seq], self.count)),
        }
        self.count += 1;
        let err = |e: std::io::Error| format!("writing leaf hashes to a temporary file: {e}");
        if let Some((_, w)) = &mut self.disk {
            return w.write_all(&leaf).map_err(err);
        }
        self.memory.push(leaf);
        if self.spill_after.is_some_and(|n| self.memory.len() > n) {
            let file = super::spill::temporary("leaf hashes")?;
            let mut w = std::io::BufWriter::new(file.try_clone().map_err(err)?);
            for h in self.memory.drain(..) {
                w.write_all(&h).map_err(err)?;
            }
            self.memory = Vec::new();
            self.disk = Some((file, w));
        }
        Ok(())
    }

    pub fn finish(self) -> Result<StreamLeaves, String> {
        let data = match self.disk {
            Some((file, mut w)) => {
                w.flush().map_err(|e| format!("writing leaf hashes to a temporary file: {e}"))?;
                Data::Disk(file)
            }
            None => Data::Memory(self.memory),
        };
        Ok(StreamLeaves { runs: self.runs, data })
    }
}

impl StreamLeaves {
    pub fn none() -> StreamLeaves {
        StreamLeaves { runs: Vec::new(), data: Data::Memory(Vec::new()) }
    }

    /// The present numbers, ascending.
    pub fn runs(&self) -> impl Iterator<Item = SeqRange> + '_ {
        self.runs.iter().map(|(r, _)| *r)
    }

    pub fn len(&self) -> u64 {
        self.runs.last().map_or(0, |([a, b], at)| at + b - a + 1)
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Where number `seq`'s leaf is among all, and how many present
    /// numbers follow it without a gap (itself included).
    fn position(&self, seq: u64) -> Option<(u64, u64)> {
        let i = self.runs.partition_point(|(r, _)| r[1] < seq);
        let ([a, b], at) = *self.runs.get(i)?;
        (a <= seq).then(|| (at + seq - a, b - seq + 1))
    }

    /// Up to `n` leaves from number `seq` on, without a gap; empty when
    /// `seq` is not present.
    pub fn read(&self, seq: u64, n: usize) -> Result<Vec<Hash>, String> {
        let Some((pos, run)) = self.position(seq) else { return Ok(Vec::new()) };
        let n = n.min(usize::try_from(run).unwrap_or(usize::MAX));
        match &self.data {
            Data::Memory(v) => Ok(v[pos as usize..pos as usize + n].to_vec()),
            Data::Disk(f) => {
                let mut bytes = vec![0u8; n * 32];
                f.read_exact_at(&mut bytes, pos * 32).map_err(|e| format!("reading leaf hashes back: {e}"))?;
                Ok(bytes.chunks_exact(32).map(|c| c.try_into().expect("32 bytes")).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(n: u64) -> Hash {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&n.to_le_bytes());
        h
    }

    #[test]
    fn leaves_read_back_by_number_from_memory_and_from_disk() {
        let numbers: Vec<u64> = (1..=5000).filter(|n| n % 97 != 0 && !(1200..1300).contains(n)).collect();
        for spill_after in [None, Some(10), Some(4999)] {
            let mut w = Writer::new(spill_after);
            for &n in &numbers {
                w.push(n, leaf(n)).unwrap();
            }
            let s = w.finish().unwrap();
            assert_eq!(s.len(), numbers.len() as u64);
            for n in 0..=5001 {
                let one = s.read(n, 1).unwrap();
                assert_eq!(one.first().copied(), numbers.contains(&n).then(|| leaf(n)), "{n} ({spill_after:?})");
            }
            // A read stops at the next gap.
            let run: Vec<Hash> = (1165..1200).map(leaf).collect();
            assert_eq!(s.read(1165, 500).unwrap(), run);
            assert_eq!(s.runs().next(), Some([1, 96]));
        }
    }
}
