//! `auditchain canonical`: the canonical bytes of each record, from any
//! input `verify` reads (docs/SPEC.md §8.0).

use super::exit::Exit;
use super::{CanonicalArgs, Error};
use auditchain::core::canonical::records_from_json;
use auditchain::core::hex::to_hex;
use auditchain::verify::read::input::{self, Content};
use auditchain::verify::read::{files, json, protobuf};
use sha2::{Digest, Sha256};
use std::io::Write;

/// Each record's hash and canonical form, a line each.
fn print(records: Vec<Vec<u8>>, out: &mut impl Write) -> std::io::Result<()> {
    for c in records {
        let hex = to_hex(&Sha256::digest(&c).into());
        writeln!(out, "{hex} {}", String::from_utf8_lossy(&c))?;
    }
    Ok(())
}

pub fn run(args: CanonicalArgs) -> Result<Exit, Error> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    for file in &args.files {
        let name = file.display();
        let opened = if file.as_os_str() == "-" {
            files::stdin(files::MAX_DECOMPRESSED_BYTES)
        } else {
            files::open(file, files::MAX_DECOMPRESSED_BYTES)
        };
        let content =
            opened.and_then(|r| input::classify(r, json::MAX_VALUE_BYTES)).map_err(|e| format!("{name}: {e}"))?;
        let mut messages = match content {
            Content::Json(reader) => {
                let mut values = json::Values::new(reader, 1);
                while let Some((line, value)) = values.next_value() {
                    match value.and_then(|v| records_from_json(&v).map_err(|e| e.to_string())) {
                        Ok(records) => print(records, &mut out)?,
                        Err(e) => {
                            eprintln!("auditchain: {name}:{line}: {e}");
                            failed = true;
                        }
                    }
                }
                continue;
            }
            Content::Framed(reader) => protobuf::Messages::framed(reader, json::MAX_VALUE_BYTES),
            Content::Message(reader) => protobuf::Messages::whole(reader, json::MAX_VALUE_BYTES),
        };
        while let Some(m) = messages.next() {
            let (number, offset) = (m.number, m.offset);
            match m.bytes.and_then(|b| protobuf::canonical_records(b, json::MAX_VALUE_BYTES)) {
                Ok(records) => print(records, &mut out)?,
                Err(e) => {
                    eprintln!("auditchain: {name}: message {number} at byte offset {offset}: {e}");
                    failed = true;
                }
            }
        }
    }
    Ok(if failed { Exit::Error } else { Exit::Ok })
}
