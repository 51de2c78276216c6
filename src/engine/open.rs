//! Opening a stream (docs/SPEC.md §6.2): continue the saved one, or start
//! a new one and say why in its first record.

use super::checkpoints::{self, interval_seconds};
use super::config::EngineConfig;
use super::control::{ControlRecord, CtlValue};
use super::error::{Error, ErrorKind};
use super::rollback;
use super::state::StreamState;
use super::store::{Loaded, StateStore, refusal};
use super::tlog::LogState;
use crate::core::chain::Algorithm;
use crate::core::hex::to_hex;
use crate::core::keys::{self, ChainKey};
use crate::core::note::Sign;
use crate::core::ranges;
use crate::core::vocab::{control, event, reason};

/// An opened stream, saved as state version 1 before anything is stamped.
pub(super) struct Opened {
    pub store: Option<StateStore>,
    pub stream: StreamState,
    /// The stream's next record: `start` for a new stream, `resume` for one
    /// that continues after an unclean stop.
    pub first: ControlRecord,
    pub signer: Option<Box<dyn Sign>>,
    pub warnings: Vec<String>,
}

fn key_error(message: String) -> Error {
    Error::new(ErrorKind::Key, message)
}

pub(super) fn open(config: &EngineConfig, now: u64) -> Result<Opened, Error> {
    config.validate()?;
    let signer = signer(config)?;
    if let Some(p) = &config.checkpoint.file {
        checkpoints::check_file(p)
            .map_err(|m| Error::new(ErrorKind::InvalidConfig, format!("checkpoint.file: {m}")))?;
    }
    let (store, loaded) = match &config.state.directory {
        Some(dir) => {
            let (store, loaded) = StateStore::open(dir, &config.stream_name, config.state.new_stream)?;
            let loaded = refuse_rollback(config, signer.as_deref(), &store, loaded)?;
            (Some(store), loaded)
        }
        None => (None, Loaded::FirstStart),
    };
    let origin = signer.as_deref().filter(|_| config.log.format_version >= 2).map(|s| log_origin(config, s));
    let opener = Opener { config, now, origin: origin.clone() };
    let (stream, mut first) = match loaded {
        Loaded::FirstStart => opener.new_stream(reason::FIRST_START, "first start".into())?,
        Loaded::Reset(problem) => {
            opener.new_stream(reason::STATE_RESET, format!("state.new_stream is set and {problem}"))?
        }
        Loaded::Saved(old) if old.ended => opener.successor(&old)?,
        Loaded::Saved(s) => opener.resumed(*s),
    };
    let mut stream = stream;
    // Cadence times saved by an earlier run cannot lie in the future: a
    // wall clock set back while the collector was down would otherwise
    // hold checkpoints and epochs until it caught up.
    stream.last_checkpoint_unix_nano = stream.last_checkpoint_unix_nano.min(now);
    if let Some(k) = &mut stream.key {
        k.epoch_started_unix_nano = k.epoch_started_unix_nano.min(now);
    }
    if let Some(s) = &signer {
        // A resumed stream keeps its checkpoint clock: a checkpoint that
        // fell due while the collector was down comes right away.
        first = first
            .with(control::SIGNER, CtlValue::Str(s.key_id().to_string()))
            .with(control::CHECKPOINT_INTERVAL, CtlValue::Int(interval_seconds(config.checkpoint.interval) as i64));
    }
    let mut warnings: Vec<String> = key_file_warning(config, &stream).into_iter().collect();
    if let Some(s) = &signer {
        warnings.extend(origin_warnings(config, s.as_ref(), &stream));
    }
    if let Some(log) = &mut stream.log {
        log.set_witnesses(&config.witnesses.iter().map(|w| w.key.clone()).collect::<Vec<_>>());
    }
    // The new or resumed state is durable before anything is stamped.
    if let Some(store) = &store {
        store.save(&stream)?;
    }
    Ok(Opened { store, stream, first, signer, warnings })
}

