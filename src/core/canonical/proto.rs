//! Canonical form straight from OTLP protobuf bytes: the fields are read in
//! place and written as canonical JSON, with no decoded structs in between.

use super::parts::{ContainerParts, EntityRefParts, KvLevel, LogRecordParts, write_double_value};
use super::{CanonicalError, Envelope, ErrorKind, MAX_DEPTH, Scratch, Signal, at, err, jcs};
use crate::core::vocab;
use crate::core::wire::{Reader, Value, WireError};
use base64::Engine as _;

/// What to do with attributes in auditchain's reserved namespaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StampPolicy {
    /// Records entering the processor: any reserved attribute is an error.
    Reject,
    /// Records read back (or emitted by the engine itself): stamp
    /// attributes are left out of the canonical form and handed over.
    Extract,
}

/// A stamp attribute found on a record: its key and AnyValue bytes.
pub type StampAttr<'a> = (&'a str, &'a [u8]);

/// Receives the records of a request in order.
pub trait RecordSink<'a> {
    /// Called before the records of each resource and scope.
    fn envelope(&mut self, envelope: &Envelope);
    /// Called for each record with its canonical object (to be wrapped in
    /// the last envelope) and, under [`StampPolicy::Extract`], its stamp.
    fn record(&mut self, canonical: &[u8], stamp: &[StampAttr<'a>]);
    /// Called instead of `record` for a record without a canonical form
    /// (or whose resource or scope has none), in a [`walk_logs_each`].
    fn rejected(&mut self, _error: CanonicalError) {}
}

/// Walks every log record of an `ExportLogsServiceRequest`, in the order
/// resource → scope → record that pdata iterates in.
pub fn walk_logs<'a>(
    request: &'a [u8],
    policy: StampPolicy,
    scratch: &mut Scratch,
    sink: &mut impl RecordSink<'a>,
) -> Result<(), CanonicalError> {
    walk(request, Walker { policy, scratch, stamp: Vec::new(), each: None }, sink)
}

/// [`walk_logs`] that goes on past records without a canonical form: each
/// is handed to [`RecordSink::rejected`] (every record of a resource or
/// scope that has none). Only a request that is not well-formed protobuf
/// fails the walk.
pub fn walk_logs_each<'a>(
    request: &'a [u8],
    policy: StampPolicy,
    scratch: &mut Scratch,
    sink: &mut impl RecordSink<'a>,
) -> Result<(), CanonicalError> {
    walk(request, Walker { policy, scratch, stamp: Vec::new(), each: Some([0, 0]) }, sink)
}

fn walk<'a>(request: &'a [u8], mut w: Walker<'_, 'a>, sink: &mut impl RecordSink<'a>) -> Result<(), CanonicalError> {
    let mut r = Reader::new(request);
    let mut i = 0;
    while let Some((field, v)) = r.next_field()? {
        match field {
            1 => {
                if let Some(each) = &mut w.each {
                    *each = [i, 0];
                }
                w.resource_logs(v.bytes(field)?, sink).map_err(|e| at(e, format_args!("resourceLogs[{i}]")))?;
                i += 1;
            }
            _ => return Err(unknown("ExportLogsServiceRequest", field)),
        }
    }
    Ok(())
}

/// A wire error is the batch being malformed; `?` converts it.
impl From<WireError> for CanonicalError {
    fn from(e: WireError) -> CanonicalError {
        err(ErrorKind::Malformed(e.to_string()))
    }
}

fn unknown(message: &str, field: u32) -> CanonicalError {
    err(ErrorKind::UnknownField(format!("{field} of {message}")))
}

fn utf8(b: &[u8]) -> Result<&str, CanonicalError> {
    std::str::from_utf8(b).map_err(|_| err(ErrorKind::InvalidUtf8))
}

fn only_once<T>(slot: &mut Option<T>, v: T, what: &str) -> Result<(), CanonicalError> {
    if slot.is_some() {
        return Err(err(ErrorKind::Malformed(format!("{what} appears twice"))));
    }
    *slot = Some(v);
    Ok(())
}

