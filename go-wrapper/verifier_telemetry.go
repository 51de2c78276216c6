package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"go.opentelemetry.io/collector/processor"
)

// verifyTelemetry counts what mode: verify sees (documentation.md). The
// instruments are made with the collector's meter directly (named in
// metadata.yaml like the others; internal/metadata is not regenerated for
// them, so that this file stands alone).
type verifyTelemetry struct {
	id                                                  attribute.KeyValue
	records, resolvedRecords, missingRecords            metric.Int64Counter
	silentStreams, checkpoints, batchesFailed, dropRecs metric.Int64Counter
}

const verifyMeterName = "github.com/auditchain/auditchain/go-wrapper"

func newVerifyTelemetry(set processor.Settings) (*verifyTelemetry, error) {
	m := set.TelemetrySettings.MeterProvider.Meter(verifyMeterName)
	t := &verifyTelemetry{id: attribute.String(processorKey, set.ID.String())}
	for _, c := range []struct {
		dst        *metric.Int64Counter
		name, desc string
		unit       string
	}{
		{&t.records, "otelcol_processor_auditchain_verify_records", "Records checked by mode: verify, by verdict (ok, duplicate, held, failed) and reason.", "{record}"},
		{&t.resolvedRecords, "otelcol_processor_auditchain_verify_resolved", "Held records judged later (their predecessor arrived, or the reorder window passed), by verdict and reason.", "{record}"},
		{&t.missingRecords, "otelcol_processor_auditchain_verify_missing_records", "Sequence numbers that did not arrive within the reorder window.", "{record}"},
		{&t.silentStreams, "otelcol_processor_auditchain_verify_silent_streams", "Streams reported silent: newest checkpoint older than its interval plus heartbeat_grace.", "{stream}"},
		{&t.checkpoints, "otelcol_processor_auditchain_verify_checkpoints", "Checkpoints verified (signature, origin, size, root).", "{checkpoint}"},
		{&t.batchesFailed, "otelcol_processor_auditchain_verify_batches_failed", "Batches the checker could not take (refused, never forwarded as verified).", "{batch}"},
		{&t.dropRecs, "otelcol_processor_auditchain_verify_records_dropped", "Failing records removed (on_failure: drop).", "{record}"},
	} {
		ctr, err := m.Int64Counter(c.name, metric.WithDescription(c.desc), metric.WithUnit(c.unit))
		if err != nil {
			return nil, err
		}
		*c.dst = ctr
	}
	ctx := context.Background()
	for _, c := range []metric.Int64Counter{t.missingRecords, t.silentStreams, t.checkpoints, t.batchesFailed, t.dropRecs} {
		c.Add(ctx, 0, metric.WithAttributes(t.id))
	}
	for _, o := range []uint32{verifyOK, verifyDuplicate, verifyHeld} {
		t.records.Add(ctx, 0, t.attrs(o, ""))
	}
	return t, nil
}

func outcomeName(o uint32) string {
	switch o {
	case verifyOK:
		return "ok"
	case verifyDuplicate:
		return "duplicate"
	case verifyHeld:
		return "held"
	default:
		return "failed"
	}
}

func (t *verifyTelemetry) attrs(outcome uint32, reason string) metric.MeasurementOption {
	return metric.WithAttributes(t.id, attribute.String("verdict", outcomeName(outcome)), attribute.String("reason", reason))
}

func (t *verifyTelemetry) record(ctx context.Context, outcome uint32, reason string) {
	t.records.Add(ctx, 1, t.attrs(outcome, reason))
}

func (t *verifyTelemetry) resolved(ctx context.Context, outcome uint32, reason string) {
	t.resolvedRecords.Add(ctx, 1, t.attrs(outcome, reason))
}

func (t *verifyTelemetry) missing(ctx context.Context, n int64) {
	t.missingRecords.Add(ctx, n, metric.WithAttributes(t.id))
}

func (t *verifyTelemetry) silent(ctx context.Context) {
	t.silentStreams.Add(ctx, 1, metric.WithAttributes(t.id))
}

func (t *verifyTelemetry) checkpoint(ctx context.Context) {
	t.checkpoints.Add(ctx, 1, metric.WithAttributes(t.id))
}

func (t *verifyTelemetry) batchFailed(ctx context.Context) {
	t.batchesFailed.Add(ctx, 1, metric.WithAttributes(t.id))
}

func (t *verifyTelemetry) dropped(ctx context.Context, n int) {
	t.dropRecs.Add(ctx, int64(n), metric.WithAttributes(t.id))
}
