//! The online checker of `mode: verify` (docs/SPEC.md §12): a gateway
//! collector checks every stamped record as it arrives — its record hash
//! from the canonical form (the engine's protobuf walker), its link, the
//! chain within and across batches, checkpoints — tolerating reordering and
//! duplicates within a window, and remembers per stream what it must in its
//! own durable state so that a restart continues checking.
//!
//! A layer of its own: it imports `core` only (not `engine`, not `verify`);
//! `ffi` exposes it (src/ffi/checker.rs).

pub mod record;
mod store;
pub mod stream;
pub mod verdict;

use crate::core::canonical::Signal;
use crate::core::keys::{ChainKey, load_chain_key, load_verifier_key};
use crate::core::note::NoteVerifier;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use stream::{Ctx, Rec, StreamState};
use verdict::{Outcome, Reason, Verdicts};

/// Why the checker could not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidConfig,
    MalformedBatch,
    State,
    Key,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into() }
    }
    fn state(message: String) -> Error {
        Error::new(ErrorKind::State, message)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub const DEFAULT_REORDER_WINDOW: u64 = 1000;
pub const DEFAULT_REORDER_TIMEOUT_SECONDS: u64 = 60;
pub const DEFAULT_HEARTBEAT_GRACE_SECONDS: u64 = 60;
pub const DEFAULT_MAX_STREAMS: usize = 10_000;

/// The checker's configuration (JSON, keys as in the collector's YAML).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckerConfig {
    /// Where the per-stream state is kept (required).
    pub state_directory: PathBuf,
    /// The chain key file: keyed streams are checked under it.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Public keys (strings or files) checkpoints must be signed by.
    #[serde(default)]
    pub public_keys: Vec<String>,
    /// How many numbers a record may arrive ahead of its predecessor.
    #[serde(default = "default_window")]
    pub reorder_window: u64,
    /// How long a record is held for its predecessor.
    #[serde(default = "default_timeout")]
    pub reorder_timeout_seconds: u64,
    /// How long past its interval a stream's newest checkpoint may be.
    #[serde(default = "default_grace")]
    pub heartbeat_grace_seconds: u64,
    #[serde(default = "default_max_streams")]
    pub max_streams: usize,
}

fn default_window() -> u64 {
    DEFAULT_REORDER_WINDOW
}
fn default_timeout() -> u64 {
    DEFAULT_REORDER_TIMEOUT_SECONDS
}
fn default_grace() -> u64 {
    DEFAULT_HEARTBEAT_GRACE_SECONDS
}
fn default_max_streams() -> usize {
    DEFAULT_MAX_STREAMS
}

impl CheckerConfig {
    pub fn from_json(json: &[u8]) -> Result<CheckerConfig, Error> {
        let c: CheckerConfig = serde_json::from_slice(json)
            .map_err(|e| Error::new(ErrorKind::InvalidConfig, format!("checker configuration: {e}")))?;
        if c.state_directory.as_os_str().is_empty() {
            return Err(Error::new(ErrorKind::InvalidConfig, "state.directory must not be empty"));
        }
        if !(1..=1_000_000).contains(&c.reorder_window) {
            return Err(Error::new(ErrorKind::InvalidConfig, "reorder_window must be between 1 and 1000000 records"));
        }
        if c.reorder_timeout_seconds == 0 {
            return Err(Error::new(ErrorKind::InvalidConfig, "reorder_timeout must be at least 1s"));
        }
        if c.max_streams == 0 {
            return Err(Error::new(ErrorKind::InvalidConfig, "max_streams must be at least 1"));
        }
        Ok(c)
    }
}

struct Inner {
    store: store::Store,
    streams: HashMap<String, StreamState>,
}

/// The online checker: one per processor instance (`mode: verify`).
pub struct Checker {
    config: CheckerConfig,
    chain_key: Option<ChainKey>,
    verifiers: Vec<NoteVerifier>,
    inner: Mutex<Inner>,
}

