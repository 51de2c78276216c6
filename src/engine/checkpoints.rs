//! Signed checkpoints (docs/SPEC.md §5.3): when one is due, the control
//! record that carries it, and the lines owed to `checkpoint.file`.

use super::config::CheckpointConfig;
use super::control::{ControlRecord, CtlValue};
use super::state::StreamState;
use super::tlog::LogState;
use crate::core::note::{Checkpoint, Sign, sign_note};
use crate::core::vocab;
use crate::core::vocab::event;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Checkpoint intervals are announced in whole seconds, rounded up, so
/// that a verifier never expects checkpoints more often than they come.
pub(super) fn interval_seconds(ns: u64) -> u64 {
    ns.div_ceil(1_000_000_000)
}

/// At most this many checkpoint lines wait in the stream state for the
/// checkpoint file (SPEC §5.3): the state is rewritten with every batch, so
/// an unwritable file must not grow it without bound. Past it the oldest
/// lines are dropped, with a warning: each line's checkpoint is also in the
/// stream itself, and the newest line vouches for everything before it.
pub const MAX_BACKLOG: usize = 100;

/// Checks at start that `checkpoint.file` can be appended to: its
/// directory exists and it is not a directory. Creates it when missing.
pub(super) fn check_file(path: &Path) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "{}: the directory {} does not exist (create it, or fix the path)",
            path.display(),
            dir.display()
        ));
    }
    if path.is_dir() {
        return Err(format!(
            "{} is a directory; name a file in it, e.g. {}",
            path.display(),
            path.join("checkpoints.jsonl").display()
        ));
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(drop)
        .map_err(|e| format!("cannot open {} for appending: {e}", path.display()))
}

pub(super) struct Checkpointer {
    /// `None`: the stream signs no checkpoints.
    signer: Option<Box<dyn Sign>>,
    interval_ns: u64,
    records: u64,
    file: Option<PathBuf>,
    /// The state version that added each line of the stream's
    /// `checkpoint_backlog` (0 for lines loaded from disk): a line may be
    /// appended to the checkpoint file only once that version is on disk,
    /// or a crash could reissue the numbers it signs.
    backlog_versions: Vec<u64>,
}

impl Checkpointer {
    pub fn new(signer: Option<Box<dyn Sign>>, config: &CheckpointConfig, stream: &StreamState) -> Checkpointer {
        Checkpointer {
            signer,
            interval_ns: config.interval,
            records: config.records,
            file: config.file.clone(),
            backlog_versions: vec![0; stream.checkpoint_backlog.len()],
        }
    }

    pub fn interval_seconds(&self) -> u64 {
        interval_seconds(self.interval_ns)
    }

    /// A checkpoint is due after `records` records or `interval`, whichever
    /// comes first (also when idle: a heartbeat). `now` is cadence time.
    pub fn due(&self, stream: &StreamState, now: u64) -> bool {
        self.signer.is_some()
            && (stream.records_since_checkpoint >= self.records
                || now.saturating_sub(stream.last_checkpoint_unix_nano) >= self.interval_ns)
    }

    /// The control record of a checkpoint over everything issued so far,
    /// made at wall time `now`; `None` when the stream signs no
    /// checkpoints, an error when the key could not sign (a token that is
    /// unreachable).
    pub fn record(&self, stream: &StreamState, now: u64) -> Option<Result<ControlRecord, String>> {
        let signer = self.signer.as_deref()?;
        if let Some(log) = &stream.log {
            return Some(self.log_record(signer, log, now));
        }
        let cp = Checkpoint {
            origin: stream.stream_id.clone(),
            size: stream.next_sequence - 1,
            root: stream.head.unwrap_or([0; 32]),
            time_unix_nano: now,
            interval_seconds: self.interval_seconds(),
        };
        Some(sign_note(signer, &cp.text()).map(|note| ControlRecord::new(event::CHECKPOINT, now, note)))
    }

