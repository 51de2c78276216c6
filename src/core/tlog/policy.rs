//! C2SP tlog-policy: which logs a checkpoint may be signed by, which
//! witnesses may cosign it, and the quorum of cosignatures that makes it
//! valid.
//!
//! ```text
//! log <vkey> [<url>]
//! witness <name> <vkey> [<url>]
//! group <name> all|any|<k> <member>...
//! quorum <name>|none
//! ```
//!
//! Items are separated by spaces and tabs; blank lines and `#` comments
//! are ignored; a group or the quorum names only witnesses and groups of
//! earlier lines (so there are no cycles, and groups evaluate in order).

use super::checkpoint::{Checkpoint, SignedCheckpoint};
use super::cosignature::CosignatureVerifier;
use super::error::{CheckpointError, CosignatureError, PolicyError, PolicyErrorKind as K, VkeyError};
use super::vkey::{TYPE_COSIGNATURE_V1, TYPE_ED25519, VerifierKey};
use crate::core::note::{NoteVerifier, parse_note};
use std::collections::HashMap;

/// A parsed policy.
#[derive(Clone, Debug)]
pub struct Policy {
    pub logs: Vec<PolicyLog>,
    pub witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    quorum: Option<Member>,
}

#[derive(Clone, Debug)]
pub struct PolicyLog {
    pub key: NoteVerifier,
    pub url: Option<String>,
}

#[derive(Clone, Debug)]
pub struct PolicyWitness {
    pub name: String,
    pub key: CosignatureVerifier,
    pub url: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Member {
    Witness(usize),
    Group(usize),
}

#[derive(Clone, Debug)]
struct Group {
    threshold: usize,
    members: Vec<Member>,
}

/// What a policy makes of one signed checkpoint.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub checkpoint: SignedCheckpoint,
    /// Witnesses (by policy name) with a valid cosignature, and its time.
    pub cosigned: Vec<(String, u64)>,
    /// Lines of policy witnesses' keys that do not verify.
    pub bad: Vec<(String, CosignatureError)>,
    /// Whether the valid cosignatures satisfy the quorum.
    pub quorum: bool,
}

impl Policy {
    /// A policy of these logs and no witnesses (`quorum none`).
    pub fn logs_only(logs: Vec<NoteVerifier>) -> Policy {
        Policy {
            logs: logs.into_iter().map(|key| PolicyLog { key, url: None }).collect(),
            witnesses: Vec::new(),
            groups: Vec::new(),
            quorum: None,
        }
    }

    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let mut p = Parser::default();
        for (i, line) in text.split('\n').enumerate() {
            p.line(line).map_err(|kind| PolicyError { line: i + 1, kind })?;
        }
        let lines = text.split('\n').count();
        let quorum = p.quorum.ok_or(PolicyError { line: lines, kind: K::NoQuorum })?;
        Ok(Policy { logs: p.logs, witnesses: p.witnesses, groups: p.groups, quorum })
    }

    /// Whether cosignatures by the witnesses marked `true` (indexed as
    /// `self.witnesses`) satisfy the quorum.
    pub fn quorum_met(&self, cosigned: &[bool]) -> bool {
        let witnessed = |m: Member, groups: &[bool]| match m {
            Member::Witness(w) => cosigned.get(w).copied().unwrap_or(false),
            Member::Group(g) => groups[g],
        };
        let mut groups = Vec::with_capacity(self.groups.len());
        for g in &self.groups {
            let n = g.members.iter().filter(|&&m| witnessed(m, &groups)).count();
            groups.push(n >= g.threshold);
        }
        self.quorum.is_none_or(|q| witnessed(q, &groups))
    }

    /// Opens a signed checkpoint and judges its cosignatures. The log
    /// signature must be by a policy log whose key name is the checkpoint's
    /// origin (tlog-policy), or by one of `also_logs` (keys the caller
    /// trusts for this log from elsewhere, e.g. a command line).
    pub fn verify_checkpoint(&self, note: &str, also_logs: &[NoteVerifier]) -> Result<Verdict, CheckpointError> {
        let text = parse_note(note).map_err(CheckpointError::Note)?.text;
        let origin = Checkpoint::parse(&text)?.origin;
        let logs: Vec<NoteVerifier> =
            self.logs.iter().map(|l| &l.key).filter(|k| k.id.name == origin).chain(also_logs).cloned().collect();
        let checkpoint = SignedCheckpoint::open(note, &logs)?;
        let mut marks = vec![false; self.witnesses.len()];
        let (mut cosigned, mut bad) = (Vec::new(), Vec::new());
        for sig in &checkpoint.note().signatures {
            for (i, w) in self.witnesses.iter().enumerate() {
                match w.key.verify(checkpoint.body(), sig) {
                    Ok(t) => {
                        marks[i] = true;
                        cosigned.push((w.name.clone(), t));
                    }
                    Err(CosignatureError::OtherKey) => {}
                    Err(e) => bad.push((w.name.clone(), e)),
                }
            }
        }
        let quorum = self.quorum_met(&marks);
        Ok(Verdict { checkpoint, cosigned, bad, quorum })
    }
}

