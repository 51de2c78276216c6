//! Command-line parsing and dispatch.

mod canonical;
pub mod exit;
mod human;
mod keygen;
mod manual;
mod pkcs11;
mod progress;
mod prove;
mod retention;
mod verify;

use clap::{Parser, Subcommand, ValueEnum};
use exit::Exit;
use std::path::PathBuf;
use std::sync::LazyLock;

/// `auditchain 0.1.0 (spec 1, otlp-jcs-v1)`: the crate, the version of
/// docs/SPEC.md and the canonicalisation it implements.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} (spec {}, {})",
        env!("CARGO_PKG_VERSION"),
        auditchain::core::SPEC_VERSION,
        auditchain::core::canonical::CANONICALIZATION
    )
});

/// Tamper-evident audit logs for the OpenTelemetry Collector.
#[derive(Parser)]
#[command(name = "auditchain", version = VERSION.as_str(), about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify exported audit files: every stream, every record, every link.
    ///
    /// Reads files and directories (recursively), standard input (`-`) and
    /// S3 locations, as the exporters write them: the fileexporter's
    /// format json (OTLP/JSON lines) and proto (length-prefixed protobuf),
    /// with or without its compression zstd, rotated files, awss3exporter
    /// objects (otlp_json, otlp_proto), gzip or zstd compressed, logs and
    /// traces mixed, in any order. What a file holds is told from its first
    /// bytes; a file that is none of these is an input error. Exit status:
    /// 0 when every stream verifies, 1 on any integrity failure, 2 on usage
    /// or input errors.
    ///
    /// A period (--since, --until) is verified from each stream's newest
    /// valid checkpoint at or before its start; a partial copy with
    /// --stream. Large archives: --summary-out per shard (exit 0 when
    /// written, no verdict), then --merge over the summaries, with the
    /// keys: the report of one run over every file (SPEC §11).
    Verify(VerifyArgs),
    /// Write an inclusion proof of one record (C2SP tlog-proof), or a
    /// consistency proof between two checkpoints, of a transparency log
    /// (format version 2 streams, SPEC §5.5).
    ///
    /// Reads the files as verify does and proves against a valid checkpoint
    /// whose root the records give: the newest covering the record, a
    /// witnessed one (with --witness-policy or --witness-checkpoint) when
    /// there is one. The proof is checked before it is written. Exit status:
    /// 0 when written, 2 when no proof can be made (or on usage errors).
    Prove(ProveArgs),
    /// Check a proof offline: an inclusion proof with the record, or a
    /// consistency proof, with the log's public key and, when given, a
    /// witness policy.
    ///
    /// Exit status: 0 when the proof verifies, 1 when it does not (a record,
    /// proof or checkpoint changed, a cosignature forged, the quorum
    /// missed), 2 on usage or input errors.
    #[command(name = "verify-proof")]
    VerifyProof(VerifyProofArgs),
    /// Print the canonical form of every record, one per line, with its
    /// record hash (for implementers and investigations); reads every
    /// format verify reads, `-` for standard input.
    Canonical(CanonicalArgs),
    /// Create a key set: a chain key (keyed chain) and a signing key
    /// (checkpoints), and print the public key and key ids.
    ///
    /// Writes <NAME>.chain.key and <NAME>.sign.key (mode 0600) and
    /// <NAME>.pub. Give the collector the two secret files (key_file,
    /// signing_key_file); keep the chain key for the verifier and off the
    /// collector host once its stream has started; publish the .pub file.
    Keygen(KeygenArgs),
    /// Print the public key of an Ed25519 key pair on a PKCS#11 token, in the
    /// form `verify --public-key` takes (`<label>+<hash>+<key>`).
    ///
    /// For a collector configured with `signing_key: {pkcs11: …}`: the key
    /// name in its checkpoints is the key label. Save the output as
    /// NAME.pub and publish it like keygen's.
    #[command(name = "pkcs11-pubkey")]
    Pkcs11Pubkey(Pkcs11PubkeyArgs),
    /// Print a shell completion script.
    ///
    /// bash: `auditchain completions bash > /etc/bash_completion.d/auditchain`;
    /// zsh: into a directory of $fpath as `_auditchain`; fish: into
    /// ~/.config/fish/completions/auditchain.fish.
    Completions(CompletionsArgs),
    /// Write the man pages (auditchain.1 and one per subcommand) into a
    /// directory (`make man`).
    #[command(hide = true)]
    Man(ManArgs),
}

