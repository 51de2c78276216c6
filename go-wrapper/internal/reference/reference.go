// Package reference is a pure-Go implementation of auditchain's canonical
// form of a log record (otlp-jcs-v1, docs/SPEC.md §2) and of the plain chain
// link (§3), written from the specification alone.
//
// The processor never uses it: the Rust core stamps. It exists for two
// reasons: as a differential oracle (the links the Rust core issues must be
// the links this computes from the same pdata), and as the baseline the
// Rust core is measured against (docs/BENCHMARKS.md): Go has SHA-NI since
// 1.21, so the Rust core must earn its place by canonicalising faster.
package reference // import "github.com/auditchain/auditchain/go-wrapper/internal/reference"

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Canonicalization is the name of the canonical form written here.
const Canonicalization = "otlp-jcs-v1"

// isStamp reports whether key is a stamp attribute (left out of the
// canonical form, SPEC §2.5).
func isStamp(key string) bool {
	switch key {
	case "audit.sequence.stream_id", "audit.sequence.number", "audit.sequence.previous_hash",
		"audit.sequence.end", "audit.integrity.value", "audit.integrity.algorithm",
		"audit.integrity.canonicalization", "audit.integrity.key_epoch":
		return true
	}
	return false
}

// Writer appends canonical bytes to a reusable buffer. Reusing one Writer
// for a batch allocates only when a record is larger or deeper than any
// before it.
type Writer struct {
	buf []byte
	// levels holds, per nesting level, the canonical values of one
	// attribute list waiting to be sorted. Pointers, so that a deeper level
	// being added does not move a level in use.
	levels []*level
}

type level struct {
	values  []byte
	entries []entry
}

// entry is one attribute of a level: its key and the range of its
// canonical value in the level's values.
type entry struct {
	key        string
	start, end int
}

// jcsString appends s as an RFC 8785 string literal.
func (w *Writer) jcsString(s string) {
	w.buf = append(w.buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		w.buf = append(w.buf, s[start:i]...)
		start = i + 1
		switch c {
		case '"':
			w.buf = append(w.buf, '\\', '"')
		case '\\':
			w.buf = append(w.buf, '\\', '\\')
		case '\b':
			w.buf = append(w.buf, '\\', 'b')
		case '\t':
			w.buf = append(w.buf, '\\', 't')
		case '\n':
			w.buf = append(w.buf, '\\', 'n')
		case '\f':
			w.buf = append(w.buf, '\\', 'f')
		case '\r':
			w.buf = append(w.buf, '\\', 'r')
		default:
			const digits = "0123456789abcdef"
			w.buf = append(w.buf, '\\', 'u', '0', '0', digits[c>>4], digits[c&0xf])
		}
	}
	w.buf = append(w.buf, s[start:]...)
	w.buf = append(w.buf, '"')
}

// jcsNumber appends a finite double as ECMAScript's Number#toString writes
// it (RFC 8785 §3.2.2.3): shortest round-trip digits, exponent form below
// 1e-6 and from 1e21, "-0" as "0".
func (w *Writer) jcsNumber(f float64) {
	if f == 0 {
		w.buf = append(w.buf, '0')
		return
	}
	abs := math.Abs(f)
	if abs < 1e-6 || abs >= 1e21 {
		b := strconv.AppendFloat(nil, f, 'e', -1, 64)
		// Go writes e-07 and e+21; ECMAScript writes e-7 and e+21.
		if i := bytes.IndexByte(b, 'e'); i >= 0 && i+2 < len(b) && b[i+2] == '0' {
			b = append(b[:i+2], b[i+3:]...)
		}
		w.buf = append(w.buf, b...)
		return
	}
	w.buf = strconv.AppendFloat(w.buf, f, 'f', -1, 64)
}

func (w *Writer) key(first *bool, k string) {
	if !*first {
		w.buf = append(w.buf, ',')
	}
	*first = false
	w.buf = append(w.buf, '"')
	w.buf = append(w.buf, k...)
	w.buf = append(w.buf, '"', ':')
}

