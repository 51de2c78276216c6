//! Finding and reading exported files: the fileexporter's JSON lines, one
//! OTLP/JSON export request per line, or objects written one per file (as
//! awss3exporter does), optionally gzip-compressed.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Expands the command-line paths into a sorted list of regular files.
/// Directories are walked recursively; symbolic links to directories are
/// not followed (they could loop).
pub fn discover(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, &mut files, &mut errors),
            Ok(_) => files.push(p.clone()),
            Err(e) => errors.push((p.clone(), e.to_string())),
        }
    }
    files.sort();
    files.dedup();
    (files, errors)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<(PathBuf, String)>) {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push((dir.to_path_buf(), e.to_string()));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                errors.push((dir.to_path_buf(), e.to_string()));
                continue;
            }
        };
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, files, errors),
            Ok(t) if t.is_file() => files.push(path),
            Ok(t) if t.is_symlink() => match fs::metadata(&path) {
                Ok(m) if m.is_file() => files.push(path),
                _ => {}
            },
            Ok(_) => {}
            Err(e) => errors.push((path, e.to_string())),
        }
    }
}

/// Reads a whole file, gunzipping it when it starts with the gzip magic.
pub fn read(path: &Path) -> Result<Vec<u8>, String> {
    let raw = fs::read(path).map_err(|e| e.to_string())?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out).map_err(|e| format!("gzip: {e}"))?;
        return Ok(out);
    }
    Ok(raw)
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
