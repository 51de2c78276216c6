package reference

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func TestNumbersFollowECMAScript(t *testing.T) {
	// RFC 8785 appendix B, and the cases the Rust core's tests pin.
	for f, want := range map[float64]string{
		0: "0", math.Copysign(0, -1): "0", 5e-324: "5e-324", 1.7976931348623157e308: "1.7976931348623157e+308",
		9007199254740992: "9007199254740992", 295147905179352830000: "295147905179352830000", 1e21: "1e+21",
		0.000001: "0.000001", 1e-7: "1e-7", -1.5: "-1.5", 333333333.3333332: "333333333.3333332", 0.1: "0.1",
	} {
		var w Writer
		w.jcsNumber(f)
		assert.Equal(t, want, string(w.buf), "%v", f)
	}
}

func TestStringsEscapeOnlyWhatRFC8785Escapes(t *testing.T) {
	var w Writer
	w.jcsString("a\"b\\c\b\t\n\f\r\x00\x1f\x7fé/\u2028😀")
	assert.Equal(t, `"a\"b\\c\b\t\n\f\r\u0000\u001f`+"\x7fé/\u2028😀\"", string(w.buf))
}

// The canonical form of the first case of tests/vectors/canonical.json
// ("minimal": one record with a body, an empty resource and scope).
func TestMinimalRecord(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	sl := rl.ScopeLogs().AppendEmpty()
	lr := sl.LogRecords().AppendEmpty()
	lr.Body().SetStr("hello")
	lr.SetTimestamp(pcommon.Timestamp(1795320660000000000))
	lr.Attributes().PutStr("audit.sequence.number", "ignored: a stamp attribute")
	var w Writer
	got := string(w.Canonical(rl, sl, lr))
	assert.Equal(t, `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"hello"},"timeUnixNano":"1795320660000000000"}]}]}]}`, got)
}
