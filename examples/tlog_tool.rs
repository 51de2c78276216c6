//! A test tool over src/core/merkle and src/core/tlog, for the tests that
//! feed real witnesses (tests/witness/test_tlog_core.py): it is not a user
//! command. It keeps no state: the log is synthetic, leaf i being the
//! SPEC §5.5 leaf of record i+1 of stream `tlog-tool` with record hash
//! SHA-256("record <i>") and link SHA-256("link <i>"), so every call
//! rebuilds the tree it needs. Output is JSON on stdout (the request body
//! and the proof raw); errors go to stderr with exit status 1.
//!
//! ```text
//! tlog_tool keygen ORIGIN
//! tlog_tool request --skey F --old M --size N [--ext LINE]... [--bad-proof]   (proof from an Extension)
//! tlog_tool answer --vkey V --log-vkey V --request F --status S --content-type T --body F
//! tlog_tool policy --policy F --note F
//! tlog_tool prove --size N --index I --note F
//! tlog_tool verify-proof --policy F --proof F --index I
//! ```

use auditchain::core::chain::Hash;
use auditchain::core::merkle::{Extension, MemoryStore, Tree};
use auditchain::core::note::{NoteSigner, NoteVerifier};
use auditchain::core::tlog::{
    AddCheckpoint, Answer, Checkpoint, CosignatureVerifier, Leaf, Policy, SignedCheckpoint, TlogProof, cosign,
    parse_answer,
};
use clap::{Parser, Subcommand};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// A log key pair named ORIGIN (the signing key from the OS random source).
    Keygen { origin: String },
    /// An add-checkpoint body: the checkpoint of SIZE leaves, proof from OLD.
    Request {
        #[arg(long)]
        skey: PathBuf,
        #[arg(long)]
        old: u64,
        #[arg(long)]
        size: u64,
        #[arg(long)]
        ext: Vec<String>,
        /// Flip one bit of the consistency proof's first hash.
        #[arg(long)]
        bad_proof: bool,
    },
    /// A witness's answer to REQUEST: classified, cosignatures verified.
    Answer {
        /// The witness's cosigning key.
        #[arg(long)]
        vkey: String,
        /// The log's public key (the request's checkpoint is opened with it).
        #[arg(long)]
        log_vkey: String,
        #[arg(long)]
        request: PathBuf,
        #[arg(long)]
        status: u16,
        #[arg(long, default_value = "")]
        content_type: String,
        #[arg(long)]
        body: PathBuf,
    },
    /// What a policy makes of a (cosigned) checkpoint note.
    Policy {
        #[arg(long)]
        policy: PathBuf,
        #[arg(long)]
        note: PathBuf,
    },
    /// A tlog-proof of leaf INDEX against the checkpoint NOTE of SIZE leaves.
    Prove {
        #[arg(long)]
        size: u64,
        #[arg(long)]
        index: u64,
        #[arg(long)]
        note: PathBuf,
    },
    /// Verifies a tlog-proof of leaf INDEX with a policy.
    VerifyProof {
        #[arg(long)]
        policy: PathBuf,
        #[arg(long)]
        proof: PathBuf,
        #[arg(long)]
        index: u64,
    },
}

fn main() {
    if let Err(e) = run(Cli::parse().cmd) {
        eprintln!("tlog_tool: {e}");
        std::process::exit(1);
    }
}

fn run(cmd: Cmd) -> Result<(), String> {
    match cmd {
        Cmd::Keygen { origin } => keygen(&origin),
        Cmd::Request { skey, old, size, ext, bad_proof } => request(&skey, old, size, ext, bad_proof),
        Cmd::Answer { vkey, log_vkey, request, status, content_type, body } => {
            answer(&vkey, &log_vkey, &request, status, &content_type, &body)
        }
        Cmd::Policy { policy, note } => policy_check(&policy, &note),
        Cmd::Prove { size, index, note } => prove(size, index, &note),
        Cmd::VerifyProof { policy, proof, index } => verify_proof(&policy, &proof, index),
    }
}

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn sha(s: &str) -> Hash {
    Sha256::digest(s.as_bytes()).into()
}

fn leaf(i: u64) -> Hash {
    let (record_hash, link) = (sha(&format!("record {i}")), sha(&format!("link {i}")));
    Leaf { stream_id: "tlog-tool", sequence: i + 1, record_hash: &record_hash, link: &link }.hash()
}

fn tree(size: u64) -> Result<Tree<MemoryStore>, String> {
    let mut t = Tree::new(MemoryStore::new()).map_err(|e| e.to_string())?;
    for i in 0..size {
        t.append(&leaf(i)).map_err(|e| e.to_string())?;
    }
    Ok(t)
}