#[derive(clap::Args)]
pub struct Pkcs11PubkeyArgs {
    /// The token's PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so).
    #[arg(long, value_name = "FILE")]
    module: PathBuf,
    /// The token's label.
    #[arg(long, value_name = "LABEL")]
    token_label: String,
    /// The key pair's label.
    #[arg(long, value_name = "LABEL")]
    key_label: String,
    /// A file holding the user PIN (mode 0600), for tokens that show public
    /// keys only after login.
    #[arg(long, value_name = "FILE")]
    pin_file: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(clap::Args)]
pub struct ManArgs {
    /// Directory to write the pages to (created if missing).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
}

#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Key name (appears in checkpoint signatures and key ids).
    #[arg(long, default_value = "auditchain")]
    name: String,
    /// Directory to write the key files to.
    #[arg(long, default_value = ".", value_name = "DIR")]
    out_dir: PathBuf,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Files or directories to verify, `-` for standard input, or S3
    /// locations (s3://BUCKET/PREFIX: every object under the prefix, as the
    /// awss3exporter writes them; credentials and region from the AWS
    /// environment variables and ~/.aws files).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// An S3-compatible endpoint for s3:// inputs (e.g. http://127.0.0.1:9000);
    /// default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS S3 in the region.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Show each S3 object's Object Lock retention (mode, retain-until date)
    /// and legal hold, as the store reports them.
    #[arg(long)]
    show_retention: bool,
    /// Keys per ListObjectsV2 page (tests).
    #[arg(long, hide = true, value_name = "N")]
    s3_max_keys: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// When to use colours in human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// When to show a progress line on standard error (bytes and records
    /// read, rate, time left): auto shows it when standard error is a
    /// terminal.
    #[arg(long, value_enum, default_value_t = progress::When::Auto, value_name = "WHEN")]
    progress: progress::When,
    /// Report records without a stamp as a warning, not a failure.
    #[arg(long)]
    allow_unstamped: bool,
    /// Show info findings (restarts, lineage) in human output.
    #[arg(long, short)]
    verbose: bool,
    /// Chain key file (from `auditchain keygen`), to verify keyed streams.
    /// Repeat for streams keyed with different keys.
    #[arg(long = "key", value_name = "FILE")]
    keys: Vec<PathBuf>,
    /// Public key (a .pub file or the key itself) to verify signed
    /// checkpoints. Repeat for rotated keys; matched by key id.
    #[arg(long = "public-key", value_name = "KEY")]
    public_keys: Vec<String>,
    /// The time to check heartbeats against (RFC 3339, e.g.
    /// 2026-11-22T04:00:00Z or 2026-11-22T05:00:00+01:00): when the files
    /// were copied. Default: now.
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
    /// How late a checkpoint may arrive before it counts as missing
    /// (500ms, 60s, 5m, 1h30m).
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    max_delay: String,
    /// A stream name (the processor's stream_name) that must be among the
    /// inputs: its newest stream must be present and, unless retired, not
    /// ended; with signed checkpoints, recent. Repeat for every replica.
    /// Without it, deleting a whole stream goes unnoticed.
    #[arg(long = "expect-stream-name", value_name = "NAME")]
    expect_stream_names: Vec<String>,
    /// An expected stream name whose collector was stopped for good: its
    /// newest stream may have ended.
    #[arg(long = "retired", value_name = "NAME")]
    retired: Vec<String>,
    /// A C2SP tlog-policy file (log, witness, group, quorum lines): format
    /// version 2 checkpoints must meet its quorum of cosignatures, and
    /// every cosignature of its witnesses must verify. Its log keys count
    /// as --public-key keys for their origins.
    #[arg(long, value_name = "FILE")]
    witness_policy: Option<PathBuf>,
    /// A witness's latest cosigned checkpoint of a log (the note, as its
    /// monitoring endpoint serves it): the records must be consistent with
    /// it and every leaf below its size present. Repeatable.
    #[arg(long = "witness-checkpoint", value_name = "FILE")]
    witness_checkpoints: Vec<PathBuf>,
    /// Verify a period: from each stream's newest valid checkpoint at or
    /// before TIME (RFC 3339, with an offset or Z). Records before it are
    /// not required; a stream with no such checkpoint among the inputs
    /// (and no start record) is reported unanchored.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// End the period at each stream's first valid checkpoint at or after
    /// TIME (RFC 3339); heartbeats are judged as of TIME.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Verify only this stream (a partial copy). Repeatable.
    #[arg(long = "stream", value_name = "ID")]
    streams: Vec<String>,
    /// Write a shard summary to FILE instead of a report (JSON lines,
    /// SPEC §11): what `--merge` needs to give the verdict of one run
    /// over every shard's files. Exit status 0 when written. The window,
    /// keys and policy are the merge's flags.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["merge", "since", "until", "streams"])]
    summary_out: Option<PathBuf>,
    /// The PATHs are shard summaries (from --summary-out): merge them and
    /// verify as one run over all their files.
    #[arg(long)]
    merge: bool,
    /// Records held in memory before they are sorted and written to
    /// temporary files (in TMPDIR, about 140 bytes a record, removed on
    /// exit): memory stays bounded whatever the archive's size. 0: keep
    /// every record in memory.
    #[arg(long, default_value_t = auditchain::verify::SPILL_AFTER, value_name = "RECORDS")]
    spill_after: usize,
    /// Threads that read and hash the files (default: one per CPU this
    /// process may use, at most 8). 1 reads on one thread.
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
}

