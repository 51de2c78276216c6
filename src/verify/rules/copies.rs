//! Rule 2, copies (docs/SPEC.md §8.2): identical copies of a record are
//! benign duplicates and counted; a copy whose link does not verify is a
//! `content_mismatch`; two different copies that both verify are a `fork`.
//! What remains is one representative record per sequence number.

use super::finding;
use crate::verify::records::{Collected, Entry};
use crate::verify::report::{Finding, Kind, Severity};

/// One number's copies, judged.
pub struct Grouped {
    /// The index in `copies` of the representative: its first valid (or
    /// unverifiable) copy, or its first copy when none is valid.
    pub representative: usize,
    /// Identical copies beyond the first.
    pub duplicates: u64,
}

/// Judges the copies of one number (`copies`, in reading order, at least
/// one).
pub fn group(c: &Collected, copies: &[Entry], findings: &mut Vec<Finding>) -> Grouped {
    {
        let seq = copies[0].sequence;
        let mut variants: Vec<Vec<&Entry>> = Vec::new();
        for e in copies {
            match variants.iter_mut().find(|v| v[0].same_record(e)) {
                Some(v) => v.push(e),
                None => variants.push(vec![e]),
            }
        }
        let duplicates = variants.iter().map(|v| v.len() as u64 - 1).sum::<u64>();
        // When a copy verifies, a different one that cannot be checked (its
        // epoch or algorithm altered) is no rival: it is reported, and only
        // verified copies can fork.
        let any_verified = variants.iter().any(|v| v[0].link_ok == Some(true));
        let valid: Vec<&Vec<&Entry>> = variants
            .iter()
            .filter(|v| if any_verified { v[0].link_ok == Some(true) } else { v[0].link_ok.is_none() })
            .collect();
        for v in variants
            .iter()
            .filter(|v| any_verified && v[0].link_ok.is_none() && v[0].algorithm == valid[0][0].algorithm)
        {
            let mut f = finding(
                Severity::Error,
                Kind::ContentMismatch,
                format!("record {seq}: another copy verifies; this different one cannot be checked (its key epoch was altered)"),
            )
            .at(seq);
            for e in v {
                f = f.located(c.location(e.loc));
            }
            findings.push(f);
        }
        for v in variants.iter().filter(|v| v[0].link_ok == Some(false)) {
            let mut f = finding(
                Severity::Error,
                Kind::ContentMismatch,
                format!("record {seq}: its content or position no longer matches its audit.integrity.value (edited after stamping)"),
            )
            .at(seq);
            for e in v {
                f = f.located(c.location(e.loc));
            }
            findings.push(f);
        }
        if valid.len() > 1 {
            let mut f = finding(
                Severity::Error,
                Kind::Fork,
                format!("record {seq}: {} different records carry this sequence number and each matches its own hash; the stream was forked", valid.len()),
            )
            .at(seq);
            for v in &valid {
                f = f.located(c.location(v[0].loc));
            }
            findings.push(f);
        }
        let representative = valid.first().map_or(variants[0][0], |v| v[0]);
        let representative = copies.iter().position(|e| std::ptr::eq(e, representative)).unwrap_or(0);
        Grouped { representative, duplicates }
    }
}
