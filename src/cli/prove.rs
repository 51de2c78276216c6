//! `auditchain prove` and `auditchain verify-proof` (docs/SPEC.md §5.5).

use super::exit::Exit;
use super::{Error, ProveArgs, VerifyProofArgs};
use auditchain::core::keys;
use auditchain::core::note::NoteVerifier;
use auditchain::core::tlog::{ConsistencyProof, Policy, TlogProof};
use auditchain::verify::rules::logs::WitnessNote;
use auditchain::verify::{Options, prove};
use std::io::Write;
use std::path::{Path, PathBuf};

fn read(path: &Path, what: &str) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| format!("{what} {}: {e}", path.display()).into())
}

/// A C2SP tlog-policy file.
pub fn load_policy(path: &Path) -> Result<Policy, Error> {
    let text = read(path, "--witness-policy")?;
    Policy::parse(&text).map_err(|e| format!("--witness-policy {}: {e}", path.display()).into())
}

/// Witnesses' cosigned checkpoint notes.
pub fn load_witness_notes(paths: &[PathBuf]) -> Result<Vec<WitnessNote>, Error> {
    paths
        .iter()
        .map(|p| Ok(WitnessNote { file: p.display().to_string(), note: read(p, "--witness-checkpoint")? }))
        .collect()
}

fn verifiers(public_keys: &[String]) -> Result<Vec<NoteVerifier>, Error> {
    public_keys.iter().map(|k| keys::load_verifier_key(k).map_err(|e| format!("--public-key {e}").into())).collect()
}

fn write_out(out: Option<&Path>, text: &str) -> Result<(), Error> {
    match out {
        Some(p) => std::fs::write(p, text).map_err(|e| format!("--out {}: {e}", p.display()).into()),
        None => {
            let mut o = std::io::stdout().lock();
            o.write_all(text.as_bytes())?;
            o.flush()?;
            Ok(())
        }
    }
}

pub fn prove(args: ProveArgs) -> Result<Exit, Error> {
    let mut options = Options { verifiers: verifiers(&args.public_keys)?, ..Options::default() };
    for k in &args.keys {
        options.chain_keys.push(keys::load_chain_key(k, "--key")?);
    }
    options.policy = args.witness_policy.as_deref().map(load_policy).transpose()?;
    options.witness_checkpoints = load_witness_notes(&args.witness_checkpoints)?;
    if options.verifiers.is_empty() && options.policy.is_none() {
        return Err("give the log's --public-key (or a --witness-policy naming the log): checkpoints are only used once their signature verifies".into());
    }
    let fail = |e: String| {
        eprintln!("auditchain prove: {e}");
        Ok(Exit::Error)
    };
    if let Some(old) = args.consistency {
        let proof = match prove::consistency(&args.paths, &options, args.origin.as_deref(), old, args.to) {
            Ok(p) => p,
            Err(e) => return fail(e),
        };
        write_out(args.out.as_deref(), &proof.format())?;
        eprintln!("consistency proof from size {} to {} written", proof.old_size, proof.new_size);
        return Ok(Exit::Ok);
    }
    let spec = args.record.as_deref().unwrap_or_default();
    let Some((stream, seq)) = spec.rsplit_once(':').and_then(|(s, n)| Some((s, n.parse::<u64>().ok()?))) else {
        return Err(format!("--record {spec}: expected STREAM:SEQ (a stream id and a sequence number)").into());
    };
    let inclusion = match prove::inclusion(&args.paths, &options, stream, seq) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    if let Some(p) = &args.record_out {
        std::fs::write(p, format!("{}\n", inclusion.record))
            .map_err(|e| format!("--record-out {}: {e}", p.display()))?;
    }
    write_out(args.out.as_deref(), &inclusion.proof)?;
    let witnessed = match inclusion.quorum {
        Some(true) => ", which meets the witness policy",
        Some(false) => ", which does NOT meet the witness policy's quorum",
        None => "",
    };
    eprintln!(
        "record {stream}:{seq} is leaf {} of {}; proof against its checkpoint of size {}{witnessed}",
        inclusion.index, inclusion.origin, inclusion.size
    );
    Ok(Exit::Ok)
}

pub fn verify_proof(args: VerifyProofArgs) -> Result<Exit, Error> {
    let also = verifiers(&args.public_keys)?;
    let policy = match args.witness_policy.as_deref() {
        Some(p) => load_policy(p)?,
        None if also.is_empty() => {
            return Err("give the log's --public-key (or a --witness-policy naming the log)".into());
        }
        None => Policy::logs_only(Vec::new()),
    };
    let text = match std::fs::read_to_string(&args.proof) {
        Ok(t) => t,
        Err(e) => return Err(format!("{}: {e}", args.proof.display()).into()),
    };
    let mut out = std::io::stdout().lock();
    let failed = |out: &mut std::io::StdoutLock, why: String| -> Result<Exit, Error> {
        writeln!(out, "FAILED: {why}")?;
        Ok(Exit::Failed)
    };
    let cosigned = |v: &auditchain::core::tlog::Verdict| {
        if v.cosigned.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = v.cosigned.iter().map(|(n, _)| n.as_str()).collect();
            format!(", cosigned by {}", names.join(", "))
        }
    };
    if args.consistency {
        let proof = match ConsistencyProof::parse(&text) {
            Ok(p) => p,
            Err(e) => return failed(&mut out, e.to_string()),
        };
        return match proof.verify(&policy, &also) {
            Ok((_, new)) => {
                let c = new.checkpoint.checkpoint();
                writeln!(
                    out,
                    "verified: log {} at size {} extends its checkpoint of size {}{}{}",
                    c.origin,
                    proof.new_size,
                    proof.old_size,
                    cosigned(&new),
                    if proof.old_size == 0 { " (a proof from the empty tree proves nothing more)" } else { "" }
                )?;
                Ok(Exit::Ok)
            }
            Err(e) => failed(&mut out, e.to_string()),
        };
    }
    let record_path = args.record.as_deref().expect("clap requires --record");
    let record = read(record_path, "--record")?;
    let leaf = match prove::record_leaf(&record) {
        Ok(l) => l,
        Err(e) => {
            writeln!(out, "cannot read the record {}: {e}", record_path.display())?;
            return Ok(Exit::Error);
        }
    };
    let proof = match TlogProof::parse(&text) {
        Ok(p) => p,
        Err(e) => return failed(&mut out, e.to_string()),
    };
    match proof.verify(&leaf, &policy, &also) {
        Ok(v) => {
            let c = v.checkpoint.checkpoint();
            writeln!(
                out,
                "verified: the record is leaf {} of log {}, in its checkpoint of size {}{}",
                proof.index,
                c.origin,
                c.size,
                cosigned(&v)
            )?;
            Ok(Exit::Ok)
        }
        Err(e) => failed(&mut out, e.to_string()),
    }
}
