//! Splitting a file into JSON values (JSON lines, or values separated by
//! any whitespace), each with the line it starts on, parsed one at a time.

/// Deepest JSON nesting accepted before parsing: canonical-form values may
/// nest [`crate::core::canonical::MAX_DEPTH`] deep, which takes at most four JSON
/// levels each, plus the levels around a record.
pub const MAX_JSON_DEPTH: usize = crate::core::canonical::MAX_DEPTH * 4 + 16;

/// The JSON values in `bytes`, each with the 1-based line it starts on.
/// Values may be separated by newlines (JSON lines) or just whitespace. A
/// value that does not parse is an error for its line; reading stops there,
/// because the next value's start cannot be known.
pub fn json_values(bytes: &[u8]) -> Vec<(u64, Result<serde_json::Value, String>)> {
    let mut out = Vec::new();
    for_each_json_value(bytes, |line, v| out.push((line, v)));
    out
}

/// Like [`json_values`], handing each value to `f` as soon as it is parsed,
/// so that only one is in memory at a time.
pub fn for_each_json_value(bytes: &[u8], mut f: impl FnMut(u64, Result<serde_json::Value, String>)) {
    let mut pos = 0;
    let mut line = 1u64;
    while pos < bytes.len() {
        // Skip whitespace, counting lines.
        while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
            if bytes[pos] == b'\n' {
                line += 1;
            }
            pos += 1;
        }
        if pos >= bytes.len() {
            break;
        }
        let rest = &bytes[pos..];
        if let Err(e) = check_depth(rest) {
            f(line, Err(e));
            break;
        }
        let mut de = serde_json::Deserializer::from_slice(rest);
        de.disable_recursion_limit();
        let mut stream = de.into_iter::<serde_json::Value>();
        match stream.next() {
            Some(Ok(v)) => {
                let used = stream.byte_offset();
                f(line, Ok(v));
                line += rest[..used].iter().filter(|&&b| b == b'\n').count() as u64;
                pos += used;
            }
            Some(Err(e)) => {
                f(line, Err(format!("not JSON: {e}")));
                break;
            }
            None => break,
        }
    }
}

/// Rejects a JSON value nested deeper than [`MAX_JSON_DEPTH`] before the
/// parser recurses into it. Scans only the first value.
fn check_depth(bytes: &[u8]) -> Result<(), String> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(format!("JSON nested deeper than {MAX_JSON_DEPTH} levels"));
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Ok(());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_and_concatenated_values_with_line_numbers() {
        let text = b"{\"a\":1}\n\n{\"b\":\n2}\n{\"c\":3} {\"d\":4}\n";
        let v = json_values(text);
        let lines: Vec<u64> = v.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![1, 3, 5, 5]);
        assert!(v.iter().all(|(_, r)| r.is_ok()));
    }

    #[test]
    fn garbage_is_an_error_on_its_line() {
        let v = json_values(b"{\"a\":1}\n{oops\n{\"b\":2}\n");
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].0, 2);
        assert!(v[1].1.as_ref().unwrap_err().contains("not JSON"));
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let v = json_values(deep.as_bytes());
        assert!(v[0].1.as_ref().unwrap_err().contains("nested deeper"));
        // Brackets inside strings do not count.
        let ok = format!("{{\"s\":\"{}\"}}", "[".repeat(1000));
        assert!(json_values(ok.as_bytes())[0].1.is_ok());
    }
}
