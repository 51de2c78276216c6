//! Canonical form straight from OTLP protobuf bytes: the fields are read in
//! place and written as canonical JSON, with no decoded structs in between.

use super::parts::{
    ContainerParts, EntityRefParts, EventParts, KvLevel, LinkParts, LogRecordParts, SpanParts, close_list, list_item,
    write_double_value, write_status,
};
use super::{CanonicalError, Envelope, ErrorKind, MAX_DEPTH, Scratch, Signal, at, err, jcs};
use crate::core::content_hash::{self, Outcome, Policy as ContentPolicy, Reason};
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
    /// Whether the next record is to be canonicalised. A record that is not
    /// (a record the processor's selection passes through unstamped) is
    /// walked past: only its framing is read and, under
    /// [`StampPolicy::Reject`], its attribute keys checked for reserved
    /// names; then [`RecordSink::skipped`] is called instead of `record`.
    fn wants(&mut self) -> bool {
        true
    }
    /// Called for each wanted record with its canonical object (to be
    /// wrapped in the last envelope), under [`StampPolicy::Extract`] its
    /// stamp, and the outcome of the content-hash check when one was made.
    fn record(&mut self, canonical: &[u8], stamp: &[StampAttr<'a>], content_hash: Option<&Outcome>);
    /// Called for each record that was not wanted.
    fn skipped(&mut self) {}
    /// Called instead of `record` or `skipped` for a record without a
    /// canonical form (or whose resource or scope has none, or, not wanted,
    /// that carries a reserved name), in a walk with [`BadRecords::Reject`].
    fn rejected(&mut self, _error: CanonicalError) {}
}

/// What a walk does with a record that has no canonical form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BadRecords {
    /// The walk fails with the first such record's error: the whole
    /// request is refused.
    #[default]
    Fail,
    /// Each such record goes to [`RecordSink::rejected`] (every record of a
    /// resource or scope that has none) and the walk goes on
    /// (`on_bad_record: drop_record`). Only a request that is not
    /// well-formed protobuf, or a list message with a field the canonical
    /// form does not know, fails the walk.
    Reject,
}

/// How a signal's messages are named, in errors and paths.
struct Names {
    request: &'static str,
    resource_message: &'static str,
    scope_message: &'static str,
    resource_list: &'static str,
    scope_list: &'static str,
    record_list: &'static str,
    /// The field number of a record's own attributes.
    record_attributes: u32,
}

fn names(signal: Signal) -> &'static Names {
    const LOGS: Names = Names {
        request: "ExportLogsServiceRequest",
        resource_message: "ResourceLogs",
        scope_message: "ScopeLogs",
        resource_list: "resourceLogs",
        scope_list: "scopeLogs",
        record_list: "logRecords",
        record_attributes: 6,
    };
    const TRACES: Names = Names {
        request: "ExportTraceServiceRequest",
        resource_message: "ResourceSpans",
        scope_message: "ScopeSpans",
        resource_list: "resourceSpans",
        scope_list: "scopeSpans",
        record_list: "spans",
        record_attributes: 9,
    };
    match signal {
        Signal::Logs => &LOGS,
        Signal::Traces => &TRACES,
    }
}

/// Walks every log record of an `ExportLogsServiceRequest`, in the order
/// resource → scope → record that pdata iterates in.
pub fn walk_logs<'a>(
    request: &'a [u8],
    policy: StampPolicy,
    scratch: &mut Scratch,
    sink: &mut impl RecordSink<'a>,
) -> Result<(), CanonicalError> {
    walk(Signal::Logs, request, policy, ContentPolicy::Off, BadRecords::Fail, scratch, sink)
}

/// Walks every span of an `ExportTraceServiceRequest`, in the order
/// resource → scope → span that pdata iterates in.
pub fn walk_spans<'a>(
    request: &'a [u8],
    policy: StampPolicy,
    scratch: &mut Scratch,
    sink: &mut impl RecordSink<'a>,
) -> Result<(), CanonicalError> {
    walk(Signal::Traces, request, policy, ContentPolicy::Off, BadRecords::Fail, scratch, sink)
}