    /// A version 2 checkpoint (SPEC §5.5): the log at its current size n
    /// (every record issued before this one, which will be leaf n), with
    /// its compact range and the consistency proof from the previous one.
    fn log_record(&self, signer: &dyn Sign, log: &LogState, now: u64) -> Result<ControlRecord, String> {
        let parts = log.checkpoint_parts();
        let cp = Checkpoint {
            origin: log.origin.clone(),
            size: parts.size,
            root: parts.root,
            time_unix_nano: now,
            interval_seconds: self.interval_seconds(),
        };
        let note = sign_note(signer, &cp.text())?;
        let b64 = |hs: &[crate::core::chain::Hash]| hs.iter().map(|h| B64.encode(h)).collect::<Vec<_>>();
        let mut rec = ControlRecord::new(event::CHECKPOINT, now, note)
            .with(vocab::log::RANGE, CtlValue::StrArray(b64(&parts.range)));
        if let Some((previous, proof)) = parts.previous {
            rec = rec
                .with(vocab::log::PREVIOUS_SIZE, CtlValue::Int(previous as i64))
                .with(vocab::log::CONSISTENCY, CtlValue::StrArray(b64(&proof)));
        }
        Ok(rec)
    }

    /// Owes `line` (a cosigned checkpoint) to the checkpoint file once
    /// state version `version` is on disk.
    pub fn owe_line(&mut self, stream: &mut StreamState, line: String, version: u64) {
        if self.file.is_none() {
            return;
        }
        stream.checkpoint_backlog.push(line);
        self.backlog_versions.push(version);
        let over = stream.checkpoint_backlog.len().saturating_sub(MAX_BACKLOG);
        stream.checkpoint_backlog.drain(..over);
        self.backlog_versions.drain(..over.min(self.backlog_versions.len()));
    }

    /// Books a checkpoint record just issued as `sequence`: the cadence
    /// restarts (`cadence` time), and its line is owed to the checkpoint
    /// file once state version `version` is on disk. The final checkpoint's
    /// line says `end`, so that the separate store proves a clean end (SPEC
    /// §5.3). Returns a warning when the backlog overflowed.
    pub fn issued(
        &mut self,
        stream: &mut StreamState,
        rec: &ControlRecord,
        sequence: u64,
        end: bool,
        cadence: u64,
        version: u64,
    ) -> Option<String> {
        stream.last_checkpoint_unix_nano = cadence;
        stream.records_since_checkpoint = 0;
        self.file.as_ref()?;
        let mut line = serde_json::json!({ "stream_id": stream.stream_id, "sequence": sequence, "note": rec.body });
        if end {
            line["end"] = serde_json::Value::Bool(true);
        }
        stream.checkpoint_backlog.push(line.to_string());
        self.backlog_versions.push(version);
        let over = stream.checkpoint_backlog.len().saturating_sub(MAX_BACKLOG);
        if over == 0 {
            return None;
        }
        stream.checkpoint_backlog.drain(..over);
        self.backlog_versions.drain(..over.min(self.backlog_versions.len()));
        Some(format!(
            "checkpoint.file: {over} checkpoint line(s) dropped: the file has not been writable for {MAX_BACKLOG} checkpoints \
             and the state keeps only the newest {MAX_BACKLOG} (every checkpoint is also in the stream itself)"
        ))
    }

    /// Appends owed checkpoint lines whose state version `durable` covers
    /// to the checkpoint file (lines of later issues wait for their own
    /// save). A failure does not fail the batch (its records are durable
    /// and stamped): the lines stay in the state, are retried with the next
    /// call or at the next start, and the caller is warned. A crash between
    /// appending and the next save can append a line twice, which verifiers
    /// ignore.
    pub fn flush(&mut self, stream: &mut StreamState, durable: u64) -> Option<String> {
        let path = self.file.as_ref()?;
        let ready = self.backlog_versions.iter().take_while(|&&v| v <= durable).count();
        if ready == 0 {
            return None;
        }
        let text: String = stream.checkpoint_backlog[..ready].iter().map(|l| format!("{l}\n")).collect();
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
            f.write_all(text.as_bytes())?;
            f.sync_data()
        };
        match write() {
            Ok(()) => {
                stream.checkpoint_backlog.drain(..ready);
                self.backlog_versions.drain(..ready);
                None
            }
            Err(e) => Some(format!(
                "checkpoint.file: cannot append to {}: {e} ({} checkpoints kept in the stream state, retried with the next checkpoint or at the next start)",
                path.display(),
                stream.checkpoint_backlog.len()
            )),
        }
    }
}
