//! Command-line parsing and dispatch.

mod canonical;
pub mod exit;
mod human;
mod keygen;
mod verify;

use clap::{Parser, Subcommand, ValueEnum};
use exit::Exit;
use std::path::PathBuf;

/// Tamper-evident audit logs for the OpenTelemetry Collector.
#[derive(Parser)]
#[command(name = "auditchain", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify exported audit files: every stream, every record, every link.
    ///
    /// Reads files and directories (recursively) of OTLP/JSON as the
    /// fileexporter (format: json) or awss3exporter (otlp_json) write them,
    /// gzip-compressed or not, in any order. Exit status: 0 when every
    /// stream verifies, 1 on any integrity failure, 2 on usage or input
    /// errors.
    Verify(VerifyArgs),
    /// Print the canonical form of every record in OTLP/JSON files, one per
    /// line, with its record hash (for implementers and investigations).
    Canonical(CanonicalArgs),
    /// Create a key set: a chain key (keyed chain) and a signing key
    /// (checkpoints), and print the public key and key ids.
    ///
    /// Writes <NAME>.chain.key and <NAME>.sign.key (mode 0600) and
    /// <NAME>.pub. Give the collector the two secret files (key_file,
    /// signing_key_file); keep the chain key for the verifier and off the
    /// collector host once its stream has started; publish the .pub file.
    Keygen(KeygenArgs),
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
    /// Files or directories to verify.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// When to use colours in human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
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
}

#[derive(clap::Args)]
pub struct CanonicalArgs {
    /// OTLP/JSON files.
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
        Command::Canonical(args) => canonical::run(args),
        Command::Keygen(args) => keygen::run(args),
    }
}
