//! Where the stream state lives: one directory per stream name holding
//! `state.json` (rewritten atomically and fsynced before stamped records
//! leave the processor) and `lock` (held with flock(2) while an engine
//! runs, so that two collectors or two pipelines never share a stream by
//! mistake).

use super::error::{Error, ErrorKind};
use super::state::StreamState;
use crate::core::durable;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

const STATE_FILE: &str = "state.json";
const LOCK_FILE: &str = "lock";
const FORMAT: &str = "auditchain-state-v1";

/// What was found when the store was opened.
#[derive(Debug)]
pub enum Loaded {
    /// No directory for this stream name yet: the first start.
    FirstStart,
    /// The saved state.
    Saved(Box<StreamState>),
    /// The state was missing or unreadable and `state.new_stream` allowed
    /// starting over; the text says what was wrong.
    Reset(String),
}

pub struct StateStore {
    dir: PathBuf,
    /// Held for the life of the store; closing it releases the flock.
    _lock: File,
    /// The directory was created by this store and holds no state yet: if
    /// the engine fails to start, it is removed again, so that the next
    /// start is a first start rather than a "missing state" refusal.
    fresh: std::sync::atomic::AtomicBool,
    /// Successful writes, for the processor's telemetry.
    writes: std::sync::atomic::AtomicU64,
}

impl Drop for StateStore {
    fn drop(&mut self) {
        if self.fresh.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = fs::remove_file(self.dir.join(LOCK_FILE));
            let _ = fs::remove_dir(&self.dir);
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    format: String,
    #[serde(borrow)]
    state: &'a serde_json::value::RawValue,
    /// SHA-256 of the `state` member exactly as written.
    sha256: String,
}

fn state_error(message: String) -> Error {
    Error::new(ErrorKind::State, message)
}

/// Why the processor refuses to start without a usable state, and the two
/// ways on. Never "restore a backup": an older copy of state.json issues
/// numbers that were already issued, with other content (a fork), and the
/// start cannot always tell (SPEC §6.2).
pub fn refusal(problem: &str, path: &Path) -> String {
    format!(
        "{problem}. The stream cannot continue without its newest state: put back {} only if it is the very file this processor \
         wrote last (for example from a disk that was remounted); an older copy, such as a backup, would issue sequence numbers again \
         with other content, a fork of the stream. Otherwise set state.new_stream: true to start a new stream on purpose \
         (the verifier shows it as a new stream with no predecessor)",
        path.display()
    )
}

impl StateStore {
    /// Opens (or creates) the state of `stream_name` under `directory` and
    /// locks it.
    pub fn open(directory: &Path, stream_name: &str, new_stream: bool) -> Result<(StateStore, Loaded), Error> {
        let dir = directory.join(stream_name);
        let first_start = !dir.exists();
        if first_start {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|e| state_error(format!("state.directory: cannot create {}: {e}", dir.display())))?;
        }
        let lock_path = dir.join(LOCK_FILE);
        let lock = durable::lock(&lock_path).map_err(|e| match e {
            durable::LockError::Held => state_error(format!(
                "the state of stream {stream_name:?} in {} is locked by another auditchain processor, in this collector or another process; \
                 each processor needs its own stream_name (or state.directory)",
                dir.display()
            )),
            durable::LockError::Io(e) => state_error(format!("cannot lock {}: {e}", lock_path.display())),
        })?;
        let store = StateStore {
            dir,
            _lock: lock,
            fresh: std::sync::atomic::AtomicBool::new(first_start),
            writes: Default::default(),
        };
        if first_start {
            return Ok((store, Loaded::FirstStart));
        }
        match store.read(stream_name) {
            Ok(state) => Ok((store, Loaded::Saved(Box::new(state)))),
            Err(problem) if new_stream => Ok((store, Loaded::Reset(problem))),
            Err(problem) => Err(state_error(refusal(&problem, &store.path()))),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    fn read(&self, stream_name: &str) -> Result<StreamState, String> {
        let path = self.path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(format!(
                    "stream state {} is missing, but its directory exists, so a stream was started here before",
                    path.display()
                ));
            }
            Err(e) => return Err(format!("cannot read stream state {}: {e}", path.display())),
        };
        let env: Envelope<'_> = serde_json::from_slice(&bytes)
            .map_err(|e| format!("stream state {} is corrupted (not a state file: {e})", path.display()))?;
        if env.format != FORMAT {
            return Err(format!("stream state {} has format {:?}, expected {FORMAT:?}", path.display(), env.format));
        }
        let sum = crate::core::hex::to_hex(&Sha256::digest(env.state.get().as_bytes()).into());
        if sum != env.sha256 {
            return Err(format!("stream state {} is corrupted (checksum mismatch)", path.display()));
        }
        let state: StreamState = serde_json::from_str(env.state.get())
            .map_err(|e| format!("stream state {} is corrupted ({e})", path.display()))?;
        state.check_numbers().map_err(|e| format!("stream state {} is inconsistent ({e})", path.display()))?;
        if state.stream_name != stream_name {
            return Err(format!(
                "stream state {} belongs to stream name {:?}, not {stream_name:?}",
                path.display(),
                state.stream_name
            ));
        }
        Ok(state)
    }

