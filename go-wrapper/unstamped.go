package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The marks on records forwarded unstamped (docs/SPEC.md §4.3;
// src/core/vocab.rs `unstamped`). Their prefix is reserved, so that only
// the processor writes them.
const (
	attrUnstampedRemoved     = "audit.unstamped.removed"
	attrUnstampedInvalidUTF8 = "audit.unstamped.invalid_utf8"
)

// scrubLogs makes a logs batch safe to forward without stamps (on_error:
// forward_unstamped), whatever it carried:
//   - attributes under a reserved prefix (audit.sequence., audit.integrity.,
//     audit.stream., audit.unstamped.) are removed from every record, scope
//     and resource, so that no record leaves looking stamped, or like one of
//     the processor's own records, without the engine having stamped it;
//   - strings that are not valid UTF-8 are repaired (each bad sequence
//     becomes U+FFFD), so that every exporter writes valid JSON.
//
// Each record changed says so: audit.unstamped.removed lists the names
// removed (resource:<name> and scope:<name> for those of its resource and
// scope), audit.unstamped.invalid_utf8 is true when strings were repaired.
// It returns how many records were marked. scrubSpans does the same for
// spans.
func scrubLogs(ld plog.Logs, reserved []string) int {
	s := scrubber{reserved: reserved}
	marked := 0
	rls := ld.ResourceLogs()
	for r := 0; r < rls.Len(); r++ {
		rl := rls.At(r)
		resRemoved := s.removeReserved(rl.Resource().Attributes(), "resource:")
		resBad := s.repairMap(rl.Resource().Attributes())
		resBad = repairStr(rl.SchemaUrl, rl.SetSchemaUrl) || resBad
		sls := rl.ScopeLogs()
		for sc := 0; sc < sls.Len(); sc++ {
			sl := sls.At(sc)
			scope := sl.Scope()
			scopeRemoved := s.removeReserved(scope.Attributes(), "scope:")
			scopeBad := s.repairMap(scope.Attributes())
			scopeBad = repairStr(scope.Name, scope.SetName) || scopeBad
			scopeBad = repairStr(scope.Version, scope.SetVersion) || scopeBad
			scopeBad = repairStr(sl.SchemaUrl, sl.SetSchemaUrl) || scopeBad
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				removed := append(append(append([]string(nil), resRemoved...), scopeRemoved...), s.removeReserved(lr.Attributes(), "")...)
				bad := s.repairMap(lr.Attributes())
				bad = s.repairValue(lr.Body()) || bad
				bad = repairStr(lr.SeverityText, lr.SetSeverityText) || bad
				bad = repairStr(lr.EventName, lr.SetEventName) || bad
				if mark(lr.Attributes(), removed, bad || resBad || scopeBad) {
					marked++
				}
			}
		}
	}
	return marked
}

// scrubSpans is scrubLogs for spans: reserved attributes are removed from
// every span, scope and resource, and invalid UTF-8 is repaired everywhere
// (events and links included), each span changed marked the same way.
func scrubSpans(td ptrace.Traces, reserved []string) int {
	s := scrubber{reserved: reserved}
	marked := 0
	rss := td.ResourceSpans()
	for r := 0; r < rss.Len(); r++ {
		rs := rss.At(r)
		resRemoved := s.removeReserved(rs.Resource().Attributes(), "resource:")
		resBad := s.repairMap(rs.Resource().Attributes())
		resBad = repairStr(rs.SchemaUrl, rs.SetSchemaUrl) || resBad
		sss := rs.ScopeSpans()
		for sc := 0; sc < sss.Len(); sc++ {
			ss := sss.At(sc)
			scope := ss.Scope()
			scopeRemoved := s.removeReserved(scope.Attributes(), "scope:")
			scopeBad := s.repairMap(scope.Attributes())
			scopeBad = repairStr(scope.Name, scope.SetName) || scopeBad
			scopeBad = repairStr(scope.Version, scope.SetVersion) || scopeBad
			scopeBad = repairStr(ss.SchemaUrl, ss.SetSchemaUrl) || scopeBad
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				removed := append(append(append([]string(nil), resRemoved...), scopeRemoved...), s.removeReserved(span.Attributes(), "")...)
				bad := s.repairSpan(span)
				if mark(span.Attributes(), removed, bad || resBad || scopeBad) {
					marked++
				}
			}
		}
	}
	return marked
}

// repairSpan repairs the strings of a span, its events and links.
func (s scrubber) repairSpan(span ptrace.Span) bool {
	bad := s.repairMap(span.Attributes())
	bad = repairStr(span.Name, span.SetName) || bad
	bad = repairTraceState(span.TraceState()) || bad
	bad = repairStr(span.Status().Message, span.Status().SetMessage) || bad
	events := span.Events()
	for i := 0; i < events.Len(); i++ {
		e := events.At(i)
		bad = repairStr(e.Name, e.SetName) || bad
		bad = s.repairMap(e.Attributes()) || bad
	}
	links := span.Links()
	for i := 0; i < links.Len(); i++ {
		l := links.At(i)
		bad = repairTraceState(l.TraceState()) || bad
		bad = s.repairMap(l.Attributes()) || bad
	}
	return bad
}