/// Walks every record of an export request of `signal`. With a content
/// policy other than `Off`, each wanted log record that carries
/// `audit.content_hash` is checked against its body (SPEC §4.6): `Mark`
/// adds the mark attribute to its canonical form, `Reject` makes a
/// mismatch an error. `bad` says whether a record without a canonical
/// form fails the walk or is handed to [`RecordSink::rejected`].
pub fn walk<'a>(
    signal: Signal,
    request: &'a [u8],
    policy: StampPolicy,
    content: ContentPolicy,
    bad: BadRecords,
    scratch: &mut Scratch,
    sink: &mut impl RecordSink<'a>,
) -> Result<(), CanonicalError> {
    let names = names(signal);
    let facts = Facts::default();
    let mut w = Walker { signal, names, policy, content, bad, at: [0, 0], scratch, stamp: Vec::new(), facts };
    let mut r = Reader::new(request);
    let mut i = 0;
    while let Some((field, v)) = r.next_field()? {
        match field {
            1 => {
                w.at = [i, 0];
                w.resource_group(v.bytes(field)?, sink)
                    .map_err(|e| at(e, format_args!("{}[{i}]", names.resource_list)))?;
                i += 1;
            }
            _ => return Err(unknown(names.request, field)),
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
    signal: Signal,
    names: &'static Names,
    policy: StampPolicy,
    content: ContentPolicy,
    bad: BadRecords,
    /// The resource and scope being walked, to locate rejected records.
    at: [usize; 2],
    scratch: &'s mut Scratch,
    stamp: Vec<StampAttr<'a>>,
    facts: Facts<'a>,
}

/// Whose attributes a KeyValue is among.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// A record's own (a log record's, a span's).
    Record,
    /// A resource's or a scope's.
    Container,
    /// A span event's or a span link's.
    Nested,
}

/// What the content-hash check needs of the record being read.
#[derive(Default)]
struct Facts<'a> {
    body: Option<&'a [u8]>,
    claimed: Option<&'a [u8]>,
    claimed_twice: bool,
    outcome: Option<Outcome>,
}