/// The checkpoint signer: a key file, or a key pair on a PKCS#11 token.
fn signer(config: &EngineConfig) -> Result<Option<Box<dyn Sign>>, Error> {
    if let Some(p) = &config.signing_key_file {
        return Ok(Some(Box::new(keys::load_signing_key(p, "signing_key_file").map_err(key_error)?)));
    }
    match config.signing_key.as_ref().and_then(|k| k.pkcs11.as_ref()) {
        Some(p) => Ok(Some(Box::new(super::hsm::Pkcs11Signer::open(p)?))),
        None => Ok(None),
    }
}

struct Opener<'a> {
    config: &'a EngineConfig,
    now: u64,
    /// The origin of the log a new stream starts, when checkpoints are
    /// signed (SPEC §5.5).
    origin: Option<String>,
}

/// The log's origin: `log.origin`, else the signing key's name; a
/// partition's engine appends `/<partition>`.
fn log_origin(config: &EngineConfig, signer: &dyn Sign) -> String {
    let base = if config.log.origin.is_empty() { signer.key_id().name.clone() } else { config.log.origin.clone() };
    if config.log.partition.is_empty() { base } else { format!("{base}/{}", config.log.partition) }
}

/// C2SP tlog-policy wants a log's key name to be its origin; and an origin
/// never changes within a log.
fn origin_warnings(config: &EngineConfig, signer: &dyn Sign, stream: &StreamState) -> Vec<String> {
    let mut w = Vec::new();
    let name = &signer.key_id().name;
    if !config.log.origin.is_empty() && config.log.origin != *name {
        w.push(format!(
            "log.origin {:?} differs from the signing key's name {name:?}: C2SP tlog-policy (and witnessctl) expect a log's key              to be named after its origin; name the key after the origin (auditchain keygen {:?})",
            config.log.origin, config.log.origin
        ));
    }
    let want = log_origin(config, signer);
    if let Some(log) = &stream.log
        && log.origin != want
    {
        w.push(format!(
            "the configured log origin is {want:?}, but stream {} continues log {:?}: a log's origin never changes;              the new origin takes effect with the next stream, which starts a new log",
            stream.stream_id, log.origin
        ));
    }
    w
}

