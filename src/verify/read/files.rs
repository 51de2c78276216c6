//! Finding and opening exported files, and taking off their compression:
//! gzip (several members) and zstd (several frames), each bounded
//! (docs/SPEC.md §8.0, "Inputs"). What the bytes inside are is told by
//! [`super::input`].
//!
//! Directories are walked recursively and symbolic links followed, each
//! directory and file once: a link back into a directory being walked is a
//! loop and reported, as is a dangling link. Anything that is not a
//! regular file or a directory (a FIFO, a socket, a device) is refused:
//! reading it could block forever or never end.

use std::collections::HashSet;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// How far one gzip-compressed file may expand (16 GiB): past it, the rest
/// of the file is refused (a gzip bomb expands a thousandfold).
pub const MAX_DECOMPRESSED_BYTES: u64 = 16 << 30;

/// What a file system object is, said for a message.
fn kind(t: fs::FileType) -> &'static str {
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// Why a path cannot be followed: a dangling link, a link loop, or another
/// error.
fn follow_error(path: &Path, e: &std::io::Error) -> String {
    let link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    match (link, e.raw_os_error()) {
        (true, Some(libc::ELOOP)) => "symbolic link loop: the link leads back to itself".into(),
        (true, _) if e.kind() == std::io::ErrorKind::NotFound => match fs::read_link(path) {
            Ok(target) => format!("dangling symbolic link to {}", target.display()),
            Err(_) => "dangling symbolic link".into(),
        },
        _ => e.to_string(),
    }
}

struct Walk {
    files: Vec<(PathBuf, (u64, u64))>,
    errors: Vec<(PathBuf, String)>,
    /// Directories walked, by device and inode: each once.
    seen_dirs: HashSet<(u64, u64)>,
}

impl Walk {
    /// Adds `path`, following a link; `ancestors` are the directories being
    /// walked above it (a link back to one of them is a loop).
    fn add(&mut self, path: &Path, ancestors: &mut Vec<(u64, u64)>) {
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) => return self.errors.push((path.to_path_buf(), follow_error(path, &e))),
        };
        let id = (meta.dev(), meta.ino());
        if meta.is_file() {
            self.files.push((path.to_path_buf(), id));
        } else if meta.is_dir() {
            if ancestors.contains(&id) {
                let message = "symbolic link loop: it leads back to a directory that contains it".into();
                self.errors.push((path.to_path_buf(), message));
            } else if self.seen_dirs.insert(id) {
                ancestors.push(id);
                self.walk(path, ancestors);
                ancestors.pop();
            }
        } else {
            let message = format!("{}: only regular files and directories are read", kind(meta.file_type()));
            self.errors.push((path.to_path_buf(), message));
        }
    }

    fn walk(&mut self, dir: &Path, ancestors: &mut Vec<(u64, u64)>) {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => return self.errors.push((dir.to_path_buf(), e.to_string())),
        };
        let mut paths = Vec::new();
        for entry in entries {
            match entry {
                Ok(e) => paths.push(e.path()),
                Err(e) => self.errors.push((dir.to_path_buf(), e.to_string())),
            }
        }
        paths.sort();
        for p in paths {
            self.add(&p, ancestors);
        }
    }
}

/// Expands the command-line paths into a sorted list of regular files,
/// each once (by device and inode), with the paths that could not be
/// followed or are not regular files.
pub fn discover(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut w = Walk { files: Vec::new(), errors: Vec::new(), seen_dirs: HashSet::new() };
    for p in paths {
        w.add(p, &mut Vec::new());
    }
    w.files.sort();
    let mut seen = HashSet::new();
    let files = w.files.into_iter().filter(|(_, id)| seen.insert(*id)).map(|(p, _)| p).collect();
    (files, w.errors)
}

/// Counts what a decompressor yields and fails past a bound.
struct Bounded<R> {
    inner: R,
    left: u64,
    limit: u64,
    what: &'static str,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // Everything up to the bound was handed out: is there more?
            return match self.inner.read(&mut [0u8; 1])? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(format!(
                    "{}: the file expands to more than {} MiB; the rest of it is not read",
                    self.what,
                    self.limit >> 20
                ))),
            };
        }
        let room = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..room])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Opens a file for reading, decompressing it when it starts with the gzip
