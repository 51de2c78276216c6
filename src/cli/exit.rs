//! The exit status of `auditchain`, in one place (docs/SPEC.md §8).

use auditchain::verify::report::{Report, Status};
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Every stream verified (or the command did what was asked).
    Ok = 0,
    /// An integrity failure: a stream did not verify.
    Failed = 1,
    /// A usage or input error, and no integrity failure.
    Error = 2,
}

impl Exit {
    /// The status a verification report calls for.
    pub fn of(report: &Report) -> Exit {
        match report.status() {
            Status::Verified => Exit::Ok,
            Status::Failed => Exit::Failed,
            Status::Incomplete => Exit::Error,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// Whether an error is the reader of our output having gone away (`| head`):
/// then there is nobody left to tell anything, and that is no failure.
pub fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
        || e.downcast_ref::<serde_json::Error>().and_then(|e| e.io_error_kind()) == Some(std::io::ErrorKind::BrokenPipe)
}
