//! Engine configuration, received as JSON across the C ABI. The member
//! names are the processor's YAML keys, so that every message can name the
//! key the user has to fix.

use crate::core::canonical::Signal;
use crate::core::content_hash;
use crate::core::stamp::StampForm;
use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    /// Names the stream; the stream id is `<stream_name>-<start time>-<random>`.
    pub stream_name: String,
    #[serde(default)]
    pub state: StateConfig,
    /// The chain key: makes the chain keyed (HMAC-SHA256 under forward-
    /// evolving epoch keys). Read only when a stream without a keyed
    /// predecessor starts; it can be removed from the host afterwards.
    #[serde(default, deserialize_with = "empty_path_is_none")]
    pub key_file: Option<PathBuf>,
    /// The Ed25519 key that signs checkpoints.
    #[serde(default, deserialize_with = "empty_path_is_none")]
    pub signing_key_file: Option<PathBuf>,
    /// The checkpoint signing key in a hardware token instead of a file
    /// (exclusive with `signing_key_file`).
    #[serde(default)]
    pub signing_key: Option<SigningKeyConfig>,
    #[serde(default)]
    pub key_epoch: KeyEpochConfig,
    #[serde(default)]
    pub checkpoint: CheckpointConfig,
    /// The signal of the stream's records (`logs` or `traces`): what the
    /// stamping calls carry and what the engine's own records are.
    #[serde(default)]
    pub signal: Signal,
    /// Checking the application's `audit.content_hash` (SPEC §4.6).
    #[serde(default)]
    pub content_hash: ContentHashConfig,
    /// What happens to a batch with records that cannot be stamped
    /// (docs/RELIABILITY.md).
    #[serde(default)]
    pub on_bad_record: OnBadRecord,
    /// The stamp's form on the batch's records: `full` (the OTEP 0267
    /// attributes) or `compact` (one attribute; SPEC §4.1.1).
    #[serde(default)]
    pub stamp: StampForm,
    /// The transparency log (SPEC §5.5): its origin.
    #[serde(default)]
    pub log: LogConfig,
    /// Witnesses that cosign the log's checkpoints (SPEC §5.5).
    #[serde(default)]
    pub witnesses: Vec<WitnessConfig>,
    /// How many witnesses must cosign a checkpoint for it to count as
    /// witnessed (metrics and messages only: stamping never waits).
    /// Default: all of them.
    #[serde(default)]
    pub witness_quorum: Option<u64>,
}

/// `log:`: the transparency log every record of the engine joins once
/// checkpoints are signed (SPEC §5.5).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// The log's origin (the first line of its checkpoints). Empty: the
    /// signing key's name (`<key name>/<partition>` for a partition's
    /// engine). It must never change: witnesses accept registered origins
    /// only.
    pub origin: String,
    /// Set by the processor for the engine of one partition (`partition_by`):
    /// the partition's part of the stream name, appended to the default
    /// origin as `/<partition>`.
    pub partition: String,
    /// The stream format a new stream is written in: 2 (default) keeps the
    /// log; 1 writes version 1 streams (chain-head checkpoints, SPEC
    /// §5.3, no log), for archives that older verifiers must read.
    pub format_version: u8,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { origin: String::new(), partition: String::new(), format_version: 2 }
    }
}

/// One witness (C2SP tlog-witness) of `witnesses:`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WitnessConfig {
    /// Where add-checkpoint is POSTed: `<url>/add-checkpoint`.
    pub url: String,
    /// The witness's cosignature verifier key (a 0x04 Ed25519 vkey).
    pub key: String,
    /// Nanoseconds; the processor's HTTP timeout (0: its default).
    pub timeout: u64,
}

/// `content_hash`: whether a stamped log record's `audit.content_hash` is
/// checked against its body, and what a mismatch does.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ContentHashConfig {
    pub check: bool,
    pub on_mismatch: OnMismatch,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OnMismatch {
    /// Stamp the record with `audit.integrity.content_hash_check: mismatch`.
    #[default]
    Mark,
    /// Refuse the batch.
    Reject,
}

impl ContentHashConfig {
    pub fn policy(&self) -> content_hash::Policy {
        match (self.check, self.on_mismatch) {
            (false, _) => content_hash::Policy::Off,
            (true, OnMismatch::Mark) => content_hash::Policy::Mark,
            (true, OnMismatch::Reject) => content_hash::Policy::Reject,
        }
    }
}