/// The consistency proof from `old` as the engine is to make it: from an
/// [`Extension`] (two compact ranges), checked against the whole tree's.
fn extension_proof(t: &Tree<MemoryStore>, old: u64) -> Result<Vec<Hash>, String> {
    let mut e = Extension::new(t.range_at(old).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    for i in old..t.size() {
        e.append(&leaf(i)).map_err(|e| e.to_string())?;
    }
    let proof = e.consistency_proof().map_err(|e| e.to_string())?;
    if proof != t.consistency_proof(old, t.size()).map_err(|e| e.to_string())? {
        return Err(format!("extension and tree disagree on the proof from {old}"));
    }
    Ok(proof)
}

fn keygen(origin: &str) -> Result<(), String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| e.to_string())?;
    let s = NoteSigner::from_seed(origin, &seed)?;
    println!("{}", json!({"skey": s.private_key_string(), "vkey": s.verifier().public_key_string()}));
    Ok(())
}

fn request(skey: &PathBuf, old: u64, size: u64, ext: Vec<String>, bad_proof: bool) -> Result<(), String> {
    let signer = NoteSigner::parse(&read(skey)?)?;
    let t = tree(size)?;
    let cp = Checkpoint { origin: signer.id.name.clone(), size, root: t.root(), extensions: ext };
    let note = cp.sign(&signer).map_err(|e| e.to_string())?;
    let mut proof = if old == 0 || old == size { vec![] } else { extension_proof(&t, old)? };
    if bad_proof && let Some(first) = proof.first_mut() {
        first[0] ^= 1;
    }
    let r = AddCheckpoint::new(old, proof, &note).map_err(|e| e.to_string())?;
    print!("{}", r.body());
    Ok(())
}

fn answer(
    vkey: &str,
    log_vkey: &str,
    request: &PathBuf,
    status: u16,
    content_type: &str,
    body: &PathBuf,
) -> Result<(), String> {
    let witness = CosignatureVerifier::parse(vkey).map_err(|e| e.to_string())?;
    let log = NoteVerifier::parse(log_vkey)?;
    let req = AddCheckpoint::parse(&read(request)?).map_err(|e| e.to_string())?;
    let body = std::fs::read(body).map_err(|e| e.to_string())?;
    let out = match parse_answer(status, content_type, &body).map_err(|e| e.to_string())? {
        Answer::Cosigned(lines) => {
            let signed = SignedCheckpoint::open(&req.checkpoint, &[log]).map_err(|e| e.to_string())?;
            let (cosigned, t) = cosign(&signed, &lines, &witness).map_err(|e| e.to_string())?;
            json!({"answer": "cosigned", "timestamp": t, "cosigned_note": cosigned, "lines": lines.len()})
        }
        Answer::Conflict(size) => json!({"answer": "conflict", "size": size}),
        other => json!({"answer": format!("{other:?}")}),
    };
    println!("{out}");
    Ok(())
}

fn policy_check(policy: &PathBuf, note: &PathBuf) -> Result<(), String> {
    let p = Policy::parse(&read(policy)?).map_err(|e| e.to_string())?;
    let v = p.verify_checkpoint(&read(note)?, &[]).map_err(|e| e.to_string())?;
    let bad: Vec<String> = v.bad.iter().map(|(n, e)| format!("{n}: {e}")).collect();
    println!(
        "{}",
        json!({"quorum": v.quorum, "cosigned": v.cosigned, "bad": bad, "size": v.checkpoint.checkpoint().size, "log_key": v.checkpoint.log_key().to_string()})
    );
    Ok(())
}

fn prove(size: u64, index: u64, note: &PathBuf) -> Result<(), String> {
    let t = tree(size)?;
    let hashes = t.inclusion_proof(index, size).map_err(|e| e.to_string())?;
    print!("{}", TlogProof { extra: None, index, hashes, checkpoint: read(note)? }.format());
    Ok(())
}

fn verify_proof(policy: &PathBuf, proof: &PathBuf, index: u64) -> Result<(), String> {
    let p = Policy::parse(&read(policy)?).map_err(|e| e.to_string())?;
    let proof = TlogProof::parse(&read(proof)?).map_err(|e| e.to_string())?;
    let v = proof.verify(&leaf(index), &p, &[]).map_err(|e| e.to_string())?;
    println!("{}", json!({"ok": true, "size": v.checkpoint.checkpoint().size, "cosigned": v.cosigned}));
    Ok(())
}
