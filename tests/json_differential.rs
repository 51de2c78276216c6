//! The verifier's borrowed JSON reader (`verify::read::node`) against the
//! `serde_json::Value` reader it replaced, its oracle
//! (`verify::read::json::parse_strict`), through the check of the
//! json_differential fuzz target (fuzz/src/checks.rs): over the test
//! vectors, every fuzz seed corpus, and seeded random OTLP/JSON records,
//! good and damaged (repeated names, deep nesting, bad UTF-8, lone
//! surrogates, big and odd numbers).

mod support;

#[path = "../fuzz/src/checks.rs"]
#[allow(dead_code)]
mod checks;

use checks::{json_differential, json_differential_value};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_test_vectors_read_the_same() {
    let mut n = 0;
    for entry in std::fs::read_dir(root().join("tests/vectors")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read(&path).unwrap();
            json_differential(&text);
            // Each value inside, compact and as written.
            if let Ok(serde_json::Value::Array(cases)) = serde_json::from_slice(&text) {
                for case in cases {
                    json_differential_value(&serde_json::to_vec(&case).unwrap());
                    for v in case.as_object().into_iter().flat_map(|o| o.values()) {
                        json_differential_value(&serde_json::to_vec(v).unwrap());
                        json_differential_value(&serde_json::to_vec_pretty(v).unwrap());
                    }
                }
            }
            n += 1;
        }
    }
    assert!(n >= 5, "{n} vector files");
}

#[test]
fn every_fuzz_seed_reads_the_same() {
    let mut n = 0;
    for dir in std::fs::read_dir(root().join("fuzz/corpus")).unwrap() {
        for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            json_differential(&std::fs::read(f.unwrap().path()).unwrap());
            n += 1;
        }
    }
    assert!(n > 50, "{n} seeds");
}

#[test]
fn hand_picked_bad_inputs_read_the_same() {
    let deep = format!("{}1{}", "[".repeat(300), "]".repeat(300));
    let cases: Vec<&[u8]> = vec![
        b"{\"a\":1,\"a\":2}",
        b"{\"body\":1,\"b\\u006fdy\":2}",
        b"{\"a\":{\"k\":1,\"k\":1}}",
        b"[\"\\ud800\"]",
        b"[\"\\udc00\"]",
        b"[\"\\ud800\\u0041\"]",
        b"[\"\\ud800\\n\"]",
        b"[\"\\ud83d\\ude00\",\"\\u00e9\\u0000\"]",
        b"[\"\\uZZZZ\"]",
        b"[\"\\x\"]",
        b"[\"\x01\"]",
        b"[\"\xff\"]",
        b"[\"\xc3\"]",
        b"[\"\xed\xa0\x80\"]",
        b"\xef\xbb\xbf{}",
        b"[1e400]",
        b"[-1e400]",
        b"[1e-400, -0, -0.0, 0e0, 1E+2, 1.0]",
        b"[18446744073709551615, 18446744073709551616, -9223372036854775808, -9223372036854775809]",
        b"[123456789012345678, 1234567890123456789, 12345678901234567890, -123456789012345678]",
        b"[01]",
        b"[1.]",
        b"[.1]",
        b"[+1]",
        b"[1e]",
        b"[-]",
        b"[1,]",
        b"{\"a\":1,}",
        b"{\"a\" 1}",
        b"{1:1}",
        b"[tru]",
        b"[nul, null]",
        b"{} {}",
        b"",
        b"  \t\r\n {\"a\" : [ true , false , null ] } \n",
        b"\x0c{}",
        deep.as_bytes(),
        b"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":1e3}]}]}]}",
        b"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":-0}]}]}]}",
        b"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":18446744073709551616}]}]}]}",
        b"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"doubleValue\":1e308}}]}]}]}",
        b"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"doubleValue\":-0}}]}]}]}",
        b"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"intValue\":-9223372036854775808}}]}]}]}",
        b"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"severityNumber\":9,\"severity_number\":9}]}]}]}",
        b"{\"stream_id\":\"s\",\"sequence\":1,\"note\":\"n\",\"end\":true}",
        b"{\"stream_id\":\"s\",\"sequence\":1.0,\"note\":\"n\"}",
    ];
    for c in cases {
        json_differential(c);
    }
}

