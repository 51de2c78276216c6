//! `auditchain canonical`: the canonical bytes of each record.

use super::exit::Exit;
use super::{CanonicalArgs, Error};
use auditchain::core::canonical::log_records_from_json;
use auditchain::core::hex::to_hex;
use auditchain::verify::read::{files, json};
use sha2::{Digest, Sha256};
use std::io::Write;

pub fn run(args: CanonicalArgs) -> Result<Exit, Error> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    for file in &args.files {
        let reader =
            files::open(file, files::MAX_DECOMPRESSED_BYTES).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut values = json::Values::new(reader, 1);
        while let Some((line, value)) = values.next_value() {
            let records = value.and_then(|v| log_records_from_json(&v).map_err(|e| e.to_string()));
            match records {
                Ok(records) => {
                    for c in records {
                        let hex = to_hex(&Sha256::digest(&c).into());
                        writeln!(out, "{hex} {}", String::from_utf8_lossy(&c))?;
                    }
                }
                Err(e) => {
                    eprintln!("auditchain: {}:{line}: {e}", file.display());
                    failed = true;
                }
            }
        }
    }
    Ok(if failed { Exit::Error } else { Exit::Ok })
}