/// The first pass over a ResourceLogs or ScopeLogs message: its resource or
/// scope (field 1) and schema URL (field 3), which every record of the
/// list (field 2) shares.
fn container_and_schema<'a>(
    msg: &'a [u8],
    message: &str,
    what: &str,
) -> Result<(Option<&'a [u8]>, &'a str), CanonicalError> {
    let mut container = None;
    let mut schema_url = "";
    let mut r = Reader::new(msg);
    while let Some((field, v)) = r.next_field()? {
        match field {
            1 => only_once(&mut container, v.bytes(field)?, what)?,
            2 => {
                v.bytes(field)?;
            }
            3 => schema_url = utf8(v.bytes(field)?).map_err(|e| at(e, format_args!(".schemaUrl")))?,
            _ => return Err(unknown(message, field)),
        }
    }
    Ok((container, schema_url))
}

struct Walker<'s, 'a> {
    policy: StampPolicy,
    scratch: &'s mut Scratch,
    stamp: Vec<StampAttr<'a>>,
    /// In a [`walk_logs_each`]: the resource and scope being walked, to
    /// locate rejected records.
    each: Option<[usize; 2]>,
}

/// How many log records a ResourceLogs (`depth` 2) or ScopeLogs (1) holds.
fn count_records(msg: &[u8], depth: u8) -> Result<usize, CanonicalError> {
    let mut n = 0;
    let mut r = Reader::new(msg);
    while let Some((field, v)) = r.next_field()? {
        if field == 2 {
            n += if depth == 2 { count_records(v.bytes(field)?, 1)? } else { 1 };
        }
    }
    Ok(n)
}