/// A seeded xorshift generator of OTLP/JSON text.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn ws(&mut self, out: &mut String) {
        if self.below(8) == 0 {
            out.push_str(self.pick(&[" ", "\n", "\t", "\r\n", "  "]));
        }
    }

    /// A JSON string literal: plain, escaped, unicode, surrogates.
    fn string(&mut self, out: &mut String) {
        out.push('"');
        for _ in 0..self.below(6) {
            out.push_str(self.pick(&[
                "a",
                "key",
                "é",
                "日本",
                "😀",
                "\\n",
                "\\\"",
                "\\\\",
                "\\/",
                "\\u0041",
                "\\u00e9",
                "\\ud83d\\ude00",
                "\\u0000",
                "\\b\\f\\r\\t",
                "audit.",
                " ",
            ]));
            if self.below(400) == 0 {
                out.push_str(self.pick(&["\\ud800", "\\udc00", "\\ud800\\u0041", "\\ud800x"]));
            }
        }
        out.push('"');
    }

    fn number(&mut self, out: &mut String) {
        if self.below(100) == 0 {
            out.push_str(self.pick(&["1e400", "-1e400", "01", "1.", "-"]));
            return;
        }
        out.push_str(self.pick(&[
            "0",
            "1",
            "-1",
            "9",
            "42",
            "-0",
            "0.5",
            "1e3",
            "1E-2",
            "-2.5e+10",
            "1e308",
            "1e-400",
            "4294967295",
            "4294967296",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "123456789012345678",
            "1234567890123456789",
            "12345678901234567890123",
            "3.141592653589793",
            "0.1",
            "5e-324",
        ]));
    }

    /// An integer field: a decimal string or a number, good or not.
    fn int(&mut self, out: &mut String) {
        match self.below(3) {
            0 => self.number(out),
            1 => {
                out.push('"');
                self.number(out);
                out.push('"');
            }
            _ => out.push_str(self.pick(&["\"1700000000000000000\"", "\"12\"", "null", "\"-5\"", "\"x\""])),
        }
    }

    fn any_value(&mut self, out: &mut String, depth: u32) {
        if depth > 3 || self.below(12) == 0 {
            out.push_str(self.pick(&["{}", "null", "{\"stringValue\":null}", "{\"x\":1}"]));
            return;
        }
        let member = self.pick(&[
            "stringValue",
            "string_value",
            "intValue",
            "int_value",
            "doubleValue",
            "boolValue",
            "bytesValue",
            "arrayValue",
            "kvlistValue",
            "kvlist_value",
            "array_value",
        ]);
        out.push_str("{\"");
        out.push_str(member);
        out.push_str("\":");
        self.ws(out);
        match member {
            "stringValue" | "string_value" => self.string(out),
            "intValue" | "int_value" => self.int(out),
            "doubleValue" => match self.below(3) {
                0 => self.number(out),
                1 => out.push_str(self.pick(&["\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"1.5\"", "\"x\""])),
                _ => self.int(out),
            },
            "boolValue" => out.push_str(self.pick(&["true", "false", "1", "\"true\""])),
            "bytesValue" => out.push_str(self.pick(&["\"aGk=\"", "\"aGk\"", "\"a-_b\"", "\"!\"", "\"\""])),
            "arrayValue" | "array_value" => {
                out.push_str("{\"values\":[");
                for i in 0..self.below(4) {
                    if i > 0 {
                        out.push(',');
                    }
                    self.any_value(out, depth + 1);
                }
                out.push_str("]}");
            }
            _ => {
                out.push_str("{\"values\":");
                self.attributes(out, depth + 1, false);
                out.push('}');
            }
        }
        if self.below(40) == 0 {
            out.push_str(",\"boolValue\":true");
        }
        out.push('}');
    }

    fn attributes(&mut self, out: &mut String, depth: u32, stamped: bool) {
        out.push('[');
        let n = self.below(5) + if stamped { 6 } else { 0 };
        for i in 0..n {
            if i > 0 {
                out.push(',');
                self.ws(out);
            }
            out.push_str("{\"key\":");
            if stamped && self.below(3) > 0 {
                out.push('"');
                out.push_str(self.pick(&[
                    "audit.sequence.stream_id",
                    "audit.sequence.number",
                    "audit.sequence.previous_hash",
                    "audit.sequence.end",
                    "audit.integrity.value",
                    "audit.integrity.algorithm",
                    "audit.integrity.canonicalization",
                    "audit.integrity.key_epoch",
                    "audit.integrity.stamp",
                    "audit.content_hash",
                    "audit.integrity.content_hash_check",
                    "audit.stream.event",
                    "audit.stream.predecessor.id",
                    "audit.stream.predecessor.sequence",
                    "audit.stream.unconfirmed",
                    "audit.log.origin",
                    "audit.log.range",
                    "audit.log.index",
                ]));
                out.push('"');
            } else {
                self.string(out);
            }
            if self.below(20) > 0 {
                out.push_str(",\"value\":");
                self.any_value(out, depth);
            }
            out.push('}');
        }
        out.push(']');
    }

    fn log_record(&mut self, out: &mut String) {
        out.push('{');
        let mut first = true;
        let mut seen = Vec::new();
        for _ in 0..self.below(9) + 1 {
            let field = self.pick(&[
                "timeUnixNano",
                "time_unix_nano",
                "observedTimeUnixNano",
                "severityNumber",
                "severityText",
                "body",
                "attributes",
                "attributes",
                "attributes",
                "droppedAttributesCount",
                "flags",
                "traceId",
                "spanId",
                "eventName",
                "unknown",
            ]);
            // A field twice (the same name: refused when parsed) now and then.
            if seen.contains(&field) && self.below(30) > 0 {
                continue;
            }
            seen.push(field);
            if !first {
                out.push(',');
            }
            first = false;
            self.ws(out);
            out.push('"');
            out.push_str(field);
            out.push_str("\":");
            match field {
                "body" => self.any_value(out, 1),
                "attributes" => self.attributes(out, 0, true),
                "severityNumber" => match self.below(2) {
                    0 => self.int(out),
                    _ => {
                        out.push_str(self.pick(&["\"SEVERITY_NUMBER_INFO\"", "\"INFO\"", "\"SEVERITY_NUMBER_FATAL4\""]))
                    }
                },
                "severityText" | "eventName" | "unknown" => self.string(out),
                "traceId" => {
                    out.push_str(self.pick(&["\"5b8efff798038103d269b633813fc60c\"", "\"\"", "\"zz\"", "null"]))
                }
                "spanId" => out.push_str(self.pick(&["\"eee19b7ec3c1b174\"", "\"\"", "\"0011\""])),
                _ => self.int(out),
            }
        }
        out.push('}');
    }

    fn request(&mut self) -> String {
        let mut out = String::from("{\"resourceLogs\":[{\"resource\":{\"attributes\":");
        self.attributes(&mut out, 0, false);
        out.push_str("},\"scopeLogs\":[{\"scope\":{\"name\":");
        self.string(&mut out);
        out.push_str("},\"logRecords\":[");
        for i in 0..self.below(3) + 1 {
            if i > 0 {
                out.push(',');
            }
            self.log_record(&mut out);
        }
        out.push_str("]}]}]}");
        out
    }

    /// Damage: a byte changed, inserted or cut, or a member repeated.
    fn damage(&mut self, text: &mut Vec<u8>) {
        let at = self.below(text.len() as u64 + 1) as usize;
        match self.below(5) {
            0 => {
                let b = *[b'"', b'\\', b'{', b'}', b'[', b',', b':', 0xff, 0xc3, 0x01, b'\n', b'0', b'e']
                    .get(self.below(13) as usize)
                    .unwrap();
                text.insert(at, b);
            }
            1 if at < text.len() => {
                text.remove(at);
            }
            2 => text.truncate(at),
            3 => {
                if let Some(p) = text.windows(7).position(|w| w == b"{\"key\":") {
                    text.splice(p + 1..p + 1, b"\"key\":\"dup\",".iter().copied());
                }
            }
            _ => {
                if let Some(p) = text.windows(9).position(|w| w == b"{\"values\"") {
                    text.splice(p..p, b"[[[[".iter().copied());
                }
            }
        }
    }
}