/// What happens to a batch holding records that have no canonical form
/// (invalid UTF-8, nested too deeply, reserved attribute names, a field the
/// canonical form does not cover).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OnBadRecord {
    /// Nothing of the batch is stamped: the whole batch is refused.
    #[default]
    RejectBatch,
    /// The other records are stamped; the bad ones get no stamp and are
    /// reported (the caller drops them and tells the sender).
    DropRecord,
}

fn empty_path_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let p = Option::<PathBuf>::deserialize(d)?;
    Ok(p.filter(|p| !p.as_os_str().is_empty()))
}

const SECOND: u64 = 1_000_000_000;

/// When the epoch key of a keyed chain evolves (whichever comes first).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KeyEpochConfig {
    pub records: u64,
    /// Nanoseconds.
    pub interval: u64,
}

impl Default for KeyEpochConfig {
    fn default() -> Self {
        KeyEpochConfig { records: 10_000, interval: 60 * SECOND }
    }
}

/// When signed checkpoints are emitted (whichever comes first; a checkpoint
/// is emitted every interval even when no records arrive).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointConfig {
    /// Nanoseconds.
    pub interval: u64,
    pub records: u64,
    /// A local file the checkpoints are also appended to, one JSON object
    /// per line, to ship to a separate store.
    #[serde(deserialize_with = "empty_path_is_none")]
    pub file: Option<PathBuf>,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig { interval: 60 * SECOND, records: 10_000, file: None }
    }
}

/// A signing key that is not a file: today a key in a PKCS#11 token.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SigningKeyConfig {
    #[serde(default)]
    pub pkcs11: Option<Pkcs11Config>,
}

/// An Ed25519 key pair on a PKCS#11 token (src/engine/hsm.rs). Fields are
/// defaulted so that a missing one is reported by `validate`, naming it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Pkcs11Config {
    /// The token's PKCS#11 module (a shared library).
    pub module: PathBuf,
    /// The token, by its label.
    pub token_label: String,
    /// The private key (and its public key), by label; also the key's name
    /// in checkpoint signatures.
    pub key_label: String,
    /// A file holding the user PIN, private to its owner like a key file.
    pub pin_file: PathBuf,
}

impl Pkcs11Config {
    fn validate(&self) -> Result<(), ConfigError> {
        let missing = |key: &'static str, what: &str| ConfigError { key, message: format!("must be set ({what})") };
        if self.module.as_os_str().is_empty() {
            return Err(missing(
                "signing_key.pkcs11.module",
                "the path of the token's PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so",
            ));
        }
        if self.token_label.is_empty() {
            return Err(missing("signing_key.pkcs11.token_label", "the label of the token holding the key"));
        }
        if self.key_label.is_empty() {
            return Err(missing("signing_key.pkcs11.key_label", "the label of the Ed25519 key pair"));
        }
        if !crate::core::note::is_valid_name(&self.key_label) {
            return Err(ConfigError {
                key: "signing_key.pkcs11.key_label",
                message: format!(
                    "{:?} cannot name a key in checkpoint signatures: use a label without spaces and '+'",
                    self.key_label
                ),
            });
        }
        if self.pin_file.as_os_str().is_empty() {
            return Err(missing("signing_key.pkcs11.pin_file", "a file holding the token's user PIN, mode 0600"));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// Where the stream state lives; `None` keeps it in memory only (a new
    /// stream at every start, for tests and `auditchain` library users).
    #[serde(default)]
    pub directory: Option<PathBuf>,
    /// Start a new stream when the saved state is missing or unreadable,
    /// instead of refusing to start.
    #[serde(default)]
    pub new_stream: bool,
}

/// A configuration error, naming the YAML key at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.key, self.message) }
    }
}

impl std::error::Error for ConfigError {}

/// Longest stream name: the name is part of file names and of every record.
pub const MAX_STREAM_NAME: usize = 128;

