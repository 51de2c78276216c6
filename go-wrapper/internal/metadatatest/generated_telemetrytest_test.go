// Written by hand in the exact shape mdatagen v0.161.0 generates from
// ../../metadata.yaml (telemetrytest_test.go.tmpl); see ../metadata/generated_status.go.

package metadatatest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"go.opentelemetry.io/collector/component/componenttest"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadata"
)

func TestSetupTelemetry(t *testing.T) {
	testTel := componenttest.NewTelemetry()
	tb, err := metadata.NewTelemetryBuilder(testTel.NewTelemetrySettings())
	require.NoError(t, err)
	defer tb.Shutdown()
	tb.ProcessorAuditchainBatchesFailed.Add(context.Background(), 1)
	tb.ProcessorAuditchainCheckpointsEmitted.Add(context.Background(), 1)
	tb.ProcessorAuditchainClockSteps.Add(context.Background(), 1)
	tb.ProcessorAuditchainContentHashChecks.Add(context.Background(), 1)
	tb.ProcessorAuditchainRecordsDropped.Add(context.Background(), 1)
	tb.ProcessorAuditchainRecordsForwardedUnstamped.Add(context.Background(), 1)
	tb.ProcessorAuditchainRecordsOverflowed.Add(context.Background(), 1)
	tb.ProcessorAuditchainRecordsStamped.Add(context.Background(), 1)
	tb.ProcessorAuditchainRecordsUnselected.Add(context.Background(), 1)
	tb.ProcessorAuditchainStateWrites.Add(context.Background(), 1)
	tb.ProcessorIncomingItems.Add(context.Background(), 1)
	tb.ProcessorInternalDuration.Record(context.Background(), 1)
	tb.ProcessorOutgoingItems.Add(context.Background(), 1)
	AssertEqualProcessorAuditchainBatchesFailed(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	AssertEqualProcessorAuditchainCheckpointsEmitted(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	AssertEqualProcessorAuditchainClockSteps(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	AssertEqualProcessorAuditchainContentHashChecks(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	AssertEqualProcessorAuditchainRecordsDropped(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	AssertEqualProcessorAuditchainRecordsForwardedUnstamped(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	AssertEqualProcessorAuditchainRecordsOverflowed(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	AssertEqualProcessorAuditchainRecordsStamped(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	AssertEqualProcessorAuditchainRecordsUnselected(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	AssertEqualProcessorAuditchainStateWrites(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	AssertEqualProcessorIncomingItems(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())
	AssertEqualProcessorInternalDuration(t, testTel,
		[]metricdata.HistogramDataPoint[float64]{{}}, metricdatatest.IgnoreValue(),
		metricdatatest.IgnoreTimestamp())
	AssertEqualProcessorOutgoingItems(t, testTel,
		[]metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp())

	require.NoError(t, testTel.Shutdown(context.Background()))
}
