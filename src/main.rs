//! The `auditchain` command line: verify exported audit files, and the
//! tools around it. `main` only maps the outcome of `run` to an exit code.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("auditchain: {e}");
            ExitCode::from(2)
        }
    }
}
