//! `auditchain verify`.

use super::exit::Exit;
use super::{ColorChoice, Error, Format, VerifyArgs, human, retention};
use auditchain::core::keys;
use auditchain::core::time;
use auditchain::verify::{Options, verify};
use std::io::{IsTerminal, Write};

pub fn run(args: VerifyArgs) -> Result<Exit, Error> {
    let mut options = Options { allow_unstamped: args.allow_unstamped, ..Options::default() };
    for k in &args.keys {
        // The chain key is a secret: the same permission rule as the collector's.
        options.chain_keys.push(keys::load_chain_key(k, "--key")?);
    }
    for k in &args.public_keys {
        options.verifiers.push(keys::load_verifier_key(k).map_err(|e| format!("--public-key {e}"))?);
    }
    if let Some(t) = &args.as_of {
        options.as_of_unix_nano = time::parse_rfc3339(t).map_err(|e| format!("--as-of {e}"))?;
    }
    options.max_delay_ns = time::parse_duration(&args.max_delay).map_err(|e| format!("--max-delay {e}"))?;
    options.s3 = retention::s3_config(&args)?;
    if let Some(name) = args.retired.iter().find(|n| !args.expect_stream_names.contains(n)) {
        return Err(format!("--retired {name}: not among the --expect-stream-name names").into());
    }
    options.policy = args.witness_policy.as_deref().map(super::prove::load_policy).transpose()?;
    options.witness_checkpoints = super::prove::load_witness_notes(&args.witness_checkpoints)?;
    if let Some(t) = &args.since {
        options.window.since = Some(time::parse_rfc3339(t).map_err(|e| format!("--since {e}"))?);
    }
    if let Some(t) = &args.until {
        options.window.until = Some(time::parse_rfc3339(t).map_err(|e| format!("--until {e}"))?);
    }
    if let (Some(a), Some(b)) = (options.window.since, options.window.until)
        && a > b
    {
        return Err("--since is after --until".into());
    }
    options.limits.spill_after = (args.spill_after > 0).then_some(args.spill_after);
    if let Some(n) = args.threads {
        options.limits.threads = usize::from(n);
    }
    options.window.streams = args.streams;
    options.expected_names = args.expect_stream_names;
    options.retired = args.retired;
    if let Some(out) = &args.summary_out {
        // A shard has no verdict: the merge gives it (SPEC §11).
        let w =
            auditchain::verify::summary::write(&args.paths, &options, out).map_err(|e| format!("--summary-out {e}"))?;
        eprintln!(
            "shard summary written to {}: {} inputs, {} records, {} input errors (no verdict: run verify --merge over every shard's summary)",
            out.display(),
            w.files,
            w.records,
            w.errors
        );
        return Ok(Exit::Ok);
    }
    let progress = super::progress::Progress::start(args.progress);
    let report = if args.merge {
        auditchain::verify::summary::merge(&args.paths, &options)
    } else {
        verify(&args.paths, &options)
    };
    if let Some(p) = progress {
        p.finish();
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Human => {
            let color = match args.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            };
            human::render(&mut out, &report, color, args.verbose)?;
            retention::render(&mut out, &report)?;
        }
    }
    out.flush()?;
    Ok(Exit::of(&report))
}