impl Opener<'_> {
    fn chain_key(&self) -> Result<Option<ChainKey>, Error> {
        match &self.config.key_file {
            Some(p) => keys::load_chain_key(p, "key_file")
                .map(Some)
                .map_err(|e| key_error(format!("{e} (the chain key is needed to start a new keyed stream)"))),
            None => Ok(None),
        }
    }

    fn genesis(&self) -> StreamState {
        let mut s = StreamState::genesis(&self.config.stream_name, Algorithm::Sha256, self.now);
        s.log = self.origin.clone().map(LogState::new);
        s
    }

    /// A stream without a keyed predecessor is keyed from the chain key,
    /// when one is configured.
    fn key_from_chain_key(&self, s: &mut StreamState) -> Result<(), Error> {
        if let Some(k) = self.chain_key()? {
            s.key_from_chain_key(&k, self.now);
        }
        Ok(())
    }

    /// The start record of `s`, once its key (if any) is set: a keyed
    /// stream's start record says how its key derives.
    fn start_record(&self, s: &StreamState, why_reason: &str, why: String) -> ControlRecord {
        let mut rec =
            ControlRecord::new(event::START, self.now, format!("auditchain stream {} started: {why}", s.stream_id))
                .with(control::NAME, CtlValue::Str(self.config.stream_name.clone()))
                .with(control::REASON, CtlValue::Str(why_reason.to_string()));
        if let Some(k) = &s.key {
            rec = rec
                .with(control::CHAIN_KEY_ID, CtlValue::Str(k.chain_key_id.clone()))
                .with(control::KEY_LINEAGE, CtlValue::StrArray(k.lineage.clone()));
        }
        rec
    }

    /// A stream with no predecessor (first start, or state reset).
    fn new_stream(&self, why_reason: &str, why: String) -> Result<(StreamState, ControlRecord), Error> {
        let mut s = self.genesis();
        self.key_from_chain_key(&mut s)?;
        let rec = self.start_record(&s, why_reason, why);
        Ok((s, rec))
    }

    /// The successor of a stream that ended cleanly.
    fn successor(&self, old: &StreamState) -> Result<(StreamState, ControlRecord), Error> {
        let mut s = self.genesis();
        s.predecessor_id = Some(old.stream_id.clone());
        // Checkpoint lines the old stream could not append are still owed.
        s.checkpoint_backlog = old.checkpoint_backlog.clone();
        // The log outlives its streams: the successor's records are its
        // next leaves (unless the origin changed: then a new log starts).
        if let (Some(log), Some(origin)) = (&old.log, &self.origin)
            && log.origin == *origin
        {
            let mut log = log.clone();
            log.base = log.size();
            s.log = Some(log);
        }
        match &old.key {
            Some(k) => s.key_from_predecessor(k, self.now),
            None => self.key_from_chain_key(&mut s)?,
        }
        let mut rec = self
            .start_record(&s, reason::PREVIOUS_ENDED, format!("stream {} ended cleanly", old.stream_id))
            .with(control::PREDECESSOR_ID, CtlValue::Str(old.stream_id.clone()))
            .with(control::PREDECESSOR_SEQUENCE, CtlValue::Int((old.next_sequence - 1) as i64));
        if let Some(h) = &old.head {
            rec = rec.with(control::PREDECESSOR_HASH, CtlValue::Str(to_hex(h)));
        }
        // The old stream's records not confirmed delivered are announced by
        // this stream's start (and resume) records until one of them is
        // delivered.
        let mut owed = old.unannounced.clone();
        owed.extend(old.in_flight.iter().copied());
        s.predecessor_unannounced = ranges::normalize(owed);
        Ok((s, rec))
    }

    /// The same stream, continued after an unclean stop.
    fn resumed(&self, mut s: StreamState) -> (StreamState, ControlRecord) {
        // What was in flight at the stop may be missing: it stays owed (in
        // the saved state) until a resume or gap record announcing it is
        // delivered, whatever crashes meanwhile.
        let mut owed = std::mem::take(&mut s.unannounced);
        owed.extend(std::mem::take(&mut s.in_flight));
        s.unannounced = ranges::normalize(owed);
        let rec = ControlRecord::new(
            event::RESUME,
            self.now,
            format!("auditchain stream {} resumed at {} after an unclean stop", s.stream_id, s.next_sequence),
        );
        (s, rec)
    }
}

/// The stream's keys derive from its lineage; a different chain key in
/// key_file takes effect only for a stream without a keyed predecessor.
/// Say so rather than ignore it silently.
fn key_file_warning(config: &EngineConfig, stream: &StreamState) -> Option<String> {
    let (k, path) = (stream.key.as_ref()?, config.key_file.as_ref()?);
    let configured = keys::load_chain_key(path, "key_file").ok()?;
    (configured.id() != k.chain_key_id).then(|| {
        format!(
            "key_file: {} holds chain key {}, but stream {} continues the key lineage of chain key {}; \
             the configured key takes effect only when a stream starts without a keyed predecessor (after state.new_stream)",
            path.display(),
            configured.id(),
            stream.stream_id,
            k.chain_key_id
        )
    })
}

/// Refuses a saved state that is older than the newest checkpoint the
/// stream left outside it (SPEC §6.2); with `state.new_stream` such a
/// state starts a new stream instead, like a corrupt one.
fn refuse_rollback(
    config: &EngineConfig,
    signer: Option<&dyn Sign>,
    store: &StateStore,
    loaded: Loaded,
) -> Result<Loaded, Error> {
    let Loaded::Saved(state) = &loaded else { return Ok(loaded) };
    let Some(evidence) = rollback::newest(config.checkpoint.file.as_deref(), signer, &config.stream_name) else {
        return Ok(loaded);
    };
    match rollback::check(state, &evidence) {
        Ok(()) => Ok(loaded),
        Err(problem) if config.state.new_stream => Ok(Loaded::Reset(problem)),
        Err(problem) => {
            Err(Error::new(ErrorKind::State, refusal(&format!("rollback refused: {problem}"), &store.path())))
        }
    }
}
