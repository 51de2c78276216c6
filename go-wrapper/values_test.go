//go:build cgo && linux && (amd64 || arm64)

package auditchainprocessor

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// TestEveryValueTypeVerifiesThroughPdataJSON stamps records holding every
// AnyValue type, including the doubles JSON numbers cannot hold, writes the
// result with pdata's own OTLP/JSON marshaler (what the file exporter
// writes) and runs the real verifier on it: the canonical form read back
// from pdata's JSON must be the one the engine hashed from protobuf.
func TestEveryValueTypeVerifiesThroughPdataJSON(t *testing.T) {
	verifier, err := filepath.Abs("../target/release/auditchain")
	require.NoError(t, err)
	_, err = os.Stat(verifier)
	if _, e := os.Stat("lib/BUILDINFO"); e == nil && err != nil {
		t.Skip("a module version, outside the repository: no verifier CLI beside it")
	}
	require.NoError(t, err, "build the CLI first: make cli (make test-go does)")

	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "values")
	rl.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("values")
	for i, set := range []func(pcommon.Value){
		func(v pcommon.Value) { v.SetStr("quote \" backslash \\ nul \x00 é 😀 \u2028") },
		func(v pcommon.Value) { v.SetBool(false) },
		func(v pcommon.Value) { v.SetInt(math.MinInt64) },
		func(v pcommon.Value) { v.SetDouble(math.NaN()) },
		func(v pcommon.Value) { v.SetDouble(math.Inf(1)) },
		func(v pcommon.Value) { v.SetDouble(math.Inf(-1)) },
		func(v pcommon.Value) { v.SetDouble(math.Copysign(0, -1)) },
		func(v pcommon.Value) { v.SetDouble(1e21) },
		func(v pcommon.Value) { v.SetDouble(5e-324) },
		func(v pcommon.Value) { v.SetEmptyBytes().FromRaw([]byte{0, 1, 254, 255}) },
		func(v pcommon.Value) {
			m := v.SetEmptyMap()
			m.PutEmptySlice("list").AppendEmpty().SetEmptyMap().PutDouble("deep", math.NaN())
			m.PutEmpty("unset")
		},
		func(pcommon.Value) {}, // an empty body
	} {
		lr := sl.LogRecords().AppendEmpty()
		set(lr.Body())
		lr.Attributes().PutInt("index", int64(i))
		set(lr.Attributes().PutEmpty("value"))
		lr.SetTimestamp(pcommon.Timestamp(1795320660123456789 + i))
		lr.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	}

	sink := new(consumertest.LogsSink)
	p := startTestProcessor(t, testConfig(t), sink)
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	require.NoError(t, p.Shutdown(context.Background()))

	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "audit.jsonl"))
	require.NoError(t, err)
	var m plog.JSONMarshaler
	for _, out := range sink.AllLogs() {
		b, err := m.MarshalLogs(out)
		require.NoError(t, err)
		_, err = f.Write(append(b, '\n'))
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())

	out, err := exec.Command(verifier, "verify", "--format", "json", dir).Output()
	var report struct {
		Verdict string `json:"verdict"`
		Streams []struct {
			Records uint64     `json:"records"`
			Missing [][]uint64 `json:"missing"`
			Ended   bool       `json:"ended"`
		} `json:"streams"`
	}
	require.NoError(t, json.Unmarshal(out, &report), "%s", out)
	require.NoError(t, err, "verify failed:\n%s", out)
	require.Equal(t, "pass", report.Verdict, "%s", out)
	require.Len(t, report.Streams, 1)
	// 12 records, the start record and the end record.
	require.Equal(t, uint64(14), report.Streams[0].Records, "%s", out)
	require.Empty(t, report.Streams[0].Missing)
	require.True(t, report.Streams[0].Ended)
}