impl<'a> Walker<'_, 'a> {
    fn resource_logs(&mut self, msg: &'a [u8], sink: &mut impl RecordSink<'a>) -> Result<(), CanonicalError> {
        // First pass: the resource and schema URL that every record shares.
        let (resource, schema_url) = container_and_schema(msg, "ResourceLogs", "resource")?;
        let resource = match resource.map(|m| self.resource(m).map_err(|e| at(e, format_args!(".resource")))) {
            Some(Err(e)) if self.each.is_some() && e.kind.is_record_problem() => {
                return self.reject_all(msg, 2, e, sink);
            }
            Some(r) => r?,
            None => None,
        };
        // Second pass: the scopes and their records.
        let mut r = Reader::new(msg);
        let mut i = 0;
        while let Some((field, v)) = r.next_field()? {
            if field == 2 {
                if let Some(each) = &mut self.each {
                    each[1] = i;
                }
                self.scope_logs(v.bytes(field)?, resource.as_deref(), schema_url, sink)
                    .map_err(|e| at(e, format_args!(".scopeLogs[{i}]")))?;
                i += 1;
            }
        }
        Ok(())
    }

    fn scope_logs(
        &mut self,
        msg: &'a [u8],
        resource: Option<&[u8]>,
        resource_schema_url: &str,
        sink: &mut impl RecordSink<'a>,
    ) -> Result<(), CanonicalError> {
        let (scope, schema_url) = container_and_schema(msg, "ScopeLogs", "scope")?;
        let scope = match scope.map(|m| self.scope(m).map_err(|e| at(e, format_args!(".scope")))) {
            Some(Err(e)) if self.each.is_some() && e.kind.is_record_problem() => {
                return self.reject_all(msg, 1, e, sink);
            }
            Some(r) => r?,
            None => None,
        };
        let envelope = Envelope::new(Signal::Logs, resource, resource_schema_url, scope.as_deref(), schema_url);
        sink.envelope(&envelope);
        let mut r = Reader::new(msg);
        let mut i = 0;
        while let Some((field, v)) = r.next_field()? {
            if field == 2 {
                match self.log_record(v.bytes(field)?).map_err(|e| at(e, format_args!(".logRecords[{i}]"))) {
                    Ok(()) => sink.record(&self.scratch.record, &self.stamp),
                    Err(e) if self.each.is_some() && e.kind.is_record_problem() => sink.rejected(self.locate(e, 1)),
                    Err(e) => return Err(e),
                }
                i += 1;
            }
        }
        Ok(())
    }

    /// The full path of an error found `depth` levels below the request
    /// (1: inside a ScopeLogs, 2: inside a ResourceLogs), in a walk_logs_each.
    fn locate(&self, e: CanonicalError, depth: u8) -> CanonicalError {
        let [r, s] = self.each.unwrap_or_default();
        match depth {
            1 => at(e, format_args!("resourceLogs[{r}].scopeLogs[{s}]")),
            _ => at(e, format_args!("resourceLogs[{r}]")),
        }
    }

    /// Rejects every record of a ResourceLogs (`depth` 2) or ScopeLogs (1)
    /// whose resource or scope has no canonical form.
    fn reject_all(
        &mut self,
        msg: &[u8],
        depth: u8,
        e: CanonicalError,
        sink: &mut impl RecordSink<'a>,
    ) -> Result<(), CanonicalError> {
        let e = self.locate(e, depth);
        for _ in 0..count_records(msg, depth)? {
            sink.rejected(e.clone());
        }
        Ok(())
    }

    fn resource(&mut self, msg: &'a [u8]) -> Result<Option<Vec<u8>>, CanonicalError> {
        let mut level = self.scratch.take_level(0);
        let mut parts = ContainerParts::default();
        let mut refs = Vec::new();
        let mut n_refs = 0;
        let mut r = Reader::new(msg);
        let result = (|| {
            while let Some((field, v)) = r.next_field()? {
                match field {
                    1 => self
                        .key_value(&mut level, v.bytes(field)?, 0, false)
                        .map_err(|e| at(e, format_args!(".attributes")))?,
                    2 => parts.dropped_attributes_count = v.varint(field)? as u32,
                    3 => {
                        refs.push(if n_refs == 0 { b'[' } else { b',' });
                        entity_ref(&mut refs, v.bytes(field)?)
                            .map_err(|e| at(e, format_args!(".entityRefs[{n_refs}]")))?;
                        n_refs += 1;
                    }
                    _ => return Err(unknown("Resource", field)),
                }
            }
            Ok(())
        })();
        let mut attributes = Vec::new();
        if result.is_ok() && !level.entries.is_empty() {
            level.write_sorted(&mut attributes);
        }
        self.scratch.put_level(0, level);
        result?;
        if n_refs > 0 {
            refs.push(b']');
        }
        parts.attributes = &attributes;
        parts.entity_refs = &refs;
        Ok(parts.write())
    }

    fn scope(&mut self, msg: &'a [u8]) -> Result<Option<Vec<u8>>, CanonicalError> {
        let mut level = self.scratch.take_level(0);
        let mut parts = ContainerParts::default();
        let mut r = Reader::new(msg);
        let result = (|| {
            while let Some((field, v)) = r.next_field()? {
                match field {
                    1 => parts.name = utf8(v.bytes(field)?).map_err(|e| at(e, format_args!(".name")))?,
                    2 => parts.version = utf8(v.bytes(field)?).map_err(|e| at(e, format_args!(".version")))?,
                    3 => self
                        .key_value(&mut level, v.bytes(field)?, 0, false)
                        .map_err(|e| at(e, format_args!(".attributes")))?,
                    4 => parts.dropped_attributes_count = v.varint(field)? as u32,
                    _ => return Err(unknown("InstrumentationScope", field)),
                }
            }
            Ok(())
        })();
        let mut attributes = Vec::new();
        if result.is_ok() && !level.entries.is_empty() {
            level.write_sorted(&mut attributes);
        }
        self.scratch.put_level(0, level);
        result?;
        parts.attributes = &attributes;
        Ok(parts.write())
    }

    /// Canonicalises one log record into `scratch.record` and collects its
    /// stamp attributes into `self.stamp`.
    fn log_record(&mut self, msg: &'a [u8]) -> Result<(), CanonicalError> {
        self.stamp.clear();
        let mut level = self.scratch.take_level(0);
        let mut body = std::mem::take(&mut self.scratch.body);
        body.clear();
        let mut parts = LogRecordParts::default();
        let mut seen_body = false;
        let mut r = Reader::new(msg);
        let result = (|| {
            while let Some((field, v)) = r.next_field()? {
                match field {
                    1 => parts.time_unix_nano = v.fixed64(field)?,
                    2 => parts.severity_number = v.varint(field)? as i32,
                    3 => {
                        parts.severity_text = utf8(v.bytes(field)?).map_err(|e| at(e, format_args!(".severityText")))?
                    }
                    5 => {
                        if seen_body {
                            return Err(err(ErrorKind::Malformed("body appears twice".into())));
                        }
                        seen_body = true;
                        let start = body.len();
                        any_value(&mut body, v.bytes(field)?, 1, self.scratch)
                            .map_err(|e| at(e, format_args!(".body")))?;
                        if &body[start..] == b"{}" {
                            body.truncate(start); // an empty body is no body
                        }
                    }
                    6 => self
                        .key_value(&mut level, v.bytes(field)?, 0, true)
                        .map_err(|e| at(e, format_args!(".attributes")))?,
                    7 => parts.dropped_attributes_count = v.varint(field)? as u32,
                    8 => parts.flags = v.fixed32(field)?,
                    9 => parts.trace_id = id(v.bytes(field)?, 16).map_err(|e| at(e, format_args!(".traceId")))?,
                    10 => parts.span_id = id(v.bytes(field)?, 8).map_err(|e| at(e, format_args!(".spanId")))?,
                    11 => parts.observed_time_unix_nano = v.fixed64(field)?,
                    12 => parts.event_name = utf8(v.bytes(field)?).map_err(|e| at(e, format_args!(".eventName")))?,
                    _ => return Err(unknown("LogRecord", field)),
                }
            }
            Ok(())
        })();
        let mut attributes = std::mem::take(&mut self.scratch.attributes);
        attributes.clear();
        if result.is_ok() && !level.entries.is_empty() {
            level.write_sorted(&mut attributes);
        }
        self.scratch.put_level(0, level);
        if result.is_ok() {
            parts.attributes = &attributes;
            parts.body = &body;
            self.scratch.record.clear();
            parts.write(&mut self.scratch.record);
        }
        self.scratch.attributes = attributes;
        self.scratch.body = body;
        result
    }

    /// Adds one KeyValue to `level`. `record_level` applies the stamp
    /// policy (only a record's own attributes can carry a stamp).
    fn key_value(
        &mut self,
        level: &mut KvLevel,
        msg: &'a [u8],
        depth: usize,
        record_level: bool,
    ) -> Result<(), CanonicalError> {
        let (key, value) = read_key_value(msg)?;
        // Reserved names are refused in resource and scope attributes too:
        // nothing upstream may pass off a record as the processor's own.
        if !record_level && depth == 0 && self.policy == StampPolicy::Reject && vocab::is_reserved(key) {
            return Err(at(err(ErrorKind::ReservedName(key.to_string())), format_args!("[{key:?}]")));
        }
        if record_level {
            match self.policy {
                StampPolicy::Reject if vocab::is_reserved(key) => {
                    return Err(at(err(ErrorKind::AlreadyStamped(key.to_string())), format_args!("[{key:?}]")));
                }
                StampPolicy::Extract if vocab::is_stamp(key) => {
                    self.stamp.push((key, value));
                    return Ok(());
                }
                _ => {}
            }
        }
        push_key_value(level, key, value, depth, self.scratch)
    }
}