/// or the zstd magic (decompressed to at most `max_decompressed` bytes).
/// Refuses anything but a regular file, without blocking on a FIFO. The
/// bytes read from the file itself are counted for the progress line.
pub fn open(path: &Path, max_decompressed: u64) -> Result<Box<dyn Read + Send>, String> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| follow_error(path, &e))?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err(format!("{}: only regular files and directories are read", kind(meta.file_type())));
    }
    decompress(Box::new(super::progress::Counted(file)), max_decompressed)
}

/// Standard input (`-`), decompressed like a file; the bytes read are
/// counted for the progress line.
pub fn stdin(max_decompressed: u64) -> Result<Box<dyn Read + Send>, String> {
    decompress(Box::new(super::progress::Counted(std::io::stdin())), max_decompressed)
}

/// The gzip magic (RFC 1952).
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The magic number of a zstd frame (RFC 8878 §3.1.1), little-endian 0xFD2FB528.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Takes off gzip or zstd (recognised by their magic numbers, not by a
/// file name), each at most once, bounded by `max_decompressed`; anything
/// else is handed back as it is.
pub fn decompress(raw: Box<dyn Read + Send>, max_decompressed: u64) -> Result<Box<dyn Read + Send>, String> {
    let (head, reader) = peek(raw, 4).map_err(|e| e.to_string())?;
    let reader = BufReader::with_capacity(1 << 16, reader);
    if head.starts_with(&GZIP_MAGIC) {
        let gz = flate2::bufread::MultiGzDecoder::new(reader);
        let gz = Labelled("gzip", Bounded { inner: gz, left: max_decompressed, limit: max_decompressed, what: "gzip" });
        // A zstd file gzipped once more: its first bytes tell.
        let (inner_head, inner) = peek(Box::new(gz), 4).map_err(|e| e.to_string())?;
        if inner_head.starts_with(&ZSTD_MAGIC) {
            return Ok(Box::new(zstd(BufReader::with_capacity(1 << 16, inner), max_decompressed)));
        }
        return Ok(inner);
    }
    if head.starts_with(&ZSTD_MAGIC) {
        return Ok(Box::new(zstd(reader, max_decompressed)));
    }
    Ok(Box::new(reader))
}

fn zstd<R: BufRead + Send + 'static>(reader: R, max_decompressed: u64) -> impl Read + Send {
    let z = super::zstd::Frames::new(reader);
    Labelled("zstd", Bounded { inner: z, left: max_decompressed, limit: max_decompressed, what: "zstd" })
}

/// The first `n` bytes of `reader` (fewer only when it ends before), and a
/// reader of all of it, those bytes included. Reads until it has them: a
/// pipe may hand them over a few at a time.
/// A read error there is handed on after those bytes (so that what came
/// before a damaged part is read); it fails only when nothing came before.
pub fn peek(mut reader: Box<dyn Read + Send>, n: usize) -> std::io::Result<(Vec<u8>, Box<dyn Read + Send>)> {
    let mut head = Vec::with_capacity(n);
    while head.len() < n {
        match (&mut reader).take((n - head.len()) as u64).read_to_end(&mut head) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if head.is_empty() => return Err(e),
            Err(e) => {
                let rest = Failing(Some(e));
                return Ok((head.clone(), Box::new(std::io::Cursor::new(head).chain(rest))));
            }
        }
    }
    Ok((head.clone(), Box::new(std::io::Cursor::new(head).chain(reader))))
}

/// A reader that fails once with a given error, then ends.
struct Failing(Option<std::io::Error>);

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        self.0.take().map_or(Ok(0), Err)
    }
}

/// Says "gzip:" or "zstd:" in front of a decompressor's errors.
struct Labelled<R>(&'static str, R);

impl<R: Read> Read for Labelled<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.1.read(buf).map_err(|e| {
            let text = e.to_string();
            if text.starts_with(self.0) { e } else { std::io::Error::other(format!("{}: {text}", self.0)) }
        })
    }
}

/// Reads a whole (small) file, gunzipping it: for tests and tools.
pub fn read(path: &Path) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    open(path, MAX_DECOMPRESSED_BYTES)?.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_transparent() {
        use std::io::Write;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.json.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"{\"a\":1}\n").unwrap();
        fs::write(&p, enc.finish().unwrap()).unwrap();
        assert_eq!(read(&p).unwrap(), b"{\"a\":1}\n");
    }
}
