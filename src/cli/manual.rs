//! `auditchain completions` and `auditchain man`: shell completions and
//! man pages, generated from the clap definitions so that they never
//! disagree with the parser.

use super::exit::Exit;
use super::{CompletionsArgs, Error, ManArgs, command};
use std::io::Write;

pub fn completions(args: CompletionsArgs) -> Result<Exit, Error> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut command(), "auditchain", &mut out);
    out.flush()?;
    Ok(Exit::Ok)
}

/// auditchain.1 and auditchain-<subcommand>.1 for every visible subcommand.
pub fn man(args: ManArgs) -> Result<Exit, Error> {
    std::fs::create_dir_all(&args.out_dir).map_err(|e| format!("cannot create {}: {e}", args.out_dir.display()))?;
    clap_mangen::generate_to(command(), &args.out_dir)
        .map_err(|e| format!("cannot write man pages into {}: {e}", args.out_dir.display()))?;
    let mut pages: Vec<_> = std::fs::read_dir(&args.out_dir)?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.starts_with("auditchain") && n.ends_with(".1"))
        .collect();
    pages.sort();
    let mut out = std::io::stdout().lock();
    for p in pages {
        writeln!(out, "{}", args.out_dir.join(p).display())?;
    }
    Ok(Exit::Ok)
}