/// The key and AnyValue bytes of a KeyValue message.
fn read_key_value(msg: &[u8]) -> Result<(&str, &[u8]), CanonicalError> {
    let mut key = "";
    let mut value: Option<&[u8]> = None;
    let mut r = Reader::new(msg);
    while let Some((field, v)) = r.next_field()? {
        match field {
            1 => key = utf8(v.bytes(field)?)?,
            2 => only_once(&mut value, v.bytes(field)?, "value")?,
            3 => return Err(err(ErrorKind::UnknownField("keyStrindex (profiles only)".into()))),
            _ => return Err(unknown("KeyValue", field)),
        }
    }
    Ok((key, value.unwrap_or(&[])))
}

/// Adds `key` with the canonical form of `value` to `level`.
fn push_key_value(
    level: &mut KvLevel,
    key: &str,
    value: &[u8],
    depth: usize,
    scratch: &mut Scratch,
) -> Result<(), CanonicalError> {
    let ks = level.start(key);
    let ke = level.bytes.len();
    any_value(&mut level.bytes, value, depth + 1, scratch).map_err(|e| at(e, format_args!("[{key:?}]")))?;
    level.finish_value(ks, ke, ke);
    Ok(())
}

fn id(b: &[u8], len: usize) -> Result<&[u8], CanonicalError> {
    if b.is_empty() || b.len() == len {
        Ok(b)
    } else {
        Err(err(ErrorKind::InvalidValue(format!("id must be {len} bytes, not {}", b.len()))))
    }
}

