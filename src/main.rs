//! The `auditchain` command line: verify exported audit files, and the
//! tools around it. `main` only maps the outcome of `run` to an exit code.

mod cli;

use cli::exit::{Exit, is_broken_pipe};
use std::process::ExitCode;

fn main() -> ExitCode {
    map_large_allocations();
    match cli::run() {
        Ok(exit) => exit.into(),
        Err(e) if is_broken_pipe(&*e) => Exit::Ok.into(),
        Err(e) => {
            eprintln!("auditchain: {e}");
            Exit::Error.into()
        }
    }
}

/// Buffers of 1 MiB and more (the verifier's read windows and jobs) are
/// mapped and unmapped by malloc, not cut from its heaps: glibc would
/// otherwise raise this threshold as they are freed, place them in the heaps
/// of whichever threads' arenas, and the fragments left as files come and
/// go made the peak RSS vary by half and grow with the files read (issue
/// 11; the buffers are reused within a file, so the mapping is rare).
fn map_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc parameter; it is called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