/// How many records a resource list message (`depth` 2) or scope list
/// message (1) holds.
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
    /// Whether `e`, found in a record, its scope or its resource, rejects
    /// records rather than failing the walk.
    fn rejects(&self, e: &CanonicalError) -> bool {
        self.bad == BadRecords::Reject && e.kind.is_record_problem()
    }

    fn resource_group(&mut self, msg: &'a [u8], sink: &mut impl RecordSink<'a>) -> Result<(), CanonicalError> {
        // First pass: the resource and schema URL that every record shares.
        let (resource, schema_url) = container_and_schema(msg, self.names.resource_message, "resource")?;
        let resource = match resource.map(|m| self.resource(m).map_err(|e| at(e, format_args!(".resource")))) {
            Some(Err(e)) if self.rejects(&e) => return self.reject_all(msg, 2, e, sink),
            Some(r) => r?,
            None => None,
        };
        // Second pass: the scopes and their records.
        let mut r = Reader::new(msg);
        let mut i = 0;
        while let Some((field, v)) = r.next_field()? {
            if field == 2 {
                self.at[1] = i;
                self.scope_group(v.bytes(field)?, resource.as_deref(), schema_url, sink)
                    .map_err(|e| at(e, format_args!(".{}[{i}]", self.names.scope_list)))?;
                i += 1;
            }
        }
        Ok(())
    }

    fn scope_group(
        &mut self,
        msg: &'a [u8],
        resource: Option<&[u8]>,
        resource_schema_url: &str,
        sink: &mut impl RecordSink<'a>,
    ) -> Result<(), CanonicalError> {
        let (scope, schema_url) = container_and_schema(msg, self.names.scope_message, "scope")?;
        let scope = match scope.map(|m| self.scope(m).map_err(|e| at(e, format_args!(".scope")))) {
            Some(Err(e)) if self.rejects(&e) => return self.reject_all(msg, 1, e, sink),
            Some(r) => r?,
            None => None,
        };
        let envelope = Envelope::new(self.signal, resource, resource_schema_url, scope.as_deref(), schema_url);
        sink.envelope(&envelope);
        let mut r = Reader::new(msg);
        let mut i = 0;
        while let Some((field, v)) = r.next_field()? {
            if field == 2 {
                let record = v.bytes(field)?;
                let list = self.names.record_list;
                let wanted = sink.wants();
                let read = if wanted {
                    match self.signal {
                        Signal::Logs => self.log_record(record),
                        Signal::Traces => self.span(record),
                    }
                } else {
                    self.skip(record)
                };
                match read.map_err(|e| at(e, format_args!(".{list}[{i}]"))) {
                    Ok(()) if wanted => sink.record(&self.scratch.record, &self.stamp, self.facts.outcome.as_ref()),
                    Ok(()) => sink.skipped(),
                    Err(e) if self.rejects(&e) => sink.rejected(self.locate(e, 1)),
                    Err(e) => return Err(e),
                }
                i += 1;
            }
        }
        Ok(())
    }

    /// The full path of an error found `depth` levels below the request (1:
    /// inside a scope list message, 2: inside a resource list message).
    fn locate(&self, e: CanonicalError, depth: u8) -> CanonicalError {
        let ([r, s], n) = (self.at, self.names);
        match depth {
            1 => at(e, format_args!("{}[{r}].{}[{s}]", n.resource_list, n.scope_list)),
            _ => at(e, format_args!("{}[{r}]", n.resource_list)),
        }
    }

    /// Rejects every record of a resource list message (`depth` 2) or
    /// scope list message (1) whose resource or scope has no canonical
    /// form, wanted or not: nothing of it can leave, as a walk that fails
    /// would refuse it too.
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

    /// Walks past a record that is not canonicalised: its fields must be
    /// well framed, and under [`StampPolicy::Reject`] none of its own
    /// attributes may use a reserved name (nothing upstream may pass off a
    /// record as stamped, selected or not).
    fn skip(&self, msg: &[u8]) -> Result<(), CanonicalError> {
        let mut r = Reader::new(msg);
        while let Some((field, v)) = r.next_field()? {
            if field == self.names.record_attributes && self.policy == StampPolicy::Reject {
                let (key, _) = read_key_value_bytes(v.bytes(field)?)?;
                if vocab::RESERVED_PREFIXES.iter().any(|p| key.starts_with(p.as_bytes())) {
                    let key = String::from_utf8_lossy(key).into_owned();
                    return Err(at(err(ErrorKind::AlreadyStamped(key.clone())), format_args!(".attributes[{key:?}]")));
                }
            }
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
                        .key_value(&mut level, v.bytes(field)?, 0, Owner::Container)
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
                        .key_value(&mut level, v.bytes(field)?, 0, Owner::Container)
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
        self.facts = Facts::default();
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
                        let raw = v.bytes(field)?;
                        self.facts.body = Some(raw);
                        any_value(&mut body, raw, 1, self.scratch).map_err(|e| at(e, format_args!(".body")))?;
                        if &body[start..] == b"{}" {
                            body.truncate(start); // an empty body is no body
                        }
                    }
                    6 => self
                        .key_value(&mut level, v.bytes(field)?, 0, Owner::Record)
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
        let result = result.and_then(|()| self.check_content(&mut level));
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

    /// Canonicalises one span into `scratch.record` and collects its stamp
    /// attributes into `self.stamp`.
    fn span(&mut self, msg: &'a [u8]) -> Result<(), CanonicalError> {
        self.stamp.clear();
        self.facts = Facts::default();
        let mut level = self.scratch.take_level(0);
        let mut events = std::mem::take(&mut self.scratch.events);
        let mut links = std::mem::take(&mut self.scratch.links);
        let mut status = std::mem::take(&mut self.scratch.body);
        events.clear();
        links.clear();
        status.clear();
        let mut parts = SpanParts::default();
        let (mut n_events, mut n_links, mut seen_status) = (0, 0, false);
        let mut r = Reader::new(msg);
        let result = (|| {
            while let Some((field, v)) = r.next_field()? {
                match field {
                    1 => parts.trace_id = id(v.bytes(field)?, 16).map_err(|e| at(e, format_args!(".traceId")))?,
                    2 => parts.span_id = id(v.bytes(field)?, 8).map_err(|e| at(e, format_args!(".spanId")))?,
                    3 => parts.trace_state = utf8(v.bytes(field)?).map_err(|e| at(e, format_args!(".traceState")))?,
                    4 => {
                        parts.parent_span_id =
                            id(v.bytes(field)?, 8).map_err(|e| at(e, format_args!(".parentSpanId")))?
                    }
                    5 => parts.name = utf8(v.bytes(field)?).map_err(|e| at(e, format_args!(".name")))?,
                    6 => parts.kind = v.varint(field)? as i32,
                    7 => parts.start_time_unix_nano = v.fixed64(field)?,
                    8 => parts.end_time_unix_nano = v.fixed64(field)?,
                    9 => self
                        .key_value(&mut level, v.bytes(field)?, 0, Owner::Record)
                        .map_err(|e| at(e, format_args!(".attributes")))?,
                    10 => parts.dropped_attributes_count = v.varint(field)? as u32,
                    11 => {
                        list_item(&mut events);
                        self.event(&mut events, v.bytes(field)?)
                            .map_err(|e| at(e, format_args!(".events[{n_events}]")))?;
                        n_events += 1;
                    }
                    12 => parts.dropped_events_count = v.varint(field)? as u32,
                    13 => {
                        list_item(&mut links);
                        self.link(&mut links, v.bytes(field)?).map_err(|e| at(e, format_args!(".links[{n_links}]")))?;
                        n_links += 1;
                    }
                    14 => parts.dropped_links_count = v.varint(field)? as u32,
                    15 => {
                        if std::mem::replace(&mut seen_status, true) {
                            return Err(err(ErrorKind::Malformed("status appears twice".into())));
                        }
                        span_status(&mut status, v.bytes(field)?).map_err(|e| at(e, format_args!(".status")))?;
                    }
                    16 => parts.flags = v.fixed32(field)?,
                    _ => return Err(unknown("Span", field)),
                }
            }
            Ok(())
        })();
        close_list(&mut events);
        close_list(&mut links);
        let mut attributes = std::mem::take(&mut self.scratch.attributes);
        attributes.clear();
        if result.is_ok() && !level.entries.is_empty() {
            level.write_sorted(&mut attributes);
        }
        self.scratch.put_level(0, level);
        if result.is_ok() {
            parts.attributes = &attributes;
            parts.events = &events;
            parts.links = &links;
            parts.status = &status;
            self.scratch.record.clear();
            parts.write(&mut self.scratch.record);
        }
        self.scratch.attributes = attributes;
        self.scratch.events = events;
        self.scratch.links = links;
        self.scratch.body = status;
        result
    }

    /// Writes one span event's canonical object to `out`.
    fn event(&mut self, out: &mut Vec<u8>, msg: &'a [u8]) -> Result<(), CanonicalError> {
        let mut parts = EventParts::default();
        let mut level = std::mem::take(&mut self.scratch.sub);
        level.clear();
        let mut r = Reader::new(msg);
        let result = (|| {
            while let Some((field, v)) = r.next_field()? {
                match field {
                    1 => parts.time_unix_nano = v.fixed64(field)?,
                    2 => parts.name = utf8(v.bytes(field)?).map_err(|e| at(e, format_args!(".name")))?,
                    3 => self
                        .key_value(&mut level, v.bytes(field)?, 0, Owner::Nested)
                        .map_err(|e| at(e, format_args!(".attributes")))?,
                    4 => parts.dropped_attributes_count = v.varint(field)? as u32,
                    _ => return Err(unknown("Span.Event", field)),
                }
            }
            Ok(())
        })();
        let mut attributes = Vec::new();
        if result.is_ok() {
            if !level.entries.is_empty() {
                level.write_sorted(&mut attributes);
            }
            parts.attributes = &attributes;
            parts.write(out);
        }
        self.scratch.sub = level;
        result
    }

    /// Writes one span link's canonical object to `out`.
    fn link(&mut self, out: &mut Vec<u8>, msg: &'a [u8]) -> Result<(), CanonicalError> {
        let mut parts = LinkParts::default();
        let mut level = std::mem::take(&mut self.scratch.sub);
        level.clear();
        let mut r = Reader::new(msg);
        let result = (|| {
            while let Some((field, v)) = r.next_field()? {
                match field {
                    1 => parts.trace_id = id(v.bytes(field)?, 16).map_err(|e| at(e, format_args!(".traceId")))?,
                    2 => parts.span_id = id(v.bytes(field)?, 8).map_err(|e| at(e, format_args!(".spanId")))?,
                    3 => parts.trace_state = utf8(v.bytes(field)?).map_err(|e| at(e, format_args!(".traceState")))?,
                    4 => self
                        .key_value(&mut level, v.bytes(field)?, 0, Owner::Nested)
                        .map_err(|e| at(e, format_args!(".attributes")))?,
                    5 => parts.dropped_attributes_count = v.varint(field)? as u32,
                    6 => parts.flags = v.fixed32(field)?,
                    _ => return Err(unknown("Span.Link", field)),
                }
            }
            Ok(())
        })();
        let mut attributes = Vec::new();
        if result.is_ok() {
            if !level.entries.is_empty() {
                level.write_sorted(&mut attributes);
            }
            parts.attributes = &attributes;
            parts.write(out);
        }
        self.scratch.sub = level;
        result
    }

    /// The content-hash check of a log record just read (SPEC §4.6): the
    /// outcome goes to the sink; under `Mark` a mismatch adds the mark to
    /// the record's attributes (so that it is hashed, like the record will
    /// be exported), under `Reject` it is an error.
    fn check_content(&mut self, level: &mut KvLevel) -> Result<(), CanonicalError> {
        let Some(claimed) = self.facts.claimed else { return Ok(()) };
        if self.content == ContentPolicy::Off {
            return Ok(());
        }
        let outcome = if self.facts.claimed_twice {
            Outcome::Mismatch(Reason::BadAttribute("appears twice".into()))
        } else {
            content_hash::check_proto(self.facts.body, claimed)
        };
        if let Outcome::Mismatch(why) = &outcome {
            match self.content {
                ContentPolicy::Reject => return Err(err(ErrorKind::ContentHashMismatch(why.to_string()))),
                ContentPolicy::Mark => {
                    let ks = level.start(vocab::CONTENT_HASH_CHECK);
                    let ke = level.bytes.len();
                    jcs_string_value(&mut level.bytes, vocab::CONTENT_HASH_MISMATCH);
                    level.finish_value(ks, ke, ke);
                }
                ContentPolicy::Off => {}
            }
        }
        self.facts.outcome = Some(outcome);
        Ok(())
    }

    /// Adds one KeyValue to `level`. `owner` says what applies: the stamp
    /// policy to a record's own attributes (only they can carry a stamp),
    /// the refusal of reserved names to a resource's and a scope's.
    fn key_value(
        &mut self,
        level: &mut KvLevel,
        msg: &'a [u8],
        depth: usize,
        owner: Owner,
    ) -> Result<(), CanonicalError> {
        let (key, value) = read_key_value(msg)?;
        // Reserved names are refused in resource and scope attributes too:
        // nothing upstream may pass off a record as the processor's own.
        if owner == Owner::Container && self.policy == StampPolicy::Reject && vocab::is_reserved(key) {
            return Err(at(err(ErrorKind::ReservedName(key.to_string())), format_args!("[{key:?}]")));
        }
        let record_level = owner == Owner::Record;
        if record_level && key == vocab::CONTENT_HASH {
            self.facts.claimed_twice |= self.facts.claimed.is_some();
            self.facts.claimed = Some(value);
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

/// `{"stringValue":<s>}`.
fn jcs_string_value(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(b"{\"stringValue\":");
    jcs::write_str(out, s);
    out.push(b'}');
}

/// The key bytes (not checked for UTF-8) and AnyValue bytes of a KeyValue.
fn read_key_value_bytes(msg: &[u8]) -> Result<(&[u8], &[u8]), CanonicalError> {
    let mut key: &[u8] = &[];
    let mut value: &[u8] = &[];
    let mut r = Reader::new(msg);
    while let Some((field, v)) = r.next_field()? {
        match field {
            1 => key = v.bytes(field)?,
            2 => value = v.bytes(field)?,
            _ => {}
        }
    }
    Ok((key, value))
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

/// A span's Status message: `message` (2) and `code` (3).
fn span_status(out: &mut Vec<u8>, msg: &[u8]) -> Result<(), CanonicalError> {
    let (mut code, mut message) = (0, "");
    let mut r = Reader::new(msg);
    while let Some((field, v)) = r.next_field()? {
        match field {
            2 => message = utf8(v.bytes(field)?).map_err(|e| at(e, format_args!(".message")))?,
            3 => code = v.varint(field)? as i32,
            _ => return Err(unknown("Status", field)),
        }
    }
    write_status(out, code, message);
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
