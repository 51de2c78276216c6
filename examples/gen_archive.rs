//! A benchmark tool, not a user command: writes an archive of stamped
//! audit records as the file exporter writes them (OTLP/JSON, one export
//! request per line, files rotated), stamped by the real engine, for
//! `make bench-verify` (tests/bench/verify.sh). Also reads files back
//! parse-only (each line into a JSON tree and nothing else), the floor
//! under what `auditchain verify` does with the same bytes.
//!
//! ```text
//! gen_archive write --out DIR --records N [--streams S] [--batch B] [--file-records F] [--shuffle] [--keyed] [--proto]
//! gen_archive parse FILE...
//! ```
//!
//! The files go to DIR/data/sNN/audit-NNNNN.json, one directory per stream.
//! `--keyed` writes DIR/keys/{chain.key,sign.key,bench.pub} and stamps
//! keyed, signed streams (checkpoints every 10,000 records). `--shuffle`
//! writes each file's lines in a random (seeded) order, as an archive
//! copied out of order would hold them. Records are one millisecond apart.

#[path = "../tests/support/mod.rs"]
mod support;

use auditchain::core::keys::{self, KeySet};
use auditchain::engine::Engine;
use auditchain::engine::config::{CheckpointConfig, EngineConfig, KeyEpochConfig};
use clap::{Parser, Subcommand};
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use support::{SEC, T0, audit_record, close_delivered, deliver, request, request_json};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Write {
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        records: u64,
        #[arg(long, default_value_t = 1)]
        streams: u64,
        #[arg(long, default_value_t = 1000)]
        batch: u64,
        #[arg(long, default_value_t = 250_000)]
        file_records: u64,
        #[arg(long)]
        shuffle: bool,
        #[arg(long)]
        keyed: bool,
        /// Write the file exporter's `format: proto` (length-prefixed
        /// messages) instead of JSON lines.
        #[arg(long)]
        proto: bool,
    },
    Parse {
        files: Vec<PathBuf>,
    },
}

fn main() -> Result<(), String> {
    match Cli::parse().command {
        Command::Write { out, records, streams, batch, file_records, shuffle, keyed, proto } => {
            let layout = Layout { batch: batch.max(1), file_records: file_records.max(batch), shuffle, proto };
            write_archive(&out, records, streams.max(1), keyed, layout)
        }
        Command::Parse { files } => parse_only(&files),
    }
}

/// The key files of a keyed archive, written once under DIR/keys.
fn write_keys(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let set = KeySet::generate("bench")?;
    let (chain, sign) = (dir.join("chain.key"), dir.join("sign.key"));
    keys::write_new_file(&chain, &set.chain.to_file_string(), 0o600)?;
    keys::write_new_file(&sign, &set.signer.private_key_string(), 0o600)?;
    std::fs::write(dir.join("bench.pub"), set.signer.verifier().public_key_string()).map_err(|e| e.to_string())?;
    Ok((chain, sign))
}

fn engine(stream: u64, keys: Option<&(PathBuf, PathBuf)>) -> Result<Engine, String> {
    let mut cfg = EngineConfig::new(&format!("bench-s{stream}"));
    if let Some((chain, sign)) = keys {
        cfg.key_file = Some(chain.clone());
        cfg.signing_key_file = Some(sign.clone());
        cfg.key_epoch = KeyEpochConfig { records: 100_000, interval: 3600 * SEC };
        cfg.checkpoint = CheckpointConfig { interval: 3600 * SEC, records: 10_000, file: None };
        // One log per engine (SPEC §5.5): engines signing with one key
        // must not share its name as their origin, or their logs fork.
        cfg.log.origin = format!("bench/s{stream:02}");
    }
    Engine::new(cfg, T0).map_err(|e| e.to_string())
}

/// How the records are written: requests of `batch` records, files of
/// `file_records`, each file's requests in order or shuffled, as JSON
/// lines or length-prefixed protobuf messages.
#[derive(Clone, Copy)]
struct Layout {
    batch: u64,
    file_records: u64,
    shuffle: bool,
    proto: bool,
}

