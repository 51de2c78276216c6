//! Rule 10, expectations (docs/SPEC.md §8.10): when chain keys are given,
//! an unkeyed stream fails (`unkeyed_stream`); unkeyed streams get a
//! `plain_chain` warning stating what they cannot detect. (Unstamped
//! records are judged across streams, in `verify`.)

use super::finding;
use crate::core::chain::Algorithm;
use crate::verify::Options;
use crate::verify::report::{Finding, Kind, Severity};

pub fn check(algorithm: Algorithm, has_valid_checkpoints: bool, options: &Options, findings: &mut Vec<Finding>) {
    if algorithm != Algorithm::Sha256 {
        return;
    }
    if !options.chain_keys.is_empty() {
        findings.push(finding(
            Severity::Error,
            Kind::UnkeyedStream,
            "chain keys were given, but this stream is not keyed: anyone able to rewrite the store can recompute its hashes",
        ));
    }
    findings.push(finding(
        Severity::Warning,
        Kind::PlainChain,
        if has_valid_checkpoints {
            "unkeyed SHA-256 chain: signed checkpoints protect the records they cover, but records after the newest checkpoint can be rewritten by anyone able to rewrite the store; configure key_file for that"
        } else {
            "unkeyed SHA-256 chain without checkpoints: detects edits, deletions and reordering inside the stream, but not a rewrite by someone who can rewrite the whole store nor the deletion of its newest records; configure key_file and signing_key_file for that"
        },
    ));
}
