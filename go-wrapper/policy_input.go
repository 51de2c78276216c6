package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The Rego policy's `input` (README.md, "Selection"): one JSON-like
// document per record, built as OPA values directly (no JSON round trip),
// with the resource's and scope's documents built once per resource and
// scope and shared by their records.
//
//	log record: {"signal": "logs", "resource": {"attributes": {..}},
//	  "scope": {"name", "version", "attributes"}, "attributes": {..},
//	  "body", "severity_text", "severity_number", "event_name",
//	  "time_unix_nano", "observed_time_unix_nano", "trace_id", "span_id", "flags"}
//	span: {"signal": "traces", "resource", "scope", "attributes", "name",
//	  "kind" ("internal", "server", "client", "producer", "consumer", "unspecified"),
//	  "trace_id", "span_id", "parent_span_id", "trace_state",
//	  "start_time_unix_nano", "end_time_unix_nano",
//	  "status": {"code" ("unset", "ok", "error"), "message"},
//	  "events": [{"name", "time_unix_nano", "attributes"}],
//	  "links": [{"trace_id", "span_id", "trace_state", "attributes"}], "flags"}
//
// Attribute maps are objects; values keep their types (strings, numbers,
// booleans, arrays, objects; bytes as base64 strings; NaN and infinities as
// the strings "NaN", "Infinity", "-Infinity"); ids are lowercase hex ("" when
// unset); times are integers of nanoseconds.

func str(k, v string) [2]*ast.Term { return ast.Item(ast.StringTerm(k), ast.StringTerm(v)) }

func num(k string, v uint64) [2]*ast.Term {
	return ast.Item(ast.StringTerm(k), ast.NumberTerm(json.Number(strconv.FormatUint(v, 10))))
}

func valueTerm(v pcommon.Value) *ast.Term {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return ast.StringTerm(v.Str())
	case pcommon.ValueTypeInt:
		return ast.NumberTerm(json.Number(strconv.FormatInt(v.Int(), 10)))
	case pcommon.ValueTypeDouble:
		d := v.Double()
		switch {
		case math.IsNaN(d):
			return ast.StringTerm("NaN")
		case math.IsInf(d, 1):
			return ast.StringTerm("Infinity")
		case math.IsInf(d, -1):
			return ast.StringTerm("-Infinity")
		}
		return ast.FloatNumberTerm(d)
	case pcommon.ValueTypeBool:
		return ast.BooleanTerm(v.Bool())
	case pcommon.ValueTypeBytes:
		return ast.StringTerm(base64.StdEncoding.EncodeToString(v.Bytes().AsRaw()))
	case pcommon.ValueTypeMap:
		return mapTerm(v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		items := make([]*ast.Term, s.Len())
		for i := range items {
			items[i] = valueTerm(s.At(i))
		}
		return ast.ArrayTerm(items...)
	default:
		return ast.NullTerm()
	}
}

func mapTerm(m pcommon.Map) *ast.Term {
	items := make([][2]*ast.Term, 0, m.Len())
	for k, v := range m.All() {
		items = append(items, ast.Item(ast.StringTerm(k), valueTerm(v)))
	}
	return ast.ObjectTerm(items...)
}

func resourceTerm(r pcommon.Resource) *ast.Term {
	return ast.ObjectTerm(ast.Item(ast.StringTerm("attributes"), mapTerm(r.Attributes())))
}

func scopeTerm(s pcommon.InstrumentationScope) *ast.Term {
	return ast.ObjectTerm(str("name", s.Name()), str("version", s.Version()),
		ast.Item(ast.StringTerm("attributes"), mapTerm(s.Attributes())))
}

func traceID(id pcommon.TraceID) string {
	if id.IsEmpty() {
		return ""
	}
	return id.String()
}

func spanID(id pcommon.SpanID) string {
	if id.IsEmpty() {
		return ""
	}
	return id.String()
}

// logDocuments builds the input of each log record (nothing when off:
// without a policy, no input is needed).
type logDocuments struct {
	off      bool
	res, scp *ast.Term
}

func (d *logDocuments) resource(r pcommon.Resource) {
	if !d.off {
		d.res = resourceTerm(r)
	}
}

func (d *logDocuments) scope(s pcommon.InstrumentationScope) {
	if !d.off {
		d.scp = scopeTerm(s)
	}
}

func (d *logDocuments) record(lr plog.LogRecord) ast.Value {
	return ast.NewObject(
		str("signal", "logs"),
		ast.Item(ast.StringTerm("resource"), d.res),
		ast.Item(ast.StringTerm("scope"), d.scp),
		ast.Item(ast.StringTerm("attributes"), mapTerm(lr.Attributes())),
		ast.Item(ast.StringTerm("body"), valueTerm(lr.Body())),
		str("severity_text", lr.SeverityText()),
		num("severity_number", uint64(max(lr.SeverityNumber(), 0))),
		str("event_name", lr.EventName()),
		num("time_unix_nano", uint64(lr.Timestamp())),
		num("observed_time_unix_nano", uint64(lr.ObservedTimestamp())),
		str("trace_id", traceID(lr.TraceID())),
		str("span_id", spanID(lr.SpanID())),
		num("flags", uint64(lr.Flags())),
	)
}

// spanDocuments builds the input of each span (nothing when off).
type spanDocuments struct {
	off      bool
	res, scp *ast.Term
}

func (d *spanDocuments) resource(r pcommon.Resource) {
	if !d.off {
		d.res = resourceTerm(r)
	}
}

func (d *spanDocuments) scope(s pcommon.InstrumentationScope) {
	if !d.off {
		d.scp = scopeTerm(s)
	}
}

func (d *spanDocuments) record(span ptrace.Span) ast.Value {
	events := make([]*ast.Term, span.Events().Len())
	for i := range events {
		e := span.Events().At(i)
		events[i] = ast.ObjectTerm(str("name", e.Name()), num("time_unix_nano", uint64(e.Timestamp())),
			ast.Item(ast.StringTerm("attributes"), mapTerm(e.Attributes())))
	}
	links := make([]*ast.Term, span.Links().Len())
	for i := range links {
		l := span.Links().At(i)
		links[i] = ast.ObjectTerm(str("trace_id", traceID(l.TraceID())), str("span_id", spanID(l.SpanID())),
			str("trace_state", l.TraceState().AsRaw()), ast.Item(ast.StringTerm("attributes"), mapTerm(l.Attributes())))
	}
	status := ast.ObjectTerm(str("code", strings.ToLower(span.Status().Code().String())), str("message", span.Status().Message()))
	return ast.NewObject(
		str("signal", "traces"),
		ast.Item(ast.StringTerm("resource"), d.res),
		ast.Item(ast.StringTerm("scope"), d.scp),
		ast.Item(ast.StringTerm("attributes"), mapTerm(span.Attributes())),
		str("name", span.Name()),
		str("kind", strings.ToLower(span.Kind().String())),
		str("trace_id", traceID(span.TraceID())),
		str("span_id", spanID(span.SpanID())),
		str("parent_span_id", spanID(span.ParentSpanID())),
		str("trace_state", span.TraceState().AsRaw()),
		num("start_time_unix_nano", uint64(span.StartTimestamp())),
		num("end_time_unix_nano", uint64(span.EndTimestamp())),
		ast.Item(ast.StringTerm("status"), status),
		ast.Item(ast.StringTerm("events"), ast.ArrayTerm(events...)),
		ast.Item(ast.StringTerm("links"), ast.ArrayTerm(links...)),
		num("flags", uint64(span.Flags())),
	)
}
