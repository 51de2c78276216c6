//go:build cgo && linux && (amd64 || arm64)

package auditchainprocessor

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/auditchain/auditchain/go-wrapper/internal/reference"
)

// randomText is valid UTF-8 that exercises the escaping rules: quotes,
// backslashes, control characters, DEL, non-ASCII, U+2028, astral planes.
func randomText(r *rand.Rand) string {
	alphabet := []string{"a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "€", "\u2028", "😀", "語", "audit."}
	var b strings.Builder
	for n := r.IntN(12); n > 0; n-- {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

func randomDouble(r *rand.Rand) float64 {
	switch r.IntN(8) {
	case 0:
		return math.NaN()
	case 1:
		return math.Inf(1 - 2*r.IntN(2))
	case 2:
		return math.Copysign(0, -1)
	case 3:
		return float64(r.IntN(1000)) / 10
	case 4:
		return math.Float64frombits(r.Uint64()) // any bits, subnormals included
	default:
		return r.NormFloat64() * math.Pow(10, float64(r.IntN(50)-25))
	}
}

// randomValue fills v with a random AnyValue nested at most depth levels.
func randomValue(r *rand.Rand, v pcommon.Value, depth int) {
	kinds := 8
	if depth <= 1 {
		kinds = 6 // scalars only
	}
	switch r.IntN(kinds) {
	case 0:
		v.SetStr(randomText(r))
	case 1:
		v.SetBool(r.IntN(2) == 1)
	case 2:
		v.SetInt([]int64{0, -1, math.MinInt64, math.MaxInt64, r.Int64() - r.Int64()}[r.IntN(5)])
	case 3:
		v.SetDouble(randomDouble(r))
	case 4:
		b := make([]byte, r.IntN(9))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		v.SetEmptyBytes().FromRaw(b)
	case 5:
		// Empty: an AnyValue with no value set.
	case 6:
		s := v.SetEmptySlice()
		for n := r.IntN(4); n > 0; n-- {
			randomValue(r, s.AppendEmpty(), depth-1)
		}
	default:
		randomMap(r, v.SetEmptyMap(), depth-1)
	}
}

func randomMap(r *rand.Rand, m pcommon.Map, depth int) {
	for n := r.IntN(5); n > 0; n-- {
		randomValue(r, m.PutEmpty(randomText(r)), depth)
	}
}

// randomLogs is a batch of random records under random resources and
// scopes, with every field of a log record set at random.
func randomLogs(r *rand.Rand) plog.Logs {
	ld := plog.NewLogs()
	for range 1 + r.IntN(3) {
		rl := ld.ResourceLogs().AppendEmpty()
		randomMap(r, rl.Resource().Attributes(), 3)
		rl.Resource().SetDroppedAttributesCount(uint32(r.IntN(2)))
		if r.IntN(2) == 0 {
			rl.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
		}
		for range 1 + r.IntN(2) {
			sl := rl.ScopeLogs().AppendEmpty()
			if r.IntN(2) == 0 {
				sl.Scope().SetName(randomText(r))
				sl.Scope().SetVersion("1.0")
				randomMap(r, sl.Scope().Attributes(), 2)
			}
			for range r.IntN(5) {
				lr := sl.LogRecords().AppendEmpty()
				lr.SetTimestamp(pcommon.Timestamp(r.Uint64()))
				lr.SetObservedTimestamp(pcommon.Timestamp(r.Uint64() * uint64(r.IntN(2))))
				lr.SetSeverityNumber(plog.SeverityNumber(r.IntN(25)))
				lr.SetSeverityText([]string{"", "INFO", "WARN"}[r.IntN(3)])
				lr.SetEventName([]string{"", "user.login", randomText(r)}[r.IntN(3)])
				lr.SetFlags(plog.LogRecordFlags(r.IntN(2)))
				lr.SetDroppedAttributesCount(uint32(r.IntN(2)))
				if r.IntN(2) == 0 {
					var t pcommon.TraceID
					var s pcommon.SpanID
					for i := range t {
						t[i] = byte(r.IntN(256))
					}
					for i := range s {
						s[i] = byte(r.IntN(256))
					}
					lr.SetTraceID(t)
					lr.SetSpanID(s)
				}
				randomValue(r, lr.Body(), 4)
				randomMap(r, lr.Attributes(), 4)
			}
		}
	}
	return ld
}

// TestReferenceImplementationAgrees is the differential test: the Rust
// core stamps random batches, and the pure-Go reference, written from
// docs/SPEC.md alone, must compute the very links the core issued from the
// pdata the processor holds.
func TestReferenceImplementationAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	eng, err := newEngine([]byte(`{"stream_name":"reference"}`), time.Now())
	require.NoError(t, err)
	defer eng.free()
	var w reference.Writer
	records := 0
	for batch := range 300 {
		ld := randomLogs(r)
		var m plog.ProtoMarshaler
		req, err := m.MarshalLogs(ld)
		require.NoError(t, err)
		st, err := eng.stampLogs(req, time.Now())
		require.NoError(t, err, "batch %d", batch)
		require.NoError(t, checkStamps(st, ld.LogRecordCount(), attributeKeys()))
		applyLogStamps(ld, st.records, st, attributeKeys())
		if st.issued() {
			require.NoError(t, eng.settle(st.batchID, true))
		}
		st.free()
		if ld.LogRecordCount() == 0 {
			continue
		}
		var first uint64
		var previous *[32]byte
		var streamID string
		i := 0
		eachLogRecord(ld, func(lr plog.LogRecord) {
			if i == 0 {
				id, _ := lr.Attributes().Get(attrStreamID)
				streamID = id.Str()
				n, _ := lr.Attributes().Get(attrNumber)
				first = uint64(n.Int())
				if p, ok := lr.Attributes().Get(attrPrevious); ok {
					b, err := hex.DecodeString(p.Str())
					require.NoError(t, err)
					previous = (*[32]byte)(b)
				}
			}
			i++
		})
		links := w.Chain(ld, streamID, first, previous)
		i = 0
		eachLogRecord(ld, func(lr plog.LogRecord) {
			v, _ := lr.Attributes().Get(attrValue)
			require.Equal(t, v.Str(), hex.EncodeToString(links[i][:]), "batch %d record %d: %v", batch, i, lr.Attributes().AsRaw())
			i++
			records++
		})
	}
	require.Greater(t, records, 1000, "enough random records were compared")
}

// BenchmarkStampingCore compares, per record of the benchmark batch, the
// Rust core's stamping call (canonical form from the protobuf bytes,
// record hash, chain link) with the pure-Go reference doing the same from
// the pdata the processor holds. Go has SHA-NI: what differs is the
// canonicalisation.
func BenchmarkStampingCore(b *testing.B) {
	for _, n := range batchSizes {
		tmpl := makeLogs("bench", n, benchRecordSize)
		var m plog.ProtoMarshaler
		req, err := m.MarshalLogs(tmpl)
		require.NoError(b, err)
		b.Run(fmt.Sprintf("impl=rust/records=%d", n), func(b *testing.B) {
			eng, err := newEngine([]byte(`{"stream_name":"bench"}`), time.Now())
			require.NoError(b, err)
			defer eng.free()
			b.SetBytes(int64(len(req)))
			b.ReportAllocs()
			for b.Loop() {
				st, err := eng.stampLogs(req, time.Now())
				if err != nil {
					b.Fatal(err)
				}
				if err := eng.settle(st.batchID, true); err != nil {
					b.Fatal(err)
				}
				st.free()
			}
			reportPerRecord(b, n)
		})
		b.Run(fmt.Sprintf("impl=rust+marshal/records=%d", n), func(b *testing.B) {
			eng, err := newEngine([]byte(`{"stream_name":"bench"}`), time.Now())
			require.NoError(b, err)
			defer eng.free()
			b.SetBytes(int64(len(req)))
			b.ReportAllocs()
			for b.Loop() {
				req, err := m.MarshalLogs(tmpl)
				if err != nil {
					b.Fatal(err)
				}
				st, err := eng.stampLogs(req, time.Now())
				if err != nil {
					b.Fatal(err)
				}
				if err := eng.settle(st.batchID, true); err != nil {
					b.Fatal(err)
				}
				st.free()
			}
			reportPerRecord(b, n)
		})
		b.Run(fmt.Sprintf("impl=go/records=%d", n), func(b *testing.B) {
			var w reference.Writer
			b.SetBytes(int64(len(req)))
			b.ReportAllocs()
			var previous [32]byte
			for b.Loop() {
				links := w.Chain(tmpl, "bench-20261201T000000Z-0000", 1, &previous)
				previous = links[len(links)-1]
			}
			reportPerRecord(b, n)
		})
	}
}
