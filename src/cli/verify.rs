//! `auditchain verify`.

use super::{human, ColorChoice, Error, Format, VerifyArgs};
use auditchain::verify::{verify, Options};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

pub fn run(args: VerifyArgs) -> Result<ExitCode, Error> {
    let report = verify(&args.paths, &Options { allow_unstamped: args.allow_unstamped });
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
        }
    }
    out.flush()?;
    Ok(ExitCode::from(report.exit_code()))
}