// anyValue appends an AnyValue in OTLP/JSON typed form (SPEC §2.3).
func (w *Writer) anyValue(v pcommon.Value, depth int) {
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		w.buf = append(w.buf, '{', '}')
	case pcommon.ValueTypeStr:
		w.buf = append(w.buf, `{"stringValue":`...)
		w.jcsString(v.Str())
		w.buf = append(w.buf, '}')
	case pcommon.ValueTypeBool:
		if v.Bool() {
			w.buf = append(w.buf, `{"boolValue":true}`...)
		} else {
			w.buf = append(w.buf, `{"boolValue":false}`...)
		}
	case pcommon.ValueTypeInt:
		w.buf = append(w.buf, `{"intValue":"`...)
		w.buf = strconv.AppendInt(w.buf, v.Int(), 10)
		w.buf = append(w.buf, '"', '}')
	case pcommon.ValueTypeDouble:
		w.buf = append(w.buf, `{"doubleValue":`...)
		switch d := v.Double(); {
		case math.IsNaN(d):
			w.buf = append(w.buf, `"NaN"`...)
		case math.IsInf(d, 1):
			w.buf = append(w.buf, `"Infinity"`...)
		case math.IsInf(d, -1):
			w.buf = append(w.buf, `"-Infinity"`...)
		default:
			w.jcsNumber(d)
		}
		w.buf = append(w.buf, '}')
	case pcommon.ValueTypeBytes:
		w.buf = append(w.buf, `{"bytesValue":"`...)
		w.buf = base64.StdEncoding.AppendEncode(w.buf, v.Bytes().AsRaw())
		w.buf = append(w.buf, '"', '}')
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		w.buf = append(w.buf, `{"arrayValue":{`...)
		for i := 0; i < s.Len(); i++ {
			if i == 0 {
				w.buf = append(w.buf, `"values":[`...)
			} else {
				w.buf = append(w.buf, ',')
			}
			w.anyValue(s.At(i), depth+1)
		}
		if s.Len() > 0 {
			w.buf = append(w.buf, ']')
		}
		w.buf = append(w.buf, '}', '}')
	case pcommon.ValueTypeMap:
		w.buf = append(w.buf, `{"kvlistValue":{`...)
		if v.Map().Len() > 0 {
			w.buf = append(w.buf, `"values":`...)
			w.attributes(v.Map(), depth+1, false)
		}
		w.buf = append(w.buf, '}', '}')
	}
}

// attributes appends a sorted attribute list (SPEC §2.5): by key in UTF-8
// byte order, then by canonical value.
func (w *Writer) attributes(m pcommon.Map, depth int, skipStamp bool) {
	for len(w.levels) <= depth {
		w.levels = append(w.levels, &level{})
	}
	lv := w.levels[depth]
	lv.values, lv.entries = lv.values[:0], lv.entries[:0]
	m.Range(func(k string, v pcommon.Value) bool {
		if skipStamp && isStamp(k) {
			return true
		}
		mark := len(w.buf)
		w.anyValue(v, depth)
		start := len(lv.values)
		lv.values = append(lv.values, w.buf[mark:]...)
		lv.entries = append(lv.entries, entry{key: k, start: start, end: len(lv.values)})
		w.buf = w.buf[:mark]
		return true
	})
	slices.SortFunc(lv.entries, func(a, b entry) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return bytes.Compare(lv.values[a.start:a.end], lv.values[b.start:b.end])
	})
	w.buf = append(w.buf, '[')
	for i, e := range lv.entries {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = append(w.buf, `{"key":`...)
		w.jcsString(e.key)
		w.buf = append(w.buf, `,"value":`...)
		w.buf = append(w.buf, lv.values[e.start:e.end]...)
		w.buf = append(w.buf, '}')
	}
	w.buf = append(w.buf, ']')
}

func nonZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return true
		}
	}
	return false
}

// container appends a resource or scope object, or nothing when every
// member is a default (SPEC §2.4); it reports whether it wrote one.
func (w *Writer) container(attrs pcommon.Map, dropped uint32, name, version string) bool {
	if attrs.Len() == 0 && dropped == 0 && name == "" && version == "" {
		return false
	}
	first := true
	w.buf = append(w.buf, '{')
	if attrs.Len() > 0 {
		w.key(&first, "attributes")
		w.attributes(attrs, 0, false)
	}
	if dropped != 0 {
		w.key(&first, "droppedAttributesCount")
		w.buf = strconv.AppendUint(w.buf, uint64(dropped), 10)
	}
	if name != "" {
		w.key(&first, "name")
		w.jcsString(name)
	}
	if version != "" {
		w.key(&first, "version")
		w.jcsString(version)
	}
	w.buf = append(w.buf, '}')
	return true
}

