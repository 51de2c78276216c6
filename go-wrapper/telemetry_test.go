//go:build cgo && linux && (amd64 || arm64)

package auditchainprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadata"
	"github.com/auditchain/auditchain/go-wrapper/internal/metadatatest"
)

// own is a data point of an auditchain metric of instance id writing
// stream: it carries `processor` and `stream_name`.
func own(id, stream string, v int64) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{
		Attributes: attribute.NewSet(attribute.String("processor", id), attribute.String("stream_name", stream)),
		Value:      v,
	}
}

// std is a data point of a standard processor metric of instance id, with
// the attributes processorhelper gives it.
func std(id string, v int64) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{
		Attributes: attribute.NewSet(attribute.String("processor", id), attribute.String("otel.signal", "logs")),
		Value:      v,
	}
}

// settingsFor returns settings for the processor named id whose telemetry
// goes to tel.
func settingsFor(tel *componenttest.Telemetry, id string) processor.Settings {
	set := processortest.NewNopSettings(metadata.Type)
	var cid component.ID
	if err := cid.UnmarshalText([]byte(id)); err != nil {
		panic(err)
	}
	set.ID = cid
	set.TelemetrySettings = tel.NewTelemetrySettings()
	return set
}

// Two named instances report into one meter provider, as in a collector
// with auditchain/a and auditchain/b in two pipelines: every series is
// there from creation (at 0), and each carries its instance's identity.
func TestTelemetryPerInstance(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	sinkA, sinkB := new(consumertest.LogsSink), new(consumertest.LogsSink)
	cfgA, cfgB := testConfig(t), testConfig(t)
	cfgA.StreamName, cfgB.StreamName = "stream-a", "stream-b"
	pa := newTestProcessor(t, settingsFor(tel, "auditchain/a"), cfgA, sinkA)
	pb := newTestProcessor(t, settingsFor(tel, "auditchain/b"), cfgB, sinkB)

	// Created, not started: every counter exists, at 0.
	ts := metricdatatest.IgnoreTimestamp()
	zeroOwn := []metricdata.DataPoint[int64]{own("auditchain/a", "stream-a", 0), own("auditchain/b", "stream-b", 0)}
	metadatatest.AssertEqualProcessorAuditchainBatchesFailed(t, tel, zeroOwn, ts)
	metadatatest.AssertEqualProcessorAuditchainCheckpointsEmitted(t, tel, zeroOwn, ts)
	metadatatest.AssertEqualProcessorAuditchainClockSteps(t, tel, zeroOwn, ts)
	metadatatest.AssertEqualProcessorAuditchainRecordsDropped(t, tel, zeroOwn, ts)
	metadatatest.AssertEqualProcessorAuditchainRecordsForwardedUnstamped(t, tel, zeroOwn, ts)
	metadatatest.AssertEqualProcessorAuditchainRecordsStamped(t, tel, zeroOwn, ts)
	metadatatest.AssertEqualProcessorAuditchainStateWrites(t, tel, zeroOwn, ts)
	zeroStd := []metricdata.DataPoint[int64]{std("auditchain/a", 0), std("auditchain/b", 0)}
	metadatatest.AssertEqualProcessorIncomingItems(t, tel, zeroStd, ts)
	metadatatest.AssertEqualProcessorOutgoingItems(t, tel, zeroStd, ts)

	ctx := context.Background()
	require.NoError(t, pa.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, pb.Start(ctx, componenttest.NewNopHost()))
	waitForEvent(t, sinkA, "start")
	waitForEvent(t, sinkB, "start")
	require.NoError(t, pa.ConsumeLogs(ctx, makeLogs("a", 3, 100)))
	require.NoError(t, pa.ConsumeLogs(ctx, makeLogs("a", 4, 100)))
	require.Error(t, pa.ConsumeLogs(ctx, preStamped())) // refused: in 3, out 0
	require.NoError(t, pb.ConsumeLogs(ctx, makeLogs("b", 5, 100)))
	require.NoError(t, pa.Shutdown(ctx))
	require.NoError(t, pb.Shutdown(ctx))

	// Outgoing: everything the next consumer got (the batches and the
	// processor's own records: start, end, any gap or checkpoint).
	outA, outB := int64(sinkA.LogRecordCount()), int64(sinkB.LogRecordCount())
	assert.Equal(t, int64(3+4+1+1), outA, "a: 7 stamped records, start and end; the refused batch is not out")
	metadatatest.AssertEqualProcessorIncomingItems(t, tel,
		[]metricdata.DataPoint[int64]{std("auditchain/a", 3+4+3), std("auditchain/b", 5)}, ts)
	metadatatest.AssertEqualProcessorOutgoingItems(t, tel,
		[]metricdata.DataPoint[int64]{std("auditchain/a", outA), std("auditchain/b", outB)}, ts)
	metadatatest.AssertEqualProcessorAuditchainRecordsStamped(t, tel,
		[]metricdata.DataPoint[int64]{own("auditchain/a", "stream-a", 7), own("auditchain/b", "stream-b", 5)}, ts)
	metadatatest.AssertEqualProcessorAuditchainBatchesFailed(t, tel,
		[]metricdata.DataPoint[int64]{own("auditchain/a", "stream-a", 1), own("auditchain/b", "stream-b", 0)}, ts)
	metadatatest.AssertEqualProcessorAuditchainRecordsForwardedUnstamped(t, tel, zeroOwn, ts)
	metadatatest.AssertEqualProcessorAuditchainCheckpointsEmitted(t, tel, zeroOwn, ts)
	metadatatest.AssertEqualProcessorAuditchainClockSteps(t, tel, zeroOwn, ts)
	metadatatest.AssertEqualProcessorAuditchainRecordsDropped(t, tel, zeroOwn, ts)
	// Open, tick, 2 batches (a) or 1 (b), close, final settle.
	metadatatest.AssertEqualProcessorAuditchainStateWrites(t, tel,
		[]metricdata.DataPoint[int64]{own("auditchain/a", "stream-a", 6), own("auditchain/b", "stream-b", 5)}, ts)
	// One duration per batch handed to ConsumeLogs, refused ones included.
	metadatatest.AssertEqualProcessorInternalDuration(t, tel, []metricdata.HistogramDataPoint[float64]{
		{Attributes: std("auditchain/a", 0).Attributes, Count: 3},
		{Attributes: std("auditchain/b", 0).Attributes, Count: 1},
	}, ts, metricdatatest.IgnoreValue(), metricdatatest.IgnoreExemplars())
}
