//! Where the checker keeps what it must remember per stream (SPEC §12):
//! one directory (`state_directory`) holding `lock` (flock(2) while a
//! checker runs, so two gateways never share it by mistake) and one file per
//! stream, `streams/<16 hex digits of SHA-256(stream id)>.json`, each
//! replaced atomically (temporary file, fsync, rename, fsync of the
//! directory) before the batch's verdicts are returned, by the same
//! `core::durable` as the engine's state.json.

use super::Error;
use super::stream::StreamState;
use crate::core::durable;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

const FORMAT: &str = "auditchain-checker-state-v1";

pub struct Store {
    dir: PathBuf,
    _lock: File,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Doc {
    format: String,
    state: StreamState,
}

fn file_name(stream_id: &str) -> String {
    let h: [u8; 32] = Sha256::digest(stream_id.as_bytes()).into();
    format!("{}.json", &crate::core::hex::to_hex(&h)[..16])
}

impl Store {
    /// Opens (creating it if needed) and locks the directory, and loads
    /// every stream saved in it.
    pub fn open(directory: &Path) -> Result<(Store, Vec<StreamState>), Error> {
        let streams = directory.join("streams");
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&streams)
            .map_err(|e| Error::state(format!("state_directory: cannot create {}: {e}", streams.display())))?;
        let lock_path = directory.join("lock");
        let lock = durable::lock(&lock_path).map_err(|e| match e {
            durable::LockError::Held => Error::state(format!(
                "the checker state in {} is locked by another auditchain processor (mode: verify); each needs its own state_directory",
                directory.display()
            )),
            durable::LockError::Io(e) => Error::state(format!("cannot lock {}: {e}", lock_path.display())),
        })?;
        let mut loaded = Vec::new();
        let entries =
            fs::read_dir(&streams).map_err(|e| Error::state(format!("cannot read {}: {e}", streams.display())))?;
        for entry in entries {
            let path = entry.map_err(|e| Error::state(format!("cannot read {}: {e}", streams.display())))?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let bytes = fs::read(&path).map_err(|e| Error::state(format!("cannot read {}: {e}", path.display())))?;
            let doc: Doc = serde_json::from_slice(&bytes)
                .map_err(|e| Error::state(format!("checker state {} is corrupted: {e}", path.display())))?;
            if doc.format != FORMAT {
                return Err(Error::state(format!(
                    "checker state {} has format {:?}, expected {FORMAT:?}",
                    path.display(),
                    doc.format
                )));
            }
            if path.file_name().and_then(|n| n.to_str()) != Some(file_name(&doc.state.stream_id).as_str()) {
                return Err(Error::state(format!("checker state {} is not named after its stream", path.display())));
            }
            loaded.push(doc.state);
        }
        Ok((Store { dir: streams, _lock: lock }, loaded))
    }

    /// Replaces the saved state of one stream.
    pub fn save(&self, state: &StreamState) -> Result<(), Error> {
        let doc = Doc { format: FORMAT.into(), state: state.clone() };
        let json = serde_json::to_vec(&doc).expect("checker state serialises");
        let path = self.dir.join(file_name(&state.stream_id));
        durable::replace(&self.dir, &path, &json)
            .map_err(|e| Error::state(format!("cannot save checker state {}: {e}", path.display())))
    }
}