// record appends the canonical log record object (SPEC §2.2).
func (w *Writer) record(lr plog.LogRecord) {
	first := true
	w.buf = append(w.buf, '{')
	if n := lr.Attributes().Len(); n > 0 {
		// The first member: if every attribute is a stamp attribute, the
		// list is empty and omitted, and nothing came before it.
		mark := len(w.buf)
		w.key(&first, "attributes")
		w.attributes(lr.Attributes(), 0, true)
		if bytes.HasSuffix(w.buf, []byte(`"attributes":[]`)) {
			w.buf, first = w.buf[:mark], true
		}
	}
	if lr.Body().Type() != pcommon.ValueTypeEmpty {
		w.key(&first, "body")
		w.anyValue(lr.Body(), 1)
	}
	if n := lr.DroppedAttributesCount(); n != 0 {
		w.key(&first, "droppedAttributesCount")
		w.buf = strconv.AppendUint(w.buf, uint64(n), 10)
	}
	if s := lr.EventName(); s != "" {
		w.key(&first, "eventName")
		w.jcsString(s)
	}
	if f := uint32(lr.Flags()); f != 0 {
		w.key(&first, "flags")
		w.buf = strconv.AppendUint(w.buf, uint64(f), 10)
	}
	if t := lr.ObservedTimestamp(); t != 0 {
		w.key(&first, "observedTimeUnixNano")
		w.buf = append(w.buf, '"')
		w.buf = strconv.AppendUint(w.buf, uint64(t), 10)
		w.buf = append(w.buf, '"')
	}
	if s := lr.SeverityNumber(); s != 0 {
		w.key(&first, "severityNumber")
		w.buf = strconv.AppendInt(w.buf, int64(s), 10)
	}
	if s := lr.SeverityText(); s != "" {
		w.key(&first, "severityText")
		w.jcsString(s)
	}
	if id := lr.SpanID(); nonZero(id[:]) {
		w.key(&first, "spanId")
		w.buf = append(w.buf, '"')
		w.buf = hex.AppendEncode(w.buf, id[:])
		w.buf = append(w.buf, '"')
	}
	if t := lr.Timestamp(); t != 0 {
		w.key(&first, "timeUnixNano")
		w.buf = append(w.buf, '"')
		w.buf = strconv.AppendUint(w.buf, uint64(t), 10)
		w.buf = append(w.buf, '"')
	}
	if id := lr.TraceID(); nonZero(id[:]) {
		w.key(&first, "traceId")
		w.buf = append(w.buf, '"')
		w.buf = hex.AppendEncode(w.buf, id[:])
		w.buf = append(w.buf, '"')
	}
	w.buf = append(w.buf, '}')
}

// Canonical returns the canonical form of one log record with its resource
// and scope (SPEC §2.1). The result is valid until the next call.
func (w *Writer) Canonical(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord) []byte {
	w.buf = append(w.buf[:0], `{"resourceLogs":[{`...)
	mark := len(w.buf)
	w.buf = append(w.buf, `"resource":`...)
	r := rl.Resource()
	if w.container(r.Attributes(), r.DroppedAttributesCount(), "", "") {
		w.buf = append(w.buf, ',')
	} else {
		w.buf = w.buf[:mark]
	}
	if u := rl.SchemaUrl(); u != "" {
		w.buf = append(w.buf, `"schemaUrl":`...)
		w.jcsString(u)
		w.buf = append(w.buf, ',')
	}
	w.buf = append(w.buf, `"scopeLogs":[{"logRecords":[`...)
	w.record(lr)
	w.buf = append(w.buf, ']')
	if u := sl.SchemaUrl(); u != "" {
		w.buf = append(w.buf, `,"schemaUrl":`...)
		w.jcsString(u)
	}
	mark = len(w.buf)
	w.buf = append(w.buf, `,"scope":`...)
	s := sl.Scope()
	if !w.container(s.Attributes(), s.DroppedAttributesCount(), s.Name(), s.Version()) {
		w.buf = w.buf[:mark]
	}
	w.buf = append(w.buf, `}]}]}`...)
	return w.buf
}

// Link is the plain chain link, sha256-chain-v1 (SPEC §3), of the record
// whose record hash is recordHash.
func Link(streamID string, sequence, keyEpoch uint64, end bool, previous *[32]byte, recordHash [32]byte) [32]byte {
	h := sha256.New()
	var n [8]byte
	h.Write([]byte("auditchain.link.v1\x00"))
	binary.BigEndian.PutUint32(n[:4], uint32(len(streamID)))
	h.Write(n[:4])
	h.Write([]byte(streamID))
	binary.BigEndian.PutUint64(n[:], sequence)
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], keyEpoch)
	h.Write(n[:])
	if end {
		h.Write([]byte{1})
	} else {
		h.Write([]byte{0})
	}
	if previous != nil {
		h.Write(previous[:])
	} else {
		h.Write(make([]byte, 32))
	}
	h.Write(recordHash[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Chain stamps the records of ld, in request order, as the Rust core does
// on a plain chain: it returns each record's link, the links chained from
// previous (nil for a new stream) starting at sequence first.
func (w *Writer) Chain(ld plog.Logs, streamID string, first uint64, previous *[32]byte) [][32]byte {
	var links [][32]byte
	seq := first
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			for k := 0; k < sl.LogRecords().Len(); k++ {
				link := Link(streamID, seq, 0, false, previous, sha256.Sum256(w.Canonical(rl, sl, sl.LogRecords().At(k))))
				links = append(links, link)
				previous = &links[len(links)-1]
				seq++
			}
		}
	}
	return links
}