#[derive(clap::Args)]
pub struct ProveArgs {
    /// Files or directories holding the log's records and checkpoint lines.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// The record to prove: its stream id and sequence number.
    #[arg(long, value_name = "STREAM:SEQ", required_unless_present = "consistency", conflicts_with = "consistency")]
    record: Option<String>,
    /// Write the record, as one OTLP/JSON export request, to FILE (what
    /// verify-proof --record takes).
    #[arg(long, value_name = "FILE", requires = "record")]
    record_out: Option<PathBuf>,
    /// Prove the checkpoint of this size consistent with a newer one.
    #[arg(long, value_name = "OLD_SIZE")]
    consistency: Option<u64>,
    /// The newer checkpoint's size (default: the newest, a witnessed one when
    /// there is one).
    #[arg(long, value_name = "NEW_SIZE", requires = "consistency")]
    to: Option<u64>,
    /// The log, when the inputs hold several.
    #[arg(long, value_name = "ORIGIN")]
    origin: Option<String>,
    /// Write the proof to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The log's public key (a .pub file or the key itself). Repeat for
    /// rotated keys.
    #[arg(long = "public-key", value_name = "KEY")]
    public_keys: Vec<String>,
    /// Chain key file, to check keyed streams' links.
    #[arg(long = "key", value_name = "FILE")]
    keys: Vec<PathBuf>,
    /// A C2SP tlog-policy file: prefer a checkpoint that meets its quorum.
    #[arg(long, value_name = "FILE")]
    witness_policy: Option<PathBuf>,
    /// A witness's cosigned checkpoint note (repeatable).
    #[arg(long = "witness-checkpoint", value_name = "FILE")]
    witness_checkpoints: Vec<PathBuf>,
}

#[derive(clap::Args)]
pub struct VerifyProofArgs {
    /// The proof: a c2sp.org/tlog-proof@v1 (with --record), or an
    /// auditchain.tlog-consistency@v1 (with --consistency).
    #[arg(value_name = "PROOF")]
    proof: PathBuf,
    /// The record proven: one OTLP/JSON export request holding it (prove
    /// --record-out writes it).
    #[arg(long, value_name = "FILE", required_unless_present = "consistency", conflicts_with = "consistency")]
    record: Option<PathBuf>,
    /// PROOF is a consistency proof between two checkpoints.
    #[arg(long)]
    consistency: bool,
    /// The log's public key (a .pub file or the key itself). Repeat for
    /// rotated keys. A policy's log lines count as well.
    #[arg(long = "public-key", value_name = "KEY")]
    public_keys: Vec<String>,
    /// A C2SP tlog-policy file: the checkpoint must meet its quorum and every
    /// cosignature of its witnesses must verify.
    #[arg(long, value_name = "FILE")]
    witness_policy: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct CanonicalArgs {
    /// Exported files (OTLP/JSON, protobuf, gzip or zstd), or `-`.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// A failure of the command itself (not a verification verdict).
pub type Error = Box<dyn std::error::Error>;

/// The clap definition of the whole command line, for completions and man
/// pages.
fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

pub fn run() -> Result<Exit, Error> {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Help and version go to stdout with status 0; usage errors exit 2.
            e.print()?;
            return Ok(if e.use_stderr() { Exit::Error } else { Exit::Ok });
        }
    };
    match cli.command {
        Command::Verify(args) => verify::run(args),
        Command::Prove(args) => prove::prove(args),
        Command::VerifyProof(args) => prove::verify_proof(args),
        Command::Canonical(args) => canonical::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Pkcs11Pubkey(args) => pkcs11::run(args),
        Command::Completions(args) => manual::completions(args),
        Command::Man(args) => manual::man(args),
    }
}