func repairTraceState(ts pcommon.TraceState) bool {
	return repairStr(ts.AsRaw, ts.FromRaw)
}

// mark writes what was done to a record forwarded unstamped onto its
// attributes; true when it marked anything.
func mark(attrs pcommon.Map, removed []string, invalidUTF8 bool) bool {
	if len(removed) > 0 {
		list := attrs.PutEmptySlice(attrUnstampedRemoved)
		for _, name := range removed {
			list.AppendEmpty().SetStr(name)
		}
	}
	if invalidUTF8 {
		attrs.PutBool(attrUnstampedInvalidUTF8, true)
	}
	return len(removed) > 0 || invalidUTF8
}

// forgedLogs marks the log records (in request order) that carry a
// reserved attribute on themselves, their scope or their resource; nil
// when none does.
func forgedLogs(ld plog.Logs, reserved []string) []bool {
	s := scrubber{reserved: reserved}
	var bad []bool
	i := 0
	rls := ld.ResourceLogs()
	for r := 0; r < rls.Len(); r++ {
		res := s.hasReserved(rls.At(r).Resource().Attributes())
		sls := rls.At(r).ScopeLogs()
		for sc := 0; sc < sls.Len(); sc++ {
			scope := res || s.hasReserved(sls.At(sc).Scope().Attributes())
			lrs := sls.At(sc).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				if scope || s.hasReserved(lrs.At(k).Attributes()) {
					bad = markAt(bad, i, ld.LogRecordCount())
				}
				i++
			}
		}
	}
	return bad
}

// forgedSpans is forgedLogs for spans.
func forgedSpans(td ptrace.Traces, reserved []string) []bool {
	s := scrubber{reserved: reserved}
	var bad []bool
	i := 0
	rss := td.ResourceSpans()
	for r := 0; r < rss.Len(); r++ {
		res := s.hasReserved(rss.At(r).Resource().Attributes())
		sss := rss.At(r).ScopeSpans()
		for sc := 0; sc < sss.Len(); sc++ {
			scope := res || s.hasReserved(sss.At(sc).Scope().Attributes())
			spans := sss.At(sc).Spans()
			for k := 0; k < spans.Len(); k++ {
				if scope || s.hasReserved(spans.At(k).Attributes()) {
					bad = markAt(bad, i, td.SpanCount())
				}
				i++
			}
		}
	}
	return bad
}

func markAt(bad []bool, i, n int) []bool {
	if bad == nil {
		bad = make([]bool, n)
	}
	bad[i] = true
	return bad
}

type scrubber struct {
	reserved []string
}

func (s scrubber) isReserved(key string) bool {
	for _, p := range s.reserved {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// hasReserved reports whether m holds an attribute under a reserved prefix.
func (s scrubber) hasReserved(m pcommon.Map) bool {
	found := false
	m.Range(func(k string, _ pcommon.Value) bool {
		found = s.isReserved(k)
		return !found
	})
	return found
}

// removeReserved removes the reserved attributes of m and returns their
// names, prefixed with where (and made valid UTF-8 to be written).
func (s scrubber) removeReserved(m pcommon.Map, where string) []string {
	var removed []string
	m.RemoveIf(func(k string, _ pcommon.Value) bool {
		if !s.isReserved(k) {
			return false
		}
		removed = append(removed, where+strings.ToValidUTF8(k, "\uFFFD"))
		return true
	})
	return removed
}

// repairMap repairs the keys and values of m; true when anything changed.
func (s scrubber) repairMap(m pcommon.Map) bool {
	changed := false
	var badKeys []string
	m.Range(func(k string, v pcommon.Value) bool {
		if !utf8.ValidString(k) {
			badKeys = append(badKeys, k)
		}
		changed = s.repairValue(v) || changed
		return true
	})
	for _, k := range badKeys {
		v, _ := m.Get(k)
		tmp := pcommon.NewValueEmpty()
		v.CopyTo(tmp)
		m.Remove(k)
		tmp.CopyTo(m.PutEmpty(strings.ToValidUTF8(k, "\uFFFD")))
	}
	return changed || len(badKeys) > 0
}

// repairValue repairs the strings in v, at any depth.
func (s scrubber) repairValue(v pcommon.Value) bool {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return repairStr(v.Str, v.SetStr)
	case pcommon.ValueTypeMap:
		return s.repairMap(v.Map())
	case pcommon.ValueTypeSlice:
		changed := false
		sl := v.Slice()
		for i := 0; i < sl.Len(); i++ {
			changed = s.repairValue(sl.At(i)) || changed
		}
		return changed
	}
	return false
}

func repairStr(get func() string, set func(string)) bool {
	if s := get(); !utf8.ValidString(s) {
		set(strings.ToValidUTF8(s, "\uFFFD"))
		return true
	}
	return false
}
