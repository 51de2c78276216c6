//! The `auditchain` command line: verify exported audit files, and the
//! tools around it. `main` only maps the outcome of `run` to an exit code.

mod cli;

use cli::exit::{Exit, is_broken_pipe};
use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(exit) => exit.into(),
        Err(e) if is_broken_pipe(&*e) => Exit::Ok.into(),
        Err(e) => {
            eprintln!("auditchain: {e}");
            Exit::Error.into()
        }
    }
}