#[test]
fn random_records_good_and_damaged_read_the_same() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let (mut accepted, mut refused) = (0, 0);
    let mut stream = Vec::new();
    for i in 0..6000 {
        let mut text = g.request().into_bytes();
        if i % 3 == 0 {
            for _ in 0..g.below(3) + 1 {
                g.damage(&mut text);
            }
        }
        match auditchain::verify::read::json::parse_strict(&text) {
            Ok(_) => accepted += 1,
            Err(_) => refused += 1,
        }
        json_differential_value(&text);
        // Streams of these lines, read by json::Values both ways.
        stream.extend_from_slice(&text);
        stream.push(if g.below(4) == 0 { b' ' } else { b'\n' });
        if i % 40 == 39 {
            checks::json_differential(&stream);
            stream.clear();
        }
    }
    assert!(accepted > 1000 && refused > 500, "{accepted} accepted, {refused} refused");
}

#[test]
fn a_stream_of_values_reads_as_before() {
    // Lines through `Values`: good lines, a torn one, a repeated name, a
    // glued write; the line numbers and errors of the old reader.
    let text = b"{\"a\":1}\n{\"b\":\"tor\n{\"resourceLogs\":[]}\n{\"k\":1,\"k\":2}\n[1e400]\n{\"resourceLogs\":[{\"x\":1{\"resourceLogs\":[]}\n";
    let got = auditchain::verify::read::json::json_values(text);
    let lines: Vec<(u64, Result<serde_json::Value, String>)> = got;
    assert_eq!(lines.len(), 7, "{lines:?}");
    assert_eq!(lines[0], (1, Ok(serde_json::json!({"a": 1}))));
    assert!(lines[1].1.as_ref().unwrap_err().contains("torn"), "{lines:?}");
    assert_eq!(lines[2].0, 3);
    assert_eq!(
        lines[3],
        (4, Err("not JSON: member \"k\" appears twice in one object at line 1 column 10".into())),
        "{lines:?}"
    );
    assert_eq!(lines[4], (5, Err("not JSON: number out of range at line 1 column 6".into())), "{lines:?}");
    assert_eq!(lines[5].0, 6);
    assert!(lines[5].1.is_err());
    assert_eq!(lines[6], (6, Ok(serde_json::json!({"resourceLogs": []}))));
}
