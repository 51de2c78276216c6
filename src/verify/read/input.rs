//! What an input holds, told from its first bytes (after
//! [`super::files::decompress`] took off gzip or zstd), never from its
//! name (docs/SPEC.md §8.0): OTLP/JSON values (JSON lines), length-prefixed
//! protobuf messages (the fileexporter's `format: proto`, and any format
//! with its per-message `compression: zstd`), or one protobuf export
//! request (an awss3exporter `otlp_proto` object). Anything else is an
//! input error that names the file.

use super::files::{ZSTD_MAGIC, peek};
use std::io::Read;

/// How much of an input is looked at to tell what it is.
const HEAD: usize = 64 << 10;

/// An input, told apart.
pub enum Content {
    /// JSON values separated by whitespace (JSON lines).
    Json(Box<dyn Read + Send>),
    /// Messages, each preceded by its length (4 bytes, big-endian).
    Framed(Box<dyn Read + Send>),
    /// One protobuf export request: the whole input.
    Message(Box<dyn Read + Send>),
}

/// Whether `b` can begin a message of the inputs: a protobuf export
/// request (field 1, length-delimited: 0x0a), a zstd frame, an OTLP/JSON
/// object.
fn message_start(b: &[u8]) -> bool {
    match b.first() {
        Some(0x0a | b'{') => true,
        Some(0x28) => ZSTD_MAGIC.starts_with(&b[..b.len().min(4)]),
        _ => false,
    }
}

/// Tells what `reader` holds. `max_value` bounds a message, as it bounds a
/// JSON value.
pub fn classify(reader: Box<dyn Read + Send>, max_value: usize) -> Result<Content, String> {
    let (head, reader) = peek(reader, HEAD).map_err(|e| e.to_string())?;
    match head.iter().position(|b| !b.is_ascii_whitespace()) {
        // Empty, or only whitespace: no values.
        None => return Ok(Content::Json(reader)),
        Some(i) if head[i] == b'{' => return Ok(Content::Json(reader)),
        _ => {}
    }
    if head[0] == 0x0a {
        return Ok(Content::Message(reader));
    }
    if head.len() >= 4 {
        let len = u32::from_be_bytes(head[..4].try_into().expect("4 bytes")) as usize;
        if len <= max_value && (message_start(&head[4..]) || len == 0 && head.len() >= 8) {
            return Ok(Content::Framed(reader));
        }
    }
    // JSON lines whose first line is damaged: an export request or a
    // checkpoint line begins further on.
    if super::json::OPENERS.iter().any(|o| head.windows(o.len()).any(|w| w == *o)) {
        return Ok(Content::Json(reader));
    }
    let shown: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Err(format!(
        "not a file the exporters write: neither OTLP/JSON lines, length-prefixed OTLP protobuf (fileexporter format proto or compression zstd), one OTLP protobuf export request (awss3exporter otlp_proto), nor gzip or zstd of one of them (it begins with {})",
        if shown.is_empty() { "nothing".to_string() } else { shown.join(" ") }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what(bytes: &[u8]) -> Result<&'static str, String> {
        classify(Box::new(std::io::Cursor::new(bytes.to_vec())), 64 << 20).map(|c| match c {
            Content::Json(_) => "json",
            Content::Framed(_) => "framed",
            Content::Message(_) => "message",
        })
    }

    #[test]
    fn inputs_are_told_by_their_first_bytes() {
        assert_eq!(what(b"").unwrap(), "json");
        assert_eq!(what(b"\n  {\"resourceLogs\":[]}\n").unwrap(), "json");
        assert_eq!(what(&[0x0a, 0x02, 0x0a, 0x00]).unwrap(), "message");
        assert_eq!(what(&[0, 0, 0, 2, 0x0a, 0x00]).unwrap(), "framed");
        assert_eq!(what(&[0, 0, 0, 9, 0x28, 0xb5, 0x2f, 0xfd, 0]).unwrap(), "framed");
        assert_eq!(what(b"torn\"}]}\n{\"resourceLogs\":[]}\n").unwrap(), "json");
    }

    #[test]
    fn anything_else_is_refused_and_said() {
        for bytes in
            [&b"hello, world\n"[..], &[0x89, b'P', b'N', b'G', 0x0d, 0x0a], &[0, 0, 0, 2, 0xff, 0xff], &[0xff; 3]]
        {
            let e = what(bytes).unwrap_err();
            assert!(e.starts_with("not a file the exporters write"), "{e}");
        }
        assert!(what(b"hello").unwrap_err().contains("68 65 6c 6c 6f"));
        // A length past the bound.
        assert!(what(&[0x7f, 0, 0, 0, 0x0a, 0]).is_err());
    }
}