/// Requests of one rotated file, written in order or shuffled.
struct Rotating {
    dir: PathBuf,
    file: u64,
    lines: Vec<Vec<u8>>,
    shuffle: bool,
    proto: bool,
    rng: u64,
}

impl Rotating {
    fn flush(&mut self) -> Result<(), String> {
        if self.lines.is_empty() {
            return Ok(());
        }
        if self.shuffle {
            // Fisher-Yates with a xorshift: deterministic, no dependency.
            for i in (1..self.lines.len()).rev() {
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 7;
                self.rng ^= self.rng << 17;
                self.lines.swap(i, (self.rng % (i as u64 + 1)) as usize);
            }
        }
        let ext = if self.proto { "pb" } else { "json" };
        let path = self.dir.join(format!("audit-{:05}.{ext}", self.file));
        let f = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut w = BufWriter::new(f);
        for l in self.lines.drain(..) {
            let written = if self.proto {
                w.write_all(&(l.len() as u32).to_be_bytes()).and_then(|_| w.write_all(&l))
            } else {
                w.write_all(&l).and_then(|_| w.write_all(b"\n"))
            };
            written.map_err(|e| e.to_string())?;
        }
        w.flush().map_err(|e| e.to_string())?;
        self.file += 1;
        Ok(())
    }
}

fn write_archive(out: &Path, records: u64, streams: u64, keyed: bool, layout: Layout) -> Result<(), String> {
    let keys = if keyed { Some(write_keys(&out.join("keys"))?) } else { None };
    let per_stream = records / streams;
    // The streams are independent engines: written on all cores.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let keys = keys.as_ref();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.min(streams))
            .map(|w| {
                scope.spawn(move || -> Result<(), String> {
                    for s in (w..streams).step_by(threads as usize) {
                        write_stream(out, s, keys, per_stream, layout)?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|h| h.join().map_err(|_| "a writer thread panicked".to_string())?)
    })
}

/// One stream's files, stamped by its own engine.
fn write_stream(
    out: &Path,
    s: u64,
    keys: Option<&(PathBuf, PathBuf)>,
    per_stream: u64,
    layout: Layout,
) -> Result<(), String> {
    let Layout { batch, file_records, shuffle, proto } = layout;
    let e = engine(s, keys)?;
    let dir = out.join("data").join(format!("s{s:02}"));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut files = Rotating { dir, file: 0, lines: Vec::new(), shuffle, proto, rng: 0x9E37_79B9_7F4A_7C15 ^ s };
    let encode =
        |req: &_| if proto { prost::Message::encode_to_vec(req) } else { request_json(req).to_string().into_bytes() };
    let (mut done, mut in_file, mut t) = (0u64, 0u64, T0);
    while done < per_stream {
        let n = batch.min(per_stream - done);
        t += n * 1_000_000;
        let req = deliver(&e, request((done..done + n).map(audit_record)), t);
        files.lines.push(encode(&req));
        done += n;
        in_file += n;
        if in_file >= file_records {
            files.flush()?;
            in_file = 0;
        }
    }
    let last = close_delivered(&e, t + SEC);
    files.lines.push(encode(&last));
    files.flush()
}

/// Every line of every file parsed into a JSON tree: the parse-only floor.
fn parse_only(files: &[PathBuf]) -> Result<(), String> {
    let (mut lines, mut bytes) = (0u64, 0u64);
    let t = std::time::Instant::now();
    for path in files {
        let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for line in std::io::BufReader::with_capacity(1 << 20, f).lines() {
            let line = line.map_err(|e| e.to_string())?;
            bytes += line.len() as u64 + 1;
            let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| e.to_string())?;
            std::hint::black_box(&v);
            lines += 1;
        }
    }
    let s = t.elapsed().as_secs_f64();
    println!("{{\"lines\":{lines},\"bytes\":{bytes},\"seconds\":{s:.3}}}");
    Ok(())
}