fn entity_ref(out: &mut Vec<u8>, msg: &[u8]) -> Result<(), CanonicalError> {
    let mut parts = EntityRefParts::default();
    let mut r = Reader::new(msg);
    while let Some((field, v)) = r.next_field()? {
        let s = utf8(v.bytes(field)?)?;
        match field {
            1 => parts.schema_url = s,
            2 => parts.r#type = s,
            3 => parts.id_keys.push(s),
            4 => parts.description_keys.push(s),
            _ => return Err(unknown("EntityRef", field)),
        }
    }
    parts.write(out);
    Ok(())
}

/// Writes an AnyValue in OTLP/JSON typed form. `depth` is 1 for a value
/// that is directly a body or an attribute value.
fn any_value(out: &mut Vec<u8>, msg: &[u8], depth: usize, scratch: &mut Scratch) -> Result<(), CanonicalError> {
    if depth > MAX_DEPTH {
        return Err(err(ErrorKind::TooDeep));
    }
    // A oneof: the last member on the wire wins, as in protobuf.
    let mut last: Option<(u32, Value<'_>)> = None;
    let mut r = Reader::new(msg);
    while let Some((field, v)) = r.next_field()? {
        match field {
            1..=7 => {
                if matches!(last, Some((f, _)) if f == field && (f == 5 || f == 6)) {
                    return Err(err(ErrorKind::Malformed("nested value appears twice".into())));
                }
                last = Some((field, v));
            }
            8 => return Err(err(ErrorKind::UnknownField("stringValueStrindex (profiles only)".into()))),
            _ => return Err(unknown("AnyValue", field)),
        }
    }
    let Some((field, v)) = last else {
        out.extend_from_slice(b"{}");
        return Ok(());
    };
    match field {
        1 => {
            out.extend_from_slice(b"{\"stringValue\":");
            jcs::write_str(out, utf8(v.bytes(field)?)?);
            out.push(b'}');
        }
        2 => {
            let b = v.varint(field)? != 0;
            out.extend_from_slice(if b { b"{\"boolValue\":true}" } else { b"{\"boolValue\":false}" });
        }
        3 => {
            out.extend_from_slice(b"{\"intValue\":");
            jcs::write_i64_string(out, v.varint(field)? as i64);
            out.push(b'}');
        }
        4 => write_double_value(out, f64::from_bits(v.fixed64(field)?)),
        5 => {
            let mut r = Reader::new(v.bytes(field)?);
            out.extend_from_slice(b"{\"arrayValue\":{");
            let mut i = 0;
            while let Some((f, item)) = r.next_field()? {
                if f != 1 {
                    return Err(unknown("ArrayValue", f));
                }
                out.extend_from_slice(if i == 0 { b"\"values\":[" } else { b"," });
                any_value(out, item.bytes(f)?, depth + 1, scratch)
                    .map_err(|e| at(e, format_args!(".arrayValue[{i}]")))?;
                i += 1;
            }
            out.extend_from_slice(if i == 0 { b"}}" } else { b"]}}" });
        }
        6 => {
            let mut level = scratch.take_level(depth);
            let result = (|| {
                let mut r = Reader::new(v.bytes(field)?);
                while let Some((f, kv)) = r.next_field()? {
                    if f != 1 {
                        return Err(unknown("KeyValueList", f));
                    }
                    read_key_value(kv.bytes(f)?)
                        .and_then(|(key, value)| push_key_value(&mut level, key, value, depth, scratch))
                        .map_err(|e| at(e, format_args!(".kvlistValue")))?;
                }
                Ok(())
            })();
            if result.is_ok() {
                out.extend_from_slice(b"{\"kvlistValue\":{");
                if !level.entries.is_empty() {
                    out.extend_from_slice(b"\"values\":");
                    level.write_sorted(out);
                }
                out.extend_from_slice(b"}}");
            }
            scratch.put_level(depth, level);
            result?;
        }
        7 => {
            out.extend_from_slice(b"{\"bytesValue\":\"");
            let b = v.bytes(field)?;
            let start = out.len();
            out.resize(start + base64::encoded_len(b.len(), true).unwrap_or(0), 0);
            base64::engine::general_purpose::STANDARD
                .encode_slice(b, &mut out[start..])
                .map_err(|e| err(ErrorKind::Malformed(e.to_string())))?;
            out.extend_from_slice(b"\"}");
        }
        _ => unreachable!("fields outside 1..=7 were rejected above"),
    }
    Ok(())
}
