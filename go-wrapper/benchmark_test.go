//go:build cgo && linux && (amd64 || arm64)

package auditchainprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadata"
)

// batchSizes are the batch sizes benchmarked; records are about 300 bytes
// of OTLP protobuf each.
var batchSizes = []int{100, 1000}

const benchRecordSize = 300

// BenchmarkConsumeLogs measures the whole ConsumeLogs path: marshal, one
// cgo call (canonicalise, hash, chain, fsync the state), write the stamps,
// forward, settle. The batch is cloned outside the timer (a stamped batch
// cannot be stamped again).
func BenchmarkConsumeLogs(b *testing.B) {
	for _, n := range batchSizes {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			p := newTestProcessor(b, processortest.NewNopSettings(metadata.Type), testConfig(b), consumertest.NewNop())
			p.tickEvery = time.Hour
			require.NoError(b, p.Start(context.Background(), componenttest.NewNopHost()))
			defer func() { require.NoError(b, p.Shutdown(context.Background())) }()

			tmpl := makeLogs("bench", n, benchRecordSize)
			var m plog.ProtoMarshaler
			b.SetBytes(int64(m.LogsSize(tmpl)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				ld := plog.NewLogs()
				tmpl.CopyTo(ld)
				b.StartTimer()
				if err := p.ConsumeLogs(context.Background(), ld); err != nil {
					b.Fatal(err)
				}
			}
			reportPerRecord(b, n)
		})
	}
}

// BenchmarkApplyLogStamps measures the Go side alone: writing one batch's
// stamps onto pdata (the stamps are computed once, outside the timer).
func BenchmarkApplyLogStamps(b *testing.B) {
	for _, n := range batchSizes {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			cfg := testConfig(b)
			json, err := cfg.engineConfigJSON(cfg.StreamName, pipeline.SignalLogs)
			require.NoError(b, err)
			eng, err := newEngine(json, time.Now())
			require.NoError(b, err)
			defer eng.free()

			tmpl := makeLogs("bench", n, benchRecordSize)
			var m plog.ProtoMarshaler
			req, err := m.MarshalLogs(tmpl)
			require.NoError(b, err)
			st, err := eng.stampLogs(req, time.Now())
			require.NoError(b, err)
			defer st.free()
			keys := attributeKeys()
			require.NoError(b, checkStamps(st, n, keys))

			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				ld := plog.NewLogs()
				tmpl.CopyTo(ld)
				b.StartTimer()
				applyLogStamps(ld, st.records, st, keys)
			}
			reportPerRecord(b, n)
		})
	}
}

// BenchmarkMarshalLogs measures the stage before the cgo call: pdata to
// the protobuf bytes the engine reads (plog.ProtoMarshaler allocates the
// buffer each time; pdata has no marshal into a reused one).
func BenchmarkMarshalLogs(b *testing.B) {
	for _, n := range batchSizes {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			ld := makeLogs("bench", n, benchRecordSize)
			var m plog.ProtoMarshaler
			b.SetBytes(int64(m.LogsSize(ld)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.MarshalLogs(ld); err != nil {
					b.Fatal(err)
				}
			}
			reportPerRecord(b, n)
		})
	}
}

// reportPerRecord adds ns/record and records/s, the figures issue 12's
// stages are compared in.
func reportPerRecord(b *testing.B, n int) {
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*n)
	b.ReportMetric(ns, "ns/record")
	b.ReportMetric(1e9/ns, "records/s")
}