impl Checker {
    /// Loads the keys, opens and locks the state directory and loads every
    /// stream saved there.
    pub fn new(config: CheckerConfig) -> Result<Checker, Error> {
        let chain_key = match &config.key_file {
            Some(p) => Some(load_chain_key(p, "key_file").map_err(|e| Error::new(ErrorKind::Key, e))?),
            None => None,
        };
        let mut verifiers = Vec::new();
        for (i, k) in config.public_keys.iter().enumerate() {
            verifiers
                .push(load_verifier_key(k).map_err(|e| Error::new(ErrorKind::Key, format!("public_keys[{i}]: {e}")))?);
        }
        let (store, loaded) = store::Store::open(&config.state_directory)?;
        let streams = loaded.into_iter().map(|s| (s.stream_id.clone(), s)).collect();
        Ok(Checker { config, chain_key, verifiers, inner: Mutex::new(Inner { store, streams }) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks every record of an OTLP protobuf export request of `signal`;
    /// the state of every stream it touched is durable before this returns.
    pub fn check(&self, signal: Signal, request: &[u8], now_unix_nano: u64) -> Result<Verdicts, Error> {
        let reads = record::read_batch(signal, request).map_err(|e| {
            Error::new(
                ErrorKind::MalformedBatch,
                format!("the request is not a well-formed OTLP {} request: {e}", signal.name()),
            )
        })?;
        let mut out = Verdicts::default();
        // Records grouped by stream, in request order within each.
        let mut by_stream: Vec<(String, Vec<(usize, Rec)>)> = Vec::new();
        for (i, r) in reads.into_iter().enumerate() {
            out.records.push((Outcome::Failed, Reason::None));
            let v = match r {
                record::Read::Unreadable(_) => (Outcome::Failed, Reason::UnreadableRecord),
                record::Read::Unstamped => (Outcome::Failed, Reason::Unstamped),
                record::Read::Malformed(_) => (Outcome::Failed, Reason::MalformedStamp),
                record::Read::Stamped { stamp, record_hash, control } => {
                    let id = stamp.stream_id.clone();
                    let rec = Rec { stamp, record_hash, control, held_at: now_unix_nano };
                    match by_stream.iter_mut().find(|(s, _)| *s == id) {
                        Some((_, v)) => v.push((i, rec)),
                        None => by_stream.push((id, vec![(i, rec)])),
                    }
                    continue;
                }
            };
            out.records[i] = v;
        }
        let mut inner = self.lock();
        let inner = &mut *inner;
        for (id, recs) in by_stream {
            if !inner.streams.contains_key(&id) {
                if inner.streams.len() >= self.config.max_streams {
                    for (i, _) in recs {
                        out.records[i] = (Outcome::Failed, Reason::StreamLimit);
                    }
                    continue;
                }
                inner.streams.insert(id.clone(), StreamState::new(&id));
            }
            let st = inner.streams.get_mut(&id).expect("inserted above");
            // Within one batch the order of records is no evidence of
            // anything (the shim appends its own records after the batch's,
            // exporters regroup): the window is for reordering across
            // batches.
            let mut recs = recs;
            recs.sort_by_key(|(_, r)| r.stamp.sequence);
            let mut ctx = self.ctx(now_unix_nano, &mut out);
            for (i, rec) in recs {
                let v = stream::admit(st, rec, i, &mut ctx);
                ctx.records[i] = v;
            }
            inner.store.save(st)?;
        }
        Ok(out)
    }

    fn ctx<'a>(&'a self, now: u64, out: &'a mut Verdicts) -> Ctx<'a> {
        Ctx {
            chain_key: self.chain_key.as_ref(),
            verifiers: &self.verifiers,
            window: self.config.reorder_window,
            now,
            held_here: HashMap::new(),
            records: &mut out.records,
            events: &mut out.events,
        }
    }

    /// Without traffic (every second): held records past
    /// `reorder_timeout` are judged without their predecessor, and streams
    /// silent past their heartbeat are reported. Only events.
    pub fn tick(&self, now_unix_nano: u64) -> Result<Verdicts, Error> {
        let mut out = Verdicts::default();
        let timeout = self.config.reorder_timeout_seconds.saturating_mul(1_000_000_000);
        let grace = self.config.heartbeat_grace_seconds.saturating_mul(1_000_000_000);
        let mut inner = self.lock();
        let inner = &mut *inner;
        for st in inner.streams.values_mut() {
            let mut ctx = self.ctx(now_unix_nano, &mut out);
            let expired = stream::expire(st, timeout, &mut ctx);
            let silent = stream::heartbeat(st, grace, &mut ctx);
            if expired || silent {
                inner.store.save(st)?;
            }
        }
        Ok(out)
    }

    /// How many streams the checker knows.
    pub fn streams(&self) -> usize {
        self.lock().streams.len()
    }
}
