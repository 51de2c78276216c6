//! `auditchain pkcs11-pubkey`: the public key of a token's signing key, for
//! the verifier. The PKCS#11 code is the engine's (src/engine/hsm.rs), the
//! one that signs.

use super::exit::Exit;
use super::{Error, Pkcs11PubkeyArgs};
use auditchain::engine::hsm;
use std::io::Write;

pub fn run(args: Pkcs11PubkeyArgs) -> Result<Exit, Error> {
    let v = hsm::export_public_key(&args.module, &args.token_label, &args.key_label, args.pin_file.as_deref())?;
    writeln!(std::io::stdout().lock(), "{}", v.public_key_string())?;
    Ok(Exit::Ok)
}
