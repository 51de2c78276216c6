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
	outcomeKey    = "outcome"
	witnessKey    = "witness"
	answerKey     = "answer"
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
	// standard metrics; matched and mismatched those of the content-hash
	// checks.
	own, std, matched, mismatched metric.MeasurementOption
	// id and name are the instance's attributes, for per-witness series.
	id, name attribute.KeyValue
}

func newTelemetry(set processor.Settings, streamName string, signal pipeline.Signal) (*telemetry, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	id := attribute.String(processorKey, set.ID.String())
	name := attribute.String(streamNameKey, streamName)
	t := &telemetry{
		tb:         tb,
		own:        metric.WithAttributeSet(attribute.NewSet(id, name)),
		std:        metric.WithAttributeSet(attribute.NewSet(id, attribute.String(signalKey, signal.String()))),
		matched:    metric.WithAttributeSet(attribute.NewSet(id, name, attribute.String(outcomeKey, "match"))),
		mismatched: metric.WithAttributeSet(attribute.NewSet(id, name, attribute.String(outcomeKey, "mismatch"))),
		id:         id,
		name:       name,
	}
	ctx := context.Background()
	for _, c := range []metric.Int64Counter{
		tb.ProcessorAuditchainBatchesFailed,
		tb.ProcessorAuditchainCheckpointsEmitted,
		tb.ProcessorAuditchainCheckpointsWitnessed,
		tb.ProcessorAuditchainClockSteps,
		tb.ProcessorAuditchainRecordsDropped,
		tb.ProcessorAuditchainRecordsForwardedUnstamped,
		tb.ProcessorAuditchainRecordsOverflowed,
		tb.ProcessorAuditchainRecordsStamped,
		tb.ProcessorAuditchainRecordsUnselected,
		tb.ProcessorAuditchainStateWrites,
	} {
		c.Add(ctx, 0, t.own)
	}
	tb.ProcessorAuditchainContentHashChecks.Add(ctx, 0, t.matched)
	tb.ProcessorAuditchainContentHashChecks.Add(ctx, 0, t.mismatched)
	tb.ProcessorIncomingItems.Add(ctx, 0, t.std)
	tb.ProcessorOutgoingItems.Add(ctx, 0, t.std)
	return t, nil
}

// syncCounters reports what a stream's engine counted since the last
// call: its durable state writes (the engine counts them because
// concurrent batches share writes, group commit: a batch is not a write)
// and the steps of the wall clock it announced.
func (t *telemetry) syncCounters(ctx context.Context, st *stream) {
	c := st.eng.counters()
	t.sync(ctx, &st.stateWrites, c.stateWrites, t.tb.ProcessorAuditchainStateWrites)
	t.sync(ctx, &st.clockSteps, c.clockSteps, t.tb.ProcessorAuditchainClockSteps)
	t.sync(ctx, &st.witnessed, c.witnessWitnessed, t.tb.ProcessorAuditchainCheckpointsWitnessed)
}

// witnessAnswer counts one answer of a witness, and records its lag.
func (t *telemetry) witnessAnswer(ctx context.Context, witness string, kind answerKind, lag uint64, lagKnown bool) {
	w := attribute.String(witnessKey, witness)
	t.tb.ProcessorAuditchainWitnessAnswers.Add(ctx, 1,
		metric.WithAttributeSet(attribute.NewSet(t.id, t.name, w, attribute.String(answerKey, kind.String()))))
	if lagKnown {
		t.tb.ProcessorAuditchainWitnessLag.Record(ctx, int64(min(lag, 1<<62)), metric.WithAttributeSet(attribute.NewSet(t.id, t.name, w)))
	}
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

// unselected counts records the selection passed through unstamped.
func (t *telemetry) unselected(ctx context.Context, records int) {
	if records > 0 {
		t.tb.ProcessorAuditchainRecordsUnselected.Add(ctx, int64(records), t.own)
	}
}

// overflowed counts records stamped into the overflow stream.
func (t *telemetry) overflowed(ctx context.Context, records int) {
	if records > 0 {
		t.tb.ProcessorAuditchainRecordsOverflowed.Add(ctx, int64(records), t.own)
	}
}

// contentHash counts content-hash checks by outcome.
func (t *telemetry) contentHash(ctx context.Context, matched, mismatched int) {
	if matched > 0 {
		t.tb.ProcessorAuditchainContentHashChecks.Add(ctx, int64(matched), t.matched)
	}
	if mismatched > 0 {
		t.tb.ProcessorAuditchainContentHashChecks.Add(ctx, int64(mismatched), t.mismatched)
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