    /// Replaces the saved state: write a temporary file, fsync it, rename it
    /// over the old one, fsync the directory. A crash leaves the old or the
    /// new state, never a mix.
    pub fn save(&self, state: &StreamState) -> Result<(), Error> {
        self.save_json(&serde_json::to_string(state).expect("stream state serialises"))
    }

    /// [`StateStore::save`] of a state already serialised.
    pub fn save_json(&self, inner: &str) -> Result<(), Error> {
        let sum = crate::core::hex::to_hex(&Sha256::digest(inner.as_bytes()).into());
        let doc = format!("{{\"format\":\"{FORMAT}\",\"state\":{inner},\"sha256\":\"{sum}\"}}\n");
        durable::replace(&self.dir, &self.path(), doc.as_bytes())
            .map_err(|e| state_error(format!("cannot save stream state {}: {e}", self.path().display())))?;
        self.fresh.store(false, std::sync::atomic::Ordering::Relaxed);
        self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// How many times the state was written.
    pub fn writes(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::chain::Algorithm;

    fn state() -> StreamState {
        let mut s = StreamState::genesis("s1", Algorithm::Sha256, 1);
        s.issue(&[1; 32], false, 0, crate::engine::state::EpochPolicy { records: 10, interval_ns: 10 });
        s
    }

    #[test]
    fn first_start_then_saved() {
        let d = tempfile::tempdir().unwrap();
        let (store, loaded) = StateStore::open(d.path(), "s1", false).unwrap();
        assert!(matches!(loaded, Loaded::FirstStart));
        let s = state();
        store.save(&s).unwrap();
        drop(store);
        let (_store, loaded) = StateStore::open(d.path(), "s1", false).unwrap();
        match loaded {
            Loaded::Saved(got) => assert_eq!(*got, s),
            other => panic!("{other:?}"),
        }
        let mode = fs::metadata(d.path().join("s1/state.json")).unwrap();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777, 0o600);
    }

    #[test]
    fn a_first_start_that_never_saved_leaves_nothing_behind() {
        let d = tempfile::tempdir().unwrap();
        let (store, _) = StateStore::open(d.path(), "s1", false).unwrap();
        drop(store);
        assert!(!d.path().join("s1").exists());
        let (_store, loaded) = StateStore::open(d.path(), "s1", false).unwrap();
        assert!(matches!(loaded, Loaded::FirstStart));
    }

    #[test]
    fn second_open_is_refused_while_locked() {
        let d = tempfile::tempdir().unwrap();
        let (_store, _) = StateStore::open(d.path(), "s1", false).unwrap();
        let e = StateStore::open(d.path(), "s1", false).err().unwrap();
        assert_eq!(e.kind, ErrorKind::State);
        assert!(e.message.contains("locked by another auditchain processor"), "{}", e.message);
    }

    #[test]
    fn missing_or_corrupt_state_refuses_unless_new_stream() {
        let d = tempfile::tempdir().unwrap();
        {
            let (store, _) = StateStore::open(d.path(), "s1", false).unwrap();
            store.save(&state()).unwrap();
        }
        let path = d.path().join("s1/state.json");
        let good = fs::read_to_string(&path).unwrap();
        let cases = [
            ("missing", None),
            ("checksum", Some(good.replacen("\"next_sequence\":2", "\"next_sequence\":3", 1))),
            ("not a state file", Some("{}".to_string())),
            ("not a state file", Some(good[..good.len() / 2].to_string())),
        ];
        for (expect, content) in cases {
            match &content {
                None => fs::remove_file(&path).unwrap(),
                Some(c) => fs::write(&path, c).unwrap(),
            }
            let e = StateStore::open(d.path(), "s1", false).err().unwrap();
            assert!(e.message.contains(expect), "{expect}: {}", e.message);
            assert!(e.message.contains("state.new_stream: true"), "{}", e.message);
            let (_s, loaded) = StateStore::open(d.path(), "s1", true).unwrap();
            assert!(matches!(loaded, Loaded::Reset(ref why) if why.contains(expect)), "{loaded:?}");
        }
    }
}
