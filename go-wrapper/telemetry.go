package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/processor"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadata"
)

// The attribute keys of the collector's processorhelper (its obsReport):
// `processor` is the component id (go.opentelemetry.io/collector/processor/
// internal.ProcessorKey, not importable), `otel.signal` the pipeline's
// signal.
const (
	processorKey  = "processor"
	signalKey     = "otel.signal"
	streamNameKey = "stream_name"
)

// telemetry reports the processor's own metrics (documentation.md) through
// the collector's meter provider, each with the instance's identity:
//   - the auditchain metrics with `processor` and `stream_name`;
//   - the standard processor metrics (otelcol_processor_incoming_items,
//     _outgoing_items, _internal_duration) with `processor` and
//     `otel.signal`, exactly as processorhelper records them for every
//     processor that uses it (this one cannot: see processor.go).
//
// Every counter is recorded once at creation with 0, so that each series
// exists from the start rather than from its first event.
type telemetry struct {
	tb *metadata.TelemetryBuilder
	// own and std are the attribute sets of the auditchain and the
	// standard metrics.
	own, std metric.MeasurementOption
	// stateWrites and clockSteps are the engine's counts already reported.
	stateWrites atomic.Uint64
	clockSteps  atomic.Uint64
}

func newTelemetry(set processor.Settings, streamName string, signal pipeline.Signal) (*telemetry, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	id := attribute.String(processorKey, set.ID.String())
	t := &telemetry{
		tb:  tb,
		own: metric.WithAttributeSet(attribute.NewSet(id, attribute.String(streamNameKey, streamName))),
		std: metric.WithAttributeSet(attribute.NewSet(id, attribute.String(signalKey, signal.String()))),
	}
	ctx := context.Background()
	for _, c := range []metric.Int64Counter{
		tb.ProcessorAuditchainBatchesFailed,
		tb.ProcessorAuditchainCheckpointsEmitted,
		tb.ProcessorAuditchainClockSteps,
		tb.ProcessorAuditchainRecordsDropped,
		tb.ProcessorAuditchainRecordsForwardedUnstamped,
		tb.ProcessorAuditchainRecordsStamped,
		tb.ProcessorAuditchainStateWrites,
	} {
		c.Add(ctx, 0, t.own)
	}
	tb.ProcessorIncomingItems.Add(ctx, 0, t.std)
	tb.ProcessorOutgoingItems.Add(ctx, 0, t.std)
	return t, nil
}

// syncStateWrites reports the engine's durable state writes since the last
// call. The engine counts them because concurrent batches share writes
// (group commit): a batch is not a write.
func (t *telemetry) syncStateWrites(ctx context.Context, total uint64) {
	t.sync(ctx, &t.stateWrites, total, t.tb.ProcessorAuditchainStateWrites)
}

// syncClockSteps reports the steps of the wall clock the engine announced
// since the last call.
func (t *telemetry) syncClockSteps(ctx context.Context, total uint64) {
	t.sync(ctx, &t.clockSteps, total, t.tb.ProcessorAuditchainClockSteps)
}

// sync adds what an engine counter gained since it was last reported.
func (t *telemetry) sync(ctx context.Context, reported *atomic.Uint64, total uint64, c metric.Int64Counter) {
	for {
		last := reported.Load()
		if total <= last {
			return
		}
		if reported.CompareAndSwap(last, total) {
			c.Add(ctx, int64(total-last), t.own)
			return
		}
	}
}

// dropped counts records dropped because they could not be stamped
// (on_bad_record: drop_record).
func (t *telemetry) dropped(ctx context.Context, records int) {
	if records > 0 {
		t.tb.ProcessorAuditchainRecordsDropped.Add(ctx, int64(records), t.own)
	}
}

// stamped counts incoming records that joined the stream.
func (t *telemetry) stamped(ctx context.Context, records int) {
	if records > 0 {
		t.tb.ProcessorAuditchainRecordsStamped.Add(ctx, int64(records), t.own)
	}
}

// checkpoints counts checkpoint records among the engine's own records.
func (t *telemetry) checkpoints(ctx context.Context, n int) {
	if n > 0 {
		t.tb.ProcessorAuditchainCheckpointsEmitted.Add(ctx, int64(n), t.own)
	}
}

// failed counts a batch that could not be stamped and, when it was
// forwarded anyway, its records.
func (t *telemetry) failed(ctx context.Context, forwardedUnstamped int) {
	t.tb.ProcessorAuditchainBatchesFailed.Add(ctx, 1, t.own)
	if forwardedUnstamped > 0 {
		t.tb.ProcessorAuditchainRecordsForwardedUnstamped.Add(ctx, int64(forwardedUnstamped), t.own)
	}
}

// processed records one batch as processorhelper does once its process
// function has returned and before it calls the next consumer: how long
// the processing took, the records that came in, and the records that go
// on to the next consumer (0 when the batch is refused). The next
// consumer's own result does not change them.
func (t *telemetry) processed(ctx context.Context, start time.Time, incoming, outgoing int) {
	t.tb.ProcessorInternalDuration.Record(ctx, time.Since(start).Seconds(), t.std)
	t.tb.ProcessorIncomingItems.Add(ctx, int64(incoming), t.std)
	t.tb.ProcessorOutgoingItems.Add(ctx, int64(outgoing), t.std)
}

// emitted counts records the processor sends downstream on its own (the
// start record, heartbeat checkpoints, gap records and the end record when
// there is no batch to carry them): outgoing items with no incoming ones.
func (t *telemetry) emitted(ctx context.Context, n int) {
	if n > 0 {
		t.tb.ProcessorOutgoingItems.Add(ctx, int64(n), t.std)
	}
}

func (t *telemetry) shutdown() {
	t.tb.Shutdown()
}
