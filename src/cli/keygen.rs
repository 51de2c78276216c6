//! `auditchain keygen`.

use super::exit::Exit;
use super::{Error, KeygenArgs};
use auditchain::core::keys::{KeySet, write_new_file};
use std::io::Write;

pub fn run(args: KeygenArgs) -> Result<Exit, Error> {
    let set = KeySet::generate(&args.name)?;
    std::fs::create_dir_all(&args.out_dir).map_err(|e| format!("cannot create {}: {e}", args.out_dir.display()))?;
    let chain = args.out_dir.join(format!("{}.chain.key", args.name));
    let sign = args.out_dir.join(format!("{}.sign.key", args.name));
    let public = args.out_dir.join(format!("{}.pub", args.name));
    for p in [&chain, &sign, &public] {
        if p.exists() {
            return Err(format!("{} already exists; keygen never overwrites keys", p.display()).into());
        }
    }
    let verifier = set.signer.verifier().public_key_string();
    write_new_file(&chain, &set.chain.to_file_string(), 0o600)?;
    write_new_file(&sign, &format!("{}\n", set.signer.private_key_string()), 0o600)?;
    write_new_file(&public, &format!("{verifier}\n"), 0o644)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "chain key:   {}  (id {})", chain.display(), set.chain.id())?;
    writeln!(out, "signing key: {}  (id {})", sign.display(), set.signer.id)?;
    writeln!(out, "public key:  {}", public.display())?;
    writeln!(out)?;
    writeln!(out, "{verifier}")?;
    Ok(Exit::Ok)
}