#[derive(Default)]
struct Parser {
    logs: Vec<PolicyLog>,
    /// The logs' public keys, for duplicates under other names.
    log_keys: Vec<Vec<u8>>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    names: HashMap<String, Member>,
    /// `Some(None)` is `quorum none`.
    quorum: Option<Option<Member>>,
}

impl Parser {
    fn line(&mut self, line: &str) -> Result<(), K> {
        if let Some(b) = line.bytes().find(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(K::BadCharacter(b));
        }
        let items: Vec<&str> = line.split([' ', '\t']).filter(|s| !s.is_empty()).collect();
        match items.as_slice() {
            [] => Ok(()),
            [first, ..] if first.starts_with('#') => Ok(()),
            ["log", vkey] => self.log(vkey, None),
            ["log", vkey, url] => self.log(vkey, Some(url)),
            ["witness", name, vkey] => self.witness(name, vkey, None),
            ["witness", name, vkey, url] => self.witness(name, vkey, Some(url)),
            ["group", name, threshold, members @ ..] if !members.is_empty() => self.group(name, threshold, members),
            ["quorum", name] => self.quorum(name),
            ["log" | "witness" | "group" | "quorum", ..] => Err(K::Arity),
            [other, ..] => Err(K::UnknownKeyword(other.to_string())),
        }
    }

    fn log(&mut self, vkey: &str, url: Option<&str>) -> Result<(), K> {
        let v = VerifierKey::parse(vkey).map_err(K::Vkey)?;
        if v.key_type != TYPE_ED25519 {
            return Err(K::UnsupportedKeyType(v.key_type));
        }
        let key = NoteVerifier::parse(vkey).map_err(|_| K::Vkey(VkeyError::BadKey))?;
        if self.log_keys.contains(&v.public) {
            return Err(K::DuplicateKey);
        }
        self.log_keys.push(v.public);
        self.logs.push(PolicyLog { key, url: url.map(String::from) });
        Ok(())
    }

    fn witness(&mut self, name: &str, vkey: &str, url: Option<&str>) -> Result<(), K> {
        self.fresh(name)?;
        let v = VerifierKey::parse(vkey).map_err(K::Vkey)?;
        if v.key_type != TYPE_COSIGNATURE_V1 {
            return Err(K::UnsupportedKeyType(v.key_type));
        }
        let key = CosignatureVerifier::from_vkey(&v).map_err(K::Vkey)?;
        if self.witnesses.iter().any(|w| w.key.public() == key.public()) {
            return Err(K::DuplicateKey);
        }
        self.names.insert(name.into(), Member::Witness(self.witnesses.len()));
        self.witnesses.push(PolicyWitness { name: name.into(), key, url: url.map(String::from) });
        Ok(())
    }

    fn group(&mut self, name: &str, threshold: &str, members: &[&str]) -> Result<(), K> {
        self.fresh(name)?;
        let mut list = Vec::with_capacity(members.len());
        for m in members {
            if *m == "none" {
                return Err(K::BadMember(m.to_string()));
            }
            let member = self.lookup(m).ok_or_else(|| K::UnknownName(m.to_string()))?;
            if list.contains(&member) {
                return Err(K::BadMember(m.to_string()));
            }
            list.push(member);
        }
        let threshold = match threshold {
            "all" => list.len(),
            "any" => 1,
            k => super::checkpoint::parse_decimal(k)
                .and_then(|k| usize::try_from(k).ok())
                .filter(|k| (1..=list.len()).contains(k))
                .ok_or_else(|| K::BadThreshold(k.to_string()))?,
        };
        self.names.insert(name.into(), Member::Group(self.groups.len()));
        self.groups.push(Group { threshold, members: list });
        Ok(())
    }

    fn quorum(&mut self, name: &str) -> Result<(), K> {
        if self.quorum.is_some() {
            return Err(K::SecondQuorum);
        }
        let q = if name == "none" { None } else { Some(self.lookup(name).ok_or_else(|| K::UnknownName(name.into()))?) };
        self.quorum = Some(q);
        Ok(())
    }

    fn fresh(&self, name: &str) -> Result<(), K> {
        if name == "none" || self.names.contains_key(name) {
            return Err(K::DuplicateName(name.into()));
        }
        Ok(())
    }

    fn lookup(&self, name: &str) -> Option<Member> {
        self.names.get(name).copied()
    }
}