/// Checks a stream name: 1 to 128 of `A-Z a-z 0-9 . _ -`, starting with a
/// letter or digit. The name becomes a directory name, so nothing else.
pub fn check_stream_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > MAX_STREAM_NAME {
        return Err(format!("must be at most {MAX_STREAM_NAME} characters"));
    }
    if !name.as_bytes()[0].is_ascii_alphanumeric() {
        return Err(format!("{name:?} must start with a letter or digit"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Err(format!("{name:?} contains {c:?}; use letters, digits, '.', '_' and '-'"));
    }
    Ok(())
}

impl EngineConfig {
    /// A configuration with every default: in-memory state, plain chain,
    /// no checkpoints.
    pub fn new(stream_name: &str) -> EngineConfig {
        EngineConfig {
            stream_name: stream_name.into(),
            state: StateConfig::default(),
            key_file: None,
            signing_key_file: None,
            signing_key: None,
            key_epoch: KeyEpochConfig::default(),
            checkpoint: CheckpointConfig::default(),
            signal: Signal::Logs,
            content_hash: ContentHashConfig::default(),
            on_bad_record: OnBadRecord::default(),
            stamp: StampForm::default(),
            log: LogConfig::default(),
            witnesses: Vec::new(),
            witness_quorum: None,
        }
    }

    pub fn from_json(json: &[u8]) -> Result<EngineConfig, ConfigError> {
        let cfg: EngineConfig = serde_json::from_slice(json)
            .map_err(|e| ConfigError { key: "", message: format!("invalid engine configuration: {e}") })?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        check_stream_name(&self.stream_name).map_err(|message| ConfigError { key: "stream_name", message })?;
        if let Some(dir) = &self.state.directory
            && dir.as_os_str().is_empty()
        {
            return Err(ConfigError { key: "state.directory", message: "must not be empty".into() });
        }
        let positive = |key: &'static str, v: u64| {
            if v == 0 { Err(ConfigError { key, message: "must be at least 1".into() }) } else { Ok(()) }
        };
        let seconds = |key: &'static str, v: u64| {
            if v < SECOND { Err(ConfigError { key, message: "must be at least 1s".into() }) } else { Ok(()) }
        };
        positive("key_epoch.records", self.key_epoch.records)?;
        seconds("key_epoch.interval", self.key_epoch.interval)?;
        positive("checkpoint.records", self.checkpoint.records)?;
        seconds("checkpoint.interval", self.checkpoint.interval)?;
        self.validate_signing_key()?;
        if self.checkpoint.file.is_some() && !self.signs() {
            return Err(ConfigError {
                key: "checkpoint.file",
                message: "checkpoints need signing_key_file or signing_key; set one or remove checkpoint.file".into(),
            });
        }
        self.validate_log()
    }

    fn validate_log(&self) -> Result<(), ConfigError> {
        let bad = |key: &'static str, message: String| Err(ConfigError { key, message });
        for (key, v) in [("log.origin", &self.log.origin), ("log.partition", &self.log.partition)] {
            if let Some(c) = v.chars().find(|c| c.is_control()) {
                return bad(key, format!("{v:?} contains the control character {c:?}; an origin is one line"));
            }
            if v.trim() != v {
                return bad(key, format!("{v:?} starts or ends with white space"));
            }
        }
        if !matches!(self.log.format_version, 1 | 2) {
            return bad("log.format_version", format!("must be 1 or 2, not {}", self.log.format_version));
        }
        if self.log.format_version == 1 && (!self.log.origin.is_empty() || !self.witnesses.is_empty()) {
            return bad("log.format_version", "version 1 streams keep no log: remove log.origin and witnesses".into());
        }
        if self.log.origin.len() + self.log.partition.len() > 512 {
            return bad("log.origin", "must be at most 512 bytes".into());
        }
        if !self.log.origin.is_empty() && !self.signs() {
            return bad("log.origin", "the log needs signed checkpoints: set signing_key_file or signing_key".into());
        }
        if !self.witnesses.is_empty() && !self.signs() {
            return bad("witnesses", "witnesses cosign signed checkpoints: set signing_key_file or signing_key".into());
        }
        for w in &self.witnesses {
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                return bad("witnesses", format!("url {:?} must be an http:// or https:// URL", w.url));
            }
            crate::core::tlog::cosignature::CosignatureVerifier::parse(&w.key)
                .map_err(|e| ConfigError { key: "witnesses", message: format!("key {:?} of {}: {e}", w.key, w.url) })?;
        }
        for (i, a) in self.witnesses.iter().enumerate() {
            if self.witnesses[..i].iter().any(|b| b.key == a.key) {
                return bad("witnesses", format!("the key of {} is listed twice", a.url));
            }
        }
        if let Some(q) = self.witness_quorum
            && (q == 0 || q > self.witnesses.len() as u64)
        {
            return bad(
                "witness_quorum",
                format!("must be between 1 and the number of witnesses ({}), not {q}", self.witnesses.len()),
            );
        }
        Ok(())
    }

    /// The witnesses needed for a checkpoint to count as witnessed.
    pub fn quorum(&self) -> u64 {
        self.witness_quorum.unwrap_or(self.witnesses.len() as u64)
    }

    /// Whether a checkpoint signing key is configured (a file or a token).
    pub fn signs(&self) -> bool {
        self.signing_key_file.is_some() || self.signing_key.is_some()
    }

    fn validate_signing_key(&self) -> Result<(), ConfigError> {
        let Some(k) = &self.signing_key else { return Ok(()) };
        if self.signing_key_file.is_some() {
            return Err(ConfigError {
                key: "signing_key",
                message: "signing_key and signing_key_file are mutually exclusive: keep one".into(),
            });
        }
        match &k.pkcs11 {
            Some(p) => p.validate(),
            None => Err(ConfigError {
                key: "signing_key",
                message: "set signing_key.pkcs11 (or remove signing_key)".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let c = EngineConfig::from_json(br#"{"stream_name":"host-1","state":{"directory":"/tmp/x"}}"#).unwrap();
        assert_eq!(c.stream_name, "host-1");
        assert_eq!(c.state.directory.as_deref(), Some(std::path::Path::new("/tmp/x")));
        let e = EngineConfig::from_json(br#"{"stream_name":"a/b"}"#).unwrap_err();
        assert_eq!(e.key, "stream_name");
        assert!(e.to_string().contains("'/'"), "{e}");
        let e = EngineConfig::from_json(br#"{"stream_name":"a","bogus":1}"#).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        let e = EngineConfig::from_json(br#"{"stream_name":"a","checkpoint":{"interval":5}}"#).unwrap_err();
        assert_eq!(e.to_string(), "checkpoint.interval: must be at least 1s");
        let e = EngineConfig::from_json(br#"{"stream_name":"a","checkpoint":{"file":"/x"}}"#).unwrap_err();
        assert_eq!(e.key, "checkpoint.file");
        let c = EngineConfig::from_json(br#"{"stream_name":"a","key_file":"","key_epoch":{"records":5}}"#).unwrap();
        assert_eq!((c.key_file, c.key_epoch.records, c.key_epoch.interval), (None, 5, 60 * SECOND));
        let c = EngineConfig::from_json(
            br#"{"stream_name":"a","signal":"traces","content_hash":{"check":true,"on_mismatch":"reject"}}"#,
        )
        .unwrap();
        assert_eq!((c.signal, c.content_hash.policy()), (Signal::Traces, content_hash::Policy::Reject));
        let e = EngineConfig::from_json(br#"{"stream_name":"a","signal":"metrics"}"#).unwrap_err();
        assert!(e.to_string().contains("metrics"), "{e}");
        let e = EngineConfig::from_json(br#"{"stream_name":"a","content_hash":{"on_mismatch":"drop"}}"#).unwrap_err();
        assert!(e.to_string().contains("drop"), "{e}");
        let e = EngineConfig::from_json(b"{").unwrap_err();
        assert!(e.to_string().contains("invalid engine configuration"), "{e}");
        let hsm = r#"{"module":"/m.so","token_label":"t","key_label":"k","pin_file":"/p"}"#;
        let c = EngineConfig::from_json(
            format!(r#"{{"stream_name":"a","signing_key":{{"pkcs11":{hsm}}},"checkpoint":{{"file":"/c"}}}}"#)
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(c.signing_key.unwrap().pkcs11.unwrap().key_label, "k");
        let e = EngineConfig::from_json(
            format!(r#"{{"stream_name":"a","signing_key_file":"/s","signing_key":{{"pkcs11":{hsm}}}}}"#).as_bytes(),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "signing_key: signing_key and signing_key_file are mutually exclusive: keep one");
        let e = EngineConfig::from_json(br#"{"stream_name":"a","signing_key":{}}"#).unwrap_err();
        assert_eq!(e.key, "signing_key");
        for (field, json) in [
            ("module", r#"{"token_label":"t","key_label":"k","pin_file":"/p"}"#),
            ("token_label", r#"{"module":"/m.so","key_label":"k","pin_file":"/p"}"#),
            ("key_label", r#"{"module":"/m.so","token_label":"t","pin_file":"/p"}"#),
            ("key_label", r#"{"module":"/m.so","token_label":"t","key_label":"a b","pin_file":"/p"}"#),
            ("pin_file", r#"{"module":"/m.so","token_label":"t","key_label":"k"}"#),
        ] {
            let e = EngineConfig::from_json(
                format!(r#"{{"stream_name":"a","signing_key":{{"pkcs11":{json}}}}}"#).as_bytes(),
            )
            .unwrap_err();
            assert_eq!(e.key, format!("signing_key.pkcs11.{field}").as_str(), "{e}");
        }
        let e = EngineConfig::from_json(br#"{"stream_name":"a","signing_key":{"pkcs11":{"modul":"/m"}}}"#).unwrap_err();
        assert!(e.to_string().contains("modul"), "{e}");
        assert!(e.to_string().contains("invalid engine configuration"), "{e}");
    }
}
